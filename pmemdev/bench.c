/* SPDX-License-Identifier: MIT */
/*
 * bench.c - see bench.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "errmsg.h"

struct bench_thread;

struct bench_slot {
	struct bench_thread *thr;
	char *buf;	 /* bs bytes of registered memory */
	struct bio *bio; /* reused shell; bvecs rebuilt per I/O */
	unsigned idx;
};

struct bench_thread {
	const struct bench_opts *o;
	struct blk_dev *blk; /* NULL for the memcpy target */
	struct pmr_region *region;
	char *base;	    /* region mapping (memcpy target) */
	uint64_t nr_blocks; /* I/O units in the used part of the device */
	struct bench_slot *slots;
	unsigned nr_vecs;
	uint64_t seq_next; /* next block for sequential I/O */
	uint64_t rnd;	   /* xorshift state */
	uint64_t ios, bytes;
	uint64_t submitted; /* I/Os started, for bench_opts.ios */
	int err;
	bool async;
	/* Completed slots, pushed by end_io (a worker thread when async). */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned *done;
	unsigned nr_done;
	_Atomic unsigned nr_done_hint; /* nr_done, for polling without the lock */
	bool waiting;		       /* the thread sleeps on cond */
	pthread_t tid;
};

static atomic_bool bench_stop;
static pthread_barrier_t bench_barrier;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static uint64_t next_block(struct bench_thread *t)
{
	uint64_t x;

	if (t->o->rw == BENCH_READ || t->o->rw == BENCH_WRITE) {
		x = t->seq_next++;
		if (t->seq_next == t->nr_blocks)
			t->seq_next = 0;
		return x;
	}
	x = t->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rnd = x;
	return x % t->nr_blocks;
}

static bool is_write(enum bench_rw rw)
{
	return rw == BENCH_WRITE || rw == BENCH_RANDWRITE;
}

static void bench_end_io(struct bio *bio)
{
	struct bench_slot *s = bio->bi_private;
	struct bench_thread *t = s->thr;
	bool wake;

	if (bio->bi_status && !t->err)
		t->err = bio->bi_status;
	if (t->o->alloc)
		bio_put(bio);
	else
		bio_release_pages(bio);
	if (!t->async) {
		t->done[t->nr_done++] = s->idx;
		return;
	}
	pthread_mutex_lock(&t->lock);
	t->done[t->nr_done++] = s->idx;
	atomic_store_explicit(&t->nr_done_hint, t->nr_done, memory_order_relaxed);
	wake = t->waiting;
	pthread_mutex_unlock(&t->lock);
	if (wake)
		pthread_cond_signal(&t->cond);
}

/* Should the thread stop starting I/Os (time up or its count reached)? */
static bool bench_done(const struct bench_thread *t)
{
	if (t->o->ios)
		return t->submitted >= t->o->ios;
	return atomic_load_explicit(&bench_stop, memory_order_relaxed);
}

static int bench_submit(struct bench_thread *t, struct bench_slot *s)
{
	const struct bench_opts *o = t->o;
	unsigned opf = is_write(o->rw) ? BIO_OP_WRITE : BIO_OP_READ;
	enum bio_desc desc = bio_desc_of(o->mode);
	struct bio *bio = s->bio;
	int err;

	if (is_write(o->rw) && o->fua)
		opf |= BIO_FUA;
	if (o->alloc) {
		err = bio_alloc(t->nr_vecs, opf, desc, &bio);
		if (err)
			return err;
	} else {
		bio_reset(bio, opf);
	}
	bio->bi_iter.bi_sector = off_to_sector(next_block(t) * o->bs);
	err = bio_add_range(bio, s->buf, o->bs, o->mode);
	if (err)
		goto out_release;
	bio->bi_end_io = bench_end_io;
	bio->bi_private = s;
	err = blk_submit_bio(t->blk, bio);
	if (err)
		goto out_release;
	return 0;

out_release:
	if (o->alloc)
		bio_put(bio);
	else
		bio_release_pages(bio);
	return err;
}

/*
 * Completions usually arrive within microseconds: poll for up to
 * BENCH_POLL_NS before sleeping, as fio's engines reap, so a completion
 * does not cost a futex wake-up and two context switches.
 */
#define BENCH_POLL_NS 20000u

