/* SPDX-License-Identifier: MIT */
/*
 * test_region_lock - the region lock (lib/region_lock.h) between processes
 * and within one:
 *  - exclusive refuses exclusive and shared in another process with -EBUSY
 *    and a message naming the holder's PID and program; shared admits
 *    shared and refuses exclusive ("reading it");
 *  - one process counts its references (exclusive twice, shared then
 *    exclusive) and lets go with the last one; a PMR_LOCK_SOLE reference
 *    (a filesystem instance) admits no other in its process;
 *  - a child made by fork() shares its parent's lock and does not drop it;
 *  - a holder that took the lock, forked and exited is still named (by the
 *    process that holds it now, not the pid /proc/locks remembers);
 *  - PMR_LOCK_WAIT_CLOSING waits for a "daxfs" holder with no mount, says
 *    so on stderr, gets the lock when it goes, and gives up after the
 *    bounded wait ($PMD_REGION_LOCK_WAIT) when it does not; another
 *    program is refused at once;
 *  - pmr_open()/pmr_create() with PMR_F_LOCK_*, and pmr_lock_region(),
 *    lock the region until pmr_close(), and refuse like the lock;
 *  - directories lock as well as files; a FIFO is refused, not waited on.
 * Other processes are children that take the lock themselves after fork()
 * (so they hold their own description), or flock(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "errmsg.h"
#include "region.h"
#include "region_lock.h"
#include "test.h"
#include "units.h"

/* A child process holding the lock until told to let go. */
struct holder {
	pid_t pid;
	int go_fd; /* write a byte (or close) to make it release and exit */
};

/*
 * holder_start - fork a child named @comm that takes @mode on @path; if
 * @daemonize, that child forks again and exits, leaving the grandchild as
 * the holder (h->pid is then the grandchild). Returns once it holds it.
 */
static void holder_start(struct holder *h, const char *path, enum pmr_lock_mode mode,
			 const char *comm, bool daemonize)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(go));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct pmr_lock *l = NULL;
		pid_t me;

		close(ready[0]);
		close(go[1]);
		prctl(PR_SET_NAME, comm);
		if (pmr_lock_acquire(path, mode, 0, &l))
			_exit(2);
		if (daemonize) {
			pid_t gc = fork();

			if (gc < 0)
				_exit(3);
			if (gc > 0)
				_exit(0); /* the taker goes; the grandchild keeps the lock */
		}
		me = getpid();
		if (write(ready[1], &me, sizeof(me)) != sizeof(me))
			_exit(4);
		if (read(go[0], &c, 1) < 0) {
			/* closed: release all the same */
		}
		pmr_lock_release(&l);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	CHECK_EQ(read(ready[0], &h->pid, sizeof(h->pid)), (long)sizeof(h->pid));
	close(ready[0]);
	if (daemonize) {
		int st;

		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(h->pid != pid);
	} else {
		CHECK_EQ(h->pid, pid);
	}
	h->go_fd = go[1];
}

/* holder_stop - let the holder release and exit; reap it if it is our child. */
static void holder_stop(struct holder *h)
{
	close(h->go_fd);
	if (waitpid(h->pid, NULL, 0) != h->pid) {
		/* a grandchild: wait until it is gone */
		while (kill(h->pid, 0) == 0)
			usleep(10000);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* check_busy - @err is -EBUSY and the message names PID @pid and @what. */
static void check_busy(int err, pid_t pid, const char *what)
{
	char want[64];

	CHECK_EQ(err, -EBUSY);
	snprintf(want, sizeof(want), "in use by PID %d (%s", (int)pid, what);
	if (!strstr(pmd_errmsg(), want)) {
		fprintf(stderr, "message \"%s\" does not name \"%s\"\n", pmd_errmsg(), want);
		exit(1);
	}
}

/* other_can_lock - can a process outside ours take @excl on @path now (flock(1))? */
static bool other_can_lock(const char *path, bool excl)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "flock -n %s '%s' true", excl ? "-x" : "-s", path);
	return system(cmd) == 0;
}

static void test_between_processes(const char *path)
{
	struct pmr_lock *l = NULL, *l2 = NULL;
	struct holder h;

	/* exclusive in another process refuses both modes, naming it */
	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "lockholder", false);
	check_busy(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l), h.pid, "lockholder");
	CHECK(l == NULL);
	CHECK(strstr(pmd_errmsg(), path) != NULL);
	CHECK(strstr(pmd_errmsg(), "kill") != NULL); /* the next step */
	check_busy(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &l), h.pid, "lockholder");
	{
		struct pmr_lock_holder who;

		CHECK_OK(pmr_lock_holder(path, &who));
		CHECK_EQ(who.pid, h.pid);
		CHECK(who.exclusive);
		CHECK(!strcmp(who.comm, "lockholder"));
		CHECK(who.mountpoint[0] == '\0');
	}
	holder_stop(&h);
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l));
	CHECK(!other_can_lock(path, false));
	pmr_lock_release(&l);
	CHECK(l == NULL);
	CHECK(other_can_lock(path, true));

	/* shared admits shared, refuses exclusive and says the holder reads */
	holder_start(&h, path, PMR_LOCK_SHARED, "reader", false);
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &l));
	check_busy(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l2), h.pid, "reader");
	CHECK(strstr(pmd_errmsg(), "reading it") != NULL);
	/* the failed conversion kept our shared lock */
	CHECK(!other_can_lock(path, true));
	CHECK(other_can_lock(path, false));
	pmr_lock_release(&l);
	holder_stop(&h);
	CHECK_EQ(pmr_lock_holder(path, &(struct pmr_lock_holder){0}), -ENOENT);
}

