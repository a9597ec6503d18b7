/* SPDX-License-Identifier: MIT */
/*
 * test_blk_contract - the submission contract, sync and async: a submit
 * that returns 0 gets exactly one end_io (with the driver's status, also
 * when only one split piece failed); a submit that fails synchronously
 * (misaligned, beyond the end, unsupported op, oversize on a no_split
 * queue, bad memory alignment, malformed bio) gets none and leaves the
 * device untouched. Also device creation checks, FUA emulation, that on
 * a synchronous queue a bio has completed when the submit returns, and
 * which bios a driver's queue_seg gets.
 */
#include "test_blk_ramdisk.h"

#define DISK (4 * MiB)
#define BAD_SECTOR 4096 /* requests touching this sector fail with -EIO */

struct done {
	atomic_int calls;
	atomic_int status;
};

static void count_end_io(struct bio *bio)
{
	struct done *d = bio->bi_private;

	atomic_store(&d->status, bio->bi_status);
	atomic_fetch_add(&d->calls, 1);
}

static int fail_bad(struct ramdisk *rd, const struct blk_rq *rq)
{
	if (rq->op != BIO_OP_FLUSH && rq->sector <= BAD_SECTOR &&
	    BAD_SECTOR < rq->sector + off_to_sector(rq->bytes))
		return -EIO;
	return 0;
}

static struct bio *mk(unsigned opf, char *mem, uint64_t len, uint64_t sector, struct done *d)
{
	struct bio *bio = new_bio(opf, mem, len, DESC_PFN, sector);

	bio->bi_end_io = count_end_io;
	bio->bi_private = d;
	return bio;
}

/* A submit that must fail synchronously with @want and never call end_io. */
static void reject(struct blk_dev *dev, struct ramdisk *rd, struct bio *bio, int want)
{
	struct done *d = bio->bi_private;
	unsigned long reqs = atomic_load(&rd->requests);
	int err;

	pmd_err_clear();
	err = blk_submit_bio(dev, bio);
	if (err != want) {
		fprintf(stderr, "submit returned %d, want %d (%s)\n", err, want, pmd_strerror(err));
		exit(1);
	}
	CHECK(strlen(pmd_errmsg()) > 0); /* the reason is named */
	blk_dev_drain(dev);
	CHECK_EQ(atomic_load(&d->calls), 0);
	CHECK_EQ(atomic_load(&rd->requests), reqs);
	bio_put(bio);
}

