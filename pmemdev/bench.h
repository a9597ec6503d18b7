/* SPDX-License-Identifier: MIT */
/*
 * bench.h - a closed-loop load generator for the block layer.
 *
 * Each thread owns @iodepth slots; a slot is a buffer of @bs bytes taken
 * from memory registered in the job's descriptor mode, and a bio rebuilt for
 * every I/O (so the descriptor cost of building a bio is measured, as the
 * kernel pays it per I/O), or allocated and freed per I/O (@alloc). Completions come back through end_io; the thread
 * resubmits the slot until time is up.
 *
 * The MEMCPY target bypasses the block layer and copies the same sizes at
 * the same offsets with libpmem2 (pmr_memcpy / memcpy): the ceiling the
 * block layer is compared to.
 */
#ifndef PMEMDEV_BENCH_H
#define PMEMDEV_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "desc.h"
#include "pmemdev.h"

enum bench_rw {
	BENCH_READ,
	BENCH_WRITE,
	BENCH_RANDREAD,
	BENCH_RANDWRITE,
};

enum bench_target {
	BENCH_TARGET_PMEM,
	BENCH_TARGET_NULL,
	BENCH_TARGET_MEMCPY,
};

struct bench_opts {
	const char *path; /* region */
	enum bench_target target;
	enum desc_mode mode;
	enum bench_rw rw;
	uint64_t bs;	  /* bytes per I/O */
	unsigned iodepth; /* I/Os in flight per thread */
	unsigned threads; /* submitting threads */
	unsigned workers; /* completion threads of the queue; 0: synchronous */
	double seconds;	  /* run time */
	uint64_t ios;	  /* if nonzero: stop after this many I/Os per thread, not on time */
	uint64_t size;	  /* bytes of the device to use; 0: all */
	bool fua;	  /* FUA on writes */
	/*
	 * true: every I/O allocates its bio with bio_alloc() and end_io frees
	 * it with bio_put(), as a filesystem does; false: each slot reuses one
	 * bio of its own (bio_init() per I/O), as the fio engine does.
	 */
	bool alloc;
	unsigned lat_sample; /* pmemdev_config.lat_sample (0: the driver's default) */
};

struct bench_result {
	uint64_t ios;
	uint64_t bytes;
	double seconds;	    /* wall time of the measured loop */
	double cpu_seconds; /* user + system of the process during the loop */
	double bandwidth;   /* bytes per second */
	double iops;
	uint64_t descriptor_bytes;	  /* pfn table slots + memmap of region and buffers */
	double bvecs_per_bio;		  /* mean */
	double setup_seconds;		  /* registering region and buffers, memmap included */
	uint64_t region_descriptor_bytes; /* the region's share of descriptor_bytes */
	double region_setup_seconds;	  /* the region's share of setup_seconds */
	uint64_t lat_p50_ns;
	uint64_t lat_p99_ns;
};

/* bench_run - run one job. Returns 0 or -errno with pmd_errmsg() set. */
int bench_run(const struct bench_opts *o, struct bench_result *res);

int bench_rw_parse(const char *s, enum bench_rw *out);
const char *bench_rw_name(enum bench_rw rw);
int bench_target_parse(const char *s, enum bench_target *out);
const char *bench_target_name(enum bench_target t);

#endif
