/* SPDX-License-Identifier: MIT */
/*
 * test_bio_build - building bios in each descriptor mode: a 2 MiB aligned
 * buffer takes 1 (pfn) / 1 (folio) / 512 (page) bvecs; page references are
 * taken and dropped; wrong descriptors and unregistered memory are
 * rejected; -ENOSPC leaves the bio unchanged; adjacent pfn extents merge;
 * segments iterate over exactly the described bytes; a bvec computed by
 * the caller (bio_add_pfn_nocheck) is the one bio_add_range() finds.
 */
#include "test_blk_ramdisk.h"

#define LEN (4 * MiB)

static void refs_all(char *mem, uint64_t len, int want)
{
	pfn_t pfn;

	for (uint64_t off = 0; off < len; off += FRAME_SIZE) {
		CHECK_OK(addr_to_pfn(mem + off, &pfn, NULL));
		CHECK_EQ(page_ref_count(pfn_to_page(pfn)), want);
	}
}

static void test_mode(enum desc_mode mode)
{
	static const unsigned want_vecs[] = {[DESC_PFN] = 1, [DESC_FOLIO] = 1, [DESC_PAGE] = 512};
	char *mem = map_huge(LEN);
	struct pfn_range *r = reg(mem, LEN, mode);
	struct bio *bio;

	/* A 2 MiB aligned 2 MiB buffer. */
	CHECK_EQ(bio_nr_vecs_for(mem, HUGE_SIZE, mode), want_vecs[mode]);
	CHECK_OK(bio_alloc(want_vecs[mode], BIO_OP_WRITE, bio_desc_for(mode), &bio));
	CHECK_OK(bio_add_range(bio, mem, HUGE_SIZE, mode));
	CHECK_EQ(bio->bi_vcnt, want_vecs[mode]);
	CHECK_EQ(bio_segments(bio), want_vecs[mode]);
	check_bio_covers(bio, mem, HUGE_SIZE);
	if (mode != DESC_PFN) {
		/* One reference per bvec on the folio (page mode: per page). */
		refs_all(mem, HUGE_SIZE, 2);
		refs_all(mem + HUGE_SIZE, HUGE_SIZE, 1);
	}

	/* Full: -ENOSPC and the bio is unchanged (and holds no new refs). */
	CHECK_EQ(bio_add_range(bio, mem + HUGE_SIZE, FRAME_SIZE, mode),
		 mode == DESC_PFN ? 0 : -ENOSPC);
	if (mode == DESC_PFN) {
		/* pfn: the next extent continues the bvec and merges into it. */
		CHECK_EQ(bio->bi_vcnt, 1);
		CHECK_EQ(bio->bi_iter.bi_size, HUGE_SIZE + FRAME_SIZE);
		check_bio_covers(bio, mem, HUGE_SIZE + FRAME_SIZE);
	} else {
		CHECK_EQ(bio->bi_vcnt, want_vecs[mode]);
		CHECK_EQ(bio->bi_iter.bi_size, HUGE_SIZE);
		refs_all(mem + HUGE_SIZE, HUGE_SIZE, 1);
	}
	bio_put(bio);
	if (mode != DESC_PFN)
		refs_all(mem, LEN, 1);

	/* A partial -ENOSPC: the first vecs fit, the rest do not; all undone. */
	CHECK_OK(bio_alloc(2, BIO_OP_READ, bio_desc_for(mode), &bio));
	CHECK_OK(bio_add_range(bio, mem + 100 * FRAME_SIZE, 512, mode));
	{
		struct bio_vec last = bio->bi_io_vec[0];
		uint64_t want = mode == DESC_PFN ? 0 : (uint64_t)-ENOSPC;

		/* pfn: one discontiguous extent fits; page modes need many vecs. */
		CHECK_EQ(bio_add_range(bio, mem + 1 * MiB, 3 * MiB, mode), (int)want);
		if (mode != DESC_PFN) {
			CHECK_EQ(bio->bi_vcnt, 1);
			CHECK_EQ(bio->bi_iter.bi_size, 512);
			CHECK(memcmp(&last, &bio->bi_io_vec[0], sizeof(last)) == 0);
			CHECK_EQ(page_ref_count(pfn_to_page(pfn_range_base(r) + 100)), 2);
			refs_all(mem + 2 * MiB, 2 * MiB, 1);
		} else {
			CHECK_EQ(bio->bi_vcnt, 2);
			/* Now full: a non-adjacent extent cannot go in. */
			CHECK_EQ(bio_add_range(bio, mem + 3 * FRAME_SIZE, FRAME_SIZE, mode),
				 -ENOSPC);
			CHECK_EQ(bio_add_pfn(bio, pfn_range_base(r) + 3, FRAME_SIZE, 0), 0);
			CHECK_EQ(bio->bi_vcnt, 2);
			CHECK_EQ(bio->bi_iter.bi_size, 512 + 3 * MiB);
		}
	}
	bio_put(bio);
	if (mode != DESC_PFN)
		refs_all(mem, LEN, 1);

	/* Unaligned start and end: segments still cover exactly the bytes. */
	CHECK_OK(bio_alloc(bio_nr_vecs_for(mem + 777, 3 * MiB, mode), BIO_OP_WRITE,
			   bio_desc_for(mode), &bio));
	CHECK_OK(bio_add_range(bio, mem + 777, 3 * MiB, mode));
	check_bio_covers(bio, mem + 777, 3 * MiB);
	CHECK_EQ(bio->bi_vcnt, bio_nr_vecs_for(mem + 777, 3 * MiB, mode));
	CHECK_EQ(bio->bi_vcnt, mode == DESC_PFN ? 1 : mode == DESC_FOLIO ? 2 : 769);
	bio_put(bio);

	/* Wrong descriptor for the bio. */
	CHECK_OK(bio_alloc(4, BIO_OP_WRITE, mode == DESC_PFN ? BIO_DESC_PAGE : BIO_DESC_PFN, &bio));
	CHECK_EQ(bio_add_range(bio, mem, FRAME_SIZE, mode), -EINVAL);
	CHECK(strlen(pmd_errmsg()) > 0);
	CHECK_EQ(bio->bi_vcnt, 0);
	if (mode == DESC_PFN) {
		CHECK_EQ(bio_add_pfn(bio, pfn_range_base(r), FRAME_SIZE, 0), 0);
	} else {
		CHECK_EQ(bio_add_page(bio, pfn_to_page(pfn_range_base(r)), FRAME_SIZE, 0), 0);
		CHECK_EQ(bio_add_folio(bio, pfn_to_page(pfn_range_base(r)), FRAME_SIZE, 0), 0);
	}
	CHECK_EQ(bio->bi_vcnt, 0);
	bio_put(bio);

	/* Unregistered memory, or a range that runs off the end of its range. */
	CHECK_OK(bio_alloc(1024, BIO_OP_WRITE, bio_desc_for(mode), &bio));
	{
		char local[FRAME_SIZE];

		CHECK_EQ(bio_add_range(bio, local, sizeof(local), mode), -ENOENT);
		CHECK_EQ(bio_add_range(bio, mem + LEN - FRAME_SIZE, 2 * FRAME_SIZE, mode), -ENOENT);
		CHECK_EQ(bio->bi_vcnt, 0);
		CHECK_EQ(bio->bi_iter.bi_size, 0);
	}
	if (mode == DESC_PFN) {
		uint64_t frames = pfn_range_frames(r);

		CHECK_EQ(bio_add_pfn(bio, pfn_range_base(r) + frames - 1, 2 * FRAME_SIZE, 0), 0);
		CHECK_EQ(bio_add_pfn(bio, pfn_range_base(r) + frames, FRAME_SIZE, 0), 0);
		CHECK_EQ(bio_add_pfn(bio, pfn_range_base(r), FRAME_SIZE, 0), FRAME_SIZE);
		CHECK_EQ(bio->bi_vcnt, 1);
	} else {
		struct page *head = pfn_to_page(pfn_range_base(r));

		/* Page bvecs never exceed a page; folio bvecs never a folio. */
		CHECK_EQ(bio_add_page(bio, head, FRAME_SIZE, 1), 0);
		CHECK_EQ(bio_add_folio(bio, head, HUGE_SIZE, 1), 0);
		if (mode == DESC_FOLIO) {
			CHECK_EQ(bio_add_folio(bio, head + 1, FRAME_SIZE, 0), 0); /* a tail */
			CHECK_EQ(bio_add_folio(bio, head, HUGE_SIZE, 0), HUGE_SIZE);
			CHECK_EQ(page_ref_count(head), 2);
		}
		CHECK_EQ(bio_add_page(bio, head + 7, 100, 50), 100);
		CHECK(bvec_iter_seg(bio->bi_io_vec, bio->bi_desc,
				    (struct bvec_iter){.bi_idx = bio->bi_vcnt - 1, .bi_size = 100})
			      .addr == mem + 7 * FRAME_SIZE + 50);
	}
	bio_put(bio);
	if (mode != DESC_PFN)
		refs_all(mem, LEN, 1);

	/* bio_release_pages drops refs once, however often it is called. */
	if (mode != DESC_PFN) {
		struct bio_vec vecs[16];
		struct bio b;

		bio_init(&b, vecs, 16, BIO_OP_WRITE, BIO_DESC_PAGE);
		CHECK_OK(bio_add_range(&b, mem + 3 * FRAME_SIZE, 4 * FRAME_SIZE, mode));
		refs_all(mem + 3 * FRAME_SIZE, 4 * FRAME_SIZE, 2);
		bio_release_pages(&b);
		bio_release_pages(&b);
		refs_all(mem, LEN, 1);
	}

	pfn_range_unregister(&r);
	munmap(mem, LEN);
}

