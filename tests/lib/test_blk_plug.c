/* SPDX-License-Identifier: MIT */
/*
 * test_blk_plug - plugging: adjacent bios submitted under a plug (in any
 * order) reach the driver as fewer, merged requests; non-adjacent bios,
 * other ops or flags, BIO_NOMERGE and no_merge queues are not merged;
 * merged requests stay within max_bytes/max_segments; data is correct;
 * nothing is dispatched before blk_finish_plug; each bio completes once.
 */
#include "test_blk_ramdisk.h"

#define MEM (2 * MiB)
#define DISK (4 * MiB)
#define NR 32

static atomic_int calls;

static void end_io(struct bio *bio)
{
	CHECK_EQ(bio->bi_status, 0);
	atomic_fetch_add(&calls, 1);
}

/* Shuffled order of 0..n-1 (fixed permutation). */
static unsigned perm(unsigned i, unsigned n)
{
	return (i * 7 + 3) % n; /* n is a power of two: 7 is coprime */
}

struct plug_case {
	const char *what;
	struct blk_limits lim;
	enum desc_mode mode;
	uint64_t stride_sectors; /* distance between bio starts */
	uint32_t bio_bytes;
	unsigned opf_odd;	/* opf of odd-numbered bios (even: WRITE) */
	unsigned want_requests; /* 0: do not check */
	unsigned want_merges;
};

static void run_case(const struct plug_case *pc, unsigned nr_workers)
{
	struct rd_env e;
	struct bio *bios[NR];
	struct blk_plug plug;
	struct blk_stats st;

	rd_env_new(&e, MEM, pc->mode, DISK, &pc->lim, nr_workers);

	atomic_store(&calls, 0);
	fill(e.mem, MEM, 42);
	blk_start_plug(&plug);
	for (unsigned k = 0; k < NR; k++) {
		unsigned i = perm(k, NR);
		unsigned opf = i % 2 ? pc->opf_odd : BIO_OP_WRITE;
		uint64_t sector = i * pc->stride_sectors;

		bios[i] = new_bio(opf, e.mem + sector_to_off(sector), pc->bio_bytes, pc->mode,
				  sector);
		bios[i]->bi_end_io = end_io;
		CHECK_OK(blk_submit_bio(e.dev, bios[i]));
	}
	/* Held in the plug: the driver has seen nothing yet. */
	CHECK_EQ(atomic_load(&e.rd.requests), 0);
	CHECK_EQ(atomic_load(&calls), 0);
	blk_finish_plug(&plug);
	blk_dev_drain(e.dev);
	CHECK_EQ(atomic_load(&calls), NR);

	blk_dev_get_stats(e.dev, &st);
	if (pc->want_requests && atomic_load(&e.rd.requests) != pc->want_requests) {
		fprintf(stderr, "%s (%u workers): %lu requests, want %u\n", pc->what, nr_workers,
			atomic_load(&e.rd.requests), pc->want_requests);
		exit(1);
	}
	CHECK_EQ(st.requests, atomic_load(&e.rd.requests));
	CHECK_EQ(st.merges, pc->want_merges ? pc->want_merges : NR - st.requests);
	CHECK_EQ(st.merges + st.requests, NR);
	CHECK_EQ(atomic_load(&e.rd.limit_violations), 0);
	if (pc->lim.max_bytes)
		CHECK(atomic_load(&e.rd.max_rq_bytes) <= pc->lim.max_bytes);
	/* The written bytes landed where each bio said. */
	for (unsigned i = 0; i < NR; i += 2) {
		uint64_t off = sector_to_off(i * pc->stride_sectors);

		CHECK(memcmp(e.rd.buf + off, e.mem + off, pc->bio_bytes) == 0);
	}
	for (unsigned i = 0; i < NR; i++)
		bio_put(bios[i]);
	rd_env_delete(&e);
}

