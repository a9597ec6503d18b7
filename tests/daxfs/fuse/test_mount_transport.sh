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

# Over io_uring only FORGETs and INTERRUPTs come through /dev/fuse, and the
# daemon lets FORGETs gather for a moment before it reads them
# (fuse_devloop.h): 3000 unlinks bring far fewer FORGET requests (each one
# a wake-up of a daemon thread) than files, and every inode is still
# forgotten. The daemon that woke for each FORGET took about 3000 (2978
# and 3001 in two runs).
stat_of() {
	"$DAXFS" stat "$MNT" --json | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)" ||
		fail "daxfs stat --json"
}
# (also with -s, one thread for /dev/fuse)
in_mem='d["core"]["inodes_held"]'
forgets='d["ops"].get("forget", {}).get("count", 0)'
for single in "" -s; do
	# shellcheck disable=SC2086
	DAXFS_EXTRA_OPTS= dx_mount -o io_uring $single
	base=$(stat_of "$in_mem")
	mkdir "$MNT/many" || fail "mkdir"
	"$PY" - "$MNT/many" <<'PYEOF' || fail "creating 3000 files"
import os, sys
for i in range(3000):
    os.close(os.open(f"{sys.argv[1]}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
PYEOF
	[ "$(stat_of "$in_mem")" -ge $((base + 3000)) ] ||
		fail "3000 files looked up, but the daemon holds $(stat_of "$in_mem") inodes (from $base)"
	f0=$(stat_of "$forgets")
	rm -r "$MNT/many" || fail "rm -r"
	for _ in $(seq 100); do
		[ "$(stat_of "$in_mem")" -eq "$base" ] && break
		sleep 0.1
	done
	expect_eq "$(stat_of "$in_mem")" "$base" "inodes in memory after the unlinks"
	n=$(($(stat_of "$forgets") - f0))
	[ "$n" -ge 1 ] && [ "$n" -le 750 ] ||
		fail "3000 unlinks over io_uring ${single:-without -s} brought $n FORGET requests (want 1 to 750)"
	dx_umount
done
dx_fsck