static void test_in_process(const char *path)
{
	struct pmr_lock *a = NULL, *b = NULL, *c = NULL;

	/* exclusive twice: counted; released with the last reference */
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &a));
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &b));
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &c));
	CHECK_EQ(pmr_lock_mode_of(c), PMR_LOCK_SHARED);
	pmr_lock_release(&a);
	pmr_lock_release(&c);
	CHECK(!other_can_lock(path, false));
	pmr_lock_release(&b);
	CHECK(other_can_lock(path, true));

	/* shared, then exclusive: converted, others kept out */
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &a));
	CHECK(other_can_lock(path, false));
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &b));
	CHECK(!other_can_lock(path, false));
	pmr_lock_release(&b);
	CHECK(!other_can_lock(path, true)); /* still held (never downgraded in use) */
	pmr_lock_release(&a);
	CHECK(other_can_lock(path, true));

	/* sole: nobody else in this process, in either order */
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, PMR_LOCK_SOLE, &a));
	CHECK_EQ(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &b), -EBUSY);
	CHECK(strstr(pmd_errmsg(), "already open in this process") != NULL);
	CHECK_EQ(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, PMR_LOCK_SOLE, &b), -EBUSY);
	CHECK(!other_can_lock(path, false));
	pmr_lock_release(&a);
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &a));
	CHECK_EQ(pmr_lock_acquire(path, PMR_LOCK_SHARED, PMR_LOCK_SOLE, &b), -EBUSY);
	pmr_lock_release(&a);
	CHECK(other_can_lock(path, true));

	/* bad arguments */
	CHECK_EQ(pmr_lock_acquire(path, (enum pmr_lock_mode)7, 0, &a), -EINVAL);
	CHECK_EQ(pmr_lock_acquire("", PMR_LOCK_SHARED, 0, &a), -EINVAL);
	CHECK_EQ(pmr_lock_acquire("/nonexistent/region", PMR_LOCK_SHARED, 0, &a), -ENOENT);
	CHECK(strstr(pmd_errmsg(), "does not exist") != NULL);
	pmr_lock_release(NULL);
}

static void test_fork(const char *path)
{
	struct pmr_lock *l = NULL;
	int status;
	pid_t pid;

	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct pmr_lock *c = NULL;

		/* the child shares the parent's lock ... */
		if (pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &c))
			_exit(1);
		/* ... and letting go of its references does not drop it */
		pmr_lock_release(&c);
		pmr_lock_release(&l);
		_exit(other_can_lock(path, false) ? 2 : 0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(!other_can_lock(path, false));
	pmr_lock_release(&l);
	CHECK(other_can_lock(path, true));
}

static void test_forked_holder(const char *path)
{
	struct pmr_lock *l = NULL;
	struct holder h;

	/* the taker forked and exited: /proc/locks remembers a dead pid */
	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "nbdkit", true);
	check_busy(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l), h.pid, "nbdkit");
	holder_stop(&h);
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, 0, &l));
	pmr_lock_release(&l);
}

static void test_wait_closing(const char *path)
{
	struct pmr_lock *l = NULL;
	struct holder h;
	double t0, dt;
	pid_t pid;

	/* a "daxfs" holder with no mount lets go after 0.4 s: the waiter gets it */
	setenv("PMD_REGION_LOCK_WAIT", "20", 1);
	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "daxfs", false);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		usleep(400000);
		_exit(write(h.go_fd, "x", 1) == 1 ? 0 : 1);
	}
	t0 = now_s();
	CHECK_OK(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, PMR_LOCK_WAIT_CLOSING, &l));
	dt = now_s() - t0;
	CHECK(dt >= 0.3);
	CHECK(dt < 15);
	pmr_lock_release(&l);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	holder_stop(&h);

	/* it does not let go: refused after the bounded wait, naming it */
	setenv("PMD_REGION_LOCK_WAIT", "0.5", 1);
	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "daxfs", false);
	t0 = now_s();
	check_busy(pmr_lock_acquire(path, PMR_LOCK_SHARED, PMR_LOCK_WAIT_CLOSING, &l), h.pid,
		   "daxfs");
	dt = now_s() - t0;
	CHECK(dt >= 0.45);
	CHECK(dt < 10);
	CHECK(strstr(pmd_errmsg(), "still closing") != NULL);
	/* without the flag: at once */
	t0 = now_s();
	check_busy(pmr_lock_acquire(path, PMR_LOCK_SHARED, 0, &l), h.pid, "daxfs");
	CHECK(now_s() - t0 < 0.4);
	holder_stop(&h);

	/* any other program is not waited for */
	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "pmemdev", false);
	t0 = now_s();
	check_busy(pmr_lock_acquire(path, PMR_LOCK_EXCLUSIVE, PMR_LOCK_WAIT_CLOSING, &l), h.pid,
		   "pmemdev");
	CHECK(now_s() - t0 < 0.4);
	holder_stop(&h);
	unsetenv("PMD_REGION_LOCK_WAIT");
}

