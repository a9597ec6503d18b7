/* SPDX-License-Identifier: MIT */
/*
 * test_pagecache.c - the page data path's page cache on its own, with real
 * registered pages and struct pages, over an in-memory "disk": reads fill,
 * writes dirty, a tiny cache evicts and writes back under pressure,
 * writeback goes out in runs of consecutive pages per inode, drop empties,
 * and a failing fill leaves nothing behind.
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

static int t_writeback(void *ctx, uint64_t ino, uint64_t index, struct page **pages, unsigned nr)
{
	unsigned i;

	CHECK(ino > 0 && ino < NR_INO && index + nr <= DISK_PAGES);
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

static const struct pagecache_ops ops = {
	.fill = t_fill,
	.writeback = t_writeback,
};

static void pattern(unsigned char *buf, size_t len, uint64_t off, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((off + i) * 7 + seed);
}

int main(void)
{
	static unsigned char buf[DISK_PAGES * 4096], want[DISK_PAGES * 4096];
	struct pagecache_stats st;
	struct pagecache *pc;

	CHECK_EQ(pagecache_new(8, &ops, NULL, &pc), -EINVAL); /* too small */
	CHECK_OK(pagecache_new(16, &ops, NULL, &pc));
	pagecache_get_stats(pc, &st);
	CHECK_EQ(st.nr_pages, 16);
	CHECK(st.descriptor_bytes >= 16 * sizeof(struct page));

	/* 100 pages through a 16-page cache: eviction writes dirty pages back */
	pattern(want, 100 * 4096, 0, 1);
	CHECK_OK(pagecache_write(pc, 1, 0, 100 * 4096, want));
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
	CHECK_OK(pagecache_write(pc, 1, 4000, 5000, want + 4000));
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
	CHECK_OK(pagecache_write(pc, 2, 0, 8 * 4096, want));
	CHECK_OK(pagecache_write(pc, 1, 200 * 4096, 4096, want));
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
	return 0;
}
