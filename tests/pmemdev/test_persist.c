/* SPDX-License-Identifier: MIT */
/*
 * test_persist - data written through pmemdev with FUA survives the device
 * being deleted and the region unmapped, closed and mapped again, in every
 * descriptor mode; so does data followed by a FLUSH.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmemdev.h"
#include "test.h"

static void write_pattern(struct pmemdev *pd, char *buf, enum desc_mode mode, uint64_t off,
			  uint64_t len, unsigned opf)
{
	struct bio *bio;

	CHECK_OK(bio_alloc(bio_nr_vecs_for(buf, len, mode), opf,
			   bio_desc_of(mode), &bio));
	bio->bi_iter.bi_sector = off_to_sector(off);
	CHECK_OK(bio_add_range(bio, buf, len, mode));
	CHECK_OK(blk_submit_bio_wait(pmemdev_blk(pd), bio));
	bio_put(bio);
}

int main(void)
{
	char path[256];
	struct pmr_region *r;
	uint64_t len = 2 * MiB;
	char *buf = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buf != MAP_FAILED);
	buf = (char *)align_up((uintptr_t)buf, HUGE_SIZE);
	test_path(path, sizeof(path), "persist");
	unlink(path);
	CHECK_OK(pmr_create(path, DESC_NR_MODES * 4 * MiB, 0, &r));
	pmr_close(&r);

	for (int m = 0; m < DESC_NR_MODES; m++) {
		struct pmemdev_config cfg = {.region_path = path, .mode = (enum desc_mode)m};
		struct pfn_range *br;
		struct pmemdev *pd;

		CHECK_OK(pfn_range_register(buf, len, PFN_KIND_DRAM, (enum desc_mode)m, &br));
		CHECK_OK(pmemdev_new(&cfg, &pd));
		for (uint64_t i = 0; i < len; i++)
			buf[i] = (char)(i ^ (i >> 9) ^ (uint64_t)m * 77);
		write_pattern(pd, buf, (enum desc_mode)m, (uint64_t)m * 4 * MiB, len,
			      BIO_OP_WRITE | BIO_FUA);
		write_pattern(pd, buf, (enum desc_mode)m, (uint64_t)m * 4 * MiB + len, len,
			      BIO_OP_WRITE);
		{
			struct bio *flush;

			CHECK_OK(bio_alloc(0, BIO_OP_FLUSH, BIO_DESC_PFN, &flush));
			CHECK_OK(blk_submit_bio_wait(pmemdev_blk(pd), flush));
			bio_put(flush);
		}
		pmemdev_delete(&pd);
		pfn_range_unregister(&br);

		/* Map it again from scratch and compare. */
		CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
		CHECK(!memcmp((char *)pmr_addr(r) + (uint64_t)m * 4 * MiB, buf, len));
		CHECK(!memcmp((char *)pmr_addr(r) + (uint64_t)m * 4 * MiB + len, buf, len));
		pmr_close(&r);
	}
	unlink(path);
	return 0;
}
