/* SPDX-License-Identifier: MIT */
/*
 * test_region_rdonly - PMR_F_RDONLY maps the region PROT_READ: reads see
 * the data, a store kills the process with SIGSEGV (tried in a child).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "region.h"
#include "test.h"
#include "units.h"

int main(void)
{
	struct pmr_region *r = NULL;
	struct pmr_info info;
	char path[256];
	volatile unsigned char *p;
	int status, flags;
	pid_t pid;

	test_path(path, sizeof(path), "rdonly");
	unlink(path);
	CHECK_OK(pmr_create(path, 4 * MiB, 0, &r));
	pmr_memset(r, pmr_addr(r), 0x77, 4096, 0);
	pmr_close(&r);

	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	pmr_get_info(r, &info);
	CHECK(info.read_only);
	flags = fcntl(pmr_fd(r), F_GETFL);
	CHECK((flags & O_ACCMODE) == O_RDONLY);
	p = pmr_addr(r);
	CHECK_EQ(p[0], 0x77);
	CHECK_EQ(p[4095], 0x77);
	CHECK_EQ((uintptr_t)p % HUGE_SIZE, 0);
	pmr_persist(r, (const void *)p, 64); /* flushing read-only memory is allowed */

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		p[0] = 1; /* must fault */
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WTERMSIG(status), SIGSEGV);
	CHECK_EQ(p[0], 0x77);
	pmr_close(&r);

	/* Read-only open works on a file we may not write. */
	CHECK_OK(chmod(path, 0400));
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	CHECK_EQ(((unsigned char *)pmr_addr(r))[1], 0x77);
	pmr_close(&r);
	CHECK_OK(unlink(path));
	return 0;
}
