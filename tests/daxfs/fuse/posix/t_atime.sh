#!/bin/bash
# t_atime.sh - access times as ext4 keeps them (issue 13): with the default
# relatime a read updates atime when it is not after mtime, once (a second
# read leaves it), and when it is a day old; strictatime updates on every
# read, noatime never, nor does chattr +A; readdir updates a directory's
# atime unless nodiratime.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
atime() { stat -c %X "$1"; }
# wait_atime FILE OP VALUE - the daemon updates atime just after its reply
wait_atime() {
	local k
	for k in $(seq 50); do
		[ "$(atime "$1")" "$2" "$3" ] && return 0
		sleep 0.1
	done
	fail "atime of $1 is $(atime "$1"), expected $2 $3"
}
dx_mount
echo data > "$MNT/f"
mkdir "$MNT/d"
touch "$MNT/d/x"
now=$(date +%s)
# relatime: atime older than mtime -> updated by a read
touch -a -d @$((now - 100)) "$MNT/f"
touch -m -d @$((now - 50)) "$MNT/f"
cat "$MNT/f" >/dev/null
wait_atime "$MNT/f" -ge "$now"
# ... newer than mtime and ctime, and recent: left alone
touch -a -d @$((now + 3600)) "$MNT/f"
cat "$MNT/f" >/dev/null
sleep 0.5
expect_eq "$(atime "$MNT/f")" $((now + 3600)) "relatime: recent atime after mtime"
# ... a day old: updated
touch -m -d @$((now - 3 * 86400)) "$MNT/f"
touch -a -d @$((now - 2 * 86400)) "$MNT/f"
# (touch set ctime to now, newer than atime: make the test about age only)
cat "$MNT/f" >/dev/null
wait_atime "$MNT/f" -ge "$now"
# chattr +A: never
if command -v chattr >/dev/null; then
	chattr +A "$MNT/f"
	touch -a -d @$((now - 100)) "$MNT/f"
	cat "$MNT/f" >/dev/null
	sleep 0.5
	expect_eq "$(atime "$MNT/f")" $((now - 100)) "chattr +A"
	chattr -A "$MNT/f"
fi
# readdir: the directory's atime, relatime rules
touch -a -d @$((now - 100)) "$MNT/d"
ls "$MNT/d" >/dev/null
wait_atime "$MNT/d" -ge "$now"
dx_umount

dx_mount -o strictatime
touch -a -d @$((now + 3600)) "$MNT/f"
cat "$MNT/f" >/dev/null
wait_atime "$MNT/f" -lt $((now + 3600))
dx_umount

dx_mount -o noatime,nodiratime
findmnt -n -o OPTIONS "$MNT" | grep -q noatime || fail "noatime not passed to the kernel"
touch -a -d @$((now - 100)) "$MNT/f" "$MNT/d"
cat "$MNT/f" >/dev/null
ls "$MNT/d" >/dev/null
sleep 0.5
expect_eq "$(atime "$MNT/f")" $((now - 100)) "noatime"
expect_eq "$(atime "$MNT/d")" $((now - 100)) "nodiratime"
dx_umount
dx_fsck
