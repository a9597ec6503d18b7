/* SPDX-License-Identifier: MIT */
/*
 * datapath_dax.c - the dax data path: reads reply straight from region
 * memory, writes copy into the region through daxfs_write().
 *
 * A read maps the asked range with daxfs_bmap() and hands libfuse a buffer
 * vector whose entries point into the mapping (holes point at a shared
 * zero buffer). When the range is one contiguous run, libfuse writes it to
 * /dev/fuse straight from region memory: no copy in the daemon. A layout
 * pin keeps the blocks from being freed or reused until the reply is sent.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datapath.h"
#include "daxfs.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

struct daxfs_dp {
	struct daxfs *fs;
	char *base;	 /* region mapping */
	void *zeroes;	 /* max_io_bytes of zeroes for holes */
	uint32_t max_io; /* bytes */
};

static int dax_init(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct daxfs_dp **out)
{
	struct daxfs_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->fs = fs;
	dp->base = pmr_addr(daxfs_region(fs));
	dp->max_io = cfg->max_io_bytes;
	dp->zeroes = calloc(1, dp->max_io);
	if (!dp->zeroes) {
		free(dp);
		return -ENOMEM;
	}
	*out = dp;
	return 0;
}

static void dax_fini(struct daxfs_dp *dp)
{
	daxfs_dp_tbuf_release();
	free(dp->zeroes);
	free(dp);
}

/* Append [mem, mem + len) to @bv, merging with the last entry if it continues it. */
static void bv_append(struct fuse_bufvec *bv, unsigned cap, void *mem, size_t len)
{
	if (bv->count) {
		struct fuse_buf *last = &bv->buf[bv->count - 1];

		if ((char *)last->mem + last->size == (char *)mem) {
			last->size += len;
			return;
		}
	}
	if (bv->count < cap) {
		bv->buf[bv->count].mem = mem;
		bv->buf[bv->count].size = len;
		bv->buf[bv->count].flags = 0;
		bv->buf[bv->count].fd = -1;
		bv->buf[bv->count].pos = 0;
		bv->count++;
	}
}

static int dax_read(struct daxfs_dp *dp, uint64_t ino, uint64_t off, size_t size,
		    struct fuse_bufvec **out)
{
	struct daxfs_dp_tbuf *t;
	uint64_t fsize;
	uint64_t pos, end;
	int err;

	err = daxfs_dp_tbuf_get(0, false, DESC_PFN, dp->max_io / DAXFS_BLOCK_SIZE + 2, &t);
	if (err)
		return err;
	t->bv->count = 0;
	t->bv->idx = 0;
	t->bv->off = 0;
	err = daxfs_pin(dp->fs, ino);
	if (err)
		return err;
	err = daxfs_dp_file_size(dp->fs, ino, &fsize);
	if (err)
		goto out_unpin;
	end = off + size;
	if (end > fsize)
		end = fsize;
	for (pos = off; pos < end;) {
		struct daxfs_map m;
		uint64_t run_end, n;

		err = daxfs_bmap(dp->fs, ino, pos, end - pos, 0, &m);
		if (err)
			goto out_unpin;
		run_end = m.file_off + m.len < end ? m.file_off + m.len : end;
		if (run_end <= pos) {
			err = -EIO;
			goto out_unpin;
		}
		n = run_end - pos;
		if (m.region_off == DAXFS_HOLE)
			bv_append(t->bv, t->nr_bufs, dp->zeroes, n);
		else
			bv_append(t->bv, t->nr_bufs, dp->base + m.region_off + (pos - m.file_off),
				  n);
		pos = run_end;
	}
	if (!t->bv->count) {
		t->bv->count = 1;
		t->bv->buf[0].mem = NULL;
		t->bv->buf[0].size = 0;
		t->bv->buf[0].flags = 0;
	}
	*out = t->bv;
	return 0; /* the pin goes in dax_read_done() */

out_unpin:
	daxfs_unpin(dp->fs, ino);
	return err;
}

static void dax_read_done(struct daxfs_dp *dp, uint64_t ino)
{
	daxfs_unpin(dp->fs, ino);
}

static long dax_write(struct daxfs_dp *dp, uint64_t ino, uint64_t off, struct fuse_bufvec *in)
{
	size_t len = fuse_buf_size(in), done = 0;
	const void *src;
	int err;

	if (in->count == 1 && in->idx == 0 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
		src = (const char *)in->buf[0].mem + in->off;
	} else {
		struct daxfs_dp_tbuf *t;
		struct fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
		ssize_t n;

		err = daxfs_dp_tbuf_get(dp->max_io, false, DESC_PFN,
					dp->max_io / DAXFS_BLOCK_SIZE + 2, &t);
		if (err)
			return err;
		if (len > t->size)
			return -EINVAL;
		dst.buf[0].mem = t->mem;
		n = fuse_buf_copy(&dst, in, 0);
		if (n < 0)
			return n;
		len = (size_t)n;
		src = t->mem;
	}
	err = daxfs_write(dp->fs, ino, off, len, src, &done);
	if (err)
		return err;
	return (long)done;
}

static int dax_fsync(struct daxfs_dp *dp, uint64_t ino, int datasync)
{
	return daxfs_fsync(dp->fs, ino, datasync);
}

const struct daxfs_dp_ops daxfs_dp_dax_ops = {
	.name = "dax",
	.init = dax_init,
	.fini = dax_fini,
	.read = dax_read,
	.read_done = dax_read_done,
	.write = dax_write,
	.fsync = dax_fsync,
};
