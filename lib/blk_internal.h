/* SPDX-License-Identifier: MIT */
/*
 * blk_internal.h - what bio.c, blk.c and blk_stats.c share and nobody else
 * sees: the device structure, its live (atomic) counters, and the hooks
 * bio_endio() calls when a submitted bio completes.
 */
#ifndef PMD_BLK_INTERNAL_H
#define PMD_BLK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "blk.h"

/* Live counters: relaxed atomics, one cache line apart from the queue lock. */
struct blk_stats_live {
	_Atomic uint64_t ios[BLK_STAT_NR_DIRS];
	_Atomic uint64_t bytes[BLK_STAT_NR_DIRS];
	_Atomic uint64_t errors;
	_Atomic uint64_t requests;
	_Atomic uint64_t merges;
	_Atomic uint64_t splits;
	_Atomic uint64_t bvecs;
	_Atomic uint64_t lat_hist[BLK_LAT_BUCKETS];
	_Atomic uint64_t seg_hist[BLK_SEG_BUCKETS];
	_Atomic uint64_t lat_sum_ns;
};

struct blk_dev {
	char *name;
	uint64_t capacity;	  /* sectors */
	struct blk_limits limits; /* max_segments filled in (never 0) */
	uint64_t max_bytes;	  /* limits.max_bytes, or UINT64_MAX for none */
	struct blk_dev_ops ops;
	void *driver_data;
	bool can_flush, can_fua, can_discard, can_write_zeroes;

	/* Bios submitted and not yet completed (end_io returned). */
	_Alignas(64) atomic_uint_fast64_t in_flight;

	/* Async dispatch: a ring of requests, workers wake on a condvar. */
	unsigned nr_workers;
	pthread_t *workers;
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct blk_rq *ring;
	unsigned depth, head, count;
	bool stop;

	_Alignas(64) struct blk_stats_live stats;
};

static inline uint64_t blk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline enum blk_stat_dir blk_stat_dir_of(enum bio_op op)
{
	if (op == BIO_OP_READ)
		return BLK_STAT_READ;
	if (op == BIO_OP_WRITE)
		return BLK_STAT_WRITE;
	return BLK_STAT_OTHER;
}

/*
 * blk_stats_submit - count a bio accepted by the queue: @bytes (its whole
 * size, before any split) and, for data bios, its @nr_segs bvecs.
 */
void blk_stats_submit(struct blk_stats_live *s, const struct bio *bio, uint32_t bytes,
		      unsigned nr_segs);

/*
 * blk_stats_done - count a submitted bio's completion (ios, errors,
 * latency from bi_start_ns). bi_status must be final.
 */
void blk_stats_done(struct blk_stats_live *s, const struct bio *bio);

/*
 * blk_bio_done - called by bio_endio() when a bio that was submitted to
 * @dev (bi_bdev set, bi_start_ns nonzero) reaches its final completion,
 * before its end_io. blk_bio_put_inflight() is called after end_io returns:
 * it is the last access to the device on behalf of that bio.
 */
void blk_bio_done(struct blk_dev *dev, struct bio *bio);
void blk_bio_put_inflight(struct blk_dev *dev);

#endif
