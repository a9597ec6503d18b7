/* SPDX-License-Identifier: MIT */
/*
 * mmtest.h - real daxfs mounts for the DAX mmap tests.
 *
 * mt_setup() makes a region (on $PMD_TEST_DIR or /dev/shm, or on a huge
 * tmpfs or a hugetlbfs it mounts itself), runs mkfs.daxfs and mounts it
 * with the daxfs daemon; the region is chunked (the layout on which DAX mmap isolates
 * files), or one file with mt_setup_layout(..., false); mt_umount()/mt_mount() cycle the mount; mt_fsck() runs
 * fsck.daxfs -n. Everything is undone at exit. The binaries come from the
 * build (DAXFS_BIN, MKFS_BIN, FSCK_BIN are set by CMake).
 */
#ifndef MMTEST_H
#define MMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

enum mt_backing {
	MT_TMPFS,      /* 4 KiB pages */
	MT_HUGE_TMPFS, /* tmpfs huge=always, mounted by the test */
	MT_HUGETLBFS,  /* hugetlbfs pagesize=2M, mounted by the test; the pages
			  must be free in the pool (hugepool.h) */
};

struct mt {
	char dir[256];	  /* temporary directory */
	char region[320]; /* region file */
	char mnt[300];	  /* mount point */
	char hugedir[300];
	bool huge_mounted;
	bool mounted;
	char opts[128]; /* extra daemon options, e.g. "-o ro" */
};

static struct mt *mt_current;

static inline int mt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int mt_run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * Wait until the daemon let go of the region (it holds an exclusive flock):
 * up to 60 s, as tests/daxfs/fuse/lib.sh waits (an ASan daemon on a loaded
 * machine once took over 20 s to exit).
 */
static void mt_wait_region_free(struct mt *t)
{
	int fd = open(t->region, O_RDONLY | O_CLOEXEC), i;

	if (fd < 0)
		return;
	for (i = 0; i < 1200; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			break;
		}
		usleep(50000);
	}
	close(fd);
}

static void mt_umount(struct mt *t)
{
	if (!t->mounted)
		return;
	CHECK(mt_run("fusermount3 -u '%s'", t->mnt) == 0);
	t->mounted = false;
	mt_wait_region_free(t);
}

static void mt_mount(struct mt *t)
{
	CHECK(!t->mounted);
	CHECK(mt_run("'%s' %s '%s' '%s'", DAXFS_BIN, t->opts, t->region, t->mnt) == 0);
	t->mounted = true;
}

/* fsck.daxfs -n exit status (0 = clean); the filesystem must be unmounted. */
static inline int mt_fsck(struct mt *t)
{
	return mt_run("'%s' -n '%s' >/dev/null", FSCK_BIN, t->region);
}

static void mt_cleanup(void)
{
	struct mt *t = mt_current;

	if (!t)
		return;
	mt_current = NULL;
	if (t->mounted) {
		mt_run("fusermount3 -u -z '%s' 2>/dev/null", t->mnt);
		mt_wait_region_free(t);
	}
	mt_run("rm -rf '%s'", t->region);
	rmdir(t->mnt);
	if (t->huge_mounted) {
		umount2(t->hugedir, MNT_DETACH);
		rmdir(t->hugedir);
	}
	rmdir(t->dir);
}

/*
 * mt_setup_layout - @t must be static: the exit handler uses it after main.
 * @chunked: a chunked region (mkfs.daxfs --chunked), else a single file.
 */
