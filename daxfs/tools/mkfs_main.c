/* SPDX-License-Identifier: MIT */
/*
 * mkfs.daxfs - create a daxfs filesystem on a pmem region.
 *
 *   mkfs.daxfs [--size SIZE] [--chunked] [--label L] [--uuid U] [--inodes N]
 *              [--journal SIZE] [-f] [-q] REGION
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	fprintf(f, "usage: mkfs.daxfs [options] REGION\n"
		   "  -s, --size SIZE     create REGION (a file) of SIZE when it does not exist:\n"
		   "                      a multiple of 2M, at least 4M (K, M, G, T suffixes)\n"
		   "  -C, --chunked       with --size: create REGION as a directory of 2 MiB chunk\n"
		   "                      files, on which DAX mmap gives a user the mapped file\n"
		   "                      and nothing else\n"
		   "  -L, --label LABEL   a label of up to 64 bytes\n"
		   "  -U, --uuid UUID     the filesystem UUID (8-4-4-4-12 hex digits); default random\n"
		   "  -i, --inodes N      inode count, rounded up to a multiple of 16\n"
		   "  -j, --journal SIZE  journal size, a multiple of 4K from 64K to 1G\n"
		   "  -f, --force         overwrite a filesystem or other data on REGION\n"
		   "  -q, --quiet         print nothing on success\n"
		   "  -h, --help          this help; -V, --version  the version\n"
		   "Exit status: 0 created, 8 not created, 16 usage error (nothing changed).\n");
}

/* bad - a bad option value: say which, what would do; exit status 16 */
static int bad_value(const char *what, const char *arg, const char *next)
{
	fprintf(stderr, "mkfs.daxfs: bad %s \"%s\": %s\n", what, arg, next);
	return 16;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},	  {"label", required_argument, NULL, 'L'},
		{"uuid", required_argument, NULL, 'U'},	  {"inodes", required_argument, NULL, 'i'},
		{"journal", required_argument, NULL, 'j'}, {"force", no_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},	  {"help", no_argument, NULL, 'h'},
		{"chunked", no_argument, NULL, 'C'},	  CLI_VERSION_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct daxfs_mkfs_opts o = {.progress = true};
	struct daxfs_mkfs_layout layout;
	struct daxfs_badblocks bad;
	struct pmemdev_bb *bb = NULL;
	uint64_t size = 0;
	uint8_t uuid[16];
	bool sized = false, force = false, quiet = false, created = false, chunked = false;
	struct pmr_region *r = NULL;
	const char *path;
	struct stat st;
	char buf[32], sbuf[32], uuidtext[DAXFS_UUID_STR_LEN], *end;
	int c, err;

	while ((c = getopt_long(argc, argv, "s:L:U:i:j:fqhVC", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size))
				return bad_value("size", optarg,
					   "give bytes or a number with a K, M, G or T suffix (1G)");
			sized = true;
			break;
		case 'L':
			o.label = optarg;
			break;
		case 'U':
			if (daxfs_uuid_parse(optarg, uuid))
				return bad_value("UUID", optarg,
					   "give 32 hex digits as 8-4-4-4-12, as uuidgen prints");
			o.uuid = uuid;
			break;
		case 'i':
			errno = 0;
			o.inodes = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg || !o.inodes || optarg[0] == '-')
				return bad_value("inode count", optarg,
					   "give a whole number of at least 1");
			break;
		case 'j':
			if (parse_size(optarg, &o.journal_bytes) || !o.journal_bytes)
				return bad_value("journal size", optarg,
					   "give a multiple of 4K from 64K to 1G");
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			o.progress = false;
			break;
		case 'V':
			return cli_version("mkfs.daxfs");
		case 'C':
			chunked = true;
			break;
		case 'h':
		default:
			return cli_help(usage, c, 16);
		}
	}
	path = cli_operand(argc, argv, usage);
	if (!path)
		return 16;
	/* every rule that does not depend on the region, before touching it */
	if ((sized && pmr_check_size(path, size)) || daxfs_mkfs_check_opts(&o)) {
		fprintf(stderr, "mkfs.daxfs: %s\n", pmd_errmsg());
		return 16;
	}
	if (!o.uuid) {
		/* chosen here, so that the message can name it */
		if (getrandom(uuid, sizeof(uuid), 0) != (ssize_t)sizeof(uuid)) {
			fprintf(stderr, "mkfs.daxfs: no random UUID: %s\n", strerror(errno));
			return 8;
		}
		uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4, random */
		uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
		o.uuid = uuid;
	}
	if (stat(path, &st) && errno == ENOENT) {
		if (!sized) {
			fprintf(stderr,
				"mkfs.daxfs: %s does not exist (give --size to create it)\n", path);
			return 8;
		}
		err = pmr_create(path, size, PMR_F_LOCK_EXCL | (chunked ? PMR_F_CHUNKED : 0), &r);
		created = true;
	} else {
		if (sized && S_ISREG(st.st_mode) && (uint64_t)st.st_size != size) {
			fprintf(stderr,
				"mkfs.daxfs: %s exists with %s, not the --size given (%s); leave "
				"out --size to use the whole file, or remove it first\n",
				path, pmd_size_hint((uint64_t)st.st_size, buf, sizeof(buf)),
				pmd_size_hint(size, sbuf, sizeof(sbuf)));
			return 8;
		}
		if (chunked && !S_ISDIR(st.st_mode)) {
			fprintf(stderr,
				"mkfs.daxfs: %s exists and is not a chunked region: --chunked "
				"creates a new region (remove %s or give a new path)\n",
				path, path);
			return 8;
		}
		/* one owner per region; a daemon still closing is waited for */
		err = pmr_open(path, PMR_F_LOCK_EXCL | PMR_F_LOCK_WAIT, &r);
	}
	if (err) {
		cli_report(stderr, "mkfs.daxfs", path, pmd_strerror(err));
		return 8;
	}
	if (!created && sized && pmr_size(r) != size) {
		fprintf(stderr, "mkfs.daxfs: %s has %llu bytes, not the --size given (%llu)\n",
			path, (unsigned long long)pmr_size(r), (unsigned long long)size);
		pmr_close(&r);
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
		cli_report(stderr, "mkfs.daxfs", path, pmd_strerror(err));
		pmr_close(&r);
		if (created)
			pmr_destroy(path);
		return 8;
	}
	daxfs_bb_ops(bb, &bad);
	if (pmemdev_bb_count(bb))
		o.bad = &bad;
	o.layout = &layout;
	err = daxfs_mkfs(r, &o);
	if (err) {
		cli_report(stderr, "mkfs.daxfs", path, pmd_strerror(err));
		pmemdev_bb_close(&bb);
		pmr_close(&r);
		if (created)
			pmr_destroy(path);
		return 8;
	}
	if (!quiet)
		printf("mkfs.daxfs: %s: %s daxfs created, UUID %s\n", path,
		       format_size(pmr_size(r), buf, sizeof(buf)),
		       daxfs_uuid_format(o.uuid, uuidtext));
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
