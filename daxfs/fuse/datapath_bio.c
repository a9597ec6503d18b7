/* SPDX-License-Identifier: MIT */
/*
 * datapath_bio.c - the bio data path: file data moves through the block
 * layer, as pfn (or folio/page) bios between a per-thread registered DRAM
 * buffer and a pmemdev device on the filesystem's own region.
 *
 * Reads and writes work on whole 4 KiB blocks of the buffer: the asked
 * byte range is widened to block boundaries; a write first reads the
 * partial head and tail blocks (read-modify-write), then copies the FUSE
 * data in and writes the range back with FUA, so data is durable when the
 * write returns, as on the dax path. daxfs_bmap(ALLOC) maps (and allocates)
 * the range and daxfs_write_commit() updates size and mtime; a layout pin
 * keeps the blocks in place while bios are in flight.
 *
 * Locking: a striped reader/writer lock per inode (hashed) makes a write,
 * with its read-modify-write of shared head and tail blocks, atomic with
 * respect to other writes and reads of the same file, as the core's inode
 * lock does on the dax path.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bio.h"
#include "blk.h"
#include "datapath.h"
#include "memfail.h"
#include "daxfs.h"
#include "errmsg.h"
#include "json.h"
#include "pmemdev.h"
#include "region.h"
#include "units.h"

#define BIO_MAX_RUNS 512
#define BIO_LOCK_STRIPES 64

struct daxfs_dp {
	struct daxfs *fs;
	struct pmemdev *pd;
	struct blk_dev *blk;
	enum desc_mode mode;
	uint32_t max_io; /* bytes */
	uint64_t buf_bytes;
	pthread_rwlock_t locks[BIO_LOCK_STRIPES]; /* by inode number */
};

static pthread_rwlock_t *ino_lock(struct daxfs_dp *dp, uint64_t ino)
{
	return &dp->locks[(ino * UINT64_C(0x9e3779b97f4a7c15)) >> 58];
}

int daxfs_dp_pmemdev_new(struct daxfs *fs, const struct daxfs_dp_config *dcfg, struct pmemdev **out)
{
	struct pmemdev_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.region = daxfs_region(fs);
	cfg.target = PMEMDEV_TARGET_PMEM;
	cfg.mode = dcfg->mode;
	cfg.bb = dcfg->bb;
	cfg.nr_workers = 0;
	cfg.logical_block_size = 512;
	int err = pmemdev_new(&cfg, out);

	if (!err) /* owners of failing frames: in the descriptors now */
		daxfs_dp_owner_attach(fs, *out);
	return err;
}

void daxfs_dp_pmemdev_delete(struct daxfs *fs, struct pmemdev **pd)
{
	daxfs_dp_owner_detach(fs, *pd);
	pmemdev_delete(pd);
}

