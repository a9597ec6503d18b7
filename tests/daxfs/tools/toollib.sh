# SPDX-License-Identifier: MIT
# toollib.sh - sourced by the tests of mkfs.daxfs and fsck.daxfs:
#   . toollib.sh BUILD_DIR NAME
# Sets MKFS and FSCK (the commands built in BUILD_DIR) and T, a scratch
# region path for the test NAME (it and $T.* are removed on exit); defines
# fail and expect.
MKFS=$1/daxfs/mkfs.daxfs
FSCK=$1/daxfs/fsck.daxfs
T=${PMD_TEST_DIR:-/dev/shm}/pmd-test-$$-$2
trap 'rm -f $T $T.*' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect CODE MESSAGE-REGEX CMD...: exit status and a message on stdout or stderr
expect() {
	local code=$1 re=$2; shift 2
	"$@" >$T.out 2>&1
	local rc=$?
	[ $rc -eq $code ] || { cat $T.out; fail "$* exited $rc, expected $code"; }
	grep -Eq -- "$re" $T.out || { cat $T.out; fail "$*: no message matching '$re'"; }
}

# once STRING: the last expect's output names STRING exactly once
once() {
	local n
	n=$(grep -oF -- "$1" $T.out | wc -l)
	[ "$n" -eq 1 ] || { cat $T.out; fail "'$1' named $n times, expected once"; }
}
