/* SPDX-License-Identifier: MIT */
/*
 * test_core_whiteout - rename with DAXFS_RENAME_WHITEOUT (what overlayfs
 * asks of its upper directory): the source name becomes a 0/0 character
 * device owned by the caller, the target gets the inode, in one
 * transaction; with NOREPLACE over an existing name -EEXIST and nothing
 * changes; with EXCHANGE -EINVAL; directories and across directories too.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "test_core_util.h"

static void expect_whiteout(struct daxfs *fs, uint64_t dir, const char *name)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_lookup(fs, dir, name, &a));
	CHECK(S_ISCHR(a.mode));
	CHECK_EQ(a.rdev, 0);
	CHECK_EQ(a.uid, 1234);
	CHECK_EQ(a.gid, 5678);
	CHECK_EQ(a.nlink, 1);
}

int main(void)
{
	const char *path = core_mkfs("whiteout", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a, b, d;
	const uint64_t root = DAXFS_ROOT_INO;

	CHECK_OK(daxfs_create(fs, root, "a", 0644, 0, 0, &a));
	CHECK_OK(daxfs_create(fs, root, "b", 0644, 0, 0, &b));
	CHECK_OK(daxfs_mkdir(fs, root, "d", 0755, 0, 0, &d));

	CHECK_EQ(daxfs_rename_wh(fs, root, "a", root, "x",
				 DAXFS_RENAME_WHITEOUT | DAXFS_RENAME_EXCHANGE, 1234, 5678),
		 -EINVAL);
	CHECK_EQ(daxfs_rename_wh(fs, root, "a", root, "b",
				 DAXFS_RENAME_WHITEOUT | DAXFS_RENAME_NOREPLACE, 1234, 5678),
		 -EEXIST);
	CHECK_OK(daxfs_lookup(fs, root, "a", NULL));

	/* to a new name */
	CHECK_OK(daxfs_rename_wh(fs, root, "a", root, "x", DAXFS_RENAME_WHITEOUT, 1234, 5678));
	struct daxfs_attr x;

	CHECK_OK(daxfs_lookup(fs, root, "x", &x));
	CHECK_EQ(x.ino, a.ino);
	expect_whiteout(fs, root, "a");
	/* over an existing name, across directories */
	CHECK_OK(daxfs_rename_wh(fs, root, "b", d.ino, "y", 0, 0, 0));
	CHECK_OK(daxfs_rename_wh(fs, root, "x", d.ino, "y", DAXFS_RENAME_WHITEOUT, 1234, 5678));
	expect_whiteout(fs, root, "x");
	CHECK_OK(daxfs_lookup(fs, d.ino, "y", &x));
	CHECK_EQ(x.ino, a.ino);
	CHECK_EQ(daxfs_getattr(fs, b.ino, NULL), -ENOENT); /* replaced and freed */
	/* a directory */
	CHECK_OK(daxfs_rename_wh(fs, root, "d", root, "e", DAXFS_RENAME_WHITEOUT, 1234, 5678));
	expect_whiteout(fs, root, "d");
	CHECK_OK(daxfs_getattr(fs, root, &a));
	CHECK_EQ(a.nlink, 3); /* ".", "..", and e */

	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	expect_whiteout(fs, root, "d");
	CHECK_OK(daxfs_unlink(fs, root, "d")); /* whiteouts go like any file */
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
