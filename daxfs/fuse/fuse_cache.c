/* SPDX-License-Identifier: MIT */
/*
 * fuse_cache.c - what the kernel may cache of a daxfs mount, and keeping
 * what it caches right (cache modes in fuse_daemon.h).
 *
 * Shared mappings. The kernel maps FUSE files through its page cache. With
 * cache=never files are opened direct_io, and FUSE_CAP_DIRECT_IO_ALLOW_MMAP
 * lets the kernel map them all the same: it then keeps page cache pages
 * only for what is mapped, writes dirty ones back (WRITE requests) before a
 * direct read or write of the same range and at msync/fsync, and drops them
 * after a direct write, so read(2), write(2) and every kernel mapping of the
 * file agree at once. A truncate or hole punch through the mount drops the
 * pages past the new end (SIGBUS there, as on ext4).
 *
 * Data that changes behind the kernel. A libdaxfs DAX mapping stores into
 * region memory directly. The daemon drops the kernel's cached pages of the
 * file when such a mapping is granted (dirty pages of kernel mappings are
 * written back first, so the DAX mapping starts from the newest data) and
 * again when the mapping goes away (so cached readers see its stores).
 */
#include <errno.h>

#include "fuse_daemon.h"

const char *daxfs_cache_mode_name(enum daxfs_cache_mode m)
{
	switch (m) {
	case DAXFS_CACHE_AUTO:
		return "auto";
	case DAXFS_CACHE_ALWAYS:
		return "always";
	default:
		return "never";
	}
}

int daxfs_fuse_inval_data(struct daxfs_daemon *d, uint64_t ino)
{
	int err;

	if (!d->se)
		return 0;
	/* offset 0, length 0: every page of the file, and its attributes */
	err = fuse_lowlevel_notify_inval_inode(d->se, (fuse_ino_t)ino, 0, 0);
	return err == -ENOENT ? 0 : err;
}
