/* SPDX-License-Identifier: MIT */
/*
 * test_core_badblocks - the core and the emulated bad sectors (issue 13):
 *  1. every block the allocator hands out (file data, small and aligned,
 *     extent and directory blocks) has its sectors cleared through the
 *     hook of daxfs_set_badblocks() before use, and nothing else is;
 *  2. fsck with a list names the file, its byte range and the sectors of
 *     a bad block in the file, and exits 4; without the list it is clean;
 *  3. fsck names metadata on bad sectors too: the inode table's blocks,
 *     and the directory and extent blocks with their inode and path.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "test_core_util.h"
#include "units.h"

static uint8_t *cleared; /* bit per block of the region */
static uint64_t nclears;
/* bad: the sectors of blocks [bad_from, bad_to) but the first one's first */
static uint64_t bad_from = UINT64_MAX, bad_to;

static bool t_check(void *ctx, uint64_t off, uint64_t len)
{
	(void)ctx;
	return bad_from != UINT64_MAX && off < bad_to * 4096 && off + len > bad_from * 4096 + 512;
}

/* fsck_with_bad - run fsck -n -v with the list above into @out; its exit code */
static int fsck_with_bad(const char *path, const struct daxfs_badblocks *bb, char *out, size_t len)
{
	FILE *f = fmemopen(out, len - 1, "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = f, .bad = bb, .verbose = true};
	int rc;

	CHECK(f);
	memset(out, 0, len);
	rc = daxfs_fsck(path, &o);
	fclose(f);
	printf("%s", out);
	return rc;
}

/* expect - @out must hold the line made of @fmt */
static void expect(const char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expect(const char *out, const char *fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (!strstr(out, want)) {
		fprintf(stderr, "fsck's report lacks \"%s\"\n", want);
		CHECK(strstr(out, want));
	}
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
	bad_from = w.first_pblk + 2; /* file bytes 8192..12287, its 2nd sector */
	bad_to = bad_from + 1;
	static char out[65536];
	int rc = fsck_with_bad(path, &bb, out, sizeof(out));

	CHECK_EQ(rc, DAXFS_FSCK_UNCORRECTED);
	expect(out, "file /d/small (inode %llu): bytes 8192..12287 are on bad sectors %llu..%llu",
	       (unsigned long long)a.ino, (unsigned long long)bad_from * 8 + 1,
	       (unsigned long long)bad_from * 8 + 7);

	/* 3: the inode table's first block, then every block past the bitmap */
	struct daxfs_dsuper sb;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	close(fd);
	bad_from = sb.itable_blk;
	bad_to = bad_from + 1;
	CHECK_EQ(fsck_with_bad(path, &bb, out, sizeof(out)), DAXFS_FSCK_UNCORRECTED);
	expect(out, "BAD SECTORS: inode table blocks %llu..%llu are on bad sectors %llu..%llu",
	       (unsigned long long)bad_from, (unsigned long long)bad_from,
	       (unsigned long long)bad_from * 8 + 1, (unsigned long long)bad_from * 8 + 7);
	bad_from = sb.data_blk;
	bad_to = sb.total_blocks;
	CHECK_EQ(fsck_with_bad(path, &bb, out, sizeof(out)), DAXFS_FSCK_UNCORRECTED);
	CHECK(strstr(out, "BAD SECTORS: directory block "));
	CHECK(strstr(out, "(/d) is on bad sectors"));
	expect(out, "BAD SECTORS: extent block ");
	expect(out, "of inode %llu (/big) is on bad sectors", (unsigned long long)big.ino);
	expect(out, "BAD SECTORS: file /big (inode %llu): bytes 0..", (unsigned long long)big.ino);
	/* without the list it is clean */
	core_fsck_clean(path);
	unlink(path);
	free(buf);
	free(cleared);
	return 0;
}
