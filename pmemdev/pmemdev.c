/* SPDX-License-Identifier: MIT */
/*
 * pmemdev.c - the block driver: requests in, region copies out.
 *
 * Data moves with libpmem2's functions, chosen by the region at map time:
 * writes use pmr_memcpy() without the final fence (PMR_MEM_NODRAIN), which
 * with libpmem2 means non-temporal stores for all but small copies, so the
 * data leaves the CPU caches during the copy (the kernel's
 * memcpy_flushcache()). A FUA write or a FLUSH then only needs the fence
 * (pmr_drain), exactly where the kernel pmem driver calls nvdimm_flush().
 * Reads are plain loads (memcpy): pmem reads need no persistence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "badblocks.h"
#include "errmsg.h"
#include "pmemdev.h"

struct pmemdev {
	struct pmr_region *region;
	bool own_region;
	char *base;		 /* region mapping */
	struct pfn_range *range; /* the region in pfn space, or NULL */
	struct pmemdev_bb *bb;	 /* emulated badblocks */
	bool own_bb;		 /* loaded by the device, not borrowed */
	enum pmemdev_target target;
	struct blk_dev *blk;
};

static int pmemdev_rw_bio(struct pmemdev *pd, struct bio *bio, enum bio_op op)
{
	uint64_t off = sector_to_off(bio->bi_iter.bi_sector);
	struct bvec_iter iter;
	struct bio_seg seg;

	if (op == BIO_OP_READ) {
		if (!pmemdev_bb_empty(pd->bb) &&
		    pmemdev_bb_check(pd->bb, bio->bi_iter.bi_sector, bio_sectors(bio)))
			return -EIO;
		bio_for_each_segment (seg, bio, iter) {
			memcpy(seg.addr, pd->base + off, seg.len);
			off += seg.len;
		}
		return 0;
	}
	bio_for_each_segment (seg, bio, iter) {
		pmr_memcpy(pd->region, pd->base + off, seg.addr, seg.len, PMR_MEM_NODRAIN);
		off += seg.len;
	}
	/* Whole sectors were rewritten: like the kernel driver, clear poison. */
	if (!pmemdev_bb_empty(pd->bb))
		pmemdev_bb_clear(pd->bb, bio->bi_iter.bi_sector, bio_sectors(bio));
	return 0;
}

/*
 * One segment of memory, a read or a write: the request of the queue's
 * direct path (queue_seg) and of most general ones. One copy (with its
 * fence for FUA); the badblocks list costs one relaxed load when empty.
 */
static int pmemdev_queue_seg(void *driver_data, enum bio_op op, unsigned flags, uint64_t sector,
			     void *addr, uint32_t len)
{
	struct pmemdev *pd = driver_data;
	char *dev = pd->base + sector_to_off(sector);

	if (op == BIO_OP_READ) {
		if (!pmemdev_bb_empty(pd->bb) &&
		    pmemdev_bb_check(pd->bb, sector, off_to_sector(len)))
			return -EIO;
		memcpy(addr, dev, len);
		return 0;
	}
	/* FUA: libpmem2's copy with its own fence, one call instead of two. */
	pmr_memcpy(pd->region, dev, addr, len, (flags & BIO_FUA) ? 0 : PMR_MEM_NODRAIN);
	/* Whole sectors were rewritten: like the kernel driver, clear poison. */
	if (!pmemdev_bb_empty(pd->bb))
		pmemdev_bb_clear(pd->bb, sector, off_to_sector(len));
	return 0;
}

static int pmemdev_zero(struct pmemdev *pd, const struct blk_rq *rq)
{
	pmr_memset(pd->region, pd->base + sector_to_off(rq->sector), 0, rq->bytes, PMR_MEM_NODRAIN);
	pmemdev_bb_clear(pd->bb, rq->sector, off_to_sector(rq->bytes));
	return 0;
}

