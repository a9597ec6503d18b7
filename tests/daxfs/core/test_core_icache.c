/* SPDX-License-Identifier: MIT */
/*
 * test_core_icache - what the core keeps in memory about inodes must never
 * stand in for a check of the media.
 *
 * What was seen: one create through the mount checked its directory's inode
 * checksum nine times (di_get from the lookup, the tree walks of the
 * lookup, the insert and the search, the parent lock, getattr), 14 inode
 * checksums per create in all. di_get() now keeps, per thread, the last
 * images that passed; an inode whose bytes are still such an image is not
 * checksummed again. And the in-memory inode table had 4096 buckets whatever
 * the number of inodes the kernel kept looked up (chains of 12 with 50,000).
 *
 * Checked here:
 *  - the daemon's requests for one create compute at most 3 inode checksums
 *    (14 before);
 *  - a stray write to an inode that was checked (and remembered) a moment
 *    before is found by the next getattr: -EIO, the checksum named;
 *  - an image remembered from one filesystem is not taken for another: the
 *    second's copy of it (its symlink block outside the smaller region) is
 *    refused; every open has a key of its own (a later open may get the
 *    address of struct daxfs an earlier one had);
 *  - the in-memory table grows with the inodes looked up (5000 here) and
 *    finds every one of them, and empties when they are put.
 */
#include <sys/stat.h>

#include "core.h"
#include "test_core_util.h"

static char path_a[512], path_b[512];

static void cleanup(void)
{
	unlink(path_a);
	unlink(path_b);
}

static void mkfs_at(char *path, size_t len, const char *tag, uint64_t size)
{
	struct pmr_region *r;
	struct daxfs_mkfs_opts o = {.label = "icache", .inodes = 8192};

	test_path(path, len, tag);
	unlink(path);
	CHECK_OK(pmr_create(path, size, 0, &r));
	CHECK_OK(daxfs_mkfs(r, &o));
	pmr_close(&r);
}

static struct daxfs_dinode *home_inode(struct daxfs *fs, uint64_t ino)
{
	return dx_ptr(fs, di_off(fs, ino));
}

/* what the daemon does for one create through the mount (LOOKUP of the
 * new name, CREATE with the owner taken from the parent, GETATTR of the
 * parent, RELEASE) checks each inode checksum about once */
static void checks_per_create(void)
{
	enum { N = 200 };
	struct daxfs *fs;
	struct daxfs_stats s0, s1;
	struct daxfs_attr a, p;

	mkfs_at(path_a, sizeof(path_a), "icache-a", 16 << 20);
	CHECK_OK(daxfs_open(path_a, DAXFS_O_OPENREFS, &fs));
	daxfs_get_stats(fs, &s0);
	for (int k = 0; k < N; k++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", k);
		CHECK_EQ(daxfs_lookup(fs, DAXFS_ROOT_INO, name, &a), -ENOENT);
		CHECK_OK(daxfs_getattr(fs, DAXFS_ROOT_INO, &p));
		CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a));
		CHECK_OK(daxfs_open_ref(fs, a.ino, 1));
		CHECK_OK(daxfs_getattr(fs, DAXFS_ROOT_INO, &p));
		CHECK_EQ(p.nlink, 2);
		daxfs_open_put(fs, a.ino);
	}
	daxfs_get_stats(fs, &s1);
	printf("inode checksums per create: %.2f\n",
	       (double)(s1.inode_checks - s0.inode_checks) / N);
	/* 14 before the memo: the directory's inode nine times */
	CHECK(s1.inode_checks - s0.inode_checks <= 3 * N);
	CHECK(s1.inode_checks > s0.inode_checks); /* the counter counts */
	/* the close drops the lookups left */
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path_a);
}

/* a stray write after the inode was checked and remembered */
static void stray_write(void)
{
	struct daxfs *fs;
	struct daxfs_attr a, g;

	mkfs_at(path_a, sizeof(path_a), "icache-a", 16 << 20);
	CHECK_OK(daxfs_open(path_a, 0, &fs));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "f", 0644, 0, 0, &a));
	for (int k = 0; k < 3; k++) {
		CHECK_OK(daxfs_getattr(fs, a.ino, &g));
		CHECK_EQ(g.size, 0);
	}
	/* another writer changes the size field and nothing else */
	home_inode(fs, a.ino)->size = cpu_to_le64(12345);
	CHECK_EQ(daxfs_getattr(fs, a.ino, &g), -EIO);
	CHECK(strstr(pmd_errmsg(), "checksum") != NULL);
	CHECK_OK(daxfs_close(&fs));
}

