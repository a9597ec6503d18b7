/* SPDX-License-Identifier: MIT */
/*
 * pfn.h - the project's physical frame space.
 *
 * Every memory range that takes part in I/O (pmem regions, DRAM I/O buffers)
 * is registered and given a contiguous range of page frame numbers; a pfn
 * names one 4 KiB frame. pfn -> address is O(1) through a table with one
 * pointer per 2 MiB of frame space (like SPDK's address map); nothing is
 * kept per 4 KiB unless the range asks for a memmap (memmap.h).
 *
 * Each range starts on a 2 MiB boundary of frame space (a multiple of 512
 * pfns), so frames that are contiguous in one range are contiguous in
 * memory, and an extent of pfns never spans two ranges unless they say so.
 *
 * Locking: register/unregister take a process-wide mutex; lookups
 * (pfn_to_addr, pfn_valid) take no lock and may run on any thread
 * concurrently with the registration of other ranges. A range must not be
 * unregistered while I/O on it is in flight (caller's duty).
 */
#ifndef PMD_PFN_H
#define PMD_PFN_H

#include <stdbool.h>
#include <stdint.h>

#include "desc.h"
#include "units.h"

typedef uint64_t pfn_t;

#define PFN_INVALID UINT64_MAX

/*
 * Frame space reserved for the table: 2^31 frames, 8 TiB. A build may set a
 * smaller space (-DPFN_SPACE_SHIFT=26): valgrind cannot reserve the 128 GiB
 * virtual memmap the default needs, so instruction counts use such a build.
 */
#ifndef PFN_SPACE_SHIFT
#define PFN_SPACE_SHIFT 31
#endif
#define PFN_SPACE_FRAMES (UINT64_C(1) << PFN_SPACE_SHIFT)

/* An extent of frames: the unit the pfn descriptor mode hands around. */
struct pfn_extent {
	pfn_t pfn;	    /* first frame */
	uint64_t nr_frames; /* 4 KiB frames */
};

enum pfn_kind {
	PFN_KIND_PMEM,
	PFN_KIND_DRAM,
};

struct pfn_range;

/*
 * pfn_range_register - give [@addr, @addr + @len_bytes) a range of pfns.
 *
 * @addr must be 4 KiB aligned and @len_bytes a nonzero multiple of 4 KiB.
 * With @mode FOLIO or PAGE, a memmap (struct page per frame) is allocated
 * and initialised now, which is what the page-backed design pays at
 * "hotplug" time; with FOLIO the pages are grouped into 2 MiB compound
 * folios (the range must then be 2 MiB aligned and sized). ONDEMAND makes
 * a 64-byte area descriptor per 2 MiB (desc_ondemand.h), MEMDESC an 8-byte
 * word per frame and its objects (desc_memdesc.h). Ranges must not
 * overlap other registered ranges.
 *
 * Returns 0 and the range in *@out, or -errno with pmd_errmsg() set:
 * -EINVAL (alignment, overlap), -ENOSPC (frame space exhausted), -ENOMEM
 * (memmap does not fit: the message says how many bytes it needed).
 */
int pfn_range_register(void *addr, uint64_t len_bytes, enum pfn_kind kind, enum desc_mode mode,
		       struct pfn_range **out);

/* pfn_range_unregister - drop the range and its memmap; sets *@rp = NULL. */
void pfn_range_unregister(struct pfn_range **rp);

pfn_t pfn_range_base(const struct pfn_range *r);
uint64_t pfn_range_frames(const struct pfn_range *r);
void *pfn_range_addr(const struct pfn_range *r);
enum desc_mode pfn_range_mode(const struct pfn_range *r);
enum pfn_kind pfn_range_kind(const struct pfn_range *r);

/*
 * pfn_range_descriptor_bytes - memory this range holds to describe itself:
 * its slots in the pfn table plus its memmap, if any. Bytes.
 */
uint64_t pfn_range_descriptor_bytes(const struct pfn_range *r);

/* pfn_range_setup_ns - time pfn_range_register() took for this range, ns. */
uint64_t pfn_range_setup_ns(const struct pfn_range *r);

/* The lookup table; exposed only so pfn_to_addr() can be inline. */
extern char **pfn_table;

/*
 * pfn_to_addr - address of the first byte of frame @pfn. O(1), lock-free.
 * @pfn must belong to a registered range (checked only by assert).
 */
static inline void *pfn_to_addr(pfn_t pfn)
{
	return pfn_table[pfn >> (HUGE_SHIFT - FRAME_SHIFT)] +
	       ((pfn & (FRAMES_PER_HUGE - 1)) << FRAME_SHIFT);
}

/* pfn_valid - true if @pfn belongs to a registered range. */
bool pfn_valid(pfn_t pfn);

/*
 * addr_to_pfn - frame containing @addr, and (optionally) the range. Returns
 * 0, or -ENOENT if @addr is in no registered range. O(log ranges).
 */
int addr_to_pfn(const void *addr, pfn_t *pfn, struct pfn_range **range);

/*
 * pfn_lookup_addr - what building a bio needs to know about @addr, in one
 * lookup: its frame, the bytes of its range from @addr to the range's end,
 * and the range's descriptor mode. Returns 0, or -ENOENT if @addr is in no
 * registered range. O(log ranges), lock-free.
 */
int pfn_lookup_addr(const void *addr, pfn_t *pfn, uint64_t *avail, enum desc_mode *mode);

/*
 * pfn_range_of - the range that owns @pfn, or NULL. O(log ranges).
 */
struct pfn_range *pfn_range_of(pfn_t pfn);

/*
 * pfn_extent_contiguous - true if frames [@pfn, @pfn + @nr_frames) belong to
 * one registered range (so the memory behind them is contiguous).
 */
bool pfn_extent_contiguous(pfn_t pfn, uint64_t nr_frames);

#endif
