/* SPDX-License-Identifier: MIT */
/*
 * journal.c - redo journal transactions.
 *
 * A transaction shadows every metadata block it changes in DRAM (tx_write)
 * and remembers which 64-byte lines changed. Commit:
 *   1. clear the bitmap bits of blocks freed by the transaction;
 *   2. recompute the crc of sealed blocks;
 *   3. write redo records {region offset, length, bytes} for every run of
 *      changed lines into the journal (put together in DRAM, then streamed
 *      with non-temporal stores), drain;
 *   4. write the journal header (state COMMITTED, crc of the records) and
 *      persist it: this is the commit point;
 *   5. copy the runs to their home locations, drain;
 *   6. mark the header EMPTY and persist it.
 * Recovery (replay.c) replays a COMMITTED header whose crcs match, once its
 * records are checked for place (idempotent). A torn header fails its crc
 * and means "nothing to replay" (the records were drained before it, and
 * step 6 only follows a complete apply).
 * Nothing of a transaction reaches a home location before step 4, so a crash
 * anywhere leaves either the old or the new metadata.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

/* crash injection for tests: see daxfs_test_crash_at() */
static unsigned long crash_commit;
static int crash_step;

void daxfs_test_crash_at(unsigned long commits_from_now, int step)
{
	crash_commit = commits_from_now;
	crash_step = step;
}

static void crash_point(int step)
{
	if (crash_commit == 1 && crash_step == step)
		_exit(DAXFS_TEST_CRASH_EXIT);
}

static uint64_t jnl_off(struct daxfs *fs)
{
	return blk_to_off(fs->journal_blk);
}

static uint64_t jnl_cap(struct daxfs *fs)
{
	return blk_to_off(fs->journal_nblks - 1);
}

void tx_begin(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;

	tx->active = true;
}

static size_t tx_hash_slot(struct dx_tx *tx, uint64_t blk)
{
	return (size_t)((blk * 0x9E3779B97F4A7C15ULL) >> 20) & (tx->hash_size - 1);
}

static struct tx_blk *tx_lookup(struct daxfs *fs, uint64_t blk)
{
	struct dx_tx *tx = &fs->tx;

	if (!tx->nblks)
		return NULL;
	for (size_t s = tx_hash_slot(tx, blk);; s = (s + 1) & (tx->hash_size - 1)) {
		int32_t idx = tx->hash[s];

		if (idx < 0)
			return NULL;
		if (tx->blks[idx]->blk == blk)
			return tx->blks[idx];
	}
}

static void tx_rehash(struct dx_tx *tx, size_t size)
{
	free(tx->hash);
	tx->hash = malloc(size * sizeof(*tx->hash));
	if (!tx->hash)
		abort();
	tx->hash_size = size;
	for (size_t s = 0; s < size; s++)
		tx->hash[s] = -1;
	for (size_t n = 0; n < tx->nblks; n++) {
		size_t s = tx_hash_slot(tx, tx->blks[n]->blk);

		while (tx->hash[s] >= 0)
			s = (s + 1) & (size - 1);
		tx->hash[s] = (int32_t)n;
	}
}

/* lines @first..@last of a block as a bit mask */
static uint64_t line_mask(unsigned first, unsigned last)
{
	return (~0ULL >> (63 - last)) & (~0ULL << first);
}

/*
 * Blocks of fixed-size records (inodes, inode extensions) are shadowed line
 * by line as the transaction reads or writes them: a create changes one
 * inode of the 16 in a table block, and copying the other 60 lines (which
 * the last commits' flushes had evicted from the cache) cost more than the
 * change. Every other block is copied whole when first shadowed.
 */
static bool lazy_blk(const struct daxfs *fs, uint64_t blk)
{
	return (blk >= fs->itable_blk && blk < fs->bitmap_blk) ||
	       (fs->iext_nblks && blk >= fs->iext_blk && blk < fs->iext_blk + fs->iext_nblks);
}

/* next_run - the next run of set bits of @mask at or after bit *@l: its
 * first bit in *@l, the bit after its last in *@e; false when there is none */
