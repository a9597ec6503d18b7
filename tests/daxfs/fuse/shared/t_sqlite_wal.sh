#!/bin/bash
# SPDX-License-Identifier: MIT
# t_sqlite_wal.sh - sqlite3 in WAL mode (shared memory through a MAP_SHARED
# mapping of the -shm file) on the mount, no shim: one writer inserting row
# after row while two readers query, every reader's count never goes
# backwards and never fails; kill -9 of the writer; reopened, PRAGMA
# integrity_check says ok and the rows are all there; the same database
# read through the preload shim gives the same answer as without it.
. "$(dirname "$0")/lib.sh" "$@"
command -v sqlite3 >/dev/null || dx_skip "sqlite3 is not installed (Debian package sqlite3)"
dx_mkfs 64M
dx_mount
db=$MNT/db.sqlite
sql() {
	sqlite3 -bail -cmd ".timeout 10000" "$@"
}
expect_eq "$(sql "$db" "PRAGMA journal_mode=WAL;")" wal "journal_mode ($DP path)"
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);" || fail "create table"

# The writer reads statements from a fifo; started directly (not through
# the sql function, which would put a subshell between) so that $! is
# sqlite3 itself and kill -9 hits it.
mkfifo "$T/fifo"
sqlite3 -bail -cmd ".timeout 10000" "$db" <"$T/fifo" >"$T/writer.log" 2>&1 &
writer=$!
DX_PIDS+=("$writer")
{
	i=0
	while :; do
		i=$((i + 1))
		echo "INSERT INTO t(v) VALUES (printf('%08d-', $i) || hex(randomblob(200)));"
	done
} >"$T/fifo" 2>/dev/null &
feeder=$!
DX_PIDS+=("$feeder")

reader() {
	local last=0 n k
	for ((k = 0; k < 25; k++)); do
		n=$(sql "$db" "SELECT count(*) FROM t;") || { echo "query failed" >&2; return 1; }
		[ "$n" -ge "$last" ] || { echo "count went back from $last to $n" >&2; return 1; }
		last=$n
	done
	echo "$last"
}
reader >"$T/r1" 2>&1 &
r1=$!
reader >"$T/r2" 2>&1 &
r2=$!
wait "$r1" || fail "reader 1 ($DP path): $(cat "$T/r1")"
wait "$r2" || fail "reader 2 ($DP path): $(cat "$T/r2")"
kill -0 "$writer" 2>/dev/null || fail "the writer died ($DP path): $(cat "$T/writer.log")"
kill -9 "$writer"
wait "$writer" 2>/dev/null
rc=$?
[ $rc -eq 137 ] || fail "the writer was not killed by SIGKILL (status $rc)"
kill "$feeder" 2>/dev/null
wait "$feeder" 2>/dev/null
[ -s "$T/writer.log" ] && fail "writer said ($DP path): $(head -5 "$T/writer.log")"

expect_eq "$(sql "$db" "PRAGMA integrity_check;")" ok "integrity_check after kill -9 ($DP path)"
rows=$(sql "$db" "SELECT count(*) FROM t;")
[ "$rows" -ge "$(cat "$T/r1")" ] || fail "rows $rows < what reader 1 saw $(cat "$T/r1")"
[ "$rows" -gt 0 ] || fail "no rows"
# ids are dense: every committed insert is there exactly once
expect_eq "$(sql "$db" "SELECT max(id) = count(*) FROM t;")" 1 "dense ids"
sum=$(sql "$db" "SELECT count(*), sum(length(v)), max(v) FROM t;")
shim_sum=$(with_shim sqlite3 -bail -cmd ".timeout 10000" "$db" \
	"PRAGMA integrity_check; SELECT count(*), sum(length(v)), max(v) FROM t;") ||
	fail "sqlite3 through the shim ($DP path)"
expect_eq "$shim_sum" "ok"$'\n'"$sum" "the same database through the shim ($DP path)"
# and without the shim again, after the shim's process touched the -shm
expect_eq "$(sql "$db" "SELECT count(*), sum(length(v)), max(v) FROM t;")" "$sum" \
	"without the shim after it ($DP path)"
dx_umount
dx_fsck
