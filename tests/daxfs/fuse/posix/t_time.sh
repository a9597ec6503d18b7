#!/bin/bash
# t_time.sh - timestamps never wrap (issue 13): touch -d 2300-01-01 and
# 1600-01-01 read back as set (they showed 1715 and 2184), nanoseconds
# kept, times far outside the on-media range are clamped to its ends (as
# ext4 clamps), never wrapped; all of it survives a remount and fsck.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
touch "$MNT/future" "$MNT/past" "$MNT/edge" "$MNT/far" "$MNT/ancient"
touch -d "2300-01-01 00:00:00.123456789 UTC" "$MNT/future"
touch -d "1600-01-01 12:34:56 UTC" "$MNT/past"
touch -d "2262-04-11 23:47:16.854775808 UTC" "$MNT/edge" # one ns past the old range
touch -d "@99999999999999" "$MNT/far"                    # year 3,170,843
touch -m -d "@-99999999999999" "$MNT/ancient"
check() { # check [cached]: cached, under -o writeback the kernel shows the
	# times it was given (it keeps mtime and ctime of files it caches); the
	# clamped ones are what the media holds, seen after the remount
	expect_eq "$(TZ=UTC stat -c %y "$MNT/future")" "2300-01-01 00:00:00.123456789 +0000" "2300"
	expect_eq "$(TZ=UTC stat -c %y "$MNT/past")" "1600-01-01 12:34:56.000000000 +0000" "1600"
	expect_eq "$(TZ=UTC stat -c %x "$MNT/past")" "1600-01-01 12:34:56.000000000 +0000" "1600 atime"
	expect_eq "$(TZ=UTC stat -c %y "$MNT/edge")" "2262-04-11 23:47:16.854775808 +0000" "2262 edge"
	# clamped near 76,500 AD and 73,100 BC: far from both wraps and the input
	local far ancient
	[ "${1:-}" = cached ] && dx_writeback && return 0
	far=$(stat -c %Y "$MNT/far")
	ancient=$(stat -c %Y "$MNT/ancient")
	[ "$far" -gt 2300000000000 ] && [ "$far" -lt 2400000000000 ] ||
		fail "far future stored as $far (clamp to about 2.35e12 s)"
	[ "$ancient" -lt -2300000000000 ] && [ "$ancient" -gt -2400000000000 ] ||
		fail "far past stored as $ancient (clamp to about -2.37e12 s)"
}
check cached
dx_umount
dx_fsck
dx_mount
check
dx_umount
dx_fsck
