/* SPDX-License-Identifier: MIT */
/*
 * inode.c - inode table, in-memory inodes, extent maps, orphans.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

uint64_t di_off(struct daxfs *fs, uint64_t ino)
{
	return blk_to_off(fs->itable_blk) + (ino - 1) * DAXFS_INODE_SIZE;
}

bool ino_valid(struct daxfs *fs, uint64_t ino)
{
	return ino >= 1 && ino <= fs->inode_count;
}

const struct daxfs_dinode *di_read(struct daxfs *fs, uint64_t ino)
{
	assert(ino_valid(fs, ino));
	return tx_read_len(fs, di_off(fs, ino), DAXFS_INODE_SIZE);
}

struct daxfs_dinode *di_write(struct daxfs *fs, uint64_t ino)
{
	assert(ino_valid(fs, ino));
	return tx_write(fs, di_off(fs, ino), DAXFS_INODE_SIZE);
}

bool di_seeded(const struct daxfs *fs, uint64_t ino)
{
	return icsum_seeded(fs->icsum, ino);
}

uint32_t di_csum(bool seeded, uint64_t ino, const struct daxfs_dinode *di)
{
	le64 n = cpu_to_le64(ino);

	return daxfs_csum_from(seeded ? daxfs_crc32c(0, &n, sizeof(n)) : 0, di, sizeof(*di),
			       offsetof(struct daxfs_dinode, crc));
}

void di_seal(const struct daxfs *fs, uint64_t ino, struct daxfs_dinode *di)
{
	di->crc = cpu_to_le32(di_csum(di_seeded(fs, ino), ino, di));
}

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct timespec now_ts(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

/*
 * Timestamps are signed 72-bit ns counts: the le64 field holds the low 64
 * bits (read as signed, so epoch 0 is the version 1 format) and the epoch
 * byte the rest: t = (int64_t)field + epoch * 2^64. See format.h.
 */
typedef __int128 dx_ns;
#define NS_PER_S 1000000000
#define TIME_NS_MAX ((((dx_ns)127) << 64) + (dx_ns)INT64_MAX)
#define TIME_NS_MIN (-(((dx_ns)128) << 64) + (dx_ns)INT64_MIN)

static_assert(offsetof(struct daxfs_dinode, mtime) == offsetof(struct daxfs_dinode, atime) + 8 &&
		      offsetof(struct daxfs_dinode, ctime) ==
			      offsetof(struct daxfs_dinode, atime) + 16 &&
		      offsetof(struct daxfs_dinode, btime) ==
			      offsetof(struct daxfs_dinode, atime) + 24,
	      "timestamps are consecutive, in daxfs_time_idx order");

struct timespec di_get_time(const struct daxfs_dinode *di, enum daxfs_time_idx t)
{
	const le64 *f = &di->atime + t;
	struct timespec ts;

	if (!di->epoch[t]) { /* every time of this era: 64-bit arithmetic */
		int64_t v = (int64_t)le64_to_cpu(*f), sec = v / NS_PER_S, ns = v % NS_PER_S;

		if (ns < 0) {
			ns += NS_PER_S;
			sec--;
		}
		ts.tv_sec = (time_t)sec;
		ts.tv_nsec = (long)ns;
		return ts;
	}
	dx_ns v = (dx_ns)(int64_t)le64_to_cpu(*f) + (dx_ns)di->epoch[t] * ((dx_ns)1 << 64);
	dx_ns sec = v / NS_PER_S, ns = v % NS_PER_S;

	if (ns < 0) {
		ns += NS_PER_S;
		sec--;
	}
	ts.tv_sec = (time_t)sec; /* |sec| < 2^63 for every epoch */
	ts.tv_nsec = (long)ns;
	return ts;
}

void di_set_time(struct daxfs *fs, struct daxfs_dinode *di, enum daxfs_time_idx t,
		 struct timespec ts)
{
	dx_ns v = (dx_ns)ts.tv_sec * NS_PER_S + ts.tv_nsec;
	uint64_t low;
	int8_t epoch;

	if (v > TIME_NS_MAX)
		v = TIME_NS_MAX;
	if (v < TIME_NS_MIN)
		v = TIME_NS_MIN;
	low = (uint64_t)v;
	epoch = (int8_t)((v - (dx_ns)(int64_t)low) / ((dx_ns)1 << 64));
	(&di->atime)[t] = cpu_to_le64(low);
	di->epoch[t] = epoch;
	if (epoch)
		super_feature_on(fs, FEAT_RO_COMPAT, DAXFS_FEAT_RO_COMPAT_EPOCH);
}

