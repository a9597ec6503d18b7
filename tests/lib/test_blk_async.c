/* SPDX-License-Identifier: MIT */
/*
 * test_blk_async - many threads submitting at once to an async queue with
 * a small ring (so submitters wait for room), with workers that sleep at
 * once or poll first: nothing is lost, every bio completes exactly once on
 * a worker thread, data is intact; a plug flushes more requests than the
 * ring holds; end_io may submit more I/O from the worker; blk_dev_delete
 * waits for in-flight I/O.
 */
#include "test_blk_chain.h"

#define THREADS 8
#define PER_THREAD 1200
#define SLICE (256 * KiB) /* each thread's share of the disk and of memory */
#define DISK (THREADS * SLICE)

struct worker_arg {
	struct blk_dev *dev;
	char *mem; /* this thread's SLICE of registered memory */
	enum desc_mode mode;
	unsigned idx;
	struct tio *tios;
};

static void *submitter(void *p)
{
	struct worker_arg *a = p;
	uint64_t base = off_to_sector((uint64_t)a->idx * SLICE);
	unsigned seed = a->idx * 7919 + 1;

	fill(a->mem, SLICE, a->idx);
	for (unsigned i = 0; i < PER_THREAD; i++) {
		struct tio *t = &a->tios[i];
		/* Writes of this thread's pattern in 4 KiB blocks, mostly in order. */
		uint64_t blk = (uint64_t)(rand_r(&seed) % (SLICE / 4096 - 4));
		uint64_t len = 4096 * (1 + rand_r(&seed) % 4);
		struct blk_plug plug;
		bool plugged = i % 5 == 0;

		t->submitter = pthread_self();
		t->bio = new_bio(BIO_OP_WRITE, a->mem + blk * 4096, len, a->mode, base + blk * 8);
		t->bio->bi_end_io = tio_end_io;
		t->bio->bi_private = t;
		if (plugged)
			blk_start_plug(&plug);
		CHECK_OK(blk_submit_bio(a->dev, t->bio));
		if (plugged)
			blk_finish_plug(&plug);
	}
	return NULL;
}

/*
 * A plug holding more requests than the ring has room for (no two bios
 * adjacent, so nothing merges): blk_finish_plug() queues them in batches,
 * waking the workers before it waits for room.
 */
static void burst(struct blk_dev *dev, char *mem)
{
	enum { N = 64 };
	struct tio tios[N];
	struct blk_plug plug;

	memset(tios, 0, sizeof(tios));
	atomic_store(&tio_total_done, 0);
	blk_start_plug(&plug);
	for (unsigned i = 0; i < N; i++) {
		tios[i].submitter = pthread_self();
		tios[i].bio = new_bio(BIO_OP_READ, mem + i * 4096, 4096, DESC_PFN, i * 16);
		tios[i].bio->bi_end_io = tio_end_io;
		tios[i].bio->bi_private = &tios[i];
		CHECK_OK(blk_submit_bio(dev, tios[i].bio));
	}
	CHECK_EQ(atomic_load(&tio_total_done), 0);
	blk_finish_plug(&plug);
	blk_dev_drain(dev);
	CHECK_EQ(atomic_load(&tio_total_done), N);
	for (unsigned i = 0; i < N; i++) {
		CHECK_EQ(atomic_load(&tios[i].calls), 1);
		CHECK_EQ(atomic_load(&tios[i].on_submitter), 0);
		bio_put(tios[i].bio);
	}
}

static void run(enum desc_mode mode, unsigned nr_workers, unsigned depth, unsigned poll_us)
{
	char *mem = map_huge(DISK);
	struct pfn_range *r = reg(mem, DISK, mode);
	struct ramdisk rd;
	struct blk_dev *dev;
	struct worker_arg args[THREADS];
	pthread_t th[THREADS];
	struct tio *tios = calloc((size_t)THREADS * PER_THREAD, sizeof(*tios));
	struct blk_stats st;

	CHECK(tios);
	ramdisk_init(&rd, DISK);
	dev = ramdisk_dev_config(
		&rd, &(struct blk_dev_config){
			     .limits = {.logical_block_size = 4096, .max_bytes = 8 * KiB},
			     .nr_workers = nr_workers,
			     .queue_depth = depth,
			     .poll_us = poll_us,
		     });
	atomic_store(&tio_total_done, 0);
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){dev, mem + i * SLICE, mode, i, tios + i * PER_THREAD};
		CHECK_OK(pthread_create(&th[i], NULL, submitter, &args[i]));
	}
	for (unsigned i = 0; i < THREADS; i++)
		CHECK_OK(pthread_join(th[i], NULL));
	blk_dev_drain(dev);
	CHECK_EQ(atomic_load(&tio_total_done), THREADS * PER_THREAD);
	for (unsigned i = 0; i < THREADS * PER_THREAD; i++) {
		CHECK_EQ(atomic_load(&tios[i].calls), 1);
		CHECK_EQ(atomic_load(&tios[i].on_submitter), 0);
		bio_put(tios[i].bio);
	}
	blk_dev_get_stats(dev, &st);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], THREADS * PER_THREAD);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(atomic_load(&rd.limit_violations), 0);
	/* Every block a thread wrote holds that thread's pattern. */
	for (unsigned i = 0; i < THREADS; i++)
		for (uint64_t off = 0; off < SLICE; off += 4096) {
			char *disk = rd.buf + i * SLICE + off;
			char zero[4096] = {0};

			CHECK(memcmp(disk, mem + i * SLICE + off, 4096) == 0 ||
			      memcmp(disk, zero, 4096) == 0);
		}

	burst(dev, mem);
	/* Chains submitted from end_io on the workers (ring of depth @depth). */
	run_chains_and_delete(&dev, mem);
	free(rd.buf);
	free(tios);
	pfn_range_unregister(&r);
	munmap(mem, DISK);
}

int main(void)
{
	run(DESC_PFN, 2, 4, 0);
	run(DESC_PAGE, 3, 1, 0);
	run(DESC_FOLIO, 1, 64, 0);
	/* Workers that poll the ring before they sleep. */
	run(DESC_PFN, 2, 4, 200);
	run(DESC_PAGE, 1, 1, 20);
	return 0;
}
