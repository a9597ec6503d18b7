#!/bin/bash
# t_acl.sh - POSIX ACLs are enforced and kept in step with the mode, as on
# ext4 (issue 13), checked as an unprivileged user made for the test:
# setfacl -m u:X:--- on a 0644 and a 0666 file denies X; chmod 600 then
# setfacl -m u:X:r lets X read and ls shows the mask as the group bits;
# setfacl by an owner outside the file's group clears setgid; chmod
# rewrites the ACL's mask and other entries; a directory's default ACL is
# inherited by new files (-rw-rw---- with umask 022, as tmpfs gives), new
# directories and O_TMPFILE files, and without one the umask applies; all
# of it survives a remount.
. "$(dirname "$0")/../lib.sh" "$@"
command -v setfacl >/dev/null || dx_skip "setfacl is not installed (Debian package acl)"
dx_user
dx_user OTHER
dx_mkfs 64M
chmod 0755 "$T"
dx_mount -o allow_other
chmod 0755 "$MNT"
cd "$MNT" || fail "cd $MNT"

# setfacl -m u:X:--- denies X on 0644 and 0666 files
for mode in 644 666; do
	echo secret > "f$mode"
	chmod "$mode" "f$mode"
	as_user cat "f$mode" >/dev/null || fail "$DX_USER cannot read a $mode file before setfacl"
	setfacl -m "u:$DX_USER:---" "f$mode" || fail "setfacl on f$mode"
	getfacl -p "f$mode" 2>/dev/null | grep -q "^user:$DX_USER:---" || fail "getfacl f$mode"
	as_user cat "f$mode" 2>/dev/null && fail "$DX_USER still reads f$mode after u:$DX_USER:---"
	as_user bash -c "echo x >> f$mode" 2>/dev/null && fail "$DX_USER wrote f$mode"
	as_user_in "$OTHER" cat "f$mode" >/dev/null || fail "$OTHER lost read access to f$mode"
done

# chmod 600; setfacl -m u:X:r allows X; ls shows the mask in the group bits
echo data > g
chmod 600 g
as_user cat g 2>/dev/null && fail "$DX_USER reads a 0600 file"
setfacl -m "u:$DX_USER:r" g || fail "setfacl g"
expect_eq "$(stat -c %A g)" "-rw-r-----" "mode after setfacl -m u:X:r"
ls -l g | grep -q '^-rw-r-----+' || fail "ls -l does not show the ACL: $(ls -l g)"
expect_eq "$(as_user cat g)" data "$DX_USER reading through the ACL"
as_user_in "$OTHER" cat g 2>/dev/null && fail "$OTHER reads g through the mask"

# chmod rewrites the mask and other entries
chmod 750 g
getfacl -p g 2>/dev/null | grep -q '^mask::r-x' || fail "chmod did not set the mask: $(getfacl -p g)"
getfacl -p g 2>/dev/null | grep -q '^other::---' || fail "chmod did not set other"
chmod 600 g
as_user cat g 2>/dev/null && fail "$DX_USER reads after chmod 600 (mask ---)"
# an ACL the mode says fully is no ACL: the + goes
setfacl -b g
ls -l g | grep -q '^-rw-------\s' || fail "setfacl -b left an ACL: $(ls -l g)"

# setfacl by an owner who is not in the file's group clears setgid
touch sg
chown "$DX_USER:root" sg
chmod 2770 sg
expect_eq "$(stat -c %A sg)" "-rwxrws---" "setgid file"
as_user setfacl -m u::rwx,g::rwx sg || fail "owner setfacl"
as_user setfacl -m "u:$OTHER:r" sg || fail "owner setfacl named"
case $(stat -c %A sg) in
*s*) fail "setgid kept after setfacl by a non-member: $(stat -c %A sg)" ;;
esac
# ... while root (privileged) keeps it
chmod 2770 sg
setfacl -m "u:$OTHER:rw" sg || fail "root setfacl"
expect_eq "$(stat -c %A sg)" "-rwxrws---" "root's setfacl keeps setgid"

# default ACLs are inherited; the umask applies only without one
mkdir d
setfacl -d -m u::rw,g::rw,o::- d || fail "setfacl -d"
(umask 022 && touch d/x && mkdir d/sub) || fail "create in d"
expect_eq "$(stat -c %A d/x)" "-rw-rw----" "file created under a default ACL"
getfacl -p -d d/sub 2>/dev/null | grep -q '^group::rw-' || fail "d/sub lacks the default ACL"
setfacl -d -m "u:$DX_USER:rw" d || fail "setfacl -d named"
(umask 077 && touch d/y) || fail "create d/y"
getfacl -p d/y 2>/dev/null | grep -q "^user:$DX_USER:rw-" || fail "d/y did not inherit the named entry"
expect_eq "$(as_user cat d/y && echo ok)" ok "$DX_USER reads d/y through the inherited ACL"
"$PY" - "$MNT/d" <<'PYEOF' || fail "O_TMPFILE under a default ACL"
import os, stat, sys
old = os.umask(0o022)
fd = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o666)
os.umask(old)
mode = stat.S_IMODE(os.fstat(fd).st_mode)
assert mode == 0o660, oct(mode)
PYEOF
(umask 027 && touch plain) || fail "create plain"
expect_eq "$(stat -c %A plain)" "-rw-r-----" "umask without a default ACL"

cd / || fail "cd /"
dx_umount
dx_fsck
dx_mount -o allow_other
expect_eq "$(stat -c %A "$MNT/d/x")" "-rw-rw----" "after remount"
getfacl -p "$MNT/f644" 2>/dev/null | grep -q "^user:$DX_USER:---" || fail "ACL lost at remount"
as_user cat "$MNT/f644" 2>/dev/null && fail "$DX_USER reads f644 after remount"
dx_umount
dx_fsck
