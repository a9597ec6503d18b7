/* SPDX-License-Identifier: MIT */
/*
 * datapath_page.c - the page data path: file data is cached in a 4 KiB page
 * cache of registered DRAM pages with struct pages (pagecache.h), as the
 * kernel's buffered I/O does.
 *
 * Read misses fill runs of pages with one read bio per contiguous run of
 * region blocks; writes copy into cache pages and mark them dirty (the file
 * size is committed at once with daxfs_write_commit); dirty pages go back
 * by write bios (FUA) on fsync, flush (close), release, before truncate,
 * fallocate and SEEK_DATA/SEEK_HOLE, when the kernel forgets the inode,
 * under memory pressure (eviction) and at unmount. Bios carry the cache
 * pages as page bvecs (one per 4 KiB) in the page and folio modes, or as
 * pfn bvecs in the pfn mode.
 *
 * No acknowledged write is lost: a write that dirties a page over a hole
 * reserves a block for it (daxfs_reserve), so ENOSPC is the write's error
 * and its writeback allocates from the reservation (daxfs_bmap_resv). A
 * writeback that fails (a corrupt block map: EIO; a filesystem stopped by
 * errors=remount-ro: EROFS) leaves the pages dirty in the cache; fsync and
 * close report it; the pages are dropped only when their file is gone. Data
 * still dirty at unmount is recorded as lost in the superblock.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bio.h"
#include "blk.h"
#include "datapath.h"
#include "daxfs.h"
#include "errmsg.h"
#include "json.h"
#include "pagecache.h"
#include "pmemdev.h"
#include "units.h"

struct daxfs_dp {
	struct daxfs *fs;
	struct pmemdev *pd;
	struct blk_dev *blk;
	enum desc_mode mode;
	uint32_t max_io; /* bytes */
	struct pagecache *pc;
};

/* One synchronous bio over @nr cache pages at @region_off. */
static int pages_rw(struct daxfs_dp *dp, unsigned opf, struct page **pages, unsigned nr,
		    uint64_t region_off)
{
	enum bio_desc desc = dp->mode == DESC_PFN ? BIO_DESC_PFN : BIO_DESC_PAGE;
	struct bio *bio;
	unsigned i;
	int err;

	err = bio_alloc(nr, opf, desc, &bio);
	if (err)
		return err;
	bio->bi_iter.bi_sector = off_to_sector(region_off);
	for (i = 0; i < nr; i++) {
		uint32_t added;

		if (desc == BIO_DESC_PFN)
			added = bio_add_pfn(bio, page_to_pfn(pages[i]), FRAME_SIZE, 0);
		else
			added = bio_add_page(bio, pages[i], FRAME_SIZE, 0);
		if (added != FRAME_SIZE) {
			bio_put(bio);
			return -EIO;
		}
	}
	err = blk_submit_bio_wait(dp->blk, bio);
	bio_put(bio);
	return err;
}

/* A fill or writeback of cache pages @pages, the first at file offset @start. */
struct pc_io {
	struct daxfs_dp *dp;
	struct page **pages;
	uint64_t start; /* bytes: the file offset of pages[0] */
};

/* A run of a fill: zeroes for a hole, else one read bio. */
static int pc_fill_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct pc_io *io = ctx;
	struct page **pages = io->pages + bytes_to_frames(pos - io->start);
	unsigned n = (unsigned)bytes_to_frames(len), i;

	if (region_off != DAXFS_HOLE)
		return pages_rw(io->dp, BIO_OP_READ, pages, n, region_off);
	for (i = 0; i < n; i++)
		memset(page_address(pages[i]), 0, FRAME_SIZE);
	return 0;
}

/* A run of a writeback: one FUA write bio (the blocks were allocated). */
static int pc_writeback_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct pc_io *io = ctx;

	if (region_off == DAXFS_HOLE)
		return -EIO;
	return pages_rw(io->dp, BIO_OP_WRITE | BIO_FUA,
			io->pages + bytes_to_frames(pos - io->start),
			(unsigned)bytes_to_frames(len), region_off);
}

/*
 * Fill or write back @nr pages from file page @index, under a pin of @ino;
 * a writeback allocates from the *@resv blocks reserved for the pages.
 */