void di_touch(struct daxfs *fs, struct daxfs_dinode *di, unsigned which)
{
	struct timespec now = now_ts();

	for (int t = DAXFS_ATIME; t <= DAXFS_BTIME; t++)
		if (which & (1U << t))
			di_set_time(fs, di, (enum daxfs_time_idx)t, now);
}

void di_to_attr(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di, struct daxfs_attr *a)
{
	uint32_t mode = le32_to_cpu(di->mode);

	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = mode;
	a->nlink = le32_to_cpu(di->nlink);
	a->uid = le32_to_cpu(di->uid);
	a->gid = le32_to_cpu(di->gid);
	a->rdev = le64_to_cpu(di->rdev);
	a->size = le64_to_cpu(di->size);
	a->blocks = le64_to_cpu(di->blocks) * (BLK_SIZE / 512);
	a->blksize = S_ISREG(mode) ? 2 * 1024 * 1024 : BLK_SIZE;
	a->generation = le64_to_cpu(di->generation);
	a->atime = di_get_time(di, DAXFS_ATIME);
	a->mtime = di_get_time(di, DAXFS_MTIME);
	a->ctime = di_get_time(di, DAXFS_CTIME);
	a->btime = di_get_time(di, DAXFS_BTIME);
}

/* ---- inode allocation map (DRAM) ---- */

static void imap_set(struct daxfs *fs, uint64_t ino)
{
	fs->imap[(ino - 1) / 64] |= 1ULL << ((ino - 1) % 64);
}

/* imap_clear - @ino's number may be given out again (free_inodes is the
 * caller's: a ghost was counted free when it was freed on media) */
static void imap_clear(struct daxfs *fs, uint64_t ino)
{
	fs->imap[(ino - 1) / 64] &= ~(1ULL << ((ino - 1) % 64));
}

int imap_init(struct daxfs *fs)
{
	size_t words = (fs->inode_count + 63) / 64;

	if (!fs->imap) {
		fs->imap = calloc(words ? words : 1, sizeof(uint64_t));
		if (!fs->imap)
			return -ENOMEM;
	} else {
		memset(fs->imap, 0, words * sizeof(uint64_t));
	}
	fs->free_inodes = 0;
	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		const struct daxfs_dinode *di = dx_ptr(fs, di_off(fs, ino));

		if (di->mode)
			imap_set(fs, ino);
		else
			fs->free_inodes++;
	}
	/* ghosts: free on media, but their numbers are still named */
	pthread_mutex_lock(&fs->icache_lock);
	for (size_t b = 0; b < fs->icache_size; b++)
		for (struct dxi *i = fs->icache[b]; i; i = i->hnext)
			if (i->ghost && ino_valid(fs, i->ino))
				imap_set(fs, i->ino);
	pthread_mutex_unlock(&fs->icache_lock);
	return 0;
}

int ino_alloc(struct daxfs *fs, uint64_t *ino)
{
	uint64_t words = (fs->inode_count + 63) / 64;

	if (!fs->free_inodes)
		return pmd_err(-ENOSPC, "daxfs: no free inode (%llu in use)",
			       (unsigned long long)fs->inode_count);
	for (uint64_t n = 0; n <= words; n++) {
		uint64_t w = (fs->ino_cursor / 64 + n) % words;
		uint64_t bits = ~fs->imap[w];

		if (!bits)
			continue;
		uint64_t b = (uint64_t)__builtin_ctzll(bits);
		uint64_t i = w * 64 + b;

		if (i >= fs->inode_count)
			continue;
		fs->imap[w] |= 1ULL << b;
		fs->free_inodes--;
		fs->ino_cursor = i;
		*ino = i + 1;
		return 0;
	}
	return -ENOSPC;
}

void ino_free_mark(struct daxfs *fs, uint64_t ino)
{
	imap_clear(fs, ino);
	fs->free_inodes++;
}

/* ---- in-memory inodes ---- */

#define ICACHE_MIN 1024

static size_t ih(const struct daxfs *fs, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 32) & (fs->icache_size - 1);
}

int icache_init(struct daxfs *fs)
{
	fs->icache = calloc(ICACHE_MIN, sizeof(*fs->icache));
	if (!fs->icache)
		return -ENOMEM;
	fs->icache_size = ICACHE_MIN;
	fs->icache_count = 0;
	return 0;
}

