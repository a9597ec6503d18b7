#!/bin/bash
# t_rename.sh - rename files and directories, over an existing target,
# RENAME_NOREPLACE (EEXIST) and RENAME_EXCHANGE (renameat2 via ctypes),
# and the errors POSIX asks for (dir into itself, dir over file, ...).
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount

py '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
AT = -100
def renameat2(a, b, flags):
    r = libc.renameat2(AT, a.encode(), AT, b.encode(), flags)
    return 0 if r == 0 else ctypes.get_errno()
def put(p, s):
    with open(p, "w") as f: f.write(s)
def get(p):
    with open(p) as f: return f.read()
put(m + "/a", "A"); put(m + "/b", "B")
os.rename(m + "/a", m + "/c")
assert not os.path.exists(m + "/a") and get(m + "/c") == "A"
os.rename(m + "/c", m + "/b")            # replaces b
assert get(m + "/b") == "A" and not os.path.exists(m + "/c")
put(m + "/x", "X")
assert renameat2(m + "/x", m + "/b", 1) == errno.EEXIST   # NOREPLACE
assert get(m + "/x") == "X" and get(m + "/b") == "A"
assert renameat2(m + "/x", m + "/new", 1) == 0
assert get(m + "/new") == "X"
assert renameat2(m + "/new", m + "/b", 2) == 0             # EXCHANGE
assert get(m + "/new") == "A" and get(m + "/b") == "X"
assert renameat2(m + "/new", m + "/missing", 2) == errno.ENOENT
assert renameat2(m + "/new", m + "/b", 3) == errno.EINVAL
os.makedirs(m + "/d1/sub"); os.mkdir(m + "/d2")
put(m + "/d1/sub/f", "F")
os.rename(m + "/d1", m + "/d2/d1")
assert get(m + "/d2/d1/sub/f") == "F"
try: os.rename(m + "/d2", m + "/d2/d1/sub/inside"); raise SystemExit("dir into itself")
except OSError as e: assert e.errno == errno.EINVAL, e
try: os.rename(m + "/d2", m + "/b"); raise SystemExit("dir over file")
except OSError as e: assert e.errno == errno.ENOTDIR, e
try: os.rename(m + "/b", m + "/d2"); raise SystemExit("file over dir")
except OSError as e: assert e.errno == errno.EISDIR, e
os.mkdir(m + "/empty")
os.rename(m + "/d2/d1/sub", m + "/empty")   # dir over empty dir
assert get(m + "/empty/f") == "F"
try: os.rename(m + "/d2", m + "/empty"); raise SystemExit("over non-empty")
except OSError as e: assert e.errno in (errno.ENOTEMPTY, errno.EEXIST), e
# exchange a file and a directory
assert renameat2(m + "/b", m + "/empty", 2) == 0
assert os.path.isdir(m + "/b") and get(m + "/empty") == "X"
'
dx_umount
dx_fsck
