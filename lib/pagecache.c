/* SPDX-License-Identifier: MIT */
/*
 * pagecache.c - the page data path's 4 KiB page cache (see pagecache.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "pagecache.h"
#include "pfn.h"
#include "units.h"

#define PC_MAX_RUN 64u	   /* pages filled or written back by one hook call */
#define PG_resv PG_private /* the dirty page holds a storage reservation */

struct pagecache {
	pthread_mutex_t lock;
	const struct pagecache_ops *ops;
	void *ctx;
	void *mem; /* the pool, nr_pages * 4 KiB */
	uint64_t nr_pages;
	struct pfn_range *range; /* the pool's pfns and memmap */
	struct page *first;	 /* struct page of the pool's first frame */
	uint64_t *ino_of;	 /* per slot: owning inode (0: free) */
	struct page **hash;	 /* buckets, chained through page->private */
	uint64_t hash_mask;
	struct list_head lru; /* in use, most recent first */
	struct list_head free_list;
	struct pagecache_stats st;
};

static void list_init(struct list_head *h)
{
	h->next = h->prev = h;
}

static void list_del_entry(struct list_head *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = e;
}

static void list_add_head(struct list_head *e, struct list_head *h)
{
	e->next = h->next;
	e->prev = h;
	h->next->prev = e;
	h->next = e;
}

static bool list_is_empty(const struct list_head *h)
{
	return h->next == h;
}

static struct page *lru_to_page(struct list_head *e)
{
	return (struct page *)((char *)e - offsetof(struct page, lru));
}

static void pg_set(struct page *p, enum pageflags f)
{
	p->flags |= UINT64_C(1) << f;
}

static void pg_clear(struct page *p, enum pageflags f)
{
	p->flags &= ~(UINT64_C(1) << f);
}

static uint64_t slot_of(const struct pagecache *pc, const struct page *p)
{
	return (uint64_t)(p - pc->first);
}

static uint64_t hash_of(const struct pagecache *pc, uint64_t ino, uint64_t index)
{
	uint64_t h = ino * UINT64_C(0x9e3779b97f4a7c15) ^ (index * UINT64_C(0xc2b2ae3d27d4eb4f));

	return (h ^ (h >> 29)) & pc->hash_mask;
}

static struct page *pc_lookup(struct pagecache *pc, uint64_t ino, uint64_t index)
{
	struct page *p = pc->hash[hash_of(pc, ino, index)];

	while (p) {
		if (p->index == index && pc->ino_of[slot_of(pc, p)] == ino)
			return p;
		p = (struct page *)p->private;
	}
	return NULL;
}

/* Move @p to the head of the LRU: the page just used. */
static void pc_touch(struct pagecache *pc, struct page *p)
{
	list_del_entry(&p->lru);
	list_add_head(&p->lru, &pc->lru);
}

/* Slot @i holds a page of @ino (of any inode when @ino is 0). */
static bool pc_slot_of_ino(const struct pagecache *pc, uint64_t i, uint64_t ino)
{
	return pc->ino_of[i] && (!ino || pc->ino_of[i] == ino);
}

/*
 * The part of the page holding byte @off that lies before @end: its offset
 * in the page in *@in; returns its length (bytes).
 */
static uint64_t page_span(uint64_t off, uint64_t end, uint64_t *in)
{
	*in = off - frames_to_bytes(bytes_to_frames(off));
	return FRAME_SIZE - *in < end - off ? FRAME_SIZE - *in : end - off;
}

static void pc_hash_insert(struct pagecache *pc, struct page *p, uint64_t ino, uint64_t index)
{
	struct page **b = &pc->hash[hash_of(pc, ino, index)];

	p->index = index;
	p->mapping = pc;
	pc->ino_of[slot_of(pc, p)] = ino;
	p->private = (uintptr_t)*b;
	*b = p;
	pc->st.used_pages++;
}

