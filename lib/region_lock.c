/* SPDX-License-Identifier: MIT */
/*
 * region_lock.c - the advisory lock that gives a region one owner.
 *
 * Three parts:
 *  - a per-process table of locked regions (by device and inode), so one
 *    process holds one open file description per region and counts its
 *    users (flock locks of two descriptions conflict even in one process);
 *  - the holder lookup for refusal messages: /proc/locks names the pid by
 *    the locked file's device:inode, /proc/PID/fdinfo confirms it still
 *    holds it (else every process's fdinfo is searched: the pid in
 *    /proc/locks is whoever took the lock, which may have forked and
 *    exited since), /proc/PID/comm names the program and
 *    /proc/self/mountinfo the FUSE mount whose source is the region;
 *  - the bounded wait for a filesystem daemon that is closing.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "region_lock.h"

/* How often a waiting acquire looks again, ms. */
#define LOCK_POLL_MS 50

/*
 * Programs that serve a mounted region and keep the lock for a moment
 * after the last mount is gone, while they write back and close.
 */
static const char *const closing_daemons[] = {"daxfs"};

/* One locked region of this process. */
struct lock_entry {
	struct lock_entry *next;
	dev_t dev;
	ino_t ino;
	int fd;		    /* the open file description holding the flock */
	pid_t owner;	    /* process that took it; another pid: inherited by fork() */
	unsigned nr_shared; /* references that asked for shared */
	unsigned nr_excl;   /* references that asked for exclusive */
	bool held_excl;	    /* the flock is exclusive (never downgraded while in use) */
	bool sole;	    /* taken with PMR_LOCK_SOLE: no other reference */
};

struct pmr_lock {
	struct lock_entry *e;
	enum pmr_lock_mode mode;
};

static pthread_mutex_t lock_table_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct lock_entry *lock_table;

static struct lock_entry *table_find(dev_t dev, ino_t ino)
{
	for (struct lock_entry *e = lock_table; e; e = e->next)
		if (e->dev == dev && e->ino == ino)
			return e;
	return NULL;
}

