#!/bin/bash
# test_mount_uring_fallback.sh - -o io_uring when libfuse cannot start its
# rings (the kernel refuses io_uring to everyone, kernel.io_uring_disabled=2,
# while the daemon mounts): the daemon serves through /dev/fuse, first in
# its own loop (daxfs/fuse/fuse_devloop.h), then, after
# DAXFS_DEVLOOP_FALLBACK requests with none through a ring, with libfuse's
# worker threads. Everything works, with requests from several processes
# at once, daxfs stat says dev_fuse, and the filesystem is clean after.
# Changes a machine-wide setting for a moment: registered RUN_SERIAL.
. "$(dirname "$0")/lib.sh" "$@"
sysctl=/proc/sys/kernel/io_uring_disabled
[ -e /sys/module/fuse/parameters/enable_uring ] ||
	dx_skip "this kernel has no FUSE over io_uring"
[ -w "$sysctl" ] || dx_skip "$sysctl is missing (a kernel before 6.6) or read-only"
old=$(cat "$sysctl")
dx_cleanup_more() { echo "$old" >"$sysctl"; }
dx_mkfs 64M

echo 2 >"$sysctl" || fail "cannot write $sysctl"
DAXFS_EXTRA_OPTS= dx_mount -o io_uring
echo "$old" >"$sysctl"
pid=$(dx_daemon_pid)
[ -n "$pid" ] || fail "no daemon holds $REGION"
[ "$(find "/proc/$pid/fd" -lname 'anon_inode:\[io_uring\]' 2>/dev/null | wc -l)" -eq 0 ] ||
	fail "an io_uring instance exists although io_uring was refused"

# more requests than the daemon's own loop serves before it hands over
head -c 3M /dev/urandom >"$T/data"
cp "$T/data" "$MNT/data" || fail "cp"
"$PY" - "$MNT" <<'PYEOF' || fail "creates, stats and unlinks from 4 processes"
import os, sys
from multiprocessing import Pool

def work(k):
    d = f"{sys.argv[1]}/d{k}"
    os.mkdir(d)
    for i in range(300):
        os.close(os.open(f"{d}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
    assert len(os.listdir(d)) == 300, d
    for i in range(300):
        os.stat(f"{d}/f{i}")
        os.unlink(f"{d}/f{i}")
    os.rmdir(d)
    return k

with Pool(4) as p:
    assert sorted(p.map(work, range(4))) == [0, 1, 2, 3]
PYEOF
cmp -s "$T/data" "$MNT/data" || fail "data differs"
t=$("$DAXFS" stat "$MNT" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["transport"])') ||
	fail "daxfs stat --json"
expect_eq "$t" dev_fuse "transport when the rings could not start"
# the hand-over happened: libfuse's workers serve /dev/fuse now
grep -qx fuse_worker /proc/"$pid"/task/*/comm ||
	fail "no fuse_worker thread: the daemon still serves /dev/fuse alone"
dx_umount
dx_fsck
