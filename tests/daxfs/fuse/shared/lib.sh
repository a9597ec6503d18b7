# SPDX-License-Identifier: MIT
# lib.sh - set-up for the tests of shared mappings, O_TMPFILE and
# setuid/setgid clearing (sourced, not run): the mount tests' helpers
# (../lib.sh) plus the preload shim and an unprivileged user.
#
#   . "$(dirname "$0")/lib.sh" "$@"        (args: BUILD_DIR SOURCE_DIR)
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" "$@" || {
	echo "FAIL: cannot load ../lib.sh" >&2
	exit 1
}

SHIM=$BUILD/daxfs/libdaxfs-preload.so
[ -e "$SHIM" ] || fail "$SHIM is not built"
SHIM_PRELOAD=$SHIM
if grep -q '^PMD_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	# ASan must come first in the link map: preload it before the shim.
	SHIM_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so) $SHIM"
fi

# with_shim CMD... - run CMD with the preload shim (uninstrumented
# programs such as python3 and sqlite3 get no leak report under ASan).
with_shim() {
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 LD_PRELOAD="$SHIM_PRELOAD" "$@"
}

# dx_user - create an unprivileged user for this test (removed on exit);
# sets DX_USER. Needs useradd/userdel (Debian package passwd).
DX_USER=
dx_user() {
	command -v useradd >/dev/null || dx_skip "useradd is not installed"
	command -v setpriv >/dev/null || dx_skip "setpriv is not installed"
	DX_USER=dxt$$
	useradd --system --no-create-home --shell /usr/sbin/nologin "$DX_USER" ||
		fail "useradd $DX_USER"
}
# Called by dx_cleanup (../lib.sh) at exit.
dx_cleanup_more() {
	[ -z "$DX_USER" ] || userdel "$DX_USER" 2>/dev/null
}

# as_user CMD... - run CMD as $DX_USER (no supplementary groups). UPY is a
# python3 that user can run (the caller's may live in root's home).
UPY=/usr/bin/python3
as_user() {
	setpriv --reuid="$DX_USER" --regid="$(id -g "$DX_USER")" --clear-groups -- "$@"
}
