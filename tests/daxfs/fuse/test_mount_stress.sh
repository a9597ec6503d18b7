#!/bin/bash
# test_mount_stress.sh - a short concurrent stress run on one mount
# (stress-ng hdd, dentry, rename, link, symlink, dir stressors, plus our own
# processes writing, renaming and deleting in shared directories), then
# unmount: fsck.daxfs -n must find a clean filesystem.
. "$(dirname "$0")/lib.sh" "$@"
command -v stress-ng >/dev/null || dx_skip "stress-ng is not installed"
dx_mkfs 256M
dx_mount
mkdir "$MNT/sng" "$MNT/own"
chmod 1777 "$MNT/sng"
stress-ng --temp-path "$MNT/sng" --timeout 6s --quiet \
	--hdd 2 --hdd-bytes 4M --hdd-write-size 64K \
	--dentry 1 --dentries 500 --rename 1 --link 1 --symlink 1 --dir 1 \
	>"$T/sng.out" 2>&1 &
sng=$!
MNT=$MNT "$PY" - <<'PYEOF' || fail "own workload"
import os, random, sys
from multiprocessing import Process
m = os.environ["MNT"] + "/own"
def worker(k):
    rnd = random.Random(k)
    for i in range(300):
        p = "%s/f%d-%d" % (m, k, rnd.randrange(40))
        op = rnd.randrange(5)
        try:
            if op == 0:
                with open(p, "wb") as f:
                    f.write(bytes([k]) * rnd.randrange(1, 300000))
            elif op == 1:
                os.rename(p, "%s/f%d-%d" % (m, k, rnd.randrange(40)))
            elif op == 2:
                os.unlink(p)
            elif op == 3:
                with open(p, "rb") as f:
                    d = f.read()
                    assert d == bytes([k]) * len(d), "torn data in " + p
            else:
                os.makedirs(p + ".d", exist_ok=True)
                os.rmdir(p + ".d")
        except FileNotFoundError:
            pass
ps = [Process(target=worker, args=(k,)) for k in range(1, 5)]
for p in ps: p.start()
for p in ps: p.join()
sys.exit(max(p.exitcode for p in ps))
PYEOF
wait $sng || { cat "$T/sng.out" >&2; fail "stress-ng failed (exit $?)"; }
dx_umount
dx_fsck
dx_mount
ls -R "$MNT" >/dev/null || fail "tree unreadable after stress"
dx_umount
dx_fsck
