# SPDX-License-Identifier: MIT
# mmlib.sh - set-up for the DAX mmap script tests (sourced, not run), on top
# of the mount tests' ../lib.sh (dx_skip, fail, dx_umount, dx_fsck, clean-up).
#
#   . "$(dirname "$0")/mmlib.sh" "$@"        (args: BUILD_DIR SOURCE_DIR)
#   mm_region [tmpfs|huge|hugetlbfs] SIZE_MIB [--chunked]; mm_mount [daemon options];
#   ... checks ...; dx_umount; dx_fsck
# Every mount is undone on exit. Skips (77) when something a CI machine
# has is missing here, except under CI=true, where that is a failure.

# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" "$@"

MAPCHECK=$BUILD/daxfs/daxfs-mapcheck
RECORDS=$BUILD/daxfs/daxfs_records
SHIM=$BUILD/daxfs/libdaxfs-preload.so
for _b in "$MAPCHECK" "$RECORDS" "$SHIM"; do
	[ -e "$_b" ] || fail "$_b is not built"
done

chmod 755 "$T"
BACKDIR=
HUGEPAGES_SAVED=

# Called by dx_cleanup once the daemon let go of $REGION.
dx_cleanup_more() {
	if [ -n "$BACKDIR" ]; then
		[ -e "$REGION" ] && flock -w 20 "$REGION" true 2>/dev/null
		rm -rf "$REGION"
		umount -l "$BACKDIR" 2>/dev/null
	fi
	if [ -n "$HUGEPAGES_SAVED" ]; then
		echo "$HUGEPAGES_SAVED" >/proc/sys/vm/nr_hugepages 2>/dev/null
	fi
}

# mm_region KIND SIZE_MIB [--chunked]: make and format a region on 4 KiB
# tmpfs, a huge tmpfs or hugetlbfs (the last two mounted here); one file, or
# a directory of chunks with --chunked.
mm_region() {
	local kind=$1 size=$2 chunked=${3:-} need free
	case $kind in
	tmpfs)
		REGION=$T/region
		rm -rf "$REGION" # an earlier one, unmounted
		;;
	huge)
		BACKDIR=$T/back
		mkdir "$BACKDIR"
		mount -t tmpfs -o "huge=always,size=$((size + 8))M" mmtest "$BACKDIR" ||
			dx_skip "cannot mount a huge tmpfs (needs root)"
		REGION=$BACKDIR/region
		;;
	hugetlbfs)
		need=$((size / 2))
		free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		if [ "$free" -lt "$need" ]; then
			HUGEPAGES_SAVED=$(cat /proc/sys/vm/nr_hugepages)
			echo $((HUGEPAGES_SAVED + need - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null
			free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
			[ "$free" -ge "$need" ] || dx_skip "cannot reserve $need huge pages"
		fi
		BACKDIR=$T/back
		mkdir "$BACKDIR"
		mount -t hugetlbfs -o pagesize=2M mmtest "$BACKDIR" ||
			dx_skip "cannot mount hugetlbfs (needs root)"
		REGION=$BACKDIR/region
		;;
	*) fail "mm_region: unknown kind $kind" ;;
	esac
	# shellcheck disable=SC2086
	"$MKFS" -q --size "${size}M" $chunked "$REGION" || fail "mkfs.daxfs $chunked $REGION"
}

# mm_mount [daemon options] - mount $REGION on $MNT (default data path).
mm_mount() {
	# shellcheck disable=SC2086
	"$DAXFS" ${DAXFS_EXTRA_OPTS:-} "$@" "$REGION" "$MNT" || fail "mount $REGION $*"
}

# mm_field KEY: the value of "KEY: value" in the mapcheck output on stdin.
mm_field() {
	awk -v k="$1:" '$1 == k {print $2}'
}
