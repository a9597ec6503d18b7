/* SPDX-License-Identifier: MIT */
/*
 * desc_migrate.h - move a live 2 MiB extent of a file to new frames while
 * it is read, written and mapped: the second half of the argument that
 * memory must describe itself (desc_owner.h is the first).
 *
 * To move an extent, the mover must know that nobody is using the old
 * frames, and must stop new users until the data is in its new place:
 *   1. mark the extent MOVING: new I/O and new mappings wait for the move;
 *   2. break the mapping leases: a client that has the extent mapped
 *      (DAX) notices at its next access and lets go, as a layout lease
 *      holder does when the kernel breaks the lease;
 *   3. wait until nobody holds the old frames. This is where the designs
 *      differ: page, folio, ondemand and memdesc bios and mappings take
 *      references in the descriptors, so the mover reads them there (512
 *      struct page refcounts per extent in page mode, one head in folio
 *      mode, the area or the object in ondemand and memdesc); pfn bios hold
 *      nothing, so the file keeps a pin count per extent (the filesystem's
 *      layout pin) and every user takes it;
 *   4. copy the 2 MiB, move the owner record (descriptors, or the pfn
 *      reverse map) to the new frames, publish the new address and wake
 *      the waiters.
 *
 * The model is the filesystem's side of migration with the memory's
 * descriptors as they are in lib/: the mover and its users run in one
 * process, users go through mig_rw() (a bio of the file's mode) or hold a
 * mapping with mig_map(). Every wait is counted, so the cost of each design
 * is the time to move and the stall its users see.
 *
 * Locking: any number of threads may call mig_rw()/mig_map()/mig_unmap();
 * moves of one file are serialised by the caller (one mover).
 */
#ifndef PMD_DESC_MIGRATE_H
#define PMD_DESC_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "pfn.h"
#include "pfn_rmap.h"

struct mig_file;

/*
 * mig_file_new - a file of @nr 2 MiB extents; extent i holds bytes
 * [i * 2 MiB, + 2 MiB) at @ext[i], which must be 2 MiB aligned in memory
 * registered in @mode (pfn_range_register). The owner of each extent's
 * frames is recorded: in the descriptors, or in @rmap in pfn mode (which
 * must then cover every frame that extents are moved to). Returns 0,
 * -EINVAL (bad arguments: message set) or -ENOMEM.
 */
int mig_file_new(enum desc_mode mode, char *const *ext, unsigned nr, struct pfn_rmap *rmap,
		 struct mig_file **out);

/* mig_file_delete - free the file (no user or mapping may remain); clears the owners. */
void mig_file_delete(struct mig_file **fp);

/* mig_extent_addr - where extent @i is now. */
char *mig_extent_addr(struct mig_file *f, unsigned i);

/*
 * mig_rw - read or write @len bytes at byte @off of the file (within one
 * extent) through a bio of the file's mode, waiting if the extent is being
 * moved. *@waited_ns (may be NULL) gets the time spent waiting for a move.
 * Returns 0 or -errno.
 */
int mig_rw(struct mig_file *f, bool write, uint64_t off, void *buf, uint32_t len,
	   uint64_t *waited_ns);

/*
 * mig_map - map extent @i: a long-lived hold (descriptor references in the
 * descriptor modes, a layout pin in pfn mode) until mig_unmap(). Waits if
 * the extent is being moved. Returns the address to access it at.
 * mig_map_valid - false once a move has broken the lease: the holder must
 * stop using the address, mig_unmap() and map again. Check it before each
 * access; an access begun while it was true completes before the move.
 */
char *mig_map(struct mig_file *f, unsigned i, uint64_t *waited_ns);
bool mig_map_valid(struct mig_file *f, unsigned i);
void mig_unmap(struct mig_file *f, unsigned i);

struct mig_stats {
	uint64_t moves;		  /* extents moved */
	uint64_t wait_holders_ns; /* the mover's wait for holders to let go */
	uint64_t copy_ns;	  /* copying the data */
	uint64_t owner_ns;	  /* moving the owner record to the new frames */
	uint64_t lease_breaks;	  /* moves that found the extent mapped */
	uint64_t holder_checks;	  /* descriptor reference counts (or pins) read */
};

/*
 * mig_move - move extent @i to @dst (2 MiB aligned, registered in the
 * file's mode, not used by any extent). Adds to *@st. Returns 0, -EINVAL
 * (bad @dst or @i: message set) or -errno from the owner record.
 */
int mig_move(struct mig_file *f, unsigned i, char *dst, struct mig_stats *st);

/*
 * mig_extra_refs - references held on the descriptors of the 2 MiB at
 * @addr beyond their base (0 when nobody uses them; always 0 in pfn mode,
 * whose bios hold nothing).
 */
uint64_t mig_extra_refs(const char *addr, enum desc_mode mode);

#endif
