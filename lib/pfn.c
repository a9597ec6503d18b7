/* SPDX-License-Identifier: MIT */
/*
 * pfn.c - frame space allocation and the pfn -> address table.
 *
 * The table is one anonymous MAP_NORESERVE mapping with a pointer per
 * 2 MiB of frame space (2^22 entries, 32 MiB of address space of which only
 * the pages covering registered ranges are ever touched). Ranges are kept in
 * an array sorted by base pfn for the reverse lookups; frame space is handed
 * out first-fit in 2 MiB units so a range's frames never share a table slot
 * with another range.
 */
#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "desc_memdesc.h"
#include "desc_ondemand.h"
#include "errmsg.h"
#include "memmap.h"
#include "pfn.h"

#define PFN_TABLE_ENTRIES (PFN_SPACE_FRAMES / FRAMES_PER_HUGE)
#define PFN_MAX_RANGES 4096
/* Up to this many ranges an address lookup scans instead of bisecting. */
#define PFN_SCAN_RANGES 4

struct pfn_range {
	pfn_t base;	    /* first pfn, multiple of FRAMES_PER_HUGE */
	uint64_t nr_frames; /* frames described */
	char *addr;	    /* memory of frame base */
	enum pfn_kind kind;
	enum desc_mode mode;
	uint64_t setup_ns;
};

char **pfn_table;

static pthread_mutex_t pfn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pfn_once = PTHREAD_ONCE_INIT;
static int pfn_init_err;

/*
 * Published ranges, sorted by base. Readers (pfn_range_of) run without the
 * lock, so the array is replaced, never edited in place: writers build a new
 * array and swap the pointer. Old arrays are kept until exit (ranges are
 * registered a handful of times per process), which makes lock-free reads
 * safe without RCU.
 */
struct pfn_ranges {
	struct pfn_ranges *older; /* retired arrays, kept reachable until exit */
	unsigned nr;
	struct pfn_range **by_addr; /* the same ranges sorted by address */
	struct pfn_range *r[];	    /* sorted by base pfn */
};

static _Atomic(struct pfn_ranges *) pfn_ranges_cur;

static void pfn_init(void)
{
	size_t len = PFN_TABLE_ENTRIES * sizeof(char *);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		pfn_init_err = -errno;
		return;
	}
	pfn_table = p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Find the lowest free, 2 MiB aligned gap of @nr_frames frames. Lock held. */
static int pfn_space_alloc(const struct pfn_ranges *rs, uint64_t nr_frames, pfn_t *base)
{
	uint64_t need = align_up(nr_frames, FRAMES_PER_HUGE);
	/* Start at one huge frame in so that pfn 0 is never valid. */
	pfn_t next = FRAMES_PER_HUGE;

	for (unsigned i = 0; rs && i < rs->nr; i++) {
		if (rs->r[i]->base >= next && rs->r[i]->base - next >= need)
			break;
		next = rs->r[i]->base + align_up(rs->r[i]->nr_frames, FRAMES_PER_HUGE);
	}
	if (next + need > PFN_SPACE_FRAMES || next + need < next)
		return -ENOSPC;
	*base = next;
	return 0;
}

static bool overlaps(const struct pfn_ranges *rs, const char *addr, uint64_t len)
{
	for (unsigned i = 0; rs && i < rs->nr; i++) {
		const char *a = rs->r[i]->addr;
		uint64_t l = frames_to_bytes(rs->r[i]->nr_frames);

		if (addr < a + l && a < addr + len)
			return true;
	}
	return false;
}

static void sort_ranges(struct pfn_range **v, unsigned nr, bool by_addr)
{
	for (unsigned i = 1; i < nr; i++) {
		struct pfn_range *x = v[i];
		unsigned k = i;

		while (k > 0 && (by_addr ? v[k - 1]->addr > x->addr : v[k - 1]->base > x->base)) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = x;
	}
}

/* Publish a copy of @old with @add inserted or @del removed. Lock held. */
static int pfn_ranges_publish(struct pfn_ranges *old, struct pfn_range *add,
			      const struct pfn_range *del)
{
	unsigned nr = old ? old->nr : 0;
	struct pfn_ranges *n = malloc(sizeof(*n) + 2 * (nr + 1) * sizeof(n->r[0]));
	unsigned j = 0;

	if (!n)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++)
		if (old->r[i] != del)
			n->r[j++] = old->r[i];
	if (add)
		n->r[j++] = add;
	n->nr = j;
	n->older = old;
	n->by_addr = n->r + j;
	memcpy(n->by_addr, n->r, j * sizeof(n->r[0]));
	sort_ranges(n->r, j, false);
	sort_ranges(n->by_addr, j, true);
	atomic_store_explicit(&pfn_ranges_cur, n, memory_order_release);
	/* @old stays allocated: lock-free readers may still hold it. */
	return 0;
}

