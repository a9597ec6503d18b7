#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""metaops.py - metadata and small-append rates of several mounted
filesystems, measured interleaved so that they can be compared.

Part of the filesystem comparison run by fio-jobs/run-daxfs. fio has
filecreate/filestat/filedelete engines, but fio's per-file bookkeeping caps
them at about 2000 files/s even on tmpfs, far below what the filesystems
do, so this small timed loop measures the metadata rates instead.

  metaops.py [--files N] [--reps R] [--warmup N] [--appends N] [--cpu C]
             NAME=DIR[:PID]...

With --cpu C the loop runs on CPU C only (run-daxfs puts the /dev/fuse
daemons there too); the JSON records it and each daemon's allowed CPUs.

Every filesystem NAME is mounted at DIR (PID: its daemon, for CPU time).
First a warm-up per filesystem, untimed: N files created, stat'ed and
unlinked in a scratch directory, so that the daemon's worker threads exist
and its caches and the kernel's slab caches hold what the timed part
needs. Then R repetitions; each visits every filesystem once, starting one
filesystem later than the repetition before, and on each runs:

  create  N empty files in a new directory (open O_CREAT|O_EXCL, close)
  stat    each by path (stat(2): may be answered from the kernel's caches)
  unlink  each, then rmdir
  append  APPENDS writes of 4 bytes to one file opened O_APPEND (then the
          file is removed)

each phase timed on its own with a monotonic clock, with the CPU time of
this process and of the daemon (all threads). Every repetition works in a
fresh, empty directory of the same size, so no phase sees a directory grown
by an earlier one; the repetitions of different filesystems are seconds
apart, so a change of the machine's load hits them alike, and the ratio of
two filesystems is taken within each repetition (see report.py).

Prints one JSON object: {"reps": R, "files": N, "appends": A, "load":
[1-minute load average at the start of each repetition], "fs": {NAME:
{"create_per_s": [...R values], "create_app_cpu_us": [CPU microseconds
per operation], "create_daemon_cpu_us": [...], ... the same for stat,
unlink, append}}, "cpu": C or null, "daemon_cpus": {NAME: "0-1" or null}}.
Exit status 0 on success, 1 if a system call fails (the message names the
call and the file), 2 on bad usage.
"""
import argparse
import json
import os
import sys

import toolmain
import time

PHASES = ("create", "stat", "unlink", "append")


def daemon_cpu(pid):
    """CPU seconds (user + system, all threads) of process pid, or 0.0."""
    if pid is None:
        return 0.0
    try:
        # Linux's process CPU clock of pid, as clock_getcpuclockid(3)
        # makes it: ((~pid) << 3) | CPUCLOCK_SCHED; nanosecond resolution.
        return time.clock_gettime(((~pid) << 3) | 2)
    except OSError:
        pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def allowed_cpus(pid):
    """The CPUs process pid may run on, as /proc lists them ("0-1"), or None."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return None


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Target:
    def __init__(self, spec):
        name, sep, rest = spec.partition("=")
        if not sep or not name or not rest:
            raise ValueError(f"'{spec}' is not NAME=DIR[:PID]")
        path, _, pid = rest.rpartition(":") if ":" in rest else (rest, "", "")
        if pid and not pid.isdigit():
            path, pid = rest, ""
        if not os.path.isdir(path):
            raise ValueError(f"{path} (of {name}) is not a directory")
        if pid and not os.path.exists(f"/proc/{pid}/stat"):
            raise ValueError(f"PID {pid} (of {name}) is not a running process")
        self.name, self.path = name, path
        self.pid = int(pid) if pid else None


def run_phases(t, tag, n, appends, timed):
    """Run the four phases on target t in a new directory; returns
    {phase: (seconds, app cpu s, daemon cpu s)}."""
    sub = os.path.join(t.path, f"fsb-meta.{os.getpid()}.{tag}")
    os.mkdir(sub)
    names = [os.path.join(sub, f"f{i:07d}") for i in range(n)]
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
    res = {}

    def mark():
        return (time.perf_counter(), time.process_time(), daemon_cpu(t.pid) if timed else 0.0)

    def done(phase, m0):
        m1 = mark()
        res[phase] = tuple(b - a for a, b in zip(m0, m1))

    m = mark()
    for p in names:
        os.close(os.open(p, flags, 0o644))
    done("create", m)
    m = mark()
    for p in names:
        os.stat(p)
    done("stat", m)
    m = mark()
    for p in names:
        os.unlink(p)
    done("unlink", m)
    if appends:
        log = os.path.join(sub, "append.log")
        fd = os.open(log, os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o644)
        rec = b"abc\n"
        m = mark()
        for _ in range(appends):
            os.write(fd, rec)
        done("append", m)
        os.close(fd)
        os.unlink(log)
    os.rmdir(sub)
    return res


def main():
    ap = argparse.ArgumentParser(description="interleaved metadata rates")
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--appends", type=int, default=20000)
    ap.add_argument("--cpu", type=int, default=None,
                    help="run on this CPU only (the caller pins the daemons)")
    ap.add_argument("targets", nargs="+", metavar="NAME=DIR[:PID]")
    a = ap.parse_args()
    for what in ("files", "reps"):
        if getattr(a, what) < 1:
            print(f"metaops.py: --{what} must be at least 1", file=sys.stderr)
            return 2
    if a.warmup < 0 or a.appends < 0:
        print("metaops.py: --warmup and --appends must not be negative", file=sys.stderr)
        return 2
    try:
        targets = [Target(s) for s in a.targets]
    except ValueError as e:
        print(f"metaops.py: {e}", file=sys.stderr)
        return 2
    if len({t.name for t in targets}) != len(targets):
        print("metaops.py: a NAME is given twice", file=sys.stderr)
        return 2

    if a.cpu is not None:
        try:
            os.sched_setaffinity(0, {a.cpu})
        except (OSError, ValueError) as e:
            print(f"metaops.py: --cpu {a.cpu}: {e}; give a CPU this process may use",
                  file=sys.stderr)
            return 2
    out = {"reps": a.reps, "files": a.files, "appends": a.appends, "load": [], "fs": {},
           "cpu": a.cpu, "daemon_cpus": {t.name: allowed_cpus(t.pid) for t in targets}}
    for t in targets:
        out["fs"][t.name] = {f"{p}_{k}": [] for p in PHASES
                             for k in ("per_s", "app_cpu_us", "daemon_cpu_us")}
        if a.warmup:
            run_phases(t, "warm", a.warmup, min(a.appends, 1000), False)
    for r in range(a.reps):
        out["load"].append(load1())
        k = r % len(targets)
        for t in targets[k:] + targets[:k]:
            res = run_phases(t, r, a.files, a.appends, True)
            d = out["fs"][t.name]
            for p, (secs, app, dmn) in res.items():
                count = a.appends if p == "append" else a.files
                d[f"{p}_per_s"].append(count / secs)
                d[f"{p}_app_cpu_us"].append(app / count * 1e6)
                d[f"{p}_daemon_cpu_us"].append(dmn / count * 1e6)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    toolmain.run(main)
