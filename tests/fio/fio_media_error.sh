#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_media_error.sh - a read that touches an emulated bad sector is an
# I/O error in fio, with completion=sync (the engine reads the bio's status
# when blk_submit_bio() returns) and completion=async (through end_io);
# a write over the bad sectors clears them and the reads succeed again.
# Usage (ctest): fio_media_error.sh BUILD_DIR SOURCE_DIR
. "$(dirname "$0")/fio_lib.sh"

pmemdev=${1:?build dir}/pmemdev/pmemdev
[ -x "$pmemdev" ] || fail "$pmemdev was not built"
region=$(make_region r 8M)
"$pmemdev" badblocks "$region" add 16 8 >/dev/null || fail "cannot add bad sectors 16-23"

for c in sync async; do
	run_fio --name=eio --region="$region" --rw=read --bs=4k --size=64k --completion=$c
	expect_fail "err= *5 .*Input/output error" "completion=$c: a read of bad sectors"
	# The two reads before sector 16 completed; the third failed.
	grep -q "io=8192B" "$OUT" || fail "completion=$c: not 8 KiB read before the bad sector"
done

run_fio --name=clear --region="$region" --rw=write --bs=4k --size=64k
expect_ok "a write over the bad sectors"
for c in sync async; do
	run_fio --name=ok --region="$region" --rw=read --bs=4k --size=64k --completion=$c
	expect_ok "completion=$c: a read after the bad sectors were rewritten"
done
echo "ok: bad sectors fail reads through the engine, sync and async"