/* Build the per-frame or per-area descriptors @mode keeps for a new range. */
static int desc_populate(enum desc_mode mode, pfn_t base, uint64_t nr_frames, bool pmem)
{
	switch (mode) {
	case DESC_FOLIO:
	case DESC_PAGE:
		return memmap_populate(base, nr_frames, mode == DESC_FOLIO, pmem);
	case DESC_ONDEMAND:
		return od_populate(base, nr_frames, pmem);
	case DESC_MEMDESC:
		return md_populate(base, nr_frames, pmem);
	case DESC_PFN:
		break;
	}
	return 0;
}

static void desc_depopulate(enum desc_mode mode, pfn_t base, uint64_t nr_frames)
{
	switch (mode) {
	case DESC_FOLIO:
	case DESC_PAGE:
		memmap_depopulate(base, nr_frames);
		break;
	case DESC_ONDEMAND:
		od_depopulate(base, nr_frames);
		break;
	case DESC_MEMDESC:
		md_depopulate(base, nr_frames);
		break;
	case DESC_PFN:
		break;
	}
}

int pfn_range_register(void *addr, uint64_t len_bytes, enum pfn_kind kind, enum desc_mode mode,
		       struct pfn_range **out)
{
	uint64_t t0 = now_ns();
	struct pfn_ranges *rs;
	struct pfn_range *r;
	uint64_t nr_frames;
	pfn_t base;
	int err;

	pthread_once(&pfn_once, pfn_init);
	if (pfn_init_err)
		return pmd_err(pfn_init_err, "cannot reserve the pfn table");
	if (!addr || !is_aligned((uintptr_t)addr, FRAME_SIZE) || !len_bytes ||
	    !is_aligned(len_bytes, FRAME_SIZE))
		return pmd_err(-EINVAL, "pfn range %p+%llu is not 4 KiB aligned", addr,
			       (unsigned long long)len_bytes);
	if (mode == DESC_FOLIO &&
	    (!is_aligned((uintptr_t)addr, HUGE_SIZE) || !is_aligned(len_bytes, HUGE_SIZE)))
		return pmd_err(-EINVAL, "folio mode needs 2 MiB aligned ranges (%p+%llu)", addr,
			       (unsigned long long)len_bytes);
	if ((unsigned)mode >= DESC_NR_MODES)
		return pmd_err(-EINVAL, "unknown descriptor mode %d", (int)mode);
	nr_frames = bytes_to_frames(len_bytes);

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;

	pthread_mutex_lock(&pfn_lock);
	rs = atomic_load_explicit(&pfn_ranges_cur, memory_order_acquire);
	if (rs && rs->nr >= PFN_MAX_RANGES) {
		err = pmd_err(-ENOSPC, "too many pfn ranges (%d)", PFN_MAX_RANGES);
		goto out_unlock;
	}
	if (overlaps(rs, addr, len_bytes)) {
		err = pmd_err(-EINVAL, "pfn range %p+%llu overlaps a registered range", addr,
			      (unsigned long long)len_bytes);
		goto out_unlock;
	}
	err = pfn_space_alloc(rs, nr_frames, &base);
	if (err) {
		pmd_err(err, "pfn space exhausted registering %llu frames",
			(unsigned long long)nr_frames);
		goto out_unlock;
	}
	err = desc_populate(mode, base, nr_frames, kind == PFN_KIND_PMEM);
	if (err)
		goto out_unlock;
	r->base = base;
	r->nr_frames = nr_frames;
	r->addr = addr;
	r->kind = kind;
	r->mode = mode;
	for (uint64_t i = 0; i < align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE; i++)
		pfn_table[base / FRAMES_PER_HUGE + i] = r->addr + i * HUGE_SIZE;
	err = pfn_ranges_publish(rs, r, NULL);
	if (err)
		goto out_depopulate;
	pthread_mutex_unlock(&pfn_lock);
	r->setup_ns = now_ns() - t0;
	*out = r;
	return 0;

out_depopulate:
	desc_depopulate(mode, base, nr_frames);
out_unlock:
	pthread_mutex_unlock(&pfn_lock);
	free(r);
	return err;
}

