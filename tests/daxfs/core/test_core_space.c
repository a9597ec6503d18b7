/* SPDX-License-Identifier: MIT */
/*
 * test_core_space - space use of sparse and growing files (issue 13):
 *  1. 100 writes of 4 KiB at a 2 MiB stride use about 100 blocks, not 100
 *     chunks; statfs counts the rest of the reserved chunks as free, and
 *     the reservations end when the file goes;
 *  2. a file of 2 MiB + 4 KiB written in 64 KiB appends uses 513 blocks;
 *  3. a window of a large file written 4 KiB at a time, in random order,
 *     with small files created meanwhile, still ends as one aligned 2 MiB
 *     extent (the small files stay out of its reserved chunk), also when
 *     the filesystem was reopened half way;
 *  4. sparse writes leave the last free chunks to large writes, which
 *     still get whole aligned chunks; and under space pressure reserved
 *     chunks are given back: sparse files reserving all they may do not
 *     stop small files from using all of the free space;
 *  5. a random create/write/truncate/unlink workload uses at most 1.1x the
 *     4 KiB pages its files hold (what tmpfs would use), and fsck is clean.
 */
#include <sys/stat.h>

#include "test_core_util.h"
#include "units.h"

#define BLK 4096u

static uint8_t page[BLK];

static uint64_t free_blocks(struct daxfs *fs)
{
	struct daxfs_statfs st;

	CHECK_OK(daxfs_statfs(fs, &st));
	return st.free_blocks;
}

static uint64_t create(struct daxfs *fs, const char *name)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a));
	return a.ino;
}

static void put(struct daxfs *fs, uint64_t ino, uint64_t off, size_t len, const void *buf)
{
	size_t done;

	CHECK_OK(daxfs_write(fs, ino, off, len, buf, &done));
	CHECK_EQ(done, len);
}

/* bytes of [from, to) of the file that sit in 2 MiB-aligned, 2 MiB-long runs */
struct frag {
	uint64_t from, to, aligned;
};

static int frag_cb(void *ctx, const struct daxfs_map *m)
{
	struct frag *f = ctx;
	uint64_t s = align_up(m->file_off, HUGE_SIZE), e = align_down(m->file_off + m->len, HUGE_SIZE);

	if (s < f->from)
		s = f->from;
	if (e > f->to)
		e = f->to;
	if ((m->region_off - m->file_off) % HUGE_SIZE == 0 && e > s)
		f->aligned += e - s;
	return 0;
}

static uint64_t aligned_bytes(struct daxfs *fs, uint64_t ino, uint64_t from, uint64_t to)
{
	struct frag f = {from, to, 0};

	CHECK_OK(daxfs_extent_map(fs, ino, frag_cb, &f));
	return f.aligned;
}

static void sparse_stride(const char *path)
{
	struct daxfs *fs = core_open(path);
	struct daxfs_statfs st;
	struct daxfs_attr a;
	uint64_t free0 = free_blocks(fs), ino = create(fs, "sparse");

	for (uint64_t k = 0; k < 100; k++)
		put(fs, ino, k * HUGE_SIZE, BLK, page);
	CHECK_OK(daxfs_statfs(fs, &st));
	CHECK_OK(daxfs_getattr(fs, ino, &a));
	printf("sparse stride: %llu blocks used, st_blocks %llu, %llu chunks reserved\n",
	       (unsigned long long)(free0 - st.free_blocks), (unsigned long long)a.blocks,
	       (unsigned long long)st.resv_chunks);
	/* 100 data blocks, one extent block (100 extents), the root's first node */
	CHECK(free0 - st.free_blocks <= 102);
	CHECK(a.blocks <= 101 * 8);
	CHECK(st.resv_chunks >= 99);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "sparse"));
	CHECK_OK(daxfs_statfs(fs, &st));
	CHECK_EQ(st.free_blocks, free0);
	CHECK_EQ(st.resv_chunks, 0);
	CHECK_OK(daxfs_close(&fs));
}

static void grow_past_2m(const char *path)
{
	struct daxfs *fs = core_open(path);
	uint64_t free0 = free_blocks(fs), ino = create(fs, "grow");
	struct daxfs_attr a;
	uint8_t *buf = calloc(1, 64 * KiB);

	CHECK(buf);
	for (uint64_t off = 0; off < HUGE_SIZE; off += 64 * KiB)
		put(fs, ino, off, 64 * KiB, buf);
	put(fs, ino, HUGE_SIZE, BLK, page);
	CHECK_OK(daxfs_getattr(fs, ino, &a));
	printf("2 MiB + 4 KiB file: %llu blocks used, st_blocks %llu\n",
	       (unsigned long long)(free0 - free_blocks(fs)), (unsigned long long)a.blocks);
	CHECK_EQ(a.blocks, 513 * 8);
	/* and the root directory's first node */
	CHECK(free0 - free_blocks(fs) <= 514);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "grow"));
	CHECK_OK(daxfs_close(&fs));
	free(buf);
}

