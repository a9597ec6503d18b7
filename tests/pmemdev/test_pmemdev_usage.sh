#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_pmemdev_usage - the pmemdev command as a new user meets it: every
# command takes -h/--help (exit 0, its own usage), its options in any order,
# --version; usage errors exit 2 naming what was wrong and the next step,
# failures exit 1 with the path named once; info --json; list of a missing
# directory fails; badblocks clear --all; region sizes the rules refuse and
# sizes beyond the address space get a message saying what would work.
# Usage: test_pmemdev_usage.sh BUILD_DIR SOURCE_DIR
set -u
. "$2/tests/pmemdev/lib.sh"
pmd_test_begin usage "$1"

# run EXIT_CODE CMD...: run, keep stdout/stderr in $dir/out, $dir/err, and
# check the exit code.
run()
{
	local want=$1 rc
	shift
	"$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	[ $rc -eq "$want" ] || fail "'$*' exited $rc, want $want: $(cat "$dir/err")"
}

# has FILE [--] PATTERN: $dir/FILE matches the extended regex PATTERN
has()
{
	local f=$1
	shift
	[ "$1" != -- ] || shift
	grep -qE -- "$1" "$dir/$f" || fail "$f of the last command lacks /$1/: $(cat "$dir/$f")"
}

r=$dir/r0
run 0 "$pm" create --size 64M "$r"

# --version and -V, --help and help
for v in --version -V; do
	run 0 "$pm" $v
	has out '^pmemdev [0-9]+\.[0-9]+'
done
run 0 "$pm" --help
has out 'info \[--json\] PATH'
has out 'clear SECTOR \[COUNT\] \| clear --all'

# every command: -h and --help anywhere on the line print its own usage
for cmd in list create info badblocks bench; do
	for h in -h --help; do
		run 0 "$pm" $cmd $h
		has out "^Usage: pmemdev $cmd"
		has out -- '-h, --help'
		[ ! -s "$dir/err" ] || fail "$cmd $h wrote to stderr: $(cat "$dir/err")"
	done
	cp "$dir/out" "$dir/help.$cmd"
	run 0 "$pm" help $cmd
	cmp -s "$dir/out" "$dir/help.$cmd" || fail "'help $cmd' differs from '$cmd --help'"
	run 0 "$pm" $cmd "$r" --help
	has out "^Usage: pmemdev $cmd"
	run 2 "$pm" $cmd --bogus "$r"
	has err "^pmemdev $cmd: unknown option '--bogus'"
	has err "Try 'pmemdev $cmd --help'"
	run 2 "$pm" $cmd -Z "$r"
	has err "unknown option '-Z'"
done
run 2 "$pm" help frobnicate
has err "unknown command 'frobnicate'"
# the options each command's help documents
has help.list -- '--dir DIR'
has help.create -- '--size SIZE'
has help.create -- '--sparse'
has help.info -- '--json'
has help.badblocks -- '--all'
for o in --target --mode --repeat --rw --bs --iodepth --threads --workers --time --ios \
	--size --fua --json; do
	has help.bench -- "$o"
done
run 2 "$pm" create "$dir/x" --size
has err "option '--size' needs a value"

# options in any order
run 0 "$pm" info --json "$r"
cp "$dir/out" "$dir/info1"
run 0 "$pm" info "$r" --json
cmp -s "$dir/out" "$dir/info1" || fail "info PATH --json differs from info --json PATH"
run 0 "$pm" create "$dir/r1" --sparse --size 8M
run 0 "$pm" list "--dir=$dir"
has out "$dir/r1"
run 0 "$pm" bench --json --time 0.1 "$r" --bs 8k --size 4M
has out '"bs":8192'

# info --json: one object with the fields the text shows
run 0 "$pm" badblocks "$r" add 100 3
run 0 "$pm" info --json "$r"
python3 - "$dir/out" "$r" <<'PY' || fail "info --json: $(cat "$dir/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["path"] == sys.argv[2], d
assert d["size"] == 64 << 20 and d["backend"] == "tmpfs", d
assert d["alignment"] == 2 << 20 and d["persist"] == "cacheline", d
assert d["memmap_bytes"] == (64 << 20) // 4096 * 64, d
assert d["in_use"] is False, d
assert d["badblock_sectors"] == 3 and d["badblocks"] == [{"sector": 100, "count": 3}], d
PY

# badblocks clear: SECTOR [COUNT] or --all, as the synopsis says
run 0 "$pm" badblocks "$r" add 300 2
run 2 "$pm" badblocks "$r" clear
has err 'clear needs SECTOR \[COUNT\], or --all'
run 2 "$pm" badblocks "$r" clear --all 100
has err 'not both'
run 2 "$pm" badblocks "$r" add --all 100
has err '--all goes with clear'
run 0 "$pm" badblocks "$r" list
has out '^ *300 +2'
run 0 "$pm" badblocks --all "$r" clear
run 0 "$pm" badblocks "$r" list
has out 'no bad sectors'

# list: a directory that cannot be read is an error, with nothing printed
run 1 "$pm" list --dir "$dir/none"
has err "cannot read the directory $dir/none: No such file"
[ ! -s "$dir/out" ] || fail "list of a missing directory printed: $(cat "$dir/out")"
run 2 "$pm" list "$dir"
has err "unexpected argument"

# sizes: too small, not a multiple of 2 MiB: usage errors (2), nothing made
run 2 "$pm" create --size 0 "$dir/r2"
has err 'size 0 of .* is too small: a region is at least 4 MiB'
grep -q 'multiple' "$dir/err" && fail "size 0 called 'not a multiple': $(cat "$dir/err")"
run 2 "$pm" create --size 9M "$dir/r2"
has err 'size 9M of .* is not a multiple of 2 MiB \(8M or 10M would be\)'
run 2 "$pm" create --size 1025M "$dir/r2"
has err 'size 1025M of .* \(1G or 1026M would be\)'
[ ! -e "$dir/r2" ] || fail "a refused create left $dir/r2"

# a size beyond the address space: the limit and a size that works
run 1 "$pm" create --sparse --size 120T "$dir/r2"
has err 'does not fit in the address space of a process \(its largest free range is'
[ ! -e "$dir/r2" ] || fail "a failed create left $dir/r2"
fit=$(sed -n 's/.*use a size of at most \([0-9]*T\).*/\1/p' "$dir/err")
[ -n "$fit" ] || fail "no size suggested: $(cat "$dir/err")"
if [ -n "$fit" ]; then
	run 0 "$pm" create --sparse --size "$fit" "$dir/r2"
	rm -f "$dir/r2"
fi

# failures name the path once, exit 1
run 1 "$pm" info "$r/sub"
[ "$(grep -o "$r/sub" "$dir/err" | wc -l)" = 1 ] ||
	fail "path not named exactly once: $(cat "$dir/err")"
run 1 "$pm" create --size 8M "$r"
[ "$(grep -o "$r" "$dir/err" | wc -l)" = 1 ] ||
	fail "path not named exactly once: $(cat "$dir/err")"

# bench --size: a multiple of 512, at least one I/O, named as --size
run 2 "$pm" bench "$r" --size 5000 --time 0.1
has err -- '--size 5000 is not a multiple of the logical block size'
run 2 "$pm" bench "$r" --size 2k --time 0.1
has err -- '--size 2 KiB is smaller than one I/O \(--bs 4 KiB\)'
run 1 "$pm" bench "$r" --size 128M --time 0.1
has err 'beyond the end'

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "all pmemdev usage checks passed"
