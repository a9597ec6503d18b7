#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mount_poison - memory failure on a mount (issue 17), in the data path
# of $DAXFS_DATAPATH (dax: the reverse map; bio: folio descriptors; page: page):
#  - `pmemdev poison REGION FRAME` declares a 4 KiB frame of file A failed
#    (stored in the region's badblocks list); at mount the daemon logs the
#    file and bytes that own it, found through the filesystem's reverse map
#    (pfn mode) or the frame's descriptor (the other modes);
#  - a read of A at that offset fails with EIO; the rest of A and file B
#    read intact;
#  - `daxfs stat` (text and JSON) names A and the offset;
#  - `daxfs poison MOUNTPOINT FRAME` while mounted names B's owner at once,
#    logs it, fails B's read there (a block not cached: the page path keeps
#    serving a clean copy it holds in DRAM, which did not fail); --clear restores it; a free frame is
#    named free; `pmemdev poison` on the mounted region points at daxfs poison;
#  - after unmounting fsck.daxfs names A and the bytes; clearing the frame
#    restores access and fsck is clean;
#  - bad frame numbers are refused with the reason.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/corruptlib.sh"

PMEMDEV=$BUILD/pmemdev/pmemdev
[ -x "$PMEMDEV" ] || fail "$PMEMDEV is not built"

dx_mkfs 64M
dx_mount
# A: 3 MiB, block k filled with "A%06d_"; B: 5 blocks of "B%06d_"
py '
for name, n in (("A", 768), ("B", 5)):
    with open(os.path.join(m, name), "wb") as f:
        for k in range(n):
            f.write((b"%s%06d_" % (name.encode(), k)) * 512)
'
dx_umount

