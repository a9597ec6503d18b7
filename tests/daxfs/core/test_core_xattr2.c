/* SPDX-License-Identifier: MIT */
/*
 * test_core_xattr2 - many and large extended attributes: 1,500 small ones
 * on one inode and values from 0 to 64 KiB read back exactly, listxattr
 * lists each once, removexattr at that size, replacing a value by a smaller
 * or larger one, space given back when they go (also when the inode is
 * freed); a few small attributes keep the version 1 single block (no
 * XATTR2 feature), which later changes move under an index; a corrupt
 * block or value is -EIO for that call, fsck names it, fsck -y drops it.
 */
#include <sys/stat.h>

#include "test_core_util.h"

#define NSMALL 1500

static uint64_t free_blocks(struct daxfs *fs)
{
	struct daxfs_statfs st;

	CHECK_OK(daxfs_statfs(fs, &st));
	return st.free_blocks;
}

static void fill(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t k = 0; k < n; k++)
		buf[k] = (uint8_t)(k * 131 + seed * 7 + (k >> 8));
}

static void check_value(struct daxfs *fs, uint64_t ino, const char *name, size_t n, unsigned seed)
{
	static uint8_t want[DAXFS_XATTR_SIZE_MAX], got[DAXFS_XATTR_SIZE_MAX];
	size_t sz = 0;

	fill(want, n, seed);
	CHECK_OK(daxfs_getxattr(fs, ino, name, NULL, 0, &sz));
	CHECK_EQ(sz, n);
	CHECK_OK(daxfs_getxattr(fs, ino, name, got, sizeof(got), &sz));
	CHECK_EQ(sz, n);
	CHECK(!memcmp(got, want, n));
	if (n > 1)
		CHECK_EQ(daxfs_getxattr(fs, ino, name, got, n - 1, &sz), -ERANGE);
}

/* every user.attrN name of the list exactly once, and @expect of them */
static void check_list(struct daxfs *fs, uint64_t ino, int expect, int step)
{
	static char list[1 << 20];
	static uint8_t seen[NSMALL];
	size_t sz, off = 0;
	int n = 0;

	CHECK_OK(daxfs_listxattr(fs, ino, NULL, 0, &sz));
	CHECK(sz <= sizeof(list));
	CHECK_OK(daxfs_listxattr(fs, ino, list, sizeof(list), &sz));
	CHECK_EQ(daxfs_listxattr(fs, ino, list, sz - 1, &sz), -ERANGE);
	CHECK_OK(daxfs_listxattr(fs, ino, list, sizeof(list), &sz));
	memset(seen, 0, sizeof(seen));
	while (off < sz) {
		unsigned k;

		if (strncmp(list + off, "user.attr", 9)) {
			off += strlen(list + off) + 1;
			continue;
		}
		CHECK(sscanf(list + off, "user.attr%u", &k) == 1 && k < NSMALL);
		CHECK(k % step == 0);
		CHECK(!seen[k]);
		seen[k] = 1;
		n++;
		off += strlen(list + off) + 1;
	}
	CHECK_EQ(n, expect);
}

