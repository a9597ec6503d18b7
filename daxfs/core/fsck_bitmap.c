/* SPDX-License-Identifier: MIT */
/*
 * fsck_bitmap.c - pass 3: the allocation bitmap against the blocks pass 1
 * granted. Blocks in use but marked free are marked (always safe). Blocks
 * marked used that nothing claims are freed only when no damage was left
 * unrepaired: an inode or directory that could not be read completely may
 * own blocks no claim names, and freeing them could hand its data to the
 * next allocation.
 */
#include <string.h>

#include "core.h"
#include "fsck_int.h"
#include "region.h"

void pass3(struct ck *c, bool quiet)
{
	struct daxfs *fs = c->fs;
	uint8_t *bm = dx_ptr(fs, blk_to_off(fs->bitmap_blk));
	size_t len = (size_t)((fs->total_blocks + 7) / 8);
	uint64_t first_leak = UINT64_MAX, first_unmarked = UINT64_MAX;
	bool free_leaks = !c->unresolved, mark, fixed;
	char buf[48];

	for (uint64_t b = 0; b < fs->data_blk; b++)
		c->claimed[b / 8] |= (uint8_t)(1U << (b % 8));
	c->leaked = c->unmarked = 0;
	for (uint64_t b = 0; b < fs->total_blocks; b++) {
		bool on = bm[b / 8] & (1U << (b % 8));
		bool want = claim_test(c, b);

		if (on && !want) {
			c->leaked++;
			if (first_leak == UINT64_MAX)
				first_leak = b;
		} else if (!on && want) {
			c->unmarked++;
			if (first_unmarked == UINT64_MAX)
				first_unmarked = b;
		}
	}
	if (quiet) {
		mark = c->unmarked || (c->leaked && free_leaks);
	} else {
		fixed = c->leaked && free_leaks && ck_fix(c, FIX_SAFE);
		if (c->leaked)
			problem(c, "bitmap", first_leak, fixed,
				"bitmap: %llu blocks marked used but owned by nobody (first "
				"%llu)%s",
				(unsigned long long)c->leaked, (unsigned long long)first_leak,
				ck_did(c, fixed, "freed", buf, sizeof(buf)));
		free_leaks = fixed;
		fixed = c->unmarked && ck_fix(c, FIX_SAFE);
		if (c->unmarked)
			problem(c, "bitmap", first_unmarked, fixed,
				"bitmap: %llu blocks in use but marked free (first %llu)%s",
				(unsigned long long)c->unmarked, (unsigned long long)first_unmarked,
				ck_did(c, fixed, "marked", buf, sizeof(buf)));
		mark = fixed || free_leaks;
	}
	/* bits past the end of the filesystem must be clear */
	uint64_t tail = 0;

	for (uint64_t b = fs->total_blocks; b < len * 8; b++)
		tail += (bm[b / 8] >> (b % 8)) & 1;
	for (size_t k = len; k < blk_to_off(fs->bitmap_nblks); k++)
		tail += bm[k] != 0;
	if (tail && !quiet) {
		fixed = ck_fix(c, FIX_SAFE);
		problem(c, "bitmap", fs->total_blocks, fixed,
			"bitmap: bits set past the last block%s",
			ck_did(c, fixed, "cleared", buf, sizeof(buf)));
		if (fixed) {
			mark = true;
			pmr_memset(fs->r, bm + len, 0, blk_to_off(fs->bitmap_nblks) - len, 0);
		}
	}
	if (!mark)
		return;
	if (!free_leaks) /* keep what is marked: only add */
		for (size_t k = 0; k < len; k++)
			c->claimed[k] |= bm[k];
	pmr_memcpy(fs->r, bm, c->claimed, len, 0);
	alloc_recount(fs);
}
