/* SPDX-License-Identifier: MIT */
/*
 * datapath.h - how the daxfs daemon moves file data, chosen at mount.
 *
 *   dax   reads reply straight from region memory (a fuse_bufvec pointing
 *         into the mapping: no copy in the daemon; holes are a shared zero
 *         buffer); writes go through daxfs_write(), which copies into the
 *         region and persists.
 *   bio   file data moves through the block layer: the region is also a
 *         pmemdev block device, and reads/writes are bios between a
 *         per-thread registered DRAM buffer and the region's sectors, with
 *         bvecs in the configured descriptor mode (pfn | folio | page).
 *   page  a 4 KiB page cache of registered DRAM pages with struct pages
 *         (pagecache.h): read misses fill by page bios, writes dirty pages,
 *         writeback by page bios on fsync/flush/release/unmount/eviction.
 *
 * All three give the same results; the metadata always goes through the
 * core (daxfs.h). The daemon calls the data path from many threads at once.
 */
#ifndef DAXFS_DATAPATH_H
#define DAXFS_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "desc.h"

struct daxfs;
struct fuse_bufvec;
struct pmemdev_bb;

enum daxfs_dp_kind {
	DAXFS_DP_DAX,
	DAXFS_DP_BIO,
	DAXFS_DP_PAGE,
};

struct daxfs_dp_config {
	enum daxfs_dp_kind kind;
	enum desc_mode mode;   /* descriptor mode of bios (bio and page paths) */
	uint64_t cache_pages;  /* page path: 4 KiB pages in the cache */
	uint32_t max_io_bytes; /* largest read/write request, bytes */
	/*
	 * The region's emulated badblocks list, owned by the daemon (it
	 * changes while mounted: `daxfs badblocks`). Every path fails reads
	 * of bad sectors with EIO; a write clears the whole sectors it
	 * rewrites and fails with EIO if it covers a bad sector in part.
	 */
	struct pmemdev_bb *bb;
};

struct daxfs_dp;

/*
 * Operations of a data path. Every member is Required unless marked
 * Optional. @ino is a core inode number the daemon holds a reference on.
 */
struct daxfs_dp_ops {
	const char *name;

	/* Set up over an open filesystem. Returns 0 or -errno with pmd_err. */
	int (*init)(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct daxfs_dp **out);

	/* Write back everything and free the path (before daxfs_close). */
	void (*fini)(struct daxfs_dp *dp);

	/*
	 * Read up to @size bytes at @off (bytes) of @ino. On success returns
	 * 0 and a buffer vector in *@out that stays valid until this thread's
	 * next call into the data path; it holds fewer bytes at end of file.
	 */
	int (*read)(struct daxfs_dp *dp, uint64_t ino, uint64_t off, size_t size,
		    struct fuse_bufvec **out);

	/*
	 * Optional. Called once the reply to a successful read was sent,
	 * on the same thread: releases what read() held (the dax path's
	 * layout pin on @ino).
	 */
	void (*read_done)(struct daxfs_dp *dp, uint64_t ino);

	/*
	 * Write the data of @in (memory or a pipe from the kernel) at @off.
	 * Returns bytes written (all of @in) or -errno.
	 */
	long (*write)(struct daxfs_dp *dp, uint64_t ino, uint64_t off, struct fuse_bufvec *in);

	/* Make the file's data durable (fsync). Returns 0 or -errno. */
	int (*fsync)(struct daxfs_dp *dp, uint64_t ino, int datasync);

	/*
	 * Optional. Write back cached data of @ino, and with @drop forget the
	 * clean part of it: called at close (FLUSH, whose error close(2)
	 * returns), release, and before metadata operations that change the
	 * file's block map (truncate, fallocate, lseek). Data whose writeback
	 * fails stays cached and dirty. Returns 0 or -errno (a failed writeback).
	 */
	int (*flush)(struct daxfs_dp *dp, uint64_t ino, bool drop);

	/*
	 * Optional. @begin true: wait for this path's I/O on @ino that stores
	 * through block addresses it looked up itself to finish, and start no
	 * more until the call with @begin false (blocks of the file are about
	 * to move; I/O through the core needs nothing). Same thread for both.
	 */
	void (*quiesce)(struct daxfs_dp *dp, uint64_t ino, bool begin);

	/*
	 * Optional (Required with flush). The kernel forgot @ino and the
	 * daemon is about to drop its reference: write back and forget its
	 * cached data; what cannot be written back stays if the file still
	 * has a name, and is dropped if the file is gone.
	 */
	void (*forget)(struct daxfs_dp *dp, uint64_t ino);

	/* Optional. Print the path's statistics (text, or JSON members). */
	void (*print_stats)(struct daxfs_dp *dp, FILE *f, int json);
};