void daxfs_dp_print_blk_stats(struct blk_dev *dev, FILE *f, int json)
{
	struct blk_stats st;
	unsigned i;
	int first = 1;

	blk_dev_get_stats(dev, &st);
	if (json) {
		fprintf(f, "  \"blk\": {");
		PMD_JSON_U64S(f, {"reads", st.ios[BLK_STAT_READ]},
			      {"writes", st.ios[BLK_STAT_WRITE]}, {"other", st.ios[BLK_STAT_OTHER]},
			      {"read_bytes", st.bytes[BLK_STAT_READ]},
			      {"write_bytes", st.bytes[BLK_STAT_WRITE]}, {"errors", st.errors},
			      {"requests", st.requests}, {"merges", st.merges},
			      {"splits", st.splits}, {"bvecs", st.bvecs});
		fprintf(f, ", \"mean_bvecs_per_bio\": %.2f, ", blk_stats_mean_bvecs(&st));
		PMD_JSON_U64S(f, {"p50_ns", blk_stats_lat_percentile(&st, 50)},
			      {"p99_ns", blk_stats_lat_percentile(&st, 99)});
		fprintf(f, ", \"bvecs_per_bio_hist\": {");
		for (i = 0; i < BLK_SEG_BUCKETS; i++) {
			if (!st.seg_hist[i])
				continue;
			fprintf(f, "%s\"%u\": %llu", first ? "" : ", ", 1u << i,
				(unsigned long long)st.seg_hist[i]);
			first = 0;
		}
		fprintf(f, "}}");
		return;
	}
	fprintf(f,
		"block layer:   %llu reads, %llu writes, %llu other bios; %llu/%llu bytes "
		"read/written\n",
		(unsigned long long)st.ios[BLK_STAT_READ],
		(unsigned long long)st.ios[BLK_STAT_WRITE],
		(unsigned long long)st.ios[BLK_STAT_OTHER],
		(unsigned long long)st.bytes[BLK_STAT_READ],
		(unsigned long long)st.bytes[BLK_STAT_WRITE]);
	fprintf(f, "               %llu requests, %llu merges, %llu splits, %llu errors\n",
		(unsigned long long)st.requests, (unsigned long long)st.merges,
		(unsigned long long)st.splits, (unsigned long long)st.errors);
	fprintf(f, "bvecs per bio: mean %.2f;", blk_stats_mean_bvecs(&st));
	for (i = 0; i < BLK_SEG_BUCKETS; i++) {
		if (st.seg_hist[i])
			fprintf(f, " [%u..%u): %llu", 1u << i, 2u << i,
				(unsigned long long)st.seg_hist[i]);
	}
	fprintf(f, "\nbio latency:   p50 %llu ns, p99 %llu ns\n",
		(unsigned long long)blk_stats_lat_percentile(&st, 50),
		(unsigned long long)blk_stats_lat_percentile(&st, 99));
}

static int bio_init_dp(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct daxfs_dp **out)
{
	struct daxfs_dp *dp = calloc(1, sizeof(*dp));
	unsigned i;
	int err;

	if (!dp)
		return -ENOMEM;
	for (i = 0; i < BIO_LOCK_STRIPES; i++)
		pthread_rwlock_init(&dp->locks[i], NULL);
	dp->fs = fs;
	dp->mode = cfg->mode;
	dp->max_io = cfg->max_io_bytes;
	dp->buf_bytes = align_up(dp->max_io + 2 * DAXFS_BLOCK_SIZE, HUGE_SIZE);
	err = daxfs_dp_pmemdev_new(fs, cfg, &dp->pd);
	if (err) {
		free(dp);
		return err;
	}
	dp->blk = pmemdev_blk(dp->pd);
	*out = dp;
	return 0;
}

static void bio_fini(struct daxfs_dp *dp)
{
	unsigned i;

	daxfs_dp_tbuf_release();
	daxfs_dp_pmemdev_delete(dp->fs, &dp->pd);
	for (i = 0; i < BIO_LOCK_STRIPES; i++)
		pthread_rwlock_destroy(&dp->locks[i]);
	free(dp);
}

/* One synchronous bio between registered memory [@mem, +@len) and @region_off. */
static int dp_bio_rw(struct daxfs_dp *dp, unsigned opf, void *mem, uint64_t len,
		     uint64_t region_off)
{
	enum bio_desc desc = bio_desc_of(dp->mode);
	unsigned nr = bio_nr_vecs_for(mem, len, dp->mode);
	struct bio *bio;
	int err;

	err = bio_alloc(nr, opf, desc, &bio);
	if (err)
		return err;
	bio->bi_iter.bi_sector = off_to_sector(region_off);
	err = bio_add_range(bio, mem, len, dp->mode);
	if (!err)
		err = blk_submit_bio_wait(dp->blk, bio);
	bio_put(bio);
	return err;
}

/* The block-aligned file range [a0, ...) held in @buf during a read or write. */
struct bio_io {
	struct daxfs_dp *dp;
	char *buf;
	uint64_t a0; /* bytes: the file offset of buf[0] */
};

