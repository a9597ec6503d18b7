/* SPDX-License-Identifier: MIT */
/*
 * test_core_tmpfile - daxfs_tmpfile() and daxfs_link() of an unnamed file:
 * a tmpfile is a regular file with no link and no name, on the orphan list;
 * written and linked it keeps its data under the new name (also after a
 * remount, fsck clean); one never linked is freed by its last iput, and one
 * still referenced when the filesystem is closed is freed then (or, after a
 * crash, by recovery at the next mount): its blocks come back.
 * Linking an unnamed directory or special file is refused; setattr with
 * DAXFS_SET_KILL_SUIDGID clears the right bits.
 */
#include <sys/stat.h>

#include "test_core_util.h"

static uint64_t free_blocks(struct daxfs *fs)
{
	struct daxfs_statfs st;

	CHECK_OK(daxfs_statfs(fs, &st));
	return st.free_blocks;
}

static void kill_case(struct daxfs *fs, uint32_t mode, uint32_t want)
{
	struct daxfs_attr in = {.mode = mode}, out;
	char name[32];

	snprintf(name, sizeof(name), "k%o", mode);
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &out));
	CHECK_OK(daxfs_setattr(fs, out.ino, &in, DAXFS_SET_MODE, &out));
	CHECK_EQ(out.mode & 07777, mode);
	CHECK_OK(daxfs_setattr(fs, out.ino, &in, DAXFS_SET_KILL_SUIDGID, &out));
	CHECK_EQ(out.mode & 07777, want);
}

int main(void)
{
	const char *path = core_mkfs("tmpfile", 64 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a, b;
	char buf[8192], got[8192];
	uint64_t kept;
	size_t n;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);

	/* a tmpfile, written, then linked */
	CHECK_OK(daxfs_tmpfile(fs, DAXFS_ROOT_INO, 0640, 1000, 1000, &a));
	CHECK(S_ISREG(a.mode));
	CHECK_EQ(a.mode & 07777, 0640);
	CHECK_EQ(a.nlink, 0);
	CHECK_EQ(a.uid, 1000);
	CHECK_OK(daxfs_iget(fs, a.ino));
	CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &n));
	CHECK_EQ(n, sizeof(buf));
	CHECK_EQ(daxfs_lookup(fs, DAXFS_ROOT_INO, "named", &b), -ENOENT);
	CHECK_OK(daxfs_link(fs, a.ino, DAXFS_ROOT_INO, "named", &b));
	CHECK_EQ(b.nlink, 1);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "named", &b));
	CHECK_EQ(b.ino, a.ino);
	daxfs_iput(fs, a.ino, 1);

	/* a tmpfile never linked: freed by its last iput */
	kept = free_blocks(fs);
	CHECK_OK(daxfs_tmpfile(fs, DAXFS_ROOT_INO, 0600, 0, 0, &a));
	CHECK_OK(daxfs_iget(fs, a.ino));
	CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &n));
	CHECK(free_blocks(fs) < kept);
	daxfs_iput(fs, a.ino, 1);
	CHECK_EQ(free_blocks(fs), kept);

	/* an unnamed directory cannot be linked; a tmpfile in a non-directory fails */
	CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, "d", 0755, 0, 0, &b));
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "named", &b));
	CHECK_EQ(daxfs_tmpfile(fs, b.ino, 0600, 0, 0, NULL), -ENOTDIR);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "d", &b));
	CHECK_OK(daxfs_rmdir(fs, DAXFS_ROOT_INO, "d"));
	CHECK_EQ(daxfs_link(fs, b.ino, DAXFS_ROOT_INO, "d2", NULL), -ENOENT);

	/* setuid/setgid clearing */
	kill_case(fs, 04777, 0777);
	kill_case(fs, 02777, 0777);
	kill_case(fs, 06777, 0777);
	kill_case(fs, 02767, 02767);
	kill_case(fs, 06767, 02767);
	kill_case(fs, 0755, 0755);

	/* a tmpfile still referenced at close: freed */
	kept = free_blocks(fs);
	CHECK_OK(daxfs_tmpfile(fs, DAXFS_ROOT_INO, 0600, 0, 0, &a));
	CHECK_OK(daxfs_iget(fs, a.ino));
	CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &n));
	CHECK_OK(daxfs_close(&fs));
	fs = core_open(path);
	CHECK_EQ(free_blocks(fs), kept);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "named", &b));
	CHECK_OK(daxfs_read(fs, b.ino, 0, sizeof(got), got, &n));
	CHECK_EQ(n, sizeof(got));
	CHECK(!memcmp(got, buf, sizeof(buf)));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "named"));
	CHECK(free_blocks(fs) > kept);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("PASS\n");
	return 0;
}
