/* SPDX-License-Identifier: MIT */
/*
 * badblocks.h - a persistent list of emulated bad sectors of a region.
 *
 * A list is a set of sector ranges (512-byte sectors, like the kernel's
 * badblocks), kept sorted with overlapping and adjacent ranges merged.
 * Clearing part of a range splits it.
 *
 * Storage: for a region file the list lives beside it as
 * "<region path>.badblocks", a text file with one "sector count" line per
 * range ('#' starts a comment). Every change rewrites it atomically (write
 * a temporary file, fsync, rename, fsync the directory), so the list
 * survives restarts and a crash leaves either the old or the new list; an
 * empty list removes the file. For device regions (/dev/dax*, or any
 * character device) the list is kept in memory only and is lost at close:
 * there is no file system beside the device to keep it in.
 *
 * Concurrency: all functions are safe from any thread. Changes are
 * serialised by a rwlock; pmemdev_bb_check() takes it shared, after a
 * fast path for the usual empty list that is one relaxed atomic load. A
 * check racing with an add may or may not see the new range (as I/O racing
 * with poison injection on real hardware).
 */
#ifndef PMEMDEV_BADBLOCKS_H
#define PMEMDEV_BADBLOCKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct pmemdev_bb;

/*
 * The head of every list, public so that the empty check on a driver's hot
 * path is an inline relaxed load and no call. Opaque otherwise.
 */
struct pmemdev_bb_head {
	atomic_uint nr_pub; /* ranges in the list, published on every change */
};

/*
 * pmemdev_bb_empty - true if the list has no bad range (a relaxed load: a
 * check racing with an add may miss the new range, as pmemdev_bb_check()).
 * The read and write paths test it before they call anything else.
 */
static inline bool pmemdev_bb_empty(const struct pmemdev_bb *bb)
{
	return !atomic_load_explicit(&((const struct pmemdev_bb_head *)bb)->nr_pub,
				     memory_order_relaxed);
}

/*
 * pmemdev_bb_open - load the badblocks list of the region at @region_path
 * (the region need not be open). A missing list file is an empty list.
 * @region_path NULL gives an in-memory list.
 * Returns 0 and the list in *@out, -ENOMEM, or -EINVAL with pmd_errmsg()
 * naming the file and line when the list file is malformed.
 */
int pmemdev_bb_open(const char *region_path, struct pmemdev_bb **out);

/* pmemdev_bb_close - free the list (already stored); sets *@bbp to NULL. */
void pmemdev_bb_close(struct pmemdev_bb **bbp);

/*
 * pmemdev_bb_add - mark sectors [@sector, @sector + @nr_sectors) bad and
 * store the list. Returns 0, -EINVAL (zero count or the range overflows),
 * -ENOMEM or the -errno of writing the file; on error the list is
 * unchanged.
 */
int pmemdev_bb_add(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors);

/*
 * pmemdev_bb_clear - mark sectors [@sector, @sector + @nr_sectors) good and
 * store the list if it changed (a range may be split in two). Cheap when
 * nothing in the range is bad: no lock when the list is empty, no write
 * when nothing changed. Returns 0 or -errno as pmemdev_bb_add().
 */
int pmemdev_bb_clear(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors);

/*
 * pmemdev_bb_check - true if any sector of [@sector, @sector + @nr_sectors)
 * is bad. Called on every read: one relaxed atomic load when the list is
 * empty, else a binary search under the shared lock.
 */
bool pmemdev_bb_check(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors);

/*
 * pmemdev_bb_find - like pmemdev_bb_check(), and on true also the first bad
 * range overlapping the given one, clipped to it: *@first_bad (sector) and
 * *@bad_sectors (count).
 */
bool pmemdev_bb_find(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors,
		     uint64_t *first_bad, uint64_t *bad_sectors);

/* pmemdev_bb_count - bad sectors in total. */
uint64_t pmemdev_bb_count(struct pmemdev_bb *bb);

/* pmemdev_bb_nr_ranges - number of (merged) bad ranges. */
unsigned pmemdev_bb_nr_ranges(struct pmemdev_bb *bb);

/*
 * pmemdev_bb_fn - called for each range in ascending order; return 0 to go
 * on, anything else to stop (pmemdev_bb_list() then returns that value).
 * Runs with the shared lock held: it must not change the list.
 */
typedef int(pmemdev_bb_fn)(uint64_t sector, uint64_t nr_sectors, void *arg);

/* pmemdev_bb_list - walk the ranges; returns 0 or what @fn stopped with. */
int pmemdev_bb_list(struct pmemdev_bb *bb, pmemdev_bb_fn *fn, void *arg);

/*
 * pmemdev_bb_file - the list file's path, or NULL for an in-memory list.
 * Valid until close.
 */
const char *pmemdev_bb_file(const struct pmemdev_bb *bb);

#endif
