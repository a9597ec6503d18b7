#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_verify.sh MODE - data written through the engine in descriptor mode
# MODE reads back intact: fio's verify=crc32c on 2 MiB sequential writes and
# verify=md5 on 4 KiB random writes (do_verify: read back in the same job).
# Usage (ctest): fio_verify.sh BUILD_DIR SOURCE_DIR MODE
mode=${3:?mode}
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 32M)

run_fio --name=seq --region="$region" --mode="$mode" --rw=write --bs=2M --size=16M \
	--verify=crc32c --do_verify=1
expect_ok "mode=$mode 2 MiB sequential write, verify=crc32c"
grep -q "pmemdev\|ioengine=pmemdev" "$OUT" || fail "fio did not use the pmemdev engine"

run_fio --name=rand --region="$region" --mode="$mode" --rw=randwrite --bs=4k --size=4M \
	--offset=16M --verify=md5 --do_verify=1
expect_ok "mode=$mode 4 KiB random write, verify=md5"

# Odd block size, still sector aligned: 12 KiB spans pages unevenly.
run_fio --name=odd --region="$region" --mode="$mode" --rw=write --bs=12k --size=3M \
	--offset=24M --verify=crc32c --do_verify=1
expect_ok "mode=$mode 12 KiB writes, verify=crc32c"
echo "ok: verify passes in mode=$mode"
