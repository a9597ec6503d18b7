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
[--region-size SIZE] [--files N] [--fuse-version V] [--load STR]
[--mount NAME=COMMAND]... [--jobs "seqread ..."]

Raw files: FS.JOB.ROUND.json from fio (--output-format=json) and
FS.meta.ROUND.json from metaops.py. Medians are over the rounds.
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
    ("create", "file create (open O_CREAT + close)", "ops/s", ("meta", "create_per_s")),
    ("stat", "stat by path", "ops/s", ("meta", "stat_per_s")),
    ("unlink", "unlink", "ops/s", ("meta", "unlink_per_s")),
]

# Targets from the issue: the best daxfs data path against passthrough_hp.
TARGETS = {"seqread": 1.0, "seqwrite": 1.0, "randread": 1.0, "randread-qd16": 1.0,
           "create": 2.0, "unlink": 2.0}

DAXFS_PATHS = ["daxfs-dax", "daxfs-bio", "daxfs-page"]
PEER = "passthrough_hp"
CEILING = "tmpfs"


def load(raw, fs, key, src, runs):
    vals = []
    for r in range(1, runs + 1):
        if src[0] == "meta":
            path = os.path.join(raw, f"{fs}.meta.{r}.json")
        else:
            path = os.path.join(raw, f"{fs}.{src[0]}.{r}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            text = f.read()
        # fio may print notes before the JSON document.
        d = json.loads(text[text.index("{"):])
        if src[0] == "meta":
            vals.append(float(d[src[1]]))
        else:
            job = d["jobs"][0][src[1]]
            if key.startswith("seq"):
                vals.append(job["bw_bytes"] / (1 << 20))
            else:
                vals.append(job["iops"])
    return vals


# The daxfs daemon's statistics, saved after each step: which request type
# carries each workload, and the app-side microseconds per request when the
# workload runs one request at a time (None: not comparable).
STAT_STEPS = ["mount", "seqread", "randread", "randread-qd16", "seqwrite", "meta"]
DAEMON_ROWS = [
    # (label, step, op, metric key, app us per request from the median)
    ("seqread: read, 1 MiB", "seqread", "read", "seqread", lambda v: 1e6 / v),
    ("randread: read, 4 KiB", "randread", "read", "randread", lambda v: 1e6 / v),
    ("randread-qd16: read, 4 KiB", "randread-qd16", "read", "randread-qd16", None),
    ("seqwrite: write, 1 MiB", "seqwrite", "write", "seqwrite", lambda v: 1e6 / v),
    ("create: create (+ close)", "meta", "create", "create", lambda v: 1e6 / v),
    ("unlink: unlink", "meta", "unlink", "unlink", lambda v: 1e6 / v),
]


def daemon_us(raw, fs, step, op, runs):
    """Median over rounds of the mean time (us) one request of type op spent
    inside the daxfs daemon during step, or None without statistics."""
    vals = []
    prev_step = STAT_STEPS[STAT_STEPS.index(step) - 1]
    for r in range(1, runs + 1):
        try:
            with open(os.path.join(raw, f"{fs}.{prev_step}.{r}.stat.json")) as f:
                a = json.load(f)["ops"].get(op)
            with open(os.path.join(raw, f"{fs}.{step}.{r}.stat.json")) as f:
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
]


