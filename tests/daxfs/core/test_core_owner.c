/* SPDX-License-Identifier: MIT */
/*
 * test_core_owner - from a failing block to its owner (issue 17, memory
 * failure):
 *  1. every data block of every file (small blocks, 2 MiB chunks, sparse
 *     windows, a file in a subdirectory) is named by daxfs_owner_of() with
 *     its inode and file offset, from the record (no scan); metadata and
 *     free blocks are told apart; a path names the file;
 *  2. the record follows the blocks: truncated blocks are free, blocks
 *     reused by another file name the new owner, an unlinked open file
 *     has no path;
 *  3. reopened, the record is built from the extents and answers again;
 *  4. with owner functions (a front end's descriptors) the core records
 *     there instead, frees its own map, and still checks what it is told:
 *     a lying record costs a scan, never a wrong answer;
 *  5. real descriptors of 2 MiB (ondemand, memdesc): a file that grows a
 *     chunk in pieces owns the areas it fills whole, so they answer
 *     without a scan;
 *  6. the reverse map on owner-measure's filesystem (half the space in
 *     8 MiB files, a quarter in 16 KiB files, one extent each) plus a
 *     file's last possible block (16 TiB - 4 KiB): every block answered
 *     from the map, which stays within 1/64 of a memmap (64 B per 4 KiB)
 *     and gives the small files' memory back when they go.
 */
#include <sys/stat.h>

#include "pfn.h"
#include "test_core_util.h"
#include "units.h"

#define REGION (64 * MiB)
#define NBLK (REGION / 4096)

struct blkmap {
	uint64_t ino[NBLK], off[NBLK]; /* what the test knows each block holds */
};

static struct blkmap *known;

static int note_cb(void *ctx, const struct daxfs_map *m)
{
	uint64_t ino = *(uint64_t *)ctx;

	if (m->region_off == DAXFS_HOLE)
		return 0;
	for (uint64_t k = 0; k < m->len / 4096; k++) {
		known->ino[m->region_off / 4096 + k] = ino;
		known->off[m->region_off / 4096 + k] = m->file_off + k * 4096;
	}
	return 0;
}

static void learn(struct daxfs *fs, uint64_t ino)
{
	CHECK_OK(daxfs_extent_map(fs, ino, note_cb, &ino));
}

/* every block the test knows is named right; returns how many were scanned for */
static uint64_t check_all(struct daxfs *fs)
{
	uint64_t files = 0, scans = 0;

	for (uint64_t b = 0; b < NBLK; b++) {
		struct daxfs_owner o;

		CHECK_OK(daxfs_owner_of(fs, b * 4096 + 100, &o));
		if (!known->ino[b]) {
			CHECK(o.kind != DAXFS_OWNER_FILE);
			continue;
		}
		if (o.kind != DAXFS_OWNER_FILE || o.ino != known->ino[b] || o.off != known->off[b])
			fprintf(stderr, "block %llu: kind %d ino %llu off %llu, want %llu %llu\n",
				(unsigned long long)b, o.kind, (unsigned long long)o.ino,
				(unsigned long long)o.off, (unsigned long long)known->ino[b],
				(unsigned long long)known->off[b]);
		CHECK_EQ(o.kind, DAXFS_OWNER_FILE);
		CHECK_EQ(o.ino, known->ino[b]);
		CHECK_EQ(o.off, known->off[b]);
		files++;
		scans += !o.recorded;
	}
	printf("%llu file blocks named, %llu by a scan\n", (unsigned long long)files,
	       (unsigned long long)scans);
	CHECK(files > 0);
	return scans;
}

/* a front end's descriptors: an owner per block, and a switch to lie */
static struct {
	uint64_t ino[NBLK], off[NBLK];
	uint64_t sets;
	bool lie;
} desc;

static void d_set(void *ctx, uint64_t pblk, uint64_t n, uint64_t ino, uint64_t off)
{
	(void)ctx;
	CHECK(pblk + n <= NBLK);
	for (uint64_t k = 0; k < n; k++) {
		desc.ino[pblk + k] = ino;
		desc.off[pblk + k] = ino ? off + k * 4096 : 0;
	}
	desc.sets++;
}

static int d_find(void *ctx, uint64_t pblk, uint64_t *ino, uint64_t *off)
{
	(void)ctx;
	if (pblk >= NBLK || !desc.ino[pblk])
		return -ENOENT;
	*ino = desc.lie ? DAXFS_ROOT_INO : desc.ino[pblk];
	*off = desc.off[pblk];
	return 0;
}

