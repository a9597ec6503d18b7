#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mount_space - space use through a mount (issue 13), in the data path
# of $DAXFS_DATAPATH; statfs before and after each step:
#  - 100 writes of 4 KiB at a 2 MiB stride use about 100 blocks (tmpfs:
#    100 pages), not 100 chunks, and st_blocks says the same;
#  - a file of 2 MiB + 4 KiB written by appends uses 513 blocks;
#  - statfs counts what is reserved but unused as free: removing the files
#    gives back exactly what they took;
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

rm "$MNT/sparse" "$MNT/grow" || fail "rm"
# the blocks go when the kernel forgets the inodes, a moment after unlink
for _ in $(seq 100); do
	[ "$(used_blocks)" -le $((u0 + 1)) ] && break
	sleep 0.1
done
[ "$(used_blocks)" -le $((u0 + 1)) ] || fail "removing the files left $(($(used_blocks) - u0)) blocks"

dd if=/dev/zero of="$MNT/large" bs=1M count=64 status=none || fail "dd"
dx_umount
out=$("$FSCK" -n --json "$REGION") || fail "fsck.daxfs -n: $out"
share=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["file_data_huge_share"])' <<<"$out")
echo "64 MiB sequential file: $share of the data in 2 MiB extents"
python3 -c "import sys; sys.exit(0 if $share >= 0.95 else 1)" || fail "only $share in 2 MiB extents"
exit 0
