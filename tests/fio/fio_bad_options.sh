#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_bad_options.sh - bad input gets a clear message and a nonzero exit,
# and the region is not written: unknown mode/target/completion, no region,
# a region that does not exist, a region smaller than the job, a region
# that is not a valid region (size not a multiple of 2 MiB), block sizes
# and offsets that are not whole sectors (named at setup, not at I/O time).
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 8M)
sum=$(md5sum <"$region")
job=(--name=bad --rw=write --bs=4k --size=4M)

run_fio "${job[@]}" --region="$region" --mode=pages
expect_fail "failed parsing mode=pages" "unknown mode"
grep -q "folio" "$OUT" && grep -q "memdesc" "$OUT" || fail "the valid modes are not listed"

run_fio "${job[@]}" --region="$region" --target=nvme
expect_fail "failed parsing target=nvme" "unknown target"

run_fio "${job[@]}" --region="$region" --completion=poll
expect_fail "failed parsing completion=poll" "unknown completion"

run_fio "${job[@]}"
expect_fail "no region given: set region=PATH or filename=PATH" "missing region"

run_fio "${job[@]}" --region="$TDIR/missing"
expect_fail "cannot open region .*missing" "region that does not exist"

run_fio --name=bad --rw=write --bs=4k --size=16M --region="$region"
expect_fail "region .* is 8 MiB, smaller than the job needs: offset 0 B \+ size 16 MiB" \
	"region smaller than size"

run_fio --name=bad --rw=write --bs=4k --size=4M --offset=6M --region="$region"
expect_fail "smaller than the job needs: offset 6 MiB \+ size 4 MiB" "offset past the end"

run_fio --name=bad --rw=write --bs=32M --size=32M --region="$(make_region big 64M)"
expect_fail "block size 33554432 is too large: at most [0-9]+ bytes per I/O" "bs over the bio limit"

# block sizes and offsets that are not whole sectors: refused at setup, naming the option
run_fio --name=bad --rw=write --bs=1000 --size=4M --region="$region"
expect_fail "bs=1000 \(read\) is not a multiple of the 512-byte sector: use bs=512 or bs=1024" \
	"bs not whole sectors"
run_fio --name=bad --rw=randwrite --bsrange=4k-6000 --size=4M --region="$region"
expect_fail "bsrange=6000 \(read\) is not a multiple of the 512-byte sector" "bsrange"
run_fio --name=bad --rw=randwrite --bssplit=4k/50:700/50 --size=4M --region="$region"
expect_fail "bssplit=700 \(read\) is not a multiple of the 512-byte sector: use bssplit=512 or bssplit=1024" \
	"bssplit"
run_fio --name=bad --rw=write --bs=4k --size=4M --offset=100 --region="$region"
expect_fail "offset=100 \(start\) is not a multiple of the 512-byte sector: use offset=512" "offset"
run_fio --name=bad --rw=write --bs=4k --size=4M --bs_unaligned=1 --region="$region"
expect_fail "bs_unaligned is not supported" "bs_unaligned"

odd=$(make_region odd 5M)
run_fio "${job[@]}" --region="$odd"
expect_fail "cannot open region .*odd" "region size not a multiple of 2 MiB"

[ "$(md5sum <"$region")" = "$sum" ] || fail "a rejected job modified the region"
echo "ok: bad options rejected"
