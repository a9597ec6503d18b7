/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - block allocator that keeps 2 MiB alignment where it pays
 * without spending 2 MiB where it does not.
 *
 * The on-media bitmap (1 bit per 4 KiB block, set = used) is the truth and
 * every change goes through the running transaction. In DRAM we keep the
 * number of free blocks in each 2 MiB chunk, rebuilt at open, and which
 * chunks are reserved for one file's 2 MiB window. Three kinds of request:
 *  - huge: whole free chunks (2 MiB aligned in the region), contiguous
 *    after @goal when possible; for writes that cover whole windows of a
 *    file, and the entry point that gives a file aligned chunks of its own
 *    (DAX mmap);
 *  - aligned (alloc_aligned): the blocks a file writes inside one 2 MiB
 *    window of a large file, each at the place in the window's chunk that
 *    matches its file offset. The first write reserves a free chunk for the
 *    window (in DRAM only) and takes only the blocks written; later writes
 *    fill the same chunk, so a window written bit by bit still ends up as
 *    one aligned 2 MiB extent, while a sparse file costs only what it
 *    wrote;
 *  - small: chunks that are already partly used and not reserved (the
 *    fullest first-fit candidates at the lowest address), and only then a
 *    whole free chunk, the highest. So free chunks stay whole as the
 *    filesystem ages, and small files are packed.
 * New reservations stop while only a sixteenth of the chunks is wholly
 * free: those are kept for writes of whole windows, and a sparse write then
 * gets small blocks. Reservations are hints, never space: their free blocks stay free in the
 * bitmap and in statfs. When a small request finds no room elsewhere it
 * takes the reserved chunk with the most free blocks and the reservation
 * ends (space pressure beats alignment). A reservation also ends when its
 * chunk becomes wholly free. They are not on the media: at open
 * (alloc_resv_rebuild) the windows that large files fill in part reserve
 * their chunks again, and a later write to a window takes its chunk back.
 * Blocks freed by a transaction become allocatable after its commit.
 * Chunks kept for DAX isolation (chunk_excluded(), isolate.c) are skipped:
 * only isolate.c places blocks there (alloc_at), and the windowed writes of
 * the file they are kept for (alloc_aligned).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "units.h"

/* reservations stop while at most nchunks / this many chunks are wholly free */
#define RESV_FLOOR_DIV 16

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

/* unreserve - chunk @c is no longer reserved for a window (if it was) */
static void unreserve(struct daxfs *fs, uint64_t c)
{
	if (fs->chunk_owner[c]) {
		fs->chunk_owner[c] = 0;
		fs->resv_chunks--;
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
		if (!used) {
			fs->free_chunks++;
			unreserve(fs, c);
		}
	}
}

