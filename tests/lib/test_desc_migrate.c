/* SPDX-License-Identifier: MIT */
/*
 * test_desc_migrate - moving live 2 MiB extents in every descriptor mode:
 * while one thread writes through bios, one writes through mappings and
 * one writes and reads back through bios, every extent is moved away and
 * back three times. No write is lost (every block ends with the last
 * version its writer wrote), a write read back at once always matches,
 * the owner record follows the data (descriptors, or pfn mode's reverse
 * map) and no reference is left behind. A mapping's lease is broken by a
 * move and the move waits for the holder to let go. Bad requests are
 * refused with EINVAL.
 */
#include <pthread.h>

#include "desc_migrate.h"
#include "desc_owner.h"
#include "pfn_rmap.h"
#include "test_blk_ramdisk.h"

#define NEXT 8u				      /* extents in the file */
#define BLKS_PER_EXT (HUGE_SIZE / FRAME_SIZE) /* 512 */
#define NBLK (NEXT * BLKS_PER_EXT)
#define ROUNDS 3

struct tag {
	uint64_t blk, version;
};

struct ctx {
	struct mig_file *f;
	atomic_bool stop;
	uint64_t last[NBLK]; /* the version each block's writer wrote last */
	atomic_ullong io_writes, map_writes, reads;
};

static void put_tag(char *p, uint64_t blk, uint64_t version)
{
	struct tag t = {blk, version};

	memcpy(p, &t, sizeof(t));
	memcpy(p + FRAME_SIZE - sizeof(t), &t, sizeof(t));
}

static struct tag get_tag(const char *p)
{
	struct tag a, b;

	memcpy(&a, p, sizeof(a));
	memcpy(&b, p + FRAME_SIZE - sizeof(b), sizeof(b));
	CHECK(a.blk == b.blk && a.version == b.version); /* never a torn block */
	return a;
}

/* Blocks 0 mod 4, through bios. */
static void *io_writer(void *arg)
{
	struct ctx *c = arg;
	char *buf = aligned_alloc(FRAME_SIZE, FRAME_SIZE);
	uint64_t n = 0;

	CHECK(buf != NULL);
	while (!atomic_load(&c->stop)) {
		uint64_t blk = (n * 4 * 7919) % NBLK & ~UINT64_C(3);

		put_tag(buf, blk, ++c->last[blk]);
		CHECK_OK(mig_rw(c->f, true, blk * FRAME_SIZE, buf, FRAME_SIZE, NULL));
		atomic_fetch_add(&c->io_writes, 1);
		n++;
	}
	free(buf);
	return NULL;
}

/* Odd blocks, through mappings that moves revoke. */
static void *map_writer(void *arg)
{
	struct ctx *c = arg;
	char *map[NEXT] = {0};
	uint64_t n = 0;

	while (!atomic_load(&c->stop)) {
		uint64_t blk = (n * 2 * 104729 + 1) % NBLK | 1;
		unsigned e = (unsigned)(blk / BLKS_PER_EXT);

		if (map[e] && !mig_map_valid(c->f, e)) {
			mig_unmap(c->f, e); /* the lease was broken: let go */
			map[e] = NULL;
		}
		if (!map[e])
			map[e] = mig_map(c->f, e, NULL);
		CHECK(map[e] != NULL);
		put_tag(map[e] + (blk % BLKS_PER_EXT) * FRAME_SIZE, blk, ++c->last[blk]);
		atomic_fetch_add(&c->map_writes, 1);
		n++;
	}
	for (unsigned e = 0; e < NEXT; e++)
		if (map[e])
			mig_unmap(c->f, e);
	return NULL;
}

/* Blocks 2 mod 4, through bios: each write read back at once must match. */
static void *checker(void *arg)
{
	struct ctx *c = arg;
	char *buf = aligned_alloc(FRAME_SIZE, FRAME_SIZE);
	uint64_t n = 0;

	CHECK(buf != NULL);
	while (!atomic_load(&c->stop)) {
		uint64_t blk = ((n * 4 * 31337) % NBLK & ~UINT64_C(3)) | 2;
		struct tag t;

		put_tag(buf, blk, ++c->last[blk]);
		CHECK_OK(mig_rw(c->f, true, blk * FRAME_SIZE, buf, FRAME_SIZE, NULL));
		memset(buf, 0, FRAME_SIZE);
		CHECK_OK(mig_rw(c->f, false, blk * FRAME_SIZE, buf, FRAME_SIZE, NULL));
		t = get_tag(buf); /* only this thread touches the block: never torn */
		CHECK_EQ(t.blk, blk);
		CHECK_EQ(t.version, c->last[blk]);
		atomic_fetch_add(&c->reads, 1);
		n++;
	}
	free(buf);
	return NULL;
}

