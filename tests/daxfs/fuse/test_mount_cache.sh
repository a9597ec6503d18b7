#!/bin/bash
# test_mount_cache.sh - -o cache=never|auto|always: a bad value is refused
# naming the option; the default is never on every data path (stat says
# so); with never every read reaches the daemon, with auto a second read
# through the same open file is served by the kernel's page cache and a new
# open reads again, with always a second open reads from the cache too
# (and what was written through the cache is read from it).
# Cached data stays right: write(2) through another descriptor, truncate
# and a store through a libdaxfs DAX mapping (where the path offers them)
# are seen by the next read.
. "$(dirname "$0")/shared/lib.sh" "$@"
dx_mkfs 64M

count() {
	"$DAXFS" stat "$MNT" --json |
		"$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["ops"].get(sys.argv[1], {}).get("count", 0) if sys.argv[1] != "cache" else d["cache"])' "$1" ||
		fail "daxfs stat --json"
}

out=$("$DAXFS" $(dx_dp_opts) -o cache=sometimes "$REGION" "$MNT" 2>&1) &&
	fail "cache=sometimes was accepted"
grep -q "cache=sometimes" <<<"$out" || fail "the refusal does not name the option: $out"
grep -q "never, auto or always" <<<"$out" || fail "the refusal does not list the values: $out"
mountpoint -q "$MNT" && fail "mounted despite a bad cache option"

# reads FILE: bytes of file data the daemon served for reading FILE twice
# in one open, then once more in a new open: prints "first second third"
# (the statistics file is not counted in bytes_read).
reads() {
	MNT=$MNT "$PY" - "$1" "$DAXFS" <<'PY'
import json, os, subprocess, sys
path, daxfs = sys.argv[1], sys.argv[2]
def n():
    out = subprocess.run([daxfs, "stat", os.environ["MNT"], "--json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["bytes_read"]
res = []
fd = os.open(path, os.O_RDONLY)
for _ in range(2):
    a = n(); os.pread(fd, 1 << 20, 0); res.append(n() - a)
os.close(fd)
fd = os.open(path, os.O_RDONLY)
a = n(); os.pread(fd, 1 << 20, 0); res.append(n() - a)
os.close(fd)
print(*res)
PY
}

for mode in default never auto always; do
	if [ $mode = default ]; then
		dx_mount
		expect_eq "$(count cache)" never "default cache mode ($DP path)"
	else
		dx_mount -o cache=$mode
		expect_eq "$(count cache)" $mode "cache mode ($DP path)"
	fi
	head -c 1M /dev/urandom >"$MNT/f"
	read -r r1 r2 r3 <<<"$(reads "$MNT/f")" || fail "reads"
	case $mode in
	default | never)
		[ "$r1" -gt 0 ] && [ "$r2" -gt 0 ] && [ "$r3" -gt 0 ] ||
			fail "cache=$mode: a read was cached (bytes $r1 $r2 $r3)" ;;
	auto)
		# the second read within one open comes from the kernel's cache (a
		# page or two may be reclaimed in between on a busy machine); a new
		# open drops the cache and reads from the daemon again
		[ "$r1" -gt 0 ] && [ "$r2" -le 65536 ] && [ "$r3" -gt 65536 ] ||
			fail "cache=auto: bytes served $r1 $r2 $r3, want >0, at most 64 KiB, >64 KiB" ;;
	always)
		# (a page or two may have been reclaimed in between on a busy machine)
		[ "$r2" -eq 0 ] && [ "$r3" -le 65536 ] ||
			fail "cache=always: bytes served $r1 $r2 $r3, want any, 0, at most 64 KiB" ;;
	esac
	# Coherence of what is cached.
	"$PY" - "$MNT/f" "$mode" <<'PY' || fail "cache=$mode: stale data ($DP path)"
import os, sys
path = sys.argv[1]
r = os.open(path, os.O_RDONLY)
os.pread(r, 1 << 20, 0)                  # cache it
w = os.open(path, os.O_WRONLY)
os.pwrite(w, b"fresh-bytes", 4096)
assert os.pread(r, 11, 4096) == b"fresh-bytes", "write(2) through another fd not seen"
os.ftruncate(w, 8192)
assert os.pread(r, 1 << 20, 0)[4096:4107] == b"fresh-bytes"
assert len(os.pread(r, 1 << 20, 0)) == 8192, "truncate not seen"
os.close(w)
os.close(r)
PY
	if [ "$DP" != page ]; then
		head -c 1M /dev/zero >"$MNT/g"
		cat "$MNT/g" >/dev/null
		with_shim "$PY" - "$MNT/g" <<'PY' || fail "cache=$mode: DAX store ($DP path)"
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[8192:8201] = b"dax-store"
m.flush()
m.close()
PY
		expect_eq "$(dd if="$MNT/g" bs=1 skip=8192 count=9 status=none)" dax-store \
			"cache=$mode: a DAX store after the mapping is gone ($DP path)"
	fi
	dx_umount
done
dx_fsck
