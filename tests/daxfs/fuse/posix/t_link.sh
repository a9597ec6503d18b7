#!/bin/bash
# t_link.sh - hard links share data and count in st_nlink; removing one name
# keeps the others; links to directories are refused (EPERM); a directory's
# nlink counts its subdirectories.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount
py '
with open(m + "/f", "w") as f: f.write("data")
os.link(m + "/f", m + "/g")
os.mkdir(m + "/d"); os.link(m + "/f", m + "/d/h")
st = os.stat(m + "/f")
assert st.st_nlink == 3, st.st_nlink
assert os.stat(m + "/g").st_ino == st.st_ino == os.stat(m + "/d/h").st_ino
with open(m + "/g", "a") as f: f.write("more")
assert open(m + "/d/h").read() == "datamore"
os.unlink(m + "/f")
assert os.stat(m + "/g").st_nlink == 2
try: os.link(m + "/d", m + "/d2"); raise SystemExit("link to dir")
except OSError as e: assert e.errno == errno.EPERM, e
try: os.link(m + "/g", m + "/d/h"); raise SystemExit("link over existing")
except OSError as e: assert e.errno == errno.EEXIST, e
os.mkdir(m + "/d/s1"); os.mkdir(m + "/d/s2")
assert os.stat(m + "/d").st_nlink == 4, os.stat(m + "/d").st_nlink
os.rmdir(m + "/d/s2")
assert os.stat(m + "/d").st_nlink == 3
'
dx_umount
dx_fsck
