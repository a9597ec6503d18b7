/* SPDX-License-Identifier: MIT */
/*
 * cli.c - the pmemdev command: list, create, info, badblocks, bench.
 *
 * Exit status, for every command: 0 done, 1 the operation failed (the
 * message names the cause), 2 a usage error (an unknown option, a missing or
 * malformed value, a size the region rules refuse): nothing was touched.
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
#include "cli.h"
#include "errmsg.h"
#include "json.h"
#include "ndctl_list.h"
#include "pmemdev.h"
#include "region.h"
#include "region_lock.h"

#define EXIT_USAGE 2

/*
 * A command: its name, its usage line(s) after "pmemdev ", the rest of its
 * --help text, and the function that runs it with argv[0] = its name.
 */
struct cmd {
	const char *name;
	const char *synopsis;
	const char *help;
	int (*run)(int argc, char **argv);
};

/* the command being run, for its messages ("Try 'pmemdev info --help'") */
static const struct cmd *cur_cmd;

static const char usage_text[] =
	"Usage: pmemdev COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  list [--dir DIR]           real pmem namespaces (ndctl) and emulated regions\n"
	"                             (region-sized files in DIR, default /dev/shm)\n"
	"  create --size SIZE [--sparse] [--chunked] PATH\n"
	"                             create an emulated region file (SIZE: multiple of 2M;\n"
	"                             --sparse: allow more than the free space;\n"
	"                             --chunked: a directory of 2 MiB chunk files, so daxfs\n"
	"                             can give each file's DAX mappings only that file)\n"
	"  info [--json] PATH         size, layout, backend, alignment, backing page size,\n"
	"                             persist granularity, badblocks of a region\n"
	"  badblocks PATH list        list emulated bad sectors\n"
	"  badblocks PATH add SECTOR [COUNT]\n"
	"  badblocks PATH clear SECTOR [COUNT] | clear --all\n"
	"  poison [--clear] PATH FRAME [COUNT]\n"
	"                             mark 4 KiB frames failed (emulated poison: the\n"
	"                             badblocks list, 8 sectors a frame), or good again\n"
	"  bench PATH [OPTIONS]       drive the block layer and report throughput\n"
	"\n"
	"'pmemdev COMMAND --help' shows a command's options (same as 'pmemdev help\n"
	"COMMAND'). Exit status: 0 done, 1 failed, 2 usage error.\n"
	"\n"
	"Common: -h/--help, -V/--version\n";

static const char list_help[] =
	"Lists the real persistent memory namespaces (libndctl; none on a machine\n"
	"without NVDIMMs, which is not an error) and the files in DIR that can serve\n"
	"as emulated regions.\n"
	"\n"
	"Options:\n"
	"  -d, --dir DIR   where to look for emulated regions (default /dev/shm)\n"
	"  -h, --help      this help\n";

static const char create_help[] =
	"Creates the region file PATH (it must not exist).\n"
	"\n"
	"Options:\n"
	"  -s, --size SIZE   bytes, or with a binary suffix k, M, G, T; a multiple of\n"
	"                    2 MiB and at least 4 MiB\n"
	"  --sparse          allow a size beyond the free space of the filesystem\n"
	"  --chunked         make PATH a directory of 2 MiB chunk files mapped as one\n"
	"                    range: daxfs can then give a file's DAX mappings that\n"
	"                    file's chunks only (on tmpfs, hugetlbfs or a DAX\n"
	"                    filesystem)\n"
	"  -h, --help        this help\n";

static const char info_help[] =
	"Prints the size, layout (single file or chunked) and whether DAX mappings\n"
	"of daxfs files on it are isolated, backend, alignment, backing page size\n"
	"and persist granularity of the region PATH, who holds its lock, and its\n"
	"emulated bad sectors. Reads no data and takes no lock: works on a mounted region.\n"
	"\n"
	"Options:\n"
	"  --json       one JSON object instead of text\n"
	"  -h, --help   this help\n";

