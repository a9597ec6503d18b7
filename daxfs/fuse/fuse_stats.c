/* SPDX-License-Identifier: MIT */
/*
 * fuse_stats.c - counting and printing the daemon's per-op statistics.
 */
#include <string.h>
#include <time.h>

#include "fuse_stats.h"

static const char *const op_names[DXS_NR_OPS] = {
	[DXS_LOOKUP] = "lookup",
	[DXS_FORGET] = "forget",
	[DXS_GETATTR] = "getattr",
	[DXS_SETATTR] = "setattr",
	[DXS_READLINK] = "readlink",
	[DXS_MKNOD] = "mknod",
	[DXS_MKDIR] = "mkdir",
	[DXS_UNLINK] = "unlink",
	[DXS_RMDIR] = "rmdir",
	[DXS_SYMLINK] = "symlink",
	[DXS_RENAME] = "rename",
	[DXS_LINK] = "link",
	[DXS_OPEN] = "open",
	[DXS_READ] = "read",
	[DXS_WRITE] = "write",
	[DXS_FLUSH] = "flush",
	[DXS_RELEASE] = "release",
	[DXS_FSYNC] = "fsync",
	[DXS_OPENDIR] = "opendir",
	[DXS_READDIR] = "readdir",
	[DXS_RELEASEDIR] = "releasedir",
	[DXS_FSYNCDIR] = "fsyncdir",
	[DXS_STATFS] = "statfs",
	[DXS_SETXATTR] = "setxattr",
	[DXS_GETXATTR] = "getxattr",
	[DXS_LISTXATTR] = "listxattr",
	[DXS_REMOVEXATTR] = "removexattr",
	[DXS_CREATE] = "create",
	[DXS_FALLOCATE] = "fallocate",
	[DXS_LSEEK] = "lseek",
};

const char *daxfs_stat_op_name(enum daxfs_stat_op op)
{
	if ((unsigned)op >= DXS_NR_OPS || !op_names[op])
		return "?";
	return op_names[op];
}

uint64_t daxfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void daxfs_fuse_stats_init(struct daxfs_fuse_stats *st)
{
	memset(st, 0, sizeof(*st));
	atomic_store(&st->start_ns, daxfs_now_ns());
}

static unsigned lat_bucket(uint64_t ns)
{
	unsigned b = ns ? 63 - (unsigned)__builtin_clzll(ns) : 0;

	return b < DXS_LAT_BUCKETS ? b : DXS_LAT_BUCKETS - 1;
}

void daxfs_fuse_stats_op_done(struct daxfs_fuse_stats *st, enum daxfs_stat_op op, uint64_t start_ns,
			      int err)
{
	struct daxfs_op_stat *s = &st->ops[op];
	uint64_t ns = daxfs_now_ns() - start_ns;

	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	if (err)
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->lat_hist[lat_bucket(ns)], 1, memory_order_relaxed);
}

uint64_t daxfs_lat_percentile(const uint64_t *hist, unsigned nr_buckets, double pct)
{
	uint64_t total = 0, seen = 0;
	unsigned i;

	for (i = 0; i < nr_buckets; i++)
		total += hist[i];
	if (!total)
		return 0;
	for (i = 0; i < nr_buckets; i++) {
		seen += hist[i];
		if ((double)seen * 100.0 >= pct * (double)total)
			return UINT64_C(2) << i;
	}
	return UINT64_C(2) << (nr_buckets - 1);
}

void daxfs_fuse_stats_print_ops(const struct daxfs_fuse_stats *st, FILE *f, int json)
{
	int first = 1;
	unsigned op, i;

	if (json)
		fprintf(f, "\"ops\": {");
	else
		fprintf(f, "%-12s %10s %8s %10s %10s %10s %10s\n", "op", "count", "errors",
			"mean_ns", "p50_ns", "p99_ns", "p99.9_ns");
	for (op = 0; op < DXS_NR_OPS; op++) {
		const struct daxfs_op_stat *s = &st->ops[op];
		uint64_t hist[DXS_LAT_BUCKETS];
		uint64_t count = atomic_load_explicit(&s->count, memory_order_relaxed);
		uint64_t errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
		uint64_t sum = atomic_load_explicit(&s->lat_sum_ns, memory_order_relaxed);
		uint64_t mean = count ? sum / count : 0;

		if (!count)
			continue;
		for (i = 0; i < DXS_LAT_BUCKETS; i++)
			hist[i] = atomic_load_explicit(&s->lat_hist[i], memory_order_relaxed);
		if (json) {
			fprintf(f,
				"%s\n    \"%s\": {\"count\": %llu, \"errors\": %llu, "
				"\"mean_ns\": %llu, \"p50_ns\": %llu, \"p90_ns\": %llu, "
				"\"p99_ns\": %llu, \"p999_ns\": %llu}",
				first ? "" : ",", daxfs_stat_op_name(op), (unsigned long long)count,
				(unsigned long long)errors, (unsigned long long)mean,
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS, 50),
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS, 90),
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS, 99),
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS,
									 99.9));
		} else {
			fprintf(f, "%-12s %10llu %8llu %10llu %10llu %10llu %10llu\n",
				daxfs_stat_op_name(op), (unsigned long long)count,
				(unsigned long long)errors, (unsigned long long)mean,
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS, 50),
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS, 99),
				(unsigned long long)daxfs_lat_percentile(hist, DXS_LAT_BUCKETS,
									 99.9));
		}
		first = 0;
	}
	if (json)
		fprintf(f, "\n  }");
}
