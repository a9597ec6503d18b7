#!/bin/bash
# test_mount_beside_fuzz.sh - the image fuzzer running beside a mount must
# not keep that mount alive: unmount while fuzz_images runs, and the daemon
# must see it and exit. (fuzz_images once put its huge-page scratch tmpfs in
# a mount namespace of its own, whose copy of the mount table held every
# FUSE mount that existed when it started: the daemons of the mount tests
# running beside it in ctest did not exit until the fuzzer ended, and those
# tests failed with "daemon did not exit within 60 s of the unmount".)
. "$(dirname "$0")/lib.sh" "$@"
FZ=$BUILD/tests/daxfs/fuzz/fuzz_images
[ -x "$FZ" ] || fail "$FZ is not built"
dx_mkfs 64M
dx_mount
echo data > "$MNT/f" || fail "write through the mount"
# the fuzzer, as ctest runs it (root, no PMD_TEST_DIR: the huge-page scratch)
env -u PMD_TEST_DIR "$FZ" -n 100000 -T 60 -s 1 -j 1 -S 12 -P 1 >"$T/fuzz.log" 2>&1 &
fzpid=$!
DX_PIDS+=("$fzpid")
for _ in $(seq 600); do
	grep -q '^progress:' "$T/fuzz.log" && break
	kill -0 "$fzpid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^progress:' "$T/fuzz.log" || fail "fuzz_images did not start its cases: $(cat "$T/fuzz.log")"
fusermount3 -u "$MNT" || fail "fusermount3 -u"
if ! flock -w 20 "$REGION" true; then
	kill -TERM "$fzpid" 2>/dev/null
	fail "the daemon did not exit within 20 s of the unmount while fuzz_images ran beside it"
fi
kill -0 "$fzpid" 2>/dev/null || fail "fuzz_images ended before the check: $(tail -3 "$T/fuzz.log")"
kill -TERM "$fzpid"
wait "$fzpid"
rc=$?
[ "$rc" -eq 0 ] || fail "fuzz_images stopped with $rc: $(tail -5 "$T/fuzz.log")"
dx_fsck
echo "beside fuzz: the daemon exited at the unmount while fuzz_images ran"
