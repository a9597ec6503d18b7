#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_info.sh - what a client learns at negotiation (nbdinfo --json): the
# region's size, block sizes from the queue limits (512 / 4096 / 32 MiB),
# every capability (flush, native FUA, trim, zero, fast zero, multi-conn;
# not rotational), and the export description; with readonly=true the
# export is read-only and a write is refused.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need nbdinfo python3 qemu-io

r=$(nbd_region r 96M)

# The real interpreter, once (a pyenv shim costs seconds per start).
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

# info - nbdinfo --json of the export, flattened to KEY=JSON lines in $T/info
info()
{
	nbdinfo --json "$NBD_URI" >"$T/info.json" || fail "nbdinfo $*"
	"$PY" -c 'import json,sys
e = json.load(open(sys.argv[1]))["exports"][0]
for k, v in e.items():
    print("%s=%s" % (k, json.dumps(v)))' "$T/info.json" >"$T/info" || fail "bad nbdinfo JSON"
}
expect()
{
	grep -qxF -- "$1=$2" "$T/info" || fail "$1: got '$(grep "^$1=" "$T/info")', expected $2"
}

for mode in pfn folio page ondemand memdesc; do
	nbd_start "$r" mode=$mode
	info "($mode)"
	expect export-size $((96 << 20))
	expect block_size_minimum 512
	expect block_size_preferred 4096
	expect block_size_maximum $((32 << 20))
	expect is_read_only false
	expect is_rotational false
	expect can_flush true
	expect can_fua true
	expect can_trim true
	expect can_zero true
	expect can_fast_zero true
	expect can_multi_conn true
	expect can_cache false
	expect description "\"pmemdev region $r (mode=$mode, target=pmem)\""
	nbd_stop
done

nbd_start "$r" readonly=true
info "(readonly)"
expect is_read_only true
qemu-io -f raw "$NBD_URI" -c "write 0 4k" >"$T/out" 2>&1 && fail "write to a read-only export succeeded"
qemu-io -f raw -r "$NBD_URI" -c "read 0 4k" >"$T/out" 2>&1 || fail "read from a read-only export: $(cat "$T/out")"
nbd_stop
echo "ok: nbdinfo sees size, block sizes and capabilities"
