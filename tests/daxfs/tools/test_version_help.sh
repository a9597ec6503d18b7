#!/bin/bash
# SPDX-License-Identifier: MIT
# test_version_help.sh - every command a user runs takes --version (and -V)
# and --help (and -h): exit 0, the version or the usage on stdout, nothing
# on stderr; the usage names every documented option (issue 14 item 2);
# each of them, and every other program page in docs/man, has an EXIT
# STATUS section (item 12; the statuses are asserted by each command's tests).
# Usage: test_version_help.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" verhelp
B=$1
ver=$(sed -n 's/^project(pmemdev VERSION \([0-9.]*\).*/\1/p' "$2/CMakeLists.txt")
[ -n "$ver" ] || fail "no project version in CMakeLists.txt"

# quiet CMD...: exit 0, stdout kept in $T.out, nothing on stderr
quiet() {
	"$@" >$T.out 2>$T.err
	local rc=$?
	[ $rc -eq 0 ] || { cat $T.out $T.err; fail "$* exited $rc"; }
	[ -s $T.err ] && { cat $T.err; fail "$* wrote to stderr"; }
	return 0
}

for cmd in mkfs.daxfs fsck.daxfs daxfs-mapcheck daxfs daxfs-debug; do
	for v in --version -V; do
		quiet $B/daxfs/$cmd $v
		grep -q "^$cmd $ver\b" $T.out || { cat $T.out; fail "$cmd $v: not '$cmd $ver'"; }
	done
	for h in --help -h; do
		quiet $B/daxfs/$cmd $h
		grep -q "usage" $T.out || { cat $T.out; fail "$cmd $h: no usage"; }
	done
done
for v in --version -V; do
	quiet $B/pmemdev/pmemdev $v
	grep -q "^pmemdev $ver$" $T.out || fail "pmemdev $v"
done

# the documented options appear in each usage
quiet $FSCK --help
for o in -n -y -p -f --json --verbose --version; do
	grep -q -- "$o\b" $T.out || { cat $T.out; fail "fsck.daxfs --help omits $o"; }
done
quiet $MKFS --help
for o in --size --label --uuid --inodes --journal --force --quiet --version; do
	grep -q -- "$o\b" $T.out || { cat $T.out; fail "mkfs.daxfs --help omits $o"; }
done
quiet $B/daxfs/daxfs-mapcheck --help
for o in --plain --private --write --json --length --version; do
	grep -q -- "$o\b" $T.out || { cat $T.out; fail "daxfs-mapcheck --help omits $o"; }
done
quiet $B/daxfs/daxfs-debug --help
for o in -c -F -s -n --help --version; do
	grep -q -- "$o\b" $T.out || { cat $T.out; fail "daxfs-debug --help omits $o"; }
done
# a man page for every command above, and an EXIT STATUS in every program's page
for cmd in mkfs.daxfs fsck.daxfs daxfs-mapcheck daxfs daxfs-debug pmemdev; do
	ls "$2"/docs/man/$cmd.[18] >/dev/null 2>&1 || fail "no man page for $cmd in docs/man"
done
for m in "$2"/docs/man/*.[18]; do
	grep -q '^\.SH EXIT STATUS' "$m" || fail "$(basename "$m") has no EXIT STATUS section"
done
echo PASS