/* The owner of extent @e's frames at @addr is the file (or nobody). */
static void expect_owner(enum desc_mode mode, struct pfn_rmap *rm, const char *addr, void *owner,
			 unsigned e)
{
	pfn_t pfn;
	void *o = NULL;
	uint64_t idx = 0;

	CHECK_OK(addr_to_pfn(addr + 5 * FRAME_SIZE, &pfn, NULL));
	int err = mode == DESC_PFN ? pfn_rmap_find(rm, pfn, &o, &idx)
				   : desc_owner_find(pfn, &o, &idx);

	if (!owner) {
		CHECK_EQ(err, -ENOENT);
		return;
	}
	CHECK_OK(err);
	CHECK(o == owner);
	CHECK_EQ(idx, (uint64_t)e * HUGE_SIZE + 5 * FRAME_SIZE);
}

struct mover_arg {
	struct mig_file *f;
	char *dst;
	struct mig_stats st;
	int err;
};

static void *mover(void *arg)
{
	struct mover_arg *m = arg;

	m->err = mig_move(m->f, 0, m->dst, &m->st);
	return NULL;
}

/* A mapping holds the extent: the move breaks the lease and waits for it. */
static void lease_break(struct mig_file *f, char *dst)
{
	struct mover_arg m = {.f = f, .dst = dst};
	char *addr = mig_map(f, 0, NULL), *before = mig_extent_addr(f, 0);
	pthread_t t;

	CHECK(addr == before);
	CHECK(mig_map_valid(f, 0));
	CHECK_OK(pthread_create(&t, NULL, mover, &m));
	while (mig_map_valid(f, 0))
		sched_yield();
	/* still ours until we let go: the data has not moved */
	CHECK(mig_extent_addr(f, 0) == before);
	mig_unmap(f, 0);
	CHECK_OK(pthread_join(t, NULL));
	CHECK_OK(m.err);
	CHECK_EQ(m.st.moves, 1);
	CHECK_EQ(m.st.lease_breaks, 1);
	CHECK(mig_extent_addr(f, 0) == dst);
}

