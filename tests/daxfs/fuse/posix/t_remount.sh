#!/bin/bash
# t_remount.sh - `mount -o remount,ro|rw` of a daxfs mount (issue 13: it
# started a second daemon, which failed with "mount point busy"): rw -> ro
# makes every write durable first (a byte copy of the region taken while
# mounted read-only is clean and holds the data) and lets fsck -n run
# beside the mount; writes get EROFS; ro -> rw writes again; rw -> ro is
# refused (EBUSY, the mount unchanged) while a file is open for writing;
# a writable DAX mapping (libdaxfs, its file closed) also keeps it
# read-write; a mount made read-only remounts read-write, but not for an
# unprivileged user (the daemon refuses its ioctl with EPERM); atime options
# change with a remount; the same daemon serves throughout;
# `daxfs -o remount,...` is what mount(8) runs through mount.fuse3.
#
# mount(8) runs mount.fuse3 with a sanitized PATH, so (as in
# test_mount_helper.sh) the script runs in a private mount namespace where
# a directory holding `daxfs` is bind-mounted over /usr/local/bin.
. "$(dirname "$0")/../privns.sh" "$@"
. "$(dirname "$0")/../shared/lib.sh" "$@"
[ -x /sbin/mount.fuse ] || [ -x /usr/sbin/mount.fuse ] ||
	dx_skip "no mount.fuse helper (Debian package fuse3)"
dx_daxfs_in_path
dx_mkfs 64M
dx_mount
opts() { findmnt -n -o OPTIONS "$MNT"; }
# the mount's device: a second daemon would be a new mount (a new device)
daemon() { stat -c %d "$MNT"; }
dev=$(daemon)

# data written through the data path (the page path keeps it dirty)
"$PY" -c "import os; open('$MNT/f', 'wb').write(os.urandom(3 << 20))" || fail "write f"
sha=$(sha256sum < "$MNT/f")
mkdir "$MNT/d"
echo small > "$MNT/d/s"

mount -o remount,ro "$MNT" || fail "mount -o remount,ro"
case ,$(opts), in *,ro,*) ;; *) fail "not read-only: $(opts)" ;; esac
expect_eq "$(daemon)" "$dev" "the daemon after remount,ro"
expect_errno EROFS 'open(os.environ["MNT"] + "/new", "w")'
expect_errno EROFS 'os.mkdir(os.environ["MNT"] + "/d2")'
expect_errno EROFS 'os.unlink(os.environ["MNT"] + "/f")'
expect_eq "$(sha256sum < "$MNT/f")" "$sha" "f read-only"
# everything is durable: a copy taken now is a clean filesystem with the data
cp "$REGION" "$T/region.copy" || fail "copy the region"
dx_fsck "$T/region.copy"
"$FSCK" -n "$REGION" >/dev/null 2>&1 || fail "fsck -n beside a read-only mount"
mkdir "$T/mnt.copy"
dx_mount_at "$T/region.copy" "$T/mnt.copy" -o ro
expect_eq "$(sha256sum < "$T/mnt.copy/f")" "$sha" "f in the copy"
expect_eq "$(cat "$T/mnt.copy/d/s")" small "d/s in the copy"
dx_umount "$T/mnt.copy" "$T/region.copy"

mount -o remount,rw "$MNT" || fail "mount -o remount,rw"
case ,$(opts), in *,rw,*) ;; *) fail "not read-write: $(opts)" ;; esac
echo again > "$MNT/new" || fail "write after remount,rw"
rm "$MNT/f" || fail "unlink after remount,rw"

# a file open for writing keeps the mount read-write
exec 5>>"$MNT/new"
mount -o remount,ro "$MNT" 2>"$T/err" && fail "remount,ro with a file open for writing"
grep -q "busy" "$T/err" || fail "remount refusal does not say why: $(cat "$T/err")"
case ,$(opts), in *,rw,*) ;; *) fail "a refused remount changed the mount: $(opts)" ;; esac
echo more >&5 || fail "write after the refused remount"
exec 5>&-