/* A run of a read: zeroes for a hole, else one read bio. */
static int bio_read_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct bio_io *io = ctx;
	char *mem = io->buf + (pos - io->a0);

	if (region_off == DAXFS_HOLE) {
		memset(mem, 0, len);
		return 0;
	}
	return dp_bio_rw(io->dp, BIO_OP_READ, mem, len, region_off);
}

/*
 * Start a read or write of @ino: this thread's buffer in *@t, the inode's
 * lock stripe held (for writing when @write), a layout pin taken and the
 * file size in *@fsize. Returns 0 (end with bio_end()), or -errno with
 * nothing held.
 */
static int bio_begin(struct daxfs_dp *dp, uint64_t ino, bool write, struct daxfs_dp_tbuf **t,
		     uint64_t *fsize)
{
	int err;

	err = daxfs_dp_tbuf_get(dp->buf_bytes, true, dp->mode, 1, t);
	if (err)
		return err;
	if (write)
		pthread_rwlock_wrlock(ino_lock(dp, ino));
	else
		pthread_rwlock_rdlock(ino_lock(dp, ino));
	err = daxfs_pin_size(dp->fs, ino, fsize);
	if (err)
		goto out_unlock;
	return 0;

out_unlock:
	pthread_rwlock_unlock(ino_lock(dp, ino));
	return err;
}

static void bio_end(struct daxfs_dp *dp, uint64_t ino)
{
	daxfs_unpin(dp->fs, ino);
	pthread_rwlock_unlock(ino_lock(dp, ino));
}

/* No bio of @ino in flight while its blocks move (DAX mmap isolation). */
static void bio_quiesce(struct daxfs_dp *dp, uint64_t ino, bool begin)
{
	if (begin)
		pthread_rwlock_wrlock(ino_lock(dp, ino));
	else
		pthread_rwlock_unlock(ino_lock(dp, ino));
}

static int bio_read(struct daxfs_dp *dp, uint64_t ino, uint64_t off, size_t size,
		    struct fuse_bufvec **out)
{
	struct bio_io io = {.dp = dp};
	struct daxfs_dp_tbuf *t;
	uint64_t fsize, end, a1;
	int err;

	err = bio_begin(dp, ino, false, &t, &fsize);
	if (err)
		return err;
	io.buf = t->mem;
	daxfs_dp_bv_one(t->bv, io.buf, 0);
	end = off + size < fsize ? off + size : fsize;
	if (off < end) {
		io.a0 = align_down(off, DAXFS_BLOCK_SIZE);
		a1 = align_up(end, DAXFS_BLOCK_SIZE);
		err = daxfs_dp_map_runs(dp->fs, ino, io.a0, a1, 0, NULL, bio_read_run, &io);
		if (!err)
			daxfs_dp_bv_one(t->bv, io.buf + (off - io.a0), end - off);
	}
	if (!err)
		*out = t->bv;
	bio_end(dp, ino);
	return err;
}

struct bio_run {
	uint64_t file_off;   /* bytes */
	uint64_t len;	     /* bytes */
	uint64_t region_off; /* bytes */
};

/* The runs of a write, mapped (and allocated) before any data moves. */
struct bio_runs {
	struct bio_run run[BIO_MAX_RUNS];
	unsigned nr;
	uint64_t end; /* bytes: the end of the mapped range */
};

static int bio_write_run(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off)
{
	struct bio_runs *r = ctx;

	if (region_off == DAXFS_HOLE)
		return -EIO;
	r->run[r->nr].file_off = pos;
	r->run[r->nr].len = len;
	r->run[r->nr].region_off = region_off;
	r->nr++;
	/* more runs than a bio request can carry: the map is too fragmented */
	return r->nr == BIO_MAX_RUNS && pos + len < r->end ? -EIO : 0;
}

/* Read file block @blk_off (bytes) into @dst through the runs in @r. */
static int read_block(struct daxfs_dp *dp, const struct bio_runs *r, uint64_t blk_off, char *dst)
{
	const struct bio_run *run;
	unsigned i;

	for (i = 0; i < r->nr; i++) {
		run = &r->run[i];
		if (blk_off >= run->file_off && blk_off < run->file_off + run->len)
			return dp_bio_rw(dp, BIO_OP_READ, dst, DAXFS_BLOCK_SIZE,
					 run->region_off + (blk_off - run->file_off));
	}
	return -EIO;
}