static void table_remove(struct lock_entry *e)
{
	for (struct lock_entry **pp = &lock_table; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			return;
		}
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* closing_wait_ms - $PMD_REGION_LOCK_WAIT (seconds, may be fractional) or the default. */
static uint64_t closing_wait_ms(void)
{
	const char *s = getenv("PMD_REGION_LOCK_WAIT");
	char *end;
	double v;

	if (!s || !*s)
		return PMR_LOCK_CLOSING_WAIT_MS;
	v = strtod(s, &end);
	if (*end || !(v >= 0) || v > 3600)
		return PMR_LOCK_CLOSING_WAIT_MS;
	return (uint64_t)(v * 1000);
}

/*
 * open_for_lock - any descriptor of @path will do for flock(2); O_NONBLOCK
 * so that a path naming a FIFO does not block here (the region open then
 * refuses it).
 */
static int open_for_lock(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 && errno == EACCES)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* ---- who holds it ---------------------------------------------------- */

/*
 * lock_line_match - parse one /proc/locks or fdinfo "lock:" line: true if it
 * is a granted FLOCK on @dev:@ino; *@pid and *@excl from it.
 */
static bool lock_line_match(const char *line, dev_t dev, ino_t ino, pid_t *pid, bool *excl)
{
	char type[16], rw[16];
	unsigned maj, min;
	unsigned long long i;
	int p;

	if (!strncmp(line, "lock:", 5))
		line += 5;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"; waiters have "->" */
	if (sscanf(line, " %*d: %15s %*s %15s %d %x:%x:%llu", type, rw, &p, &maj, &min, &i) != 6)
		return false;
	if (strcmp(type, "FLOCK") || makedev(maj, min) != dev || (ino_t)i != ino)
		return false;
	*pid = p;
	*excl = !strcmp(rw, "WRITE");
	return true;
}

/*
 * fdinfo_holds - 1 if process @pid has a description holding the flock of
 * @dev:@ino, 0 if not, -errno if its fdinfo cannot be read (EACCES: not
 * ours to look at; ENOENT: gone).
 */
static int fdinfo_holds(pid_t pid, dev_t dev, ino_t ino, bool *excl)
{
	char dir[64], file[320], line[256];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		FILE *f;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		f = fopen(file, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			pid_t p;

			if (!strncmp(line, "lock:", 5) &&
			    lock_line_match(line, dev, ino, &p, excl)) {
				found = 1;
				break;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* scan_fdinfo - the lowest pid (other than ours) whose fdinfo shows the lock, or 0. */
static pid_t scan_fdinfo(dev_t dev, ino_t ino, bool *excl)
{
	pid_t self = getpid(), best = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == self || (best && pid > best))
			continue;
		if (fdinfo_holds(pid, dev, ino, excl) == 1)
			best = pid;
	}
	closedir(d);
	return best;
}

/* read_comm - /proc/PID/comm without its newline. */
static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* unescape_mount_field - undo mountinfo's octal escapes (\040 etc.) in place. */
static void unescape_mount_field(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/*
 * source_is - true if the mount source @src names @dev:@ino: an absolute
 * path, or one relative to the holder's working directory or ours.
 */
static bool source_is(const char *src, pid_t holder, dev_t dev, ino_t ino)
{
	char path[4200];
	struct stat st;

	if (src[0] == '/')
		return !stat(src, &st) && st.st_dev == dev && st.st_ino == ino;
	if (holder > 0) {
		snprintf(path, sizeof(path), "/proc/%d/cwd/%s", (int)holder, src);
		if (!stat(path, &st) && st.st_dev == dev && st.st_ino == ino)
			return true;
	}
	return !stat(src, &st) && st.st_dev == dev && st.st_ino == ino;
}

/*
 * find_mount - the mount point of a FUSE mount whose source is the region
 * @dev:@ino (daxfs mounts name the region as their source). Returns true
 * and the mount point in @mnt, or false.
 */
static bool find_mount(dev_t dev, ino_t ino, pid_t holder, char *mnt, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), *fields[5], *save = NULL, *tok;
		char fstype[64], source[4096];
		int n = 0;

		if (!sep)
			continue;
		/* "id parent maj:min root mountpoint ..." */
		for (tok = strtok_r(line, " ", &save); tok && n < 5;
		     tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		if (n < 5 || sscanf(sep + 3, "%63s %4095s", fstype, source) != 2)
			continue;
		if (strncmp(fstype, "fuse", 4))
			continue;
		unescape_mount_field(source);
		if (!source_is(source, holder, dev, ino))
			continue;
		unescape_mount_field(fields[4]);
		snprintf(mnt, len, "%s", fields[4]);
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/* holder_of - fill @h for the region @dev:@ino; -ENOENT if no other process holds it. */
static int holder_of(dev_t dev, ino_t ino, struct pmr_lock_holder *h)
{
	pid_t self = getpid(), pid = 0;
	bool excl = false, any = false;
	char line[256];
	FILE *f;

	memset(h, 0, sizeof(*h));
	f = fopen("/proc/locks", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			pid_t p;
			bool x;

			if (!lock_line_match(line, dev, ino, &p, &x))
				continue;
			any = true;
			/* prefer an exclusive holder that is not us */
			if (p != self && (!pid || (x && !excl))) {
				pid = p;
				excl = x;
			}
		}
		fclose(f);
	}
	if (pid > 0) {
		bool x = excl;
		int r = fdinfo_holds(pid, dev, ino, &x);

		if (r == 0 || r == -ENOENT)
			pid = 0; /* it forked and went away (or is not what it was) */
		else if (r == 1)
			excl = x;
	}
	if (!pid && any)
		pid = scan_fdinfo(dev, ino, &excl);
	if (!any && !pid)
		return -ENOENT;
	h->pid = pid;
	h->exclusive = excl;
	if (pid > 0)
		read_comm(pid, h->comm, sizeof(h->comm));
	find_mount(dev, ino, pid, h->mountpoint, sizeof(h->mountpoint));
	return 0;
}

int pmr_lock_holder(const char *path, struct pmr_lock_holder *h)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return holder_of(st.st_dev, st.st_ino, h);
}

const char *pmr_lock_describe(const struct pmr_lock_holder *h, char *buf, size_t len)
{
	const char *what = h->comm[0] ? h->comm : "unknown program";

	if (h->pid <= 0)
		snprintf(buf, len, "another process%s%s", h->mountpoint[0] ? " (mounted on " : "",
			 h->mountpoint[0] ? h->mountpoint : "");
	else if (h->mountpoint[0])
		snprintf(buf, len, "PID %d (%s, mounted on %s)", (int)h->pid, what, h->mountpoint);
	else if (!h->exclusive)
		snprintf(buf, len, "PID %d (%s, reading it)", (int)h->pid, what);
	else
		snprintf(buf, len, "PID %d (%s)", (int)h->pid, what);
	if (h->pid <= 0 && h->mountpoint[0])
		strncat(buf, ")", len - strlen(buf) - 1);
	return buf;
}

/* refuse - the -EBUSY message: who holds @path and what to do about it. */
static int refuse(const char *path, const struct pmr_lock_holder *h)
{
	char who[700];

	pmr_lock_describe(h, who, sizeof(who));
	if (h->mountpoint[0])
		return pmd_err(-EBUSY, "region %s is in use by %s; unmount it first (umount %s)",
			       path, who, h->mountpoint);
	if (h->pid > 0)
		return pmd_err(-EBUSY,
			       "region %s is in use by %s; wait for it to finish or stop it "
			       "(kill %d)",
			       path, who, (int)h->pid);
	return pmd_err(-EBUSY,
		       "region %s is in use by %s; see which with 'fuser -v %s' and stop it first",
		       path, who, path);
}

/* is_closing_daemon - @h is a filesystem daemon whose mount is gone. */
static bool is_closing_daemon(const struct pmr_lock_holder *h)
{
	if (h->pid <= 0 || h->mountpoint[0])
		return false;
	for (size_t i = 0; i < sizeof(closing_daemons) / sizeof(closing_daemons[0]); i++)
		if (!strcmp(h->comm, closing_daemons[i]))
			return true;
	return false;
}

/* ---- taking it ------------------------------------------------------- */

/*
 * entry_take - one attempt at @mode on @path under the table mutex.
 * Returns 0 with a reference counted in *@ep, -EWOULDBLOCK if another
 * process holds it in a conflicting mode (*@dev, *@ino set for the holder
 * lookup), -EALREADY if this process holds it and @sole or a sole holder
 * forbids another reference, or another -errno.
 */
static int entry_take(const char *path, enum pmr_lock_mode mode, bool sole, struct lock_entry **ep,
		      dev_t *dev, ino_t *ino)
{
	bool excl = mode == PMR_LOCK_EXCLUSIVE;
	struct lock_entry *e;
	struct stat st;
	int fd, err;

	fd = open_for_lock(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;

	e = table_find(st.st_dev, st.st_ino);
	if (e && e->owner == getpid() && (sole || e->sole)) {
		close(fd);
		return -EALREADY;
	}
	if (e && !sole && (!excl || e->held_excl)) {
		/* held in a mode that covers this one: count it */
		close(fd);
		goto out_count;
	}
	if (e && e->owner == getpid()) {
		/* shared -> exclusive on our own description */
		close(fd);
		if (flock(e->fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
			/* a failed conversion drops the old lock: take shared back */
			if (flock(e->fd, LOCK_SH | LOCK_NB))
				e->held_excl = false;
			return err;
		}
		e->held_excl = true;
		goto out_count;
	}
	/*
	 * Not held here, or inherited shared from a parent (whose description
	 * we must not convert): a description of our own.
	 */
	if (flock(fd, (excl ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return err;
	}
	if (e) {
		/* replace the inherited entry: ours now (the parent keeps its copy) */
		close(e->fd);
		e->fd = fd;
		e->owner = getpid();
		e->held_excl = excl;
		e->sole = sole;
		goto out_count;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->fd = fd;
	e->owner = getpid();
	e->held_excl = excl;
	e->sole = sole;
	e->next = lock_table;
	lock_table = e;

out_count:
	if (excl)
		e->nr_excl++;
	else
		e->nr_shared++;
	*ep = e;
	return 0;
}

int pmr_lock_acquire(const char *path, enum pmr_lock_mode mode, unsigned flags,
		     struct pmr_lock **out)
{
	uint64_t deadline = 0, wait_ms = 0;
	struct pmr_lock_holder h;
	struct pmr_lock *l;
	struct lock_entry *e = NULL;
	dev_t dev = 0;
	ino_t ino = 0;
	unsigned vanished = 0;
	char who[700];
	int err;

	*out = NULL;
	if (!path || !*path)
		return pmd_err(-EINVAL, "no region path given");
	if (mode != PMR_LOCK_SHARED && mode != PMR_LOCK_EXCLUSIVE)
		return pmd_err(-EINVAL, "bad lock mode %d", (int)mode);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (;;) {
		pthread_mutex_lock(&lock_table_mutex);
		err = entry_take(path, mode, flags & PMR_LOCK_SOLE, &e, &dev, &ino);
		pthread_mutex_unlock(&lock_table_mutex);
		if (err == -EALREADY) {
			err = pmd_err(-EBUSY, "region %s is already open in this process", path);
			goto out_free;
		}
		if (err != -EWOULDBLOCK)
			break;
		if (holder_of(dev, ino, &h) == -ENOENT && ++vanished < 3)
			continue; /* let go between our try and our look: try again */
		if (!(flags & PMR_LOCK_WAIT_CLOSING) || !is_closing_daemon(&h)) {
			err = refuse(path, &h);
			goto out_free;
		}
		if (!deadline) {
			wait_ms = closing_wait_ms();
			deadline = now_ms() + wait_ms;
			fprintf(stderr,
				"%s: waiting up to %g s for %s (PID %d) to finish closing it "
				"(no longer mounted)\n",
				path, (double)wait_ms / 1000, h.comm, (int)h.pid);
		}
		if (now_ms() >= deadline) {
			err = pmd_err(
				-EBUSY,
				"region %s is in use by %s, still closing %g s after its "
				"last mount went away; wait for it to exit or stop it (kill %d)",
				path, pmr_lock_describe(&h, who, sizeof(who)),
				(double)wait_ms / 1000, (int)h.pid);
			goto out_free;
		}
		sleep_ms(LOCK_POLL_MS);
	}
	if (err) {
		if (err == -ENOENT)
			err = pmd_err(err, "region %s does not exist", path);
		else
			err = pmd_err(err, "cannot lock region %s: %s", path, strerror(-err));
		goto out_free;
	}
	l->e = e;
	l->mode = mode;
	*out = l;
	return 0;

out_free:
	free(l);
	return err;
}

void pmr_lock_release(struct pmr_lock **lp)
{
	struct pmr_lock *l = lp ? *lp : NULL;
	struct lock_entry *e;

	if (!l)
		return;
	pthread_mutex_lock(&lock_table_mutex);
	e = l->e;
	if (l->mode == PMR_LOCK_EXCLUSIVE)
		e->nr_excl--;
	else
		e->nr_shared--;
	if (!e->nr_excl && !e->nr_shared) {
		/*
		 * close(), never LOCK_UN: a child made by fork() may share the
		 * description, and the lock is its too until it lets go.
		 */
		table_remove(e);
		close(e->fd);
		free(e);
	}
	pthread_mutex_unlock(&lock_table_mutex);
	free(l);
	*lp = NULL;
}

enum pmr_lock_mode pmr_lock_mode_of(const struct pmr_lock *l)
{
	return l->mode;
}

int pmr_lock_convert(struct pmr_lock *l, const char *path, enum pmr_lock_mode mode)
{
	struct lock_entry *e = l->e;
	bool excl = mode == PMR_LOCK_EXCLUSIVE;
	struct pmr_lock_holder h;
	int err = 0;

	if (mode == l->mode)
		return 0;
	pthread_mutex_lock(&lock_table_mutex);
	if (!e->sole || e->owner != getpid()) {
		pthread_mutex_unlock(&lock_table_mutex);
		return pmd_err(-EINVAL, "region %s: only a sole lock holder may change its mode",
			       path);
	}
	if (flock(e->fd, (excl ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		/* a failed conversion may drop the old lock: take shared back */
		if (excl && flock(e->fd, LOCK_SH | LOCK_NB))
			e->held_excl = false;
	} else {
		e->held_excl = excl;
		e->nr_excl = excl;
		e->nr_shared = !excl;
		l->mode = mode;
	}
	pthread_mutex_unlock(&lock_table_mutex);
	if (err == -EWOULDBLOCK) {
		if (holder_of(e->dev, e->ino, &h))
			memset(&h, 0, sizeof(h));
		return refuse(path, &h);
	}
	if (err)
		return pmd_err(err, "cannot lock region %s: %s", path, strerror(-err));
	return 0;
}

int pmr_lock_covers_fd(const struct pmr_lock *l, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	return st.st_dev == l->e->dev && st.st_ino == l->e->ino ? 0 : -ESTALE;
}
