#!/bin/bash
# test_mount_stats.sh - `daxfs stat MOUNTPOINT` prints per-op counts and
# latency percentiles, bytes moved and the data path's counters; --json is
# one valid JSON object whose numbers match the I/O done; the hidden files
# are read-only and unlisted; a non-daxfs path is refused.
. "$(dirname "$0")/lib.sh" "$@"
"$MKFS" "$REGION" --size 64M --label "stat label" --uuid 0f1e2d3c-4b5a-4697-8877-665544332211 \
	>/dev/null || fail "mkfs.daxfs --label --uuid"
dx_mount
head -c 3M /dev/urandom > "$MNT/f"
cat "$MNT/f" > /dev/null
"$DAXFS" stat "$MNT" > "$T/stat.txt" || fail "daxfs stat"
grep -q "^write " "$T/stat.txt" || fail "no write line: $(cat "$T/stat.txt")"
grep -q "^read " "$T/stat.txt" || fail "no read line"
grep -q "datapath: *$DP" "$T/stat.txt" || fail "datapath not shown"
grep -q '^label: *"stat label"$' "$T/stat.txt" || fail "label not shown"
grep -q "^UUID: *0f1e2d3c-4b5a-4697-8877-665544332211$" "$T/stat.txt" || fail "UUID not shown"
"$DAXFS" stat "$MNT" --json > "$T/stat.json" || fail "daxfs stat --json"
DP=$DP "$PY" - "$T/stat.json" <<'PYEOF' || fail "json contents: $(cat "$T/stat.json")"
import json, os, sys
s = json.load(open(sys.argv[1]))
dp = os.environ["DP"]
assert s["datapath"] == dp, s["datapath"]
assert s["label"] == "stat label" and s["uuid"] == "0f1e2d3c-4b5a-4697-8877-665544332211", s
assert s["bytes_written"] >= 3 << 20, s["bytes_written"]
assert s["bytes_read"] >= 3 << 20, s["bytes_read"]
w = s["ops"]["write"]
assert w["count"] >= 3 and w["p50_ns"] > 0 and w["p99_ns"] >= w["p50_ns"], w
assert s["ops"]["create"]["count"] >= 1
assert s["space"]["free_blocks"] < s["space"]["total_blocks"]
if dp in ("bio", "page"):
    b = s["blk"]
    assert b["writes"] > 0 and b["reads"] > 0 and b["bvecs"] > 0, b
    assert b["mean_bvecs_per_bio"] >= 1, b
if dp == "page":
    p = s["pagecache"]
    assert p["pages"] > 0 and p["misses"] > 0 and p["writeback_pages"] > 0, p
PYEOF
ls -a "$MNT" | grep -q daxfs-stats && fail "stats file listed by readdir"
echo x > "$MNT/.daxfs-stats" 2>/dev/null && fail "stats file writable"
rm -f "$MNT/.daxfs-stats" 2>/dev/null
[ -e "$MNT/.daxfs-stats" ] || fail "stats file removable"
"$DAXFS" stat "$T" >/dev/null 2>"$T/err" && fail "stat on a non-daxfs dir succeeded"
grep -q "not a mounted daxfs" "$T/err" || fail "message: $(cat "$T/err")"
"$DAXFS" --version | grep -q "^daxfs " || fail "--version"
dx_umount
dx_fsck
