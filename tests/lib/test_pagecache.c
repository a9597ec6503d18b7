/* SPDX-License-Identifier: MIT */
/*
 * test_pagecache.c - the page data path's page cache on its own, with real
 * registered pages and struct pages, over an in-memory "disk": reads fill,
 * writes dirty, a tiny cache evicts and writes back under pressure,
 * writeback goes out in runs of consecutive pages per inode, drop empties,
 * and a failing fill leaves nothing behind. No acknowledged write is lost
 * (issue 10 item 7): with a reserve hook a write over holes on a full
 * "disk" is short (ENOSPC) and what it took is written back for sure; a
 * page whose writeback fails stays dirty through writeback with drop,
 * eviction passes it over so reads still work, at most half the cache is
 * dirty (a write that would go past that and cannot write back fails), and
 * discard gives back the reservations.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"
#include "pagecache.h"
#include "test.h"
#include "units.h"

#define NR_INO 3       /* inodes 1 and 2 are used */
#define DISK_PAGES 256 /* per inode */

static unsigned char disk[NR_INO][DISK_PAGES][4096];
static unsigned fills, fill_pages, writebacks, writeback_pages, max_run;
static bool fail_fill;
static uint64_t fail_wb_ino;		   /* writeback of this inode fails */
static bool allocated[NR_INO][DISK_PAGES]; /* the "disk" has storage for the page */
static unsigned disk_free, resv_held;	   /* free "blocks", blocks reserved */

static int t_fill(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr)
{
	unsigned i;

	if (fail_fill)
		return -EIO;
	CHECK(ino > 0 && ino < NR_INO && index + nr <= DISK_PAGES);
	for (i = 0; i < nr; i++) {
		CHECK(page_address(pages[i]) != NULL);
		memcpy(page_address(pages[i]), disk[ino][index + i], 4096);
	}
	fills++;
	fill_pages += nr;
	return 0;
}

static int t_writeback(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr,
		       unsigned *resv)
{
	unsigned i;

	CHECK(ino > 0 && ino < NR_INO && index + nr <= DISK_PAGES);
	if (ino == fail_wb_ino)
		return -EIO;
	/* storage for the pages that have none: reserved blocks first */
	for (i = 0; i < nr; i++) {
		if (allocated[ino][index + i])
			continue;
		if (*resv) {
			(*resv)--;
			resv_held--;
		} else {
			CHECK(disk_free > 0); /* a writeback never runs out */
			disk_free--;
		}
		allocated[ino][index + i] = true;
	}
	for (i = 0; i < nr; i++) {
		CHECK(page_test_flag(pages[i], PG_dirty));
		CHECK(pages[i]->index == index + i);
		memcpy(disk[ino][index + i], page_address(pages[i]), 4096);
	}
	writebacks++;
	writeback_pages += nr;
	if (nr > max_run)
		max_run = nr;
	return 0;
}

static int t_reserve(void *ctx, uint64_t ino, uint64_t index, unsigned nr, uint64_t *mask)
{
	uint64_t want = 0;

	for (unsigned i = 0; i < nr; i++)
		if ((*mask & (UINT64_C(1) << i)) && !allocated[ino][index + i])
			want |= UINT64_C(1) << i;
	if ((unsigned)__builtin_popcountll(want) > disk_free)
		return -ENOSPC;
	disk_free -= (unsigned)__builtin_popcountll(want);
	resv_held += (unsigned)__builtin_popcountll(want);
	*mask = want;
	return 0;
}

static void t_unreserve(void *ctx, uint64_t ino, unsigned n)
{
	CHECK(n <= resv_held);
	resv_held -= n;
	disk_free += n;
}

static const struct pagecache_ops ops = {
	.fill = t_fill,
	.writeback = t_writeback,
};

static const struct pagecache_ops resv_ops = {
	.fill = t_fill,
	.writeback = t_writeback,
	.reserve = t_reserve,
	.unreserve = t_unreserve,
};

static void pattern(unsigned char *buf, size_t len, uint64_t off, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((off + i) * 7 + seed);
}

