/* SPDX-License-Identifier: MIT */
/*
 * test_core_handles - what file handles need: daxfs_lookup(ino, ".") finds
 * any live inode by number (files, symlinks, directories), with the
 * generation it had when the handle was made, across a reopen; a freed
 * inode is -ENOENT (the kernel's ESTALE), also an unlinked one still
 * referenced; a reused number has a new generation; ".." of a directory is
 * its parent.
 */
#include <sys/stat.h>

#include "test_core_util.h"

int main(void)
{
	const char *path = core_mkfs("handles", 16 << 20, 64);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr f, d, l, a;
	const uint64_t root = DAXFS_ROOT_INO;

	CHECK_OK(daxfs_create(fs, root, "f", 0644, 0, 0, &f));
	CHECK_OK(daxfs_mkdir(fs, root, "d", 0755, 0, 0, &d));
	CHECK_OK(daxfs_symlink(fs, d.ino, "l", "target", 0, 0, &l));
	CHECK_OK(daxfs_close(&fs));
	fs = core_open(path);

	CHECK_OK(daxfs_lookup(fs, f.ino, ".", &a));
	CHECK_EQ(a.ino, f.ino);
	CHECK_EQ(a.generation, f.generation);
	CHECK(S_ISREG(a.mode));
	CHECK_OK(daxfs_lookup(fs, l.ino, ".", &a));
	CHECK_EQ(a.ino, l.ino);
	CHECK_OK(daxfs_lookup(fs, d.ino, ".", &a));
	CHECK_EQ(a.ino, d.ino);
	CHECK_OK(daxfs_lookup(fs, d.ino, "..", &a));
	CHECK_EQ(a.ino, root);
	CHECK_EQ(daxfs_lookup(fs, 0, ".", &a), -ENOENT);
	CHECK_EQ(daxfs_lookup(fs, 1000000, ".", &a), -ENOENT);
	CHECK_EQ(daxfs_lookup(fs, f.ino, "..", &a), -ENOTDIR);

	/* unlinked while referenced: no longer found by a handle */
	CHECK_OK(daxfs_iget(fs, f.ino));
	CHECK_OK(daxfs_unlink(fs, root, "f"));
	CHECK_EQ(daxfs_lookup(fs, f.ino, ".", &a), -ENOENT);
	daxfs_iput(fs, f.ino, 1);
	CHECK_EQ(daxfs_lookup(fs, f.ino, ".", &a), -ENOENT);
	CHECK_OK(daxfs_unlink(fs, d.ino, "l"));
	CHECK_OK(daxfs_rmdir(fs, root, "d"));
	CHECK_EQ(daxfs_lookup(fs, d.ino, ".", &a), -ENOENT);

	/* numbers come back with a new generation (64 inodes: reuse is quick) */
	bool reused = false;

	for (int k = 0; k < 60 && !reused; k++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", k);
		CHECK_OK(daxfs_create(fs, root, name, 0644, 0, 0, &a));
		if (a.ino == f.ino) {
			CHECK(a.generation != f.generation);
			CHECK_OK(daxfs_lookup(fs, f.ino, ".", &a));
			CHECK(a.generation != f.generation);
			reused = true;
		}
	}
	CHECK(reused);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
