/* SPDX-License-Identifier: MIT */
/*
 * region.h - a persistent memory region mapped with libpmem2.
 *
 * A region is a byte range of (real or emulated) persistent memory that the
 * whole process shares: the block driver, the filesystem and the fio engine
 * all load and store into the mapping this object holds.
 *
 * Backends (detected from the path, never chosen by the caller):
 *   FILE        a regular file on a disk filesystem (page-cache backed)
 *   TMPFS       a file on tmpfs with 4 KiB pages (e.g. /dev/shm, the default)
 *   HUGE_TMPFS  a file on tmpfs mounted huge=always|within_size
 *   HUGETLBFS   a file on hugetlbfs (2 MiB or 1 GiB pages)
 *   DEVDAX      a /dev/daxX.Y character device (real or emulated namespace)
 *   FSDAX       a file on a filesystem mounted -o dax
 *
 * Every mapping starts on a 2 MiB boundary and every region size is a
 * multiple of 2 MiB, so a 2 MiB extent of the region can be mapped by one PMD.
 *
 * Layouts: a region is one file (or device), or a *chunked region*: a
 * directory of 2 MiB chunk files (PMR_CHUNK_SIZE) on any of the file
 * backends above whose pages are at most 2 MiB. A chunked region is mapped
 * into the same single 2 MiB-aligned range, so its users see no difference
 * (pfns, bios, filesystems); what it adds is that one chunk can be handed
 * to another process as a descriptor of its own (pmr_chunk_give), which
 * reaches that chunk and nothing else, and taken back once nobody holds it
 * any more (pmr_reclaim). Costs: one mapping (VMA) per chunk in every
 * process that maps the whole region (vm.max_map_count bounds the size),
 * one open and one mmap per chunk at open. The layout on disk is described
 * in region_chunk.c. The region lock (region_lock.h) of a chunked region is
 * the flock of its directory; pmr_fd() is the directory then.
 *
 * Persistence primitives (persist, flush, drain, memcpy, memset) come from
 * libpmem2 and are picked once at map time. On emulated pmem (anything but
 * DEVDAX/FSDAX) libpmem2 would report page granularity and persist with
 * msync(); we force cache-line granularity instead, so a persist costs what
 * it costs on real pmem (clwb/clflushopt + sfence) and not a syscall.
 */
#ifndef PMD_REGION_H
#define PMD_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "region_lock.h"

struct pmr_region;
struct crashsim;

enum pmr_backend {
	PMR_BACKEND_FILE,
	PMR_BACKEND_TMPFS,
	PMR_BACKEND_HUGE_TMPFS,
	PMR_BACKEND_HUGETLBFS,
	PMR_BACKEND_DEVDAX,
	PMR_BACKEND_FSDAX,
};

enum pmr_granularity {
	PMR_GRAN_BYTE,	    /* eADR: stores are persistent once visible */
	PMR_GRAN_CACHELINE, /* ADR: flush cache lines, then fence */
	PMR_GRAN_PAGE,	    /* page cache: msync */
};

/* Flags for pmr_create() and pmr_open(). */
#define PMR_F_RDONLY (1U << 0)	    /* map read-only */
#define PMR_F_NATIVE_GRAN (1U << 1) /* keep libpmem2's granularity (no forcing) */
#define PMR_F_PROGRESS (1U << 2)    /* report progress of long steps on stderr if a tty */
#define PMR_F_SPARSE (1U << 3)	    /* create: allow a size beyond the free space (sparse) */
#define PMR_F_CRASHSIM (1U << 4)    /* test mode: keep a durable image (lib/crashsim.h) */
/*
 * The region lock (lib/region_lock.h), held from open to pmr_close():
 * SHARED to read, EXCL to write; LOCK_WAIT waits (bounded) for a daxfs
 * daemon that is closing instead of failing (PMR_LOCK_WAIT_CLOSING).
 * A lock that cannot be taken fails the open with -EBUSY naming the holder.
 */
#define PMR_F_LOCK_SHARED (1U << 5)
#define PMR_F_LOCK_EXCL (1U << 6)
#define PMR_F_LOCK_WAIT (1U << 7)
/*
 * PMR_F_PRIVATE: open the file read-only and map it copy-on-write: the
 * mapping is writable but nothing reaches the file (fsck -n replays and
 * repairs in such a copy). Not possible on device DAX (-EINVAL from the map).
 */
