#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mmap_shim - libdaxfs-preload.so gives unmodified programs DAX
# mappings: a small test program (plain mmap/msync/munmap, fork, exec) and
# a standard tool (python3's mmap module) map daxfs files MAP_SHARED through
# the shim (without it the kernel maps the file through its page cache);
# their stores are seen by read(2) and survive a remount;
# mremap of a DAX mapping is refused (EINVAL), of a tmpfs one works;
# MAP_PRIVATE and anonymous memory behave as without the shim; files on
# other filesystems are not touched; the pins go away at exit.
. "$(dirname "$0")/mmlib.sh" "$@"

PROG=$BUILD/tests/daxfs/fuse/mmap/mmap_shim_prog
[ -x "$PROG" ] || fail "$PROG is not built"
PRELOAD=$SHIM
if [ "${PMD_SANITIZE:-}" = ON ]; then
	# ASan must come first in the link map: preload it before the shim.
	PRELOAD="$(${CC:-cc} -print-file-name=libasan.so) $SHIM"
fi

mm_region tmpfs 64
mm_mount
head -c $((4 << 20)) /dev/zero >"$MNT/f" || fail "create file"

# Without the shim: the kernel's own shared mapping of the file (through
# its page cache; FUSE_CAP_DIRECT_IO_ALLOW_MMAP), not of the region.
out=$("$PROG" shared "$MNT/f") || fail "plain MAP_SHARED on daxfs failed: $out"
grep -q "backing: $MNT/f" <<<"$out" || fail "plain mapping is not of the file: $out"

# With the shim: a DAX mapping of the region itself.
out=$(LD_PRELOAD="$PRELOAD" "$PROG" shared "$MNT/f") || fail "shim, shared: $out"
grep -q "backing: $REGION" <<<"$out" || fail "mapping is not of the region: $out"
grep -q "mremap: Invalid argument" <<<"$out" || fail "mremap of a DAX mapping not refused: $out"
[ "$(dd if="$MNT/f" bs=1 skip=4096 count=12 2>/dev/null)" = parent-wrote ] ||
	fail "parent's store not seen by read(2)"
[ "$(dd if="$MNT/f" bs=1 skip=8192 count=11 2>/dev/null)" = child-wrote ] ||
	fail "child's store not seen by read(2)"

# MAP_PRIVATE keeps the normal path (the kernel's page cache copy).
out=$(LD_PRELOAD="$PRELOAD" "$PROG" private "$MNT/f") || fail "shim, private: $out"
grep -q "backing: $MNT/f" <<<"$out" || fail "MAP_PRIVATE went elsewhere: $out"
[ "$(head -c 8 "$MNT/f")" != "private!" ] || fail "MAP_PRIVATE store reached the file"

# Another filesystem is untouched by the shim.
head -c $((4 << 20)) /dev/zero >"$T/plain"
out=$(LD_PRELOAD="$PRELOAD" "$PROG" shared "$T/plain") || fail "shim, tmpfs file: $out"
grep -q "backing: $T/plain" <<<"$out" || fail "tmpfs mapping went elsewhere: $out"
grep -q "mremap: moved" <<<"$out" || fail "mremap of a tmpfs mapping failed: $out"

# A standard tool: python3's mmap module maps MAP_SHARED.
if command -v python3 >/dev/null; then
	# (under ASan, python3 itself is not instrumented: no leak report for it)
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 LD_PRELOAD="$PRELOAD" \
		python3 - "$MNT/f" <<'PY' || fail "python3 mmap through the shim"
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[100:110] = b"python-dax"
m.flush()
assert m[4096:4108] == b"parent-wrote"
m.close()
os.close(fd)
PY
	[ "$(dd if="$MNT/f" bs=1 skip=100 count=10 2>/dev/null)" = python-dax ] ||
		fail "python3's store not seen by read(2)"
else
	dx_skip "python3 is not installed"
fi

# The stores survive a remount.
dx_umount
dx_fsck
mm_mount
[ "$(dd if="$MNT/f" bs=1 skip=100 count=10 2>/dev/null)" = python-dax ] ||
	fail "python3's store lost over a remount"
[ "$(dd if="$MNT/f" bs=1 skip=4096 count=12 2>/dev/null)" = parent-wrote ] ||
	fail "the program's store lost over a remount"

# All mappings are gone with their programs: truncating frees the space.
free0=$(stat -f -c %a "$MNT")
truncate -s 0 "$MNT/f"
sleep 0.3
free1=$(stat -f -c %a "$MNT")
[ "$free1" -gt "$free0" ] || fail "space not freed after truncate"
dx_umount
dx_fsck
exit 0
