/* SPDX-License-Identifier: MIT */
/*
 * iomem.c - a registration cache for nbdkit's request buffers, and the
 * per-thread bounce buffer and bio (see iomem.h for why).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "errmsg.h"
#include "iomem.h"
#include "pfn.h"
#include "units.h"

/* Most cached registrations; unused ones beyond it go, least recent first. */
#define IOMEM_CACHE_MAX 256u

/* One registered run of pages, [start, end), page aligned. */
struct iomem_entry {
	struct iomem_entry *next;
	uintptr_t start, end;
	struct pfn_range *range;
	pfn_t base;	   /* frame of start */
	unsigned users;	   /* threads whose current buffer this is */
	uint64_t last_use; /* iomem_tick when last taken */
};

/* Per server thread. */
struct iomem_thread {
	struct iomem_entry *cur; /* holds a reference; bounds read without the lock */
	void *bounce_map;	 /* mapping behind the bounce buffer */
	size_t bounce_map_len;
	void *bounce; /* 2 MiB aligned, NBD_IOMEM_BOUNCE_BYTES */
	struct pfn_range *bounce_range;
	pfn_t bounce_base; /* frame of bounce */
	struct bio *bio;
	struct bio_vec *vecs; /* BIO_MAX_VECS */
};

static enum desc_mode iomem_mode;      /* the device's mode */
static enum desc_mode iomem_heap_mode; /* what heap buffers are registered as */
static enum bio_desc iomem_desc;
static pthread_key_t iomem_key;
static bool iomem_ready;

static pthread_mutex_t iomem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iomem_entry *iomem_entries; /* under iomem_lock */
static unsigned iomem_nr_entries;
static uint64_t iomem_tick;

static atomic_ullong iomem_registered;
static atomic_ullong iomem_bounced;

/* entry_drop - unregister and free @e (unused), unlinking it. Lock held. */
static void entry_drop(struct iomem_entry **link)
{
	struct iomem_entry *e = *link;

	*link = e->next;
	pfn_range_unregister(&e->range);
	free(e);
	iomem_nr_entries--;
}

/* evict_one - drop the least recently used unused entry. Lock held. */
static bool evict_one(void)
{
	struct iomem_entry **victim = NULL;

	for (struct iomem_entry **pp = &iomem_entries; *pp; pp = &(*pp)->next)
		if (!(*pp)->users && (!victim || (*pp)->last_use < (*victim)->last_use))
			victim = pp;
	if (!victim)
		return false;
	entry_drop(victim);
	return true;
}

static void thread_free(void *arg)
{
	struct iomem_thread *t = arg;

	if (!t)
		return;
	if (t->cur) {
		pthread_mutex_lock(&iomem_lock);
		t->cur->users--;
		pthread_mutex_unlock(&iomem_lock);
	}
	pfn_range_unregister(&t->bounce_range);
	if (t->bounce_map)
		munmap(t->bounce_map, t->bounce_map_len);
	free(t->vecs);
	free(t->bio);
	free(t);
}

static struct iomem_thread *thread_get(void)
{
	struct iomem_thread *t = pthread_getspecific(iomem_key);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(iomem_key, t)) {
		free(t);
		return NULL;
	}
	return t;
}

int nbd_iomem_init(enum desc_mode mode)
{
	int err;

	if (iomem_ready)
		return 0;
	err = pthread_key_create(&iomem_key, thread_free);
	if (err)
		return pmd_err(-err, "cannot create the per-thread buffer key");
	iomem_mode = mode;
	iomem_heap_mode = desc_mode_buffer_mode(mode);
	iomem_desc = bio_desc_of(mode);
	iomem_ready = true;
	return 0;
}

void nbd_iomem_fini(void)
{
	if (!iomem_ready)
		return;
	thread_free(pthread_getspecific(iomem_key));
	pthread_setspecific(iomem_key, NULL);
	pthread_mutex_lock(&iomem_lock);
	while (iomem_entries)
		entry_drop(&iomem_entries);
	pthread_mutex_unlock(&iomem_lock);
	pthread_key_delete(iomem_key);
	iomem_ready = false;
}

/*
 * drop_stale - drop the cached registrations overlapping [@s, @e) that no
 * thread uses: the memory was given back and handed out again. Returns
 * false (dropping nothing more) if one is in use. Lock held.
 */
static bool drop_stale(uintptr_t s, uintptr_t e)
{
	for (struct iomem_entry **pp = &iomem_entries; *pp;) {
		if ((*pp)->start < e && s < (*pp)->end) {
			if ((*pp)->users)
				return false;
			entry_drop(pp);
			continue;
		}
		pp = &(*pp)->next;
	}
	return true;
}