#define PMR_F_PRIVATE (1U << 8)
#define PMR_F_CHUNKED (1U << 9) /* create: a chunked region (a directory of chunk files) */

/* Bytes per chunk of a chunked region (and the unit of exposure, below). */
#define PMR_CHUNK_SIZE (UINT64_C(2) << 20)

/* Flags for pmr_memcpy() and pmr_memset(), same meaning as PMEM2_F_MEM_*. */
#define PMR_MEM_NODRAIN (1U << 0)
#define PMR_MEM_NONTEMPORAL (1U << 1)
#define PMR_MEM_TEMPORAL (1U << 2)
#define PMR_MEM_NOFLUSH (1U << 5)

/* Smallest region we agree to create or open, bytes. */
#define PMR_MIN_SIZE (UINT64_C(4) << 20)

/*
 * pmr_check_size - whether @size_bytes obeys the size rules of every region
 * (at least PMR_MIN_SIZE, a multiple of 2 MiB), for front ends that check a
 * size given on their command line before touching anything. Returns 0, or
 * -EINVAL with pmd_errmsg() naming @path, what is wrong and sizes that would
 * do. A hugetlbfs file must also be a multiple of its page size: only
 * pmr_create() and pmr_open() can tell.
 */
int pmr_check_size(const char *path, uint64_t size_bytes);

struct pmr_info {
	const char *path; /* as given at open */
	enum pmr_backend backend;
	uint64_t size;				 /* bytes mapped, multiple of 2 MiB */
	uint64_t alignment;			 /* bytes, alignment of the mapping address */
	uint64_t backing_page_size;		 /* bytes per page of the backing memory */
	enum pmr_granularity granularity;	 /* effective persist granularity */
	enum pmr_granularity native_granularity; /* what libpmem2 reported unforced */
	bool read_only;
	bool chunked;		  /* a directory of chunk files */
	uint64_t chunks;	  /* size / PMR_CHUNK_SIZE */
	uint64_t exposed_chunks;  /* chunks other processes may reach (see pmr_chunk_exposed) */
	uint64_t resized_chunks;  /* found with another size (by a holder), put back (pmr_guard) */
	uint64_t detached_chunks; /* replaced by anonymous memory until reclaimed (pmr_guard) */
};

/*
 * pmr_create - create the region file @path of @size_bytes and map it.
 *
 * @size_bytes must be a multiple of 2 MiB and at least PMR_MIN_SIZE. The file
 * must not exist (O_EXCL); it is created sparse (ftruncate), or on
 * hugetlbfs sized in huge pages. Device paths (/dev/dax) cannot be created.
 * Returns 0 and a mapped region in *@out, or -errno (with pmd_errmsg() set):
 * -EEXIST, -EINVAL (bad size), -ENOSPC, and whatever open/map return.
 * Nothing is left behind on failure.
 */
int pmr_create(const char *path, uint64_t size_bytes, unsigned flags, struct pmr_region **out);

/*
 * With PMR_F_CHUNKED, pmr_create makes the directory @path (mode 0700) and
 * its chunk files instead; the backend is that of the directory's
 * filesystem, which must not have pages above 2 MiB (-EINVAL).
 */

/*
 * pmr_open - map an existing region file, chunked region directory or
 * /dev/dax device.
 *
 * The whole region is mapped; its size must be a multiple of 2 MiB and at
 * least PMR_MIN_SIZE. A chunked region's directory must not be writable by
 * group or others (-EPERM), and every chunk must be a regular file of the
 * directory's owner on its filesystem (-EINVAL naming the chunk); a chunk
 * of another size than 2 MiB (a process given a writable descriptor of it
 * can resize it) is put back to 2 MiB on a writable open, refused when
 * short on a read-only one. A
 * region with more chunks than the process may have mappings fails with
 * -ENOMEM saying so. Returns 0 or -errno with pmd_errmsg() set.
 */
int pmr_open(const char *path, unsigned flags, struct pmr_region **out);

/*
 * pmr_destroy - remove the region at @path: a region file, or a chunked
 * region's directory with everything pmr_create made in it (a directory
 * that is not a chunked region is refused, -EISDIR). The region must not
 * be in use. Returns 0 or -errno with pmd_errmsg() set.
 */
int pmr_destroy(const char *path);

