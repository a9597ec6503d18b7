/* SPDX-License-Identifier: MIT */
/*
 * pfn_rmap.h - a reverse map from frames to owners, for pfn mode.
 *
 * pfn mode keeps nothing per frame, so the owner of the memory (a
 * filesystem) keeps the answer to "whose is this frame?" itself, as XFS
 * keeps its rmap btree: per 2 MiB chunk of the range, a sorted array of
 * extents {first frame in the chunk, frames, owner, owner's byte offset}.
 *
 * Memory: an extent is 8 bytes ("narrow") when its owner is a number of
 * at most id_bits bits (the width of the map's max_id, at most 32: a
 * filesystem's inode number, cast to void *) and its offset a multiple of
 * 4 KiB below 2^(57 - id_bits) bytes (id_bits 17, an inode table of 128 Ki
 * inodes, leaves offsets up to 1 TiB; 32 leaves 32 MiB). Any other extent
 * (a pointer or a larger number as owner, an odd or larger offset) is
 * "wide": its 8 bytes name a 16-byte record {owner, offset} of its own in
 * a table of the map, so nothing is refused for its size, it only costs
 * more. Arrays grow a little at a time and shrink when they empty; an
 * empty chunk costs its pointer only (8 bytes per 2 MiB). A chunk held by
 * one file's 2 MiB extent costs one entry; the map grows only with
 * fragmentation.
 *
 * Locking: one mutex per map for changes; pfn_rmap_find() takes it too (a
 * failing frame is rare; the write path is what must stay cheap).
 */
#ifndef PMD_PFN_RMAP_H
#define PMD_PFN_RMAP_H

#include <stdint.h>

#include "pfn.h"

struct pfn_rmap;

#define PFN_RMAP_ID_BITS_MAX 32

/*
 * pfn_rmap_new - an empty map of frames [@base, + @nr_frames) (@base a
 * multiple of 512) whose owners are mostly numbers up to @max_id (packed
 * narrow: its bit width, at most PFN_RMAP_ID_BITS_MAX, is kept per extent;
 * 0 when owners are pointers: every extent is wide). Any owner works; the
 * hint only decides what is cheap. Returns 0 or -ENOMEM.
 */
int pfn_rmap_new(pfn_t base, uint64_t nr_frames, uint64_t max_id, struct pfn_rmap **out);

/* pfn_rmap_delete - free the map; sets *@mp = NULL. */
void pfn_rmap_delete(struct pfn_rmap **mp);

/*
 * pfn_rmap_add - frames [@pfn, + @nr) now hold bytes [@index, + @nr * 4 KiB)
 * of @owner (non-NULL). They must be in the map and not already owned (a
 * filesystem removes an extent before it reuses the blocks). An extent that
 * continues its neighbour of the same owner (before or after it, frames
 * and offsets both) merges into it. Returns 0, -EINVAL (@owner NULL),
 * -ERANGE (outside the map, or @index + the extent's bytes beyond 2^64),
 * -EEXIST (overlaps an owned extent; nothing changed in that chunk, though
 * earlier chunks of a multi-chunk extent stay added), -ENOMEM.
 */
int pfn_rmap_add(struct pfn_rmap *m, pfn_t pfn, uint64_t nr, void *owner, uint64_t index);

/*
 * pfn_rmap_remove - frames [@pfn, + @nr) have no owner any more (parts of
 * extents are cut out). Returns 0, -ERANGE, -ENOMEM (a split needed memory;
 * the chunk where it failed is unchanged from that extent on).
 */
int pfn_rmap_remove(struct pfn_rmap *m, pfn_t pfn, uint64_t nr);

/*
 * pfn_rmap_find - owner and byte offset of frame @pfn. Returns 0, -ENOENT
 * (no owner), -ERANGE (outside the map). O(log extents in the chunk).
 */
int pfn_rmap_find(struct pfn_rmap *m, pfn_t pfn, void **owner, uint64_t *index);

/*
 * pfn_rmap_bytes - memory the map holds now, bytes: everything it
 * allocated (its chunk pointers, chunk arrays, wide records), each block
 * counted as the allocator holds it (usable size plus its size word).
 */
uint64_t pfn_rmap_bytes(struct pfn_rmap *m);

struct pfn_rmap_stats {
	uint64_t extents; /* entries in the chunk arrays */
	uint64_t wide;	  /* of which wide (a record in the table) */
	uint64_t chunks;  /* chunks with an array (at least one extent) */
	uint64_t slots;	  /* entries the arrays have room for */
	uint64_t bytes;	  /* pfn_rmap_bytes() */
};

/* pfn_rmap_stats - what the map holds (for tests and measurements). */
void pfn_rmap_stats(struct pfn_rmap *m, struct pfn_rmap_stats *st);

#endif
