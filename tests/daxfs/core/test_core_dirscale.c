/* SPDX-License-Identifier: MIT */
/*
 * test_core_dirscale - 100,000 entries in one directory: creation, then
 * 100,000 lookups of existing and 100,000 of missing names, each visiting a
 * handful of tree nodes (a linear scan would touch ~1200 leaves per lookup;
 * the node count is asserted, not the time, which a loaded machine or a
 * sanitizer build would make meaningless),
 * a full readdir that returns each name exactly once, deletion of half,
 * and fsck clean.
 */
#include <time.h>

#include "test_core_util.h"
#include "units.h"

#define N 100000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct rd {
	uint8_t *seen;
	long n, dups;
};

static int rd_cb(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	struct rd *r = ctx;
	int k;

	if (name[0] == '.')
		return 0;
	CHECK(sscanf(name, "entry-%d", &k) == 1 && k >= 0 && k < N);
	if (r->seen[k])
		r->dups++;
	r->seen[k] = 1;
	r->n++;
	return 0;
}

struct part {
	uint8_t *seen;
	long n;
	uint64_t cookie;
	long stop; /* stop after this many entries, 0 = never */
};

static int part_cb(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	struct part *p = ctx;
	int k;

	if (p->stop && p->n == p->stop)
		return 1;
	p->cookie = next;
	if (sscanf(name, "entry-%d", &k) == 1)
		p->seen[k]++;
	p->n++;
	return 0;
}

int main(void)
{
	const char *path = core_mkfs("dirscale", 256 * MiB, 128 * 1024);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a;
	char name[64];
	double t0, t1;

	CHECK_OK(daxfs_mkdir(fs, 1, "d", 0755, 0, 0, &a));
	uint64_t d = a.ino;

	t0 = now_s();
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "entry-%d", k);
		CHECK_OK(daxfs_create(fs, d, name, 0644, 0, 0, NULL));
	}
	t1 = now_s();
	printf("%d creates: %.2f s\n", N, t1 - t0);
	CHECK_OK(daxfs_getattr(fs, d, &a));
	printf("directory: %llu bytes of tree blocks\n", (unsigned long long)a.size);

	struct daxfs_stats s0, s1;

	daxfs_get_stats(fs, &s0);
	t0 = now_s();
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "entry-%d", (k * 7919) % N);
		CHECK_OK(daxfs_lookup(fs, d, name, NULL));
	}
	t1 = now_s();
	daxfs_get_stats(fs, &s1);
	double per = (double)(s1.dir_node_reads - s0.dir_node_reads) / N;

	printf("%d lookups: %.3f s, %.2f tree nodes visited per lookup\n", N, t1 - t0, per);
	/* the tree has 2 levels here: a scan would visit ~1200 leaves */
	CHECK(per <= 6.0);
	daxfs_get_stats(fs, &s0);
	t0 = now_s();
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "missing-%d", k);
		CHECK_EQ(daxfs_lookup(fs, d, name, NULL), -ENOENT);
	}
	t1 = now_s();
	daxfs_get_stats(fs, &s1);
	per = (double)(s1.dir_node_reads - s0.dir_node_reads) / N;
	printf("%d failed lookups: %.3f s, %.2f tree nodes visited per lookup\n", N, t1 - t0, per);
	CHECK(per <= 6.0);

	struct rd r = {calloc(N, 1), 0, 0};

	CHECK(r.seen);
	CHECK_OK(daxfs_readdir(fs, d, 0, rd_cb, &r));
	CHECK_EQ(r.n, N);
	CHECK_EQ(r.dups, 0);

	/* cookies stay valid while the directory changes under a listing:
	 * stop after 30000 entries, delete every fourth name and add 20000
	 * new ones (splitting leaves), resume: every name present throughout
	 * is listed exactly once */
	struct part p = {calloc(N, 1), 0, 0, 30000};

	CHECK(p.seen);
	CHECK_OK(daxfs_readdir(fs, d, 0, part_cb, &p));
	CHECK_EQ(p.n, 30000);
	for (int k = 0; k < N; k += 4) {
		snprintf(name, sizeof(name), "entry-%d", k);
		CHECK_OK(daxfs_unlink(fs, d, name));
	}
	for (int k = 0; k < 20000; k++) {
		snprintf(name, sizeof(name), "later-%d", k);
		CHECK_OK(daxfs_create(fs, d, name, 0644, 0, 0, NULL));
	}
	p.stop = 0;
	CHECK_OK(daxfs_readdir(fs, d, p.cookie, part_cb, &p));
	for (int k = 0; k < N; k++) {
		if (k % 4)
			CHECK_EQ(p.seen[k], 1);
		else
			CHECK(p.seen[k] <= 1);
	}
	for (int k = 0; k < 20000; k++) {
		snprintf(name, sizeof(name), "later-%d", k);
		CHECK_OK(daxfs_unlink(fs, d, name));
	}
	free(p.seen);
	for (int k = 2; k < N; k += 4) {
		snprintf(name, sizeof(name), "entry-%d", k);
		CHECK_OK(daxfs_unlink(fs, d, name));
	}
	CHECK_EQ(daxfs_rmdir(fs, 1, "d"), -ENOTEMPTY);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	memset(r.seen, 0, N);
	r.n = 0;
	CHECK_OK(daxfs_readdir(fs, d, 0, rd_cb, &r));
	CHECK_EQ(r.n, N / 2);
	for (int k = 1; k < N; k += 2) {
		snprintf(name, sizeof(name), "entry-%d", k);
		CHECK_OK(daxfs_unlink(fs, d, name));
	}
	CHECK_OK(daxfs_getattr(fs, d, &a));
	CHECK_EQ(a.size, 0); /* an empty directory has no tree blocks left */
	CHECK_OK(daxfs_rmdir(fs, 1, "d"));
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	free(r.seen);
	return 0;
}
