#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_pmemdev_bench_ios - `pmemdev bench --ios N` does exactly N I/Os per
# thread (a fixed amount of work, for instruction counts), in every target,
# sync and async, and refuses a bad count.
# Usage: test_pmemdev_bench_ios.sh BUILD_DIR SOURCE_DIR
set -u
. "$2/tests/pmemdev/lib.sh"
pmd_test_begin ios "$1"

r=$dir/r0
"$pm" create --size 8M "$r" || { echo "cannot create a region" >&2; exit 1; }

# ios_of ARGS...: run bench with --json and print the "ios" field
ios_of()
{
	"$pm" bench "$r" --json "$@" >"$dir/out" 2>"$dir/err" || {
		fail "bench $* failed: $(cat "$dir/err")"
		echo -1
		return
	}
	sed -n 's/.*"ios":\([0-9]*\),.*/\1/p' "$dir/out"
}

for target in null pmem memcpy; do
	for mode in pfn page; do
		got=$(ios_of --target $target --mode $mode --rw randread --bs 4k --ios 1000)
		[ "$got" = 1000 ] || fail "$target $mode sync: $got I/Os, want 1000"
	done
done
# Async, deeper than one, two threads: N per thread, none lost or extra.
got=$(ios_of --target pmem --rw randwrite --bs 4k --iodepth 8 --threads 2 --ios 777)
[ "$got" = 1554 ] || fail "async 2 threads: $got I/Os, want 1554"
# Fewer I/Os than the queue depth.
got=$(ios_of --target null --rw read --bs 2M --iodepth 16 --ios 3)
[ "$got" = 3 ] || fail "ios below iodepth: $got I/Os, want 3"

# Bad counts: exit 2 and a message naming the option.
for bad in 0 -1 abc; do
	"$pm" bench "$r" --ios "$bad" >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -eq 2 ] || fail "--ios $bad exited $rc, want 2"
	grep -q -- "--ios" "$dir/err" || fail "--ios $bad: stderr lacks the option: $(cat "$dir/err")"
done

[ $fails -eq 0 ] || exit 1
echo "ok"
