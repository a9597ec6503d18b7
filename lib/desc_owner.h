/* SPDX-License-Identifier: MIT */
/*
 * desc_owner.h - from a bare frame to its owner, per descriptor mode.
 *
 * The argument for a per-4 KiB descriptor is that memory describes itself:
 * when a frame fails, the kernel goes from the pfn to the owner (file and
 * offset, or the I/O buffer) through struct page. Each mode answers it its
 * own way:
 *   page   every struct page keeps owner and byte offset (mapping, index);
 *   folio  the folio head keeps them when one owner has the whole folio,
 *          each page otherwise;
 *   ondemand  the 2 MiB area descriptor keeps them when one owner has the
 *          whole area; a shared area has no answer (DESC_OWNER_MIXED);
 *   memdesc the object (folio or scattered memory) keeps them, likewise;
 *   pfn    nothing per frame: the owner keeps a reverse map (pfn_rmap.h).
 *
 * desc_owner_set() is what the write path pays to keep the answer (on
 * allocation); desc_owner_find() is the lookup when memory fails.
 */
#ifndef PMD_DESC_OWNER_H
#define PMD_DESC_OWNER_H

#include <stdint.h>

#include "pfn.h"

/* The owner of a descriptor shared by several owners (not a real owner). */
#define DESC_OWNER_MIXED ((void *)(uintptr_t)1)

/*
 * desc_owner_set - record that frames [@pfn, + @nr) hold bytes
 * [@index, + @nr * 4 KiB) of @owner (NULL: no owner), in the descriptors of
 * the range they belong to. The frames must lie in one registered range.
 * Returns 0, -ENOENT (not registered), -EOPNOTSUPP (pfn mode: nothing to
 * record; keep a pfn_rmap). Caller serialises changes to the same frames.
 */
int desc_owner_set(pfn_t pfn, uint64_t nr, void *owner, uint64_t index);

/*
 * desc_owner_find - the owner and byte offset of frame @pfn from its
 * descriptor. Returns 0, -ENOENT (no owner recorded, or the descriptor is
 * shared by several owners: the caller must ask the filesystem), -EOPNOTSUPP
 * (pfn mode). Lock-free; O(1) plus the range lookup.
 */
int desc_owner_find(pfn_t pfn, void **owner, uint64_t *index);

#endif