int main(void)
{
	const struct plug_case cases[] = {
		{"adjacent", {.logical_block_size = 512}, DESC_PFN, 8, 4096, BIO_OP_WRITE, 1, 31},
		{"adjacent page mode",
		 {.logical_block_size = 512},
		 DESC_PAGE,
		 8,
		 4096,
		 BIO_OP_WRITE,
		 1,
		 31},
		{"gaps", {.logical_block_size = 512}, DESC_PFN, 16, 4096, BIO_OP_WRITE, NR, 0},
		{"read/write interleaved",
		 {.logical_block_size = 512},
		 DESC_PFN,
		 8,
		 4096,
		 BIO_OP_READ,
		 NR,
		 0},
		{"FUA interleaved",
		 {.logical_block_size = 512},
		 DESC_PFN,
		 8,
		 4096,
		 BIO_OP_WRITE | BIO_FUA,
		 NR,
		 0},
		{"NOMERGE",
		 {.logical_block_size = 512},
		 DESC_PFN,
		 8,
		 4096,
		 BIO_OP_WRITE | BIO_NOMERGE,
		 NR,
		 0},
		{"no_merge queue",
		 {.logical_block_size = 512, .no_merge = true},
		 DESC_PFN,
		 8,
		 4096,
		 BIO_OP_WRITE,
		 NR,
		 0},
		{"max_bytes",
		 {.logical_block_size = 512, .max_bytes = 16 * KiB},
		 DESC_PFN,
		 8,
		 4096,
		 BIO_OP_WRITE,
		 8,
		 24},
		{"max_segments",
		 {.logical_block_size = 512, .max_segments = 6},
		 DESC_PAGE,
		 16,
		 8192,
		 BIO_OP_WRITE,
		 11,
		 21},
	};

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		run_case(&cases[c], 0);
		run_case(&cases[c], 2);
	}

	/* Nested plugs are inert; submit_bio_wait under a plug does not hang. */
	{
		struct rd_env e;
		struct blk_plug outer, inner;
		struct bio *a, *b, *w;

		rd_env_new(&e, MEM, DESC_PFN, DISK, NULL, 0);

		atomic_store(&calls, 0);
		blk_start_plug(&outer);
		blk_start_plug(&inner);
		a = new_bio(BIO_OP_WRITE, e.mem, 4096, DESC_PFN, 0);
		a->bi_end_io = end_io;
		CHECK_OK(blk_submit_bio(e.dev, a));
		blk_finish_plug(&inner);
		CHECK_EQ(atomic_load(&calls), 0); /* still held by the outer plug */
		w = new_bio(BIO_OP_READ, e.mem + MiB, 4096, DESC_PFN, 100);
		CHECK_EQ(blk_submit_bio_wait(e.dev, w), 0);
		b = new_bio(BIO_OP_WRITE, e.mem + 4096, 4096, DESC_PFN, 8);
		b->bi_end_io = end_io;
		CHECK_OK(blk_submit_bio(e.dev, b));
		CHECK_EQ(atomic_load(&calls), 0);
		blk_finish_plug(&outer);
		CHECK_EQ(atomic_load(&calls), 2);
		CHECK_EQ(atomic_load(&e.rd.requests), 2); /* the wait bio, then a+b merged */
		CHECK_EQ(atomic_load(&e.rd.max_rq_bios), 2);
		bio_put(a);
		bio_put(b);
		bio_put(w);
		rd_env_delete(&e);
	}

	/* blk_dev_drain under a plug sends the plugged bios instead of hanging. */
	{
		struct rd_env e;
		struct blk_plug plug;
		struct bio *a;

		rd_env_new(&e, MEM, DESC_PFN, DISK, NULL, 2);

		atomic_store(&calls, 0);
		blk_start_plug(&plug);
		a = new_bio(BIO_OP_WRITE, e.mem, 4096, DESC_PFN, 0);
		a->bi_end_io = end_io;
		CHECK_OK(blk_submit_bio(e.dev, a));
		blk_dev_drain(e.dev);
		CHECK_EQ(atomic_load(&calls), 1);
		blk_finish_plug(&plug);
		CHECK_EQ(atomic_load(&calls), 1);
		bio_put(a);
		rd_env_delete(&e);
	}

	/* More bios than a plug holds: dispatched in batches, all complete. */
	{
		struct rd_env e;
		struct blk_plug plug;
		struct bio *bios[512];

		rd_env_new(&e, MEM, DESC_PFN, DISK, NULL, 0);

		atomic_store(&calls, 0);
		blk_start_plug(&plug);
		for (unsigned i = 0; i < 512; i++) {
			bios[i] = new_bio(BIO_OP_WRITE, e.mem + i * 4096, 4096, DESC_PFN, i * 8);
			bios[i]->bi_end_io = end_io;
			CHECK_OK(blk_submit_bio(e.dev, bios[i]));
		}
		blk_finish_plug(&plug);
		CHECK_EQ(atomic_load(&calls), 512);
		CHECK(atomic_load(&e.rd.requests) < 512 / 8);
		CHECK(memcmp(e.rd.buf, e.mem, MEM) == 0);
		for (unsigned i = 0; i < 512; i++)
			bio_put(bios[i]);
		rd_env_delete(&e);
	}
	return 0;
}
