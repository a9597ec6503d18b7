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

#endif
