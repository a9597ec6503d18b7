/* SPDX-License-Identifier: MIT */
/*
 * fuse_datapath.c - data path names and the per-thread scratch buffers the
 * data paths share (see datapath.h).
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "datapath.h"
#include "daxfs.h"
#include "errmsg.h"
#include "pfn.h"
#include "region.h"
#include "units.h"

static const char *const dp_names[] = {
	[DAXFS_DP_DAX] = "dax",
	[DAXFS_DP_BIO] = "bio",
	[DAXFS_DP_PAGE] = "page",
};

int daxfs_dp_parse(const char *s, enum daxfs_dp_kind *out)
{
	unsigned i;

	for (i = 0; i < sizeof(dp_names) / sizeof(dp_names[0]); i++) {
		if (!strcmp(s, dp_names[i])) {
			*out = (enum daxfs_dp_kind)i;
			return 0;
		}
	}
	return pmd_err(-EINVAL, "bad option datapath=%s: expected dax, bio or page", s);
}

const char *daxfs_dp_name(enum daxfs_dp_kind kind)
{
	if ((unsigned)kind >= sizeof(dp_names) / sizeof(dp_names[0]))
		return "?";
	return dp_names[kind];
}

const struct daxfs_dp_ops *daxfs_dp_ops_of(enum daxfs_dp_kind kind)
{
	switch (kind) {
	case DAXFS_DP_DAX:
		return &daxfs_dp_dax_ops;
	case DAXFS_DP_BIO:
		return &daxfs_dp_bio_ops;
	case DAXFS_DP_PAGE:
		return &daxfs_dp_page_ops;
	}
	return NULL;
}

static pthread_key_t tbuf_key;
static pthread_once_t tbuf_once = PTHREAD_ONCE_INIT;
static _Thread_local struct daxfs_dp_tbuf *tbuf_self;

static void tbuf_free(void *p)
{
	struct daxfs_dp_tbuf *t = p;

	if (!t)
		return;
	if (t->range)
		pfn_range_unregister(&t->range);
	free(t->mem);
	free(t->bv);
	free(t);
}

static void tbuf_key_init(void)
{
	pthread_key_create(&tbuf_key, tbuf_free);
}

int daxfs_dp_tbuf_get(uint64_t size, bool register_mode, enum desc_mode mode, unsigned nr_bufs,
		      struct daxfs_dp_tbuf **out)
{
	struct daxfs_dp_tbuf *t = tbuf_self;
	int err;

	if (t) {
		*out = t;
		return 0;
	}
	pthread_once(&tbuf_once, tbuf_key_init);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->size = align_up(size, HUGE_SIZE);
	if (posix_memalign(&t->mem, HUGE_SIZE, t->size)) {
		t->mem = NULL;
		err = pmd_err(-ENOMEM, "cannot allocate a %llu-byte I/O buffer",
			      (unsigned long long)t->size);
		goto out_free;
	}
	memset(t->mem, 0, t->size);
	t->nr_bufs = nr_bufs ? nr_bufs : 1;
	t->bv = calloc(1, sizeof(struct fuse_bufvec) + t->nr_bufs * sizeof(struct fuse_buf));
	if (!t->bv) {
		err = -ENOMEM;
		goto out_free;
	}
	if (register_mode) {
		err = pfn_range_register(t->mem, t->size, PFN_KIND_DRAM, mode, &t->range);
		if (err)
			goto out_free;
	}
	tbuf_self = t;
	pthread_setspecific(tbuf_key, t);
	*out = t;
	return 0;

out_free:
	tbuf_free(t);
	return err;
}

void daxfs_dp_tbuf_release(void)
{
	struct daxfs_dp_tbuf *t = tbuf_self;

	if (!t)
		return;
	pthread_setspecific(tbuf_key, NULL);
	tbuf_self = NULL;
	tbuf_free(t);
}

int daxfs_dp_map_runs(struct daxfs *fs, uint64_t ino, uint64_t start, uint64_t end, unsigned flags,
		      uint64_t *resv, daxfs_dp_run_fn fn, void *ctx)
{
	uint64_t pos, run_end;
	int err;

	for (pos = start; pos < end; pos = run_end) {
		uint64_t size = pmr_size(daxfs_region(fs));
		struct daxfs_map m;

		err = resv ? daxfs_bmap_resv(fs, ino, pos, end - pos, resv, &m)
			   : daxfs_bmap(fs, ino, pos, end - pos, flags, &m);
		if (err)
			return err;
		run_end = m.file_off + m.len < end ? m.file_off + m.len : end;
		if (run_end <= pos || pos < m.file_off)
			return -EIO;
		/* the core checked its extents: check again what the kernel and
		 * the block layer will be given */
		if (m.region_off != DAXFS_HOLE &&
		    (m.region_off > size || m.len > size - m.region_off))
			return pmd_err(-EIO, "inode %llu: block map leaves the region",
				       (unsigned long long)ino);
		err = fn(ctx, pos, run_end - pos,
			 m.region_off == DAXFS_HOLE ? DAXFS_HOLE
						    : m.region_off + (pos - m.file_off));
		if (err)
			return err;
	}
	return 0;
}

void daxfs_dp_bv_one(struct fuse_bufvec *bv, void *mem, size_t size)
{
	bv->count = 1;
	bv->idx = 0;
	bv->off = 0;
	bv->buf[0].flags = 0;
	bv->buf[0].mem = mem;
	bv->buf[0].size = size;
}

int daxfs_dp_write_src(struct fuse_bufvec *in, uint64_t tbuf_size, unsigned nr_bufs,
		       const void **src, size_t *len)
{
	size_t size = fuse_buf_size(in);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	struct daxfs_dp_tbuf *t;
	ssize_t n;
	int err;

	if (in->count == 1 && in->idx == 0 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
		*src = (const char *)in->buf[0].mem + in->off;
		*len = size;
		return 0;
	}
	err = daxfs_dp_tbuf_get(tbuf_size, false, DESC_PFN, nr_bufs, &t);
	if (err)
		return err;
	if (size > t->size)
		return -EINVAL;
	dst.buf[0].mem = t->mem;
	n = fuse_buf_copy(&dst, in, 0);
	if (n < 0)
		return (int)n;
	*src = t->mem;
	*len = (size_t)n;
	return 0;
}
