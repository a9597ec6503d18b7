/* SPDX-License-Identifier: MIT */
/*
 * region_lock.h - one owner per region.
 *
 * Every program that touches a region takes the same advisory lock on it:
 * exclusive to write (the daxfs daemon, mkfs.daxfs, fsck.daxfs -y, the
 * pmemdev writers, the fio engine, the nbdkit plugin), shared to read
 * (fsck.daxfs -n, pmemdev info, read-only benches, a read-only mount). A
 * second writer is refused with a message naming the holder:
 *
 *   REGION is in use by PID 1234 (daxfs, mounted on /mnt/x): unmount it
 *   first (umount /mnt/x)
 *
 * The lock is flock(2) on the region itself: the file, the /dev/dax device
 * node, or the directory of a region made of chunk files (flock works on
 * all three). flock does not say who holds it; /proc/locks does, by the
 * device and inode of the locked file, and /proc/PID/fdinfo confirms it
 * (the pid /proc/locks shows is the process that took the lock, which may
 * have forked and exited since).
 *
 * Within one process the lock is counted, not taken twice: flock locks
 * belong to an open file description, so two descriptions in the same
 * process would refuse each other. A process that already holds the lock
 * in a mode (from any caller) gets another reference; asking for exclusive
 * while it holds shared converts the lock (which can fail if another
 * process holds it shared too). A PMR_LOCK_SOLE reference admits no other
 * in its process. A child made by fork() shares its parent's
 * lock (same description) and may take references on it; it never changes
 * or drops the parent's lock: the description is released only when its
 * last file descriptor closes.
 *
 * A daxfs daemon holds the lock until it has written everything back,
 * which goes on for a moment after umount(8) returns. With
 * PMR_LOCK_WAIT_CLOSING, a caller that finds the lock held by such a daemon
 * while no mount of the region remains waits for it, a bounded time
 * (PMR_LOCK_CLOSING_WAIT_MS, or $PMD_REGION_LOCK_WAIT seconds), saying so
 * on stderr, instead of failing.
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef PMD_REGION_LOCK_H
#define PMD_REGION_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pmr_lock;

enum pmr_lock_mode {
	PMR_LOCK_SHARED = 1,	/* readers: many at once, no writer */
	PMR_LOCK_EXCLUSIVE = 2, /* one writer, nobody else */
};

/* Flags for pmr_lock_acquire(). */
#define PMR_LOCK_WAIT_CLOSING (1U << 0) /* wait for a daemon that is closing (see above) */
/*
 * No other reference in this process either: for an owner that keeps its
 * own state of the region (a filesystem instance), which a second user in
 * the same process would corrupt as surely as another process would.
 */
#define PMR_LOCK_SOLE (1U << 1)

/* How long PMR_LOCK_WAIT_CLOSING waits by default, ms. */
#define PMR_LOCK_CLOSING_WAIT_MS 10000

/* Who holds a region's lock, as far as /proc tells. */
struct pmr_lock_holder {
	pid_t pid;	      /* 0: not known (another pid namespace, or gone) */
	bool exclusive;	      /* held exclusive (else shared) */
	char comm[32];	      /* program name of @pid, "" if not known */
	char mountpoint[512]; /* where the region is mounted, "" if nowhere */
};

/*
 * pmr_lock_acquire - lock the region at @path in @mode, without blocking.
 *
 * Returns 0 and a handle in *@out, or -errno with pmd_errmsg() set:
 *   -EBUSY   another process holds the lock in a conflicting mode; the
 *            message names it (PID, program, mount point) and the next step;
 *            or, with PMR_LOCK_SOLE or against a sole holder, this process
 *            holds it already;
 *   -ENOENT  the region does not exist; other -errno from open(2)/flock(2).
 * With PMR_LOCK_WAIT_CLOSING, a holder that is a filesystem daemon with no
 * mount of the region left is waited for (see the file comment) before
 * -EBUSY; a one-line note goes to stderr when the wait starts.
 * The lock is released by pmr_lock_release() (or when the process exits).
 */
int pmr_lock_acquire(const char *path, enum pmr_lock_mode mode, unsigned flags,
		     struct pmr_lock **out);

/*
 * pmr_lock_release - drop this reference; the process lets the lock go
 * with its last reference (unless the lock was inherited through fork()).
 * Sets *@lp to NULL; NULL is a no-op.
 */
void pmr_lock_release(struct pmr_lock **lp);

/* pmr_lock_mode_of - the mode this reference asked for. */
enum pmr_lock_mode pmr_lock_mode_of(const struct pmr_lock *l);

/*
 * pmr_lock_convert - change the mode of @l, taken with PMR_LOCK_SOLE (the
 * only reference in this process), on the region at @path (for messages):
 * exclusive -> shared always works (a daemon remounted read-only lets
 * readers in); shared -> exclusive fails with -EBUSY naming the holder
 * while another process holds it, and the lock stays shared. Returns 0,
 * -EBUSY, -EINVAL (not a sole reference) or another -errno.
 */
int pmr_lock_convert(struct pmr_lock *l, const char *path, enum pmr_lock_mode mode);

/*
 * pmr_lock_covers_fd - 0 if @fd is open on the file @l locks, -ESTALE if the
 * path now names another file (replaced between lock and open), or -errno
 * of fstat(2).
 */
int pmr_lock_covers_fd(const struct pmr_lock *l, int fd);

/*
 * pmr_lock_holder - find who holds the lock of the region at @path (held
 * by another process). Returns 0 and *@h filled (h->pid 0 when the holder
 * cannot be named), -ENOENT if nobody holds it, or -errno of stat(2).
 */
int pmr_lock_holder(const char *path, struct pmr_lock_holder *h);

/*
 * pmr_lock_describe - "PID 1234 (daxfs, mounted on /mnt/x)" or "another
 * process" into @buf: the holder as the refusal message names it.
 */
const char *pmr_lock_describe(const struct pmr_lock_holder *h, char *buf, size_t len);

#endif
