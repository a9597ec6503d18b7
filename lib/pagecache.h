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
	 * @index + @nr) of @ino, to storage. Returns 0 or -errno (the pages
	 * then stay dirty).
	 */
	int (*writeback)(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr);
};

struct pagecache_stats {
	uint64_t nr_pages;   /* capacity, 4 KiB pages */
	uint64_t used_pages; /* holding file data */
	uint64_t dirty_pages;
	uint64_t hits;		   /* page lookups found in the cache */
	uint64_t misses;	   /* page lookups that had to fill */
	uint64_t evictions;	   /* pages reclaimed for reuse */
	uint64_t writeback_pages;  /* pages written back */
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
 * mark the pages dirty (partial pages are filled first). May write back
 * other pages to make room. Returns 0 or -errno.
 */
int pagecache_write(struct pagecache *pc, uint64_t ino, uint64_t off, size_t len, const void *src);

/*
 * pagecache_writeback - write back the dirty pages of @ino (0: of every
 * inode) and, with @drop, remove its pages from the cache (also the dirty
 * ones a failed writeback left: their data is lost, as the kernel loses it
 * on a writeback error). Returns 0 or the first writeback error.
 */
int pagecache_writeback(struct pagecache *pc, uint64_t ino, bool drop);

/* pagecache_get_stats - a snapshot of the counters. */
void pagecache_get_stats(struct pagecache *pc, struct pagecache_stats *st);

#endif
