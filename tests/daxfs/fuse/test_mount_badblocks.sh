#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mount_badblocks - emulated bad sectors are one story on a mount
# (issue 13), in the data path of $DAXFS_DATAPATH:
#  - while mounted the daemon owns the list: `pmemdev badblocks` refuses
#    and names `daxfs badblocks MOUNTPOINT`, which adds, lists and clears;
#  - a sector added while mounted fails the next read of it with EIO
#    (the dax path too), also a read of the whole file; the rest reads
#    (dax: the other sectors of the block too; bio, page: whole blocks);
#  - a write that covers a bad sector in part fails with EIO; one that
#    rewrites it whole clears it, and another bad sector added meanwhile
#    stays in the list (in the daemon and in the stored list file);
#  - a plain mmap(2) through the mount raises SIGBUS at the page with the
#    bad sector, and reads the others;
#  - a DAX mapping over a bad sector is refused with EIO (dax, bio paths);
#  - after unmounting, fsck.daxfs names the file and its byte range;
#  - a sector listed before the mount fails reads too (the dax path read
#    it without an error).
. "$(dirname "$0")/lib.sh" "$@"

PMEMDEV=$BUILD/pmemdev/pmemdev
MAPCHECK=$BUILD/daxfs/daxfs-mapcheck
[ -x "$PMEMDEV" ] || fail "$PMEMDEV is not built"

export DP
dx_mkfs 64M
dx_mount

# f: 16 blocks, block k filled with "f<k>_"; g: 4 blocks of "g<k>_"
py '
for name, n in (("f", 16), ("g", 4)):
    fd = os.open(os.path.join(m, name), os.O_CREAT | os.O_WRONLY, 0o644)
    for k in range(n):
        os.write(fd, (b"%s%02d_" % (name.encode(), k)) * 1024)
    os.fsync(fd)
    os.close(fd)
'

