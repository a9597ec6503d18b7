#!/bin/bash
# SPDX-License-Identifier: MIT
#
# nbd_mounted.sh - nbdkit cannot serve a mounted region: with a daxfs
# mount on it, the plugin is refused at start naming the daemon and the
# mount point ("in use by PID N (daxfs, mounted on MNT)"), even read-only,
# and the filesystem is left as it was; after umount it serves the region.
. "$(dirname "$0")/nbd_lib.sh" "$@"
nbd_need fusermount3 mountpoint
[ -c /dev/fuse ] && [ -w /dev/fuse ] || nbd_need /dev/fuse
MKFS=$BUILD/daxfs/mkfs.daxfs
DAXFS=$BUILD/daxfs/daxfs
MNT=$T/mnt
DAEMON=
trap '[ -n "$DAEMON" ] && { fusermount3 -u "$MNT" 2>/dev/null; wait "$DAEMON"; }; nbd_cleanup' EXIT

r=$T/region
"$MKFS" -q "$r" --size 32M || fail "mkfs.daxfs"
mkdir "$MNT"
"$DAXFS" -f "$r" "$MNT" 2>"$T/daxfs.err" &
DAEMON=$!
for _ in $(seq 300); do
	mountpoint -q "$MNT" && break
	sleep 0.05
done
mountpoint -q "$MNT" || fail "daxfs did not mount: $(cat "$T/daxfs.err")"
echo keep >"$MNT/f"

for ro in false true; do
	# shellcheck disable=SC2046
	env $(nbdkit_env) timeout 60 nbdkit -f -U "$T/s.sock" "$PLUGIN" region="$r" readonly=$ro \
		>"$T/out" 2>&1 && fail "nbdkit served a mounted region (readonly=$ro)"
	grep -q "in use by PID $DAEMON (daxfs, mounted on $MNT); unmount it first" "$T/out" ||
		fail "refusal does not name the mount (readonly=$ro): $(cat "$T/out")"
done
[ "$(cat "$MNT/f")" = keep ] || fail "the mounted filesystem changed"
fusermount3 -u "$MNT" || fail "umount"
wait "$DAEMON"
DAEMON=
nbd_start "$r"
nbd_stop
echo "ok: nbdkit refuses a mounted region"
