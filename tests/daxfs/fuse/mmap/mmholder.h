/* SPDX-License-Identifier: MIT */
/*
 * mmholder.h - checks shared by the tests of a hostile chunk holder
 * (test_mmap_resize, test_mmap_hugetlb): files of one byte value, answers
 * that must be success or EIO, and lines of `daxfs stat`.
 */
#ifndef MMHOLDER_H
#define MMHOLDER_H

#include "mmtest.h"

/* mh_fill - @name gets @size bytes of @c and mode @mode. */
static inline void mh_fill(struct mt *t, const char *name, size_t size, int c, mode_t mode)
{
	close(mt_make_file(t, name, size, c, O_RDONLY));
	CHECK(chmod(mt_path(t, name), mode) == 0);
}

/* mh_check_contents - @name holds @size bytes of @c. */
static inline void mh_check_contents(struct mt *t, const char *name, size_t size, int c)
{
	uint8_t *buf = malloc(size);
	int fd = open(mt_path(t, name), O_RDONLY);

	CHECK(fd >= 0 && buf);
	CHECK(pread(fd, buf, size, 0) == (ssize_t)size);
	for (size_t i = 0; i < size; i++)
		if (buf[i] != c) {
			fprintf(stderr, "FAIL: %s byte %zu is %#x, not %#x\n", name, i, buf[i], c);
			exit(1);
		}
	close(fd);
	free(buf);
}

/*
 * mh_ok_or_eio - an answer through the mount about the damaged file: @rc
 * is @want (true) or -1 with EIO (false); anything else fails the test.
 */
static inline bool mh_ok_or_eio(const char *what, long rc, long want)
{
	if (rc == want) {
		printf("%-40s done\n", what);
		return true;
	}
	if (rc < 0 && errno == EIO) {
		printf("%-40s EIO\n", what);
		return false;
	}
	fprintf(stderr, "FAIL: %s returned %ld (%s): the daemon must answer\n", what, rc,
		rc < 0 ? strerror(errno) : "short");
	exit(1);
}

/* mh_check_stat - `daxfs stat` of the mount matches the ERE @re. */
static inline void mh_check_stat(struct mt *t, const char *re, const char *what)
{
	if (mt_run("'%s' stat '%s' | grep -Eq '%s'", DAXFS_BIN, t->mnt, re) != 0) {
		mt_run("'%s' stat '%s' >&2", DAXFS_BIN, t->mnt);
		fprintf(stderr, "FAIL: daxfs stat does not show %s\n", what);
		exit(1);
	}
	printf("%-40s shown\n", what);
}

#endif
