#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_cross_verify.sh - data written in one descriptor mode verifies in the
# others: the modes describe the same bytes, only the descriptors differ.
# Write with mode=page, verify with verify_only in mode=pfn and mode=folio,
# then the other way round (write pfn, verify page).
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 16M)
common=(--region="$region" --bs=2M --size=8M --verify=crc32c --verify_state_save=0)

for pair in page:pfn page:folio pfn:page folio:page ondemand:memdesc memdesc:ondemand pfn:ondemand; do
	w=${pair%%:*}
	r=${pair##*:}
	run_fio --name=cross "${common[@]}" --rw=write --mode="$w" --do_verify=0
	expect_ok "write with mode=$w"
	run_fio --name=cross "${common[@]}" --rw=write --mode="$r" --verify_only=1
	expect_ok "verify_only with mode=$r of data written with mode=$w"
	grep -qE "READ: bw=" "$OUT" || fail "verify_only read nothing (mode $w -> $r)"
done

# A verify pass must really read: corrupt the region, verification must fail.
run_fio --name=cross "${common[@]}" --rw=write --mode=page --do_verify=0
expect_ok "write before corruption"
dd if=/dev/urandom of="$region" bs=4k count=1 seek=100 conv=notrunc status=none
run_fio --name=cross "${common[@]}" --rw=write --mode=pfn --verify_only=1
[ "$RC" -ne 0 ] || fail "verify_only passed on a corrupted region"
echo "ok: cross-mode verify"