int main(void)
{
	char *mem = map_huge(2 * MiB);
	struct pfn_range *r;
	struct bio *bio;

	/* The struct page modes and pfn; test_bio_desc does ondemand and memdesc. */
	for (int m = DESC_PFN; m <= DESC_PAGE; m++)
		test_mode((enum desc_mode)m);

	/* FOLIO/PAGE on memory registered without a memmap: -EINVAL. */
	r = reg(mem, 2 * MiB, DESC_PFN);
	CHECK_OK(bio_alloc(512, BIO_OP_WRITE, BIO_DESC_PAGE, &bio));
	CHECK_EQ(bio_add_range(bio, mem, 2 * MiB, DESC_FOLIO), -EINVAL);
	CHECK_EQ(bio_add_range(bio, mem, 2 * MiB, DESC_PAGE), -EINVAL);
	CHECK(strstr(pmd_errmsg(), "memmap") != NULL);
	bio_put(bio);
	pfn_range_unregister(&r);

	/* PAGE-mode memory in a FOLIO bio: each page is its own folio. */
	r = reg(mem, 2 * MiB, DESC_PAGE);
	CHECK_EQ(bio_nr_vecs_for(mem, 2 * MiB, DESC_FOLIO), 512);
	bio = new_bio(BIO_OP_WRITE, mem, 2 * MiB, DESC_FOLIO, 0);
	CHECK_EQ(bio->bi_vcnt, 512);
	bio_put(bio);
	pfn_range_unregister(&r);

	/* Memory spanning two adjacent ranges: one bvec per range, never merged. */
	{
		char *two = map_huge(4 * MiB);

		for (int m = 0; m < DESC_NR_MODES; m++) {
			struct pfn_range *r1 = reg(two, 2 * MiB, (enum desc_mode)m);
			struct pfn_range *r2 = reg(two + 2 * MiB, 2 * MiB, (enum desc_mode)m);
			/* ondemand: two split areas, a transient page per 4 KiB. */
			unsigned want = m == DESC_PAGE || m == DESC_ONDEMAND ? 512 : 2;

			CHECK_EQ(bio_nr_vecs_for(two + MiB, 2 * MiB, (enum desc_mode)m), want);
			bio = new_bio(BIO_OP_WRITE, two + MiB, 2 * MiB, (enum desc_mode)m, 0);
			CHECK_EQ(bio->bi_vcnt, want);
			if (m == DESC_PFN) {
				/* Appending the first frame of r2 after r1's last: no merge. */
				struct bio *b2;

				CHECK_OK(bio_alloc(2, BIO_OP_WRITE, BIO_DESC_PFN, &b2));
				CHECK(bio_add_pfn(b2, pfn_range_base(r1) + 511, FRAME_SIZE, 0));
				CHECK(bio_add_pfn(b2, pfn_range_base(r2), FRAME_SIZE, 0));
				CHECK_EQ(b2->bi_vcnt, 2);
				/* An offset past a frame is normalised into the pfn. */
				CHECK_EQ(bio_add_pfn(b2, pfn_range_base(r2), 100,
						     2 * FRAME_SIZE + 8),
					 0); /* full and not adjacent */
				bio_put(b2);
				CHECK_OK(bio_alloc(1, BIO_OP_WRITE, BIO_DESC_PFN, &b2));
				CHECK(bio_add_pfn(b2, pfn_range_base(r2), 100, 2 * FRAME_SIZE + 8));
				CHECK_EQ(b2->bi_io_vec[0].bv_pfn, pfn_range_base(r2) + 2);
				CHECK_EQ(b2->bi_io_vec[0].bv_offset, 8);
				/* Continuing it merges. */
				CHECK(bio_add_pfn(b2, pfn_range_base(r2) + 2, 4000, 108));
				CHECK_EQ(b2->bi_vcnt, 1);
				CHECK_EQ(b2->bi_io_vec[0].bv_len, 4100);
				bio_put(b2);
			}
			bio_put(bio);
			pfn_range_unregister(&r2);
			pfn_range_unregister(&r1);
		}
		munmap(two, 4 * MiB);
	}

	/*
	 * bio_add_pfn_nocheck(): the bvec a caller computes from a range's
	 * first frame is the one bio_add_range() looks up, and it is appended
	 * (never merged) after what the bio holds.
	 */
	{
		char *buf = map_huge(2 * MiB);
		struct pfn_range *rb = reg(buf, 2 * MiB, DESC_PFN);
		uint64_t off = 5 * FRAME_SIZE + 512;
		struct bio *b2;

		bio = new_bio(BIO_OP_WRITE, buf + off, 8 * KiB, DESC_PFN, 0);
		CHECK_OK(bio_alloc(2, BIO_OP_WRITE, BIO_DESC_PFN, &b2));
		bio_add_pfn_nocheck(b2, pfn_range_base(rb) + bytes_to_frames(off), 8 * KiB,
				    (uint32_t)(off & (FRAME_SIZE - 1)));
		CHECK_EQ(b2->bi_vcnt, 1);
		CHECK_EQ(b2->bi_iter.bi_size, 8 * KiB);
		CHECK(memcmp(&b2->bi_io_vec[0], &bio->bi_io_vec[0], sizeof(struct bio_vec)) == 0);
		check_bio_covers(b2, buf + off, 8 * KiB);
		/* Continuing memory is a second bvec, not a merge. */
		bio_add_pfn_nocheck(b2, pfn_range_base(rb) + bytes_to_frames(off + 8 * KiB),
				    FRAME_SIZE, (uint32_t)(off & (FRAME_SIZE - 1)));
		CHECK_EQ(b2->bi_vcnt, 2);
		CHECK_EQ(b2->bi_iter.bi_size, 12 * KiB);
		CHECK_EQ(bio_segments(b2), 2);
		check_bio_covers(b2, buf + off, 12 * KiB);
		bio_put(b2);
		bio_put(bio);
		pfn_range_unregister(&rb);
		munmap(buf, 2 * MiB);
	}

	/* bio_alloc limits. */
	CHECK_EQ(bio_alloc(BIO_MAX_VECS + 1, BIO_OP_READ, BIO_DESC_PFN, &bio), -EINVAL);
	CHECK_OK(bio_alloc(0, BIO_OP_FLUSH, BIO_DESC_PFN, &bio));
	CHECK_EQ(atomic_load(&bio->bi_remaining), 1);
	bio_put(bio);
	return 0;
}
