/* SPDX-License-Identifier: MIT */
/*
 * hugepool.h - the system's pool of 2 MiB hugetlb pages for a test that
 * needs pages in it and then none at all, put back as it was on every
 * exit path.
 *
 * hp_setup(@need) saves vm.nr_hugepages and vm.nr_overcommit_hugepages,
 * starts the keeper and raises the pool until @need pages are free (not
 * reserved). The keeper is a process in a session of its own (so neither
 * the test's process group nor a test driver that kills the test's
 * children reaches it) that watches the test process through a pidfd:
 * when the test process ends, however it ends (exit, a signal, SIGKILL at
 * a timeout), the keeper lets go of the pages it holds and writes both
 * values back. hp_exhaust() has the keeper take every free page nobody
 * reserved, with surplus pages (overcommit) off: anonymous MAP_HUGETLB
 * memory, so the pages come back when it lets go or dies; hp_release()
 * gives them back. hp_restore() (also run at exit) puts everything back at
 * once and waits until it is done.
 *
 * One pool user per test program, as root. Tests that use the pool run
 * one at a time (CTest RESOURCE_LOCK hugetlb_pool).
 */
#ifndef HUGEPOOL_H
#define HUGEPOOL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/test_sysctl.h"
#include "test.h"

#define HP_NR "/proc/sys/vm/nr_hugepages"
#define HP_OVER "/proc/sys/vm/nr_overcommit_hugepages"
#define HP_PAGE (2UL << 20)
#define HP_MAX_HOG 65536L /* 128 GiB: a bound on what the keeper takes */
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

static struct {
	long nr, over; /* the values found at hp_setup */
	int cmd, ans;  /* to and from the keeper */
	pid_t owner;   /* the test process (forked children leave the pool alone) */
	bool on;
} hp = {.cmd = -1, .ans = -1};

/* hp_meminfo - the number after "@key:" in /proc/meminfo, or -1. */
static inline long hp_meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* hp_free - free 2 MiB pages that nobody reserved. */
static inline long hp_free(void)
{
	return hp_meminfo("HugePages_Free") - hp_meminfo("HugePages_Rsvd");
}

static inline void hp_put_back(long nr, long over)
{
	write_long(HP_OVER, over);
	write_long(HP_NR, nr);
}

/* The keeper: commands 'x' (take every free page), 'r' (give them back),
 * 'q' (give back, restore, exit); each answered with the pages held. */
static void hp_keeper(pid_t test, int cmd, int ans, long nr, long over)
{
	void **pages = calloc(HP_MAX_HOG, sizeof(*pages));
	int pfd = (int)syscall(SYS_pidfd_open, test, 0), null = open("/dev/null", O_RDWR);
	long n = 0;
	char c;

	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	/* hold nothing of the test's: a test driver waits for its output pipes */
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	while (pfd >= 0 && pages) {
		struct pollfd p[2] = {{.fd = cmd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || read(cmd, &c, 1) != 1)
			break; /* the test process is gone */
		if (c == 'x') {
			write_long(HP_OVER, 0);
			while (n < HP_MAX_HOG) {
				char *a = mmap(NULL, HP_PAGE, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
						       MAP_HUGE_2MB,
					       -1, 0);

				if (a == MAP_FAILED)
					break;
				a[0] = 1; /* reserved at mmap: the page is there */
				pages[n++] = a;
			}
		} else {
			while (n)
				munmap(pages[--n], HP_PAGE);
			if (c == 'q') {
				hp_put_back(nr, over);
				(void)!write(ans, &n, sizeof(n));
				_exit(0);
			}
		}
		(void)!write(ans, &n, sizeof(n));
	}
	while (n)
		munmap(pages[--n], HP_PAGE);
	hp_put_back(nr, over);
	_exit(0);
}

static inline long hp_ask(char c)
{
	long n = -1;

	CHECK(hp.on && write(hp.cmd, &c, 1) == 1);
	CHECK(read(hp.ans, &n, sizeof(n)) == sizeof(n));
	return n;
}

/* hp_restore - give the keeper's pages back and the pool its old size. */
static inline void hp_restore(void)
{
	long n;

	if (!hp.on || getpid() != hp.owner)
		return;
	hp.on = false;
	if (write(hp.cmd, "q", 1) != 1 || read(hp.ans, &n, sizeof(n)) != sizeof(n))
		hp_put_back(hp.nr, hp.over); /* the keeper is gone: do it here */
	close(hp.cmd);
	close(hp.ans);
}

/* hp_exhaust - no free page left in the pool; returns the pages taken. */
static inline long hp_exhaust(void)
{
	long n = hp_ask('x');

	printf("pool: the keeper took %ld free huge pages; %ld free, %ld reserved now\n", n,
	       hp_meminfo("HugePages_Free"), hp_meminfo("HugePages_Rsvd"));
	return n;
}

/* hp_release - the pages hp_exhaust() took are free again. */
static inline void hp_release(void)
{
	CHECK_EQ(hp_ask('r'), 0);
}

/* hp_setup - @need free 2 MiB pages, and the keeper (see above). */
static inline void hp_setup(long need)
{
	int cmd[2], ans[2], st;
	pid_t test = getpid(), mid;
	long have;

	NEED(geteuid() == 0, "needs root (changes %s)", HP_NR);
	hp.nr = read_long(HP_NR);
	hp.over = read_long(HP_OVER);
	NEED(hp.nr >= 0 && hp.over >= 0 && hp_meminfo("HugePages_Free") >= 0 &&
		     hp_meminfo("Hugepagesize") == 2048,
	     "no pool of 2 MiB hugetlb pages in this kernel (%s)", HP_NR);
	CHECK(pipe2(cmd, O_CLOEXEC) == 0 && pipe2(ans, O_CLOEXEC) == 0);
	fflush(NULL);
	mid = fork();
	CHECK(mid >= 0);
	if (mid == 0) {
		/* out of the test's session, then a child of init */
		setsid();
		if (fork() == 0) {
			close(cmd[1]);
			close(ans[0]);
			hp_keeper(test, cmd[0], ans[1], hp.nr, hp.over);
		}
		_exit(0);
	}
	CHECK(waitpid(mid, &st, 0) == mid);
	close(cmd[0]);
	close(ans[1]);
	hp.cmd = cmd[1];
	hp.ans = ans[0];
	hp.owner = test;
	hp.on = true;
	atexit(hp_restore);
	have = hp_free();
	if (have < need) {
		int err = write_long(HP_NR, hp.nr + need - have);

		NEED(!err, "cannot raise %s: %s", HP_NR, strerror(-err));
		have = hp_free();
		NEED(have >= need,
		     "only %ld of the %ld huge pages this test needs could be had (memory too "
		     "small or too fragmented)",
		     have, need);
	}
	printf("pool: %ld free huge pages (%s was %ld, %s %ld)\n", have, HP_NR, hp.nr, HP_OVER,
	       hp.over);
}

#endif
