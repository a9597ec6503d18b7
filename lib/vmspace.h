/* SPDX-License-Identifier: MIT */
/*
 * vmspace.h - how much of the process's address space is free in one piece.
 *
 * A region is mapped whole, at one address, so the largest region a process
 * can map is bounded by its largest free range of virtual addresses (about
 * 85 TiB of the 128 TiB a 4-level x86-64 process has: the program sits in
 * the middle). Error messages use this to say what size would work.
 */
#ifndef PMD_VMSPACE_H
#define PMD_VMSPACE_H

#include <stdint.h>

/*
 * pmd_vm_largest_hole - the largest free range of this process's address
 * space, bytes, from /proc/self/maps (below the 47-bit limit that mmap()
 * without an address hint keeps to). Returns 0 if /proc cannot be read.
 * Thread-safe; the answer can be stale as soon as another thread maps.
 */
uint64_t pmd_vm_largest_hole(void);

#endif
