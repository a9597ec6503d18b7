#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_large.sh - requests larger than one bio (the plugin cuts them into
# bios of at most 8 MiB, nbd_io.h NBD_IO_CHUNK): 16 MiB writes and reads
# of random data, from nbdkit's own buffers (not 4 KiB aligned), land at
# the right place, byte for byte, in pfn and page mode and on a device with
# worker threads (which completes bios on another thread: the plugin waits
# for them). The server's debug log shows each request reached the plugin
# whole.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need nbdcopy

r=$(nbd_region r 64M)
head -c 32M /dev/urandom >"$T/in" || fail "random input"
big=$((16 << 20))
for cfg in "mode=pfn" "mode=page" "mode=pfn workers=2"; do
	# shellcheck disable=SC2086
	NBD_VERBOSE=1 nbd_start "$r" $cfg
	nbdcopy --request-size=$big --connections=1 "$T/in" "$NBD_URI" ||
		fail "nbdcopy in ($cfg)"
	rm -f "$T/out"
	nbdcopy --request-size=$big --connections=1 "$NBD_URI" "$T/out" ||
		fail "nbdcopy out ($cfg)"
	cmp -n $((32 << 20)) "$T/in" "$T/out" >/dev/null ||
		fail "data read back differs from what was written ($cfg): $(cmp -n $((32 << 20)) "$T/in" "$T/out")"
	grep -q "pwrite count=$big offset=$big" "$NBD_LOG" ||
		fail "no $big-byte write reached the plugin whole ($cfg)"
	grep -q "pread count=$big offset=$big" "$NBD_LOG" ||
		fail "no $big-byte read reached the plugin whole ($cfg)"
	nbd_stop
	# the next configuration starts from other data
	head -c 32M /dev/urandom >"$T/in" || fail "random input"
done
echo "ok: 16 MiB requests move the right bytes in pfn and page mode and with workers"
