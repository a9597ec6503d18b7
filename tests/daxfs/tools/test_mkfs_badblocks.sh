#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mkfs_badblocks - mkfs.daxfs and the region's emulated bad sectors
# (issue 13): the journal, inode table and bitmap are kept off them and
# mkfs says where they went; bad sectors under the superblocks are refused
# with the sectors named; fsck and a mount accept the moved layout; and the
# blocks skipped are not handed out.
set -u
. "$(dirname "$0")/toollib.sh" "$1" mkfsbb
PMEMDEV=$1/pmemdev/pmemdev
DEBUG=$1/daxfs/daxfs-debug

"$PMEMDEV" create --size 64M "$T" >/dev/null || fail "pmemdev create"
# a bad sector in the journal (blocks 2..), one in the inode table's range
"$PMEMDEV" badblocks "$T" add 40 2 || fail "badblocks add"
"$PMEMDEV" badblocks "$T" add 300 1 || fail "badblocks add"
expect 0 "3 bad sectors .*kept off them .*at blocks 38\.\.[0-9]+, 36 blocks before them left unused" \
	"$MKFS" "$T"
# the superblock says so, and nothing of the metadata lies on a bad sector
jb=$("$DEBUG" "$T" get sb journal_blk) || fail "daxfs-debug get journal_blk"
[ "$jb" = 38 ] || fail "journal at block $jb, expected 38 (past sector 300 = block 37)"
expect 0 "clean" "$FSCK" -n "$T"

# the moved layout mounts and works like any other
mnt=$T.mnt
mkdir "$mnt"
trap 'fusermount3 -u -z "$mnt" 2>/dev/null; flock -w 20 "$T" true; rm -rf $T $T.*' EXIT
"$1/daxfs/daxfs" "$T" "$mnt" || fail "mount of the moved layout"
head -c 3M /dev/zero >"$mnt/f" || fail "write"
fusermount3 -u "$mnt" || fail "umount"
flock -w 30 "$T" true
expect 0 "clean" "$FSCK" -n "$T"

# bad sectors under the superblocks: refused, naming them and the way out
"$PMEMDEV" badblocks "$T" add 9 1 || fail "badblocks add"
expect 8 "block 1 \(sectors 8\.\.15\) has bad sectors.*superblocks.*pmemdev badblocks $T clear 8 8" \
	"$MKFS" -f "$T"
# refused: the old filesystem is untouched; fsck names the bad backup superblock
expect 4 "BAD SECTORS: superblock blocks 1\.\.1 are on bad sectors 9\.\.9" "$FSCK" -n "$T"
grep -q "2/4096 inodes" $T.out || fail "the old filesystem changed: $(cat $T.out)"

# no list: the journal is at block 2 as always
"$PMEMDEV" badblocks "$T" clear 0 131072 || fail "badblocks clear"
expect 0 "daxfs created" "$MKFS" -f "$T"
jb=$("$DEBUG" "$T" get sb journal_blk) || fail "daxfs-debug get journal_blk"
[ "$jb" = 2 ] || fail "journal at block $jb without bad sectors"
echo ok
