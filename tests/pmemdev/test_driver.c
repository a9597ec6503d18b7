/* SPDX-License-Identifier: MIT */
/*
 * test_driver - the pmemdev driver in every descriptor mode, sync and
 * async: reads and writes (FUA and not) land at the right place, DISCARD and
 * WRITE_ZEROES zero, FLUSH succeeds, bad sectors fail reads with -EIO and
 * are cleared by writes, out-of-range and misaligned bios are refused
 * synchronously, the null target moves no data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "badblocks.h"
#include "errmsg.h"
#include "pmemdev.h"
#include "test.h"

#define REGION_SIZE (8 * MiB)
#define BUF_SIZE (4 * MiB)

static char *buf;
static struct pfn_range *bufrange;

/* One I/O of @len bytes at device byte @off from buf + @boff; returns status. */
static int do_io(struct pmemdev *pd, unsigned opf, enum desc_mode mode, uint64_t off, uint64_t boff,
		 uint64_t len)
{
	enum bio_desc desc = bio_desc_of(mode);
	unsigned nr = len ? bio_nr_vecs_for(buf + boff, len, mode) : 0;
	struct bio *bio;
	int err;

	CHECK_OK(bio_alloc(nr, opf, desc, &bio));
	bio->bi_iter.bi_sector = off_to_sector(off);
	if ((opf & BIO_OP_MASK) == BIO_OP_READ || (opf & BIO_OP_MASK) == BIO_OP_WRITE)
		CHECK_OK(bio_add_range(bio, buf + boff, len, mode));
	else
		bio->bi_iter.bi_size = (uint32_t)len;
	err = blk_submit_bio_wait(pmemdev_blk(pd), bio);
	bio_put(bio);
	return err;
}

static void fill(char *p, uint64_t len, unsigned seed)
{
	for (uint64_t i = 0; i < len; i++)
		p[i] = (char)(i * 31 + seed * 7 + (i >> 12));
}

static void run(const char *path, enum desc_mode mode, unsigned workers)
{
	struct pmemdev_config cfg = {.region_path = path, .mode = mode, .nr_workers = workers};
	struct pmemdev *pd;
	char *region;
	char *expect = malloc(BUF_SIZE);

	CHECK(expect);
	CHECK_OK(pmemdev_new(&cfg, &pd));
	region = pmr_addr(pmemdev_region(pd));
	CHECK(pmemdev_pfn_range(pd) != NULL);
	CHECK_EQ(pfn_range_mode(pmemdev_pfn_range(pd)), mode);
	CHECK_EQ(blk_dev_capacity(pmemdev_blk(pd)), REGION_SIZE / 512);

	/* A 2 MiB write at 1 MiB, FUA, then read back into another buffer. */
	fill(buf, 2 * MiB, mode + workers);
	memcpy(expect, buf, 2 * MiB);
	CHECK_OK(do_io(pd, BIO_OP_WRITE | BIO_FUA, mode, 1 * MiB, 0, 2 * MiB));
	CHECK(!memcmp(region + 1 * MiB, expect, 2 * MiB));
	memset(buf + 2 * MiB, 0, 2 * MiB);
	CHECK_OK(do_io(pd, BIO_OP_READ, mode, 1 * MiB, 2 * MiB, 2 * MiB));
	CHECK(!memcmp(buf + 2 * MiB, expect, 2 * MiB));

	/* Small, unaligned-in-memory write (pfn mode allows 512-byte I/O). */
	if (mode == DESC_PFN) {
		fill(buf + 512, 1536, 99);
		CHECK_OK(do_io(pd, BIO_OP_WRITE, mode, 4096 + 512, 512, 1536));
		CHECK(!memcmp(region + 4096 + 512, buf + 512, 1536));
	}

	/* FLUSH, DISCARD, WRITE_ZEROES. */
	CHECK_OK(do_io(pd, BIO_OP_FLUSH, mode, 0, 0, 0));
	CHECK_OK(do_io(pd, BIO_OP_DISCARD, mode, 1 * MiB, 0, 64 * KiB));
	for (unsigned i = 0; i < 64 * KiB; i++)
		CHECK_EQ(region[1 * MiB + i], 0);
	CHECK_EQ(region[1 * MiB + 64 * KiB], expect[64 * KiB]);
	CHECK_OK(do_io(pd, BIO_OP_WRITE_ZEROES, mode, 2 * MiB, 0, 8192));
	for (unsigned i = 0; i < 8192; i++)
		CHECK_EQ(region[2 * MiB + i], 0);

	/* Badblocks: a read touching one fails with -EIO, a write clears it. */
	CHECK_OK(pmemdev_bb_add(pmemdev_badblocks(pd), 100, 2));
	CHECK_EQ(do_io(pd, BIO_OP_READ, mode, 96 * 512, 0, 4096), -EIO);
	CHECK_OK(do_io(pd, BIO_OP_READ, mode, 0, 0, 4096)); /* before the bad range */
	fill(buf, 4096, 5);
	CHECK_OK(do_io(pd, BIO_OP_WRITE, mode, 96 * 512, 0, 4096));
	CHECK(!pmemdev_bb_check(pmemdev_badblocks(pd), 100, 2));
	CHECK_OK(do_io(pd, BIO_OP_READ, mode, 96 * 512, 0, 4096));

	/* Refused synchronously: beyond the end, misaligned. */
	{
		struct bio *bio;

		CHECK_OK(bio_alloc(1, BIO_OP_READ, bio_desc_of(mode),
				   &bio));
		CHECK_OK(bio_add_range(bio, buf, 4096, mode));
		bio->bi_iter.bi_sector = REGION_SIZE / 512 - 4;
		CHECK_EQ(blk_submit_bio(pmemdev_blk(pd), bio), -ERANGE);
		bio_put(bio);
	}
	pmemdev_delete(&pd);
	CHECK(pd == NULL);
	free(expect);
}

