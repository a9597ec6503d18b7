#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report.py - turn the raw results of fio-jobs/run-daxfs into
docs/results/daxfs.md and its plots (gnuplot SVG, when gnuplot is there).

Called by run-daxfs, which also saves its arguments (all but --raw and
--out, one a line) with the raw results, so a report renders again with

  report.py @BUILD_DIR/fsbench-raw/latest/report.args \
            --raw BUILD_DIR/fsbench-raw/latest --out docs/results

Arguments: --raw DIR --out DIR --runs N --fs "tmpfs passthrough_hp ..."
[--cmdline STR] [--elapsed S] [--runtime S] [--ramp S] [--size SIZE]
[--region-size SIZE] [--files N] [--meta-reps N] [--max-load L]
[--fuse-version V] [--load STR] [--mount NAME=COMMAND]... [--jobs "seqread ..."]

Raw files: FS.JOB.ROUND.json from fio (--output-format=json), meta.json
from metaops.py (all filesystems, per repetition), loads.tsv (the 1-minute
load average at the start of each round). Medians are over the rounds that
started with the load at most --max-load (all rounds, flagged, when none
did); metadata ratios are taken within each repetition, then the median.
"""
import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys

# (key, label, unit, source): source is (fio job, direction) or
# ("meta", field).
METRICS = [
    ("seqread", "sequential read, 1 MiB, psync", "MiB/s", ("seqread", "read")),
    ("seqwrite", "sequential write, 1 MiB, psync + fsync", "MiB/s", ("seqwrite", "write")),
    ("randread", "random read, 4 KiB, psync", "IOPS", ("randread", "read")),
    ("randread-qd16", "random read, 4 KiB, io_uring QD16", "IOPS",
     ("randread-qd16", "read")),
    ("randread-cached", "random read, 4 KiB, psync, file read before", "IOPS",
     ("randread-cached", "read")),
    ("create", "file create (open O_CREAT + close)", "ops/s", ("meta", "create_per_s")),
    ("stat", "stat by path", "ops/s", ("meta", "stat_per_s")),
    ("unlink", "unlink", "ops/s", ("meta", "unlink_per_s")),
    ("append", "4-byte write, O_APPEND", "ops/s", ("meta", "append_per_s")),
]

# Targets from the issue: the best daxfs data path against passthrough_hp
# on the same transport (PEER, the like-for-like FUSE data path; the report
# also gives them against KPEER, passthrough_hp with kernel passthrough).
TARGETS = {"seqread": 1.0, "seqwrite": 1.0, "randread": 1.0, "randread-qd16": 1.0,
           "create": 2.0, "unlink": 2.0}
# io_uring against /dev/fuse for the same daxfs path.
URING_TARGETS = {"randread": 1.4, "create": 1.4}

# The round-trip-bound workloads again with every daemon thread placed by
# the kernel's scheduler (run-daxfs: randread-free, meta-free.json), for the
# filesystems that ran on both transports.
FREE_METRICS = [
    ("randread", "random read, 4 KiB, psync", "IOPS", ("randread-free", "read")),
    ("create", "file create (open O_CREAT + close)", "ops/s", ("meta-free", "create_per_s")),
    ("unlink", "unlink", "ops/s", ("meta-free", "unlink_per_s")),
]

DAXFS_PATHS = ["daxfs-dax", "daxfs-bio", "daxfs-page"]
# passthrough_hp --nopassthrough: its reads and writes are FUSE requests to
# its daemon (behind the kernel page cache), as daxfs's are.
PEER = "passthrough_hp-fuse"
# passthrough_hp as shipped: run as root it asks for the kernel's FUSE
# passthrough, so data of an open file never reaches its daemon. A
# reference for what no FUSE data path can reach, not a peer.
KPEER = "passthrough_hp"
CEILING = "tmpfs"
URING = "-uring"
CACHED = "daxfs-dax-always"
# cache=always with -o writeback: the kernel keeps written data too.
WRITEBACK = "daxfs-dax-wb"


def best_paths(fs_list, tr):
    """The daxfs data paths on transport tr that count for "best daxfs
    path": every data path and the cached dax mounts."""
    return [p + tr for p in DAXFS_PATHS + [CACHED, WRITEBACK] if p + tr in fs_list]


