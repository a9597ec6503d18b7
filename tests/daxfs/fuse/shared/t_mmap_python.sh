#!/bin/bash
# SPDX-License-Identifier: MIT
# t_mmap_python.sh - an unmodified program (python3's mmap module) maps
# daxfs files MAP_SHARED without the shim: ACCESS_READ sees the file, a
# writable mapping's stores are seen at once by another process's mapping
# and by read(2) (and stay after msync + remount), write(2) is seen at once
# by the mapping, a shrinking truncate makes loads past the new end raise
# SIGBUS, a punched hole reads as zeros through the mapping.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M
dx_mount
head -c 1M /dev/urandom >"$MNT/f"
cp "$MNT/f" "$T/ref"

"$PY" - "$MNT/f" "$T/ref" <<'PY' || fail "python3 mmap ACCESS_READ ($DP path)"
import mmap, sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "rb") as r:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    assert m[:] == r.read(), "mapped bytes differ from the file"
    m.close()
PY

"$PY" - "$MNT/f" <<'PY' || fail "python3 mmap shared write ($DP path)"
import mmap, os, sys, subprocess
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[4096:4106] = b"mapped-one"
# another process, its own mapping: the store is there at once
code = ("import mmap,os,sys;fd=os.open(sys.argv[1],os.O_RDONLY);"
        "m=mmap.mmap(fd,1<<20,mmap.MAP_SHARED,mmap.PROT_READ);"
        "sys.stdout.write(m[4096:4106].decode())")
out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
assert out.stdout == "mapped-one", "other mapping saw %r %s" % (out.stdout, out.stderr)
# read(2) through the mount sees the store without msync
assert os.pread(fd, 10, 4096) == b"mapped-one", "read(2) missed a mapped store"
# write(2) is seen by the mapping at once
os.pwrite(fd, b"written-by-pwrite", 8192)
assert m[8192:8209] == b"written-by-pwrite", "mapping missed write(2): %r" % m[8192:8209]
m.flush()
# punch a hole under the mapping: zeros
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
if libc.fallocate(fd, 3, 65536, 65536) != 0:   # PUNCH_HOLE | KEEP_SIZE
    raise OSError(ctypes.get_errno(), "fallocate punch")
assert m[65536:131072] == bytes(65536), "punched range not zero in the mapping"
m.close()
os.close(fd)
PY

# A shrinking truncate under a mapping: SIGBUS past the new end, data below.
"$PY" - "$MNT/f" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.ftruncate(fd, 10000)
assert m[4096:4106] == b"mapped-one"
m[9999:10000] = b"!"
sys.stdout.flush()
m[20000]          # the page past the new end of file: SIGBUS
os._exit(0)
PY
rc=$?
[ $rc -eq 135 ] ||
	fail "a load past end of file after truncate gave exit $rc, not SIGBUS ($DP path)"
expect_eq "$(stat -c %s "$MNT/f")" 10000 "size after truncate"
expect_eq "$(tail -c 1 "$MNT/f")" "!" "store just before the new end of file"

dx_umount
dx_mount
expect_eq "$(dd if="$MNT/f" bs=1 skip=4096 count=10 status=none)" mapped-one \
	"mapped store after remount ($DP path)"
expect_eq "$(dd if="$MNT/f" bs=1 skip=8192 count=17 status=none)" written-by-pwrite \
	"write(2) after remount ($DP path)"
dx_umount
dx_fsck
