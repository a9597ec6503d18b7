/* SPDX-License-Identifier: MIT */
/*
 * test_core_ops - namespace operations of the daxfs core and their errnos:
 * create/mkdir/mknod, lookup, unlink/rmdir, rename (plain, over targets,
 * NOREPLACE, EXCHANGE, into itself), hard links and nlink, symlinks,
 * readdir, setattr, and that everything survives close + reopen.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "test_core_util.h"

static uint64_t mk(struct daxfs *fs, uint64_t dir, const char *name, bool isdir)
{
	struct daxfs_attr a;

	if (isdir)
		CHECK_OK(daxfs_mkdir(fs, dir, name, 0755, 0, 0, &a));
	else
		CHECK_OK(daxfs_create(fs, dir, name, 0644, 0, 0, &a));
	return a.ino;
}

static uint64_t ino_of(struct daxfs *fs, uint64_t dir, const char *name)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_lookup(fs, dir, name, &a));
	return a.ino;
}

struct names {
	int n;
	char name[64][32];
	uint64_t cookie[64];
};

static int collect(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	struct names *c = ctx;

	if (c->n >= 64)
		return 1;
	snprintf(c->name[c->n], 32, "%s", name);
	c->cookie[c->n] = next;
	c->n++;
	return 0;
}

static int count_entries(struct daxfs *fs, uint64_t dir)
{
	struct names c = {0};

	CHECK_OK(daxfs_readdir(fs, dir, 0, collect, &c));
	return c.n;
}

int main(void)
{
	const char *path = core_mkfs("ops", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a;
	char longname[300], buf[64];
	size_t len;

	/* create, lookup, errnos */
	uint64_t f = mk(fs, 1, "file", false);
	uint64_t d = mk(fs, 1, "dir", true);

	CHECK_OK(daxfs_getattr(fs, 1, &a));
	CHECK_EQ(a.nlink, 3);
	CHECK(S_ISDIR(a.mode));
	CHECK_EQ(daxfs_create(fs, 1, "file", 0644, 0, 0, NULL), -EEXIST);
	CHECK_EQ(daxfs_mkdir(fs, 1, "file", 0755, 0, 0, NULL), -EEXIST);
	CHECK_EQ(daxfs_lookup(fs, 1, "nope", NULL), -ENOENT);
	CHECK_EQ(daxfs_create(fs, f, "x", 0644, 0, 0, NULL), -ENOTDIR);
	CHECK_EQ(daxfs_lookup(fs, f, "x", NULL), -ENOTDIR);
	memset(longname, 'a', sizeof(longname));
	longname[256] = '\0';
	CHECK_EQ(daxfs_create(fs, 1, longname, 0644, 0, 0, NULL), -ENAMETOOLONG);
	CHECK_EQ(daxfs_lookup(fs, 1, longname, NULL), -ENAMETOOLONG);
	longname[255] = '\0';
	CHECK_OK(daxfs_create(fs, 1, longname, 0644, 0, 0, NULL));
	CHECK_OK(daxfs_unlink(fs, 1, longname));
	CHECK_EQ(daxfs_create(fs, 1, "a/b", 0644, 0, 0, NULL), -EINVAL);
	CHECK_EQ(daxfs_create(fs, 1, "..", 0644, 0, 0, NULL), -EINVAL);
	CHECK_EQ(ino_of(fs, d, ".."), 1);
	CHECK_EQ(ino_of(fs, d, "."), d);
	CHECK_EQ(ino_of(fs, 1, ".."), 1);

	/* mknod */
	CHECK_OK(daxfs_mknod(fs, d, "fifo", S_IFIFO | 0600, 0, 0, 0, &a));
	CHECK(S_ISFIFO(a.mode));
	CHECK_OK(daxfs_mknod(fs, d, "chr", S_IFCHR | 0600, 0, 0, 0x0103, &a));
	CHECK_EQ(a.rdev, 0x0103);
	CHECK_EQ(daxfs_mknod(fs, d, "bad", S_IFDIR | 0600, 0, 0, 0, NULL), -EINVAL);

	/* unlink/rmdir errnos */
	CHECK_EQ(daxfs_unlink(fs, 1, "dir"), -EISDIR);
	CHECK_EQ(daxfs_rmdir(fs, 1, "file"), -ENOTDIR);
	CHECK_EQ(daxfs_rmdir(fs, 1, "dir"), -ENOTEMPTY);
	CHECK_EQ(daxfs_rmdir(fs, 1, "nope"), -ENOENT);
	CHECK_EQ(daxfs_rmdir(fs, d, "."), -EINVAL);
	CHECK_OK(daxfs_unlink(fs, d, "fifo"));
	CHECK_OK(daxfs_unlink(fs, d, "chr"));
	CHECK_EQ(daxfs_unlink(fs, d, "chr"), -ENOENT);

	/* hard links */
	CHECK_OK(daxfs_link(fs, f, d, "hard", &a));
	CHECK_EQ(a.nlink, 2);
	CHECK_EQ(daxfs_link(fs, d, 1, "dirlink", NULL), -EPERM);
	CHECK_EQ(daxfs_link(fs, f, d, "hard", NULL), -EEXIST);
	CHECK_EQ(ino_of(fs, d, "hard"), f);
	/* rename onto a link of the same inode: no-op, both stay */
	CHECK_OK(daxfs_rename(fs, 1, "file", d, "hard", 0));
	CHECK_EQ(ino_of(fs, 1, "file"), f);
	CHECK_OK(daxfs_unlink(fs, d, "hard"));
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.nlink, 1);

	/* symlinks */
	CHECK_OK(daxfs_symlink(fs, 1, "sl", "some/target", 0, 0, &a));
	CHECK(S_ISLNK(a.mode));
	CHECK_EQ(a.size, 11);
	CHECK_OK(daxfs_readlink(fs, a.ino, buf, sizeof(buf), &len));
	CHECK_EQ(len, 11);
	CHECK(!strcmp(buf, "some/target"));
	CHECK_EQ(daxfs_readlink(fs, a.ino, buf, 5, NULL), -ERANGE);
	CHECK_EQ(daxfs_readlink(fs, f, buf, sizeof(buf), NULL), -EINVAL);
	CHECK_EQ(daxfs_symlink(fs, 1, "sl2", "", 0, 0, NULL), -ENOENT);

	/* rename: plain, across dirs, over a file, NOREPLACE, EXCHANGE */
	uint64_t g = mk(fs, d, "g", false);

	CHECK_OK(daxfs_rename(fs, d, "g", 1, "g2", 0));
	CHECK_EQ(daxfs_lookup(fs, d, "g", NULL), -ENOENT);
	CHECK_EQ(ino_of(fs, 1, "g2"), g);
	CHECK_EQ(daxfs_rename(fs, 1, "g2", 1, "file", DAXFS_RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ(daxfs_rename(fs, 1, "g2", 1, "file",
			      DAXFS_RENAME_NOREPLACE | DAXFS_RENAME_EXCHANGE),
		 -EINVAL);
	CHECK_OK(daxfs_rename(fs, 1, "g2", 1, "file", DAXFS_RENAME_EXCHANGE));
	CHECK_EQ(ino_of(fs, 1, "file"), g);
	CHECK_EQ(ino_of(fs, 1, "g2"), f);
	CHECK_EQ(daxfs_rename(fs, 1, "g2", 1, "missing", DAXFS_RENAME_EXCHANGE), -ENOENT);
	CHECK_OK(daxfs_rename(fs, 1, "g2", 1, "file", 0)); /* replaces g: g freed */
	CHECK_EQ(ino_of(fs, 1, "file"), f);
	CHECK_EQ(daxfs_getattr(fs, g, NULL), -ENOENT);
	/* directories */
	uint64_t sub = mk(fs, d, "sub", true);
	uint64_t e = mk(fs, 1, "empty", true);

	CHECK_EQ(daxfs_rename(fs, 1, "dir", sub, "x", 0), -EINVAL); /* into itself */
	CHECK_EQ(daxfs_rename(fs, 1, "dir", d, "x", 0), -EINVAL);
	CHECK_EQ(daxfs_rename(fs, 1, "file", 1, "empty", 0), -EISDIR);
	CHECK_EQ(daxfs_rename(fs, 1, "empty", 1, "file", 0), -ENOTDIR);
	CHECK_EQ(daxfs_rename(fs, 1, "empty", 1, "dir", 0), -ENOTEMPTY);
	CHECK_OK(daxfs_rename(fs, d, "sub", 1, "sub", 0));
	CHECK_EQ(ino_of(fs, sub, ".."), 1);
	CHECK_OK(daxfs_getattr(fs, d, &a));
	CHECK_EQ(a.nlink, 2);
	CHECK_OK(daxfs_getattr(fs, 1, &a));
	CHECK_EQ(a.nlink, 5);				     /* ., .., dir, empty, sub */
	CHECK_OK(daxfs_rename(fs, 1, "sub", 1, "empty", 0)); /* over an empty dir */
	CHECK_EQ(daxfs_getattr(fs, e, NULL), -ENOENT);
	CHECK_OK(daxfs_getattr(fs, 1, &a));
	CHECK_EQ(a.nlink, 4);
	/* exchange a dir and a file across directories */
	CHECK_OK(daxfs_rename(fs, 1, "empty", d, "hard2", 0));
	CHECK_OK(daxfs_rename(fs, d, "hard2", 1, "file", DAXFS_RENAME_EXCHANGE));
	CHECK_EQ(ino_of(fs, 1, "file"), sub);
	CHECK_EQ(ino_of(fs, sub, ".."), 1);
	CHECK_EQ(ino_of(fs, d, "hard2"), f);
	CHECK_OK(daxfs_getattr(fs, d, &a));
	CHECK_EQ(a.nlink, 2);

	/* setattr */
	struct daxfs_attr in = {.mode = 0600, .uid = 7, .gid = 8};

	in.mtime.tv_sec = 1000;
	in.mtime.tv_nsec = 5;
	CHECK_OK(daxfs_setattr(
		fs, f, &in, DAXFS_SET_MODE | DAXFS_SET_UID | DAXFS_SET_GID | DAXFS_SET_MTIME, &a));
	CHECK_EQ(a.mode, S_IFREG | 0600);
	CHECK_EQ(a.uid, 7);
	CHECK_EQ(a.gid, 8);
	CHECK_EQ(a.mtime.tv_sec, 1000);
	CHECK_EQ(a.mtime.tv_nsec, 5);
	in.size = 100;
	CHECK_EQ(daxfs_setattr(fs, d, &in, DAXFS_SET_SIZE, NULL), -EISDIR);

	/* readdir: . .. and entries, cookies resume */
	struct names c = {0};

	CHECK_OK(daxfs_readdir(fs, 1, 0, collect, &c));
	CHECK(!strcmp(c.name[0], "."));
	CHECK(!strcmp(c.name[1], ".."));
	CHECK_EQ(c.n, 5); /* . .. dir file sl */
	struct names c2 = {0};

	CHECK_OK(daxfs_readdir(fs, 1, c.cookie[2], collect, &c2));
	CHECK_EQ(c2.n, 2);
	CHECK(!strcmp(c2.name[0], c.name[3]));

	/* persistence */
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	CHECK_EQ(ino_of(fs, 1, "file"), sub);
	CHECK_EQ(ino_of(fs, d, "hard2"), f);
	CHECK_EQ(count_entries(fs, 1), 5);
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.uid, 7);
	CHECK_OK(daxfs_readlink(fs, ino_of(fs, 1, "sl"), buf, sizeof(buf), NULL));
	CHECK(!strcmp(buf, "some/target"));
	/* a second user is refused while open */
	struct daxfs *fs2;

	CHECK_EQ(daxfs_open(path, 0, &fs2), -EBUSY);
	CHECK_OK(daxfs_close(&fs));
	return 0;
}