static void bench_poll(struct bench_thread *t)
{
	uint64_t t0 = 0;

	for (unsigned n = 0; !atomic_load_explicit(&t->nr_done_hint, memory_order_relaxed); n++) {
		struct timespec ts;
		uint64_t now;

		for (int i = 0; i < 32; i++)
			__builtin_ia32_pause();
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		if (!n)
			t0 = now;
		else if (now - t0 > BENCH_POLL_NS)
			break;
	}
}

static void *bench_thread_fn(void *arg)
{
	struct bench_thread *t = arg;
	const struct bench_opts *o = t->o;

	pthread_barrier_wait(&bench_barrier);
	if (!t->blk) {
		/* The ceiling: the same copies without the block layer. */
		while (!bench_done(t)) {
			char *dev = t->base + next_block(t) * o->bs;
			char *buf = t->slots[0].buf;

			if (is_write(o->rw)) {
				pmr_memcpy(t->region, dev, buf, o->bs, PMR_MEM_NODRAIN);
				if (o->fua)
					pmr_drain(t->region);
			} else {
				memcpy(buf, dev, o->bs);
			}
			t->ios++;
			t->submitted++;
		}
		t->bytes = t->ios * o->bs;
		return NULL;
	}

	unsigned in_flight = 0;

	for (unsigned i = 0; i < o->iodepth && !bench_done(t); i++) {
		/* a completion may have set t->err already: keep it */
		int err = bench_submit(t, &t->slots[i]);

		if (err) {
			t->err = err;
			break;
		}
		t->submitted++;
		in_flight++;
	}
	unsigned local[o->iodepth];

	while (in_flight) {
		unsigned n;

		if (t->async) {
			bench_poll(t);
			pthread_mutex_lock(&t->lock);
			while (!t->nr_done) {
				t->waiting = true;
				pthread_cond_wait(&t->cond, &t->lock);
			}
			t->waiting = false;
			n = t->nr_done;
			memcpy(local, t->done, n * sizeof(local[0]));
			t->nr_done = 0;
			atomic_store_explicit(&t->nr_done_hint, 0, memory_order_relaxed);
			pthread_mutex_unlock(&t->lock);
		} else {
			n = t->nr_done;
			memcpy(local, t->done, n * sizeof(local[0]));
			t->nr_done = 0;
		}
		for (unsigned i = 0; i < n; i++) {
			in_flight--;
			t->ios++;
			if (t->err || bench_done(t))
				continue;
			int err = bench_submit(t, &t->slots[local[i]]);

			if (err) {
				t->err = err;
				continue;
			}
			t->submitted++;
			in_flight++;
		}
	}
	t->bytes = t->ios * o->bs;
	return NULL;
}

/*
 * Fault the used part of the region in before measuring, so the run
 * measures copies and descriptors, not the first-touch page faults of the
 * emulation (real pmem has none). Skipped when the used part would not fit
 * comfortably in memory (a sparse region much larger than RAM), and on
 * kernels without MADV_POPULATE_WRITE: then the first pass pays the faults.
 */
