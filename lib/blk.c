/* SPDX-License-Identifier: MIT */
/*
 * blk.c - the block queue: checks, splits, plugs and merges bios, hands
 * requests to the driver on the submitting thread or on worker threads, and
 * completes them.
 *
 * Flags the driver may see in blk_rq.flags:
 *   BIO_PREFLUSH  only if the driver can_flush (otherwise the bio is
 *                 rejected with -EOPNOTSUPP): the driver flushes first.
 *   BIO_FUA       only if the driver can_fua. A FUA write to a driver that
 *                 cannot do FUA but can flush is emulated: the queue strips
 *                 the flag and, when the write succeeded, sends the driver a
 *                 FLUSH request (op BIO_OP_FLUSH, no bios, bytes 0) before
 *                 completing the bios. Without either, FUA is -EOPNOTSUPP.
 *
 * Ordering: bios in flight at the same time are not ordered (plugging sorts
 * by sector); a caller that needs an order waits for the first completion.
 *
 * Plugs: FLUSH bios are never plugged (they go out at once). A plug sends
 * its bios by itself every BLK_PLUG_MAX bios; blk_dev_drain() and
 * blk_submit_bio_wait() never wait on bios held in the caller's own plug
 * (drain dispatches them first, submit_bio_wait bypasses the plug).
 *
 * Async queues: end_io runs on a worker (or, with run_when_idle, on the
 * submitter when every worker sleeps and the ring is empty). Workers take
 * batches of requests and are signalled only when one sleeps. A worker that
 * submits from end_io into a full ring runs that request itself instead of
 * waiting on itself.
 *
 * Reusing a bio: see bio.c (bio_init() again before resubmitting).
 *
 * Sync path cost: a bio that needs no split is checked with one walk over
 * its bvecs, dispatched with a request on the stack, and completed on the
 * same thread: no malloc, no lock. The commonest (one bvec, read or write,
 * no plug) goes the direct path: checked from its head alone and counted
 * in four stores to the thread's own counters.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_internal.h"
#include "errmsg.h"

/* A plug dispatches by itself once it holds this many bios. */
#define BLK_PLUG_MAX 128u
#define BLK_MAX_WORKERS 256u
#define BLK_MAX_DEPTH 65536u
#define BLK_MAX_LAT_SAMPLE 65536u
#define BLK_MAX_POLL_US 100000u
/* Most requests a worker takes from the ring at once. */
#define BLK_WORKER_BATCH 16u

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* The smallest power of two >= @v (@v <= BLK_MAX_LAT_SAMPLE). */
static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static bool call_can(bool (*can)(void *), void *data)
{
	return can && can(data);
}

static void blk_run_rq(struct blk_dev *dev, struct blk_rq *rq);
static void *blk_worker(void *arg);
static void blk_flush_plug_list(struct blk_plug *plug);

static int blk_validate_config(const struct blk_dev_config *cfg)
{
	const struct blk_limits *l = &cfg->limits;
	uint32_t lbs = l->logical_block_size;

	if (!cfg->ops)
		return pmd_err(-EINVAL, "block device needs an ops table");
	if (cfg->ops->size != sizeof(struct blk_dev_ops))
		return pmd_err(-EINVAL, "ops table is %zu bytes, this queue expects %zu",
			       cfg->ops->size, sizeof(struct blk_dev_ops));
	if (!cfg->ops->queue_rq)
		return pmd_err(-EINVAL, "ops table has no queue_rq (required)");
	if (!is_pow2(lbs) || lbs < SECTOR_SIZE || lbs > HUGE_SIZE)
		return pmd_err(-EINVAL,
			       "logical block size %u is not a power of two in [512, 2 MiB]", lbs);
	if (!cfg->capacity_sectors)
		return pmd_err(-EINVAL, "device capacity is 0 sectors");
	if (!is_aligned(sector_to_off(cfg->capacity_sectors), lbs))
		return pmd_err(-EINVAL,
			       "capacity %llu sectors is not a multiple of the %u byte block",
			       (unsigned long long)cfg->capacity_sectors, lbs);
	if (l->max_bytes && (l->max_bytes < lbs || !is_aligned(l->max_bytes, lbs)))
		return pmd_err(-EINVAL,
			       "max_bytes %llu is not a nonzero multiple of the %u byte block",
			       (unsigned long long)l->max_bytes, lbs);
	if (l->dma_alignment && !is_pow2((uint64_t)l->dma_alignment + 1))
		return pmd_err(-EINVAL, "dma_alignment 0x%x is not a mask (2^n - 1)",
			       l->dma_alignment);
	if (cfg->nr_workers > BLK_MAX_WORKERS)
		return pmd_err(-EINVAL, "%u workers is more than %u", cfg->nr_workers,
			       BLK_MAX_WORKERS);
	if (cfg->lat_sample > BLK_MAX_LAT_SAMPLE)
		return pmd_err(-EINVAL, "latency sampling 1 in %u is sparser than 1 in %u",
			       cfg->lat_sample, BLK_MAX_LAT_SAMPLE);
	if (cfg->poll_us > BLK_MAX_POLL_US)
		return pmd_err(-EINVAL, "workers polling %u us is more than %u us", cfg->poll_us,
			       BLK_MAX_POLL_US);
	if (cfg->queue_depth > BLK_MAX_DEPTH)
		return pmd_err(-EINVAL, "queue depth %u is more than %u", cfg->queue_depth,
			       BLK_MAX_DEPTH);
	return 0;
}

