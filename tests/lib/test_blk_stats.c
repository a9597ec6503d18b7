/* SPDX-License-Identifier: MIT */
/*
 * test_blk_stats - per-device counters: ios and bytes per direction,
 * errors, requests, splits, bvecs and the bvecs-per-bio histogram in each
 * descriptor mode, the latency histogram and its percentiles, in-flight
 * while a driver holds requests (back to 0 after), settled before end_io
 * runs (drain waits for it to return), and reset.
 */
#include <pthread.h>
#include <time.h>

#include "test_blk_ramdisk.h"

#define MEM (4 * MiB)
#define DISK (8 * MiB)
#define BAD_SECTOR 12000

static atomic_int gate_closed;

static int fail_or_wait(struct ramdisk *rd, const struct blk_rq *rq)
{
	while (atomic_load(&gate_closed)) {
		struct timespec ts = {0, 100000};

		nanosleep(&ts, NULL);
	}
	if (rq->op != BIO_OP_FLUSH && rq->sector <= BAD_SECTOR &&
	    BAD_SECTOR < rq->sector + off_to_sector(rq->bytes))
		return -EIO;
	return 0;
}

static void submit_wait(struct blk_dev *dev, struct bio *bio, int want)
{
	CHECK_EQ(blk_submit_bio_wait(dev, bio), want);
	bio_put(bio);
}

static void test_mode(enum desc_mode mode)
{
	struct blk_limits lim = {.logical_block_size = 512, .max_bytes = 1 * MiB};
	struct rd_env e;
	struct blk_stats st;
	uint64_t lat_total = 0;
	/* bvecs of an 8 KiB, a 2 MiB and a 4 KiB buffer in this mode */
	unsigned v8k = mode == DESC_PAGE || mode == DESC_ONDEMAND ? 2 : 1;
	unsigned v2m = mode == DESC_PAGE ? 512 : 1;
	struct bio *bio;

	rd_env_new(&e, MEM, mode, DISK, &lim, 0);
	e.rd.fail = fail_or_wait;
	for (int i = 0; i < 3; i++)
		submit_wait(e.dev, new_bio(BIO_OP_READ, e.mem + i * 8 * KiB, 8 * KiB, mode, i * 16),
			    0);
	for (int i = 0; i < 2; i++)
		submit_wait(e.dev,
			    new_bio(BIO_OP_WRITE, e.mem + i * HUGE_SIZE, HUGE_SIZE, mode, 4096 * i),
			    0);
	submit_wait(e.dev, new_bio(BIO_OP_WRITE, e.mem, 4 * KiB, mode, BAD_SECTOR), -EIO);
	submit_wait(e.dev, new_bio(BIO_OP_FLUSH, NULL, 0, mode, 0), 0);
	bio = new_bio(BIO_OP_DISCARD, NULL, 0, mode, 0);
	bio->bi_iter.bi_size = 4 * KiB;
	submit_wait(e.dev, bio, 0);
	/* A synchronous rejection counts nothing. */
	bio = new_bio(BIO_OP_READ, e.mem, 4 * KiB, mode, DISK / 512);
	CHECK_EQ(blk_submit_bio(e.dev, bio), -ERANGE);
	bio_put(bio);

	blk_dev_get_stats(e.dev, &st);
	CHECK_EQ(st.ios[BLK_STAT_READ], 3);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], 3);
	CHECK_EQ(st.ios[BLK_STAT_OTHER], 2);
	CHECK_EQ(st.bytes[BLK_STAT_READ], 24 * KiB);
	CHECK_EQ(st.bytes[BLK_STAT_WRITE], 4 * MiB + 4 * KiB);
	CHECK_EQ(st.bytes[BLK_STAT_OTHER], 4 * KiB);
	CHECK_EQ(st.errors, 1);
	CHECK_EQ(st.splits, 2); /* each 2 MiB write in two 1 MiB pieces */
	CHECK_EQ(st.requests, 3 + 4 + 1 + 1 + 1);
	CHECK_EQ(st.merges, 0);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.bvecs, 3 * v8k + 2 * v2m + 1);
	if (mode == DESC_PAGE) {
		CHECK_EQ(st.seg_hist[0], 1);
		CHECK_EQ(st.seg_hist[1], 3);
		CHECK_EQ(st.seg_hist[9], 2);
	} else if (mode == DESC_ONDEMAND) {
		/* 8 KiB: two transient pages; 2 MiB: one whole area. */
		CHECK_EQ(st.seg_hist[0], 3);
		CHECK_EQ(st.seg_hist[1], 3);
	} else {
		CHECK_EQ(st.seg_hist[0], 6);
	}
	CHECK(blk_stats_mean_bvecs(&st) > (double)st.bvecs / 6 - 1e-9);
	CHECK(blk_stats_mean_bvecs(&st) < (double)st.bvecs / 6 + 1e-9);
	for (int i = 0; i < BLK_LAT_BUCKETS; i++)
		lat_total += st.lat_hist[i];
	CHECK_EQ(lat_total, 8);
	CHECK(st.lat_sum_ns > 0);
	CHECK(blk_stats_lat_percentile(&st, 50) <= blk_stats_lat_percentile(&st, 99));
	CHECK(blk_stats_lat_percentile(&st, 100) >= st.lat_sum_ns / 8);

	/* Reset clears everything. */
	blk_dev_reset_stats(e.dev);
	blk_dev_get_stats(e.dev, &st);
	{
		struct blk_stats zero;

		memset(&zero, 0, sizeof(zero));
		CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
	}
	ramdisk_delete(&e.rd, &e.dev);

	/* Merges under a plug are counted. */
	e.dev = ramdisk_new(&e.rd, DISK, NULL, 0);
	{
		struct blk_plug plug;
		struct bio *b[4];

		blk_start_plug(&plug);
		for (int i = 0; i < 4; i++) {
			b[i] = new_bio(BIO_OP_WRITE, e.mem + i * 4 * KiB, 4 * KiB, mode, i * 8);
			CHECK_OK(blk_submit_bio(e.dev, b[i]));
		}
		blk_finish_plug(&plug);
		blk_dev_get_stats(e.dev, &st);
		CHECK_EQ(st.requests, 1);
		CHECK_EQ(st.merges, 3);
		CHECK_EQ(st.ios[BLK_STAT_WRITE], 4);
		for (int i = 0; i < 4; i++)
			bio_put(b[i]);
	}
	rd_env_delete(&e);
}

