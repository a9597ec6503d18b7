/* SPDX-License-Identifier: MIT */
/*
 * test_bio_split - bio_split() in every descriptor mode: children cover
 * exactly their sectors and memory without touching the bvec array, data
 * written through split pieces (by hand and by queue limits) reads back
 * intact, and the parent's end_io runs exactly once, after all parts,
 * with the first error.
 */
#include "test_blk_ramdisk.h"

#define MEM (4 * MiB)
#define DISK (4 * MiB)

struct done {
	int calls;
	int status;
};

static void end_io(struct bio *bio)
{
	struct done *d = bio->bi_private;

	d->calls++;
	d->status = bio->bi_status;
}

/* Split a bio over [mem+off, +len) at @cuts sectors, check each piece. */
static void split_pieces(enum desc_mode mode, char *mem, uint64_t off, uint64_t len,
			 const uint64_t *cuts, unsigned nr_cuts, struct ramdisk *rd,
			 struct blk_dev *dev, uint64_t seed)
{
	struct bio *bio = new_bio(BIO_OP_WRITE, mem + off, len, mode, 0);
	struct bio_vec *vecs_before = malloc(bio->bi_vcnt * sizeof(struct bio_vec));
	unsigned vcnt = bio->bi_vcnt;
	struct done d = {0};
	uint64_t done = 0;

	memcpy(vecs_before, bio->bi_io_vec, vcnt * sizeof(struct bio_vec));
	bio->bi_end_io = end_io;
	bio->bi_private = &d;
	fill(mem + off, len, seed);
	for (unsigned i = 0; i < nr_cuts; i++) {
		struct bio *child;

		CHECK_OK(bio_split(bio, cuts[i], &child));
		CHECK(child->bi_io_vec == bio->bi_io_vec);
		CHECK_EQ(child->bi_iter.bi_sector, off_to_sector(done));
		check_bio_covers(child, mem + off + done, sector_to_off(cuts[i]));
		done += sector_to_off(cuts[i]);
		CHECK_EQ(bio->bi_iter.bi_sector, off_to_sector(done));
		check_bio_covers(bio, mem + off + done, len - done);
		/* Each piece goes to the device on its own. */
		CHECK_OK(blk_submit_bio(dev, child));
		CHECK_EQ(d.calls, 0);
	}
	CHECK_OK(blk_submit_bio(dev, bio));
	blk_dev_drain(dev);
	CHECK_EQ(d.calls, 1);
	CHECK_EQ(d.status, 0);
	/* The bvec array was never rewritten. */
	CHECK_EQ(bio->bi_vcnt, vcnt);
	CHECK(memcmp(vecs_before, bio->bi_io_vec, vcnt * sizeof(struct bio_vec)) == 0);
	CHECK(memcmp(rd->buf, mem + off, len) == 0);
	free(vecs_before);
	bio_put(bio);
}

static void test_mode(enum desc_mode mode)
{
	char *mem = map_huge(MEM);
	struct pfn_range *r = reg(mem, MEM, mode);
	struct ramdisk rd;
	struct blk_dev *dev = ramdisk_new(&rd, DISK, NULL, 0);
	static const uint64_t cuts1[] = {1, 7, 8, 511, 1};
	static const uint64_t cuts2[] = {4096, 8, 2000};
	static const uint64_t cuts3[] = {2047};
	struct bio *bio, *c1, *c2, *c3;
	struct done d = {0};

	split_pieces(mode, mem, 0, 1 * MiB, cuts1, 5, &rd, dev, 1);
	split_pieces(mode, mem, 3 * 512 + 100, 3 * MiB, cuts2, 3, &rd, dev, 2);
	split_pieces(mode, mem, 2 * MiB - 4096, 1 * MiB, cuts3, 1, &rd, dev, 3);

	/* Bad split points. */
	bio = new_bio(BIO_OP_WRITE, mem, 64 * KiB, mode, 0);
	CHECK_EQ(bio_split(bio, 0, &c1), -EINVAL);
	CHECK_EQ(bio_split(bio, 128, &c1), -EINVAL);
	CHECK_EQ(bio_split(bio, 1000, &c1), -EINVAL);
	CHECK_EQ(bio->bi_iter.bi_size, 64 * KiB);
	CHECK_EQ(atomic_load(&bio->bi_remaining), 1);

	/* Completion order and first error, without a device. */
	bio->bi_end_io = end_io;
	bio->bi_private = &d;
	CHECK_OK(bio_split(bio, 8, &c1));
	CHECK_OK(bio_split(bio, 8, &c2));
	CHECK_OK(bio_split(c2, 4, &c3)); /* a split of a split */
	CHECK_EQ(atomic_load(&bio->bi_remaining), 3);
	bio_endio(bio, 0);
	CHECK_EQ(d.calls, 0);
	bio_endio(c3, -EIO); /* held by c2 until c2 completes */
	CHECK_EQ(d.calls, 0);
	bio_endio(c2, 0); /* brings -EIO to the parent */
	CHECK_EQ(d.calls, 0);
	bio_endio(c1, -ENOSPC); /* a later error does not replace it */
	CHECK_EQ(d.calls, 1);
	CHECK_EQ(d.status, -EIO);
	bio_put(bio);

	/* Queue splits at max_bytes / max_segments; data round-trips. */
	for (int lim_case = 0; lim_case < 3; lim_case++) {
		struct blk_limits lim = {.logical_block_size = lim_case == 2 ? 4096 : 512};
		struct blk_dev *qdev;
		struct blk_stats st;
		char *back = map_huge(MEM);
		struct pfn_range *rb = reg(back, MEM, mode);
		uint64_t len = 2 * MiB + 8 * KiB;

		if (lim_case == 0)
			lim.max_bytes = 12 * KiB;
		else if (lim_case == 1)
			lim.max_segments = 3;
		else
			lim.max_bytes = 1 * MiB, lim.max_segments = 5;
		qdev = ramdisk_dev(&rd, &lim, lim_case == 1 ? 2 : 0);
		memset(rd.buf, 0, DISK);
		fill(mem + 4096, len, 10 + lim_case);
		bio = new_bio(BIO_OP_WRITE, mem + 4096, len, mode, 8);
		CHECK_EQ(blk_submit_bio_wait(qdev, bio), 0);
		bio_put(bio);
		bio = new_bio(BIO_OP_READ, back + 8192, len, mode, 8);
		CHECK_EQ(blk_submit_bio_wait(qdev, bio), 0);
		bio_put(bio);
		CHECK(memcmp(mem + 4096, back + 8192, len) == 0);
		CHECK(memcmp(rd.buf + 4096, mem + 4096, len) == 0);
		CHECK_EQ(atomic_load(&rd.limit_violations), 0);
		blk_dev_get_stats(qdev, &st);
		CHECK_EQ(st.ios[BLK_STAT_WRITE], 1);
		CHECK_EQ(st.ios[BLK_STAT_READ], 1);
		CHECK_EQ(st.bytes[BLK_STAT_WRITE], len);
		CHECK(st.splits > 0 || (mode != DESC_PAGE && lim_case == 1));
		CHECK_EQ(st.requests, st.splits + 2);
		blk_dev_delete(&qdev);
		pfn_range_unregister(&rb);
		munmap(back, MEM);
	}

	ramdisk_delete(&rd, &dev);
	pfn_range_unregister(&r);
	munmap(mem, MEM);
}

int main(void)
{
	for (int m = 0; m < DESC_NR_MODES; m++)
		test_mode((enum desc_mode)m);
	return 0;
}