static void pc_hash_remove(struct pagecache *pc, struct page *p)
{
	uint64_t ino = pc->ino_of[slot_of(pc, p)];
	struct page **pp = &pc->hash[hash_of(pc, ino, p->index)];

	while (*pp != p)
		pp = (struct page **)&(*pp)->private;
	*pp = (struct page *)p->private;
	p->private = 0;
	p->mapping = NULL;
	pc->ino_of[slot_of(pc, p)] = 0;
	pg_clear(p, PG_uptodate);
	pc->st.used_pages--;
}

/* Drop @n reservation marks among @pages (the storage was used or given back). */
static void pc_unmark_resv(struct pagecache *pc, struct page **pages, unsigned nr, unsigned n)
{
	for (unsigned i = 0; i < nr && n; i++) {
		if (page_test_flag(pages[i], PG_resv)) {
			pg_clear(pages[i], PG_resv);
			pc->st.reserved_pages--;
			n--;
		}
	}
}

/*
 * Write back one run of dirty pages, with the reservations they hold as
 * the hook's credit. On success the pages are clean and what the hook did
 * not use is given back; on failure they stay dirty, with as many
 * reservations as the hook still holds.
 */
static int pc_write_run(struct pagecache *pc, uint64_t ino, struct page **pages, unsigned nr)
{
	unsigned i, resv = 0, left;
	int err;

	for (i = 0; i < nr; i++) {
		pg_set(pages[i], PG_writeback);
		resv += page_test_flag(pages[i], PG_resv);
	}
	left = resv;
	err = pc->ops->writeback(pc->ctx, ino, pages[0]->index, pages, nr, &left);
	if (left > resv)
		left = resv;
	for (i = 0; i < nr; i++) {
		pg_clear(pages[i], PG_writeback);
		if (!err) {
			pg_clear(pages[i], PG_dirty);
			pc->st.dirty_pages--;
		}
	}
	if (err) {
		pc_unmark_resv(pc, pages, nr, resv - left);
		pc->st.writeback_errors++;
		return err;
	}
	pc_unmark_resv(pc, pages, nr, resv);
	if (left)
		pc->ops->unreserve(pc->ctx, ino, left);
	pc->st.writeback_pages += nr;
	return 0;
}

/*
 * Take a page for new data: from the free list, else the least recently
 * used page that is clean or can be written back; a dirty page whose
 * writeback fails is kept (moved to the LRU head) and the next one tried.
 */
static int pc_alloc(struct pagecache *pc, struct page **out)
{
	struct page *p;
	int err = 0;

	if (!list_is_empty(&pc->free_list)) {
		p = lru_to_page(pc->free_list.next);
		list_del_entry(&p->lru);
		*out = p;
		return 0;
	}
	for (uint64_t scan = 0; scan < pc->nr_pages && !list_is_empty(&pc->lru); scan++) {
		p = lru_to_page(pc->lru.prev);
		if (page_test_flag(p, PG_dirty)) {
			err = pc_write_run(pc, pc->ino_of[slot_of(pc, p)], &p, 1);
			if (err) {
				pc_touch(pc, p);
				continue;
			}
		}
		list_del_entry(&p->lru);
		pc_hash_remove(pc, p);
		pc->st.evictions++;
		*out = p;
		return 0;
	}
	return pmd_err(
		err ? err : -ENOMEM,
		"page cache: no page to evict (every page is dirty and its writeback fails)");
}

static void pc_free_page(struct pagecache *pc, struct page *p)
{
	list_add_head(&p->lru, &pc->free_list);
}

int pagecache_new(uint64_t nr_pages, const struct pagecache_ops *ops, void *ctx,
		  struct pagecache **out)
{
	struct pagecache *pc;
	uint64_t i, buckets = 1;
	int err;