static void mt_setup_layout(struct mt *t, enum mt_backing b, uint64_t size_mib, bool chunked)
{
	memset(t, 0, sizeof(*t));
	NEED(access("/dev/fuse", W_OK) == 0, "/dev/fuse is not usable");
	NEED(mt_run("command -v fusermount3 >/dev/null") == 0, "fusermount3 is not installed");
	snprintf(t->dir, sizeof(t->dir), "%s/daxfs-mmap-XXXXXX", test_tmpdir());
	CHECK(mkdtemp(t->dir) != NULL);
	CHECK(chmod(t->dir, 0755) == 0); /* tests switch to other users */
	mt_current = t;
	atexit(mt_cleanup);
	snprintf(t->mnt, sizeof(t->mnt), "%s/mnt", t->dir);
	CHECK(mkdir(t->mnt, 0755) == 0);
	if (b == MT_HUGE_TMPFS || b == MT_HUGETLBFS) {
		char opts[64];

		snprintf(t->hugedir, sizeof(t->hugedir), "%s/huge", t->dir);
		CHECK(mkdir(t->hugedir, 0755) == 0);
		if (b == MT_HUGETLBFS) {
			NEED(mount("daxfs-mmap-test", t->hugedir, "hugetlbfs", 0, "pagesize=2M") ==
				     0,
			     "cannot mount hugetlbfs: %s (needs root and 2 MiB huge pages)",
			     strerror(errno));
		} else {
			snprintf(opts, sizeof(opts), "huge=always,size=%lluM",
				 (unsigned long long)size_mib + 8);
			NEED(mount("daxfs-mmap-test", t->hugedir, "tmpfs", 0, opts) == 0,
			     "cannot mount a huge tmpfs: %s (needs root)", strerror(errno));
		}
		t->huge_mounted = true;
		snprintf(t->region, sizeof(t->region), "%s/region", t->hugedir);
	} else {
		snprintf(t->region, sizeof(t->region), "%s/region", t->dir);
	}
	CHECK(mt_run("'%s' -q --size %lluM %s '%s'", MKFS_BIN, (unsigned long long)size_mib,
		     chunked ? "--chunked" : "", t->region) == 0);
	mt_mount(t);
}

static inline void mt_setup(struct mt *t, enum mt_backing b, uint64_t size_mib)
{
	mt_setup_layout(t, b, size_mib, true);
}

/* mt_path - "<mnt>/<name>" in a static buffer (one at a time). */
static inline const char *mt_path(struct mt *t, const char *name)
{
	static char buf[400];

	snprintf(buf, sizeof(buf), "%s/%s", t->mnt, name);
	return buf;
}

/* Free bytes of the mounted filesystem. */
static inline uint64_t mt_free_bytes(struct mt *t)
{
	struct statvfs sv;

	CHECK(statvfs(t->mnt, &sv) == 0);
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* Create @name with @size bytes of @c (written with write(2)); returns an fd
 * opened with @flags. */
static inline int mt_make_file(struct mt *t, const char *name, size_t size, int c, int flags)
{
	char buf[65536];
	size_t done = 0;
	int fd;

	fd = open(mt_path(t, name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	memset(buf, c, sizeof(buf));
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);

		CHECK(pwrite(fd, buf, n, (off_t)done) == (ssize_t)n);
		done += n;
	}
	close(fd);
	fd = open(mt_path(t, name), flags);
	CHECK(fd >= 0);
	return fd;
}

/*
 * mt_spawn - fork a child that runs @fn(@arg, @in, @out) and exits: it reads
 * commands on @in and answers on @out. *@to gets the end that writes to
 * the child, *@from the end that reads its answers (close-on-exec, so a
 * daemon started later keeps none). Returns the child's pid.
 */
static inline pid_t mt_spawn(void (*fn)(void *arg, int in, int out), void *arg, int *to, int *from)
{
	int down[2], up[2];
	pid_t pid;

	CHECK(pipe2(down, O_CLOEXEC) == 0 && pipe2(up, O_CLOEXEC) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		mt_current = NULL; /* the parent cleans up */
		syscall(SYS_close, down[1]);
		syscall(SYS_close, up[0]);
		fn(arg, down[0], up[1]);
		_exit(0);
	}
	syscall(SYS_close, down[0]);
	syscall(SYS_close, up[1]);
	*to = down[1];
	*from = up[0];
	return pid;
}

/*
 * Under AddressSanitizer: let a child take SIGSEGV/SIGBUS as the kernel
 * delivers them (the tests check the signal), see mt_in_child().
 */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
	return "allow_user_segv_handler=1";
}

/* Run @fn in a child with default SIGSEGV/SIGBUS actions; returns its
 * wait status. */
static inline int mt_in_child(void (*fn)(void *), void *arg)
{
	int st;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		mt_current = NULL; /* the parent cleans up */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	return st;
}

#endif
