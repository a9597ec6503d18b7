/* SPDX-License-Identifier: MIT */
/*
 * bblist.h - a region's emulated badblocks list (pmemdev/badblocks.h) in
 * the form the daxfs core takes it (struct daxfs_badblocks: byte ranges),
 * for mkfs.daxfs, fsck.daxfs and the daemon.
 */
#ifndef DAXFS_BBLIST_H
#define DAXFS_BBLIST_H

#include "badblocks.h"
#include "daxfs.h"

/*
 * daxfs_bb_ops - fill @out with check and clear functions over @bb (check
 * tells whether any sector of a byte range is bad; clear forgets the whole
 * sectors of a byte range and stores the list). @bb must outlive their use.
 */
void daxfs_bb_ops(struct pmemdev_bb *bb, struct daxfs_badblocks *out);

#endif
