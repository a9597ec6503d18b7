#!/bin/bash
# t_handles.sh - file handles survive a remount (issue 13: ESTALE), as the
# kernel NFS server needs: name_to_handle_at on a file, a directory and a
# file in a subdirectory, umount, mount, open_by_handle_at reads them; a
# handle of a file removed meanwhile, and one whose inode number was
# reused by a new file (new generation), give ESTALE.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M "$REGION"
# few inodes, so a freed number is soon given again
"$MKFS" "$REGION" --size 64M --inodes 32 -f >/dev/null || fail "mkfs --inodes 32"
dx_mount
HANDLES=$T/handles
cat > "$T/h.py" <<'PYEOF'
import ctypes, errno, os, pickle, sys
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]
def make(path):
    fh, mid = FH(), ctypes.c_int()
    fh.handle_bytes = 128
    if libc.name_to_handle_at(-100, path.encode(), ctypes.byref(fh), ctypes.byref(mid), 0):
        raise OSError(ctypes.get_errno(), "name_to_handle_at " + path)
    return bytes(fh)
def open_by(mnt, raw, flags=os.O_RDONLY):
    fh = FH.from_buffer_copy(raw)
    mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), flags)
    err = ctypes.get_errno()
    os.close(mfd)
    if fd < 0:
        raise OSError(err, os.strerror(err))
    return fd
cmd, mnt, store = sys.argv[1:4]
if cmd == "make":
    pickle.dump({n: (make(os.path.join(mnt, n)), os.stat(os.path.join(mnt, n)).st_ino)
                 for n in sys.argv[4:]}, open(store, "wb"))
    sys.exit(0)
h = pickle.load(open(store, "rb"))
for arg in sys.argv[4:]:
    name, want = arg.split("=")
    if want == "REUSED":
        inos = [os.stat(os.path.join(mnt, e)).st_ino for e in os.listdir(mnt)]
        assert h[name][1] in inos, ("inode number not reused", name, h[name][1], inos)
        continue
    try:
        fd = open_by(mnt, h[name][0], os.O_RDONLY | (os.O_DIRECTORY if want == "DIR" else 0))
    except OSError as e:
        assert want == errno.errorcode[e.errno], (name, want, e)
        continue
    got = "DIR" if want == "DIR" else os.read(fd, 100).decode().strip()
    if want == "DIR":
        assert "g" in os.listdir("/proc/self/fd/%d" % fd), name
    assert got == want, (name, got, want)
    os.close(fd)
PYEOF
echo one > "$MNT/f"
mkdir "$MNT/dir"
echo two > "$MNT/dir/g"
echo three > "$MNT/gone"
echo four > "$MNT/reused"
"$PY" "$T/h.py" make "$MNT" "$HANDLES" f dir dir/g gone reused || fail "name_to_handle_at"
rm "$MNT/gone"
rm "$MNT/reused"
dx_umount
dx_mount
# take the freed numbers again (the allocator moves on: fill the table)
for k in $(seq 1 26); do
	echo "new$k" > "$MNT/n$k" 2>/dev/null || break
done
"$PY" "$T/h.py" open "$MNT" "$HANDLES" f=one dir=DIR dir/g=two gone=ESTALE reused=REUSED \
	reused=ESTALE ||
	fail "open_by_handle_at after a remount"
dx_umount
dx_fsck
