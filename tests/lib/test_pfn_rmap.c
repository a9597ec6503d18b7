/* SPDX-License-Identifier: MIT */
/*
 * test_pfn_rmap - pfn mode's reverse map (lib/pfn_rmap.h):
 *  1. the contract: extents per 2 MiB chunk, found at every frame, refused
 *     outside the map or over an owned extent, cut and split by removal,
 *     across chunk boundaries and in a last, partial chunk;
 *  2. merges: an extent that continues its neighbour before or after it
 *     (frames, owner and offset) joins it, one that fills the gap between
 *     two joins both; no merge when the offsets or owners differ;
 *  3. the packing's limits: owners within the bit width of the map's
 *     max_id (at most 32 bits) and 4 KiB-aligned offsets within the bits
 *     left are narrow (8 bytes); a bigger owner, a pointer, an odd offset
 *     or one past the limit is kept wide (its own record), found right,
 *     split and merged right; a narrow extent never takes in frames past
 *     the limit; max_id 0 makes every extent wide; offsets that would wrap
 *     2^64 are refused;
 *  4. memory: an empty chunk costs nothing but its pointer (every removal
 *     gives the memory back, to the byte), arrays grow and shrink with
 *     little slack, and a layout like owner-measure's filesystem (a quarter
 *     of the chunks full of 16 KiB files, half held by 2 MiB extents) stays
 *     within 1/64 of the memmap;
 *  5. against a model: a fixed sequence of random adds and removes, every
 *     frame checked and the extent count equal to the model's runs (the map
 *     is always fully merged).
 */
#include <errno.h>

#include "memmap.h"
#include "pfn_rmap.h"
#include "test.h"
#include "units.h"

#define CH FRAMES_PER_HUGE

static char ptr_a, ptr_b;

