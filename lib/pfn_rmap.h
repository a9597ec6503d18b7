/* SPDX-License-Identifier: MIT */
/*
 * pfn_rmap.h - a reverse map from frames to owners, for pfn mode.
 *
 * pfn mode keeps nothing per frame, so the owner of the memory (a
 * filesystem) keeps the answer to "whose is this frame?" itself, as XFS
 * keeps its rmap btree: per 2 MiB chunk of the range, a sorted array of
 * extents {first frame in the chunk, frames, owner, owner's byte offset}.
 * A chunk held by one file's 2 MiB extent costs one 24-byte entry plus its
 * header; the map grows only with fragmentation.
 *
 * Locking: one mutex per map for changes; pfn_rmap_find() takes it too (a
 * failing frame is rare; the write path is what must stay cheap).
 */
#ifndef PMD_PFN_RMAP_H
#define PMD_PFN_RMAP_H

#include <stdint.h>

#include "pfn.h"

struct pfn_rmap;

/*
 * pfn_rmap_new - an empty map of frames [@base, + @nr_frames) (@base a
 * multiple of 512). Returns 0 or -ENOMEM.
 */
int pfn_rmap_new(pfn_t base, uint64_t nr_frames, struct pfn_rmap **out);

/* pfn_rmap_delete - free the map; sets *@mp = NULL. */
void pfn_rmap_delete(struct pfn_rmap **mp);

/*
 * pfn_rmap_add - frames [@pfn, + @nr) now hold bytes [@index, + @nr * 4 KiB)
 * of @owner (non-NULL). They must be in the map and not already owned (a
 * filesystem removes an extent before it reuses the blocks). An extent that
 * continues the previous one of the same owner merges into it. Returns 0,
 * -ERANGE (outside the map), -EEXIST (overlaps an owned extent; nothing
 * changed in that chunk), -ENOMEM.
 */
int pfn_rmap_add(struct pfn_rmap *m, pfn_t pfn, uint64_t nr, void *owner, uint64_t index);

/*
 * pfn_rmap_remove - frames [@pfn, + @nr) have no owner any more (parts of
 * extents are cut out). Returns 0, -ERANGE, -ENOMEM (a split needed memory).
 */
int pfn_rmap_remove(struct pfn_rmap *m, pfn_t pfn, uint64_t nr);

/*
 * pfn_rmap_find - owner and byte offset of frame @pfn. Returns 0, -ENOENT
 * (no owner), -ERANGE (outside the map). O(log extents in the chunk).
 */
int pfn_rmap_find(struct pfn_rmap *m, pfn_t pfn, void **owner, uint64_t *index);

/* pfn_rmap_bytes - memory the map holds now (headers, chunk arrays), bytes. */
uint64_t pfn_rmap_bytes(struct pfn_rmap *m);

#endif