/* icache_grow - twice the buckets (under icache_lock); on out of memory
 * the table stays as it is: longer chains, nothing lost */
static void icache_grow(struct daxfs *fs)
{
	size_t old = fs->icache_size;
	struct dxi **t = calloc(old * 2, sizeof(*t)), **ot = fs->icache;

	if (!t)
		return;
	fs->icache = t;
	fs->icache_size = old * 2;
	for (size_t b = 0; b < old; b++) {
		struct dxi *i = ot[b], *n;

		for (; i; i = n) {
			size_t h = ih(fs, i->ino);

			n = i->hnext;
			i->hnext = t[h];
			t[h] = i;
		}
	}
	free(ot);
}

struct dxi *dxi_find_locked(struct daxfs *fs, uint64_t ino)
{
	for (struct dxi *i = fs->icache[ih(fs, ino)]; i; i = i->hnext)
		if (i->ino == ino)
			return i;
	return NULL;
}

/* dxi_get - in-memory inode for @ino with one more reference (never NULL
 * except on out of memory). The caller checks the inode is in use. */
struct dxi *dxi_get(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (!i) {
		i = calloc(1, sizeof(*i));
		if (!i) {
			pthread_mutex_unlock(&fs->icache_lock);
			return NULL;
		}
		i->ino = ino;
		pthread_rwlock_init(&i->rw, NULL);
		if (fs->icache_count >= fs->icache_size)
			icache_grow(fs);
		i->hnext = fs->icache[ih(fs, ino)];
		fs->icache[ih(fs, ino)] = i;
		fs->icache_count++;
	}
	i->refs++;
	pthread_mutex_unlock(&fs->icache_lock);
	return i;
}

static void dxi_unhash(struct daxfs *fs, struct dxi *i)
{
	struct dxi **pp = &fs->icache[ih(fs, i->ino)];

	while (*pp != i)
		pp = &(*pp)->hnext;
	*pp = i->hnext;
	fs->icache_count--;
}

static void dxi_free(struct dxi *i)
{
	pthread_rwlock_destroy(&i->rw);
	free(i->ext);
	free(i->deferred);
	free(i->gattr);
	free(i);
}

/* icache_destroy - free every in-memory inode and the table (closing) */
void icache_destroy(struct daxfs *fs)
{
	for (size_t b = 0; b < fs->icache_size; b++) {
		struct dxi *i = fs->icache[b], *n;

		for (; i; i = n) {
			n = i->hnext;
			dxi_free(i);
		}
	}
	free(fs->icache);
	fs->icache = NULL;
	fs->icache_size = fs->icache_count = 0;
}

/* dxi_put - drop a reference; the last one frees the in-memory inode and, if
 * the inode is unlinked, the inode itself (a ghost's number is given back).
 * Call without fs->lock. */
void dxi_put(struct daxfs *fs, struct dxi *i)
{
	uint64_t ino = i->ino;
	bool idle, ghost = false;

	pthread_mutex_lock(&fs->icache_lock);
	assert(i->refs > 0);
	idle = --i->refs == 0 && !i->nlookup && !i->pins && !i->ndeferred && !i->opens;
	if (idle) {
		ghost = i->ghost;
		dxi_unhash(fs, i);
		dxi_free(i);
	}
	pthread_mutex_unlock(&fs->icache_lock);
	if (ghost) { /* counted free already (statfs says what the media holds) */
		dx_lock(fs);
		imap_clear(fs, ino);
		dx_unlock(fs);
	} else if (idle) {
		maybe_evict(fs, ino);
	}
}

/*
 * inode_freed - @ino was freed on media by the transaction just committed
 * (under fs->lock); @a: its attributes then. Its number becomes free, or,
 * while the kernel still names it (DAXFS_O_OPENREFS), a ghost's: taken until
 * the last daxfs_iput, answering getattr with @a.
 */
void inode_freed(struct daxfs *fs, uint64_t ino, const struct daxfs_attr *a)
{
	struct dxi *i;
	bool ghost = false;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (i && i->nlookup) {
		ghost = i->ghost = true;
		if (!i->gattr)
			i->gattr = malloc(sizeof(*i->gattr));
		if (i->gattr) /* without it getattr says -ENOENT: still sound */
			*i->gattr = *a;
	}
	pthread_mutex_unlock(&fs->icache_lock);
	if (ghost)
		fs->free_inodes++; /* free on media; ino_alloc skips its set bit */
	else
		ino_free_mark(fs, ino);
}

