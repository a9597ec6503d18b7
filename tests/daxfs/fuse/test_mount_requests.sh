#!/bin/bash
# test_mount_requests.sh - the daemon's request savings keep the filesystem
# right: FLUSH is answered with ENOSYS once and then never sent again (on
# the page path: sent only at the close of a descriptor open for writing), and
# data written and closed is read back (at once and after a remount);
# names, also absent ones, are cached by the kernel, so repeated stats of a
# missing name and unlinks of known names need no LOOKUP, yet a name that
# is created, renamed or removed is seen at once.
. "$(dirname "$0")/lib.sh" "$@"
dx_mkfs 64M
dx_mount

# count OP: requests of type OP the daemon has served so far. Each call
# looks the stats file up once (it is never cached), which the next call
# counts: a difference of 1 LOOKUP between two calls means none of ours.
count() {
	"$DAXFS" stat "$MNT" --json |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)["ops"].get(sys.argv[1], {}).get("count", 0))' "$1" ||
		fail "daxfs stat --json"
}

# Twenty files written and closed: at most one FLUSH in all; on the page
# path, whose close(2) reports a failed writeback, one per close of a
# descriptor open for writing (the shell's redirection closes two) and none
# for reads.
for i in $(seq 20); do
	printf 'file %d\n' "$i" > "$MNT/f$i" || fail "write f$i"
done
flushes=$(count flush)
if [ "$DP" = page ]; then
	[ "$flushes" -le 40 ] || fail "$flushes FLUSH requests for 40 closes (expected at most 40)"
	cat "$MNT"/f* > /dev/null || fail "read f*"
	expect_eq "$(count flush)" "$flushes" "FLUSH requests after reads"
else
	[ "$flushes" -le 1 ] || fail "$flushes FLUSH requests for 20 closes (expected at most 1)"
fi
expect_eq "$(count create)" 20 "CREATE requests"
for i in $(seq 20); do
	expect_eq "$(cat "$MNT/f$i")" "file $i" "contents of f$i after close"
done
head -c 300000 /dev/urandom > "$T/big"
cp "$T/big" "$MNT/big" || fail "cp big"
cmp -s "$T/big" "$MNT/big" || fail "big differs after close"

# A missing name: looked up once, then the kernel knows it is absent.
stat "$MNT/missing" 2>/dev/null && fail "missing exists"
before=$(count lookup)
for i in $(seq 5); do
	stat "$MNT/missing" 2>/dev/null && fail "missing exists"
done
expect_eq "$(count lookup)" "$((before + 1))" "LOOKUPs for a cached absent name"
# ... and is seen as soon as it is created, renamed or removed.
echo here > "$MNT/missing" || fail "create missing"
expect_eq "$(cat "$MNT/missing")" here "missing after create"
mv "$MNT/missing" "$MNT/moved" || fail "rename"
stat "$MNT/missing" 2>/dev/null && fail "old name still there after rename"
expect_eq "$(cat "$MNT/moved")" here "new name after rename"
rm "$MNT/moved" || fail "rm moved"
stat "$MNT/moved" 2>/dev/null && fail "moved still there after rm"

# Unlinks of names the kernel knows send no LOOKUP.
before=$(count lookup)
for i in $(seq 20); do
	rm "$MNT/f$i" || fail "rm f$i"
done
expect_eq "$(count lookup)" "$((before + 1))" "LOOKUPs for unlinking known names"
for i in $(seq 20); do
	[ -e "$MNT/f$i" ] && fail "f$i still there after rm"
done

# Written and closed (never fsynced) data survives the unmount.
dx_umount
dx_mount
cmp -s "$T/big" "$MNT/big" || fail "big differs after remount"
dx_umount
dx_fsck