/* an image remembered from one open is not taken for another */
static void other_open(void)
{
	static char buf[1 << 20];
	struct daxfs *fs, *fsb;
	struct daxfs_attr f, s, g;
	uint64_t serial;
	size_t n;

	mkfs_at(path_a, sizeof(path_a), "icache-a", 64 << 20);
	mkfs_at(path_b, sizeof(path_b), "icache-b", 16 << 20);

	/* in A, a symlink whose block lies beyond the end of B */
	CHECK_OK(daxfs_open(path_a, 0, &fs));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "fill", 0644, 0, 0, &f));
	memset(buf, 0x33, sizeof(buf));
	for (uint64_t off = 0; off < (32 << 20); off += sizeof(buf)) {
		CHECK_OK(daxfs_write(fs, f.ino, off, sizeof(buf), buf, &n));
		CHECK_EQ(n, sizeof(buf));
	}
	CHECK_OK(daxfs_symlink(fs, DAXFS_ROOT_INO, "l", "target", 0, 0, &s));
	CHECK(le64_to_cpu(home_inode(fs, s.ino)->symlink.blk) > (16 << 20) / BLK_SIZE);
	CHECK_OK(daxfs_getattr(fs, s.ino, &g)); /* checked, and remembered */

	/* B gets A's inode bytes at the same number (the checksum is seeded
	 * with the number only, so it passes; the block number does not) */
	CHECK_OK(daxfs_open(path_b, 0, &fsb));
	memcpy(home_inode(fsb, s.ino), home_inode(fs, s.ino), sizeof(struct daxfs_dinode));
	CHECK_EQ(daxfs_getattr(fsb, s.ino, &g), -EIO);
	CHECK(strstr(pmd_errmsg(), "out of range") != NULL);
	CHECK_OK(daxfs_getattr(fs, s.ino, &g)); /* A's own is still fine */
	CHECK_OK(daxfs_close(&fsb));

	/* the memo's key is the open, never an address a later open may get:
	 * every open has a number of its own */
	serial = fs->serial;
	CHECK_OK(daxfs_close(&fs));
	for (int k = 0; k < 3; k++) {
		CHECK_OK(daxfs_open(path_a, 0, &fs));
		CHECK(fs->serial > serial);
		serial = fs->serial;
		CHECK_OK(daxfs_getattr(fs, s.ino, &g));
		CHECK_OK(daxfs_close(&fs));
	}
}

/* the in-memory table grows with the inodes the kernel keeps looked up */
static void many_lookups(void)
{
	enum { N = 5000 };
	static uint64_t inos[N];
	struct daxfs *fs;
	size_t base;

	mkfs_at(path_a, sizeof(path_a), "icache-a", 64 << 20);
	CHECK_OK(daxfs_open(path_a, DAXFS_O_OPENREFS, &fs));
	base = fs->icache_count;
	for (int k = 0; k < N; k++) {
		char name[32];
		struct daxfs_attr a;

		snprintf(name, sizeof(name), "f%d", k);
		CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a));
		CHECK_OK(daxfs_iget(fs, a.ino));
		inos[k] = a.ino;
	}
	CHECK(fs->icache_count >= N);
	CHECK(fs->icache_size >= fs->icache_count);
	for (int k = 0; k < N; k++) {
		struct dxi *i;

		pthread_mutex_lock(&fs->icache_lock);
		i = dxi_find_locked(fs, inos[k]);
		CHECK(i != NULL && i->ino == inos[k] && i->nlookup == 1);
		pthread_mutex_unlock(&fs->icache_lock);
	}
	for (int k = 0; k < N; k++)
		daxfs_iput(fs, inos[k], 1);
	CHECK_EQ(fs->icache_count, base);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path_a);
}

int main(void)
{
	atexit(cleanup);
	checks_per_create();
	stray_write();
	other_open();
	many_lookups();
	printf("test_core_icache: ok\n");
	return 0;
}