/* ghost_attr - the attributes a ghost @ino keeps for getattr: 0 or -ENOENT */
int ghost_attr(struct daxfs *fs, uint64_t ino, struct daxfs_attr *out)
{
	struct dxi *i;
	int err = -ENOENT;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (i && i->ghost && i->gattr) {
		if (out)
			*out = *i->gattr;
		err = 0;
	}
	pthread_mutex_unlock(&fs->icache_lock);
	return err;
}

/* kept_open - does anything keep unlinked @ino's blocks: an open reference,
 * a pin, deferred frees, a user other than the caller's @own references, or
 * (without DAXFS_O_OPENREFS) a lookup reference? */
bool kept_open(struct daxfs *fs, uint64_t ino, unsigned own)
{
	struct dxi *i;
	bool kept;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	kept = i && (i->refs > own || i->pins || i->ndeferred || i->opens ||
		     (i->nlookup && !(fs->flags & DAXFS_O_OPENREFS)));
	pthread_mutex_unlock(&fs->icache_lock);
	return kept;
}

/* hint_orphan - @ino's last link went while it may be open (fs->lock) */
void hint_orphan(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (i)
		i->maybe_orphan = true;
	pthread_mutex_unlock(&fs->icache_lock);
}

/*
 * open_count - count one open and @lookups lookups on @i (under fs->lock,
 * after the inode was found in use); @unlinked: its link count is 0 (a
 * tmpfile, or unlinked and named by a handle), so its last close looks at it
 */
void open_count(struct daxfs *fs, struct dxi *i, unsigned lookups, bool unlinked)
{
	pthread_mutex_lock(&fs->icache_lock);
	i->opens++;
	i->nlookup += lookups;
	if (unlinked)
		i->maybe_orphan = true;
	pthread_mutex_unlock(&fs->icache_lock);
}

int daxfs_open_ref(struct daxfs *fs, uint64_t ino, unsigned lookups)
{
	const struct daxfs_dinode *di;
	struct dxi *i = dxi_get(fs, ino);
	int err;

	if (!i)
		return -ENOMEM;
	/* checked and counted under fs->lock: an unlink frees under it too */
	dx_lock(fs);
	err = di_get(fs, ino, &di);
	if (!err)
		open_count(fs, i, lookups, !di->nlink);
	dx_unlock(fs);
	dxi_put(fs, i);
	return err;
}

void daxfs_open_put(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (!i || !i->opens) {
		pthread_mutex_unlock(&fs->icache_lock);
		return;
	}
	/* only a file whose last link went while open needs a look */
	bool last = --i->opens == 0 && i->maybe_orphan;

	i->refs++;
	pthread_mutex_unlock(&fs->icache_lock);
	dxi_put(fs, i);
	if (last)
		maybe_evict(fs, ino); /* the last open of an unlinked file */
}

int daxfs_iget(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dinode *di;
	struct dxi *i;
	int err;

	dx_lock(fs);
	err = di_get(fs, ino, &di);
	dx_unlock(fs);
	if (err)
		return err;
	i = dxi_get(fs, ino);
	if (!i)
		return -ENOMEM;
	pthread_mutex_lock(&fs->icache_lock);
	i->nlookup++;
	i->refs--;
	pthread_mutex_unlock(&fs->icache_lock);
	return 0;
}

void daxfs_iput(struct daxfs *fs, uint64_t ino, uint64_t count)
{
	struct dxi *i;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (!i || !i->nlookup) {
		pthread_mutex_unlock(&fs->icache_lock);
		return;
	}
	i->nlookup = count >= i->nlookup ? 0 : i->nlookup - count;
	i->refs++;
	pthread_mutex_unlock(&fs->icache_lock);
	dxi_put(fs, i);
}

/* ---- extent maps ---- */

/* ext_reserve - room for @n extents in the in-memory map of @i, or -ENOMEM */
int ext_reserve(struct dxi *i, size_t n)
{
	if (n <= i->ext_cap)
		return 0;
	size_t cap = i->ext_cap ? i->ext_cap : 8;

	while (cap < n)
		cap *= 2;
	struct dx_ext *e = realloc(i->ext, cap * sizeof(*e));

	if (!e)
		return -ENOMEM;
	i->ext = e;
	i->ext_cap = cap;
	return 0;
}

