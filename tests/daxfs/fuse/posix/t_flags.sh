#!/bin/bash
# t_flags.sh - chattr and lsattr (FS_IOC_GETFLAGS/SETFLAGS, issue 13: they
# were refused): +i makes a file refuse writes, truncation, chmod, chown,
# xattrs, unlink, rename, links and write opens, even for root; +i on a
# directory refuses new and removed entries; +a allows only appends (and
# touch); +A and +d are kept; an unsupported flag is refused; an
# unprivileged owner cannot set +i; the flags survive a remount.
. "$(dirname "$0")/../lib.sh" "$@"
command -v chattr >/dev/null || dx_skip "chattr is not installed (Debian package e2fsprogs)"
dx_user
dx_mkfs 64M
chmod 0755 "$T"
dx_mount -o allow_other
chmod 0755 "$MNT"
cd "$MNT" || fail "cd"
no() { "$@" 2>/dev/null && fail "allowed: $*"; return 0; }

echo keep > f
chattr +i f || fail "chattr +i"
lsattr -d f | grep -q '^----i' || fail "lsattr: $(lsattr -d f)"
no bash -c 'echo x >> f'
no bash -c 'echo x > f'
no truncate -s 0 f
no chmod 600 f
no chown "$DX_USER" f
no touch -d 2001-01-01 f
no setfattr -n user.x -v 1 f
no rm -f f
no mv f f2
no ln f f3
touch g
no mv g f
rm g
py 'raises(errno.EPERM, lambda: os.open(m + "/f", os.O_WRONLY))'
py 'raises(errno.EPERM, lambda: os.open(m + "/f", os.O_RDWR | os.O_APPEND))'
expect_eq "$(cat f)" keep "content of an immutable file"
chattr -i f || fail "chattr -i"
echo more >> f || fail "write after chattr -i"

mkdir d
touch d/inside
chattr +i d || fail "chattr +i d"
no touch d/new
no mkdir d/sub
no rm d/inside
no mv d/inside d/moved
echo ok > d/inside || fail "a file in an immutable directory is not immutable"
chattr -i d

echo log > a
chattr +a a || fail "chattr +a"
lsattr -d a | grep -q '^-----a' || fail "lsattr +a: $(lsattr -d a)"
echo line >> a || fail "append to an append-only file"
no bash -c 'echo x > a'
no truncate -s 1 a
no rm a
no chmod 600 a
touch a || fail "touch (times to now) of an append-only file"
py '
fd = os.open(m + "/a", os.O_WRONLY | os.O_APPEND)
os.write(fd, b"tail\n")
import fcntl
fcntl.fcntl(fd, fcntl.F_SETFL, 0)   # drop O_APPEND: writes must still fail
raises(errno.EPERM, lambda: os.pwrite(fd, b"X", 0))
'
expect_eq "$(cat a)" "$(printf 'log\nline\ntail')" "append-only content"

chattr +A +d f || fail "chattr +A +d"
lsattr -d f | grep -q '^------d-A' || lsattr -d f | grep -q 'd.*A' || fail "lsattr +Ad: $(lsattr -d f)"
no chattr +c f
touch mine
chown "$DX_USER" mine
as_user chattr +i mine 2>/dev/null && fail "an unprivileged owner set +i"
as_user chattr +A mine || fail "the owner cannot set +A"

cd / || fail "cd /"
dx_umount
dx_fsck
dx_mount -o allow_other
lsattr -d "$MNT/a" | grep -q '^-----a' || fail "+a lost at remount: $(lsattr -d "$MNT/a")"
lsattr -d "$MNT/mine" | grep -q 'A' || fail "+A lost at remount"
rm "$MNT/a" 2>/dev/null && fail "append-only file removed after remount"
chattr -a "$MNT/a"
rm "$MNT/a" || fail "rm after chattr -a"
dx_umount
dx_fsck