static void test_contract(unsigned nr_workers)
{
	struct blk_limits lim = {.logical_block_size = 4096, .max_bytes = 64 * KiB};
	char *mem = map_huge(DISK);
	struct pfn_range *r = reg(mem, DISK, DESC_PFN);
	struct ramdisk rd;
	struct blk_dev *dev = ramdisk_new(&rd, DISK, &lim, nr_workers);
	struct done d[64];
	struct bio *bios[64];
	struct blk_stats st;
	int n = 0;

	memset(d, 0, sizeof(d));
	rd.fail = fail_bad;

	/* A mix of good and failing bios, some split (64 KiB limit). */
	for (uint64_t sector = 0; sector < 8192; sector += 512, n++) {
		uint64_t len = (n % 3 == 0) ? 256 * KiB : 4 * KiB * (1 + n % 5);

		bios[n] = mk(n % 2 ? BIO_OP_WRITE : BIO_OP_READ, mem + sector_to_off(sector) % MiB,
			     len, sector, &d[n]);
		CHECK_OK(blk_submit_bio(dev, bios[n]));
	}
	blk_dev_drain(dev);
	for (int i = 0; i < n; i++) {
		uint64_t s = bios[i]->bi_iter.bi_sector;
		/* The bio's iterator was advanced by splits; recompute its span. */
		uint64_t len = (i % 3 == 0) ? 256 * KiB : 4 * KiB * (1 + i % 5);
		uint64_t start = (uint64_t)i * 512;
		bool bad = start <= BAD_SECTOR && BAD_SECTOR < start + off_to_sector(len);

		(void)s;
		CHECK_EQ(atomic_load(&d[i].calls), 1);
		CHECK_EQ(atomic_load(&d[i].status), bad ? -EIO : 0);
		bio_put(bios[i]);
	}
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.errors, 1);
	CHECK_EQ(st.ios[BLK_STAT_READ] + st.ios[BLK_STAT_WRITE], n);
	CHECK(st.splits > 0);
	CHECK_EQ(atomic_load(&rd.limit_violations), 0);
	CHECK(atomic_load(&rd.max_rq_bytes) <= 64 * KiB);

	/* blk_submit_bio_wait returns the status; the bio can be reused. */
	{
		struct bio *bio = new_bio(BIO_OP_WRITE, mem, 8 * KiB, DESC_PFN, BAD_SECTOR);

		CHECK_EQ(blk_submit_bio_wait(dev, bio), -EIO);
		bio_release_pages(bio);
		bio_init(bio, bio->bi_inline_vecs, bio->bi_max_vecs, BIO_OP_WRITE, BIO_DESC_PFN);
		CHECK_OK(bio_add_range(bio, mem, 8 * KiB, DESC_PFN));
		bio->bi_iter.bi_sector = 0;
		CHECK_EQ(blk_submit_bio_wait(dev, bio), 0);
		bio_put(bio);
	}

	/* Synchronous rejections: no end_io, no driver call. */
	memset(d, 0, sizeof(d));
	reject(dev, &rd, mk(BIO_OP_WRITE, mem, 4 * KiB, 1, &d[0]), -EINVAL); /* sector */
	reject(dev, &rd, mk(BIO_OP_WRITE, mem, 512, 0, &d[1]), -EINVAL);     /* size */
	reject(dev, &rd, mk(BIO_OP_READ, mem, 4 * KiB, DISK / 512, &d[2]), -ERANGE);
	reject(dev, &rd, mk(BIO_OP_READ, mem, 8 * KiB, DISK / 512 - 8, &d[3]), -ERANGE);
	reject(dev, &rd, mk(BIO_OP_READ, mem, 4 * KiB, UINT64_MAX - 7, &d[4]), -ERANGE);
	reject(dev, &rd, mk(BIO_OP_READ, mem, 0, 0, &d[5]), -EINVAL);	     /* empty */
	reject(dev, &rd, mk(BIO_OP_FLUSH, mem, 4 * KiB, 0, &d[6]), -EINVAL); /* data */
	reject(dev, &rd, mk(BIO_OP_READ | BIO_FUA, mem, 4 * KiB, 0, &d[7]), -EINVAL);
	reject(dev, &rd, mk(7, mem, 4 * KiB, 0, &d[8]), -EINVAL); /* unknown op */
	reject(dev, &rd, mk(BIO_OP_WRITE | (1u << 20), mem, 4 * KiB, 0, &d[9]), -EINVAL);
	{
		/* bi_size larger than the bvecs describe. */
		struct bio *bio = mk(BIO_OP_WRITE, mem, 4 * KiB, 0, &d[10]);

		bio->bi_iter.bi_size = 8 * KiB;
		reject(dev, &rd, bio, -EINVAL);
	}
	{
		/* An empty bvec (bio_add_* never make one; bio_init users might). */
		struct bio *bio = mk(BIO_OP_WRITE, mem, 8 * KiB, 0, &d[12]);

		bio->bi_io_vec[0].bv_len = 0;
		bio->bi_iter.bi_size = 8 * KiB;
		reject(dev, &rd, bio, -EINVAL);
	}
	{
		struct bio *bio = mk(BIO_OP_DISCARD, NULL, 0, 0, &d[11]);

		bio->bi_iter.bi_size = 6 * KiB; /* not whole blocks */
		reject(dev, &rd, bio, -EINVAL);
	}
	CHECK(memcmp(rd.buf + DISK - 8 * KiB, "\0\0\0\0", 4) == 0);
	ramdisk_delete(&rd, &dev);

	/* A driver without flush, FUA, discard, write-zeroes; no_split; DMA alignment. */
	lim = (struct blk_limits){
		.logical_block_size = 512,
		.max_bytes = 64 * KiB,
		.dma_alignment = 511,
		.max_segments = 1,
		.no_split = true,
	};
	ramdisk_init(&rd, DISK);
	rd.can_flush = rd.can_fua = rd.can_discard = rd.can_write_zeroes = false;
	dev = ramdisk_dev(&rd, &lim, nr_workers);
	memset(d, 0, sizeof(d));
	reject(dev, &rd, mk(BIO_OP_FLUSH, NULL, 0, 0, &d[0]), -EOPNOTSUPP);
	reject(dev, &rd, mk(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, 0, &d[1]), -EOPNOTSUPP);
	reject(dev, &rd, mk(BIO_OP_WRITE | BIO_PREFLUSH, mem, 4 * KiB, 0, &d[2]), -EOPNOTSUPP);
	{
		struct bio *bio = mk(BIO_OP_DISCARD, NULL, 0, 0, &d[3]);

		bio->bi_iter.bi_size = 4 * KiB;
		reject(dev, &rd, bio, -EOPNOTSUPP);
		bio = mk(BIO_OP_WRITE_ZEROES, NULL, 0, 0, &d[4]);
		bio->bi_iter.bi_size = 4 * KiB;
		reject(dev, &rd, bio, -EOPNOTSUPP);
	}
	reject(dev, &rd, mk(BIO_OP_WRITE, mem, 128 * KiB, 0, &d[5]), -EINVAL);	 /* no_split */
	reject(dev, &rd, mk(BIO_OP_WRITE, mem + 8, 4 * KiB, 0, &d[6]), -EINVAL); /* DMA */
	{
		/* Two segments over max_segments 1 on a no_split queue. */
		struct bio *bio;

		CHECK_OK(bio_alloc(2, BIO_OP_WRITE, BIO_DESC_PFN, &bio));
		CHECK(bio_add_pfn(bio, pfn_range_base(r) + 10, 512, 0));
		CHECK(bio_add_pfn(bio, pfn_range_base(r) + 20, 512, 0));
		bio->bi_end_io = count_end_io;
		bio->bi_private = &d[7];
		reject(dev, &rd, bio, -EINVAL);
	}
	/* Aligned I/O works on this queue. */
	{
		struct bio *bio = mk(BIO_OP_WRITE, mem + 512, 64 * KiB, 0, &d[8]);

		CHECK_OK(blk_submit_bio(dev, bio));
		blk_dev_drain(dev);
		CHECK_EQ(atomic_load(&d[8].calls), 1);
		CHECK_EQ(atomic_load(&d[8].status), 0);
		bio_put(bio);
	}
	ramdisk_delete(&rd, &dev);

	/* FUA on a driver that can flush but not FUA: write, then a flush. */
	ramdisk_init(&rd, DISK);
	rd.can_fua = false;
	dev = ramdisk_dev(&rd, NULL, nr_workers);
	{
		struct bio *bio;

		bio = new_bio(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, DESC_PFN, 0);
		CHECK_EQ(blk_submit_bio_wait(dev, bio), 0);
		CHECK_EQ(atomic_load(&rd.fua_requests), 0);
		CHECK_EQ(atomic_load(&rd.flushes), 1);
		CHECK_EQ(atomic_load(&rd.requests), 2);
		bio_put(bio);
		/* A failing write is not followed by the flush; its error is reported. */
		rd.fail = fail_bad;
		bio = new_bio(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, DESC_PFN, BAD_SECTOR);
		CHECK_EQ(blk_submit_bio_wait(dev, bio), -EIO);
		CHECK_EQ(atomic_load(&rd.flushes), 1);
		bio_put(bio);
	}
	ramdisk_delete(&rd, &dev);

	pfn_range_unregister(&r);
	munmap(mem, DISK);
}

