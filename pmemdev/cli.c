/* SPDX-License-Identifier: MIT */
/*
 * cli.c - the pmemdev command: list, create, info, badblocks, bench.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "badblocks.h"
#include "bench.h"
#include "errmsg.h"
#include "ndctl_list.h"
#include "pmemdev.h"
#include "region.h"
#include "region_lock.h"

#define EXIT_USAGE 2

static const char usage_text[] =
	"Usage: pmemdev COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  list [--dir DIR]           real pmem namespaces (ndctl) and emulated regions\n"
	"                             (region-sized files in DIR, default /dev/shm)\n"
	"  create --size SIZE [--sparse] PATH\n"
	"                             create an emulated region file (SIZE: multiple of 2M;\n"
	"                             --sparse: allow more than the free space)\n"
	"  info PATH                  size, backend, alignment, backing page size,\n"
	"                             persist granularity, badblocks of a region\n"
	"  badblocks PATH list        list emulated bad sectors\n"
	"  badblocks PATH add SECTOR [COUNT]\n"
	"  badblocks PATH clear SECTOR [COUNT]\n"
	"  bench PATH [OPTIONS]       drive the block layer and report throughput\n"
	"\n"
	"bench options:\n"
	"  --target pmem|null|memcpy  driver (null: no copy; memcpy: no block layer);\n"
	"                             a comma list runs each in turn in this process\n"
	"  --mode pfn|folio|page      descriptor mode (default pfn); a comma list too\n"
	"  --repeat N                 run the whole list N times, alternating\n"
	"  --rw read|write|randread|randwrite   (default read)\n"
	"  --bs SIZE                  bytes per I/O (default 4k)\n"
	"  --iodepth N                I/Os in flight per thread (default 1)\n"
	"  --threads N                submitting threads (default 1)\n"
	"  --workers N                completion threads (default 0: synchronous,\n"
	"                             iodepth > 1 defaults to 1 per thread)\n"
	"  --time SECONDS             run time (default 5)\n"
	"  --ios N                    stop after N I/Os per thread instead of on time\n"
	"                             (fixed work, e.g. for instruction counts)\n"
	"  --size SIZE                use only the first SIZE bytes of the region\n"
	"  --fua                      FUA on every write\n"
	"  --alloc                    bio_alloc()/bio_put() per I/O (default: one bio\n"
	"                             per slot, reset with bio_init())\n"
	"  --lat-sample N             time one bio in N for the latency percentiles\n"
	"                             (default 64; 1: every bio)\n"
	"  --json                     one JSON object per run on stdout\n"
	"\n"
	"Common: -h/--help, -V/--version\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pmemdev: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pmemdev --help'.\n");
	return EXIT_USAGE;
}

static int fail(int err, const char *what)
{
	fprintf(stderr, "pmemdev: %s: %s\n", what, pmd_strerror(err));
	return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* List files in @dir that are usable as regions (2 MiB multiples, >= minimum). */
static void list_emulated(const char *dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(dir);

	printf("\n%-40s %-11s %12s\n", "EMULATED REGION", "BACKEND", "SIZE");
	if (!d) {
		printf("(cannot read %s: %s)\n", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		enum pmr_backend be;
		uint64_t psz;
		struct stat st;
		char path[4096], b[32];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < PMR_MIN_SIZE ||
		    !is_aligned((uint64_t)st.st_size, HUGE_SIZE))
			continue;
		if (pmr_detect_backend(path, &be, &psz))
			continue;
		printf("%-40s %-11s %12s\n", path, pmr_backend_name(be),
		       format_size((uint64_t)st.st_size, b, sizeof(b)));
		n++;
	}
	closedir(d);
	if (!n)
		printf("(none in %s)\n", dir);
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	const char *dir = "/dev/shm";
	struct pmr_namespace ns[64];
	unsigned count = 0;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd')
			return usage_error("bad option for list");
		dir = optarg;
	}
	if (optind != argc)
		return usage_error("list takes no positional arguments");
	err = pmr_list_namespaces(ns, 64, &count);
	if (err)
		return fail(err, "listing namespaces");
	printf("%-16s %-8s %-14s %12s\n", "NAMESPACE", "MODE", "DEVICE", "SIZE");
	for (unsigned i = 0; i < count && i < 64; i++) {
		char b[32];

		printf("%-16s %-8s %-14s %12s\n", ns[i].name, ns[i].mode,
		       ns[i].device[0] ? ns[i].device : "-", format_size(ns[i].size, b, sizeof(b)));
	}
	if (!count)
		printf("(no persistent memory namespaces on this machine)\n");
	list_emulated(dir);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {{"size", required_argument, NULL, 's'},
					     {"sparse", no_argument, NULL, 'S'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pmr_region *r;
	/* locked from the moment it exists, so nobody maps it half made */
	unsigned flags = PMR_F_PROGRESS | PMR_F_LOCK_EXCL;
	uint64_t size = 0;
	bool have_size = false;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size))
				return usage_error("invalid --size '%s'", optarg);
			have_size = true;
			break;
		case 'S':
			flags |= PMR_F_SPARSE;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("bad option for create");
		}
	}
	if (!have_size)
		return usage_error("create needs --size SIZE");
	if (optind + 1 != argc)
		return usage_error("create needs exactly one PATH");
	err = pmr_create(argv[optind], size, flags, &r);
	if (err)
		return fail(err, argv[optind]);
	pmr_close(&r);
	return 0;
}

