/* SPDX-License-Identifier: MIT */
/*
 * nbd_io.c - NBD requests as bios (see nbd_io.h).
 */
#include <errno.h>
#include <string.h>

#include "errmsg.h"
#include "iomem.h"
#include "nbd_io.h"
#include "units.h"

/*
 * submit - @bio to the device, and its status once it has completed. A
 * device without workers completes it inside blk_submit_bio() (no plug is
 * ever started on nbdkit's threads), so only a device with workers waits.
 */
static int submit(const struct nbd_io_dev *d, struct bio *bio)
{
	int err;

	if (!d->sync)
		return blk_submit_bio_wait(d->bdev, bio);
	bio->bi_end_io = NULL;
	err = blk_submit_bio(d->bdev, bio);
	return err ? err : bio->bi_status;
}

/*
 * submit_chunk - one data bio over registered [@addr, @addr + @len) at byte
 * @off; @frame is the frame holding @addr (used in PFN mode).
 */
static int submit_chunk(const struct nbd_io_dev *d, unsigned opf, const void *addr, pfn_t frame,
			uint32_t len, uint64_t off)
{
	struct bio *bio = nbd_iomem_bio(opf);
	int err = 0;

	if (!bio)
		return pmd_err(-ENOMEM, "out of memory for a bio");
	if (d->mode == DESC_PFN)
		bio_add_pfn_nocheck(bio, frame, len,
				    (uint32_t)((uintptr_t)addr & (FRAME_SIZE - 1)));
	else
		err = bio_add_range(bio, addr, len, d->mode);
	if (!err) {
		bio->bi_iter.bi_sector = off_to_sector(off);
		err = submit(d, bio);
	}
	bio_release_pages(bio);
	return err;
}

/* frame_at - the frame of @base + @done, for @base in frame @frame. */
static pfn_t frame_at(const char *base, pfn_t frame, uint32_t done)
{
	return frame + bytes_to_frames(((uintptr_t)base & (FRAME_SIZE - 1)) + done);
}

/* rw_direct - the request straight from nbdkit's (registered) buffer. */
static int rw_direct(const struct nbd_io_dev *d, unsigned opf, char *buf, pfn_t frame,
		     uint32_t count, uint64_t off)
{
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < NBD_IO_CHUNK ? count - done : NBD_IO_CHUNK;
		int err =
			submit_chunk(d, opf, buf + done, frame_at(buf, frame, done), n, off + done);

		if (err)
			return err;
		done += n;
	}
	return 0;
}

/* rw_bounce - the request through this thread's bounce buffer, a piece at a time. */
static int rw_bounce(const struct nbd_io_dev *d, unsigned opf, bool write, char *buf,
		     uint32_t count, uint64_t off)
{
	int err = 0;
	pfn_t frame;
	char *bounce = nbd_iomem_bounce(&frame, &err);

	if (!bounce)
		return err;
	nbd_iomem_count_bounce();
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < NBD_IOMEM_BOUNCE_BYTES ? count - done
								   : NBD_IOMEM_BOUNCE_BYTES;

		if (write)
			memcpy(bounce, buf + done, n);
		err = submit_chunk(d, opf, bounce, frame, n, off + done);
		if (err)
			return err;
		if (!write)
			memcpy(buf + done, bounce, n);
		done += n;
	}
	return 0;
}

int nbd_io_rw(const struct nbd_io_dev *d, bool write, unsigned opflags, void *buf, uint32_t count,
	      uint64_t off)
{
	unsigned opf = (write ? BIO_OP_WRITE : BIO_OP_READ) | opflags;
	pfn_t frame;

	if (!count)
		return 0;
	if (nbd_iomem_pin(buf, count, &frame))
		return rw_direct(d, opf, buf, frame, count, off);
	return rw_bounce(d, opf, write, buf, count, off);
}

int nbd_io_nodata(const struct nbd_io_dev *d, enum bio_op op, unsigned opflags, uint32_t count,
		  uint64_t off)
{
	struct bio *bio = nbd_iomem_bio(op | opflags);

	if (!bio)
		return pmd_err(-ENOMEM, "out of memory for a bio");
	if (op != BIO_OP_FLUSH) {
		bio->bi_iter.bi_sector = off_to_sector(off);
		bio->bi_iter.bi_size = count;
	}
	return submit(d, bio);
}