	if (nr_pages < 16)
		return pmd_err(-EINVAL, "page cache of %llu pages is too small (at least 16)",
			       (unsigned long long)nr_pages);
	if (!ops || !ops->fill || !ops->writeback || (ops->reserve && !ops->unreserve))
		return pmd_err(-EINVAL, "page cache needs fill and writeback hooks "
					"(and unreserve with reserve)");
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pthread_mutex_init(&pc->lock, NULL);
	pc->ops = ops;
	pc->ctx = ctx;
	pc->nr_pages = nr_pages;
	while (buckets < nr_pages)
		buckets <<= 1;
	pc->hash_mask = buckets - 1;
	pc->hash = calloc(buckets, sizeof(*pc->hash));
	pc->ino_of = calloc(nr_pages, sizeof(*pc->ino_of));
	if (!pc->hash || !pc->ino_of) {
		err = -ENOMEM;
		goto out_free;
	}
	if (posix_memalign(&pc->mem, FRAME_SIZE, frames_to_bytes(nr_pages))) {
		pc->mem = NULL;
		err = pmd_err(-ENOMEM, "page cache: cannot allocate %llu pages",
			      (unsigned long long)nr_pages);
		goto out_free;
	}
	memset(pc->mem, 0, frames_to_bytes(nr_pages));
	err = pfn_range_register(pc->mem, frames_to_bytes(nr_pages), PFN_KIND_DRAM, DESC_PAGE,
				 &pc->range);
	if (err)
		goto out_free;
	pc->first = pfn_to_page(pfn_range_base(pc->range));
	list_init(&pc->lru);
	list_init(&pc->free_list);
	for (i = nr_pages; i-- > 0;) {
		struct page *p = pc->first + i;

		p->mapping = NULL;
		p->private = 0;
		pg_clear(p, PG_dirty);
		pg_clear(p, PG_uptodate);
		pc_free_page(pc, p);
	}
	pc->st.nr_pages = nr_pages;
	pc->st.descriptor_bytes = pfn_range_descriptor_bytes(pc->range);
	*out = pc;
	return 0;

out_free:
	pagecache_delete(&pc);
	return err;
}

void pagecache_delete(struct pagecache **pcp)
{
	struct pagecache *pc = *pcp;

	if (!pc)
		return;
	pfn_range_unregister(&pc->range);
	pthread_mutex_destroy(&pc->lock);
	free(pc->mem);
	free(pc->ino_of);
	free(pc->hash);
	free(pc);
	*pcp = NULL;
}

/*
 * Bring file pages [@index, @index + @nr) of @ino into the cache; pages
 * already cached are left alone. Fills runs of missing pages with one hook
 * call each. With @no_fill (whole pages about to be overwritten) missing
 * pages are only allocated. Called with the lock held.
 */
static int pc_populate(struct pagecache *pc, uint64_t ino, uint64_t index, unsigned nr,
		       bool no_fill)
{
	struct page *run[PC_MAX_RUN];
	unsigned i = 0, n, k;
	int err;

	while (i < nr) {
		struct page *hit = pc_lookup(pc, ino, index + i);

		if (hit) {
			/* to the LRU head, so this call's allocations spare it */
			pc_touch(pc, hit);
			pc->st.hits++;
			i++;
			continue;
		}
		for (n = 0; i + n < nr && n < PC_MAX_RUN && n < pc->nr_pages / 4; n++) {
			if (n && pc_lookup(pc, ino, index + i + n))
				break;
			err = pc_alloc(pc, &run[n]);
			if (err)
				goto out_free_run;
		}
		if (!no_fill) {
			err = pc->ops->fill(pc->ctx, ino, index + i, run, n);
			if (err)
				goto out_free_run;
		}
		for (k = 0; k < n; k++) {
			pg_set(run[k], PG_uptodate);
			pc_hash_insert(pc, run[k], ino, index + i + k);
			list_add_head(&run[k]->lru, &pc->lru);
		}
		pc->st.misses += n;
		i += n;
	}
	return 0;

out_free_run:
	for (k = 0; k < n; k++)
		pc_free_page(pc, run[k]);
	return err;
}

int pagecache_read(struct pagecache *pc, uint64_t ino, uint64_t off, size_t len, void *dst)
{
	uint64_t idx, end = off + len;
	char *d = dst;
	int err = 0;

	pthread_mutex_lock(&pc->lock);
	while (off < end) {
		uint64_t first = bytes_to_frames(off);
		uint64_t last = bytes_to_frames(end - 1);
		uint64_t chunk = pc->nr_pages / 2 < PC_MAX_RUN ? pc->nr_pages / 2 : PC_MAX_RUN;
		/* at most half the cache per pass, so nothing it brings in is evicted */
		unsigned nr = (unsigned)(last - first + 1 < chunk ? last - first + 1 : chunk);

		err = pc_populate(pc, ino, first, nr, false);
		if (err)
			break;
		for (idx = first; idx < first + nr && off < end; idx++) {
			struct page *p = pc_lookup(pc, ino, idx);
			uint64_t in, n = page_span(off, end, &in);

			if (!p) { /* evicted by a later run of this call: refill */
				break;
			}
			memcpy(d, (char *)page_address(p) + in, n);
			pc_touch(pc, p);
			d += n;
			off += n;
		}
	}
	pthread_mutex_unlock(&pc->lock);
	return err;
}

