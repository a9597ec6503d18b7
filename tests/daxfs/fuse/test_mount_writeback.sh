#!/bin/bash
# test_mount_writeback.sh - -o writeback (the kernel's FUSE writeback
# cache, with cache=auto|always):
# - alone (cache=never) it is refused, naming what it needs, and nothing is
#   mounted;
# - with cache=always, 4000 appends of 4 bytes through one O_APPEND
#   descriptor cost almost no WRITE request (the kernel keeps them), another
#   descriptor reads every byte at once, close(2) hands them to the daemon,
#   and they survive an unmount;
# - data that fsync(2) returned for survives the daemon's SIGKILL;
# - DAX mmap is not offered (stat says why) and the shim falls back to a
#   kernel mapping that sees write(2) at once;
# - chattr +a still holds: a descriptor whose O_APPEND was dropped by
#   fcntl cannot overwrite (such files are opened direct_io);
# - on a full filesystem write(2) succeeds and fsync reports ENOSPC (the
#   error of the writeback), and fsync'ed data of other files is intact.
. "$(dirname "$0")/shared/lib.sh" "$@"
dx_mkfs 64M

out=$("$DAXFS" $(dx_dp_opts) -o writeback "$REGION" "$MNT" 2>&1) &&
	fail "-o writeback with cache=never was accepted"
grep -q "writeback needs -o cache=auto or cache=always" <<<"$out" ||
	fail "the refusal does not say what -o writeback needs: $out"
mountpoint -q "$MNT" && fail "mounted despite -o writeback with cache=never"

dx_mount -o cache=always,writeback
expect_eq "$(dx_stat 'd["writeback"]')" True "stat: writeback"
expect_eq "$(dx_stat 'd["mmap"]["offered"]')" False "stat: DAX mmap offered"
why="writeback keeps written data"
[ "$DP" = page ] && why="page data path caches" # its own reason comes first
"$DAXFS" stat "$MNT" | grep -q "not offered (.*$why" ||
	fail "daxfs stat does not say why DAX mmap is off: $("$DAXFS" stat "$MNT" | grep 'dax mmap')"

# appends: cached, coherent through the mount, handed over at close
w0=$(dx_stat 'd["ops"].get("write", {}).get("count", 0)')
MNT=$MNT DAXFS=$DAXFS "$PY" - <<'PY' || fail "appends ($DP path)"
import json, os, subprocess
m = os.environ["MNT"]
fd = os.open(m + "/log", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
rd = os.open(m + "/log", os.O_RDONLY)
want = b""
for i in range(4000):
    rec = b"%03d\n" % (i % 1000)
    os.write(fd, rec)
    want += rec
    if i % 500 == 499:
        assert os.pread(rd, len(want) + 10, 0) == want, "another descriptor reads stale data"
st = json.loads(subprocess.run([os.environ["DAXFS"], "stat", m, "--json"],
                               capture_output=True, check=True, text=True).stdout)
writes = st["ops"].get("write", {}).get("count", 0)
print("WRITES_BEFORE_CLOSE", writes)
os.close(fd)
assert os.pread(rd, len(want) + 10, 0) == want
os.close(rd)
PY
w1=$(dx_stat 'd["ops"].get("write", {}).get("count", 0)')
[ $((w1 - w0)) -le 40 ] || fail "4000 appends took $((w1 - w0)) WRITE requests (the kernel should keep them)"
bw=$(dx_stat 'd["bytes_written"]')
[ "$bw" -ge 16000 ] || fail "after close the daemon got $bw bytes, want at least 16000"
dx_umount
dx_mount -o cache=always,writeback
expect_eq "$(wc -c <"$MNT/log")" 16000 "size of log after remount"
expect_eq "$(head -c 8 "$MNT/log")" "$(printf '000\n001\n')" "start of log after remount"

# fsync makes it durable: the daemon is killed right after
dx_umount
# shellcheck disable=SC2046
"$DAXFS" -f $(dx_dp_opts) ${DAXFS_EXTRA_OPTS:-} -o cache=always,writeback "$REGION" "$MNT" \
	2>"$T/daemon.err" &
dpid=$!
DX_PIDS+=("$dpid")
for i in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
mountpoint -q "$MNT" || { cat "$T/daemon.err" >&2; fail "daemon did not mount"; }
head -c 1048576 /dev/urandom >"$T/data"
"$PY" - "$MNT/synced" "$T/data" <<'PY' || fail "write + fsync"
import os, sys
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, data[:4096 * 3 + 5])
os.pwrite(fd, data[4096 * 3 + 5:], 4096 * 3 + 5)
os.fsync(fd)
PY
kill -9 "$dpid" || fail "kill -9 $dpid"
wait "$dpid" 2>/dev/null
fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"
dx_wait_released "$REGION"
dx_mount -o cache=always,writeback
cmp -s "$T/data" "$MNT/synced" || fail "fsync'ed data lost after SIGKILL of the daemon"

