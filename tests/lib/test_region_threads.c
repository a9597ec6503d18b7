/* SPDX-License-Identifier: MIT */
/*
 * test_region_threads - regions are usable from many threads: concurrent
 * pmr_memcpy/pmr_persist into disjoint parts of one region, and regions
 * opened and closed concurrently (the granularity forcing is serialised)
 * all come out 2 MiB aligned with cache-line granularity.
 */
#include <pthread.h>

#include "region.h"
#include "test.h"
#include "units.h"

#define NR_THREADS 4
#define SLICE (2 * MiB)

static struct pmr_region *shared;
static char path[256];

static void *writer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned char *base = (unsigned char *)pmr_addr(shared) + id * SLICE;
	unsigned char buf[4096];

	for (unsigned round = 0; round < 50; round++) {
		memset(buf, (int)(id * 16 + round % 16), sizeof(buf));
		for (uint64_t off = 0; off < SLICE; off += sizeof(buf) * 8)
			pmr_memcpy(shared, base + off, buf, sizeof(buf), 0);
		base[SLICE - 1] = (unsigned char)id;
		pmr_persist(shared, base + SLICE - 1, 1);
	}
	return NULL;
}

static void *opener(void *arg)
{
	for (int i = 0; i < 10; i++) {
		struct pmr_region *r = NULL;
		struct pmr_info info;

		CHECK_OK(pmr_open(path, 0, &r));
		pmr_get_info(r, &info);
		CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
		CHECK_EQ((uintptr_t)pmr_addr(r) % HUGE_SIZE, 0);
		pmr_close(&r);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2 * NR_THREADS];
	unsigned char *p;

	test_path(path, sizeof(path), "threads");
	unlink(path);
	CHECK_OK(pmr_create(path, NR_THREADS * SLICE, 0, &shared));

	for (unsigned i = 0; i < NR_THREADS; i++) {
		CHECK_OK(pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)i));
		CHECK_OK(pthread_create(&t[NR_THREADS + i], NULL, opener, NULL));
	}
	for (unsigned i = 0; i < 2 * NR_THREADS; i++)
		CHECK_OK(pthread_join(t[i], NULL));

	p = pmr_addr(shared);
	for (unsigned i = 0; i < NR_THREADS; i++) {
		CHECK_EQ(p[i * SLICE], i * 16 + 49 % 16);
		CHECK_EQ(p[i * SLICE + SLICE - 1], i);
	}
	pmr_close(&shared);
	CHECK_OK(unlink(path));
	return 0;
}
