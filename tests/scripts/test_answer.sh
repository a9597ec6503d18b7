#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_answer.sh - scripts/answer --quick runs every measurement of the
# answer in one run and writes the document: a table per dimension with a
# row for each of the five descriptor modes, the projection to 1 and 16 TiB,
# the commands that produced it, and the summary table for main-job; a bad
# build directory is refused with a message naming what to build.
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
	"1 TiB: memory" "16 TiB: set-up" "transient bytes at QD 32"; do
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
