#!/bin/bash
# test_mount_ro.sh - with -o ro files read back but every change fails
# with EROFS, and the region is not modified at all.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M
dx_mount
echo keep > "$MNT/f"
mkdir "$MNT/d"
dx_umount
sum0=$(sha256sum < "$REGION")
dx_mount -o ro
expect_eq "$(cat "$MNT/f")" keep "read on ro mount"
expect_errno EROFS 'open(os.environ["MNT"] + "/f", "w")'
expect_errno EROFS 'os.mkdir(os.environ["MNT"] + "/x")'
expect_errno EROFS 'os.unlink(os.environ["MNT"] + "/f")'
expect_errno EROFS 'os.chmod(os.environ["MNT"] + "/f", 0o600)'
expect_errno EROFS 'os.setxattr(os.environ["MNT"] + "/f", "user.x", b"1")'
dx_umount
expect_eq "$(sha256sum < "$REGION")" "$sum0" "region changed by a ro mount"
dx_fsck