void ext_unload(struct dxi *i)
{
	i->ext_loaded = false;
	i->next = 0;
}

/* ext_get - extent @d of inode @ino (in extent block @blk, 0 = inline), checked */
static int ext_get(struct daxfs *fs, uint64_t ino, uint64_t blk, const struct daxfs_dextent *d,
		   struct dx_ext *e, uint64_t prev_end)
{
	e->lblk = le32_to_cpu(d->lblk);
	e->len = le32_to_cpu(d->len);
	e->pblk = le64_to_cpu(d->pblk);
	return ext_check(fs, ino, blk, e, prev_end);
}

/*
 * ext_load - read the extent map of @i (needs fs->lock or i->rw held),
 * checking the inode, each extent block and each extent (verify.c).
 * Returns 0, -ENOMEM or -EIO (nothing loaded).
 */
int ext_load(struct daxfs *fs, struct dxi *i)
{
	const struct daxfs_dinode *di;
	uint32_t n, k = 0, chain = 0;
	uint64_t blk, end = 0;
	int err;

	if (i->ext_loaded)
		return 0;
	err = di_get(fs, i->ino, &di);
	if (err)
		return err;
	n = le32_to_cpu(di->file.nextents);
	err = ext_reserve(i, n);
	if (err)
		return err;
	for (; k < n && k < DAXFS_INLINE_EXTENTS; k++) {
		err = ext_get(fs, i->ino, 0, &di->file.ext[k], &i->ext[k], end);
		if (err)
			return err;
		end = i->ext[k].lblk + i->ext[k].len;
	}
	blk = le64_to_cpu(di->file.ext_next);
	while (k < n) {
		const struct daxfs_extblk *eb;
		uint32_t c;

		if (!blk || ++chain > 4096)
			return dx_corrupt(fs, DAXFS_ERR_EXTENT, DAXFS_WHY_FIELD, i->ino, blk,
					  "extent chain holds fewer than %u extents", n);
		err = blk_get(fs, blk, DAXFS_EXT_MAGIC, i->ino, DAXFS_ERR_EXTENT,
			      (const void **)&eb);
		if (err)
			return err;
		c = le32_to_cpu(eb->count);
		if (!c || c > DAXFS_EXTBLK_MAX || c > n - k)
			return dx_corrupt(fs, DAXFS_ERR_EXTENT, DAXFS_WHY_FIELD, i->ino, blk,
					  "extent block holds %u extents", c);
		for (uint32_t j = 0; j < c; j++, k++) {
			err = ext_get(fs, i->ino, blk, &eb->ext[j], &i->ext[k], end);
			if (err)
				return err;
			end = i->ext[k].lblk + i->ext[k].len;
		}
		blk = le64_to_cpu(eb->next);
	}
	if (blk && n > DAXFS_INLINE_EXTENTS)
		return dx_corrupt(fs, DAXFS_ERR_EXTENT, DAXFS_WHY_FIELD, i->ino, blk,
				  "extent chain goes on past its %u extents", n);
	i->next = k;
	i->ext_loaded = true;
	return 0;
}

static void put_ext(struct daxfs_dextent *d, const struct dx_ext *e)
{
	struct daxfs_dextent v = {cpu_to_le32((uint32_t)e->lblk), cpu_to_le32((uint32_t)e->len),
				  cpu_to_le64(e->pblk)};

	if (memcmp(d, &v, sizeof(v)))
		*d = v;
}

/*
 * ext_store - write the in-memory extent map of @i to media in the running
 * transaction: inline extents, then a chain of extent blocks (allocated or
 * freed as the count changes). Only changed lines get journaled.
 */
