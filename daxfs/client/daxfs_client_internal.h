/* SPDX-License-Identifier: MIT */
/*
 * daxfs_client_internal.h - what libdaxfs-preload.so needs of libdaxfs
 * beyond the public API: raw system calls that the shim does not
 * interpose, and registry queries for its munmap/msync hooks.
 */
#ifndef DAXFS_CLIENT_INTERNAL_H
#define DAXFS_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mmap(2)/munmap(2)/msync(2) as system calls: -1 and errno on failure. */
void *daxfs_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int daxfs_sys_munmap(void *addr, size_t len);
int daxfs_sys_msync(void *addr, size_t len, int flags);

/* daxfs_overlaps - true if [@addr, @addr + @len) touches a daxfs mapping. */
bool daxfs_overlaps(const void *addr, size_t len);

/* daxfs_persist_overlaps - persist the parts of the range that are daxfs
 * mappings (msync's hook). */
void daxfs_persist_overlaps(const void *addr, size_t len);

/* daxfs_forget - the caller unmapped or replaced [@addr, @addr + @len):
 * drop it from the registry (pins go with the last byte of a mapping). */
void daxfs_forget(void *addr, size_t len);

/* daxfs_seterr - set the calling thread's daxfs_errmsg(); returns @err. */
int daxfs_seterr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What daxfs_grant_map() mapped. */
struct daxfs_grant_result {
	uint64_t nr_extents;
	uint64_t huge_bytes;  /* bytes in 2 MiB-aligned runs mapped 2 MiB-aligned */
	uintptr_t backed_end; /* where the pages past end of file begin */
};

/*
 * daxfs_grant_map - receive the grant that follows a DAX answer to
 * DAXFS_IOC_MAP on @conn_fd (@expect_extents extents, as the answer said)
 * and map it into [@base, @base + @len), file offset @off at @base, with
 * @prot: extents from the region's or its chunks' descriptors, holes as
 * anonymous zeros, the pages past the extents (end of file) raising
 * SIGBUS. Every descriptor received is closed. Returns 0 or -errno with the
 * message set; on failure part of the range may be mapped (the caller
 * unmaps it). (grant_map.c)
 */
int daxfs_grant_map(int conn_fd, uint64_t expect_extents, uint64_t region_size, uintptr_t base,
		    uint64_t off, size_t len, int prot, struct daxfs_grant_result *res);

#endif
