#!/bin/bash
# t_fallocate.sh - fallocate modes: default (allocates, extends size),
# KEEP_SIZE, PUNCH_HOLE (zeroes, frees whole blocks), ZERO_RANGE; space
# accounting follows in st_blocks.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
KEEP, PUNCH, ZERO = 1, 2, 16
def fa(fd, mode, off, ln):
    if libc.fallocate(fd, mode, off, ln) != 0:
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
fd = os.open(m + "/f", os.O_RDWR | os.O_CREAT, 0o644)
fa(fd, 0, 0, 1 << 20)
st = os.fstat(fd)
assert st.st_size == 1 << 20 and st.st_blocks * 512 >= 1 << 20, st
assert os.pread(fd, 1 << 20, 0) == b"\0" * (1 << 20)
fa(fd, KEEP, 1 << 20, 1 << 20)
st = os.fstat(fd)
assert st.st_size == 1 << 20 and st.st_blocks * 512 >= 2 << 20, st
os.pwrite(fd, b"\xaa" * (1 << 20), 0)
fa(fd, PUNCH | KEEP, 8192, 16384)
assert os.fstat(fd).st_size == 1 << 20
d = os.pread(fd, 32768, 0)
assert d[:8192] == b"\xaa" * 8192 and d[8192:24576] == b"\0" * 16384 and d[24576:] == b"\xaa" * 8192
fa(fd, PUNCH | KEEP, 100, 10)            # partial block: zeroed
assert os.pread(fd, 12, 99) == b"\xaa" + b"\0" * 10 + b"\xaa"
fa(fd, ZERO, 40000, 5000)
assert os.pread(fd, 5002, 39999) == b"\xaa" + b"\0" * 5000 + b"\xaa"
fa(fd, ZERO, (1 << 20) - 10, 100)        # zero range past the end extends
assert os.fstat(fd).st_size == (1 << 20) + 90
blocks = os.fstat(fd).st_blocks
fa(fd, PUNCH | KEEP, 0, 1 << 20)
assert os.fstat(fd).st_blocks < blocks, "punch did not free blocks"
assert os.pread(fd, 1 << 20, 0) == b"\0" * (1 << 20)
os.close(fd)
'
dx_umount
dx_fsck
