/* SPDX-License-Identifier: MIT */
/*
 * test_blk_ramdisk.h - a tiny in-test block driver for the bio/blk tests:
 * a malloc'd buffer whose queue_rq copies segments, checks that each
 * request respects the queue limits and records what it saw. Plus helpers
 * for 2 MiB aligned memory registered in the pfn space.
 */
#ifndef TEST_BLK_RAMDISK_H
#define TEST_BLK_RAMDISK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "blk.h"
#include "errmsg.h"
#include "test.h"

struct ramdisk {
	char *buf;
	uint64_t bytes;
	struct blk_limits limits; /* what the requests must respect */
	bool can_flush, can_fua, can_discard, can_write_zeroes;
	bool use_seg; /* offer queue_seg (set before ramdisk_dev) */
	/* Optional: return nonzero to fail @rq with that status. */
	int (*fail)(struct ramdisk *rd, const struct blk_rq *rq);
	void *fail_data;
	atomic_ulong requests, flushes, fua_requests, data_requests;
	atomic_ulong seg_requests; /* of them through queue_seg */
	atomic_ulong max_rq_bytes, max_rq_segs, max_rq_bios;
	atomic_ulong limit_violations; /* requests over the limits, or inconsistent */
};

static inline void rd_max(atomic_ulong *m, unsigned long v)
{
	unsigned long cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

static inline int ramdisk_queue_rq(void *data, struct blk_rq *rq)
{
	struct ramdisk *rd = data;
	unsigned long segs = 0, bios = 0;
	uint64_t sector = rq->sector, total = 0;
	struct bio *b;
	int st;

	atomic_fetch_add(&rd->requests, 1);
	if (rq->op == BIO_OP_FLUSH) {
		atomic_fetch_add(&rd->flushes, 1);
		return rd->fail ? rd->fail(rd, rq) : 0;
	}
	if (rq->flags & BIO_FUA)
		atomic_fetch_add(&rd->fua_requests, 1);
	if (rd->fail && (st = rd->fail(rd, rq)))
		return st;
	atomic_fetch_add(&rd->data_requests, 1);
	rq_for_each_bio (b, rq) {
		uint64_t off = sector_to_off(b->bi_iter.bi_sector);
		struct bvec_iter it;
		struct bio_seg seg;

		if (b->bi_iter.bi_sector != sector || bio_op(b) != rq->op)
			atomic_fetch_add(&rd->limit_violations, 1);
		if (off + b->bi_iter.bi_size > rd->bytes) {
			atomic_fetch_add(&rd->limit_violations, 1);
			return -EIO;
		}
		bios++;
		total += b->bi_iter.bi_size;
		sector += bio_sectors(b);
		if (rq->op == BIO_OP_DISCARD || rq->op == BIO_OP_WRITE_ZEROES) {
			memset(rd->buf + off, 0, b->bi_iter.bi_size);
			continue;
		}
		bio_for_each_segment (seg, b, it) {
			if (rq->op == BIO_OP_WRITE)
				memcpy(rd->buf + off, seg.addr, seg.len);
			else
				memcpy(seg.addr, rd->buf + off, seg.len);
			off += seg.len;
		}
		segs += bio_segments(b);
	}
	if (total != rq->bytes || bios != rq->nr_bios)
		atomic_fetch_add(&rd->limit_violations, 1);
	if ((rd->limits.max_bytes && total > rd->limits.max_bytes) ||
	    (rd->limits.max_segments && segs > rd->limits.max_segments))
		atomic_fetch_add(&rd->limit_violations, 1);
	rd_max(&rd->max_rq_bytes, total);
	rd_max(&rd->max_rq_segs, segs);
	rd_max(&rd->max_rq_bios, bios);
	return 0;
}

/* queue_seg: one segment of a direct-path bio, checked and counted as a request. */
static inline int ramdisk_queue_seg(void *data, enum bio_op op, unsigned flags, uint64_t sector,
				    void *addr, uint32_t len)
{
	struct ramdisk *rd = data;
	struct blk_rq rq = {.op = op, .flags = flags, .sector = sector, .bytes = len, .nr_bios = 1};
	uint64_t off = sector_to_off(sector);
	int st;

	atomic_fetch_add(&rd->requests, 1);
	atomic_fetch_add(&rd->seg_requests, 1);
	if ((op != BIO_OP_READ && op != BIO_OP_WRITE) || (flags & ~BIO_FUA) ||
	    off + len > rd->bytes || (rd->limits.max_bytes && len > rd->limits.max_bytes)) {
		atomic_fetch_add(&rd->limit_violations, 1);
		return -EIO;
	}
	if (flags & BIO_FUA)
		atomic_fetch_add(&rd->fua_requests, 1);
	if (rd->fail && (st = rd->fail(rd, &rq)))
		return st;
	atomic_fetch_add(&rd->data_requests, 1);
	if (op == BIO_OP_WRITE)
		memcpy(rd->buf + off, addr, len);
	else
		memcpy(addr, rd->buf + off, len);
	rd_max(&rd->max_rq_bytes, len);
	rd_max(&rd->max_rq_segs, 1);
	rd_max(&rd->max_rq_bios, 1);
	return 0;
}

static inline bool rd_can_flush(void *d)
{
	return ((struct ramdisk *)d)->can_flush;
}
static inline bool rd_can_fua(void *d)
{
	return ((struct ramdisk *)d)->can_fua;
}
static inline bool rd_can_discard(void *d)
{
	return ((struct ramdisk *)d)->can_discard;
}
static inline bool rd_can_write_zeroes(void *d)
{
	return ((struct ramdisk *)d)->can_write_zeroes;
}

static const struct blk_dev_ops ramdisk_ops = {
	.size = sizeof(struct blk_dev_ops),
	.queue_rq = ramdisk_queue_rq,
	.can_flush = rd_can_flush,
	.can_fua = rd_can_fua,
	.can_discard = rd_can_discard,
	.can_write_zeroes = rd_can_write_zeroes,
};

static const struct blk_dev_ops ramdisk_seg_ops = {
	.size = sizeof(struct blk_dev_ops),
	.queue_rq = ramdisk_queue_rq,
	.queue_seg = ramdisk_queue_seg,
	.can_flush = rd_can_flush,
	.can_fua = rd_can_fua,
	.can_discard = rd_can_discard,
	.can_write_zeroes = rd_can_write_zeroes,
};

/* ramdisk_init - a zeroed ramdisk of @bytes with every capability on. */
static inline void ramdisk_init(struct ramdisk *rd, uint64_t bytes)
{
	memset(rd, 0, sizeof(*rd));
	rd->buf = calloc(1, bytes);
	CHECK(rd->buf);
	rd->bytes = bytes;
	rd->can_flush = rd->can_fua = rd->can_discard = rd->can_write_zeroes = true;
}

/*
 * ramdisk_dev_config - a blk_dev in front of @rd, configured as @tmpl says
 * (limits, workers, depth, run_when_idle); name, capacity, ops and driver
 * data are the ramdisk's, 512-byte blocks unless the limits say.
 */
static inline struct blk_dev *ramdisk_dev_config(struct ramdisk *rd,
						 const struct blk_dev_config *tmpl)
{
	struct blk_dev_config cfg = *tmpl;
	struct blk_dev *dev;
	int err;

	cfg.name = "ramdisk";
	cfg.capacity_sectors = rd->bytes / SECTOR_SIZE;
	cfg.ops = rd->use_seg ? &ramdisk_seg_ops : &ramdisk_ops;
	cfg.driver_data = rd;
	if (!cfg.limits.logical_block_size)
		cfg.limits.logical_block_size = 512;
	rd->limits = cfg.limits;
	err = blk_dev_new(&cfg, &dev);
	if (err) {
		fprintf(stderr, "blk_dev_new: %s\n", pmd_strerror(err));
		exit(1);
	}
	return dev;
}

/* ramdisk_dev - a blk_dev in front of @rd (512-byte blocks unless @limits say). */
static inline struct blk_dev *ramdisk_dev(struct ramdisk *rd, const struct blk_limits *limits,
					  unsigned nr_workers)
{
	struct blk_dev_config cfg = {.nr_workers = nr_workers};

	if (limits)
		cfg.limits = *limits;
	return ramdisk_dev_config(rd, &cfg);
}

static inline struct blk_dev *ramdisk_new(struct ramdisk *rd, uint64_t bytes,
					  const struct blk_limits *limits, unsigned nr_workers)
{
	ramdisk_init(rd, bytes);
	return ramdisk_dev(rd, limits, nr_workers);
}

static inline void ramdisk_delete(struct ramdisk *rd, struct blk_dev **dev)
{
	blk_dev_delete(dev);
	free(rd->buf);
	rd->buf = NULL;
}

/* map_huge - @len bytes of anonymous memory, 2 MiB aligned, zeroed. */
static inline char *map_huge(uint64_t len)
{
	char *p = mmap(NULL, len + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	CHECK(p != MAP_FAILED);
	return (char *)align_up((uintptr_t)p, HUGE_SIZE);
}

/* reg - register @len bytes at @mem in @mode (exits on failure). */
static inline struct pfn_range *reg(void *mem, uint64_t len, enum desc_mode mode)
{
	struct pfn_range *r;
	int err = pfn_range_register(mem, len, PFN_KIND_DRAM, mode, &r);

	if (err) {
		fprintf(stderr, "pfn_range_register: %s\n", pmd_strerror(err));
		exit(1);
	}
	return r;
}

/*
 * A test bench: @mem_bytes of 2 MiB aligned memory registered in one mode,
 * and a ramdisk with a queue in front of it.
 */
struct rd_env {
	char *mem;
	uint64_t mem_bytes;
	struct pfn_range *range;
	struct ramdisk rd;
	struct blk_dev *dev;
};

/* rd_env_new_config - memory in @mode, a ramdisk of @disk_bytes, the queue from @cfg. */
static inline void rd_env_new_config(struct rd_env *e, uint64_t mem_bytes, enum desc_mode mode,
				     uint64_t disk_bytes, const struct blk_dev_config *cfg)
{
	e->mem = map_huge(mem_bytes);
	e->mem_bytes = mem_bytes;
	e->range = reg(e->mem, mem_bytes, mode);
	ramdisk_init(&e->rd, disk_bytes);
	e->dev = ramdisk_dev_config(&e->rd, cfg);
}

static inline void rd_env_new(struct rd_env *e, uint64_t mem_bytes, enum desc_mode mode,
			      uint64_t disk_bytes, const struct blk_limits *limits,
			      unsigned nr_workers)
{
	struct blk_dev_config cfg = {.nr_workers = nr_workers};

	if (limits)
		cfg.limits = *limits;
	rd_env_new_config(e, mem_bytes, mode, disk_bytes, &cfg);
}

/* rd_env_delete - delete the queue (if still there), the ramdisk and the memory. */
static inline void rd_env_delete(struct rd_env *e)
{
	ramdisk_delete(&e->rd, &e->dev);
	pfn_range_unregister(&e->range);
	munmap(e->mem, e->mem_bytes);
}

/* Every byte of [@mem, @mem + @len) visited once, in order, by @bio's iterator. */
static inline void check_bio_covers(struct bio *bio, char *mem, uint64_t len)
{
	struct bvec_iter it;
	struct bio_seg seg;
	char *expect = mem;

	CHECK_EQ(bio->bi_iter.bi_size, len);
	bio_for_each_segment (seg, bio, it) {
		CHECK(seg.addr == expect);
		CHECK(seg.len > 0);
		expect += seg.len;
	}
	CHECK(expect == mem + len);
}

static inline enum bio_desc bio_desc_for(enum desc_mode m)
{
	return bio_desc_of(m);
}

/* new_bio - a bio describing [@mem, @mem + @len) in @mode at @sector. */
static inline struct bio *new_bio(unsigned opf, void *mem, uint64_t len, enum desc_mode mode,
				  uint64_t sector)
{
	struct bio *bio;
	int err;

	CHECK_OK(bio_alloc(len ? bio_nr_vecs_for(mem, len, mode) : 0, opf, bio_desc_for(mode),
			   &bio));
	if (len) {
		err = bio_add_range(bio, mem, len, mode);
		if (err) {
			fprintf(stderr, "bio_add_range: %s\n", pmd_strerror(err));
			exit(1);
		}
	}
	bio->bi_iter.bi_sector = sector;
	return bio;
}

/* Deterministic fill: byte i of a pattern seeded with @seed. */
static inline void fill(void *p, uint64_t len, uint64_t seed)
{
	uint8_t *b = p;

	for (uint64_t i = 0; i < len; i++) {
		uint64_t x = (seed + i) * 0x9e3779b97f4a7c15ull;

		b[i] = (uint8_t)(x >> 56);
	}
}

static inline const char *mode_name(enum desc_mode m)
{
	return desc_mode_name(m);
}

#endif
