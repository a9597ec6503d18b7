/* SPDX-License-Identifier: MIT */
/*
 * test_sysctl.h - read and write one number in a /proc/sys or /sys file
 * (the huge page pool of the hugetlbfs tests).
 */
#ifndef PMD_TEST_SYSCTL_H
#define PMD_TEST_SYSCTL_H

#include <errno.h>
#include <stdio.h>

/* read_long - the first number in @path, or -1. */
static inline long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* write_long - write @v to @path: 0 or -errno. */
static inline int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

#endif
