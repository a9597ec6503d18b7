#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_lock.sh - the engine takes the region lock in ->setup: a writing job
# on a region another program holds is refused with the holder's PID and
# program and nothing is written; a reading job runs beside a shared
# holder; jobs of one run (numjobs=2, as processes) share the lock; after
# the run nothing holds it. The holder is flock(1), not one of ours.
. "$(dirname "$0")/fio_lib.sh"

flock -V >/dev/null 2>&1 || need "flock(1) is not installed"
region=$(make_region r 16M)
. "$(dirname "$0")/../pmemdev/lock_holder.sh"
trap 'lock_release; rm -rf "$TDIR"' EXIT

head -c 16M /dev/urandom >"$region"
sum0=$(sha256sum <"$region")

lock_hold -x "$region"
holder=$LOCK_HOLDER
run_fio --name=w --region="$region" --rw=write --bs=64k --size=16M
expect_fail "in use by PID $holder \\(flock\\)" "write job on a locked region"
run_fio --name=r --region="$region" --rw=read --bs=64k --size=16M
expect_fail "in use by PID $holder \\(flock\\)" "read job on an exclusively locked region"
[ "$(sha256sum <"$region")" = "$sum0" ] || fail "the locked region was written"
lock_release

lock_hold -s "$region"
holder=$LOCK_HOLDER
run_fio --name=r --region="$region" --rw=randread --bs=4k --size=16M --number_ios=500
expect_ok "read job beside a shared holder"
run_fio --name=w --region="$region" --rw=randwrite --bs=4k --size=16M --number_ios=500
expect_fail "in use by PID $holder \\(flock, reading it\\)" "write job beside a shared holder"
[ "$(sha256sum <"$region")" = "$sum0" ] || fail "the region was written beside a reader"
lock_release

run_fio --name=two --region="$region" --thread=0 --numjobs=2 --offset_increment=8M --size=8M \
	--rw=randwrite --bs=8k --verify=crc32c --do_verify=1 --group_reporting
expect_ok "numjobs=2 as processes share the run's lock"
flock -n -x "$region" true || fail "fio left the region locked"
echo "ok: the fio engine takes the region lock"