def quiet_rounds(raw, runs, max_load):
    """(rounds to take medians over, {round: load}, all_noisy)."""
    loads = {}
    try:
        with open(os.path.join(raw, "loads.tsv")) as f:
            for line in f:
                kind, r, ld = line.split()
                if kind == "round":
                    loads[int(r)] = float(ld)
    except (OSError, ValueError):
        pass
    quiet = [r for r in range(1, runs + 1) if max_load is None or loads.get(r, 0) <= max_load]
    if not quiet:
        return list(range(1, runs + 1)), loads, True
    return quiet, loads, False


def meta_json(raw, name="meta"):
    try:
        with open(os.path.join(raw, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load(raw, fs, key, src, rounds):
    vals = []
    if src[0] in ("meta", "meta-free"):
        m = meta_json(raw, src[0])
        if m and fs in m["fs"]:
            vals = [float(v) for v in m["fs"][fs][src[1]]]
        return vals
    for r in rounds:
        path = os.path.join(raw, f"{fs}.{src[0]}.{r}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            text = f.read()
        # fio may print notes before the JSON document.
        d = json.loads(text[text.index("{"):])
        job = d["jobs"][0][src[1]]
        if key.startswith("seq"):
            vals.append(job["bw_bytes"] / (1 << 20))
        else:
            vals.append(job["iops"])
    return vals


def rep_ratios(allv, a, b, key):
    """Per-repetition (or per-round) ratios a/b of metric key."""
    return [x / y for x, y in zip(allv[a][key], allv[b][key]) if y]


# How far one round's (repetition's) ratio may be from their median for the
# rounds to agree (benchmarking.md, the metadata method).
AGREE = 0.20


def spread(rs):
    """Largest deviation of a list of ratios from their median, as a fraction."""
    if not rs:
        return None
    m = statistics.median(rs)
    return max(abs(x / m - 1) for x in rs) if m else None


# The daxfs daemon's statistics, saved after each step: which request type
# carries each workload, and the app-side microseconds per request when the
# workload runs one request at a time (None: not comparable).
STAT_STEPS = ["mount", "seqread", "randread", "randread-qd16", "seqwrite", "randread-cached"]
DAEMON_ROWS = [
    # (label, step, op, metric key, app us per request from the median)
    ("seqread: read, 1 MiB", "seqread", "read", "seqread", lambda v: 1e6 / v),
    ("randread: read, 4 KiB", "randread", "read", "randread", lambda v: 1e6 / v),
    ("randread-qd16: read, 4 KiB", "randread-qd16", "read", "randread-qd16", None),
    ("seqwrite: write, 1 MiB", "seqwrite", "write", "seqwrite", lambda v: 1e6 / v),
    ("create: create (+ close)", "meta", "create", "create", lambda v: 1e6 / v),
    ("unlink: unlink", "meta", "unlink", "unlink", lambda v: 1e6 / v),
]


def stat_files(raw, fs, step, r):
    if step == "meta":
        return (os.path.join(raw, f"{fs}.premeta.stat.json"),
                os.path.join(raw, f"{fs}.meta.stat.json"))
    prev_step = STAT_STEPS[STAT_STEPS.index(step) - 1]
    return (os.path.join(raw, f"{fs}.{prev_step}.{r}.stat.json"),
            os.path.join(raw, f"{fs}.{step}.{r}.stat.json"))


def daemon_us(raw, fs, step, op, rounds):
    """Median over rounds of the mean time (us) one request of type op spent
    inside the daxfs daemon during step, or None without statistics."""
    vals = []
    for r in (rounds if step != "meta" else [0]):
        fa, fb = stat_files(raw, fs, step, r)
        try:
            with open(fa) as f:
                a = json.load(f)["ops"].get(op)
            with open(fb) as f:
                b = json.load(f)["ops"].get(op)
        except (OSError, ValueError, KeyError):
            continue
        if not b:
            continue
        a = a or {"count": 0, "mean_ns": 0}
        n = b["count"] - a["count"]
        if n <= 0:
            continue
        vals.append((b["mean_ns"] * b["count"] - a["mean_ns"] * a["count"]) / n / 1e3)
    return statistics.median(vals) if vals else None


# CPU per request: (label, fio job or "meta", metaops phase).
CPU_ROWS = [
    ("seqread (per 1 MiB)", "seqread", None),
    ("randread (per 4 KiB)", "randread", None),
    ("seqwrite (per 1 MiB)", "seqwrite", None),
    ("create", "meta", "create"),
    ("stat", "meta", "stat"),
    ("unlink", "meta", "unlink"),
    ("append (4 bytes)", "meta", "append"),
]


def cpu_us(raw, fs, job, phase, rounds):
    """Median over rounds of (application, daemon) CPU microseconds per
    request, or None. The application is fio's job thread (its own rusage
    over the measured time) or the metaops.py process; the daemon is every
    thread of the FUSE daemon (none for tmpfs)."""
    vals = []
    if job == "meta":
        m = meta_json(raw)
        if not m or fs not in m["fs"]:
            return None
        d = m["fs"][fs]
        app, dmn = d.get(f"{phase}_app_cpu_us"), d.get(f"{phase}_daemon_cpu_us")
        if not app:
            return None
        return statistics.median(app), statistics.median(dmn)
    for r in rounds:
        try:
            with open(os.path.join(raw, f"{fs}.{job}.{r}.json")) as f:
                text = f.read()
            j = json.loads(text[text.index("{"):])["jobs"][0]
            ddir = "write" if job == "seqwrite" else "read"
            n = j[ddir]["total_ios"]
            app = (j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1e3
            with open(os.path.join(raw, f"{fs}.{job}.{r}.cpu.json")) as f:
                dmn = json.load(f)["daemon_cpu_s"]
        except (OSError, ValueError, KeyError):
            continue
        if n:
            vals.append((app * 1e6 / n, dmn * 1e6 / n))
    if not vals:
        return None
    return (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals))


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "MiB/s":
        return f"{v:,.0f}"
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.0f}"


def md_head(w, left, right):
    """Write a Markdown table header: columns @left, then @right right-aligned."""
    w("| " + " | ".join(list(left) + list(right)) + " |")
    w("|" + "---|" * len(left) + "---:|" * len(right))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}x"


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / (1 << 20):.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return cpu, os.cpu_count(), mem, platform.release()


def ymin(med, fs_list, keys):
    """The power of ten just below the smallest value, for a log axis."""
    vals = [med[fs][k] for fs in fs_list for k in keys if med[fs][k]]
    return 10 ** math.floor(math.log10(min(vals))) if vals else 1


def plot(out, fs_list, med):
    """Two SVG plots; returns the file names written (none without gnuplot)."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    written = []
    groups = [
        ("daxfs-bandwidth.svg", "Sequential 1 MiB (MiB/s, median)", ["seqread", "seqwrite"],
         False),
        ("daxfs-ops.svg", "4 KiB random reads and metadata (ops/s, median, log scale)",
         ["randread", "randread-qd16", "randread-cached", "create", "stat", "unlink",
          "append"], True),
    ]
    for name, title, keys, logy in groups:
        dat = os.path.join(out, name + ".dat")
        with open(dat, "w") as f:
            f.write("workload " + " ".join(fs_list) + "\n")
            for k in keys:
                f.write(k + " " + " ".join(
                    f"{med[fs][k]:.3f}" if med[fs][k] is not None else "NaN"
                    for fs in fs_list) + "\n")
        cols = " , ".join(
            f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})"
            for i in range(len(fs_list)))
        script = "\n".join([
            "set terminal svg size 900,420 dynamic noenhanced font 'sans,11' "
            "background rgb 'white'",
            f"set output '{os.path.join(out, name)}'",
            f"set title '{title}'",
            "set style data histogram",
            "set style histogram cluster gap 1",
            "set style fill solid 0.85 border -1",
            "set boxwidth 0.9",
            "set key outside right top",
            "set grid ytics",
            f"set yrange [{ymin(med, fs_list, keys) if logy else 0}:*]",
            "set logscale y" if logy else "unset logscale y",
            f"plot {cols}",
            "",
        ])
        r = subprocess.run([gp], input=script, text=True, capture_output=True)
        os.unlink(dat)
        if r.returncode != 0:
            print(f"report.py: gnuplot failed for {name}: {r.stderr.strip()}", file=sys.stderr)
            continue
        written.append(name)
    return written


def target_rows(fs_list, med, allv, free):
    """The targets of the issue, each with the figure, whether it is met and
    the per-round (or per-repetition) ratios behind it. free: (medians,
    values) of the FREE_METRICS, for the io_uring targets in both
    placements."""
    rows = []
    for base in (PEER, KPEER):
        for tr in ("", URING):
            peer = base + tr
            paths = best_paths(fs_list, tr)
            if peer not in fs_list or not paths:
                continue
            for key, t in TARGETS.items():
                best = max(paths, key=lambda p: med[p][key] or 0)
                x = ratio(med[best][key], med[peer][key])
                each = rep_ratios(allv, best, peer, key)
                rows.append((f"{key}: best daxfs / {peer}", f">= {t:.1f}x", best, x,
                             x is not None and x >= t, each, all(r >= t for r in each)))
    for placement, m, v in (("daemon beside the loop", med, allv),
                            ("daemon placed by the kernel", free[0], free[1])):
        for key, t in URING_TARGETS.items():
            pairs = [(p + URING, p) for p in DAXFS_PATHS + [CACHED]
                     if p in m and p + URING in m and key in m[p]]
            if not pairs:
                continue
            best = max(pairs, key=lambda pr: ratio(m[pr[0]][key], m[pr[1]][key]) or 0)
            x = ratio(m[best[0]][key], m[best[1]][key])
            each = rep_ratios(v, best[0], best[1], key)
            rows.append((f"{key}: io_uring / /dev/fuse, {placement}", f">= {t:.1f}x", best[0],
                         x, x is not None and x >= t, each, all(r >= t for r in each)))
    if CEILING in fs_list:
        paths = [p for p in fs_list if p.startswith("daxfs-")]
        if paths:
            # time per append <= 10x tmpfs's: rate >= 0.1x
            best = max(paths, key=lambda p: med[p]["append"] or 0)
            x = ratio(med[CEILING]["append"], med[best]["append"])
            each = [1 / r for r in rep_ratios(allv, best, CEILING, "append") if r]
            rows.append(("4-byte O_APPEND write: time / tmpfs's", "<= 10x", best, x,
                         x is not None and x <= 10, each, all(r <= 10 for r in each)))
        if CACHED in fs_list:
            x = ratio(med[CACHED]["randread-cached"], med[CEILING]["randread-cached"])
            each = rep_ratios(allv, CACHED, CEILING, "randread-cached")
            rows.append(("cached 4 KiB random read / tmpfs", ">= 0.5x", CACHED, x,
                         x is not None and x >= 0.5, each, all(r >= 0.5 for r in each)))
    return rows


def free_section(w, fs_list, fmed, fallv, free_meta, pin_cpu):
    """The transports compared with every daemon thread placed by the
    kernel (FREE_METRICS), if the run has them."""
    pairs = [(fs, fs + URING) for fs in fs_list
             if not fs.endswith(URING) and fs in fmed and fs + URING in fmed]
    if not pairs:
        return
    w("## io_uring and /dev/fuse with the daemons placed by the kernel")
    w("")
    w("Everything above that is bound by round trips (the psync random reads and")
    w(f"the metadata loop) ran on CPU {pin_cpu} with every daemon thread that reads")
    w("/dev/fuse pinned beside it: each request handed over within one CPU, which")
    w("is /dev/fuse's best case and makes rounds repeatable. Here the same")
    w(f"workloads ran again, the application still on CPU {pin_cpu} but every daemon")
    w("thread left to the kernel's scheduler, as a daemon runs when nobody pins")
    w("it. /dev/fuse then wakes whichever daemon thread waits, often on the other")
    w("CPU; FUSE over io_uring serves a request on the queue of the CPU that")
    w("issued it. Random reads: one fio job per round (the rounds);")
    w(f"metadata: {len(free_meta.get('load', []))} repetitions, at load "
      + ", ".join(f"{x:.2f}" for x in free_meta.get("load", [])) + ".")
    w("")
    w("| workload | unit | filesystem | /dev/fuse | io_uring | io_uring / /dev/fuse | each |")
    w("|---|---|---|---:|---:|---:|---|")
    for key, label, unit, _ in FREE_METRICS:
        for b, u in pairs:
            if key not in fmed[b] or key not in fmed[u]:
                continue
            each = rep_ratios(fallv, u, b, key)
            w(f"| {label} | {unit} | {b} | {fmt(fmed[b][key], unit)} | "
              f"{fmt(fmed[u][key], unit)} | "
              f"{fmt_ratio(statistics.median(each) if each else None)} | "
              + ", ".join(fmt_ratio(r) for r in each) + " |")
    w("")
    peers = [(x, y) for x in fmed for y in (PEER, PEER + URING)
             if x.startswith("daxfs-") and y in fmed and x.endswith(URING) == y.endswith(URING)]
    if peers:
        w("The same runs, daxfs against the FUSE data peer on the same transport")
        w("(median of the per-round, per-repetition ratios):")
        w("")
        md_head(w, ["workload"], [f"{x} / {y}" for x, y in peers])
        for key, _, _, _ in FREE_METRICS:
            cells = []
            for x, y in peers:
                rs = rep_ratios(fallv, x, y, key) if key in fmed[x] and key in fmed[y] else []
                cells.append(fmt_ratio(statistics.median(rs) if rs else None))
            w(f"| {key} | " + " | ".join(cells) + " |")
        w("")


def main():
    ap = argparse.ArgumentParser(fromfile_prefix_chars="@")
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--fs", required=True)
    ap.add_argument("--cmdline", default="fio-jobs/run-daxfs BUILD_DIR")
    ap.add_argument("--elapsed", default="?")
    ap.add_argument("--runtime", default="3")
    ap.add_argument("--ramp", default="1")
    ap.add_argument("--size", default="512M")
    ap.add_argument("--region-size", default="1G")
    ap.add_argument("--files", default="2000")
    ap.add_argument("--meta-reps", default="?")
    ap.add_argument("--max-load", type=float, default=None)
    ap.add_argument("--fuse-version", default="?")
    ap.add_argument("--load", default="?")
    ap.add_argument("--date", default=None, help="when the run started")
    ap.add_argument("--mount", action="append", default=[],
                    help="NAME=COMMAND: how NAME was mounted (repeatable)")
    ap.add_argument("--jobs", default="seqread randread randread-qd16 seqwrite")
    ap.add_argument("--pin-cpu", default="none",
                    help="CPU of the round-trip-bound work (run-daxfs --pin-cpu)")
    a = ap.parse_args()

    fs_list = a.fs.split()
    rounds, loads, noisy = quiet_rounds(a.raw, a.runs, a.max_load)
    allv = {fs: {} for fs in fs_list}
    med = {fs: {} for fs in fs_list}
    for fs in fs_list:
        for key, _, _, src in METRICS:
            v = load(a.raw, fs, key, src, rounds)
            allv[fs][key] = v
            med[fs][key] = statistics.median(v) if v else None
    meta = meta_json(a.raw) or {}
    # the FREE_METRICS of the filesystems that have them
    fallv, fmed = {}, {}
    for fs in fs_list:
        for key, _, _, src in FREE_METRICS:
            v = load(a.raw, fs, key, src, rounds)
            if v:
                fallv.setdefault(fs, {})[key] = v
                fmed.setdefault(fs, {})[key] = statistics.median(v)
    free_meta = meta_json(a.raw, "meta-free") or {}

    os.makedirs(a.out, exist_ok=True)
    plots = plot(a.out, fs_list, med)
    cpu, ncpu, mem, kernel = machine()
    fio_version = sh(["fio", "--version"])
    now = a.date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    L = []
    w = L.append
    w("# daxfs against tmpfs and passthrough_hp")
    w("")
    w("Written by `fio-jobs/run-daxfs` (see the section Filesystem of")
    w("[docs/benchmarking.md](../benchmarking.md) for the method);")
    w("do not edit by hand, run the benchmark again.")
    w("")
    if noisy:
        w(f"**Noise: every round started with the load average above {a.max_load}** (other")
        w("work competed for the cores); the figures below are not a measurement.")
        w("")
    w(f"- Run: {now}, {a.runs} round(s), {a.elapsed} s in all; every round mounts each")
    w("  filesystem fresh, in rotating order, and runs every data workload once.")
    w(f"- Machine: {cpu}, {ncpu} cores, {mem} RAM, Linux {kernel}; {fio_version},")
    w(f"  libfuse {a.fuse_version}. Emulated pmem: the daxfs region is a file in /dev/shm.")
    w(f"- Data: one {a.size} file, {a.runtime} s per fio job after {a.ramp} s of warm-up.")
    w(f"  Region and tmpfs size {a.region_size}.")
    if a.pin_cpu != "none":
        w(f"  The 4 KiB psync random reads (one request at a time) ran on CPU {a.pin_cpu},")
        w("  with the daemons serving /dev/fuse pinned there for the job; the other jobs")
        w("  and daemons used every CPU.")
    w(f"- Metadata: all filesystems mounted at once, {a.meta_reps} repetitions of")
    w(f"  {a.files} files (create, stat, unlink) and {meta.get('appends', '?')} 4-byte appends")
    w("  each, filesystems visited in turn after a warm-up (fio-jobs/daxfs/metaops.py).")
    if meta.get("cpu") is not None:
        pinned = sorted(n for n, c in meta.get("daemon_cpus", {}).items()
                        if c == str(meta["cpu"]))
        w(f"  The loop ran on CPU {meta['cpu']}, and so did every daemon thread that reads"
          f" /dev/fuse ({', '.join(pinned) or 'none'});")
        w("  the io_uring daemons' queue threads stayed on their own CPUs.")
    w(f"- Load average (1, 5, 15 min) before / after: {a.load}. At the start of each")
    w("  round: " + ", ".join(f"{r}: {loads[r]:.2f}" for r in sorted(loads)) +
      f"; metadata repetitions: " + ", ".join(f"{x:.2f}" for x in meta.get("load", [])) + ".")
    w(f"  Medians are over the rounds that started at a load of at most {a.max_load}:")
    w(f"  {', '.join(map(str, rounds))}" + (" (none did: all rounds)." if noisy else "."))
    w("")
    if PEER in fs_list or KPEER in fs_list:
        w("The two passthrough_hp columns are the same libfuse example over a tmpfs,")
        w("run two ways. `passthrough_hp` (its defaults, run as root) uses the")
        w("kernel's FUSE passthrough: once a file is open, the kernel sends its")
        w("reads and writes straight to the backing tmpfs file and the daemon never")
        w("sees them, so its data figures are close to tmpfs's. daxfs cannot do")
        w("that (FUSE passthrough maps a FUSE file to a whole backing file; a daxfs")
        w("file is extents inside one region), so it is a reference, not a peer.")
        w("`passthrough_hp-fuse` (`--nopassthrough`) sends every read and write that")
        w("its kernel page cache cannot serve to the daemon as a FUSE request, as")
        w("daxfs does: that is the like-for-like comparison for a FUSE data path,")
        w("and the targets are taken against it first.")
        w("")
    w("## Commands")
    w("")
    w("```sh")
    w(a.cmdline)
    w("```")
    w("")
    w("which, for each filesystem of each round, runs:")
    w("")
    w("```sh")
    for m in a.mount:
        name, _, cmd = m.partition("=")
        w(f"{cmd:<72} # {name}")
    w(f"FSB_DIR=MNT FSB_SIZE={a.size} FSB_RUNTIME={a.runtime} FSB_RAMP={a.ramp} "
      "fio --create_only=1 fio-jobs/daxfs/seqread.fio   # lay the file out")
    for j in a.jobs.split():
        w(f"FSB_DIR=MNT FSB_SIZE={a.size} FSB_RUNTIME={a.runtime} FSB_RAMP={a.ramp} "
          f"fio --output-format=json fio-jobs/daxfs/{j}.fio")
    if fmed:
        w(f"taskset -c {a.pin_cpu} fio --output-format=json fio-jobs/daxfs/randread.fio"
          "   # randread-free (see below)")
    w("umount MNT")
    w("```")
    w("")
    w("and then, with every filesystem mounted on its own MNT_fs:")
    w("")
    w("```sh")
    w(f"fio-jobs/daxfs/metaops.py --files {a.files} --reps {a.meta_reps} "
      "tmpfs=MNT_tmpfs passthrough_hp=MNT_passthrough_hp:PID ...")
    if free_meta:
        w("# again, the filesystems on both transports, their daemons unpinned")
        w(f"fio-jobs/daxfs/metaops.py --files {a.files} --reps {a.meta_reps} --cpu {a.pin_cpu} "
          + " ".join(f"{n}=MNT_{n}:PID" for n in free_meta.get("fs", {})))
    w("```")
    w("")
    w("## Medians")
    w("")
    md_head(w, ["workload", "unit"], fs_list)
    for key, label, unit, _ in METRICS:
        w(f"| {label} | {unit} | " + " | ".join(fmt(med[fs][key], unit) for fs in fs_list) + " |")
    w("")
    for p in plots:
        w(f"![{p}]({p})")
        w("")

    # Ratio tables: each daxfs path against the FUSE-data peer on the same
    # transport, against passthrough_hp with kernel passthrough, each FUSE
    # filesystem against itself on the other transport, and against tmpfs.
    against = lambda peer, tr: [(p, peer) for p in best_paths(fs_list, tr)
                                if peer in fs_list]
    tables = [
        ("Against the FUSE data peer (passthrough_hp --nopassthrough, same transport)",
         against(PEER, "") + against(PEER + URING, URING)),
        ("Against passthrough_hp with kernel passthrough (a reference: its data "
         "never reaches its daemon)",
         against(KPEER, "") + against(KPEER + URING, URING)),
        ("io_uring against /dev/fuse",
         [(b + URING, b) for b in [PEER, KPEER] + DAXFS_PATHS + [CACHED, WRITEBACK]
          if b in fs_list and b + URING in fs_list]),
        ("cache=always (and with writeback) against cache=never (daxfs-dax)",
         [(c + tr, "daxfs-dax" + tr) for c in (CACHED, WRITEBACK) for tr in ("", URING)
          if c + tr in fs_list and "daxfs-dax" + tr in fs_list]),
        ("Against tmpfs",
         [(p, CEILING) for p in fs_list if p.startswith("daxfs-")]
         if CEILING in fs_list else []),
    ]
    if any(cols for _, cols in tables):
        w("## Ratios")
        w("")
        w("Median of the per-round ratios (per-repetition for metadata); higher is")
        w("better for the first filesystem. `-uring`: FUSE over io_uring.")
        w("")
    for title, cols in tables:
        if not cols:
            continue
        w(f"### {title}")
        w("")
        md_head(w, ["workload"], [f"{x} / {y}" for x, y in cols])
        for key, label, unit, _ in METRICS:
            cells = []
            for x, y in cols:
                rs = rep_ratios(allv, x, y, key)
                cells.append(fmt_ratio(statistics.median(rs) if rs else None))
            w(f"| {key} | " + " | ".join(cells) + " |")
        w("")

    trows = target_rows(fs_list, med, allv, (fmed, fallv))
    if trows:
        w("## Targets")
        w("")
        w("Ratios of medians; \"each\" lists the same ratio within each round (each")
        w("metadata repetition), to show the spread. A ratio that reaches its target")
        w("counts as met if every round (repetition) reaches it too, or if they agree")
        w(f"(none more than {AGREE * 100:.0f} % from their median); otherwise it is")
        w("\"unsure\", with the largest deviation.")
        w("")
        w("| target | wanted | filesystem | ratio | met | each |")
        w("|---|---:|---|---:|:-:|---|")
        for what, want, fs, x, ok, each, each_ok in trows:
            sp = spread(each)
            if x is None:
                met = "n/a"
            elif not ok:
                met = "**no**"
            elif not each_ok and sp is not None and sp > AGREE:
                met = f"unsure ({sp * 100:.0f} %)"
            else:
                met = "yes"
            w(f"| {what} | {want} | {fs} | {fmt_ratio(x)} | {met} | "
              + ", ".join(fmt_ratio(r) for r in each) + " |")
        w("")
    free_section(w, fs_list, fmed, fallv, free_meta, a.pin_cpu)
    if "daxfs-page" in fs_list and ("daxfs-dax" in fs_list or "daxfs-bio" in fs_list):
        w("The page path (4 KiB page cache with struct pages) is the baseline the pfn")
        w("paths must beat:")
        w("")
        pfn = [p for p in ("daxfs-dax", "daxfs-bio") if p in fs_list]
        md_head(w, ["workload"], [f"{p[6:]} / page" for p in pfn])
        for key, label, unit, _ in METRICS:
            w(f"| {key} | " + " | ".join(
                fmt_ratio(ratio(med[p][key], med["daxfs-page"][key])) for p in pfn) + " |")
        w("")

    if meta and (PEER in fs_list or PEER + URING in fs_list):
        w("## Do the metadata repetitions agree?")
        w("")
        w("Largest deviation of one repetition's ratio from the median ratio")
        w(f"(the method asks for at most {AGREE * 100:.0f} %).")
        w("")
        md_head(w, ["ratio"], ["create", "unlink", "stat", "append"])
        for x in fs_list:
            if not x.startswith("daxfs-"):
                continue
            y = PEER + (URING if x.endswith(URING) else "")
            if y not in fs_list:
                continue
            cells = []
            for key in ("create", "unlink", "stat", "append"):
                sp = spread(rep_ratios(allv, x, y, key))
                cells.append("n/a" if sp is None else f"{sp * 100:.0f} %")
            w(f"| {x} / {y} | " + " | ".join(cells) + " |")
        w("")

    paths = [p for p in fs_list if p.startswith("daxfs-")]
    rows = []
    for label, step, op, key, app in DAEMON_ROWS:
        cells = []
        for p in paths:
            d = daemon_us(a.raw, p, step, op, rounds)
            u = app(med[p][key]) if app and med[p][key] else None
            cells.append("n/a" if d is None else f"{d:.1f}")
            cells.append("-" if u is None else f"{u:.1f}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    if paths and any(c != "n/a" for row in rows for c in row.split(" | ")[1::2]):
        w("## Where the time goes in daxfs")
        w("")
        w("Mean microseconds per FUSE request inside the daxfs daemon (from `daxfs stat`,")
        w("the difference across each job) against microseconds per request as the")
        w("application saw it (1 / rate, for the jobs that have one request in flight).")
        w("The difference is the FUSE round trip: the kernel queueing the request,")
        w("waking a daemon thread, copying the reply, and waking the application.")
        w("The daemon's clock stops when its reply call returns; on a busy machine")
        w("that can be after the application has been woken, so the daemon's")
        w("time can exceed the application's.")
        w("")
        md_head(w, ["request"], [f"{p[6:]} {who}" for p in paths for who in ("daemon", "app")])
        for row in rows:
            w(row)
        w("")

    cpu_rows = []
    for label, job, phase in CPU_ROWS:
        cells = []
        for fs in fs_list:
            c = cpu_us(a.raw, fs, job, phase, rounds)
            cells.append("n/a" if c is None else f"{c[0] + c[1]:.1f} ({c[1]:.1f})")
        cpu_rows.append(f"| {label} | " + " | ".join(cells) + " |")
    if any("(" in row for row in cpu_rows):
        w("## CPU time per request")
        w("")
        w("Microseconds of CPU per request, application plus daemon, with the daemon's")
        w("share in parentheses (median of the rounds; lower is better). CPU time")
        w("suffers less than throughput from other work on a busy machine: it counts")
        w("the work done, not the waiting for a core. The application is fio's job")
        w("thread (its kernel time included: the copy into its buffer, the FUSE")
        w("request) or metaops.py; the daemon is all threads of the FUSE daemon.")
        w("Not counted: kernel threads (writeback of passthrough_hp's dirty pages is")
        w("queued by a kworker, though the WRITE itself is served by the daemon), and")
        w("io_uring's worker threads, which is why the QD16 job is not in this table.")
        w("")
        md_head(w, ["request"], fs_list)
        for row in cpu_rows:
            w(row)
        w("")

    for table, fs, how in (
            ("reqcount.md", "daxfs-dax",
             ["From the daemon's counters (`daxfs stat`), by fio-jobs/daxfs/reqcount.py."]),
            ("reqcount-peer.md", PEER,
             ["The same operations, counted by the kernel's FUSE tracepoints",
              "(`fio-jobs/daxfs/reqcount.py --trace`), which do not see FORGETs. Under",
              "its default writeback cache the kernel keeps written data, so its reads",
              "of just-written files come from the page cache."])):
        rq = os.path.join(a.raw, table)
        if not os.path.exists(rq):
            continue
        w(f"## FUSE requests per operation ({fs})")
        w("")
        for line in how:
            w(line)
        w("")
        with open(rq) as f:
            w(f.read().rstrip())
        w("")

    w("## Every round")
    w("")
    w("Values per round (per metadata repetition) in run order, to judge the")
    w("spread behind each median.")
    w("")
    w("| workload | filesystem | each |")
    w("|---|---|---|")
    for key, label, unit, _ in METRICS:
        for fs in fs_list:
            w(f"| {key} | {fs} | " + ", ".join(fmt(v, unit) for v in allv[fs][key]) + " |")
    w("")

    expl = os.path.join(os.path.dirname(os.path.abspath(__file__)), "why.md")
    if os.path.exists(expl):
        with open(expl) as f:
            w(f.read().rstrip())
        w("")

    tmp = os.path.join(a.out, "daxfs.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(L))
    os.replace(tmp, os.path.join(a.out, "daxfs.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