int ext_store(struct daxfs *fs, struct dxi *i)
{
	const struct daxfs_dinode *rd = di_read(fs, i->ino);
	size_t n = i->next, k;
	size_t need_blks =
		n > DAXFS_INLINE_EXTENTS
			? (n - DAXFS_INLINE_EXTENTS + DAXFS_EXTBLK_MAX - 1) / DAXFS_EXTBLK_MAX
			: 0;
	uint64_t *chain;
	size_t have = 0, chain_max = 4096;
	uint64_t blk = le64_to_cpu(rd->file.ext_next);
	struct daxfs_dinode *di;
	int64_t dblocks = 0;

	if (need_blks > chain_max)
		return pmd_err(-EFBIG, "inode %llu: too many extents", (unsigned long long)i->ino);
	chain = malloc(chain_max * sizeof(*chain));
	if (!chain)
		return -ENOMEM;
	while (blk && have < chain_max) {
		chain[have++] = blk;
		blk = le64_to_cpu(
			((const struct daxfs_extblk *)tx_read(fs, blk_to_off(blk)))->next);
	}
	while (have < need_blks) {
		struct dx_range r;
		int err = alloc_blocks(fs, 1, false, have ? chain[have - 1] + 1 : 0, &r);

		if (err) {
			free(chain);
			return err;
		}
		tx_new_blk(fs, r.pblk, true);
		chain[have++] = r.pblk;
		dblocks++;
	}
	while (have > need_blks) {
		tx_free(fs, chain[--have], 1);
		dblocks--;
	}
	di = di_write(fs, i->ino);
	di->file.nextents = cpu_to_le32((uint32_t)n);
	for (k = 0; k < DAXFS_INLINE_EXTENTS; k++) {
		if (k < n)
			put_ext(&di->file.ext[k], &i->ext[k]);
		else
			memset(&di->file.ext[k], 0, sizeof(di->file.ext[k]));
	}
	di->file.ext_next = cpu_to_le64(have ? chain[0] : 0);
	di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)dblocks);
	for (size_t b = 0; b < have; b++) {
		const struct daxfs_extblk *ro = tx_read(fs, blk_to_off(chain[b]));
		size_t first = DAXFS_INLINE_EXTENTS + b * DAXFS_EXTBLK_MAX;
		size_t cnt = n - first < DAXFS_EXTBLK_MAX ? n - first : DAXFS_EXTBLK_MAX;
		uint64_t next = b + 1 < have ? chain[b + 1] : 0;
		struct daxfs_extblk *eb;
		bool changed = le32_to_cpu(ro->h.magic) != DAXFS_EXT_MAGIC ||
			       le64_to_cpu(ro->next) != next || le32_to_cpu(ro->count) != cnt;

		for (size_t j = 0; j < cnt && !changed; j++) {
			const struct dx_ext *e = &i->ext[first + j];

			changed = le32_to_cpu(ro->ext[j].lblk) != e->lblk ||
				  le32_to_cpu(ro->ext[j].len) != e->len ||
				  le64_to_cpu(ro->ext[j].pblk) != e->pblk;
		}
		if (!changed)
			continue;
		eb = tx_write(fs, blk_to_off(chain[b]), 32);
		eb->h.magic = cpu_to_le32(DAXFS_EXT_MAGIC);
		eb->h.ino = cpu_to_le64(i->ino);
		eb->next = cpu_to_le64(next);
		eb->count = cpu_to_le32((uint32_t)cnt);
		for (size_t j = 0; j < cnt; j++) {
			const struct dx_ext *e = &i->ext[first + j];
			struct daxfs_dextent v = {cpu_to_le32((uint32_t)e->lblk),
						  cpu_to_le32((uint32_t)e->len),
						  cpu_to_le64(e->pblk)};

			if (memcmp(&ro->ext[j], &v, sizeof(v))) {
				struct daxfs_dextent *d =
					tx_write(fs, blk_to_off(chain[b]) + 32 + j * 16, 16);
				*d = v;
			}
		}
		tx_seal(fs, chain[b]);
	}
	free(chain);
	return 0;
}

/* ---- freeing ---- */

/* inode_release_blocks - free (or defer while pinned) blocks of @i in the tx */
void inode_release_blocks(struct daxfs *fs, struct dxi *i, uint64_t pblk, uint64_t len)
{
	bool pinned;

	pthread_mutex_lock(&fs->icache_lock);
	pinned = i->pins > 0;
	if (pinned) {
		if (i->ndeferred == i->deferred_cap) {
			size_t cap = i->deferred_cap ? i->deferred_cap * 2 : 8;
			struct dx_range *n = realloc(i->deferred, cap * sizeof(*n));

			if (!n)
				abort();
			i->deferred = n;
			i->deferred_cap = cap;
		}
		i->deferred[i->ndeferred++] = (struct dx_range){pblk, len};
		fs->ndeferred_inodes++;
	}
	pthread_mutex_unlock(&fs->icache_lock);
	if (pinned) {
		struct daxfs_dsuper *sb = super_write(fs);

		sb->flags = cpu_to_le32(le32_to_cpu(sb->flags) | DAXFS_SB_DEFERRED);
		super_seal(sb);
		fs->stats.deferred_blocks += len;
	} else {
		tx_free(fs, pblk, len);
	}
}

