#!/bin/bash
# test_mount_enospc.sh - no lost writes on a full filesystem (issue 10
# item 7). Seen on the page path: dd of 1 MiB into a new file on a full
# filesystem succeeded, fsync then failed with ENOSPC, and after the kernel
# forgot the inode the file read back as zeros; read(2) of an unrelated
# durable file failed with ENOSPC. Here, on every data path: filling the
# filesystem ends with ENOSPC from write(2) itself, fsync and close of what
# was acknowledged succeed, a write into a new file on the nearly full
# filesystem is short (or ENOSPC), and after the kernel forgot the inodes
# every acknowledged byte reads back and the durable file reads intact.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 32M
dx_mount
T=$T py '
data = bytes(range(256)) * 1024
with open(m + "/durable", "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())

def fill(path, chunk):
    """write until write(2) says ENOSPC; returns the bytes acknowledged"""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    acked = 0
    try:
        while True:
            acked += os.write(fd, chunk)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    os.fsync(fd)   # what was acknowledged fits: no ENOSPC here
    os.close(fd)   # nor here
    return acked

with open(m + "/spare", "wb") as f:
    f.write(b"s" * 300 * 1024)
acked = fill(m + "/fill", b"z" * (1 << 20))
assert acked > 16 << 20, acked
# 300 KiB free again, then 1 MiB into a new file: a short write
free0 = os.statvfs(m).f_bfree
os.unlink(m + "/spare")
import time
for _ in range(100):  # freed when the kernel forgets the inode (FORGET)
    if os.statvfs(m).f_bfree > free0 + 50:
        break
    time.sleep(0.05)
fd = os.open(m + "/new", os.O_CREAT | os.O_WRONLY, 0o644)
new = 0
try:
    for k in range(16):
        n = os.write(fd, bytes([k + 1]) * 65536)
        new += n
        if n < 65536:
            break
except OSError as e:
    assert e.errno == errno.ENOSPC, e
assert 0 < new < 1 << 20, new
os.fsync(fd)
os.close(fd)
open(os.environ["T"] + "/new", "w").write(str(new))
open(os.environ["T"] + "/fillsize", "w").write(str(acked))
'
# the kernel forgets the inodes (the page path drops its cached pages then)
sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || dx_skip "cannot drop the kernel caches"
T=$T py '
new = int(open(os.environ["T"] + "/new").read())
with open(m + "/new", "rb") as f:
    got = f.read()
assert len(got) == new, (len(got), new)
want = b"".join(bytes([k + 1]) * 65536 for k in range(16))[:new]
assert got == want, "acknowledged data of /new lost"
with open(m + "/durable", "rb") as f:
    assert f.read() == bytes(range(256)) * 1024
size = int(open(os.environ["T"] + "/fillsize").read())
with open(m + "/fill", "rb") as f:
    n = 0
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        assert b == b"z" * len(b), "acknowledged data of /fill lost"
        n += len(b)
assert n == size, (n, size)
'
dx_umount
dx_fsck
