#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_badblocks.sh - an emulated bad sector (pmemdev badblocks) gives the
# client EIO for a read that touches it, and only for that read: reads
# beside it, other connections and later requests keep working; the
# server logs the failed request. A write over the whole sector clears it,
# as the kernel's pmem driver does, and the sector then reads back.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need qemu-io

r=$(nbd_region r 16M)
for mode in pfn folio page ondemand memdesc; do
	"$PMEMDEV" badblocks "$r" add 2048 1 >/dev/null || fail "badblocks add"
	nbd_start "$r" mode=$mode
	qemu-io -f raw -r "$NBD_URI" -c "read 1M 4k" >"$T/qio" 2>&1
	grep -q "Input/output error" "$T/qio" || fail "read over a bad sector ($mode): $(cat "$T/qio")"
	qemu-io -f raw -r "$NBD_URI" -c "read 2M 2M" >"$T/qio" 2>&1
	grep -q "Input/output error" "$T/qio" && fail "a bad sector failed a read beside it ($mode)"
	qemu-io -f raw "$NBD_URI" -c "read 0 1M" -c "read 1052160 8k" -c "write -P 0x33 8M 64k" \
		-c "read -P 0x33 8M 64k" >"$T/qio" 2>&1
	grep -qE "error|failed" "$T/qio" && fail "the export stopped working ($mode): $(cat "$T/qio")"
	grep -q "read of 4096 bytes at offset 1048576: Input/output error" "$NBD_LOG" ||
		fail "the server did not log the failed read ($mode)"
	# a write covering the sector clears it
	qemu-io -f raw "$NBD_URI" -c "write -P 0x44 1M 4k" -c "read -P 0x44 1M 4k" \
		>"$T/qio" 2>&1
	grep -qE "error|failed" "$T/qio" && fail "write over the bad sector ($mode): $(cat "$T/qio")"
	nbd_stop
	"$PMEMDEV" badblocks "$r" list | grep -q "no bad sectors" ||
		fail "the write did not clear the bad sector ($mode)"
done
echo "ok: bad sectors fail only the requests that touch them"
