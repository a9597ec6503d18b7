#!/bin/bash
# t_exdev.sh - rename and link across two daxfs mounts, and to another
# filesystem, fail with EXDEV; mv falls back to copying.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mkfs 64M "$T/region2"
mkdir "$T/mnt2"
dx_mount
dx_mount_at "$T/region2" "$T/mnt2"
echo one > "$MNT/f"
MNT2=$T/mnt2 py '
m2 = os.environ["MNT2"]
for f in (lambda: os.rename(m + "/f", m2 + "/f"), lambda: os.link(m + "/f", m2 + "/f")):
    raises(errno.EXDEV, f)
'
mkdir -p "$T/other"
expect_errno EXDEV 'os.rename(os.environ["MNT"] + "/f", "'"$T"'/other/f")'
mv "$MNT/f" "$T/mnt2/f" || fail "mv across mounts"
expect_eq "$(cat "$T/mnt2/f")" one "moved contents"
[ -e "$MNT/f" ] && fail "source still there after mv"
dx_umount "$T/mnt2" "$T/region2"
dx_umount
dx_fsck
dx_fsck "$T/region2"