static bool next_run(uint64_t mask, unsigned *l, unsigned *e)
{
	uint64_t m, rest;

	if (*l >= 64 || !(m = mask >> *l << *l))
		return false;
	*l = (unsigned)__builtin_ctzll(m);
	rest = ~(m >> *l);
	*e = rest ? *l + (unsigned)__builtin_ctzll(rest) : 64;
	return true;
}

/* tx_fill - make lines @first..@last of shadow @b hold the home copy where
 * the transaction has not read them yet */
static void tx_fill(struct daxfs *fs, struct tx_blk *b, unsigned first, unsigned last)
{
	uint64_t want = line_mask(first, last) & ~b->valid;
	const uint8_t *home = dx_ptr(fs, blk_to_off(b->blk));

	for (unsigned l = 0, e; next_run(want, &l, &e); l = e)
		memcpy(b->data + l * LINE_SIZE, home + l * LINE_SIZE, (e - l) * LINE_SIZE);
	b->valid |= want;
}

static struct tx_blk *tx_shadow(struct daxfs *fs, uint64_t blk, bool zero)
{
	struct dx_tx *tx = &fs->tx;
	struct tx_blk *b = tx_lookup(fs, blk);

	assert(tx->active);
	assert(blk < fs->total_blocks);
	if (b) {
		if (zero) {
			memset(b->data, 0, BLK_SIZE);
			b->dirty = b->valid = ~0ULL;
			b->fresh = true;
		}
		return b;
	}
	if (tx->nblks == tx->cap) {
		size_t cap = tx->cap ? tx->cap * 2 : 16;
		struct tx_blk **n = realloc(tx->blks, cap * sizeof(*n));

		if (!n)
			abort(); /* out of memory inside a transaction: no way back */
		tx->blks = n;
		tx->cap = cap;
	}
	b = tx->nspare ? tx->spare[--tx->nspare] : malloc(sizeof(*b));
	if (!b)
		abort();
	b->blk = blk;
	b->seal = false;
	b->fresh = zero;
	if (zero) {
		memset(b->data, 0, BLK_SIZE);
		b->dirty = b->valid = ~0ULL;
	} else if (lazy_blk(fs, blk)) {
#ifndef NDEBUG
		/* a read of a line never filled shows as garbage in tests */
		memset(b->data, 0xa5, BLK_SIZE);
#endif
		b->dirty = b->valid = 0;
	} else {
		memcpy(b->data, dx_ptr(fs, blk_to_off(blk)), BLK_SIZE);
		b->dirty = 0;
		b->valid = ~0ULL;
	}
	tx->blks[tx->nblks++] = b;
	if (tx->nblks * 2 > tx->hash_size)
		tx_rehash(tx, tx->hash_size ? tx->hash_size * 4 : 64);
	else {
		size_t s = tx_hash_slot(tx, blk);

		while (tx->hash[s] >= 0)
			s = (s + 1) & (tx->hash_size - 1);
		tx->hash[s] = (int32_t)(tx->nblks - 1);
	}
	return b;
}

const void *tx_read_len(struct daxfs *fs, uint64_t off, size_t len)
{
	struct tx_blk *b = fs->tx.active ? tx_lookup(fs, off_to_blk(off)) : NULL;
	unsigned in = off & (BLK_SIZE - 1);

	assert(len > 0 && in + len <= BLK_SIZE);
	if (!b)
		return dx_ptr(fs, off);
	tx_fill(fs, b, in / LINE_SIZE, (in + (unsigned)len - 1) / LINE_SIZE);
	return b->data + in;
}

const void *tx_read(struct daxfs *fs, uint64_t off)
{
	return tx_read_len(fs, off, BLK_SIZE - (off & (BLK_SIZE - 1)));
}

void *tx_write(struct daxfs *fs, uint64_t off, size_t len)
{
	struct tx_blk *b = tx_shadow(fs, off_to_blk(off), false);
	unsigned in = off & (BLK_SIZE - 1);
	unsigned first = in / LINE_SIZE, last = (in + (unsigned)len - 1) / LINE_SIZE;

	assert(len > 0 && in + len <= BLK_SIZE);
	tx_fill(fs, b, first, last);
	b->dirty |= line_mask(first, last);
	return b->data + in;
}

