#!/bin/bash
# t_xattr_many.sh - at least 1,000 small xattrs per inode and values up to
# 64 KiB (issue 13: about 128, then ENOSPC): 1,500 user xattrs on a file
# and on a directory, each read back, listed exactly once, half removed;
# values of 2 KiB, 4 KiB + 1 and 64 KiB next to them read back exactly,
# 64 KiB + 1 refused with E2BIG; everything survives a remount and fsck.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
N = 1500
open(m + "/f", "w").close(); os.mkdir(m + "/d")
big = {2048: os.urandom(2048), 4097: os.urandom(4097), 65536: os.urandom(65536)}
for p in (m + "/f", m + "/d"):
    for k in range(N):
        os.setxattr(p, "user.attr%04d" % k, b"value-%d" % (k * 7), os.XATTR_CREATE)
    for n, v in big.items():
        os.setxattr(p, "user.big%d" % n, v)
    raises(errno.E2BIG, lambda: os.setxattr(p, "user.toobig", b"x" * 65537))
    for k in range(N):
        assert os.getxattr(p, "user.attr%04d" % k) == b"value-%d" % (k * 7), k
    names = os.listxattr(p)
    assert len(names) == len(set(names)) == N + len(big), len(names)
    for k in range(1, N, 2):
        os.removexattr(p, "user.attr%04d" % k)
    raises(errno.ENODATA, lambda: os.removexattr(p, "user.attr0001"))
    raises(errno.ENODATA, lambda: os.getxattr(p, "user.attr0003"))
    assert len(os.listxattr(p)) == N // 2 + len(big)
    for n, v in big.items():
        assert os.getxattr(p, "user.big%d" % n) == v, n
open(m + "/expect", "wb").write(b"".join(big.values()))
'
dx_umount
dx_fsck
dx_mount
py '
N = 1500
blob = open(m + "/expect", "rb").read()
big = {2048: blob[:2048], 4097: blob[2048:2048 + 4097], 65536: blob[2048 + 4097:]}
for p in (m + "/f", m + "/d"):
    names = sorted(os.listxattr(p))
    assert names == sorted(["user.attr%04d" % k for k in range(0, N, 2)] +
                           ["user.big%d" % n for n in big]), len(names)
    assert os.getxattr(p, "user.attr1498") == b"value-%d" % (1498 * 7)
    for n, v in big.items():
        assert os.getxattr(p, "user.big%d" % n) == v, n
os.unlink(m + "/f")
'
dx_umount
dx_fsck
