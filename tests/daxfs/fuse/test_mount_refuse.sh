#!/bin/bash
# test_mount_refuse.sh - the daemon refuses, with a message naming the
# problem and a nonzero exit, and mounts nothing and changes nothing:
# missing/non-directory/busy/non-empty mount points, a second daemon on a
# region in use, corrupt and foreign images, a missing region, bad options;
# a corrupt primary superblock (good backup), a read-only region and a
# mount point left by a killed daemon are refused naming the next step.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M

# refuse WHAT PATTERN cmd... - cmd must fail with the exit status daxfs(1)
# gives a refused mount, 1 (or $want, when set), and print PATTERN on stderr
refuse() {
	local what=$1 pat=$2 rc
	shift 2
	"$@" >"$T/out" 2>&1
	rc=$?
	[ $rc -eq "${want:-1}" ] || fail "$what: exit $rc, expected ${want:-1}"
	grep -qi -- "$pat" "$T/out" || fail "$what: message lacks '$pat': $(cat "$T/out")"
	[ -s "$T/out" ] || fail "$what: no message"
}
not_mounted() {
	mountpoint -q "$1" && fail "$1 got mounted"
	return 0
}

sum0=$(sha256sum < "$REGION")
refuse "missing mount point" "mount point" "$DAXFS" "$REGION" "$T/nonexistent"
touch "$T/afile"
refuse "file as mount point" "not a directory" "$DAXFS" "$REGION" "$T/afile"
mkdir "$T/full"; touch "$T/full/x"
refuse "non-empty mount point" "not empty" "$DAXFS" "$REGION" "$T/full"
not_mounted "$T/full"
refuse "missing region" "$T/noregion" "$DAXFS" "$T/noregion" "$MNT"
refuse "unknown datapath" "datapath=foo" "$DAXFS" -o datapath=foo "$REGION" "$MNT"
refuse "unknown mode" "mode=huge" "$DAXFS" -o mode=huge "$REGION" "$MNT"
refuse "bad threads" "threads=0" "$DAXFS" -o threads=0 "$REGION" "$MNT"
refuse "bad cache_pages" "cache_pages=3" "$DAXFS" -o cache_pages=3 "$REGION" "$MNT"
refuse "unknown option" "no_such_option" "$DAXFS" -o no_such_option "$REGION" "$MNT"
refuse "missing mount point argument" "MOUNTPOINT" "$DAXFS" "$REGION"
refuse "extra argument" "unexpected argument" "$DAXFS" "$REGION" "$MNT" extra
# daxfs stat and daxfs badblocks (daxfs(1) EXIT STATUS): 1 when the path is
# not a mounted daxfs, 2 on a usage error
refuse "stat of a plain directory" "not a mounted daxfs" "$DAXFS" stat "$T"
refuse "badblocks of a plain directory" "not a mounted daxfs" "$DAXFS" badblocks "$T" list
want=2 refuse "stat without MOUNTPOINT" "usage" "$DAXFS" stat
want=2 refuse "stat with an extra argument" "unexpected argument" "$DAXFS" stat "$MNT" x
want=2 refuse "badblocks without an action" "usage" "$DAXFS" badblocks "$MNT"
want=2 refuse "badblocks with a bad action" "unknown action" "$DAXFS" badblocks "$MNT" frob
not_mounted "$MNT"
expect_eq "$(sha256sum < "$REGION")" "$sum0" "region changed by refused mounts"

# -o nonempty allows it
dx_mount_at "$REGION" "$T/full" -o nonempty
[ -e "$T/full/x" ] && fail "the mount does not cover the old contents"
# busy: already a mount point
mkdir "$T/mnt2"
dx_mkfs 64M "$T/region2"
refuse "busy mount point" "busy" "$DAXFS" "$T/region2" "$T/full"
# second daemon on the same region
refuse "second daemon" "$REGION" "$DAXFS" "$REGION" "$T/mnt2"
not_mounted "$T/mnt2"
refuse "second daemon, foreground" "$REGION" "$DAXFS" -f "$REGION" "$T/mnt2"
not_mounted "$T/mnt2"
dx_umount "$T/full"

