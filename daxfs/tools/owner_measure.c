/* SPDX-License-Identifier: MIT */
/*
 * owner_measure - what keeping the owner of every block costs a real daxfs
 * and how fast a failing frame is traced to its file (issue 17, memory
 * failure), per way of keeping it:
 *   none      no record: the write path's baseline; every lookup scans
 *             every file's extents
 *   pfn       the core's reverse map per 2 MiB chunk (daxfs/core/owner.c)
 *   folio, page, ondemand, memdesc
 *             the region registered in that descriptor mode, owners kept
 *             in its frame descriptors (daxfs_owner_ops_desc)
 *
 * Each run makes a fresh filesystem of SIZE bytes in a region file under
 * DIR, writes the same files (half the space in 8 MiB files written 1 MiB
 * at a time, a quarter in 16 KiB files written 4 KiB at a time), then
 * traces LOOKUPS random data blocks of those files to their owner
 * (daxfs_owner_of, checked against the file's map) and checks each answer.
 * One JSON line per mode and run: write_seconds (the writes, with the
 * record kept), written_bytes, lookup_ns (per frame), lookups, scans
 * (lookups the record could not answer), map_bytes (the core's map),
 * memmap_bytes (what page mode's memmap of the region is: 64 B per 4 KiB,
 * the yardstick of the map's 1/64 target), descriptor_bytes (the mode's
 * descriptors of the region). Then, unless --json, a table of medians over
 * the runs, with the write time relative to "none" and the map's bytes
 * relative to the memmap.
 *
 * Usage: owner-measure [--size SIZE] [--lookups N] [--repeat N]
 *                      [--mode LIST] [--dir DIR] [--json]
 * Exit 0; 1 with a message on any failure (a wrong owner is one); 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daxfs.h"
#include "errmsg.h"
#include "memmap.h"
#include "pfn.h"
#include "region.h"
#include "units.h"

#define NMODES (DESC_NR_MODES + 1) /* "none", then the descriptor modes */
#define MAX_RUNS 32

struct opts {
	uint64_t size, lookups;
	unsigned repeat;
	bool mode[NMODES];
	const char *dir;
	bool json;
};

struct result {
	double write_s, lookup_ns;
	uint64_t written, lookups, scans, map_bytes, desc_bytes;
};

static const char *mode_name(unsigned m)
{
	return m == 0 ? "none" : desc_mode_name((enum desc_mode)(m - 1));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "owner-measure: %s: %s\n", what, pmd_strerror(err));
	return 1;
}

/* "none": nothing recorded, nothing answered */
static void none_set(void *ctx, uint64_t pblk, uint64_t n, uint64_t ino, uint64_t off)
{
	(void)ctx, (void)pblk, (void)n, (void)ino, (void)off;
}

static int none_find(void *ctx, uint64_t pblk, uint64_t *ino, uint64_t *off)
{
	(void)ctx, (void)pblk, (void)ino, (void)off;
	return -ENOENT;
}

/* The data blocks written, to look up: region block -> (ino, file block). */
struct blk {
	uint64_t pblk, ino, off;
};

struct blks {
	struct blk *b;
	uint64_t n, cap;
	uint64_t ino;
};

static int note(void *ctx, const struct daxfs_map *m)
{
	struct blks *s = ctx;

	for (uint64_t k = 0; k < m->len / DAXFS_BLOCK_SIZE; k++) {
		if (s->n == s->cap) {
			uint64_t cap = s->cap ? 2 * s->cap : 4096;
			struct blk *b = realloc(s->b, cap * sizeof(*b));

			if (!b)
				return 1;
			s->b = b;
			s->cap = cap;
		}
		s->b[s->n++] = (struct blk){m->region_off / DAXFS_BLOCK_SIZE + k, s->ino,
					    m->file_off + k * DAXFS_BLOCK_SIZE};
	}
	return 0;
}

/* write_files - the workload; its bytes in *@written. */
static int write_files(struct daxfs *fs, uint64_t size, const char *buf, uint64_t *written,
		       struct blks *s)
{
	uint64_t big = size / 2 / (8 * MiB), small = size / 4 / (16 * KiB);
	struct daxfs_attr a;
	char name[32];
	size_t done;
	int err;