static void blk_stop_workers(struct blk_dev *dev, unsigned started)
{
	pthread_mutex_lock(&dev->lock);
	__atomic_store_n(&dev->stop, true, __ATOMIC_RELAXED); /* polling workers read it */
	pthread_cond_broadcast(&dev->not_empty);
	pthread_mutex_unlock(&dev->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(dev->workers[i], NULL);
}

/* Free @dev and what it holds; its workers are stopped (or never started). */
static void blk_dev_free(struct blk_dev *dev)
{
	free(dev->workers);
	free(dev->ring);
	pthread_cond_destroy(&dev->not_full);
	pthread_cond_destroy(&dev->not_empty);
	pthread_mutex_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->stats_lock);
	free(dev->name);
	free(dev);
}

int blk_dev_new(const struct blk_dev_config *cfg, struct blk_dev **out)
{
	struct blk_dev *dev;
	unsigned started = 0;
	int err;

	if (!cfg || !out)
		return pmd_err(-EINVAL, "blk_dev_new needs a config and an out pointer");
	err = blk_validate_config(cfg);
	if (err)
		return err;

	dev = aligned_alloc(64, align_up(sizeof(*dev), 64));
	if (!dev)
		return -ENOMEM;
	memset(dev, 0, sizeof(*dev));
	pthread_mutex_init(&dev->stats_lock, NULL);
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->not_empty, NULL);
	pthread_cond_init(&dev->not_full, NULL);
	dev->name = strdup(cfg->name ? cfg->name : "blk");
	if (!dev->name) {
		err = -ENOMEM;
		goto out_free;
	}
	dev->capacity = cfg->capacity_sectors;
	dev->limits = cfg->limits;
	if (!dev->limits.max_segments)
		dev->limits.max_segments = BIO_MAX_VECS;
	dev->max_bytes = dev->limits.max_bytes ? dev->limits.max_bytes : UINT64_MAX;
	dev->lbs_mask = dev->limits.logical_block_size - 1;
	dev->ops = *cfg->ops;
	dev->driver_data = cfg->driver_data;
	dev->can_flush = call_can(dev->ops.can_flush, dev->driver_data);
	dev->can_fua = call_can(dev->ops.can_fua, dev->driver_data);
	dev->can_discard = call_can(dev->ops.can_discard, dev->driver_data);
	dev->can_write_zeroes = call_can(dev->ops.can_write_zeroes, dev->driver_data);
	dev->lat_mask = cfg->lat_sample > 1 ? pow2_roundup(cfg->lat_sample) - 1 : 0;
	dev->nr_workers = cfg->nr_workers;
	dev->direct_reject[0] = dev->direct_reject[1] = ~0u;
	if (!dev->nr_workers) {
		dev->direct_reject[0] = ~(unsigned)BIO_NOMERGE;
		dev->direct_reject[1] =
			~((unsigned)BIO_OP_WRITE | BIO_NOMERGE | (dev->can_fua ? BIO_FUA : 0u));
	}
	dev->run_when_idle = cfg->run_when_idle;
	dev->poll_ns = (uint64_t)cfg->poll_us * 1000;
	if (!dev->nr_workers) {
		*out = dev;
		return 0;
	}

	dev->depth = cfg->queue_depth ? cfg->queue_depth : 1024;
	dev->ring = calloc(dev->depth, sizeof(*dev->ring));
	dev->workers = calloc(dev->nr_workers, sizeof(*dev->workers));
	if (!dev->ring || !dev->workers) {
		err = -ENOMEM;
		goto out_free;
	}
	for (started = 0; started < dev->nr_workers; started++) {
		err = -pthread_create(&dev->workers[started], NULL, blk_worker, dev);
		if (err) {
			pmd_err(err, "cannot start queue worker %u of %u", started + 1,
				dev->nr_workers);
			goto out_stop_workers;
		}
	}
	*out = dev;
	return 0;

out_stop_workers:
	blk_stop_workers(dev, started);
out_free:
	blk_dev_free(dev);
	return err;
}

void blk_dev_delete(struct blk_dev **dp)
{
	struct blk_dev *dev = *dp;

	if (!dev)
		return;
	blk_dev_drain(dev);
	if (dev->nr_workers)
		blk_stop_workers(dev, dev->nr_workers);
	blk_dev_free(dev);
	*dp = NULL;
}