static int pc_io(struct daxfs_dp *dp, uint64_t ino, uint64_t index, struct page **pages,
		 unsigned nr, uint64_t *resv)
{
	struct pc_io io = {.dp = dp, .pages = pages, .start = frames_to_bytes(index)};
	int err;

	err = daxfs_pin(dp->fs, ino);
	if (err)
		return err;
	err = daxfs_dp_map_runs(dp->fs, ino, io.start, frames_to_bytes(index + nr),
				resv ? DAXFS_BMAP_ALLOC : 0, resv,
				resv ? pc_writeback_run : pc_fill_run, &io);
	daxfs_unpin(dp->fs, ino);
	return err;
}

static int pc_fill(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr)
{
	return pc_io(ctx, ino, index, pages, nr, NULL);
}

static int pc_writeback(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr,
			unsigned *resv)
{
	uint64_t left = *resv;
	int err = pc_io(ctx, ino, index, pages, nr, &left);

	*resv = (unsigned)left;
	return err;
}

/* A run of the reserve hook: a hole needs a block for each page asked. */
struct pc_resv {
	uint64_t start; /* bytes: file offset of the first page asked about */
	uint64_t ask;	/* bit per page: about to be dirtied */
	uint64_t holes; /* bit per page: asked, and no block yet */
};

static int pc_resv_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct pc_resv *r = ctx;

	if (region_off != DAXFS_HOLE)
		return 0;
	for (uint64_t p = bytes_to_frames(pos - r->start);
	     p < bytes_to_frames(pos + len - r->start); p++)
		r->holes |= r->ask & (UINT64_C(1) << p);
	return 0;
}

/* Reserve a block for each page about to be dirtied over a hole. */
static int pc_reserve(void *ctx, uint64_t ino, uint64_t index, unsigned nr, uint64_t *mask)
{
	struct daxfs_dp *dp = ctx;
	struct pc_resv r = {.start = frames_to_bytes(index), .ask = *mask};
	int err;

	err = daxfs_dp_map_runs(dp->fs, ino, r.start, frames_to_bytes(index + nr), 0, NULL,
				pc_resv_run, &r);
	if (!err && r.holes)
		err = daxfs_reserve(dp->fs, (uint64_t)__builtin_popcountll(r.holes));
	if (err)
		return err;
	*mask = r.holes;
	return 0;
}

static void pc_unreserve(void *ctx, uint64_t ino, unsigned n)
{
	struct daxfs_dp *dp = ctx;

	daxfs_unreserve(dp->fs, n);
}

static const struct pagecache_ops page_pc_ops = {
	.fill = pc_fill,
	.writeback = pc_writeback,
	.reserve = pc_reserve,
	.unreserve = pc_unreserve,
};

static int page_init(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct daxfs_dp **out)
{
	struct daxfs_dp *dp = calloc(1, sizeof(*dp));
	int err;

	if (!dp)
		return -ENOMEM;
	dp->fs = fs;
	dp->mode = cfg->mode;
	dp->max_io = cfg->max_io_bytes;
	err = daxfs_dp_pmemdev_new(fs, cfg, &dp->pd);
	if (err)
		goto out_free;
	dp->blk = pmemdev_blk(dp->pd);
	err = pagecache_new(cfg->cache_pages, &page_pc_ops, dp, &dp->pc);
	if (err)
		goto out_pmemdev;
	*out = dp;
	return 0;

out_pmemdev:
	daxfs_dp_pmemdev_delete(dp->fs, &dp->pd);
out_free:
	free(dp);
	return err;
}

static void page_fini(struct daxfs_dp *dp)
{
	int err = pagecache_writeback(dp->pc, 0, true);
	uint64_t lost = pagecache_discard(dp->pc, 0);

	if (lost) {
		char msg[160];

		snprintf(msg, sizeof(msg),
			 "%llu dirty pages could not be written back at unmount (%s) and are lost",
			 (unsigned long long)lost, strerror(err < 0 ? -err : EIO));
		daxfs_report_error(dp->fs, DAXFS_ERR_DATA, DAXFS_WHY_IO, 0, 0, err < 0 ? -err : EIO,
				   msg);
	}
	pagecache_delete(&dp->pc);
	daxfs_dp_tbuf_release();
	daxfs_dp_pmemdev_delete(dp->fs, &dp->pd);
	free(dp);
}

static int page_read(struct daxfs_dp *dp, uint64_t ino, uint64_t off, size_t size,
		     struct fuse_bufvec **out)
{
	struct daxfs_dp_tbuf *t;
	uint64_t fsize, end;
	int err;

