/* SPDX-License-Identifier: MIT */
/*
 * pagecache.h - a small 4 KiB page cache for the daxfs "page" data path.
 *
 * The cache owns a fixed pool of DRAM pages registered in the pfn space
 * with a memmap (DESC_PAGE), so each cached page has a struct page, as in
 * the kernel: page->mapping points at the per-inode mapping, page->index is
 * the page's offset in the file (in 4 KiB pages), PG_uptodate and PG_dirty
 * carry the state, page->lru links the page on the LRU (in use) or the
 * free list, and page->private chains the (mapping, index) hash.
 *
 * The cache moves no data to or from storage itself: the owner supplies a
 * fill hook (read file pages into cache pages, zeroes for holes) and a
 * writeback hook (write dirty pages), both given runs of pages with
 * consecutive file indices so the owner can build one bio per run.
 *
 * No acknowledged write is lost (delayed allocation, as ext4's delalloc):
 * a write that dirties a page for the first time asks the owner's reserve
 * hook to set storage aside for it when the page has none yet, and fails
 * with its -ENOSPC otherwise, so writeback never runs out of space; such a
 * page carries PG_private until its writeback used or gave back the
 * reservation. A dirty page whose writeback fails stays dirty and cached
 * (only pagecache_discard() drops it); eviction skips it and takes clean
 * pages, and at most half the cache is ever dirty, so reads always find
 * room.
 *
 * Locking: one mutex per cache, held across the hooks. Every function may
 * be called from any thread.
 */
#ifndef DAXFS_PAGECACHE_H
#define DAXFS_PAGECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

struct pagecache;

struct pagecache_ops {
	/*
	 * Required. Read file pages [@index, @index + @nr) of @ino into
	 * @pages[0..@nr) (zero-filled where the file has no data). Returns 0
	 * or -errno; on error no page is marked uptodate.
	 */
	int (*fill)(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr);
	/*
	 * Required. Write @pages[0..@nr), holding file pages [@index,
	 * @index + @nr) of @ino, to storage. *@resv: on entry, how many of
	 * these pages hold a reservation (blocks the hook may allocate from);
	 * on return, how many reservations it did not use (the cache gives
	 * them back through unreserve on success, keeps them on failure).
	 * Returns 0 or -errno (the pages then stay dirty).
	 */
	int (*writeback)(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr,
			 unsigned *resv);
	/*
	 * Optional. Pages of @ino in [@index, @index + @nr) (@nr <= 64) whose
	 * bit is set in *@mask (bit i: page @index + i) are about to be
	 * dirtied: reserve storage for each that has none (a hole), all or
	 * nothing, and leave in *@mask the pages that got a reservation.
	 * Returns 0, or -errno (-ENOSPC) with nothing reserved.
	 */
	int (*reserve)(void *ctx, uint64_t ino, uint64_t index, unsigned nr, uint64_t *mask);
	/* Required with reserve. Give back @n reservations of @ino. */
	void (*unreserve)(void *ctx, uint64_t ino, unsigned n);
};

struct pagecache_stats {
	uint64_t nr_pages;   /* capacity, 4 KiB pages */
	uint64_t used_pages; /* holding file data */
	uint64_t dirty_pages;
	uint64_t hits;		   /* page lookups found in the cache */
	uint64_t misses;	   /* page lookups that had to fill */
	uint64_t evictions;	   /* pages reclaimed for reuse */
	uint64_t writeback_pages;  /* pages written back */
	uint64_t writeback_errors; /* failed writeback hook calls (the pages stayed dirty) */
	uint64_t reserved_pages;   /* dirty pages holding a reservation */
	uint64_t descriptor_bytes; /* memmap + pfn table bytes of the pool */
};

/*
 * pagecache_new - a cache of @nr_pages 4 KiB pages (>= 16). Returns 0 or
 * -errno with pmd_err (-ENOMEM, registration failures).
 */
int pagecache_new(uint64_t nr_pages, const struct pagecache_ops *ops, void *ctx,
		  struct pagecache **out);

/*
 * pagecache_delete - free the cache; dirty pages are NOT written back (call
 * pagecache_writeback(pc, 0, true) first). *@pcp = NULL.
 */
void pagecache_delete(struct pagecache **pcp);

/*
 * pagecache_read - copy @len bytes at byte @off of @ino into @dst, filling
 * missing pages through ops->fill. The caller clamps @len to the file
 * size. Returns 0 or -errno.
 */
int pagecache_read(struct pagecache *pc, uint64_t ino, uint64_t off, size_t len, void *dst);

/*
 * pagecache_write - copy @len bytes from @src to byte @off of @ino and
 * mark the pages dirty (partial pages are filled first), reserving storage
 * for pages dirtied over holes. May write back other pages first, to make
 * room or to keep at most half the cache dirty. *@done gets the bytes
 * copied. Returns 0 (all of them), or -errno with *@done the bytes copied
 * before the error (-ENOSPC from the reserve hook: a short write).
 */
int pagecache_write(struct pagecache *pc, uint64_t ino, uint64_t off, size_t len, const void *src,
		    size_t *done);

/*
 * pagecache_writeback - write back the dirty pages of @ino (0: of every
 * inode) and, with @drop, remove its clean pages from the cache. A page
 * whose writeback fails stays dirty and cached (with @drop too): nothing
 * acknowledged is dropped. Returns 0 or the first writeback error.
 */
int pagecache_writeback(struct pagecache *pc, uint64_t ino, bool drop);

/*
 * pagecache_discard - remove every page of @ino (0: of every inode), dirty
 * ones too, giving back their reservations: for a file that no longer
 * exists. Returns the number of dirty pages dropped.
 */
uint64_t pagecache_discard(struct pagecache *pc, uint64_t ino);

/* pagecache_get_stats - a snapshot of the counters. */
void pagecache_get_stats(struct pagecache *pc, struct pagecache_stats *st);

#endif
