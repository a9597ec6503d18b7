#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_refuse.sh - nbdkit refuses to start, with one clear line and a
# nonzero exit, on bad parameters (no region, a missing or unusable
# region, unknown mode/target/parameter, bad workers or readonly values)
# and on a region in use: held by another program (named by PID and
# program), by another nbdkit, or shared by readers when it would write.
# Read-only servers share a region with each other and with readers. A
# refused start changes nothing in the region.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need flock
. "$SRC/tests/pmemdev/lock_holder.sh"
trap 'lock_release; nbd_cleanup' EXIT

r=$(nbd_region r 16M)
head -c 16M /dev/urandom >"$r"
sum0=$(sha256sum <"$r")

# refused PATTERN [k=v...] - nbdkit must exit at start with status 1 (the
# man page's EXIT STATUS), saying PATTERN on one line
refused()
{
	local pat=$1 rc
	shift
	# shellcheck disable=SC2046
	env $(nbdkit_env) timeout 60 nbdkit -f -U "$T/refused.sock" "$PLUGIN" "$@" >"$T/out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "nbdkit $*: exit $rc, expected 1 (124: it started)"
	grep -qE -- "$pat" "$T/out" || fail "nbdkit $*: message lacks /$pat/: $(cat "$T/out")"
	[ "$(grep -c . "$T/out")" -eq 1 ] || fail "nbdkit $*: not one line: $(cat "$T/out")"
	[ ! -S "$T/refused.sock" ] || fail "nbdkit $* left a socket"
}

refused "region=PATH is required"
refused "region $T/none does not exist" region="$T/none"
truncate -s 5M "$T/small"
refused "not a multiple of 2 MiB" region="$T/small"
refused "mode=huge: expected one of pfn, folio, page, ondemand, memdesc" region="$r" mode=huge
refused "target=disk: expected pmem or null" region="$r" target=disk
refused "unknown parameter 'size'" region="$r" size=1G
refused "workers=1000: at most 64" region="$r" workers=1000
refused "workers" region="$r" workers=-1
refused "readonly" region="$r" readonly=maybe

# in use by another program, exclusive
lock_hold -x "$r"
refused "region $r is in use by PID $LOCK_HOLDER \\(flock\\)" region="$r"
refused "in use by PID $LOCK_HOLDER \\(flock\\)" region="$r" readonly=true
lock_release
# in use by readers: a writer is refused, a reader joins them
lock_hold -s "$r"
refused "in use by PID $LOCK_HOLDER \\(flock, reading it\\)" region="$r"
nbd_start "$r" readonly=true
nbd_stop
lock_release
# in use by another nbdkit
nbd_start "$r"
refused "in use by PID $NBD_PID \\(nbdkit\\)" region="$r"
refused "in use by PID $NBD_PID \\(nbdkit\\)" region="$r" readonly=true
nbd_stop
# two read-only servers at once
nbd_start "$r" readonly=true
first=$NBD_PID
nbd_start "$r" readonly=true mode=page
kill -0 "$first" || fail "the first read-only server died"
nbd_stop
NBD_PID=$first
refused "in use by PID $first \\(nbdkit, reading it\\)" region="$r"
nbd_stop
[ "$(sha256sum <"$r")" = "$sum0" ] || fail "a refused or read-only server changed the region"
flock -n -x "$r" true || fail "a server left the region locked"
echo "ok: bad parameters and a region in use are refused at start"
