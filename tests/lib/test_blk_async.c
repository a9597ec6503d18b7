/* SPDX-License-Identifier: MIT */
/*
 * test_blk_async - many threads submitting at once to an async queue with
 * a small ring (so submitters wait for room): nothing is lost, every bio
 * completes exactly once on a worker thread, data is intact; end_io may
 * submit more I/O from the worker; blk_dev_delete waits for in-flight I/O.
 */
#include <pthread.h>

#include "test_blk_ramdisk.h"

#define THREADS 8
#define PER_THREAD 1200
#define SLICE (256 * KiB) /* each thread's share of the disk and of memory */
#define DISK (THREADS * SLICE)

struct tio {
	struct bio *bio;
	atomic_int calls;
	pthread_t submitter;
	atomic_int on_submitter; /* end_io ran on the submitting thread */
};

static atomic_long total_done;

static void end_io(struct bio *bio)
{
	struct tio *t = bio->bi_private;

	CHECK_EQ(bio->bi_status, 0);
	if (pthread_equal(pthread_self(), t->submitter))
		atomic_store(&t->on_submitter, 1);
	atomic_fetch_add(&t->calls, 1);
	atomic_fetch_add(&total_done, 1);
}

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
		t->bio->bi_end_io = end_io;
		t->bio->bi_private = t;
		if (plugged)
			blk_start_plug(&plug);
		CHECK_OK(blk_submit_bio(a->dev, t->bio));
		if (plugged)
			blk_finish_plug(&plug);
	}
	return NULL;
}

/* end_io that submits the next link of a chain from the worker thread. */
struct chain {
	struct blk_dev *dev;
	char *mem;
	atomic_int left;
	atomic_int done;
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
	} else {
		atomic_store(&c->done, 1);
	}
}

static void run(enum desc_mode mode, unsigned nr_workers, unsigned depth)
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
	{
		struct blk_dev_config cfg = {
			.capacity_sectors = DISK / 512,
			.limits = {.logical_block_size = 4096, .max_bytes = 8 * KiB},
			.ops = &ramdisk_ops,
			.driver_data = &rd,
			.nr_workers = nr_workers,
			.queue_depth = depth,
		};
		CHECK_OK(blk_dev_new(&cfg, &dev));
		rd.limits = cfg.limits;
	}
	atomic_store(&total_done, 0);
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){dev, mem + i * SLICE, mode, i, tios + i * PER_THREAD};
		CHECK_OK(pthread_create(&th[i], NULL, submitter, &args[i]));
	}
	for (unsigned i = 0; i < THREADS; i++)
		CHECK_OK(pthread_join(th[i], NULL));
	blk_dev_drain(dev);
	CHECK_EQ(atomic_load(&total_done), THREADS * PER_THREAD);
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

	/* Chains submitted from end_io on the workers (ring of depth @depth). */
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
		/* delete waits for all of it, including bios submitted meanwhile. */
		blk_dev_delete(&dev);
		for (int i = 0; i < 4; i++) {
			CHECK_EQ(atomic_load(&c[i].done), 1);
			CHECK_EQ(atomic_load(&c[i].left), 0);
		}
	}
	free(rd.buf);
	free(tios);
	pfn_range_unregister(&r);
	munmap(mem, DISK);
}

int main(void)
{
	run(DESC_PFN, 2, 4);
	run(DESC_PAGE, 3, 1);
	run(DESC_FOLIO, 1, 64);
	return 0;
}
