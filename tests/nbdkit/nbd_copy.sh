#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_copy.sh - data in and out through the export, in every descriptor
# mode: nbdcopy of a random image in (4 connections) and back out is
# byte-identical, and the region file holds exactly the image; qemu-img
# convert to and from the export likewise; trim and write-zeroes (also
# fast zero and FUA) read back as zeroes and touch nothing else. With
# target=null writes reach nothing and reads return zeroes.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need nbdcopy qemu-img qemu-io cmp

size=$((24 << 20))
r=$(nbd_region r 24M)
head -c $size /dev/urandom >"$T/img"
head -c $size /dev/urandom >"$T/img2"

for mode in pfn folio page ondemand memdesc; do
	nbd_start "$r" mode=$mode
	nbdcopy --connections=4 "$T/img" "$NBD_URI" || fail "nbdcopy in ($mode)"
	cmp "$T/img" "$r" || fail "region differs from the image written ($mode)"
	rm -f "$T/out"
	nbdcopy --connections=4 "$NBD_URI" "$T/out" || fail "nbdcopy out ($mode)"
	cmp "$T/img" "$T/out" || fail "nbdcopy out differs ($mode)"

	qemu-img convert -n -f raw -O raw "$T/img2" "$NBD_URI" || fail "qemu-img convert in ($mode)"
	cmp "$T/img2" "$r" || fail "region differs after qemu-img convert ($mode)"
	rm -f "$T/out"
	qemu-img convert -f raw -O raw "$NBD_URI" "$T/out" || fail "qemu-img convert out ($mode)"
	cmp "$T/img2" "$T/out" || fail "qemu-img convert out differs ($mode)"

	# trim and zeroes: exactly the range reads back zero, its neighbours intact
	qemu-io -f raw "$NBD_URI" -c "discard 1M 64k" -c "write -z 3M 8k" \
		-c "write -z -n -f 5M 1M" -c "read -P 0 1M 64k" -c "read -P 0 3M 8k" \
		-c "read -P 0 5M 1M" >"$T/qio" 2>&1 || fail "qemu-io trim/zero ($mode): $(cat "$T/qio")"
	grep -q "Pattern verification failed" "$T/qio" && fail "not zero after trim/zero ($mode)"
	cp "$T/img2" "$T/want"
	dd if=/dev/zero of="$T/want" bs=1k seek=1024 count=64 conv=notrunc status=none
	dd if=/dev/zero of="$T/want" bs=1k seek=3072 count=8 conv=notrunc status=none
	dd if=/dev/zero of="$T/want" bs=1k seek=5120 count=1024 conv=notrunc status=none
	cmp "$T/want" "$r" || fail "trim/zero changed more than their range ($mode)"
	nbd_stop
done
sum=$(sha256sum <"$r")
nbd_start "$r" target=null mode=page
nbdcopy "$T/img" "$NBD_URI" || fail "nbdcopy in (target=null)"
qemu-io -f raw -r "$NBD_URI" -c "read -P 0 0 4M" >"$T/qio" 2>&1 || fail "read (target=null)"
grep -q "Pattern verification failed" "$T/qio" && fail "target=null read returned data"
nbd_stop
[ "$(sha256sum <"$r")" = "$sum" ] || fail "target=null wrote the region"
echo "ok: nbdcopy and qemu-img round trips, trim and zero, in every mode"
