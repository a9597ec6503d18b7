#!/bin/bash
# SPDX-License-Identifier: MIT
# test_fsck_cli.sh - fsck.daxfs front end: exit codes for a clean image,
# usage errors, a foreign image, a wrong version (named) and a region
# smaller than the filesystem (refused); --json output is valid JSON with a
# fragmentation summary.
# Usage: test_fsck_cli.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" fsckcli

$MKFS -q --size 16M $T || fail mkfs
expect 0 "clean" $FSCK -n $T
expect 0 "aligned 2 MiB extents" $FSCK $T
expect 0 "clean" $FSCK -y $T
expect 16 "usage" $FSCK
expect 16 "exclude each other" $FSCK -n -y $T
expect 16 "usage" $FSCK --bogus $T
expect 8 "No such file|does not exist|cannot" $FSCK -n $T.missing
once $T.missing

$FSCK -n --json $T >$T.out || fail "json exit"
python3 -m json.tool <$T.out >/dev/null || { cat $T.out; fail "--json is not valid JSON"; }
python3 - $T.out <<'PY' || fail "json fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["clean"] is True and j["exit"] == 0 and j["problems"] == []
s = j["summary"]
assert s["free_huge_extents"] > 0 and 0 <= s["file_data_huge_share"] <= 1
PY

# wrong version: named, refused, nothing written
python3 - $T <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8); f.write(struct.pack("<I", 7))
PY
sum=$(sha256sum <$T)
expect 8 "version 7.*supports versions 1 to 3" $FSCK -n $T
expect 8 "version 7.*supports versions 1 to 3" $FSCK -y $T
[ "$(sha256sum <$T)" = "$sum" ] || fail "fsck modified a wrong-version image"
$FSCK -n --json $T >$T.out
python3 -m json.tool <$T.out >/dev/null || fail "--json error report is not valid JSON"

# foreign image
head -c $((8 << 20)) /dev/urandom >$T
expect 8 "not a daxfs" $FSCK -n $T

# region smaller than the filesystem
rm -f $T
$MKFS -q --size 16M $T || fail mkfs
truncate -s 12M $T
expect 8 "16777216 bytes but the region has only 12582912" $FSCK -n $T
echo "PASS"
