/* SPDX-License-Identifier: MIT */
/*
 * fuse_stats.h - per-mount statistics of the daxfs daemon.
 *
 * Every FUSE operation is counted with its latency (log2 histogram in ns:
 * from the handler's start to just before the answer goes to the kernel,
 * so a reader the reply wakes on the same CPU is never part of it), and
 * errors; the data paths add bytes moved. Not counted: the OPEN, READ
 * and RELEASE of the statistics files themselves, the instrument (their
 * RELEASE comes in the background after a reader's close, so counting it
 * would make no two snapshots comparable); their LOOKUP is counted. The daemon serves a snapshot
 * as text or JSON through hidden files in the root directory
 * (DAXFS_STATS_NAME, DAXFS_STATS_JSON_NAME) that readdir never lists;
 * `daxfs stat MOUNTPOINT [--json]` prints them.
 *
 * Counters are relaxed atomics updated on the request path; a snapshot is
 * not a consistent cut, which is fine for statistics.
 */
#ifndef DAXFS_FUSE_STATS_H
#define DAXFS_FUSE_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Names of the hidden statistics files in the root directory. */
#define DAXFS_STATS_NAME ".daxfs-stats"
#define DAXFS_STATS_JSON_NAME ".daxfs-stats.json"

enum daxfs_stat_op {
	DXS_LOOKUP,
	DXS_FORGET,
	DXS_GETATTR,
	DXS_SETATTR,
	DXS_READLINK,
	DXS_MKNOD,
	DXS_MKDIR,
	DXS_UNLINK,
	DXS_RMDIR,
	DXS_SYMLINK,
	DXS_RENAME,
	DXS_LINK,
	DXS_OPEN,
	DXS_READ,
	DXS_WRITE,
	DXS_FLUSH,
	DXS_RELEASE,
	DXS_FSYNC,
	DXS_OPENDIR,
	DXS_READDIR,
	DXS_RELEASEDIR,
	DXS_FSYNCDIR,
	DXS_STATFS,
	DXS_SETXATTR,
	DXS_GETXATTR,
	DXS_LISTXATTR,
	DXS_REMOVEXATTR,
	DXS_CREATE,
	DXS_FALLOCATE,
	DXS_LSEEK,
	DXS_NR_OPS,
};

#define DXS_LAT_BUCKETS 40 /* bucket i: latency in [2^i, 2^(i+1)) ns */

struct daxfs_op_stat {
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t lat_sum_ns;
	atomic_uint_fast64_t lat_hist[DXS_LAT_BUCKETS];
};

struct daxfs_fuse_stats {
	struct daxfs_op_stat ops[DXS_NR_OPS];
	atomic_uint_fast64_t bytes_read;    /* bytes returned by read */
	atomic_uint_fast64_t bytes_written; /* bytes accepted by write */
	atomic_uint_fast64_t start_ns;	    /* CLOCK_MONOTONIC at mount */
};

/* daxfs_fuse_stats_init - zero @st and stamp the start time. */
void daxfs_fuse_stats_init(struct daxfs_fuse_stats *st);

/* daxfs_now_ns - CLOCK_MONOTONIC in ns. */
uint64_t daxfs_now_ns(void);

/*
 * daxfs_fuse_stats_op_done - count one @op that started at @start_ns (from
 * daxfs_now_ns) and finished with @err (0 or -errno). Any thread.
 */
void daxfs_fuse_stats_op_done(struct daxfs_fuse_stats *st, enum daxfs_stat_op op, uint64_t start_ns,
			      int err);

/* daxfs_stat_op_name - "lookup", "read", ... (never NULL). */
const char *daxfs_stat_op_name(enum daxfs_stat_op op);

/*
 * daxfs_lat_percentile - latency (ns, upper bound of the bucket) below which
 * @pct percent of the @count samples in @hist fall; 0 if none.
 */
uint64_t daxfs_lat_percentile(const uint64_t *hist, unsigned nr_buckets, double pct);

/*
 * daxfs_fuse_stats_print_ops - write the op table (text or a JSON array member
 * list "\"ops\": {...}") to @f.
 */
void daxfs_fuse_stats_print_ops(const struct daxfs_fuse_stats *st, FILE *f, int json);

#endif