uint64_t blk_dev_capacity(const struct blk_dev *dev)
{
	return dev->capacity;
}

const struct blk_limits *blk_dev_limits(const struct blk_dev *dev)
{
	return &dev->limits;
}

const char *blk_dev_name(const struct blk_dev *dev)
{
	return dev->name;
}

void blk_dev_drain(struct blk_dev *dev)
{
	struct timespec ts = {0, 1000};

	/* Bios held in this thread's plug would never finish: send them now. */
	if (blk_tls.plug && blk_tls.plug->count)
		blk_flush_plug_list(blk_tls.plug);

	/*
	 * Polling keeps the completion path free of locks; the sleep doubles
	 * up to 1 ms, so a drain costs little and returns soon after the end.
	 */
	while (blk_stats_unretired(dev)) {
		nanosleep(&ts, NULL);
		if (ts.tv_nsec < 1000000)
			ts.tv_nsec *= 2;
	}
}

/* Check the op and flags against the driver's capabilities. */
static int blk_check_op(struct blk_dev *dev, const struct bio *bio)
{
	unsigned flags = bio->bi_opf & ~BIO_OP_MASK;
	enum bio_op op = bio_op(bio);

	if (flags & ~(BIO_FUA | BIO_PREFLUSH | BIO_NOMERGE))
		return pmd_err(-EINVAL, "%s: unknown bio flags 0x%x", dev->name,
			       flags & ~(BIO_FUA | BIO_PREFLUSH | BIO_NOMERGE));
	switch (op) {
	case BIO_OP_READ:
		if (flags & (BIO_FUA | BIO_PREFLUSH))
			return pmd_err(-EINVAL, "%s: FUA/PREFLUSH on a read", dev->name);
		break;
	case BIO_OP_WRITE:
		break;
	case BIO_OP_FLUSH:
		if (!dev->can_flush)
			return pmd_err(-EOPNOTSUPP, "%s: driver cannot flush", dev->name);
		if (bio->bi_iter.bi_size)
			return pmd_err(-EINVAL, "%s: a flush carries no data (%u bytes)", dev->name,
				       bio->bi_iter.bi_size);
		break;
	case BIO_OP_DISCARD:
		if (!dev->can_discard)
			return pmd_err(-EOPNOTSUPP, "%s: driver cannot discard", dev->name);
		break;
	case BIO_OP_WRITE_ZEROES:
		if (!dev->can_write_zeroes)
			return pmd_err(-EOPNOTSUPP, "%s: driver cannot write zeroes", dev->name);
		break;
	default:
		return pmd_err(-EINVAL, "%s: unknown bio op %u", dev->name, (unsigned)op);
	}
	if ((flags & BIO_PREFLUSH) && !dev->can_flush)
		return pmd_err(-EOPNOTSUPP, "%s: PREFLUSH but the driver cannot flush", dev->name);
	if ((flags & BIO_FUA) && !dev->can_fua && !dev->can_flush)
		return pmd_err(-EOPNOTSUPP, "%s: FUA but the driver can neither FUA nor flush",
			       dev->name);
	return 0;
}

/*
 * Walk the data bvecs of @bio: count segments into *@nr_segs and check
 * memory alignment and that the bvecs cover bi_size.
 */
static int blk_check_segs(struct blk_dev *dev, const struct bio *bio, unsigned *nr_segs)
{
	uint32_t mask = dev->limits.dma_alignment;
	struct bvec_iter it = bio->bi_iter;
	/* Split children borrow their parent's array and have no bi_vcnt. */
	bool check_cnt = !bio->bi_parent;
	unsigned n = 0;

	if ((unsigned)bio->bi_desc >= BIO_NR_DESCS)
		return pmd_err(-EINVAL, "%s: unknown bio descriptor %d", dev->name,
			       (int)bio->bi_desc);
	while (it.bi_size) {
		uint32_t len;

		if (check_cnt && it.bi_idx >= bio->bi_vcnt)
			return pmd_err(-EINVAL, "%s: bio of %u bytes has only %u bvecs", dev->name,
				       bio->bi_iter.bi_size, bio->bi_vcnt);
		len = bio->bi_io_vec[it.bi_idx].bv_len - it.bi_bvec_done;
		if (!len)
			return pmd_err(-EINVAL, "%s: bvec %u of the bio is empty", dev->name,
				       it.bi_idx);
		if (len > it.bi_size)
			len = it.bi_size;
		if (mask) {
			struct bio_seg seg = bvec_iter_seg(bio->bi_io_vec, bio->bi_desc, it);

			if (((uintptr_t)seg.addr | seg.len) & mask)
				return pmd_err(-EINVAL,
					       "%s: segment %p+%u is not aligned to %u bytes",
					       dev->name, seg.addr, seg.len, mask + 1);
		}
		it.bi_size -= len;
		it.bi_idx++;
		it.bi_bvec_done = 0;
		n++;
	}
	*nr_segs = n;
	return 0;
}

