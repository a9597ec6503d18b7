#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""probe.py - every request on a (damaged) daxfs mount answered in time.

Walks the mount (at most --max entries) and, for each entry, asks what a
user would: lstat, listdir, read (a hash of the data), readlink, listxattr,
and unless --read-only a write (appended 4 KiB + fsync, only to files not
listed with --keep), a create + write + unlink inside each directory, and
statfs. Every request runs in a worker thread and must be answered within
--deadline seconds: one still pending then is a hang (the thread's /proc
state is reported; D is the uninterruptible sleep a FUSE daemon must never
cause). The FUSE connection is then aborted (through fusectl, or by killing
the daemon) so that nothing stays stuck, and the probe fails at once.

Allowed answers: data, or an errno a damaged filesystem may give (EIO,
EROFS, ENOENT, ...). Failures: a hang, EFAULT, ENOTCONN/ECONNABORTED (the
daemon died) unless --allow-dead, another exception, a --keep file whose
data differs, an --expect not met, and with --pid a daemon that exited.

Options:
  --deadline S        seconds per request (default 1)
  --keep PATH=SHA256  a file not damaged: reads must return this data
  --expect OP:PATH:R  request OP (lstat, listdir, read, write, readlink,
                      listxattr, create) on PATH (relative) must give R
                      (ok or an errno name)
  --pid N             the daemon's process, which must still run at the end
  --allow-dead        the daemon may exit (errors=panic)
  --read-only         no writes
  --max N             entries to visit (default 400)