# the shim: no DAX mapping here, a kernel mapping that sees write(2)
with_shim "$PY" - "$MNT/mapped" <<'PY' || fail "shim mapping under writeback ($DP path)"
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 8192)
mm = mmap.mmap(fd, 8192)
os.pwrite(fd, b"written", 100)
assert mm[100:107] == b"written", mm[100:107]
mm[200:205] = b"store"
assert os.pread(fd, 5, 200) == b"store"
mm.close()
os.close(fd)
PY

# A full filesystem: write(2) lands in the kernel's cache and succeeds; the
# ENOSPC of the writeback comes from fsync (as on NFS), and nothing else is
# harmed: the synced file reads intact and fsck is clean after
"$PY" - "$MNT" "$T/data" <<'PY' || fail "ENOSPC under writeback ($DP path)"
import errno, os, sys
m, data = sys.argv[1], open(sys.argv[2], "rb").read()
fd = os.open(m + "/big", os.O_CREAT | os.O_WRONLY, 0o644)
chunk = b"b" * (1 << 20)
for _ in range(80):  # more than the 64 MiB filesystem holds
    os.write(fd, chunk)
err = None
try:
    os.fsync(fd)
except OSError as e:
    err = e.errno
try:
    os.close(fd)
except OSError:
    pass
assert err == errno.ENOSPC, "fsync after filling the filesystem: %r" % err
assert open(m + "/synced", "rb").read() == data, "synced file changed"
os.unlink(m + "/big")
PY

# chattr +a: no overwrite through a descriptor that dropped O_APPEND
: >"$MNT/ao" && echo "first" >>"$MNT/ao" || fail "create ao"
chattr +a "$MNT/ao" || fail "chattr +a"
"$PY" - "$MNT/ao" <<'PY' || fail "append-only overwritten under writeback ($DP path)"
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"second\n")
fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_APPEND)
try:
    os.pwrite(fd, b"XXXXX", 0)
    os.fsync(fd)
    ok = False
except OSError as e:
    ok = e.errno == errno.EPERM
os.close(fd)
assert ok, "pwrite at 0 of an append-only file was not refused"
assert open(sys.argv[1], "rb").read() == b"first\nsecond\n", open(sys.argv[1], "rb").read()
PY
chattr -a "$MNT/ao" || fail "chattr -a"

# utimensat with UTIME_NOW for atime and an explicit mtime keeps that mtime
# (a touch, both "now", reaches the daemon as atime "now" and the kernel's
# clock for mtime: the daemon tells them apart by the clock)
"$PY" - "$MNT/ao" <<'PY' || fail "utimensat(UTIME_NOW, explicit mtime)"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class ts(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
t = (ts * 2)(ts(0, (1 << 30) - 1), ts(978307200, 0))  # UTIME_NOW, 2001-01-01
if libc.utimensat(-100, sys.argv[1].encode(), t, 0) != 0:
    raise OSError(ctypes.get_errno(), "utimensat")
assert int(os.stat(sys.argv[1]).st_mtime) == 978307200, os.stat(sys.argv[1]).st_mtime
PY
dx_umount
dx_mount -o cache=always,writeback
expect_eq "$(stat -c %Y "$MNT/ao")" 978307200 "explicit mtime after remount"
dx_umount
dx_fsck