/*
 * file_free_range - remove file blocks [@from, @to) from @i's map and free
 * them, committing a transaction every few hundred extents so no transaction
 * outgrows the journal. The caller holds i->rw exclusive and fs->lock and
 * has begun a transaction, which is committed on return (0) or aborted.
 */
int file_free_range(struct daxfs *fs, struct dxi *i, uint64_t from, uint64_t to)
{
	int err = ext_load(fs, i);
	unsigned batch = 0;

	if (err)
		goto out_abort;
	for (size_t k = 0; k < i->next;) {
		struct dx_ext *e = &i->ext[k];
		uint64_t s = e->lblk, end = e->lblk + e->len;
		uint64_t cs = s > from ? s : from, ce = end < to ? end : to;
		struct daxfs_dinode *di;

		if (cs >= ce) {
			k++;
			continue;
		}
		inode_release_blocks(fs, i, e->pblk + (cs - s), ce - cs);
		di = di_write(fs, i->ino);
		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) - (ce - cs));
		if (cs == s && ce == end) {
			memmove(e, e + 1, (i->next - k - 1) * sizeof(*e));
			i->next--;
		} else if (cs == s) {
			e->pblk += ce - s;
			e->len = end - ce;
			e->lblk = ce;
			k++;
		} else if (ce == end) {
			e->len = cs - s;
			k++;
		} else {
			err = ext_reserve(i, i->next + 1);
			if (err)
				goto out_abort;
			e = &i->ext[k];
			memmove(e + 2, e + 1, (i->next - k - 1) * sizeof(*e));
			e[1] = (struct dx_ext){ce, end - ce, e->pblk + (ce - s)};
			e->len = cs - s;
			i->next++;
			k += 2;
		}
		if (++batch >= 256 || tx_journal_room(fs) < 64 * 1024) {
			err = ext_store(fs, i);
			if (!err)
				err = tx_commit(fs);
			if (err)
				goto out_reload;
			tx_begin(fs);
			batch = 0;
		}
	}
	err = ext_store(fs, i);
	if (err)
		goto out_abort;
	return tx_commit(fs);
out_abort:
	tx_abort(fs);
out_reload:
	ext_unload(i);
	return err;
}

/* ---- orphans ---- */

int orphan_add(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dsuper *rsb = tx_read(fs, 0);
	struct daxfs_dinode *di = di_write(fs, ino);
	struct daxfs_dsuper *sb;

	if (le32_to_cpu(di->flags) & DAXFS_IF_ORPHAN)
		return 0;
	di->orphan_next = rsb->orphan_head;
	di->flags = cpu_to_le32(le32_to_cpu(di->flags) | DAXFS_IF_ORPHAN);
	di_seal(fs, ino, di);
	sb = super_write(fs);
	sb->orphan_head = cpu_to_le64(ino);
	super_seal(sb);
	return 0;
}

int orphan_remove(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dsuper *rsb = tx_read(fs, 0);
	uint64_t cur = le64_to_cpu(rsb->orphan_head), prev = 0;
	unsigned guard = 0;

	while (cur && cur != ino) {
		const struct daxfs_dinode *di;
		int err = di_get(fs, cur, &di);

		if (err == -ENOENT || (!err && ++guard > fs->inode_count))
			err = dx_corrupt(fs, DAXFS_ERR_SUPER, DAXFS_WHY_FIELD, cur, 0,
					 "orphan list leads to a free inode or loops");
		if (err)
			return err;
		prev = cur;
		cur = le64_to_cpu(di->orphan_next);
	}
	if (!cur)
		return 0;
	uint64_t next = le64_to_cpu(di_read(fs, ino)->orphan_next);

	if (prev) {
		struct daxfs_dinode *p = di_write(fs, prev);

		p->orphan_next = cpu_to_le64(next);
		di_seal(fs, prev, p);
	} else {
		struct daxfs_dsuper *sb = super_write(fs);

		sb->orphan_head = cpu_to_le64(next);
		super_seal(sb);
	}
	struct daxfs_dinode *di = di_write(fs, ino);

	di->orphan_next = 0;
	di->flags = cpu_to_le32(le32_to_cpu(di->flags) & ~DAXFS_IF_ORPHAN);
	di_seal(fs, ino, di);
	return 0;
}