/* Order pages by (owning inode, file index); @arg is the cache. */
static int cmp_page_pos(const void *a, const void *b, void *arg)
{
	const struct pagecache *pc = arg;
	const struct page *pa = *(struct page *const *)a, *pb = *(struct page *const *)b;
	uint64_t ia = pc->ino_of[slot_of(pc, pa)], ib = pc->ino_of[slot_of(pc, pb)];

	if (ia != ib)
		return ia < ib ? -1 : 1;
	return pa->index < pb->index ? -1 : pa->index > pb->index;
}

/*
 * Write back the dirty pages of @ino (0: all) in runs of consecutive pages,
 * with @dirty room for nr_pages pointers. Called with the lock held.
 * Returns 0 or the first error (the pages of a failed run stay dirty).
 */
static int pc_writeback_locked(struct pagecache *pc, uint64_t ino, struct page **dirty)
{
	uint64_t i, nr = 0;
	int err = 0, e;

	for (i = 0; i < pc->nr_pages; i++) {
		if (pc_slot_of_ino(pc, i, ino) && page_test_flag(pc->first + i, PG_dirty))
			dirty[nr++] = pc->first + i;
	}
	/* Sort by (inode, index) so consecutive pages go out in one run. */
	qsort_r(dirty, nr, sizeof(*dirty), cmp_page_pos, pc);
	for (i = 0; i < nr;) {
		uint64_t cur = pc->ino_of[slot_of(pc, dirty[i])];
		unsigned n = 1;

		while (i + n < nr && n < PC_MAX_RUN &&
		       pc->ino_of[slot_of(pc, dirty[i + n])] == cur &&
		       dirty[i + n]->index == dirty[i]->index + n)
			n++;
		e = pc_write_run(pc, cur, dirty + i, n);
		if (e && !err)
			err = e;
		i += n;
	}
	return err;
}

/*
 * Keep at most half the cache dirty, so that eviction always finds clean
 * pages: before @more pages are dirtied past that, write everything back.
 * Returns 0, or the writeback error when the dirty pages stay too many.
 */
static int pc_balance_dirty(struct pagecache *pc, unsigned more)
{
	struct page **dirty;
	int err;

	if (pc->st.dirty_pages + more <= pc->nr_pages / 2)
		return 0;
	dirty = malloc(pc->nr_pages * sizeof(*dirty));
	if (!dirty)
		return -ENOMEM;
	err = pc_writeback_locked(pc, 0, dirty);
	free(dirty);
	if (pc->st.dirty_pages + more <= pc->nr_pages / 2)
		return 0;
	return err ? err : -EIO;
}

/*
 * Copy into the pages [@idx, @idx + @nr) of one write: reserve storage for
 * the pages that become dirty now, then fill, copy and dirty each page.
 * Returns 0 or -errno with *@done the bytes copied.
 */
