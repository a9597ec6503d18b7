#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mmap_bad_input - daxfs-mapcheck and the example refuse bad input
# with a message naming the problem and a nonzero exit, and change nothing.
. "$(dirname "$0")/mmlib.sh" "$@"

# expect STATUS PATTERN CMD...: CMD exits with STATUS and says PATTERN.
expect() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -eq "$want" ] || fail "'$*' exited $rc, expected $want: $out"
	grep -qi -- "$pat" <<<"$out" || fail "'$*' did not say '$pat': $out"
}

mm_region tmpfs 32
mm_mount
head -c 1M /dev/zero >"$MNT/f"
: >"$MNT/empty"
head -c 1M /dev/zero >"$T/plain"
before=$(md5sum "$MNT/f")

expect 2 usage "$MAPCHECK"
expect 2 usage "$MAPCHECK" --bogus "$MNT/f"
expect 2 "bad --length" "$MAPCHECK" --length 0 "$MNT/f"
expect 2 "bad --length" "$MAPCHECK" --length 12x "$MNT/f"
expect 1 "cannot open" "$MAPCHECK" "$MNT/missing"
expect 1 "not a regular file" "$MAPCHECK" "$MNT"
expect 1 "nothing to map" "$MAPCHECK" "$MNT/empty"
expect 1 "nothing to map" "$MAPCHECK" --length 4M "$MNT/f"
expect 1 "not a file on a FUSE" "$MAPCHECK" "$T/plain"
"$MAPCHECK" --plain "$T/plain" | grep -q "pte_bytes" || fail "mapcheck --plain on tmpfs"
"$MAPCHECK" --json "$MNT/f" | grep -q '"pmd_bytes"' || fail "mapcheck --json"

expect 2 usage "$RECORDS"
expect 2 usage "$RECORDS" "$MNT/log" frobnicate
expect 2 "bad COUNT" "$RECORDS" "$MNT/log" append -5
expect 1 "not a record log" "$RECORDS" "$MNT/f" check
expect 1 "not a file on a FUSE" "$RECORDS" "$T/log" append 1
[ "$(md5sum "$MNT/f")" = "$before" ] || fail "a refused command changed the file"
[ ! -e "$MNT/log" ] || fail "a refused append created its file"
dx_umount
dx_fsck
exit 0
