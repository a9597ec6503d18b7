#!/bin/bash
# SPDX-License-Identifier: MIT
# test_mmap_example - examples/daxfs_records keeps its records through a
# kill -9 in the middle of appending, an unmount and a remount: every
# record the header counts is intact, and appending carries on; an append
# past the end fills the log and exits 1 saying it is full.
. "$(dirname "$0")/mmlib.sh" "$@"

mm_region tmpfs 64
mm_mount
LOG=$MNT/log
"$RECORDS" "$LOG" append 1000 | grep -qx "1000 records" || fail "first append"

"$RECORDS" "$LOG" append 100000000 >/dev/null &
pid=$!
# kill it once it has published more records (a concurrent read-only map)
for _ in $(seq 100); do
	out=$("$RECORDS" "$LOG" check 2>/dev/null) && [ "${out% records}" -gt 1000 ] && break
	sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
dx_umount
dx_fsck
mm_mount
out=$("$RECORDS" "$LOG" check) || fail "check after kill -9: $out"
n=${out% records}
[ "$n" -gt 1000 ] || fail "no records appended before the kill: $out"
out=$("$RECORDS" "$LOG" append 10) || fail "append after the kill"
[ "$out" = "$((n + 10)) records" ] || fail "append after kill: $out (had $n)"
# more than a log holds: what fits is appended, then "full" and exit 1
out=$("$RECORDS" "$LOG" append 99999999999 2>$T/err); rc=$?
[ $rc -eq 1 ] || fail "an append past the end exited $rc"
[ "$out" = "524287 records" ] || fail "a full log: $out"
grep -q "is full: appended $((524287 - n - 10)) of the 99999999999 records" $T/err ||
	fail "no 'full' message: $(cat $T/err)"
"$RECORDS" "$LOG" append 1 2>&1 | grep -q "is full: appended 0 of" || fail "append to a full log"
[ "$("$RECORDS" "$LOG" check)" = "524287 records" ] || fail "check of a full log"
dx_umount
dx_fsck
exit 0
