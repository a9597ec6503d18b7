#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_async.sh - completion=async: the device's workers complete bios,
# fio reaps them through getevents/event, and iodepth 8 is really reached;
# random writes verify with md5, with FUA writes, in every completion
# setting (workers, plug, poll_us, run_when_idle).
. "$(dirname "$0")/fio_lib.sh"

region=$(make_region r 16M)
json=$TDIR/out.json
# Each completion setting: workers 1 and 2; bios plugged between reaps or
# queued one by one; workers that poll; no run-when-idle (end_io on workers).
for set in "--workers=1" "--workers=2" "--workers=1 --plug=0" "--workers=2 --poll_us=50" \
	"--workers=1 --run_when_idle=0" "--workers=1 --plug=0 --run_when_idle=0 --poll_us=20"; do
	# shellcheck disable=SC2086 # $set is a list of options
	run_fio --name=async --region="$region" --completion=async $set --iodepth=8 \
		--rw=randwrite --bs=4k --size=4M --verify=md5 --do_verify=1 --fua=1 \
		--output-format=json --output="$json"
	w="$set"
	expect_ok "completion=async $set iodepth=8 randwrite verify=md5"
	python3 - "$json" <<'PY' || fail "iodepth 8 not reached with workers=$w"
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
depth = job["iodepth_level"]
# Share of submissions at depth >= 8 ("8" bucket covers 8..15).
if float(depth.get("8", 0)) + float(depth.get("16", 0)) <= 0:
    print("iodepth_level:", depth)
    sys.exit(1)
if job["error"] != 0:
    sys.exit(1)
PY
done

# 2 MiB in page mode: 512 bvecs per bio through the async path.
run_fio --name=async2m --region="$region" --completion=async --iodepth=4 --mode=page \
	--rw=write --bs=2M --size=8M --verify=crc32c --do_verify=1
expect_ok "completion=async mode=page 2 MiB verify"
echo "ok: async completion"
