#!/bin/bash
# t_symlink.sh - symlinks resolve, readlink returns the target, dangling
# links stat with lstat only, loops give ELOOP, long targets work.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
with open(m + "/t", "w") as f: f.write("target")
os.symlink("t", m + "/l")
assert open(m + "/l").read() == "target"
assert os.readlink(m + "/l") == "t"
assert os.lstat(m + "/l").st_size == 1
os.symlink("/nonexistent/x", m + "/dangling")
assert os.path.islink(m + "/dangling") and not os.path.exists(m + "/dangling")
os.symlink("loop2", m + "/loop1"); os.symlink("loop1", m + "/loop2")
try: open(m + "/loop1"); raise SystemExit("loop opened")
except OSError as e: assert e.errno == errno.ELOOP, e
long = "a/" * 1000 + "b"
os.symlink(long, m + "/long")
assert os.readlink(m + "/long") == long
os.mkdir(m + "/dir"); os.symlink("dir", m + "/dl")
with open(m + "/dl/f", "w") as f: f.write("x")
assert os.path.exists(m + "/dir/f")
os.unlink(m + "/dl")
assert os.path.isdir(m + "/dir")
'
dx_umount
dx_fsck
