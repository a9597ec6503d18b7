/* SPDX-License-Identifier: MIT */
/*
 * test_core_util.h - helpers for the daxfs core tests: make a fresh
 * filesystem in a region file under test_tmpdir() and remove it at exit.
 */
#ifndef PMD_TEST_CORE_UTIL_H
#define PMD_TEST_CORE_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daxfs.h"
#include "errmsg.h"
#include "format.h"
#include "region.h"
#include "test.h"

static char core_region_path[512];

static void core_cleanup(void)
{
	if (core_region_path[0])
		unlink(core_region_path);
}

/* core_mkfs - new region of @size bytes with an empty fs; returns its path */
static inline const char *core_mkfs(const char *tag, uint64_t size, uint64_t inodes)
{
	struct pmr_region *r;
	struct daxfs_mkfs_opts o = {.label = "test", .inodes = inodes};
	int err;

	test_path(core_region_path, sizeof(core_region_path), tag);
	unlink(core_region_path);
	atexit(core_cleanup);
	err = pmr_create(core_region_path, size, 0, &r);
	if (err) {
		fprintf(stderr, "pmr_create %s: %s\n", core_region_path, pmd_strerror(err));
		exit(1);
	}
	err = daxfs_mkfs(r, &o);
	if (err) {
		fprintf(stderr, "daxfs_mkfs: %s\n", pmd_strerror(err));
		exit(1);
	}
	pmr_close(&r);
	return core_region_path;
}

static inline struct daxfs *core_open(const char *path)
{
	struct daxfs *fs;
	int err = daxfs_open(path, 0, &fs);

	if (err) {
		fprintf(stderr, "daxfs_open %s: %s\n", path, pmd_strerror(err));
		exit(1);
	}
	return fs;
}

/* core_fsck_clean - fsck -n must report a clean filesystem */
static inline void core_fsck_clean(const char *path)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = devnull};
	int rc = daxfs_fsck(path, &o);

	fclose(devnull);
	if (rc != 0) {
		struct daxfs_fsck_opts v = {.mode = DAXFS_FSCK_CHECK, .verbose = true};

		daxfs_fsck(path, &v);
		fprintf(stderr, "fsck of %s returned %d\n", path, rc);
		exit(1);
	}
}

/* core_super - the primary superblock of the region file @path */
static inline struct daxfs_dsuper core_super(const char *path)
{
	struct daxfs_dsuper sb;
	FILE *f = fopen(path, "rb");

	CHECK(f);
	CHECK_EQ(fread(&sb, sizeof(sb), 1, f), 1);
	fclose(f);
	return sb;
}

#endif