# corrupt superblock and foreign data
cp "$REGION" "$T/region-corrupt"
dd if=/dev/urandom of="$T/region-corrupt" bs=64 count=1 seek=1 conv=notrunc status=none
sumc=$(sha256sum < "$T/region-corrupt")
refuse "corrupt image" "cannot open" "$DAXFS" "$T/region-corrupt" "$T/mnt2"
expect_eq "$(sha256sum < "$T/region-corrupt")" "$sumc" "corrupt image modified"
# the backup superblock is good: the message gives the next step, which works
grep -q "backup superblock is good: run fsck.daxfs -y $T/region-corrupt" "$T/out" ||
	fail "corrupt primary: no next step: $(cat "$T/out")"
"$FSCK" -y "$T/region-corrupt" >/dev/null
[ $? -le 1 ] || fail "fsck -y of a corrupt primary superblock"
dx_mount_at "$T/region-corrupt" "$T/mnt2"
dx_umount "$T/mnt2" "$T/region-corrupt"
head -c 8M /dev/urandom > "$T/region-foreign"
truncate -s 64M "$T/region-foreign"
refuse "foreign image" "cannot open" "$DAXFS" "$T/region-foreign" "$T/mnt2"
not_mounted "$T/mnt2"
# unformatted (all zero) region
truncate -s 64M "$T/region-zero"
refuse "unformatted region" "cannot open" "$DAXFS" "$T/region-zero" "$T/mnt2"
not_mounted "$T/mnt2"
grep -q "fsck.daxfs -y" "$T/out" && fail "unformatted region: fsck suggested"

# a region this user may only read (on a read-only mount): the next step is -o ro
dx_cleanup_more() { umount "$T/rofs" 2>/dev/null; }
mkdir "$T/rofs"
cp "$REGION" "$T/rofs/region"
mount --bind "$T/rofs" "$T/rofs" && mount -o remount,bind,ro "$T/rofs" || fail "read-only bind mount"
refuse "read-only region" "to mount it read-only, use -o ro" "$DAXFS" "$T/rofs/region" "$T/mnt2"
not_mounted "$T/mnt2"
dx_mount_at "$T/rofs/region" "$T/mnt2" -o ro
dx_umount "$T/mnt2" "$T/rofs/region"
umount "$T/rofs"

# options of other data paths are not silently accepted: a warning names them
"$DAXFS" -o datapath=dax,cache_pages=64M,mode=page "$REGION" "$MNT" 2>"$T/out" ||
	fail "dax mount with cache_pages and mode: $(cat "$T/out")"
mountpoint -q "$MNT" || fail "dax mount with cache_pages and mode: not mounted"
grep -q "warning: -o cache_pages=64M has no effect on datapath=dax" "$T/out" ||
	fail "no warning for cache_pages on dax: $(cat "$T/out")"
grep -q "warning: -o mode=page has no effect on datapath=dax" "$T/out" ||
	fail "no warning for mode on dax: $(cat "$T/out")"
dx_umount
"$DAXFS" -o datapath=bio,cache_pages=64M "$REGION" "$MNT" 2>"$T/out" || fail "bio mount"
grep -q "cache_pages=64M has no effect on datapath=bio" "$T/out" || fail "no warning on bio"
grep -q "mode=" "$T/out" && fail "mode warned about on bio"
dx_umount

# a mount point left by a killed daemon: the next step is fusermount3 -u
mkdir "$T/mnt3"
"$DAXFS" -f "$REGION" "$T/mnt3" 2>"$T/daemon.err" &
dpid=$!
DX_PIDS+=("$dpid")
for _ in $(seq 100); do mountpoint -q "$T/mnt3" && break; sleep 0.1; done
mountpoint -q "$T/mnt3" || fail "foreground mount on mnt3"
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
refuse "mount point of a killed daemon" "run fusermount3 -u $T/mnt3" "$DAXFS" "$REGION" "$T/mnt3"
fusermount3 -u "$T/mnt3" || fail "fusermount3 -u of the stale mount"
dx_wait_released "$REGION"
dx_fsck
