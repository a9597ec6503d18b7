# SPDX-License-Identifier: MIT
# lib.sh - set-up for the tests of shared mappings, O_TMPFILE and
# setuid/setgid clearing (sourced, not run): the mount tests' helpers
# (../lib.sh, which also makes unprivileged users) plus the preload shim.
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

