#!/bin/bash
# t_seek.sh - SEEK_DATA and SEEK_HOLE find data and holes of a sparse file;
# ENXIO past the end.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
# Under -o writeback the data may still be in the kernel's page cache, which
# the daemon cannot see: it leaves SEEK_DATA/SEEK_HOLE to the kernel, which
# calls everything below the end data (allowed: holes are optional).
WB=$(dx_writeback && echo 1 || echo 0) py '
fd = os.open(m + "/s", os.O_RDWR | os.O_CREAT, 0o644)
M = 1 << 20
os.pwrite(fd, b"x" * 4096, 4 * M)
os.pwrite(fd, b"y" * 4096, 8 * M)
assert os.fstat(fd).st_size == 8 * M + 4096
if os.environ["WB"] == "1":
    assert os.lseek(fd, 0, os.SEEK_DATA) == 0
    assert os.lseek(fd, 4 * M, os.SEEK_HOLE) == 8 * M + 4096
    try: os.lseek(fd, 9 * M, os.SEEK_DATA); raise SystemExit("no ENXIO")
    except OSError as e: assert e.errno == errno.ENXIO, e
    os.fsync(fd)
    raise SystemExit(0)
# Allocated blocks count as data, so the answers may be coarser than the
# bytes written; they must still bracket the data and skip the big holes.
size = 8 * M + 4096
d1 = os.lseek(fd, 0, os.SEEK_DATA)
assert d1 <= 4 * M and os.pread(fd, d1, 0) == b"\0" * d1, d1
h1 = os.lseek(fd, 4 * M, os.SEEK_HOLE)
assert 4 * M + 4096 <= h1 < 8 * M, h1
d2 = os.lseek(fd, h1, os.SEEK_DATA)
assert h1 < d2 <= 8 * M and os.pread(fd, d2 - h1, h1) == b"\0" * (d2 - h1), d2
assert os.lseek(fd, 8 * M, os.SEEK_HOLE) == size
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
assert os.lseek(fd, 4 * M + 10, os.SEEK_DATA) == 4 * M + 10
try: os.lseek(fd, 9 * M, os.SEEK_DATA); raise SystemExit("no ENXIO")
except OSError as e: assert e.errno == errno.ENXIO, e
os.close(fd)
'
dx_umount
dx_fsck
