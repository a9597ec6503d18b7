/* SPDX-License-Identifier: MIT */
/*
 * pmemdev.h - a block device driver on a pmem region.
 *
 * pmemdev puts a struct blk_dev (lib/blk.h) in front of a region. Reads
 * copy region -> bvec memory; writes copy bvec memory -> region with
 * libpmem2's memcpy (non-temporal for large copies) and are durable when
 * the request completes if it carries FUA, or after a later FLUSH.
 * DISCARD and WRITE_ZEROES zero the range durably.
 *
 * Emulated badblocks (badblocks.h): a read that touches a bad sector fails
 * with -EIO; a write that covers whole bad sectors clears them (and a write
 * that covers them partially fails with -EIO), as the kernel pmem driver.
 *
 * The NULL target accepts every request and moves no data, so the cost of
 * the descriptors and the block layer can be measured alone.
 *
 * The driver registers the region's memory in the pfn space with the
 * configured descriptor mode, so in FOLIO/PAGE mode the region pays for a
 * memmap as kernel pmem does (1.56 % of its size).
 */
#ifndef PMEMDEV_H
#define PMEMDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "blk.h"
#include "desc.h"
#include "pfn.h"
#include "region.h"

struct pmemdev;
struct pmemdev_bb;

/*
 * Bios timed for the latency histogram by default: one in 64. Two clock
 * reads per 4 KiB I/O would cost about a fifth of the copy; sampled, they
 * cost under 2 ns per I/O and the percentiles still rest on thousands of
 * samples a second.
 */
#define PMEMDEV_LAT_SAMPLE 64u

enum pmemdev_target {
	PMEMDEV_TARGET_PMEM,
	PMEMDEV_TARGET_NULL,
};

struct pmemdev_config {
	/*
	 * The region: either @region (borrowed, must outlive the device) or
	 * @region_path (opened and closed by the device). Required for both
	 * targets: the null target takes its capacity from the region.
	 */
	struct pmr_region *region;
	const char *region_path;
	enum pmemdev_target target;
	enum desc_mode mode; /* descriptor mode the region is registered with */
	bool no_register;    /* do not register the region in the pfn space */
	/*
	 * The emulated badblocks list to use (borrowed: it must outlive the
	 * device; its owner may change it while the device runs), or NULL to
	 * load the region's own list (pmemdev_bb_open) for the device alone.
	 */
	struct pmemdev_bb *bb;
	/*
	 * 0: synchronous completion. N > 0: N queue workers; as the kernel
	 * pmem driver does, a request is still carried out on the submitting
	 * thread when every worker sleeps and nothing is queued
	 * (blk_dev_config.run_when_idle), so end_io may run on either.
	 */
	unsigned nr_workers;
	/* Async: end_io only on workers (no run_when_idle, see above). */
	bool worker_only;
	/* Async: workers poll the ring this long before sleeping (blk_dev_config.poll_us). */
	unsigned poll_us;
	/*
	 * Latency histogram: time one bio in @lat_sample per submitting thread
	 * (blk_dev_config.lat_sample); 0: PMEMDEV_LAT_SAMPLE; 1: every bio.
	 */
	unsigned lat_sample;
	uint32_t logical_block_size; /* bytes; 0: 512 */
	uint64_t max_bytes;	     /* request limit, bytes; 0: none */
	uint32_t max_segments;	     /* 0: BIO_MAX_VECS */
	bool no_split;
};

/* pmemdev_new - open the device. Returns 0 or -errno with pmd_errmsg() set. */
int pmemdev_new(const struct pmemdev_config *cfg, struct pmemdev **out);

/* pmemdev_delete - drain, unregister, close what it opened; *@pp = NULL. */
void pmemdev_delete(struct pmemdev **pp);

struct blk_dev *pmemdev_blk(struct pmemdev *pd);
struct pmr_region *pmemdev_region(struct pmemdev *pd);
/* pmemdev_pfn_range - the region's pfn range, NULL if not registered. */
struct pfn_range *pmemdev_pfn_range(struct pmemdev *pd);

/* pmemdev_badblocks - the device's emulated badblocks list (never NULL). */
struct pmemdev_bb *pmemdev_badblocks(struct pmemdev *pd);

/* Parse/print targets: "pmem" | "null". parse returns 0 or -EINVAL. */
int pmemdev_target_parse(const char *s, enum pmemdev_target *out);
const char *pmemdev_target_name(enum pmemdev_target t);

#endif
