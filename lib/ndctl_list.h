/* SPDX-License-Identifier: MIT */
/*
 * ndctl_list.h - discover real persistent memory namespaces.
 *
 * Walks libndctl's bus/region/namespace tree and libdaxctl's dax regions.
 * A machine without NVDIMMs (or without libnvdimm loaded) has none, which is
 * a successful empty result, never an error.
 */
#ifndef PMD_NDCTL_LIST_H
#define PMD_NDCTL_LIST_H

#include <stdint.h>

struct pmr_namespace {
	char name[64];	 /* e.g. "namespace0.0" */
	char mode[16];	 /* "devdax", "fsdax", "raw", "sector" */
	char device[64]; /* "/dev/dax0.0", "/dev/pmem0" or "" */
	uint64_t size;	 /* bytes */
	uint64_t align;	 /* bytes, 0 if unknown */
};

/*
 * pmr_list_namespaces - fill up to @max entries of @out; *@count gets how
 * many exist (may exceed @max). Returns 0 (also when there are none) or
 * -errno if libndctl could not be initialised for a reason other than the
 * absence of NVDIMM support.
 */
int pmr_list_namespaces(struct pmr_namespace *out, unsigned max, unsigned *count);

#endif
