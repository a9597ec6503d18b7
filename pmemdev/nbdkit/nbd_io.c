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

/* submit_chunk - one data bio over registered [@addr, @addr + @len) at byte @off. */
static int submit_chunk(struct blk_dev *dev, enum desc_mode mode, unsigned opf, const void *addr,
			uint32_t len, uint64_t off)
{
	struct bio *bio = nbd_iomem_bio(opf);
	int err;

	if (!bio)
		return pmd_err(-ENOMEM, "out of memory for a bio");
	err = bio_add_range(bio, addr, len, mode);
	if (!err) {
		bio->bi_iter.bi_sector = off_to_sector(off);
		err = blk_submit_bio_wait(dev, bio);
	}
	bio_release_pages(bio);
	return err;
}

/* rw_direct - the request straight from nbdkit's (registered) buffer. */
static int rw_direct(struct blk_dev *dev, enum desc_mode mode, unsigned opf, char *buf,
		     uint32_t count, uint64_t off)
{
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < NBD_IO_CHUNK ? count - done : NBD_IO_CHUNK;
		int err = submit_chunk(dev, mode, opf, buf + done, n, off + done);

		if (err)
			return err;
		done += n;
	}
	return 0;
}

/* rw_bounce - the request through this thread's bounce buffer, a piece at a time. */
static int rw_bounce(struct blk_dev *dev, enum desc_mode mode, unsigned opf, bool write, char *buf,
		     uint32_t count, uint64_t off)
{
	int err = 0;
	char *bounce = nbd_iomem_bounce(&err);

	if (!bounce)
		return err;
	nbd_iomem_count_bounce();
	for (uint32_t done = 0; done < count;) {
		uint32_t n = count - done < NBD_IOMEM_BOUNCE_BYTES ? count - done
								   : NBD_IOMEM_BOUNCE_BYTES;

		if (write)
			memcpy(bounce, buf + done, n);
		err = submit_chunk(dev, mode, opf, bounce, n, off + done);
		if (err)
			return err;
		if (!write)
			memcpy(buf + done, bounce, n);
		done += n;
	}
	return 0;
}

int nbd_io_rw(struct blk_dev *dev, enum desc_mode mode, bool write, unsigned opflags, void *buf,
	      uint32_t count, uint64_t off)
{
	unsigned opf = (write ? BIO_OP_WRITE : BIO_OP_READ) | opflags;

	if (!count)
		return 0;
	if (nbd_iomem_pin(buf, count))
		return rw_direct(dev, mode, opf, buf, count, off);
	return rw_bounce(dev, mode, opf, write, buf, count, off);
}

int nbd_io_nodata(struct blk_dev *dev, enum bio_op op, unsigned opflags, uint32_t count,
		  uint64_t off)
{
	struct bio *bio = nbd_iomem_bio(op | opflags);

	if (!bio)
		return pmd_err(-ENOMEM, "out of memory for a bio");
	if (op != BIO_OP_FLUSH) {
		bio->bi_iter.bi_sector = off_to_sector(off);
		bio->bi_iter.bi_size = count;
	}
	return blk_submit_bio_wait(dev, bio);
}
