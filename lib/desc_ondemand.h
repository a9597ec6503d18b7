/* SPDX-License-Identifier: MIT */
/*
 * desc_ondemand.h - the "struct page on demand" design (DESC_ONDEMAND).
 *
 * The 2015 proposal for persistent memory: keep one small descriptor per
 * 2 MiB area permanently, and make 4 KiB struct pages only when an I/O
 * needs an area split into 4 KiB pieces; those pages go down the stack in
 * the bio and are freed when it completes.
 *
 * Here a range registered in DESC_ONDEMAND mode gets a struct od_area per
 * 2 MiB of frame space (64 bytes, in one virtual array indexed by pfn / 512,
 * like the memmap). bio_add_range() in ondemand mode names a whole area by
 * its od_area (one bvec of up to 2 MiB) and any part of an area by
 * transient struct od_pages, one per 4 KiB frame touched (one bvec each);
 * bio_release_pages()/bio_put() free them. Both descriptors start with a
 * struct od_head, so a bvec's memory is pfn_to_addr(head->pfn) + offset
 * whichever it names.
 *
 * Transient pages come from a per-thread free list (the slab a kernel would
 * use) and are counted: od_stats() reports how many are alive now, the most
 * ever alive at once, and how many were made, which is the transient memory
 * a queue depth costs.
 *
 * Locking: area reference counts are atomic; populate/depopulate run under
 * the pfn registration lock (pfn.c); transient pages belong to their bio.
 */
#ifndef PMD_DESC_ONDEMAND_H
#define PMD_DESC_ONDEMAND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pfn.h"

/* od_head.flags */
#define OD_TRANSIENT (1u << 0) /* an od_page made for one bio */
#define OD_PMEM (1u << 1)      /* the area belongs to a PFN_KIND_PMEM range */
#define OD_POISON (1u << 2)    /* a frame of the area has failed (memory failure) */

/* What both descriptors start with. */
struct od_head {
	pfn_t pfn;	     /* first frame described */
	uint32_t flags;	     /* OD_* */
	atomic_int refcount; /* areas: 1 base + one per bvec naming it; pages: users */
};

/* The permanent descriptor of one 2 MiB area of frame space. */
struct od_area {
	struct od_head h;
	atomic_int split_pages; /* transient od_pages of this area alive now */
	atomic_int mapcount;	/* DAX mappings of the area (-1: none) */
	void *owner;		/* owner cookie (a filesystem's inode), or NULL */
	uint64_t index;		/* owner's byte offset of the area's first frame */
	uint64_t owner_data;	/* owner-private word */
	uint64_t reserved;
};

_Static_assert(sizeof(struct od_area) <= 64, "ondemand keeps at most 64 bytes per 2 MiB");

/* A transient 4 KiB struct page of one frame of an area, alive for one bio. */
struct od_page {
	struct od_head h;
	struct od_area *area;  /* the area the frame belongs to (holds a split count) */
	struct od_page *next;  /* free list linkage while cached */
	void *mapping;	       /* as struct page: owner, filled from the area */
	uint64_t index;	       /* owner's byte offset of this frame */
	uint64_t private_data; /* keeps the kernel's 64-byte struct page size */
	uint64_t pad;
};

_Static_assert(sizeof(struct od_page) == 64, "a transient page is a 64-byte struct page");

#define OD_AREA_BYTES ((uint64_t)sizeof(struct od_area))
#define OD_PAGE_BYTES ((uint64_t)sizeof(struct od_page))

/* The area array, indexed by pfn / FRAMES_PER_HUGE; exposed for the inline lookup. */
extern struct od_area *od_areas;

/* pfn_to_od_area - the area descriptor of frame @pfn (range must be ONDEMAND). */
static inline struct od_area *pfn_to_od_area(pfn_t pfn)
{
	return &od_areas[pfn / FRAMES_PER_HUGE];
}

/*
 * od_populate - make the area descriptors of frames [@base, + @nr_frames)
 * (@base a multiple of FRAMES_PER_HUGE; called by pfn_range_register).
 * Returns 0 or -ENOMEM (message set).
 */
int od_populate(pfn_t base, uint64_t nr_frames, bool pmem);

/* od_depopulate - forget those areas (no I/O may hold them). */
void od_depopulate(pfn_t base, uint64_t nr_frames);

/* od_descriptor_bytes - permanent descriptor memory of @nr_frames frames, bytes. */
uint64_t od_descriptor_bytes(uint64_t nr_frames);

struct od_stats {
	uint64_t live;	/* transient pages alive now */
	uint64_t peak;	/* most alive at once since the last od_stats_reset() */
	uint64_t made;	/* transient pages made since the last reset */
};

/* od_stats - counters of transient pages (process-wide, relaxed). */
void od_stats(struct od_stats *st);

/* od_stats_reset - peak back to the live count, made to 0. */
void od_stats_reset(void);

#endif