void *tx_write_blk(struct daxfs *fs, uint64_t blk, bool seal)
{
	struct tx_blk *b = tx_shadow(fs, blk, false);

	tx_fill(fs, b, 0, 63);
	b->dirty = ~0ULL;
	b->seal |= seal;
	return b->data;
}

void *tx_new_blk(struct daxfs *fs, uint64_t blk, bool seal)
{
	struct tx_blk *b = tx_shadow(fs, blk, true);

	b->seal |= seal;
	return b->data;
}

void tx_seal(struct daxfs *fs, uint64_t blk)
{
	struct tx_blk *b = tx_shadow(fs, blk, false);

	tx_fill(fs, b, 0, 63); /* its checksum covers every line */
	b->seal = true;
}

void tx_free(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	struct dx_tx *tx = &fs->tx;

	if (!len)
		return;
	if (tx->nfrees == tx->frees_cap) {
		size_t cap = tx->frees_cap ? tx->frees_cap * 2 : 16;
		struct dx_range *n = realloc(tx->frees, cap * sizeof(*n));

		if (!n)
			abort();
		tx->frees = n;
		tx->frees_cap = cap;
	}
	tx->frees[tx->nfrees++] = (struct dx_range){pblk, len};
}

/* Bytes of records the journal can still take for this transaction (rough). */
size_t tx_journal_room(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;
	size_t used = 0;

	for (size_t n = 0; n < tx->nblks; n++)
		used += (size_t)__builtin_popcountll(tx->blks[n]->dirty) * (LINE_SIZE + 16);
	used += tx->nfrees * (LINE_SIZE + 16) * 2;
	return used >= jnl_cap(fs) ? 0 : jnl_cap(fs) - used;
}

/* stage_grow - room for @need bytes of records in the DRAM staging buffer */
static void stage_grow(struct dx_tx *tx, size_t need)
{
	size_t cap = tx->stage_cap ? tx->stage_cap : 4096;
	uint8_t *n;

	while (cap < need)
		cap *= 2;
	n = realloc(tx->stage, cap);
	if (!n)
		abort(); /* out of memory inside a transaction: no way back */
	tx->stage = n;
	tx->stage_cap = cap;
}

static void tx_clear(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;

	for (size_t n = 0; n < tx->nblks; n++) {
		if (tx->nspare < TX_SPARE_MAX)
			tx->spare[tx->nspare++] = tx->blks[n];
		else
			free(tx->blks[n]);
	}
	tx->nblks = 0;
	for (size_t s = 0; s < tx->hash_size; s++)
		tx->hash[s] = -1;
	tx->nfrees = 0;
	tx->active = false;
}

/* clear the bits of a freed range; -EIO if one is clear already (a block
 * freed twice: the bitmap or a block map is corrupt) */
static int bitmap_clear_range(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	uint64_t bits_per_blk = BLK_SIZE * 8;

	while (len) {
		uint64_t bblk = fs->bitmap_blk + pblk / bits_per_blk;
		uint64_t bit = pblk % bits_per_blk;
		uint64_t n = len;
		uint8_t *p;

		if (bit + n > bits_per_blk)
			n = bits_per_blk - bit;
		p = tx_write(fs, blk_to_off(bblk) + bit / 8, (bit + n - 1) / 8 - bit / 8 + 1);
		p -= bit / 8;
		for (uint64_t k = bit; k < bit + n; k++) {
			if (!(p[k / 8] & (1U << (k % 8))))
				return dx_corrupt(fs, DAXFS_ERR_BITMAP, DAXFS_WHY_FIELD, 0, bblk,
						  "block %llu freed but already free",
						  (unsigned long long)(pblk + (k - bit)));
			p[k / 8] &= (uint8_t) ~(1U << (k % 8));
		}
		pblk += n;
		len -= n;
	}
	return 0;
}

/*
 * homes_ok - before a commit seals anything: the home copy of every inode
 * and sealed block the transaction rewrites must still pass its checksum
 * (or be a never-used zero inode), so a structure that was never checked,
 * or went bad after it was read (even one the verified map vouches for: a
 * stray write to the region), is reported, never given a fresh checksum.
 * fsck repairs (which rewrite bad structures on purpose) are exempt.
 */
