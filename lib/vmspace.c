/* SPDX-License-Identifier: MIT */
/*
 * vmspace.c - the largest free range of the address space (vmspace.h).
 */
#include <stdio.h>
#include <string.h>

#include "units.h"

#include "vmspace.h"

/* mmap() without a hint stays below 2^47 even where the CPU has 57 bits. */
#define VM_TOP (UINT64_C(1) << 47)
/* the kernel keeps the lowest addresses (vm.mmap_min_addr) unmapped */
#define VM_BOTTOM (UINT64_C(1) << 16)

uint64_t pmd_vm_largest_hole(void)
{
	unsigned long long start, end;
	uint64_t prev_end = VM_BOTTOM, best = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx", &start, &end) != 2)
			continue;
		/* a long line (a long path) is read in pieces: skip the rest */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
		if (start >= VM_TOP)
			break;
		if (start > prev_end && start - prev_end > best)
			best = start - prev_end;
		if (end > prev_end)
			prev_end = end;
	}
	fclose(f);
	if (prev_end < VM_TOP && VM_TOP - prev_end > best)
		best = VM_TOP - prev_end;
	return best;
}
