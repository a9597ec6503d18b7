/* SPDX-License-Identifier: MIT */
/*
 * test_core_data - file data in the daxfs core: write/read round trips,
 * holes, truncate down/up (no stale bytes), fallocate (keep size, punch
 * hole, zero range), SEEK_DATA/SEEK_HOLE, bmap with allocation, extent
 * maps, pins deferring frees, xattrs, and orphans: an unlinked file held by
 * a reference survives until the last iput, and one left by a "crash"
 * (no close) is freed at the next open; daxfs_file_size(), daxfs_pin_size().
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_core_util.h"
#include "units.h"

static uint64_t mkfile(struct daxfs *fs, const char *name)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_create(fs, 1, name, 0644, 0, 0, &a));
	return a.ino;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(k * 31 + seed);
}

static void check_read(struct daxfs *fs, uint64_t ino, uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t *got = malloc(n);
	size_t done;

	CHECK(got);
	CHECK_OK(daxfs_read(fs, ino, off, n, got, &done));
	CHECK_EQ(done, n);
	CHECK(!memcmp(got, want, n));
	free(got);
}

static bool all_zero(struct daxfs *fs, uint64_t ino, uint64_t off, size_t n)
{
	uint8_t *got = malloc(n);
	size_t done;
	bool z = true;

	CHECK(got);
	CHECK_OK(daxfs_read(fs, ino, off, n, got, &done));
	CHECK_EQ(done, n);
	for (size_t k = 0; k < n; k++)
		z &= got[k] == 0;
	free(got);
	return z;
}

static int count_ext(void *ctx, const struct daxfs_map *m)
{
	(*(int *)ctx)++;
	return 0;
}

int main(void)
{
	const char *path = core_mkfs("data", 64 << 20, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a, in;
	struct daxfs_statfs st0, st1;
	size_t done;
	uint64_t res;
	size_t big = 5 * MiB + 123;
	uint8_t *buf = malloc(big);

	CHECK(buf);
	pattern(buf, big, 1);

	/* write/read, sizes, short read at EOF */
	uint64_t f = mkfile(fs, "f");

	CHECK_OK(daxfs_write(fs, f, 0, 10000, buf, &done));
	CHECK_EQ(done, 10000);
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.size, 10000);
	CHECK_EQ(a.blocks, 3 * 8);
	check_read(fs, f, 0, buf, 10000);
	uint8_t tmp[100];

	CHECK_OK(daxfs_read(fs, f, 9950, 100, tmp, &done));
	CHECK_EQ(done, 50);
	CHECK_OK(daxfs_read(fs, f, 20000, 100, tmp, &done));
	CHECK_EQ(done, 0);
	CHECK_EQ(daxfs_read(fs, 1, 0, 10, tmp, &done), -EISDIR);

	/* daxfs_file_size: the size getattr reports, regular files only */
	CHECK_OK(daxfs_file_size(fs, f, &res));
	CHECK_EQ(res, 10000);
	CHECK_EQ(daxfs_file_size(fs, 1, &res), -EISDIR);
	CHECK_OK(daxfs_mkdir(fs, 1, "sz.d", 0755, 0, 0, &a));
	CHECK_EQ(daxfs_file_size(fs, a.ino, &res), -EISDIR);
	CHECK_OK(daxfs_mknod(fs, 1, "sz.fifo", S_IFIFO | 0644, 0, 0, 0, &a));
	CHECK_EQ(daxfs_file_size(fs, a.ino, &res), -EINVAL);
	CHECK_EQ(daxfs_file_size(fs, 987654, &res), -ENOENT);
	/* daxfs_pin_size: the same answers, and a pin only on success */
	res = 0;
	CHECK_OK(daxfs_pin_size(fs, f, &res));
	CHECK_EQ(res, 10000);
	CHECK_OK(daxfs_unpin(fs, f));
	CHECK_EQ(daxfs_unpin(fs, f), -ENOENT);
	CHECK_EQ(daxfs_pin_size(fs, a.ino, &res), -EINVAL);
	CHECK_EQ(daxfs_unpin(fs, a.ino), -ENOENT);
	CHECK_EQ(daxfs_pin_size(fs, 1, &res), -EISDIR);
	CHECK_EQ(daxfs_unpin(fs, 1), -ENOENT);

	/* truncate down mid-block then up: the tail reads as zeros */
	in.size = 5000;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_SIZE, &a));
	CHECK_EQ(a.size, 5000);
	CHECK_EQ(a.blocks, 2 * 8);
	in.size = 12000;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_SIZE, &a));
	check_read(fs, f, 0, buf, 5000);
	CHECK(all_zero(fs, f, 5000, 7000));

	/* sparse write far away: hole in between; SEEK_DATA/SEEK_HOLE */
	CHECK_OK(daxfs_write(fs, f, 1 * MiB, 4096, buf, &done));
	CHECK(all_zero(fs, f, 12000, 1 * MiB - 12000));
	CHECK_OK(daxfs_lseek_data(fs, f, 0, SEEK_HOLE, &res));
	CHECK_EQ(res, 8192);
	CHECK_OK(daxfs_lseek_data(fs, f, 8192, SEEK_DATA, &res));
	CHECK_EQ(res, 1 * MiB);
	CHECK_OK(daxfs_lseek_data(fs, f, 1 * MiB + 10, SEEK_DATA, &res));
	CHECK_EQ(res, 1 * MiB + 10);
	CHECK_OK(daxfs_lseek_data(fs, f, 1 * MiB, SEEK_HOLE, &res));
	CHECK_EQ(res, 1 * MiB + 4096);
	CHECK_EQ(daxfs_lseek_data(fs, f, 1 * MiB + 4096, SEEK_DATA, &res), -ENXIO);
	CHECK_EQ(daxfs_lseek_data(fs, f, 0, 7, &res), -EINVAL);

	/* fallocate: keep size, extend, punch, zero range, bad modes */
	CHECK_OK(daxfs_fallocate(fs, f, FALLOC_FL_KEEP_SIZE, 2 * MiB, 8192));
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.size, 1 * MiB + 4096);
	CHECK_OK(daxfs_fallocate(fs, f, 0, 0, 3 * MiB));
	CHECK_OK(daxfs_getattr(fs, f, &a));
	CHECK_EQ(a.size, 3 * MiB);
	CHECK(all_zero(fs, f, 2 * MiB, 8192));
	CHECK_OK(daxfs_write(fs, f, 0, 3 * MiB, buf, &done));
	CHECK_OK(daxfs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 64 * KiB));
	check_read(fs, f, 0, buf, 100);
	CHECK(all_zero(fs, f, 100, 64 * KiB));
	check_read(fs, f, 100 + 64 * KiB, buf + 100 + 64 * KiB, 3 * MiB - 100 - 64 * KiB);
	CHECK_OK(daxfs_lseek_data(fs, f, 8192, SEEK_DATA, &res));
	CHECK_EQ(res, 64 * KiB); /* blocks 1..15 were freed */
	CHECK_OK(daxfs_fallocate(fs, f, FALLOC_FL_ZERO_RANGE, 1 * MiB + 7, 5000));
	CHECK(all_zero(fs, f, 1 * MiB + 7, 5000));
	check_read(fs, f, 1 * MiB + 5007, buf + 1 * MiB + 5007, 1000);
	CHECK_EQ(daxfs_fallocate(fs, f, FALLOC_FL_PUNCH_HOLE, 0, 4096), -EINVAL);
	CHECK_EQ(daxfs_fallocate(fs, f, 0x40, 0, 4096), -EOPNOTSUPP);
	CHECK_EQ(daxfs_fallocate(fs, f, 0, 0, 0), -EINVAL);
	CHECK_EQ(daxfs_fallocate(fs, 1, 0, 0, 4096), -ENODEV);

	/* large file: 2 MiB windows are mapped by aligned 2 MiB extents */
	uint64_t g = mkfile(fs, "g");
	struct daxfs_map m;

	CHECK_OK(daxfs_write(fs, g, 0, big, buf, &done));
	CHECK_EQ(done, big);
	check_read(fs, g, 0, buf, big);
	CHECK_OK(daxfs_bmap(fs, g, 2 * MiB, 2 * MiB, 0, &m));
	CHECK_EQ(m.file_off, 2 * MiB);
	CHECK(m.len >= 2 * MiB);
	CHECK(m.region_off != DAXFS_HOLE);
	CHECK_EQ(m.region_off % (2 * MiB), 0);
	int next = 0;

	CHECK_OK(daxfs_extent_map(fs, g, count_ext, &next));
	CHECK(next >= 1 && next <= 3);

	/* bmap: holes, allocation, write_commit */
	uint64_t h = mkfile(fs, "h");

	CHECK_OK(daxfs_bmap(fs, h, 4096, 8192, 0, &m));
	CHECK_EQ(m.region_off, DAXFS_HOLE);
	CHECK_EQ(m.len, 8192);
	CHECK_OK(daxfs_bmap(fs, h, 4096, 8192, DAXFS_BMAP_ALLOC, &m));
	CHECK(m.region_off != DAXFS_HOLE);
	CHECK_EQ(m.file_off, 4096);
	CHECK(m.len >= 4096);
	memcpy((uint8_t *)pmr_addr(daxfs_region(fs)) + m.region_off, "hello", 5);
	pmr_persist(daxfs_region(fs), (uint8_t *)pmr_addr(daxfs_region(fs)) + m.region_off, 5);
	CHECK_OK(daxfs_write_commit(fs, h, 4096 + 5));
	CHECK_OK(daxfs_getattr(fs, h, &a));
	CHECK_EQ(a.size, 4101);
	CHECK_OK(daxfs_read(fs, h, 4096, 5, tmp, &done));
	CHECK(!memcmp(tmp, "hello", 5));

	/* pins: truncate while pinned defers the free until the unpin */
	CHECK_OK(daxfs_statfs(fs, &st0));
	CHECK_OK(daxfs_pin(fs, g));
	in.size = 0;
	CHECK_OK(daxfs_setattr(fs, g, &in, DAXFS_SET_SIZE, NULL));
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK_EQ(st1.free_blocks, st0.free_blocks);
	CHECK_OK(daxfs_unpin(fs, g));
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK(st1.free_blocks >= st0.free_blocks + big / 4096);
	CHECK_EQ(daxfs_unpin(fs, g), -ENOENT);

	/* xattrs */
	size_t sz;
	char list[256];

	CHECK_OK(daxfs_setxattr(fs, f, "user.a", "1234", 4, 0));
	CHECK_OK(daxfs_setxattr(fs, f, "user.b", "", 0, 0));
	CHECK_EQ(daxfs_setxattr(fs, f, "user.a", "x", 1, DAXFS_XATTR_CREATE), -EEXIST);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.c", "x", 1, DAXFS_XATTR_REPLACE), -ENODATA);
	CHECK_OK(daxfs_setxattr(fs, f, "user.a", "56", 2, DAXFS_XATTR_REPLACE));
	CHECK_OK(daxfs_getxattr(fs, f, "user.a", NULL, 0, &sz));
	CHECK_EQ(sz, 2);
	CHECK_EQ(daxfs_getxattr(fs, f, "user.a", tmp, 1, &sz), -ERANGE);
	CHECK_OK(daxfs_getxattr(fs, f, "user.a", tmp, sizeof(tmp), &sz));
	CHECK(!memcmp(tmp, "56", 2));
	CHECK_EQ(daxfs_getxattr(fs, f, "user.zz", tmp, sizeof(tmp), &sz), -ENODATA);
	CHECK_OK(daxfs_listxattr(fs, f, NULL, 0, &sz));
	CHECK_EQ(sz, 14);
	CHECK_OK(daxfs_listxattr(fs, f, list, sizeof(list), &sz));
	CHECK(!memcmp(list, "user.b\0user.a\0", 14) || !memcmp(list, "user.a\0user.b\0", 14));
	CHECK_EQ(daxfs_listxattr(fs, f, list, 3, &sz), -ERANGE);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.big", buf, DAXFS_XATTR_SIZE_MAX + 1, 0), -E2BIG);
	CHECK_OK(daxfs_setxattr(fs, f, "user.big", buf, 3000, 0));
	/* a second one no longer fits one block: the inode gets an index */
	CHECK_OK(daxfs_setxattr(fs, f, "user.big2", buf, 3000, 0));
	CHECK_OK(daxfs_removexattr(fs, f, "user.big2"));
	CHECK_OK(daxfs_removexattr(fs, f, "user.big"));
	CHECK_EQ(daxfs_removexattr(fs, f, "user.big"), -ENODATA);
	CHECK_EQ(daxfs_setxattr(fs, f, "", "x", 1, 0), -ERANGE);

	/* orphans: unlinked while referenced, freed at the last iput */
	uint64_t o = mkfile(fs, "orphan");

	CHECK_OK(daxfs_write(fs, o, 0, 100000, buf, &done));
	CHECK_OK(daxfs_iget(fs, o));
	CHECK_OK(daxfs_unlink(fs, 1, "orphan"));
	CHECK_OK(daxfs_getattr(fs, o, &a));
	CHECK_EQ(a.nlink, 0);
	check_read(fs, o, 0, buf, 100000);
	CHECK_OK(daxfs_statfs(fs, &st0));
	daxfs_iput(fs, o, 1);
	CHECK_EQ(daxfs_getattr(fs, o, NULL), -ENOENT);
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK_EQ(st1.free_blocks, st0.free_blocks + 25);
	CHECK_EQ(st1.free_inodes, st0.free_inodes + 1);

	/* persistence of data and xattrs */
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	check_read(fs, f, 0, buf, 100);
	CHECK_OK(daxfs_getxattr(fs, f, "user.a", tmp, sizeof(tmp), &sz));
	CHECK(!memcmp(tmp, "56", 2));

	/* orphan left by a crash (child exits without close) freed at open */
	struct daxfs_statfs before;

	CHECK_OK(daxfs_statfs(fs, &before));
	CHECK_OK(daxfs_close(&fs));
	pid_t pid = fork();

	if (pid == 0) {
		struct daxfs *cfs = core_open(path);
		uint64_t x = mkfile(cfs, "crash-orphan");
		size_t d;

		CHECK_OK(daxfs_write(cfs, x, 0, 50000, buf, &d));
		CHECK_OK(daxfs_iget(cfs, x));
		CHECK_OK(daxfs_unlink(cfs, 1, "crash-orphan"));
		_exit(0); /* no close: like a crash */
	}
	int status;

	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	{
		FILE *devnull = fopen("/dev/null", "w");
		struct daxfs_fsck_opts no = {.mode = DAXFS_FSCK_CHECK, .out = devnull};

		/* an orphan held at the crash is not an error */
		CHECK_EQ(daxfs_fsck(path, &no), 0);
		fclose(devnull);
	}
	fs = core_open(path);
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK_EQ(st1.free_inodes, before.free_inodes);
	CHECK_EQ(st1.free_blocks, before.free_blocks);
	CHECK_OK(daxfs_close(&fs));
	fs = core_open(path);
	CHECK_OK(daxfs_statfs(fs, &st0));
	CHECK_EQ(st0.free_blocks, st1.free_blocks);
	/* blocks whose free was deferred by a pin when the process died are
	 * recovered at the next open (the bitmap is rebuilt) */
	CHECK_OK(daxfs_statfs(fs, &before));
	CHECK_OK(daxfs_close(&fs));
	pid = fork();
	if (pid == 0) {
		struct daxfs *cfs = core_open(path);
		struct daxfs_attr ca, cin = {.size = 0};
		size_t d;

		CHECK_OK(daxfs_create(cfs, 1, "pinned", 0644, 0, 0, &ca));
		CHECK_OK(daxfs_write(cfs, ca.ino, 0, 3 * MiB, buf, &d));
		CHECK_OK(daxfs_pin(cfs, ca.ino));
		CHECK_OK(daxfs_setattr(cfs, ca.ino, &cin, DAXFS_SET_SIZE, NULL));
		CHECK_OK(daxfs_unlink(cfs, 1, "pinned"));
		_exit(0); /* crash with the pin held */
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	fs = core_open(path);
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK_EQ(st1.free_blocks, before.free_blocks);
	CHECK_EQ(st1.free_inodes, before.free_inodes);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	free(buf);
	return 0;
}