# where A's second extent and B's first block stand in the region
ino_a=$(dbg "$REGION" ls / | awk '$NF == "A" {print $4}')
lblk=$(dbg "$REGION" get extent "$ino_a.1" lblk)
pblk=$(dbg "$REGION" get extent "$ino_a.1" pblk)
FA=$((pblk + 10))
KA=$((lblk + 10)) # A's block on frame FA
OFF=$((KA * 4096))
ino_b=$(dbg "$REGION" ls / | awk '$NF == "B" {print $4}')
FB=$(dbg "$REGION" get extent "$ino_b.0" pblk)
[ -n "$ino_a" ] && [ -n "$FB" ] || fail "A or B not found: '$ino_a' '$FB'"
# a free block: the last clear bit of the bitmap (superblock: bitmap_blk at
# byte 168, data_blk at 184)
FREE=$(REGION=$REGION "$PY" -c '
import os, struct
with open(os.environ["REGION"], "rb") as f:
    sb = f.read(512)
    bm_blk, = struct.unpack_from("<Q", sb, 168)
    data_blk, = struct.unpack_from("<Q", sb, 184)
    f.seek(bm_blk * 4096)
    bm = f.read(16384 // 8)
print(max(b for b in range(data_blk, 16384) if not bm[b // 8] >> (b % 8) & 1))
') || fail "finding a free block"
owner_a="file /A (inode $ino_a) bytes $OFF..$((OFF + 4095))"

# bad frame numbers
out=$("$PMEMDEV" poison "$REGION" x 2>&1)
[ $? -eq 2 ] && grep -q "invalid FRAME 'x'" <<<"$out" || fail "pmemdev poison x: $out"
out=$("$PMEMDEV" poison "$REGION" 16384 2>&1)
[ $? -eq 1 ] && grep -q "beyond the end of the region" <<<"$out" || fail "past the end: $out"

"$PMEMDEV" poison "$REGION" "$FA" || fail "pmemdev poison $FA"
out=$("$PMEMDEV" badblocks "$REGION" list)
grep -Eq "^ +$((FA * 8)) +8$" <<<"$out" || fail "the frame is not in the badblocks list: $out"

export DAXFS_MODE
modes=${DAXFS_MODE:-}
[ "$DP" = bio ] && modes=folio # pfn mode: the reverse map, as on dax
for DAXFS_MODE in ${modes:-""}; do
	[ -n "$DAXFS_MODE" ] || unset DAXFS_MODE
	cx_mount
	grep -q "memory failure (listed at mount): frame $FA (region bytes $((FA * 4096))\.\.$((FA * 4096 + 4095))): $owner_a" \
		"$T/log" || fail "the daemon did not log A's frame at mount: $(cat "$T/log")"

	OFF=$OFF py '
off = int(os.environ["OFF"])
fd = os.open(os.path.join(m, "A"), os.O_RDONLY)
raises(errno.EIO, lambda: os.pread(fd, 4096, off))
raises(errno.EIO, lambda: os.pread(fd, 3 << 20, 0))
k = off // 4096
assert os.pread(fd, 4096, off - 4096) == b"A%06d_" % (k - 1) * 512
assert os.pread(fd, 4096, off + 4096) == b"A%06d_" % (k + 1) * 512
assert os.pread(fd, 4096, 0) == b"A000000_" * 512
os.close(fd)
fd = os.open(os.path.join(m, "B"), os.O_RDONLY)
# block 0 stays unread: the page path would serve its cached copy (DRAM, sound)
assert os.pread(fd, 4 * 4096, 4096) == b"".join(b"B%06d_" % k * 512 for k in range(1, 5))
os.close(fd)
'
	out=$("$DAXFS" stat "$MNT") || fail "daxfs stat"
	grep -q "^memory failure: 1 poisoned frame$" <<<"$out" || fail "daxfs stat: $out"
	grep -q "frame $FA (.*): $owner_a" <<<"$out" || fail "daxfs stat does not name A: $out"
	# the descriptor mode in force (dax: no descriptors; page: page by default)
	case $DP in
	dax) mode=pfn ;;
	page) mode=${DAXFS_MODE:-page} ;;
	*) mode=${DAXFS_MODE:-pfn} ;;
	esac
	if [ "$mode" = pfn ]; then
		grep -q "^owners: *reverse map of the filesystem" <<<"$out" || fail "owners: $out"
	else
		grep -q "^owners: *in the frame descriptors (mode $mode)" <<<"$out" ||
			fail "owners: $out"
	fi
	out=$("$DAXFS" stat --json "$MNT") || fail "daxfs stat --json"
	JSON=$out FA=$FA OFF=$OFF INO=$ino_a py '
import json
s = json.loads(os.environ["JSON"])["memory_failure"]
assert s["frames"] == 1, s
o = s["owners"][0]
assert o == {"frame": int(os.environ["FA"]), "kind": "file", "ino": int(os.environ["INO"]),
             "offset": int(os.environ["OFF"]), "path": "/A"}, o
'

	# poisoned while mounted: named at once, logged, EIO; cleared: readable
	out=$("$DAXFS" poison "$MNT" "$FB") || fail "daxfs poison $FB: $out"
	grep -q "^poisoned frame $FB (.*): file /B (inode $ino_b) bytes 0..4095$" <<<"$out" ||
		fail "daxfs poison does not name B: $out"
	grep -q "memory failure: frame $FB .*: file /B (inode $ino_b) bytes 0..4095" "$T/log" ||
		fail "the daemon did not log B's frame: $(cat "$T/log")"
	out=$("$PMEMDEV" poison "$REGION" "$FB" 2>&1) && fail "pmemdev poison on a mounted region"
	grep -q "daxfs poison $MNT $FB" <<<"$out" || fail "pmemdev does not point at daxfs poison: $out"
	py '
fd = os.open(os.path.join(m, "B"), os.O_RDONLY)
raises(errno.EIO, lambda: os.pread(fd, 4096, 0))
assert os.pread(fd, 4096, 4096) == b"B000001_" * 512
os.close(fd)
'
	out=$("$DAXFS" poison --clear "$MNT" "$FB") || fail "daxfs poison --clear: $out"
	grep -q "^cleared frame $FB" <<<"$out" || fail "daxfs poison --clear: $out"
	py '
with open(os.path.join(m, "B"), "rb") as f:
    assert f.read(4096) == b"B000000_" * 512
'
	out=$("$DAXFS" poison "$MNT" "$FREE") || fail "daxfs poison $FREE"
	grep -q "^poisoned frame $FREE (.*): free space, no file loses data$" <<<"$out" ||
		fail "a free frame: $out"
	"$DAXFS" poison --clear "$MNT" "$FREE" >/dev/null || fail "daxfs poison --clear $FREE"
	out=$("$DAXFS" poison "$MNT" 16384 2>&1) && fail "daxfs poison past the end"
	grep -q "not inside the region" <<<"$out" || fail "daxfs poison past the end: $out"
	cx_umount
	[ "$DX_STATUS" = 0 ] || fail "daemon exit $DX_STATUS: $(cat "$T/log")"
done

# fsck names A and the bytes on the poisoned frame
out=$("$FSCK" -n "$REGION" 2>&1)
rc=$?
[ $rc -eq 4 ] || fail "fsck -n exit $rc with a poisoned frame of A: $out"
grep -q "file /A (inode $ino_a): bytes $OFF..$((OFF + 4095)) are on bad sectors $((FA * 8))..$((FA * 8 + 7))" \
	<<<"$out" || fail "fsck does not name /A and its bytes: $out"

# cleared: A reads again everywhere and fsck is clean
"$PMEMDEV" poison --clear "$REGION" "$FA" >/dev/null || fail "pmemdev poison --clear"
dx_fsck
dx_mount
OFF=$OFF py '
off = int(os.environ["OFF"])
with open(os.path.join(m, "A"), "rb") as f:
    data = f.read()
assert data == b"".join(b"A%06d_" % k * 512 for k in range(768))
'
dx_umount
exit 0