/* Any request: several bios or segments, preflush, FUA, bad sectors, zeroing, flush. */
static int __attribute__((noinline)) pmemdev_queue_rq_general(struct pmemdev *pd, struct blk_rq *rq)
{
	struct bio *bio;
	int err = 0;

	if (rq->flags & BIO_PREFLUSH)
		pmr_drain(pd->region);

	switch (rq->op) {
	case BIO_OP_READ:
	case BIO_OP_WRITE:
		rq_for_each_bio (bio, rq) {
			err = pmemdev_rw_bio(pd, bio, rq->op);
			if (err)
				break;
		}
		break;
	case BIO_OP_DISCARD:
	case BIO_OP_WRITE_ZEROES:
		err = pmemdev_zero(pd, rq);
		break;
	case BIO_OP_FLUSH:
		break;
	default:
		return -EOPNOTSUPP;
	}
	/* NT stores and flushes are in flight; FUA and FLUSH wait for them. */
	if (rq->op == BIO_OP_FLUSH || (rq->flags & BIO_FUA) || rq->op == BIO_OP_DISCARD ||
	    rq->op == BIO_OP_WRITE_ZEROES)
		pmr_drain(pd->region);
	return err;
}

static int pmemdev_queue_rq(void *driver_data, struct blk_rq *rq)
{
	struct pmemdev *pd = driver_data;

	/* One bio whose memory is one segment, no preflush: one copy. */
	if (rq->nr_bios == 1 && (rq->op == BIO_OP_READ || rq->op == BIO_OP_WRITE) &&
	    !(rq->flags & BIO_PREFLUSH)) {
		const struct bio *bio = rq->bio;
		struct bio_seg seg = bvec_iter_seg(bio->bi_io_vec, bio->bi_desc, bio->bi_iter);

		if (seg.len == rq->bytes)
			return pmemdev_queue_seg(pd, rq->op, rq->flags, rq->sector, seg.addr,
						 seg.len);
	}
	return pmemdev_queue_rq_general(pd, rq);
}

/*
 * The null target moves no data but still walks every segment, turning
 * each bvec into an address as a driver must: what remains is the cost of
 * building, submitting, walking and completing the descriptors.
 */
static int pmemdev_null_queue_rq(void *driver_data, struct blk_rq *rq)
{
	volatile uintptr_t sink = 0;
	struct bvec_iter iter;
	struct bio_seg seg;
	struct bio *bio;

	(void)driver_data;
	if (rq->op != BIO_OP_READ && rq->op != BIO_OP_WRITE)
		return 0;
	rq_for_each_bio (bio, rq) {
		bio_for_each_segment (seg, bio, iter)
			sink += (uintptr_t)seg.addr + seg.len;
	}
	(void)sink;
	return 0;
}

static bool pmemdev_can(void *driver_data)
{
	(void)driver_data;
	return true;
}

/* Both targets can do every op; they differ in what queue_rq (and queue_seg) do. */
#define PMEMDEV_OPS(rq_fn, seg_fn)                                                              \
	{                                                                                       \
		.size = sizeof(struct blk_dev_ops), .queue_rq = (rq_fn), .queue_seg = (seg_fn), \
		.can_flush = pmemdev_can, .can_fua = pmemdev_can, .can_discard = pmemdev_can,   \
		.can_write_zeroes = pmemdev_can,                                                \
	}

/* The null target walks its requests' segments itself: no queue_seg. */
static const struct blk_dev_ops pmemdev_ops[] = {
	[PMEMDEV_TARGET_PMEM] = PMEMDEV_OPS(pmemdev_queue_rq, pmemdev_queue_seg),
	[PMEMDEV_TARGET_NULL] = PMEMDEV_OPS(pmemdev_null_queue_rq, NULL),
};