/* In-flight counts bios held by a (slow) driver, and returns to 0. */
static void test_in_flight(void)
{
	struct rd_env e;
	struct blk_stats st;
	struct bio *b[10];

	rd_env_new(&e, MEM, DESC_PFN, DISK, NULL, 2);
	e.rd.fail = fail_or_wait;
	atomic_store(&gate_closed, 1);
	for (int i = 0; i < 10; i++) {
		b[i] = new_bio(BIO_OP_WRITE, e.mem, 4 * KiB, DESC_PFN, i * 64);
		CHECK_OK(blk_submit_bio(e.dev, b[i]));
	}
	blk_dev_get_stats(e.dev, &st);
	CHECK_EQ(st.in_flight, 10);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], 0);
	/* Both workers are inside the driver, waiting at the gate. */
	while (atomic_load(&e.rd.requests) < 2) {
		struct timespec ts = {0, 100000};

		nanosleep(&ts, NULL);
	}
	atomic_store(&gate_closed, 0);
	blk_dev_drain(e.dev);
	blk_dev_get_stats(e.dev, &st);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], 10);
	/* The queue held them at least the 100 us the driver slept. */
	CHECK(blk_stats_lat_percentile(&st, 100) >= 100000);
	for (int i = 0; i < 10; i++)
		bio_put(b[i]);
	rd_env_delete(&e);
}

/*
 * What an end_io saw of the statistics, and whether it has returned: it
 * takes @linger_ns after telling the waiter, so the waiter reads the
 * statistics while end_io is still running.
 */
struct settle {
	struct blk_dev *dev;
	struct blk_stats in_end_io;
	atomic_int seen, returned;
	long linger_ns;
};

