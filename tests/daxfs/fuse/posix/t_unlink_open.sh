#!/bin/bash
# t_unlink_open.sh - an unlinked file stays readable and writable through
# open descriptors; its space comes back only after the last close.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
import time
def free():
    s = os.statvfs(m); return s.f_bfree * s.f_frsize
before = free()
fd = os.open(m + "/f", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, os.urandom(1 << 20) + b"tail")
os.fsync(fd)   # the page data path allocates at writeback
used = before - free()
assert used >= (1 << 20), used
os.unlink(m + "/f")
assert not os.path.exists(m + "/f")
assert os.pread(fd, 4, 1 << 20) == b"tail"
os.pwrite(fd, b"more", (1 << 20) + 4)
assert os.pread(fd, 8, 1 << 20) == b"tailmore"
assert os.fstat(fd).st_nlink == 0
assert before - free() >= (1 << 20), "space freed while still open"
os.close(fd)
for i in range(100):
    if before - free() < (1 << 20): break
    time.sleep(0.05)
assert before - free() < (1 << 20), "space not freed after last close: %d" % (before - free())
'
dx_umount
dx_fsck