static void populate(struct pmr_region *region, uint64_t used)
{
	long pages = sysconf(_SC_AVPHYS_PAGES);
	uint64_t avail = pages > 0 ? (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;

	if (used > avail / 2)
		return;
	madvise(pmr_addr(region), align_up(used, HUGE_SIZE), MADV_POPULATE_WRITE);
}

static int validate(const struct bench_opts *o, uint64_t dev_size)
{
	char b1[32], b2[32];

	if (!o->bs || !is_aligned(o->bs, SECTOR_SIZE))
		return pmd_err(-EINVAL, "bs %llu is not a multiple of the logical block size (512)",
			       (unsigned long long)o->bs);
	if (o->mode == DESC_FOLIO && !is_aligned(o->bs, FRAME_SIZE))
		return pmd_err(-EINVAL, "bs %llu: folio and page modes need 4 KiB multiples",
			       (unsigned long long)o->bs);
	if (!o->iodepth || o->iodepth > 1024)
		return pmd_err(-EINVAL, "iodepth %u is out of range (1..1024)", o->iodepth);
	if (!o->threads || o->threads > 256)
		return pmd_err(-EINVAL, "threads %u is out of range (1..256)", o->threads);
	if (o->iodepth > 1 && !o->workers && o->target != BENCH_TARGET_MEMCPY)
		return pmd_err(-EINVAL, "iodepth > 1 needs completion workers (--workers N)");
	if (o->seconds <= 0)
		return pmd_err(-EINVAL, "time must be positive");
	if (o->size > dev_size)
		return pmd_err(-ERANGE, "size %s is beyond the end of the device (%s)",
			       format_size(o->size, b1, sizeof(b1)),
			       format_size(dev_size, b2, sizeof(b2)));
	if (o->bs > (o->size ? o->size : dev_size))
		return pmd_err(-ERANGE, "bs %s is larger than the device (%s)",
			       format_size(o->bs, b1, sizeof(b1)),
			       format_size(dev_size, b2, sizeof(b2)));
	return 0;
}

int bench_run(const struct bench_opts *o, struct bench_result *res)
{
	struct pmemdev_config pc = {0};
	struct pmemdev *pd = NULL;
	struct pmr_region *region = NULL;
	struct pfn_range *bufrange = NULL;
	struct bench_thread *th = NULL;
	uint64_t slot_bytes, buf_len, dev_size;
	double t0, c0, setup = 0;
	struct blk_stats st;
	char *bufs = NULL;
	int err;

	memset(res, 0, sizeof(*res));
	/* one owner per region: exclusive when this run writes it, else shared */
	err = pmr_open(o->path,
		       (o->target != BENCH_TARGET_NULL &&
			(o->rw == BENCH_WRITE || o->rw == BENCH_RANDWRITE))
			       ? PMR_F_LOCK_EXCL
			       : PMR_F_LOCK_SHARED,
		       &region);
	if (err)
		return err;
	dev_size = pmr_size(region);
	err = validate(o, dev_size);
	if (err)
		goto out_close;

	if (o->target != BENCH_TARGET_MEMCPY) {
		pc.region = region;
		pc.target =
			o->target == BENCH_TARGET_NULL ? PMEMDEV_TARGET_NULL : PMEMDEV_TARGET_PMEM;
		pc.mode = o->mode;
		pc.nr_workers = o->workers;
		pc.lat_sample = o->lat_sample;
		err = pmemdev_new(&pc, &pd);
		if (err)
			goto out_close;
		res->region_setup_seconds = pfn_range_setup_ns(pmemdev_pfn_range(pd)) / 1e9;
		res->region_descriptor_bytes = pfn_range_descriptor_bytes(pmemdev_pfn_range(pd));
		setup += res->region_setup_seconds;
		res->descriptor_bytes += res->region_descriptor_bytes;
	}

	populate(region, o->size ? o->size : dev_size);

	/* I/O buffers: one 2 MiB aligned, registered range for all slots. */
	slot_bytes = align_up(o->bs, FRAME_SIZE);
	buf_len = align_up(slot_bytes * o->iodepth * o->threads, HUGE_SIZE);
	bufs = mmap(NULL, buf_len + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (bufs == MAP_FAILED) {
		bufs = NULL;
		err = pmd_err(-ENOMEM, "cannot allocate %llu bytes of I/O buffers",
			      (unsigned long long)buf_len);
		goto out_dev;
	}
	{
		char *aligned = (char *)align_up((uintptr_t)bufs, HUGE_SIZE);

		madvise(aligned, buf_len, MADV_HUGEPAGE);
		memset(aligned, 0x5a, buf_len);
		if (pd) {
			err = pfn_range_register(aligned, buf_len, PFN_KIND_DRAM, o->mode,
						 &bufrange);
			if (err)
				goto out_unmap;
			setup += pfn_range_setup_ns(bufrange) / 1e9;
			res->descriptor_bytes += pfn_range_descriptor_bytes(bufrange);
		}

		th = calloc(o->threads, sizeof(*th));
		if (!th) {
			err = -ENOMEM;
			goto out_unregister;
		}
		for (unsigned i = 0; i < o->threads; i++) {
			struct bench_thread *t = &th[i];

			t->o = o;
			t->blk = pd ? pmemdev_blk(pd) : NULL;
			t->region = region;
			t->base = pmr_addr(region);
			t->nr_blocks = (o->size ? o->size : dev_size) / o->bs;
			/* Threads start at different places, as fio's jobs do. */
			t->seq_next = t->nr_blocks * i / o->threads;
			t->rnd = 0x9e3779b97f4a7c15ull * (i + 1);
			t->async = o->workers > 0;
			t->nr_vecs = bio_nr_vecs_for(aligned, o->bs, o->mode);
			pthread_mutex_init(&t->lock, NULL);
			pthread_cond_init(&t->cond, NULL);
			t->done = calloc(o->iodepth, sizeof(unsigned));
			t->slots = calloc(o->iodepth, sizeof(*t->slots));
			if (!t->done || !t->slots) {
				err = -ENOMEM;
				goto out_threads;
			}
			for (unsigned j = 0; j < o->iodepth; j++) {
				struct bench_slot *s = &t->slots[j];

				s->thr = t;
				s->idx = j;
				s->buf = aligned + (uint64_t)(i * o->iodepth + j) * slot_bytes;
				/* Our own bio shell: bio_init() once, bio_reset() per I/O. */
				if (o->alloc)
					continue;
				s->bio = malloc(sizeof(struct bio) +
						t->nr_vecs * sizeof(struct bio_vec));
				if (!s->bio) {
					err = -ENOMEM;
					goto out_threads;
				}
				bio_init(s->bio, s->bio->bi_inline_vecs, t->nr_vecs, BIO_OP_READ,
					 bio_desc_of(o->mode));
			}
		}
	}

	atomic_store(&bench_stop, false);
	pthread_barrier_init(&bench_barrier, NULL, o->threads + 1);
	for (unsigned i = 0; i < o->threads; i++)
		pthread_create(&th[i].tid, NULL, bench_thread_fn, &th[i]);
	if (pd)
		blk_dev_reset_stats(pmemdev_blk(pd));
	c0 = cpu_s();
	t0 = now_s();
	pthread_barrier_wait(&bench_barrier);
	if (!o->ios) {
		struct timespec ts = {.tv_sec = (time_t)o->seconds,
				      .tv_nsec = (long)((o->seconds - (time_t)o->seconds) * 1e9)};

		nanosleep(&ts, NULL);
	}
	atomic_store(&bench_stop, true);
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(th[i].tid, NULL);
		res->ios += th[i].ios;
		res->bytes += th[i].bytes;
		if (th[i].err && !err)
			err = th[i].err;
	}
	res->seconds = now_s() - t0;
	res->cpu_seconds = cpu_s() - c0;
	pthread_barrier_destroy(&bench_barrier);
	res->bandwidth = res->bytes / res->seconds;
	res->iops = res->ios / res->seconds;
	res->setup_seconds = setup;
	if (pd) {
		blk_dev_get_stats(pmemdev_blk(pd), &st);
		res->bvecs_per_bio = blk_stats_mean_bvecs(&st);
		res->lat_p50_ns = blk_stats_lat_percentile(&st, 50);
		res->lat_p99_ns = blk_stats_lat_percentile(&st, 99);
	}
	if (err)
		pmd_err(err, "I/O failed during the run: %s", strerror(-err));

out_threads:
	for (unsigned i = 0; th && i < o->threads; i++) {
		for (unsigned j = 0; th[i].slots && j < o->iodepth; j++)
			free(th[i].slots[j].bio);
		free(th[i].slots);
		free(th[i].done);
		pthread_mutex_destroy(&th[i].lock);
		pthread_cond_destroy(&th[i].cond);
	}
	free(th);
out_unregister:
	pfn_range_unregister(&bufrange);
out_unmap:
	if (bufs)
		munmap(bufs, buf_len + HUGE_SIZE);
out_dev:
	pmemdev_delete(&pd);
out_close:
	pmr_close(&region);
	return err;
}

int bench_rw_parse(const char *s, enum bench_rw *out)
{
	static const char *const names[] = {"read", "write", "randread", "randwrite"};

	for (unsigned i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum bench_rw)i;
			return 0;
		}
	}
	return pmd_err(-EINVAL, "unknown rw '%s' (expected read, write, randread or randwrite)", s);
}

const char *bench_rw_name(enum bench_rw rw)
{
	static const char *const names[] = {"read", "write", "randread", "randwrite"};

	return names[rw];
}

int bench_target_parse(const char *s, enum bench_target *out)
{
	if (!strcmp(s, "pmem"))
		*out = BENCH_TARGET_PMEM;
	else if (!strcmp(s, "null"))
		*out = BENCH_TARGET_NULL;
	else if (!strcmp(s, "memcpy"))
		*out = BENCH_TARGET_MEMCPY;
	else
		return pmd_err(-EINVAL, "unknown target '%s' (expected pmem, null or memcpy)", s);
	return 0;
}

const char *bench_target_name(enum bench_target t)
{
	static const char *const names[] = {"pmem", "null", "memcpy"};

	return names[t];
}