int main(void)
{
	const char *path = core_mkfs("xattr2", 64 << 20, 0);
	struct daxfs *fs = core_open(path);
	static uint8_t buf[DAXFS_XATTR_SIZE_MAX + 1];
	struct daxfs_attr a;
	char name[64], val[64];
	uint64_t f, g, free0;

	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "f", 0644, 0, 0, &a));
	f = a.ino;
	CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, "g", 0755, 0, 0, &a));
	g = a.ino;
	free0 = free_blocks(fs);

	/* a few small ones: the version 1 single block, no feature */
	CHECK_OK(daxfs_setxattr(fs, f, "user.one", "1", 1, 0));
	CHECK_OK(daxfs_setxattr(fs, f, "user.two", "22", 2, 0));
	CHECK_EQ(le32_to_cpu(core_super(path).feat_incompat) & DAXFS_FEAT_INCOMPAT_XATTR2, 0);
	CHECK_EQ(free_blocks(fs), free0 - 1);
	CHECK_OK(daxfs_removexattr(fs, f, "user.one"));
	CHECK_OK(daxfs_removexattr(fs, f, "user.two"));
	CHECK_EQ(free_blocks(fs), free0);

	/* many small ones */
	for (int k = 0; k < NSMALL; k++) {
		snprintf(name, sizeof(name), "user.attr%u", k);
		snprintf(val, sizeof(val), "value-%u", k * 7);
		CHECK_OK(daxfs_setxattr(fs, f, name, val, strlen(val), DAXFS_XATTR_CREATE));
	}
	CHECK(le32_to_cpu(core_super(path).feat_incompat) & DAXFS_FEAT_INCOMPAT_XATTR2);
	CHECK_EQ(daxfs_setxattr(fs, f, "user.attr7", "x", 1, DAXFS_XATTR_CREATE), -EEXIST);
	for (int k = 0; k < NSMALL; k++) {
		size_t sz;
		char got[64];

		snprintf(name, sizeof(name), "user.attr%u", k);
		snprintf(val, sizeof(val), "value-%u", k * 7);
		CHECK_OK(daxfs_getxattr(fs, f, name, got, sizeof(got), &sz));
		CHECK_EQ(sz, strlen(val));
		CHECK(!memcmp(got, val, sz));
	}
	check_list(fs, f, NSMALL, 1);
	/* remove the odd ones, replace some even ones */
	for (int k = 1; k < NSMALL; k += 2) {
		snprintf(name, sizeof(name), "user.attr%u", k);
		CHECK_OK(daxfs_removexattr(fs, f, name));
		CHECK_EQ(daxfs_removexattr(fs, f, name), -ENODATA);
	}
	CHECK_OK(daxfs_setxattr(fs, f, "user.attr10", "longer value now", 16,
				DAXFS_XATTR_REPLACE));
	check_list(fs, f, NSMALL / 2, 2);

	/* large values, 0 .. 64 KiB, next to the small ones */
	static const size_t sizes[] = {0, 1, 2048, 2049, 3800, 4096, 4097, 30000, 65535, 65536};

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(name, sizeof(name), "user.big%u", k);
		fill(buf, sizes[k], k);
		CHECK_OK(daxfs_setxattr(fs, g, name, buf, sizes[k], 0));
		fill(buf, sizes[k], k + 100);
		CHECK_OK(daxfs_setxattr(fs, f, name, buf, sizes[k], 0));
	}
	CHECK_EQ(daxfs_setxattr(fs, f, "user.toobig", buf, DAXFS_XATTR_SIZE_MAX + 1, 0), -E2BIG);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(name, sizeof(name), "user.big%u", k);
		check_value(fs, g, name, sizes[k], k);
		check_value(fs, f, name, sizes[k], k + 100);
	}
	/* replace a large value by a small one and back */
	CHECK_OK(daxfs_setxattr(fs, g, "user.big9", "tiny", 4, DAXFS_XATTR_REPLACE));
	CHECK_OK(daxfs_getxattr(fs, g, "user.big9", buf, sizeof(buf), NULL));
	CHECK(!memcmp(buf, "tiny", 4));
	fill(buf, 50000, 9);
	CHECK_OK(daxfs_setxattr(fs, g, "user.big9", buf, 50000, DAXFS_XATTR_REPLACE));
	check_value(fs, g, "user.big9", 50000, 9);

	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	check_list(fs, f, NSMALL / 2, 2);
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(name, sizeof(name), "user.big%u", k);
		check_value(fs, f, name, sizes[k], k + 100);
	}

	/* everything removed: every block comes back */
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(name, sizeof(name), "user.big%u", k);
		CHECK_OK(daxfs_removexattr(fs, g, name));
	}
	CHECK_OK(daxfs_getattr(fs, g, &a));
	CHECK_EQ(a.blocks, 0);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "f"));
	CHECK_EQ(free_blocks(fs), free0);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);

	/* corruption: a value block and an entry block */
	fs = core_open(path);
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "h", 0644, 0, 0, &a));
	fill(buf, 10000, 3);
	CHECK_OK(daxfs_setxattr(fs, a.ino, "user.v", buf, 10000, 0));
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "user.attr%u", k);
		CHECK_OK(daxfs_setxattr(fs, a.ino, name, "v", 1, 0));
	}
	uint64_t h = a.ino, used = 0;

	CHECK_OK(daxfs_getattr(fs, h, &a));
	used = a.blocks / 8;
	CHECK(used >= 3 + 3); /* index, entry blocks, 3 value blocks */
	CHECK_OK(daxfs_close(&fs));

	struct pmr_region *r;
	struct daxfs_dsuper sb;

	CHECK_OK(pmr_open(path, 0, &r));
	memcpy(&sb, pmr_addr(r), sizeof(sb));
	const struct daxfs_dinode *di =
		(const void *)((uint8_t *)pmr_addr(r) +
			       le64_to_cpu(sb.itable_blk) * 4096 + (h - 1) * DAXFS_INODE_SIZE);
	const struct daxfs_xattridx *x =
		(const void *)((uint8_t *)pmr_addr(r) + le64_to_cpu(di->xattr_blk) * 4096);
	CHECK_EQ(le32_to_cpu(x->h.magic), DAXFS_XIDX_MAGIC);
	uint64_t eb = le64_to_cpu(x->blk[0]);
	const struct daxfs_xattrblk *xb = (const void *)((uint8_t *)pmr_addr(r) + eb * 4096);
	const struct daxfs_xentry *e = (const void *)(xb + 1);
	uint64_t vb;

	CHECK(e->flags & DAXFS_XE_EXTERNAL); /* user.v came first */
	memcpy(&vb, e->data + e->namelen + 8, 8);
	((uint8_t *)pmr_addr(r))[le64_to_cpu(vb) * 4096 + 17] ^= 0xff;
	pmr_persist(r, (uint8_t *)pmr_addr(r) + le64_to_cpu(vb) * 4096, 4096);
	pmr_close(&r);

	fs = core_open(path);
	CHECK_EQ(daxfs_getxattr(fs, h, "user.v", buf, sizeof(buf), NULL), -EIO);
	CHECK_EQ(daxfs_setxattr(fs, h, "user.w", "x", 1, 0), -EROFS); /* errors=remount-ro */
	CHECK_OK(daxfs_getxattr(fs, h, "user.attr5", buf, sizeof(buf), NULL)); /* others fine */
	CHECK_OK(daxfs_close(&fs));
	{
		FILE *devnull = fopen("/dev/null", "w");
		struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = devnull};

		CHECK_EQ(daxfs_fsck(path, &o), DAXFS_FSCK_UNCORRECTED);
		o.mode = DAXFS_FSCK_REPAIR;
		CHECK_EQ(daxfs_fsck(path, &o), DAXFS_FSCK_CORRECTED);
		fclose(devnull);
	}
	core_fsck_clean(path);

	/* a corrupt entry block: -EIO, not a crash */
	fs = core_open(path);
	CHECK_EQ(daxfs_getxattr(fs, h, "user.attr5", buf, sizeof(buf), NULL), -ENODATA);
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "user.attr%u", k);
		CHECK_OK(daxfs_setxattr(fs, h, name, "v", 1, 0));
	}
	CHECK_OK(daxfs_close(&fs));
	CHECK_OK(pmr_open(path, 0, &r));
	memcpy(&sb, pmr_addr(r), sizeof(sb));
	di = (const void *)((uint8_t *)pmr_addr(r) + le64_to_cpu(sb.itable_blk) * 4096 +
			    (h - 1) * DAXFS_INODE_SIZE);
	x = (const void *)((uint8_t *)pmr_addr(r) + le64_to_cpu(di->xattr_blk) * 4096);
	eb = le64_to_cpu(x->blk[0]);
	((uint8_t *)pmr_addr(r))[eb * 4096 + 100] ^= 0x55;
	pmr_persist(r, (uint8_t *)pmr_addr(r) + eb * 4096, 4096);
	pmr_close(&r);
	/* errors=continue: each call fails on its own (remount-ro would stop all) */
	CHECK_OK(daxfs_open(path, DAXFS_O_ERRORS_CONTINUE, &fs));
	CHECK_EQ(daxfs_getxattr(fs, h, "user.attr5", buf, sizeof(buf), NULL), -EIO);
	CHECK_EQ(daxfs_listxattr(fs, h, (char *)buf, sizeof(buf), NULL), -EIO);
	CHECK_EQ(daxfs_setxattr(fs, h, "user.new", "x", 1, 0), -EIO);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "h")); /* freed, its xattrs leaked */
	CHECK_OK(daxfs_close(&fs));
	{
		FILE *devnull = fopen("/dev/null", "w");
		struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_REPAIR, .out = devnull};

		CHECK_EQ(daxfs_fsck(path, &o), DAXFS_FSCK_CORRECTED);
		fclose(devnull);
	}
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
