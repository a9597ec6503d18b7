/* SPDX-License-Identifier: MIT */
/*
 * desc_measure - what each descriptor mode costs beside the I/O path, for
 * docs/answer.md (scripts/answer runs it; pmemdev bench measures the bios).
 *
 * For each mode, on SIZE bytes of address space registered as pmem (never
 * touched: only descriptors are), one JSON line with
 *   descriptor_bytes, setup_seconds   pfn_range_register() of the range
 *   pin_seconds, pin_refs             pin and unpin all of it for I/O, as
 *                                     get_user_pages would: 2 MiB bios built
 *                                     and released; refs = bvecs holding one
 *   owner_set_seconds                 record an owner for every 2 MiB extent
 *                                     (the write path's cost); pfn mode keeps
 *                                     a reverse map (pfn_rmap.h)
 *   rmap_bytes                        that map's memory (pfn mode)
 *   lookup_ns                         frame -> owner, per random frame
 *   bio4k_ns, bio2m_ns                build and release one 4 KiB / 2 MiB bio
 *   transient_peak_bytes              ondemand's transient pages alive with
 *                                     QD 4 KiB bios built at once
 *
 * Usage: desc-measure [--size BYTES] [--qd N] [--lookups N] [--mode LIST]
 * Exit 0, or 1 with a message on any failure; 2 for usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bio.h"
#include "desc_ondemand.h"
#include "desc_owner.h"
#include "errmsg.h"
#include "pfn_rmap.h"

struct opts {
	uint64_t size;
	unsigned qd;
	unsigned lookups;
	bool modes[DESC_NR_MODES];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "desc-measure: %s: %s\n", what, pmd_strerror(err));
	return 1;
}

/* A bio over [@a, + @len) in @mode, or NULL with *@err set. */
static struct bio *build(const char *a, uint64_t len, enum desc_mode mode, int *err)
{
	struct bio *bio;

	*err = bio_alloc(bio_nr_vecs_for(a, len, mode), BIO_OP_WRITE, bio_desc_of(mode), &bio);
	if (*err)
		return NULL;
	*err = bio_add_range(bio, a, len, mode);
	if (*err) {
		bio_put(bio);
		return NULL;
	}
	return bio;
}

/* Mean ns to build and release a bio of @len at @n places of @mem. */
static int bio_cost(char *mem, uint64_t size, uint64_t len, enum desc_mode mode, double *ns)
{
	unsigned n = 2000;
	uint64_t t0 = now_ns();
	int err;

	for (unsigned i = 0; i < n; i++) {
		uint64_t off = (i * 7919 * len) % (size - len + 1);
		struct bio *bio = build(mem + align_down(off, len), len, mode, &err);

		if (!bio)
			return err;
		bio_put(bio);
	}
	*ns = (double)(now_ns() - t0) / n;
	return 0;
}

