/* SPDX-License-Identifier: MIT */
/*
 * desc_ondemand.c - area descriptors and transient struct pages
 * (DESC_ONDEMAND, see desc_ondemand.h).
 *
 * The area array covers the whole frame space (PFN_SPACE_FRAMES / 512
 * descriptors of 64 bytes: 256 MiB of address space for the default space),
 * mapped MAP_NORESERVE and touched only where ranges are registered, as the
 * pfn table is. Two ranges may share a page of it (a range can be a single
 * area), so depopulating zeroes its slots and gives back only the pages
 * that lie wholly inside them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "desc_bio.h"
#include "desc_ondemand.h"
#include "errmsg.h"

struct od_area *od_areas;

static pthread_once_t od_once = PTHREAD_ONCE_INIT;
static int od_init_err;

#define OD_AREA_SLOTS (PFN_SPACE_FRAMES / FRAMES_PER_HUGE)

static void od_init(void)
{
	void *p = mmap(NULL, OD_AREA_SLOTS * OD_AREA_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		od_init_err = -errno;
		return;
	}
	od_areas = p;
}

int od_populate(pfn_t base, uint64_t nr_frames, bool pmem)
{
	uint64_t first = base / FRAMES_PER_HUGE;
	uint64_t n = align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;

	pthread_once(&od_once, od_init);
	if (od_init_err)
		return pmd_err(od_init_err, "cannot reserve the ondemand area array");
	for (uint64_t i = 0; i < n; i++) {
		struct od_area *a = &od_areas[first + i];

		memset(a, 0, sizeof(*a));
		a->h.pfn = base + i * FRAMES_PER_HUGE;
		a->h.flags = pmem ? OD_PMEM : 0;
		/* The range holds a base reference, as registered struct pages do. */
		atomic_init(&a->h.refcount, 1);
		atomic_init(&a->split_pages, 0);
		atomic_init(&a->mapcount, -1);
	}
	return 0;
}

void od_depopulate(pfn_t base, uint64_t nr_frames)
{
	uint64_t n = align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;
	uintptr_t s = (uintptr_t)&od_areas[base / FRAMES_PER_HUGE];
	uintptr_t e = s + n * OD_AREA_BYTES;
	uintptr_t ps = align_up(s, FRAME_SIZE), pe = align_down(e, FRAME_SIZE);

	memset((void *)s, 0, e - s);
	if (pe > ps)
		madvise((void *)ps, pe - ps, MADV_DONTNEED);
}

uint64_t od_descriptor_bytes(uint64_t nr_frames)
{
	return align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE * OD_AREA_BYTES;
}

/*
 * Transient pages: a per-thread free list of up to OD_CACHE_MAX pages in
 * front of malloc, emptied when its thread exits; a page freed on another
 * thread than the one that made it (async completion) joins that thread's
 * list. Counters are process-wide relaxed atomics.
 */
#define OD_CACHE_MAX 256u

struct od_cache {
	struct od_page *free;
	unsigned nr;
	bool registered;
};

static _Thread_local struct od_cache od_cache;
static pthread_key_t od_cache_key;
static pthread_once_t od_cache_once = PTHREAD_ONCE_INIT;
static bool od_cache_key_ok;

static atomic_ulong od_live, od_peak, od_made;

static void od_cache_drain(struct od_cache *c)
{
	while (c->free) {
		struct od_page *p = c->free;

		c->free = p->next;
		free(p);
	}
	c->nr = 0;
}

static void od_cache_thread_exit(void *p)
{
	od_cache_drain(p);
}

static void od_cache_process_exit(void)
{
	od_cache_drain(&od_cache);
}

static void od_cache_init(void)
{
	od_cache_key_ok = !pthread_key_create(&od_cache_key, od_cache_thread_exit);
	atexit(od_cache_process_exit);
}

static bool __attribute__((noinline, cold)) od_cache_register(struct od_cache *c)
{
	pthread_once(&od_cache_once, od_cache_init);
	c->registered = od_cache_key_ok && !pthread_setspecific(od_cache_key, c);
	return c->registered;
}

static void od_count_made(void)
{
	unsigned long live = atomic_fetch_add_explicit(&od_live, 1, memory_order_relaxed) + 1;
	unsigned long peak = atomic_load_explicit(&od_peak, memory_order_relaxed);

	atomic_fetch_add_explicit(&od_made, 1, memory_order_relaxed);
	while (live > peak && !atomic_compare_exchange_weak_explicit(
				      &od_peak, &peak, live, memory_order_relaxed,
				      memory_order_relaxed))
		;
}

