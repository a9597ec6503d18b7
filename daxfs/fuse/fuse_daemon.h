/* SPDX-License-Identifier: MIT */
/*
 * fuse_daemon.h - the daxfs FUSE daemon's internals shared between
 * daxfs_main.c (command line, mount), fuse_ops.c (the low-level ops table)
 * and fuse_mount.c (mount point checks).
 */
#ifndef DAXFS_FUSE_DAEMON_H
#define DAXFS_FUSE_DAEMON_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"
#include "fuse_stats.h"

struct daxfs;
struct daxfs_mmap_server;

/* Inode numbers of the hidden statistics files (never used by the core). */
#define DAXFS_FUSE_STATS_INO (UINT64_MAX - 1)
#define DAXFS_FUSE_STATS_JSON_INO (UINT64_MAX - 2)

/* Largest read or write request, bytes (FUSE's 256-page limit). */
#define DAXFS_FUSE_MAX_IO (UINT32_C(1) << 20)

struct daxfs_daemon {
	struct daxfs *fs;
	const char *region_path;
	const char *mountpoint;
	bool read_only;
	struct daxfs_dp_config dp_cfg;
	const struct daxfs_dp_ops *dp_ops;
	struct daxfs_dp *dp;
	/*
	 * How long the kernel may trust a name (entry_timeout, also for names
	 * that do not exist: negative_timeout) and an inode's attributes
	 * (attr_timeout), seconds. Every name change goes through this daemon
	 * and the kernel, so names can be trusted long; attributes stay short
	 * because DAX mmap clients allocate blocks (st_blocks) behind the
	 * kernel's back.
	 */
	double entry_timeout;
	double negative_timeout;
	double attr_timeout;
	struct daxfs_fuse_stats stats;
	struct daxfs_mmap_server *mmap; /* DAX mmap server, NULL if not built */
};

/* The low-level operations; userdata is a struct daxfs_daemon. */
extern const struct fuse_lowlevel_ops daxfs_fuse_ops;

/*
 * daxfs_fuse_check_mountpoint - refuse a mount point that is missing, not a
 * directory, already a mount point, or (unless @nonempty) not empty.
 * Returns 0 or -errno with pmd_err naming the problem.
 */
int daxfs_fuse_check_mountpoint(const char *path, bool nonempty);

/*
 * daxfs_fuse_print_stats - write the mount's statistics (text or JSON) to
 * @f: ops, bytes, data path counters, core counters.
 */
void daxfs_fuse_print_stats(struct daxfs_daemon *d, FILE *f, int json);

#endif
