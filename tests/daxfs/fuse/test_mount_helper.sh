#!/bin/bash
# test_mount_helper.sh - `mount -t fuse.daxfs REGION DIR` works through
# mount.fuse3, as does an fstab line
# "REGION DIR fuse.daxfs defaults,datapath=bio 0 0"; umount(8) unmounts.
#
# mount(8) runs its helpers with a sanitized environment, so mount.fuse3
# finds `daxfs` only in the default system PATH. To test without installing
# anything, the script runs in a private mount namespace in which a
# directory holding a `daxfs` symlink to the build is bind-mounted over
# /usr/local/bin; nothing outside the namespace changes.
. "$(dirname "$0")/privns.sh" "$@"
. "$(dirname "$0")/lib.sh" "$@"
command -v mount.fuse3 >/dev/null || [ -x /sbin/mount.fuse3 ] ||
	dx_skip "mount.fuse3 is not installed"
[ -x /sbin/mount.fuse ] || [ -x /sbin/mount.fuse.daxfs ] || [ -x /usr/sbin/mount.fuse ] ||
	dx_skip "no mount.fuse helper for mount -t fuse.daxfs"
dx_mkfs 64M
dx_daxfs_in_path
mount -t fuse.daxfs -o "datapath=$DP" "$REGION" "$MNT" || fail "mount -t fuse.daxfs"
mountpoint -q "$MNT" || fail "not mounted"
expect_eq "$(findmnt -n -o FSTYPE "$MNT")" fuse.daxfs "fstype"
expect_eq "$(findmnt -n -o SOURCE "$MNT")" "$REGION" "source"
findmnt -n -o OPTIONS "$MNT" | grep -q default_permissions ||
	findmnt -n -o FS-OPTIONS "$MNT" | grep -q default_permissions ||
	fail "default_permissions missing"
echo via-mount > "$MNT/f"
via_helper=$(findmnt -n -o VFS-OPTIONS "$MNT")
umount "$MNT" || fail "umount"
dx_wait_released "$REGION"
# Started directly, the daemon mounts with the same flags as through
# mount(8) (issue 14 item 11: nosuid,nodev appeared only one way).
"$DAXFS" -o "datapath=$DP" "$REGION" "$MNT" || fail "direct mount"
expect_eq "$(findmnt -n -o VFS-OPTIONS "$MNT")" "$via_helper" "mount flags, direct vs mount -t"
umount "$MNT" || fail "umount direct"
dx_wait_released "$REGION"
for how in direct helper; do
	if [ $how = direct ]; then
		"$DAXFS" -o "datapath=$DP,nosuid,nodev" "$REGION" "$MNT" || fail "direct nosuid mount"
	else
		mount -t fuse.daxfs -o "datapath=$DP,nosuid,nodev" "$REGION" "$MNT" ||
			fail "mount -t nosuid"
	fi
	findmnt -n -o VFS-OPTIONS "$MNT" | grep -q 'nosuid,nodev' || fail "$how: nosuid,nodev not applied"
	umount "$MNT" || fail "umount $how"
	dx_wait_released "$REGION"
done
echo "$REGION $MNT fuse.daxfs defaults,datapath=bio,mode=page 0 0" > "$T/fstab"
mount --fstab "$T/fstab" "$MNT" || fail "mount from fstab"
expect_eq "$(cat "$MNT/f")" via-mount "contents through the fstab mount"
grep -q "datapath:.*bio" "$MNT/.daxfs-stats" || fail "fstab options not applied"
umount "$MNT" || fail "umount fstab mount"
dx_wait_released "$REGION"
dx_fsck