static const char badblocks_help[] =
	"Lists, adds or clears emulated bad sectors (512 bytes each) of the region\n"
	"PATH. SECTOR counts from 0; COUNT defaults to 1.\n"
	"\n"
	"Options:\n"
	"  --all        with clear: clear every bad sector\n"
	"  -h, --help   this help\n";

static const char poison_help[] =
	"Declares the 4 KiB frames FRAME.. of the region PATH failed (FRAME is the\n"
	"region byte offset / 4096; COUNT defaults to 1): their sectors enter the\n"
	"region's emulated badblocks list, stored beside it, so reads of them fail\n"
	"with EIO in every program that opens the region, a mounted daxfs names the\n"
	"file that owns them and fsck.daxfs reports it. While a daxfs has the region\n"
	"mounted, its daemon owns the list: use 'daxfs poison MOUNTPOINT FRAME'.\n"
	"\n"
	"Options:\n"
	"  --clear      make the frames good again (as a write of them would)\n"
	"  -h, --help   this help\n";

static const char bench_help[] =
	"Drives the block layer on the region PATH and reports throughput, CPU time,\n"
	"latency and descriptor memory.\n"
	"\n"
	"Options:\n"
	"  --target pmem|null|memcpy  driver (null: no copy; memcpy: no block layer);\n"
	"                             a comma list runs each in turn in this process\n"
	"  --mode MODE                descriptor mode: pfn (default), folio, page, ondemand,\n"
	"                             memdesc; a comma list too\n"
	"  --repeat N                 run the whole list N times, alternating\n"
	"  --rw read|write|randread|randwrite   (default read)\n"
	"  --bs SIZE                  bytes per I/O, a multiple of 512 (default 4k)\n"
	"  --iodepth N                I/Os in flight per thread (default 1)\n"
	"  --threads N                submitting threads (default 1)\n"
	"  --workers N                completion threads (default 0: synchronous,\n"
	"                             iodepth > 1 defaults to 1 per thread)\n"
	"  --time SECONDS             run time (default 5)\n"
	"  --ios N                    stop after N I/Os per thread instead of on time\n"
	"                             (fixed work, e.g. for instruction counts)\n"
	"  --size SIZE                use only the first SIZE bytes of the region\n"
	"                             (a multiple of 512, at least --bs)\n"
	"  --fua                      FUA on every write\n"
	"  --alloc                    bio_alloc()/bio_put() per I/O (default: one bio\n"
	"                             per slot, reset with bio_init())\n"
	"  --lat-sample N             time one bio in N for the latency percentiles\n"
	"                             (default 64; 1: every bio)\n"
	"  --json                     one JSON object per run on stdout\n"
	"  -h, --help                 this help\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* usage_error - say what is wrong with the command line; returns EXIT_USAGE. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pmemdev%s%s: ", cur_cmd ? " " : "", cur_cmd ? cur_cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pmemdev %s%s--help'.\n", cur_cmd ? cur_cmd->name : "",
		cur_cmd ? " " : "");
	return EXIT_USAGE;
}

/*
 * fail - report a failed operation on @what (a path, usually) and return 1.
 * The library's message names the path itself most of the time: then @what
 * is not repeated.
 */
static int fail(int err, const char *what)
{
	cli_report(stderr, "pmemdev", what, pmd_strerror(err));
	return 1;
}

static void cmd_print_help(const struct cmd *cmd)
{
	printf("Usage: pmemdev %s\n\n%s", cmd->synopsis, cmd->help);
}

/* what cmd_getopt() returns besides options and -1 */
#define CMD_HELP_SHOWN 0x100 /* -h/--help: help printed, exit 0 */
#define CMD_BAD_OPTION 0x101 /* message printed, exit EXIT_USAGE */

/*
 * cmd_getopt - getopt_long() for the current command's options, which may
 * come in any order, before or after its operands. @shortopts must start
 * with ':' and hold 'h', @longopts hold "help". Returns the next option,
 * -1 at the end, CMD_HELP_SHOWN after printing the command's help for
 * -h/--help, or CMD_BAD_OPTION after a usage message naming an unknown
 * option or one without its value.
 */