static int blk_check_bio(struct blk_dev *dev, const struct bio *bio, unsigned *nr_segs)
{
	uint32_t lbs = dev->limits.logical_block_size;
	uint64_t sector = bio->bi_iter.bi_sector;
	uint64_t sectors = bio_sectors(bio);
	int err;

	*nr_segs = 0;
	err = blk_check_op(dev, bio);
	if (err || bio_op(bio) == BIO_OP_FLUSH)
		return err;
	if (!bio->bi_iter.bi_size)
		return pmd_err(-EINVAL, "%s: empty %s bio", dev->name,
			       bio_has_data(bio) ? "data" : "discard/write-zeroes");
	if (!is_aligned(bio->bi_iter.bi_size, lbs) || !is_aligned(sector_to_off(sector), lbs))
		return pmd_err(-EINVAL,
			       "%s: bio at sector %llu of %u bytes is not aligned to the %u byte "
			       "block",
			       dev->name, (unsigned long long)sector, bio->bi_iter.bi_size, lbs);
	if (sector > dev->capacity || sectors > dev->capacity - sector)
		return pmd_err(-ERANGE, "%s: sectors [%llu, %llu) are beyond the end (%llu)",
			       dev->name, (unsigned long long)sector,
			       (unsigned long long)(sector + sectors),
			       (unsigned long long)dev->capacity);
	if (!bio_has_data(bio))
		return 0;
	return blk_check_segs(dev, bio, nr_segs);
}

/* Bytes of the first piece of @bio that fits the request limits. */
static uint64_t blk_piece_bytes(const struct blk_dev *dev, const struct bio *bio)
{
	uint32_t lbs = dev->limits.logical_block_size;
	struct bvec_iter it = bio->bi_iter;
	uint64_t max = dev->max_bytes < it.bi_size ? dev->max_bytes : it.bi_size;
	uint64_t bytes = 0;
	unsigned segs = 0;

	if (!bio_has_data(bio))
		return max;
	while (it.bi_size && segs < dev->limits.max_segments) {
		uint32_t len = bio->bi_io_vec[it.bi_idx].bv_len - it.bi_bvec_done;

		if (len > it.bi_size)
			len = it.bi_size;
		if (bytes + len >= max)
			return max;
		bytes += len;
		it.bi_size -= len;
		it.bi_idx++;
		it.bi_bvec_done = 0;
		segs++;
	}
	return align_down(bytes, lbs);
}

/* Undo the splits of blk_split(): free the children, restore the parent. */
static void blk_unsplit(struct bio *bio, struct bio *children, struct bvec_iter saved)
{
	while (children) {
		struct bio *next = children->bi_next;

		bio_split_free(children);
		atomic_fetch_sub_explicit(&bio->bi_remaining, 1, memory_order_relaxed);
		children = next;
	}
	bio->bi_iter = saved;
}

/*
 * Split @bio into pieces that fit the limits: the children, in device
 * order, go to *@children (chained by bi_next); @bio keeps the last piece.
 * All or nothing: on failure @bio is as it was.
 */
static int blk_split(struct blk_dev *dev, struct bio *bio, struct bio **children,
		     unsigned *nr_children)
{
	struct bvec_iter saved = bio->bi_iter;
	struct bio *first = NULL, **tail = &first;
	unsigned n = 0;
	int err;

	for (;;) {
		uint64_t bytes = blk_piece_bytes(dev, bio);
		struct bio *c;

		if (bytes >= bio->bi_iter.bi_size)
			break;
		if (!bytes) {
			err = pmd_err(-EINVAL,
				      "%s: bio cannot be split into whole %u byte blocks within %u "
				      "segments",
				      dev->name, dev->limits.logical_block_size,
				      dev->limits.max_segments);
			goto out_unsplit;
		}
		err = bio_split(bio, off_to_sector(bytes), &c);
		if (err) {
			pmd_err(err, "%s: no memory to split a bio", dev->name);
			goto out_unsplit;
		}
		*tail = c;
		tail = &c->bi_next;
		n++;
	}
	*children = first;
	*nr_children = n;
	return 0;

out_unsplit:
	blk_unsplit(bio, first, saved);
	return err;
}

/*
 * Queue @n requests (copied) on an async device, with one lock round and at
 * most one wake-up call for all of them. With run_when_idle, a lone request
 * that finds the ring empty and every worker asleep runs here instead.
 * When the ring is full the caller waits for room, after waking the
 * workers for what it queued so far; a worker that submits from end_io
 * runs the request itself instead of waiting on itself.
 */
