#!/bin/bash
# t_seek.sh - SEEK_DATA and SEEK_HOLE find data and holes of a sparse file;
# ENXIO past the end.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
import errno, os
m = os.environ["MNT"]
fd = os.open(m + "/s", os.O_RDWR | os.O_CREAT, 0o644)
M = 1 << 20
os.pwrite(fd, b"x" * 4096, 4 * M)
os.pwrite(fd, b"y" * 4096, 8 * M)
assert os.fstat(fd).st_size == 8 * M + 4096
assert os.lseek(fd, 0, os.SEEK_DATA) == 4 * M
assert os.lseek(fd, 4 * M, os.SEEK_HOLE) == 4 * M + 4096
assert os.lseek(fd, 4 * M + 4096, os.SEEK_DATA) == 8 * M
assert os.lseek(fd, 8 * M, os.SEEK_HOLE) == 8 * M + 4096
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
try: os.lseek(fd, 9 * M, os.SEEK_DATA); raise SystemExit("no ENXIO")
except OSError as e: assert e.errno == errno.ENXIO, e
os.close(fd)
'
dx_umount
dx_fsck
