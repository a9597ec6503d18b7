/* SPDX-License-Identifier: MIT */
/*
 * test_blk_run_idle - an async queue with run_when_idle: a request that
 * arrives while every worker sleeps runs on the submitting thread (end_io
 * there too), the others on workers; either way every bio completes exactly
 * once with its data, end_io may submit more, the counters add up and
 * drain/delete wait for everything. Without the flag (test_blk_async) end_io
 * never runs on the submitter.
 */
#include <pthread.h>
#include <time.h>

#include "test_blk_ramdisk.h"

#define NR 2000
#define MEM (2 * MiB)
#define DISK (NR * 4096)

struct tio {
	atomic_int calls;
	atomic_int on_submitter;
	pthread_t submitter;
};

static void end_io(struct bio *bio)
{
	struct tio *t = bio->bi_private;

	CHECK_EQ(bio->bi_status, 0);
	if (pthread_equal(pthread_self(), t->submitter))
		atomic_store(&t->on_submitter, 1);
	atomic_fetch_add(&t->calls, 1);
}

struct chain {
	struct blk_dev *dev;
	char *mem;
	atomic_int left;
};

static void chain_end_io(struct bio *bio)
{
	struct chain *c = bio->bi_private;
	int left = atomic_fetch_sub(&c->left, 1) - 1;

	CHECK_EQ(bio->bi_status, 0);
	bio_put(bio);
	if (left > 0) {
		struct bio *next = new_bio(BIO_OP_READ, c->mem, 4096, DESC_PFN, left % 64 * 8);

		next->bi_end_io = chain_end_io;
		next->bi_private = c;
		CHECK_OK(blk_submit_bio(c->dev, next));
	}
}

int main(void)
{
	char *mem = map_huge(MEM);
	struct pfn_range *r = reg(mem, MEM, DESC_PFN);
	struct ramdisk rd;
	struct blk_dev *dev;
	struct tio *tios = calloc(NR, sizeof(*tios));
	struct bio **bios = calloc(NR, sizeof(*bios));
	struct blk_stats st;
	unsigned inline_runs = 0;
	struct timespec nap = {0, 50 * 1000 * 1000};

	CHECK(tios && bios);
	ramdisk_init(&rd, DISK);
	{
		struct blk_dev_config cfg = {
			.capacity_sectors = DISK / 512,
			.limits = {.logical_block_size = 512},
			.ops = &ramdisk_ops,
			.driver_data = &rd,
			.nr_workers = 2,
			.run_when_idle = true,
		};
		CHECK_OK(blk_dev_new(&cfg, &dev));
		rd.limits = cfg.limits;
	}
	fill(mem, MEM, 7);
	/* Let both workers go to sleep: the first bio then runs right here. */
	nanosleep(&nap, NULL);
	for (unsigned i = 0; i < NR; i++) {
		struct tio *t = &tios[i];

		t->submitter = pthread_self();
		bios[i] = new_bio(BIO_OP_WRITE, mem + i % (MEM / 4096) * 4096, 4096, DESC_PFN,
				  (uint64_t)i * 8);
		bios[i]->bi_end_io = end_io;
		bios[i]->bi_private = t;
		CHECK_OK(blk_submit_bio(dev, bios[i]));
		if (i == 0)
			CHECK_EQ(atomic_load(&t->on_submitter), 1);
	}
	blk_dev_drain(dev);
	for (unsigned i = 0; i < NR; i++) {
		CHECK_EQ(atomic_load(&tios[i].calls), 1);
		inline_runs += (unsigned)atomic_load(&tios[i].on_submitter);
		CHECK(memcmp(rd.buf + (uint64_t)i * 4096, mem + i % (MEM / 4096) * 4096, 4096) ==
		      0);
		bio_put(bios[i]);
	}
	CHECK(inline_runs >= 1);
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], NR);
	CHECK_EQ(st.in_flight, 0);

	/* Chains submitted from end_io, on the submitter or on a worker. */
	{
		struct chain c[4];

		for (int i = 0; i < 4; i++) {
			struct bio *b = new_bio(BIO_OP_READ, mem + i * 4096, 4096, DESC_PFN, 0);

			c[i] = (struct chain){.dev = dev, .mem = mem + i * 4096};
			atomic_store(&c[i].left, 200);
			b->bi_end_io = chain_end_io;
			b->bi_private = &c[i];
			CHECK_OK(blk_submit_bio(dev, b));
		}
		blk_dev_delete(&dev);
		for (int i = 0; i < 4; i++)
			CHECK_EQ(atomic_load(&c[i].left), 0);
	}
	free(rd.buf);
	free(tios);
	free(bios);
	pfn_range_unregister(&r);
	munmap(mem, MEM);
	return 0;
}
