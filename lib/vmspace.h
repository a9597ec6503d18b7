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

/*
 * pmd_size_hint - @bytes as a user would type it: in the largest binary unit
 * (T, G, M, K) that divides it, "85T", "1026M", "100K", else plain bytes,
 * into @buf (at least 24 bytes). Returns @buf.
 */
const char *pmd_size_hint(uint64_t bytes, char *buf, unsigned buflen);

/*
 * pmd_round_hint - @bytes rounded down to a round figure for a suggestion:
 * to whole TiB from 1 TiB up, whole GiB from 1 GiB, else whole multiples
 * of @align (a power of two).
 */
uint64_t pmd_round_hint(uint64_t bytes, uint64_t align);

#endif