Prints one line per request with -v; a summary line; exit 0 or 1.
"""
import errno
import hashlib
import os
import queue
import sys
import threading
import time

ALLOWED = {errno.EIO, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENOSPC,
           errno.EEXIST, errno.ENODATA, errno.ENOTEMPTY, errno.EINVAL, errno.ENAMETOOLONG,
           errno.EMLINK, errno.EFBIG, errno.ELOOP, errno.EPERM, errno.EACCES, errno.ERANGE,
           errno.EOPNOTSUPP, errno.ENXIO, errno.EBADF}
DEAD = {errno.ENOTCONN, errno.ECONNABORTED}


class Probe:
    def __init__(self, mnt, opts):
        self.mnt = mnt
        self.deadline = opts.get("deadline", 1.0)
        self.keep = opts.get("keep", {})
        self.expect = opts.get("expect", {})
        self.allow_dead = opts.get("allow_dead", False)
        self.read_only = opts.get("read_only", False)
        self.verbose = opts.get("verbose", False)
        self.failures = []
        self.results = {}
        self.count = 0
        self.slowest = 0.0
        self.conn = self.connection()
        self.pid = opts.get("pid")
        self.jobs = queue.Queue()
        self.tid = None
        threading.Thread(target=self.worker, daemon=True).start()

    def connection(self):
        """The FUSE connection number of the mount, from mountinfo (no request)."""
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == self.mnt:
                    return int(fields[2].split(":")[1])
        return None

    def abort(self):
        """End the FUSE connection so no request stays stuck: through
        fusectl when it is mounted, else by killing the daemon (the kernel
        aborts the connection when its /dev/fuse descriptor closes)."""
        try:
            with open("/sys/fs/fuse/connections/%d/abort" % self.conn, "w") as f:
                f.write("1")
            return
        except (OSError, TypeError):
            pass
        if self.pid:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass

    def worker(self):
        """The thread that makes the requests, one at a time."""
        self.tid = threading.get_native_id()
        while True:
            fn, box, done = self.jobs.get()
            try:
                box.append(("ok", fn()))
            except OSError as e:
                box.append(("err", e.errno))
            except Exception as e:  # noqa: BLE001 - reported as a failure
                box.append(("exc", repr(e)))
            done.set()

    def run(self, op, rel, fn):
        """fn() in the worker within the deadline: its value or an errno name."""
        box, done = [], threading.Event()
        t0 = time.monotonic()
        self.jobs.put((fn, box, done))
        if not done.wait(self.deadline):
            try:
                with open("/proc/self/task/%d/stat" % self.tid) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "?"
            self.abort()  # releases the request
            self.fail("%s %s: no answer within %.1f s (thread state %s)"
                      % (op, rel, self.deadline, state))
            print("probe: %d requests, a hang" % self.count)
            sys.stdout.flush()
            os._exit(1)  # the worker may still be stuck: nothing more to ask
        elapsed = time.monotonic() - t0
        self.slowest = max(self.slowest, elapsed)
        self.count += 1
        kind, val = box[0]
        if kind == "ok":
            name = "ok"
        elif kind == "err":
            name = errno.errorcode.get(val, str(val))
            if val not in ALLOWED and not (val in DEAD and self.allow_dead):
                self.fail("%s %s: %s" % (op, rel, name))
        else:
            name = "EXC"
            self.fail("%s %s: %s" % (op, rel, val))
        self.results[(op, rel)] = name
        if self.verbose:
            print("%-9s %-40s %s (%.3f s)" % (op, rel, name, elapsed))
        return val if kind == "ok" else name

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)

    def walk(self, limit):
        queue = [""]
        seen = 0
        while queue and seen < limit:
            rel = queue.pop(0)
            path = os.path.join(self.mnt, rel)
            st = self.run("lstat", rel or ".", lambda p=path: list(os.lstat(p))[:1])
            if not isinstance(st, list):
                continue
            seen += 1
            mode = st[0]
            self.run("listxattr", rel or ".", lambda p=path: os.listxattr(p, follow_symlinks=False))
            if (mode & 0o170000) == 0o040000:
                names = self.run("listdir", rel or ".", lambda p=path: sorted(os.listdir(p)))
                if isinstance(names, list):
                    queue.extend(os.path.join(rel, n) for n in names if not n.startswith(".daxfs"))
                if not self.read_only:
                    self.run("create", rel or ".", lambda p=path: create_one(p))
            elif (mode & 0o170000) == 0o100000:
                digest = self.run("read", rel, lambda p=path: read_hash(p))
                if rel in self.keep and isinstance(digest, str) and len(digest) == 64 \
                        and digest != self.keep[rel]:
                    self.fail("read %s: data changed" % rel)
                if not self.read_only and rel not in self.keep:
                    self.run("write", rel, lambda p=path: append_one(p))
            elif (mode & 0o170000) == 0o120000:
                self.run("readlink", rel, lambda p=path: os.readlink(p))
        self.run("statfs", ".", lambda: os.statvfs(self.mnt).f_bsize)


def read_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def append_one(path):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, b"p" * 4096, os.fstat(fd).st_size)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def create_one(dirpath):
    p = os.path.join(dirpath, "probe-new")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"n" * 5000)
    finally:
        os.close(fd)
    os.unlink(p)
    return True


def main(argv):
    opts = {"keep": {}, "expect": {}}
    mnt = None
    pid = None
    limit = 400
    args = iter(argv[1:])
    for a in args:
        if a == "--deadline":
            opts["deadline"] = float(next(args))
        elif a == "--keep":
            k, v = next(args).split("=", 1)
            opts["keep"][k] = v
        elif a == "--expect":
            op, path, want = next(args).split(":", 2)
            opts["expect"][(op, path)] = want
        elif a == "--pid":
            pid = int(next(args))
        elif a == "--allow-dead":
            opts["allow_dead"] = True
        elif a == "--read-only":
            opts["read_only"] = True
        elif a == "--max":
            limit = int(next(args))
        elif a == "-v":
            opts["verbose"] = True
        elif mnt is None:
            mnt = os.path.abspath(a)
        else:
            print("probe.py: unexpected argument " + a, file=sys.stderr)
            return 2
    if mnt is None:
        print(__doc__, file=sys.stderr)
        return 2
    opts["pid"] = pid
    p = Probe(mnt, opts)
    p.walk(limit)
    for key, want in opts["expect"].items():
        got = p.results.get(key)
        if got != want:
            p.fail("%s %s: got %s, expected %s" % (key[0], key[1], got, want))
    if pid is not None and not opts.get("allow_dead"):
        try:
            os.kill(pid, 0)
        except OSError:
            p.fail("the daemon (pid %d) is gone" % pid)
    print("probe: %d requests, slowest %.3f s, %d failures"
          % (p.count, p.slowest, len(p.failures)))
    return 1 if p.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
