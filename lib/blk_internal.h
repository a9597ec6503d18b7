/* SPDX-License-Identifier: MIT */
/*
 * blk_internal.h - what bio.c, blk.c and blk_stats.c share and nobody else
 * sees: the device structure, its live (atomic) counters, and the hooks
 * bio_endio() calls when a submitted bio completes.
 */
#ifndef PMD_BLK_INTERNAL_H
#define PMD_BLK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "blk.h"

/*
 * Live counters, sharded: each thread that touches a device's counters
 * owns one shard of every device (a thread slot, claimed on first use and
 * freed when the thread exits), so the hot path is plain relaxed loads and
 * stores to a cache line no other thread writes: no locked RMW, no line
 * bouncing between cores. Threads beyond BLK_STAT_SLOTS share one extra
 * shard with atomic adds. Readers sum the shards.
 *
 * In flight = sum(submitted) - sum(completed): a bio may be submitted on
 * one thread and completed on another, so neither count alone is per
 * thread meaningful, and the two are monotonic so a reader can tell a true
 * zero. A completion is counted twice: "completed" before the bio's end_io
 * runs (so whoever sees the completion sees the statistics settled, see
 * blk.h), "retired" after end_io has returned (the last access to the
 * device on the bio's behalf: what blk_dev_drain() waits for).
 *
 * A bio of the direct path (blk.c: a read or write of one bvec, one
 * request, completed on the submitting thread) is counted with four
 * stores instead of nine: its bytes and "submitted" when it is accepted,
 * "direct_done[op]" (release) before its end_io and "retired" after. A
 * direct completion stands for one io of its direction, one completion,
 * one request, one bvec and one bio in bucket 0 of the bvecs histogram:
 * readers (blk_stats.c) add it to those counters.
 */
#define BLK_STAT_SLOTS 64

struct blk_stats_shard {
	_Atomic uint64_t ios[BLK_STAT_NR_DIRS];
	_Atomic uint64_t bytes[BLK_STAT_NR_DIRS];
	_Atomic uint64_t errors;
	_Atomic uint64_t requests;
	_Atomic uint64_t merges;
	_Atomic uint64_t splits;
	_Atomic uint64_t bvecs;
	_Atomic uint64_t submitted; /* bios accepted */
	_Atomic uint64_t completed; /* bios about to run end_io (release) */
	_Atomic uint64_t retired;   /* bios whose end_io returned (release) */
	/* Direct-path bios about to run end_io, per op (READ, WRITE) (release). */
	_Atomic uint64_t direct_done[2];
	_Atomic uint64_t lat_sum_ns;
	_Atomic uint64_t lat_hist[BLK_LAT_BUCKETS];
	_Atomic uint64_t seg_hist[BLK_SEG_BUCKETS];
} __attribute__((aligned(64)));

/* This thread's shard of @dev's counters, and whether it owns it alone. */
struct blk_shard_ref {
	struct blk_stats_shard *sh;
	bool owned;
};

struct blk_dev {
	char *name;
	uint64_t capacity; /* sectors */
	uint64_t lat_mask; /* time a bio when (its thread's bio count & lat_mask) == 0 */
	/*
	 * Direct path (blk.c): bits of bi_opf that send a bio to the general
	 * path, indexed by bit 0 of bi_opf (even ops: all but BIO_NOMERGE,
	 * so only READ passes; odd: all but WRITE, NOMERGE and, if the driver
	 * does it, FUA). A queue with workers has no direct path: all bits.
	 */
	unsigned direct_reject[2];
	struct blk_limits limits; /* max_segments filled in (never 0) */
	uint64_t max_bytes;	  /* limits.max_bytes, or UINT64_MAX for none */
	uint64_t lbs_mask;	  /* limits.logical_block_size - 1 */
	struct blk_dev_ops ops;
	void *driver_data;
	bool can_flush, can_fua, can_discard, can_write_zeroes;

