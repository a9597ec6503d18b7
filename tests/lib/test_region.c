/* SPDX-License-Identifier: MIT */
/*
 * test_region - create a region on tmpfs, check its geometry, backend and
 * forced granularity, write with pmr_memcpy, close, reopen, read it back.
 */
#include <errno.h>
#include <sys/stat.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "units.h"

int main(void)
{
	struct pmr_region *r = NULL;
	struct pmr_info info;
	char path[256], msg[64];
	uint64_t size = 8 * MiB;
	unsigned char *p;
	struct stat st;

	test_path(path, sizeof(path), "region");
	unlink(path);
	CHECK_OK(pmr_create(path, size, 0, &r));
	CHECK(r != NULL);
	CHECK_EQ(pmr_size(r), size);
	CHECK_EQ((uintptr_t)pmr_addr(r) % HUGE_SIZE, 0);
	CHECK(pmr_fd(r) >= 0);
	pmr_get_info(r, &info);
	CHECK(!strcmp(info.path, path));
	CHECK_EQ(info.size, size);
	CHECK(info.alignment >= HUGE_SIZE);
	CHECK_EQ(info.alignment & (info.alignment - 1), 0);
	if (!getenv("PMD_TEST_DIR")) {
		/* /dev/shm is plain tmpfs unless THP is forced for shmem. */
		CHECK(info.backend == PMR_BACKEND_TMPFS || info.backend == PMR_BACKEND_HUGE_TMPFS);
	}
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	CHECK_EQ(info.native_granularity, PMR_GRAN_PAGE);
	CHECK(!info.read_only);
	CHECK(!strcmp(pmr_backend_name(PMR_BACKEND_TMPFS), "tmpfs"));
	CHECK(!strcmp(pmr_granularity_name(info.granularity), "cacheline"));
	/* The environment variable is set only around the map call. */
	CHECK(getenv("PMEM2_FORCE_GRANULARITY") == NULL);

	/* The file is sparse-created to exactly the size. */
	CHECK_OK(stat(path, &st));
	CHECK_EQ(st.st_size, size);

	p = pmr_addr(r);
	CHECK(pmr_contains(r, p, size));
	CHECK(pmr_contains(r, p + size - 1, 1));
	CHECK(!pmr_contains(r, p + size, 1));
	CHECK(!pmr_contains(r, p - 1, 1));
	CHECK(!pmr_contains(r, p + 1, size));

	/* Write a pattern through every primitive. */
	for (unsigned i = 0; i < 64; i++)
		msg[i] = (char)('A' + i % 26);
	pmr_memcpy(r, p, msg, sizeof(msg), 0);
	pmr_memset(r, p + MiB, 0x5a, 2 * MiB, 0);
	pmr_memcpy(r, p + size - 64, msg, 64, PMR_MEM_NODRAIN);
	pmr_drain(r);
	p[4 * MiB] = 0x42;
	pmr_persist(r, p + 4 * MiB, 1);
	p[4 * MiB + 4096] = 0x43;
	pmr_flush(r, p + 4 * MiB + 4096, 1);
	pmr_drain(r);
	pmr_close(&r);
	CHECK(r == NULL);
	pmr_close(&r); /* NULL is fine */

	/* The data survives a reopen. */
	CHECK_OK(pmr_open(path, 0, &r));
	p = pmr_addr(r);
	CHECK_EQ((uintptr_t)p % HUGE_SIZE, 0);
	CHECK_EQ(pmr_size(r), size);
	CHECK(!memcmp(p, msg, sizeof(msg)));
	CHECK(!memcmp(p + size - 64, msg, 64));
	for (uint64_t i = MiB; i < 3 * MiB; i += 4093)
		CHECK_EQ(p[i], 0x5a);
	CHECK_EQ(p[4 * MiB], 0x42);
	CHECK_EQ(p[4 * MiB + 4096], 0x43);
	CHECK_EQ(p[5 * MiB], 0);
	pmr_get_info(r, &info);
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	pmr_close(&r);

	/* With PMR_F_NATIVE_GRAN the emulated region keeps page granularity. */
	CHECK_OK(pmr_open(path, PMR_F_NATIVE_GRAN, &r));
	pmr_get_info(r, &info);
	CHECK_EQ(info.granularity, PMR_GRAN_PAGE);
	CHECK_EQ(info.native_granularity, PMR_GRAN_PAGE);
	p = pmr_addr(r);
	CHECK_EQ(p[4 * MiB], 0x42);
	pmr_memcpy(r, p + 6 * MiB, msg, sizeof(msg), 0); /* msync path works too */
	pmr_close(&r);

	/* A caller's own PMEM2_FORCE_GRANULARITY is restored after mapping. */
	setenv("PMEM2_FORCE_GRANULARITY", "PAGE", 1);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(!strcmp(getenv("PMEM2_FORCE_GRANULARITY"), "PAGE"));
	pmr_get_info(r, &info);
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	pmr_close(&r);
	unsetenv("PMEM2_FORCE_GRANULARITY");

	/* detect without mapping */
	{
		enum pmr_backend b;
		uint64_t ps = 0;

		CHECK_OK(pmr_detect_backend(path, &b, &ps));
		CHECK_EQ(b, info.backend);
		CHECK(ps >= 4096);
	}

	CHECK_OK(unlink(path));
	return 0;
}
