/* SPDX-License-Identifier: MIT */
/*
 * nbd_io.h - NBD requests as bios on a pmemdev block device.
 *
 * Every request becomes one or more bios in the device's descriptor mode,
 * submitted to the block layer and waited for on the calling (nbdkit
 * server) thread. On a device without workers the bio completes inside
 * blk_submit_bio() (blk.h), so nothing waits: a one-segment READ or WRITE
 * takes the queue's direct path to the driver. Data requests describe
 * nbdkit's own buffer (iomem.h; in PFN mode as one bvec built from the
 * frame its registration gives, with no lookup),
 * or a bounce buffer when that buffer cannot be registered; FLUSH, DISCARD
 * and WRITE_ZEROES carry no data. Large requests are cut into bios of at
 * most NBD_IO_CHUNK bytes, each within BIO_MAX_VECS in page mode.
 *
 * Offsets and lengths must be multiples of the device's logical block size
 * (the caller checks; the block layer refuses others with -EINVAL).
 * All functions return 0 or the -errno the device completed the bio with
 * (-EIO for a bad sector), with pmd_errmsg() set for set-up failures.
 */
#ifndef PMEMDEV_NBDKIT_IO_H
#define PMEMDEV_NBDKIT_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "blk.h"
#include "desc.h"

/* Most bytes of one data bio (2048 page bvecs; 1 in pfn mode). */
#define NBD_IO_CHUNK (8u << 20)

/* The device requests go to. */
struct nbd_io_dev {
	struct blk_dev *bdev;
	enum desc_mode mode; /* its descriptor mode */
	bool sync;	     /* no worker threads: bios complete in blk_submit_bio() */
};

/*
 * nbd_io_rw - read @count bytes at byte @off into @buf, or write them from
 * it (@write). @opflags: BIO_FUA for a write that must be durable when
 * this returns. On error some of the bytes may have moved.
 */
int nbd_io_rw(const struct nbd_io_dev *d, bool write, unsigned opflags, void *buf, uint32_t count,
	      uint64_t off);

/*
 * nbd_io_nodata - a FLUSH (@count and @off ignored), DISCARD or
 * WRITE_ZEROES of [@off, @off + @count) bytes, with @opflags (BIO_FUA).
 */
int nbd_io_nodata(const struct nbd_io_dev *d, enum bio_op op, unsigned opflags, uint32_t count,
		  uint64_t off);

#endif