/*
 * Submit @bio (no end_io) to a synchronous queue and check it completed
 * inside the call: status @want, counted, nothing in flight. Frees it.
 */
static void sync_done(struct blk_dev *dev, struct bio *bio, int want)
{
	struct blk_stats st0, st;
	enum blk_stat_dir dir = bio_op(bio) == BIO_OP_READ ? BLK_STAT_READ : BLK_STAT_WRITE;

	blk_dev_get_stats(dev, &st0);
	CHECK_OK(blk_submit_bio(dev, bio));
	CHECK_EQ(bio->bi_status, want);
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.ios[dir], st0.ios[dir] + 1);
	CHECK_EQ(st.errors, st0.errors + (want != 0));
	CHECK_EQ(st.in_flight, 0);
	bio_put(bio);
}

/*
 * The synchronous-queue promise in blk.h: with no workers and no plug, a
 * bio has completed when blk_submit_bio() returns 0, so a caller may leave
 * bi_end_io NULL and read bi_status (the fio engine does): on the direct
 * path, split, with emulated FUA, and with a failing piece.
 */
static void test_sync_done_on_return(void)
{
	struct blk_limits lim = {.logical_block_size = 512, .max_bytes = 64 * KiB};
	char *mem = map_huge(DISK);
	struct pfn_range *r = reg(mem, DISK, DESC_PFN);
	struct ramdisk rd;
	struct blk_dev *dev = ramdisk_new(&rd, DISK, &lim, 0);
	struct blk_stats st;

	rd.fail = fail_bad;
	memset(mem, 0x5a, 4 * KiB);
	sync_done(dev, new_bio(BIO_OP_WRITE, mem, 4 * KiB, DESC_PFN, 8), 0);
	CHECK(memcmp(rd.buf + 8 * 512, mem, 4 * KiB) == 0);
	sync_done(dev, new_bio(BIO_OP_READ, mem + 4 * KiB, 4 * KiB, DESC_PFN, 8), 0);
	CHECK(memcmp(mem + 4 * KiB, mem, 4 * KiB) == 0);
	sync_done(dev, new_bio(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, DESC_PFN, BAD_SECTOR), -EIO);
	/* Split in four 64 KiB pieces; then a split read whose second piece fails. */
	sync_done(dev, new_bio(BIO_OP_WRITE, mem, 256 * KiB, DESC_PFN, 0), 0);
	sync_done(dev, new_bio(BIO_OP_READ, mem, 256 * KiB, DESC_PFN, BAD_SECTOR - 200), -EIO);
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.splits, 6);
	ramdisk_delete(&rd, &dev);

	/* FUA emulated by a flush after the write (a driver without FUA). */
	ramdisk_init(&rd, DISK);
	rd.can_fua = false;
	dev = ramdisk_dev(&rd, NULL, 0);
	sync_done(dev, new_bio(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, DESC_PFN, 0), 0);
	CHECK_EQ(atomic_load(&rd.flushes), 1);
	ramdisk_delete(&rd, &dev);

	pfn_range_unregister(&r);
	munmap(mem, DISK);
}

