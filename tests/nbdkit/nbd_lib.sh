# SPDX-License-Identifier: MIT
#
# nbd_lib.sh - shared set-up for the nbdkit plugin tests (sourced, not run).
#
# Usage:  . "$(dirname "$0")/nbd_lib.sh" "$@"   (args: BUILD_DIR SOURCE_DIR)
# Provides $PLUGIN, $PMEMDEV, $T (a private directory, removed on exit), and
#   nbd_need TOOL...          skip (77) without a tool, fail under CI=true
#   nbd_region NAME SIZE      create a region file in $T, print its path
#   nbd_start REGION [k=v...] start nbdkit -f on a unix socket in $T; sets
#                             $NBD_PID, $NBD_URI, $NBD_LOG (its stderr)
#                             (NBD_VERBOSE=1: nbdkit -v, its debug log)
#   nbd_stop [SIGNAL]         stop it (default TERM) and wait
#   fail MSG
# Servers run with --exit-with-parent, so none outlives the test. Under a
# sanitizer build the ASan runtime is preloaded into nbdkit
# ($PMD_NBDKIT_PRELOAD, from CMake), as for fio.

set -u
BUILD=${1:?build dir}
SRC=${2:?source dir}
PLUGIN=${PMD_NBDKIT_PLUGIN:-$BUILD/pmemdev/nbdkit/nbdkit-pmemdev-plugin.so}
PMEMDEV=$BUILD/pmemdev/pmemdev
NBD_PID=
NBD_N=0

fail()
{
	echo "FAIL: $*" >&2
	[ -n "${NBD_LOG:-}" ] && [ -s "$NBD_LOG" ] && sed 's/^/  nbdkit| /' "$NBD_LOG" | tail -20 >&2
	exit 1
}

nbd_need()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		if [ "${CI:-}" = true ]; then
			echo "FAIL (CI): $t is not installed (scripts/deps installs it)" >&2
			exit 1
		fi
		echo "SKIP: $t is not installed" >&2
		exit 77
	done
}

nbd_need nbdkit
if [ ! -f "$PLUGIN" ]; then
	[ "${CI:-}" = true ] && fail "the plugin $PLUGIN was not built (nbdkit-plugin-dev?)"
	echo "SKIP: the plugin was not built (nbdkit-plugin-dev is not installed)" >&2
	exit 77
fi
[ -x "$PMEMDEV" ] || fail "$PMEMDEV is not built"

T=$(mktemp -d "${PMD_TEST_DIR:-/dev/shm}/pmd-nbd.XXXXXX") || fail "mktemp"
nbd_cleanup()
{
	[ -n "$NBD_PID" ] && kill -9 "$NBD_PID" 2>/dev/null && wait "$NBD_PID" 2>/dev/null
	rm -rf "$T"
}
trap nbd_cleanup EXIT

# nbdkit_env - the environment nbdkit runs in (ASan runtime first, if any).
nbdkit_env()
{
	if [ -n "${PMD_NBDKIT_PRELOAD:-}" ]; then
		echo LD_PRELOAD="$PMD_NBDKIT_PRELOAD" \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	fi
}

nbd_region()
{
	local path=$T/$1
	"$PMEMDEV" create --size "$2" "$path" >/dev/null || fail "pmemdev create $path"
	echo "$path"
}

# nbd_start REGION [key=value...] - serve REGION; fails the test if it does not come up.
nbd_start()
{
	local region=$1 sock
	shift
	NBD_N=$((NBD_N + 1))
	sock=$T/sock$NBD_N
	NBD_LOG=$T/nbdkit$NBD_N.log
	# shellcheck disable=SC2046
	env $(nbdkit_env) nbdkit -f ${NBD_VERBOSE:+-v} --exit-with-parent -U "$sock" "$PLUGIN" \
		region="$region" "$@" 2>"$NBD_LOG" &
	NBD_PID=$!
	NBD_URI="nbd+unix:///?socket=$sock"
	for _ in $(seq 300); do
		[ -S "$sock" ] && return 0
		kill -0 "$NBD_PID" 2>/dev/null || fail "nbdkit exited at start"
		sleep 0.05
	done
	fail "nbdkit did not listen on $sock"
}

nbd_stop()
{
	[ -n "$NBD_PID" ] || return 0
	kill -"${1:-TERM}" "$NBD_PID" 2>/dev/null
	wait "$NBD_PID" 2>/dev/null
	NBD_PID=
}
