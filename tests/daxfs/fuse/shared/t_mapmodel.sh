#!/bin/bash
# SPDX-License-Identifier: MIT
# t_mapmodel.sh - the seeded checker (mapmodel.c) on a real mount: mapped
# loads and stores, pread/pwrite, truncate, fallocate, msync and loads
# past end of file on one file, every read compared with an in-memory
# model; with a kernel MAP_SHARED mapping (no shim) and through the preload
# shim (a DAX mapping where the data path offers one, remapped after each
# layout change). Seeds from MAPMODEL_SEEDS (default three fixed ones),
# MAPMODEL_OPS operations each (default 2500).
. "$(dirname "$0")/lib.sh" "$@"
PROG=$BUILD/tests/daxfs/fuse/shared/mapmodel
[ -x "$PROG" ] || fail "$PROG is not built"
seeds=${MAPMODEL_SEEDS:-"1 20260 777"}
ops=${MAPMODEL_OPS:-2500}
dx_mkfs 64M
dx_mount
for s in $seeds; do
	"$PROG" "$MNT/model.$s" "$s" "$ops" || fail "kernel mapping, seed $s ($DP path)"
	with_shim "$PROG" "$MNT/shim.$s" "$s" "$ops" --remap ||
		fail "through the shim, seed $s ($DP path)"
done
dx_umount
dx_fsck