static void blk_enqueue(struct blk_dev *dev, struct blk_rq *rqs, unsigned n)
{
	unsigned queued = 0, sleeping;

	pthread_mutex_lock(&dev->lock);
	if (n == 1 && dev->run_when_idle && !dev->count && dev->nr_sleeping == dev->nr_workers) {
		/* Nobody awake to take it: run it here rather than wake one. */
		pthread_mutex_unlock(&dev->lock);
		blk_run_rq(dev, rqs);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		while (dev->count == dev->depth && blk_tls.worker != dev) {
			if (queued && dev->nr_sleeping)
				pthread_cond_broadcast(&dev->not_empty);
			pthread_cond_wait(&dev->not_full, &dev->lock);
		}
		if (dev->count == dev->depth) {
			/* A worker must not wait on itself: run it here. */
			pthread_mutex_unlock(&dev->lock);
			blk_run_rq(dev, &rqs[i]);
			pthread_mutex_lock(&dev->lock);
			continue;
		}
		dev->ring[(dev->head + dev->count) % dev->depth] = rqs[i];
		__atomic_store_n(&dev->count, dev->count + 1, __ATOMIC_RELAXED);
		queued++;
	}
	/*
	 * Wake a worker only if one sleeps; a busy (or polling) worker takes
	 * these requests with its next batch, without a futex wake and a
	 * context switch.
	 */
	sleeping = dev->nr_sleeping;
	pthread_mutex_unlock(&dev->lock);
	if (!queued || !sleeping)
		return;
	if (queued > 1 && sleeping > 1)
		pthread_cond_broadcast(&dev->not_empty);
	else
		pthread_cond_signal(&dev->not_empty);
}

static void blk_dispatch(struct blk_dev *dev, struct blk_rq *rq)
{
	if (dev->nr_workers)
		blk_enqueue(dev, rq, 1);
	else
		blk_run_rq(dev, rq);
}

/*
 * blk_worker_poll - with the lock held and the ring empty: look at the
 * ring without the lock for up to poll_ns before the worker sleeps, so
 * that requests arriving faster than a sleep and wake-up round trip are
 * taken without either. Returns with the lock held; true if there is work
 * (or the device stops).
 */
static bool blk_worker_poll(struct blk_dev *dev)
{
	uint64_t t0 = blk_now_ns();
	bool found = false;

	pthread_mutex_unlock(&dev->lock);
	do {
		for (int i = 0; i < 64 && !found; i++) {
			__builtin_ia32_pause();
			found = __atomic_load_n(&dev->count, __ATOMIC_RELAXED) ||
				__atomic_load_n(&dev->stop, __ATOMIC_RELAXED);
		}
	} while (!found && blk_now_ns() - t0 < dev->poll_ns);
	pthread_mutex_lock(&dev->lock);
	return dev->count || dev->stop;
}