int main(void)
{
	const char *path = core_mkfs("owner", REGION, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr a, big, dir, c, e, g6;
	uint8_t *buf = calloc(1, 3 * MiB);
	struct daxfs_owner o;
	char p[256];
	size_t done;

	known = calloc(1, sizeof(*known));
	CHECK(buf && known);
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "a", 0644, 0, 0, &a));
	CHECK_OK(daxfs_write(fs, a.ino, 0, 20 * KiB, buf, &done));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "big", 0644, 0, 0, &big));
	CHECK_OK(daxfs_write(fs, big.ino, 0, 3 * MiB, buf, &done));
	for (uint64_t k = 2; k < 12; k++) /* sparse windows: extent blocks too */
		CHECK_OK(daxfs_write(fs, big.ino, k * HUGE_SIZE + 8192, 4096, buf, &done));
	CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, "d", 0755, 0, 0, &dir));
	CHECK_OK(daxfs_create(fs, dir.ino, "c", 0644, 0, 0, &c));
	CHECK_OK(daxfs_write(fs, c.ino, 4096, 8192, buf, &done));
	learn(fs, a.ino);
	learn(fs, big.ino);
	learn(fs, c.ino);

	/* 1 */
	CHECK_EQ(check_all(fs), 0);
	CHECK_OK(daxfs_owner_of(fs, 0, &o));
	CHECK_EQ(o.kind, DAXFS_OWNER_META); /* the superblock */
	CHECK_EQ(daxfs_owner_of(fs, REGION, &o), -ERANGE);
	CHECK_OK(daxfs_owner_of(fs, REGION - 4096, &o)); /* the last block: free */
	CHECK_EQ(o.kind, DAXFS_OWNER_FREE);
	CHECK(daxfs_owner_map_bytes(fs) > 0);
	CHECK(daxfs_owner_map_bytes(fs) < REGION / 4096 * 64 / 64); /* < 1/64 of a memmap */
	CHECK_OK(daxfs_ino_path(fs, c.ino, p, sizeof(p)));
	CHECK(!strcmp(p, "/d/c"));
	CHECK_OK(daxfs_ino_path(fs, big.ino, p, sizeof(p)));
	CHECK(!strcmp(p, "/big"));
	CHECK_OK(daxfs_ino_path(fs, DAXFS_ROOT_INO, p, sizeof(p)));
	CHECK(!strcmp(p, "/"));
	CHECK_EQ(daxfs_ino_path(fs, c.ino, p, 4), -ENAMETOOLONG);

	/* 2: a's blocks are freed, then taken by e */
	uint64_t a_first = UINT64_MAX;

	for (uint64_t b = 0; b < NBLK; b++) {
		if (known->ino[b] == a.ino) {
			if (a_first == UINT64_MAX)
				a_first = b;
			known->ino[b] = 0;
		}
	}
	CHECK_OK(daxfs_setattr(fs, a.ino, &(struct daxfs_attr){.size = 0}, DAXFS_SET_SIZE, &a));
	CHECK_OK(daxfs_owner_of(fs, a_first * 4096, &o));
	CHECK_EQ(o.kind, DAXFS_OWNER_FREE);
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "e", 0644, 0, 0, &e));
	CHECK_OK(daxfs_write(fs, e.ino, 0, 20 * KiB, buf, &done));
	learn(fs, e.ino);
	CHECK_EQ(known->ino[a_first], e.ino); /* reused, as the allocator works */
	CHECK_EQ(check_all(fs), 0);
	CHECK_OK(daxfs_iget(fs, e.ino));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "e"));
	CHECK_EQ(daxfs_ino_path(fs, e.ino, p, sizeof(p)), -ENOENT);
	CHECK_OK(daxfs_owner_of(fs, a_first * 4096, &o)); /* still its data while open */
	CHECK_EQ(o.ino, e.ino);
	daxfs_iput(fs, e.ino, 1);
	for (uint64_t b = 0; b < NBLK; b++)
		if (known->ino[b] == e.ino)
			known->ino[b] = 0;
	CHECK_OK(daxfs_owner_of(fs, a_first * 4096, &o));
	CHECK_EQ(o.kind, DAXFS_OWNER_FREE);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);

	/* 3: built again from the extents */
	fs = core_open(path);
	CHECK_EQ(check_all(fs), 0);

	/* 4: the front end's descriptors keep the owners */
	daxfs_set_owner_ops(fs, &(struct daxfs_owner_ops){d_set, d_find, NULL});
	CHECK_EQ(daxfs_owner_map_bytes(fs), 0);
	CHECK(desc.sets > 0);
	for (uint64_t b = 0; b < NBLK; b++)
		CHECK_EQ(desc.ino[b], known->ino[b]);
	CHECK_EQ(check_all(fs), 0);
	CHECK_OK(daxfs_write(fs, big.ino, 20 * HUGE_SIZE, 4096, buf, &done));
	learn(fs, big.ino);
	for (uint64_t b = 0; b < NBLK; b++)
		CHECK_EQ(desc.ino[b], known->ino[b]);
	desc.lie = true; /* every answer points at the root: checked, then scanned */
	CHECK(check_all(fs) > 0);
	desc.lie = false;
	daxfs_set_owner_ops(fs, NULL);
	CHECK(daxfs_owner_map_bytes(fs) > 0);
	CHECK_EQ(check_all(fs), 0);

	/* 5 */
	struct pmr_region *r = daxfs_region(fs);
	struct daxfs_owner_ops ops;
	struct pfn_range *range;
	static const enum desc_mode modes[] = {DESC_ONDEMAND, DESC_MEMDESC};
	static const char *const names[] = {"g0", "g1"};

	CHECK_OK(pfn_range_register(pmr_addr(r), pmr_size(r), PFN_KIND_PMEM, DESC_PFN, &range));
	CHECK_EQ(daxfs_owner_ops_desc(range, &ops), -EOPNOTSUPP);
	pfn_range_unregister(&range);
	for (int m = 0; m < 2; m++) {
		struct daxfs_attr g;
		uint64_t nblk = 0;

		CHECK_OK(pfn_range_register(pmr_addr(r), pmr_size(r), PFN_KIND_PMEM, modes[m],
					    &range));
		CHECK_OK(daxfs_owner_ops_desc(range, &ops));
		daxfs_set_owner_ops(fs, &ops);
		CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, names[m], 0644, 0, 0, &g));
		for (uint64_t off = 0; off < 4 * MiB; off += 256 * KiB)
			CHECK_OK(daxfs_write(fs, g.ino, off, 256 * KiB, buf, &done));
		learn(fs, g.ino);
		for (uint64_t b = 0; b < NBLK; b++) {
			bool whole = true; /* does g hold b's whole chunk? */

			if (known->ino[b] != g.ino)
				continue;
			for (uint64_t k = b - b % 512; k < b - b % 512 + 512; k++)
				whole = whole && known->ino[k] == g.ino;
			CHECK_OK(daxfs_owner_of(fs, b * 4096, &o));
			CHECK_EQ(o.ino, g.ino);
			CHECK_EQ(o.off, known->off[b]);
			if (whole && !o.recorded)
				fprintf(stderr, "%s: block %llu (file block %llu) not recorded\n",
					names[m], (unsigned long long)b,
					(unsigned long long)known->off[b] / 4096);
			CHECK(o.recorded || !whole);
			nblk += whole;
		}
		/* the first 2 MiB went to small blocks (the file was small then) */
		CHECK(nblk >= 512);
		check_all(fs); /* small files share areas: scanned, still right */
		daxfs_set_owner_ops(fs, NULL);
		pfn_range_unregister(&range);
	}
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);

	/* 6 */
	unlink(path);
	path = core_mkfs("owner-layout", REGION, 0);
	fs = core_open(path);
	memset(known, 0, sizeof(*known));
	uint64_t nbig = REGION / 2 / (8 * MiB), nsmall = REGION / 4 / (16 * KiB), full, after;

	for (uint64_t f = 0; f < nbig + nsmall; f++) {
		bool is_big = f < nbig;
		uint64_t len = is_big ? 8 * MiB : 16 * KiB, io = is_big ? MiB : 4 * KiB;

		snprintf(p, sizeof(p), "f%llu", (unsigned long long)f);
		CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, p, 0644, 0, 0, &g6));
		for (uint64_t off = 0; off < len; off += io)
			CHECK_OK(daxfs_write(fs, g6.ino, off, io, buf, &done));
		learn(fs, g6.ino);
	}
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "last", 0644, 0, 0, &g6));
	CHECK_OK(daxfs_write(fs, g6.ino, DAXFS_FILE_SIZE_MAX - 4096, 4096, buf, &done));
	learn(fs, g6.ino);
	full = daxfs_owner_map_bytes(fs);
	printf("owner-measure's layout: map %llu bytes for %llu KiB of memmap (%.5f)\n",
	       (unsigned long long)full, (unsigned long long)(NBLK * 64 / KiB),
	       (double)full / (double)(NBLK * 64));
	CHECK(full * 64 <= NBLK * 64);
	CHECK_EQ(check_all(fs), 0);
	for (uint64_t f = nbig; f < nbig + nsmall; f++) {
		snprintf(p, sizeof(p), "f%llu", (unsigned long long)f);
		CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, p));
	}
	after = daxfs_owner_map_bytes(fs);
	printf("small files removed: map %llu bytes\n", (unsigned long long)after);
	CHECK(after * 8 < full);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	free(buf);
	free(known);
	return 0;
}
