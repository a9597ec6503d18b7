/* SPDX-License-Identifier: MIT */
/*
 * memfail.h - memory failure in the daemon: from a failing frame of the
 * region to the file that owns it, and the report.
 *
 * A frame fails when sectors of it enter the region's badblocks list (the
 * emulated poison: `daxfs poison MOUNTPOINT FRAME`, `daxfs badblocks ...
 * add`, or a list stored beside the region before the mount). Every data
 * path already fails reads of bad sectors with EIO and the DAX mmap server
 * refuses mappings over them; this part names the owner: the daemon logs
 * the file and byte range of each failing frame (when it fails, and at
 * mount for frames already listed), `daxfs poison` prints them, and
 * `daxfs stat` lists them.
 *
 * The owner comes from the core (daxfs_owner_of): its reverse map in pfn
 * mode, or, on the bio and page paths in a descriptor mode that holds an
 * owner (folio, page, ondemand, memdesc), the descriptors of the region's
 * frames (daxfs_dp_owner_attach).
 */
#ifndef DAXFS_MEMFAIL_H
#define DAXFS_MEMFAIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct daxfs;
struct daxfs_daemon;
struct pmemdev;

/* Frames named in one report (log, reply, stat); more are counted. */
#define DAXFS_MEMFAIL_MAX_FRAMES 64

/*
 * daxfs_memfail_describe - one line naming the owner of region frame
 * @frame (4 KiB, from the region start) into @buf: "frame F (region bytes
 * X..Y): file /a (inode N) bytes A..B", "... free", "... metadata".
 */
void daxfs_memfail_describe(struct daxfs *fs, uint64_t frame, char *buf, size_t size);

/*
 * daxfs_memfail_report - sectors [@sector, +@count) just failed (or, with
 * @cleared, were cleared): log one line per frame (at most
 * DAXFS_MEMFAIL_MAX_FRAMES) and put the first into @msg (may be NULL).
 */
void daxfs_memfail_report(struct daxfs_daemon *d, uint64_t sector, uint64_t count, int cleared,
			  char *msg, size_t msgsz);

/* daxfs_memfail_report_all - log the owners of every frame of the list (at mount). */
void daxfs_memfail_report_all(struct daxfs_daemon *d);

/* daxfs_memfail_print - the stat section: failing frames and owners (text or JSON member). */
void daxfs_memfail_print(struct daxfs_daemon *d, FILE *f, int json);

/*
 * daxfs_dp_owner_attach - the region of @pd is registered in a descriptor
 * mode that holds an owner: let the core keep owners there (it frees its
 * own reverse map). No-op in pfn mode. Before serving.
 * daxfs_dp_owner_detach - back to the core's map, before @pd goes.
 */
void daxfs_dp_owner_attach(struct daxfs *fs, struct pmemdev *pd);
void daxfs_dp_owner_detach(struct daxfs *fs, struct pmemdev *pd);

#endif
