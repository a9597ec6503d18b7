#!/bin/bash
# SPDX-License-Identifier: MIT
# test_debug.sh - daxfs-debug finds, prints and damages structures by name
# on a populated image: list names every kind, print/get read fields (by
# inode number or path), set/flip/rand change exactly the bytes asked and
# leave checksums stale (fsck sees a checksum mismatch) unless -c reseals
# them (fsck sees the meaning: a wrong link count), zero and swap move
# whole blocks, and bad requests are refused with a message and exit 16/8
# without writing.
# Usage: test_debug.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" debug
DBG=$1/daxfs/daxfs-debug
POP=$1/tests/daxfs/fuzz/fuzz_populate

$POP $T.base clean 12 || fail populate # the small profile: /big is 2 MiB + 5000
fresh() { cp --sparse=always $T.base $T; }
fresh

# list: every kind of the populated image, one "kind id offset length owner" line each
$DBG $T list >$T.list || fail list
for k in sb backup jheader bitmap inode extent extblk data dnode dindex dentry xattr xentry symlink; do
	grep -q "^$k	" $T.list || { head -50 $T.list; fail "list names no $k"; }
done
[ "$($DBG $T list extblk /frag | wc -l)" -eq 2 ] || fail "frag should have two extent blocks"
ino=$($DBG $T list inode /big | awk '{print $2}')
[ -n "$ino" ] || fail "list inode /big"

# print and get, by path and by number
expect 0 "size += 2102152" $DBG $T print inode /big
[ "$($DBG $T get inode $ino size)" = 2102152 ] || fail "get size by number"
[ "$($DBG $T get sb magic)" = $((0x3153465841445844)) ] || fail "get sb magic"
expect 0 'name += "f002"' $DBG $T print dentry "$($DBG $T ls /small | awk '$NF == "f002" {print $2}')"
expect 0 "ino .*hard" $DBG $T ls /dir

# set without -c: only the field changes, the checksum goes stale
sum=$(sha256sum <$T)
$DBG $T set inode /small/f001 nlink 7 || fail "set nlink"
[ "$($DBG $T get inode /small/f001 nlink)" = 7 ] || fail "nlink not 7"
cmp -l $T.base $T | wc -l | grep -qx 1 || fail "set changed more than one byte"
expect 4 "checksum mismatch" $FSCK -n $T

# set with -c: the checksum is recomputed, fsck finds the wrong link count
fresh
$DBG -c $T set inode /small/f001 nlink 7 || fail "set -c"
expect 4 "link count 7, counted 1" $FSCK -n $T
fresh
$DBG -c $T set inode /small/f001 nlink +2 || fail "set +2"
[ "$($DBG $T get inode /small/f001 nlink)" = 3 ] || fail "relative set"
$DBG -c $T set inode /small/f001 nlink -4 || fail "set -4"
[ "$($DBG $T get inode /small/f001 nlink)" = $((0xffffffff)) ] || fail "relative set wraps"
fresh
$DBG -c $T set extent /frag:0 pblk out || fail "set out"
[ "$($DBG $T get extent /frag:0 pblk)" = 3072 ] || fail "out of range value" # 12 MiB: blocks 0..3071
expect 4 "out of range" $FSCK -n $T

# flip: one bit of a field; of the primary superblock: fsck falls back to the backup
fresh
$DBG $T flip sb magic 0 || fail flip
[ "$($DBG $T get sb magic)" = $((0x3153465841445845)) ] || fail "flip bit 0"
expect 4 "bad magic" $FSCK -n $T
expect 0 "sb	-	0	512" $DBG $T list sb  # the backup's geometry still finds it

# rand: N random bytes inside a directory entry
fresh
d=$($DBG $T ls /small | awk '$NF == "f010" {print $2}')
$DBG -s 7 -n 3 $T rand dentry $d || fail rand
[ "$(cmp -l $T.base $T | wc -l)" -ge 1 ] || fail "rand changed nothing"
[ "$(cmp -l $T.base $T | wc -l)" -le 3 ] || fail "rand changed more than 3 bytes"
expect 4 "directory" $FSCK -n $T

# zero and swap whole blocks
fresh
b=$($DBG $T list data /big | head -1 | awk '{print $3 / 4096}')
$DBG $T zero $b 2 || fail zero
[ "$(dd if=$T bs=4096 skip=$b count=2 2>/dev/null | tr -d '\0' | wc -c)" = 0 ] || fail "zero"
fresh
$DBG $T swap $b $((b + 1)) || fail swap
cmp <(dd if=$T.base bs=4096 skip=$b count=1 2>/dev/null) \
	<(dd if=$T bs=4096 skip=$((b + 1)) count=1 2>/dev/null) || fail "swap"

# refusals: nothing written
fresh
sum=$(sha256sum <$T)
expect 16 "unknown structure kind" $DBG $T print bogus 1
expect 16 "unknown command" $DBG $T frobnicate
expect 8 "no inode 99999" $DBG $T print inode 99999
expect 8 "no inode /no/such" $DBG $T print inode /no/such
expect 8 "has no field \"nope\"" $DBG $T set inode 1 nope 1
expect 8 "too wide" $DBG $T set dentry $d type 300
expect 16 "bit \"99\" outside" $DBG $T flip dentry $d type 99
expect 16 "outside the region" $DBG $T zero 99999999
expect 16 "usage" $DBG $T
[ "$(sha256sum <$T)" = "$sum" ] || fail "a refused command wrote"
head -c $((4 << 20)) /dev/zero >$T
expect 8 "neither superblock" $DBG $T print sb
echo "PASS"
