#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_durability.sh - what a client was told is durable survives kill -9 of
# nbdkit: a write with FUA, and writes followed by a flush, are there when
# a fresh server on the same region reads them back (the dead server's
# lock goes with it). The server's debug log shows the FUA flag reached
# the plugin natively (fua=1), not emulated by a flush.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need qemu-io

r=$(nbd_region r 16M)
for mode in pfn page; do
	NBD_VERBOSE=1 nbd_start "$r" mode=$mode
	qemu-io -f raw "$NBD_URI" -c "write -f -P 0xa1 0 1M" -c "write -f -P 0xa2 1M 4k" \
		>"$T/qio" 2>&1 || fail "FUA writes ($mode): $(cat "$T/qio")"
	qemu-io -f raw "$NBD_URI" -c "write -P 0xb1 2M 1M" -c "write -P 0xb2 4M 2M" -c flush \
		>"$T/qio" 2>&1 || fail "writes + flush ($mode): $(cat "$T/qio")"
	grep -q "pwrite count=1048576 offset=0 fua=1" "$NBD_LOG" ||
		fail "the FUA write did not reach the plugin with fua=1 ($mode)"
	grep -q "pmemdev: flush" "$NBD_LOG" || fail "no flush reached the plugin ($mode)"
	nbd_stop KILL

	nbd_start "$r" mode=$mode
	qemu-io -f raw -r "$NBD_URI" -c "read -P 0xa1 0 1M" -c "read -P 0xa2 1M 4k" \
		-c "read -P 0xb1 2M 1M" -c "read -P 0xb2 4M 2M" >"$T/qio" 2>&1 ||
		fail "read back after kill -9 ($mode): $(cat "$T/qio")"
	grep -q "Pattern verification failed" "$T/qio" && fail "data lost by kill -9 ($mode)"
	nbd_stop KILL
	rm -f "$r" && "$PMEMDEV" create --size 16M "$r" >/dev/null || fail "recreate region"
done
echo "ok: FUA and flushed writes survive kill -9 of nbdkit"
