#!/bin/bash
# t_concurrent.sh - several processes write disjoint, unaligned slices of
# one shared file at the same time while others read it and create/delete
# files beside it; every byte ends up as written, and readers never see a
# slice torn within one write.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 128M
dx_mount
MNT=$MNT "$PY" - <<'PYEOF' || fail "concurrent writers"
import os, sys
from multiprocessing import Process
m = os.environ["MNT"]
P, SLICE, ROUNDS = 4, 1001, 300     # odd slice size: neighbours share 4 KiB blocks
path = m + "/shared"
os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
def writer(k):
    fd = os.open(path, os.O_WRONLY)
    for r in range(ROUNDS):
        off = (r * P + k) * SLICE
        os.pwrite(fd, bytes([(k * 31 + r) % 251 + 1]) * SLICE, off)
    os.close(fd)
def reader():
    fd = os.open(path, os.O_RDONLY)
    for r in range(ROUNDS):
        for k in range(P):
            d = os.pread(fd, SLICE, (r * P + k) * SLICE)
            if d and d != d[:1] * len(d) and 0 not in d:
                print("torn slice", r, k, file=sys.stderr); sys.exit(1)
    os.close(fd)
def churn(k):
    for i in range(200):
        p = "%s/c%d-%d" % (m, k, i % 10)
        with open(p, "wb") as f: f.write(b"x" * (i * 97 % 20000))
        if i % 3 == 0: os.unlink(p)
ps = [Process(target=writer, args=(k,)) for k in range(P)]
ps += [Process(target=reader) for _ in range(2)]
ps += [Process(target=churn, args=(k,)) for k in range(2)]
for p in ps: p.start()
for p in ps: p.join()
if any(p.exitcode for p in ps): sys.exit(1)
fd = os.open(path, os.O_RDONLY)
assert os.fstat(fd).st_size == ROUNDS * P * SLICE
for r in range(ROUNDS):
    for k in range(P):
        d = os.pread(fd, SLICE, (r * P + k) * SLICE)
        assert d == bytes([(k * 31 + r) % 251 + 1]) * SLICE, (r, k)
PYEOF
dx_umount
dx_fsck
