/* SPDX-License-Identifier: MIT */
/*
 * test_bio_cache - the per-thread bio cache behind bio_alloc()/bio_put():
 * a freed small bio is handed out again by the next allocation on the same
 * thread, with every field reset and exactly the room asked for; large
 * bios, bios freed on other threads, bios re-initialised with bio_init()
 * or reset with bio_reset() between submissions, and split children all come and go without leaks or double frees (the
 * ASan build checks), also when their threads exit.
 */
#include <pthread.h>

#include "test_blk_ramdisk.h"

#define MEM (4 * MiB)

/* A freed small bio is the next one allocated on this thread, reset. */
static void test_reuse(char *mem)
{
	struct bio *a, *b;
	pfn_t pfn;

	CHECK_OK(addr_to_pfn(mem, &pfn, NULL));
	CHECK_OK(bio_alloc(2, BIO_OP_WRITE, BIO_DESC_PFN, &a));
	a->bi_iter.bi_sector = 99;
	a->bi_end_io = (bio_end_io_t *)1;
	CHECK_EQ(bio_add_pfn(a, pfn, 4096, 0), 4096);
	bio_put(a);

	CHECK_OK(bio_alloc(3, BIO_OP_READ, BIO_DESC_PFN, &b));
	CHECK(b == a); /* the cache gave it back */
	CHECK_EQ(b->bi_opf, BIO_OP_READ);
	CHECK_EQ(b->bi_iter.bi_sector, 0);
	CHECK_EQ(b->bi_iter.bi_size, 0);
	CHECK_EQ(b->bi_vcnt, 0);
	CHECK_EQ(b->bi_max_vecs, 3);
	CHECK(b->bi_io_vec == b->bi_inline_vecs);
	CHECK(b->bi_end_io == NULL);
	CHECK_EQ(atomic_load(&b->bi_remaining), 1);
	/* Room for exactly 3 bvecs, although the memory has room for more. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ(bio_add_pfn(b, pfn + 2 * (pfn_t)i, 4096, 0), 4096);
	CHECK_EQ(bio_add_pfn(b, pfn + 6, 4096, 0), 0);
	CHECK_EQ(b->bi_vcnt, 3);
	bio_put(b);
}

/* Many at once: more than the cache keeps; all usable, all freed. */
static void test_many(char *mem)
{
	enum { N = 300 };
	struct bio *bios[N];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			/* Small (cached) and large (malloc'd) bios mixed. */
			unsigned vecs = i % 3 == 0 ? 64 : (unsigned)(i % 5);

			CHECK_OK(bio_alloc(vecs, BIO_OP_WRITE, BIO_DESC_PFN, &bios[i]));
			CHECK_EQ(bios[i]->bi_max_vecs, vecs);
			if (vecs)
				CHECK_OK(bio_add_range(bios[i], mem + (uint64_t)i * 4096, 4096,
						       DESC_PFN));
		}
		for (int i = 0; i < N; i++)
			bio_put(bios[i]);
	}
}

/* bio_init() over a bio_alloc()ed bio (the documented reuse), then bio_put(). */
static void test_reinit(char *mem)
{
	struct bio *bio;

	CHECK_OK(bio_alloc(1, BIO_OP_WRITE, BIO_DESC_PFN, &bio));
	CHECK_OK(bio_add_range(bio, mem, 4096, DESC_PFN));
	bio_init(bio, bio->bi_inline_vecs, bio->bi_max_vecs, BIO_OP_READ, BIO_DESC_PFN);
	CHECK_OK(bio_add_range(bio, mem + 4096, 4096, DESC_PFN));
	bio_put(bio);
}

static int fail_once(struct ramdisk *rd, const struct blk_rq *rq)
{
	(void)rq;
	rd->fail = NULL;
	return -EIO;
}

static void count_end_io(struct bio *bio)
{
	atomic_fetch_add((atomic_int *)bio->bi_private, 1);
}

/*
 * bio_reset() between submissions (fio and the bench reuse one bio per
 * I/O slot): the last I/O's state is gone, its array, room, descriptor and
 * cache membership stay, and the bio goes back to the cache at bio_put().
 */