def cpu_us(raw, fs, job, phase, runs):
    """Median over rounds of (application, daemon) CPU microseconds per
    request, or None. The application is fio's job thread (its own rusage
    over the measured time) or the metaops.py process; the daemon is every
    thread of the FUSE daemon (none for tmpfs)."""
    vals = []
    for r in range(1, runs + 1):
        try:
            if job == "meta":
                with open(os.path.join(raw, f"{fs}.meta.{r}.json")) as f:
                    d = json.load(f)
                n = d["files"]
                app = d[f"{phase}_app_cpu_s"]
                dmn = d[f"{phase}_daemon_cpu_s"]
            else:
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
         ["randread", "randread-qd16", "create", "stat", "unlink"], True),
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
    ap.add_argument("--files", default="20000")
    ap.add_argument("--fuse-version", default="?")
    ap.add_argument("--load", default="?")
    ap.add_argument("--date", default=None, help="when the run started")
    ap.add_argument("--mount", action="append", default=[],
                    help="NAME=COMMAND: how NAME was mounted (repeatable)")
    ap.add_argument("--jobs", default="seqread randread randread-qd16 seqwrite")
    a = ap.parse_args()

    fs_list = a.fs.split()
    allv = {fs: {} for fs in fs_list}
    med = {fs: {} for fs in fs_list}
    for fs in fs_list:
        for key, _, _, src in METRICS:
            v = load(a.raw, fs, key, src, a.runs)
            allv[fs][key] = v
            med[fs][key] = statistics.median(v) if v else None

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
    w(f"- Run: {now}, {a.runs} round(s), {a.elapsed} s in all; every round mounts each")
    w("  filesystem fresh, in rotating order, and runs every workload once.")
    w(f"- Machine: {cpu}, {ncpu} cores, {mem} RAM, Linux {kernel}; {fio_version},")
    w(f"  libfuse {a.fuse_version}. Emulated pmem: the daxfs region is a file in /dev/shm.")
    w(f"- Data: one {a.size} file, {a.runtime} s per fio job after {a.ramp} s of warm-up;")
    w(f"  metadata: {a.files} files in one directory. Region and tmpfs size {a.region_size}.")
    w(f"- Load average (1, 5, 15 min) before / after: {a.load}.")
    w(f"  A load above the core count ({os.cpu_count()}) means other work competed")
    w("  for the cores, and the numbers are noisy.")
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
    w(f"fio-jobs/daxfs/metaops.py MNT {a.files}")
    w("umount MNT")
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

    paths = [p for p in DAXFS_PATHS if p in fs_list]
    if paths and (PEER in fs_list or CEILING in fs_list):
        w("## Ratios")
        w("")
        w("Each daxfs data path divided by the peer (higher is better for daxfs).")
        w("")
        hdr = []
        for p in paths:
            if PEER in fs_list:
                hdr.append(f"{p[6:]} / {PEER}")
            if CEILING in fs_list:
                hdr.append(f"{p[6:]} / {CEILING}")
        md_head(w, ["workload"], hdr)
        for key, label, unit, _ in METRICS:
            cells = []
            for p in paths:
                if PEER in fs_list:
                    cells.append(fmt_ratio(ratio(med[p][key], med[PEER][key])))
                if CEILING in fs_list:
                    cells.append(fmt_ratio(ratio(med[p][key], med[CEILING][key])))
            w(f"| {key} | " + " | ".join(cells) + " |")
        w("")

    if paths and PEER in fs_list:
        w("## Targets")
        w("")
        w("The best daxfs data path against passthrough_hp: at least 1.0x on sequential")
        w("read and write and 4 KiB random read, at least 2x on creates and unlinks.")
        w("")
        w("The ratio is of medians; \"rounds\" gives the same ratio within each round")
        w("(both filesystems ran minutes apart in the same round), to show the spread.")
        w("")
        w("| workload | target | best path | ratio | met | rounds |")
        w("|---|---:|---|---:|:-:|---|")
        for key, label, unit, _ in METRICS:
            if key not in TARGETS:
                continue
            best = max(paths, key=lambda p: med[p][key] or 0)
            x = ratio(med[best][key], med[PEER][key])
            met = "n/a" if x is None else ("yes" if x >= TARGETS[key] else "**no**")
            per = [fmt_ratio(ratio(b, p)) for b, p in zip(allv[best][key], allv[PEER][key])]
            w(f"| {key} | {TARGETS[key]:.1f}x | {best[6:]} | {fmt_ratio(x)} | {met} | "
              + ", ".join(per) + " |")
        w("")
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

    rows = []
    for label, step, op, key, app in DAEMON_ROWS:
        cells = []
        for p in paths:
            d = daemon_us(a.raw, p, step, op, a.runs)
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
            c = cpu_us(a.raw, fs, job, phase, a.runs)
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

    if a.runs > 1:
        w("## Every round")
        w("")
        w("Values per round in run order, to judge the spread behind each median.")
        w("")
        w("| workload | filesystem | rounds |")
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
