#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""metaops.py - file create, stat and unlink rates in one directory.

Part of the filesystem comparison run by fio-jobs/run-daxfs. fio has
filecreate/filestat/filedelete engines, but fio's per-file bookkeeping caps
them at about 2000 files/s even on tmpfs, far below what the filesystems
do, so this small timed loop measures the metadata rates instead.

  metaops.py DIR COUNT       prints one JSON object on stdout

In a new subdirectory of DIR it creates COUNT empty files (open with
O_CREAT|O_EXCL, then close: a FUSE filesystem sees CREATE, FLUSH and
RELEASE), then stats each by path (stat(2); a FUSE filesystem may answer
from the kernel's entry and attribute caches without a request), then
unlinks each (UNLINK), and removes the subdirectory. Each phase is timed on
its own with a monotonic clock. Exit status 0 on success, 1 if any system
call fails (the message names the call and the file), 2 on bad usage.
"""
import json
import os
import sys
import time


def main():
    if len(sys.argv) != 3:
        print("usage: metaops.py DIR COUNT", file=sys.stderr)
        return 2
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

    t0 = time.perf_counter()
    for p in names:
        os.close(os.open(p, flags, 0o644))
    t1 = time.perf_counter()
    for p in names:
        os.stat(p)
    t2 = time.perf_counter()
    for p in names:
        os.unlink(p)
    t3 = time.perf_counter()
    os.rmdir(sub)

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
