#!/bin/bash
# t_xattr.sh - set, get, list and remove extended attributes on files and
# directories; XATTR_CREATE/REPLACE errors; ENODATA; values survive remount.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
open(m + "/f", "w").close(); os.mkdir(m + "/d")
for p in (m + "/f", m + "/d"):
    os.setxattr(p, "user.a", b"one")
    os.setxattr(p, "user.b", b"\0binary\xff")
    assert os.getxattr(p, "user.a") == b"one"
    assert os.getxattr(p, "user.b") == b"\0binary\xff"
    assert sorted(os.listxattr(p)) == ["user.a", "user.b"]
    try: os.setxattr(p, "user.a", b"x", os.XATTR_CREATE); raise SystemExit("CREATE")
    except OSError as e: assert e.errno == errno.EEXIST, e
    try: os.setxattr(p, "user.c", b"x", os.XATTR_REPLACE); raise SystemExit("REPLACE")
    except OSError as e: assert e.errno == errno.ENODATA, e
    os.setxattr(p, "user.a", b"two", os.XATTR_REPLACE)
    assert os.getxattr(p, "user.a") == b"two"
    os.removexattr(p, "user.b")
    try: os.getxattr(p, "user.b"); raise SystemExit("removed still there")
    except OSError as e: assert e.errno == errno.ENODATA, e
    os.setxattr(p, "user.empty", b"")
    assert os.getxattr(p, "user.empty") == b""
'
dx_umount
dx_mount
py '
assert os.getxattr(m + "/f", "user.a") == b"two"
assert sorted(os.listxattr(m + "/d")) == ["user.a", "user.empty"]
'
dx_umount
dx_fsck
