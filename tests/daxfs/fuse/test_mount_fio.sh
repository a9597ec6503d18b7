#!/bin/bash
# test_mount_fio.sh - fio writes files on a daxfs mount with the psync
# engine in mixed block sizes (4 KiB .. 1 MiB, random and sequential) and
# verifies every block's crc32c on read-back; then a clean fsck.
. "$(dirname "$0")/lib.sh" "$@"
command -v fio >/dev/null || dx_skip "fio is not installed"

# fio_jobs OUT WHAT [OPTIONS...] - the three jobs (random, sequential and
# small writes) on $MNT with crc32c verification; fail with WHAT.
fio_jobs() {
	local out=$T/$1 what=$2
	shift 2
	fio --output="$out" --directory="$MNT" --ioengine=psync --verify_state_save=0 \
		--verify=crc32c --verify_fatal=1 --size=16M "$@" \
		--name=randw --rw=randwrite --bsrange=4k-1M --bs_unaligned=0 \
		--name=seqw --rw=write --bs=1M \
		--name=small --rw=randwrite --bs=4k --size=4M ||
		{ cat "$out" >&2; fail "$what"; }
}

dx_mkfs 128M
dx_mount
fio_jobs fio.out "fio verify" --do_verify=1
grep -q "verify" "$T/fio.out" && grep -qi "bad\|mismatch" "$T/fio.out" && fail "fio reported a mismatch"
# read the files again in a second pass, after a remount
dx_umount
dx_mount
fio_jobs fio2.out "fio verify after remount" --verify_only=1
dx_umount
# the bio and page paths read the same files back in the other descriptor modes
if [ "$DP" != dax ]; then
	for mode in pfn folio page ondemand memdesc; do
		DAXFS_MODE=$mode dx_mount
		fio_jobs fio3.out "fio verify in mode $mode" --verify_only=1
		grep -q "mode $mode" "$MNT/.daxfs-stats" || fail "mode=$mode not in effect"
		dx_umount
	done
fi
dx_fsck
