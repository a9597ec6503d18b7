#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report.py - turn one section's fio JSON results into docs/results/<section>.md,
a TSV of every repetition, and gnuplot plots (SVG). Called by fio-jobs/run.

Usage: report.py SECTION RAW_DIR OUT_DIR
       report.py --index OUT_DIR     (docs/results/fio.md from the section reports)

RAW_DIR holds one file per run, <case>.r<rep>.json (fio --output, which may
start with the engine's "pmemdev-stats:" line before the JSON), plus
cases.tsv (case, label, group, command) and meta.txt (key=value lines).
"""
import json
import os
import re
import statistics
import subprocess
import sys

GIB = 1 << 30
MODES = ("pfn", "folio", "page", "ondemand", "memdesc")  # the descriptor modes, pfn first


def load_run(path):
    """Metrics of one fio run: bandwidth, IOPS, latency, CPU per GiB, engine stats."""
    text = open(path).read()
    start = re.search(r"^\{", text, re.M)
    if not start:
        raise ValueError(f"{path}: no JSON in fio output")
    data = json.loads(text[start.start():])
    jobs = data["jobs"]
    stats = {}
    for m in re.finditer(r"^pmemdev-stats: (.*)$", text, re.M):
        for kv in m.group(1).split():
            k, _, v = kv.partition("=")
            stats.setdefault(k, []).append(v)
    bw = iops = io_bytes = lat_ns = 0.0
    cpu_s = 0.0
    err = 0
    for job in jobs:
        err |= job["error"]
        runtime_s = job["job_runtime"] / 1000.0
        cpu_s += (job["usr_cpu"] + job["sys_cpu"]) / 100.0 * runtime_s
        for d in ("read", "write"):
            dd = job[d]
            if dd["io_bytes"] == 0:
                continue
            bw += dd["bw_bytes"]
            iops += dd["iops"]
            io_bytes += dd["io_bytes"]
            lat_ns = max(lat_ns, dd["lat_ns"]["mean"])
    if io_bytes == 0:
        err = err or -1  # a run that moved nothing is a failed run
    r = {
        "bw_mib": bw / (1 << 20),
        "iops_k": iops / 1000.0,
        "lat_us": lat_ns / 1000.0,
        "cpu_s_per_gib": cpu_s / (io_bytes / GIB) if io_bytes else float("nan"),
        "error": err,
    }
    if "mean_bvecs_per_bio" in stats:
        r["bvecs"] = float(stats["mean_bvecs_per_bio"][0])
        r["desc_bytes"] = int(stats["descriptor_bytes"][0])
    return r


def med(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1000):
        return f"{int(v):,}"
    return f"{v:,.{nd}f}"


def fmt_bytes(v):
    if v is None:
        return "-"
    for unit, size in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if v >= size:
            return f"{v / size:.1f} {unit}"
    return f"{int(v)} B"


def cpu_ms(s):
    return None if s is None else s * 1000.0


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def by_mode(m, meta):
    """(job, {mode: medians}) of each job of the section that ran in pfn mode, with
    every mode that ran it."""
    for job in meta["jobs"].split():
        ran = {mode: m[f"{mode}-{job}"] for mode in MODES if m.get(f"{mode}-{job}")}
        if "pfn" in ran:
            yield job, ran


def modes_run(m, meta):
    """The modes, pfn first, that ran any job of the section."""
    return [mode for mode in MODES if any(f"{mode}-{job}" in m for job in meta["jobs"].split())]


def vs_pfn(x, key, mode):
    """x[mode][key] / x["pfn"][key], or None when the mode did not run."""
    return ratio(x[mode][key], x["pfn"][key]) if mode in x else None


def verdict(value, target, higher=True):
    if value is None:
        return "n/a"
    ok = value >= target if higher else value <= target
    return "meets" if ok else "**misses**"


def plot(out_dir, section, title, ylabel, rows, series, log=False):
    """Clustered bar chart: rows = [(xlabel, {series: value})]."""
    dat = os.path.join(out_dir, f".{section}.dat")
    with open(dat, "w") as f:
        f.write("x " + " ".join(f'"{s}"' for s in series) + "\n")
        for x, vals in rows:
            f.write(f'"{x}" ' + " ".join(
                "NaN" if vals.get(s) is None else f"{vals[s]:.4f}" for s in series) + "\n")
    svg = os.path.join(out_dir, f"{section}.svg")
    cols = " , ".join(f"'{dat}' using {i + 2}:xtic(1) title columnheader({i + 2})"
                      for i in range(len(series)))
    script = f"""
set terminal svg size 1000,420 dynamic font 'sans,10'
set output '{svg}'
set title "{title}"
set ylabel "{ylabel}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
{"set logscale y" if log else "set yrange [0:*]"}
set xtics nomirror
plot {cols}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report.py: gnuplot failed for {section}: {e}", file=sys.stderr)
        return None
    finally:
        os.unlink(dat)
    return os.path.basename(svg)


def main():
    section, raw, out_dir = sys.argv[1:4]
    meta = {}
    for line in open(os.path.join(raw, "meta.txt")):
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v
    cases = []  # (case, label, group, command)
    for line in open(os.path.join(raw, "cases.tsv")):
        cases.append(tuple(line.rstrip("\n").split("\t")))

    runs = {}
    tsv = [("case", "rep", "MiB/s", "kIOPS", "lat_us", "cpu_s_per_GiB", "bvecs_per_bio",
            "descriptor_bytes", "error")]
    for case, _, _, _ in cases:
        runs[case] = []
        rep = 1
        while os.path.exists(os.path.join(raw, f"{case}.r{rep}.json")):
            r = load_run(os.path.join(raw, f"{case}.r{rep}.json"))
            runs[case].append(r)
            tsv.append((case, rep, f"{r['bw_mib']:.1f}", f"{r['iops_k']:.2f}",
                        f"{r['lat_us']:.2f}", f"{r['cpu_s_per_gib']:.4f}",
                        r.get("bvecs", ""), r.get("desc_bytes", ""), r["error"]))
            rep += 1
    with open(os.path.join(out_dir, f"{section}.tsv"), "w") as f:
        for row in tsv:
            f.write("\t".join(str(c) for c in row) + "\n")

    m = {c: {k: med(runs[c], k) for k in
             ("bw_mib", "iops_k", "lat_us", "cpu_s_per_gib", "bvecs", "desc_bytes")}
         for c, _, _, _ in cases}
    errors = [c for c, _, _, _ in cases if any(r["error"] for r in runs[c]) or not runs[c]]

    md = []
    md.append(f"# fio results: {section}\n")
    md.append(f"Generated by `fio-jobs/run --section {section}` on {meta.get('date', '?')}. "
              f"Medians of {meta.get('reps', '?')} repetitions of {meta.get('runtime', '?')} s "
              f"each (plus {meta.get('ramp', '?')} s warm-up). Rerun: see "
              f"[docs/benchmarking.md](../benchmarking.md).\n")
    md.append(f"Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, "
              f"kernel {meta.get('kernel', '?')}, {meta.get('fio', '?')}; region "
              f"{meta.get('region_size', '?')} on {meta.get('region_fs', '?')} (emulated pmem: "
              f"DRAM, cache-line flushes forced). These are shared, noisy machines: read "
              f"ratios, not absolute numbers.\n")
    if "load_before" in meta:
        load_max = max(float(meta["load_before"].split()[0]),
                       float(meta.get("load_after", "0").split()[0]))
        md.append(f"Load average (1, 5, 15 min) before the section: {meta['load_before']}; "
                  f"after: {meta.get('load_after', '?')} on {meta.get('cores', '?')} cores."
                  + (" **The load was above the number of cores: these figures are noise.**"
                     if load_max > float(meta.get("cores", "0") or 0) else "") + "\n")
    if errors:
        md.append(f"**Cases with failed runs (fio error, no I/O, or missing):** "
                  f"{', '.join(errors)}\n")

    md.append("| case | MiB/s | kIOPS | mean lat (µs) | CPU ms per GiB | bvecs/bio | "
              "descriptor bytes |")
    md.append("|---|---:|---:|---:|---:|---:|---:|")
    for c, label, _, _ in cases:
        x = m[c]
        md.append(f"| {label} | {fmt(x['bw_mib'])} | {fmt(x['iops_k'])} | "
                  f"{fmt(x['lat_us'], 2)} | {fmt(cpu_ms(x['cpu_s_per_gib']), 2)} | "
                  f"{fmt(x['bvecs'], 1)} | {fmt_bytes(x['desc_bytes'])} |")
    md.append("")
    md.append("CPU ms per GiB is fio's usr+sys CPU of the job's process (device worker "
              "threads included) divided by the GiB moved. bvecs/bio and descriptor bytes "
              "come from the engine's `blk_stats=1` line (region memmap + I/O buffer "
              "descriptors; bios of the warm-up included).\n")

    targets = []
    img = None
    if section == "blk":
        md.append("## Ratios against pfn mode\n")
        others = modes_run(m, meta)[1:]
        md.append("| workload | " + " | ".join(f"{o}/pfn MiB/s" for o in others) + " | " +
                  " | ".join(f"{o}/pfn CPU per GiB" for o in others) + " |")
        md.append("|---|" + "---:|" * (2 * len(others)))
        rows = []
        for job, x in by_mode(m, meta):
            md.append(f"| {job} | " +
                      " | ".join(fmt(vs_pfn(x, "bw_mib", o), 2) for o in others) + " | " +
                      " | ".join(fmt(vs_pfn(x, "cpu_s_per_gib", o), 2) for o in others) + " |")
            rows.append((job, {mode: x[mode]["bw_mib"] for mode in x}))
        md.append("")
        for job in ("seq-write", "seq-read"):
            p, pg = m.get(f"pfn-{job}"), m.get(f"page-{job}")
            if p and pg:
                r = ratio(p["bw_mib"], pg["bw_mib"])
                targets.append((f"2 MiB {job}: bandwidth pfn/page >= 1", fmt(r, 2),
                                verdict(r, 1.0)))
                r = ratio(pg["cpu_s_per_gib"], p["cpu_s_per_gib"])
                targets.append((f"2 MiB {job}: CPU per GiB page/pfn well above 1 (>= 1.5)",
                                fmt(r, 2), verdict(r, 1.5)))
        img = plot(out_dir, section, "pmemdev engine bandwidth by descriptor mode", "MiB/s",
                   rows, modes_run(m, meta))
    elif section == "null":
        md.append("## Descriptor cost alone (target=null), ratios against pfn\n")
        others = modes_run(m, meta)[1:]
        md.append("| workload | " + " | ".join(f"{o}/pfn CPU per GiB" for o in others) + " | " +
                  " | ".join(f"{o}/pfn IOPS" for o in others) + " |")
        md.append("|---|" + "---:|" * (2 * len(others)))
        rows = []
        for job, x in by_mode(m, meta):
            rc = vs_pfn(x, "cpu_s_per_gib", "page")
            md.append(f"| {job} | " +
                      " | ".join(fmt(vs_pfn(x, "cpu_s_per_gib", o), 2) for o in others) + " | " +
                      " | ".join(fmt(vs_pfn(x, "iops_k", o), 2) for o in others) + " |")
            rows.append((job, {mode: cpu_ms(x[mode]["cpu_s_per_gib"]) for mode in x}))
            if "seq" in job and rc is not None:
                targets.append((f"{job} (2 MiB): CPU per GiB page/pfn >= 5", fmt(rc, 2),
                                verdict(rc, 5.0)))
        md.append("")
        img = plot(out_dir, section, "target=null: CPU ms per GiB (lower is better)",
                   "CPU ms / GiB (log scale)", rows, modes_run(m, meta), log=True)
    elif section == "peers":
        md.append("## pmemdev (mode=pfn) against fio's own engines on the same file\n")
        md.append("| workload | ours/libpmem MiB/s | ours/mmap MiB/s | ours/libpmem CPU per GiB |")
        md.append("|---|---:|---:|---:|")
        rows = []
        qd16 = []  # (ratio to libpmem, job) of every qd16 completion setting
        for job in meta["jobs"].split():
            # Every completion setting at qd16 is compared with libpmem's qd16.
            peer_job = "randread-qd16" if job.startswith("randread-qd16") else job
            o = m.get(f"ours-{job}")
            lp, mm = (m.get(f"{e}-{peer_job}") for e in ("libpmem", "mmap"))
            if not o:
                continue
            r_lp = ratio(o["bw_mib"], lp["bw_mib"]) if lp else None
            r_mm = ratio(o["bw_mib"], mm["bw_mib"]) if mm else None
            r_cpu = ratio(o["cpu_s_per_gib"], lp["cpu_s_per_gib"]) if lp else None
            md.append(f"| {job} | {fmt(r_lp, 2)} | {fmt(r_mm, 2)} | {fmt(r_cpu, 2)} |")
            rows.append((job, {"pmemdev pfn": o["bw_mib"],
                               "libpmem": lp["bw_mib"] if lp else None,
                               "mmap": mm["bw_mib"] if mm else None}))
            if job in ("seq-write", "seq-read"):
                targets.append((f"2 MiB {job}: ours/libpmem >= 0.95", fmt(r_lp, 2),
                                verdict(r_lp, 0.95)))
            if job in ("randread-qd1", "randwrite-qd1"):
                targets.append((f"4 KiB {job}: ours/libpmem >= 0.95", fmt(r_lp, 2),
                                verdict(r_lp, 0.95)))
            if job.startswith("randread-qd16") and r_lp is not None:
                qd16.append((r_lp, job))
        if qd16:
            best, job = max(qd16)
            targets.append((f"4 KiB randread at iodepth 16, best completion setting "
                            f"(`{job}`): ours/libpmem >= 1.0", fmt(best, 2), verdict(best, 1.0)))
        md.append("")
        md.append("libpmem is synchronous: at iodepth 16 it still has one I/O in flight. "
                  "Ours runs the 16 reads in each completion setting of the engine "
                  "(fio-jobs/blk.fio): `randread-qd16` with the async defaults (one device "
                  "worker, bios plugged between reaps, run when idle), `-poll` with a worker "
                  "that polls for 100 us before it sleeps, `-noplug` queueing each bio as "
                  "fio submits it, `-worker` completing every bio on the worker, and "
                  "`-sync` completing each read in ->queue.\n")
        img = plot(out_dir, section, "pmemdev engine (pfn) and fio's engines, same region file",
                   "MiB/s", rows, ["pmemdev pfn", "libpmem", "mmap"])
    elif section == "scaling":
        md.append("## Two jobs against one\n")
        md.append("| mode | workload | 1 job MiB/s | 2 jobs MiB/s | 2/1 |")
        md.append("|---|---|---:|---:|---:|")
        rows = []
        for mode in MODES:
            for job in meta["jobs"].split():
                one, two = m.get(f"{mode}-{job}-j1"), m.get(f"{mode}-{job}-j2")
                if not one or not two:
                    continue
                r = ratio(two["bw_mib"], one["bw_mib"])
                md.append(f"| {mode} | {job} | {fmt(one['bw_mib'])} | {fmt(two['bw_mib'])} | "
                          f"{fmt(r, 2)} |")
                rows.append((f"{mode} {job}", {"1 job": one["bw_mib"], "2 jobs": two["bw_mib"]}))
                targets.append((f"{mode} 2 MiB {job}: 2 jobs / 1 job >= 1.6", fmt(r, 2),
                                verdict(r, 1.6)))
        md.append("")
        img = plot(out_dir, section, "2 MiB sequential, 1 and 2 jobs", "MiB/s", rows,
                   ["1 job", "2 jobs"])
    elif section == "verify":
        md.append("Each case writes with one mode and checks with `verify_only` in another.\n")

    if targets:
        md.append("## Targets\n")
        md.append("| target | measured | |")
        md.append("|---|---:|---|")
        for t in targets:
            md.append(f"| {t[0]} | {t[1]} | {t[2]} |")
        md.append("")
    if img:
        md.append(f"![{section}]({img})\n")

    md.append("## Commands\n")
    md.append("Environment for every run: " + meta.get("env", "") + "\n")
    md.append("```")
    for c, label, _, cmd in cases:
        md.append(cmd)
    md.append("```")
    with open(os.path.join(out_dir, f"{section}.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def index(out_dir):
    """docs/results/fio.md: every section's targets on one page, with links."""
    titles = {
        "blk": "Block layer per descriptor mode",
        "peers": "Against fio's libpmem and mmap engines",
        "null": "Descriptor cost alone (target=null)",
        "scaling": "One job against two",
        "verify": "Cross-mode verify",
    }
    md = ["# fio results\n",
          "The pmemdev fio engine measured by `fio-jobs/run`; each section has its own "
          "report with tables of medians, ratios, plots and the exact commands. How to "
          "rerun: [docs/benchmarking.md](../benchmarking.md).\n"]
    for section, title in titles.items():
        path = os.path.join(out_dir, f"{section}.md")
        if not os.path.exists(path):
            continue
        text = open(path).read().splitlines()
        md.append(f"## {title}: [{section}.md]({section}.md)\n")
        gen = next((line for line in text if line.startswith("Generated by")), None)
        if gen:
            md.append(gen.split(". Rerun")[0].rstrip(".") + ".\n")
        if section == "verify":
            md += [line for line in text if line.startswith("|")]
            md.append("")
            continue
        if "## Targets" in text:
            i = text.index("## Targets") + 1
            while i < len(text) and not text[i].startswith("|"):
                i += 1
            while i < len(text) and text[i].startswith("|"):
                md.append(text[i])
                i += 1
            md.append("")
        if os.path.exists(os.path.join(out_dir, f"{section}.svg")):
            md.append(f"![{section}]({section}.svg)\n")
    with open(os.path.join(out_dir, "fio.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--index":
        index(sys.argv[2])
    else:
        main()
