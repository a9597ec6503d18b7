/* SPDX-License-Identifier: MIT */
/*
 * test_core_badblocks - the core and the emulated bad sectors (issue 13):
 *  1. every block the allocator hands out (file data, small and aligned,
 *     extent and directory blocks) has its sectors cleared through the
 *     hook of daxfs_set_badblocks() before use, and nothing else is;
 *  2. fsck with a list names the file, its byte range and the sectors of
 *     a bad block in the file, and exits 4; without the list it is clean.
 */
#include <sys/stat.h>

#include "test_core_util.h"
#include "units.h"

static uint8_t *cleared; /* bit per block of the region */
static uint64_t nclears, bad_blk = UINT64_MAX;

static bool t_check(void *ctx, uint64_t off, uint64_t len)
{
	(void)ctx;
	return bad_blk != UINT64_MAX && off < (bad_blk + 1) * 4096 && off + len > bad_blk * 4096 + 512;
}

static int t_clear(void *ctx, uint64_t off, uint64_t len)
{
	(void)ctx;
	CHECK(off % 4096 == 0 && len % 4096 == 0 && len);
	for (uint64_t b = off / 4096; b < (off + len) / 4096; b++)
		cleared[b / 8] |= (uint8_t)(1u << (b % 8));
	nclears++;
	return 0;
}

struct walk {
	uint64_t blocks, uncleared, first_pblk;
};

static int ext_cb(void *ctx, const struct daxfs_map *m)
{
	struct walk *w = ctx;

	if (!w->blocks)
		w->first_pblk = m->region_off / 4096;
	for (uint64_t b = m->region_off / 4096; b < (m->region_off + m->len) / 4096; b++) {
		w->blocks++;
		w->uncleared += !(cleared[b / 8] & (1u << (b % 8)));
	}
	return 0;
}

int main(void)
{
	const char *path = core_mkfs("badblocks", 64 * MiB, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_badblocks bb = {t_check, t_clear, NULL};
	struct daxfs_attr a, big;
	struct walk w = {0};
	uint8_t *buf = calloc(1, 3 * MiB);
	uint64_t cleared_blocks = 0;
	size_t done;

	cleared = calloc(64 * MiB / 4096 / 8, 1);
	CHECK(buf && cleared);
	daxfs_set_badblocks(fs, &bb);
	CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, "d", 0755, 0, 0, &a));
	CHECK_OK(daxfs_create(fs, a.ino, "small", 0644, 0, 0, &a));
	CHECK_OK(daxfs_write(fs, a.ino, 0, 20 * KiB, buf, &done));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "big", 0644, 0, 0, &big));
	CHECK_OK(daxfs_write(fs, big.ino, 0, 3 * MiB, buf, &done));
	/* sparse: 20 windows with one block each (extents past the inline 7) */
	for (uint64_t k = 2; k < 22; k++)
		CHECK_OK(daxfs_write(fs, big.ino, k * HUGE_SIZE, 4096, buf, &done));
	CHECK_OK(daxfs_extent_map(fs, a.ino, ext_cb, &w));
	CHECK_OK(daxfs_extent_map(fs, big.ino, ext_cb, &w));
	CHECK_EQ(w.uncleared, 0);
	CHECK_EQ(w.blocks, 5 + 768 + 20);
	/* data + extent block + two directory roots, nothing more */
	for (uint64_t b = 0; b < 64 * MiB / 4096; b++)
		cleared_blocks += (cleared[b / 8] >> (b % 8)) & 1;
	printf("%llu blocks cleared in %llu calls for %llu data blocks\n",
	       (unsigned long long)cleared_blocks, (unsigned long long)nclears,
	       (unsigned long long)w.blocks);
	CHECK_EQ(cleared_blocks, w.blocks + 3);
	daxfs_set_badblocks(fs, NULL);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);

	/* fsck names the file and the bytes on a bad block of "small" */
	memset(&w, 0, sizeof(w));
	fs = core_open(path);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "d", &a));
	CHECK_OK(daxfs_lookup(fs, a.ino, "small", &a));
	CHECK_OK(daxfs_extent_map(fs, a.ino, ext_cb, &w));
	CHECK_OK(daxfs_close(&fs));
	bad_blk = w.first_pblk + 2; /* file bytes 8192..12287, its 2nd sector */
	char out[8192] = "";
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = f, .bad = &bb};
	int rc = daxfs_fsck(path, &o);

	fclose(f);
	printf("%s", out);
	CHECK_EQ(rc, DAXFS_FSCK_UNCORRECTED);
	char want[200];

	snprintf(want, sizeof(want),
		 "file /d/small (inode %llu): bytes 8192..12287 are on bad sectors %llu..%llu",
		 (unsigned long long)a.ino, (unsigned long long)bad_blk * 8 + 1,
		 (unsigned long long)bad_blk * 8 + 7);
	CHECK(strstr(out, want));
	free(buf);
	free(cleared);
	return 0;
}