	err = daxfs_dp_tbuf_get(dp->max_io, false, DESC_PFN, 1, &t);
	if (err)
		return err;
	daxfs_dp_bv_one(t->bv, t->mem, 0);
	err = daxfs_file_size(dp->fs, ino, &fsize);
	if (err)
		return err;
	end = off + size < fsize ? off + size : fsize;
	if (off < end) {
		err = pagecache_read(dp->pc, ino, off, end - off, t->mem);
		if (err)
			return err;
		t->bv->buf[0].size = end - off;
	}
	*out = t->bv;
	return 0;
}

static long page_write(struct daxfs_dp *dp, uint64_t ino, uint64_t off, struct fuse_bufvec *in)
{
	size_t len = fuse_buf_size(in), done;
	const void *src;
	uint64_t fsize;
	int err;

	if (!len)
		return 0;
	err = daxfs_file_size(dp->fs, ino, &fsize);
	if (err)
		return err;
	if (off + len > DAXFS_FILE_SIZE_MAX)
		return -EFBIG;
	err = daxfs_writable(dp->fs);
	if (!err)
		err = daxfs_dp_write_src(in, dp->max_io, 1, &src, &len);
	if (err)
		return err;
	/* a short write (ENOSPC part way) returns what was taken */
	err = pagecache_write(dp->pc, ino, off, len, src, &done);
	if (!done)
		return err;
	err = daxfs_write_commit(dp->fs, ino, off + done);
	if (err)
		return err;
	return (long)done;
}

static int page_fsync(struct daxfs_dp *dp, uint64_t ino, int datasync)
{
	int err = pagecache_writeback(dp->pc, ino, false);

	if (err)
		return err;
	return daxfs_fsync(dp->fs, ino, datasync);
}

static int page_flush(struct daxfs_dp *dp, uint64_t ino, bool drop)
{
	return pagecache_writeback(dp->pc, ino, drop);
}

static void page_forget(struct daxfs_dp *dp, uint64_t ino)
{
	struct daxfs_attr a;
	int err = pagecache_writeback(dp->pc, ino, true);

	/* pages that cannot go back stay while the file has a name: its data
	 * is acknowledged; those of a removed file go with it */
	if (err) {
		err = daxfs_getattr(dp->fs, ino, &a);
		if (err == -ENOENT || (!err && !a.nlink))
			pagecache_discard(dp->pc, ino);
	}
}

static void page_print_stats(struct daxfs_dp *dp, FILE *f, int json)
{
	struct pagecache_stats st;

	pagecache_get_stats(dp->pc, &st);
	if (json) {
		fprintf(f, "  \"pagecache\": {");
		PMD_JSON_U64S(f, {"pages", st.nr_pages}, {"used_pages", st.used_pages},
			      {"dirty_pages", st.dirty_pages}, {"hits", st.hits},
			      {"misses", st.misses}, {"evictions", st.evictions},
			      {"writeback_pages", st.writeback_pages},
			      {"writeback_errors", st.writeback_errors},
			      {"reserved_pages", st.reserved_pages},
			      {"descriptor_bytes", st.descriptor_bytes});
		fprintf(f, "},\n");
	} else {
		fprintf(f,
			"page cache:    %llu of %llu pages used, %llu dirty (%llu holding a "
			"reservation); %llu hits, %llu misses, %llu evictions, %llu pages "
			"written back, %llu failed writebacks; %llu descriptor bytes\n",
			(unsigned long long)st.used_pages, (unsigned long long)st.nr_pages,
			(unsigned long long)st.dirty_pages, (unsigned long long)st.reserved_pages,
			(unsigned long long)st.hits, (unsigned long long)st.misses,
			(unsigned long long)st.evictions, (unsigned long long)st.writeback_pages,
			(unsigned long long)st.writeback_errors,
			(unsigned long long)st.descriptor_bytes);
	}
	daxfs_dp_print_blk_stats(dp->blk, f, json);
}

const struct daxfs_dp_ops daxfs_dp_page_ops = {
	.name = "page",
	.init = page_init,
	.fini = page_fini,
	.read = page_read,
	.write = page_write,
	.fsync = page_fsync,
	.flush = page_flush,
	.forget = page_forget,
	.print_stats = page_print_stats,
};
