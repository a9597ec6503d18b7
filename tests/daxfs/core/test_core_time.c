/* SPDX-License-Identifier: MIT */
/*
 * test_core_time - timestamps never wrap: times from 1600 to 2300 and the
 * edges of the 64-bit field read back exactly, across a reopen; times past
 * the format's range are clamped to its ends, never wrapped; the EPOCH
 * ro_compat feature appears only once a time outside 1677..2262 is stored;
 * fsck stays clean.
 */
#include <sys/stat.h>

#include "test_core_util.h"

/* seconds of a few calendar dates (UTC) */
#define Y1600 INT64_C(-11676096000)
#define Y2300 INT64_C(10413792000)
#define Y2262_EDGE INT64_C(9223372036) /* last whole second of the signed ns field */
#define Y1677_EDGE INT64_C(-9223372036)

static void set_times(struct daxfs *fs, uint64_t ino, int64_t asec, long ansec, int64_t msec,
		      long mnsec)
{
	struct daxfs_attr in;

	memset(&in, 0, sizeof(in));
	in.atime.tv_sec = asec;
	in.atime.tv_nsec = ansec;
	in.mtime.tv_sec = msec;
	in.mtime.tv_nsec = mnsec;
	CHECK_OK(daxfs_setattr(fs, ino, &in, DAXFS_SET_ATIME | DAXFS_SET_MTIME, NULL));
}

static void expect_times(struct daxfs *fs, uint64_t ino, int64_t asec, long ansec, int64_t msec,
			 long mnsec)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_getattr(fs, ino, &a));
	CHECK_EQ(a.atime.tv_sec, asec);
	CHECK_EQ(a.atime.tv_nsec, ansec);
	CHECK_EQ(a.mtime.tv_sec, msec);
	CHECK_EQ(a.mtime.tv_nsec, mnsec);
}

int main(void)
{
	const char *path = core_mkfs("time", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a;
	uint64_t f, g, h;

	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "f", 0644, 0, 0, &a));
	f = a.ino;
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "g", 0644, 0, 0, &a));
	g = a.ino;
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "h", 0644, 0, 0, &a));
	h = a.ino;

	/* inside the version 1 range: no feature needed */
	set_times(fs, f, Y2262_EDGE, 854775807, Y1677_EDGE - 1, 145224192);
	expect_times(fs, f, Y2262_EDGE, 854775807, Y1677_EDGE - 1, 145224192);
	set_times(fs, g, -1, 999999999, 0, 0);
	expect_times(fs, g, -1, 999999999, 0, 0);
	CHECK_EQ(le32_to_cpu(core_super(path).feat_ro_compat) & DAXFS_FEAT_RO_COMPAT_EPOCH, 0);

	/* "touch -d 2300-01-01" and "touch -d 1600-01-01" */
	set_times(fs, f, Y2300, 123456789, Y1600, 1);
	expect_times(fs, f, Y2300, 123456789, Y1600, 1);
	CHECK(le32_to_cpu(core_super(path).feat_ro_compat) & DAXFS_FEAT_RO_COMPAT_EPOCH);
	/* one ns past the old field's edges */
	set_times(fs, g, Y2262_EDGE, 854775808, Y1677_EDGE - 1, 145224191);
	expect_times(fs, g, Y2262_EDGE, 854775808, Y1677_EDGE - 1, 145224191);

	/* beyond the format's range: clamped, never wrapped */
	set_times(fs, h, INT64_MAX, 999999999, INT64_MIN, 0);
	CHECK_OK(daxfs_getattr(fs, h, &a));
	CHECK(a.atime.tv_sec > INT64_C(2300000000000)); /* after 74,000 AD */
	CHECK(a.mtime.tv_sec < -INT64_C(2300000000000));
	int64_t amax = a.atime.tv_sec, mmin = a.mtime.tv_sec;

	set_times(fs, h, amax + 1000, 0, mmin - 1000, 0);
	CHECK_OK(daxfs_getattr(fs, h, &a));
	CHECK_EQ(a.atime.tv_sec, amax);
	CHECK_EQ(a.mtime.tv_sec, mmin);

	/* a change of ctime (now) leaves the far times alone */
	struct daxfs_attr in = {.mode = 0600};

	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL));
	expect_times(fs, f, Y2300, 123456789, Y1600, 1);
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK(a.ctime.tv_sec > INT64_C(1700000000) && a.ctime.tv_sec < INT64_C(9000000000));

	/* a write sets mtime to now, also over a far one */
	size_t done;

	CHECK_OK(daxfs_write(fs, f, 0, 3, "abc", &done));
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK(a.mtime.tv_sec > INT64_C(1700000000) && a.mtime.tv_sec < INT64_C(9000000000));
	CHECK_EQ(a.atime.tv_sec, Y2300);
	set_times(fs, f, Y2300, 123456789, Y1600, 1);

	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	expect_times(fs, f, Y2300, 123456789, Y1600, 1);
	expect_times(fs, g, Y2262_EDGE, 854775808, Y1677_EDGE - 1, 145224191);
	CHECK_OK(daxfs_getattr(fs, h, &a));
	CHECK_EQ(a.atime.tv_sec, amax);
	CHECK_EQ(a.mtime.tv_sec, mmin);
	CHECK_OK(daxfs_close(&fs));
	printf("ok\n");
	return 0;
}
