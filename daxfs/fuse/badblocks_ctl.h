/* SPDX-License-Identifier: MIT */
/*
 * badblocks_ctl.h - the mounted region's emulated badblocks list, owned by
 * the daemon while it is mounted.
 *
 * The list (pmemdev/badblocks.h) is read by every data path on every read,
 * changed by writes that rewrite bad sectors, and stored beside the region
 * by whoever holds it. Two holders would overwrite each other's changes,
 * so while a region is mounted the daemon is its only holder: `pmemdev
 * badblocks` refuses a mounted region (the region lock) and says to use
 *
 *   daxfs badblocks MOUNTPOINT list | add SECTOR [COUNT] | clear SECTOR [COUNT]
 *
 * which asks the daemon with DAXFS_IOC_BADBLOCKS on the mount point (any
 * file or directory of the mount). A change is seen by the next read of
 * every data path and by new DAX mappings. Listing is open to anyone who
 * can open the mount point; add and clear need root or the daemon's user.
 */
#ifndef DAXFS_BADBLOCKS_CTL_H
#define DAXFS_BADBLOCKS_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* daxfs_ioc_badblocks.op */
#define DAXFS_BB_LIST 0	 /* ranges ending after @sector, up to DAXFS_BB_MAX_RANGES */
#define DAXFS_BB_ADD 1	 /* mark [@sector, @sector + @count) bad */
#define DAXFS_BB_CLEAR 2 /* mark [@sector, @sector + @count) good */

#define DAXFS_BB_MAX_RANGES 128
#define DAXFS_BB_MSG_MAX 256

struct daxfs_ioc_badblocks {
	/* in */
	uint32_t op; /* DAXFS_BB_* */
	uint32_t reserved;
	uint64_t sector; /* 512-byte sectors of the region */
	uint64_t count;
	/* out */
	int32_t status;	   /* 0 or -errno */
	uint32_t nr;	   /* LIST: ranges filled in */
	uint64_t total;	   /* bad sectors in the whole list (after the change) */
	uint64_t capacity; /* sectors of the region */
	struct {
		uint64_t sector, count;
	} range[DAXFS_BB_MAX_RANGES];
	char msg[DAXFS_BB_MSG_MAX]; /* why, when status < 0 */
};

#define DAXFS_IOC_BADBLOCKS _IOWR(0xDA, 0x10, struct daxfs_ioc_badblocks)

struct daxfs_daemon;
struct fuse_req; /* fuse_req_t */

/*
 * daxfs_bb_ioctl - answer DAXFS_IOC_BADBLOCKS (the input in @in_buf) with
 * fuse_reply_ioctl(); errors go in the reply's status and message.
 */
void daxfs_bb_ioctl(struct daxfs_daemon *d, struct fuse_req *req, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz);

/* daxfs_badblocks_main - `daxfs badblocks ...` (argv[1] is "badblocks"); exit status. */
int daxfs_badblocks_main(int argc, char **argv);

/*
 * daxfs_poison_main - `daxfs poison [--clear] MOUNTPOINT FRAME [COUNT]`
 * (argv[1] is "poison"): the list above in 4 KiB frames of the region
 * (byte offset / 4096), printing the owner of the first (memfail.h). Exit
 * status 0, 1 (failed), 2 (usage).
 */
int daxfs_poison_main(int argc, char **argv);

#endif