# sector_of NAME BLOCK: the first region sector of that block of the file
sector_of() {
	REGION=$REGION "$PY" - "$1" "$2" <<'PYEOF'
import mmap, os, sys
name, k = sys.argv[1], int(sys.argv[2])
pat = (b"%s%02d_" % (name.encode(), k)) * 1024
with open(os.environ["REGION"], "rb") as f:
    mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    off = mm.find(pat)
    while off >= 0 and off % 4096:
        off = mm.find(pat, off + 1)
    assert off >= 0, "block not found in the region"
    print(off // 512)
PYEOF
}
SF=$(sector_of f 3) || fail "finding f's block 3"
SG=$(sector_of g 0) || fail "finding g's block 0"
# a cold start: the page path's cache would hold copies of the blocks
dx_umount
dx_mount

# the daemon owns the list while mounted
out=$("$PMEMDEV" badblocks "$REGION" add $((SF + 1)) 2>&1) &&
	fail "pmemdev badblocks add on a mounted region succeeded"
grep -q "daxfs badblocks $MNT" <<<"$out" || fail "pmemdev does not point at daxfs badblocks: $out"
"$DAXFS" badblocks "$MNT" add $((SF + 1)) || fail "daxfs badblocks add"
"$DAXFS" badblocks "$MNT" add "$SG" 8 || fail "daxfs badblocks add (g)"
out=$("$DAXFS" badblocks "$MNT" list) || fail "daxfs badblocks list"
grep -Eq "^ +$((SF + 1)) +1$" <<<"$out" || fail "list lacks $((SF + 1)): $out"
grep -Eq "^ +$SG +8$" <<<"$out" || fail "list lacks $SG: $out"
out=$("$DAXFS" badblocks "$MNT" add 1 999999999 2>&1) && fail "a range past the end was added"
grep -q "not inside the region" <<<"$out" || fail "no reason for the refused range: $out"

# reads: EIO on the bad sector, the rest reads fine
py '
fd = os.open(os.path.join(m, "f"), os.O_RDONLY)
raises(errno.EIO, lambda: os.pread(fd, 4096, 3 * 4096))
raises(errno.EIO, lambda: os.pread(fd, 64, 3 * 4096 + 600))
raises(errno.EIO, lambda: os.pread(fd, 65536, 0))
assert os.pread(fd, 4096, 2 * 4096) == b"f02_" * 1024
if os.environ["DP"] == "dax":
    assert os.pread(fd, 512, 3 * 4096) == b"f03_" * 128
else:
    # bio and page move whole 4 KiB blocks, as the kernel page cache does
    raises(errno.EIO, lambda: os.pread(fd, 512, 3 * 4096))
assert os.pread(fd, 8192, 4 * 4096) == b"f04_" * 1024 + b"f05_" * 1024
os.close(fd)
'

# a plain mapping through the mount: SIGBUS at the bad page, as on ext4
py '
import signal, subprocess
code = ("import mmap, sys\n"
        "f = open(sys.argv[1], \"rb\")\n"
        "mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
        "assert mm[2 * 4096:3 * 4096] == b\"f02_\" * 1024\n"
        "print(\"touching the bad page\", flush=True)\n"
        "mm[3 * 4096 + 600]\n")
r = subprocess.run([sys.executable, "-c", code, os.path.join(m, "f")], capture_output=True, text=True)
assert r.returncode == -signal.SIGBUS and "touching" in r.stdout, (r.returncode, r.stdout, r.stderr)
'

# a DAX mapping over the bad sector is refused (page: no DAX mmap at all)
if [ "$DP" != page ]; then
	out=$("$MAPCHECK" "$MNT/f" 2>&1) && fail "a mapping over a bad sector was granted: $out"
	grep -q "bad sectors" <<<"$out" || fail "mapping refused without the reason: $out"
fi

# writes: part of a bad sector fails; a whole rewrite clears it; the other stays
py '
fd = os.open(os.path.join(m, "g"), os.O_RDWR)
raises(errno.EIO, lambda: os.pwrite(fd, b"x" * 100, 1000))
os.pwrite(fd, b"G00_" * 1024, 0)
os.fsync(fd)
assert os.pread(fd, 4096, 0) == b"G00_" * 1024
os.close(fd)
'
out=$("$DAXFS" badblocks "$MNT" list) || fail "daxfs badblocks list"
grep -Eq "^ +$SG " <<<"$out" && fail "rewritten sectors still listed: $out"
grep -Eq "^ +$((SF + 1)) +1$" <<<"$out" || fail "the other bad sector was lost: $out"
grep -Eq "^$((SF + 1)) 1$" "$REGION.badblocks" || fail "stored list lacks $((SF + 1))"

dx_umount
out=$("$PMEMDEV" badblocks "$REGION" list) || fail "pmemdev badblocks list"
grep -Eq "^ +$((SF + 1)) +1$" <<<"$out" || fail "list after umount: $out"

# fsck names the file and the bytes on the bad sector, and says it is not clean
out=$("$FSCK" -n "$REGION" 2>&1)
rc=$?
[ $rc -eq 4 ] || fail "fsck -n exit $rc with a file on a bad sector: $out"
grep -q "file /f (inode [0-9]*): bytes 12288..16383 are on bad sectors $((SF + 1))..$((SF + 1))" \
	<<<"$out" || fail "fsck does not name /f and its bytes: $out"
out=$("$FSCK" -n --json "$REGION" 2>&1)
grep -q '"path": "/f", "what": "data"' <<<"$out" || fail "fsck --json: $out"

# the list stored beside the region is the daemon's at the next mount
dx_mount
py '
fd = os.open(os.path.join(m, "f"), os.O_RDONLY)
raises(errno.EIO, lambda: os.pread(fd, 4096, 3 * 4096))
assert os.pread(fd, 4096, 2 * 4096) == b"f02_" * 1024
os.close(fd)
'
dx_umount

# cleared: the file reads again and fsck is clean
"$PMEMDEV" badblocks "$REGION" clear $((SF + 1)) || fail "pmemdev badblocks clear"
dx_fsck
dx_mount
py '
fd = os.open(os.path.join(m, "f"), os.O_RDONLY)
assert os.pread(fd, 4096, 3 * 4096) == b"f03_" * 1024
os.close(fd)
'
dx_umount
exit 0
