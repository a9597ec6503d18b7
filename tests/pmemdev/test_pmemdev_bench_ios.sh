#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_pmemdev_bench_ios - `pmemdev bench --ios N` does exactly N I/Os per
# thread (a fixed amount of work, for instruction counts), in every target,
# sync and async, with a bio per slot or one allocated per I/O (--alloc),
# whatever the latency sampling (--lat-sample); an error of the first I/Os
# is reported; bad counts are refused.
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

# A bio allocated and freed per I/O (--alloc), sync and async, both descriptors.
for mode in pfn page; do
	got=$(ios_of --target pmem --mode $mode --rw randwrite --bs 8k --alloc --ios 500)
	[ "$got" = 500 ] || fail "--alloc $mode sync: $got I/Os, want 500"
	got=$(ios_of --target pmem --mode $mode --rw randread --bs 8k --alloc --iodepth 4 \
		--threads 2 --ios 300)
	[ "$got" = 600 ] || fail "--alloc $mode async: $got I/Os, want 600"
done

# The EIO of an I/O in a thread's first batch is reported (issue 13): every
# block of the range is bad, one I/O per thread, sync and async.
"$pm" badblocks "$r" add 0 4096 || fail "badblocks add"
for extra in "" "--workers 1 --iodepth 4"; do
	# shellcheck disable=SC2086
	"$pm" bench "$r" --rw read --bs 2M --size 2M --ios 1 $extra >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -eq 1 ] || fail "bench read of bad sectors ($extra) exited $rc, want 1"
	grep -q "Input/output error" "$dir/err" || fail "no EIO reported ($extra): $(cat "$dir/err")"
done
"$pm" badblocks "$r" clear 0 4096 || fail "badblocks clear"

# Every bio timed, or one in 1024: the count of I/Os does not change.
for n in 1 1024; do
	got=$(ios_of --target null --rw randread --bs 4k --lat-sample $n --ios 2000)
	[ "$got" = 2000 ] || fail "--lat-sample $n: $got I/Os, want 2000"
done

# Bad counts: exit 2 and a message naming the option.
for opt in ios lat-sample; do
	for bad in 0 -1 abc 99999999999999999999; do
		"$pm" bench "$r" --$opt "$bad" >"$dir/out" 2>"$dir/err"
		rc=$?
		[ $rc -eq 2 ] || fail "--$opt $bad exited $rc, want 2"
		grep -q -- "--$opt" "$dir/err" ||
			fail "--$opt $bad: stderr lacks the option: $(cat "$dir/err")"
	done
done
"$pm" bench "$r" --lat-sample 65537 >"$dir/out" 2>"$dir/err"
[ $? -eq 2 ] || fail "--lat-sample 65537 accepted"

[ $fails -eq 0 ] || exit 1
echo "ok"
