#!/bin/bash
# t_names.sh - names of 255 bytes work, 256 bytes give ENAMETOOLONG for
# create, mkdir, rename, link and symlink; odd but legal bytes are kept.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
ok, bad = "n" * 255, "n" * 256
open(m + "/" + ok, "w").close()
assert os.listdir(m) == [ok], os.listdir(m)
raises(errno.ENAMETOOLONG, lambda: open(m + "/" + bad, "w"))
raises(errno.ENAMETOOLONG, lambda: os.mkdir(m + "/" + bad))
raises(errno.ENAMETOOLONG, lambda: os.rename(m + "/" + ok, m + "/" + bad))
raises(errno.ENAMETOOLONG, lambda: os.link(m + "/" + ok, m + "/" + bad))
raises(errno.ENAMETOOLONG, lambda: os.symlink("x", m + "/" + bad))
odd = "sp ace\ttab\u00e9\u4e2d-\x01"
open(m + "/" + odd, "w").close()
assert odd in os.listdir(m)
u = "\u00e9" * 127   # 254 bytes in UTF-8
os.mkdir(m + "/" + u)
assert os.path.isdir(m + "/" + u)
'
dx_umount
dx_fsck
