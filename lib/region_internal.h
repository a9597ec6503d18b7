/* SPDX-License-Identifier: MIT */
/*
 * region_internal.h - the region object, shared by region.c (single files,
 * devices, persistence) and region_chunk.c (regions made of chunk files,
 * exposure of chunks). Not an API: users include region.h.
 */
#ifndef PMD_REGION_INTERNAL_H
#define PMD_REGION_INTERNAL_H

#include <libpmem2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "region.h"

struct pmr_region {
	char *path;
	int fd; /* the region file or device; the directory of a chunked region */
	unsigned flags;
	enum pmr_backend backend;
	uint64_t page_size; /* bytes, backing page size */
	uint64_t alignment; /* bytes, of addr */
	uint64_t size;	    /* bytes */
	void *addr;
	enum pmr_granularity gran;
	enum pmr_granularity native_gran;
	struct pmem2_source *src;
	struct pmem2_vm_reservation *rsv;
	struct pmem2_map *map;
	pmem2_persist_fn persist;
	pmem2_flush_fn flush;
	pmem2_drain_fn drain;
	pmem2_memcpy_fn memcpy_fn;
	pmem2_memset_fn memset_fn;
	struct crashsim *sim;  /* test mode (lib/crashsim.h), else NULL */
	struct pmr_lock *lock; /* PMR_F_LOCK_*, else NULL */

	/* Chunked regions (region_chunk.c); exposure also for single files. */
	bool chunked;
	uint64_t nchunks;
	int map_flags;		    /* mmap flags of the chunks (MAP_SYNC on fsdax) */
	uint8_t *exposed;	    /* per chunk, PMR_EXP_* bits; NULL until needed */
	uint64_t nexposed;	    /* chunks with a bit set */
	uint64_t resized_chunks;    /* chunks found with another size and put back to 2 MiB */
	pthread_mutex_t chunk_lock; /* exposure, probes, descriptors given out */

	/* The SIGBUS guard (region_guard.c), while pmr_guard() is on. */
	struct {
		_Atomic unsigned *faults;  /* per chunk: faults repaired since the last reclaim */
		_Atomic uint64_t restored; /* chunk files given their size back */
		_Atomic uint64_t detached; /* chunks replaced by anonymous memory */
	} guard;
};

/* Bits of pmr_region.exposed[]. */
#define PMR_EXP_GIVEN 1U /* a descriptor was given out since the last reclaim (durable) */
#define PMR_EXP_HELD 2U	 /* another process mapped it when we looked (single file) */

/* region.c, for region_chunk.c */
int pmr_detect_fd(int fd, const char *path, enum pmr_backend *backend, uint64_t *page_size);
int pmr_check_size_page(const char *path, uint64_t size, uint64_t page_size);
int pmr_reserve_va(uint64_t size, uint64_t align, void **addr);
int pmr_map_existing(struct pmr_region *r, int src_fd);

/* region_guard.c: chunk @idx is mapped from its file again (a reclaim) */
void pmr_guard_reset(struct pmr_region *r, uint64_t idx);

/* region_chunk.c, for region.c */
int chunked_create(struct pmr_region *r, uint64_t size);
int chunked_open(struct pmr_region *r);
void chunked_unmap(struct pmr_region *r);
void chunked_remove(struct pmr_region *r); /* unlink everything a failed create made */
bool chunked_is_region_dir(const char *path);

#endif
