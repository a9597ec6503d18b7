# SPDX-License-Identifier: MIT
#
# fio_lib.sh - shared set-up for the fio engine tests (sourced, not run).
#
# Provides: $FIO (the fio binary), $ENGINE (ioengine=external:... value),
# $TDIR (a private directory for regions, removed on exit), and
#   need COND_TEXT...      skip (77) on a dev box, fail under CI=true
#   make_region NAME SIZE  create an emulated region file, print its path
#   run_fio ARGS...        run fio with the engine, output in $OUT, rc in $RC
#   expect_ok / expect_fail MSG_REGEX
# The engine's path comes from CMake in $PMD_FIO_ENGINE_SO.

set -u

need()
{
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

fail()
{
	echo "FAIL: $*" >&2
	[ -n "${OUT:-}" ] && [ -f "$OUT" ] && sed 's/^/  | /' "$OUT" >&2
	exit 1
}

FIO=$(command -v fio) || need "fio is not installed"
[ -n "${PMD_FIO_ENGINE_SO:-}" ] || fail "PMD_FIO_ENGINE_SO is not set (run through ctest)"
[ -f "$PMD_FIO_ENGINE_SO" ] || fail "engine $PMD_FIO_ENGINE_SO was not built"
ENGINE="external:$PMD_FIO_ENGINE_SO"
FIO_LSAN_SUPP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp

TDIR=$(mktemp -d "${PMD_TEST_DIR:-/dev/shm}/pmd-fio-test.XXXXXX")
trap 'rm -rf "$TDIR"' EXIT
OUT=$TDIR/fio.out

make_region()
{
	local path=$TDIR/$1
	truncate -s "$2" "$path" || fail "cannot create region $path"
	echo "$path"
}

# run_fio ARGS... - fio with our engine, run in $TDIR (fio leaves verify state
# files in its working directory); stdout+stderr in $OUT, exit in $RC.
#
# Sanitizer builds set PMD_FIO_PRELOAD to the ASan runtime, which must come
# first in the uninstrumented fio. Jobs then run as threads (thread=1) unless
# the test asks for --thread=0: as threads, LeakSanitizer checks the engine
# completely; fio's forking parent leaks job file names of its own, so leak
# checks are off for fork-mode runs.
run_fio()
{
	local env=() a
	if [ -n "${PMD_FIO_PRELOAD:-}" ]; then
		env=(LD_PRELOAD="$PMD_FIO_PRELOAD"
			LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$FIO_LSAN_SUPP")
		case " $* " in
		*" --thread=0 "*) env+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0") ;;
		*" --thread="*) ;;
		*) set -- --thread=1 "$@" ;;
		esac
	fi
	RC=0
	(cd "$TDIR" && env "${env[@]}" "$FIO" --ioengine="$ENGINE" "$@") >"$OUT" 2>&1 || RC=$?
}

expect_ok()
{
	[ "$RC" -eq 0 ] || fail "fio exited $RC: $*"
	! grep -qiE "verify: bad|bad magic|crc32c: verify failed|md5: verify failed|err= *[1-9]" "$OUT" ||
		fail "fio reported an error: $*"
}

# expect_fail REGEX WHAT - fio must exit nonzero and print REGEX.
expect_fail()
{
	[ "$RC" -ne 0 ] || fail "fio exited 0, expected failure: $2"
	grep -qE "$1" "$OUT" || fail "no message matching '$1': $2"
}
