#!/bin/bash
# SPDX-License-Identifier: MIT
# t_tmpfile.sh - open(O_TMPFILE): an unnamed regular file in the directory,
# readable and writable, owned by the caller with the mode asked for (less
# umask), not listed; linkat() of it gives it a name with its data (kept
# across a remount); an O_TMPFILE that is never linked leaves no trace (its
# space comes back, fsck is clean); O_TMPFILE|O_EXCL cannot be linked; on a
# file instead of a directory it fails with ENOTDIR.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M
dx_mount
mkdir "$MNT/d"
free0=$(stat -f -c %f "$MNT")
"$PY" - "$MNT/d" <<'PY' || fail "O_TMPFILE + linkat ($DP path)"
import ctypes, errno, os, stat, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_SYMLINK_FOLLOW = -100, 0x400

def link_fd(fd, path):
    """linkat(2) of /proc/self/fd/FD following the magic link (os.link would
    call link(2), which links the /proc symlink itself)."""
    if libc.linkat(AT_FDCWD, b"/proc/self/fd/%d" % fd, AT_FDCWD, path.encode(),
                   AT_SYMLINK_FOLLOW) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
os.umask(0o022)
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o666)
st = os.fstat(fd)
assert stat.S_ISREG(st.st_mode), oct(st.st_mode)
assert stat.S_IMODE(st.st_mode) == 0o644, oct(st.st_mode)
assert st.st_nlink == 0, st.st_nlink
assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
data = os.urandom(3 << 20) + b"tail"
assert os.write(fd, data) == len(data)
assert os.pread(fd, 4, len(data) - 4) == b"tail"
assert os.listdir(d) == [], os.listdir(d)
link_fd(fd, os.path.join(d, "named"))
assert os.fstat(fd).st_nlink == 1
assert os.listdir(d) == ["named"]
os.close(fd)
with open(os.path.join(d, "named"), "rb") as f:
    assert f.read() == data

# never linked: gone at close
fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
os.write(fd, os.urandom(4 << 20))
os.close(fd)
assert os.listdir(d) == ["named"]

# O_EXCL: linkat refuses
fd = os.open(d, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
try:
    link_fd(fd, os.path.join(d, "excl"))
    sys.exit("linkat of an O_TMPFILE|O_EXCL file worked")
except OSError as e:
    assert e.errno == errno.ENOENT, e
os.close(fd)

# on a regular file
try:
    os.open(os.path.join(d, "named"), os.O_TMPFILE | os.O_RDWR, 0o600)
    sys.exit("O_TMPFILE on a regular file worked")
except OSError as e:
    assert e.errno == errno.ENOTDIR, e
PY
sum=$(md5sum <"$MNT/d/named")
dx_umount
dx_fsck
dx_mount
expect_eq "$(md5sum <"$MNT/d/named")" "$sum" "linked O_TMPFILE after remount ($DP path)"
rm "$MNT/d/named"
expect_eq "$(stat -f -c %f "$MNT")" "$free0" "free blocks after the tmpfiles are gone ($DP path)"
dx_umount
dx_fsck
