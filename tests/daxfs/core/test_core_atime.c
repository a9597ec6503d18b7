/* SPDX-License-Identifier: MIT */
/*
 * test_core_atime - daxfs_touch_atime() follows the mount's policy as the
 * kernel applies it to ext4: never (noatime); relative (relatime: when
 * atime is not after mtime or ctime, or is a day old, and only then); always
 * (strictatime); never for an inode with the NOATIME flag; never on a
 * read-only filesystem. A read that needs no update commits nothing.
 */
#include <sys/stat.h>

#include "test_core_util.h"

static struct timespec atime_of(struct daxfs *fs, uint64_t ino)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_getattr(fs, ino, &a));
	return a.atime;
}

static void set_atime(struct daxfs *fs, uint64_t ino, time_t sec)
{
	struct daxfs_attr in;

	memset(&in, 0, sizeof(in));
	in.atime.tv_sec = sec;
	CHECK_OK(daxfs_setattr(fs, ino, &in, DAXFS_SET_ATIME, NULL));
}

static uint64_t commits(struct daxfs *fs)
{
	struct daxfs_stats st;

	daxfs_get_stats(fs, &st);
	return st.tx_commits;
}

int main(void)
{
	const char *path = core_mkfs("atime", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a;
	time_t now = time(NULL);
	uint64_t f, c;

	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "f", 0644, 0, 0, &a));
	f = a.ino;

	/* atime after mtime and ctime, and recent: relatime leaves it */
	set_atime(fs, f, now + 3600);
	c = commits(fs);
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_RELATIVE));
	CHECK_EQ(atime_of(fs, f).tv_sec, now + 3600);
	CHECK_EQ(commits(fs), c); /* no transaction */
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_NEVER));
	CHECK_EQ(atime_of(fs, f).tv_sec, now + 3600);
	/* strictatime: always */
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_STRICT));
	CHECK(atime_of(fs, f).tv_sec <= time(NULL) && atime_of(fs, f).tv_sec >= now);

	/* atime before mtime (a write since the last read): relatime updates */
	set_atime(fs, f, now - 100); /* ctime is now: newer than atime */
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_NEVER));
	CHECK_EQ(atime_of(fs, f).tv_sec, now - 100);
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_RELATIVE));
	CHECK(atime_of(fs, f).tv_sec >= now);
	c = commits(fs);
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_RELATIVE)); /* read again: nothing */
	CHECK_EQ(commits(fs), c);

	/* a day old: relatime updates even when newer than mtime/ctime */
	struct daxfs_attr in;

	memset(&in, 0, sizeof(in));
	in.mtime.tv_sec = now - 3 * 86400;
	in.ctime.tv_sec = now - 3 * 86400;
	in.atime.tv_sec = now - 2 * 86400;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_ATIME | DAXFS_SET_MTIME | DAXFS_SET_CTIME,
			       NULL));
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_RELATIVE));
	CHECK(atime_of(fs, f).tv_sec >= now);
	/* ... but not when only an hour old */
	in.atime.tv_sec = now - 3600;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_ATIME | DAXFS_SET_CTIME, NULL));
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_RELATIVE));
	CHECK_EQ(atime_of(fs, f).tv_sec, now - 3600);

	/* chattr +A: never */
	CHECK_OK(daxfs_setflags(fs, f, DAXFS_FL_NOATIME));
	set_atime(fs, f, now - 100);
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_STRICT));
	CHECK_EQ(atime_of(fs, f).tv_sec, now - 100);
	CHECK_OK(daxfs_setflags(fs, f, 0));
	CHECK_EQ(daxfs_touch_atime(fs, 999999, DAXFS_ATIME_STRICT), 0); /* no such inode */

	/* read-only: never */
	CHECK_OK(daxfs_close(&fs));
	CHECK_OK(daxfs_open(path, DAXFS_O_RDONLY, &fs));
	CHECK_OK(daxfs_touch_atime(fs, f, DAXFS_ATIME_STRICT));
	CHECK_EQ(atime_of(fs, f).tv_sec, now - 100);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