/* The old contents of file block @blk_off: from the region, or zeroes past EOF. */
static int fill_block(struct daxfs_dp *dp, const struct bio_runs *r, uint64_t fsize,
		      uint64_t blk_off, char *dst)
{
	if (blk_off >= fsize) {
		memset(dst, 0, DAXFS_BLOCK_SIZE);
		return 0;
	}
	return read_block(dp, r, blk_off, dst);
}

static long bio_write(struct daxfs_dp *dp, uint64_t ino, uint64_t off, struct fuse_bufvec *in)
{
	size_t len = fuse_buf_size(in);
	struct bio_runs r;
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
	struct daxfs_dp_tbuf *t;
	uint64_t fsize, end = off + len, a0, a1;
	unsigned i;
	char *buf;
	ssize_t n;
	int err;

	if (!len)
		return 0;
	if (len > dp->max_io)
		return -EINVAL;
	err = bio_begin(dp, ino, true, &t, &fsize);
	if (err)
		return err;
	buf = t->mem;
	a0 = align_down(off, DAXFS_BLOCK_SIZE);
	a1 = align_up(end, DAXFS_BLOCK_SIZE);
	r.nr = 0;
	r.end = a1;
	err = daxfs_dp_map_runs(dp->fs, ino, a0, a1, DAXFS_BMAP_ALLOC, NULL, bio_write_run, &r);
	if (err)
		goto out_end;
	/* Read-modify-write of the partial head and tail blocks. */
	if (off != a0) {
		err = fill_block(dp, &r, fsize, a0, buf);
		if (err)
			goto out_end;
	}
	if (end != a1 && (a1 - DAXFS_BLOCK_SIZE != a0 || off == a0)) {
		err = fill_block(dp, &r, fsize, a1 - DAXFS_BLOCK_SIZE,
				 buf + (a1 - DAXFS_BLOCK_SIZE - a0));
		if (err)
			goto out_end;
	}
	/* A write past the end leaves a gap that must read as zeroes. */
	if (fsize < off) {
		uint64_t z = fsize > a0 ? fsize : a0;

		memset(buf + (z - a0), 0, off - z);
	}
	dst.buf[0].mem = buf + (off - a0);
	n = fuse_buf_copy(&dst, in, 0);
	if (n < 0) {
		err = (int)n;
		goto out_end;
	}
	if ((size_t)n != len) {
		err = -EIO;
		goto out_end;
	}
	for (i = 0; i < r.nr; i++) {
		err = dp_bio_rw(dp, BIO_OP_WRITE | BIO_FUA, buf + (r.run[i].file_off - a0),
				r.run[i].len, r.run[i].region_off);
		if (err)
			goto out_end;
	}
	err = daxfs_write_commit(dp->fs, ino, end);
out_end:
	bio_end(dp, ino);
	return err ? err : (long)len;
}

static int bio_fsync(struct daxfs_dp *dp, uint64_t ino, int datasync)
{
	struct bio *bio;
	int err;

	err = bio_alloc(0, BIO_OP_FLUSH, bio_desc_of(dp->mode), &bio);
	if (err)
		return err;
	err = blk_submit_bio_wait(dp->blk, bio);
	bio_put(bio);
	if (err && err != -EOPNOTSUPP)
		return err;
	return daxfs_fsync(dp->fs, ino, datasync);
}

static void bio_print_stats(struct daxfs_dp *dp, FILE *f, int json)
{
	daxfs_dp_print_blk_stats(dp->blk, f, json);
}

const struct daxfs_dp_ops daxfs_dp_bio_ops = {
	.name = "bio",
	.init = bio_init_dp,
	.fini = bio_fini,
	.read = bio_read,
	.write = bio_write,
	.fsync = bio_fsync,
	.quiesce = bio_quiesce,
	.print_stats = bio_print_stats,
};
