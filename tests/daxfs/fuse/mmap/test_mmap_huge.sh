#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mmap_huge - daxfs-mapcheck proves the page-table entries behind DAX
# mappings: 2 MiB PMD mappings (and at most 1 fault per 2 MiB, give or take
# a few) on a huge-tmpfs region and on a hugetlbfs region, 4 KiB PTEs (one
# fault per page) on a plain tmpfs region; the same on chunked regions
# (mkfs.daxfs --chunked), whose mappings are made of chunk files. Files are
# 2 MiB-aligned extents allocated by the daemon at map time. On a
# single-file hugetlbfs region a file of 4 KiB blocks is refused with a
# reason, allocating nothing.
. "$(dirname "$0")/mmlib.sh" "$@"

SIZE=$((16 << 20))

# check KIND EXPECT(pmd|pte) [--chunked]: map a 16 MiB file, read and write it.
check() {
	local kind=$1 expect=$2 chunked=${3:-} out pmd pte flt mode min free0
	mm_region "$kind" 64 "$chunked"
	mm_mount
	truncate -s $SIZE "$MNT/f" || fail "truncate on $kind"
	for mode in --write ""; do
		out=$("$MAPCHECK" $mode "$MNT/f") || fail "mapcheck $mode on $kind"
		pmd=$(mm_field pmd_bytes <<<"$out")
		pte=$(mm_field pte_bytes <<<"$out")
		flt=$(mm_field minflt <<<"$out")
		if [ "$expect" = pmd ]; then
			[ "$pmd" -eq $SIZE ] || fail "$kind: $pmd of $SIZE bytes PMD-mapped:
$out"
			[ "$flt" -le $((SIZE / (2 << 20) + 16)) ] ||
				fail "$kind: $flt minor faults for $SIZE bytes:
$out"
		else
			[ "$pmd" -eq 0 ] || fail "$kind: $pmd bytes PMD-mapped on 4 KiB pages"
			[ "$pte" -eq $SIZE ] || fail "$kind: only $pte of $SIZE bytes mapped by PTEs"
			# reads fault around (16 pages a fault), writes do not
			min=$((SIZE / 65536))
			[ -n "$mode" ] && min=$((SIZE / 4096))
			[ "$flt" -ge $min ] || fail "$kind: only $flt faults ($mode)"
		fi
	done
	rm -f "$MNT/f"
	if [ "$kind" = hugetlbfs ] && [ -z "$chunked" ]; then
		# A small file has 4 KiB blocks: refused, and nothing allocated.
		printf abc >"$MNT/small"
		free0=$(stat -f -c %a "$MNT")
		out=$("$MAPCHECK" "$MNT/small" 2>&1) && fail "small file on hugetlbfs mapped: $out"
		grep -q "aligned" <<<"$out" || fail "no reason given: $out"
		[ "$(stat -f -c %a "$MNT")" = "$free0" ] || fail "refused map allocated blocks"
	fi
	dx_umount
	dx_fsck
	if [ -n "$BACKDIR" ]; then
		rm -rf "$REGION"
		umount "$BACKDIR" || fail "umount $BACKDIR"
		rmdir "$BACKDIR"
		BACKDIR=
	fi
}

check tmpfs pte
check huge pmd
check hugetlbfs pmd
check tmpfs pte --chunked
check huge pmd --chunked
check hugetlbfs pmd --chunked
exit 0
