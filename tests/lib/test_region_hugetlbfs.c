/* SPDX-License-Identifier: MIT */
/*
 * test_region_hugetlbfs - a region on hugetlbfs (2 MiB pages) is detected
 * as HUGETLBFS, its pages are allocated at create, a shortage of huge pages
 * fails create with ENOSPC and leaves nothing behind, and data survives a
 * reopen.
 *
 * Mounts its own hugetlbfs on a temporary directory and, if the system has
 * too few free huge pages, raises /proc/sys/vm/nr_hugepages for the test
 * and restores it afterwards (needs root).
 */
#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "test_sysctl.h"
#include "units.h"

#define NR_PAGES_PATH "/proc/sys/vm/nr_hugepages"
#define FREE_PAGES_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define NEED_PAGES 4 /* 8 MiB region */

static char dir[] = "/tmp/pmd-hugetlbfs-XXXXXX";
static long saved_nr = -1;
static int mounted;

static void cleanup(void)
{
	if (mounted)
		umount(dir);
	rmdir(dir);
	if (saved_nr >= 0)
		write_long(NR_PAGES_PATH, saved_nr);
}

int main(void)
{
	struct pmr_region *r = NULL;
	struct pmr_info info;
	char path[300];
	long nr, free_pages;
	unsigned char *p;

	nr = read_long(NR_PAGES_PATH);
	free_pages = read_long(FREE_PAGES_PATH);
	NEED(nr >= 0 && free_pages >= 0, "no 2 MiB hugetlb support in this kernel");
	if (free_pages < NEED_PAGES) {
		long want = nr + (NEED_PAGES - free_pages);

		NEED(write_long(NR_PAGES_PATH, want) == 0, "cannot raise %s (needs root)",
		     NR_PAGES_PATH);
		saved_nr = nr;
		atexit(cleanup);
		free_pages = read_long(FREE_PAGES_PATH);
		NEED(free_pages >= NEED_PAGES, "only %ld free huge pages after raising %s",
		     free_pages, NR_PAGES_PATH);
	} else {
		atexit(cleanup);
	}

	CHECK(mkdtemp(dir) != NULL);
	NEED(mount("pmd-test", dir, "hugetlbfs", 0, "pagesize=2M") == 0,
	     "cannot mount hugetlbfs: %s", strerror(errno));
	mounted = 1;
	snprintf(path, sizeof(path), "%s/region", dir);

	/* More than is free: ENOSPC naming the shortage, nothing left. */
	CHECK_EQ(pmr_create(path, (uint64_t)(free_pages + 2) * 2 * MiB, 0, &r), -ENOSPC);
	CHECK(strstr(pmd_errmsg(), "huge pages"));
	CHECK(access(path, F_OK) != 0);
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages);

	/* PMR_F_PROGRESS stays quiet when stderr is not a tty. */
	{
		FILE *quiet = tmpfile();
		int saved = dup(STDERR_FILENO);

		CHECK(quiet != NULL && saved >= 0);
		CHECK(dup2(fileno(quiet), STDERR_FILENO) >= 0);
		CHECK_OK(pmr_create(path, NEED_PAGES * 2 * MiB, PMR_F_PROGRESS, &r));
		CHECK(dup2(saved, STDERR_FILENO) >= 0);
		close(saved);
		CHECK_EQ(ftell(quiet), 0);
		fseek(quiet, 0, SEEK_END);
		CHECK_EQ(ftell(quiet), 0);
		fclose(quiet);
	}
	pmr_get_info(r, &info);
	CHECK_EQ(info.backend, PMR_BACKEND_HUGETLBFS);
	CHECK_EQ(info.backing_page_size, 2 * MiB);
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	CHECK_EQ(info.native_granularity, PMR_GRAN_PAGE);
	CHECK_EQ((uintptr_t)pmr_addr(r) % HUGE_SIZE, 0);
	/* Pages were allocated at create. */
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages - NEED_PAGES);
	p = pmr_addr(r);
	pmr_memset(r, p, 0x3c, pmr_size(r), 0);
	pmr_close(&r);

	CHECK_OK(pmr_open(path, 0, &r));
	p = pmr_addr(r);
	CHECK_EQ(p[0], 0x3c);
	CHECK_EQ(p[pmr_size(r) - 1], 0x3c);
	pmr_close(&r);

	CHECK_OK(unlink(path));
	CHECK_OK(umount(dir));
	mounted = 0;
	return 0;
}