static void settle_end_io(struct bio *bio)
{
	struct settle *s = bio->bi_private;
	struct timespec ts = {0, s->linger_ns};

	blk_dev_get_stats(s->dev, &s->in_end_io);
	atomic_store(&s->seen, 1);
	nanosleep(&ts, NULL);
	atomic_store(&s->returned, 1);
}

/*
 * The contract in blk.h: a bio's completion is counted (ios, and not in
 * flight any more) before its end_io runs, on every path (direct, general,
 * worker, run-when-idle), so a thread that sees the completion sees the
 * statistics settled; blk_dev_drain() returns only after end_io returned.
 */
static void test_settled_at_completion(unsigned nr_workers, bool run_when_idle, bool plugged)
{
	struct blk_dev_config cfg = {.nr_workers = nr_workers, .run_when_idle = run_when_idle};
	struct settle s = {.linger_ns = 20 * 1000 * 1000};
	struct rd_env e;
	struct blk_stats st;
	struct blk_plug plug;
	struct bio *bio;

	rd_env_new_config(&e, MEM, DESC_PFN, DISK, &cfg);
	s.dev = e.dev;
	bio = new_bio(BIO_OP_WRITE, e.mem, 4 * KiB, DESC_PFN, 8);
	bio->bi_end_io = settle_end_io;
	bio->bi_private = &s;
	if (plugged)
		blk_start_plug(&plug);
	CHECK_OK(blk_submit_bio(e.dev, bio));
	if (plugged)
		blk_finish_plug(&plug);
	while (!atomic_load(&s.seen)) {
		struct timespec ts = {0, 100000};

		nanosleep(&ts, NULL);
	}
	/* Inside end_io, and here while it still runs: counted, not in flight. */
	CHECK_EQ(s.in_end_io.in_flight, 0);
	CHECK_EQ(s.in_end_io.ios[BLK_STAT_WRITE], 1);
	blk_dev_get_stats(e.dev, &st);
	CHECK_EQ(st.in_flight, 0);
	CHECK_EQ(st.ios[BLK_STAT_WRITE], 1);
	/* A drain waits for end_io to return. */
	blk_dev_drain(e.dev);
	CHECK_EQ(atomic_load(&s.returned), 1);
	bio_put(bio);

	/* blk_submit_bio_wait()'s return is a completion seen, too. */
	for (int i = 0; i < 50; i++) {
		submit_wait(e.dev, new_bio(BIO_OP_READ, e.mem, 4 * KiB, DESC_PFN, i * 8), 0);
		blk_dev_get_stats(e.dev, &st);
		CHECK_EQ(st.in_flight, 0);
		CHECK_EQ(st.ios[BLK_STAT_READ], (uint64_t)i + 1);
	}
	rd_env_delete(&e);
}

static void test_helpers(void)
{
	struct blk_stats st;

	memset(&st, 0, sizeof(st));
	CHECK_EQ(blk_stats_lat_percentile(&st, 50), 0);
	CHECK(blk_stats_mean_bvecs(&st) == 0.0);
	st.lat_hist[3] = 50;  /* [8, 16) ns */
	st.lat_hist[10] = 50; /* [1024, 2048) ns */
	CHECK_EQ(blk_stats_lat_percentile(&st, 0), 16);
	CHECK_EQ(blk_stats_lat_percentile(&st, 50), 16);
	CHECK_EQ(blk_stats_lat_percentile(&st, 50.5), 2048);
	CHECK_EQ(blk_stats_lat_percentile(&st, 100), 2048);
	CHECK_EQ(blk_stats_lat_percentile(&st, 1000), 2048);
	st.seg_hist[0] = 3;
	st.seg_hist[9] = 1;
	st.bvecs = 3 + 512;
	CHECK(blk_stats_mean_bvecs(&st) == 515.0 / 4);
}

int main(void)
{
	test_helpers();
	for (int m = 0; m < DESC_NR_MODES; m++)
		test_mode((enum desc_mode)m);
	test_in_flight();
	test_settled_at_completion(0, false, false); /* direct path */
	test_settled_at_completion(0, false, true);  /* general path, plugged */
	test_settled_at_completion(1, false, false); /* on a worker */
	test_settled_at_completion(2, true, false);  /* run when idle, or a worker */
	return 0;
}