int alloc_init(struct daxfs *fs)
{
	fs->nchunks = fs->total_blocks / CHUNK_BLKS;
	fs->chunk_free = calloc(fs->nchunks ? fs->nchunks : 1, sizeof(*fs->chunk_free));
	fs->chunk_owner = calloc(fs->nchunks ? fs->nchunks : 1, sizeof(*fs->chunk_owner));
	if (!fs->chunk_free || !fs->chunk_owner) {
		alloc_destroy(fs);
		return -ENOMEM;
	}
	fs->resv_chunks = 0;
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

/* what alloc_check_data() has seen: the inode being walked, and the first miss */
struct datacheck {
	uint64_t ino;
	bool sound; /* its checksum holds: its extents are worth checking */
	uint64_t bad_ino, bad_blk;
};

static void check_extent(struct daxfs *fs, uint64_t ino, uint64_t l, uint64_t len, uint64_t p,
			 void *ctx)
{
	struct datacheck *c = ctx;

	(void)l;
	if (ino != c->ino) {
		c->ino = ino;
		c->sound = di_crc_ok(fs, ino, di_read(fs, ino));
	}
	if (c->bad_blk || !c->sound || !dx_in_data(fs, p, len))
		return;
	for (uint64_t b = p; b < p + len; b++) {
		if (!bitmap_test(fs, b)) {
			c->bad_ino = ino;
			c->bad_blk = b;
			return;
		}
	}
}

/* a sealed block of @magic owned by @ino at @blk, or NULL */
static const void *owned_blk(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino)
{
	const struct daxfs_blkhdr *h;

	if (!dx_in_data(fs, blk, 1))
		return NULL;
	h = dx_ptr(fs, blk_to_off(blk));
	return le32_to_cpu(h->magic) == magic && le64_to_cpu(h->ino) == ino ? h : NULL;
}

/* the nodes of directory @ino's tree, depth first, no more than it counts */
static void dir_nodes_raw(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di,
			  ext_raw_fn fn, void *ctx)
{
	struct {
		uint64_t blk;
		unsigned next;
	} st[32];
	uint64_t max = le64_to_cpu(di->dir.nblocks), seen = 1;
	unsigned d = 0;

	st[0].blk = le64_to_cpu(di->dir.root);
	st[0].next = 0;
	if (!dx_in_data(fs, st[0].blk, 1))
		return;
	fn(fs, ino, 0, 1, st[0].blk, ctx);
	for (;;) {
		const struct daxfs_dnode *n = owned_blk(fs, st[d].blk, DAXFS_DIR_MAGIC, ino);
		unsigned ns = n ? le16_to_cpu(n->nslots) : 0;

		if (!n || !le16_to_cpu(n->level) || ns > DAXFS_DINDEX_MAX || st[d].next >= ns) {
			if (!d--)
				return;
			continue;
		}
		const struct daxfs_dindex *x = (const void *)(n + 1);
		uint64_t child = le64_to_cpu(x[st[d].next++].child);

		if (!dx_in_data(fs, child, 1) || ++seen > max)
			return; /* a bad tree: the reads that meet it say so */
		fn(fs, ino, 0, 1, child, ctx);
		if (le16_to_cpu(n->level) > 1 && d + 1 < 32) {
			d++;
			st[d].blk = child;
			st[d].next = 0;
		}
	}
}

void alloc_check_data(struct daxfs *fs)
{
	struct datacheck c = {0};

	inode_walk_raw(fs, 0, check_extent, check_extent, &c);
	if (c.bad_blk)
		dx_corrupt(fs, DAXFS_ERR_BITMAP, DAXFS_WHY_FIELD, c.bad_ino,
			   fs->bitmap_blk + c.bad_blk / bits_per_blk(),
			   "block %llu of inode %llu is marked free", (unsigned long long)c.bad_blk,
			   (unsigned long long)c.bad_ino);
}

void alloc_destroy(struct daxfs *fs)
{
	free(fs->chunk_free);
	free(fs->chunk_owner);
	fs->chunk_free = NULL;
	fs->chunk_owner = NULL;
}

/*
 * take - mark [pblk, pblk+len) used. The caller writes every byte of the
 * blocks in the same transaction (new data blocks are zeroed, new metadata
 * blocks are written whole), so emulated bad sectors under them are
 * rewritten: tell the owner of the list (daxfs_set_badblocks).
 */
static void take(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	if (fs->bad.clear)
		fs->bad.clear(fs->bad.ctx, blk_to_off(pblk), blk_to_off(len));
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
	owner_forget(fs, pblk, len); /* the blocks have no owner any more */
	vmap_clear(fs, pblk, len);   /* reused as anything from now on */
	while (len) {
		uint64_t c = pblk / CHUNK_BLKS;
		uint64_t n = CHUNK_BLKS - pblk % CHUNK_BLKS;

		if (n > len)
			n = len;
		fs->chunk_free[c] = (uint16_t)(fs->chunk_free[c] + n);
		if (fs->chunk_free[c] == CHUNK_BLKS) {
			fs->free_chunks++;
			unreserve(fs, c);
		}
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

/* a wholly free data chunk that general allocation may use */
static bool chunk_whole(struct daxfs *fs, uint64_t c)
{
	return fs->chunk_free[c] == CHUNK_BLKS && !chunk_excluded(fs, c) &&
	       c * CHUNK_BLKS >= fs->data_blk;
}

static int alloc_huge(struct daxfs *fs, uint64_t want, uint64_t goal, struct dx_range *out)
{
	uint64_t want_chunks = want / CHUNK_BLKS, best = UINT64_MAX, best_n = 0;

	if (!fs->free_chunks)
		return -ENOSPC;
	if (goal >= fs->data_blk && goal % CHUNK_BLKS == 0 && goal / CHUNK_BLKS < fs->nchunks &&
	    chunk_whole(fs, goal / CHUNK_BLKS)) {
		best = goal / CHUNK_BLKS;
		best_n = 1;
		while (best_n < want_chunks && best + best_n < fs->nchunks &&
		       chunk_whole(fs, best + best_n))
			best_n++;
	}
	for (uint64_t c = 0; c < fs->nchunks && best_n < want_chunks; c++) {
		uint64_t n = 0;

		while (c + n < fs->nchunks && n < want_chunks && chunk_whole(fs, c + n))
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

	if (!fs->chunk_free[c] || chunk_excluded(fs, c))
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

/* partly used and not reserved: where small requests go first */
static bool packable(struct daxfs *fs, uint64_t c)
{
	return fs->chunk_free[c] && fs->chunk_free[c] != CHUNK_BLKS && !fs->chunk_owner[c] &&
	       !chunk_excluded(fs, c);
}

/*
 * steal - under space pressure, end the reservation of the reserved chunk
 * with the most free blocks and return it (UINT64_MAX if none has room).
 */
static uint64_t steal(struct daxfs *fs)
{
	uint64_t best = UINT64_MAX;

	if (!fs->resv_chunks)
		return best;
	for (uint64_t c = 0; c < fs->nchunks; c++) {
		if (fs->chunk_owner[c] && fs->chunk_free[c] && !chunk_excluded(fs, c) &&
		    (best == UINT64_MAX || fs->chunk_free[c] > fs->chunk_free[best]))
			best = c;
	}
	if (best != UINT64_MAX) {
		unreserve(fs, best);
		fs->stats.resv_broken++;
	}
	return best;
}

static int alloc_small(struct daxfs *fs, uint64_t want, uint64_t goal, struct dx_range *out)
{
	uint64_t c;

	if (!fs->free_blocks)
		return -ENOSPC;
	/* extend the caller's previous run when its chunk is already in use */
	if (goal >= fs->data_blk && goal < fs->total_blocks && packable(fs, goal / CHUNK_BLKS) &&
	    !bitmap_test(fs, goal)) {
		out->pblk = goal;
		out->len = run_at(fs, goal, want);
		goto found;
	}
	c = fs->small_chunk;
	if (c < fs->nchunks && packable(fs, c) && try_chunk(fs, c, want, out))
		goto found;
	for (c = 0; c < fs->nchunks; c++) {
		if (packable(fs, c) && try_chunk(fs, c, want, out))
			goto found_chunk;
	}
	/* break a whole chunk: the highest one, keeping low runs long */
	for (c = fs->nchunks; c-- > 0;) {
		if (chunk_whole(fs, c) && try_chunk(fs, c, want, out))
			goto found_chunk;
	}
	/* only reserved chunks have room left: space beats alignment */
	c = steal(fs);
	if (c != UINT64_MAX && try_chunk(fs, c, want, out))
		goto found_chunk;
	return -ENOSPC;
found_chunk:
	fs->small_chunk = c;
found:
	take(fs, out->pblk, out->len);
	return 0;
}

/*
 * a wholly free chunk to reserve: @goal if it is one, else the next after
 * the cursor. The last sixteenth of the chunks is kept for whole windows:
 * a sparse write does not take the chunks that a large write needs.
 */
static uint64_t pick_free_chunk(struct daxfs *fs, uint64_t goal)
{
	if (fs->free_chunks <= fs->nchunks / RESV_FLOOR_DIV)
		return UINT64_MAX;
	if (goal < fs->nchunks && chunk_whole(fs, goal))
		return goal;
	for (uint64_t n = 0, c = fs->resv_cursor; n < fs->nchunks; n++, c++) {
		if (c >= fs->nchunks)
			c = 0;
		if (chunk_whole(fs, c)) {
			fs->resv_cursor = c + 1;
			return c;
		}
	}
	return UINT64_MAX;
}

/* count @len blocks just taken, drawing on the running writeback's credit */
static void alloc_account(struct daxfs *fs, uint64_t len)
{
	uint64_t use = fs->credit - fs->credit_used;

	fs->credit_used += len < use ? len : use;
	fs->stats.alloc_calls++;
	fs->stats.alloc_blocks += len;
}

int alloc_aligned(struct daxfs *fs, uint64_t ino, uint64_t chunk, uint64_t goal, uint64_t lblk,
		  uint64_t want, struct dx_range *out)
{
	uint64_t in = lblk % CHUNK_BLKS, avail = alloc_avail(fs);

	assert(want > 0 && in + want <= CHUNK_BLKS && ino);
	if (fs->rdonly)
		return -EROFS;
	if (want > avail)
		want = avail; /* blocks set aside for cached writes stay theirs */
	if (!want)
		return -ENOSPC;
	if (chunk == UINT64_MAX) {
		chunk = pick_free_chunk(fs, goal);
		if (chunk == UINT64_MAX)
			return -ENOSPC;
		fs->stats.alloc_resv++;
	} else if (chunk >= fs->nchunks ||
		   (fs->chunk_owner[chunk] && fs->chunk_owner[chunk] != ino) ||
		   (chunk_excluded(fs, chunk) && fs->iso_owner[chunk] != ino) ||
		   bitmap_test(fs, chunk * CHUNK_BLKS + in)) {
		return -ENOSPC;
	}
	if (!fs->chunk_owner[chunk]) {
		/* new, or taken back after a remount or a steal */
		fs->chunk_owner[chunk] = ino;
		fs->resv_chunks++;
	}
	out->pblk = chunk * CHUNK_BLKS + in;
	out->len = run_at(fs, out->pblk, want);
	take(fs, out->pblk, out->len);
	alloc_account(fs, out->len);
	return 0;
}

/* note_extent - @ino has an extent: reserve the chunks of windows it fills in part */
static void note_extent(struct daxfs *fs, uint64_t ino, uint64_t l, uint64_t len, uint64_t p,
			void *ctx)
{
	(void)ctx;
	if (!len || p % CHUNK_BLKS != l % CHUNK_BLKS || p >= fs->total_blocks ||
	    len > fs->total_blocks - p)
		return;
	while (len) {
		uint64_t c = p / CHUNK_BLKS, n = CHUNK_BLKS - l % CHUNK_BLKS;

		if (n > len)
			n = len;
		/* a window filled in part whose chunk still has room */
		if (n < CHUNK_BLKS && fs->chunk_free[c] && !fs->chunk_owner[c]) {
			fs->chunk_owner[c] = ino;
			fs->resv_chunks++;
		}
		l += n;
		p += n;
		len -= n;
	}
}

/* the metadata blocks of inode @ino other than its extent blocks */
static void other_meta_raw(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di,
			   ext_raw_fn fn, void *ctx)
{
	uint32_t mode = le32_to_cpu(di->mode);
	uint64_t xb = le64_to_cpu(di->xattr_blk);
	const struct daxfs_xattridx *idx;

	if (S_ISDIR(mode))
		dir_nodes_raw(fs, ino, di, fn, ctx);
	else if (S_ISLNK(mode) && dx_in_data(fs, le64_to_cpu(di->symlink.blk), 1))
		fn(fs, ino, 0, 1, le64_to_cpu(di->symlink.blk), ctx);
	if (!dx_in_data(fs, xb, 1))
		return;
	fn(fs, ino, 0, 1, xb, ctx);
	idx = owned_blk(fs, xb, DAXFS_XIDX_MAGIC, ino);
	for (uint32_t k = 0; idx && k < le32_to_cpu(idx->nblks) && k < DAXFS_XIDX_MAX; k++)
		if (dx_in_data(fs, le64_to_cpu(idx->blk[k]), 1))
			fn(fs, ino, 0, 1, le64_to_cpu(idx->blk[k]), ctx);
}

void inode_walk_raw(struct daxfs *fs, uint64_t min_size, ext_raw_fn data_fn, ext_raw_fn meta_fn,
		    void *ctx)
{
	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		const struct daxfs_dinode *di;
		const struct daxfs_extblk *eb;
		uint32_t n, k = 0;
		uint64_t blk, hops = 0;
		bool data;

		if (!(fs->imap[(ino - 1) / 64] >> ((ino - 1) % 64) & 1)) {
			if (!fs->imap[(ino - 1) / 64])
				ino |= 63; /* skip a word of free inodes */
			continue;
		}
		di = dx_ptr(fs, blk_to_off(fs->itable_blk) + (ino - 1) * DAXFS_INODE_SIZE);
		if (meta_fn)
			other_meta_raw(fs, ino, di, meta_fn, ctx);
		if (!S_ISREG(le32_to_cpu(di->mode)))
			continue;
		data = le64_to_cpu(di->size) >= min_size;
		if (!data && !meta_fn)
			continue;
		n = le32_to_cpu(di->file.nextents);
		for (; data && k < n && k < DAXFS_INLINE_EXTENTS; k++)
			data_fn(fs, ino, le32_to_cpu(di->file.ext[k].lblk),
				le32_to_cpu(di->file.ext[k].len), le64_to_cpu(di->file.ext[k].pblk),
				ctx);
		k = n < DAXFS_INLINE_EXTENTS ? n : DAXFS_INLINE_EXTENTS;
		blk = le64_to_cpu(di->file.ext_next);
		while (k < n && hops++ <= n / DAXFS_EXTBLK_MAX &&
		       (eb = owned_blk(fs, blk, DAXFS_EXT_MAGIC, ino))) {
			if (meta_fn)
				meta_fn(fs, ino, 0, 1, blk, ctx);
			for (uint32_t j = 0;
			     j < le32_to_cpu(eb->count) && j < DAXFS_EXTBLK_MAX && k < n; j++, k++)
				if (data)
					data_fn(fs, ino, le32_to_cpu(eb->ext[j].lblk),
						le32_to_cpu(eb->ext[j].len),
						le64_to_cpu(eb->ext[j].pblk), ctx);
			blk = le64_to_cpu(eb->next);
		}
	}
}

void alloc_resv_rebuild(struct daxfs *fs)
{
	inode_walk_raw(fs, HUGE_SIZE, note_extent, NULL, NULL);
}

/*
 * Delayed allocation (not the chunk reservations above, which are hints).
 * A cache that accepts a write into a hole reserves a block at once
 * (daxfs_reserve), so running out of space is an error of the write, never
 * of its writeback. Reserved blocks stay free in the bitmap
 * but no allocation takes them except the writeback that holds the
 * reservation (its credit). The writebacks may also need extent blocks for
 * their new extents: a slack of 1/128 of the reservation (plus 16) is kept
 * out of everyone else's reach for that.
 */
static uint64_t resv_slack(uint64_t resv)
{
	return resv ? resv / 128 + 16 : 0;
}

uint64_t alloc_avail(struct daxfs *fs)
{
	uint64_t others = fs->resv_blocks - fs->credit, keep = others + resv_slack(others);

	return fs->free_blocks > keep ? fs->free_blocks - keep : 0;
}

int daxfs_reserve(struct daxfs *fs, uint64_t nblocks)
{
	uint64_t r;
	int err = 0;

	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	r = fs->resv_blocks + nblocks;
	if (fs->free_blocks < r + resv_slack(r))
		err = -ENOSPC;
	else
		fs->resv_blocks = r;
	dx_unlock(fs);
	return err;
}

void daxfs_unreserve(struct daxfs *fs, uint64_t nblocks)
{
	dx_lock(fs);
	fs->resv_blocks = nblocks < fs->resv_blocks ? fs->resv_blocks - nblocks : 0;
	dx_unlock(fs);
}

/*
 * alloc_blocks - allocate up to @want contiguous blocks (at least one) in
 * the running transaction. @huge asks for whole 2 MiB chunks (@want a
 * multiple of 512 blocks) and fails with -ENOSPC when none is free, so the
 * caller may fall back to small blocks. @goal (0 = none) is the block the
 * caller would like to continue from. Reserved blocks are left alone beyond
 * the running allocation's credit.
 */
int alloc_blocks(struct daxfs *fs, uint64_t want, bool huge, uint64_t goal, struct dx_range *out)
{
	uint64_t avail = alloc_avail(fs);
	int err;

	assert(want > 0);
	if (dx_readonly(fs))
		return -EROFS;
	if (want > avail)
		want = huge ? avail / CHUNK_BLKS * CHUNK_BLKS : avail;
	if (!want)
		return -ENOSPC;
	err = huge ? alloc_huge(fs, want, goal, out) : alloc_small(fs, want, goal, out);
	if (err)
		return err;
	alloc_account(fs, out->len);
	return 0;
}

/*
 * alloc_run - allocate exactly @want contiguous blocks, the first such run
 * of the data area, in the running transaction (one-time layout work such
 * as an upgrade; O(blocks)). Returns 0 or -ENOSPC.
 */
int alloc_run(struct daxfs *fs, uint64_t want, struct dx_range *out)
{
	uint64_t run = 0;

	if (fs->rdonly)
		return -EROFS;
	if (want > alloc_avail(fs))
		return -ENOSPC;
	for (uint64_t b = fs->data_blk; b < fs->total_blocks && want; b++) {
		/* never into a chunk kept for DAX isolation */
		run = bitmap_test(fs, b) || chunk_excluded(fs, b / CHUNK_BLKS) ? 0 : run + 1;
		if (run == want) {
			out->pblk = b + 1 - want;
			out->len = want;
			take(fs, out->pblk, out->len);
			alloc_account(fs, want);
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * alloc_at - allocate the free run that starts at block @pblk, up to @want
 * blocks and not past its chunk, in the running transaction, whether or not
 * the chunk is excluded (isolate.c places a file's blocks in the chunks it
 * keeps for it). Returns 0, -ENOSPC if @pblk is in use, -EROFS.
 */
int alloc_at(struct daxfs *fs, uint64_t pblk, uint64_t want, struct dx_range *out)
{
	if (dx_readonly(fs))
		return -EROFS;
	if (want > alloc_avail(fs))
		want = alloc_avail(fs); /* blocks set aside for cached writes stay theirs */
	if (pblk < fs->data_blk || pblk >= fs->total_blocks || !want || bitmap_test(fs, pblk))
		return -ENOSPC;
	out->pblk = pblk;
	out->len = run_at(fs, pblk, want);
	take(fs, out->pblk, out->len);
	alloc_account(fs, out->len);
	return 0;
}