static int print_bb(uint64_t sector, uint64_t count, void *arg)
{
	bool *first = arg;

	if (*first)
		printf("  %-20s %s\n", "SECTOR", "COUNT");
	*first = false;
	printf("  %-20" PRIu64 " %" PRIu64 "\n", sector, count);
	return 0;
}

/* print_owner - who holds the region's lock (lib/region_lock.h), for info. */
static void print_owner(const char *path)
{
	struct pmr_lock_holder h;
	char who[700];
	int err = pmr_lock_holder(path, &h);

	if (err == -ENOENT)
		printf("in use:            no\n");
	else if (err)
		printf("in use:            unknown (%s)\n", strerror(-err));
	else
		printf("in use:            %s by %s\n", h.exclusive ? "exclusive" : "shared",
		       pmr_lock_describe(&h, who, sizeof(who)));
}

/*
 * info reads the geometry and the badblocks list, never the region's data,
 * so it takes no lock: it must work on a mounted region (it is how a user
 * finds out who holds it).
 */
static int cmd_info(int argc, char **argv)
{
	struct pmemdev_bb *bb;
	struct pmr_region *r;
	struct pmr_info in;
	bool first = true;
	char b1[32], b2[32], b3[32];
	int err;

	if (argc != 2)
		return usage_error("info needs exactly one PATH");
	err = pmr_open(argv[1], PMR_F_RDONLY, &r);
	if (err)
		return fail(err, argv[1]);
	pmr_get_info(r, &in);
	printf("path:              %s\n", in.path);
	printf("size:              %s (%" PRIu64 " bytes)\n", format_size(in.size, b1, sizeof(b1)),
	       in.size);
	printf("backend:           %s\n", pmr_backend_name(in.backend));
	printf("alignment:         %s\n", format_size(in.alignment, b2, sizeof(b2)));
	printf("backing page size: %s\n", format_size(in.backing_page_size, b3, sizeof(b3)));
	printf("persist:           %s (native %s)\n", pmr_granularity_name(in.granularity),
	       pmr_granularity_name(in.native_granularity));
	printf("memmap if paged:   %" PRIu64 " bytes (64 B per 4 KiB)\n",
	       in.size / FRAME_SIZE * MEMMAP_BYTES_PER_FRAME);
	print_owner(in.path);
	err = pmemdev_bb_open(in.path, &bb);
	if (err) {
		pmr_close(&r);
		return fail(err, "badblocks");
	}
	printf("badblocks:         %" PRIu64 " sectors\n", pmemdev_bb_count(bb));
	pmemdev_bb_list(bb, print_bb, &first);
	pmemdev_bb_close(&bb);
	pmr_close(&r);
	return 0;
}

/*
 * badblocks add/clear change what the region's users see (a read of a bad
 * sector fails), so they take the exclusive lock like every writer; list
 * only reads the list file.
 */
