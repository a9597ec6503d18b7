#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_answer.sh - scripts/answer --quick runs every measurement of the
# answer in one run and writes the document: a table per dimension with a
# row for each of the five descriptor modes, the projection to 1 and 16 TiB,
# memory failure on a real daxfs (owner-measure: the reverse map's bytes
# against the memmap, lookup and write path per mode), the commands that
# produced it, and the summary table for main-job; a bad build directory is
# refused with a message naming what to build.
set -u
build=$1
src=$2
dir=$(mktemp -d /dev/shm/pmd-answer-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

"$src/scripts/answer" --build "$build" --quick --dir "$dir" --out "$dir/answer.md" \
	--print-table >"$dir/summary" 2>"$dir/err" || fail "answer --quick: $(cat "$dir/err")"
doc=$dir/answer.md
[ -s "$doc" ] || fail "no document written"
for h in "Descriptor memory and set-up" "CPU per bio and bvecs per bio" \
	"Memory failure: from a frame to its owner" "Pinning for I/O" \
	"Migration of a live 2 MiB extent" "What the numbers say" "Commands" \
	"1 TiB: memory" "16 TiB: set-up" "transient bytes at QD 32" \
	"Memory failure in a real daxfs (64.00 MiB, owner-measure)"; do
	grep -qF "$h" "$doc" || fail "the document lacks '$h'"
done
# Every mode has a row in the memory, build, failure, pinning and migration tables.
for m in pfn folio page ondemand memdesc; do
	n=$(grep -c "^| $m |" "$doc")
	[ "$n" -ge 5 ] || fail "mode $m has $n table rows, want >= 5"
	sed -n '/^## Migration/,/^## What/p' "$doc" | grep -q "^| $m | [0-9.]* [mµn]*s | [0-9.]*x |" ||
		fail "the migration table has no figures for mode $m"
	grep -q "^| $m |" "$dir/summary" || fail "summary lacks mode $m"
done
grep -q "desc-measure --size" "$doc" || fail "the desc-measure command is not shown"
grep -q "owner-measure --size 64M --lookups [0-9]* --repeat 1 --dir DIR --json" "$doc" ||
	fail "the owner-measure command is not shown (with DIR for the directory)"
# The real-daxfs table: a row per way of keeping owners, with figures read
# back from the run (the reverse map in bytes per GiB and against the memmap,
# a write ratio against none), and the 1/64 target judged in words.
om=$(sed -n '/^## Memory failure in a real daxfs/,/^## Pinning/p' "$doc")
for m in none pfn folio page ondemand memdesc; do
	grep -q "^| $m | [0-9.]* [mµn]*s | [0-9.]*x | [0-9]* of [0-9]* | .* | [0-9.]*x |$" <<<"$om" ||
		fail "the real-daxfs table has no figures for $m"
done
grep -q "^| pfn | .* | reverse map: [0-9.]* [KM]iB per GiB, 0\.[0-9]* of the memmap |" <<<"$om" ||
	fail "the reverse map's bytes are not stated against the memmap"
grep -q "^| page | .* | descriptors: 16.00 MiB per GiB |" <<<"$om" ||
	fail "page mode's record is not its 16 MiB per GiB memmap"
grep -Eq "pfn mode's map here is 0\.[0-9]{5} of page mode's memmap" <<<"$om" ||
	fail "the 1/64 target is not judged"
grep -Eq "(meets both|misses at least one) on a real daxfs" "$doc" ||
	fail "no verdict on the real daxfs"
grep -q "pmemdev bench REGION --target null,pmem --mode pfn,folio,page,ondemand,memdesc" \
	"$doc" || fail "the bench command is not shown"
grep -q "smoke run" "$doc" || fail "a --quick document does not say it is a smoke run"
! grep -q "Not measured" "$doc" || fail "a dimension is left unmeasured"
! grep -q "/dev/shm/pmd-answer-test" "$doc" || fail "a path of this machine is in the document"
# The figures are read back from the run: the page memmap is 16 MiB per GiB.
grep -q "^| page | 16.00 MiB |" "$doc" || fail "page mode's memmap is not 16 MiB per GiB"

if "$src/scripts/answer" --build "$dir/nothing" --quick >"$dir/out" 2>&1; then
	fail "answer ran without a build"
fi
grep -q "not found; build first" "$dir/out" || fail "no clear message for a missing build"
echo "ok: scripts/answer --quick"
