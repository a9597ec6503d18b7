#!/bin/bash
# test_mount_fio.sh - fio writes files on a daxfs mount with the psync
# engine in mixed block sizes (4 KiB .. 1 MiB, random and sequential) and
# verifies every block's crc32c on read-back; then a clean fsck.
. "$(dirname "$0")/lib.sh" "$@"
command -v fio >/dev/null || dx_skip "fio is not installed"
dx_mkfs 128M
dx_mount
fio --output="$T/fio.out" --directory="$MNT" --ioengine=psync --verify_state_save=0 \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --size=16M \
	--name=randw --rw=randwrite --bsrange=4k-1M --bs_unaligned=0 \
	--name=seqw --rw=write --bs=1M \
	--name=small --rw=randwrite --bs=4k --size=4M ||
	{ cat "$T/fio.out" >&2; fail "fio verify"; }
grep -q "verify" "$T/fio.out" && grep -qi "bad\|mismatch" "$T/fio.out" && fail "fio reported a mismatch"
# read the files again in a second pass, after a remount
dx_umount
dx_mount
fio --output="$T/fio2.out" --directory="$MNT" --ioengine=psync --verify_state_save=0 \
	--verify=crc32c --verify_only=1 --verify_fatal=1 --size=16M \
	--name=randw --rw=randwrite --bsrange=4k-1M \
	--name=seqw --rw=write --bs=1M \
	--name=small --rw=randwrite --bs=4k --size=4M ||
	{ cat "$T/fio2.out" >&2; fail "fio verify after remount"; }
dx_umount
# the bio and page paths read the same files back in the other descriptor modes
if [ "$DP" != dax ]; then
	for mode in pfn folio page; do
		DAXFS_MODE=$mode dx_mount
		fio --output="$T/fio3.out" --directory="$MNT" --ioengine=psync --verify_state_save=0 \
			--verify=crc32c --verify_only=1 --verify_fatal=1 --size=16M \
			--name=randw --rw=randwrite --bsrange=4k-1M \
			--name=seqw --rw=write --bs=1M \
			--name=small --rw=randwrite --bs=4k --size=4M ||
			{ cat "$T/fio3.out" >&2; fail "fio verify in mode $mode"; }
		grep -q "mode $mode" "$MNT/.daxfs-stats" || fail "mode=$mode not in effect"
		dx_umount
	done
fi
dx_fsck
