/* SPDX-License-Identifier: MIT */
/*
 * test_badblocks - the emulated badblocks list: add/check/list/clear,
 * merging of overlapping and adjacent ranges, splitting on clear,
 * persistence beside the region across reopen, malformed list files
 * refused with file:line, device paths kept in memory, and checks running
 * concurrently with changes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "badblocks.h"
#include "errmsg.h"
#include "test.h"

struct collected {
	unsigned n;
	uint64_t s[16], c[16];
};

static int collect(uint64_t sector, uint64_t count, void *arg)
{
	struct collected *col = arg;

	if (col->n < 16) {
		col->s[col->n] = sector;
		col->c[col->n] = count;
	}
	col->n++;
	return 0;
}

static int stop_at_first(uint64_t sector, uint64_t count, void *arg)
{
	(*(unsigned *)arg)++;
	return 42;
}

/* The list is exactly @n ranges given as start,count pairs. */
static void expect(struct pmemdev_bb *bb, unsigned n, const uint64_t *pairs, int line)
{
	struct collected col = {0};
	uint64_t total = 0;

	CHECK_OK(pmemdev_bb_list(bb, collect, &col));
	if (col.n != n)
		fprintf(stderr, "line %d: %u ranges, expected %u\n", line, col.n, n);
	CHECK_EQ(col.n, n);
	for (unsigned i = 0; i < n; i++) {
		if (col.s[i] != pairs[2 * i] || col.c[i] != pairs[2 * i + 1])
			fprintf(stderr, "line %d: range %u is %llu+%llu\n", line, i,
				(unsigned long long)col.s[i], (unsigned long long)col.c[i]);
		CHECK_EQ(col.s[i], pairs[2 * i]);
		CHECK_EQ(col.c[i], pairs[2 * i + 1]);
		total += pairs[2 * i + 1];
	}
	CHECK_EQ(pmemdev_bb_count(bb), total);
	CHECK_EQ(pmemdev_bb_nr_ranges(bb), n);
}

#define EXPECT(bb, ...)                                                   \
	do {                                                              \
		const uint64_t _p[] = {__VA_ARGS__};                      \
		expect(bb, sizeof(_p) / sizeof(_p[0]) / 2, _p, __LINE__); \
	} while (0)
#define EXPECT_EMPTY(bb) expect(bb, 0, NULL, __LINE__)

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	fputs(text, f);
	CHECK_OK(fclose(f));
}

static struct pmemdev_bb *shared;
static atomic_int stop;

static void *checker(void *arg)
{
	unsigned long hits = 0;

	while (!atomic_load(&stop))
		for (uint64_t s = 0; s < 4096; s += 64)
			hits += pmemdev_bb_check(shared, s, 64);
	return (void *)(uintptr_t)hits;
}