static int pc_write_pages(struct pagecache *pc, uint64_t ino, uint64_t off, uint64_t end,
			  unsigned nr, const char *src, size_t *done)
{
	uint64_t idx = bytes_to_frames(off), mask = 0;
	unsigned k;
	int err = 0;

	for (k = 0; k < nr && pc->ops->reserve; k++) {
		struct page *p = pc_lookup(pc, ino, idx + k);

		if (!p || !page_test_flag(p, PG_dirty))
			mask |= UINT64_C(1) << k;
	}
	if (mask) {
		err = pc->ops->reserve(pc->ctx, ino, idx, nr, &mask);
		if (err)
			return err;
	}
	for (k = 0; k < nr && off < end; k++) {
		uint64_t in, n = page_span(off, end, &in);
		struct page *p;

		err = pc_populate(pc, ino, idx + k, 1, n == FRAME_SIZE);
		if (err)
			break;
		p = pc_lookup(pc, ino, idx + k);
		memcpy((char *)page_address(p) + in, src + *done, n);
		if (!page_test_flag(p, PG_dirty)) {
			pg_set(p, PG_dirty);
			pc->st.dirty_pages++;
		}
		if (mask & (UINT64_C(1) << k)) {
			pg_set(p, PG_resv);
			pc->st.reserved_pages++;
			mask &= ~(UINT64_C(1) << k);
		}
		pc_touch(pc, p);
		*done += n;
		off += n;
	}
	if (mask) /* reserved for pages that were not dirtied after all */
		pc->ops->unreserve(pc->ctx, ino, (unsigned)__builtin_popcountll(mask));
	return err;
}

int pagecache_write(struct pagecache *pc, uint64_t ino, uint64_t off, size_t len, const void *src,
		    size_t *done)
{
	uint64_t end = off + len;
	unsigned max = pc->nr_pages / 4 < PC_MAX_RUN ? (unsigned)(pc->nr_pages / 4) : PC_MAX_RUN;
	int err = 0;

	*done = 0;
	pthread_mutex_lock(&pc->lock);
	while (off + *done < end) {
		uint64_t pos = off + *done;
		uint64_t first = bytes_to_frames(pos), last = bytes_to_frames(end - 1);
		unsigned nr = last - first + 1 < max ? (unsigned)(last - first + 1) : max;

		err = pc_balance_dirty(pc, nr);
		if (err)
			break;
		err = pc_write_pages(pc, ino, pos, end, nr, src, done);
		if (err == -ENOSPC && nr > 1)
			err = pc_write_pages(pc, ino, off + *done, end, 1, src, done);
		if (err)
			break;
	}
	pthread_mutex_unlock(&pc->lock);
	return err;
}

/* Remove page @p from the cache, giving back its reservation. */
static void pc_remove(struct pagecache *pc, struct page *p)
{
	uint64_t ino = pc->ino_of[slot_of(pc, p)];

	if (page_test_flag(p, PG_dirty)) {
		pg_clear(p, PG_dirty);
		pc->st.dirty_pages--;
	}
	if (page_test_flag(p, PG_resv)) {
		pc_unmark_resv(pc, &p, 1, 1);
		pc->ops->unreserve(pc->ctx, ino, 1);
	}
	list_del_entry(&p->lru);
	pc_hash_remove(pc, p);
	pc_free_page(pc, p);
}

int pagecache_writeback(struct pagecache *pc, uint64_t ino, bool drop)
{
	struct page **dirty;
	int err;

	dirty = malloc(pc->nr_pages * sizeof(*dirty));
	if (!dirty)
		return -ENOMEM;
	pthread_mutex_lock(&pc->lock);
	err = pc_writeback_locked(pc, ino, dirty);
	if (drop) {
		for (uint64_t i = 0; i < pc->nr_pages; i++) {
			struct page *p = pc->first + i;

			if (pc_slot_of_ino(pc, i, ino) && !page_test_flag(p, PG_dirty))
				pc_remove(pc, p);
		}
	}
	pthread_mutex_unlock(&pc->lock);
	free(dirty);
	return err;
}

uint64_t pagecache_discard(struct pagecache *pc, uint64_t ino)
{
	uint64_t dropped = 0;

	pthread_mutex_lock(&pc->lock);
	for (uint64_t i = 0; i < pc->nr_pages; i++) {
		struct page *p = pc->first + i;

		if (!pc_slot_of_ino(pc, i, ino))
			continue;
		dropped += page_test_flag(p, PG_dirty);
		pc_remove(pc, p);
	}
	pthread_mutex_unlock(&pc->lock);
	return dropped;
}

void pagecache_get_stats(struct pagecache *pc, struct pagecache_stats *st)
{
	pthread_mutex_lock(&pc->lock);
	*st = pc->st;
	pthread_mutex_unlock(&pc->lock);
}