static void *blk_worker(void *arg)
{
	struct blk_dev *dev = arg;
	struct blk_rq batch[BLK_WORKER_BATCH];

	blk_tls.worker = dev;
	pthread_mutex_lock(&dev->lock);
	for (;;) {
		unsigned n;

		while (!dev->count && !dev->stop) {
			if (dev->poll_ns && blk_worker_poll(dev))
				continue;
			dev->nr_sleeping++;
			pthread_cond_wait(&dev->not_empty, &dev->lock);
			dev->nr_sleeping--;
		}
		if (!dev->count)
			break;
		/* A batch, leaving the other workers their share. */
		n = (dev->count + dev->nr_workers - 1) / dev->nr_workers;
		if (n > BLK_WORKER_BATCH)
			n = BLK_WORKER_BATCH;
		for (unsigned i = 0; i < n; i++) {
			batch[i] = dev->ring[dev->head];
			dev->head = (dev->head + 1) % dev->depth;
		}
		__atomic_store_n(&dev->count, dev->count - n, __ATOMIC_RELAXED);
		if (n > 1)
			pthread_cond_broadcast(&dev->not_full);
		else
			pthread_cond_signal(&dev->not_full);
		pthread_mutex_unlock(&dev->lock);
		for (unsigned i = 0; i < n; i++)
			blk_run_rq(dev, &batch[i]);
		pthread_mutex_lock(&dev->lock);
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

/*
 * Call the driver for @rq (emulating FUA if needed) and complete its bios,
 * with one clock read for all of them. @rq is the caller's copy.
 */
static void blk_run_rq(struct blk_dev *dev, struct blk_rq *rq)
{
	struct blk_shard_ref ref = blk_shard(dev);
	bool fua_flush = (rq->flags & BIO_FUA) && !dev->can_fua;
	struct bio *b = rq->bio, *next;
	uint64_t now;
	int st;

	if (fua_flush)
		rq->flags &= ~BIO_FUA;
	blk_stat_add(ref, &ref.sh->requests, 1);
	st = dev->ops.queue_rq(dev->driver_data, rq);
	if (!st && fua_flush) {
		struct blk_rq flush = {.op = BIO_OP_FLUSH};

		blk_stat_add(ref, &ref.sh->requests, 1);
		st = dev->ops.queue_rq(dev->driver_data, &flush);
	}
	if (st > 0)
		st = -EIO; /* a driver that forgot the sign */
	/* One clock read for all the timed bios of the request, none if none is. */
	for (now = 0; b; b = next) {
		next = b->bi_next;
		b->bi_next = NULL;
		if (b->bi_start_ns && !now)
			now = blk_now_ns();
		bio_endio_at(b, st, now);
	}
}

static void blk_rq_init(struct blk_rq *rq, struct bio *bio)
{
	rq->op = bio_op(bio);
	rq->flags = bio->bi_opf & (BIO_FUA | BIO_PREFLUSH);
	rq->sector = bio->bi_iter.bi_sector;
	rq->bytes = bio->bi_iter.bi_size;
	rq->bio = bio;
	rq->nr_bios = 1;
	bio->bi_next = NULL;
}

/* Send one checked piece of a bio on: into this thread's plug, or out. */
static void blk_queue_piece(struct blk_dev *dev, struct bio *bio)
{
	struct blk_plug *plug = blk_tls.plug;
	struct blk_rq rq;

	if (plug && bio_op(bio) != BIO_OP_FLUSH) {
		bio->bi_next = plug->list;
		plug->list = bio;
		if (++plug->count >= BLK_PLUG_MAX)
			blk_flush_plug_list(plug);
		return;
	}
	blk_rq_init(&rq, bio);
	blk_dispatch(dev, &rq);
}

/*
 * The common case, recognised in one pass over the bio's head: a READ or
 * WRITE (FUA only where the driver does it) of one bvec that covers it
 * exactly, a whole number of blocks inside the device and the request
 * limits, on a synchronous queue, with no plug on this thread. Such a bio
 * needs no split, no merge and no queue: blk_submit_direct() runs it. Any
 * other bio, or one that fails a check here, takes the general path, which
 * also says what is wrong with it.
 */
static inline bool blk_direct_ok(const struct blk_dev *dev, const struct bio *bio,
				 const struct blk_tls *t)
{
	unsigned opf = bio->bi_opf;
	const struct bvec_iter *it = &bio->bi_iter;
	uint64_t sector = it->bi_sector;
	uint32_t size = it->bi_size;

	/* Op and flags; all bits are rejected on a queue with workers. */
	if (opf & dev->direct_reject[opf & 1])
		return false;
	/* Also an owned stats slot: the counters below are then plain stores. */
	if (t->plug || t->stat_slot - 1 >= BLK_STAT_SLOTS)
		return false;
	/* One bvec, whole: split children own none (bi_vcnt 0), so none is one. */
	if (bio->bi_vcnt != 1 || (it->bi_idx | it->bi_bvec_done) ||
	    bio->bi_io_vec[0].bv_len != size)
		return false;
	/* size - 1 >= max_bytes: empty, or over the limit. */
	if ((unsigned)bio->bi_desc >= BIO_NR_DESCS || (uint64_t)size - 1 >= dev->max_bytes ||
	    ((size | sector_to_off(sector)) & dev->lbs_mask) || sector > dev->capacity ||
	    bio_sectors(bio) > dev->capacity - sector)
		return false;
	if (dev->limits.dma_alignment) {
		struct bio_seg seg = bvec_iter_seg(bio->bi_io_vec, bio->bi_desc, *it);

		if (((uintptr_t)seg.addr | seg.len) & dev->limits.dma_alignment)
			return false;
	}
	return true;
}

/*
 * A direct-path bio for a driver without queue_seg: a request of one bio
 * (the bio carries no PREFLUSH, blk_direct_ok, so blk_rq_init's flags are
 * the ones blk_submit_direct passes to queue_seg).
 */
static int __attribute__((noinline)) blk_direct_rq(struct blk_dev *dev, struct bio *bio)
{
	struct blk_rq rq;

	blk_rq_init(&rq, bio);
	return dev->ops.queue_rq(dev->driver_data, &rq);
}

/*
 * Run a bio blk_direct_ok() accepted: count it, hand the driver its one
 * segment (queue_seg) or a request on the stack, and complete it right
 * here (it has no split children and no parent, so the completion is
 * bio_endio()'s last-part case unrolled). Counted in four stores to the
 * thread's own shard (see blk_internal.h): bytes and submitted now,
 * direct_done[op] before end_io, retired after.
 */
static int blk_submit_direct(struct blk_dev *dev, struct bio *bio, struct blk_tls *t)
{
	/* An owned slot (blk_direct_ok): the compiler drops the shared-shard branches. */
	struct blk_shard_ref ref = {.sh = &dev->shards[t->stat_slot - 1], .owned = true};
	struct blk_stats_shard *s = ref.sh;
	/* Read the bio before the counters are stored to: they might alias it. */
	unsigned op = bio->bi_opf & 1; /* BIO_OP_READ or BIO_OP_WRITE (blk_direct_ok) */
	unsigned flags = bio->bi_opf & BIO_FUA;
	uint64_t sector = bio->bi_iter.bi_sector;
	uint32_t size = bio->bi_iter.bi_size;
	_Atomic uint64_t *done = &s->direct_done[op];
	uint64_t start = 0; /* nonzero: timed */
	int st;

	/* Completed here, never by bio_endio(): no BIO_F_COUNTED, no bi_start_ns. */
	bio->bi_bdev = dev;
	bio->bi_next = NULL;
	blk_stat_add(ref, &s->bytes[op], size);
	if (__builtin_expect(!(blk_stat_add(ref, &s->submitted, 1) & dev->lat_mask), 0)) {
		start = blk_now_ns();
		start += !start;
	}
	if (dev->ops.queue_seg) {
		/* Its one bvec, whole (blk_direct_ok). */
		struct bio_seg seg = bvec_iter_seg(bio->bi_io_vec, bio->bi_desc,
						   (struct bvec_iter){.bi_size = size});

		st = dev->ops.queue_seg(dev->driver_data, (enum bio_op)op, flags, sector, seg.addr,
					seg.len);
	} else {
		st = blk_direct_rq(dev, bio);
	}
	if (__builtin_expect(st != 0, 0)) {
		if (st > 0)
			st = -EIO; /* a driver that forgot the sign */
		if (!bio->bi_status)
			bio->bi_status = st;
	}
	if (__builtin_expect(bio->bi_status != 0, 0))
		blk_stat_add(ref, &s->errors, 1);
	if (__builtin_expect(start != 0, 0))
		blk_stats_lat(ref, start, 0);
	/* Release: the counts above are seen by whoever sees this one. */
	blk_stat_inc_release(ref, done);
	if (bio->bi_end_io)
		bio->bi_end_io(bio);
	/* The bio may be gone now: only the shard is touched. */
	blk_retire(ref);
	return 0;
}

/* blk_submit_bio() for every bio blk_direct_ok() does not take. */
static int __attribute__((noinline))
blk_submit_general(struct blk_dev *dev, struct bio *bio, struct blk_tls *t)
{
	struct bio *children = NULL;
	unsigned nr_segs, nr_children = 0;
	uint32_t bytes = bio->bi_iter.bi_size;
	struct blk_shard_ref ref;
	int err;

	err = blk_check_bio(dev, bio, &nr_segs);
	if (err)
		return err;
	bio->bi_bdev = dev;
	bio->bi_next = NULL;
	if (bio->bi_iter.bi_size > dev->max_bytes || nr_segs > dev->limits.max_segments) {
		if (dev->limits.no_split)
			return pmd_err(-EINVAL,
				       "%s: bio of %u bytes in %u segments is over the limits "
				       "(%llu bytes, %u segments) and the queue does not split",
				       dev->name, bio->bi_iter.bi_size, nr_segs,
				       (unsigned long long)dev->limits.max_bytes,
				       dev->limits.max_segments);
		err = blk_split(dev, bio, &children, &nr_children);
		if (err)
			return err;
	}

	/* Accepted: from here on end_io will run exactly once. */
	ref = blk_shard_of(dev, t);
	if (nr_children)
		blk_stat_add(ref, &ref.sh->splits, nr_children);
	blk_stats_submit(dev, ref, bio, bytes, nr_segs);

	while (children) {
		struct bio *next = children->bi_next;

		blk_queue_piece(dev, children);
		children = next;
	}
	blk_queue_piece(dev, bio);
	return 0;
}

int blk_submit_bio(struct blk_dev *dev, struct bio *bio)
{
	struct blk_tls *t = &blk_tls;

	if (__builtin_expect(blk_direct_ok(dev, bio, t), 1))
		return blk_submit_direct(dev, bio, t);
	return blk_submit_general(dev, bio, t);
}

struct blk_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	pthread_t owner;  /* the waiting thread */
	bool done_inline; /* completed on the waiting thread, inside the submit */
};

static void blk_wait_end_io(struct bio *bio)
{
	struct blk_waiter *w = bio->bi_private;

	/* On the waiter's own thread nobody sleeps: no lock, no wake-up. */
	if (pthread_equal(pthread_self(), w->owner)) {
		w->done_inline = true;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int blk_submit_bio_wait(struct blk_dev *dev, struct bio *bio)
{
	struct blk_waiter w = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
		.done = false,
		.owner = pthread_self(),
	};
	struct blk_plug *plug = blk_tls.plug;
	int err;

	bio->bi_end_io = blk_wait_end_io;
	bio->bi_private = &w;
	/* Bypass this thread's plug: waiting on a plugged bio would hang. */
	blk_tls.plug = NULL;
	err = blk_submit_bio(dev, bio);
	blk_tls.plug = plug;
	if (err || w.done_inline)
		return err ? err : bio->bi_status;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return bio->bi_status;
}

void blk_start_plug(struct blk_plug *plug)
{
	plug->list = NULL;
	plug->count = 0;
	/* Nested plugs are inert: the outermost one collects. */
	if (!blk_tls.plug)
		blk_tls.plug = plug;
}

/* Order for the plug sort: device, then sector. */
static bool bio_before(const struct bio *a, const struct bio *b)
{
	if (a->bi_bdev != b->bi_bdev)
		return (uintptr_t)a->bi_bdev < (uintptr_t)b->bi_bdev;
	return a->bi_iter.bi_sector < b->bi_iter.bi_sector;
}

/* Stable merge sort of a bi_next list. */
static struct bio *bio_list_sort(struct bio *list, unsigned n)
{
	struct bio *a, *b, *head = NULL, **tail = &head;
	unsigned half = n / 2;

	if (n < 2)
		return list;
	a = list;
	for (unsigned i = 1; i < half; i++)
		list = list->bi_next;
	b = list->bi_next;
	list->bi_next = NULL;
	a = bio_list_sort(a, half);
	b = bio_list_sort(b, n - half);
	while (a && b) {
		struct bio **pick = bio_before(b, a) ? &b : &a;

		*tail = *pick;
		tail = &(*pick)->bi_next;
		*pick = (*pick)->bi_next;
	}
	*tail = a ? a : b;
	return head;
}

/* Can @b join request @rq (of @segs segments, whose first bio is rq->bio)? */
static bool blk_can_merge(const struct blk_dev *dev, const struct blk_rq *rq, unsigned segs,
			  const struct bio *b, unsigned b_segs)
{
	const struct bio *first = rq->bio;

	if (b->bi_bdev != first->bi_bdev || dev->limits.no_merge)
		return false;
	if (b->bi_opf != first->bi_opf || (b->bi_opf & BIO_NOMERGE))
		return false;
	if (rq->sector + off_to_sector(rq->bytes) != b->bi_iter.bi_sector)
		return false;
	if (rq->bytes + b->bi_iter.bi_size > dev->max_bytes)
		return false;
	return segs + b_segs <= dev->limits.max_segments;
}

/*
 * Requests built by a plug flush, on their way out: a sync device runs each
 * at once; an async device's requests are gathered and queued together
 * (one lock round, at most one wake-up) when the device changes, the batch
 * is full or the flush ends.
 */
struct blk_rq_batch {
	struct blk_dev *dev;
	unsigned n;
	struct blk_rq rqs[BLK_WORKER_BATCH];
};

static void blk_batch_send(struct blk_rq_batch *bt)
{
	if (bt->n)
		blk_enqueue(bt->dev, bt->rqs, bt->n);
	bt->n = 0;
}

static void blk_batch_add(struct blk_rq_batch *bt, struct blk_dev *dev, struct blk_rq *rq)
{
	if (!dev->nr_workers) {
		blk_run_rq(dev, rq);
		return;
	}
	if (bt->n && (bt->dev != dev || bt->n == BLK_WORKER_BATCH))
		blk_batch_send(bt);
	bt->dev = dev;
	bt->rqs[bt->n++] = *rq;
}

static void blk_flush_plug_list(struct blk_plug *plug)
{
	struct bio *list = NULL, *b, *next, *last = NULL;
	struct blk_rq_batch bt = {.n = 0};
	struct blk_dev *dev = NULL;
	struct blk_rq rq;
	unsigned segs = 0;
	unsigned n = plug->count;

	/* The plug list is newest first: reverse it so the sort is stable. */
	for (b = plug->list; b; b = next) {
		next = b->bi_next;
		b->bi_next = list;
		list = b;
	}
	plug->list = NULL;
	plug->count = 0;
	list = bio_list_sort(list, n);

	for (b = list; b; b = next) {
		unsigned b_segs = bio_segments(b);

		next = b->bi_next;
		b->bi_next = NULL;
		if (dev && blk_can_merge(dev, &rq, segs, b, b_segs)) {
			last->bi_next = b;
			last = b;
			rq.bytes += b->bi_iter.bi_size;
			rq.nr_bios++;
			segs += b_segs;
			struct blk_shard_ref ref = blk_shard(dev);

			blk_stat_add(ref, &ref.sh->merges, 1);
			continue;
		}
		if (dev)
			blk_batch_add(&bt, dev, &rq);
		dev = b->bi_bdev;
		blk_rq_init(&rq, b);
		last = b;
		segs = b_segs;
	}
	if (dev)
		blk_batch_add(&bt, dev, &rq);
	blk_batch_send(&bt);
}

void blk_finish_plug(struct blk_plug *plug)
{
	if (blk_tls.plug != plug)
		return; /* a nested plug */
	blk_tls.plug = NULL;
	blk_flush_plug_list(plug);
}
