#!/bin/bash
# test_mount_transport.sh - -o io_uring: the daemon switches the kernel's
# FUSE over io_uring on (as root), serves requests through io_uring rings
# (it holds io_uring instances; daxfs stat says "transport": "io_uring")
# and the filesystem works; io_uring_q_depth=N is taken; without the option
# the transport is /dev/fuse and no ring exists.
. "$(dirname "$0")/lib.sh" "$@"
[ -e /sys/module/fuse/parameters/enable_uring ] ||
	dx_skip "this kernel has no FUSE over io_uring"
dx_mkfs 64M

transport() {
	"$DAXFS" stat "$MNT" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["transport"])' ||
		fail "daxfs stat --json"
}
rings() {
	local pid
	pid=$(pgrep -f -- " $REGION $MNT\$" | head -1)
	[ -n "$pid" ] || fail "no daemon for $MNT"
	find "/proc/$pid/fd" -lname 'anon_inode:\[io_uring\]' 2>/dev/null | wc -l
}

DAXFS_EXTRA_OPTS= dx_mount
expect_eq "$(transport)" dev_fuse "transport without -o io_uring"
expect_eq "$(rings)" 0 "io_uring instances without -o io_uring"
dx_umount

for opts in "-o io_uring" "-o io_uring,io_uring_q_depth=32"; do
	# shellcheck disable=SC2086
	DAXFS_EXTRA_OPTS= dx_mount $opts
	expect_eq "$(cat /sys/module/fuse/parameters/enable_uring)" Y "enable_uring after $opts"
	expect_eq "$(transport)" io_uring "transport with $opts"
	[ "$(rings)" -gt 0 ] || fail "no io_uring instance with $opts"
	head -c 3M /dev/urandom >"$T/data"
	cp "$T/data" "$MNT/data" || fail "cp over io_uring"
	mkdir "$MNT/d" && touch "$MNT/d/x" && rm -r "$MNT/d" || fail "metadata over io_uring"
	cmp -s "$T/data" "$MNT/data" || fail "data differs over io_uring"
	dx_umount
done
dx_fsck
