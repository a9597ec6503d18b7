/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - block allocator that keeps 2 MiB alignment available.
 *
 * The on-media bitmap (1 bit per 4 KiB block, set = used) is the truth and
 * every change goes through the running transaction. In DRAM we keep the
 * number of free blocks in each 2 MiB chunk, rebuilt at open. Policy:
 *  - huge requests take whole free chunks (2 MiB aligned in the region),
 *    contiguous after @goal when possible;
 *  - small requests go to chunks that are already partly used (the fullest
 *    first-fit candidates at the lowest address), and only break a whole
 *    free chunk when no partly used chunk has room. So free chunks stay
 *    whole as the filesystem ages, and small files are packed.
 * Blocks freed by a transaction become allocatable after its commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "errmsg.h"

static uint64_t bits_per_blk(void)
{
	return (uint64_t)BLK_SIZE * 8;
}

static const uint8_t *bitmap_byte(struct daxfs *fs, uint64_t blk)
{
	uint64_t bblk = fs->bitmap_blk + blk / bits_per_blk();
	uint64_t byte = (blk % bits_per_blk()) / 8;

	return tx_read(fs, blk_to_off(bblk) + byte);
}

bool bitmap_test(struct daxfs *fs, uint64_t blk)
{
	return *bitmap_byte(fs, blk) & (1U << (blk % 8));
}

static void bitmap_set_range(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	while (len) {
		uint64_t bblk = fs->bitmap_blk + pblk / bits_per_blk();
		uint64_t bit = pblk % bits_per_blk();
		uint64_t n = len;
		uint8_t *p;

		if (bit + n > bits_per_blk())
			n = bits_per_blk() - bit;
		p = tx_write(fs, blk_to_off(bblk) + bit / 8, (bit + n - 1) / 8 - bit / 8 + 1);
		p -= bit / 8;
		for (uint64_t k = bit; k < bit + n; k++) {
			assert(!(p[k / 8] & (1U << (k % 8))));
			p[k / 8] |= (uint8_t)(1U << (k % 8));
		}
		pblk += n;
		len -= n;
	}
}

void alloc_recount(struct daxfs *fs)
{
	const uint8_t *bm = dx_ptr(fs, blk_to_off(fs->bitmap_blk));

	fs->free_blocks = 0;
	fs->free_chunks = 0;
	for (uint64_t c = 0; c < fs->nchunks; c++) {
		unsigned used = 0;
		const uint8_t *p = bm + c * (CHUNK_BLKS / 8);

		for (unsigned k = 0; k < CHUNK_BLKS / 8; k++)
			used += (unsigned)__builtin_popcount(p[k]);
		fs->chunk_free[c] = (uint16_t)(CHUNK_BLKS - used);
		fs->free_blocks += CHUNK_BLKS - used;
		if (!used)
			fs->free_chunks++;
	}
}

int alloc_init(struct daxfs *fs)
{
	fs->nchunks = fs->total_blocks / CHUNK_BLKS;
	fs->chunk_free = calloc(fs->nchunks ? fs->nchunks : 1, sizeof(*fs->chunk_free));
	if (!fs->chunk_free)
		return -ENOMEM;
	alloc_recount(fs);
	fs->small_chunk = 0;
	return 0;
}

void alloc_check_meta(struct daxfs *fs)
{
	for (uint64_t b = 0; b < fs->data_blk; b++) {
		if (!bitmap_test(fs, b)) {
			dx_corrupt(fs, DAXFS_ERR_BITMAP, DAXFS_WHY_FIELD, 0, fs->bitmap_blk,
				   "fixed metadata block %llu is marked free",
				   (unsigned long long)b);
			return;
		}
	}
}

void alloc_destroy(struct daxfs *fs)
{
	free(fs->chunk_free);
	fs->chunk_free = NULL;
}

static void take(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	bitmap_set_range(fs, pblk, len);
	while (len) {
		uint64_t c = pblk / CHUNK_BLKS;
		uint64_t n = CHUNK_BLKS - pblk % CHUNK_BLKS;

		if (n > len)
			n = len;
		if (fs->chunk_free[c] == CHUNK_BLKS)
			fs->free_chunks--;
		fs->chunk_free[c] = (uint16_t)(fs->chunk_free[c] - n);
		fs->free_blocks -= n;
		pblk += n;
		len -= n;
	}
}

void alloc_release(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	fs->stats.freed_blocks += len;
	vmap_clear(fs, pblk, len); /* reused as anything from now on */
	while (len) {
		uint64_t c = pblk / CHUNK_BLKS;
		uint64_t n = CHUNK_BLKS - pblk % CHUNK_BLKS;

		if (n > len)
			n = len;
		fs->chunk_free[c] = (uint16_t)(fs->chunk_free[c] + n);
		if (fs->chunk_free[c] == CHUNK_BLKS)
			fs->free_chunks++;
		fs->free_blocks += n;
		pblk += n;
		len -= n;
	}
}

