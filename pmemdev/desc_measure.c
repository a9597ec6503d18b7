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
 * and with --migrate BYTES (real memory: twice BYTES, touched) the move of
 * a file of BYTES, 2 MiB extent by extent (desc_migrate.h), while one
 * thread reads and writes 4 KiB through bios and one holds every extent
 * mapped and writes through the mappings every 20 us, letting go of an
 * extent as soon as a move breaks its lease:
 *   migrate_seconds                   the whole move
 *   migrate_wait_s, _copy_s, _owner_s  its parts: waiting for holders to let
 *                                     go, copying, moving the owner record
 *   migrate_lease_breaks, migrate_holder_checks
 *                                     moves that broke a mapping's lease;
 *                                     reference counts (or pins) read
 *   stall_ios, stall_waited_ios       the I/O thread's I/Os during the move,
 *                                     and how many of them waited for one
 *   stall_max_ns, stall_median_waited_ns
 *                                     the longest wait, the median of those
 *                                     that waited
 *
 * Usage: desc-measure [--size BYTES] [--qd N] [--lookups N] [--mode LIST]
 *                     [--migrate BYTES]
 * Exit 0, or 1 with a message on any failure; 2 for usage.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bio.h"
#include "desc_migrate.h"
#include "desc_ondemand.h"
#include "desc_owner.h"
#include "errmsg.h"
#include "pfn_rmap.h"

