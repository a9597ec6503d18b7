/* SPDX-License-Identifier: MIT */
/*
 * blk_stats.c - per-device counters.
 *
 * Hot path: plain relaxed loads and stores to this thread's own shard (see
 * blk_internal.h), no locked RMW. Bytes, bvecs and the bvecs-per-bio
 * histogram are counted when the queue accepts a bio (the iterator is
 * still whole then); ios, errors and latency when it completes (a bio of
 * the direct path counts its ios, request and bvec with its completion,
 * see blk_internal.h). Every
 * accepted bio completes, so after blk_dev_drain() the two sides agree.
 * A snapshot taken while I/O runs is a set of counters read one by one,
 * not an atomic picture.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "blk_internal.h"

/*
 * Thread slots: bit i of blk_slot_map is set while a live thread owns slot
 * i, i.e. shard i of every device. A thread claims a slot the first time it
 * counts something and gives it back when it exits (the key's destructor);
 * the release/acquire pair on the map orders the old owner's last stores
 * before the new owner's first.
 */
static _Atomic uint64_t blk_slot_map;
static pthread_key_t blk_slot_key;
static pthread_once_t blk_slot_once = PTHREAD_ONCE_INIT;
static bool blk_slot_key_ok;
_Thread_local struct blk_tls blk_tls;

_Static_assert(BLK_STAT_SLOTS <= 64, "the slot map is one 64-bit word");

static void blk_slot_release(void *p)
{
	unsigned slot = (unsigned)(uintptr_t)p - 1;

	atomic_fetch_and_explicit(&blk_slot_map, ~(UINT64_C(1) << slot), memory_order_release);
}

static void blk_slot_init(void)
{
	blk_slot_key_ok = !pthread_key_create(&blk_slot_key, blk_slot_release);
}

unsigned blk_stat_slot_claim(void)
{
	uint64_t map = atomic_load_explicit(&blk_slot_map, memory_order_relaxed);

	pthread_once(&blk_slot_once, blk_slot_init);
	/* Without a destructor a slot would leak at thread exit: share instead. */
	while (blk_slot_key_ok && ~map) {
		unsigned slot = (unsigned)__builtin_ctzll(~map);

		if (atomic_compare_exchange_weak_explicit(
			    &blk_slot_map, &map, map | (UINT64_C(1) << slot), memory_order_acquire,
			    memory_order_relaxed)) {
			if (pthread_setspecific(blk_slot_key, (void *)(uintptr_t)(slot + 1))) {
				blk_slot_release((void *)(uintptr_t)(slot + 1));
				break;
			}
			return blk_tls.stat_slot = slot + 1;
		}
	}
	return blk_tls.stat_slot = BLK_STAT_SLOTS + 1;
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

static uint64_t get_acquire(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_acquire);
}

/*
 * Submitted minus the bios at one end: completed (general and direct
 * completions, @retired false) or retired. The ends are summed first,
 * with acquire loads that pair with the release that counts each end, so
 * every submission whose end was seen is seen too; the difference is then
 * never below the true count of bios submitted before the call and not yet
 * at that end, and is 0 only when those all are.
 */
static uint64_t blk_stats_outstanding(const struct blk_dev *dev, bool retired)
{
	uint64_t done = 0, sub = 0;

	for (unsigned i = 0; i <= BLK_STAT_SLOTS; i++) {
		const struct blk_stats_shard *s = &dev->shards[i];

		if (retired)
			done += get_acquire(&s->retired);
		else
			done += get_acquire(&s->completed) + get_acquire(&s->direct_done[0]) +
				get_acquire(&s->direct_done[1]);
	}
	for (unsigned i = 0; i <= BLK_STAT_SLOTS; i++)
		sub += get_acquire(&dev->shards[i].submitted);
	return sub - done;
}

uint64_t blk_stats_inflight(const struct blk_dev *dev)
{
	return blk_stats_outstanding(dev, false);
}

uint64_t blk_stats_unretired(const struct blk_dev *dev)
{
	return blk_stats_outstanding(dev, true);
}

/* The sums of the shards, without the reset base. */
static void blk_stats_sum(const struct blk_dev *dev, struct blk_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned k = 0; k <= BLK_STAT_SLOTS; k++) {
		const struct blk_stats_shard *s = &dev->shards[k];
		/* Each direct completion: an io, a request, a bio of one bvec. */
		uint64_t dr = get(&s->direct_done[BIO_OP_READ]);
		uint64_t dw = get(&s->direct_done[BIO_OP_WRITE]);

		for (int d = 0; d < BLK_STAT_NR_DIRS; d++) {
			st->ios[d] += get(&s->ios[d]);
			st->bytes[d] += get(&s->bytes[d]);
		}
		st->ios[BLK_STAT_READ] += dr;
		st->ios[BLK_STAT_WRITE] += dw;
		st->errors += get(&s->errors);
		st->requests += get(&s->requests) + dr + dw;
		st->merges += get(&s->merges);
		st->splits += get(&s->splits);
		st->bvecs += get(&s->bvecs) + dr + dw;
		for (int i = 0; i < BLK_LAT_BUCKETS; i++)
			st->lat_hist[i] += get(&s->lat_hist[i]);
		for (int i = 0; i < BLK_SEG_BUCKETS; i++)
			st->seg_hist[i] += get(&s->seg_hist[i]);
		st->seg_hist[0] += dr + dw;
		st->lat_sum_ns += get(&s->lat_sum_ns);
	}
}

void blk_dev_get_stats(const struct blk_dev *dev, struct blk_stats *st)
{
	struct blk_dev *d = (struct blk_dev *)dev;
	const struct blk_stats *b = &dev->stats_base;
	uint64_t *v = (uint64_t *)st;
	const uint64_t *bv = (const uint64_t *)b;

	_Static_assert(sizeof(struct blk_stats) % sizeof(uint64_t) == 0,
		       "blk_stats is all uint64_t");
	pthread_mutex_lock(&d->stats_lock);
	blk_stats_sum(dev, st);
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		v[i] -= bv[i];
	pthread_mutex_unlock(&d->stats_lock);
	st->in_flight = blk_stats_inflight(dev);
}

void blk_dev_reset_stats(struct blk_dev *dev)
{
	/*
	 * The shards belong to their threads: remember the sums instead of
	 * zeroing them. in_flight is state, not a statistic: never reset.
	 */
	pthread_mutex_lock(&dev->stats_lock);
	blk_stats_sum(dev, &dev->stats_base);
	pthread_mutex_unlock(&dev->stats_lock);
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
