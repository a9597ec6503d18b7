#!/bin/bash
# SPDX-License-Identifier: MIT
# t_killpriv.sh - a write or truncate by a user without CAP_FSETID clears
# setuid, and setgid when group-execute is set, as on a local filesystem:
# for modes 04777, 02777 and 06777, an unprivileged user (created for the
# test) writing with write(2), with pwrite(2) at an offset, and truncating
# leaves 0777; the owner (root) keeps the bits when it writes; 02767
# (setgid without group-execute: mandatory-locking style) keeps its setgid.
. "$(dirname "$0")/lib.sh" "$@"
dx_user
[ -x "$UPY" ] || dx_skip "$UPY is missing (Debian package python3)"
dx_mkfs 64M
chmod 0755 "$T"
dx_mount -o allow_other
chmod 0777 "$MNT"

check() { # MODE HOW EXPECTED
	local mode=$1 how=$2 want=$3 f=$MNT/k.$1.$2
	rm -f "$f"
	head -c 20000 /dev/zero >"$f"
	chmod "$mode" "$f"
	expect_eq "$(stat -c %a "$f")" "${mode#0}" "chmod $mode"
	case $how in
	write) as_user "$UPY" -c "import os;fd=os.open('$f',os.O_WRONLY|os.O_APPEND);os.write(fd,b'x')" ;;
	pwrite) as_user "$UPY" -c "import os;fd=os.open('$f',os.O_WRONLY);os.pwrite(fd,b'yy',12345)" ;;
	truncate) as_user "$UPY" -c "import os;os.truncate('$f',777)" ;;
	trunc_open) as_user "$UPY" -c "import os;os.close(os.open('$f',os.O_WRONLY|os.O_TRUNC))" ;;
	root_write) "$PY" -c "import os;fd=os.open('$f',os.O_WRONLY);os.pwrite(fd,b'r',5)" ;;
	esac || fail "$how on a $mode file as $DX_USER ($DP path)"
	expect_eq "$(stat -c %a "$f")" "$want" "mode after $how of a $mode file ($DP path)"
}
for m in 4777 2777 6777; do
	for how in write pwrite truncate trunc_open; do
		check "$m" "$how" 777
	done
	check "$m" root_write "$m"
done
check 2767 write 2767
check 6767 pwrite 2767
# The data of those writes arrived.
expect_eq "$(stat -c %s "$MNT/k.4777.write")" 20001 "size after the append"
expect_eq "$(dd if="$MNT/k.2777.pwrite" bs=1 skip=12345 count=2 status=none)" yy "pwrite data"
expect_eq "$(stat -c %s "$MNT/k.6777.truncate")" 777 "size after truncate"
dx_umount
dx_fsck
