#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""metaops.py - file create, stat and unlink rates in one directory.

Part of the filesystem comparison run by fio-jobs/run-daxfs. fio has
filecreate/filestat/filedelete engines, but fio's per-file bookkeeping caps
them at about 2000 files/s even on tmpfs, far below what the filesystems
do, so this small timed loop measures the metadata rates instead.

  metaops.py DIR COUNT [PID]   prints one JSON object on stdout

In a new subdirectory of DIR it creates COUNT empty files (open with
O_CREAT|O_EXCL, then close: a FUSE filesystem sees CREATE and RELEASE,
and FLUSH unless it answered an earlier FLUSH with ENOSYS, as daxfs does), then stats each by path (stat(2); a FUSE filesystem may answer
from the kernel's entry and attribute caches without a request), then
unlinks each (UNLINK), and removes the subdirectory. Each phase is timed on
its own with a monotonic clock, and with the CPU time of this process and,
when PID (the filesystem daemon) is given, of that process (all threads). Exit status 0 on success, 1 if any
system call fails (the message names the call and the file), 2 on bad
usage.
"""
import json
import os
import sys
import time


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


def self_cpu():
    return time.process_time()


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: metaops.py DIR COUNT [PID]", file=sys.stderr)
        return 2
    pid = None
    if len(sys.argv) == 4:
        if not sys.argv[3].isdigit() or not os.path.exists(f"/proc/{sys.argv[3]}/stat"):
            print(f"metaops.py: PID '{sys.argv[3]}' is not a running process",
                  file=sys.stderr)
            return 2
        pid = int(sys.argv[3])
    top, count = sys.argv[1], sys.argv[2]
    if not count.isdigit() or int(count) < 1:
        print(f"metaops.py: COUNT must be a positive integer, not '{count}'",
              file=sys.stderr)
        return 2
    n = int(count)
    if not os.path.isdir(top):
        print(f"metaops.py: {top} is not a directory", file=sys.stderr)
        return 2

    sub = os.path.join(top, f"fsb-meta.{os.getpid()}")
    os.mkdir(sub)
    names = [os.path.join(sub, f"f{i:07d}") for i in range(n)]
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
    out = {"files": n}

    marks = []

    def mark():
        marks.append((time.perf_counter(), self_cpu(), daemon_cpu(pid)))

    mark()
    for p in names:
        os.close(os.open(p, flags, 0o644))
    mark()
    for p in names:
        os.stat(p)
    mark()
    for p in names:
        os.unlink(p)
    mark()
    os.rmdir(sub)
    (t0, _, _), (t1, _, _), (t2, _, _), (t3, _, _) = marks
    for i, phase in enumerate(("create", "stat", "unlink")):
        out[f"{phase}_app_cpu_s"] = marks[i + 1][1] - marks[i][1]
        out[f"{phase}_daemon_cpu_s"] = marks[i + 1][2] - marks[i][2]

    out["create_per_s"] = n / (t1 - t0)
    out["stat_per_s"] = n / (t2 - t1)
    out["unlink_per_s"] = n / (t3 - t2)
    out["seconds"] = t3 - t0
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print(f"metaops.py: {e.strerror}: {e.filename}", file=sys.stderr)
        sys.exit(1)