static int cmd_badblocks(int argc, char **argv)
{
	struct pmemdev_bb *bb;
	struct pmr_region *r;
	unsigned flags;
	uint64_t sector = 0, count = 1, cap;
	bool first = true;
	int err, ret = 0;

	if (argc < 3)
		return usage_error("badblocks needs PATH and list|add|clear");
	if (strcmp(argv[2], "list") && strcmp(argv[2], "add") && strcmp(argv[2], "clear"))
		return usage_error("unknown badblocks action '%s' (list, add or clear)", argv[2]);
	if (!strcmp(argv[2], "list") ? argc != 3 : (argc < 4 || argc > 5))
		return usage_error("badblocks %s: wrong number of arguments", argv[2]);
	if (argc >= 4 && parse_u64(argv[3], &sector))
		return usage_error("invalid SECTOR '%s'", argv[3]);
	if (argc == 5 && (parse_u64(argv[4], &count) || !count))
		return usage_error("invalid COUNT '%s'", argv[4]);

	flags = PMR_F_RDONLY | (strcmp(argv[2], "list") ? PMR_F_LOCK_EXCL : 0);
	err = pmr_open(argv[1], flags, &r);
	if (err)
		return fail(err, argv[1]);
	cap = off_to_sector(pmr_size(r));
	if (sector >= cap || count > cap - sector) {
		pmr_close(&r);
		fprintf(stderr,
			"pmemdev: sectors %" PRIu64 "+%" PRIu64
			" are beyond the end of the region (%" PRIu64 " sectors)\n",
			sector, count, cap);
		return 1;
	}
	err = pmemdev_bb_open(argv[1], &bb);
	if (err) {
		pmr_close(&r);
		return fail(err, "badblocks");
	}
	if (!strcmp(argv[2], "list")) {
		pmemdev_bb_list(bb, print_bb, &first);
		if (first)
			printf("no bad sectors\n");
	} else if (!strcmp(argv[2], "add")) {
		err = pmemdev_bb_add(bb, sector, count);
	} else {
		err = pmemdev_bb_clear(bb, sector, count);
	}
	if (err)
		ret = fail(err, "badblocks");
	pmemdev_bb_close(&bb);
	pmr_close(&r);
	return ret;
}

static void print_bench_json(const struct bench_opts *o, const struct bench_result *res)
{
	printf("{\"mode\":\"%s\",\"target\":\"%s\",\"rw\":\"%s\",\"bs\":%" PRIu64
	       ",\"iodepth\":%u,\"threads\":%u,\"workers\":%u,\"fua\":%s,"
	       "\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.6f,"
	       "\"cpu_seconds\":%.6f,\"bandwidth_bytes_per_s\":%.1f,\"iops\":%.1f,"
	       "\"descriptor_bytes\":%" PRIu64 ",\"bvecs_per_bio\":%.3f,"
	       "\"setup_seconds\":%.9f,\"lat_p50_ns\":%" PRIu64 ",\"lat_p99_ns\":%" PRIu64
	       ",\"region_descriptor_bytes\":%" PRIu64 ",\"region_setup_seconds\":%.9f}\n",
	       desc_mode_name(o->mode), bench_target_name(o->target), bench_rw_name(o->rw), o->bs,
	       o->iodepth, o->threads, o->workers, o->fua ? "true" : "false", res->ios, res->bytes,
	       res->seconds, res->cpu_seconds, res->bandwidth, res->iops, res->descriptor_bytes,
	       res->bvecs_per_bio, res->setup_seconds, res->lat_p50_ns, res->lat_p99_ns,
	       res->region_descriptor_bytes, res->region_setup_seconds);
}

static void print_bench_text(const struct bench_opts *o, const struct bench_result *res)
{
	char b1[32], b2[32];

	printf("%s %s mode=%s bs=%s iodepth=%u threads=%u\n", bench_target_name(o->target),
	       bench_rw_name(o->rw), desc_mode_name(o->mode), format_size(o->bs, b1, sizeof(b1)),
	       o->iodepth, o->threads);
	printf("  %.0f IOPS, %.1f MiB/s, %.3f s CPU in %.3f s\n", res->iops, res->bandwidth / MiB,
	       res->cpu_seconds, res->seconds);
	printf("  bvecs/bio %.1f, latency p50 %" PRIu64 " ns p99 %" PRIu64 " ns\n",
	       res->bvecs_per_bio, res->lat_p50_ns, res->lat_p99_ns);
	printf("  descriptors %s, set-up %.6f s\n",
	       format_size(res->descriptor_bytes, b2, sizeof(b2)), res->setup_seconds);
}

/*
 * parse_uint_opt - the value @arg of option --@name as a number in
 * [@min, @max] into *@out. Returns 0, or EXIT_USAGE after saying what is wrong.
 */
static int parse_uint_opt(const char *name, const char *arg, unsigned min, unsigned max,
			  unsigned *out)
{
	uint64_t v;

	if (parse_u64(arg, &v) || v < min || v > max)
		return usage_error("invalid --%s '%s' (%u..%u)", name, arg, min, max);
	*out = (unsigned)v;
	return 0;
}

