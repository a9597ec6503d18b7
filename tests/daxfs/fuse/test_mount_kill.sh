#!/bin/bash
# test_mount_kill.sh - SIGKILL the daemon in the middle of a workload that
# logs each file it wrote and fsynced (and each directory it created); the
# next mount recovers, every logged file has its exact contents, and after
# unmount fsck.daxfs -n finds a clean filesystem.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 128M
"$DAXFS" -f $(dx_dp_opts) "$REGION" "$MNT" 2>"$T/daemon.err" &
dpid=$!
DX_PIDS+=("$dpid")
for i in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.05; done
mountpoint -q "$MNT" || fail "daemon did not mount"
MNT=$MNT LOG=$T/log "$PY" - <<'PYEOF' &
import os, random, sys
m, log = os.environ["MNT"], open(os.environ["LOG"], "a")
rnd = random.Random(7)
i = 0
try:
    while True:
        i += 1
        d = "%s/d%d" % (m, i % 7)
        os.makedirs(d, exist_ok=True)
        p = "%s/f%d" % (d, i)
        n = rnd.randrange(1, 200000)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        n = os.write(fd, bytes([i % 251]) * n)  # short near ENOSPC: log what went
        os.fsync(fd)
        os.close(fd)
        if i % 5 == 0:
            os.rename(p, p + ".r"); p += ".r"
        log.write("%s %d %d\n" % (p[len(m):], i % 251, n)); log.flush()
except OSError as e:
    print("workload stopped after %d files: %s" % (i - 1, e), file=sys.stderr)
PYEOF
wpid=$!
# kill once the workload is well under way (python may be slow to start)
for i in $(seq 400); do
	[ -s "$T/log" ] && [ "$(wc -l < "$T/log")" -ge 30 ] && break
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.05
done
sleep 0.3
kill -9 "$dpid"
wait "$wpid"
wait "$dpid" 2>/dev/null
fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"
[ -s "$T/log" ] || { cat "$T/daemon.err" >&2; fail "workload logged nothing"; }
logged=$(wc -l < "$T/log")
dx_mount
MNT=$MNT LOG=$T/log "$PY" - <<'PYEOF' || fail "fsynced data lost after kill -9"
import os, sys
m = os.environ["MNT"]
bad = 0
for line in open(os.environ["LOG"]):
    p, b, n = line.split()
    try:
        d = open(m + p, "rb").read()
    except OSError as e:
        print("missing", p, e); bad += 1; continue
    if d != bytes([int(b)]) * int(n):
        print("wrong contents", p, len(d), n); bad += 1
sys.exit(1 if bad else 0)
PYEOF
dx_umount
dx_fsck
echo "verified $logged fsynced files after kill -9"