void pfn_range_unregister(struct pfn_range **rp)
{
	struct pfn_range *r = *rp;
	struct pfn_ranges *rs;

	if (!r)
		return;
	pthread_mutex_lock(&pfn_lock);
	rs = atomic_load_explicit(&pfn_ranges_cur, memory_order_acquire);
	if (pfn_ranges_publish(rs, NULL, r) == 0) {
		uint64_t slots = align_up(r->nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;

		for (uint64_t i = 0; i < slots; i++)
			pfn_table[r->base / FRAMES_PER_HUGE + i] = NULL;
		desc_depopulate(r->mode, r->base, r->nr_frames);
		free(r);
	}
	/* On allocation failure the range stays registered (leaked, still valid). */
	pthread_mutex_unlock(&pfn_lock);
	*rp = NULL;
}

pfn_t pfn_range_base(const struct pfn_range *r)
{
	return r->base;
}

uint64_t pfn_range_frames(const struct pfn_range *r)
{
	return r->nr_frames;
}

void *pfn_range_addr(const struct pfn_range *r)
{
	return r->addr;
}

enum desc_mode pfn_range_mode(const struct pfn_range *r)
{
	return r->mode;
}

enum pfn_kind pfn_range_kind(const struct pfn_range *r)
{
	return r->kind;
}

uint64_t pfn_range_descriptor_bytes(const struct pfn_range *r)
{
	uint64_t slots = align_up(r->nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;
	uint64_t bytes = slots * sizeof(char *);

	switch (r->mode) {
	case DESC_FOLIO:
	case DESC_PAGE:
		bytes += r->nr_frames * MEMMAP_BYTES_PER_FRAME;
		break;
	case DESC_ONDEMAND:
		bytes += od_descriptor_bytes(r->nr_frames);
		break;
	case DESC_MEMDESC:
		bytes += md_descriptor_bytes(r->nr_frames, r->kind == PFN_KIND_PMEM);
		break;
	case DESC_PFN:
		break;
	}
	return bytes;
}

uint64_t pfn_range_setup_ns(const struct pfn_range *r)
{
	return r->setup_ns;
}

struct pfn_range *pfn_range_of(pfn_t pfn)
{
	struct pfn_ranges *rs = atomic_load_explicit(&pfn_ranges_cur, memory_order_acquire);
	unsigned lo = 0, hi = rs ? rs->nr : 0;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct pfn_range *r = rs->r[mid];

		if (pfn < r->base)
			hi = mid;
		else if (pfn >= r->base + r->nr_frames)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool pfn_valid(pfn_t pfn)
{
	return pfn_range_of(pfn) != NULL;
}

bool pfn_extent_contiguous(pfn_t pfn, uint64_t nr_frames)
{
	struct pfn_range *r = pfn_range_of(pfn);

	return r && nr_frames <= r->base + r->nr_frames - pfn;
}

/* The registered range holding @a, or NULL. Lock-free. */
static inline __attribute__((always_inline)) struct pfn_range *range_of_addr(const char *a)
{
	struct pfn_ranges *rs = atomic_load_explicit(&pfn_ranges_cur, memory_order_acquire);
	unsigned lo = 0, hi = rs ? rs->nr : 0;

	/* A few ranges (a region and its I/O buffers) are the usual case: scan them. */
	if (hi <= PFN_SCAN_RANGES) {
		for (unsigned i = 0; i < hi; i++) {
			struct pfn_range *r = rs->by_addr[i];

			if ((uintptr_t)a - (uintptr_t)r->addr < frames_to_bytes(r->nr_frames))
				return r;
		}
		return NULL;
	}
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct pfn_range *r = rs->by_addr[mid];

		if (a < r->addr)
			hi = mid;
		else if (a >= r->addr + frames_to_bytes(r->nr_frames))
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int addr_to_pfn(const void *addr, pfn_t *pfn, struct pfn_range **range)
{
	struct pfn_range *r = range_of_addr(addr);

	if (!r)
		return -ENOENT;
	*pfn = r->base + bytes_to_frames((uint64_t)((const char *)addr - r->addr));
	if (range)
		*range = r;
	return 0;
}

int pfn_lookup_addr(const void *addr, pfn_t *pfn, uint64_t *avail, enum desc_mode *mode)
{
	struct pfn_range *r = range_of_addr(addr);
	uint64_t into;

	if (!r)
		return -ENOENT;
	into = (uint64_t)((const char *)addr - r->addr);
	*pfn = r->base + bytes_to_frames(into);
	*avail = frames_to_bytes(r->nr_frames) - into;
	*mode = r->mode;
	return 0;
}
