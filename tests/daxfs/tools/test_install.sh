#!/bin/bash
# SPDX-License-Identifier: MIT
# test_install.sh - what cmake --install puts where (issue 14 items 15, 17):
# each program has its man page in the section of its directory (bin: 1,
# sbin: 8); the man pages' references to this project's pages name pages
# that exist; the installed libdaxfs.pc names the prefix given to
# cmake --install, and examples/daxfs_records.c builds with pkg-config both
# from the installed tree and from the build tree (libdaxfs-uninstalled.pc).
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -u
. "$(dirname "$0")/toollib.sh" "$1" install
B=$1 S=$2
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
D=$T.d
trap 'rm -rf $T $T.* $D' EXIT

DESTDIR=$D cmake --install $B --prefix /opt/pmd >$T.out 2>&1 || { cat $T.out; fail "cmake --install"; }
P=$D/opt/pmd
for dir in bin:1 sbin:8; do
	d=${dir%:*} sec=${dir#*:}
	n=0
	for prog in $P/$d/*; do
		name=$(basename $prog)
		[ -f $P/share/man/man$sec/$name.$sec ] ||
			fail "$d/$name has no man page $name.$sec in man$sec"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || fail "nothing installed in $d"
done
[ -x $P/sbin/mkfs.daxfs ] && [ -x $P/sbin/fsck.daxfs ] && [ -x $P/bin/pmemdev ] ||
	fail "mkfs.daxfs, fsck.daxfs in sbin and pmemdev in bin"

# cross references: .BR NAME (N) to a page of ours must name its section
for ref in $(grep -ho '^\.BR [a-z.-]* ([0-9])' $S/docs/man/* | sed 's/^\.BR //; s/ (\(.\))/.\1/' | sort -u); do
	base=${ref%.*}
	ls $S/docs/man/$base.[0-9] >/dev/null 2>&1 || continue # not ours
	[ -f $S/docs/man/$ref ] || fail "a man page refers to $base($(echo $ref | sed 's/.*\.//')), which is $(cd $S/docs/man && ls $base.[0-9])"
done

pc=$P/lib/pkgconfig/libdaxfs.pc
[ -f $pc ] || pc=$(find $P -name libdaxfs.pc | head -1)
[ -f "$pc" ] || fail "libdaxfs.pc not installed"
grep -qx 'prefix=/opt/pmd' $pc || { cat $pc; fail "installed libdaxfs.pc does not name the prefix /opt/pmd"; }
flags=$(PKG_CONFIG_PATH=$(dirname $pc) PKG_CONFIG_SYSROOT_DIR=$D \
	pkg-config --cflags --libs libdaxfs 2>&1) || fail "pkg-config on the installed tree: $flags"
cc -o $T.rec1 $S/examples/daxfs_records.c $flags >$T.out 2>&1 ||
	{ cat $T.out; fail "the example does not build against the installed tree"; }

flags=$(PKG_CONFIG_PATH=$B/daxfs pkg-config --cflags --libs libdaxfs 2>&1) ||
	fail "pkg-config on the build tree: $flags"
cc -o $T.rec2 $S/examples/daxfs_records.c $flags >$T.out 2>&1 ||
	{ cat $T.out; fail "the example does not build against the build tree"; }
# A sanitizer build's libdaxfs needs the ASan runtime loaded first in a
# program built without it, as an installed sanitizer library would.
run_env=()
if grep -q '^PMD_SANITIZE:BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null; then
	run_env=(LD_PRELOAD="$(cc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0)
fi
env "${run_env[@]}" LD_LIBRARY_PATH=$B/daxfs $T.rec2 2>&1 | grep -qi usage ||
	fail "the example built from the build tree does not run"
[ -x $B/daxfs/daxfs_records ] || fail "the build does not make daxfs/daxfs_records"
echo PASS
