# SPDX-License-Identifier: MIT
# corruptlib.sh - damaged images through the real daemon (sourced after
# lib.sh by test_mount_corrupt.sh and test_mount_fuzz.sh).
#
# cx_image          populate a fresh image and keep it as $T/pristine
# cx_restore        $REGION = a copy of the pristine image
# cx_mount [opts]   the daemon in the foreground (-f) in the background,
#                   stderr in $T/log, its pid in $DPID
# cx_umount         unmount and wait for the daemon (it may be gone already)
# cx_probe [args]   probe.py on $MNT with the daemon's pid and the keep list
# dbg ARGS...       daxfs-debug on $REGION (fails the test if it fails)

DEBUG=$BUILD/daxfs/daxfs-debug
[ -x "$DEBUG" ] || fail "$DEBUG is not built"
PROBE=$(dirname "${BASH_SOURCE[0]}")/probe.py
KEEP=()

dbg() {
	"$DEBUG" "$@" || fail "daxfs-debug $*"
}

# cx_image - the populated image: small and fragmented files, a directory
# of 300 entries (a two-level tree) and one of 8, a symlink, xattrs, and
# /keep/k1..k3 whose data the probes check. The name hash seed is fixed
# (mkfs draws it at random): the keys, so the directory trees and every
# block number after them, are then the same in every run, and so is the
# structure a case number damages.
cx_image() {
	dx_mkfs 32M
	dbg -c "$REGION" set sb hash_seed 1311768467463790320 >/dev/null
	dbg -c "$REGION" set backup hash_seed 1311768467463790320 >/dev/null
	dx_mount
	py '
import hashlib
for i in range(1, 4):
    os.makedirs(m + "/keep", exist_ok=True)
    with open(m + "/keep/k%d" % i, "wb") as f:
        f.write(bytes((i * 7 + k) % 251 for k in range(20000 * i)))
with open(m + "/f", "wb") as f:
    f.write(b"f" * 20480)
os.setxattr(m + "/f", "user.a", b"one")
os.setxattr(m + "/f", "user.b", b"two")
fd = os.open(m + "/big", os.O_CREAT | os.O_WRONLY, 0o644)
for k in range(0, 40, 2):
    os.pwrite(fd, b"b" * 4096, k * 4096)
os.close(fd)
os.mkdir(m + "/d")
for k in range(300):
    open(m + "/d/entry-%03d-with-a-long-name-to-fill-leaves" % k, "w").close()
os.mkdir(m + "/d1")
for k in range(8):
    open(m + "/d1/small-%d" % k, "w").close()
os.symlink("some/target/path", m + "/s")
os.sync()
'
	dx_umount
	cp "$REGION" "$T/pristine"
	local i sum
	for i in 1 2 3; do
		sum=$("$PY" -c "
import hashlib
print(hashlib.sha256(bytes(($i * 7 + k) % 251 for k in range(20000 * $i))).hexdigest())")
		KEEP+=(--keep "keep/k$i=$sum")
	done
}

cx_restore() {
	cp "$T/pristine" "$REGION"
}

# cx_mount [daxfs options...]
cx_mount() {
	local k
	: >"$T/log"
	# shellcheck disable=SC2046
	"$DAXFS" -f $(dx_dp_opts) ${DAXFS_EXTRA_OPTS:-} "$@" "$REGION" "$MNT" 2>>"$T/log" &
	DPID=$!
	DX_PIDS+=("$DPID")
	for k in $(seq 200); do
		grep -qs " $MNT fuse" /proc/self/mounts && return 0
		kill -0 "$DPID" 2>/dev/null || fail "daxfs $* did not mount: $(cat "$T/log")"
		sleep 0.05
	done
	fail "daxfs $*: not mounted after 10 s"
}

cx_umount() {
	local k
	if grep -qs " $MNT fuse" /proc/self/mounts; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" ||
			fail "fusermount3 -u $MNT"
	fi
	for k in $(seq 600); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$DPID" 2>/dev/null && fail "the daemon did not exit after unmount"
	wait "$DPID" 2>/dev/null
	DX_STATUS=$?
	return 0
}

# cx_probe [probe options...] - every request answered in time
cx_probe() {
	"$PY" "$PROBE" "$MNT" --pid "$DPID" "${KEEP[@]}" "$@" ||
		fail "probe of the damaged mount failed (daemon log: $(tail -5 "$T/log"))"
}

# blk_sum BLK - the hash of one block of $REGION
blk_sum() {
	dd if="$REGION" bs=4096 skip="$1" count=1 status=none | sha256sum
}

# sb_record - the superblock's error record of $REGION: "COUNT WHAT INO
# LASTWHAT LASTINO" (docs/format.md, bytes 248..343)
sb_record() {
	"$PY" - "$REGION" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read(512)
count, flags = struct.unpack_from("<II", b, 248)
_, ino, _, what, _, _ = struct.unpack_from("<QQQHHI", b, 256)
_, lino, _, lwhat, _, _ = struct.unpack_from("<QQQHHI", b, 288)
print(count, what, ino, lwhat, lino)
PYEOF
}

# expect_record COUNT_MIN WHAT INO - the first recorded error
expect_record() {
	local rec
	read -r -a rec <<<"$(sb_record)"
	[ "${rec[0]}" -ge "$1" ] && [ "${rec[1]}" = "$2" ] && [ "${rec[2]}" = "$3" ] ||
		fail "error record ${rec[*]}, expected at least $1 errors, the first structure $2 inode $3"
}
