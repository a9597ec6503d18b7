/* SPDX-License-Identifier: MIT */
/*
 * memmap.h - the page-backed baseline: a 64-byte struct page per 4 KiB.
 *
 * Modelled on the kernel's SPARSEMEM_VMEMMAP: one virtual array, indexed by
 * pfn, is reserved for the whole frame space; when a range is registered in
 * FOLIO or PAGE mode, the slice of the array that covers it is committed and
 * every struct page initialised, as memremap_pages() does for ZONE_DEVICE
 * pmem. pfn_to_page/page_to_pfn are then pointer arithmetic.
 *
 * In FOLIO mode every 2 MiB is a compound page of order 9: the head carries
 * PG_head and the order, each tail points at its head (compound_head | 1).
 * get_page/put_page act on the head's refcount, as folio_get/folio_put do.
 *
 * These structs are touched on the I/O path in page modes (a reference per
 * page per bio), which is the cost the pfn design removes.
 */
#ifndef PMD_MEMMAP_H
#define PMD_MEMMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pfn.h"

struct list_head {
	struct list_head *next, *prev;
};

/* Page flags (bit numbers). */
enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_head,
	PG_reserved,
	PG_private,
	PG_writeback,
	PG_pmem, /* belongs to a PFN_KIND_PMEM range (ZONE_DEVICE-like) */
};

/* The folio order lives in the head page's flags, bits 56..63. */
#define PAGE_ORDER_SHIFT 56

struct page {
	uint64_t flags; /* PG_* bits, folio order on heads */
	union {
		struct list_head lru; /* page cache / LRU list linkage */
		struct {
			uintptr_t compound_head; /* tails: head address | 1 */
			uint64_t compound_pad;
		};
	};
	void *mapping;	     /* owner (e.g. a page cache), or NULL */
	uint64_t index;	     /* offset within mapping, in pages */
	uintptr_t private;   /* owner-private word */
	atomic_int mapcount; /* -1 when not mapped, like the kernel's */
	atomic_int refcount;
	uint64_t memcg_data; /* unused; keeps the layout the kernel's size */
};

_Static_assert(sizeof(struct page) == 64, "struct page must be 64 bytes");

#define MEMMAP_BYTES_PER_FRAME ((uint64_t)sizeof(struct page))

/* The virtual memmap; exposed only for the inline converters. */
extern struct page *vmemmap;

/* pfn_to_page - descriptor of frame @pfn; the range must have a memmap. */
static inline struct page *pfn_to_page(pfn_t pfn)
{
	return vmemmap + pfn;
}

static inline pfn_t page_to_pfn(const struct page *page)
{
	return (pfn_t)(page - vmemmap);
}

/* page_address - the memory @page describes. */
static inline void *page_address(const struct page *page)
{
	return pfn_to_addr(page_to_pfn(page));
}

static inline bool page_test_flag(const struct page *page, enum pageflags f)
{
	return (page->flags >> f) & 1;
}

static inline bool page_is_tail(const struct page *page)
{
	return page->compound_head & 1;
}

/* compound_head - the head of @page's folio (itself if not compound). */
static inline struct page *compound_head(struct page *page)
{
	uintptr_t h = page->compound_head;

	if (h & 1)
		return (struct page *)(h - 1);
	return page;
}

/* folio_order - log2(pages) of the folio headed by @head (0 for a plain page). */
static inline unsigned folio_order(const struct page *head)
{
	if (!page_test_flag(head, PG_head))
		return 0;
	return (unsigned)(head->flags >> PAGE_ORDER_SHIFT);
}

static inline uint64_t folio_nr_pages(const struct page *head)
{
	return UINT64_C(1) << folio_order(head);
}

/* get_page/put_page - take/drop a reference on @page's folio. */
static inline void get_page(struct page *page)
{
	atomic_fetch_add_explicit(&compound_head(page)->refcount, 1, memory_order_relaxed);
}

/*
 * put_page - drop a reference. Returns true if it was the last one (which
 * for registered memory means a bug: ranges hold a base reference).
 */
static inline bool put_page(struct page *page)
{
	atomic_int *ref = &compound_head(page)->refcount;

	return atomic_fetch_sub_explicit(ref, 1, memory_order_acq_rel) == 1;
}

static inline int page_ref_count(struct page *page)
{
	return atomic_load_explicit(&compound_head(page)->refcount, memory_order_relaxed);
}

/*
 * memmap_populate - commit and initialise the memmap for @nr_frames frames
 * from @base (called by pfn_range_register). @folio: build 2 MiB compound
 * pages. Returns 0 or -ENOMEM (message names the bytes needed).
 */
int memmap_populate(pfn_t base, uint64_t nr_frames, bool folio, bool pmem);

/* memmap_depopulate - release the memmap of those frames (no checks). */
void memmap_depopulate(pfn_t base, uint64_t nr_frames);

/*
 * vm_commit - back [@addr, + @len) of a PROT_NONE reservation (page
 * aligned) with readable, writable zero memory. Returns 0, or -errno with
 * the reservation left as it was. vm_decommit - give it back, reserved
 * again. Used by the per-frame descriptor arrays (memmap, memdescs).
 */
int vm_commit(void *addr, uint64_t len);
void vm_decommit(void *addr, uint64_t len);

#endif
