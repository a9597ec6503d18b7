#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mkfs.sh - mkfs.daxfs creates regions and refuses what it must:
# an existing daxfs or foreign data without -f, bad sizes, bad options,
# a region too small for the metadata; refusals leave the region untouched.
# Usage: test_mkfs.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" mkfs

rm -f $T
expect 8 "does not exist.*--size" $MKFS $T
expect 16 "bad size" $MKFS --size abc $T
expect 16 "not a multiple of 2 MiB" $MKFS --size 5M $T
expect 16 "not a multiple of 2 MiB of at least 4 MiB" $MKFS --size 2M $T
expect 16 "bad inode count" $MKFS --size 16M --inodes 0 $T
expect 16 "longer than 64" $MKFS --size 16M --label $(printf 'x%.0s' {1..70}) $T
expect 16 "usage" $MKFS
[ -e $T ] && fail "refused mkfs left $T behind"
expect 8 "too small" $MKFS --size 4M --inodes 10000000 $T
[ -e $T ] && fail "failed mkfs left $T behind"

expect 0 "created" $MKFS --size 16M --label first $T
[ $(stat -c %s $T) -eq $((16 << 20)) ] || fail "region size"
$FSCK -n $T >/dev/null || fail "fresh filesystem is not clean"

sum=$(sha256sum <$T)
expect 8 "already contains a daxfs filesystem; use -f" $MKFS $T
expect 8 "exists with .* bytes, not the --size" $MKFS --size 32M $T
[ "$(sha256sum <$T)" = "$sum" ] || fail "refused mkfs modified the region"
expect 0 "created" $MKFS -f --inodes 1000 $T
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
