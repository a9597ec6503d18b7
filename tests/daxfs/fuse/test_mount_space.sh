#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mount_space - space use through a mount (issue 13), in the data path
# of $DAXFS_DATAPATH; statfs before and after each step:
#  - 100 writes of 4 KiB at a 2 MiB stride use about 100 blocks (tmpfs:
#    100 pages), not 100 chunks, and st_blocks says the same;
#  - a file of 2 MiB + 4 KiB written by appends uses 513 blocks;
#  - statfs counts what is reserved but unused as free: removing the files
#    gives back exactly what they took;
#  - 400 small files, then 4 processes of random create/write/truncate/
#    unlink on files of up to 32 MiB use at most 1.1x the 4 KiB pages
#    their files hold (what tmpfs would use; they used 20x), and removing
#    them gives it all back;
#  - a 64 MiB file written sequentially is still >= 95 % in 2 MiB extents
#    (fsck.daxfs's fragmentation figure), and fsck is clean.
. "$(dirname "$0")/lib.sh" "$@"

dx_mkfs 256M
dx_mount

# used_blocks: blocks statfs says are used
used_blocks() {
	stat -f -c '%b %f' "$MNT" | awk '{print $1 - $2}'
}

u0=$(used_blocks)
py '
fd = os.open(os.path.join(m, "sparse"), os.O_CREAT | os.O_WRONLY, 0o644)
for k in range(100):
    os.pwrite(fd, b"s" * 4096, k * (2 << 20))
os.close(fd)
'
u1=$(used_blocks)
blocks=$(stat -c %b "$MNT/sparse")
echo "sparse stride: $((u1 - u0)) blocks used, st_blocks $blocks"
# 100 data blocks, an extent block, the root directory's first node
[ $((u1 - u0)) -le 102 ] || fail "100 x 4 KiB at a 2 MiB stride used $((u1 - u0)) blocks"
[ "$blocks" -le $((101 * 8)) ] || fail "sparse file st_blocks $blocks"

py '
with open(os.path.join(m, "grow"), "wb") as f:
    for _ in range(16):
        f.write(b"g" * (128 << 10))
    f.write(b"g" * 4096)
'
u2=$(used_blocks)
blocks=$(stat -c %b "$MNT/grow")
echo "2 MiB + 4 KiB: $((u2 - u1)) blocks used, st_blocks $blocks"
[ "$blocks" -eq $((513 * 8)) ] || fail "2 MiB + 4 KiB file has st_blocks $blocks"
[ $((u2 - u1)) -le 513 ] || fail "2 MiB + 4 KiB file used $((u2 - u1)) blocks"

# given_back WHAT: statfs is back to what it was before the files; the
# blocks go when the kernel forgets the inodes, a moment after unlink
given_back() {
	for _ in $(seq 300); do
		[ "$(used_blocks)" -le $((u0 + 1)) ] && return
		sleep 0.1
	done
	fail "removing $1 left $(($(used_blocks) - u0)) blocks"
}
rm "$MNT/sparse" "$MNT/grow" || fail "rm"
given_back "the sparse and the grown file"

# 4 processes at random; then the blocks used against the 4 KiB pages the
# files hold by a model of the workload (what tmpfs would use)
pages=$(py '
import multiprocessing, random
def worker(p, q):
    rnd = random.Random(7 + p)
    d = os.path.join(m, "rand%d" % p)
    buf = b"r" * (256 << 10)
    held = {}  # name: set of pages written and not truncated away
    for _ in range(300):
        name = "r%02d" % rnd.randrange(20)
        path = os.path.join(d, name)
        what = rnd.random()
        if what < 0.7:
            ln = rnd.randint(1, (256 if rnd.random() < 0.3 else 16) << 10)
            off = rnd.randrange((32 << 20) - ln)
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
            os.pwrite(fd, buf[:ln], off)
            os.close(fd)
            held.setdefault(name, set()).update(range(off >> 12, ((off + ln - 1) >> 12) + 1))
        elif what < 0.9 and name in held:
            size = rnd.randrange(os.stat(path).st_size or 1)
            os.truncate(path, size)
            held[name] = {k for k in held[name] if k < (size + 4095) >> 12}
        elif name in held:
            os.unlink(path)
            del held[name]
    q.put(sum(len(s) for s in held.values()))
# first 400 small files (1 B .. 16 KiB) in 4 directories
rnd, total = random.Random(3), 0
for k in range(400):
    d = os.path.join(m, "rand%d" % (k % 4))
    os.makedirs(d, exist_ok=True)
    ln = rnd.randint(1, 16 << 10)
    with open(os.path.join(d, "s%03d" % k), "wb") as f:
        f.write(b"s" * ln)
    total += (ln + 4095) >> 12
q = multiprocessing.Queue()
ps = [multiprocessing.Process(target=worker, args=(p, q)) for p in range(4)]
for p in ps:
    p.start()
total += sum(q.get() for _ in ps)
for p in ps:
    p.join()
    assert p.exitcode == 0, "a random worker failed (%d)" % p.exitcode
os.sync()
print(total)
') || fail "the random workload"
u3=$(used_blocks)
files=$(find "$MNT" -type f | wc -l)
echo "random: $((u3 - u0)) blocks used for $pages pages held by $files files"
# metadata: an extent block or two per file, the directories
[ $((u3 - u0)) -le $((pages * 11 / 10 + 2 * files + 16)) ] ||
	fail "random workload: $((u3 - u0)) blocks used for $pages pages held"
rm -r "$MNT"/rand? || fail "rm -r"
given_back "the random workload's files"

dd if=/dev/zero of="$MNT/large" bs=1M count=64 status=none || fail "dd"
dx_umount
out=$("$FSCK" -n --json "$REGION") || fail "fsck.daxfs -n: $out"
share=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["file_data_huge_share"])' <<<"$out")
echo "64 MiB sequential file: $share of the data in 2 MiB extents"
python3 -c "import sys; sys.exit(0 if $share >= 0.95 else 1)" || fail "only $share in 2 MiB extents"
exit 0
