/* SPDX-License-Identifier: MIT */
/*
 * test_core_isolate - DAX isolation in the core (daxfs_isolate,
 * daxfs_reclaim) on a chunked region:
 *  - a small file packed with others gets a chunk of its own: its bytes
 *    are copied (one journaled move), the chunk holds its blocks and zeros
 *    and nothing of any other file or metadata; a second call moves
 *    nothing;
 *  - the allocator never puts another file's data or metadata into an
 *    excluded chunk, and statfs does not count its free space;
 *  - a big file written in small pieces moves only its first window, and
 *    every window keeps its offset within 2 MiB (huge mappings);
 *  - DAXFS_ISO_WHOLE puts a window in one chunk at its own offset;
 *  - daxfs_reclaim gives an emptied chunk back only once no other process
 *    holds a descriptor of it; a chunk held when the filesystem is opened
 *    stays out of the allocator's hands;
 *  - a crash at any step of the move leaves the file's bytes intact and a
 *    clean filesystem; a read-only filesystem refuses to move (-EROFS) but
 *    hands out a file that is isolated already.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core.h"
#include "test_core_util.h"
#include "units.h"

#define SIZE (64 * MiB)
#define CB (2 * MiB) /* chunk bytes */

static char path[512];

static void cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", path);
}

static void mkfs_chunked(void)
{
	struct daxfs_mkfs_opts o = {.label = "iso"};
	struct pmr_region *r;

	test_path(path, sizeof(path), "iso");
	cleanup();
	atexit(cleanup);
	CHECK_OK(pmr_create(path, SIZE, PMR_F_CHUNKED, &r));
	CHECK_OK(daxfs_mkfs(r, &o));
	pmr_close(&r);
}

static uint64_t mkfile(struct daxfs *fs, const char *name, uint64_t len, uint8_t seed, size_t piece)
{
	struct daxfs_attr a;
	uint8_t *buf = malloc(piece);
	size_t done;

	CHECK(buf);
	CHECK_OK(daxfs_create(fs, 1, name, 0644, 0, 0, &a));
	for (uint64_t o = 0; o < len; o += piece) {
		size_t n = len - o < piece ? (size_t)(len - o) : piece;

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)(seed + (o + k) / 4096 + (o + k) % 251);
		CHECK_OK(daxfs_write(fs, a.ino, o, n, buf, &done));
		CHECK_EQ(done, n);
	}
	free(buf);
	return a.ino;
}

static void check_file(struct daxfs *fs, uint64_t ino, uint64_t len, uint8_t seed)
{
	uint8_t *buf = malloc(len);
	size_t done;

	CHECK(buf);
	CHECK_OK(daxfs_read(fs, ino, 0, len, buf, &done));
	CHECK_EQ(done, len);
	for (uint64_t k = 0; k < len; k++)
		if (buf[k] != (uint8_t)(seed + k / 4096 + k % 251)) {
			fprintf(stderr, "ino %llu byte %llu wrong\n", (unsigned long long)ino,
				(unsigned long long)k);
			exit(1);
		}
	free(buf);
}

/* Which chunks a file's blocks live in: a bitmap over the region's chunks. */
struct where {
	uint8_t in[SIZE / CB];
	uint64_t blocks, misaligned;
};

static int where_cb(void *ctx, const struct daxfs_map *m)
{
	struct where *w = ctx;

	for (uint64_t o = 0; o < m->len; o += 4096)
		w->in[(m->region_off + o) / CB] = 1;
	w->blocks += m->len / 4096;
	w->misaligned += (m->region_off - m->file_off) % CB != 0;
	return 0;
}

static struct where where_of(struct daxfs *fs, uint64_t ino)
{
	struct where w;

	memset(&w, 0, sizeof(w));
	CHECK_OK(daxfs_extent_map(fs, ino, where_cb, &w));
	return w;
}

