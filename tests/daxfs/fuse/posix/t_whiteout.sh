#!/bin/bash
# t_whiteout.sh - renameat2(RENAME_WHITEOUT) (issue 13: it was refused,
# and overlayfs needs it for an upper directory): the source name becomes
# a whiteout (character device 0/0) owned by the caller and the file moves;
# RENAME_WHITEOUT with RENAME_EXCHANGE is EINVAL; an overlay mount with its
# upper and work directories on daxfs removes and renames lower files
# (which takes whiteouts); all of it survives a remount and fsck.
. "$(dirname "$0")/../lib.sh" "$@"
dx_cleanup_more() { umount -l "$T/ovl" 2>/dev/null; }
dx_mkfs 64M
dx_mount
echo a > "$MNT/a"
mkdir "$MNT/d"
py '
import ctypes, stat
libc = ctypes.CDLL(None, use_errno=True)
AT = -100
WHITEOUT, EXCHANGE = 4, 2
def rename2(a, b, flags):
    if libc.renameat2(AT, (m + "/" + a).encode(), AT, (m + "/" + b).encode(), flags):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
rename2("a", "d/b", WHITEOUT)
st = os.lstat(m + "/a")
assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, (oct(st.st_mode), st.st_rdev)
assert open(m + "/d/b").read() == "a\n"
open(m + "/c", "w").close()
raises(errno.EINVAL, lambda: rename2("c", "d/b", WHITEOUT | EXCHANGE))
'

# overlayfs with daxfs as the upper layer
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	dx_skip "overlayfs is not available"
mkdir "$T/lower" "$MNT/upper" "$MNT/work" "$T/ovl"
echo lower1 > "$T/lower/one"
echo lower2 > "$T/lower/two"
mkdir "$T/lower/ld"
echo in > "$T/lower/ld/x"
mount -t overlay overlay -o "lowerdir=$T/lower,upperdir=$MNT/upper,workdir=$MNT/work" "$T/ovl" ||
	fail "overlay mount with daxfs as upper: $(dmesg | grep -i overlay | tail -3)"
rm "$T/ovl/one" || fail "rm of a lower file"
mv "$T/ovl/two" "$T/ovl/two.moved" || fail "rename of a lower file"
rm -r "$T/ovl/ld" || fail "rm -r of a lower directory"
echo new > "$T/ovl/fresh"
expect_eq "$(cd "$T/ovl" && ls | tr '\n' ' ')" "fresh two.moved " "overlay listing"
expect_eq "$(cat "$T/ovl/two.moved")" lower2 "renamed lower file"
umount "$T/ovl" || fail "umount overlay"
[ "$(stat -c %F:%t:%T "$MNT/upper/one")" = "character special file:0:0" ] ||
	fail "no whiteout for the removed lower file: $(stat -c %F:%t:%T "$MNT/upper/one" 2>&1)"
dx_umount
dx_fsck
dx_mount
[ "$(stat -c %F:%t:%T "$MNT/upper/one")" = "character special file:0:0" ] ||
	fail "whiteout lost at remount"
mount -t overlay overlay -o "lowerdir=$T/lower,upperdir=$MNT/upper,workdir=$MNT/work" "$T/ovl" ||
	fail "overlay mount again"
expect_eq "$(cd "$T/ovl" && ls | tr '\n' ' ')" "fresh two.moved " "overlay listing after remount"
umount "$T/ovl" || fail "umount overlay"
dx_umount
dx_fsck
