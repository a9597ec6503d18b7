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

struct dax_read_ctx {
	struct daxfs_dp *dp;
	struct daxfs_dp_tbuf *t;
};

/* A run of a read: region memory, or the zeroes for a hole. */
static int dax_read_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct dax_read_ctx *c = ctx;
	void *mem = region_off == DAXFS_HOLE ? c->dp->zeroes : c->dp->base + region_off;

	bv_append(c->t->bv, c->t->nr_bufs, mem, len);
	return 0;
}

static int dax_read(struct daxfs_dp *dp, uint64_t ino, uint64_t off, size_t size,
		    struct fuse_bufvec **out)
{
	struct dax_read_ctx c = {.dp = dp};
	uint64_t fsize;
	uint64_t end;
	int err;

	err = daxfs_dp_tbuf_get(0, false, DESC_PFN, dp->max_io / DAXFS_BLOCK_SIZE + 2, &c.t);
	if (err)
		return err;
	c.t->bv->count = 0;
	c.t->bv->idx = 0;
	c.t->bv->off = 0;
	err = daxfs_pin(dp->fs, ino);
	if (err)
		return err;
	err = daxfs_dp_file_size(dp->fs, ino, &fsize);
	if (err)
		goto out_unpin;
	end = off + size;
	if (end > fsize)
		end = fsize;
	err = daxfs_dp_map_runs(dp->fs, ino, off, end, 0, dax_read_run, &c);
	if (err)
		goto out_unpin;
	if (!c.t->bv->count)
		daxfs_dp_bv_one(c.t->bv, NULL, 0);
	*out = c.t->bv;
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
	size_t len, done = 0;
	const void *src;
	int err;

	err = daxfs_dp_write_src(in, dp->max_io, dp->max_io / DAXFS_BLOCK_SIZE + 2, &src, &len);
	if (err)
		return err;
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
