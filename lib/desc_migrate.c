/* SPDX-License-Identifier: MIT */
/*
 * desc_migrate.c - moving live 2 MiB extents (see desc_migrate.h).
 *
 * The handshake between a user and the mover is the classic one of two
 * flags: a user publishes its hold (a descriptor reference, or the pin),
 * then looks at MOVING; the mover publishes MOVING, then looks at the
 * holds. A full fence on each side between the two steps means at least
 * one of them sees the other: either the user backs off, or the mover
 * waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bio.h"
#include "desc_memdesc.h"
#include "desc_migrate.h"
#include "desc_ondemand.h"
#include "desc_owner.h"
#include "errmsg.h"
#include "memmap.h"
#include "units.h"

#define MIG_MOVING 1u

struct mig_ext {
	_Atomic(char *) addr;
	atomic_uint state; /* MIG_MOVING */
	atomic_int pins;   /* pfn mode: the layout pins of I/O and mappings */
	atomic_int maps;   /* mappings held, every mode */
};

struct mig_file {
	enum desc_mode mode;
	unsigned nr;
	struct pfn_rmap *rmap; /* pfn mode's owner record */
	pthread_mutex_t lock;  /* with wake: waiters for a move */
	pthread_cond_t wake;
	struct mig_ext ext[];
};

static uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The first frame of the 2 MiB at @addr, if it is registered in @mode. */
static int extent_pfn(const char *addr, enum desc_mode mode, pfn_t *pfn)
{
	struct pfn_range *r, *r_end;
	pfn_t last;

	if (!is_aligned((uintptr_t)addr, HUGE_SIZE))
		return pmd_err(-EINVAL, "extent at %p is not 2 MiB aligned", (const void *)addr);
	if (addr_to_pfn(addr, pfn, &r) || addr_to_pfn(addr + HUGE_SIZE - 1, &last, &r_end) ||
	    r_end != r)
		return pmd_err(-EINVAL, "extent at %p is not in one registered range",
			       (const void *)addr);
	if (pfn_range_mode(r) != mode)
		return pmd_err(-EINVAL, "extent at %p is registered as %s, the file is %s",
			       (const void *)addr, desc_mode_name(pfn_range_mode(r)),
			       desc_mode_name(mode));
	return 0;
}

/*
 * each_count - call @fn on every reference count (and its mapcount, or
 * NULL) that users of the 2 MiB at @addr take in @mode: each struct page in
 * page mode, the folio head, the ondemand area, each memdesc object.
 */
static void each_count(const char *addr, enum desc_mode mode,
		       void (*fn)(atomic_int *ref, atomic_int *map, void *arg), void *arg)
{
	pfn_t pfn;

	if (mode == DESC_PFN || addr_to_pfn(addr, &pfn, NULL))
		return;
	switch (mode) {
	case DESC_PAGE:
		/* a mapping of 512 pages holds each of them, as page tables do */
		for (unsigned i = 0; i < FRAMES_PER_HUGE; i++) {
			struct page *p = pfn_to_page(pfn + i);

			fn(&p->refcount, &p->mapcount, arg);
		}
		break;
	case DESC_FOLIO: {
		struct page *h = compound_head(pfn_to_page(pfn));

		fn(&h->refcount, &h->mapcount, arg);
		break;
	}
	case DESC_ONDEMAND: {
		struct od_area *a = pfn_to_od_area(pfn);

		fn(&a->h.refcount, &a->mapcount, arg);
		break;
	}
	case DESC_MEMDESC:
		for (pfn_t p = pfn; p < pfn + FRAMES_PER_HUGE;) {
			struct md_obj *o = pfn_to_md_obj(p);

			if (!o || !o->nr_frames)
				break;
			fn(&o->refcount,
			   memdesc_type(memdescs[p]) == MD_FOLIO ? &((struct md_folio *)o)->mapcount
								 : NULL,
			   arg);
			p = o->pfn + o->nr_frames;
		}
		break;
	default:
		break;
	}
}

static void count_add(atomic_int *ref, atomic_int *map, void *arg)
{
	int d = *(const int *)arg;

	if (map)
		atomic_fetch_add_explicit(map, d, memory_order_relaxed);
	atomic_fetch_add_explicit(ref, d, memory_order_relaxed);
}

/* desc_hold - take (@d = 1) or drop (@d = -1) a mapping's hold on the descriptors. */
static void desc_hold(const char *addr, enum desc_mode mode, int d)
{
	each_count(addr, mode, count_add, &d);
}

/* Counts read by mig_extra_refs(): the mover's work per check. */
static unsigned checks_per_extent(enum desc_mode mode)
{
	return mode == DESC_PAGE ? FRAMES_PER_HUGE : 1;
}

