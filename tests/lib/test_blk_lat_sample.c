/* SPDX-License-Identifier: MIT */
/*
 * test_blk_lat_sample - latency sampling (blk_dev_config.lat_sample): each
 * submitting thread times exactly one bio in N (N rounded up to a power of
 * two, its first bio included), on the direct path and the general one
 * (split, plugged, async) alike; every other counter still counts every
 * bio; 0 and 1 time every bio; a sample rate beyond the limit is refused
 * with a message.
 */
#include <pthread.h>
#include <sched.h>

#include "test_blk_ramdisk.h"

#define MEM (2 * MiB)
#define DISK (4 * MiB)
#define THREADS 4
#define PER_THREAD 64

static uint64_t lat_total(const struct blk_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		n += st->lat_hist[i];
	return n;
}

/* Timed bios among the first @n of one thread, sampling one in @every. */
static uint64_t want_timed(uint64_t n, uint64_t every)
{
	return (n + every - 1) / every;
}

struct submitter {
	struct rd_env *e;
	unsigned idx;
};

static void done_end_io(struct bio *bio)
{
	CHECK_EQ(bio->bi_status, 0);
	atomic_store((atomic_int *)bio->bi_private, 1);
}

/*
 * PER_THREAD writes of one thread, each waited for: 4 KiB ones (the direct
 * path on a sync queue), 8 KiB ones (split in two), and every fifth under
 * a plug (the general path, dispatched by blk_finish_plug()).
 */
static void *submit_some(void *p)
{
	struct submitter *s = p;
	char *mem = s->e->mem + s->idx * 64 * KiB;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		uint64_t len = i % 4 == 3 ? 8 * KiB : 4 * KiB;
		struct bio *bio = new_bio(BIO_OP_WRITE, mem, len, DESC_PFN,
					  (uint64_t)(s->idx * PER_THREAD + i) * 16);

		if (i % 5 == 0) {
			struct blk_plug plug;
			atomic_int done = 0;

			bio->bi_end_io = done_end_io;
			bio->bi_private = &done;
			blk_start_plug(&plug);
			CHECK_OK(blk_submit_bio(s->e->dev, bio));
			CHECK_EQ(atomic_load(&done), 0); /* held by the plug */
			blk_finish_plug(&plug);
			while (!atomic_load(&done))
				sched_yield();
		} else {
			CHECK_EQ(blk_submit_bio_wait(s->e->dev, bio), 0);
		}
		bio_put(bio);
	}
	return NULL;
}

static void run(unsigned lat_sample, unsigned every, unsigned nr_workers)
{
	struct blk_dev_config cfg = {
		/* 4 KiB requests at most: the 8 KiB bios are split in two. */
		.limits = {.logical_block_size = 512, .max_bytes = 4 * KiB},
		.nr_workers = nr_workers,
		.lat_sample = lat_sample,
	};
	struct submitter subs[THREADS];
	pthread_t th[THREADS];
	struct blk_stats st;
	struct rd_env e;

	rd_env_new_config(&e, MEM, DESC_PFN, DISK, &cfg);
	for (unsigned i = 0; i < THREADS; i++) {
		subs[i] = (struct submitter){&e, i};
		CHECK_OK(pthread_create(&th[i], NULL, submit_some, &subs[i]));
	}
	for (unsigned i = 0; i < THREADS; i++)
		CHECK_OK(pthread_join(th[i], NULL));
	blk_dev_drain(e.dev);
	blk_dev_get_stats(e.dev, &st);
	/* Every bio is counted... */
	CHECK_EQ(st.ios[BLK_STAT_WRITE], THREADS * PER_THREAD);
	CHECK_EQ(st.bytes[BLK_STAT_WRITE], THREADS * (PER_THREAD / 4) * (3 * 4 + 8) * KiB);
	CHECK_EQ(st.splits, THREADS * PER_THREAD / 4);
	CHECK_EQ(st.in_flight, 0);
	/* ...and each thread timed one in @every of its own, starting with its first. */
	CHECK_EQ(lat_total(&st), THREADS * want_timed(PER_THREAD, every));
	CHECK(st.lat_sum_ns > 0);
	CHECK(blk_stats_lat_percentile(&st, 50) > 0);
	rd_env_delete(&e);
}

/* The first bio of a thread is timed, then every @every-th: 1, 9, 17, ... */
static void test_sequence(void)
{
	struct blk_dev_config cfg = {.lat_sample = 8};
	struct blk_stats st;
	struct rd_env e;

	rd_env_new_config(&e, MEM, DESC_PFN, DISK, &cfg);
	for (unsigned i = 0; i < 17; i++) {
		struct bio *bio = new_bio(BIO_OP_READ, e.mem, 4 * KiB, DESC_PFN, i * 8);

		CHECK_EQ(blk_submit_bio_wait(e.dev, bio), 0);
		bio_put(bio);
		blk_dev_get_stats(e.dev, &st);
		CHECK_EQ(lat_total(&st), want_timed(i + 1, 8));
		CHECK_EQ(st.ios[BLK_STAT_READ], i + 1);
	}
	rd_env_delete(&e);
}

static void test_limit(void)
{
	struct ramdisk rd;
	struct blk_dev_config cfg = {
		.capacity_sectors = DISK / 512,
		.limits = {.logical_block_size = 512},
		.ops = &ramdisk_ops,
		.driver_data = &rd,
		.lat_sample = 65537,
	};
	struct blk_dev *dev = NULL;

	ramdisk_init(&rd, DISK);
	pmd_err_clear();
	CHECK_EQ(blk_dev_new(&cfg, &dev), -EINVAL);
	CHECK(dev == NULL);
	CHECK(strstr(pmd_errmsg(), "65537") != NULL);
	cfg.lat_sample = 65536;
	CHECK_OK(blk_dev_new(&cfg, &dev));
	blk_dev_delete(&dev);
	free(rd.buf);
}

int main(void)
{
	test_sequence();
	test_limit();
	run(0, 1, 0);
	run(1, 1, 0);
	run(4, 4, 0);
	run(5, 8, 0); /* rounded up to a power of two */
	run(16, 16, 2);
	run(64, 64, 1);
	return 0;
}
