/* SPDX-License-Identifier: MIT */
/*
 * test_core_remount - daxfs_remount() between read-write and read-only:
 * going read-only marks the superblock clean, refuses every change with
 * -EROFS, and lets a second reader open the region (shared lock); going
 * back to read-write is refused while that reader holds it, then works,
 * frees what was unlinked while read-only, and changes persist. A
 * filesystem opened read-only goes read-write the same way. The region
 * bytes do not change while read-only.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_core_util.h"

/* FNV-1a of the region file's bytes */
static uint64_t region_sum(const char *path)
{
	static uint8_t buf[1 << 20];
	uint64_t sum = 14695981039346656037ULL;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	CHECK(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t k = 0; k < n; k++)
			sum = (sum ^ buf[k]) * 1099511628211ULL;
	close(fd);
	return sum;
}

/*
 * A reader in another process (the region lock is one per process): opens
 * the region read-only, reports the result on @p[1], holds it until @q[0]
 * closes; returns its pid.
 */
static pid_t reader(const char *path, int p[2], int q[2])
{
	pid_t pid;

	CHECK(!pipe(p) && !pipe(q));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct daxfs *fs;
		int err = daxfs_open(path, DAXFS_O_RDONLY, &fs);
		char c;

		close(p[0]);
		close(q[1]);
		if (write(p[1], &err, sizeof(err)) != sizeof(err))
			_exit(2);
		if (read(q[0], &c, 1) < 0)
			_exit(2);
		if (!err)
			daxfs_close(&fs);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	return pid;
}

/* reader_open - start a reader; its open's result */
static int reader_open(const char *path, pid_t *pid, int *release_fd)
{
	int p[2], q[2], err;

	*pid = reader(path, p, q);
	CHECK_EQ(read(p[0], &err, sizeof(err)), sizeof(err));
	close(p[0]);
	*release_fd = q[1];
	return err;
}

static void reader_end(pid_t pid, int release_fd)
{
	int st;

	close(release_fd);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* fsck -n in another process must find the filesystem clean */
static void fsck_clean_apart(const char *path)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (!pid) {
		core_fsck_clean(path);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	const char *path = core_mkfs("remount", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	pid_t rpid;
	int rfd;
	struct daxfs_attr a;
	size_t done;
	uint64_t f, g;

	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "f", 0644, 0, 0, &a));
	f = a.ino;
	CHECK_OK(daxfs_write(fs, f, 0, 4, "data", &done));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "g", 0644, 0, 0, &a));
	g = a.ino;
	CHECK_EQ(le32_to_cpu(core_super(path).state), DAXFS_STATE_INUSE);
	CHECK_EQ(reader_open(path, &rpid, &rfd), -EBUSY);
	reader_end(rpid, rfd);

	/* read-write -> read-only */
	CHECK(!daxfs_readonly(fs));
	CHECK_OK(daxfs_remount(fs, true));
	CHECK_OK(daxfs_remount(fs, true)); /* already */
	CHECK(daxfs_readonly(fs));
	CHECK_EQ(le32_to_cpu(core_super(path).state), DAXFS_STATE_CLEAN);
	uint64_t sum = region_sum(path);

	CHECK_EQ(daxfs_write(fs, f, 0, 1, "x", &done), -EROFS);
	CHECK_EQ(daxfs_create(fs, DAXFS_ROOT_INO, "h", 0644, 0, 0, NULL), -EROFS);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.a", "1", 1, 0), -EROFS);
	CHECK_EQ(daxfs_setflags(fs, f, DAXFS_FL_NODUMP), -EROFS);
	char buf[8];

	CHECK_OK(daxfs_read(fs, f, 0, 4, buf, &done));
	CHECK(done == 4 && !memcmp(buf, "data", 4));
	CHECK_OK(daxfs_iget(fs, g)); /* an open file ... */
	fsck_clean_apart(path);	     /* a reader may check it now */
	CHECK_OK(reader_open(path, &rpid, &rfd));
	CHECK_EQ(daxfs_remount(fs, false), -EBUSY); /* not while it reads */
	CHECK(strstr(pmd_errmsg(), "in use by"));
	CHECK_EQ(daxfs_write(fs, f, 0, 1, "x", &done), -EROFS);
	reader_end(rpid, rfd);
	CHECK_EQ(region_sum(path), sum);

	/* read-only -> read-write */
	CHECK_OK(daxfs_remount(fs, false));
	CHECK_EQ(le32_to_cpu(core_super(path).state), DAXFS_STATE_INUSE);
	CHECK_OK(daxfs_write(fs, f, 4, 4, "more", &done));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "g")); /* ... unlinked: an orphan */
	CHECK_OK(daxfs_getattr(fs, g, &a));
	CHECK_OK(daxfs_remount(fs, true));
	daxfs_iput(fs, g, 1); /* closed while read-only: stays an orphan */
	CHECK_OK(daxfs_getattr(fs, g, &a));
	CHECK_OK(daxfs_remount(fs, false)); /* freed now */
	CHECK_EQ(daxfs_getattr(fs, g, &a), -ENOENT);
	CHECK_OK(daxfs_close(&fs));
	CHECK_EQ(le32_to_cpu(core_super(path).state), DAXFS_STATE_CLEAN);
	core_fsck_clean(path);

	/* opened read-only, then read-write */
	CHECK_OK(daxfs_open(path, DAXFS_O_RDONLY, &fs));
	CHECK(daxfs_readonly(fs)); /* though the region is open for writing */
	CHECK_EQ(daxfs_write(fs, f, 0, 1, "x", &done), -EROFS);
	CHECK_OK(daxfs_remount(fs, false));
	CHECK(!daxfs_readonly(fs));
	CHECK_OK(daxfs_write(fs, f, 0, 1, "D", &done));
	CHECK_OK(daxfs_close(&fs));
	fs = core_open(path);
	CHECK_OK(daxfs_read(fs, f, 0, 8, buf, &done));
	CHECK(done == 8 && !memcmp(buf, "Datamore", 8));
	CHECK_OK(daxfs_close(&fs));

	/* a region without write permission opens read-only and stays so */
	if (geteuid() != 0) {
		chmod(path, 0444);
		CHECK_OK(daxfs_open(path, DAXFS_O_RDONLY, &fs));
		CHECK_EQ(daxfs_remount(fs, false), -EROFS);
		CHECK_OK(daxfs_close(&fs));
		chmod(path, 0644);
	}
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
