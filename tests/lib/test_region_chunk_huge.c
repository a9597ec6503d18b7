/* SPDX-License-Identifier: MIT */
/*
 * test_region_chunk_huge - chunked regions on huge pages:
 *  - huge tmpfs: detected as HUGE_TMPFS, every chunk is mapped by a PMD
 *    (ShmemPmdMapped covers the whole region), a reclaimed chunk gets huge
 *    pages again;
 *  - hugetlbfs (2 MiB pages): detected as HUGETLBFS, the pages are taken at
 *    create (a shortage is -ENOSPC naming it and leaves nothing behind),
 *    data survives reopen, and a reclaim gives the chunk a new page from
 *    the pool (so the pool is where it was, and the old page, still held by
 *    a pipe, does not see the region's new bytes).
 * Mounts its own filesystems and raises vm.nr_hugepages for the test
 * (needs root; restored at exit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "test_region_chunk.h"
#include "test_sysctl.h"
#include "units.h"

#define NR_PAGES_PATH "/proc/sys/vm/nr_hugepages"
#define FREE_PAGES_PATH "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define NCHUNKS 4

static char tdir[] = "/tmp/pmd-chunk-huge-XXXXXX", tlbdir[] = "/tmp/pmd-chunk-tlb-XXXXXX";
static bool tmounted, tlbmounted;
static long saved_nr = -1;

static void cleanup(void)
{
	if (tmounted)
		umount2(tdir, MNT_DETACH);
	if (tlbmounted)
		umount2(tlbdir, MNT_DETACH);
	rmdir(tdir);
	rmdir(tlbdir);
	if (saved_nr >= 0)
		write_long(NR_PAGES_PATH, saved_nr);
}

/* kB of @key in this process's smaps_rollup */
static long rollup_kb(const char *key)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256], fmt[64];
	long kb = -1;

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", key);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_huge_tmpfs(void)
{
	struct pmr_region *r;
	struct pmr_info info;
	char path[300];
	uint64_t idx = 2;
	uint8_t *a;
	bool done;
	int fd;

	CHECK(mkdtemp(tdir));
	NEED(mount("pmd-test", tdir, "tmpfs", 0, "huge=always,size=32M") == 0,
	     "cannot mount a huge tmpfs: %s (needs root)", strerror(errno));
	tmounted = true;
	snprintf(path, sizeof(path), "%s/region", tdir);
	CHECK_OK(pmr_create(path, NCHUNKS * PMR_CHUNK_SIZE, PMR_F_CHUNKED, &r));
	pmr_get_info(r, &info);
	CHECK_EQ(info.backend, PMR_BACKEND_HUGE_TMPFS);
	CHECK_EQ(info.backing_page_size, 2 * MiB);
	a = pmr_addr(r);
	pmr_memset(r, a, 0x11, pmr_size(r), 0);
	CHECK(rollup_kb("ShmemPmdMapped") >= (long)(NCHUNKS * 2048));

	CHECK_OK(pmr_chunk_give(r, 2, false, &fd));
	close(fd);
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 1);
	CHECK_EQ(a[2 * PMR_CHUNK_SIZE], 0);
	pmr_memset(r, a + 2 * PMR_CHUNK_SIZE, 0x22, PMR_CHUNK_SIZE, 0);
	CHECK(rollup_kb("ShmemPmdMapped") >= (long)(NCHUNKS * 2048));
	pmr_close(&r);
	CHECK_OK(pmr_open(path, 0, &r));
	a = pmr_addr(r);
	CHECK_EQ(a[2 * PMR_CHUNK_SIZE + 5], 0x22);
	CHECK_EQ(a[3 * PMR_CHUNK_SIZE + 5], 0x11);
	pmr_close(&r);
}

static void test_hugetlbfs(void)
{
	struct pmr_region *r;
	struct pmr_info info;
	char path[300], chunk[400];
	long nr, free_pages;
	uint64_t idx = 1;
	uint8_t *a, got;
	int rd, n = 0;
	bool done;
	DIR *d;

	nr = read_long(NR_PAGES_PATH);
	free_pages = read_long(FREE_PAGES_PATH);
	NEED(nr >= 0 && free_pages >= 0, "no 2 MiB hugetlb support in this kernel");
	if (free_pages < NCHUNKS + 1) {
		saved_nr = nr;
		NEED(write_long(NR_PAGES_PATH, nr + NCHUNKS + 1 - free_pages) == 0,
		     "cannot raise %s (needs root)", NR_PAGES_PATH);
		free_pages = read_long(FREE_PAGES_PATH);
		NEED(free_pages >= NCHUNKS + 1, "only %ld free huge pages", free_pages);
	}
	CHECK(mkdtemp(tlbdir));
	NEED(mount("pmd-test", tlbdir, "hugetlbfs", 0, "pagesize=2M") == 0,
	     "cannot mount hugetlbfs: %s", strerror(errno));
	tlbmounted = true;
	snprintf(path, sizeof(path), "%s/region", tlbdir);

	CHECK_EQ(pmr_create(path, (uint64_t)(free_pages + 16) * PMR_CHUNK_SIZE, PMR_F_CHUNKED, &r),
		 -ENOSPC);
	CHECK(strstr(pmd_errmsg(), "huge pages"));
	d = opendir(tlbdir);
	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	CHECK_EQ(n, 2);
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages);

	CHECK_OK(pmr_create(path, NCHUNKS * PMR_CHUNK_SIZE, PMR_F_CHUNKED, &r));
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages - NCHUNKS);
	pmr_get_info(r, &info);
	CHECK_EQ(info.backend, PMR_BACKEND_HUGETLBFS);
	CHECK(info.chunked);
	a = pmr_addr(r);
	pmr_memset(r, a, 0x3c, pmr_size(r), 0);
	pmr_close(&r);
	CHECK_OK(pmr_open(path, 0, &r));
	a = pmr_addr(r);
	CHECK_EQ(a[0], 0x3c);
	CHECK_EQ(a[pmr_size(r) - 1], 0x3c);

	/* a pipe keeps chunk 1's page after the holder is gone */
	rd = splice_given_page(r, 1);
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 1);
	/* the pipe still holds the old page; the chunk has a new one */
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages - NCHUNKS - 1);
	a[PMR_CHUNK_SIZE] = 0x77;
	CHECK_EQ(read(rd, &got, 1), 1);
	CHECK_EQ(got, 0x3c);
	close(rd);
	CHECK_EQ(read_long(FREE_PAGES_PATH), free_pages - NCHUNKS);
	pmr_close(&r);
	for (unsigned i = 0; i < NCHUNKS; i++) {
		snprintf(chunk, sizeof(chunk), "%s/chunk.%08x", path, i);
		CHECK_OK(unlink(chunk));
	}
	snprintf(chunk, sizeof(chunk), "rm -rf '%s'", path);
	CHECK_OK(system(chunk));
}

int main(void)
{
	atexit(cleanup);
	test_huge_tmpfs();
	test_hugetlbfs();
	printf("ok\n");
	return 0;
}
