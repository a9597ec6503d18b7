/* SPDX-License-Identifier: MIT */
/*
 * test_desc_owner - from a frame to its owner in every descriptor mode:
 * page and folio answer per page (a shared folio too), ondemand and memdesc
 * answer for a descriptor one owner holds whole and say "ask the
 * filesystem" (-ENOENT) for a shared one, pfn mode has nothing to ask
 * (-EOPNOTSUPP): it keeps a reverse map instead (test_pfn_rmap).
 */
#include "desc_owner.h"
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

int main(void)
{
	char *mem = map_huge(4 * MiB);

	for (int m = 0; m < DESC_NR_MODES; m++)
		test_mode((enum desc_mode)m, mem);
	return 0;
}
