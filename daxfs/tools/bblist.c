/* SPDX-License-Identifier: MIT */
/*
 * bblist.c - pmemdev's sector-based badblocks list behind the daxfs core's
 * byte-based struct daxfs_badblocks.
 */
#include "bblist.h"

#define SECTOR_SHIFT 9

static bool bb_check(void *ctx, uint64_t off, uint64_t len)
{
	uint64_t first = off >> SECTOR_SHIFT;
	uint64_t end = (off + len + (1u << SECTOR_SHIFT) - 1) >> SECTOR_SHIFT;

	return len && pmemdev_bb_check(ctx, first, end - first);
}

static int bb_clear(void *ctx, uint64_t off, uint64_t len)
{
	/* only whole sectors are rewritten */
	uint64_t first = (off + (1u << SECTOR_SHIFT) - 1) >> SECTOR_SHIFT;
	uint64_t end = (off + len) >> SECTOR_SHIFT;

	return end > first ? pmemdev_bb_clear(ctx, first, end - first) : 0;
}

void daxfs_bb_ops(struct pmemdev_bb *bb, struct daxfs_badblocks *out)
{
	out->check = bb_check;
	out->clear = bb_clear;
	out->ctx = bb;
}