/* the chunk's bytes outside the file's blocks are all zero */
static void chunk_only_file(struct daxfs *fs, uint64_t c, uint64_t ino, uint64_t len, uint8_t seed)
{
	const uint8_t *base = (const uint8_t *)pmr_addr(daxfs_region(fs)) + c * CB;
	uint8_t *want = calloc(1, CB);
	struct daxfs_map m;

	CHECK(want);
	for (uint64_t o = 0; o < len; o += 4096) {
		CHECK_OK(daxfs_bmap(fs, ino, o, 4096, 0, &m));
		CHECK_EQ(m.region_off / CB, c);
		for (uint64_t k = 0; k < 4096 && o + k < len; k++)
			want[m.region_off % CB + k] = (uint8_t)(seed + (o + k) / 4096 + (o + k) % 251);
	}
	CHECK(!memcmp(base, want, CB));
	free(want);
}

static void test_small(struct daxfs *fs, uint64_t *a_ino, uint64_t *a_chunk)
{
	struct daxfs_iso_cost cost;
	struct daxfs_iso_stats is;
	struct daxfs_statfs st0, st1;
	struct where wa, wb, w;
	uint64_t a, b, big, *chunks;
	size_t nr;

	a = mkfile(fs, "a", 8192, 1, 4096);
	b = mkfile(fs, "b", 12288, 2, 4096);
	wa = where_of(fs, a);
	wb = where_of(fs, b);
	/* packed together, as small files are */
	bool shared = false;

	for (unsigned c = 0; c < SIZE / CB; c++)
		shared |= wa.in[c] && wb.in[c];
	CHECK(shared);
	CHECK_OK(daxfs_pin(fs, a));
	CHECK_OK(daxfs_statfs(fs, &st0));
	CHECK_OK(daxfs_isolate(fs, a, 0, 8192, DAXFS_ISO_ALLOC, &chunks, &nr, &cost));
	CHECK_EQ(nr, 1);
	CHECK_EQ(cost.moved_bytes, 8192);
	CHECK_EQ(cost.new_chunks, 1);
	CHECK_EQ(cost.zeroed_bytes, CB);
	*a_chunk = chunks[0];
	chunk_only_file(fs, chunks[0], a, 8192, 1);
	check_file(fs, a, 8192, 1);
	check_file(fs, b, 12288, 2);
	w = where_of(fs, a);
	CHECK(w.in[chunks[0]]);
	CHECK_EQ(w.blocks, 2);
	CHECK_EQ(w.misaligned, 0);
	free(chunks);

	/* again: nothing to move */
	CHECK_OK(daxfs_isolate(fs, a, 0, 8192, DAXFS_ISO_ALLOC, &chunks, &nr, &cost));
	CHECK_EQ(nr, 1);
	CHECK_EQ(chunks[0], *a_chunk);
	CHECK_EQ(cost.moved_bytes + cost.zeroed_bytes + cost.new_chunks, 0);
	free(chunks);

	/* the rest of the chunk is not free for anybody else */
	CHECK_OK(daxfs_statfs(fs, &st1));
	/* 2 new blocks, 2 old ones kept while pinned, 510 kept for the file */
	CHECK_EQ(st1.free_blocks, st0.free_blocks - 512);
	for (int k = 0; k < 40; k++) {
		char name[16];
		uint64_t g;

		snprintf(name, sizeof(name), "g%02d", k);
		g = mkfile(fs, name, 4096 * (1 + k % 5), 9, 4096);
		w = where_of(fs, g);
		CHECK(!w.in[*a_chunk]);
	}
	CHECK_OK(daxfs_mkdir(fs, 1, "d", 0755, 0, 0, NULL));
	big = mkfile(fs, "big", 5 * MiB + 4096, 3, 4096);
	w = where_of(fs, big);
	CHECK(!w.in[*a_chunk]);
	daxfs_iso_get_stats(fs, &is);
	CHECK(is.excluded_chunks >= 1);
	CHECK_EQ(is.excluded_free, 510);
	CHECK_EQ(is.moved_bytes, 8192);
	*a_ino = a;
}

