# SPDX-License-Identifier: MIT
# mmlib.sh - set-up for the DAX mmap script tests (sourced, not run).
#
#   . "$(dirname "$0")/mmlib.sh" "$@"        (args: BUILD_DIR SOURCE_DIR)
#   mm_region [tmpfs|huge|hugetlbfs] SIZE_MIB; mm_mount [daemon options];
#   ... checks ...; mm_umount; mm_fsck
# Every mount is undone on exit. Skips (77) when something a CI machine
# has is missing here, except under CI=true, where that is a failure.

set -u

BUILD=${1:?build dir}
SRC=${2:?source dir}
DAXFS=$BUILD/daxfs/daxfs
MKFS=$BUILD/daxfs/mkfs.daxfs
FSCK=$BUILD/daxfs/fsck.daxfs
MAPCHECK=$BUILD/daxfs/daxfs-mapcheck
RECORDS=$BUILD/daxfs/daxfs_records
SHIM=$BUILD/daxfs/libdaxfs-preload.so

mm_skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -w /dev/fuse ] || mm_skip "/dev/fuse is not usable"
command -v fusermount3 >/dev/null || mm_skip "fusermount3 is not installed"
for _b in "$DAXFS" "$MKFS" "$FSCK" "$MAPCHECK" "$RECORDS" "$SHIM"; do
	[ -e "$_b" ] || fail "$_b is not built"
done

T=$(mktemp -d "${PMD_TEST_DIR:-/dev/shm}/daxfs-mmap.XXXXXX") || fail "mktemp"
chmod 755 "$T"
MNT=$T/mnt
mkdir "$MNT"
REGION=
BACKDIR=
HUGEPAGES_SAVED=

mm_wait_free() {
	[ -n "$REGION" ] && [ -e "$REGION" ] && flock -w 20 "$REGION" true 2>/dev/null
}

mm_cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u -z "$MNT" 2>/dev/null
		mm_wait_free
	fi
	if [ -n "$BACKDIR" ]; then
		rm -f "$REGION"
		umount -l "$BACKDIR" 2>/dev/null
	fi
	if [ -n "$HUGEPAGES_SAVED" ]; then
		echo "$HUGEPAGES_SAVED" >/proc/sys/vm/nr_hugepages 2>/dev/null
	fi
	rm -rf "$T"
}
trap mm_cleanup EXIT

# mm_region KIND SIZE_MIB: make and format a region on 4 KiB tmpfs, a huge
# tmpfs or hugetlbfs (the last two mounted here).
mm_region() {
	local kind=$1 size=$2 need free
	case $kind in
	tmpfs)
		REGION=$T/region
		;;
	huge)
		BACKDIR=$T/back
		mkdir "$BACKDIR"
		mount -t tmpfs -o "huge=always,size=$((size + 8))M" mmtest "$BACKDIR" ||
			mm_skip "cannot mount a huge tmpfs (needs root)"
		REGION=$BACKDIR/region
		;;
	hugetlbfs)
		need=$((size / 2))
		free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
		if [ "$free" -lt "$need" ]; then
			HUGEPAGES_SAVED=$(cat /proc/sys/vm/nr_hugepages)
			echo $((HUGEPAGES_SAVED + need - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null
			free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
			[ "$free" -ge "$need" ] || mm_skip "cannot reserve $need huge pages"
		fi
		BACKDIR=$T/back
		mkdir "$BACKDIR"
		mount -t hugetlbfs -o pagesize=2M mmtest "$BACKDIR" ||
			mm_skip "cannot mount hugetlbfs (needs root)"
		REGION=$BACKDIR/region
		;;
	*) fail "mm_region: unknown kind $kind" ;;
	esac
	"$MKFS" -q --size "${size}M" "$REGION" || fail "mkfs.daxfs $REGION"
}

mm_mount() {
	"$DAXFS" "$@" "$REGION" "$MNT" || fail "mount $REGION $*"
}

mm_umount() {
	fusermount3 -u "$MNT" || fail "fusermount3 -u $MNT"
	mm_wait_free
}

mm_fsck() {
	"$FSCK" -n "$REGION" >/dev/null || fail "fsck.daxfs -n $REGION is not clean"
}

# mm_field KEY: the value of "KEY: value" in the mapcheck output on stdin.
mm_field() {
	awk -v k="$1:" '$1 == k {print $2}'
}