/* free run starting at @start inside chunk @c, up to @want blocks */
static uint64_t run_at(struct daxfs *fs, uint64_t start, uint64_t want)
{
	uint64_t end = (start / CHUNK_BLKS + 1) * CHUNK_BLKS, n = 0;

	while (start + n < end && n < want && !bitmap_test(fs, start + n))
		n++;
	return n;
}

static int alloc_huge(struct daxfs *fs, uint64_t want, uint64_t goal, struct dx_range *out)
{
	uint64_t want_chunks = want / CHUNK_BLKS, best = UINT64_MAX, best_n = 0;

	if (!fs->free_chunks)
		return -ENOSPC;
	if (goal >= fs->data_blk && goal % CHUNK_BLKS == 0 && goal / CHUNK_BLKS < fs->nchunks &&
	    fs->chunk_free[goal / CHUNK_BLKS] == CHUNK_BLKS) {
		best = goal / CHUNK_BLKS;
		best_n = 1;
		while (best_n < want_chunks && best + best_n < fs->nchunks &&
		       fs->chunk_free[best + best_n] == CHUNK_BLKS)
			best_n++;
	}
	for (uint64_t c = 0; c < fs->nchunks && best_n < want_chunks; c++) {
		uint64_t n = 0;

		while (c + n < fs->nchunks && n < want_chunks &&
		       fs->chunk_free[c + n] == CHUNK_BLKS && (c + n) * CHUNK_BLKS >= fs->data_blk)
			n++;
		if (n > best_n) {
			best = c;
			best_n = n;
		}
		c += n;
	}
	if (!best_n)
		return -ENOSPC;
	out->pblk = best * CHUNK_BLKS;
	out->len = best_n * CHUNK_BLKS;
	take(fs, out->pblk, out->len);
	fs->stats.alloc_huge++;
	return 0;
}

static bool try_chunk(struct daxfs *fs, uint64_t c, uint64_t want, struct dx_range *out)
{
	uint64_t base = c * CHUNK_BLKS;

	if (!fs->chunk_free[c])
		return false;
	/* a bitmap that calls fixed metadata free is corrupt: never hand it out */
	for (uint64_t b = base < fs->data_blk ? fs->data_blk : base; b < base + CHUNK_BLKS; b++) {
		uint64_t n;

		if (bitmap_test(fs, b))
			continue;
		n = run_at(fs, b, want);
		out->pblk = b;
		out->len = n;
		return true;
	}
	return false;
}

static int alloc_small(struct daxfs *fs, uint64_t want, uint64_t goal, struct dx_range *out)
{
	uint64_t c;

	if (!fs->free_blocks)
		return -ENOSPC;
	/* extend the caller's previous run when its chunk is already in use */
	if (goal >= fs->data_blk && goal < fs->total_blocks &&
	    fs->chunk_free[goal / CHUNK_BLKS] != CHUNK_BLKS && !bitmap_test(fs, goal)) {
		out->pblk = goal;
		out->len = run_at(fs, goal, want);
		goto found;
	}
	c = fs->small_chunk;
	if (c < fs->nchunks && fs->chunk_free[c] && fs->chunk_free[c] != CHUNK_BLKS &&
	    try_chunk(fs, c, want, out))
		goto found;
	for (c = 0; c < fs->nchunks; c++) {
		if (fs->chunk_free[c] && fs->chunk_free[c] != CHUNK_BLKS &&
		    try_chunk(fs, c, want, out))
			goto found_chunk;
	}
	/* break a whole chunk: the highest one, keeping low runs long */
	for (c = fs->nchunks; c-- > 0;) {
		if (fs->chunk_free[c] == CHUNK_BLKS && try_chunk(fs, c, want, out))
			goto found_chunk;
	}
	return -ENOSPC;
found_chunk:
	fs->small_chunk = c;
found:
	take(fs, out->pblk, out->len);
	return 0;
}

/*
 * alloc_blocks - allocate up to @want contiguous blocks (at least one) in
 * the running transaction. @huge asks for whole 2 MiB chunks (@want a
 * multiple of 512 blocks) and fails with -ENOSPC when none is free, so the
 * caller may fall back to small blocks. @goal (0 = none) is the block the
 * caller would like to continue from.
 */
int alloc_blocks(struct daxfs *fs, uint64_t want, bool huge, uint64_t goal, struct dx_range *out)
{
	int err;

	assert(want > 0);
	if (dx_readonly(fs))
		return -EROFS;
	err = huge ? alloc_huge(fs, want, goal, out) : alloc_small(fs, want, goal, out);
	if (err)
		return err;
	fs->stats.alloc_calls++;
	fs->stats.alloc_blocks += out->len;
	return 0;
}
