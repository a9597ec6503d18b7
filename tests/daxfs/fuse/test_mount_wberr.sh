#!/bin/bash
# test_mount_wberr.sh - a write acknowledged before the filesystem stopped
# taking changes (errors=remount-ro after a corrupt inode was met) is never
# lost from view (issue 10 item 7). The page path cannot write its dirty
# pages back any more: fsync and close(2) report EROFS, the pages stay
# cached (also after the kernel forgot the inode) so reads return the data,
# and at unmount the loss is recorded in the superblock (file data, the
# last error). The dax and bio paths wrote the data at once: fsync and close
# succeed. On every path reads of sound files go on: a read of a file larger
# than the page cache evicts clean pages and passes the dirty ones over
# (seen: eviction picked a dirty page it could not write back and failed an
# unrelated read).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/corruptlib.sh"
dx_mkfs 32M
dx_mount
py '
with open(m + "/a", "wb") as f:
    f.write(b"o" * 8192)
with open(m + "/durable", "wb") as f:
    f.write(bytes(range(256)) * 4096)
open(m + "/bad", "w").close()
os.sync()
'
dx_umount
dbg "$REGION" flip inode /bad uid 3
cx_mount
DP=$DP py '
fd = os.open(m + "/a", os.O_WRONLY)
assert os.pwrite(fd, b"N" * 8192, 0) == 8192     # acknowledged
raises(errno.EIO, lambda: os.stat(m + "/bad"))  # stops changes
raises(errno.EROFS, lambda: open(m + "/c", "w"))
if os.environ["DP"] == "page":
    raises(errno.EROFS, lambda: os.fsync(fd))
    raises(errno.EROFS, lambda: os.close(fd))
else:
    os.fsync(fd)
    os.close(fd)
with open(m + "/a", "rb") as f:
    assert f.read() == b"N" * 8192
# 1 MiB of another file through a cache of 64 pages holding dirty ones that
# cannot be written back: eviction takes clean pages, the read succeeds
with open(m + "/durable", "rb") as f:
    assert f.read() == bytes(range(256)) * 4096, "durable file read wrong"
'
sync
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || dx_skip "cannot drop the kernel caches"
py '
with open(m + "/a", "rb") as f:
    assert f.read() == b"N" * 8192, "acknowledged data lost after forget"
'
"$DAXFS" stat "$MNT" > "$T/stat" || fail "daxfs stat"
if [ "$DP" = page ]; then
	grep -q "failed writebacks" "$T/stat" || fail "daxfs stat: $(cat "$T/stat")"
	grep -q "[1-9][0-9]* failed writebacks" "$T/stat" || fail "no failed writeback counted"
fi
cx_umount
read -r -a rec <<<"$(sb_record)"
[ "${rec[1]}" = 1 ] || fail "first error ${rec[*]}: expected the inode"
if [ "$DP" = page ]; then
	[ "${rec[3]}" = 9 ] || fail "last error ${rec[*]}: expected the lost file data"
	grep -q "dirty pages could not be written back at unmount" "$T/log" ||
		fail "no log line for the lost pages: $(cat "$T/log")"
fi
