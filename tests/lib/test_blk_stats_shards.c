/* SPDX-License-Identifier: MIT */
/*
 * test_blk_stats_shards - per-thread counter shards add up exactly: more
 * threads than there are shard slots submit at once (so some share the
 * overflow shard), in two waves (so the slots of exited threads are reused),
 * on a synchronous and an asynchronous queue (so bios complete on another
 * thread than the one that submitted them); a reader samples the counters
 * meanwhile and never sees more bios in flight than were submitted; after
 * a drain nothing is in flight and reset gives zeroes.
 */
#include <pthread.h>

#include "test_blk_ramdisk.h"

#define THREADS 80 /* more than the 64 shard slots */
#define WAVES 2
#define PER_THREAD 50
#define MEM (2 * MiB)
#define DISK (16 * MiB) /* a block of its own for every write */

struct wave {
	struct blk_dev *dev;
	char *mem;
	pthread_barrier_t alive; /* all THREADS live at once */
};

struct arg {
	struct wave *w;
	unsigned idx;
};

static void *submitter(void *p)
{
	struct arg *a = p;

	for (unsigned i = 0; i < PER_THREAD; i++) {
		uint64_t blk = (uint64_t)a->idx * PER_THREAD + i;
		struct bio *b = new_bio(BIO_OP_WRITE, a->w->mem + a->idx % 256 * 4096, 4096,
					DESC_PFN, blk * 8);

		CHECK_EQ(blk_submit_bio_wait(a->w->dev, b), 0);
		bio_put(b);
		if (i == 0)
			pthread_barrier_wait(&a->w->alive);
	}
	return NULL;
}

static atomic_int reader_stop;

/* Sample the counters while I/O runs: in flight never exceeds the total. */
static void *reader(void *p)
{
	struct blk_dev *dev = p;
	struct blk_stats st;

	while (!atomic_load(&reader_stop)) {
		blk_dev_get_stats(dev, &st);
		CHECK(st.in_flight <= (uint64_t)THREADS * WAVES * PER_THREAD);
		CHECK(st.ios[BLK_STAT_WRITE] <= (uint64_t)THREADS * WAVES * PER_THREAD);
	}
	return NULL;
}

static void run(unsigned nr_workers)
{
	const uint64_t total = (uint64_t)THREADS * WAVES * PER_THREAD;
	char *mem = map_huge(MEM);
	struct pfn_range *r = reg(mem, MEM, DESC_PFN);
	struct ramdisk rd;
	struct blk_dev *dev = ramdisk_new(&rd, DISK, NULL, nr_workers);
	struct wave w = {.dev = dev, .mem = mem};
	struct arg args[THREADS];
	pthread_t th[THREADS], rth;
	struct blk_stats st, zero;
	uint64_t lat_total = 0;

	atomic_store(&reader_stop, 0);
	CHECK_OK(pthread_create(&rth, NULL, reader, dev));
	for (unsigned wv = 0; wv < WAVES; wv++) {
		CHECK_OK(pthread_barrier_init(&w.alive, NULL, THREADS));
		for (unsigned i = 0; i < THREADS; i++) {
			args[i] = (struct arg){&w, i};
			CHECK_OK(pthread_create(&th[i], NULL, submitter, &args[i]));
		}
		for (unsigned i = 0; i < THREADS; i++)
			CHECK_OK(pthread_join(th[i], NULL));
		pthread_barrier_destroy(&w.alive);
	}
	atomic_store(&reader_stop, 1);
	CHECK_OK(pthread_join(rth, NULL));
	blk_dev_drain(dev);

	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], total);
	CHECK_EQ(st.ios[BLK_STAT_READ], 0);
	CHECK_EQ(st.bytes[BLK_STAT_WRITE], total * 4096);
	CHECK_EQ(st.requests, total);
	CHECK_EQ(st.bvecs, total);
	CHECK_EQ(st.seg_hist[0], total);
	CHECK_EQ(st.errors, 0);
	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		lat_total += st.lat_hist[i];
	CHECK_EQ(lat_total, total);

	/* Reset: everything reads 0, and counting goes on from there. */
	blk_dev_reset_stats(dev);
	blk_dev_get_stats(dev, &st);
	memset(&zero, 0, sizeof(zero));
	CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
	{
		struct bio *b = new_bio(BIO_OP_READ, mem, 8192, DESC_PFN, 0);

		CHECK_EQ(blk_submit_bio_wait(dev, b), 0);
		bio_put(b);
	}
	/* A bio leaves in flight after its end_io returns: wait for that. */
	blk_dev_drain(dev);
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.ios[BLK_STAT_READ], 1);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], 0);
	CHECK_EQ(st.bytes[BLK_STAT_READ], 8192);
	CHECK_EQ(st.requests, 1);
	CHECK_EQ(st.in_flight, 0);

	ramdisk_delete(&rd, &dev);
	pfn_range_unregister(&r);
	munmap(mem, MEM);
}

int main(void)
{
	run(0);
	run(2);
	return 0;
}