/* issue 10 item 7, with reservations and failing writebacks */
static void no_lost_writes(unsigned char *buf, unsigned char *want)
{
	struct pagecache_stats st;
	struct pagecache *pc;
	size_t done;

	memset(disk, 0, sizeof(disk));
	memset(allocated, 0, sizeof(allocated));
	for (unsigned k = 0; k < 100; k++)
		allocated[1][k] = true; /* inode 1: a durable file of 100 pages */
	pattern(disk[1][0], 100 * 4096, 0, 5);
	disk_free = 5;
	CHECK_OK(pagecache_new(16, &resv_ops, NULL, &pc));

	/* a write over holes with room for 5 pages: short, ENOSPC, nothing lost */
	pattern(want, 8 * 4096, 0, 11);
	CHECK_EQ(pagecache_write(pc, 2, 0, 8 * 4096, want, &done), -ENOSPC);
	CHECK_EQ(done, 5 * 4096);
	CHECK_EQ(resv_held, 5);
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.reserved_pages, 5);
	/* overwriting a page that has storage needs no reservation */
	CHECK_OK(pagecache_write(pc, 1, 4096, 4096, want, &done));
	CHECK_EQ(done, 4096);
	CHECK_OK(pagecache_writeback(pc, 0, false));
	CHECK(memcmp(disk[2], want, 5 * 4096) == 0);
	CHECK(memcmp(disk[1][1], want, 4096) == 0);
	CHECK_EQ(resv_held, 0);
	CHECK_EQ(disk_free, 0);

	/* a failed writeback keeps the page dirty, through drop too */
	disk_free = 20;
	fail_wb_ino = 2;
	pattern(want, 2 * 4096, 0, 12);
	CHECK_OK(pagecache_write(pc, 2, 5 * 4096, 2 * 4096, want, &done));
	CHECK_EQ(pagecache_writeback(pc, 2, true), -EIO);
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.dirty_pages, 2);
	CHECK_EQ(st.reserved_pages, 2);
	CHECK(st.writeback_errors >= 1);
	CHECK_OK(pagecache_read(pc, 2, 5 * 4096, 2 * 4096, buf));
	CHECK(memcmp(buf, want, 2 * 4096) == 0);

	/* reads go on: eviction passes the unwritable pages over */
	CHECK_OK(pagecache_read(pc, 1, 2 * 4096, 98 * 4096, buf));
	pattern(want, 100 * 4096, 0, 5);
	CHECK(memcmp(buf, want + 2 * 4096, 98 * 4096) == 0);
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.dirty_pages, 2);

	/* no more than half the cache dirty: a write past that fails */
	pattern(want, 12 * 4096, 0, 13);
	CHECK_EQ(pagecache_write(pc, 2, 20 * 4096, 12 * 4096, want, &done), -EIO);
	CHECK(done <= 6 * 4096);
	pagecache_get_stats(pc, &st);
	CHECK(st.dirty_pages <= 8);

	/* once writeback works again every acknowledged byte reaches the disk */
	fail_wb_ino = 0;
	CHECK_OK(pagecache_writeback(pc, 2, true));
	pattern(want, 2 * 4096, 0, 12);
	CHECK(memcmp(disk[2][5], want, 2 * 4096) == 0);
	pattern(want, 12 * 4096, 0, 13);
	CHECK(memcmp(disk[2][20], want, done) == 0);
	CHECK_EQ(resv_held, 0);

	/* discard: the dirty pages of a removed file go, with their reservations */
	CHECK_OK(pagecache_write(pc, 2, 40 * 4096, 3 * 4096, want, &done));
	CHECK_EQ(resv_held, 3);
	CHECK_EQ(pagecache_discard(pc, 2), 3);
	CHECK_EQ(resv_held, 0);
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.dirty_pages, 0);
	CHECK_EQ(st.reserved_pages, 0);
	pagecache_delete(&pc);
}

int main(void)
{
	static unsigned char buf[DISK_PAGES * 4096], want[DISK_PAGES * 4096];
	struct pagecache_stats st;
	struct pagecache *pc;
	size_t done;

	disk_free = 1U << 30; /* no reserve hook: the writeback allocates */
	CHECK_EQ(pagecache_new(8, &ops, NULL, &pc), -EINVAL); /* too small */
	CHECK_OK(pagecache_new(16, &ops, NULL, &pc));
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.nr_pages, 16);
	CHECK(st.descriptor_bytes >= 16 * sizeof(struct page));

	/* 100 pages through a 16-page cache: eviction writes dirty pages back */
	pattern(want, 100 * 4096, 0, 1);
	CHECK_OK(pagecache_write(pc, 1, 0, 100 * 4096, want, &done));
	pagecache_get_stats(pc, &st);
	CHECK(st.evictions >= 84);
	CHECK(writeback_pages >= 84);
	CHECK(st.dirty_pages <= 16);
	CHECK_EQ(fills, 0); /* whole pages are never read first */
	CHECK_OK(pagecache_writeback(pc, 1, false));
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.dirty_pages, 0);
	CHECK(memcmp(disk[1], want, 100 * 4096) == 0);

	/* read back through the cache (mostly misses) */
	memset(buf, 0, sizeof(buf));
	CHECK_OK(pagecache_read(pc, 1, 0, 100 * 4096, buf));
	CHECK(memcmp(buf, want, 100 * 4096) == 0);
	CHECK(fill_pages >= 84);

	/* unaligned write across page boundaries: partial pages are filled */
	fills = 0;
	pattern(want + 4000, 5000, 4000, 9);
	CHECK_OK(pagecache_write(pc, 1, 4000, 5000, want + 4000, &done));
	CHECK_OK(pagecache_read(pc, 1, 0, 3 * 4096, buf));
	CHECK(memcmp(buf, want, 3 * 4096) == 0);

	/* writeback of 8 consecutive dirty pages goes out as one run */
	CHECK_OK(pagecache_writeback(pc, 0, true));
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.used_pages, 0);
	CHECK(memcmp(disk[1], want, 100 * 4096) == 0);
	writebacks = 0;
	max_run = 0;
	pattern(want, 8 * 4096, 0, 3);
	CHECK_OK(pagecache_write(pc, 2, 0, 8 * 4096, want, &done));
	CHECK_OK(pagecache_write(pc, 1, 200 * 4096, 4096, want, &done));
	CHECK_OK(pagecache_writeback(pc, 0, false));
	CHECK_EQ(writebacks, 2); /* one run per inode */
	CHECK_EQ(max_run, 8);
	CHECK(memcmp(disk[2], want, 8 * 4096) == 0);
	CHECK(memcmp(disk[1][200], want, 4096) == 0);

	/* drop one inode: its pages leave, the other's stay */
	CHECK_OK(pagecache_writeback(pc, 2, true));
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.used_pages, 1);

	/* a failing fill: error, and nothing cached for those pages */
	fail_fill = true;
	CHECK_EQ(pagecache_read(pc, 2, 0, 4096, buf), -EIO);
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.used_pages, 1);
	fail_fill = false;
	CHECK_OK(pagecache_read(pc, 2, 0, 4096, buf));
	CHECK(memcmp(buf, want, 4096) == 0);

	pagecache_delete(&pc);
	CHECK(pc == NULL);

	no_lost_writes(buf, want);
	return 0;
}