static int measure(const struct opts *o, char *mem, enum desc_mode mode)
{
	uint64_t frames = bytes_to_frames(o->size), refs = 0, t0;
	double pin_s, owner_s, lookup_ns, bio4k = 0, bio2m = 0;
	uint64_t rmap_bytes = 0, peak = 0;
	struct pfn_rmap *rm = NULL;
	struct pfn_range *r;
	struct od_stats st;
	pfn_t base;
	int err;

	err = pfn_range_register(mem, o->size, PFN_KIND_PMEM, mode, &r);
	if (err)
		return fail("pfn_range_register", err);
	base = pfn_range_base(r);

	/* Pin and unpin everything for I/O in 2 MiB bios. */
	t0 = now_ns();
	for (uint64_t off = 0; off < o->size; off += HUGE_SIZE) {
		struct bio *bio = build(mem + off, HUGE_SIZE, mode, &err);

		if (!bio)
			goto out_fail;
		refs += bio_desc_holds_refs(bio->bi_desc) ? bio->bi_vcnt : 0;
		bio_put(bio);
	}
	pin_s = (double)(now_ns() - t0) / 1e9;

	/* The write path: an owner for every 2 MiB extent. */
	if (mode == DESC_PFN) {
		err = pfn_rmap_new(base, frames, &rm);
		if (err)
			goto out_fail;
	}
	t0 = now_ns();
	for (uint64_t f = 0; f < frames; f += FRAMES_PER_HUGE) {
		void *owner = (void *)(uintptr_t)(0x1000 + (f / FRAMES_PER_HUGE) * 16);

		err = rm ? pfn_rmap_add(rm, base + f, FRAMES_PER_HUGE, owner, 0)
			 : desc_owner_set(base + f, FRAMES_PER_HUGE, owner, 0);
		if (err)
			goto out_fail;
	}
	owner_s = (double)(now_ns() - t0) / 1e9;
	if (rm)
		rmap_bytes = pfn_rmap_bytes(rm);

	/* Memory failure: frame -> owner for random frames. */
	t0 = now_ns();
	for (unsigned i = 0; i < o->lookups; i++) {
		pfn_t pfn = base + (uint64_t)(((uint64_t)i * 2654435761u) % frames);
		void *owner;
		uint64_t index;

		err = rm ? pfn_rmap_find(rm, pfn, &owner, &index)
			 : desc_owner_find(pfn, &owner, &index);
		if (err)
			goto out_fail;
	}
	lookup_ns = (double)(now_ns() - t0) / o->lookups;

	err = bio_cost(mem, o->size, 4 * KiB, mode, &bio4k);
	if (!err)
		err = bio_cost(mem, o->size, HUGE_SIZE, mode, &bio2m);
	if (err)
		goto out_fail;

	/* Transient descriptors at queue depth qd (ondemand makes pages). */
	{
		struct bio **q = calloc(o->qd, sizeof(*q));

		if (!q) {
			err = -ENOMEM;
			goto out_fail;
		}
		od_stats_reset();
		for (unsigned i = 0; i < o->qd && !err; i++)
			q[i] = build(mem + (uint64_t)i * 8 * KiB % o->size, 4 * KiB, mode, &err);
		od_stats(&st);
		peak = st.peak;
		for (unsigned i = 0; i < o->qd; i++)
			bio_put(q[i]);
		free(q);
		if (err)
			goto out_fail;
	}

	printf("{\"mode\": \"%s\", \"bytes\": %llu, \"descriptor_bytes\": %llu, "
	       "\"setup_seconds\": %.9f, \"pin_seconds\": %.9f, \"pin_refs\": %llu, "
	       "\"owner_set_seconds\": %.9f, \"rmap_bytes\": %llu, \"lookup_ns\": %.2f, "
	       "\"bio4k_ns\": %.1f, \"bio2m_ns\": %.1f, \"qd\": %u, "
	       "\"transient_peak_bytes\": %llu}\n",
	       desc_mode_name(mode), (unsigned long long)o->size,
	       (unsigned long long)pfn_range_descriptor_bytes(r),
	       (double)pfn_range_setup_ns(r) / 1e9, pin_s, (unsigned long long)refs, owner_s,
	       (unsigned long long)rmap_bytes, lookup_ns, bio4k, bio2m, o->qd,
	       (unsigned long long)(peak * OD_PAGE_BYTES));
	fflush(stdout);
	pfn_rmap_delete(&rm);
	pfn_range_unregister(&r);
	return 0;

out_fail:
	pfn_rmap_delete(&rm);
	pfn_range_unregister(&r);
	return fail(desc_mode_name(mode), err);
}

static int usage(void)
{
	fprintf(stderr, "usage: desc-measure [--size BYTES] [--qd N] [--lookups N] "
			"[--mode LIST]\n  LIST: comma list of " DESC_MODE_NAMES
			" (default all)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {.size = GiB, .qd = 32, .lookups = 1000000};
	bool any = false;
	char *mem;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		}
		if (!v)
			return usage();
		if (!strcmp(argv[i], "--size")) {
			if (parse_size(v, &o.size) || !o.size || !is_aligned(o.size, HUGE_SIZE)) {
				fprintf(stderr, "desc-measure: --size %s: a multiple of 2 MiB\n", v);
				return 2;
			}
		} else if (!strcmp(argv[i], "--qd")) {
			o.qd = (unsigned)strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "--lookups")) {
			o.lookups = (unsigned)strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "--mode")) {
			char *s = strdup(v), *save = NULL;

			for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				enum desc_mode m;

				if (desc_mode_parse(t, &m)) {
					fprintf(stderr, "desc-measure: unknown mode '%s' (expected "
							"one of " DESC_MODE_NAMES ")\n", t);
					free(s);
					return 2;
				}
				o.modes[m] = any = true;
			}
			free(s);
		} else {
			return usage();
		}
		i++;
	}
	if (!o.qd || !o.lookups)
		return usage();
	if (!any)
		for (int m = 0; m < DESC_NR_MODES; m++)
			o.modes[m] = true;
	/* Address space only: the descriptors are measured, never the memory. */
	mem = mmap(NULL, o.size + HUGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap", -errno);
	for (int m = 0; m < DESC_NR_MODES && !rc; m++)
		if (o.modes[m])
			rc = measure(&o, (char *)align_up((uintptr_t)mem, HUGE_SIZE),
				     (enum desc_mode)m);
	munmap(mem, o.size + HUGE_SIZE);
	return rc;
}
