/* SPDX-License-Identifier: MIT */
/*
 * blk_stats.c - per-device counters.
 *
 * Hot path: relaxed atomic adds only. Bytes, bvecs and the bvecs-per-bio
 * histogram are counted when the queue accepts a bio (the iterator is
 * still whole then); ios, errors and latency when it completes. Every
 * accepted bio completes, so after blk_dev_drain() the two sides agree.
 * A snapshot taken while I/O runs is a set of counters read one by one,
 * not an atomic picture.
 */
#include <string.h>

#include "blk_internal.h"

static void add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* log2 bucket of @v (>= 1), clamped to [0, @nr - 1]. */
static unsigned log2_bucket(uint64_t v, unsigned nr)
{
	unsigned b = v ? 63u - (unsigned)__builtin_clzll(v) : 0;

	return b < nr ? b : nr - 1;
}

void blk_stats_submit(struct blk_stats_live *s, const struct bio *bio, uint32_t bytes,
		      unsigned nr_segs)
{
	add(&s->bytes[blk_stat_dir_of(bio_op(bio))], bytes);
	if (bio_has_data(bio)) {
		add(&s->bvecs, nr_segs);
		add(&s->seg_hist[log2_bucket(nr_segs, BLK_SEG_BUCKETS)], 1);
	}
}

void blk_stats_done(struct blk_stats_live *s, const struct bio *bio)
{
	uint64_t lat = blk_now_ns() - bio->bi_start_ns;

	add(&s->ios[blk_stat_dir_of(bio_op(bio))], 1);
	if (bio->bi_status)
		add(&s->errors, 1);
	add(&s->lat_hist[log2_bucket(lat, BLK_LAT_BUCKETS)], 1);
	add(&s->lat_sum_ns, lat);
}

void blk_dev_get_stats(const struct blk_dev *dev, struct blk_stats *st)
{
	const struct blk_stats_live *s = &dev->stats;

	for (int d = 0; d < BLK_STAT_NR_DIRS; d++) {
		st->ios[d] = get(&s->ios[d]);
		st->bytes[d] = get(&s->bytes[d]);
	}
	st->errors = get(&s->errors);
	st->requests = get(&s->requests);
	st->merges = get(&s->merges);
	st->splits = get(&s->splits);
	st->bvecs = get(&s->bvecs);
	st->in_flight =
		atomic_load_explicit((atomic_uint_fast64_t *)&dev->in_flight, memory_order_relaxed);
	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		st->lat_hist[i] = get(&s->lat_hist[i]);
	for (int i = 0; i < BLK_SEG_BUCKETS; i++)
		st->seg_hist[i] = get(&s->seg_hist[i]);
	st->lat_sum_ns = get(&s->lat_sum_ns);
}

void blk_dev_reset_stats(struct blk_dev *dev)
{
	struct blk_stats_live *s = &dev->stats;

	/* in_flight is state, not a statistic: it is never reset. */
	for (int d = 0; d < BLK_STAT_NR_DIRS; d++) {
		atomic_store_explicit(&s->ios[d], 0, memory_order_relaxed);
		atomic_store_explicit(&s->bytes[d], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&s->errors, 0, memory_order_relaxed);
	atomic_store_explicit(&s->requests, 0, memory_order_relaxed);
	atomic_store_explicit(&s->merges, 0, memory_order_relaxed);
	atomic_store_explicit(&s->splits, 0, memory_order_relaxed);
	atomic_store_explicit(&s->bvecs, 0, memory_order_relaxed);
	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		atomic_store_explicit(&s->lat_hist[i], 0, memory_order_relaxed);
	for (int i = 0; i < BLK_SEG_BUCKETS; i++)
		atomic_store_explicit(&s->seg_hist[i], 0, memory_order_relaxed);
	atomic_store_explicit(&s->lat_sum_ns, 0, memory_order_relaxed);
}

uint64_t blk_stats_lat_percentile(const struct blk_stats *st, double pct)
{
	uint64_t total = 0, seen = 0, want;

	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		total += st->lat_hist[i];
	if (!total)
		return 0;
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	/* The smallest bucket holding at least @pct % of the samples. */
	want = (uint64_t)(pct / 100.0 * (double)total + 0.999999);
	if (!want)
		want = 1;
	for (int i = 0; i < BLK_LAT_BUCKETS; i++) {
		seen += st->lat_hist[i];
		if (seen >= want)
			return UINT64_C(1) << (i + 1);
	}
	return UINT64_C(1) << BLK_LAT_BUCKETS;
}

double blk_stats_mean_bvecs(const struct blk_stats *st)
{
	uint64_t bios = 0;

	for (int i = 0; i < BLK_SEG_BUCKETS; i++)
		bios += st->seg_hist[i];
	return bios ? (double)st->bvecs / (double)bios : 0.0;
}
