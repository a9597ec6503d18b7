/* SPDX-License-Identifier: MIT */
/*
 * blk.h - a userspace block device: driver ops + queue limits + the queue
 * that splits, plugs, merges, dispatches, completes and counts bios.
 *
 * Submission contract (SPDK bdev.h's, the kernel's):
 *   blk_submit_bio() either fails synchronously, returning -errno, and then
 *   never calls bi_end_io; or returns 0, and then bi_end_io runs exactly
 *   once, with bi_status set, on the submitting thread (sync queues, or
 *   under a plug at blk_finish_plug()) or on a queue worker thread (async;
 *   with run_when_idle also on the submitter when all workers sleep).
 *   On a synchronous queue (nr_workers 0) and with no plug on the calling
 *   thread, the bio has completed when blk_submit_bio() returns 0: end_io
 *   has run and returned inside the call. bi_end_io may be NULL; such a
 *   caller reads bi_status after the return (the fio engine does).
 *
 * Completion and statistics: a bio's completion is counted (ios, bytes,
 * errors, latency, and one bio less in flight) before its end_io runs. A
 * thread that learns of the completion through end_io (a flag it set, a
 * condition variable, blk_submit_bio_wait()'s return) and then calls
 * blk_dev_get_stats() sees that bio counted and not in flight. end_io may
 * still be running then; blk_dev_drain() waits until it has returned.
 *
 * Requests: the queue hands the driver a struct blk_rq, a chain of one or
 * more bios that are adjacent on the device and of the same op (merged
 * while plugged). The driver returns one status for the whole request.
 */
#ifndef PMD_BLK_H
#define PMD_BLK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bio.h"

struct blk_dev;

struct blk_rq {
	enum bio_op op;
	unsigned flags;	 /* union of BIO_FUA | BIO_PREFLUSH of its bios */
	uint64_t sector; /* first sector */
	uint64_t bytes;	 /* total bytes of the chain */
	struct bio *bio; /* first bio; chained through bi_next */
	unsigned nr_bios;
};

#define rq_for_each_bio(b, rq) for ((b) = (rq)->bio; (b); (b) = (b)->bi_next)

/*
 * Driver operations. The table carries its size so the queue can tell a
 * table built against another version of this header.
 */
struct blk_dev_ops {
	size_t size; /* Required: sizeof(struct blk_dev_ops) */

	/*
	 * Required. Carry out @rq and return 0 or -errno (-EIO for a media
	 * error). Called from the submitting thread or a queue worker; may run
	 * concurrently on several threads for different requests.
	 */
	int (*queue_rq)(void *driver_data, struct blk_rq *rq);

	/*
	 * Optional. A bio of the queue's direct path (one bvec, a READ or a
	 * WRITE, on a synchronous queue with no plug), handed over as its one
	 * segment: @len bytes of memory at @addr, device sector @sector,
	 * @flags 0 or BIO_FUA (only if can_fua). Return 0 or -errno as
	 * queue_rq does; the queue counts one request. Without it such a bio
	 * goes to queue_rq as a request of one bio. (The kernel's rw_page
	 * hook once did this for pmem and brd: no request for one page.)
	 */
	int (*queue_seg)(void *driver_data, enum bio_op op, unsigned flags, uint64_t sector,
			 void *addr, uint32_t len);

	/* Optional capability hooks: true if the op is supported. */
	bool (*can_flush)(void *driver_data);
	bool (*can_fua)(void *driver_data);
	bool (*can_discard)(void *driver_data);
	bool (*can_write_zeroes)(void *driver_data);
};

struct blk_limits {
	uint32_t logical_block_size; /* bytes, power of two >= 512 */
	uint64_t max_bytes;	     /* most bytes per request (0: no limit) */
	uint32_t max_segments;	     /* most bvecs per request (0: BIO_MAX_VECS) */
	uint32_t dma_alignment;	     /* mask: memory offset & len must be aligned */
	bool no_split;		     /* reject (-EINVAL) instead of splitting oversize bios */
	bool no_merge;		     /* never merge plugged bios */
};

struct blk_dev_config {
	const char *name;
	uint64_t capacity_sectors; /* device size in 512-byte sectors */
	struct blk_limits limits;
	const struct blk_dev_ops *ops;
	void *driver_data;
	unsigned nr_workers;  /* 0: complete synchronously; >0: worker threads */
	unsigned queue_depth; /* async: most requests queued (0: 1024) */
	/*
	 * Async only. When a request arrives while every worker sleeps and the
	 * ring is empty, the submitting thread runs it itself instead of waking
	 * a worker (a futex wake and two context switches per request), as the
	 * kernel's pmem driver completes in the submitter's context; end_io then
	 * runs on the submitter. false: end_io always runs on a worker.
	 */
	bool run_when_idle;
	/*
	 * Async only. A worker that finds the ring empty keeps looking at it
	 * for up to @poll_us microseconds (at most 100000) before it sleeps;
	 * submitters never wake a polling worker. It spends a core while it
	 * polls, and saves the futex wake-up and two context switches per
	 * batch that a sleeping worker costs: worth it when the workers have
	 * cores of their own. 0: sleep at once.
	 */
	unsigned poll_us;
	/*
	 * Latency sampling: each submitting thread times one bio in
	 * @lat_sample (rounded up to a power of two, at most 65536) for the
	 * latency histogram; 0 or 1: every bio. A timed bio costs two clock
	 * reads (CLOCK_MONOTONIC, 20-60 ns each under a hypervisor), which is a
	 * fifth of a 4 KiB copy: a driver as fast as pmem samples. lat_hist and
	 * lat_sum_ns then describe the timed bios only (their count is the sum
	 * of lat_hist); every other counter still counts every bio.
	 */
	unsigned lat_sample;
};