	*written = 0;
	for (uint64_t f = 0; f < big + small; f++) {
		bool is_big = f < big;
		uint64_t len = is_big ? 8 * MiB : 16 * KiB, io = is_big ? MiB : 4 * KiB;

		snprintf(name, sizeof(name), "%s%llu", is_big ? "big" : "small",
			 (unsigned long long)f);
		err = daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a);
		for (uint64_t off = 0; !err && off < len; off += io)
			err = daxfs_write(fs, a.ino, off, io, buf, &done);
		if (err)
			return err;
		*written += len;
		s->ino = a.ino;
		if (daxfs_extent_map(fs, a.ino, note, s) || s->n == 0)
			return -ENOMEM;
	}
	return 0;
}

static int one_run(const struct opts *o, unsigned mode, const char *buf, struct result *res)
{
	struct daxfs_mkfs_opts mo = {.label = "owner"};
	struct pfn_range *range = NULL;
	struct daxfs_owner_ops ops = {none_set, none_find, NULL};
	struct blks s = {0};
	struct pmr_region *r;
	struct daxfs *fs;
	char path[4096];
	uint64_t t, seed = 88172645463325252ull, lookups;
	int err;

	memset(res, 0, sizeof(*res));
	snprintf(path, sizeof(path), "%s/owner-measure.%d", o->dir, (int)getpid());
	unlink(path);
	err = pmr_create(path, o->size, 0, &r);
	if (err)
		return fail(path, err);
	err = daxfs_mkfs(r, &mo);
	pmr_close(&r);
	if (err)
		goto out_unlink;
	err = daxfs_open(path, 0, &fs);
	if (err)
		goto out_unlink;
	if (mode > 0 && mode - 1 != DESC_PFN) {
		err = pfn_range_register(pmr_addr(daxfs_region(fs)), pmr_size(daxfs_region(fs)),
					 PFN_KIND_PMEM, (enum desc_mode)(mode - 1), &range);
		if (err || (err = daxfs_owner_ops_desc(range, &ops)))
			goto out_close;
		res->desc_bytes = pfn_range_descriptor_bytes(range);
	}
	if (mode != 1 + DESC_PFN)
		daxfs_set_owner_ops(fs, &ops);
	t = now_ns();
	err = write_files(fs, o->size, buf, &res->written, &s);
	res->write_s = (double)(now_ns() - t) / 1e9;
	if (err)
		goto out_ops;
	res->map_bytes = daxfs_owner_map_bytes(fs);
	/* without a record every lookup scans every file: a few suffice */
	lookups = mode == 0 ? (o->lookups / 1000 ? o->lookups / 1000 : 1) : o->lookups;
	t = now_ns();
	for (uint64_t k = 0; k < lookups; k++) {
		struct daxfs_owner ow;
		const struct blk *b;

		/* xorshift, fixed seed */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		b = &s.b[seed % s.n];
		err = daxfs_owner_of(fs, b->pblk * DAXFS_BLOCK_SIZE, &ow);
		if (err)
			goto out_ops;
		if (ow.kind != DAXFS_OWNER_FILE || ow.ino != b->ino || ow.off != b->off) {
			fprintf(stderr,
				"owner-measure: %s: block %llu named %llu/%llu, not %llu/%llu\n",
				mode_name(mode), (unsigned long long)b->pblk,
				(unsigned long long)ow.ino, (unsigned long long)ow.off,
				(unsigned long long)b->ino, (unsigned long long)b->off);
			err = -EIO;
			goto out_ops;
		}
		res->scans += !ow.recorded;
	}
	res->lookup_ns = (double)(now_ns() - t) / (double)lookups;
	res->lookups = lookups;
out_ops:
	if (mode != 1 + DESC_PFN)
		daxfs_set_owner_ops(fs, NULL);
out_close:
	pfn_range_unregister(&range);
	daxfs_close(&fs);
out_unlink:
	unlink(path);
	free(s.b);
	return err ? fail(mode_name(mode), err) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int usage(const char *msg)
{
	fprintf(stderr,
		"owner-measure: %s\n"
		"usage: owner-measure [--size SIZE] [--lookups N] [--repeat N] [--mode LIST]\n"
		"                     [--dir DIR] [--json]\n"
		"  LIST: comma list of none,pfn,folio,page,ondemand,memdesc (default all)\n",
		msg);
	return 2;
}

static int parse_modes(char *list, bool *mode)
{
	memset(mode, 0, NMODES * sizeof(*mode));
	for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		enum desc_mode m;

		if (!strcmp(t, "none"))
			mode[0] = true;
		else if (!desc_mode_parse(t, &m))
			mode[1 + m] = true;
		else
			return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"size", required_argument, NULL, 's'},
					   {"lookups", required_argument, NULL, 'l'},
					   {"repeat", required_argument, NULL, 'r'},
					   {"mode", required_argument, NULL, 'm'},
					   {"dir", required_argument, NULL, 'd'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
	struct opts o = {.size = 1 * GiB, .lookups = 100000, .repeat = 3, .dir = "/dev/shm"};
	static struct result res[NMODES][MAX_RUNS];
	uint64_t v, memmap;
	char *buf;
	int c;

	memset(o.mode, 1, sizeof(o.mode));
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &o.size) || o.size < 64 * MiB || o.size % (2 * MiB))
				return usage("--size: a multiple of 2M, at least 64M");
			break;
		case 'l':
			if (parse_u64(optarg, &o.lookups) || !o.lookups)
				return usage("--lookups: a positive number");
			break;
		case 'r':
			if (parse_u64(optarg, &v) || !v || v > MAX_RUNS)
				return usage("--repeat: 1..32");
			o.repeat = (unsigned)v;
			break;
		case 'm':
			if (parse_modes(optarg, o.mode))
				return usage("--mode: none,pfn,folio,page,ondemand,memdesc");
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		default:
			return usage("unknown option");
		}
	}
	if (optind != argc)
		return usage("no operands");
	memmap = o.size / FRAME_SIZE * MEMMAP_BYTES_PER_FRAME;
	buf = malloc(MiB);
	if (!buf)
		return fail("buffer", -ENOMEM);
	memset(buf, 0x5a, MiB);
	/* alternate the modes in every round, so drift hits each alike */
	for (unsigned run = 0; run < o.repeat; run++) {
		for (unsigned m = 0; m < NMODES; m++) {
			struct result *x = &res[m][run];

			if (!o.mode[m])
				continue;
			if (one_run(&o, m, buf, x)) {
				free(buf);
				return 1;
			}
			printf("{\"mode\": \"%s\", \"run\": %u, \"size\": %llu, \"write_seconds\": "
			       "%.6f, "
			       "\"written_bytes\": %llu, \"lookup_ns\": %.1f, \"lookups\": %llu, "
			       "\"scans\": %llu, \"map_bytes\": %llu, \"memmap_bytes\": %llu, "
			       "\"descriptor_bytes\": %llu}\n",
			       mode_name(m), run, (unsigned long long)o.size, x->write_s,
			       (unsigned long long)x->written, x->lookup_ns,
			       (unsigned long long)x->lookups, (unsigned long long)x->scans,
			       (unsigned long long)x->map_bytes, (unsigned long long)memmap,
			       (unsigned long long)x->desc_bytes);
			fflush(stdout);
		}
	}
	free(buf);
	if (o.json)
		return 0;
	double base = 0, w[MAX_RUNS], l[MAX_RUNS];
	char frac[32];

	if (o.mode[0]) {
		for (unsigned run = 0; run < o.repeat; run++)
			w[run] = res[0][run].write_s;
		base = median(w, o.repeat);
	}
	printf("\n%-9s %12s %9s %12s %10s %14s %11s %16s\n", "mode", "write (s)", "vs none",
	       "lookup (ns)", "scans", "map bytes", "map/memmap", "descriptor bytes");
	for (unsigned m = 0; m < NMODES; m++) {
		char ratio[32] = "-";
		double wm;

		if (!o.mode[m])
			continue;
		for (unsigned run = 0; run < o.repeat; run++) {
			w[run] = res[m][run].write_s;
			l[run] = res[m][run].lookup_ns;
		}
		wm = median(w, o.repeat);
		if (base > 0)
			snprintf(ratio, sizeof(ratio), "%.3f", wm / base);
		snprintf(frac, sizeof(frac), "%.5f", (double)res[m][0].map_bytes / (double)memmap);
		printf("%-9s %12.4f %9s %12.1f %10llu %14llu %11s %16llu\n", mode_name(m), wm,
		       ratio, median(l, o.repeat), (unsigned long long)res[m][0].scans,
		       (unsigned long long)res[m][0].map_bytes, res[m][0].map_bytes ? frac : "-",
		       (unsigned long long)res[m][0].desc_bytes);
	}
	return 0;
}