static void count_extra(atomic_int *ref, atomic_int *map, void *arg)
{
	(void)map;
	*(uint64_t *)arg += (uint64_t)(atomic_load(ref) - 1); /* 1: the base reference */
}

uint64_t mig_extra_refs(const char *addr, enum desc_mode mode)
{
	uint64_t extra = 0;
	pfn_t pfn;

	each_count(addr, mode, count_extra, &extra);
	/* a 4 KiB ondemand bio holds a transient page of the area, not the area */
	if (mode == DESC_ONDEMAND && !addr_to_pfn(addr, &pfn, NULL))
		extra += (uint64_t)atomic_load(&pfn_to_od_area(pfn)->split_pages);
	return extra;
}

/* The owner record of extent @i at @addr: set (@owner) or cleared (NULL). */
static int owner_record(struct mig_file *f, unsigned i, const char *addr, void *owner)
{
	pfn_t pfn;
	int err = addr_to_pfn(addr, &pfn, NULL);

	if (err)
		return err;
	if (f->mode != DESC_PFN)
		return desc_owner_set(pfn, FRAMES_PER_HUGE, owner,
				      owner ? (uint64_t)i * HUGE_SIZE : 0);
	if (!f->rmap)
		return 0;
	if (owner)
		return pfn_rmap_add(f->rmap, pfn, FRAMES_PER_HUGE, owner, (uint64_t)i * HUGE_SIZE);
	return pfn_rmap_remove(f->rmap, pfn, FRAMES_PER_HUGE);
}

int mig_file_new(enum desc_mode mode, char *const *ext, unsigned nr, struct pfn_rmap *rmap,
		 struct mig_file **out)
{
	struct mig_file *f;
	pfn_t pfn;
	int err;

	*out = NULL;
	if (!nr || (unsigned)mode >= DESC_NR_MODES)
		return pmd_err(-EINVAL, "a file needs at least one extent and a known mode");
	for (unsigned i = 0; i < nr; i++) {
		err = extent_pfn(ext[i], mode, &pfn);
		if (err)
			return err;
	}
	f = calloc(1, sizeof(*f) + nr * sizeof(f->ext[0]));
	if (!f)
		return -ENOMEM;
	f->mode = mode;
	f->nr = nr;
	f->rmap = rmap;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	for (unsigned i = 0; i < nr; i++) {
		atomic_init(&f->ext[i].addr, ext[i]);
		err = owner_record(f, i, ext[i], f);
		if (err) {
			f->nr = i;
			mig_file_delete(&f);
			return err;
		}
	}
	*out = f;
	return 0;
}

void mig_file_delete(struct mig_file **fp)
{
	struct mig_file *f = *fp;

	if (!f)
		return;
	for (unsigned i = 0; i < f->nr; i++)
		owner_record(f, i, atomic_load(&f->ext[i].addr), NULL);
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	free(f);
	*fp = NULL;
}

char *mig_extent_addr(struct mig_file *f, unsigned i)
{
	return i < f->nr ? atomic_load(&f->ext[i].addr) : NULL;
}

/* Wait until extent @e is not being moved; add the time to *@waited. */
static void wait_move(struct mig_file *f, struct mig_ext *e, uint64_t *waited)
{
	uint64_t t0 = mig_now_ns();

	pthread_mutex_lock(&f->lock);
	while (atomic_load(&e->state) & MIG_MOVING)
		pthread_cond_wait(&f->wake, &f->lock);
	pthread_mutex_unlock(&f->lock);
	if (waited)
		*waited += mig_now_ns() - t0;
}

/* A bio of @f's mode over [@a, + @len), holding what the mode holds. */
static int build(struct mig_file *f, bool write, const char *a, uint32_t len, struct bio **out)
{
	int err = bio_alloc(bio_nr_vecs_for(a, len, f->mode), write ? BIO_OP_WRITE : BIO_OP_READ,
			    bio_desc_of(f->mode), out);

	if (err)
		return err;
	err = bio_add_range(*out, a, len, f->mode);
	if (err) {
		bio_put(*out);
		*out = NULL;
	}
	return err;
}