/*
 * blk_dev_new - create a device. Validates the limits and ops (size field,
 * required hooks). Starts @nr_workers threads. Returns 0 or -errno.
 */
int blk_dev_new(const struct blk_dev_config *cfg, struct blk_dev **out);

/*
 * blk_dev_delete - wait for in-flight I/O, stop workers, free; *@dp = NULL.
 */
void blk_dev_delete(struct blk_dev **dp);

uint64_t blk_dev_capacity(const struct blk_dev *dev); /* sectors */
const struct blk_limits *blk_dev_limits(const struct blk_dev *dev);
const char *blk_dev_name(const struct blk_dev *dev);

/*
 * blk_submit_bio - submit @bio to @dev (see the contract above).
 * Synchronous failures: -EINVAL (misaligned, empty data bio, bio over the
 * limits on a no_split queue), -ENOSPC/-EIO never; -ERANGE beyond the end
 * of the device; -EOPNOTSUPP for an op the driver cannot do; -ENOMEM when a
 * split could not allocate. Safe from any thread.
 */
int blk_submit_bio(struct blk_dev *dev, struct bio *bio);

/*
 * blk_submit_bio_wait - submit and wait for completion. Returns the bio's
 * status (or the synchronous error). The bio's end_io/private are used
 * internally and must not be set by the caller.
 */
int blk_submit_bio_wait(struct blk_dev *dev, struct bio *bio);

/*
 * blk_dev_drain - wait until every bio submitted to @dev before the call
 * has completed and its end_io has returned (so the caller may free what
 * the end_io callbacks use, or delete the device). Bios in this thread's
 * plug are dispatched first.
 */
void blk_dev_drain(struct blk_dev *dev);

/*
 * Plugging: between blk_start_plug() and blk_finish_plug(), bios submitted
 * by this thread are held in @plug; finish sorts them, merges neighbours
 * (same device, same op and flags, adjacent sectors, combined limits
 * respected) and dispatches. One plug per thread at a time; the plug lives
 * on the caller's stack.
 */
struct blk_plug {
	struct bio *list;
	unsigned count;
};

void blk_start_plug(struct blk_plug *plug);
void blk_finish_plug(struct blk_plug *plug);

/*
 * Statistics, per device, cumulative since creation (or reset). Counters
 * are updated with relaxed atomics on the completion path.
 */
#define BLK_LAT_BUCKETS 40 /* bucket i: latency in [2^i, 2^(i+1)) ns */
#define BLK_SEG_BUCKETS 14 /* bucket i: bvecs per bio in [2^i, 2^(i+1)) */

enum blk_stat_dir {
	BLK_STAT_READ,
	BLK_STAT_WRITE,
	BLK_STAT_OTHER, /* flush, discard, write-zeroes */
	BLK_STAT_NR_DIRS,
};

struct blk_stats {
	uint64_t ios[BLK_STAT_NR_DIRS]; /* completed bios */
	uint64_t bytes[BLK_STAT_NR_DIRS];
	uint64_t errors;		    /* bios completed with nonzero status */
	uint64_t requests;		    /* driver calls */
	uint64_t merges;		    /* bios merged into another's request */
	uint64_t splits;		    /* split children created */
	uint64_t bvecs;			    /* bvecs of completed data bios */
	uint64_t in_flight;		    /* bios submitted and not completed (see top) */
	uint64_t lat_hist[BLK_LAT_BUCKETS]; /* timed bios (all, or a sample: lat_sample) */
	uint64_t seg_hist[BLK_SEG_BUCKETS];
	uint64_t lat_sum_ns; /* of the timed bios */
};

/* blk_dev_get_stats - snapshot of the counters. */
void blk_dev_get_stats(const struct blk_dev *dev, struct blk_stats *st);
void blk_dev_reset_stats(struct blk_dev *dev);

/* blk_stats_lat_percentile - latency (ns, bucket upper bound) at @pct (0..100). */
uint64_t blk_stats_lat_percentile(const struct blk_stats *st, double pct);

/* blk_stats_mean_bvecs - mean bvecs per completed data bio (0 if none). */
double blk_stats_mean_bvecs(const struct blk_stats *st);

#endif