static int homes_ok(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;

	if (fs->flags & DAXFS_O_FSCK)
		return 0;
	for (size_t n = 0; n < tx->nblks; n++) {
		struct tx_blk *b = tx->blks[n];
		const uint8_t *home = dx_ptr(fs, blk_to_off(b->blk));

		if (b->fresh)
			continue;
		if (b->blk == 0 && (b->dirty & 0xff) &&
		    le32_to_cpu(((const struct daxfs_dsuper *)home)->crc) !=
			    daxfs_csum(home, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc)))
			return dx_corrupt(fs, DAXFS_ERR_SUPER, DAXFS_WHY_CRC, 0, 0,
					  "checksum mismatch before a change");
		if (b->blk >= fs->itable_blk && b->blk < fs->bitmap_blk) {
			for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++) {
				uint64_t ino =
					(b->blk - fs->itable_blk) * DAXFS_INODES_PER_BLOCK + j + 1;

				if (!((b->dirty >> (4 * j)) & 0xf) ||
				    home_inode_ok(di_seeded(fs, ino), ino,
						  (const void *)(home + j * DAXFS_INODE_SIZE)))
					continue;
				return dx_corrupt(fs, DAXFS_ERR_INODE, DAXFS_WHY_CRC, ino, b->blk,
						  "checksum mismatch before a change");
			}
		}
		if (b->seal && !home_blk_ok(home)) {
			const struct daxfs_blkhdr *h = (const void *)home;
			uint32_t m = le32_to_cpu(h->magic);

			return dx_corrupt(fs,
					  m == DAXFS_EXT_MAGIC	   ? DAXFS_ERR_EXTENT
					  : m == DAXFS_XATTR_MAGIC ? DAXFS_ERR_XATTR
								   : DAXFS_ERR_DIR,
					  DAXFS_WHY_CRC, le64_to_cpu(h->ino), b->blk,
					  "checksum mismatch before a change");
		}
	}
	return 0;
}

