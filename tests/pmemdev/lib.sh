# SPDX-License-Identifier: MIT
#
# lib.sh - sourced by the pmemdev command tests: pmd_test_begin NAME sets
# $pm (the pmemdev command of the build tree given as $1 of the test), $dir
# (a scratch directory on /dev/shm, removed at exit), $fails and fail().

# pmd_test_begin NAME BUILD_DIR
pmd_test_begin()
{
	pm=$2/pmemdev/pmemdev
	dir=$(mktemp -d "/dev/shm/pmd-$1.XXXXXX")
	trap 'rm -rf "$dir"' EXIT
	fails=0
}

# fail MESSAGE - count a failed check and say what it was.
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
