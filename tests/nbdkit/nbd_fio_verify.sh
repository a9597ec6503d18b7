#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_fio_verify.sh MODE - fio's own nbd engine writes through the export
# in descriptor mode MODE with four connections at once (one per job, in
# disjoint quarters, queue depth 8, sizes from 4 KiB to 1 MiB) and verifies
# every block's crc32c as it reads it back; then a second run reads and
# verifies again, without writing, what the first left.
. "$(dirname "$0")/nbd_lib.sh" "$@"
mode=${3:?mode}
nbd_need fio
fio --enghelp 2>/dev/null | grep -qw nbd || nbd_need fio-with-nbd-engine

r=$(nbd_region r 64M)
nbd_start "$r" mode="$mode"
common=(--ioengine=nbd --uri="$NBD_URI" --verify=crc32c --verify_fatal=1
	--verify_state_save=0 --bsrange=4k-1M --bs_unaligned=0 --size=16M)
(cd "$T" && fio --name=w --rw=randwrite --numjobs=4 --offset_increment=16M --iodepth=8 \
	--do_verify=1 "${common[@]}" --group_reporting) >"$T/fio.out" 2>&1 ||
	fail "fio verify ($mode): $(tail -20 "$T/fio.out")"
grep -qiE "verify: bad|crc32c: verify failed|err= *[1-9]" "$T/fio.out" &&
	fail "fio reported an error ($mode)"
(cd "$T" && fio --name=w --rw=randwrite --numjobs=4 --offset_increment=16M --iodepth=1 \
	--verify_only=1 "${common[@]}") >"$T/fio2.out" 2>&1 ||
	fail "fio verify_only ($mode): $(tail -20 "$T/fio2.out")"
nbd_stop
echo "ok: fio nbd verify with 4 connections in $mode mode"