/*
 * inode_evict - free an unlinked inode nobody references: its blocks (in
 * batches), its metadata blocks, and finally the inode, taking it off the
 * orphan list. Called without locks.
 */
static _Thread_local bool evicting; /* no recursion from the final dxi_put */

int inode_evict(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i;
	bool outer = !evicting;

	evicting = true;
	i = dxi_get(fs, ino);
	const struct daxfs_dinode *rd;
	uint32_t mode;
	int err = 0;

	if (!i) {
		evicting = !outer;
		return -ENOMEM;
	}
	pthread_rwlock_wrlock(&i->rw);
	dx_lock(fs);
	err = di_get(fs, ino, &rd);
	if (err) {
		if (err == -ENOENT)
			err = 0; /* freed already */
		goto out_unlock;
	}
	mode = le32_to_cpu(rd->mode);
	if (le32_to_cpu(rd->nlink) || kept_open(fs, ino, 1) || dx_readonly(fs))
		goto out_unlock;
	struct daxfs_attr attr;

	di_to_attr(fs, ino, rd, &attr);
	tx_begin(fs);
	if (S_ISREG(mode)) {
		err = file_free_range(fs, i, 0, UINT64_MAX);
		if (err)
			goto out_unlock;
		tx_begin(fs);
	} else if (S_ISDIR(mode)) {
		err = dir_free_tree(fs, ino);
		if (err)
			goto out_abort;
	} else if (S_ISLNK(mode)) {
		uint64_t b = le64_to_cpu(rd->symlink.blk);

		if (b)
			tx_free(fs, b, 1);
	}
	struct daxfs_dinode *di;

	err = xattr_free(fs, ino);
	if (err)
		goto out_abort;
	err = orphan_remove(fs, ino);
	if (err)
		goto out_abort;
	di = di_write(fs, ino);
	uint64_t gen = le64_to_cpu(di->generation);

	memset(di, 0, sizeof(*di));
	di->generation = cpu_to_le64(gen);
	err = tx_commit(fs);
	if (!err)
		inode_freed(fs, ino, &attr);
	ext_unload(i);
	goto out_unlock;
out_abort:
	tx_abort(fs);
out_unlock:
	dx_unlock(fs);
	pthread_rwlock_unlock(&i->rw);
	dxi_put(fs, i);
	evicting = !outer;
	return err;
}

/* maybe_evict - evict @ino if it is an orphan nobody references */
void maybe_evict(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dinode *di;
	bool orphan;

	if (dx_readonly(fs) || !ino_valid(fs, ino) || evicting)
		return;
	dx_lock(fs);
	orphan = !di_get(fs, ino, &di) && !di->nlink;
	dx_unlock(fs);
	if (orphan)
		inode_evict(fs, ino);
}

/* orphans_recover - free every inode on the orphan list (open, after replay) */
int orphans_recover(struct daxfs *fs)
{
	for (;;) {
		uint64_t ino;

		const struct daxfs_dinode *di = NULL;
		int gerr = 0;

		dx_lock(fs);
		ino = le64_to_cpu(((const struct daxfs_dsuper *)dx_ptr(fs, 0))->orphan_head);
		if (ino)
			gerr = di_get(fs, ino, &di);
		if (gerr == -EIO) {
			/* a corrupt orphan: recorded; left on the list for fsck */
			dx_unlock(fs);
			return 0;
		}
		if (ino && (gerr == -ENOENT || di->nlink)) {
			/* a linked or free inode on the list: just unlink it from the list */
			int err;

			tx_begin(fs);
			if (!ino_valid(fs, ino)) {
				struct daxfs_dsuper *sb = super_write(fs);

				sb->orphan_head = 0;
				super_seal(sb);
			} else {
				orphan_remove(fs, ino);
			}
			err = tx_commit(fs);
			dx_unlock(fs);
			if (err)
				return err;
			continue;
		}
		dx_unlock(fs);
		if (!ino)
			return 0;
		int err = inode_evict(fs, ino);

		if (err == -EIO)
			return 0; /* its blocks are corrupt: recorded, left for fsck */
		if (err)
			return err;
		dx_lock(fs);
		bool stuck =
			le64_to_cpu(((const struct daxfs_dsuper *)dx_ptr(fs, 0))->orphan_head) ==
			ino;
		dx_unlock(fs);
		if (stuck) /* still referenced: its last iput frees it */
			return 0;
	}
}