/*
 * A driver with queue_seg: a direct-path bio reaches it as one segment
 * (data, FUA and errors intact, one request counted); anything else
 * (split, plugged, a flush, emulated FUA) still reaches queue_rq.
 */
static void test_queue_seg(void)
{
	struct blk_limits lim = {.logical_block_size = 512, .max_bytes = 64 * KiB};
	char *mem = map_huge(DISK);
	struct pfn_range *r = reg(mem, DISK, DESC_PFN);
	struct ramdisk rd;
	struct blk_dev *dev;
	struct blk_plug plug;
	struct blk_stats st;
	struct bio *b[2];

	ramdisk_init(&rd, DISK);
	rd.use_seg = true;
	rd.fail = fail_bad;
	dev = ramdisk_dev(&rd, &lim, 0);
	memset(mem, 0x3c, 8 * KiB);
	sync_done(dev, new_bio(BIO_OP_WRITE | BIO_FUA, mem, 8 * KiB, DESC_PFN, 16), 0);
	CHECK(memcmp(rd.buf + 16 * 512, mem, 8 * KiB) == 0);
	CHECK_EQ(atomic_load(&rd.seg_requests), 1);
	CHECK_EQ(atomic_load(&rd.fua_requests), 1);
	sync_done(dev, new_bio(BIO_OP_READ, mem + 8 * KiB, 8 * KiB, DESC_PFN, 16), 0);
	CHECK(memcmp(mem + 8 * KiB, mem, 8 * KiB) == 0);
	sync_done(dev, new_bio(BIO_OP_READ, mem, 4 * KiB, DESC_PFN, BAD_SECTOR), -EIO);
	CHECK_EQ(atomic_load(&rd.seg_requests), 3);
	/* Split, plugged, flush: queue_rq. */
	sync_done(dev, new_bio(BIO_OP_WRITE, mem, 256 * KiB, DESC_PFN, 0), 0);
	blk_start_plug(&plug);
	for (int i = 0; i < 2; i++) {
		b[i] = new_bio(BIO_OP_WRITE, mem, 4 * KiB, DESC_PFN, 1024 + i * 8);
		CHECK_OK(blk_submit_bio(dev, b[i]));
	}
	blk_finish_plug(&plug);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(b[i]->bi_status, 0);
		bio_put(b[i]);
	}
	b[0] = new_bio(BIO_OP_FLUSH, NULL, 0, DESC_PFN, 0);
	CHECK_EQ(blk_submit_bio_wait(dev, b[0]), 0);
	bio_put(b[0]);
	CHECK_EQ(atomic_load(&rd.seg_requests), 3);
	CHECK_EQ(atomic_load(&rd.limit_violations), 0);
	blk_dev_get_stats(dev, &st);
	/* 3 segments, 4 split pieces, 1 merged plug request, 1 flush. */
	CHECK_EQ(st.requests, 3 + 4 + 1 + 1);
	CHECK_EQ(st.requests, atomic_load(&rd.requests));
	ramdisk_delete(&rd, &dev);

	/* Without FUA in the driver, a FUA write is emulated through queue_rq. */
	ramdisk_init(&rd, DISK);
	rd.use_seg = true;
	rd.can_fua = false;
	dev = ramdisk_dev(&rd, NULL, 0);
	sync_done(dev, new_bio(BIO_OP_WRITE | BIO_FUA, mem, 4 * KiB, DESC_PFN, 0), 0);
	CHECK_EQ(atomic_load(&rd.seg_requests), 0);
	CHECK_EQ(atomic_load(&rd.flushes), 1);
	ramdisk_delete(&rd, &dev);

	pfn_range_unregister(&r);
	munmap(mem, DISK);
}