static void run_null(const char *path)
{
	struct pmemdev_config cfg = {
		.region_path = path, .mode = DESC_PAGE, .target = PMEMDEV_TARGET_NULL};
	struct pmemdev *pd;
	char *region;

	CHECK_OK(pmemdev_new(&cfg, &pd));
	region = pmr_addr(pmemdev_region(pd));
	memset(region, 0x11, 4096);
	memset(buf, 0x22, 4096);
	CHECK_OK(do_io(pd, BIO_OP_WRITE, DESC_PAGE, 0, 0, 4096));
	CHECK_EQ(region[0], 0x11); /* null target moved nothing */
	CHECK_OK(do_io(pd, BIO_OP_READ, DESC_PAGE, 0, 0, 4096));
	CHECK_EQ(buf[0], 0x22);
	pmemdev_delete(&pd);
}

int main(void)
{
	char path[256];
	struct pmr_region *r;
	struct pmemdev *pd;
	struct pmemdev_config bad = {0};

	test_path(path, sizeof(path), "driver");
	unlink(path);
	CHECK_OK(pmr_create(path, REGION_SIZE, 0, &r));
	pmr_close(&r);

	buf = mmap(NULL, BUF_SIZE + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(buf != MAP_FAILED);
	buf = (char *)align_up((uintptr_t)buf, HUGE_SIZE);

	for (int m = 0; m < DESC_NR_MODES; m++) {
		CHECK_OK(pfn_range_register(buf, BUF_SIZE, PFN_KIND_DRAM, (enum desc_mode)m,
					    &bufrange));
		run(path, (enum desc_mode)m, 0);
		run(path, (enum desc_mode)m, 2);
		pfn_range_unregister(&bufrange);
	}
	CHECK_OK(pfn_range_register(buf, BUF_SIZE, PFN_KIND_DRAM, DESC_PAGE, &bufrange));
	run_null(path);
	pfn_range_unregister(&bufrange);

	/* Bad configuration. */
	CHECK_EQ(pmemdev_new(&bad, &pd), -EINVAL);
	bad.region_path = "/nonexistent/region";
	pmd_err_clear();
	CHECK_EQ(pmemdev_new(&bad, &pd), -ENOENT);
	CHECK(strstr(pmd_errmsg(), "/nonexistent/region") != NULL);

	unlink(path);
	{
		char bbpath[300];

		snprintf(bbpath, sizeof(bbpath), "%s.badblocks", path);
		unlink(bbpath);
	}
	return 0;
}
