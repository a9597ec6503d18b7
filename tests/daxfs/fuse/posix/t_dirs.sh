#!/bin/bash
# t_dirs.sh - directory errors (ENOTEMPTY, EISDIR, ENOTDIR, EEXIST, ENOENT),
# readdir of 2000 entries returns each exactly once with the right types,
# and the hidden statistics files are not listed.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
import stat
os.mkdir(m + "/d"); open(m + "/d/f", "w").close(); open(m + "/file", "w").close()
raises(errno.ENOTEMPTY, lambda: os.rmdir(m + "/d"))
raises(errno.EISDIR, lambda: open(m + "/d", "w"))
raises(errno.EISDIR, lambda: os.unlink(m + "/d"))
raises(errno.ENOTDIR, lambda: os.rmdir(m + "/file"))
raises(errno.ENOTDIR, lambda: os.listdir(m + "/file"))
raises(errno.ENOTDIR, lambda: open(m + "/file/x", "w"))
raises(errno.EEXIST, lambda: os.mkdir(m + "/d"))
raises(errno.EEXIST, lambda: os.open(m + "/file", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
raises(errno.ENOENT, lambda: os.rmdir(m + "/nope"))
raises(errno.ENOENT, lambda: open(m + "/nope/x", "w"))
os.unlink(m + "/d/f"); os.rmdir(m + "/d")
assert not os.path.exists(m + "/d")
os.mkdir(m + "/big")
names = set()
for i in range(2000):
    n = "entry-%05d" % i
    names.add(n)
    if i % 3 == 0: os.mkdir(m + "/big/" + n)
    else: open(m + "/big/" + n, "w").close()
seen = []
with os.scandir(m + "/big") as it:
    for e in it:
        seen.append(e.name)
        i = int(e.name.split("-")[1])
        assert e.is_dir(follow_symlinks=False) == (i % 3 == 0), e.name
assert len(seen) == len(set(seen)) == 2000 and set(seen) == names
for i in range(0, 2000, 2):
    p = m + "/big/entry-%05d" % i
    os.rmdir(p) if i % 3 == 0 else os.unlink(p)
assert len(os.listdir(m + "/big")) == 1000
root = os.listdir(m)
assert ".daxfs-stats" not in root and ".daxfs-stats.json" not in root, root
assert os.path.exists(m + "/.daxfs-stats")
'
dx_umount
dx_fsck
