# SPDX-License-Identifier: MIT
# lock_holder.sh - another program holding a region's lock (sourced, not run).
#
#   lock_hold -x|-s REGION   flock(1) takes the lock in the background and
#                            keeps it; its pid is in $LOCK_HOLDER
#   lock_release             it lets go (also safe to call when none holds)
# flock(1) is a program that is not ours, so refusals must name it "flock".
# The caller provides fail(); call lock_release from its EXIT trap.
LOCK_HOLDER=

lock_hold()
{
	flock -o "$1" "$2" sleep 600 & # -o: only flock(1) itself holds it
	LOCK_HOLDER=$!
	for _ in $(seq 200); do
		grep -q " $LOCK_HOLDER " /proc/locks && return 0
		sleep 0.05
	done
	fail "flock(1) did not take the lock of $2"
}

lock_release()
{
	[ -n "$LOCK_HOLDER" ] || return 0
	kill $(cat /proc/"$LOCK_HOLDER"/task/*/children 2>/dev/null) "$LOCK_HOLDER" 2>/dev/null
	wait "$LOCK_HOLDER" 2>/dev/null
	LOCK_HOLDER=
}