static void test_reset(void)
{
	struct rd_env e;
	struct bio *bio, *again;
	atomic_int done = 0;

	rd_env_new(&e, MEM, DESC_PFN, MEM, NULL, 0);
	fill(e.mem, 8 * KiB, 7);
	CHECK_OK(bio_alloc(2, BIO_OP_WRITE | BIO_FUA, BIO_DESC_PFN, &bio));
	CHECK_OK(bio_add_range(bio, e.mem, 4 * KiB, DESC_PFN));
	bio->bi_iter.bi_sector = 16;
	bio->bi_end_io = count_end_io;
	bio->bi_private = &done;
	e.rd.fail = fail_once;
	CHECK_OK(blk_submit_bio(e.dev, bio));
	CHECK_EQ(atomic_load(&done), 1);
	CHECK_EQ(bio->bi_status, -EIO);
	CHECK(bio->bi_bdev == e.dev);

	bio_reset(bio, BIO_OP_WRITE);
	CHECK_EQ(bio->bi_opf, BIO_OP_WRITE);
	CHECK_EQ(bio->bi_status, 0);
	CHECK(bio->bi_bdev == NULL && bio->bi_next == NULL && bio->bi_parent == NULL);
	CHECK(bio->bi_end_io == NULL && bio->bi_private == NULL);
	CHECK_EQ(bio->bi_iter.bi_sector, 0);
	CHECK_EQ(bio->bi_iter.bi_size, 0);
	CHECK_EQ(bio->bi_iter.bi_idx, 0);
	CHECK_EQ(bio->bi_vcnt, 0);
	CHECK_EQ(bio->bi_start_ns, 0);
	CHECK_EQ(atomic_load(&bio->bi_remaining), 1);
	CHECK_EQ(bio->bi_max_vecs, 2);
	CHECK(bio->bi_io_vec == bio->bi_inline_vecs);
	CHECK_EQ(bio->bi_desc, BIO_DESC_PFN);
	CHECK_EQ(bio->bi_flags, BIO_F_CACHED);

	/* Built and submitted again: it works, and is counted once more. */
	CHECK_OK(bio_add_range(bio, e.mem + 4 * KiB, 4 * KiB, DESC_PFN));
	bio->bi_iter.bi_sector = 8;
	CHECK_EQ(blk_submit_bio_wait(e.dev, bio), 0);
	CHECK(memcmp(e.rd.buf + 8 * 512, e.mem + 4 * KiB, 4 * KiB) == 0);
	{
		struct blk_stats st;

		blk_dev_get_stats(e.dev, &st);
		CHECK_EQ(st.ios[BLK_STAT_WRITE], 2);
		CHECK_EQ(st.errors, 1);
	}
	bio_put(bio);
	CHECK_OK(bio_alloc(1, BIO_OP_READ, BIO_DESC_PFN, &again));
	CHECK(again == bio); /* back in the cache */
	bio_put(again);
	rd_env_delete(&e);
}

struct handoff {
	struct bio *bios[100];
};

static void *put_all(void *p)
{
	struct handoff *h = p;

	for (int i = 0; i < 100; i++)
		bio_put(h->bios[i]);
	return NULL;
}

static void *alloc_and_exit(void *p)
{
	struct bio *b[10];

	(void)p;
	/* This thread's cache fills and is freed when the thread exits. */
	for (int i = 0; i < 10; i++)
		CHECK_OK(bio_alloc(1, BIO_OP_READ, BIO_DESC_PFN, &b[i]));
	for (int i = 0; i < 10; i++)
		bio_put(b[i]);
	return NULL;
}

/* Allocated here, freed on another thread (async completion does this). */
static void test_threads(void)
{
	struct handoff h;
	pthread_t th;

	for (int i = 0; i < 100; i++)
		CHECK_OK(bio_alloc(1, BIO_OP_WRITE, BIO_DESC_PFN, &h.bios[i]));
	CHECK_OK(pthread_create(&th, NULL, put_all, &h));
	CHECK_OK(pthread_join(th, NULL));
	for (int i = 0; i < 8; i++) {
		CHECK_OK(pthread_create(&th, NULL, alloc_and_exit, NULL));
		CHECK_OK(pthread_join(th, NULL));
	}
}

/* Split children come from the cache too, and go back when they complete. */
static void test_split_children(void)
{
	struct blk_limits lim = {.logical_block_size = 512, .max_bytes = 4 * KiB};
	struct blk_stats st;
	struct rd_env e;

	rd_env_new(&e, MEM, DESC_PFN, MEM, &lim, 0);
	for (int i = 0; i < 50; i++) {
		struct bio *bio = new_bio(BIO_OP_WRITE, e.mem, 64 * KiB, DESC_PFN, 0);

		CHECK_EQ(blk_submit_bio_wait(e.dev, bio), 0);
		bio_put(bio);
	}
	blk_dev_get_stats(e.dev, &st);
	CHECK_EQ(st.splits, 50 * 15);
	CHECK_EQ(st.requests, 50 * 16);
	CHECK(memcmp(e.rd.buf, e.mem, 64 * KiB) == 0);
	rd_env_delete(&e);
}

int main(void)
{
	char *mem = map_huge(MEM);
	struct pfn_range *r = reg(mem, MEM, DESC_PFN);

	test_reuse(mem);
	test_many(mem);
	test_reinit(mem);
	test_reset();
	test_threads();
	test_split_children();
	pfn_range_unregister(&r);
	munmap(mem, MEM);
	return 0;
}