	/*
	 * Async dispatch: a ring of requests under @lock. Workers take a batch
	 * at a time and sleep on @not_empty when it is empty; a submitter
	 * signals only when a worker sleeps. Workers may poll the ring for a
	 * while before they sleep (poll_ns): fewer context switches, but a
	 * core spent; see docs/design.md for when it pays.
	 */
	unsigned nr_workers;
	pthread_t *workers;
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct blk_rq *ring;
	unsigned depth, head, count;
	unsigned nr_sleeping; /* workers waiting on not_empty (under lock) */
	bool run_when_idle;   /* blk_dev_config.run_when_idle */
	uint64_t poll_ns;     /* blk_dev_config.poll_us, ns */
	/*
	 * count and stop change under @lock; polling workers also read them
	 * without it (__atomic loads; the writers use __atomic stores).
	 */
	bool stop;

	/* blk_dev_reset_stats() keeps the sums at reset here (under stats_lock). */
	pthread_mutex_t stats_lock;
	struct blk_stats stats_base;

	/* [BLK_STAT_SLOTS] is the shared shard of threads without a slot. */
	struct blk_stats_shard shards[BLK_STAT_SLOTS + 1];
};

/*
 * What the block layer keeps per thread, in one thread-local block: in a
 * shared object (the fio engine is one) every thread-local access is a call
 * to __tls_get_addr, so the hot path takes the block's address once and
 * passes it down.
 */
struct blk_tls {
	struct blk_plug *plug;	/* the plug collecting this thread's bios, or NULL */
	struct blk_dev *worker; /* the device this thread is a queue worker of */
	/* 0: no slot yet; i + 1: owns slot i; BLK_STAT_SLOTS + 1: the shared shard. */
	unsigned stat_slot;
};

extern _Thread_local struct blk_tls blk_tls;

/* blk_stat_slot_claim - give this thread a slot (or the shared shard). */
unsigned blk_stat_slot_claim(void) __attribute__((noinline, cold));

/* blk_shard_of - @t's shard of @dev (claims a thread slot once); @t is &blk_tls. */
static inline struct blk_shard_ref blk_shard_of(struct blk_dev *dev, struct blk_tls *t)
{
	unsigned slot = t->stat_slot;

	if (__builtin_expect(!slot, 0))
		slot = blk_stat_slot_claim();
	return (struct blk_shard_ref){
		.sh = &dev->shards[slot - 1],
		.owned = slot <= BLK_STAT_SLOTS,
	};
}

/* blk_shard - this thread's shard of @dev. */
static inline struct blk_shard_ref blk_shard(struct blk_dev *dev)
{
	return blk_shard_of(dev, &blk_tls);
}

/* blk_stat_add - add @v to counter @c of the shard @ref names; returns the old value. */
static inline uint64_t blk_stat_add(struct blk_shard_ref ref, _Atomic uint64_t *c, uint64_t v)
{
	uint64_t old;

	if (!ref.owned)
		return atomic_fetch_add_explicit(c, v, memory_order_relaxed);
	old = atomic_load_explicit(c, memory_order_relaxed);
	atomic_store_explicit(c, old + v, memory_order_relaxed);
	return old;
}

static inline uint64_t blk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

_Static_assert(BLK_STAT_READ == (int)BIO_OP_READ && BLK_STAT_WRITE == (int)BIO_OP_WRITE,
	       "a read or write op is its own statistics direction (direct_done[op])");

static inline enum blk_stat_dir blk_stat_dir_of(enum bio_op op)
{
	if (op == BIO_OP_READ)
		return BLK_STAT_READ;
	if (op == BIO_OP_WRITE)
		return BLK_STAT_WRITE;
	return BLK_STAT_OTHER;
}

/* log2 bucket of @v (>= 1), clamped to [0, @nr - 1]. */
static inline unsigned blk_log2_bucket(uint64_t v, unsigned nr)
{
	unsigned b = v ? 63u - (unsigned)__builtin_clzll(v) : 0;

	return b < nr ? b : nr - 1;
}

/*
 * blk_stats_submit - count a bio accepted by the queue: @bytes (its whole
 * size, before any split), for data bios its @nr_segs bvecs, and one more
 * bio in flight; mark it counted, and time it if it is this thread's turn
 * (one bio in lat_mask + 1, see blk_dev_config.lat_sample).
 */