static void *id(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

static void expect(struct pfn_rmap *m, pfn_t pfn, void *owner, uint64_t index)
{
	void *o = NULL;
	uint64_t i = 0;

	CHECK_OK(pfn_rmap_find(m, pfn, &o, &i));
	CHECK(o == owner);
	CHECK_EQ(i, index);
}

static void expect_none(struct pfn_rmap *m, pfn_t pfn)
{
	void *o;
	uint64_t i;

	CHECK_EQ(pfn_rmap_find(m, pfn, &o, &i), -ENOENT);
}

static struct pfn_rmap_stats stats(struct pfn_rmap *m)
{
	struct pfn_rmap_stats st;

	pfn_rmap_stats(m, &st);
	CHECK_EQ(st.bytes, pfn_rmap_bytes(m));
	CHECK(st.wide <= st.extents && st.extents <= st.slots);
	return st;
}

/* 1 */
static void test_contract(void)
{
	uint64_t nr = 64 * CH + 100; /* the last chunk is partial */
	struct pfn_rmap *m;
	void *o;
	uint64_t i;

	CHECK_OK(pfn_rmap_new(4096, nr, 16, &m));
	CHECK_EQ(pfn_rmap_find(m, 4096, &o, &i), -ENOENT);
	CHECK_EQ(pfn_rmap_find(m, 4095, &o, &i), -ERANGE);
	CHECK_EQ(pfn_rmap_find(m, 4096 + nr, &o, &i), -ERANGE);
	CHECK_EQ(pfn_rmap_add(m, 4096 + nr - 1, 2, id(1), 0), -ERANGE);
	CHECK_EQ(pfn_rmap_add(m, 4096, 1, NULL, 0), -EINVAL);
	CHECK_EQ(pfn_rmap_remove(m, 4095, 1), -ERANGE);
	/* the last frame of the partial chunk */
	CHECK_OK(pfn_rmap_add(m, 4096 + nr - 1, 1, id(9), 0));
	expect(m, 4096 + nr - 1, id(9), 0);
	CHECK_OK(pfn_rmap_remove(m, 4096 + nr - 1, 1));
	/* A: 4 MiB over two chunks in two continuing adds */
	CHECK_OK(pfn_rmap_add(m, 4096, 300, id(1), 0));
	CHECK_OK(pfn_rmap_add(m, 4096 + 300, 724, id(1), 300 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 2); /* one per chunk */
	expect(m, 4096 + 700, id(1), 700 * FRAME_SIZE);
	expect(m, 4096 + CH - 1, id(1), (CH - 1) * FRAME_SIZE);
	expect(m, 4096 + CH, id(1), CH * FRAME_SIZE);
	expect(m, 4096 + 1023, id(1), 1023 * FRAME_SIZE);
	CHECK_EQ(pfn_rmap_add(m, 4096 + 10, 1, id(2), 0), -EEXIST);
	CHECK_EQ(pfn_rmap_add(m, 4096 + 1023, 2, id(2), 0), -EEXIST);
	/* B: small extents in the third chunk, overlaps refused */
	CHECK_OK(pfn_rmap_add(m, 4096 + 1024 + 100, 10, id(2), 0));
	CHECK_OK(pfn_rmap_add(m, 4096 + 1024 + 50, 10, id(2), 40960));
	CHECK_EQ(pfn_rmap_add(m, 4096 + 1024 + 55, 50, id(1), 0), -EEXIST);
	CHECK_EQ(pfn_rmap_add(m, 4096 + 1024 + 40, 11, id(1), 0), -EEXIST);
	expect(m, 4096 + 1024 + 55, id(2), 40960 + 5 * FRAME_SIZE);
	expect_none(m, 4096 + 1024 + 60);
	/* the middle of A's first chunk goes: a split */
	CHECK_OK(pfn_rmap_remove(m, 4096 + 100, 10));
	expect_none(m, 4096 + 105);
	expect(m, 4096 + 110, id(1), 110 * FRAME_SIZE);
	expect(m, 4096 + 99, id(1), 99 * FRAME_SIZE);
	CHECK_EQ(stats(m).extents, 5);
	/* removal across a chunk boundary cuts the ends of two extents */
	CHECK_OK(pfn_rmap_remove(m, 4096 + 500, 24));
	expect_none(m, 4096 + 511);
	expect_none(m, 4096 + 512);
	expect_none(m, 4096 + 523);
	expect(m, 4096 + 499, id(1), 499 * FRAME_SIZE);
	expect(m, 4096 + 524, id(1), 524 * FRAME_SIZE);
	/* removal of free frames and of a chunk that holds nothing is no error */
	CHECK_OK(pfn_rmap_remove(m, 4096 + 1024 + 200, 100));
	CHECK_OK(pfn_rmap_remove(m, 4096 + 10 * CH, CH));
	CHECK_OK(pfn_rmap_remove(m, 4096 + 1024, 512));
	expect_none(m, 4096 + 1024 + 105);
	pfn_rmap_delete(&m);
	CHECK(m == NULL);
	pfn_rmap_delete(&m); /* twice is harmless */
}

/* 2 */
static void test_merge(void)
{
	struct pfn_rmap *m;

	CHECK_OK(pfn_rmap_new(0, 4 * CH, 16, &m));
	/* after: [10, 20) then [20, 30) */
	CHECK_OK(pfn_rmap_add(m, 10, 10, id(5), 100 * FRAME_SIZE));
	CHECK_OK(pfn_rmap_add(m, 20, 10, id(5), 110 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 1);
	/* before: [5, 10) */
	CHECK_OK(pfn_rmap_add(m, 5, 5, id(5), 95 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 1);
	expect(m, 5, id(5), 95 * FRAME_SIZE);
	expect(m, 29, id(5), 119 * FRAME_SIZE);
	/* a gap filled: [40, 50) and [60, 70), then [50, 60) joins all three */
	CHECK_OK(pfn_rmap_add(m, 40, 10, id(6), 0));
	CHECK_OK(pfn_rmap_add(m, 60, 10, id(6), 20 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 3);
	CHECK_OK(pfn_rmap_add(m, 50, 10, id(6), 10 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 2);
	expect(m, 69, id(6), 29 * FRAME_SIZE);
	/* no merge: the offset does not continue, or another owner */
	CHECK_OK(pfn_rmap_add(m, 30, 5, id(5), 0));
	CHECK_OK(pfn_rmap_add(m, 70, 5, id(7), 30 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 4);
	expect(m, 30, id(5), 0);
	expect(m, 70, id(7), 30 * FRAME_SIZE);
	/* never across a chunk: a whole chunk plus one frame is two extents */
	CHECK_OK(pfn_rmap_add(m, 2 * CH, CH + 1, id(8), 0));
	CHECK_EQ(stats(m).extents, 6);
	/* the whole chunk in one extent of 512 frames (the field's maximum) */
	expect(m, 2 * CH + 511, id(8), 511 * FRAME_SIZE);
	expect(m, 3 * CH, id(8), CH * FRAME_SIZE);
	CHECK_OK(pfn_rmap_remove(m, 2 * CH, CH));
	CHECK_EQ(stats(m).extents, 5);
	/* a hole cut in a merged extent and filled again: whole again */
	CHECK_OK(pfn_rmap_remove(m, 12, 3));
	CHECK_EQ(stats(m).extents, 6);
	CHECK_OK(pfn_rmap_add(m, 12, 3, id(5), 102 * FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 5);
	expect(m, 14, id(5), 104 * FRAME_SIZE);
	pfn_rmap_delete(&m);
}

/* 3 */
static void test_limits(void)
{
	const uint64_t lim = UINT64_C(1) << (45 - 10 + 12); /* narrow offsets end here */
	struct pfn_rmap *m;
	struct pfn_rmap_stats st;

	/* max_id 1000: 10 bits of owner, 35 of offset in frames */
	CHECK_OK(pfn_rmap_new(0, 8 * CH, 1000, &m));
	/* narrow: the largest 10-bit owner, an offset whose last frame is the last narrow one */
	CHECK_OK(pfn_rmap_add(m, 0, 10, id(1023), lim - 10 * FRAME_SIZE));
	CHECK_EQ(stats(m).wide, 0);
	expect(m, 9, id(1023), lim - FRAME_SIZE);
	expect(m, 0, id(1023), lim - 10 * FRAME_SIZE);
	/* the next frame continues it but is past the limit: a wide extent of its own */
	CHECK_OK(pfn_rmap_add(m, 10, 1, id(1023), lim));
	st = stats(m);
	CHECK_EQ(st.extents, 2);
	CHECK_EQ(st.wide, 1);
	expect(m, 10, id(1023), lim);
	expect(m, 9, id(1023), lim - FRAME_SIZE);
	/* wide ones merge with each other */
	CHECK_OK(pfn_rmap_add(m, 11, 5, id(1023), lim + FRAME_SIZE));
	CHECK_EQ(stats(m).extents, 2);
	expect(m, 15, id(1023), lim + 5 * FRAME_SIZE);
	/* an owner of 11 bits, a pointer, an odd offset, the top of 2^64: wide, found right */
	CHECK_OK(pfn_rmap_add(m, CH, 100, id(1024), 0));
	CHECK_OK(pfn_rmap_add(m, CH + 100, 100, &ptr_a, 7 * FRAME_SIZE));
	CHECK_OK(pfn_rmap_add(m, CH + 200, 100, id(5), 123));
	CHECK_OK(pfn_rmap_add(m, CH + 300, 1, id(UINT64_MAX), UINT64_MAX - FRAME_SIZE + 1));
	CHECK_EQ(pfn_rmap_add(m, CH + 301, 2, id(3), UINT64_MAX - FRAME_SIZE + 1), -ERANGE);
	st = stats(m);
	CHECK_EQ(st.extents, 6);
	CHECK_EQ(st.wide, 5);
	expect(m, CH + 50, id(1024), 50 * FRAME_SIZE);
	expect(m, CH + 199, &ptr_a, 106 * FRAME_SIZE);
	expect(m, CH + 250, id(5), 123 + 50 * FRAME_SIZE);
	expect(m, CH + 300, id(UINT64_MAX), UINT64_MAX - FRAME_SIZE + 1);
	/* a narrow owner next to its own wide extent: separate (the offsets differ) */
	CHECK_OK(pfn_rmap_add(m, CH + 310, 10, id(5), 0));
	CHECK_EQ(stats(m).wide, 5);
	/* split a wide extent: both halves keep their own record */
	CHECK_OK(pfn_rmap_remove(m, CH + 240, 20));
	st = stats(m);
	CHECK_EQ(st.extents, 8);
	CHECK_EQ(st.wide, 6);
	expect(m, CH + 239, id(5), 123 + 39 * FRAME_SIZE);
	expect_none(m, CH + 250);
	expect(m, CH + 260, id(5), 123 + 60 * FRAME_SIZE);
	expect(m, CH + 319, id(5), 9 * FRAME_SIZE);
	/* a freed record is reused: remove one, add one, same memory */
	uint64_t before = stats(m).bytes;

	CHECK_OK(pfn_rmap_remove(m, CH + 100, 100));
	CHECK_OK(pfn_rmap_add(m, CH + 100, 100, &ptr_a, 0));
	CHECK_EQ(stats(m).bytes, before);
	expect(m, CH + 199, &ptr_a, 99 * FRAME_SIZE);
	expect(m, CH + 260, id(5), 123 + 60 * FRAME_SIZE);
	pfn_rmap_delete(&m);

	/* max_id 0: owners are pointers, every extent is wide */
	CHECK_OK(pfn_rmap_new(0, CH, 0, &m));
	CHECK_OK(pfn_rmap_add(m, 0, 10, id(1), 0));
	CHECK_OK(pfn_rmap_add(m, 10, 10, id(1), 10 * FRAME_SIZE));
	st = stats(m);
	CHECK_EQ(st.extents, 1);
	CHECK_EQ(st.wide, 1);
	expect(m, 19, id(1), 19 * FRAME_SIZE);
	pfn_rmap_delete(&m);

	/* a huge max_id: 32 bits of owner (the most), 13 of offset (32 MiB) */
	CHECK_OK(pfn_rmap_new(0, CH, UINT64_MAX, &m));
	CHECK_OK(pfn_rmap_add(m, 0, 1, id(UINT32_MAX), 32 * MiB - FRAME_SIZE));
	CHECK_EQ(stats(m).wide, 0);
	CHECK_OK(pfn_rmap_add(m, 1, 1, id(UINT32_MAX), 32 * MiB));
	CHECK_OK(pfn_rmap_add(m, 2, 1, id(UINT64_C(1) << 32), 0));
	st = stats(m);
	CHECK_EQ(st.extents, 3);
	CHECK_EQ(st.wide, 2);
	expect(m, 0, id(UINT32_MAX), 32 * MiB - FRAME_SIZE);
	expect(m, 1, id(UINT32_MAX), 32 * MiB);
	expect(m, 2, id(UINT64_C(1) << 32), 0);
	pfn_rmap_delete(&m);
}

/* 4 */
static void test_memory(void)
{
	uint64_t nr = 64 * CH, empty;
	struct pfn_rmap *m;
	struct pfn_rmap_stats st;

	CHECK_OK(pfn_rmap_new(0, nr, 4096, &m));
	empty = stats(m).bytes;
	CHECK(empty <= 1024 + 64 * sizeof(void *)); /* the map and a pointer per chunk */
	/* one chunk filled with 512 one-frame extents of alternate owners, then emptied */
	for (uint64_t f = 0; f < CH; f++) {
		CHECK_OK(pfn_rmap_add(m, CH + f, 1, id(1 + f % 2), 0));
		st = stats(m);
		CHECK_EQ(st.extents, f + 1);
		CHECK(st.slots <= st.extents + st.extents / 8 + 8); /* little slack while growing */
	}
	CHECK_EQ(st.chunks, 1);
	CHECK(st.bytes - empty <= 8 * CH + CH / 8 * 8 + 64);
	for (uint64_t f = 0; f < CH - 4; f++) {
		CHECK_OK(pfn_rmap_remove(m, CH + f, 1));
		st = stats(m);
		CHECK(st.slots <= st.extents + st.extents / 4 + 8); /* and while shrinking */
	}
	CHECK_OK(pfn_rmap_remove(m, 0, nr));
	st = stats(m);
	CHECK_EQ(st.extents, 0);
	CHECK_EQ(st.chunks, 0);
	CHECK_EQ(st.bytes, empty); /* every byte back */
	/* wide records go with their extents */
	CHECK_OK(pfn_rmap_add(m, 0, 10, &ptr_a, 0));
	CHECK(stats(m).bytes > empty);
	CHECK_OK(pfn_rmap_remove(m, 5, 1));
	CHECK_OK(pfn_rmap_remove(m, 0, 10));
	CHECK_EQ(stats(m).bytes, empty);

	/*
	 * owner-measure's filesystem in small: 16 chunks of 16 KiB files (128
	 * extents of 4 frames, each its own inode), 32 held by 2 MiB extents,
	 * the rest free. Within 1/64 of the memmap (64 B per frame).
	 */
	uint64_t ino = 100;

	for (uint64_t c = 0; c < 16; c++)
		for (uint64_t f = 0; f < CH; f += 4)
			CHECK_OK(pfn_rmap_add(m, c * CH + f, 4, id(ino++), 0));
	for (uint64_t c = 16; c < 48; c++)
		CHECK_OK(pfn_rmap_add(m, c * CH, CH, id(ino + c / 4), c % 4 * HUGE_SIZE));
	st = stats(m);
	CHECK_EQ(st.extents, 16 * 128 + 32);
	CHECK_EQ(st.wide, 0);
	printf("small-file layout: %llu extents in %llu bytes, %.5f of the memmap\n",
	       (unsigned long long)st.extents, (unsigned long long)st.bytes,
	       (double)st.bytes / (double)(nr * MEMMAP_BYTES_PER_FRAME));
	CHECK(st.bytes * 64 <= nr * MEMMAP_BYTES_PER_FRAME);
	/* one 2 MiB extent per chunk: far below */
	CHECK_OK(pfn_rmap_remove(m, 0, nr));
	for (uint64_t c = 0; c < 64; c++)
		CHECK_OK(pfn_rmap_add(m, c * CH, CH, id(7), c * HUGE_SIZE));
	CHECK(pfn_rmap_bytes(m) * 512 <= nr * MEMMAP_BYTES_PER_FRAME);
	pfn_rmap_delete(&m);
}

/* 5: a model of 4 chunks, frame by frame */
#define MF (4 * CH)
static void *mo[MF];
static uint64_t mi[MF];

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

/* runs the map should hold: maximal continuing pieces within each chunk */
static uint64_t model_runs(void)
{
	uint64_t runs = 0;

	for (uint64_t f = 0; f < MF; f++)
		runs += mo[f] &&
			(f % CH == 0 || mo[f - 1] != mo[f] || mi[f - 1] + FRAME_SIZE != mi[f]);
	return runs;
}

static void test_model(void)
{
	/* narrow owners, a 33-bit one, pointers; each keeps its own kind of offsets */
	void *owners[] = {id(1), id(2), id(UINT32_MAX), id(UINT64_C(1) << 33), &ptr_a, &ptr_b};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct pfn_rmap *m;

	CHECK_OK(pfn_rmap_new(512 * 7, MF, UINT32_MAX, &m));
	for (int op = 0; op < 20000; op++) {
		uint64_t f = rnd(&seed) % MF, most = rnd(&seed) % 4 ? 8 : 700;
		uint64_t n = 1 + rnd(&seed) % most;
		int k = (int)(rnd(&seed) % 6);

		if (n > MF - f)
			n = MF - f;
		if (rnd(&seed) % 3) {
			/* add, often continuing the frame before (same owner, next offset) */
			bool cont = f && mo[f - 1] && rnd(&seed) % 2;
			void *o = cont ? mo[f - 1] : owners[k];
			uint64_t idx = cont ? mi[f - 1] + FRAME_SIZE
					    : (rnd(&seed) % 1000) * FRAME_SIZE + (k == 5 ? 17 : 0);
			bool busy = false;

			for (uint64_t g = f; g < f + n; g++)
				busy = busy || mo[g];
			if (busy) {
				/* refused in the chunk of the first owned frame only: skip these */
				continue;
			}
			CHECK_OK(pfn_rmap_add(m, 512 * 7 + f, n, o, idx));
			for (uint64_t g = f; g < f + n; g++) {
				mo[g] = o;
				mi[g] = idx + (g - f) * FRAME_SIZE;
			}
		} else {
			CHECK_OK(pfn_rmap_remove(m, 512 * 7 + f, n));
			for (uint64_t g = f; g < f + n; g++)
				mo[g] = NULL;
		}
		for (int p = 0; p < 8; p++) {
			uint64_t g = rnd(&seed) % MF;

			if (mo[g])
				expect(m, 512 * 7 + g, mo[g], mi[g]);
			else
				expect_none(m, 512 * 7 + g);
		}
		CHECK_EQ(stats(m).extents, model_runs());
	}
	for (uint64_t g = 0; g < MF; g++) {
		if (mo[g])
			expect(m, 512 * 7 + g, mo[g], mi[g]);
		else
			expect_none(m, 512 * 7 + g);
	}
	pfn_rmap_delete(&m);
}

int main(void)
{
	test_contract();
	test_merge();
	test_limits();
	test_memory();
	test_model();
	printf("ok\n");
	return 0;
}
