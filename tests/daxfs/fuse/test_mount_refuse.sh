#!/bin/bash
# test_mount_refuse.sh - the daemon refuses, with a message naming the
# problem and a nonzero exit, and mounts nothing and changes nothing:
# missing/non-directory/busy/non-empty mount points, a second daemon on a
# region in use, corrupt and foreign images, a missing region, bad options.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M

# refuse WHAT PATTERN cmd... - cmd must fail and print PATTERN on stderr
refuse() {
	local what=$1 pat=$2 rc
	shift 2
	"$@" >"$T/out" 2>&1
	rc=$?
	[ $rc -ne 0 ] || fail "$what: exit 0"
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
head -c 8M /dev/urandom > "$T/region-foreign"
truncate -s 64M "$T/region-foreign"
refuse "foreign image" "cannot open" "$DAXFS" "$T/region-foreign" "$T/mnt2"
not_mounted "$T/mnt2"
# unformatted (all zero) region
truncate -s 64M "$T/region-zero"
refuse "unformatted region" "cannot open" "$DAXFS" "$T/region-zero" "$T/mnt2"
not_mounted "$T/mnt2"
dx_fsck