# a writable DAX mapping whose file is closed: only the daemon knows of it
# (no DAX mmap under -o writeback)
if [ "$DP" = dax ] && ! dx_writeback; then
	mkfifo "$T/go" "$T/done"
	DAXFS_PRELOAD_DEBUG=1 with_shim "$PY" -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
p = libc.mmap(None, 4096, 3, 1, fd, 0)   # PROT_READ|PROT_WRITE, MAP_SHARED
assert p not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
os.close(fd)
ctypes.memmove(p, b"DAX!", 4)
open(sys.argv[2], "w").write("mapped\n")
open(sys.argv[3]).read()
' "$MNT/new" "$T/go" "$T/done" 2>"$T/shim.err" &
	shim=$!
	expect_eq "$(cat "$T/go")" mapped "the DAX mapping"
	grep -q "DAX" "$T/shim.err" || fail "not a DAX mapping: $(cat "$T/shim.err")"
	mount -o remount,ro "$MNT" 2>"$T/err" && fail "remount,ro with a writable DAX mapping"
	case ,$(opts), in *,rw,*) ;; *) fail "a refused remount changed the mount: $(opts)" ;; esac
	echo > "$T/done"
	wait "$shim" || fail "the DAX mapping program: $(cat "$T/shim.err")"
	expect_eq "$(head -c 4 "$MNT/new")" "DAX!" "the store through the DAX mapping"
	mount -o remount,ro "$MNT" || fail "remount,ro after the DAX mapping went"
	mount -o remount,rw "$MNT" || fail "remount,rw"
fi

# the daemon's own command, as mount.fuse3 runs it; atime options change too
"$DAXFS" -o remount,ro,noatime "$REGION" "$MNT" || fail "daxfs -o remount,ro,noatime"
case ,$(opts), in *,ro,*noatime*) ;; *) fail "daxfs -o remount,ro,noatime: $(opts)" ;; esac
"$DAXFS" -o remount,rw,strictatime "$REGION" "$MNT" || fail "daxfs -o remount,rw"
case ,$(opts), in *,rw,*) ;; *) fail "daxfs -o remount,rw: $(opts)" ;; esac
case ,$(opts), in *noatime*) fail "noatime kept after strictatime: $(opts)" ;; esac
touch -a -d @1000 "$MNT/new"
cat "$MNT/new" >/dev/null
for k in $(seq 50); do
	[ "$(stat -c %X "$MNT/new")" != 1000 ] && break
	sleep 0.1
done
# (a read the kernel serves from its cache, cache=always, updates no atime)
dx_writeback || [ "$(stat -c %X "$MNT/new")" != 1000 ] ||
	fail "strictatime after remount: atime not updated"
expect_eq "$(daemon)" "$dev" "the daemon after the remounts"
"$DAXFS" -o remount,ro "$REGION" "$T" 2>/dev/null && fail "remount of a directory that is no mount"

dx_umount
dx_fsck

# a mount made read-only becomes read-write; an unprivileged user may ask
# neither the daemon (its remount ioctl) nor the kernel
dx_user
chmod 0755 "$T"
dx_mount -o ro,allow_other
as_user "$UPY" -c '
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
try:
    fcntl.ioctl(fd, 0x4008DA20, struct.pack("II", 2, 0))   # DAXFS_IOC_REMOUNT, to rw
except OSError as e:
    sys.exit(0 if e.errno == errno.EPERM else "ioctl: %s" % e)
sys.exit("an unprivileged remount ioctl was served")
' "$MNT" || fail "unprivileged DAXFS_IOC_REMOUNT"
as_user "$DAXFS" -o remount,rw "$REGION" "$MNT" 2>/dev/null && fail "unprivileged daxfs -o remount"
case ,$(opts), in *,ro,*) ;; *) fail "an unprivileged request changed the mount: $(opts)" ;; esac
(echo x > "$MNT/ro") 2>/dev/null && fail "write to a read-only mount"
mount -o remount,rw "$MNT" || fail "remount,rw of a read-only mount"
echo x > "$MNT/ro" || fail "write after remount,rw of a read-only mount"
dx_umount
dx_fsck
