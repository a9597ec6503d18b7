#!/bin/bash
# t_special.sh - mknod of a fifo (data flows through it between two
# processes), and flock/POSIX locks conflict between processes.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
mkfifo "$MNT/fifo" || fail "mkfifo"
[ -p "$MNT/fifo" ] || fail "not a fifo"
(echo through-fifo > "$MNT/fifo") &
expect_eq "$(cat "$MNT/fifo")" through-fifo "fifo data"
wait
touch "$MNT/lock"
flock -x "$MNT/lock" sleep 2 &
sleep 0.5
flock -n -x "$MNT/lock" true && fail "flock did not conflict"
wait
flock -n -x "$MNT/lock" true || fail "flock not released"
py '
import fcntl, subprocess
fd = os.open(m + "/lock", os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
r = subprocess.run([sys.executable, "-c", "import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\ntry:\n fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB,10,0)\nexcept OSError:\n sys.exit(3)\n", m + "/lock"])
assert r.returncode == 3, "posix lock did not conflict"
os.close(fd)
'
dx_umount
dx_fsck
