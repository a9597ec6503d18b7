#!/bin/bash
# test_mount_lock.sh - one owner per region (issue 10, items 1 and 8), on a
# real mount:
#  - mkfs.daxfs, with and without -f, on a mounted region is refused with
#    "in use by PID N (daxfs, mounted on MNT)" and destroys nothing (it
#    used to print "created" and leave the daemon on a new filesystem);
#  - pmemdev bench --target pmem --rw write, pmemdev badblocks add and
#    fsck.daxfs -y / -n on a mounted region are refused the same way (the
#    bench used to overwrite the superblock);
#  - umount, then fsck.daxfs -n or mkfs.daxfs -f at once, while the daemon
#    is still closing: they wait for it, say so, and succeed (fsck used to
#    fail with "region is in use (mounted?)"); a daemon that does not let
#    go in the bounded wait ($PMD_REGION_LOCK_WAIT) is named in the error.
# The daemon is held in its closing phase with SIGSTOP, so the window that
# is a race in real use is open for as long as the test needs.
. "$(dirname "$0")/lib.sh" "$@"
PMEMDEV=$BUILD/pmemdev/pmemdev
[ -x "$PMEMDEV" ] || fail "$PMEMDEV is not built"
STOPPED=
trap '[ -n "$STOPPED" ] && kill -CONT "$STOPPED" 2>/dev/null; dx_cleanup' EXIT

# refused PATTERN cmd... - nonzero exit, PATTERN in its output
refused() {
	local pat=$1 rc
	shift
	"$@" >"$T/out" 2>&1
	rc=$?
	[ $rc -ne 0 ] || fail "'$*' exited 0 on a mounted region: $(cat "$T/out")"
	grep -qE -- "$pat" "$T/out" || fail "'$*': message lacks /$pat/: $(cat "$T/out")"
}

dx_mkfs 64M
dx_mount
head -c 300000 /dev/urandom >"$T/data"
cp "$T/data" "$MNT/keep"
mkdir "$MNT/dir"
sync
pid=$(dx_daemon_pid "$REGION")
[ -n "$pid" ] || fail "no daemon holds $REGION"
who="in use by PID $pid \\(daxfs, mounted on $MNT\\)"

# item 1: writers are refused and change nothing the daemon serves
refused "$who" "$MKFS" -f "$REGION"
refused "umount $MNT" "$MKFS" -f "$REGION" # the next step
refused "$who" "$MKFS" "$REGION"
refused "$who" "$PMEMDEV" bench "$REGION" --target pmem --rw write --time 0.2
refused "$who" "$PMEMDEV" bench "$REGION" --target pmem --rw randwrite --bs 2M --time 0.2
refused "$who" "$PMEMDEV" badblocks "$REGION" add 0 8
refused "$who" "$FSCK" -y "$REGION"
refused "$who" "$FSCK" -n "$REGION"
cmp "$T/data" "$MNT/keep" || fail "file changed under the mount"
[ -d "$MNT/dir" ] || fail "directory lost under the mount"
echo new >"$MNT/new" || fail "cannot create after the refused writers"
"$PMEMDEV" info "$REGION" | grep -qE "in use: +exclusive by PID $pid \(daxfs, mounted on $MNT\)" ||
	fail "pmemdev info does not name the daemon"
dx_umount
dx_fsck
dx_mount
cmp "$T/data" "$MNT/keep" || fail "file changed after remount"

# item 8: umount, then fsck -n at once while the daemon is still closing
pid=$(dx_daemon_pid "$REGION")
kill -STOP "$pid"
STOPPED=$pid
fusermount3 -u "$MNT" || fail "fusermount3 -u with the daemon stopped"
grep -qs " $MNT fuse" /proc/self/mounts && fail "$MNT still mounted"
"$FSCK" -n "$REGION" >"$T/fsck.out" 2>&1 &
fsck=$!
sleep 1
kill -0 "$fsck" 2>/dev/null || fail "fsck did not wait for the closing daemon: $(cat "$T/fsck.out")"
grep -q "waiting up to .* for daxfs (PID $pid) to finish closing" "$T/fsck.out" ||
	fail "fsck does not say it waits: $(cat "$T/fsck.out")"
kill -CONT "$pid"
STOPPED=
wait "$fsck" || fail "fsck after the daemon closed: exit $?: $(cat "$T/fsck.out")"
grep -q "clean" "$T/fsck.out" || fail "fsck: $(cat "$T/fsck.out")"

# the same for mkfs -f
dx_mount
pid=$(dx_daemon_pid "$REGION")
kill -STOP "$pid"
STOPPED=$pid
fusermount3 -u "$MNT" || fail "fusermount3 -u"
"$MKFS" -f -q "$REGION" >"$T/mkfs.out" 2>&1 &
mk=$!
sleep 1
kill -0 "$mk" 2>/dev/null || fail "mkfs did not wait for the closing daemon: $(cat "$T/mkfs.out")"
kill -CONT "$pid"
STOPPED=
wait "$mk" || fail "mkfs -f after the daemon closed: $(cat "$T/mkfs.out")"
dx_wait_released "$REGION"
dx_mount
[ -e "$MNT/keep" ] && fail "mkfs -f did not make a new filesystem"

# a daemon that does not finish closing in time is named, and nothing is touched
pid=$(dx_daemon_pid "$REGION")
echo x >"$MNT/mark"
kill -STOP "$pid"
STOPPED=$pid
fusermount3 -u "$MNT" || fail "fusermount3 -u"
start=$(date +%s%N)
PMD_REGION_LOCK_WAIT=1 "$FSCK" -n "$REGION" >"$T/out" 2>&1 && fail "fsck ran beside a live daemon"
el=$((($(date +%s%N) - start) / 1000000))
[ $el -ge 900 ] || fail "fsck gave up after $el ms, not after the 1 s wait"
grep -qE "in use by PID $pid \(daxfs\), still closing" "$T/out" || fail "fsck: $(cat "$T/out")"
PMD_REGION_LOCK_WAIT=1 refused "in use by PID $pid" "$MKFS" -f "$REGION"
kill -CONT "$pid"
STOPPED=
dx_wait_released "$REGION"
dx_mount
[ "$(cat "$MNT/mark")" = x ] || fail "the filesystem changed while the daemon closed"
dx_umount
dx_fsck
echo "ok: one owner per region"
