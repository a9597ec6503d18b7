/* SPDX-License-Identifier: MIT */
/*
 * mkfs.daxfs - create a daxfs filesystem on a pmem region.
 *
 *   mkfs.daxfs REGION [--size SIZE] [--label L] [--inodes N] [--journal SIZE] [-f]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bblist.h"
#include "cli.h"
#include "daxfs.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mkfs.daxfs REGION [--size SIZE] [--label LABEL] [--inodes N]\n"
		   "                  [--journal SIZE] [-f|--force] [-q|--quiet]\n"
		   "Creates REGION (a file) when it does not exist and --size is given.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},	  {"label", required_argument, NULL, 'L'},
		{"inodes", required_argument, NULL, 'i'}, {"journal", required_argument, NULL, 'j'},
		{"force", no_argument, NULL, 'f'},	  {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	struct daxfs_mkfs_opts o = {.progress = true};
	struct daxfs_mkfs_layout layout;
	struct daxfs_badblocks bad;
	struct pmemdev_bb *bb = NULL;
	uint64_t size = 0;
	bool force = false, quiet = false, created = false;
	struct pmr_region *r = NULL;
	const char *path;
	struct stat st;
	char buf[32], *end;
	int c, err;

	while ((c = getopt_long(argc, argv, "s:L:i:j:fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || !size) {
				fprintf(stderr, "mkfs.daxfs: bad size \"%s\"\n", optarg);
				return 16;
			}
			break;
		case 'L':
			o.label = optarg;
			if (strlen(optarg) > 64) {
				fprintf(stderr,
					"mkfs.daxfs: label \"%s\" is longer than 64 bytes\n",
					optarg);
				return 16;
			}
			break;
		case 'i':
			errno = 0;
			o.inodes = strtoull(optarg, &end, 0);
			if (errno || *end || !o.inodes || optarg[0] == '-') {
				fprintf(stderr, "mkfs.daxfs: bad inode count \"%s\"\n", optarg);
				return 16;
			}
			break;
		case 'j':
			if (parse_size(optarg, &o.journal_bytes) || !o.journal_bytes) {
				fprintf(stderr, "mkfs.daxfs: bad journal size \"%s\"\n", optarg);
				return 16;
			}
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			o.progress = false;
			break;
		case 'h':
		default:
			return cli_help(usage, c, 16);
		}
	}
	path = cli_operand(argc, argv, usage);
	if (!path)
		return 16;
	if (size && (size % HUGE_SIZE || size < PMR_MIN_SIZE)) {
		fprintf(stderr,
			"mkfs.daxfs: size %s is not a multiple of 2 MiB of at least 4 MiB\n",
			format_size(size, buf, sizeof(buf)));
		return 16;
	}
	if (stat(path, &st) && errno == ENOENT) {
		if (!size) {
			fprintf(stderr,
				"mkfs.daxfs: %s does not exist (give --size to create it)\n", path);
			return 8;
		}
		err = pmr_create(path, size, PMR_F_LOCK_EXCL, &r);
		created = true;
	} else {
		if (size && S_ISREG(st.st_mode) && (uint64_t)st.st_size != size) {
			fprintf(stderr,
				"mkfs.daxfs: %s exists with %llu bytes, not the --size given "
				"(%llu)\n",
				path, (unsigned long long)st.st_size, (unsigned long long)size);
			return 8;
		}
		/* one owner per region; a daemon still closing is waited for */
		err = pmr_open(path, PMR_F_LOCK_EXCL | PMR_F_LOCK_WAIT, &r);
	}
	if (err) {
		fprintf(stderr, "mkfs.daxfs: %s: %s\n", path, pmd_strerror(err));
		return 8;
	}
	if (!created && !force) {
		enum daxfs_probe_result p = daxfs_probe(r);

		if (p != DAXFS_PROBE_EMPTY) {
			fprintf(stderr,
				"mkfs.daxfs: %s already contains %s; use -f to overwrite it\n",
				path,
				p == DAXFS_PROBE_DAXFS ? "a daxfs filesystem" : "data (not zero)");
			pmr_close(&r);
			return 8;
		}
	}
	/* the region's emulated bad sectors: the metadata is kept off them */
	err = pmemdev_bb_open(path, &bb);
	if (err) {
		fprintf(stderr, "mkfs.daxfs: %s: %s\n", path, pmd_strerror(err));
		pmr_close(&r);
		if (created)
			unlink(path);
		return 8;
	}
	daxfs_bb_ops(bb, &bad);
	if (pmemdev_bb_count(bb))
		o.bad = &bad;
	o.layout = &layout;
	err = daxfs_mkfs(r, &o);
	if (err) {
		fprintf(stderr, "mkfs.daxfs: %s: %s\n", path, pmd_strerror(err));
		pmemdev_bb_close(&bb);
		pmr_close(&r);
		if (created)
			unlink(path);
		return 8;
	}
	if (!quiet)
		printf("mkfs.daxfs: %s: %s daxfs created\n", path,
		       format_size(pmr_size(r), buf, sizeof(buf)));
	if (!quiet && pmemdev_bb_count(bb))
		printf("mkfs.daxfs: %s: %llu bad sectors (pmemdev badblocks %s list): the "
		       "metadata is kept off them (journal, inode table and bitmap at blocks "
		       "%llu..%llu, %llu blocks before them left unused); file blocks on bad "
		       "sectors are rewritten when they are allocated\n",
		       path, (unsigned long long)pmemdev_bb_count(bb), path,
		       (unsigned long long)layout.journal_blk,
		       (unsigned long long)(layout.journal_blk + layout.meta_blocks - 1),
		       (unsigned long long)layout.skipped);
	pmemdev_bb_close(&bb);
	pmr_close(&r);
	return 0;
}
