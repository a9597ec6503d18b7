/* SPDX-License-Identifier: MIT */
/*
 * test_blk_crossmode - property test: random I/O of random sizes and
 * memory alignments, written from memory described in one descriptor mode
 * (pfn, folio, page), reads back byte-identical into memory of every other
 * mode, through sync and async queues that split (small max_bytes and
 * max_segments) and merge (plugs). Bios may gather several discontiguous
 * fragments. Seeded: PMD_TEST_SEED=n reproduces a run; the seed is printed
 * on failure.
 */
#include <time.h>

#include "test_blk_ramdisk.h"

#define MEM (4 * MiB)  /* per mode */
#define DISK (2 * MiB) /* small, so random I/O overlaps often */
#define OPS 400
#define MAX_IO (256 * KiB)

static unsigned long long seed;
static bool passed;

static void report_seed(void)
{
	if (!passed)
		fprintf(stderr, "test_blk_crossmode: failed with PMD_TEST_SEED=%llu\n", seed);
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

struct mem {
	char *buf;
	struct pfn_range *r;
	enum desc_mode mode;
};

static atomic_int completions;

static void end_io(struct bio *bio)
{
	CHECK_EQ(bio->bi_status, 0);
	atomic_fetch_add(&completions, 1);
}

/*
 * A bio of @len bytes from @m, in 1-3 fragments at random memory offsets.
 * The fragments' memory, in order, is recorded in @frag_addr/@frag_len.
 */
static struct bio *build(struct mem *m, unsigned op, uint64_t sector, uint64_t len,
			 char **frag_addr, uint64_t *frag_len, unsigned *nr_frags)
{
	unsigned n = 1 + (unsigned)rnd_below(3);
	uint64_t left = len;
	unsigned vecs = 0;
	struct bio *bio;

	if (len < 3 * 512)
		n = 1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t fl = i == n - 1 ? left : 512 * (1 + rnd_below(left / 512 / (n - i)));

		frag_len[i] = fl;
		/* Fragment i lies in slot i of memory: fragments never overlap. */
		frag_addr[i] = m->buf + i * (MEM / 3) + rnd_below(MEM / 3 - fl + 1);
		vecs += bio_nr_vecs_for(frag_addr[i], fl, m->mode);
		left -= fl;
	}
	CHECK_OK(bio_alloc(vecs, op, bio_desc_for(m->mode), &bio));
	for (unsigned i = 0; i < n; i++)
		CHECK_OK(bio_add_range(bio, frag_addr[i], frag_len[i], m->mode));
	CHECK_EQ(bio->bi_iter.bi_size, len);
	bio->bi_iter.bi_sector = sector;
	bio->bi_end_io = end_io;
	*nr_frags = n;
	return bio;
}

static void run(struct mem *mems, struct blk_dev *dev, struct ramdisk *rd, char *model)
{
	for (unsigned op = 0; op < OPS; op++) {
		unsigned nr = 1 + (unsigned)rnd_below(4); /* bios submitted together */
		struct mem *wm = &mems[rnd_below(DESC_NR_MODES)];
		struct bio *bios[4];
		char *fa[4][3];
		uint64_t fl[4][3];
		unsigned nf[4];
		uint64_t sec[4], len[4];
		struct blk_plug plug;
		bool plugged = rnd_below(2);
		bool adjacent = rnd_below(2);

		/* Writes: non-overlapping (their order is undefined), maybe adjacent. */
		sec[0] = rnd_below(DISK / 512 / 2);
		for (unsigned i = 0; i < nr; i++) {
			len[i] = 512 * (1 + rnd_below(MAX_IO / 512 / nr));
			if (i)
				sec[i] = sec[i - 1] + len[i - 1] / 512 +
					 (adjacent ? 0 : rnd_below(16));
			if (sector_to_off(sec[i]) + len[i] > DISK) {
				nr = i;
				break;
			}
		}
		if (!nr)
			continue;
		atomic_store(&completions, 0);
		/* Build and fill all first: memory must not change once submitted. */
		for (unsigned i = 0; i < nr; i++) {
			bios[i] = build(wm, BIO_OP_WRITE, sec[i], len[i], fa[i], fl[i], &nf[i]);
			for (unsigned f = 0; f < nf[i]; f++)
				for (uint64_t b = 0; b < fl[i][f]; b++)
					fa[i][f][b] = (char)rnd();
		}
		for (unsigned i = 0; i < nr; i++)
			for (unsigned f = 0, o = 0; f < nf[i]; o += fl[i][f], f++)
				memcpy(model + sector_to_off(sec[i]) + o, fa[i][f], fl[i][f]);
		if (plugged)
			blk_start_plug(&plug);
		for (unsigned i = 0; i < nr; i++)
			CHECK_OK(blk_submit_bio(dev, bios[i]));
		if (plugged)
			blk_finish_plug(&plug);
		blk_dev_drain(dev);
		CHECK_EQ(atomic_load(&completions), nr);
		for (unsigned i = 0; i < nr; i++)
			bio_put(bios[i]);

		/* Read each range back into every mode's memory. */
		for (unsigned i = 0; i < nr; i++) {
			for (int m = 0; m < DESC_NR_MODES; m++) {
				struct bio *rb = build(&mems[m], BIO_OP_READ, sec[i], len[i], fa[0],
						       fl[0], &nf[0]);
				uint64_t o = 0;

				CHECK_EQ(blk_submit_bio_wait(dev, rb), 0);
				for (unsigned f = 0; f < nf[0]; o += fl[0][f], f++)
					CHECK(memcmp(fa[0][f], model + sector_to_off(sec[i]) + o,
						     fl[0][f]) == 0);
				bio_put(rb);
			}
		}
	}
	CHECK(memcmp(rd->buf, model, DISK) == 0);
	CHECK_EQ(atomic_load(&rd->limit_violations), 0);
	/* The queue really split and merged along the way. */
	{
		struct blk_stats st;

		blk_dev_get_stats(dev, &st);
		CHECK(st.splits > 0);
		CHECK(st.merges > 0);
		CHECK_EQ(st.in_flight, 0);
	}
}

int main(void)
{
	const char *s = getenv("PMD_TEST_SEED");
	struct mem mems[DESC_NR_MODES];
	char *model = calloc(1, DISK);

	seed = s && *s ? strtoull(s, NULL, 0) : (unsigned long long)time(NULL);
	rnd_state = seed;
	atexit(report_seed);
	CHECK(model);
	for (int m = 0; m < DESC_NR_MODES; m++) {
		mems[m].mode = (enum desc_mode)m;
		mems[m].buf = map_huge(MEM);
		mems[m].r = reg(mems[m].buf, MEM, mems[m].mode);
	}

	for (unsigned workers = 0; workers <= 2; workers += 2) {
		struct blk_limits lim = {
			.logical_block_size = 512,
			.max_bytes = 64 * KiB,
			.max_segments = 24,
		};
		struct ramdisk rd;
		struct blk_dev *dev = ramdisk_new(&rd, DISK, &lim, workers);

		memset(model, 0, DISK);
		run(mems, dev, &rd, model);
		ramdisk_delete(&rd, &dev);
	}

	for (int m = 0; m < DESC_NR_MODES; m++)
		pfn_range_unregister(&mems[m].r);
	free(model);
	passed = true;
	return 0;
}
