/* SPDX-License-Identifier: MIT */
/*
 * test_desc_owner - from a frame to its owner in every descriptor mode:
 * page and folio answer per page (a shared folio too), ondemand and memdesc
 * answer for a descriptor one owner holds whole and say "ask the
 * filesystem" (-ENOENT) for a shared one, pfn mode has nothing to ask
 * (-EOPNOTSUPP) and uses the reverse map: extents per 2 MiB chunk, merged
 * when they continue, refused when they overlap, cut and split by removal,
 * and a map of one extent per chunk far below 1/64 of the memmap.
 */
#include "desc_owner.h"
#include "memmap.h"
#include "pfn_rmap.h"
#include "test_blk_ramdisk.h"

static char owner_a, owner_b;

static void expect_owner(pfn_t pfn, void *owner, uint64_t index)
{
	void *o = NULL;
	uint64_t i = 0;

	CHECK_OK(desc_owner_find(pfn, &o, &i));
	CHECK(o == owner);
	CHECK_EQ(i, index);
}

static void test_mode(enum desc_mode mode, char *mem)
{
	struct pfn_range *r;
	pfn_t base;
	void *o;
	uint64_t i;

	CHECK_OK(pfn_range_register(mem, 4 * MiB, PFN_KIND_PMEM, mode, &r));
	base = pfn_range_base(r);
	if (mode == DESC_PFN) {
		CHECK_EQ(desc_owner_set(base, 512, &owner_a, 0), -EOPNOTSUPP);
		CHECK_EQ(desc_owner_find(base, &o, &i), -EOPNOTSUPP);
		pfn_range_unregister(&r);
		return;
	}
	CHECK_EQ(desc_owner_find(base, &o, &i), -ENOENT); /* nobody yet */
	/* A owns the first 2 MiB from its byte 1 MiB on. */
	CHECK_OK(desc_owner_set(base, 512, &owner_a, MiB));
	expect_owner(base, &owner_a, MiB);
	expect_owner(base + 511, &owner_a, MiB + 511 * FRAME_SIZE);
	/* B takes 8 frames of the second 2 MiB: that descriptor is shared now. */
	CHECK_OK(desc_owner_set(base + 512 + 4, 8, &owner_b, 0));
	if (mode == DESC_ONDEMAND || mode == DESC_MEMDESC) {
		CHECK_EQ(desc_owner_find(base + 516, &o, &i), -ENOENT);
	} else {
		expect_owner(base + 516, &owner_b, 0);
		expect_owner(base + 523, &owner_b, 7 * FRAME_SIZE);
		CHECK_EQ(desc_owner_find(base + 512, &o, &i), -ENOENT);
	}
	/* Folio: a whole folio's owner survives a later partial change. */
	if (mode == DESC_FOLIO) {
		CHECK_OK(desc_owner_set(base + 1, 1, &owner_b, 4096));
		expect_owner(base, &owner_a, MiB);
		expect_owner(base + 1, &owner_b, 4096);
		expect_owner(base + 2, &owner_a, MiB + 2 * FRAME_SIZE);
		CHECK_OK(desc_owner_set(base, 1, &owner_b, 0));
		expect_owner(base, &owner_b, 0);
	}
	CHECK_EQ(desc_owner_set(base + 1000, 100, &owner_a, 0), -ENOENT); /* past the range */
	pfn_range_unregister(&r);
}

static void test_rmap(void)
{
	struct pfn_rmap *m;
	void *o;
	uint64_t i, nr = 64 * FRAMES_PER_HUGE;

	CHECK_OK(pfn_rmap_new(4096, nr, &m));
	CHECK_EQ(pfn_rmap_find(m, 4096, &o, &i), -ENOENT);
	CHECK_EQ(pfn_rmap_find(m, 4095, &o, &i), -ERANGE);
	CHECK_EQ(pfn_rmap_add(m, 4096 + nr - 1, 2, &owner_a, 0), -ERANGE);
	/* A: a 4 MiB extent over two chunks, in two continuing adds. */
	CHECK_OK(pfn_rmap_add(m, 4096, 300, &owner_a, 0));
	CHECK_OK(pfn_rmap_add(m, 4096 + 300, 724, &owner_a, 300 * FRAME_SIZE));
	CHECK_OK(pfn_rmap_find(m, 4096 + 700, &o, &i));
	CHECK(o == &owner_a);
	CHECK_EQ(i, 700 * FRAME_SIZE);
	CHECK_EQ(pfn_rmap_add(m, 4096 + 10, 1, &owner_b, 0), -EEXIST);
	/* B: small extents in the third chunk. */
	CHECK_OK(pfn_rmap_add(m, 4096 + 1024 + 100, 10, &owner_b, 0));
	CHECK_OK(pfn_rmap_add(m, 4096 + 1024 + 50, 10, &owner_b, 40960));
	CHECK_EQ(pfn_rmap_add(m, 4096 + 1024 + 55, 50, &owner_a, 0), -EEXIST);
	CHECK_OK(pfn_rmap_find(m, 4096 + 1024 + 55, &o, &i));
	CHECK(o == &owner_b);
	CHECK_EQ(i, 40960 + 5 * FRAME_SIZE);
	/* Remove the middle of A's first chunk: split. */
	CHECK_OK(pfn_rmap_remove(m, 4096 + 100, 10));
	CHECK_EQ(pfn_rmap_find(m, 4096 + 105, &o, &i), -ENOENT);
	CHECK_OK(pfn_rmap_find(m, 4096 + 110, &o, &i));
	CHECK_EQ(i, 110 * FRAME_SIZE);
	CHECK_OK(pfn_rmap_find(m, 4096 + 99, &o, &i));
	CHECK_EQ(i, 99 * FRAME_SIZE);
	/* Remove across a chunk boundary, then everything of the third chunk. */
	CHECK_OK(pfn_rmap_remove(m, 4096 + 500, 24));
	CHECK_EQ(pfn_rmap_find(m, 4096 + 515, &o, &i), -ENOENT);
	CHECK_OK(pfn_rmap_find(m, 4096 + 524, &o, &i));
	CHECK_OK(pfn_rmap_remove(m, 4096 + 1024, 512));
	CHECK_EQ(pfn_rmap_find(m, 4096 + 1024 + 105, &o, &i), -ENOENT);
	pfn_rmap_delete(&m);
	CHECK(m == NULL);

	/* One 2 MiB extent per chunk: far below 1/64 of the memmap. */
	CHECK_OK(pfn_rmap_new(0, nr, &m));
	for (uint64_t c = 0; c < 64; c++)
		CHECK_OK(pfn_rmap_add(m, c * FRAMES_PER_HUGE, FRAMES_PER_HUGE, &owner_a,
				      c * HUGE_SIZE));
	CHECK(pfn_rmap_bytes(m) * 64 <= nr * MEMMAP_BYTES_PER_FRAME);
	pfn_rmap_delete(&m);
}

int main(void)
{
	char *mem = map_huge(4 * MiB);

	for (int m = 0; m < DESC_NR_MODES; m++)
		test_mode((enum desc_mode)m, mem);
	test_rmap();
	return 0;
}