/* od_page_make - a transient page for frame @pfn of area @a, or NULL (no memory). */
static struct od_page *od_page_make(struct od_area *a, pfn_t pfn)
{
	struct od_cache *c = &od_cache;
	struct od_page *p = c->free;

	if (p) {
		c->free = p->next;
		c->nr--;
	} else {
		p = aligned_alloc(OD_PAGE_BYTES, OD_PAGE_BYTES);
		if (!p)
			return NULL;
	}
	p->h.pfn = pfn;
	p->h.flags = OD_TRANSIENT | (a->h.flags & (OD_PMEM | OD_POISON));
	atomic_init(&p->h.refcount, 1);
	p->area = a;
	p->next = NULL;
	p->mapping = a->owner;
	p->index = a->index + frames_to_bytes(pfn - a->h.pfn);
	p->private_data = 0;
	atomic_fetch_add_explicit(&a->split_pages, 1, memory_order_relaxed);
	od_count_made();
	return p;
}

/* od_page_free - the page's bio is done with it. */
static void od_page_free(struct od_page *p)
{
	struct od_cache *c = &od_cache;

	atomic_fetch_sub_explicit(&p->area->split_pages, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&od_live, 1, memory_order_relaxed);
	if (c->nr < OD_CACHE_MAX && (c->registered || od_cache_register(c))) {
		p->next = c->free;
		c->free = p;
		c->nr++;
		return;
	}
	free(p);
}

/* Bytes from @pfn + @off to the end of its area, and whether @len covers the whole area. */
static uint64_t od_piece(pfn_t pfn, uint32_t off, uint64_t len, bool *whole)
{
	uint64_t into = frames_to_bytes(pfn & (FRAMES_PER_HUGE - 1)) + off;

	*whole = !into && len >= HUGE_SIZE;
	if (*whole)
		return HUGE_SIZE;
	/* A split area: one 4 KiB piece at a time. */
	return len < FRAME_SIZE - off ? len : FRAME_SIZE - off;
}

unsigned od_nr_vecs(pfn_t pfn, uint32_t off, uint64_t len)
{
	uint64_t n = 0;

	while (len) {
		bool whole;
		uint64_t piece = od_piece(pfn, off, len, &whole);

		n++;
		len -= piece;
		pfn += bytes_to_frames(off + piece);
		off = 0;
	}
	return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

int od_bio_add(struct bio *bio, pfn_t pfn, uint32_t off, uint64_t len)
{
	while (len) {
		struct od_area *a = pfn_to_od_area(pfn);
		bool whole;
		uint64_t piece = od_piece(pfn, off, len, &whole);
		struct bio_vec bv = {.bv_len = (uint32_t)piece, .bv_offset = off};

		if (whole) {
			bv.bv_obj = &a->h;
			if (!bio_push_vec(bio, bv))
				return -ENOSPC;
			atomic_fetch_add_explicit(&a->h.refcount, 1, memory_order_relaxed);
		} else {
			struct od_page *p = od_page_make(a, pfn);

			if (!p)
				return pmd_err(-ENOMEM, "cannot make a transient struct page");
			bv.bv_obj = &p->h;
			if (!bio_push_vec(bio, bv)) {
				od_page_free(p);
				return -ENOSPC;
			}
		}
		len -= piece;
		pfn += bytes_to_frames(off + piece);
		off = 0;
	}
	return 0;
}

void od_bvec_release(const struct bio_vec *bv)
{
	struct od_head *h = bv->bv_obj;

	if (h->flags & OD_TRANSIENT)
		od_page_free((struct od_page *)h);
	else
		atomic_fetch_sub_explicit(&h->refcount, 1, memory_order_release);
}

void od_stats(struct od_stats *st)
{
	st->live = atomic_load_explicit(&od_live, memory_order_relaxed);
	st->peak = atomic_load_explicit(&od_peak, memory_order_relaxed);
	st->made = atomic_load_explicit(&od_made, memory_order_relaxed);
}

void od_stats_reset(void)
{
	atomic_store(&od_peak, atomic_load(&od_live));
	atomic_store(&od_made, 0);
}