static void test_big(struct daxfs *fs)
{
	struct daxfs_iso_cost cost;
	struct daxfs_attr at;
	uint64_t big, *chunks;
	struct where w;
	size_t nr;

	CHECK_OK(daxfs_lookup(fs, 1, "big", &at));
	big = at.ino;
	CHECK_OK(daxfs_pin(fs, big));
	CHECK_OK(daxfs_isolate(fs, big, 0, 5 * MiB + 4096, DAXFS_ISO_ALLOC, &chunks, &nr, &cost));
	CHECK_EQ(nr, 3);
	CHECK(cost.moved_bytes > 0 && cost.moved_bytes <= CB); /* the first window only */
	check_file(fs, big, 5 * MiB + 4096, 3);
	w = where_of(fs, big);
	CHECK_EQ(w.misaligned, 0);
	free(chunks);
	CHECK_OK(daxfs_unpin(fs, big));
}

static void test_whole(struct daxfs *fs)
{
	struct daxfs_iso_cost cost;
	uint64_t f, *chunks;
	struct where w;
	size_t nr;

	f = mkfile(fs, "w", 12288, 5, 4096);
	CHECK_OK(daxfs_pin(fs, f));
	CHECK_OK(daxfs_isolate(fs, f, 0, CB, DAXFS_ISO_ALLOC | DAXFS_ISO_WHOLE, &chunks, &nr,
			       &cost));
	CHECK_EQ(nr, 1);
	w = where_of(fs, f);
	CHECK_EQ(w.blocks, 512); /* the window, holes allocated */
	CHECK_EQ(w.misaligned, 0);
	check_file(fs, f, 12288, 5);
	free(chunks);
	CHECK_OK(daxfs_unpin(fs, f));
}

/*
 * a child keeps a descriptor of chunk @c, and nothing else of ours, until
 * its pipe closes; returns once it has let go of the rest
 */