static void test_region_flags(const char *path, const char *newpath)
{
	struct pmr_region *r = NULL, *r2 = NULL;
	struct holder h;

	CHECK_OK(pmr_open(path, PMR_F_LOCK_EXCL, &r));
	CHECK(!other_can_lock(path, false));
	/* the same process may open it again (counted) */
	CHECK_OK(pmr_open(path, PMR_F_RDONLY | PMR_F_LOCK_SHARED, &r2));
	pmr_close(&r2);
	pmr_close(&r);
	CHECK(other_can_lock(path, true));
	CHECK_EQ(pmr_open(path, PMR_F_LOCK_EXCL | PMR_F_LOCK_SHARED, &r), -EINVAL);

	holder_start(&h, path, PMR_LOCK_EXCLUSIVE, "daxfs", false);
	check_busy(pmr_open(path, PMR_F_LOCK_EXCL, &r), h.pid, "daxfs");
	CHECK(r == NULL);
	check_busy(pmr_open(path, PMR_F_RDONLY | PMR_F_LOCK_SHARED, &r), h.pid, "daxfs");
	/* without a lock flag nothing is checked (callers that opt out) */
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	pmr_close(&r);
	/* pmr_lock_region: a region opened first, locked after */
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	check_busy(pmr_lock_region(r, PMR_LOCK_SHARED, 0), h.pid, "daxfs");
	pmr_close(&r);
	/* create over an existing, locked file names the holder */
	CHECK_EQ(pmr_create(path, 4 * MiB, PMR_F_LOCK_EXCL, &r), -EEXIST);
	CHECK(strstr(pmd_errmsg(), "in use by PID") != NULL);
	holder_stop(&h);

	unlink(newpath);
	CHECK_OK(pmr_create(newpath, 4 * MiB, PMR_F_LOCK_EXCL, &r));
	CHECK(!other_can_lock(newpath, false));
	pmr_close(&r);
	CHECK(other_can_lock(newpath, true));
	CHECK_OK(unlink(newpath));

	CHECK_OK(pmr_open(path, 0, &r));
	CHECK_OK(pmr_lock_region(r, PMR_LOCK_EXCLUSIVE, PMR_LOCK_SOLE));
	CHECK_EQ(pmr_lock_region(r, PMR_LOCK_EXCLUSIVE, 0), -EINVAL);
	CHECK(!other_can_lock(path, false));
	CHECK_EQ(pmr_open(path, PMR_F_LOCK_SHARED, &r2), -EBUSY); /* sole */
	pmr_close(&r);
	CHECK(other_can_lock(path, true));
}

/* A FIFO where a region should be: refused at once, never a hang in the lock's open. */
static void test_fifo(const char *fifo)
{
	struct pmr_region *r = NULL;

	unlink(fifo);
	CHECK_OK(mkfifo(fifo, 0600));
	alarm(20);
	CHECK_EQ(pmr_open(fifo, PMR_F_LOCK_EXCL, &r), -EINVAL);
	CHECK(strstr(pmd_errmsg(), "neither a regular file nor a dax device") != NULL);
	alarm(0);
	CHECK(r == NULL);
	CHECK_OK(unlink(fifo));
}

static void test_directory(const char *dir)
{
	struct pmr_lock *l = NULL;
	struct holder h;

	CHECK_OK(mkdir(dir, 0700));
	holder_start(&h, dir, PMR_LOCK_EXCLUSIVE, "chunked", false);
	check_busy(pmr_lock_acquire(dir, PMR_LOCK_SHARED, 0, &l), h.pid, "chunked");
	holder_stop(&h);
	CHECK_OK(pmr_lock_acquire(dir, PMR_LOCK_SHARED, 0, &l));
	pmr_lock_release(&l);
	CHECK_OK(rmdir(dir));
}

int main(void)
{
	struct pmr_region *r = NULL;
	char path[256], newpath[256], dir[256];

	NEED(system("flock -V >/dev/null 2>&1") == 0, "flock(1) (util-linux) is not installed");
	test_path(path, sizeof(path), "lock");
	test_path(newpath, sizeof(newpath), "lock-new");
	test_path(dir, sizeof(dir), "lock-dir");
	unlink(path);
	rmdir(dir);
	CHECK_OK(pmr_create(path, 4 * MiB, 0, &r));
	pmr_close(&r);

	test_between_processes(path);
	test_in_process(path);
	test_fork(path);
	test_forked_holder(path);
	test_wait_closing(path);
	test_region_flags(path, newpath);
	test_directory(dir);
	test_path(dir, sizeof(dir), "lock-fifo");
	test_fifo(dir);
	CHECK_OK(unlink(path));
	return 0;
}