extern const struct daxfs_dp_ops daxfs_dp_dax_ops;
extern const struct daxfs_dp_ops daxfs_dp_bio_ops;
extern const struct daxfs_dp_ops daxfs_dp_page_ops;

/*
 * Per-thread scratch state shared by the data paths: a buffer of at least
 * @size bytes (2 MiB aligned; registered in the pfn space in @mode when
 * @register_mode is set) and a fuse_bufvec with room for @nr_bufs entries.
 * Freed when the thread exits or at daxfs_dp_tbuf_release().
 */
struct daxfs_dp_tbuf {
	void *mem;
	uint64_t size;		 /* bytes */
	struct pfn_range *range; /* NULL if not registered */
	struct fuse_bufvec *bv;
	unsigned nr_bufs;
};

/*
 * daxfs_dp_tbuf_get - this thread's scratch state, created on first use.
 * Returns 0 or -errno (-ENOMEM, registration failures).
 */
int daxfs_dp_tbuf_get(uint64_t size, bool register_mode, enum desc_mode mode, unsigned nr_bufs,
		      struct daxfs_dp_tbuf **out);

/* daxfs_dp_tbuf_release - free the calling thread's scratch state now. */
void daxfs_dp_tbuf_release(void);

struct daxfs;

/*
 * daxfs_dp_run_fn - one run of daxfs_dp_map_runs(): @len bytes of the file
 * at @pos (bytes) that stand contiguous in the region at @region_off, or a
 * hole (@region_off DAXFS_HOLE). A nonzero return stops the walk.
 */
typedef int (*daxfs_dp_run_fn)(void *ctx, uint64_t pos, uint64_t len, uint64_t region_off);

/*
 * daxfs_dp_map_runs - walk the block map of @ino over [@start, @end) bytes
 * with daxfs_bmap(@flags) (or, with @resv, daxfs_bmap_resv() allocating
 * from *@resv reserved blocks), calling @fn for each run in file order.
 * The caller holds a pin on @ino while it uses the region offsets. Every
 * run given to @fn lies inside the region's mapping. Returns 0,
 * daxfs_bmap()'s error, -EIO for a map that does not advance or leaves the
 * mapping, or the first nonzero return of @fn.
 */
int daxfs_dp_map_runs(struct daxfs *fs, uint64_t ino, uint64_t start, uint64_t end, unsigned flags,
		      uint64_t *resv, daxfs_dp_run_fn fn, void *ctx);

/*
 * daxfs_dp_bv_one - make @bv (a scratch vector) one memory buffer of
 * @size bytes at @mem.
 */
void daxfs_dp_bv_one(struct fuse_bufvec *bv, void *mem, size_t size);

/*
 * daxfs_dp_write_src - the data of write request @in as one flat buffer:
 * @in's own memory when it is one, else a copy into this thread's scratch
 * buffer (daxfs_dp_tbuf_get(@tbuf_size, false, DESC_PFN, @nr_bufs)).
 * Sets *@src and *@len (bytes, at most fuse_buf_size(@in)). Returns 0,
 * -EINVAL if the request is larger than the scratch buffer, or -errno.
 */
int daxfs_dp_write_src(struct fuse_bufvec *in, uint64_t tbuf_size, unsigned nr_bufs,
		       const void **src, size_t *len);

struct blk_dev;
struct pmemdev;

/*
 * daxfs_dp_pmemdev_new - a pmemdev block device on @fs's region, with the
 * region registered in descriptor @cfg->mode, @cfg->bb as its badblocks
 * list and synchronous completion (for the bio and page paths); in a
 * descriptor mode that holds an owner the core keeps the owners of blocks
 * in the region's descriptors from now on. Returns 0 or -errno with pmd_err.
 */
int daxfs_dp_pmemdev_new(struct daxfs *fs, const struct daxfs_dp_config *cfg, struct pmemdev **out);

/*
 * daxfs_dp_pmemdev_delete - free what daxfs_dp_pmemdev_new() made (the core
 * keeps owners in the region's descriptors while it lives: memfail.h).
 */
void daxfs_dp_pmemdev_delete(struct daxfs *fs, struct pmemdev **pd);

/* daxfs_dp_print_blk_stats - block device counters as text or JSON members. */
void daxfs_dp_print_blk_stats(struct blk_dev *dev, FILE *f, int json);

/* daxfs_dp_parse - "dax"|"bio"|"page" -> kind; returns 0 or -EINVAL. */
int daxfs_dp_parse(const char *s, enum daxfs_dp_kind *out);
const char *daxfs_dp_name(enum daxfs_dp_kind kind);
const struct daxfs_dp_ops *daxfs_dp_ops_of(enum daxfs_dp_kind kind);

#endif