struct opts {
	uint64_t size;
	unsigned qd;
	unsigned lookups;
	uint64_t migrate;
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

/* The users of a file being moved (see --migrate). */
struct mig_users {
	struct mig_file *f;
	unsigned nr;
	atomic_bool stop;
	atomic_bool mapped; /* the mapping user holds every extent once */
	uint64_t *stall;    /* per I/O: ns waited for a move */
	uint64_t nstall, maxstall;
	atomic_ullong nio; /* nstall, for the mover to read */
};

static void *mig_io_user(void *arg)
{
	struct mig_users *u = arg;
	char *buf = aligned_alloc(FRAME_SIZE, FRAME_SIZE);
	uint64_t blks = (uint64_t)u->nr * FRAMES_PER_HUGE, x = 88172645463325252u;

	if (!buf)
		return NULL;
	memset(buf, 0x5a, FRAME_SIZE);
	while (!atomic_load(&u->stop) && u->nstall < u->maxstall) {
		uint64_t waited;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (mig_rw(u->f, x & 1, (x >> 1) % blks * FRAME_SIZE, buf, FRAME_SIZE, &waited))
			break;
		u->stall[u->nstall++] = waited;
		atomic_store(&u->nio, u->nstall);
	}
	free(buf);
	return NULL;
}

static void *mig_map_user(void *arg)
{
	struct mig_users *u = arg;
	char **map = calloc(u->nr, sizeof(*map));

	if (!map)
		return NULL;
	for (uint64_t n = 0; !atomic_load(&u->stop); n++) {
		unsigned e = (unsigned)(n % u->nr);

		/* a lease break is handled at once, as a holder notified would */
		for (unsigned i = 0; i < u->nr; i++)
			if (map[i] && !mig_map_valid(u->f, i)) {
				mig_unmap(u->f, i);
				map[i] = NULL;
			}
		if (!map[e])
			map[e] = mig_map(u->f, e, NULL);
		if (map[e])
			map[e][(n * 64) % HUGE_SIZE] = (char)n;
		if (e == u->nr - 1)
			atomic_store(&u->mapped, true);
		/* an application that works on its data between accesses */
		nanosleep(&(struct timespec){.tv_nsec = 20000}, NULL);
	}
	for (unsigned e = 0; e < u->nr; e++)
		if (map[e])
			mig_unmap(u->f, e);
	free(map);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Move a file of o->migrate bytes while it is used; print the JSON fields. */
static int migrate_measure(const struct opts *o, enum desc_mode mode)
{
	unsigned nr = (unsigned)(o->migrate / HUGE_SIZE);
	size_t len = 2 * o->migrate + HUGE_SIZE;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mig_users u = {.nr = nr, .maxstall = 1u << 22};
	struct mig_stats st = {0};
	struct pfn_rmap *rm = NULL;
	struct pfn_range *r = NULL;
	char *mem, **ext = calloc(nr, sizeof(*ext));
	pthread_t io, map;
	uint64_t t0, t1;
	int err = -ENOMEM;

	u.stall = malloc(u.maxstall * sizeof(*u.stall));
	if (raw == MAP_FAILED || !ext || !u.stall)
		goto out;
	mem = (char *)align_up((uintptr_t)raw, HUGE_SIZE);
	/* the memory is there before the move, as pmem is: no first-touch faults */
	madvise(mem, 2 * o->migrate, MADV_HUGEPAGE);
	memset(mem, 0x11, 2 * o->migrate);
	err = pfn_range_register(mem, 2 * o->migrate, PFN_KIND_PMEM, mode, &r);
	if (!err && mode == DESC_PFN)
		err = pfn_rmap_new(pfn_range_base(r), pfn_range_frames(r), 0, &rm);
	for (unsigned i = 0; i < nr; i++)
		ext[i] = mem + (uint64_t)i * HUGE_SIZE;
	if (!err)
		err = mig_file_new(mode, ext, nr, rm, &u.f);
	if (err)
		goto out;
	if (pthread_create(&io, NULL, mig_io_user, &u)) {
		err = -EAGAIN;
		goto out;
	}
	if (pthread_create(&map, NULL, mig_map_user, &u)) {
		atomic_store(&u.stop, true);
		pthread_join(io, NULL);
		err = -EAGAIN;
		goto out;
	}
	/* users at work before the first move: every extent mapped, I/O going */
	while (!atomic_load(&u.mapped) || atomic_load(&u.nio) < 1000)
		sched_yield();
	t0 = now_ns();
	for (unsigned i = 0; i < nr && !err; i++)
		err = mig_move(u.f, i, mem + o->migrate + (uint64_t)i * HUGE_SIZE, &st);
	t1 = now_ns();
	atomic_store(&u.stop, true);
	pthread_join(io, NULL);
	pthread_join(map, NULL);
	if (err)
		goto out;
	qsort(u.stall, u.nstall, sizeof(*u.stall), cmp_u64);
	uint64_t first_waited = 0;

	while (first_waited < u.nstall && !u.stall[first_waited])
		first_waited++;
	uint64_t nwaited = u.nstall - first_waited;
	printf(", \"migrate_bytes\": %llu, \"migrate_seconds\": %.9f, \"migrate_wait_s\": %.9f, "
	       "\"migrate_copy_s\": %.9f, \"migrate_owner_s\": %.9f, "
	       "\"migrate_lease_breaks\": %llu, \"migrate_holder_checks\": %llu, "
	       "\"stall_ios\": %llu, \"stall_waited_ios\": %llu, \"stall_max_ns\": %llu, "
	       "\"stall_median_waited_ns\": %llu",
	       (unsigned long long)o->migrate, (double)(t1 - t0) / 1e9,
	       (double)st.wait_holders_ns / 1e9, (double)st.copy_ns / 1e9,
	       (double)st.owner_ns / 1e9, (unsigned long long)st.lease_breaks,
	       (unsigned long long)st.holder_checks, (unsigned long long)u.nstall,
	       (unsigned long long)nwaited,
	       (unsigned long long)(u.nstall ? u.stall[u.nstall - 1] : 0),
	       (unsigned long long)(nwaited ? u.stall[first_waited + nwaited / 2] : 0));
out:
	mig_file_delete(&u.f);
	pfn_rmap_delete(&rm);
	pfn_range_unregister(&r);
	free(u.stall);
	free(ext);
	if (raw != MAP_FAILED)
		munmap(raw, len);
	return err;
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
		/* the owners below are numbers up to this, as a filesystem's inodes */
		err = pfn_rmap_new(base, frames, 0x1000 + frames / FRAMES_PER_HUGE * 16, &rm);
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
	       "\"transient_peak_bytes\": %llu",
	       desc_mode_name(mode), (unsigned long long)o->size,
	       (unsigned long long)pfn_range_descriptor_bytes(r),
	       (double)pfn_range_setup_ns(r) / 1e9, pin_s, (unsigned long long)refs, owner_s,
	       (unsigned long long)rmap_bytes, lookup_ns, bio4k, bio2m, o->qd,
	       (unsigned long long)(peak * OD_PAGE_BYTES));
	if (o->migrate) {
		err = migrate_measure(o, mode);
		if (err) {
			printf("}\n");
			goto out_fail;
		}
	}
	printf("}\n");
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
			"[--mode LIST] [--migrate BYTES]\n  LIST: comma list of " DESC_MODE_NAMES
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
				fprintf(stderr, "desc-measure: --size %s: a multiple of 2 MiB\n",
					v);
				return 2;
			}
		} else if (!strcmp(argv[i], "--migrate")) {
			if (parse_size(v, &o.migrate) || !is_aligned(o.migrate, HUGE_SIZE)) {
				fprintf(stderr,
					"desc-measure: --migrate %s: a multiple of 2 MiB "
					"(0: do not measure migration)\n",
					v);
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
					fprintf(stderr,
						"desc-measure: unknown mode '%s' (expected "
						"one of " DESC_MODE_NAMES ")\n",
						t);
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