int mig_rw(struct mig_file *f, bool write, uint64_t off, void *buf, uint32_t len,
	   uint64_t *waited_ns)
{
	uint64_t i = off / HUGE_SIZE, into = off % HUGE_SIZE;
	struct mig_ext *e;
	struct bio *bio = NULL;
	struct bvec_iter it;
	struct bio_seg seg;
	char *b = buf;
	int err;

	if (waited_ns)
		*waited_ns = 0;
	if (i >= f->nr || !len || into + len > HUGE_SIZE)
		return pmd_err(-EINVAL, "%u bytes at %llu are not inside one extent of the file",
			       len, (unsigned long long)off);
	e = &f->ext[i];
	for (;;) {
		char *a;

		if (f->mode == DESC_PFN)
			atomic_fetch_add(&e->pins, 1);
		a = atomic_load(&e->addr);
		err = build(f, write, a + into, len, &bio);
		if (err) {
			if (f->mode == DESC_PFN)
				atomic_fetch_sub(&e->pins, 1);
			return err;
		}
		/* the hold (pin or references) is published: now look at MOVING */
		atomic_thread_fence(memory_order_seq_cst);
		if (!(atomic_load(&e->state) & MIG_MOVING) && atomic_load(&e->addr) == a)
			break;
		bio_put(bio);
		if (f->mode == DESC_PFN)
			atomic_fetch_sub(&e->pins, 1);
		wait_move(f, e, waited_ns);
	}
	bio_for_each_segment (seg, bio, it) {
		if (write)
			memcpy(seg.addr, b, seg.len);
		else
			memcpy(b, seg.addr, seg.len);
		b += seg.len;
	}
	bio_put(bio);
	if (f->mode == DESC_PFN)
		atomic_fetch_sub(&e->pins, 1);
	return 0;
}

char *mig_map(struct mig_file *f, unsigned i, uint64_t *waited_ns)
{
	struct mig_ext *e;

	if (waited_ns)
		*waited_ns = 0;
	if (i >= f->nr)
		return NULL;
	e = &f->ext[i];
	for (;;) {
		char *a = atomic_load(&e->addr);

		atomic_fetch_add(&e->maps, 1);
		if (f->mode == DESC_PFN)
			atomic_fetch_add(&e->pins, 1);
		else
			desc_hold(a, f->mode, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (!(atomic_load(&e->state) & MIG_MOVING) && atomic_load(&e->addr) == a)
			return a;
		if (f->mode == DESC_PFN)
			atomic_fetch_sub(&e->pins, 1);
		else
			desc_hold(a, f->mode, -1);
		atomic_fetch_sub(&e->maps, 1);
		wait_move(f, e, waited_ns);
	}
}

bool mig_map_valid(struct mig_file *f, unsigned i)
{
	return i < f->nr && !(atomic_load(&f->ext[i].state) & MIG_MOVING);
}

void mig_unmap(struct mig_file *f, unsigned i)
{
	struct mig_ext *e;

	if (i >= f->nr)
		return;
	e = &f->ext[i];
	/* the mover cannot have moved a held extent: the address is the held one */
	if (f->mode == DESC_PFN)
		atomic_fetch_sub(&e->pins, 1);
	else
		desc_hold(atomic_load(&e->addr), f->mode, -1);
	atomic_fetch_sub(&e->maps, 1);
}

int mig_move(struct mig_file *f, unsigned i, char *dst, struct mig_stats *st)
{
	struct mig_ext *e;
	char *src;
	uint64_t t0, t1, t2;
	bool mapped;
	pfn_t pfn;
	int err;

	if (i >= f->nr)
		return pmd_err(-EINVAL, "extent %u is beyond the file's %u", i, f->nr);
	e = &f->ext[i];
	src = atomic_load(&e->addr);
	err = extent_pfn(dst, f->mode, &pfn);
	if (err)
		return err;
	if (dst == src)
		return pmd_err(-EINVAL, "extent %u is already at %p", i, (void *)dst);

	/* 1, 2: stop new holders; holders of a mapping see their lease broken */
	pthread_mutex_lock(&f->lock);
	/* (read before MOVING too: a holder may let go the moment it sees it) */
	mapped = atomic_load(&e->maps) > 0;
	atomic_store(&e->state, MIG_MOVING);
	pthread_mutex_unlock(&f->lock);
	atomic_thread_fence(memory_order_seq_cst);
	t0 = mig_now_ns();
	if (mapped || atomic_load(&e->maps))
		st->lease_breaks++;
	/* 3: until nobody holds the old frames */
	for (;;) {
		uint64_t held = f->mode == DESC_PFN ? (uint64_t)atomic_load(&e->pins)
						    : mig_extra_refs(src, f->mode);

		st->holder_checks += f->mode == DESC_PFN ? 1 : checks_per_extent(f->mode);
		if (!held)
			break;
		sched_yield();
	}
	t1 = mig_now_ns();
	/* 4: the data, then the owner, then the address */
	memcpy(dst, src, HUGE_SIZE);
	t2 = mig_now_ns();
	err = owner_record(f, i, src, NULL);
	if (!err)
		err = owner_record(f, i, dst, f);
	if (err) {
		owner_record(f, i, dst, NULL);
		owner_record(f, i, src, f);
	} else {
		atomic_store(&e->addr, dst);
	}
	st->wait_holders_ns += t1 - t0;
	st->copy_ns += t2 - t1;
	st->owner_ns += mig_now_ns() - t2;
	pthread_mutex_lock(&f->lock);
	atomic_store(&e->state, 0);
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
	if (!err)
		st->moves++;
	return err;
}
