/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include "core.h"
int daxfs_rebuild_bitmap(struct daxfs *fs);
int daxfs_rebuild_bitmap(struct daxfs *fs)
{
	return 0;
}
int daxfs_fsck(const char *path, const struct daxfs_fsck_opts *opts)
{
	return DAXFS_FSCK_OPERROR;
}
