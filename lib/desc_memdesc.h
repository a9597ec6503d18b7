/* SPDX-License-Identifier: MIT */
/*
 * desc_memdesc.h - the 8-byte memdesc design (DESC_MEMDESC).
 *
 * The 2024 direction for struct page: every 4 KiB frame keeps one 8-byte
 * word (a memdesc) that points at a separately allocated object saying what
 * the frame belongs to; the type lives in the word's low bits. Facts the
 * kernel keeps in page flags for every frame (node, zone) are recovered
 * from the pfn (here: the kind of the pfn range, pmem or DRAM).
 *
 * Two object types:
 *   MD_FOLIO   a 2 MiB run of pmem: one md_folio per aligned 2 MiB of a
 *              PFN_KIND_PMEM range, so a bio names a folio in one bvec;
 *   MD_SCAMEM  scattered memory: one md_scamem per DRAM buffer (and for the
 *              frames of a pmem range past its last whole 2 MiB), with its
 *              own reference count, as vmalloc's proposed object has.
 * The words live in one virtual array indexed by pfn (8 bytes per frame,
 * 512 frames = one 4 KiB page of it, so ranges never share a page), and the
 * objects are allocated one by one when the range is registered.
 *
 * Bios in memdesc mode address memory by pfn, as pfn bvecs do (a bvec never
 * spans two objects), and take one reference on the object of each bvec;
 * bio_release_pages()/bio_put() drop them.
 */
#ifndef PMD_DESC_MEMDESC_H
#define PMD_DESC_MEMDESC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pfn.h"

typedef uint64_t memdesc_t;

enum md_type {
	MD_NONE = 0,
	MD_FOLIO = 1,
	MD_SCAMEM = 2,
};

#define MD_TYPE_MASK UINT64_C(0xf) /* objects are 16-byte aligned */

/* md_obj.flags */
#define MD_POISON (1u << 0) /* a frame of the object has failed (memory failure) */

/* What every memdesc object starts with. */
struct md_obj {
	atomic_int refcount; /* 1 base + one per bvec naming it */
	uint32_t flags;	     /* MD_* */
	pfn_t pfn;	     /* first frame */
	uint64_t nr_frames;  /* frames described */
	void *owner;	     /* owner cookie (a filesystem's inode, a buffer), or NULL */
	uint64_t index;	     /* owner's byte offset of the first frame */
};

struct md_folio {
	struct md_obj h;
	atomic_int mapcount; /* DAX mappings (-1: none) */
	uint32_t order;	     /* log2(frames) */
};

struct md_scamem {
	struct md_obj h;
};

/* The word array, indexed by pfn; exposed for the inline lookups. */
extern memdesc_t *memdescs;

static inline enum md_type memdesc_type(memdesc_t d)
{
	return (enum md_type)(d & MD_TYPE_MASK);
}

/* pfn_to_md_obj - the object frame @pfn belongs to (NULL if none). */
static inline struct md_obj *pfn_to_md_obj(pfn_t pfn)
{
	return (struct md_obj *)(uintptr_t)(memdescs[pfn] & ~MD_TYPE_MASK);
}

/* md_pfn_is_pmem - the "zone" of a frame, from its pfn range (not a per-frame flag). */
bool md_pfn_is_pmem(pfn_t pfn);

/*
 * md_populate - write the memdescs of frames [@base, + @nr_frames) and make
 * their objects (called by pfn_range_register; @base a multiple of
 * FRAMES_PER_HUGE). Returns 0 or -ENOMEM (message set).
 */
int md_populate(pfn_t base, uint64_t nr_frames, bool pmem);

/* md_depopulate - free the objects and the words (no I/O may hold them). */
void md_depopulate(pfn_t base, uint64_t nr_frames);

/*
 * md_descriptor_bytes - memory describing @nr_frames frames registered with
 * @pmem: 8 bytes per frame plus the objects. Bytes.
 */
uint64_t md_descriptor_bytes(uint64_t nr_frames, bool pmem);

#endif
