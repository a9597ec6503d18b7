/* SPDX-License-Identifier: MIT */
/*
 * libdaxfs.h - DAX mmap of files on a daxfs (FUSE) mount.
 *
 * The Linux FUSE module offers DAX only to virtiofs, so a plain mmap(2) of a
 * daxfs file goes through the kernel page cache (or fails: daxfs serves
 * files with direct_io). libdaxfs instead asks the daemon for the file's
 * extents and maps the region's memory behind them directly: loads and
 * stores reach persistent memory with no copy, no page cache and, when the
 * region is backed by huge pages, 2 MiB (PMD) page-table entries.
 *
 * Access: the daemon grants a map only for a file the caller has open
 * (the request is an ioctl on that descriptor), read-only unless the file
 * was opened O_RDWR. See docs/dax-mmap.md for what this protects and what
 * it does not.
 *
 * Durability: a store through a mapping is visible at once to every other
 * mapping and to read(2) through the mount. It is durable (survives a power
 * cut on real pmem; the region's backing on emulated pmem) once
 * daxfs_persist() or daxfs_msync() covering it has returned.
 *
 * Layout: while a mapping exists the daemon never frees, moves or reuses
 * the file's blocks behind it, even if the file is truncated or unlinked
 * (the space is freed at the last unmap, or when the process exits). The
 * extents are fixed at map time: a mapping does not follow later growth.
 *
 * Error convention: functions return 0 or -errno and leave errno alone
 * (except daxfs_strerror's buffer); daxfs_errmsg() names the reason of the
 * calling thread's last failure when there is one worth naming.
 * Thread safety: every function may be called from any thread.
 */
#ifndef LIBDAXFS_H
#define LIBDAXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for daxfs_mmap(). */
#define DAXFS_MMAP_FIXED (1U << 0) /* place at *@addr exactly, replacing what is there */

/*
 * daxfs_is_daxfs - true if @fd is an open file on a daxfs mount whose
 * daemon offers DAX mmap. Does no mapping; cheap (one fstatfs, one ioctl).
 */
bool daxfs_is_daxfs(int fd);

/*
 * daxfs_mmap - map @len bytes of the file @fd from file offset @off (a
 * multiple of 4 KiB), like mmap(*@addr, @len, @prot, MAP_SHARED, @fd, @off).
 *
 * @prot: PROT_READ and/or PROT_WRITE (PROT_WRITE needs @fd opened O_RDWR,
 * else -EACCES, as mmap). Holes in the range are allocated (zeroed) first
 * on a writable filesystem, so stores never fault into the daemon. Whole
 * pages past the end of the file (size rounded up to 4 KiB) are mapped so
 * that touching them raises SIGBUS, as with mmap.
 *
 * The virtual range is placed so that a 2 MiB aligned extent of the file
 * sits on a 2 MiB aligned address (PMD-mappable when the region allows).
 * On entry *@addr is a hint (or the exact place with DAXFS_MMAP_FIXED); on
 * success it gets the start of the mapping. @fd may be closed afterwards.
 *
 * Returns 0, or -EBADF, -EINVAL (@len 0, @off unaligned, bad @prot or
 * flags), -EACCES (write on a read-only open), -ENODEV (not a daxfs file
 * or the daemon does not offer DAX mmap), -ENOSPC (holes could not be
 * allocated), -ENOMEM, -EPROTO (daemon speaks another protocol), or an
 * error of the daemon, with daxfs_errmsg() naming it.
 */
int daxfs_mmap(int fd, uint64_t off, size_t len, int prot, unsigned flags, void **addr);

/*
 * daxfs_munmap - unmap [@addr, @addr + @len) of mappings made by
 * daxfs_mmap(), like munmap(2); a mapping's layout pin is dropped when
 * none of it is left. Parts of the range that are not daxfs mappings are
 * unmapped too. Returns 0 or -EINVAL (unaligned @addr, @len 0).
 */
int daxfs_munmap(void *addr, size_t len);

/*
 * daxfs_persist - make [@addr, @addr + @len) of a daxfs mapping durable
 * (libpmem2's persist for the region: cache-line flush + fence, or msync on
 * page-granular backing). Returns 0 or -EINVAL (not inside one mapping).
 */
int daxfs_persist(const void *addr, size_t len);

/*
 * daxfs_msync - msync(2) for daxfs mappings: any @flags (MS_SYNC,
 * MS_ASYNC, MS_INVALIDATE) persists the range before returning (DAX has no
 * write-back to schedule). Returns 0, -EINVAL (bad flags or not inside one
 * daxfs mapping), -ENOMEM (as msync for unmapped ranges).
 */
int daxfs_msync(void *addr, size_t len, int flags);

/* daxfs_is_mapped - true if [@addr, @addr + @len) lies in daxfs mappings. */
bool daxfs_is_mapped(const void *addr, size_t len);

/* What daxfs_mapping_info() reports about the mapping holding an address. */
struct daxfs_mapping_info {
	void *addr;	     /* start of the whole mapping */
	size_t len;	     /* bytes */
	uint64_t file_off;   /* bytes: file offset mapped at addr */
	uint64_t file_size;  /* bytes, when mapped */
	uint64_t nr_extents; /* region runs behind the mapping */
	uint64_t huge_bytes; /* bytes in 2 MiB aligned 2 MiB runs (PMD candidates) */
	bool writable;
	bool page_cache; /* not DAX: the kernel's mapping, through the page cache */
};

/* daxfs_mapping_info - fill *@out for the mapping holding @addr.
 * Returns 0 or -EINVAL (not a daxfs mapping). */
int daxfs_mapping_info(const void *addr, struct daxfs_mapping_info *out);

/* daxfs_errmsg - the calling thread's last failure reason, or "". */
const char *daxfs_errmsg(void);

#ifdef __cplusplus
}
#endif

#endif
