/* SPDX-License-Identifier: MIT */
/*
 * isolate.c - DAX isolation: chunks that hold one file's data and nothing
 * else (see daxfs.h, "DAX isolation", and docs/dax-mmap.md).
 *
 * State, per 2 MiB chunk of the region (fs->chunk_iso, under fs->lock):
 *   ISO_EXCL   excluded: general allocation (alloc.c) skips the chunk; only
 *              daxfs_isolate() places blocks in it, and only for its owner
 *              (fs->iso_owner; 0 when not known, e.g. after a restart,
 *              and then nobody's blocks are placed in it);
 *   ISO_CLEAN  its free blocks hold zeros or the owner's old data.
 * A chunk is *the file's* when every used block in it is a data block of
 * the file (live, or freed while pinned): counted from the file's extent
 * map against the allocator's per-chunk free count. Only such chunks, made
 * clean and excluded, are handed out.
 *
 * Invariant: an excluded chunk only ever holds its owner's data, so a
 * process given a descriptor of it can never see another file's bytes:
 * nothing else is allocated there until daxfs_reclaim() has asked the
 * region (pmr_reclaim) that nobody else can reach it, which also replaces
 * its pages. An empty excluded chunk is never used again before that.
 *
 * Moving a block: copy it (non-temporal stores) into the new place, remap
 * the file's extent, release the old block (deferred while the file is
 * pinned, so I/O that looked the old place up still finds the old bytes),
 * drain, commit: the journal makes the remap atomic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

/* A count of a file's blocks in one chunk. */
struct ccount {
	uint64_t c, n;
};

struct fcounts {
	struct ccount *v;
	size_t n, cap;
};

/* One run of a window: @n file blocks at @lblk, at @pblk or a hole. */
struct wrun {
	uint64_t lblk, n, pblk;
};

static uint64_t first_data_chunk(struct daxfs *fs)
{
	return (fs->data_blk + CHUNK_BLKS - 1) / CHUNK_BLKS;
}

static int iso_arrays(struct daxfs *fs)
{
	size_t n = fs->nchunks ? fs->nchunks : 1;

	if (fs->chunk_iso)
		return 0;
	fs->chunk_iso = calloc(n, 1);
	fs->iso_owner = calloc(n, sizeof(*fs->iso_owner));
	if (!fs->chunk_iso || !fs->iso_owner) {
		iso_destroy(fs);
		return -ENOMEM;
	}
	return 0;
}

static void exclude(struct daxfs *fs, uint64_t c, uint64_t owner)
{
	if (!(fs->chunk_iso[c] & ISO_EXCL))
		fs->iso_excluded++;
	fs->chunk_iso[c] |= ISO_EXCL;
	if (owner)
		fs->iso_owner[c] = owner;
}

int iso_init(struct daxfs *fs)
{
	int err;

	if (!pmr_exposed_count(fs->r))
		return 0;
	err = iso_arrays(fs);
	if (err)
		return err;
	for (uint64_t c = 0; c < fs->nchunks; c++)
		if (pmr_chunk_exposed(fs->r, c))
			exclude(fs, c, 0);
	return 0;
}

void iso_destroy(struct daxfs *fs)
{
	free(fs->chunk_iso);
	free(fs->iso_owner);
	fs->chunk_iso = NULL;
	fs->iso_owner = NULL;
	fs->iso_excluded = 0;
}

/* ---------------------------------------------------------------------- */
/* Whose chunk is it */