int pmemdev_new(const struct pmemdev_config *cfg, struct pmemdev **out)
{
	struct blk_dev_config bc = {0};
	struct pmr_info info;
	struct pmemdev *pd;
	int err;

	if (!cfg->region && !cfg->region_path)
		return pmd_err(-EINVAL, "pmemdev: no region given");
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return -ENOMEM;
	pd->target = cfg->target;
	if (cfg->region) {
		pd->region = cfg->region;
	} else {
		err = pmr_open(cfg->region_path, 0, &pd->region);
		if (err)
			goto out_free;
		pd->own_region = true;
	}
	pmr_get_info(pd->region, &info);
	pd->base = pmr_addr(pd->region);

	if (!cfg->no_register) {
		err = pfn_range_register(pd->base, info.size, PFN_KIND_PMEM, cfg->mode, &pd->range);
		if (err)
			goto out_close;
	}
	pd->bb = cfg->bb;
	if (!pd->bb) {
		err = pmemdev_bb_open(info.path, &pd->bb);
		if (err)
			goto out_unregister;
		pd->own_bb = true;
	}

	bc.name = info.path;
	bc.capacity_sectors = off_to_sector(info.size);
	bc.limits.logical_block_size = cfg->logical_block_size ? cfg->logical_block_size : 512;
	bc.limits.max_bytes = cfg->max_bytes;
	bc.limits.max_segments = cfg->max_segments;
	bc.limits.no_split = cfg->no_split;
	bc.ops = &pmemdev_ops[cfg->target == PMEMDEV_TARGET_NULL ? PMEMDEV_TARGET_NULL
								 : PMEMDEV_TARGET_PMEM];
	bc.driver_data = pd;
	bc.nr_workers = cfg->nr_workers;
	bc.lat_sample = cfg->lat_sample ? cfg->lat_sample : PMEMDEV_LAT_SAMPLE;
	/*
	 * Like the kernel's pmem driver, complete in the submitter's context
	 * when no worker is awake: on a busy machine a handoff per 4 KiB copy
	 * (futex wake, two context switches) costs many times the copy.
	 */
	bc.run_when_idle = !cfg->worker_only;
	bc.poll_us = cfg->poll_us;
	err = blk_dev_new(&bc, &pd->blk);
	if (err)
		goto out_bb;
	*out = pd;
	return 0;

out_bb:
	if (pd->own_bb)
		pmemdev_bb_close(&pd->bb);
out_unregister:
	pfn_range_unregister(&pd->range);
out_close:
	if (pd->own_region)
		pmr_close(&pd->region);
out_free:
	free(pd);
	return err;
}

void pmemdev_delete(struct pmemdev **pp)
{
	struct pmemdev *pd = *pp;

	if (!pd)
		return;
	blk_dev_delete(&pd->blk);
	/* Anything written without FUA reaches the persistence domain now. */
	pmr_drain(pd->region);
	if (pd->own_bb)
		pmemdev_bb_close(&pd->bb);
	pfn_range_unregister(&pd->range);
	if (pd->own_region)
		pmr_close(&pd->region);
	free(pd);
	*pp = NULL;
}

struct blk_dev *pmemdev_blk(struct pmemdev *pd)
{
	return pd->blk;
}

struct pmr_region *pmemdev_region(struct pmemdev *pd)
{
	return pd->region;
}

struct pfn_range *pmemdev_pfn_range(struct pmemdev *pd)
{
	return pd->range;
}

struct pmemdev_bb *pmemdev_badblocks(struct pmemdev *pd)
{
	return pd->bb;
}

int pmemdev_target_parse(const char *s, enum pmemdev_target *out)
{
	if (!strcmp(s, "pmem"))
		*out = PMEMDEV_TARGET_PMEM;
	else if (!strcmp(s, "null"))
		*out = PMEMDEV_TARGET_NULL;
	else
		return pmd_err(-EINVAL, "unknown target '%s' (expected pmem or null)", s);
	return 0;
}

const char *pmemdev_target_name(enum pmemdev_target t)
{
	return t == PMEMDEV_TARGET_NULL ? "null" : "pmem";
}
