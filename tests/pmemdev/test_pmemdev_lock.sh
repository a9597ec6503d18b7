#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_pmemdev_lock - the pmemdev command takes the region lock: while
# another program holds it exclusive, bench (writing or reading),
# badblocks add/clear and create over the file are refused with the
# holder's PID and program, a nonzero exit, and the region unchanged;
# badblocks list and info still work and info names the holder. With a
# shared holder, reading benches run and writing ones are refused.
# The holder is flock(1) (util-linux), a program that is not ours.
# Usage: test_pmemdev_lock.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
pm=$build/pmemdev/pmemdev
dir=$(mktemp -d "${PMD_TEST_DIR:-/dev/shm}/pmd-lock.XXXXXX")
. "$(dirname "$0")/lock_holder.sh"
trap 'lock_release; rm -rf "$dir"' EXIT

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}
if ! flock -V >/dev/null 2>&1; then
	[ "${CI:-}" = true ] && fail "flock(1) is not installed"
	echo "SKIP: flock(1) is not installed" >&2
	exit 77
fi

# refused PATTERN cmd... - nonzero exit, stderr matching PATTERN
refused()
{
	local pat=$1 rc
	shift
	"$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -ne 0 ] || fail "'$*' exited 0 while the region is locked"
	grep -qE -- "$pat" "$dir/err" || fail "'$*' stderr lacks /$pat/: $(cat "$dir/err")"
}
ok()
{
	"$@" >"$dir/out" 2>"$dir/err" || fail "'$*' failed: $(cat "$dir/err")"
}


r=$dir/region
ok "$pm" create --size 16M "$r"
ok "$pm" badblocks "$r" add 2048 8
sum0=$(sha256sum <"$r")

lock_hold -x "$r"
holder=$LOCK_HOLDER
who="in use by PID $holder \\(flock\\)"
refused "$who" "$pm" bench "$r" --target pmem --rw write --time 0.2
refused "$who" "$pm" bench "$r" --target pmem --rw randwrite --bs 2M --time 0.2
refused "$who" "$pm" bench "$r" --target memcpy --rw write --time 0.2
refused "$who" "$pm" bench "$r" --target pmem --rw read --time 0.2
refused "$who" "$pm" bench "$r" --target pmem,null --mode pfn,page --rw write --time 0.2
refused "kill $holder" "$pm" bench "$r" --rw write --time 0.2 # the next step
refused "$who" "$pm" badblocks "$r" add 0 1
refused "$who" "$pm" badblocks "$r" clear 2048 8
refused "exists and is $who" "$pm" create --size 16M "$r"
ok "$pm" badblocks "$r" list
grep -q 2048 "$dir/out" || fail "badblocks list while locked: $(cat "$dir/out")"
ok "$pm" info "$r"
grep -qE "in use: +exclusive by PID $holder \\(flock\\)" "$dir/out" ||
	fail "info does not name the holder: $(cat "$dir/out")"
[ "$(sha256sum <"$r")" = "$sum0" ] || fail "the locked region was written"
[ "$(cat "$r.badblocks" | grep -v '^#')" = "2048 8" ] || fail "badblocks list changed"
lock_release
ok "$pm" badblocks "$r" clear 2048 8

# a shared holder: readers run beside it, writers are refused
lock_hold -s "$r"
holder=$LOCK_HOLDER
ok "$pm" bench "$r" --target pmem --rw read --time 0.2
ok "$pm" bench "$r" --target null --rw write --time 0.2
refused "in use by PID $holder \\(flock, reading it\\)" \
	"$pm" bench "$r" --target pmem --rw write --time 0.2
ok "$pm" info "$r"
grep -qE "in use: +shared by PID $holder" "$dir/out" || fail "info: $(cat "$dir/out")"
[ "$(sha256sum <"$r")" = "$sum0" ] || fail "the region was written while shared"
lock_release

# free again: everything works, and nothing is left holding it
ok "$pm" bench "$r" --target pmem --rw write --time 0.2
ok "$pm" badblocks "$r" add 0 1
ok "$pm" info "$r"
grep -qE "in use: +no" "$dir/out" || fail "info: $(cat "$dir/out")"
flock -n -x "$r" true || fail "pmemdev left the region locked"
echo "ok: pmemdev takes the region lock"
