#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""reqcount.py - FUSE requests per file operation on a mount: on daxfs
from the daemon's own counters (`daxfs stat --json`), on any FUSE
filesystem from the kernel's FUSE tracepoints (--trace).

  reqcount.py DAXFS_BIN MNT [N]     prints a Markdown table on stdout
  reqcount.py --trace MNT [N]

Each operation is done N times (default 50) on its own files, the counters
are read before and after, and the table gives the requests of each type
per operation (the two reads of the statistics file itself are measured
once and taken off). With --trace the requests are those the kernel sends
to MNT's connection (tracepoint fuse/fuse_request_send, in a tracing
instance of its own that is removed at the end; root, a kernel with FUSE
tracepoints); FORGETs do not pass that tracepoint and are not counted.
Used for the table in docs/design.md and by fio-jobs/run-daxfs. Exit
status 0, 1 on a failed system call (or no FUSE tracepoints), 2 on usage.
"""
import errno
import json
import os
import re
import subprocess
import sys

import toolmain

TRACEFS = "/sys/kernel/tracing"


def counts(daxfs, mnt):
    out = subprocess.run([daxfs, "stat", mnt, "--json"], capture_output=True, text=True,
                         check=True).stdout
    return {k: v.get("count", 0) for k, v in json.loads(out)["ops"].items()}


class Trace:
    """The kernel's fuse_request_send events of one FUSE connection, in a
    tracing instance of their own."""

    def __init__(self, mnt):
        ev = os.path.join(TRACEFS, "events", "fuse", "fuse_request_send")
        if not os.path.isdir(ev):
            raise OSError(errno.ENOENT, "no FUSE tracepoints in this kernel (or tracefs is "
                          "not mounted there); on daxfs, count with its own counters", ev)
        st = os.stat(mnt)
        # the kernel's dev_t: 20 bits of minor
        self.conn = (os.major(st.st_dev) << 20) | os.minor(st.st_dev)
        self.dir = os.path.join(TRACEFS, "instances", f"reqcount.{os.getpid()}")
        os.mkdir(self.dir)
        ev = os.path.join(self.dir, "events", "fuse", "fuse_request_send")
        try:
            with open(os.path.join(ev, "filter"), "w") as f:
                f.write(f"connection == {self.conn}")
            with open(os.path.join(ev, "enable"), "w") as f:
                f.write("1")
        except OSError:
            os.rmdir(self.dir)
            raise

    def counts(self):
        c = {}
        with open(os.path.join(self.dir, "trace")) as f:
            for m in re.finditer(r"\(FUSE_([A-Z_]+)\)", f.read()):
                k = m.group(1).lower()
                c[k] = c.get(k, 0) + 1
        return c

    def close(self):
        with open(os.path.join(self.dir, "events", "fuse", "fuse_request_send", "enable"),
                  "w") as f:
            f.write("0")
        os.rmdir(self.dir)


def diff(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: reqcount.py DAXFS_BIN|--trace MNT [N]", file=sys.stderr)
        return 2
    daxfs, mnt = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) == 4 else 50
    if daxfs != "--trace":
        return count_ops(lambda: counts(daxfs, mnt), mnt, n)
    trace = Trace(mnt)
    try:
        return count_ops(trace.counts, mnt, n)
    finally:
        trace.close()


def count_ops(counts_now, mnt, n):
    """Print the table: requests per operation, from counts_now()."""
    top = os.path.join(mnt, f"reqcount.{os.getpid()}")
    os.mkdir(top)
    for i in range(n):
        with open(os.path.join(top, f"r{i}"), "wb") as f:
            f.write(b"x" * 8192)
        os.mkdir(os.path.join(top, f"d{i}"))
    # what reading the counters costs by itself
    a = counts_now()
    b = counts_now()
    base = diff(a, b)

    def op_create(i):
        os.close(os.open(os.path.join(top, f"c{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))

    def op_stat(i):
        os.stat(os.path.join(top, f"r{i}"))

    def op_read(i):
        with open(os.path.join(top, f"r{i}"), "rb", buffering=0) as f:
            f.read(4096)

    def op_reread(i):
        with open(os.path.join(top, f"r{i}"), "rb", buffering=0) as f:
            f.read(4096)

    def op_append(i):
        fd = os.open(os.path.join(top, f"r{i}"), os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"abc\n")
        os.close(fd)

    def op_append_open(i):
        os.write(app_fd, b"abc\n")

    def op_ls(i):
        for e in os.scandir(os.path.join(top, f"d{i}")):
            e.stat()

    def op_ls_l(i):
        if i == 0:
            for e in os.scandir(top):
                e.stat(follow_symlinks=False)

    def op_unlink(i):
        os.unlink(os.path.join(top, f"c{i}"))

    def op_mkdir_rmdir(i):
        p = os.path.join(top, f"m{i}")
        os.mkdir(p)
        os.rmdir(p)

    app_fd = os.open(os.path.join(top, "log"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    ops = [
        ("create + close", op_create, n),
        ("stat (cached name)", op_stat, n),
        ("open + read 4 KiB + close", op_read, n),
        ("again (a second open and read)", op_reread, n),
        ("open O_APPEND + write 4 B + close", op_append, n),
        ("write 4 B, O_APPEND, file open", op_append_open, n),
        ("opendir + readdir + closedir (empty dir)", op_ls, n),
        (f"ls -l of {2 * n + 2} entries (per entry)", op_ls_l, 1),
        ("unlink", op_unlink, n),
        ("mkdir + rmdir", op_mkdir_rmdir, n),
    ]
    rows = []
    kinds = set()
    for label, fn, per in ops:
        a = counts_now()
        for i in range(n):
            fn(i)
        b = counts_now()
        d = diff(a, b)
        for k, v in base.items():
            d[k] = d.get(k, 0) - v
        entries = 2 * n + 2 if per == 1 else n
        d = {k: v / entries for k, v in d.items() if v > 0}
        kinds |= set(d)
        rows.append((label, d))
    os.close(app_fd)
    order = ["lookup", "create", "open", "getattr", "setattr", "read", "write", "flush",
             "release", "opendir", "readdir", "releasedir", "unlink", "mkdir", "rmdir",
             "forget"]
    cols = [k for k in order if k in kinds] + sorted(kinds - set(order))
    print("| operation | " + " | ".join(c.upper() for c in cols) + " | total |")
    print("|---|" + "---:|" * (len(cols) + 1))
    for label, d in rows:
        cells = [f"{d[c]:.2g}" if d.get(c) else "" for c in cols]
        print(f"| {label} | " + " | ".join(cells) + f" | {sum(d.values()):.2g} |")
    return 0


if __name__ == "__main__":
    toolmain.run(main)
