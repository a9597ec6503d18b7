/* SPDX-License-Identifier: MIT */
/*
 * test_pfn - the pfn space: registration, O(1) lookups both ways, frame
 * space reuse, overlap and alignment refusals, descriptor accounting.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pfn.h"
#include "test.h"

static void *map_anon(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

int main(void)
{
	uint64_t len = 6 * MiB + 12 * KiB; /* not a multiple of 2 MiB on purpose */
	char *a = map_anon(len), *b = map_anon(4 * MiB);
	struct pfn_range *ra, *rb, *rc, *found;
	pfn_t pfn;

	CHECK_OK(pfn_range_register(a, len, PFN_KIND_DRAM, DESC_PFN, &ra));
	CHECK_OK(pfn_range_register(b, 4 * MiB, PFN_KIND_PMEM, DESC_PFN, &rb));
	CHECK_EQ(pfn_range_frames(ra), len / FRAME_SIZE);
	CHECK_EQ(pfn_range_base(ra) % FRAMES_PER_HUGE, 0);
	CHECK_EQ(pfn_range_base(rb) % FRAMES_PER_HUGE, 0);
	CHECK(pfn_range_base(ra) != 0);
	CHECK(pfn_range_addr(ra) == a);
	CHECK(pfn_range_mode(rb) == DESC_PFN);

	/* Every frame maps back to its own address, both ways. */
	for (uint64_t i = 0; i < pfn_range_frames(ra); i++) {
		pfn_t p = pfn_range_base(ra) + i;

		CHECK(pfn_to_addr(p) == a + i * FRAME_SIZE);
		CHECK_OK(addr_to_pfn(a + i * FRAME_SIZE + 17, &pfn, &found));
		CHECK_EQ(pfn, p);
		CHECK(found == ra);
		CHECK(pfn_valid(p));
	}
	CHECK(!pfn_valid(pfn_range_base(ra) + pfn_range_frames(ra)));
	CHECK(!pfn_valid(0));
	CHECK_EQ(addr_to_pfn(a + len, &pfn, NULL), -ENOENT);
	CHECK(pfn_range_of(pfn_range_base(rb) + 3) == rb);

	/* Extents never cross a range. */
	CHECK(pfn_extent_contiguous(pfn_range_base(ra), pfn_range_frames(ra)));
	CHECK(!pfn_extent_contiguous(pfn_range_base(ra), pfn_range_frames(ra) + 1));
	CHECK(!pfn_extent_contiguous(pfn_range_base(ra) + pfn_range_frames(ra), 1));

	/* No per-4 KiB state in pfn mode: one 8-byte slot per 2 MiB. */
	CHECK_EQ(pfn_range_descriptor_bytes(rb), 2 * sizeof(void *));
	CHECK_EQ(pfn_range_descriptor_bytes(ra), 4 * sizeof(void *));

	/* Refusals. */
	CHECK_EQ(pfn_range_register(a + 1, FRAME_SIZE, PFN_KIND_DRAM, DESC_PFN, &rc), -EINVAL);
	CHECK_EQ(pfn_range_register(a, 100, PFN_KIND_DRAM, DESC_PFN, &rc), -EINVAL);
	CHECK_EQ(pfn_range_register(a, 0, PFN_KIND_DRAM, DESC_PFN, &rc), -EINVAL);
	CHECK_EQ(pfn_range_register(a + 4 * KiB, FRAME_SIZE, PFN_KIND_DRAM, DESC_PFN, &rc),
		 -EINVAL); /* overlap */

	/* Frame space is reused after unregister (first fit). */
	pfn = pfn_range_base(ra);
	pfn_range_unregister(&ra);
	CHECK(ra == NULL);
	CHECK(!pfn_valid(pfn));
	CHECK_OK(pfn_range_register(a, 2 * MiB, PFN_KIND_DRAM, DESC_PFN, &rc));
	CHECK_EQ(pfn_range_base(rc), pfn);
	pfn_range_unregister(&rc);
	pfn_range_unregister(&rb);
	pfn_range_unregister(&rb); /* NULL is fine */

	/* A large sparse range registers in pfn mode at almost no cost. */
	{
		uint64_t big = 64 * GiB;
		void *p = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);

		CHECK(p != MAP_FAILED);
		CHECK_OK(pfn_range_register(p, big, PFN_KIND_PMEM, DESC_PFN, &rc));
		CHECK_EQ(pfn_range_descriptor_bytes(rc), big / HUGE_SIZE * sizeof(void *));
		pfn_range_unregister(&rc);
		munmap(p, big);
	}
	munmap(a, len);
	munmap(b, 4 * MiB);
	return 0;
}
