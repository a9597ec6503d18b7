/* SPDX-License-Identifier: MIT */
/*
 * test_core_flags - the chattr flags and what they forbid, as on ext4:
 * immutable refuses writes, truncate, fallocate, setattr, xattrs, unlink,
 * rename, link and new entries in an immutable directory; append-only
 * refuses writes before the end, truncate, chmod/chown/explicit times,
 * xattrs, unlink and rename but allows appends and "touch"; unknown flags
 * are -EOPNOTSUPP; flags survive a reopen, fsck stays clean, and clearing
 * them allows everything again.
 */
#include <linux/falloc.h>
#include <sys/stat.h>

#include "test_core_util.h"

static uint64_t mkfile(struct daxfs *fs, uint64_t dir, const char *name)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_create(fs, dir, name, 0644, 0, 0, &a));
	return a.ino;
}

int main(void)
{
	const char *path = core_mkfs("flags", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a, in;
	uint32_t fl;
	size_t done;
	uint64_t f, d, g;

	f = mkfile(fs, DAXFS_ROOT_INO, "f");
	CHECK_OK(daxfs_write(fs, f, 0, 5, "hello", &done));
	CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, "d", 0755, 0, 0, &a));
	d = a.ino;
	g = mkfile(fs, d, "g");

	CHECK_OK(daxfs_getflags(fs, f, &fl));
	CHECK_EQ(fl, 0);
	CHECK_EQ(daxfs_setflags(fs, f, 0x00080000 /* FS_EXTENT_FL */), -EOPNOTSUPP);
	CHECK_EQ(daxfs_setflags(fs, 999999, 0), -ENOENT);

	/* immutable file */
	CHECK_OK(daxfs_setflags(fs, f, DAXFS_FL_IMMUTABLE | DAXFS_FL_NODUMP));
	CHECK_OK(daxfs_getflags(fs, f, &fl));
	CHECK_EQ(fl, DAXFS_FL_IMMUTABLE | DAXFS_FL_NODUMP);
	CHECK_EQ(daxfs_write(fs, f, 0, 1, "x", &done), -EPERM);
	CHECK_EQ(daxfs_write(fs, f, 5, 1, "x", &done), -EPERM);
	memset(&in, 0, sizeof(in));
	in.size = 0;
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_SIZE, NULL), -EPERM);
	in.mode = 0600;
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL), -EPERM);
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_MTIME_NOW, NULL), -EPERM);
	CHECK_EQ(daxfs_fallocate(fs, f, 0, 0, 8192), -EPERM);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.x", "1", 1, 0), -EPERM);
	CHECK_EQ(daxfs_removexattr(fs, f, "user.x"), -EPERM);
	CHECK_EQ(daxfs_unlink(fs, DAXFS_ROOT_INO, "f"), -EPERM);
	CHECK_EQ(daxfs_rename(fs, DAXFS_ROOT_INO, "f", DAXFS_ROOT_INO, "f2", 0), -EPERM);
	CHECK_EQ(daxfs_rename(fs, d, "g", DAXFS_ROOT_INO, "f", 0), -EPERM); /* over it */
	CHECK_EQ(daxfs_link(fs, f, DAXFS_ROOT_INO, "f3", NULL), -EPERM);
	struct daxfs_map m;

	CHECK_EQ(daxfs_bmap(fs, f, 65536, 4096, DAXFS_BMAP_ALLOC, &m), -EPERM);
	CHECK_EQ(daxfs_write_commit(fs, f, 10), -EPERM);
	char buf[8];

	CHECK_OK(daxfs_read(fs, f, 0, 5, buf, &done)); /* reading is fine */
	CHECK(done == 5 && !memcmp(buf, "hello", 5));

	/* immutable directory: no entries in or out */
	CHECK_OK(daxfs_setflags(fs, d, DAXFS_FL_IMMUTABLE));
	CHECK_EQ(daxfs_create(fs, d, "new", 0644, 0, 0, NULL), -EPERM);
	CHECK_EQ(daxfs_mkdir(fs, d, "newdir", 0755, 0, 0, NULL), -EPERM);
	CHECK_EQ(daxfs_symlink(fs, d, "ln", "t", 0, 0, NULL), -EPERM);
	CHECK_EQ(daxfs_unlink(fs, d, "g"), -EPERM);
	CHECK_EQ(daxfs_rename(fs, d, "g", DAXFS_ROOT_INO, "g", 0), -EPERM);
	CHECK_EQ(daxfs_rmdir(fs, DAXFS_ROOT_INO, "d"), -EPERM);
	CHECK_OK(daxfs_write(fs, g, 0, 3, "abc", &done)); /* its files are not immutable */
	CHECK_OK(daxfs_setflags(fs, d, 0));

	/* append-only file */
	CHECK_OK(daxfs_setflags(fs, f, DAXFS_FL_APPEND));
	CHECK_EQ(daxfs_write(fs, f, 0, 1, "x", &done), -EPERM);
	CHECK_OK(daxfs_write(fs, f, 5, 6, " world", &done));
	CHECK_EQ(done, 6);
	in.size = 3;
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_SIZE, NULL), -EPERM);
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL), -EPERM);
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_UID, NULL), -EPERM);
	CHECK_EQ(daxfs_setattr(fs, f, &in, DAXFS_SET_MTIME, NULL), -EPERM);
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_ATIME_NOW | DAXFS_SET_MTIME_NOW, NULL));
	CHECK_EQ(daxfs_fallocate(fs, f, FALLOC_FL_ZERO_RANGE, 0, 4096), -EPERM);
	CHECK_OK(daxfs_fallocate(fs, f, FALLOC_FL_KEEP_SIZE, 0, 65536));
	CHECK_EQ(daxfs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096),
		 -EPERM);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.x", "1", 1, 0), -EPERM);
	CHECK_EQ(daxfs_unlink(fs, DAXFS_ROOT_INO, "f"), -EPERM);
	CHECK_EQ(daxfs_link(fs, f, DAXFS_ROOT_INO, "f3", NULL), -EPERM);
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.size, 11);

	/* append-only directory: entries come but do not go */
	CHECK_OK(daxfs_setflags(fs, d, DAXFS_FL_APPEND));
	mkfile(fs, d, "more");
	CHECK_EQ(daxfs_unlink(fs, d, "more"), -EPERM);
	CHECK_EQ(daxfs_rename(fs, d, "more", d, "renamed", 0), -EPERM);

	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	CHECK_OK(daxfs_getflags(fs, f, &fl));
	CHECK_EQ(fl, DAXFS_FL_APPEND);
	CHECK_OK(daxfs_getflags(fs, d, &fl));
	CHECK_EQ(fl, DAXFS_FL_APPEND);
	/* cleared: everything allowed again */
	CHECK_OK(daxfs_setflags(fs, f, 0));
	CHECK_OK(daxfs_setflags(fs, d, 0));
	CHECK_OK(daxfs_write(fs, f, 0, 1, "H", &done));
	CHECK_OK(daxfs_unlink(fs, d, "more"));
	CHECK_OK(daxfs_rename(fs, DAXFS_ROOT_INO, "f", DAXFS_ROOT_INO, "f2", 0));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "f2"));
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
