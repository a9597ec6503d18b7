#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test-run-daxfs.sh - smoke test of fio-jobs/run-daxfs: bad input is refused
# with a message naming what is wrong, exit status 2 and nothing written;
# a one-round run on tmpfs (and on daxfs when the daemon is built) writes a
# report with numbers and leaves no mount or work directory behind.
#
# Usage: test-run-daxfs.sh BUILD_DIR SOURCE_DIR   (the pmd_script_test
# convention, so tests/CMakeLists.txt can register it). Takes about 20 s.
# Exit status 0 pass, 1 fail, 77 skip (not root: the runner mounts).

# check() evals its condition later, on purpose.
# shellcheck disable=SC2016,SC2034
set -uo pipefail

build=${1:?usage: test-run-daxfs.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: test-run-daxfs.sh BUILD_DIR SOURCE_DIR}
runner=$src/fio-jobs/run-daxfs
fail=0

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: run-daxfs mounts filesystems and needs root"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check()
{
	if ! eval "$2"; then
		echo "FAIL: $1"
		fail=1
	fi
}

# refuse ARGS... EXPECTED: exit 2, EXPECTED in the message, nothing written.
refuse()
{
	local expect=${*: -1} rc
	set -- "${@:1:$#-1}"
	"$runner" --out "$tmp/out" "$@" "$build" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	check "'$*' exits 2 (got $rc)" '[ $rc -eq 2 ]'
	check "'$*' says '$expect'" 'grep -q -- "$expect" "$tmp/stderr"'
	check "'$*' writes nothing" '[ ! -e "$tmp/out" ]'
}

refuse --runs 0 "--runs needs a positive integer"
refuse --size 12Q "--size needs a size"
refuse --fs tmpfs,ext4 "unknown filesystem 'ext4'"
refuse --region-size 3M "not a multiple of 2 MiB"
refuse --size 900M --region-size 1G "does not fit"
refuse --bogus "unknown option '--bogus'"
refuse --workdir /nonexistent "is not a directory"
refuse --pin-cpu "$(nproc)" "--pin-cpu needs a CPU number below"
mkdir "$tmp/full" && echo keep >"$tmp/full/file"
refuse --raw "$tmp/full" "is not empty and holds no earlier raw results"
check "--raw of a foreign directory leaves it alone" '[ -s "$tmp/full/file" ]'

fs=tmpfs
[ -x "$build/daxfs/daxfs" ] && [ -x "$build/daxfs/mkfs.daxfs" ] && fs=tmpfs,daxfs-dax
# The FUSE data peer, when the build has passthrough_hp (libfuse built from
# source): the report must compare daxfs with it.
peer=0
if [ "$fs" != tmpfs ] && grep -qs '^PASSTHROUGH_HP=' "$build/libfuse.env"; then
	fs+=,passthrough_hp-fuse
	peer=1
fi
# daxfs-dax on both transports, when the build's libfuse has io_uring: the
# round-trip-bound workloads run again with the daemons placed by the kernel
pair=0
if [ "$fs" != tmpfs ] && grep -qs '^FUSE_URING=ON' "$build/libfuse.env"; then
	fs+=,daxfs-dax-uring
	pair=1
fi
before=$(find /dev/shm -maxdepth 1 -name 'daxfs-bench.*' | wc -l)
# its own raw directory: the build's may hold a real run's raw results
"$runner" --quick --runtime 1 --size 16M --files 200 --load-wait 0 --fs "$fs" --out "$tmp/out" \
	--raw "$tmp/raw" "$build" \
	>"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "quick run on $fs exits 0 (got $rc: $(tail -n 3 "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "report written" '[ -s "$tmp/out/daxfs.md" ]'
check "report has a tmpfs median" \
	'grep -Eq "^\| sequential read, 1 MiB, psync \| MiB/s \| [0-9,]+ " "$tmp/out/daxfs.md"'
if [ $peer -eq 1 ]; then
	check "report compares daxfs-dax with the FUSE data peer" \
		'grep -q "^| workload | daxfs-dax / passthrough_hp-fuse" "$tmp/out/daxfs.md"'
	check "report has a target against the FUSE data peer" \
		'grep -q "^| seqread: best daxfs / passthrough_hp-fuse |" "$tmp/out/daxfs.md"'
	if [ -d /sys/kernel/tracing/events/fuse/fuse_request_send ]; then
		check "report counts the peer's requests per create" \
			'sed -n "/^## FUSE requests per operation (passthrough_hp-fuse)/,/^## /p" "$tmp/out/daxfs.md" |
			 grep -Eq "^\| create \+ close \| .* \| [0-9.]+ \|$"'
		check "no tracing instance left behind" \
			'! ls /sys/kernel/tracing/instances | grep -q "^reqcount\."'
	fi
fi
if [ $pair -eq 1 ]; then
	check "report compares the transports with the daemons placed by the kernel" \
		'grep -Eq "^\| file create \(open O_CREAT \+ close\) \| ops/s \| daxfs-dax \| [0-9.]+ k \| [0-9.]+ k \| [0-9.]+x \|" "$tmp/out/daxfs.md"'
	check "report has the io_uring target in both placements" \
		'[ "$(grep -c "^| create: io_uring / /dev/fuse, daemon" "$tmp/out/daxfs.md")" -eq 2 ]'
fi
check "report says where the metadata loop ran" \
	'grep -q "The loop ran on CPU $(($(nproc) - 1))" "$tmp/out/daxfs.md"'
check "no mount left behind" '! findmnt -l | grep -q daxfs-bench'
after=$(find /dev/shm -maxdepth 1 -name 'daxfs-bench.*' | wc -l)
check "raw results where --raw said" '[ -s "$tmp/raw/report.args" ]'
check "work directory removed" '[ "$after" -le "$before" ]'

[ $fail -eq 0 ] && echo "PASS"
exit $fail