static int cmd_getopt(int argc, char **argv, const char *shortopts,
		      const struct option *longopts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == 'h') {
		cmd_print_help(cur_cmd);
		return CMD_HELP_SHOWN;
	}
	if (c == '?' || c == ':') {
		const char *arg = argv[optind - 1];
		int len = (int)strcspn(arg, "=");
		char shortname[3] = {'-', (char)optopt, '\0'};

		/* a long option is argv[optind - 1]; a short one may be in a cluster */
		if (strncmp(arg, "--", 2)) {
			arg = shortname;
			len = 2;
		}
		if (c == ':')
			usage_error("option '%.*s' needs a value", len, arg);
		else
			usage_error("unknown option '%.*s'", len, arg);
		return CMD_BAD_OPTION;
	}
	return c;
}

/* cmd_getopt_end - the exit status for what cmd_getopt() returned. */
static int cmd_getopt_end(int c)
{
	return c == CMD_HELP_SHOWN ? 0 : EXIT_USAGE;
}

/* List files in @d that are usable as regions (2 MiB multiples, >= minimum). */
static void list_emulated(const char *dir, DIR *d)
{
	struct dirent *de;
	unsigned n = 0;

	printf("\n%-40s %-11s %12s\n", "EMULATED REGION", "BACKEND", "SIZE");
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
	if (!n)
		printf("(none in %s)\n", dir);
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *dir = "/dev/shm";
	struct pmr_namespace ns[64];
	unsigned count = 0;
	DIR *d;
	int c, err;

	while ((c = cmd_getopt(argc, argv, ":d:h", opts)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		default:
			return cmd_getopt_end(c);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s' (list takes no operands)",
				   argv[optind]);
	/* a directory that cannot be read is an error, found before any output */
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "pmemdev: cannot read the directory %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	pmd_err_clear();
	err = pmr_list_namespaces(ns, 64, &count);
	if (err) {
		closedir(d);
		return fail(err, "listing namespaces");
	}
	printf("%-16s %-8s %-14s %12s\n", "NAMESPACE", "MODE", "DEVICE", "SIZE");
	for (unsigned i = 0; i < count && i < 64; i++) {
		char b[32];

		printf("%-16s %-8s %-14s %12s\n", ns[i].name, ns[i].mode,
		       ns[i].device[0] ? ns[i].device : "-", format_size(ns[i].size, b, sizeof(b)));
	}
	if (!count)
		printf("(no persistent memory namespaces on this machine)\n");
	list_emulated(dir, d);
	closedir(d);
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {{"size", required_argument, NULL, 's'},
					     {"sparse", no_argument, NULL, 'S'},
					     {"chunked", no_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pmr_region *r;
	/* locked from the moment it exists, so nobody maps it half made */
	unsigned flags = PMR_F_PROGRESS | PMR_F_LOCK_EXCL;
	uint64_t size = 0;
	bool have_size = false;
	int c, err;

	while ((c = cmd_getopt(argc, argv, ":s:h", opts)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size))
				return usage_error("invalid --size '%s' (bytes, or a number with "
						   "k, M, G or T)",
						   optarg);
			have_size = true;
			break;
		case 'S':
			flags |= PMR_F_SPARSE;
			break;
		case 'C':
			flags |= PMR_F_CHUNKED;
			break;
		default:
			return cmd_getopt_end(c);
		}
	}
	if (!have_size)
		return usage_error("--size SIZE is required");
	if (optind + 1 != argc)
		return usage_error("give exactly one PATH");
	if (pmr_check_size(argv[optind], size))
		return usage_error("%s", pmd_errmsg());
	pmd_err_clear();
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

static int print_bb_json(uint64_t sector, uint64_t count, void *arg)
{
	bool *first = arg;

	printf("%s{\"sector\":%" PRIu64 ",\"count\":%" PRIu64 "}", *first ? "" : ",", sector,
	       count);
	*first = false;
	return 0;
}

/* print_owner - who holds the region's lock (lib/region_lock.h), for info. */
static void print_owner(const char *path, bool json)
{
	struct pmr_lock_holder h;
	char who[700];
	int err = pmr_lock_holder(path, &h);

	if (json) {
		printf(",\"in_use\":");
		if (err == -ENOENT) {
			printf("false");
		} else if (err) {
			printf("null");
		} else {
			printf("{\"mode\":\"%s\",\"pid\":%ld,\"program\":",
			       h.exclusive ? "exclusive" : "shared", (long)h.pid);
			pmd_json_str(stdout, h.comm);
			printf(",\"mountpoint\":");
			pmd_json_str(stdout, h.mountpoint);
			printf("}");
		}
	} else if (err == -ENOENT) {
		printf("in use:            no\n");
	} else if (err) {
		printf("in use:            unknown (%s)\n", strerror(-err));
	} else {
		printf("in use:            %s by %s\n", h.exclusive ? "exclusive" : "shared",
		       pmr_lock_describe(&h, who, sizeof(who)));
	}
}

static void print_info_text(const struct pmr_info *in, struct pmemdev_bb *bb)
{
	bool first = true;
	char b1[32], b2[32], b3[32];

	printf("path:              %s\n", in->path);
	printf("size:              %s (%" PRIu64 " bytes)\n",
	       format_size(in->size, b1, sizeof(b1)), in->size);
	if (in->chunked)
		printf("layout:            chunked (%" PRIu64 " chunk files of 2 MiB)\n",
		       in->chunks);
	else
		printf("layout:            single %s\n",
		       in->backend == PMR_BACKEND_DEVDAX ? "device" : "file");
	/* what daxfs can promise its DAX mmap users on this region */
	if (in->chunked)
		printf("isolates:          yes (a DAX mapping of a file reaches that file only)\n"
		       "exposed chunks:    %" PRIu64 " (given to DAX mmap users, not yet taken back)\n",
		       in->exposed_chunks);
	else
		printf("isolates:          no (daxfs gives DAX mmap only to users who may open %s;\n"
		       "                   others map through the page cache)\n",
		       in->path);
	printf("backend:           %s\n", pmr_backend_name(in->backend));
	printf("alignment:         %s\n", format_size(in->alignment, b2, sizeof(b2)));
	printf("backing page size: %s\n", format_size(in->backing_page_size, b3, sizeof(b3)));
	printf("persist:           %s (native %s)\n", pmr_granularity_name(in->granularity),
	       pmr_granularity_name(in->native_granularity));
	printf("memmap if paged:   %" PRIu64 " bytes (64 B per 4 KiB)\n",
	       in->size / FRAME_SIZE * MEMMAP_BYTES_PER_FRAME);
	print_owner(in->path, false);
	printf("badblocks:         %" PRIu64 " sectors\n", pmemdev_bb_count(bb));
	pmemdev_bb_list(bb, print_bb, &first);
}

static void print_info_json(const struct pmr_info *in, struct pmemdev_bb *bb)
{
	bool first = true;

	printf("{\"path\":");
	pmd_json_str(stdout, in->path);
	printf(",\"size\":%" PRIu64 ",\"backend\":\"%s\",\"alignment\":%" PRIu64
	       ",\"backing_page_size\":%" PRIu64
	       ",\"persist\":\"%s\",\"native_persist\":\"%s\",\"memmap_bytes\":%" PRIu64,
	       in->size, pmr_backend_name(in->backend), in->alignment, in->backing_page_size,
	       pmr_granularity_name(in->granularity),
	       pmr_granularity_name(in->native_granularity),
	       in->size / FRAME_SIZE * MEMMAP_BYTES_PER_FRAME);
	printf(",\"layout\":\"%s\",\"chunks\":%" PRIu64 ",\"isolates\":%s,\"exposed_chunks\":%" PRIu64,
	       in->chunked ? "chunked" : in->backend == PMR_BACKEND_DEVDAX ? "device" : "file",
	       in->chunks, in->chunked ? "true" : "false", in->exposed_chunks);
	print_owner(in->path, true);
	printf(",\"badblock_sectors\":%" PRIu64 ",\"badblocks\":[", pmemdev_bb_count(bb));
	pmemdev_bb_list(bb, print_bb_json, &first);
	printf("]}\n");
}

/*
 * info reads the geometry and the badblocks list, never the region's data,
 * so it takes no lock: it must work on a mounted region (it is how a user
 * finds out who holds it).
 */
static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'J'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pmemdev_bb *bb;
	struct pmr_region *r;
	struct pmr_info in;
	bool json = false;
	int c, err;

	while ((c = cmd_getopt(argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		default:
			return cmd_getopt_end(c);
		}
	}
	if (optind + 1 != argc)
		return usage_error("give exactly one PATH");
	pmd_err_clear();
	err = pmr_open(argv[optind], PMR_F_RDONLY, &r);
	if (err)
		return fail(err, argv[optind]);
	pmr_get_info(r, &in);
	pmd_err_clear();
	err = pmemdev_bb_open(in.path, &bb);
	if (err) {
		pmr_close(&r);
		return fail(err, "badblocks");
	}
	if (json)
		print_info_json(&in, bb);
	else
		print_info_text(&in, bb);
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
	static const struct option opts[] = {{"all", no_argument, NULL, 'A'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pmr_lock_holder h;
	struct pmemdev_bb *bb;
	struct pmr_region *r;
	const char *path, *action;
	unsigned flags;
	uint64_t sector = 0, count = 1, cap;
	bool first = true, all = false;
	int c, n, err, ret = 0;

	while ((c = cmd_getopt(argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case 'A':
			all = true;
			break;
		default:
			return cmd_getopt_end(c);
		}
	}
	argv += optind;
	n = argc - optind; /* PATH ACTION [SECTOR [COUNT]] */
	if (n < 2)
		return usage_error("give PATH and an action: list, add or clear");
	path = argv[0];
	action = argv[1];
	if (strcmp(action, "list") && strcmp(action, "add") && strcmp(action, "clear"))
		return usage_error("unknown action '%s' (list, add or clear)", action);
	if (all && strcmp(action, "clear"))
		return usage_error("--all goes with clear only");
	if (!strcmp(action, "list") && n != 2)
		return usage_error("list takes no SECTOR or COUNT");
	if (!strcmp(action, "add") && (n < 3 || n > 4))
		return usage_error("add needs SECTOR [COUNT]");
	if (!strcmp(action, "clear") && all && n != 2)
		return usage_error("clear: give SECTOR [COUNT] or --all, not both");
	if (!strcmp(action, "clear") && !all && (n < 3 || n > 4))
		return usage_error("clear needs SECTOR [COUNT], or --all to clear "
				   "every bad sector");
	if (n >= 3 && parse_u64(argv[2], &sector))
		return usage_error("invalid SECTOR '%s' (a sector number, from 0)", argv[2]);
	if (n == 4 && (parse_u64(argv[3], &count) || !count))
		return usage_error("invalid COUNT '%s' (a positive number of sectors)", argv[3]);

	flags = PMR_F_RDONLY | (strcmp(action, "list") ? PMR_F_LOCK_EXCL : 0);
	pmd_err_clear();
	err = pmr_open(path, flags, &r);
	if (err == -EBUSY && pmr_lock_holder(path, &h) == 0 && h.mountpoint[0]) {
		/* the mounted filesystem's daemon owns the list (one owner) */
		char who[600];

		fprintf(stderr,
			"pmemdev: region %s is in use by %s; its daemon owns the badblocks "
			"list while mounted: use 'daxfs badblocks %s %s%s%s%s%s' (or unmount "
			"it first)\n",
			path, pmr_lock_describe(&h, who, sizeof(who)), h.mountpoint, action,
			n > 2 ? " " : "",
			n > 2 ? argv[2] : (all ? " SECTOR COUNT (see list)" : ""),
			n > 3 ? " " : "", n > 3 ? argv[3] : "");
		return 1;
	}
	if (err)
		return fail(err, path);
	cap = off_to_sector(pmr_size(r));
	if (all)
		count = cap;
	if (sector >= cap || count > cap - sector) {
		pmr_close(&r);
		fprintf(stderr,
			"pmemdev: sectors %" PRIu64 "+%" PRIu64
			" are beyond the end of the region %s (%" PRIu64 " sectors)\n",
			sector, count, path, cap);
		return 1;
	}
	pmd_err_clear();
	err = pmemdev_bb_open(path, &bb);
	if (err) {
		pmr_close(&r);
		return fail(err, "badblocks");
	}
	if (!strcmp(action, "list")) {
		pmemdev_bb_list(bb, print_bb, &first);
		if (first)
			printf("no bad sectors\n");
	} else if (!strcmp(action, "add")) {
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

/*
 * poison: the badblocks list in frames. A writer like badblocks add/clear
 * (the exclusive lock); a mounted region's daemon owns the list.
 */
static int cmd_poison(int argc, char **argv)
{
	static const struct option opts[] = {{"clear", no_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct pmr_lock_holder h;
	struct pmemdev_bb *bb;
	struct pmr_region *r;
	uint64_t frame, count = 1, nframes;
	bool clear = false;
	int c, n, err;

	while ((c = cmd_getopt(argc, argv, ":h", opts)) != -1) {
		if (c != 'C')
			return cmd_getopt_end(c);
		clear = true;
	}
	argv += optind;
	n = argc - optind; /* PATH FRAME [COUNT] */
	if (n < 2 || n > 3)
		return usage_error("give PATH and FRAME [COUNT]");
	if (parse_u64(argv[1], &frame) || frame > UINT64_MAX / 8)
		return usage_error("invalid FRAME '%s' (a frame number: region byte offset / 4096)",
				   argv[1]);
	if (n == 3 && (parse_u64(argv[2], &count) || !count || count > UINT64_MAX / 8))
		return usage_error("invalid COUNT '%s' (a positive number of frames)", argv[2]);
	pmd_err_clear();
	err = pmr_open(argv[0], PMR_F_RDONLY | PMR_F_LOCK_EXCL, &r);
	if (err == -EBUSY && pmr_lock_holder(argv[0], &h) == 0 && h.mountpoint[0]) {
		char who[600];

		fprintf(stderr,
			"pmemdev: region %s is in use by %s; its daemon owns the badblocks list "
			"while mounted: use 'daxfs poison %s%s %s%s%s' (or unmount it first)\n",
			argv[0], pmr_lock_describe(&h, who, sizeof(who)), clear ? "--clear " : "",
			h.mountpoint, argv[1], n > 2 ? " " : "", n > 2 ? argv[2] : "");
		return 1;
	}
	if (err)
		return fail(err, argv[0]);
	nframes = pmr_size(r) / 4096;
	if (frame >= nframes || count > nframes - frame) {
		fprintf(stderr,
			"pmemdev: frames %" PRIu64 "+%" PRIu64
			" are beyond the end of the region %s (%" PRIu64 " frames of 4 KiB)\n",
			frame, count, argv[0], nframes);
		pmr_close(&r);
		return 1;
	}
	pmd_err_clear();
	err = pmemdev_bb_open(argv[0], &bb);
	if (!err) {
		err = clear ? pmemdev_bb_clear(bb, frame * 8, count * 8)
			    : pmemdev_bb_add(bb, frame * 8, count * 8);
		pmemdev_bb_close(&bb);
	}
	pmr_close(&r);
	if (err)
		return fail(err, "poison");
	printf("%s frames %" PRIu64 "..%" PRIu64 " (sectors %" PRIu64 "..%" PRIu64 ")\n",
	       clear ? "cleared" : "poisoned", frame, frame + count - 1, frame * 8,
	       (frame + count) * 8 - 1);
	return 0;
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

/*
 * parse_list - the comma-separated values of option --@name in @arg (which
 * it cuts up), each given to @item(value, i, @out) for the i-th of at most
 * @max. Returns how many there are, or 0 after a usage message: an empty
 * list, too many values, or a value @item refused (it says why and returns
 * nonzero).
 */
static unsigned parse_list(const char *name, char *arg, unsigned max,
			   int (*item)(const char *value, unsigned i, void *out), void *out)
{
	unsigned n = 0;

	for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			usage_error("too many --%s values (at most %u)", name, max);
			return 0;
		}
		if (item(tok, n++, out))
			return 0;
	}
	if (!n)
		usage_error("empty --%s", name);
	return n;
}

/* parse_target/parse_mode - one value of --target/--mode, for parse_list() */
static int parse_target(const char *value, unsigned i, void *out)
{
	if (bench_target_parse(value, &((enum bench_target *)out)[i]))
		return usage_error("%s", pmd_errmsg());
	return 0;
}

static int parse_mode(const char *value, unsigned i, void *out)
{
	if (desc_mode_parse(value, &((enum desc_mode *)out)[i]))
		return usage_error("unknown mode '%s' (expected one of " DESC_MODE_NAMES ")",
				   value);
	return 0;
}

/*
 * check_sectors - @v, the value of option --@name, must be whole logical
 * blocks. Returns 0, or EXIT_USAGE after saying so.
 */
static int check_sectors(const char *name, uint64_t v)
{
	if (!is_aligned(v, SECTOR_SIZE))
		return usage_error("--%s %" PRIu64 " is not a multiple of the logical block "
				   "size (512 bytes)",
				   name, v);
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

	while ((c = cmd_getopt(argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case 't':
			nr_targets = parse_list("target", optarg, 3, parse_target, targets);
			if (!nr_targets)
				return EXIT_USAGE;
			break;
		case 'm':
			nr_modes = parse_list("mode", optarg, DESC_NR_MODES, parse_mode, modes);
			if (!nr_modes)
				return EXIT_USAGE;
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
		default:
			return cmd_getopt_end(c);
		}
	}
	if (optind + 1 != argc)
		return usage_error("give exactly one PATH");
	o.path = argv[optind];
	if (check_sectors("bs", o.bs) || (o.size && check_sectors("size", o.size)))
		return EXIT_USAGE;
	if (o.size && o.size < o.bs) {
		char b1[32], b2[32];

		return usage_error("--size %s is smaller than one I/O (--bs %s)",
				   format_size(o.size, b1, sizeof(b1)),
				   format_size(o.bs, b2, sizeof(b2)));
	}
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
				pmd_err_clear();
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

static const struct cmd cmds[] = {
	{"list", "list [--dir DIR]", list_help, cmd_list},
	{"create", "create --size SIZE [--sparse] [--chunked] PATH", create_help, cmd_create},
	{"info", "info [--json] PATH", info_help, cmd_info},
	{"badblocks",
	 "badblocks PATH list\n"
	 "       pmemdev badblocks PATH add SECTOR [COUNT]\n"
	 "       pmemdev badblocks PATH clear SECTOR [COUNT] | --all",
	 badblocks_help, cmd_badblocks},
	{"poison", "poison [--clear] PATH FRAME [COUNT]", poison_help, cmd_poison},
	{"bench", "bench PATH [OPTIONS]", bench_help, cmd_bench},
};

static const struct cmd *cmd_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2)
		return usage_error("no command given");
	name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
		if (argc > 2 && !strcmp(name, "help")) {
			cur_cmd = cmd_find(argv[2]);
			if (!cur_cmd)
				return usage_error("unknown command '%s'", argv[2]);
			cmd_print_help(cur_cmd);
			return 0;
		}
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("pmemdev %s\n", PMD_VERSION);
		return 0;
	}
	cur_cmd = cmd_find(name);
	if (!cur_cmd)
		return usage_error("unknown command '%s'", name);
	optind = 1;
	return cur_cmd->run(argc - 1, argv + 1);
}