static int count_add(struct fcounts *fc, uint64_t pblk, uint64_t len)
{
	while (len) {
		uint64_t c = pblk / CHUNK_BLKS, n = CHUNK_BLKS - pblk % CHUNK_BLKS;

		if (n > len)
			n = len;
		if (fc->n && fc->v[fc->n - 1].c == c) {
			fc->v[fc->n - 1].n += n;
		} else {
			if (fc->n == fc->cap) {
				size_t cap = fc->cap ? 2 * fc->cap : 64;
				struct ccount *v = realloc(fc->v, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				fc->v = v;
				fc->cap = cap;
			}
			fc->v[fc->n++] = (struct ccount){c, n};
		}
		pblk += n;
		len -= n;
	}
	return 0;
}

static int ccount_cmp(const void *a, const void *b)
{
	const struct ccount *x = a, *y = b;

	return x->c < y->c ? -1 : x->c > y->c;
}

/* count_build - the blocks @i has in each chunk: live extents and deferred frees. */
static int count_build(struct daxfs *fs, struct dxi *i, struct fcounts *fc)
{
	size_t k, w = 0;
	int err = 0;

	fc->n = 0;
	for (k = 0; k < i->next && !err; k++)
		err = count_add(fc, i->ext[k].pblk, i->ext[k].len);
	pthread_mutex_lock(&fs->icache_lock);
	for (k = 0; k < i->ndeferred && !err; k++)
		err = count_add(fc, i->deferred[k].pblk, i->deferred[k].len);
	pthread_mutex_unlock(&fs->icache_lock);
	if (err || !fc->n)
		return err;
	qsort(fc->v, fc->n, sizeof(*fc->v), ccount_cmp);
	for (k = 1; k < fc->n; k++) {
		if (fc->v[k].c == fc->v[w].c)
			fc->v[w].n += fc->v[k].n;
		else
			fc->v[++w] = fc->v[k];
	}
	fc->n = w + 1;
	return 0;
}

static uint64_t count_of(const struct fcounts *fc, uint64_t c)
{
	struct ccount key = {c, 0}, *hit;

	hit = fc->n ? bsearch(&key, fc->v, fc->n, sizeof(key), ccount_cmp) : NULL;
	return hit ? hit->n : 0;
}

/* file_chunk - chunk @c holds only @ino's data and may be handed to it. */
static bool file_chunk(struct daxfs *fs, const struct fcounts *fc, uint64_t ino, uint64_t c)
{
	uint64_t used = CHUNK_BLKS - fs->chunk_free[c], mine = count_of(fc, c);

	if (c < first_data_chunk(fs) || c >= fs->nchunks || !mine || mine != used)
		return false;
	return !chunk_excluded(fs, c) || !fs->iso_owner[c] || fs->iso_owner[c] == ino;
}

/* ---------------------------------------------------------------------- */
/* Making chunks clean */

/* free_runs_zero - zero (or, read-only, check) the free blocks of chunk @c. */
static int free_runs_zero(struct daxfs *fs, uint64_t c, uint64_t *zeroed)
{
	uint64_t b = c * CHUNK_BLKS, end = b + CHUNK_BLKS;

	while (b < end) {
		uint64_t n = 0;

		if (bitmap_test(fs, b)) {
			b++;
			continue;
		}
		while (b + n < end && !bitmap_test(fs, b + n))
			n++;
		if (fs->rdonly) {
			const uint64_t *p = dx_ptr(fs, blk_to_off(b));

			for (uint64_t w = 0; w < blk_to_off(n) / 8; w++)
				if (p[w])
					return pmd_err(
						-EROFS,
						"chunk %llu holds old data in free blocks and "
						"the filesystem is read-only",
						(unsigned long long)c);
		} else {
			pmr_memset(fs->r, dx_ptr(fs, blk_to_off(b)), 0, blk_to_off(n),
				   PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
			*zeroed += blk_to_off(n);
		}
		b += n;
	}
	return 0;
}

/* take_chunk - a wholly free chunk nobody keeps, zeroed and kept for @ino. */
static int take_chunk(struct daxfs *fs, uint64_t ino, uint64_t *out, struct daxfs_iso_cost *cost)
{
	for (uint64_t c = fs->nchunks; c-- > first_data_chunk(fs);) {
		if (fs->chunk_free[c] != CHUNK_BLKS || chunk_excluded(fs, c))
			continue;
		pmr_memset(fs->r, dx_ptr(fs, blk_to_off(c * CHUNK_BLKS)), 0, blk_to_off(CHUNK_BLKS),
			   PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
		exclude(fs, c, ino);
		fs->chunk_iso[c] |= ISO_CLEAN;
		cost->zeroed_bytes += blk_to_off(CHUNK_BLKS);
		cost->new_chunks++;
		*out = c;
		return 0;
	}
	return pmd_err(-ENOSPC, "no free 2 MiB chunk to give the file one of its own");
}

/* ---------------------------------------------------------------------- */
/* Moving a window */

/*
 * remap - file blocks [@lblk, +@n) of @i, inside one extent, now live at
 * @pblk: split the extent around them.
 */
static int remap(struct dxi *i, uint64_t lblk, uint64_t n, uint64_t pblk)
{
	size_t k = ext_find(i, lblk);
	struct dx_ext e = i->ext[k];
	uint64_t head = lblk - e.lblk, tail = e.lblk + e.len - (lblk + n);
	size_t add = (head ? 1 : 0) + (tail ? 1 : 0);
	struct dx_ext *p;
	int err = ext_reserve(i, i->next + add);

	if (err)
		return err;
	p = &i->ext[k];
	memmove(p + 1 + add, p + 1, (i->next - k - 1) * sizeof(*p));
	i->next += add;
	if (head)
		*p++ = (struct dx_ext){e.lblk, head, e.pblk};
	*p++ = (struct dx_ext){lblk, n, pblk};
	if (tail)
		*p = (struct dx_ext){lblk + n, tail, e.pblk + head + n};
	return 0;
}

/* The runs of @i over file blocks [@s, @e), holes included. */
static size_t window_runs(struct dxi *i, uint64_t s, uint64_t e, struct wrun *runs)
{
	size_t n = 0;

	while (s < e) {
		uint64_t pb, len = map_run(i, s, e - s, &pb);

		/* a run stops at a chunk boundary, so each names one chunk */
		if (pb != DAXFS_HOLE && len > CHUNK_BLKS - pb % CHUNK_BLKS)
			len = CHUNK_BLKS - pb % CHUNK_BLKS;
		runs[n++] = (struct wrun){s, len, pb};
		s += len;
	}
	return n;
}

/* Does the window need blocks placed? Sets *@keep to a chunk to place them in, or UINT64_MAX. */
static bool window_bad(struct daxfs *fs, const struct fcounts *fc, uint64_t ino,
		       const struct wrun *runs, size_t nr, unsigned flags, uint64_t *keep)
{
	uint64_t delta = UINT64_MAX;
	bool bad = false;

	*keep = UINT64_MAX;
	for (size_t k = 0; k < nr; k++) {
		const struct wrun *w = &runs[k];
		uint64_t c;

		if (w->pblk == DAXFS_HOLE) {
			bad |= (flags & DAXFS_ISO_ALLOC) != 0;
			continue;
		}
		c = w->pblk / CHUNK_BLKS;
		if (!file_chunk(fs, fc, ino, c)) {
			bad = true;
			continue;
		}
		/* a chunk of the file where this window's blocks sit at their own offset */
		if ((w->pblk - w->lblk) % CHUNK_BLKS == 0 && *keep == UINT64_MAX)
			*keep = c;
		if (flags & DAXFS_ISO_WHOLE) {
			if (delta == UINT64_MAX)
				delta = w->pblk - w->lblk;
			bad |= w->pblk - w->lblk != delta || (w->pblk - w->lblk) % CHUNK_BLKS;
		}
	}
	return bad;
}

/*
 * needs_move - must run @w go to the window's destination chunk @d? Once a
 * window has to move at all, all of it goes to @d at its own offset, so the
 * copy (at most 2 MiB) also leaves it mappable by one huge page.
 */
static bool needs_move(const struct wrun *w, uint64_t d, unsigned flags)
{
	if (w->pblk == DAXFS_HOLE)
		return (flags & DAXFS_ISO_ALLOC) != 0;
	return w->pblk / CHUNK_BLKS != d || (w->pblk - w->lblk) % CHUNK_BLKS != 0;
}

/* positions_free - are the aligned places of the runs to move free in chunk @d? */
static bool positions_free(struct daxfs *fs, const struct wrun *runs, size_t nr, uint64_t d,
			   unsigned flags)
{
	for (size_t k = 0; k < nr; k++) {
		if (!needs_move(&runs[k], d, flags))
			continue;
		for (uint64_t b = 0; b < runs[k].n; b++)
			if (bitmap_test(fs, d * CHUNK_BLKS + (runs[k].lblk + b) % CHUNK_BLKS))
				return false;
	}
	return true;
}

/*
 * move_window - place the runs of one 2 MiB file window (and its holes,
 * with ALLOC) at their own offset in chunk @d, in the running transaction.
 */
static int move_window(struct daxfs *fs, struct dxi *i, const struct wrun *runs, size_t nr,
		       uint64_t d, unsigned flags, struct daxfs_iso_cost *cost)
{
	int64_t added = 0;
	int err = 0;

	for (size_t k = 0; k < nr && !err; k++) {
		const struct wrun *w = &runs[k];
		uint64_t to = d * CHUNK_BLKS + w->lblk % CHUNK_BLKS;
		struct dx_range got;

		if (!needs_move(w, d, flags))
			continue;
		err = alloc_at(fs, to, w->n, &got);
		if (!err && got.len != w->n)
			err = pmd_err(-EIO, "chunk %llu changed under isolation",
				      (unsigned long long)d);
		if (err)
			break;
		if (w->pblk == DAXFS_HOLE) {
			pmr_memset(fs->r, dx_ptr(fs, blk_to_off(to)), 0, blk_to_off(w->n),
				   PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
			err = ext_insert(i, w->lblk, w->n, to);
			if (!err)
				owner_note_alloc(fs, i, w->lblk, w->n, to);
			added += (int64_t)w->n;
			continue;
		}
		pmr_memcpy(fs->r, dx_ptr(fs, blk_to_off(to)), dx_ptr(fs, blk_to_off(w->pblk)),
			   blk_to_off(w->n), PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
		cost->moved_bytes += blk_to_off(w->n);
		err = remap(i, w->lblk, w->n, to);
		if (!err) {
			owner_note_alloc(fs, i, w->lblk, w->n, to);
			inode_release_blocks(fs, i, w->pblk, w->n);
		}
	}
	if (added) {
		struct daxfs_dinode *di = di_write(fs, i->ino);

		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)added);
	}
	return err;
}

/* isolate_window - see daxfs_isolate(); fs->lock held, no transaction running. */
static int isolate_window(struct daxfs *fs, struct dxi *i, struct fcounts *fc, uint64_t s,
			  uint64_t e, unsigned flags, struct wrun *runs,
			  struct daxfs_iso_cost *cost, bool *changed)
{
	uint64_t keep, d;
	size_t nr = window_runs(i, s, e, runs);
	int err;

	*changed = false;
	if (!window_bad(fs, fc, i->ino, runs, nr, flags, &keep))
		return 0;
	if (fs->rdonly)
		return pmd_err(-EROFS,
			       "file blocks %llu..%llu share chunks with other data and the "
			       "filesystem is read-only",
			       (unsigned long long)s, (unsigned long long)e - 1);
	d = keep;
	if (d == UINT64_MAX || !positions_free(fs, runs, nr, d, flags)) {
		err = take_chunk(fs, i->ino, &d, cost);
		if (err)
			return err;
	} else if (!(fs->chunk_iso[d] & ISO_CLEAN)) {
		err = free_runs_zero(fs, d, &cost->zeroed_bytes);
		if (err)
			return err;
		fs->chunk_iso[d] |= ISO_CLEAN;
	}
	exclude(fs, d, i->ino);
	tx_begin(fs);
	err = move_window(fs, i, runs, nr, d, flags, cost);
	if (!err)
		err = ext_store(fs, i);
	if (err) {
		tx_abort(fs);
		return err;
	}
	pmr_drain(fs->r);
	err = tx_commit(fs);
	if (err)
		return err;
	*changed = true;
	return count_build(fs, i, fc);
}

/* add_chunk - append @c to the sorted unique list @v of @n (caller walks in order). */
static int add_chunk(uint64_t **v, size_t *n, size_t *cap, uint64_t c)
{
	for (size_t k = *n; k-- > 0;)
		if ((*v)[k] == c)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		uint64_t *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = c;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * hand_out - the chunks the range's blocks live in, each checked to be the
 * file's, made clean and excluded for it.
 */
static int hand_out(struct daxfs *fs, struct dxi *i, const struct fcounts *fc, uint64_t lb,
		    uint64_t le, uint64_t **chunks, size_t *nr, struct daxfs_iso_cost *cost)
{
	size_t cap = 0;
	int err = 0;

	*chunks = NULL;
	*nr = 0;
	while (lb < le && !err) {
		uint64_t pb, run = map_run(i, lb, le - lb, &pb);

		for (uint64_t b = pb; pb != DAXFS_HOLE && b < pb + run && !err;
		     b = (b / CHUNK_BLKS + 1) * CHUNK_BLKS)
			err = add_chunk(chunks, nr, &cap, b / CHUNK_BLKS);
		lb += run;
	}
	if (!err && *nr)
		qsort(*chunks, *nr, sizeof(**chunks), u64_cmp);
	for (size_t k = 0; k < *nr && !err; k++) {
		uint64_t c = (*chunks)[k];

		if (!file_chunk(fs, fc, i->ino, c)) {
			err = pmd_err(-EIO, "chunk %llu is not the file's after isolation",
				      (unsigned long long)c);
			break;
		}
		if (!(fs->chunk_iso[c] & ISO_CLEAN)) {
			err = free_runs_zero(fs, c, &cost->zeroed_bytes);
			if (err)
				break;
			fs->chunk_iso[c] |= ISO_CLEAN;
		}
		exclude(fs, c, i->ino);
		fs->iso_owner[c] = i->ino;
	}
	pmr_drain(fs->r);
	if (err) {
		free(*chunks);
		*chunks = NULL;
		*nr = 0;
	}
	return err;
}

int daxfs_isolate(struct daxfs *fs, uint64_t ino, uint64_t off, uint64_t len, unsigned flags,
		  uint64_t **chunks, size_t *nr, struct daxfs_iso_cost *cost)
{
	struct daxfs_iso_cost local = {0};
	struct fcounts fc = {0};
	struct wrun *runs;
	struct dxi *i;
	uint64_t lb, le, any = 0;
	int err;

	*chunks = NULL;
	*nr = 0;
	if (!cost)
		cost = &local;
	memset(cost, 0, sizeof(*cost));
	if (!len || off % BLK_SIZE || off > DAXFS_FILE_SIZE_MAX ||
	    len > DAXFS_FILE_SIZE_MAX - off || (flags & ~(DAXFS_ISO_ALLOC | DAXFS_ISO_WHOLE)))
		return -EINVAL;
	if ((flags & DAXFS_ISO_ALLOC) && fs->rdonly)
		flags &= ~DAXFS_ISO_ALLOC;
	runs = malloc(CHUNK_BLKS * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	err = file_lock(fs, ino, true, &i);
	if (err)
		goto out_free;
	lb = off_to_blk(off);
	le = off_to_blk(off + len + BLK_SIZE - 1);
	dx_lock(fs);
	err = iso_arrays(fs);
	if (!err)
		err = count_build(fs, i, &fc);
	for (uint64_t w = lb / CHUNK_BLKS; !err && w * CHUNK_BLKS < le; w++) {
		uint64_t s = w * CHUNK_BLKS > lb ? w * CHUNK_BLKS : lb;
		uint64_t e = (w + 1) * CHUNK_BLKS < le ? (w + 1) * CHUNK_BLKS : le;
		bool changed;

		if (flags & DAXFS_ISO_WHOLE) /* the whole window goes into one chunk */
			s = w * CHUNK_BLKS, e = (w + 1) * CHUNK_BLKS;
		err = isolate_window(fs, i, &fc, s, e, flags, runs, cost, &changed);
		any |= changed;
	}
	if (!err)
		err = hand_out(fs, i, &fc, lb, le, chunks, nr, cost);
	if (err)
		ext_unload(i); /* a failed transaction may have left it half edited */
	fs->iso_stats.isolations += any || cost->zeroed_bytes;
	fs->iso_stats.moved_bytes += cost->moved_bytes;
	fs->iso_stats.zeroed_bytes += cost->zeroed_bytes;
	fs->iso_stats.new_chunks += cost->new_chunks;
	dx_unlock(fs);
	file_unlock(fs, i);
out_free:
	free(fc.v);
	free(runs);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Giving chunks back */

int daxfs_iso_scan(struct daxfs *fs, uint64_t *unreadable)
{
	int err;

	*unreadable = 0;
	if (pmr_is_chunked(fs->r) || fs->rdonly)
		return 0;
	err = pmr_exposure_scan(fs->r, unreadable);
	if (err)
		return err;
	dx_lock(fs);
	err = iso_init(fs);
	dx_unlock(fs);
	return err;
}

long daxfs_reclaim(struct daxfs *fs)
{
	bool chunked = pmr_is_chunked(fs->r);
	uint64_t *cand = NULL;
	bool *done = NULL;
	size_t n = 0;
	long got;

	if (fs->rdonly)
		return 0;
	dx_lock(fs);
	if (fs->iso_excluded) {
		cand = malloc(fs->iso_excluded * sizeof(*cand));
		done = malloc(fs->iso_excluded * sizeof(*done));
	}
	/*
	 * A chunk given out may be reached by page references the region has
	 * to cut by replacing its pages: only an empty one can be taken back.
	 * A single-file region's chunks were only mapped by processes that may
	 * open the region anyway: they are taken back as they are.
	 */
	for (uint64_t c = 0; cand && done && c < fs->nchunks && n < fs->iso_excluded; c++)
		if (chunk_excluded(fs, c) && (!chunked || fs->chunk_free[c] == CHUNK_BLKS))
			cand[n++] = c;
	dx_unlock(fs);
	if (fs->iso_excluded && (!cand || !done)) {
		free(cand);
		free(done);
		return -ENOMEM;
	}
	got = n ? pmr_reclaim(fs->r, cand, n, done) : 0;
	if (got > 0) {
		dx_lock(fs);
		for (size_t k = 0; k < n; k++) {
			if (!done[k] || !chunk_excluded(fs, cand[k]))
				continue;
			fs->chunk_iso[cand[k]] = 0;
			fs->iso_owner[cand[k]] = 0;
			fs->iso_excluded--;
			fs->iso_stats.reclaimed++;
		}
		dx_unlock(fs);
	}
	free(cand);
	free(done);
	return got;
}

void daxfs_iso_get_stats(struct daxfs *fs, struct daxfs_iso_stats *st)
{
	dx_lock(fs);
	*st = fs->iso_stats;
	st->excluded_chunks = fs->iso_excluded;
	st->excluded_free = 0;
	st->waiting_chunks = 0;
	for (uint64_t c = 0; fs->chunk_iso && c < fs->nchunks; c++) {
		if (!chunk_excluded(fs, c))
			continue;
		st->excluded_free += fs->chunk_free[c];
		st->waiting_chunks += fs->chunk_free[c] == CHUNK_BLKS;
	}
	dx_unlock(fs);
}
