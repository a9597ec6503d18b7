#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_bvecs.sh - every io_u is a real bio described in the job's mode: a
# 2 MiB io_u is 1 bvec in pfn, folio, ondemand and memdesc modes and 512 in page mode, as the
# block layer's own counters report (blk_stats=1); page modes pay for a
# memmap (descriptor bytes > 0), pfn mode nearly nothing.
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 16M)

stat_of()
{
	sed -n "s/.*pmemdev-stats:.* $1=\([0-9.]*\).*/\1/p" "$OUT" | head -n 1
}

for m in pfn:1.00 folio:1.00 page:512.00 ondemand:1.00 memdesc:1.00; do
	mode=${m%%:*}
	want=${m##*:}
	run_fio --name=bvecs --region="$region" --mode="$mode" --rw=write --bs=2M --size=8M \
		--blk_stats=1
	expect_ok "mode=$mode blk_stats"
	got=$(stat_of mean_bvecs_per_bio)
	[ "$got" = "$want" ] || fail "mode=$mode: mean bvecs per 2 MiB bio is '$got', want $want"
	[ "$(stat_of data_bios)" = 4 ] || fail "mode=$mode: expected 4 bios"
	desc=$(stat_of descriptor_bytes)
	case $mode in
	pfn) [ "$desc" -lt 4096 ] || fail "pfn mode holds $desc descriptor bytes" ;;
	ondemand) [ "$desc" -lt 4096 ] || fail "ondemand mode holds $desc descriptor bytes" ;;
	memdesc) [ "$desc" -ge $((16 * 1024 * 1024 / 4096 * 8)) ] &&
		[ "$desc" -lt $((16 * 1024 * 1024 / 4096 * 64)) ] ||
		fail "memdesc mode holds $desc descriptor bytes (8 per 4 KiB of 16 MiB is 32 KiB)" ;;
	*) [ "$desc" -ge $((16 * 1024 * 1024 / 4096 * 64)) ] ||
		fail "$mode mode holds only $desc descriptor bytes (memmap of 16 MiB is 256 KiB)" ;;
	esac
done
echo "ok: bvecs per bio and descriptor bytes per mode"
