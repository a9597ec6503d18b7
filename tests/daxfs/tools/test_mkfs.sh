#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mkfs.sh - mkfs.daxfs creates regions and refuses what it must:
# an existing daxfs or foreign data without -f, bad sizes, bad options,
# a region too small for the metadata; refusals leave the region untouched.
# The label and UUID given are shown by fsck.daxfs; --version, --help.
# Usage: test_mkfs.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" mkfs

rm -f $T
expect 0 "^mkfs.daxfs [0-9]" $MKFS --version
expect 0 "^mkfs.daxfs [0-9]" $MKFS -V
expect 0 "--uuid" $MKFS --help
expect 8 "does not exist.*--size" $MKFS $T
expect 16 "bad size \"abc\": give bytes or a number with a K, M, G or T suffix" \
	$MKFS --size abc $T
expect 16 "size 5M of .* is not a multiple of 2 MiB \(4M or 6M would be\)" $MKFS --size 5M $T
expect 16 "size 2M of .* is too small: a region is at least 4 MiB" $MKFS --size 2M $T
expect 16 "size 0 of .* is too small" $MKFS --size 0 $T
expect 16 "bad inode count \"0\": give a whole number of at least 1" \
	$MKFS --size 16M --inodes 0 $T
expect 16 "bad inode count" $MKFS --size 16M --inodes 12x $T
expect 16 "inode count 8589934592 is more than" $MKFS --size 16M --inodes 8589934592 $T
expect 16 "label \"x+\" is longer than 64 bytes" \
	$MKFS --size 16M --label $(printf 'x%.0s' {1..70}) $T
expect 16 "journal size 32K is out of range \(64K to 1G\)" $MKFS --size 16M --journal 32K $T
expect 16 "journal size 2G is out of range \(64K to 1G\)" $MKFS --size 16M --journal 2G $T
expect 16 "journal size 100000 is not a multiple of the 4 KiB block \(96K or 100K would be\)" \
	$MKFS --size 16M --journal 100000 $T
expect 16 "bad journal size" $MKFS --size 16M --journal 0 $T
expect 16 "bad UUID \"nope\": give 32 hex digits as 8-4-4-4-12" $MKFS --size 16M --uuid nope $T
expect 16 "bad UUID" $MKFS --size 16M --uuid 01234567-89ab-cdef-0123-456789abcdef0 $T
expect 8 "^mkfs.daxfs: cannot create $T.nodir/r: No such file" $MKFS --size 8M $T.nodir/r
once $T.nodir/r
expect 16 "usage" $MKFS
expect 16 "usage" $MKFS --bogus $T
[ -e $T ] && fail "refused mkfs left $T behind"
expect 8 "too small" $MKFS --size 4M --inodes 10000000 $T
[ -e $T ] && fail "failed mkfs left $T behind"

# --inodes is rounded up to a multiple of 16; options after the operand too
expect 0 "created" $MKFS $T --size 8M --inodes 1
$FSCK -n --json $T | grep -q '"inodes": 16,' || fail "--inodes 1 did not give 16 inodes"
rm -f $T
expect 0 "created, UUID [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$" \
	$MKFS --size 16M --label first $T
[ $(stat -c %s $T) -eq $((16 << 20)) ] || fail "region size"
uuid=$(sed -n 's/.*created, UUID //p' $T.out)
expect 0 "label \"first\", UUID $uuid" $FSCK -n $T
$FSCK -n --json $T | grep -q "\"label\": \"first\", \"uuid\": \"$uuid\"" ||
	fail "fsck --json does not show the label and UUID"

sum=$(sha256sum <$T)
expect 8 "already contains a daxfs filesystem; use -f" $MKFS $T
expect 8 "exists with 16M, not the --size given \(32M\); leave out --size" \
	$MKFS --size 32M $T
# a bad value is refused before the region is opened, even with -f
expect 16 "journal size 32K is out of range" $MKFS -f --journal 32K $T
expect 16 "bad UUID" $MKFS -f --uuid 1 $T
[ "$(sha256sum <$T)" = "$sum" ] || fail "refused mkfs modified the region"
expect 0 "created, UUID 0123abcd-0000-4000-8000-00000000beef" \
	$MKFS -f --inodes 1000 --uuid 0123ABCD-0000-4000-8000-00000000BEEF --label "" $T
expect 0 "no label, UUID 0123abcd-0000-4000-8000-00000000beef" $FSCK -n $T
[ "$(sha256sum <$T)" != "$sum" ] || fail "mkfs -f did not rewrite"
$FSCK -n $T >/dev/null || fail "forced mkfs is not clean"

# foreign data
head -c $((8 << 20)) /dev/urandom >$T.foreign
sum=$(sha256sum <$T.foreign)
expect 8 "already contains data \(not zero\)" $MKFS $T.foreign
[ "$(sha256sum <$T.foreign)" = "$sum" ] || fail "refused mkfs modified foreign data"
expect 0 "created" $MKFS -f $T.foreign
$FSCK -n $T.foreign >/dev/null || fail "mkfs over foreign data is not clean"

# a zero-filled existing file needs no -f
rm -f $T.foreign
truncate -s 8M $T.foreign
$MKFS -q $T.foreign || fail "mkfs over a zero-filled file"
$FSCK -n $T.foreign >/dev/null || fail "mkfs over zeroes is not clean"
echo "PASS"
