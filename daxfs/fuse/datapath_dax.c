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
 *
 * Emulated bad sectors (the daemon's list) behave as on the kernel's DAX
 * path over a pmem device: a read that touches one fails with EIO; a write
 * clears the whole sectors it rewrites and fails with EIO, writing
 * nothing, if it covers a bad sector in part.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bblist.h"
#include "datapath.h"
#include "daxfs.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

struct daxfs_dp {
	struct daxfs *fs;
	struct pmr_region *r;
	char *base;		    /* region mapping */
	void *zeroes;		    /* max_io_bytes of zeroes for holes */
	uint32_t max_io;	    /* bytes */
	struct pmemdev_bb *bb;	    /* the daemon's badblocks list, or NULL */
	struct daxfs_badblocks bad; /* @bb as byte ranges */
};

static int dax_init(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct daxfs_dp **out)
{
	struct daxfs_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->fs = fs;
	dp->r = daxfs_region(fs);
	dp->base = pmr_addr(dp->r);
	dp->max_io = cfg->max_io_bytes;
	dp->bb = cfg->bb;
	if (dp->bb)
		daxfs_bb_ops(dp->bb, &dp->bad);
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

/* has_bad - the list has bad sectors (one relaxed load when it is empty) */
static bool has_bad(const struct daxfs_dp *dp)
{
	return dp->bb && pmemdev_bb_count(dp->bb);
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

	(void)pos;
	if (region_off != DAXFS_HOLE && has_bad(c->dp) &&
	    c->dp->bad.check(c->dp->bad.ctx, region_off, len))
		return -EIO;
	/*
	 * The kernel copies the reply out of region memory: a page a holder
	 * of a chunk descriptor took away would fail it with EFAULT (EIO to
	 * the reader) and the guard would never know. Touch such pages here
	 * first, where the guard puts them back or detaches the chunk.
	 */
	if (region_off != DAXFS_HOLE)
		pmr_guard_touch(c->dp->r, region_off, len);

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
	err = daxfs_pin_size(dp->fs, ino, &fsize);
	if (err)
		return err;
	end = off + size;
	if (end > fsize)
		end = fsize;
	err = daxfs_dp_map_runs(dp->fs, ino, off, end, 0, NULL, dax_read_run, &c);
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

/* a run of a write: a bad sector it covers in part fails the write */
static int dax_write_check(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct daxfs_dp *dp = ctx;
	uint64_t head = region_off & ~UINT64_C(511), tail = (region_off + len - 1) & ~UINT64_C(511);

	(void)pos;
	if (region_off == DAXFS_HOLE)
		return 0; /* new blocks: the core clears them */
	if (region_off != head && dp->bad.check(dp->bad.ctx, head, 512))
		return -EIO;
	if ((region_off + len) % 512 && dp->bad.check(dp->bad.ctx, tail, 512))
		return -EIO;
	return 0;
}

/* a run that was written: its whole sectors are good again */
static int dax_write_clear(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct daxfs_dp *dp = ctx;

	(void)pos;
	if (region_off != DAXFS_HOLE)
		dp->bad.clear(dp->bad.ctx, region_off, len);
	return 0;
}

static long dax_write(struct daxfs_dp *dp, uint64_t ino, uint64_t off, struct fuse_bufvec *in)
{
	size_t len, done = 0;
	const void *src;
	bool bad;
	int err;

	err = daxfs_dp_write_src(in, dp->max_io, dp->max_io / DAXFS_BLOCK_SIZE + 2, &src, &len);
	if (err)
		return err;
	bad = len && has_bad(dp);
	if (bad) {
		/* pinned, so the blocks checked are the blocks written */
		err = daxfs_pin(dp->fs, ino);
		if (err)
			return err;
		err = daxfs_dp_map_runs(dp->fs, ino, off, off + len, 0, NULL, dax_write_check, dp);
	}
	if (!err)
		err = daxfs_write(dp->fs, ino, off, len, src, &done);
	if (bad) {
		if (done)
			daxfs_dp_map_runs(dp->fs, ino, off, off + done, 0, NULL, dax_write_clear,
					  dp);
		daxfs_unpin(dp->fs, ino);
	}
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