static inline void blk_stats_submit(struct blk_dev *dev, struct blk_shard_ref ref, struct bio *bio,
				    uint32_t bytes, unsigned nr_segs)
{
	struct blk_stats_shard *s = ref.sh;
	uint64_t seq;

	blk_stat_add(ref, &s->bytes[blk_stat_dir_of(bio_op(bio))], bytes);
	if (bio_has_data(bio)) {
		blk_stat_add(ref, &s->bvecs, nr_segs);
		blk_stat_add(ref, &s->seg_hist[blk_log2_bucket(nr_segs, BLK_SEG_BUCKETS)], 1);
	}
	seq = blk_stat_add(ref, &s->submitted, 1);
	bio->bi_flags |= BIO_F_COUNTED;
	bio->bi_start_ns = 0;
	if (!(seq & dev->lat_mask)) {
		uint64_t now = blk_now_ns();

		bio->bi_start_ns = now ? now : 1;
	}
}

/* Add 1 to @c of the shard @ref names, with release order. */
static inline void blk_stat_inc_release(struct blk_shard_ref ref, _Atomic uint64_t *c)
{
	if (ref.owned)
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
				      memory_order_release);
	else
		atomic_fetch_add_explicit(c, 1, memory_order_release);
}

/* blk_stats_lat - count the latency of a bio timed at @start_ns, ending at @now_ns (0: now). */
static inline void blk_stats_lat(struct blk_shard_ref ref, uint64_t start_ns, uint64_t now_ns)
{
	uint64_t lat = (now_ns ? now_ns : blk_now_ns()) - start_ns;

	blk_stat_add(ref, &ref.sh->lat_hist[blk_log2_bucket(lat, BLK_LAT_BUCKETS)], 1);
	blk_stat_add(ref, &ref.sh->lat_sum_ns, lat);
}

/*
 * blk_stats_done - count a submitted bio's completion: ios, errors, if it
 * was timed its latency up to @now_ns (0: read the clock now), and one bio
 * less in flight. Called before the bio's end_io, so that a thread that
 * sees the completion sees all of it in the statistics. bi_status must be
 * final.
 */
static inline void blk_stats_done(struct blk_shard_ref ref, const struct bio *bio, uint64_t now_ns)
{
	struct blk_stats_shard *s = ref.sh;

	blk_stat_add(ref, &s->ios[blk_stat_dir_of(bio_op(bio))], 1);
	if (bio->bi_status)
		blk_stat_add(ref, &s->errors, 1);
	if (bio->bi_start_ns)
		blk_stats_lat(ref, bio->bi_start_ns, now_ns);
	/* Release: the counts above are seen by whoever sees this one. */
	blk_stat_inc_release(ref, &s->completed);
}

/* blk_stats_inflight - bios submitted to @dev whose completion is not counted. */
uint64_t blk_stats_inflight(const struct blk_dev *dev);

/* blk_stats_unretired - bios submitted to @dev whose end_io has not returned. */
uint64_t blk_stats_unretired(const struct blk_dev *dev);

/*
 * blk_bio_done - called by bio_endio() when a bio that was submitted to
 * @dev (BIO_F_COUNTED) reaches its final completion, before its end_io.
 * blk_bio_retire() is called after end_io returns: it is the last access
 * to the device on behalf of that bio.
 */
static inline void blk_bio_done(struct blk_dev *dev, struct bio *bio, uint64_t now_ns)
{
	blk_stats_done(blk_shard(dev), bio, now_ns);
}

/* Release: the bio's end_io happens before a drain that sees this. */
static inline void blk_retire(struct blk_shard_ref ref)
{
	blk_stat_inc_release(ref, &ref.sh->retired);
}

static inline void blk_bio_retire(struct blk_dev *dev)
{
	blk_retire(blk_shard(dev));
}

/*
 * bio_endio_at - bio_endio() with the completion time already read (@now_ns,
 * or 0 to read the clock when needed), so a request of many bios reads the
 * clock once.
 */
void bio_endio_at(struct bio *bio, int status, uint64_t now_ns);

/* bio_split_free - free a split child that was never submitted (undoing a split). */
void bio_split_free(struct bio *child);

#endif