static pid_t hold_chunk(struct daxfs *fs, uint64_t c, int *go)
{
	int p[2], ready[2], fd;
	pid_t pid;
	char b;

	CHECK_OK(pmr_chunk_give(daxfs_region(fs), c, true, &fd));
	CHECK_OK(pipe(p));
	CHECK_OK(pipe(ready));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* like a client: the region's lock and mapping go too */
		for (int k = 3; k < 1024; k++)
			if (k != p[0] && k != fd && k != ready[1])
				close(k);
		munmap(pmr_addr(daxfs_region(fs)), pmr_size(daxfs_region(fs)));
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(p[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	close(fd);
	CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);
	*go = p[1];
	return pid;
}

static void release(pid_t pid, int go)
{
	int st;

	close(go);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
}

static void test_reclaim(struct daxfs *fs, uint64_t a, uint64_t c)
{
	struct daxfs_iso_stats is;
	int go;
	pid_t pid = hold_chunk(fs, c, &go);

	CHECK_OK(daxfs_unpin(fs, a));
	CHECK_OK(daxfs_unlink(fs, 1, "a"));
	daxfs_iso_get_stats(fs, &is);
	CHECK(is.waiting_chunks >= 1);
	CHECK_EQ(daxfs_reclaim(fs), 0); /* the child holds it */
	CHECK(pmr_chunk_exposed(daxfs_region(fs), c));
	release(pid, go);
	CHECK(daxfs_reclaim(fs) >= 1);
	CHECK(!pmr_chunk_exposed(daxfs_region(fs), c));
	daxfs_iso_get_stats(fs, &is);
	CHECK(is.reclaimed >= 1);
}

/* A chunk held by another process when the fs is opened stays excluded. */
static void test_held_at_open(void)
{
	struct daxfs_iso_stats is;
	struct daxfs *fs = core_open(path);
	uint64_t f, c, *chunks;
	struct where w;
	size_t nr;
	int go;
	pid_t pid;

	f = mkfile(fs, "held", 4096, 7, 4096);
	CHECK_OK(daxfs_pin(fs, f));
	CHECK_OK(daxfs_isolate(fs, f, 0, 4096, 0, &chunks, &nr, NULL));
	c = chunks[0];
	free(chunks);
	pid = hold_chunk(fs, c, &go);
	CHECK_OK(daxfs_unpin(fs, f));
	CHECK_OK(daxfs_unlink(fs, 1, "held")); /* as after rm while mapped */
	CHECK_OK(daxfs_close(&fs));

	fs = core_open(path);
	daxfs_iso_get_stats(fs, &is);
	CHECK(is.excluded_chunks >= 1);
	CHECK_EQ(daxfs_reclaim(fs), 0);
	for (int k = 0; k < 30; k++) {
		char name[16];
		uint64_t g;

		snprintf(name, sizeof(name), "h%02d", k);
		g = mkfile(fs, name, 4096 * (1 + k % 3), 11, 4096);
		w = where_of(fs, g);
		CHECK(!w.in[c]);
	}
	release(pid, go);
	CHECK(daxfs_reclaim(fs) >= 1);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
}

/* A crash at each step of the move's commit leaves the bytes and a clean fs. */
static void test_crash(void)
{
	for (int step = 1; step <= 4; step++) {
		struct daxfs *fs = core_open(path);
		char name[16];
		uint64_t f;
		pid_t pid;
		int st;

		snprintf(name, sizeof(name), "c%d", step);
		f = mkfile(fs, name, 20480, (uint8_t)(20 + step), 4096);
		CHECK_OK(daxfs_close(&fs)); /* the child owns the region until it dies */
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			uint64_t *chunks;
			size_t nr;

			fs = core_open(path);
			daxfs_test_crash_at(1, step);
			daxfs_pin(fs, f);
			daxfs_isolate(fs, f, 0, 20480, DAXFS_ISO_ALLOC, &chunks, &nr, NULL);
			_exit(0);
		}
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == DAXFS_TEST_CRASH_EXIT);
		fs = core_open(path);
		check_file(fs, f, 20480, (uint8_t)(20 + step));
		CHECK_OK(daxfs_close(&fs));
		core_fsck_clean(path);
	}
}

static void test_rdonly(void)
{
	struct daxfs *fs = core_open(path);
	struct daxfs_attr at;
	uint64_t f, g, *chunks;
	size_t nr;

	f = mkfile(fs, "ro-iso", 4096, 30, 4096);
	g = mkfile(fs, "ro-shared", 4096, 31, 4096);
	CHECK_OK(daxfs_isolate(fs, f, 0, 4096, 0, &chunks, &nr, NULL));
	free(chunks);
	CHECK_OK(daxfs_close(&fs));
	CHECK_OK(daxfs_open(path, DAXFS_O_RDONLY, &fs));
	CHECK_OK(daxfs_lookup(fs, 1, "ro-iso", &at));
	CHECK_OK(daxfs_isolate(fs, at.ino, 0, 4096, 0, &chunks, &nr, NULL));
	CHECK_EQ(nr, 1);
	free(chunks);
	CHECK_EQ(daxfs_isolate(fs, g, 0, 4096, 0, &chunks, &nr, NULL), -EROFS);
	CHECK_OK(daxfs_close(&fs));
}

int main(void)
{
	struct daxfs *fs;
	uint64_t a, c;

	mkfs_chunked();
	fs = core_open(path);
	test_small(fs, &a, &c);
	test_big(fs);
	test_whole(fs);
	test_reclaim(fs, a, c);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	test_held_at_open();
	test_crash();
	test_rdonly();
	core_fsck_clean(path);
	printf("ok\n");
	return 0;
}
