/* SPDX-License-Identifier: MIT */
/*
 * test_blk_chain.h - what the async queue tests share: a per-bio record of
 * where and how often end_io ran, and chains of bios in which each end_io
 * submits the next link (I/O submitted from a completion, on a worker or on
 * the submitter).
 */
#ifndef TEST_BLK_CHAIN_H
#define TEST_BLK_CHAIN_H

#include <pthread.h>

#include "test_blk_ramdisk.h"

/* One bio's completion record (bi_private of a bio ended by tio_end_io). */
struct tio {
	struct bio *bio;
	pthread_t submitter; /* set before the submit */
	atomic_int calls;
	atomic_int on_submitter; /* end_io ran on the submitting thread */
};

/* Completions seen by tio_end_io, all bios together. */
static atomic_long tio_total_done;

static inline void tio_end_io(struct bio *bio)
{
	struct tio *t = bio->bi_private;

	CHECK_EQ(bio->bi_status, 0);
	if (pthread_equal(pthread_self(), t->submitter))
		atomic_store(&t->on_submitter, 1);
	atomic_fetch_add(&t->calls, 1);
	atomic_fetch_add(&tio_total_done, 1);
}

struct chain {
	struct blk_dev *dev;
	char *mem; /* 4 KiB of pfn-registered memory the links read into */
	atomic_int left;
	atomic_int done;
};

/* end_io that frees its bio and submits the next 4 KiB read of the chain. */
static inline void chain_end_io(struct bio *bio)
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

/*
 * run_chains_and_delete - start 4 chains of 200 reads on *@dev (memory from
 * @mem, pfn mode, 16 KiB), then delete the device: the delete must wait for
 * every link, including those submitted while it waits.
 */
static inline void run_chains_and_delete(struct blk_dev **dev, char *mem)
{
	struct chain c[4];

	for (int i = 0; i < 4; i++) {
		struct bio *b = new_bio(BIO_OP_READ, mem + i * 4096, 4096, DESC_PFN, 0);

		c[i] = (struct chain){.dev = *dev, .mem = mem + i * 4096};
		atomic_store(&c[i].left, 200);
		b->bi_end_io = chain_end_io;
		b->bi_private = &c[i];
		CHECK_OK(blk_submit_bio(*dev, b));
	}
	blk_dev_delete(dev);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(atomic_load(&c[i].done), 1);
		CHECK_EQ(atomic_load(&c[i].left), 0);
	}
}

#endif