/* write window 1 of a large file in random 4 KiB pieces; reopen half way if @reopen */
static void window_fills(const char *path, bool reopen)
{
	struct daxfs *fs = core_open(path);
	uint64_t ino = create(fs, reopen ? "win_reopen" : "win");
	unsigned order[512];
	char name[32];

	for (unsigned k = 0; k < 512; k++)
		order[k] = k;
	srand(reopen ? 7 : 3);
	for (unsigned k = 511; k > 0; k--) {
		unsigned j = (unsigned)rand() % (k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	put(fs, ino, 0, BLK, page); /* window 0: small blocks */
	for (unsigned k = 0; k < 512; k++) {
		put(fs, ino, HUGE_SIZE + (uint64_t)order[k] * BLK, BLK, page);
		if (k % 16 == 0) {
			/* small files meanwhile: they must not take the window's places */
			snprintf(name, sizeof(name), "s%d-%u", reopen, k);
			put(fs, create(fs, name), 0, BLK, page);
		}
		if (reopen && k == 200) {
			struct daxfs_statfs st;

			CHECK_OK(daxfs_close(&fs));
			fs = core_open(path);
			/* the half-filled window's chunk is reserved again */
			CHECK_OK(daxfs_statfs(fs, &st));
			CHECK_EQ(st.resv_chunks, 1);
		}
	}
	CHECK_EQ(aligned_bytes(fs, ino, HUGE_SIZE, 2 * HUGE_SIZE), HUGE_SIZE);
	CHECK_OK(daxfs_close(&fs));
}

/*
 * sparse writes stop reserving before the last free chunks go: a large
 * write after them still gets whole aligned chunks
 */
static void chunks_for_large(void)
{
	const char *path = core_mkfs("space-large", 64 * MiB, 0);
	struct daxfs *fs = core_open(path);
	uint64_t sparse = create(fs, "sparse"), large = create(fs, "large");
	struct daxfs_statfs st;
	uint8_t *buf = calloc(1, 4 * MiB);

	CHECK(buf);
	for (uint64_t k = 1; k <= 40; k++)
		put(fs, sparse, k * HUGE_SIZE, BLK, page);
	CHECK_OK(daxfs_statfs(fs, &st));
	printf("after 40 sparse windows: %llu chunks reserved, %llu wholly free\n",
	       (unsigned long long)st.resv_chunks, (unsigned long long)st.free_huge);
	CHECK(st.free_huge >= 2);
	put(fs, large, 0, 4 * MiB, buf);
	CHECK_EQ(aligned_bytes(fs, large, 0, 4 * MiB), 4 * MiB);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	unlink(path);
	free(buf);
}

/* sparse files reserve all they may, then small files fill the space */
static void pressure(void)
{
	const char *path = core_mkfs("space-pressure", 64 * MiB, 0);
	struct daxfs *fs = core_open(path);
	struct daxfs_statfs st;
	struct daxfs_stats stats;
	uint64_t ino = create(fs, "reserver"), written = 0, before, nres, resv;
	uint8_t *buf = calloc(1, 64 * KiB);
	char name[32];
	int err = 0;

	CHECK(buf);
	CHECK_OK(daxfs_statfs(fs, &st));
	before = st.free_blocks;
	nres = st.free_huge;
	for (uint64_t k = 1; k <= nres; k++)
		put(fs, ino, k * HUGE_SIZE, BLK, page);
	CHECK_OK(daxfs_statfs(fs, &st));
	/* reservations stopped at the floor (a sixteenth), small blocks after */
	CHECK(st.free_huge <= 64 * MiB / HUGE_SIZE / 16);
	CHECK(st.resv_chunks + 64 * MiB / HUGE_SIZE / 16 + 1 >= nres);
	resv = st.resv_chunks;
	/* the reserver's blocks (and an extent block) are all that is used */
	CHECK(before - st.free_blocks <= nres + 2);
	for (int k = 0; !err; k++) {
		struct daxfs_attr a;
		size_t done = 0;

		snprintf(name, sizeof(name), "fill%05d", k);
		err = daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a);
		if (!err)
			err = daxfs_write(fs, a.ino, 0, 64 * KiB, buf, &done);
		written += done;
		CHECK(!err || err == -ENOSPC);
	}
	daxfs_get_stats(fs, &stats);
	printf("pressure: %llu chunks reserved by %llu sparse writes, then %llu of %llu free "
	       "blocks written by small files; %llu reservations given back\n",
	       (unsigned long long)resv, (unsigned long long)nres,
	       (unsigned long long)(written / BLK), (unsigned long long)(before - nres),
	       (unsigned long long)stats.resv_broken);
	/* all but extent and directory blocks and the last partial file */
	CHECK(written / BLK >= before - nres - before / 50 - 16);
	CHECK(stats.resv_broken > 0);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	unlink(path);
	free(buf);
}

/* 5: random workload against a model of the 4 KiB pages each file holds */
#define NFILES 64
#define FILE_PAGES 8192 /* 32 MiB */

struct mfile {
	uint64_t ino;
	uint64_t size;
	uint8_t held[FILE_PAGES / 8];
};

static uint64_t model_pages(const struct mfile *f)
{
	uint64_t n = 0;

	for (int k = 0; k < NFILES; k++)
		if (f[k].ino)
			for (unsigned b = 0; b < FILE_PAGES / 8; b++)
				n += (uint64_t)__builtin_popcount(f[k].held[b]);
	return n;
}

static void random_workload(void)
{
	const char *path = core_mkfs("space-random", 512 * MiB, 0);
	struct daxfs *fs = core_open(path);
	struct mfile *f = calloc(NFILES, sizeof(*f));
	uint8_t *buf = malloc(256 * KiB);
	uint64_t free0 = free_blocks(fs), worst_used = 0, worst_model = 0;
	unsigned seed = 12345;
	char name[32];

	CHECK(f && buf);
	memset(buf, 0x3c, 256 * KiB);
	for (int op = 0; op < 6000; op++) {
		int k = (int)(rand_r(&seed) % NFILES), what = (int)(rand_r(&seed) % 10);
		struct mfile *m = &f[k];

		snprintf(name, sizeof(name), "r%02d", k);
		if (!m->ino) {
			m->ino = create(fs, name);
			m->size = 0;
			memset(m->held, 0, sizeof(m->held));
		}
		if (what < 7) {
			/* write: mostly small, at random places of up to 32 MiB */
			uint64_t len = 1 + rand_r(&seed) % (what < 5 ? 16 * KiB : 256 * KiB);
			uint64_t off = rand_r(&seed) % (FILE_PAGES * (uint64_t)BLK - len);

			put(fs, m->ino, off, len, buf);
			for (uint64_t p = off / BLK; p <= (off + len - 1) / BLK; p++)
				m->held[p / 8] |= (uint8_t)(1u << (p % 8));
			if (off + len > m->size)
				m->size = off + len;
		} else if (what < 9) {
			/* truncate to a random smaller size */
			struct daxfs_attr in = {.size = m->size ? rand_r(&seed) % m->size : 0};

			CHECK_OK(daxfs_setattr(fs, m->ino, &in, DAXFS_SET_SIZE, NULL));
			m->size = in.size;
			for (uint64_t p = (in.size + BLK - 1) / BLK; p < FILE_PAGES; p++)
				m->held[p / 8] &= (uint8_t) ~(1u << (p % 8));
		} else {
			CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, name));
			m->ino = 0;
		}
		if (op % 500 == 499) {
			uint64_t used = free0 - free_blocks(fs), model = model_pages(f);

			if (used * worst_model > worst_used * model || !worst_model) {
				worst_used = used;
				worst_model = model;
			}
			/* metadata: extent blocks and the root directory */
			if (used > model + model / 10 + 64) {
				fprintf(stderr, "op %d: %llu blocks used for %llu pages held\n", op,
					(unsigned long long)used, (unsigned long long)model);
				CHECK(used <= model + model / 10 + 64);
			}
		}
	}
	printf("random workload: worst %llu blocks used for %llu pages held (%.3fx)\n",
	       (unsigned long long)worst_used, (unsigned long long)worst_model,
	       worst_model ? (double)worst_used / (double)worst_model : 0.0);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	free(buf);
	free(f);
}

/* argv[1], if given, runs one part: sparse, grow, window, large, pressure or random */
int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	const char *path = core_mkfs("space", 256 * MiB, 0);

	memset(page, 0x5a, sizeof(page));
	if (!*only || !strcmp(only, "sparse"))
		sparse_stride(path);
	if (!*only || !strcmp(only, "grow"))
		grow_past_2m(path);
	if (!*only || !strcmp(only, "window")) {
		window_fills(path, false);
		window_fills(path, true);
	}
	core_fsck_clean(path);
	unlink(path);
	if (!*only || !strcmp(only, "large"))
		chunks_for_large();
	if (!*only || !strcmp(only, "pressure"))
		pressure();
	if (!*only || !strcmp(only, "random"))
		random_workload();
	return 0;
}