int main(void)
{
	struct pmemdev_bb *bb = NULL;
	char region[256], file[300];
	uint64_t first, nr;
	unsigned calls = 0;
	struct stat st;
	pthread_t t[2];

	test_path(region, sizeof(region), "bb-region");
	snprintf(file, sizeof(file), "%s.badblocks", region);
	unlink(file);

	/* Empty: nothing bad, no file. */
	CHECK_OK(pmemdev_bb_open(region, &bb));
	CHECK(!strcmp(pmemdev_bb_file(bb), file));
	EXPECT_EMPTY(bb);
	CHECK(!pmemdev_bb_check(bb, 0, UINT64_MAX));
	CHECK_OK(pmemdev_bb_clear(bb, 0, 100)); /* clearing nothing is fine */
	CHECK(stat(file, &st) != 0);

	/* Add and check. */
	CHECK_OK(pmemdev_bb_add(bb, 100, 8));
	EXPECT(bb, 100, 8);
	CHECK(pmemdev_bb_check(bb, 100, 1));
	CHECK(pmemdev_bb_check(bb, 107, 1));
	CHECK(pmemdev_bb_check(bb, 90, 11));
	CHECK(pmemdev_bb_check(bb, 0, UINT64_MAX));
	CHECK(!pmemdev_bb_check(bb, 108, 1));
	CHECK(!pmemdev_bb_check(bb, 90, 10));
	CHECK(!pmemdev_bb_check(bb, 100, 0));
	CHECK(pmemdev_bb_find(bb, 96, 8, &first, &nr));
	CHECK_EQ(first, 100);
	CHECK_EQ(nr, 4);
	CHECK_OK(stat(file, &st));

	/* Merging: overlap, adjacency on both sides, swallowing. */
	CHECK_OK(pmemdev_bb_add(bb, 104, 8)); /* overlaps the end */
	EXPECT(bb, 100, 12);
	CHECK_OK(pmemdev_bb_add(bb, 112, 4)); /* adjacent after */
	EXPECT(bb, 100, 16);
	CHECK_OK(pmemdev_bb_add(bb, 96, 4)); /* adjacent before */
	EXPECT(bb, 96, 20);
	CHECK_OK(pmemdev_bb_add(bb, 200, 10));
	CHECK_OK(pmemdev_bb_add(bb, 10, 1));
	EXPECT(bb, 10, 1, 96, 20, 200, 10);
	CHECK_OK(pmemdev_bb_add(bb, 110, 95)); /* bridges two ranges */
	EXPECT(bb, 10, 1, 96, 114);
	CHECK_OK(pmemdev_bb_add(bb, 0, 500)); /* swallows everything */
	EXPECT(bb, 0, 500);

	/* Splitting on clear, trimming the ends, clearing all. */
	CHECK_OK(pmemdev_bb_clear(bb, 100, 50));
	EXPECT(bb, 0, 100, 150, 350);
	CHECK(!pmemdev_bb_check(bb, 100, 50));
	CHECK(pmemdev_bb_check(bb, 99, 2));
	CHECK_OK(pmemdev_bb_clear(bb, 0, 10));
	CHECK_OK(pmemdev_bb_clear(bb, 490, 100));
	EXPECT(bb, 10, 90, 150, 340);
	CHECK_OK(pmemdev_bb_clear(bb, 20, 1));
	EXPECT(bb, 10, 10, 21, 79, 150, 340);

	/* The walk stops when the callback says so. */
	CHECK_EQ(pmemdev_bb_list(bb, stop_at_first, &calls), 42);
	CHECK_EQ(calls, 1);

	/* Bad input changes nothing. */
	CHECK_EQ(pmemdev_bb_add(bb, 5, 0), -EINVAL);
	CHECK_EQ(pmemdev_bb_add(bb, UINT64_MAX - 1, 2), -EINVAL);
	CHECK_EQ(pmemdev_bb_clear(bb, UINT64_MAX, 2), -EINVAL);
	EXPECT(bb, 10, 10, 21, 79, 150, 340);

	/* Persistence: a reopen sees the same list. */
	pmemdev_bb_close(&bb);
	CHECK(bb == NULL);
	CHECK_OK(pmemdev_bb_open(region, &bb));
	EXPECT(bb, 10, 10, 21, 79, 150, 340);
	/* ... also after a split and a merge. */
	CHECK_OK(pmemdev_bb_add(bb, 20, 1));
	pmemdev_bb_close(&bb);
	CHECK_OK(pmemdev_bb_open(region, &bb));
	EXPECT(bb, 10, 90, 150, 340);

	/* Clearing everything removes the file. */
	CHECK_OK(pmemdev_bb_clear(bb, 0, 1000));
	EXPECT_EMPTY(bb);
	CHECK(stat(file, &st) != 0 && errno == ENOENT);
	pmemdev_bb_close(&bb);

	/* A hand-written file: comments, unsorted, overlapping: normalised. */
	write_file(file, "# test\n300 5\n\n  10 5\n12 10\n");
	CHECK_OK(pmemdev_bb_open(region, &bb));
	EXPECT(bb, 10, 12, 300, 5);
	pmemdev_bb_close(&bb);

	/* Malformed files are refused with file:line, and left alone. */
	write_file(file, "10 5\nten 5\n");
	pmd_err_clear();
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	CHECK(bb == NULL);
	CHECK(strstr(pmd_errmsg(), file) && strstr(pmd_errmsg(), ":2:"));
	write_file(file, "10 0\n");
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	write_file(file, "10\n");
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	write_file(file, "10 5 7\n");
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	write_file(file, "18446744073709551615 2\n");
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	write_file(file, "-1 2\n");
	CHECK_EQ(pmemdev_bb_open(region, &bb), -EINVAL);
	CHECK_OK(stat(file, &st));
	CHECK_EQ(st.st_size, 5);
	CHECK_OK(unlink(file));

	/* Device paths and NULL: in memory only, nothing written in /dev. */
	CHECK_OK(pmemdev_bb_open("/dev/null", &bb));
	CHECK(pmemdev_bb_file(bb) == NULL);
	CHECK_OK(pmemdev_bb_add(bb, 1, 1));
	EXPECT(bb, 1, 1);
	CHECK(stat("/dev/null.badblocks", &st) != 0);
	pmemdev_bb_close(&bb);
	CHECK_OK(pmemdev_bb_open(NULL, &bb));
	EXPECT_EMPTY(bb);
	pmemdev_bb_close(&bb);
	pmemdev_bb_close(&bb); /* NULL is fine */

	/* Checks from other threads while the list changes. */
	CHECK_OK(pmemdev_bb_open(NULL, &shared));
	for (int i = 0; i < 2; i++)
		CHECK_OK(pthread_create(&t[i], NULL, checker, NULL));
	for (int round = 0; round < 2000; round++) {
		CHECK_OK(pmemdev_bb_add(shared, (uint64_t)(round * 7) % 4000, 3));
		CHECK_OK(pmemdev_bb_clear(shared, (uint64_t)(round * 13) % 4000, 5));
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		CHECK_OK(pthread_join(t[i], NULL));
	CHECK_OK(pmemdev_bb_clear(shared, 0, 8192));
	EXPECT_EMPTY(shared);
	pmemdev_bb_close(&shared);
	return 0;
}
