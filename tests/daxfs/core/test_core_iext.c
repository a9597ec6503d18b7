/* SPDX-License-Identifier: MIT */
/*
 * test_core_iext - the inode extension table records a name for every
 * inode as the namespace changes: create, mkdir, symlink and mknod record
 * their link; rename moves it (both sides of an exchange); unlinking the
 * recorded link of a file that keeps other links forgets it, and the next
 * link is recorded; a crash keeps it consistent with the directories (it
 * changes in the same transaction). A version 1 image has no table and
 * works as before.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "core.h"
#include "test_core_util.h"
#include "units.h"

static void expect_name(struct daxfs *fs, uint64_t ino, uint64_t parent, const char *name)
{
	char got[DAXFS_NAME_MAX + 1];
	uint64_t p;
	size_t len;
	int err;

	dx_lock(fs);
	err = iext_get(fs, ino, &p, got, &len);
	dx_unlock(fs);
	if (!parent) {
		CHECK_EQ(err, -ENOENT);
		return;
	}
	CHECK_OK(err);
	CHECK_EQ(p, parent);
	CHECK_EQ(len, strlen(name));
	CHECK(!strcmp(got, name));
}

int main(void)
{
	const char *path = core_mkfs("iext", 8 * MiB, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr d, f, g, s, n;
	char longname[256];

	CHECK(fs->iext_nblks > 0);
	expect_name(fs, DAXFS_ROOT_INO, 0, NULL);
	CHECK_OK(daxfs_mkdir(fs, 1, "d", 0755, 0, 0, &d));
	expect_name(fs, d.ino, 1, "d");
	memset(longname, 'x', 255);
	longname[255] = '\0';
	CHECK_OK(daxfs_create(fs, d.ino, longname, 0644, 0, 0, &f));
	expect_name(fs, f.ino, d.ino, longname);
	CHECK_OK(daxfs_symlink(fs, 1, "s", "target", 0, 0, &s));
	expect_name(fs, s.ino, 1, "s");
	CHECK_OK(daxfs_mknod(fs, d.ino, "fifo", S_IFIFO | 0600, 0, 0, 0, &n));
	expect_name(fs, n.ino, d.ino, "fifo");

	/* hard links: the recorded one goes, the next link is recorded */
	CHECK_OK(daxfs_link(fs, f.ino, 1, "l1", NULL));
	expect_name(fs, f.ino, d.ino, longname);
	CHECK_OK(daxfs_unlink(fs, d.ino, longname));
	expect_name(fs, f.ino, 0, NULL);
	CHECK_OK(daxfs_link(fs, f.ino, d.ino, "l2", NULL));
	expect_name(fs, f.ino, d.ino, "l2");
	CHECK_OK(daxfs_unlink(fs, 1, "l1")); /* not the recorded one */
	expect_name(fs, f.ino, d.ino, "l2");

	/* rename moves it; a replaced target that keeps a link forgets it */
	CHECK_OK(daxfs_rename(fs, d.ino, "l2", 1, "moved", 0));
	expect_name(fs, f.ino, 1, "moved");
	CHECK_OK(daxfs_create(fs, 1, "other", 0644, 0, 0, &g));
	CHECK_OK(daxfs_link(fs, g.ino, d.ino, "other-link", NULL));
	CHECK_OK(daxfs_rename(fs, 1, "moved", 1, "other", 0));
	expect_name(fs, f.ino, 1, "other");
	expect_name(fs, g.ino, 0, NULL);
	CHECK_OK(daxfs_rename(fs, 1, "other", d.ino, "other-link", DAXFS_RENAME_EXCHANGE));
	expect_name(fs, f.ino, d.ino, "other-link");
	expect_name(fs, g.ino, 1, "other");
	CHECK_OK(daxfs_rename(fs, 1, "d", 1, "d2", 0));
	expect_name(fs, d.ino, 1, "d2");
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);

	/* crash in the middle of a rename: old or new name, with the table alike */
	for (int step = 1; step <= 4; step++) {
		pid_t pid = fork();
		int st;

		CHECK(pid >= 0);
		if (pid == 0) {
			struct daxfs *c = core_open(path);

			daxfs_test_crash_at(1, step);
			daxfs_rename(c, 1, "s", d.ino, "s-moved", 0);
			_exit(0);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == DAXFS_TEST_CRASH_EXIT);
		fs = core_open(path);
		if (daxfs_lookup(fs, 1, "s", NULL) == 0) {
			expect_name(fs, s.ino, 1, "s");
		} else {
			expect_name(fs, s.ino, d.ino, "s-moved");
			CHECK_OK(daxfs_rename(fs, d.ino, "s-moved", 1, "s", 0));
		}
		CHECK_OK(daxfs_close(&fs));
		core_fsck_clean(path);
	}

	/* version 1: no table, everything else as before */
	struct pmr_region *r;
	struct daxfs_mkfs_opts o = {.version = 1};

	unlink(path);
	CHECK_OK(pmr_create(path, 8 * MiB, 0, &r));
	CHECK_OK(daxfs_mkfs(r, &o));
	CHECK_EQ(le32_to_cpu(((const struct daxfs_dsuper *)pmr_addr(r))->version), 1);
	pmr_close(&r);
	fs = core_open(path);
	CHECK_EQ(fs->iext_nblks, 0);
	CHECK_OK(daxfs_create(fs, 1, "f", 0644, 0, 0, &f));
	CHECK_OK(daxfs_rename(fs, 1, "f", 1, "g", 0));
	expect_name(fs, f.ino, 0, NULL);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	return 0;
}
