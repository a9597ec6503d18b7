/* SPDX-License-Identifier: MIT */
/*
 * test_blk_run_idle - an async queue with run_when_idle: a request that
 * arrives while every worker sleeps runs on the submitting thread (end_io
 * there too), the others on workers; either way every bio completes exactly
 * once with its data, end_io may submit more, the counters add up and
 * drain/delete wait for everything. Without the flag (test_blk_async) end_io
 * never runs on the submitter.
 */
#include <time.h>

#include "test_blk_chain.h"

#define NR 2000
#define MEM (2 * MiB)
#define DISK (NR * 4096)

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
	dev = ramdisk_dev_config(&rd, &(struct blk_dev_config){
					      .nr_workers = 2,
					      .run_when_idle = true,
				      });
	fill(mem, MEM, 7);
	/* Let both workers go to sleep: the first bio then runs right here. */
	nanosleep(&nap, NULL);
	for (unsigned i = 0; i < NR; i++) {
		struct tio *t = &tios[i];

		t->submitter = pthread_self();
		bios[i] = new_bio(BIO_OP_WRITE, mem + i % (MEM / 4096) * 4096, 4096, DESC_PFN,
				  (uint64_t)i * 8);
		bios[i]->bi_end_io = tio_end_io;
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
	run_chains_and_delete(&dev, mem);
	free(rd.buf);
	free(tios);
	free(bios);
	pfn_range_unregister(&r);
	munmap(mem, MEM);
	return 0;
}
