#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_pmemdev_cli - the pmemdev command: good paths produce what they say,
# bad input gets a message naming what was wrong, a nonzero exit, and
# leaves files untouched.
# Usage: test_pmemdev_cli.sh BUILD_DIR SOURCE_DIR
set -u
. "$2/tests/pmemdev/lib.sh"
pmd_test_begin cli "$1"

# expect_err EXIT_CODE PATTERN -- cmd...: nonzero exit equal to EXIT_CODE (or
# any nonzero if EXIT_CODE is '!'), stderr matching PATTERN.
expect_err()
{
	local want=$1 pat=$2 rc
	shift 3
	"$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ "$want" = '!' ]; then
		[ $rc -ne 0 ] || fail "'$*' exited 0"
	else
		[ $rc -eq "$want" ] || fail "'$*' exited $rc, want $want"
	fi
	grep -qiE -- "$pat" "$dir/err" || fail "'$*' stderr lacks /$pat/: $(cat "$dir/err")"
}

expect_ok()
{
	"$@" >"$dir/out" 2>"$dir/err" || fail "'$*' failed: $(cat "$dir/err")"
}

r=$dir/r0
expect_ok "$pm" --help
grep -q 'bench PATH' "$dir/out" || fail "--help lacks bench"
expect_ok "$pm" --version
expect_err 2 'unknown command' -- "$pm" frobnicate
expect_err 2 'no command' -- "$pm"

# create
expect_ok "$pm" create --size 64M "$r"
[ "$(stat -c %s "$r")" = $((64 << 20)) ] || fail "region size wrong"
expect_err 1 'exist' -- "$pm" create --size 64M "$r"
[ "$(stat -c %s "$r")" = $((64 << 20)) ] || fail "existing region was modified"
expect_err 2 'multiple of 2 MiB \(6M or 8M would be\)' -- "$pm" create --size 7M "$dir/r1"
[ ! -e "$dir/r1" ] || fail "failed create left a file"
expect_err 2 "too small: a region is at least 4 MiB" -- "$pm" create --size 2M "$dir/r1"
expect_err 2 'invalid --size' -- "$pm" create --size 12Q "$dir/r1"
expect_err 2 '--size SIZE is required' -- "$pm" create "$dir/r1"
expect_err 2 "unknown option '--bogus'" -- "$pm" create --bogus "$dir/r1"

# info
expect_ok "$pm" info "$r"
grep -q 'backend: *tmpfs' "$dir/out" || fail "info: backend: $(cat "$dir/out")"
grep -q 'alignment: *2 MiB' "$dir/out" || fail "info: alignment"
grep -q 'persist: *cacheline' "$dir/out" || fail "info: granularity"
grep -q 'layout: *single file' "$dir/out" || fail "info: layout: $(cat "$dir/out")"
grep -q 'isolates: *no' "$dir/out" || fail "info: isolates: $(cat "$dir/out")"
expect_err 1 'no such file|not exist|missing' -- "$pm" info "$dir/missing"

# a chunked region: a directory of 2 MiB chunks that isolates DAX mappings
expect_ok "$pm" create --size 8M --chunked "$dir/rc"
[ -d "$dir/rc" ] && [ "$(stat -c %s "$dir/rc/chunk.00000003")" = $((2 << 20)) ] ||
	fail "create --chunked did not make the chunks"
expect_ok "$pm" info "$dir/rc"
grep -q 'layout: *chunked (4 chunk files' "$dir/out" || fail "info: layout: $(cat "$dir/out")"
grep -q 'isolates: *yes' "$dir/out" || fail "info: isolates: $(cat "$dir/out")"
grep -q 'backend: *tmpfs' "$dir/out" || fail "info: chunked backend: $(cat "$dir/out")"
expect_ok "$pm" info --json "$dir/rc"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["layout"] == "chunked" and d["chunks"] == 4 and d["isolates"] is True and d["exposed_chunks"] == 0))' "$dir/out" ||
	fail "info --json of a chunked region: $(cat "$dir/out")"
expect_err 1 'exist' -- "$pm" create --size 8M --chunked "$dir/rc"
expect_err 2 'multiple of 2 MiB' -- "$pm" create --size 5M --chunked "$dir/rc2"
[ ! -e "$dir/rc2" ] || fail "failed create --chunked left something"
mkdir "$dir/plain"
expect_err 1 'not a chunked region' -- "$pm" info "$dir/plain"
rm -rf "$dir/rc" "$dir/plain"
head -c $((5 << 20)) /dev/zero >"$dir/odd"
expect_err 1 'multiple of 2 MiB' -- "$pm" info "$dir/odd"

