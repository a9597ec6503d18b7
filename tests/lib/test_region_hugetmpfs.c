/* SPDX-License-Identifier: MIT */
/*
 * test_region_hugetmpfs - a region on a tmpfs mounted huge=always is
 * detected as HUGE_TMPFS with 2 MiB backing pages, maps 2 MiB aligned and
 * (where the kernel has THP for shmem) is backed by huge pages.
 *
 * Mounts its own tmpfs on a temporary directory (needs root).
 */
#include <errno.h>
#include <sys/mount.h>
#include <unistd.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "units.h"

/* ShmemPmdMapped of this process in kB (from /proc/self/smaps_rollup). */
static long shmem_pmd_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(void)
{
	char dir[] = "/tmp/pmd-hugetmpfs-XXXXXX";
	struct pmr_region *r = NULL;
	struct pmr_info info;
	enum pmr_backend b;
	char path[300];
	uint64_t ps = 0;
	int ret;

	CHECK(mkdtemp(dir) != NULL);
	ret = mount("pmd-test", dir, "tmpfs", 0, "huge=always,size=64M");
	if (ret) {
		int e = errno;

		rmdir(dir);
		NEED(0, "cannot mount a huge tmpfs: %s (needs root)", strerror(e));
	}
	snprintf(path, sizeof(path), "%s/region", dir);

	CHECK_OK(pmr_create(path, 16 * MiB, 0, &r));
	pmr_get_info(r, &info);
	CHECK_EQ(info.backend, PMR_BACKEND_HUGE_TMPFS);
	CHECK_EQ(info.backing_page_size, 2 * MiB);
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	CHECK_EQ((uintptr_t)pmr_addr(r) % HUGE_SIZE, 0);
	CHECK(!strcmp(pmr_backend_name(info.backend), "huge-tmpfs"));

	/* Touch it; with THP in the kernel, the fault maps 2 MiB pages. */
	pmr_memset(r, pmr_addr(r), 0xab, 8 * MiB, 0);
	{
		long kb = shmem_pmd_kb();

		if (kb >= 0 && access("/sys/kernel/mm/transparent_hugepage", F_OK) == 0)
			CHECK(kb >= 2048);
	}
	pmr_close(&r);

	CHECK_OK(pmr_detect_backend(path, &b, &ps));
	CHECK_EQ(b, PMR_BACKEND_HUGE_TMPFS);
	CHECK_EQ(ps, 2 * MiB);

	/* Bigger than the mount: refused with ENOSPC, nothing left behind. */
	unlink(path);
	CHECK_EQ(pmr_create(path, 128 * MiB, 0, &r), -ENOSPC);
	CHECK(strstr(pmd_errmsg(), "not enough space"));
	CHECK(access(path, F_OK) != 0);

	CHECK_OK(umount(dir));
	CHECK_OK(rmdir(dir));
	return 0;
}