static int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {{"target", required_argument, NULL, 't'},
					     {"mode", required_argument, NULL, 'm'},
					     {"rw", required_argument, NULL, 'r'},
					     {"bs", required_argument, NULL, 'b'},
					     {"iodepth", required_argument, NULL, 'q'},
					     {"threads", required_argument, NULL, 'j'},
					     {"workers", required_argument, NULL, 'w'},
					     {"time", required_argument, NULL, 'T'},
					     {"size", required_argument, NULL, 's'},
					     {"fua", no_argument, NULL, 'F'},
					     {"json", no_argument, NULL, 'J'},
					     {"repeat", required_argument, NULL, 'R'},
					     {"ios", required_argument, NULL, 'N'},
					     {"alloc", no_argument, NULL, 'A'},
					     {"lat-sample", required_argument, NULL, 'L'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct bench_opts o = {.target = BENCH_TARGET_PMEM,
			       .mode = DESC_PFN,
			       .rw = BENCH_READ,
			       .bs = 4096,
			       .iodepth = 1,
			       .threads = 1,
			       .seconds = 5};
	enum bench_target targets[3] = {BENCH_TARGET_PMEM};
	enum desc_mode modes[DESC_NR_MODES] = {DESC_PFN};
	unsigned nr_targets = 1, nr_modes = 1, repeat = 1;
	struct bench_result res;
	bool json = false, workers_set = false;
	char *end;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			nr_targets = 0;
			for (char *save = NULL, *tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nr_targets == 3)
					return usage_error("too many targets");
				if (bench_target_parse(tok, &targets[nr_targets]))
					return usage_error("%s", pmd_errmsg());
				nr_targets++;
			}
			if (!nr_targets)
				return usage_error("empty --target");
			break;
		case 'm':
			nr_modes = 0;
			for (char *save = NULL, *tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nr_modes == DESC_NR_MODES ||
				    desc_mode_parse(tok, &modes[nr_modes]))
					return usage_error(
						"unknown mode '%s' (expected pfn, folio or page)",
						tok);
				nr_modes++;
			}
			if (!nr_modes)
				return usage_error("empty --mode");
			break;
		case 'R':
			if (parse_uint_opt("repeat", optarg, 1, 1000, &repeat))
				return EXIT_USAGE;
			break;
		case 'r':
			if (bench_rw_parse(optarg, &o.rw))
				return usage_error("%s", pmd_errmsg());
			break;
		case 'b':
			if (parse_size(optarg, &o.bs) || !o.bs)
				return usage_error("invalid --bs '%s'", optarg);
			break;
		case 'q':
			if (parse_uint_opt("iodepth", optarg, 1, 1024, &o.iodepth))
				return EXIT_USAGE;
			break;
		case 'j':
			if (parse_uint_opt("threads", optarg, 1, 256, &o.threads))
				return EXIT_USAGE;
			break;
		case 'w':
			if (parse_uint_opt("workers", optarg, 0, 64, &o.workers))
				return EXIT_USAGE;
			workers_set = true;
			break;
		case 'T':
			o.seconds = strtod(optarg, &end);
			if (*end || !(o.seconds > 0) || o.seconds > 86400)
				return usage_error("invalid --time '%s'", optarg);
			break;
		case 'N':
			if (parse_u64(optarg, &o.ios) || !o.ios)
				return usage_error("invalid --ios '%s' (a positive count)", optarg);
			break;
		case 's':
			if (parse_size(optarg, &o.size) || !o.size)
				return usage_error("invalid --size '%s'", optarg);
			break;
		case 'F':
			o.fua = true;
			break;
		case 'A':
			o.alloc = true;
			break;
		case 'L':
			if (parse_uint_opt("lat-sample", optarg, 1, 65536, &o.lat_sample))
				return EXIT_USAGE;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("bad option for bench");
		}
	}
	if (optind + 1 != argc)
		return usage_error("bench needs exactly one PATH");
	o.path = argv[optind];
	if (!is_aligned(o.bs, SECTOR_SIZE))
		return usage_error("--bs %" PRIu64 " is not a multiple of the logical block size "
				   "(512 bytes)",
				   o.bs);
	for (unsigned i = 0; i < nr_modes; i++)
		if (modes[i] != DESC_PFN && !is_aligned(o.bs, FRAME_SIZE))
			return usage_error("--bs %" PRIu64
					   " must be a multiple of 4 KiB in %s mode",
					   o.bs, desc_mode_name(modes[i]));
	if (!workers_set && o.iodepth > 1)
		o.workers = o.threads;

	/*
	 * Lists of targets and modes, and repetitions, run alternately in this
	 * one process, so ratios compare runs taken side by side.
	 */
	for (unsigned rep = 0; rep < repeat; rep++) {
		for (unsigned t = 0; t < nr_targets; t++) {
			for (unsigned m = 0; m < nr_modes; m++) {
				o.target = targets[t];
				o.mode = modes[m];
				err = bench_run(&o, &res);
				if (err)
					return fail(err, o.path);
				if (json)
					print_bench_json(&o, &res);
				else
					print_bench_text(&o, &res);
				fflush(stdout);
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2)
		return usage_error("no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("pmemdev %s\n", PMD_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "create"))
		return cmd_create(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "badblocks"))
		return cmd_badblocks(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", cmd);
}
