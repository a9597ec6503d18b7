#!/bin/bash
# test_mount_corrupt.sh - the daemon on damaged images (issue 10 items 2, 3
# and 4): for each damage made with daxfs-debug (an inode checksum, an
# extent outside the region or into the inode table, a directory leaf, two
# directory leaves swapped, the root inode's block count, an xattr block,
# a symlink target) every request of a walk is answered within 1 s with data or EIO, never a hang in D
# state, the daemon survives, the damaged structure is never re-sealed, one
# log line names it, `daxfs stat` and the superblock record show it, and
# -o errors= behaves as daxfs(1) says: continue, remount-ro (the default:
# changes refused, reads served) and panic (the daemon records and exits,
# every request still answered).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/corruptlib.sh"

cx_image
R=$REGION
ITB=$("$DEBUG" "$R" get sb itable_blk) || fail "itable_blk"

# an inode whose checksum fails (a byte flipped)
cx_restore
dbg "$R" flip inode /f uid 3
cx_mount -o errors=continue
cx_probe --expect lstat:f:EIO --expect read:keep/k1:ok --expect create:d1:ok
grep -q "daxfs: corrupt inode, inode [0-9]*, block [0-9]*: checksum mismatch" "$T/log" ||
	fail "no log line naming the inode: $(cat "$T/log")"
"$DAXFS" stat "$MNT" > "$T/stat" || fail "daxfs stat"
grep -q "^errors: *[1-9][0-9]* recorded" "$T/stat" || fail "daxfs stat: $(cat "$T/stat")"
grep -q "^first error: .*inode, checksum mismatch" "$T/stat" || fail "daxfs stat: $(cat "$T/stat")"
"$DAXFS" stat "$MNT" --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
assert s["errors"]["count"] >= 1 and s["errors"]["first"]["structure"] == "inode", s["errors"]
assert s["errors_mode"] == "continue", s["errors_mode"]' || fail "daxfs stat --json errors"
cx_umount
expect_record 1 1 "$("$DEBUG" "$R" ls / | awk '$NF == "f" {print $4}')"

# an extent far outside the region, checksum recomputed (item 2: cat hung
# in D state, a write crashed the daemon in libpmem2)
cx_restore
dbg -c "$R" set extent /f:0 pblk 0x10000000
cx_mount -o errors=continue
cx_probe --expect lstat:f:ok --expect read:f:EIO --expect write:f:EIO
cx_umount

# an extent into the inode table: neither served nor written through
cx_restore
dbg -c "$R" set extent /f:0 pblk "$ITB"
cx_mount -o errors=continue
cx_probe --expect read:f:EIO --expect write:f:EIO --expect read:keep/k2:ok
cx_umount

# a byte of a directory leaf (item 4: a create re-sealed it, hiding the damage)
cx_restore
LEAF=$("$DEBUG" "$R" get inode /d1 root) || fail "leaf of /d1"
dbg "$R" flip block "$LEAF" $((8 * 4090))
sum0=$(blk_sum "$LEAF")
cx_mount -o errors=continue
cx_probe --expect listdir:d1:EIO --expect create:d1:EIO --expect listdir:d:ok
cx_umount
expect_eq "$(blk_sum "$LEAF")" "$sum0" "the damaged leaf after a create (re-sealed?)"

# the first and the last leaf of /d swapped: checksums, magic and owner all
# pass, but readdir cookies went backwards between two READDIR requests and
# the listing never ended (a reader spinning in getdents), and lookups
# searched the wrong leaf; the keys of a leaf must lie in the range its
# index gives it
cx_restore
DINO=$("$DEBUG" "$R" ls / | awk '$NF == "d" {print $4}')
KIDS=()
for x in $("$DEBUG" "$R" list dindex | awk -v o="$DINO" '$5 == o {print $2}'); do
	KIDS+=("$("$DEBUG" "$R" get dindex "$x" child)") || fail "child of dindex $x"
done
[ ${#KIDS[@]} -ge 3 ] || fail "/d has ${#KIDS[@]} leaves, expected a tree of several"
dbg "$R" swap "${KIDS[0]}" "${KIDS[-1]}"
cx_mount -o errors=continue
cx_probe --expect listdir:d:EIO --expect listdir:d1:ok --expect create:d1:ok
grep -q "corrupt directory block, inode $DINO, block [0-9]*: entry keys outside" "$T/log" ||
	fail "no log line for the swapped leaves: $(cat "$T/log")"
cx_umount

# one bit of the root inode (item 3): the mount stays usable for what is
# sound: the tree below is readable, changes fail, daxfs stat works
cx_restore
dbg "$R" flip inode 1 blocks 3
cx_mount
cx_probe --expect lstat:.:ok --expect listdir:.:ok --expect read:keep/k1:ok \
	--expect listdir:d:ok --expect create:.:EROFS
"$DAXFS" stat "$MNT" > "$T/stat" || fail "daxfs stat with a damaged root"
grep -q "changes refused" "$T/stat" || fail "daxfs stat: $(cat "$T/stat")"
cx_umount
expect_record 1 1 1

# an xattr block and a symlink target
cx_restore
XB=$("$DEBUG" "$R" get inode /f xattr_blk) || fail "xattr block of /f"
dbg "$R" flip block "$XB" $((8 * 40))
dbg "$R" flip symlink /s 3
cx_mount -o errors=continue
cx_probe --expect listxattr:f:EIO --expect read:f:ok --expect readlink:s:EIO
cx_umount

# errors=remount-ro (the default): after the first error no change is
# accepted, reads of sound files go on
cx_restore
dbg "$R" flip inode /f uid 3
cx_mount
cx_probe --expect lstat:f:EIO --expect create:d1:EROFS --expect write:big:EROFS \
	--expect read:keep/k3:ok --expect read:big:ok
# the stop lasts until unmount (daxfs(1)): a remount read-write (what
# `mount -o remount,rw` runs) is refused and says what to do, read-only is
# accepted, and read-write from there is refused too
"$DAXFS" -o remount,rw "$REGION" "$MNT" 2>"$T/err" && fail "remount,rw after errors stopped changes"
grep -q "errors=remount-ro.*fsck.daxfs" "$T/err" || fail "remount,rw refusal: $(cat "$T/err")"
"$DAXFS" -o remount,ro "$REGION" "$MNT" || fail "remount,ro after errors stopped changes"
"$DAXFS" -o remount,rw "$REGION" "$MNT" 2>"$T/err" && fail "remount,rw of the stopped, read-only mount"
grep -q "Read-only file system" "$T/err" || fail "remount,rw refusal: $(cat "$T/err")"
cx_probe --expect create:d1:EROFS --expect read:keep/k3:ok
cx_umount

# errors=panic: the error is recorded, the daemon exits, nothing hangs
cx_restore
dbg "$R" flip inode /f uid 3
cx_mount -o errors=panic
cx_probe --allow-dead --read-only
cx_umount
[ "$DX_STATUS" = 70 ] || fail "errors=panic: the daemon exited with $DX_STATUS, expected 70"
expect_record 1 1 "$("$DEBUG" "$R" ls / | awk '$NF == "f" {print $4}')"