/*
 * pmr_close - unmap, release the region lock if one was taken, free; sets
 * *@rp to NULL. Does not persist anything.
 */
void pmr_close(struct pmr_region **rp);

/*
 * pmr_lock_region - take the region lock (lib/region_lock.h) for the open
 * region @r in @mode with @lock_flags (PMR_LOCK_*), held until pmr_close().
 * For owners that open the region before they know how they will use it.
 * Returns 0, -EBUSY naming the holder (pmd_errmsg()), -EINVAL if @r holds
 * its lock already, or another -errno.
 */
int pmr_lock_region(struct pmr_region *r, enum pmr_lock_mode mode, unsigned lock_flags);

/*
 * pmr_relock_region - change the mode of the lock @r took with
 * PMR_LOCK_SOLE (pmr_lock_convert()). Returns 0, -EBUSY naming the holder,
 * -EINVAL if @r holds no lock.
 */
int pmr_relock_region(struct pmr_region *r, enum pmr_lock_mode mode);

/* Accessors; valid while the region is open. */
void *pmr_addr(const struct pmr_region *r);
uint64_t pmr_size(const struct pmr_region *r); /* bytes */
void pmr_get_info(const struct pmr_region *r, struct pmr_info *info);
int pmr_fd(const struct pmr_region *r); /* the open file, O_RDWR unless RDONLY */

/* pmr_contains - true if [@p, @p + @len) lies inside the mapping. */
bool pmr_contains(const struct pmr_region *r, const void *p, size_t len);

/*
 * Persistence, thin wrappers around the functions libpmem2 chose at map
 * time. @addr must lie inside the mapping. Safe from any thread.
 *   persist = flush + drain.
 */
void pmr_persist(const struct pmr_region *r, const void *addr, size_t len);
void pmr_flush(const struct pmr_region *r, const void *addr, size_t len);
void pmr_drain(const struct pmr_region *r);

/*
 * pmr_memcpy/pmr_memset - copy into the region and make it persistent
 * (unless PMR_MEM_NOFLUSH/NODRAIN), with libpmem2's choice of non-temporal
 * or temporal stores for the size. Return @dst.
 */
void *pmr_memcpy(const struct pmr_region *r, void *dst, const void *src, size_t len,
		 unsigned flags);
void *pmr_memset(const struct pmr_region *r, void *dst, int c, size_t len, unsigned flags);

/*
 * pmr_crashsim - the crash simulator of a region in test mode, or NULL.
 * Test mode is on when the region was created or opened (not read-only)
 * with PMR_F_CRASHSIM or with PMD_CRASHSIM=1 in the environment; then the
 * persistence wrappers above feed the simulator instead of libpmem2 (see
 * lib/crashsim.h). The simulator lives until pmr_close().
 */
struct crashsim *pmr_crashsim(const struct pmr_region *r);

/*
 * Exposure: which chunks other processes may reach.
 *
 * A chunk of a chunked region is exposed when a descriptor of it was given
 * to another process (pmr_chunk_give; recorded durably in the region
 * directory before the descriptor exists, so a later open still knows). A
 * process that opened a chunk file itself could open the whole region: it
 * exposes nothing. A chunk of a single-file region is exposed when another
 * process maps it (pmr_exposure_scan). The owner of the region keeps
 * exposed chunks' free space to itself until pmr_reclaim() takes them back.
 * Thread safety: these functions may be called from any thread.
 */

/* pmr_is_chunked - true for a chunked region. */
bool pmr_is_chunked(const struct pmr_region *r);

/* pmr_nr_chunks - size / PMR_CHUNK_SIZE (single-file regions too). */
uint64_t pmr_nr_chunks(const struct pmr_region *r);

/* pmr_chunk_exposed - true if chunk @idx is exposed (see above). */
bool pmr_chunk_exposed(const struct pmr_region *r, uint64_t idx);

/* pmr_exposed_count - how many chunks are exposed. */
uint64_t pmr_exposed_count(const struct pmr_region *r);

/*
 * pmr_chunk_give - a new descriptor of chunk @idx of a chunked region for
 * another process: O_RDONLY if @rdonly, else O_RDWR (the region must be
 * open writable), close-on-exec, into *@fd. The chunk is recorded as given
 * (durably) before the descriptor exists. The descriptor reaches the
 * chunk's 2 MiB and nothing else; reopening it through /proc needs the
 * chunk file's permissions (the region owner's). Returns 0, -EINVAL (not
 * chunked, no such chunk), -EROFS, or -errno of open/write.
 */
