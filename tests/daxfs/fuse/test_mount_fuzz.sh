#!/bin/bash
# test_mount_fuzz.sh - the daemon on randomly damaged images (issue 10's
# target: every request answered within 1 s with data or EIO, no daemon
# crash in any fuzzed case). Each case damages one structure of the
# populated image with daxfs-debug: an inode, an extent, the extent block,
# a directory node, index slot or entry, an xattr block or entry, the
# symlink target, the journal header or record, a superblock; by a bit flip
# (checksum left stale), a few random bytes with the checksum recomputed (so
# only the checks of meaning can find them), a zeroed block or two swapped
# directory blocks. Then it mounts with -o errors=continue and walks the
# tree with probe.py (reads, listings, xattrs, writes, creates). A case
# fails on a hang, a crash or sanitizer report of the daemon, an unclean
# daemon exit, or changed data in /keep files whose own structures were not
# damaged (not checked when an extent or journal record was damaged: a
# block number changed within range cross-links files, which only fsck can
# see). A mount refused (a damaged superblock or journal) must fail cleanly.
# DAXFS_FUZZ_CASES (default 12) and DAXFS_FUZZ_SEED choose the cases; a
# failure prints the seed and the damage to reproduce it. Under CI=true the
# seed is fixed, so the set that must pass to land is the same every run
# (cx_image fixes the name hash seed, so the image's structures and their
# numbers are the same in every run too: the "layout" line below says so);
# elsewhere each run draws new cases.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/corruptlib.sh"

CASES=${DAXFS_FUZZ_CASES:-12}
if [ "${CI:-}" = true ]; then
	SEED=${DAXFS_FUZZ_SEED:-1}
else
	SEED=${DAXFS_FUZZ_SEED:-$(($(date +%s) % 100000))}
fi
echo "fuzz: $CASES cases from seed $SEED ($DP)"
RANDOM=$SEED
cx_image
"$DEBUG" "$T/pristine" list > "$T/structs" || fail "daxfs-debug list"
"$DEBUG" "$T/pristine" ls /keep | awk '{print $4}' > "$T/keepinos" || fail "daxfs-debug ls"
echo "fuzz: image layout $(cut -f1-4 "$T/structs" | sha256sum | cut -c1-16)"
KINDS=(inode inode inode extent extblk dnode dnode dindex dentry dentry xattr xentry symlink
	jheader jrec sb backup)

for c in $(seq "$CASES"); do
	kind=${KINDS[RANDOM % ${#KINDS[@]}]}
	mapfile -t cand < <(awk -v k="$kind" '$1 == k {print $2 " " $4 " " $5}' "$T/structs")
	[ ${#cand[@]} -gt 0 ] || continue
	read -r id len owner <<<"${cand[RANDOM % ${#cand[@]}]}"
	[ "$id" = - ] && id=
	cx_restore
	case $((RANDOM % 4)) in
	0) how="flip $kind $id $(( (RANDOM * 32768 + RANDOM) % (len * 8) ))" ;;
	1) how="-c -s $RANDOM -n 3 rand $kind $id" ;;
	2) how="-c -s $RANDOM -n 8 rand $kind $id" ;;
	3) if [ "$kind" = dnode ] || [ "$kind" = extblk ] || [ "$kind" = xattr ]; then
		how="zero ${id%%.*}"
	   elif [ "$kind" = dindex ] || [ "$kind" = dentry ]; then
		# (RANDOM outside the $(...): a subshell reseeds it)
		pick=$((RANDOM % 12 + 1))
		other=$(awk '$1 == "dnode" {print $2}' "$T/structs" | sed -n "${pick}p")
		how="swap ${id%%.*} ${other:-${id%%.*}}"
	   else
		how="flip $kind $id $(( (RANDOM * 32768 + RANDOM) % (len * 8) ))"
	   fi ;;
	esac
	set -- $how
	opts=()
	while [ "${1#-}" != "$1" ]; do
		opts+=("$1")
		[ "$1" = -c ] || { shift; opts+=("$1"); }
		shift
	done
	"$DEBUG" "${opts[@]}" "$REGION" "$@" >/dev/null 2>&1 ||
		{ echo "case $c: damage '$how' not applied"; continue; }
	echo "case $c: $how (owner $owner)"
	keep=("${KEEP[@]}")
	case $kind in extent | extblk | jrec) keep=() ;; esac
	# no data check when a /keep file's own structure was damaged
	grep -qx "$owner" "$T/keepinos" && keep=()
	: >"$T/log"
	"$DAXFS" -f $(dx_dp_opts) ${DAXFS_EXTRA_OPTS:-} -o errors=continue "$REGION" "$MNT" 2>>"$T/log" &
	DPID=$!
	DX_PIDS+=("$DPID")
	mounted=
	for k in $(seq 200); do
		grep -qs " $MNT fuse" /proc/self/mounts && { mounted=1; break; }
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$mounted" ]; then
		wait "$DPID"
		st=$?
		# a refused mount: a clear message and exit status 1, no crash
		[ "$st" = 1 ] && grep -q "^daxfs: cannot open" "$T/log" ||
			fail "seed $SEED case $c ($how): refused mount exited $st: $(cat "$T/log")"
		continue
	fi
	"$PY" "$PROBE" "$MNT" --pid "$DPID" --max 120 "${keep[@]}" ||
		fail "seed $SEED case $c ($how): probe failed; daemon log: $(cat "$T/log")"
	cx_umount
	[ "$DX_STATUS" = 0 ] || fail "seed $SEED case $c ($how): daemon exit status $DX_STATUS"
	if grep -q "AddressSanitizer\|runtime error\|LeakSanitizer" "$T/log"; then
		fail "seed $SEED case $c ($how): sanitizer report: $(cat "$T/log")"
	fi
done
