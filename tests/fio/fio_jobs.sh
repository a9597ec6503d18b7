#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_jobs.sh - two jobs at once, as threads (thread=1) and as processes
# (fio's default fork), each with its own device on the same region, in
# disjoint halves (offset_increment); both verify. Also target=null runs.
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 16M)
for thread in 0 1; do
	for mode in pfn page; do
		run_fio --name=two --region="$region" --mode="$mode" --thread=$thread --numjobs=2 \
			--offset_increment=8M --size=8M --rw=randwrite --bs=8k --verify=crc32c \
			--do_verify=1 --group_reporting
		expect_ok "numjobs=2 thread=$thread mode=$mode"
	done
done

run_fio --name=null --region="$region" --target=null --mode=page --rw=randread --bs=4k \
	--size=16M --number_ios=2000
expect_ok "target=null"
echo "ok: numjobs=2 as threads and processes"