static void bad_config(struct blk_dev_config cfg, const char *what)
{
	struct blk_dev *dev = (struct blk_dev *)1;
	int err;

	pmd_err_clear();
	err = blk_dev_new(&cfg, &dev);
	if (err != -EINVAL) {
		fprintf(stderr, "config with %s: got %d, want -EINVAL\n", what, err);
		exit(1);
	}
	CHECK(dev == (struct blk_dev *)1);
	CHECK(strlen(pmd_errmsg()) > 0);
}

int main(void)
{
	static struct ramdisk rd0;
	struct blk_dev_ops short_ops = ramdisk_ops, no_rq = ramdisk_ops;
	struct blk_dev_config good = {
		.capacity_sectors = 2048,
		.limits = {.logical_block_size = 512},
		.ops = &ramdisk_ops,
		.driver_data = &rd0,
	};
	struct blk_dev_config c;
	struct blk_dev *dev;

	test_contract(0);
	test_contract(3);
	test_sync_done_on_return();
	test_queue_seg();

	CHECK_OK(blk_dev_new(&good, &dev));
	CHECK_EQ(blk_dev_capacity(dev), 2048);
	CHECK_EQ(blk_dev_limits(dev)->max_segments, BIO_MAX_VECS);
	CHECK(strcmp(blk_dev_name(dev), "blk") == 0);
	blk_dev_delete(&dev);
	CHECK(dev == NULL);
	blk_dev_delete(&dev); /* NULL is fine */

	short_ops.size = sizeof(short_ops) - 8;
	no_rq.queue_rq = NULL;
	c = good, c.ops = NULL, bad_config(c, "no ops");
	c = good, c.ops = &short_ops, bad_config(c, "wrong ops size");
	c = good, c.ops = &no_rq, bad_config(c, "no queue_rq");
	c = good, c.limits.logical_block_size = 0, bad_config(c, "block size 0");
	c = good, c.limits.logical_block_size = 256, bad_config(c, "block size 256");
	c = good, c.limits.logical_block_size = 1536, bad_config(c, "block size 1536");
	c = good, c.capacity_sectors = 0, bad_config(c, "capacity 0");
	c = good, c.limits.logical_block_size = 4096, c.capacity_sectors = 2049,
	bad_config(c, "capacity not whole blocks");
	c = good, c.limits.max_bytes = 1000, bad_config(c, "max_bytes not whole blocks");
	c = good, c.limits.dma_alignment = 5, bad_config(c, "dma_alignment not a mask");
	return 0;
}
