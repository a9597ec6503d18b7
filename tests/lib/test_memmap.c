/* SPDX-License-Identifier: MIT */
/*
 * test_memmap - struct page per 4 KiB: size, pfn<->page, refcounts,
 * compound folio heads, descriptor accounting, and a clean -ENOMEM with the
 * needed size when a memmap cannot fit in memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "errmsg.h"
#include "memmap.h"
#include "test.h"

static void *map_aligned(uint64_t len)
{
	char *p = mmap(NULL, len + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	CHECK(p != MAP_FAILED);
	return (void *)align_up((uintptr_t)p, HUGE_SIZE);
}

int main(void)
{
	uint64_t len = 8 * MiB;
	char *mem = map_aligned(len);
	struct pfn_range *r;

	CHECK_EQ(sizeof(struct page), 64);

	/* Page mode: one order-0 page per frame. */
	CHECK_OK(pfn_range_register(mem, len, PFN_KIND_PMEM, DESC_PAGE, &r));
	CHECK_EQ(pfn_range_descriptor_bytes(r), len / FRAME_SIZE * 64 + len / HUGE_SIZE * 8);
	for (uint64_t i = 0; i < len / FRAME_SIZE; i++) {
		pfn_t pfn = pfn_range_base(r) + i;
		struct page *pg = pfn_to_page(pfn);

		CHECK_EQ(page_to_pfn(pg), pfn);
		CHECK(page_address(pg) == mem + i * FRAME_SIZE);
		CHECK(!page_is_tail(pg));
		CHECK(compound_head(pg) == pg);
		CHECK_EQ(folio_order(pg), 0);
		CHECK_EQ(page_ref_count(pg), 1);
		CHECK(page_test_flag(pg, PG_pmem));
		CHECK_EQ(atomic_load(&pg->mapcount), -1);
	}
	get_page(pfn_to_page(pfn_range_base(r) + 5));
	CHECK_EQ(page_ref_count(pfn_to_page(pfn_range_base(r) + 5)), 2);
	CHECK_EQ(page_ref_count(pfn_to_page(pfn_range_base(r) + 6)), 1);
	CHECK(!put_page(pfn_to_page(pfn_range_base(r) + 5)));
	pfn_range_unregister(&r);

	/* Folio mode: 2 MiB compound pages, refs go to the head. */
	CHECK_OK(pfn_range_register(mem, len, PFN_KIND_DRAM, DESC_FOLIO, &r));
	for (uint64_t h = 0; h < len / FRAME_SIZE; h += FRAMES_PER_HUGE) {
		struct page *head = pfn_to_page(pfn_range_base(r) + h);

		CHECK(page_test_flag(head, PG_head));
		CHECK_EQ(folio_order(head), 9);
		CHECK_EQ(folio_nr_pages(head), 512);
		CHECK(!page_test_flag(head, PG_pmem));
		for (uint64_t t = 1; t < FRAMES_PER_HUGE; t++) {
			struct page *tail = head + t;

			CHECK(page_is_tail(tail));
			CHECK(compound_head(tail) == head);
		}
		get_page(head + 100);
		CHECK_EQ(page_ref_count(head), 2);
		CHECK_EQ(page_ref_count(head + 7), 2);
		put_page(head + 3);
		CHECK_EQ(page_ref_count(head), 1);
	}
	pfn_range_unregister(&r);

	/* Folio mode refuses ranges that are not 2 MiB aligned. */
	CHECK_EQ(pfn_range_register(mem + FRAME_SIZE, 2 * MiB, PFN_KIND_DRAM, DESC_FOLIO, &r),
		 -EINVAL);

	/*
	 * A memmap larger than memory fails cleanly and says what it needed:
	 * 16 TiB would need 256 GiB of struct pages, but the frame space is
	 * 8 TiB, so use 4 TiB: 64 GiB of memmap, more than this machine has
	 * available (it checks MemAvailable first, then the mmap itself).
	 */
	{
		uint64_t big = 4 * TiB;
		void *p = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);

		CHECK(p != MAP_FAILED);
		pmd_err_clear();
		CHECK_EQ(pfn_range_register(p, big, PFN_KIND_PMEM, DESC_PAGE, &r), -ENOMEM);
		CHECK(strstr(pmd_errmsg(), "64 GiB") != NULL);
		/* The same range works without a memmap. */
		CHECK_OK(pfn_range_register(p, big, PFN_KIND_PMEM, DESC_PFN, &r));
		pfn_range_unregister(&r);
		munmap(p, big);
	}
	return 0;
}