int pmr_chunk_give(struct pmr_region *r, uint64_t idx, bool rdonly, int *fd);

/*
 * pmr_exposure_scan - for a single-file region, mark the chunks that other
 * processes map now (read from /proc/PID/maps); *@unreadable gets how many
 * processes' maps could not be read (other users' processes for a caller
 * without CAP_SYS_PTRACE: their mappings stay unknown). A chunked region
 * needs no scan (pmr_open asked the kernel): returns 0 at once.
 * Returns 0 or -errno.
 */
int pmr_exposure_scan(struct pmr_region *r, uint64_t *unreadable);

/*
 * pmr_reclaim - take back exposed chunks @idx[0..@n) that nobody else can
 * reach any more: @done[k] says which were. For a chunked region the kernel
 * is asked whether any other open file (descriptor, mapping, descriptor in
 * flight) of the chunk exists, and a reclaimed chunk's pages are replaced
 * (punched out and, where the backing needs it, allocated again), which
 * cuts page references that outlived every open file (vmsplice, io_uring
 * fixed buffers): THE CHUNK'S CONTENTS ARE LOST, so only chunks that hold
 * no live data may be passed. For a single-file region /proc/PID/maps is
 * read once and a chunk nobody maps is taken back as it is.
 * Returns how many were reclaimed, or -errno (-EROFS read-only).
 */
long pmr_reclaim(struct pmr_region *r, const uint64_t *idx, size_t n, bool *done);

/*
 * pmr_guard - keep this process alive when the files behind @r lose pages
 * under its mapping: a holder of a writable chunk descriptor truncates it,
 * or punches a hugetlbfs page out and the pool has none left. Without the
 * guard the next access there is SIGBUS; with it, a SIGBUS handler (one per
 * process, installed at the first call) gives the file its size (and a
 * huge page) back and the access is made again, reading zeros where the
 * pages were lost. An exposed chunk whose pages cannot come back, or that
 * faults again and again (MAX_REPAIRS times between two reclaims), is
 * detached: anonymous memory takes its place in the mapping until
 * pmr_reclaim() maps the file again, so the holder's file, and nothing
 * else, reads what this process stored there. A fault the guard cannot
 * repair, or not in a guarded region, goes to the SIGBUS action in place
 * before the guard. Counted in pmr_info resized_chunks/detached_chunks.
 * For a process that maps chunks it gives out (the daxfs daemon). A memory
 * error (BUS_MCEERR_*) is not repaired. Returns 0, -EBUSY (16 regions are
 * guarded), -ENOMEM, or -errno of sigaction. pmr_close() ends the guard.
 */
int pmr_guard(struct pmr_region *r);

/* pmr_unguard - end pmr_guard() of @r (nothing if it was not guarded). */
void pmr_unguard(struct pmr_region *r);

/*
 * pmr_guard_touch - load one byte of each backing page of region bytes
 * [@off, +@len) that lies in a chunk given out (pmr_chunk_give; skipped
 * at once when none is), so that a page a holder took away is put back or
 * its chunk detached by the guard now, in this thread. Call it before the
 * kernel reads the range on this process's behalf (a reply written to a
 * device straight from region memory): the kernel's own access to a lost
 * page fails with EFAULT and raises no signal, so the guard would never
 * hear of it. Nothing when @r is not guarded.
 */
void pmr_guard_touch(struct pmr_region *r, uint64_t off, uint64_t len);

/*
 * pmr_chunk_detached - chunk @idx is detached (pmr_guard): this process
 * reads and writes anonymous memory there, not the chunk file, until the
 * chunk is reclaimed. A descriptor of the chunk file would show another
 * process bytes this process does not see: do not hand one out.
 */
bool pmr_chunk_detached(const struct pmr_region *r, uint64_t idx);

/* Names for printing. */
const char *pmr_backend_name(enum pmr_backend b);
const char *pmr_granularity_name(enum pmr_granularity g);

/*
 * pmr_detect_backend - classify @path without mapping it: returns 0 and the
 * backend and backing page size (bytes), or -errno.
 */
int pmr_detect_backend(const char *path, enum pmr_backend *backend, uint64_t *page_size);

#endif
