/* SPDX-License-Identifier: MIT */
/*
 * fsck.daxfs - check and repair a daxfs filesystem.
 *
 *   fsck.daxfs [-n|-y|-p] [--json] [-v] [--upgrade] REGION
 *
 * Exit status is a bitmask as for e2fsck: 0 clean, 1 errors corrected,
 * 4 errors left uncorrected, 8 operational error, 16 usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bblist.h"
#include "cli.h"
#include "daxfs.h"
#include "errmsg.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: fsck.daxfs [-n|-y|-p] [--json] [-v] [--upgrade] REGION\n"
		   "  -n             check only, never write (default)\n"
		   "  -y             repair every problem found\n"
		   "  -p             preen: repair only what cannot lose data; exit 4 if more\n"
		   "                 is needed\n"
		   "  --upgrade      with -y: then bring an older image to version 3\n"
		   "  -f             accepted for e2fsck users: the check is always full\n"
		   "  --json         the report as one JSON object on stdout\n"
		   "  -v, --verbose  list every problem, not only the first ones\n"
		   "  -h, --help     this help; -V, --version  the version\n"
		   "Exit status (bits): 0 clean, 1 errors fixed, 4 errors left, 8 operational\n"
		   "error, 16 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'J'},
		{"verbose", no_argument, NULL, 'v'},
		{"upgrade", no_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		CLI_VERSION_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK};
	struct daxfs_badblocks bad;
	struct pmemdev_bb *bb;
	int err, rc;
	const char *path;
	int c, modes = 0;

	while ((c = getopt_long(argc, argv, "nypfvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.mode = DAXFS_FSCK_CHECK;
			modes++;
			break;
		case 'y':
			o.mode = DAXFS_FSCK_REPAIR;
			modes++;
			break;
		case 'p':
			o.mode = DAXFS_FSCK_PREEN;
			modes++;
			break;
		case 'f':
			break; /* always a full check */
		case 'J':
			o.json = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'V':
			return cli_version("fsck.daxfs");
		case 'U':
			o.upgrade = true;
			break;
		case 'h':
		default:
			return cli_help(usage, c, DAXFS_FSCK_USAGE);
		}
	}
	if (modes > 1) {
		fprintf(stderr, "fsck.daxfs: -n, -y and -p exclude each other\n");
		usage(stderr);
		return DAXFS_FSCK_USAGE;
	}
	if (o.upgrade && o.mode != DAXFS_FSCK_REPAIR) {
		fprintf(stderr, "fsck.daxfs: --upgrade needs -y\n");
		usage(stderr);
		return DAXFS_FSCK_USAGE;
	}
	path = cli_operand(argc, argv, usage);
	if (!path)
		return DAXFS_FSCK_USAGE;
	/* the region's emulated bad sectors: the files on them are listed */
	err = pmemdev_bb_open(path, &bb);
	if (err) {
		fprintf(stderr, "fsck.daxfs: %s: %s\n", path, pmd_strerror(err));
		return DAXFS_FSCK_OPERROR;
	}
	daxfs_bb_ops(bb, &bad);
	if (pmemdev_bb_count(bb))
		o.bad = &bad;
	rc = daxfs_fsck(path, &o);
	pmemdev_bb_close(&bb);
	return rc;
}
