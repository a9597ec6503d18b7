/* SPDX-License-Identifier: MIT */
/*
 * test_core_alloc - the allocator keeps 2 MiB alignment as the filesystem
 * ages, and small files stay small:
 *  1. 20,000 files of 4 KiB fit in a 1 GiB region (a sparse file on
 *     /dev/shm: only written blocks cost memory);
 *  2. after deleting every other small file (fragmenting the chunks they
 *     were packed in), large files still get every 2 MiB window mapped by a
 *     2 MiB-aligned extent, and fsck reports a clean image.
 */
#include <sys/stat.h>

#include "test_core_util.h"
#include "units.h"

struct frag {
	uint64_t total, aligned;
};

static int ext_cb(void *ctx, const struct daxfs_map *m)
{
	struct frag *f = ctx;
	uint64_t s = align_up(m->file_off, HUGE_SIZE),
		 e = align_down(m->file_off + m->len, HUGE_SIZE);

	f->total += m->len;
	if ((m->region_off - m->file_off) % HUGE_SIZE == 0 && e > s)
		f->aligned += e - s;
	return 0;
}

int main(void)
{
	const char *path = core_mkfs("alloc", 1 * GiB, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_statfs st0, st1;
	uint8_t page[4096];
	char name[32];
	size_t done;
	uint64_t *inos = calloc(20000, sizeof(*inos));

	CHECK(inos);
	memset(page, 0xab, sizeof(page));
	CHECK_OK(daxfs_statfs(fs, &st0));
	CHECK_OK(daxfs_mkdir(fs, 1, "small", 0755, 0, 0, NULL));
	uint64_t dir;
	struct daxfs_attr a;

	CHECK_OK(daxfs_lookup(fs, 1, "small", &a));
	dir = a.ino;
	for (int k = 0; k < 20000; k++) {
		snprintf(name, sizeof(name), "f%05d", k);
		CHECK_OK(daxfs_create(fs, dir, name, 0644, 0, 0, &a));
		inos[k] = a.ino;
		CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(page), page, &done));
		CHECK_EQ(done, sizeof(page));
	}
	CHECK_OK(daxfs_statfs(fs, &st1));
	/* 20,000 data blocks plus directory blocks: far less than 20,000 x 2 MiB */
	uint64_t used = st0.free_blocks - st1.free_blocks;

	CHECK(used >= 20000 && used < 20000 + 2000);
	printf("20000 x 4 KiB files use %llu blocks; %llu free 2 MiB chunks left\n",
	       (unsigned long long)used, (unsigned long long)st1.free_huge);

	/* age: delete every other file */
	for (int k = 0; k < 20000; k += 2) {
		snprintf(name, sizeof(name), "f%05d", k);
		CHECK_OK(daxfs_unlink(fs, dir, name));
	}
	/* a few small files again: they must fill the holes, not break chunks */
	CHECK_OK(daxfs_statfs(fs, &st0));
	for (int k = 0; k < 2000; k++) {
		snprintf(name, sizeof(name), "again%05d", k);
		CHECK_OK(daxfs_create(fs, dir, name, 0644, 0, 0, &a));
		CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(page), page, &done));
	}
	CHECK_OK(daxfs_statfs(fs, &st1));
	CHECK_EQ(st1.free_huge, st0.free_huge);

	/* large files: every 2 MiB window mapped by an aligned extent */
	size_t blen = 8 * MiB;
	uint8_t *buf = malloc(blen);

	CHECK(buf);
	memset(buf, 0x5a, blen);
	for (int k = 0; k < 8; k++) {
		struct frag fr = {0};

		snprintf(name, sizeof(name), "large%d", k);
		CHECK_OK(daxfs_create(fs, 1, name, 0644, 0, 0, &a));
		/* sequential 64 KiB appends, as an application would write */
		for (size_t off = 0; off < blen; off += 64 * KiB)
			CHECK_OK(daxfs_write(fs, a.ino, off, 64 * KiB, buf + off, &done));
		CHECK_OK(daxfs_extent_map(fs, a.ino, ext_cb, &fr));
		CHECK_EQ(fr.total, blen);
		/* the first window was written while the file was small */
		CHECK(fr.aligned >= blen - HUGE_SIZE);
	}
	free(buf);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	free(inos);
	return 0;
}
