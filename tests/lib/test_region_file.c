/* SPDX-License-Identifier: MIT */
/*
 * test_region_file - a region on a disk file system (not tmpfs, not dax)
 * is detected as FILE, still maps 2 MiB aligned with forced cache-line
 * granularity, and its data survives a reopen.
 *
 * Uses a temporary directory under $TMPDIR (default /var/tmp), which must
 * be on a disk file system.
 */
#include <linux/magic.h>
#include <sys/statfs.h>

#include "region.h"
#include "test.h"
#include "units.h"

int main(void)
{
	const char *base = getenv("TMPDIR");
	struct pmr_region *r = NULL;
	struct pmr_info info;
	char dir[256], path[300];
	struct statfs sfs;
	unsigned char *p;

	snprintf(dir, sizeof(dir), "%s/pmd-file-XXXXXX", base && *base ? base : "/var/tmp");
	CHECK(mkdtemp(dir) != NULL);
	CHECK_OK(statfs(dir, &sfs));
	if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == HUGETLBFS_MAGIC) {
		rmdir(dir);
		NEED(0, "%s is not on a disk file system", dir);
	}
	snprintf(path, sizeof(path), "%s/region", dir);

	CHECK_OK(pmr_create(path, 4 * MiB, 0, &r));
	pmr_get_info(r, &info);
	/* FSDAX only if that disk file system is mounted -o dax. */
	CHECK(info.backend == PMR_BACKEND_FILE || info.backend == PMR_BACKEND_FSDAX);
	if (info.backend == PMR_BACKEND_FILE) {
		CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
		CHECK_EQ(info.native_granularity, PMR_GRAN_PAGE);
		CHECK_EQ(info.backing_page_size, 4096);
	}
	CHECK_EQ((uintptr_t)pmr_addr(r) % HUGE_SIZE, 0);
	p = pmr_addr(r);
	pmr_memcpy(r, p + MiB, "file-backed", 12, 0);
	pmr_close(&r);

	CHECK_OK(pmr_open(path, 0, &r));
	p = pmr_addr(r);
	CHECK(!memcmp(p + MiB, "file-backed", 12));
	pmr_close(&r);

	CHECK_OK(unlink(path));
	CHECK_OK(rmdir(dir));
	return 0;
}