static void test_mode(enum desc_mode mode)
{
	size_t len = 3 * NEXT * HUGE_SIZE + HUGE_SIZE;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem, *ext[NEXT], *spare[NEXT], *buf;
	struct pfn_range *r;
	struct pfn_rmap *rm = NULL;
	struct mig_stats st = {0};
	pthread_t th[3];
	struct ctx *c = calloc(1, sizeof(*c));

	CHECK(raw != MAP_FAILED && c);
	mem = (char *)align_up((uintptr_t)raw, HUGE_SIZE);
	CHECK_OK(pfn_range_register(mem, 2 * NEXT * HUGE_SIZE, PFN_KIND_PMEM, mode, &r));
	if (mode == DESC_PFN)
		CHECK_OK(pfn_rmap_new(pfn_range_base(r), pfn_range_frames(r), 0, &rm));
	for (unsigned i = 0; i < NEXT; i++) {
		ext[i] = mem + (uint64_t)i * HUGE_SIZE;
		spare[i] = mem + (uint64_t)(NEXT + i) * HUGE_SIZE;
	}
	CHECK_OK(mig_file_new(mode, ext, NEXT, rm, &c->f));
	for (uint64_t b = 0; b < NBLK; b++)
		put_tag(ext[b / BLKS_PER_EXT] + (b % BLKS_PER_EXT) * FRAME_SIZE, b, 0);
	expect_owner(mode, rm, ext[3], c->f, 3);

	/* bad requests */
	CHECK_EQ(mig_move(c->f, 0, spare[0] + FRAME_SIZE, &st), -EINVAL); /* unaligned */
	CHECK_EQ(mig_move(c->f, 0, raw + len - HUGE_SIZE, &st), -EINVAL); /* not registered */
	CHECK_EQ(mig_move(c->f, NEXT, spare[0], &st), -EINVAL);
	CHECK_EQ(mig_move(c->f, 1, ext[1], &st), -EINVAL);
	buf = aligned_alloc(FRAME_SIZE, 2 * FRAME_SIZE);
	CHECK(buf != NULL);
	CHECK_EQ(mig_rw(c->f, false, HUGE_SIZE - FRAME_SIZE, buf, 2 * FRAME_SIZE, NULL), -EINVAL);
	free(buf);
	CHECK_EQ(st.moves, 0);

	lease_break(c->f, spare[0]);
	CHECK_OK(mig_move(c->f, 0, ext[0], &st)); /* and back, unheld */

	CHECK_OK(pthread_create(&th[0], NULL, io_writer, c));
	CHECK_OK(pthread_create(&th[1], NULL, map_writer, c));
	CHECK_OK(pthread_create(&th[2], NULL, checker, c));
	for (int round = 0; round < ROUNDS; round++) {
		for (unsigned i = 0; i < NEXT; i++)
			CHECK_OK(mig_move(c->f, i, spare[i], &st));
		for (unsigned i = 0; i < NEXT; i++)
			CHECK_OK(mig_move(c->f, i, ext[i], &st));
	}
	/* the users must have run during the moves, not only after */
	while (atomic_load(&c->io_writes) < 100 || atomic_load(&c->map_writes) < 100 ||
	       atomic_load(&c->reads) < 100)
		sched_yield();
	for (unsigned i = 0; i < NEXT; i++)
		CHECK_OK(mig_move(c->f, i, spare[i], &st));
	atomic_store(&c->stop, true);
	for (int i = 0; i < 3; i++)
		CHECK_OK(pthread_join(th[i], NULL));
	CHECK_EQ(st.moves, 1 + 2 * ROUNDS * NEXT + NEXT);

	/* no write lost, every block where it belongs */
	for (uint64_t b = 0; b < NBLK; b++) {
		struct tag t = get_tag(spare[b / BLKS_PER_EXT] + (b % BLKS_PER_EXT) * FRAME_SIZE);

		CHECK_EQ(t.blk, b);
		CHECK_EQ(t.version, c->last[b]);
	}
	for (unsigned i = 0; i < NEXT; i++) {
		CHECK(mig_extent_addr(c->f, i) == spare[i]);
		CHECK_EQ(mig_extra_refs(spare[i], mode), 0);
		CHECK_EQ(mig_extra_refs(ext[i], mode), 0);
		expect_owner(mode, rm, spare[i], c->f, i);
		expect_owner(mode, rm, ext[i], NULL, i);
	}
	CHECK(st.holder_checks >= st.moves);
	mig_file_delete(&c->f);
	expect_owner(mode, rm, spare[2], NULL, 2);
	printf("%s: %llu moves, %llu lease breaks, %llu+%llu writes, %llu reads during them\n",
	       desc_mode_name(mode), (unsigned long long)st.moves,
	       (unsigned long long)st.lease_breaks, (unsigned long long)c->io_writes,
	       (unsigned long long)c->map_writes, (unsigned long long)c->reads);
	pfn_rmap_delete(&rm);
	pfn_range_unregister(&r);
	free(c);
	munmap(raw, len);
}

/* A file's extents must be registered in its own mode. */
static void test_wrong_mode(void)
{
	size_t len = 3 * HUGE_SIZE;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem = (char *)align_up((uintptr_t)raw, HUGE_SIZE);
	struct pfn_range *r;
	struct mig_file *f = (void *)1;

	CHECK(raw != MAP_FAILED);
	CHECK_EQ(mig_file_new(DESC_PAGE, &mem, 1, NULL, &f), -EINVAL); /* not registered */
	CHECK(f == NULL);
	CHECK_OK(pfn_range_register(mem, 2 * HUGE_SIZE, PFN_KIND_PMEM, DESC_FOLIO, &r));
	CHECK_EQ(mig_file_new(DESC_PAGE, &mem, 1, NULL, &f), -EINVAL);
	CHECK_OK(mig_file_new(DESC_FOLIO, &mem, 1, NULL, &f));
	mig_file_delete(&f);
	pfn_range_unregister(&r);
	munmap(raw, len);
}

int main(void)
{
	test_wrong_mode();
	for (int m = 0; m < DESC_NR_MODES; m++)
		test_mode((enum desc_mode)m);
	printf("test_desc_migrate: ok\n");
	return 0;
}