int tx_commit(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;
	const struct pmr_region *r = fs->r;
	uint8_t *jbase = dx_ptr(fs, jnl_off(fs) + BLK_SIZE);
	struct daxfs_jheader *jh = dx_ptr(fs, jnl_off(fs));
	struct daxfs_jheader h;
	uint64_t cap = jnl_cap(fs), len = 0;
	uint32_t nrec = 0, crc = 0;

	assert(tx->active);
	for (size_t n = 0; n < tx->nfrees; n++) {
		int err = bitmap_clear_range(fs, tx->frees[n].pblk, tx->frees[n].len);

		if (err) {
			tx_abort(fs);
			return err;
		}
	}
	if (!tx->nblks) {
		tx_clear(fs);
		return 0;
	}
	if (homes_ok(fs)) {
		tx_abort(fs);
		return -EIO;
	}
	for (size_t n = 0; n < tx->nblks; n++) {
		struct tx_blk *b = tx->blks[n];

		if (b->blk == 0 && (b->dirty & 0xff)) {
			tx_fill(fs, b, 0, DAXFS_SUPER_SIZE / LINE_SIZE - 1);
			super_seal((struct daxfs_dsuper *)b->data);
			b->dirty |= 1;
		}
		if (b->blk >= fs->itable_blk && b->blk < fs->bitmap_blk) {
			for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++) {
				uint64_t ino =
					(b->blk - fs->itable_blk) * DAXFS_INODES_PER_BLOCK + j + 1;

				if (!((b->dirty >> (4 * j)) & 0xf))
					continue;
				tx_fill(fs, b, 4 * j, 4 * j + 3);
				di_seal(fs, ino,
					(struct daxfs_dinode *)(b->data + j * DAXFS_INODE_SIZE));
				b->dirty |= 1ULL << (4 * j);
			}
		}
		if (b->seal) {
			struct daxfs_blkhdr *bh = (void *)b->data;

			bh->crc = cpu_to_le32(daxfs_csum(b->data, BLK_SIZE, 4));
			b->dirty |= 1;
		}
	}
	/* 3. records, put together in DRAM and streamed into the journal with
	 * non-temporal stores: on CPUs whose clwb evicts the line (this
	 * project's machines), ordinary stores to the journal lines the last
	 * commit flushed missed on every line */
	for (size_t n = 0; n < tx->nblks; n++) {
		struct tx_blk *b = tx->blks[n];

		for (unsigned l = 0, e; next_run(b->dirty, &l, &e); l = e) {
			struct daxfs_jrec rec;
			uint32_t rlen = (e - l) * LINE_SIZE;

			if (len + sizeof(rec) + rlen > cap) {
				tx_abort(fs);
				return pmd_err(-ENOSPC,
					       "daxfs: transaction larger than the journal");
			}
			if (len + sizeof(rec) + rlen > tx->stage_cap)
				stage_grow(tx, len + sizeof(rec) + rlen);
			rec.off = cpu_to_le64(blk_to_off(b->blk) + l * LINE_SIZE);
			rec.len = cpu_to_le32(rlen);
			rec.pad = 0;
			memcpy(tx->stage + len, &rec, sizeof(rec));
			memcpy(tx->stage + len + sizeof(rec), b->data + l * LINE_SIZE, rlen);
			len += sizeof(rec) + rlen;
			nrec++;
		}
	}
	crc = daxfs_crc32c(0, tx->stage, len);
	pmr_memcpy(r, jbase, tx->stage, len, PMR_MEM_NONTEMPORAL | PMR_MEM_NODRAIN);
	pmr_drain(r);
	crash_point(1);
	/* 4. commit point */
	memset(&h, 0, sizeof(h));
	h.magic = cpu_to_le64(DAXFS_JNL_MAGIC);
	h.seq = cpu_to_le64(++fs->seq);
	h.state = cpu_to_le32(DAXFS_JNL_COMMITTED);
	h.nrec = cpu_to_le32(nrec);
	h.len = cpu_to_le64(len);
	h.crc_records = cpu_to_le32(crc);
	h.crc = cpu_to_le32(daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)));
	pmr_memcpy(r, jh, &h, sizeof(h), PMR_MEM_NONTEMPORAL);
	crash_point(2);
	/* 5. apply */
	for (size_t n = 0; n < tx->nblks; n++) {
		/* a persist point half way through, only where a test looks at
		 * it: crash injection at step 3, or the crash simulator (which
		 * then also tries a crash with half the blocks home) */
		if (n == tx->nblks / 2 && (crash_commit || pmr_crashsim(r))) {
			pmr_drain(r);
			crash_point(3);
		}
		struct tx_blk *b = tx->blks[n];
		uint8_t *home = dx_ptr(fs, blk_to_off(b->blk));

		for (unsigned l = 0, e; next_run(b->dirty, &l, &e); l = e) {
			memcpy(home + l * LINE_SIZE, b->data + l * LINE_SIZE, (e - l) * LINE_SIZE);
			pmr_flush(r, home + l * LINE_SIZE, (e - l) * LINE_SIZE);
		}
	}
	pmr_drain(r);
	crash_point(4);
	/* 6. retire */
	h.state = cpu_to_le32(DAXFS_JNL_EMPTY);
	h.crc = 0;
	h.crc = cpu_to_le32(daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)));
	pmr_memcpy(r, jh, &h, sizeof(h), PMR_MEM_NONTEMPORAL);

	if (crash_commit)
		crash_commit--;
	fs->stats.tx_commits++;
	fs->stats.tx_bytes += len;
	for (size_t n = 0; n < tx->nfrees; n++)
		alloc_release(fs, tx->frees[n].pblk, tx->frees[n].len);
	tx_clear(fs);
	return 0;
}

void tx_abort(struct daxfs *fs)
{
	tx_clear(fs);
	/* the allocator's counters may include blocks of the dropped shadows */
	alloc_recount(fs);
	imap_init(fs);
}

void tx_destroy(struct daxfs *fs)
{
	struct dx_tx *tx = &fs->tx;

	if (tx->hash)
		tx_clear(fs);
	while (tx->nspare)
		free(tx->spare[--tx->nspare]);
	free(tx->stage);
	free(tx->blks);
	free(tx->hash);
	free(tx->frees);
	memset(tx, 0, sizeof(*tx));
}
