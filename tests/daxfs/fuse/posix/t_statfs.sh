#!/bin/bash
# t_statfs.sh - statfs/df report the filesystem's true numbers: writing
# 8 MiB takes about 8 MiB of free space, deleting gives it back, file
# creation uses an inode; the block size is 4 KiB and names are 255 bytes.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
import time
s = os.statvfs(m)
assert s.f_frsize == 4096 and s.f_bsize == 4096, s
assert s.f_namemax == 255, s
total = s.f_blocks * s.f_frsize
assert 48 << 20 <= total <= 64 << 20, total
assert 0 < s.f_bfree <= s.f_blocks and s.f_bavail <= s.f_bfree
assert 0 < s.f_ffree <= s.f_files
free0, ino0 = s.f_bfree * s.f_frsize, s.f_ffree
with open(m + "/f", "wb") as f:
    f.write(os.urandom(8 << 20))
s = os.statvfs(m)
used = free0 - s.f_bfree * s.f_frsize
assert (8 << 20) <= used <= (8 << 20) + (1 << 20), used
assert s.f_ffree == ino0 - 1, (s.f_ffree, ino0)
os.unlink(m + "/f")
for i in range(100):
    s = os.statvfs(m)
    if s.f_bfree * s.f_frsize == free0: break
    time.sleep(0.05)
assert s.f_bfree * s.f_frsize == free0, (free0, s.f_bfree * s.f_frsize)
assert s.f_ffree == ino0
'
df -B1 "$MNT" | tail -1 | grep -q "$MNT" || fail "df does not list the mount"
dx_umount
dx_fsck
