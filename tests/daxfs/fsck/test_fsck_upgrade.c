/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_upgrade - a version 1 image (no inode extension table) keeps
 * working and "fsck.daxfs -y --upgrade" brings it to version 3: the table
 * is built in free space from the directories, the superblock and its
 * backup switch over, and from then on a lost directory block costs no
 * names; every inode's checksum then covers its number (ICSUM). A crash
 * between the switch and the backup rewrite leaves a backup that fsck
 * finds and rewrites. A version 2 image with more inodes than one step of
 * the checksum upgrade reseals, crashed in the middle of it (a step
 * committed, not applied), opens with every file intact, fsck says where
 * the upgrade stopped, and --upgrade finishes it. A filesystem without
 * room for the table is refused with a message and left at version 1;
 * --upgrade without -y is a usage error.
 */
#include <sys/wait.h>

#include "fsck_test.h"

static uint32_t version_of(const char *path)
{
	struct pmr_region *r;
	uint32_t v;

	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	v = le32_to_cpu(((const struct daxfs_dsuper *)pmr_addr(r))->version);
	pmr_close(&r);
	return v;
}

static int upgrade(struct ft *t)
{
	FILE *f = fmemopen(t->out, sizeof(t->out) - 1, "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_REPAIR, .out = f, .upgrade = true};
	int rc;

	CHECK(f);
	rc = daxfs_fsck(t->img, &o);
	fclose(f);
	return rc;
}

/*
 * a version 2 image with 500 more files (more inodes than one step of
 * the checksum upgrade reseals); the upgrade crashes at its second commit
 * (the first step), after the commit point and before anything is applied
 */
static void icsum_crash(void)
{
	static struct ft t2;
	struct daxfs *fs;
	struct daxfs_attr a;
	pid_t pid;
	int st;

	ft_init(&t2, "upgrade2", POP_CLEAN, 2);
	ft_fresh(&t2);
	CHECK_OK(daxfs_open(t2.img, 0, &fs));
	for (unsigned k = 0; k < 500; k++) {
		char name[32];

		snprintf(name, sizeof(name), "f%u", k);
		CHECK_OK(daxfs_create(fs, 1, name, 0644, 0, 0, &a));
	}
	CHECK_OK(daxfs_close(&fs));
	pop_free(&t2.m); /* the tree to keep is this one */
	ft_manifest(&t2, t2.img, &t2.m);
	FT_EXPECT(&t2, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t2, "inode checksums do not cover the inode number", true);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		daxfs_test_crash_at(2, 2);
		upgrade(&t2);
		_exit(1);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == DAXFS_TEST_CRASH_EXIT);
	/* the replay checks the step's inodes in their new form */
	CHECK_OK(daxfs_open(t2.img, 0, &fs));
	CHECK_OK(daxfs_lookup(fs, 1, "f499", &a));
	CHECK_OK(daxfs_close(&fs));
	ft_same_tree(&t2);
	FT_EXPECT(&t2, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t2, "the upgrade of inode checksums stopped at inode", true);
	CHECK_EQ(upgrade(&t2), 0);
	CHECK_EQ(version_of(t2.img), 3);
	FT_EXPECT(&t2, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t2, "inode checksums", false);
	ft_same_tree(&t2);
}

int main(void)
{
	static struct ft t;
	char id[64];
	uint8_t backup[512];

	ft_init(&t, "upgrade", POP_CLEAN, 1);
	ft_fresh(&t);
	CHECK_EQ(version_of(t.img), 1);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t, "format version 1", true);
	{
		/* the old backup, to fake a crash before its rewrite */
		FILE *f = fopen(t.img, "r");

		CHECK(f && fseek(f, 4096, SEEK_SET) == 0 && fread(backup, 1, 512, f) == 512);
		fclose(f);
	}
	CHECK_EQ(upgrade(&t), 0);
	FT_SAID(&t, "inode extension table", true);
	FT_SAID(&t, "inode checksums cover the inode number", true);
	CHECK_EQ(version_of(t.img), 3);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t, "format version 1", false);
	FT_SAID(&t, "inode checksums do not cover", false);
	ft_same_tree(&t);
	CHECK_EQ(upgrade(&t), 0); /* again: nothing to do */

	/*
	 * the names are there: a whole leaf of /small zeroed costs none,
	 * except a second name of a hard-linked file (the table records one
	 * name per inode; the file stays reachable under the other), which
	 * ft_missing() allows for
	 */
	ft_nth(&t, "dnode", ft_ino(&t, "/small"), 2, id, sizeof(id));
	ft_damage(&t, "block", id, NULL, FT_ZERO, 0, false);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	CHECK_EQ(ft_missing(&t, NULL), 0);

	/* crash after the switch, before the backup was rewritten */
	{
		FILE *f = fopen(t.img, "r+");

		CHECK(f && fseek(f, 4096, SEEK_SET) == 0 && fwrite(backup, 1, 512, f) == 512);
		fclose(f);
	}
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "backup superblock", true);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);

	icsum_crash();

	/* no room: refused, still version 1 and clean */
	{
		struct pmr_region *r;
		struct daxfs_mkfs_opts mo = {.version = 1};
		static uint8_t buf[1 << 20];
		struct daxfs *fs;
		struct daxfs_attr a;
		size_t done = 0;
		uint64_t off = 0;

		unlink(t.img);
		CHECK_OK(pmr_create(t.img, 8 << 20, 0, &r));
		CHECK_OK(daxfs_mkfs(r, &mo));
		pmr_close(&r);
		CHECK_OK(daxfs_open(t.img, 0, &fs));
		CHECK_OK(daxfs_create(fs, 1, "full", 0644, 0, 0, &a));
		while (daxfs_write(fs, a.ino, off, sizeof(buf), buf, &done) == 0 && done)
			off += done;
		CHECK_OK(daxfs_close(&fs));
		CHECK_EQ(upgrade(&t) & DAXFS_FSCK_OPERROR, DAXFS_FSCK_OPERROR);
		FT_SAID(&t, "no room for the inode extension table", true);
		CHECK_EQ(version_of(t.img), 1);
		FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	}

	/* --upgrade is a repair */
	{
		FILE *f = fmemopen(t.out, sizeof(t.out) - 1, "w");
		struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = f, .upgrade = true};

		CHECK_EQ(daxfs_fsck(t.img, &o), DAXFS_FSCK_USAGE);
		fclose(f);
		FT_SAID(&t, "--upgrade needs -y", true);
	}
	return 0;
}