/* find_or_register - an entry covering [s, e) with a reference taken, or NULL. Lock held. */
static struct iomem_entry *find_or_register(uintptr_t s, uintptr_t e)
{
	struct iomem_entry *n;

	for (struct iomem_entry *x = iomem_entries; x; x = x->next) {
		if (x->start <= s && e <= x->end) {
			x->users++;
			x->last_use = ++iomem_tick;
			return x;
		}
	}
	if (!drop_stale(s, e))
		return NULL; /* shares pages with a buffer in use: bounce */
	while (iomem_nr_entries >= IOMEM_CACHE_MAX && evict_one())
		;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (pfn_range_register((void *)s, e - s, PFN_KIND_DRAM, iomem_heap_mode, &n->range)) {
		free(n);
		return NULL;
	}
	n->base = pfn_range_base(n->range);
	n->start = s;
	n->end = e;
	n->users = 1;
	n->last_use = ++iomem_tick;
	n->next = iomem_entries;
	iomem_entries = n;
	iomem_nr_entries++;
	atomic_fetch_add_explicit(&iomem_registered, 1, memory_order_relaxed);
	return n;
}

/* frame_of - the frame of @buf, inside @e. */
static pfn_t frame_of(const struct iomem_entry *e, const void *buf)
{
	return e->base + bytes_to_frames((uintptr_t)buf - e->start);
}

bool nbd_iomem_pin(const void *buf, size_t len, pfn_t *frame)
{
	uintptr_t s = (uintptr_t)align_down((uintptr_t)buf, FRAME_SIZE);
	uintptr_t e = (uintptr_t)align_up((uintptr_t)buf + len, FRAME_SIZE);
	struct iomem_thread *t = thread_get();

	if (!t || !len)
		return false;
	if (t->cur && t->cur->start <= s && e <= t->cur->end) {
		*frame = frame_of(t->cur, buf);
		return true;
	}
	pthread_mutex_lock(&iomem_lock);
	if (t->cur)
		t->cur->users--;
	t->cur = find_or_register(s, e);
	pthread_mutex_unlock(&iomem_lock);
	if (!t->cur)
		return false;
	*frame = frame_of(t->cur, buf);
	return true;
}

void *nbd_iomem_bounce(pfn_t *frame, int *err)
{
	struct iomem_thread *t = thread_get();
	size_t len = NBD_IOMEM_BOUNCE_BYTES + HUGE_SIZE;
	void *map, *aligned;
	int ret;

	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	if (t->bounce) {
		*frame = t->bounce_base;
		return t->bounce;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		*err = pmd_err(-ENOMEM, "cannot map a %u-byte bounce buffer",
			       NBD_IOMEM_BOUNCE_BYTES);
		return NULL;
	}
	aligned = (void *)align_up((uintptr_t)map, HUGE_SIZE);
	madvise(aligned, NBD_IOMEM_BOUNCE_BYTES, MADV_HUGEPAGE); /* a hint */
	/* new memory may lie where a stale registration of freed memory is */
	pthread_mutex_lock(&iomem_lock);
	drop_stale((uintptr_t)aligned, (uintptr_t)aligned + NBD_IOMEM_BOUNCE_BYTES);
	ret = pfn_range_register(aligned, NBD_IOMEM_BOUNCE_BYTES, PFN_KIND_DRAM, iomem_mode,
				 &t->bounce_range);
	pthread_mutex_unlock(&iomem_lock);
	if (ret) {
		munmap(map, len);
		*err = ret;
		return NULL;
	}
	t->bounce_map = map;
	t->bounce_map_len = len;
	t->bounce = aligned;
	t->bounce_base = pfn_range_base(t->bounce_range);
	*frame = t->bounce_base;
	return aligned;
}

struct bio *nbd_iomem_bio(unsigned opf)
{
	struct iomem_thread *t = thread_get();

	if (!t)
		return NULL;
	if (!t->bio) {
		t->bio = calloc(1, sizeof(*t->bio));
		t->vecs = calloc(BIO_MAX_VECS, sizeof(*t->vecs));
		if (!t->bio || !t->vecs) {
			free(t->bio);
			free(t->vecs);
			t->bio = NULL;
			t->vecs = NULL;
			return NULL;
		}
	}
	bio_init(t->bio, t->vecs, BIO_MAX_VECS, opf, iomem_desc);
	return t->bio;
}

void nbd_iomem_stats(unsigned long long *registered, unsigned long long *bounced)
{
	*registered = atomic_load_explicit(&iomem_registered, memory_order_relaxed);
	*bounced = atomic_load_explicit(&iomem_bounced, memory_order_relaxed);
}

void nbd_iomem_count_bounce(void)
{
	atomic_fetch_add_explicit(&iomem_bounced, 1, memory_order_relaxed);
}
