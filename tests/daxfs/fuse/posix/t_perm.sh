#!/bin/bash
# t_perm.sh - chmod, chown and utimens work and are enforced: as the
# unprivileged user nobody, writes to a 0644 root file, creating in a 0755
# root directory and reading a 0600 file fail with EACCES; a directory
# chowned to nobody is writable by nobody.
. "$(dirname "$0")/../lib.sh" "$@"
command -v setpriv >/dev/null || dx_skip "setpriv is not installed"
id nobody >/dev/null 2>&1 || dx_skip "no user nobody"
dx_mkfs 64M
chmod 0755 "$T"
dx_mount -o allow_other
chmod 0755 "$MNT"
as_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"
}
echo secret > "$MNT/private"
chmod 0600 "$MNT/private"
expect_eq "$(stat -c %a "$MNT/private")" 600 "chmod"
echo public > "$MNT/public"
chmod 0644 "$MNT/public"
as_nobody cat "$MNT/public" >/dev/null || fail "nobody cannot read a 0644 file"
as_nobody cat "$MNT/private" 2>/dev/null && fail "nobody read a 0600 file"
as_nobody bash -c "echo x >> '$MNT/public'" 2>/dev/null && fail "nobody wrote a 0644 root file"
as_nobody touch "$MNT/newfile" 2>/dev/null && fail "nobody created in a 0755 root dir"
mkdir "$MNT/nb"
chown nobody "$MNT/nb" || fail "chown"
expect_eq "$(stat -c %U "$MNT/nb")" nobody "owner after chown"
as_nobody touch "$MNT/nb/mine" || fail "nobody cannot create in its own dir"
expect_eq "$(stat -c %U "$MNT/nb/mine")" nobody "owner of a file nobody created"
as_nobody chmod 0600 "$MNT/nb/mine" || fail "owner cannot chmod"
as_nobody chmod 0600 "$MNT/public" 2>/dev/null && fail "nobody chmodded root's file"
as_nobody chown root "$MNT/nb/mine" 2>/dev/null && fail "nobody gave a file away"
# sticky /tmp-like directory
mkdir -m 1777 "$MNT/tmp"
touch "$MNT/tmp/rootfile"
as_nobody rm -f "$MNT/tmp/rootfile" 2>/dev/null
[ -e "$MNT/tmp/rootfile" ] || fail "sticky bit ignored"
# timestamps
touch -d "2001-02-03 04:05:06.789 UTC" "$MNT/public"
expect_eq "$(TZ=UTC stat -c %y "$MNT/public")" "2001-02-03 04:05:06.789000000 +0000" "utimens"
touch -a -d "2002-01-01 00:00:00 UTC" "$MNT/public"
expect_eq "$(TZ=UTC stat -c %x "$MNT/public")" "2002-01-01 00:00:00.000000000 +0000" "atime"
expect_eq "$(TZ=UTC stat -c %y "$MNT/public")" "2001-02-03 04:05:06.789000000 +0000" "mtime kept"
before=$(stat -c %Z "$MNT/public")
sleep 1.1
chmod 0640 "$MNT/public"
[ "$(stat -c %Z "$MNT/public")" -gt "$before" ] || fail "ctime not updated by chmod"
sleep 1.1
echo data >> "$MNT/public"
[ "$(stat -c %Y "$MNT/public")" -gt "$(date -d '2001-02-04' +%s)" ] || fail "write did not update mtime"
# setuid bit is dropped when a non-owner... (kernel) and by chown
chmod 4755 "$MNT/public"
chown nobody "$MNT/public"
expect_eq "$(stat -c %a "$MNT/public")" 755 "chown clears setuid"
dx_umount
dx_fsck