# list: no NVDIMMs is not an error; our region shows up.
expect_ok "$pm" list --dir "$dir"
grep -q 'no persistent memory namespaces\|namespace' "$dir/out" || fail "list output"
grep -q "$r" "$dir/out" || fail "list does not show $r"

# badblocks
expect_ok "$pm" badblocks "$r" add 2048 8
expect_ok "$pm" badblocks "$r" list
grep -qE '^ *2048 +8' "$dir/out" || fail "badblocks list: $(cat "$dir/out")"
expect_ok "$pm" badblocks "$r" clear 2050 2
expect_ok "$pm" badblocks "$r" list
grep -qE '^ *2048 +2' "$dir/out" && grep -qE '^ *2052 +4' "$dir/out" ||
	fail "clear did not split: $(cat "$dir/out")"
expect_err 1 'beyond the end' -- "$pm" badblocks "$r" add $((64 << 11)) 1
expect_err 2 'unknown action' -- "$pm" badblocks "$r" smash
expect_err 2 'invalid SECTOR' -- "$pm" badblocks "$r" add 5x
expect_err 2 "unknown option '-5'" -- "$pm" badblocks "$r" add -5
# a read of a bad sector fails through bench (EIO), a write clears it
expect_err 1 'Input/output error|I/O' -- "$pm" bench "$r" --rw read --bs 1M --time 0.2 --size 2M
expect_ok "$pm" bench "$r" --rw write --bs 2M --time 0.2 --size 2M
expect_ok "$pm" badblocks "$r" list
grep -q 'no bad sectors' "$dir/out" || fail "write did not clear badblocks"

# bench: JSON with the promised fields, in every mode and target
for mode in pfn folio page ondemand memdesc; do
	for target in pmem null; do
		expect_ok "$pm" bench "$r" --target $target --mode $mode --rw write --bs 2M --time 0.2 --json
		python3 - "$dir/out" $mode $target <<'PY' || fail "bench json $mode $target: $(cat "$dir/out")"
import json, sys
d = json.load(open(sys.argv[1]))
need = ["mode", "target", "rw", "bs", "ios", "bytes", "seconds", "cpu_seconds",
        "bandwidth_bytes_per_s", "iops", "descriptor_bytes", "bvecs_per_bio", "setup_seconds"]
missing = [k for k in need if k not in d]
assert not missing, missing
assert d["mode"] == sys.argv[2] and d["target"] == sys.argv[3]
assert d["ios"] > 0 and d["bytes"] == d["ios"] * 2097152
expect_bvecs = 512 if sys.argv[2] == "page" else 1
assert abs(d["bvecs_per_bio"] - expect_bvecs) < 1e-9, d["bvecs_per_bio"]
if sys.argv[2] in ("pfn", "ondemand"):
    assert d["descriptor_bytes"] < 64 * 1024, d["descriptor_bytes"]
elif sys.argv[2] == "memdesc":
    assert (64 << 20) // 4096 * 8 <= d["descriptor_bytes"] < (64 << 20) // 4096 * 64, d
else:
    assert d["descriptor_bytes"] >= (64 << 20) // 4096 * 64, d["descriptor_bytes"]
PY
	done
done
expect_ok "$pm" bench "$r" --rw randread --bs 4k --iodepth 8 --threads 2 --time 0.2 --json
expect_ok "$pm" bench "$r" --target memcpy --rw write --bs 2M --time 0.2 --json
expect_err 2 'unknown mode' -- "$pm" bench "$r" --mode paged
expect_err 2 'unknown target' -- "$pm" bench "$r" --target nvme
expect_err 2 'unknown rw' -- "$pm" bench "$r" --rw sideways
expect_err 2 'empty --mode' -- "$pm" bench "$r" --mode ,
expect_err 2 'too many --target values \(at most 3\)' -- "$pm" bench "$r" \
	--target pmem,null,memcpy,pmem
expect_err 2 'logical block size' -- "$pm" bench "$r" --bs 1000
expect_err 2 '--size 5000 is not a multiple of the logical block' -- "$pm" bench "$r" --size 5000
expect_err 2 'multiple of 4 KiB' -- "$pm" bench "$r" --mode page --bs 512
expect_err 2 'invalid --iodepth' -- "$pm" bench "$r" --iodepth 0
expect_err 1 'beyond the end' -- "$pm" bench "$r" --size 128M --time 0.1
expect_err 1 'no such file|not exist' -- "$pm" bench "$dir/missing" --time 0.1

# page mode on a region whose memmap cannot fit fails cleanly, naming the size
big=$dir/big
expect_ok "$pm" create --sparse --size 4T "$big"
expect_err 1 'needs 64 GiB' -- "$pm" bench "$big" --mode page --time 0.1
expect_ok "$pm" bench "$big" --mode pfn --target null --time 0.1 --size 64M

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "all pmemdev CLI checks passed"
