/* SPDX-License-Identifier: MIT */
/*
 * fsck.c - check and repair a daxfs.
 *
 * Passes:
 *  0. superblock (primary, else backup) and journal;
 *  1. every inode: checksum, type, extent maps, directory trees, symlink and
 *     xattr blocks; every referenced block is claimed in a DRAM bitmap,
 *     catching double allocation and out-of-range pointers; directory
 *     entries are collected as edges;
 *  2. the tree from the root: entries to free inodes, '..' (parent field),
 *     reachability (lost inodes go to /lost+found), link counts, orphans;
 *  3. the allocation bitmap against the claimed blocks (leaks, blocks in use
 *     but marked free), plus a fragmentation summary.
 * Pass 3 runs before pass 2, so the repairs of pass 2 (lost+found, entry
 * removal) allocate from a correct bitmap.
 * In repair mode fixes are made with journal transactions (or, for the
 * bitmap and superblock, direct persisted writes) and the check is run
 * again until it comes out clean.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

#define MAX_REPORT 50

struct problem {
	char structure[16];
	uint64_t id;
	char msg[200];
	bool fixed;
};

/* blocks on bad sectors: file data (lblk set) or metadata */
struct badhit {
	uint64_t ino; /* 0: fixed metadata */
	const char *what;
	uint64_t lblk; /* file block of data, UINT64_MAX for metadata */
	uint64_t blk, n;
};

struct edge {
	uint64_t dir, child;
	uint8_t type;
	uint8_t namelen;
	char name[DAXFS_NAME_MAX + 1];
};

struct ck {
	struct daxfs *fs;
	bool repair;
	/* results */
	struct problem *probs;
	size_t nprobs, cap;
	/* pass 1 */
	uint8_t *claimed; /* bit per block */
	uint64_t *owner;  /* first owner of a block (ino), only tracked on conflict */
	uint8_t *bad;	  /* per inode: cleared/broken in this pass */
	uint32_t *refs;	  /* directory entries pointing to each inode */
	uint32_t *subdirs;
	uint64_t *dotdot; /* parent found by the tree walk */
	bool *orphan;
	struct edge *edges;
	size_t nedges, edges_cap;
	/* stats */
	uint64_t files, dirs, symlinks, others, data_blocks, huge_blocks;
	uint64_t leaked, unmarked;
	bool journal_pending;
	/* bad sectors (first round only) */
	const struct daxfs_badblocks *badl;
	struct badhit *hits;
	size_t nhits, hits_cap;
};

static void problem(struct ck *c, const char *structure, uint64_t id, bool fixed, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));

static void problem(struct ck *c, const char *structure, uint64_t id, bool fixed, const char *fmt,
		    ...)
{
	va_list ap;

	if (c->nprobs == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct problem *n = realloc(c->probs, cap * sizeof(*n));

		if (!n)
			return;
		c->probs = n;
		c->cap = cap;
	}
	struct problem *p = &c->probs[c->nprobs++];

	snprintf(p->structure, sizeof(p->structure), "%s", structure);
	p->id = id;
	p->fixed = fixed;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
}

/*
 * bad_note - record the runs of [blk, blk + n) that lie on bad sectors:
 * blocks of @ino's @what (file block @lblk on, or UINT64_MAX for metadata).
 */
static void bad_note(struct ck *c, uint64_t ino, const char *what, uint64_t lblk, uint64_t blk,
		     uint64_t n)
{
	const struct daxfs_badblocks *bad = c->badl;

	while (bad && n) {
		uint64_t b = daxfs_first_bad(bad, blk, n), e;

		if (b == UINT64_MAX)
			return;
		for (e = b + 1; e < blk + n && bad->check(bad->ctx, blk_to_off(e), BLK_SIZE); e++)
			;
		if (c->nhits == c->hits_cap) {
			size_t cap = c->hits_cap ? 2 * c->hits_cap : 16;
			struct badhit *h = realloc(c->hits, cap * sizeof(*h));

			if (!h)
				return;
			c->hits = h;
			c->hits_cap = cap;
		}
		c->hits[c->nhits++] = (struct badhit){
			ino, what, lblk == UINT64_MAX ? lblk : lblk + (b - blk), b, e - b};
		n -= e - blk;
		if (lblk != UINT64_MAX)
			lblk += e - blk;
		blk = e;
	}
}

static bool claim(struct ck *c, uint64_t ino, uint64_t blk, uint64_t n, const char *what)
{
	struct daxfs *fs = c->fs;

	if (blk < fs->data_blk || blk >= fs->total_blocks || n > fs->total_blocks - blk) {
		problem(c, "inode", ino, false, "inode %llu: %s block %llu+%llu out of range",
			(unsigned long long)ino, what, (unsigned long long)blk,
			(unsigned long long)n);
		return false;
	}
	for (uint64_t b = blk; b < blk + n; b++) {
		if (c->claimed[b / 8] & (1U << (b % 8))) {
			problem(c, "block", b, false,
				"block %llu claimed twice (again by inode %llu, %s)",
				(unsigned long long)b, (unsigned long long)ino, what);
			/* release what this call claimed so far */
			for (uint64_t k = blk; k < b; k++)
				c->claimed[k / 8] &= (uint8_t) ~(1U << (k % 8));
			return false;
		}
		c->claimed[b / 8] |= (uint8_t)(1U << (b % 8));
	}
	if (strcmp(what, "data"))
		bad_note(c, ino, what, UINT64_MAX, blk, n);
	return true;
}

/* ---- repairs (in repair mode, each one a transaction) ---- */

/*
 * fix_begin - start the repair of inode @ino: take fs->lock, begin a
 * transaction and return the inode to change in it; fix_end() commits.
 */
static struct daxfs_dinode *fix_begin(struct ck *c, uint64_t ino)
{
	dx_lock(c->fs);
	tx_begin(c->fs);
	return di_write(c->fs, ino);
}

static void fix_end(struct ck *c)
{
	tx_commit(c->fs);
	dx_unlock(c->fs);
}

static void fix_clear_inode(struct ck *c, uint64_t ino)
{
	struct daxfs_dinode *di = fix_begin(c, ino);
	uint64_t gen = le64_to_cpu(di->generation);

	memset(di, 0, sizeof(*di));
	di->generation = cpu_to_le64(gen);
	fix_end(c);
}

static void bad_inode(struct ck *c, uint64_t ino, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * bad_inode - report inode @ino as "@kind @ino: <@fmt...>", mark it bad and,
 * in repair mode, clear it
 */
static void bad_inode(struct ck *c, uint64_t ino, const char *kind, const char *fmt, ...)
{
	char why[sizeof(c->probs->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	problem(c, "inode", ino, c->repair, "%s %llu: %s%s", kind, (unsigned long long)ino, why,
		c->repair ? ", cleared" : "");
	c->bad[ino - 1] = 1;
	if (c->repair)
		fix_clear_inode(c, ino);
}

/* ---- pass 1: inodes ---- */

static bool blkhdr_ok(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino)
{
	const struct daxfs_blkhdr *h = dx_ptr(fs, blk_to_off(blk));

	return le32_to_cpu(h->magic) == magic && le64_to_cpu(h->ino) == ino &&
	       le32_to_cpu(h->crc) == daxfs_csum(h, BLK_SIZE, 4);
}

/*
 * check_ext - claim the data blocks of extent @e of @ino, which must be
 * nonempty and start at or after *@last_end (then moved to its end); counts
 * them in *@used and the totals. False if the extent is bad.
 */
static bool check_ext(struct ck *c, uint64_t ino, const struct daxfs_dextent *e, uint64_t *last_end,
		      uint64_t *used)
{
	uint64_t l = le32_to_cpu(e->lblk), len = le32_to_cpu(e->len);
	uint64_t p = le64_to_cpu(e->pblk);

	if (!len || l < *last_end || !claim(c, ino, p, len, "data"))
		return false;
	bad_note(c, ino, "data", l, p, len);
	*last_end = l + len;
	*used += len;
	c->data_blocks += len;
	if ((p - l) % CHUNK_BLKS == 0) {
		uint64_t ws = align_up(l, CHUNK_BLKS), we = align_down(l + len, CHUNK_BLKS);

		if (we > ws)
			c->huge_blocks += we - ws;
	}
	return true;
}

static uint64_t check_file(struct ck *c, uint64_t ino, const struct daxfs_dinode *di, bool *ok)
{
	struct daxfs *fs = c->fs;
	uint32_t n = le32_to_cpu(di->file.nextents), k = 0;
	uint64_t blk = le64_to_cpu(di->file.ext_next), used = 0, last_end = 0;
	unsigned chain = 0;

	*ok = true;
	for (; k < n && k < DAXFS_INLINE_EXTENTS; k++) {
		if (!check_ext(c, ino, &di->file.ext[k], &last_end, &used)) {
			*ok = false;
			return used;
		}
	}
	while (k < n) {
		const struct daxfs_extblk *eb;

		if (!blk || ++chain > 4096 || !claim(c, ino, blk, 1, "extent")) {
			*ok = false;
			return used;
		}
		used++;
		if (!blkhdr_ok(fs, blk, DAXFS_EXT_MAGIC, ino)) {
			problem(c, "inode", ino, false, "inode %llu: extent block %llu corrupt",
				(unsigned long long)ino, (unsigned long long)blk);
			*ok = false;
			return used;
		}
		eb = dx_ptr(fs, blk_to_off(blk));
		for (uint32_t j = 0; j < le32_to_cpu(eb->count) && j < DAXFS_EXTBLK_MAX && k < n;
		     j++, k++) {
			if (!check_ext(c, ino, &eb->ext[j], &last_end, &used)) {
				*ok = false;
				return used;
			}
		}
		blk = le64_to_cpu(eb->next);
	}
	return used;
}

struct dwalk {
	struct ck *c;
	uint64_t ino;
	uint64_t blocks, entries;
	bool ok;
};

static int dir_blk_cb(void *ctx, uint64_t blk, int level)
{
	struct dwalk *w = ctx;
	struct ck *c = w->c;
	struct daxfs *fs = c->fs;
	const struct daxfs_dnode *n;

	if (!claim(c, w->ino, blk, 1, "directory")) {
		w->ok = false;
		return -EIO;
	}
	w->blocks++;
	if (!blkhdr_ok(fs, blk, DAXFS_DIR_MAGIC, w->ino)) {
		problem(c, "directory", w->ino, false, "directory %llu: block %llu corrupt",
			(unsigned long long)w->ino, (unsigned long long)blk);
		w->ok = false;
		return -EIO;
	}
	n = dx_ptr(fs, blk_to_off(blk));
	if (level != 0)
		return le16_to_cpu(n->nslots) <= DAXFS_DINDEX_MAX ? 0 : -EIO;
	unsigned ns = le16_to_cpu(n->nslots);
	uint64_t prev = 0;

	if (32 + 2 * ns > le16_to_cpu(n->heap_start) || le16_to_cpu(n->heap_start) > BLK_SIZE)
		goto bad;
	for (unsigned i = 0; i < ns; i++) {
		le16 so;
		const struct daxfs_dentry *e;

		memcpy(&so, (const uint8_t *)n + 32 + 2 * i, 2);
		if (le16_to_cpu(so) < le16_to_cpu(n->heap_start) ||
		    le16_to_cpu(so) + 18u > BLK_SIZE)
			goto bad;
		e = (const void *)((const uint8_t *)n + le16_to_cpu(so));
		if (le16_to_cpu(so) + DAXFS_DENTRY_SIZE(e->namelen) > BLK_SIZE || !e->namelen ||
		    (i && le64_to_cpu(e->key) <= prev) ||
		    (le64_to_cpu(e->key) & ~UINT64_C(15)) != name_hash(fs, e->name, e->namelen))
			goto bad;
		prev = le64_to_cpu(e->key);
		if (c->nedges == c->edges_cap) {
			size_t cap = c->edges_cap ? c->edges_cap * 2 : 1024;
			struct edge *ne = realloc(c->edges, cap * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			c->edges = ne;
			c->edges_cap = cap;
		}
		struct edge *ed = &c->edges[c->nedges++];

		ed->dir = w->ino;
		ed->child = le64_to_cpu(e->ino);
		ed->type = e->type;
		ed->namelen = e->namelen;
		memcpy(ed->name, e->name, e->namelen);
		ed->name[e->namelen] = '\0';
		w->entries++;
	}
	return 0;
bad:
	problem(c, "directory", w->ino, false, "directory %llu: leaf %llu has bad entries",
		(unsigned long long)w->ino, (unsigned long long)blk);
	w->ok = false;
	return -EIO;
}

static void reset_dir(struct ck *c, uint64_t ino)
{
	struct daxfs_dinode *di = fix_begin(c, ino);

	di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) - le64_to_cpu(di->dir.nblocks));
	memset(&di->dir, 0, sizeof(di->dir));
	di->size = 0;
	fix_end(c);
}

/* ---- pass 1: attributes, user flags, timestamps (issue 13 structures) ---- */

struct xclaim {
	struct ck *c;
	uint64_t ino, blocks;
};

static int xattr_claim(void *ctx, uint64_t blk, enum xattr_blk_kind kind)
{
	static const char *what[] = {"xattr index", "xattr", "xattr value"};
	struct xclaim *x = ctx;

	if (!claim(x->c, x->ino, blk, 1, what[kind]))
		return -EEXIST;
	x->blocks++;
	return 0;
}

/* set the feature bit @bit of word @w in repair mode (a transaction) */
static void fix_feature(struct ck *c, enum dx_feat w, uint32_t bit)
{
	dx_lock(c->fs);
	tx_begin(c->fs);
	super_feature_on(c->fs, w, bit);
	tx_commit(c->fs);
	dx_unlock(c->fs);
}

/*
 * check_xattrs - claim and check the attribute blocks of @ino: a lone entry
 * block, or an XATTR2 index with its entry blocks and outside values (whose
 * checksums are verified). Returns the blocks counted. A bad structure is
 * reported and, in repair mode, all the inode's attributes are dropped.
 */
static uint64_t check_xattrs(struct ck *c, uint64_t ino, const struct daxfs_dinode *di)
{
	struct daxfs *fs = c->fs;
	uint64_t xb = le64_to_cpu(di->xattr_blk);
	struct xclaim x = {c, ino, 0};
	int err;

	if (!xb)
		return 0;
	if (xb >= fs->data_blk && xb < fs->total_blocks &&
	    le32_to_cpu(((const struct daxfs_blkhdr *)dx_ptr(fs, blk_to_off(xb)))->magic) ==
		    DAXFS_XIDX_MAGIC &&
	    !super_has_feature(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2)) {
		problem(c, "superblock", 0, c->repair,
			"inode %llu has an xattr index block but the XATTR2 feature is off%s",
			(unsigned long long)ino, c->repair ? ", turned on" : "");
		if (!c->repair)
			return 0; /* the walk below would refuse it */
		fix_feature(c, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2);
	}
	err = xattr_walk(fs, ino, true, xattr_claim, &x);
	if (!err)
		return x.blocks;
	problem(c, "inode", ino, c->repair, "inode %llu: bad extended attributes (%s)%s",
		(unsigned long long)ino, err == -EEXIST ? "block claimed twice" : pmd_errmsg(),
		c->repair ? ", dropped" : "");
	if (c->repair) {
		struct daxfs_dinode *w = fix_begin(c, ino);

		w->xattr_blk = 0;
		fix_end(c);
	}
	c->bad[ino - 1] = 2; /* the rerun recounts the blocks */
	return x.blocks;
}

/* check_user_flags - bits 8..15 of the inode flags: only the known ones */
static void check_user_flags(struct ck *c, uint64_t ino, const struct daxfs_dinode *di)
{
	uint32_t unknown = le32_to_cpu(di->flags) & DAXFS_IF_USER_MASK & ~DAXFS_IF_USER_KNOWN;

	if (!unknown)
		return;
	problem(c, "inode", ino, c->repair, "inode %llu: unknown flags 0x%x%s",
		(unsigned long long)ino, unknown, c->repair ? ", cleared" : "");
	if (c->repair) {
		struct daxfs_dinode *w = fix_begin(c, ino);

		w->flags = cpu_to_le32(le32_to_cpu(w->flags) & ~unknown);
		fix_end(c);
	}
}

/* check_epochs - nonzero timestamp epoch bytes need the EPOCH feature */
static void check_epochs(struct ck *c, uint64_t ino, const struct daxfs_dinode *di)
{
	if (!(di->epoch[0] | di->epoch[1] | di->epoch[2] | di->epoch[3]) ||
	    super_has_feature(c->fs, FEAT_RO_COMPAT, DAXFS_FEAT_RO_COMPAT_EPOCH))
		return;
	problem(c, "superblock", 0, c->repair,
		"inode %llu has timestamps outside 1677..2262 but the EPOCH feature is off%s",
		(unsigned long long)ino, c->repair ? ", turned on" : "");
	if (c->repair)
		fix_feature(c, FEAT_RO_COMPAT, DAXFS_FEAT_RO_COMPAT_EPOCH);
}

static void pass1(struct ck *c)
{
	struct daxfs *fs = c->fs;

	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		const struct daxfs_dinode *di = di_read(fs, ino);
		uint32_t mode = le32_to_cpu(di->mode);
		uint64_t used = 0;
		bool ok = true;

		if (!mode)
			continue;
		if (le32_to_cpu(di->crc) !=
		    daxfs_csum(di, sizeof(*di), offsetof(struct daxfs_dinode, crc))) {
			bad_inode(c, ino, "inode", "checksum mismatch");
			continue;
		}
		switch (mode & S_IFMT) {
		case S_IFREG:
			c->files++;
			used = check_file(c, ino, di, &ok);
			if (!ok) {
				problem(c, "inode", ino, c->repair, "inode %llu: bad extent map%s",
					(unsigned long long)ino, c->repair ? ", file emptied" : "");
				if (c->repair) {
					struct dxi *i = dxi_get(fs, ino);
					/* blocks claimed so far stay claimed by nobody */
					struct daxfs_dinode *w = fix_begin(c, ino);

					w->size = 0;
					w->blocks = 0;
					memset(&w->file, 0, sizeof(w->file));
					fix_end(c);
					if (i) {
						ext_unload(i);
						dxi_put(fs, i);
					}
					c->bad[ino - 1] = 2; /* rerun will recount */
				}
			}
			break;
		case S_IFDIR: {
			struct dwalk w = {c, ino, 0, 0, true};
			int err;

			c->dirs++;
			err = dir_walk_blocks(fs, le64_to_cpu(di->dir.root),
					      (int)le32_to_cpu(di->dir.height), dir_blk_cb, &w);
			if (err && w.ok)
				problem(c, "directory", ino, false, "directory %llu: bad tree (%s)",
					(unsigned long long)ino, pmd_errmsg());
			if (err) {
				if (c->repair) {
					c->probs[c->nprobs - 1].fixed = true;
					reset_dir(c, ino);
				}
				c->bad[ino - 1] = 2;
				break;
			}
			used = w.blocks;
			if (w.blocks != le64_to_cpu(di->dir.nblocks) ||
			    w.entries != le64_to_cpu(di->dir.nentries)) {
				problem(c, "directory", ino, c->repair,
					"directory %llu: counts %llu entries/%llu blocks, found "
					"%llu/%llu",
					(unsigned long long)ino,
					(unsigned long long)le64_to_cpu(di->dir.nentries),
					(unsigned long long)le64_to_cpu(di->dir.nblocks),
					(unsigned long long)w.entries,
					(unsigned long long)w.blocks);
				if (c->repair) {
					struct daxfs_dinode *x = fix_begin(c, ino);

					x->dir.nentries = cpu_to_le64(w.entries);
					x->dir.nblocks = cpu_to_le64(w.blocks);
					x->size = cpu_to_le64(w.blocks * BLK_SIZE);
					fix_end(c);
				}
			}
			break;
		}
		case S_IFLNK: {
			uint64_t b = le64_to_cpu(di->symlink.blk);
			uint32_t len = le32_to_cpu(di->symlink.len);

			c->symlinks++;
			if (!len || len > DAXFS_SYMLINK_MAX || !claim(c, ino, b, 1, "symlink") ||
			    daxfs_crc32c(0, dx_ptr(fs, blk_to_off(b)), len) !=
				    le32_to_cpu(di->symlink.crc)) {
				bad_inode(c, ino, "symlink", "bad target");
				continue;
			}
			used = 1;
			break;
		}
		case S_IFCHR:
		case S_IFBLK:
		case S_IFIFO:
		case S_IFSOCK:
			c->others++;
			break;
		default:
			bad_inode(c, ino, "inode", "bad type 0%o", mode & S_IFMT);
			continue;
		}
		used += check_xattrs(c, ino, di);
		check_user_flags(c, ino, di);
		check_epochs(c, ino, di);
		if (ok && !c->bad[ino - 1] && used != le64_to_cpu(di->blocks)) {
			problem(c, "inode", ino, c->repair,
				"inode %llu: block count %llu, counted %llu",
				(unsigned long long)ino,
				(unsigned long long)le64_to_cpu(di->blocks),
				(unsigned long long)used);
			if (c->repair) {
				fix_begin(c, ino)->blocks = cpu_to_le64(used);
				fix_end(c);
			}
		}
	}
}

/* ---- pass 2: tree ---- */

static bool in_use(struct ck *c, uint64_t ino)
{
	return ino_valid(c->fs, ino) && c->bad[ino - 1] != 1 && di_read(c->fs, ino)->mode;
}

static uint64_t lost_found(struct ck *c)
{
	struct daxfs *fs = c->fs;
	struct daxfs_attr a;
	uint64_t ino;

	if (!daxfs_lookup(fs, DAXFS_ROOT_INO, "lost+found", &a) && S_ISDIR(a.mode))
		return a.ino;
	if (daxfs_mkdir(fs, DAXFS_ROOT_INO, "lost+found", 0700, 0, 0, &a))
		return 0;
	ino = a.ino;
	return ino;
}

static void pass2(struct ck *c)
{
	struct daxfs *fs = c->fs;
	uint64_t n = fs->inode_count;
	uint8_t *reached = calloc(n, 1);
	uint64_t *queue = malloc(n * sizeof(*queue));
	size_t *first = calloc(n + 2, sizeof(*first));
	uint64_t qh = 0, qt = 0;

	if (!reached || !queue || !first)
		goto out_free;
	/* orphan list */
	uint64_t o = le64_to_cpu(((const struct daxfs_dsuper *)dx_ptr(fs, 0))->orphan_head);
	unsigned guard = 0;

	if (fs->flags & DAXFS_O_BACKUP_SB)
		o = 0;
	while (o) {
		if (!in_use(c, o) || ++guard > n || c->orphan[o - 1]) {
			problem(c, "orphan", o, false, "orphan list broken at inode %llu",
				(unsigned long long)o);
			break;
		}
		c->orphan[o - 1] = true;
		o = le64_to_cpu(di_read(fs, o)->orphan_next);
	}
	/* entries: bad targets, counts */
	for (size_t k = 0; k < c->nedges; k++) {
		struct edge *e = &c->edges[k];

		if (c->bad[e->dir - 1] == 1 || !in_use(c, e->dir))
			continue;
		if (!in_use(c, e->child)) {
			problem(c, "directory", e->dir, c->repair,
				"directory %llu: entry \"%s\" points to free inode %llu%s",
				(unsigned long long)e->dir, e->name, (unsigned long long)e->child,
				c->repair ? ", removed" : "");
			if (c->repair) {
				dx_lock(fs);
				tx_begin(fs);
				if (dir_remove(fs, e->dir, e->name, e->namelen) || tx_commit(fs))
					tx_abort(fs);
				dx_unlock(fs);
			}
			e->child = 0;
			continue;
		}
		uint32_t mode = le32_to_cpu(di_read(fs, e->child)->mode);

		if (S_ISDIR(mode)) {
			if (c->refs[e->child - 1] || e->child == DAXFS_ROOT_INO) {
				problem(c, "directory", e->dir, c->repair,
					"directory %llu: second link \"%s\" to directory %llu%s",
					(unsigned long long)e->dir, e->name,
					(unsigned long long)e->child, c->repair ? ", removed" : "");
				if (c->repair) {
					dx_lock(fs);
					tx_begin(fs);
					if (dir_remove(fs, e->dir, e->name, e->namelen) ||
					    tx_commit(fs))
						tx_abort(fs);
					dx_unlock(fs);
				}
				e->child = 0;
				continue;
			}
			c->subdirs[e->dir - 1]++;
			c->dotdot[e->child - 1] = e->dir;
		}
		c->refs[e->child - 1]++;
		first[e->dir]++;
	}
	/* adjacency by prefix sums over first[] (count -> start index) */
	size_t sum = 0;

	for (uint64_t d = 0; d <= n; d++) {
		size_t cnt = first[d];

		first[d] = sum;
		sum += cnt;
	}
	first[n + 1] = sum;
	uint64_t *adj = malloc((sum ? sum : 1) * sizeof(*adj));
	size_t *fill = calloc(n + 2, sizeof(*fill));

	if (!adj || !fill) {
		free(adj);
		free(fill);
		goto out_free;
	}
	for (size_t k = 0; k < c->nedges; k++) {
		struct edge *e = &c->edges[k];

		if (e->child && in_use(c, e->dir) && c->bad[e->dir - 1] != 1 &&
		    first[e->dir] + fill[e->dir] < first[e->dir + 1])
			adj[first[e->dir] + fill[e->dir]++] = e->child;
	}
	/* reachability */
	if (!in_use(c, DAXFS_ROOT_INO) ||
	    !S_ISDIR(le32_to_cpu(di_read(fs, DAXFS_ROOT_INO)->mode))) {
		problem(c, "inode", 1, false, "root directory is missing or not a directory");
		free(adj);
		free(fill);
		goto out_free;
	}
	reached[0] = 1;
	queue[qt++] = DAXFS_ROOT_INO;
	while (qh < qt) {
		uint64_t d = queue[qh++];

		for (size_t k = first[d]; k < first[d] + fill[d]; k++) {
			uint64_t ch = adj[k];

			if (reached[ch - 1])
				continue;
			reached[ch - 1] = 1;
			if (S_ISDIR(le32_to_cpu(di_read(fs, ch)->mode)))
				queue[qt++] = ch;
		}
	}
	free(adj);
	free(fill);
	uint64_t lf = 0;

	for (uint64_t ino = 1; ino <= n; ino++) {
		if (!in_use(c, ino))
			continue;
		const struct daxfs_dinode *di = di_read(fs, ino);
		uint32_t mode = le32_to_cpu(di->mode), nlink = le32_to_cpu(di->nlink);
		bool dir = S_ISDIR(mode);

		if (!reached[ino - 1]) {
			if (!nlink && c->orphan[ino - 1])
				continue; /* open-unlinked: freed at the next mount */
			if (!c->repair) {
				problem(c, "inode", ino, false,
					"inode %llu is not reachable from /",
					(unsigned long long)ino);
				continue;
			}
			if (!lf)
				lf = lost_found(c);
			char name[32];

			snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino);
			dx_lock(fs);
			tx_begin(fs);
			if (!lf || dir_insert(fs, lf, name, strlen(name), ino, (mode >> 12) & 15)) {
				tx_abort(fs);
				dx_unlock(fs);
				problem(c, "inode", ino, false,
					"inode %llu is not reachable from / (no lost+found)",
					(unsigned long long)ino);
				continue;
			}
			if (c->orphan[ino - 1])
				orphan_remove(fs, ino);
			if (dir) {
				di_write(fs, ino)->parent = cpu_to_le64(lf);
				di_write(fs, lf)->nlink =
					cpu_to_le32(le32_to_cpu(di_read(fs, lf)->nlink) + 1);
			}
			tx_commit(fs);
			dx_unlock(fs);
			problem(c, "inode", ino, true,
				"inode %llu was not reachable from /, moved to /lost+found",
				(unsigned long long)ino);
			c->bad[ino - 1] = 2;
			continue;
		}
		uint32_t want = dir ? 2 + c->subdirs[ino - 1] : c->refs[ino - 1];

		if (dir && ino != DAXFS_ROOT_INO && le64_to_cpu(di->parent) != c->dotdot[ino - 1]) {
			problem(c, "directory", ino, c->repair,
				"directory %llu: '..' is %llu, but it is listed in %llu",
				(unsigned long long)ino,
				(unsigned long long)le64_to_cpu(di->parent),
				(unsigned long long)c->dotdot[ino - 1]);
			if (c->repair) {
				fix_begin(c, ino)->parent = cpu_to_le64(c->dotdot[ino - 1]);
				fix_end(c);
			}
		}
		if (dir && ino == DAXFS_ROOT_INO && le64_to_cpu(di->parent) != DAXFS_ROOT_INO) {
			problem(c, "directory", ino, c->repair, "root: '..' is not the root");
			if (c->repair) {
				fix_begin(c, ino)->parent = cpu_to_le64(DAXFS_ROOT_INO);
				fix_end(c);
			}
		}
		if (nlink != want) {
			problem(c, "inode", ino, c->repair, "inode %llu: link count %u, counted %u",
				(unsigned long long)ino, nlink, want);
			if (c->repair) {
				fix_begin(c, ino)->nlink = cpu_to_le32(want);
				if (c->orphan[ino - 1])
					orphan_remove(fs, ino);
				fix_end(c);
			}
		} else if (c->orphan[ino - 1] && nlink) {
			problem(c, "orphan", ino, c->repair, "linked inode %llu on the orphan list",
				(unsigned long long)ino);
			if (c->repair) {
				dx_lock(fs);
				tx_begin(fs);
				orphan_remove(fs, ino);
				tx_commit(fs);
				dx_unlock(fs);
			}
		}
	}
out_free:
	free(reached);
	free(queue);
	free(first);
}

/* ---- pass 3: bitmap ---- */

static void pass3(struct ck *c, bool quiet_fix)
{
	struct daxfs *fs = c->fs;
	const uint8_t *bm = dx_ptr(fs, blk_to_off(fs->bitmap_blk));
	uint64_t first_leak = UINT64_MAX, first_unmarked = UINT64_MAX;

	for (uint64_t b = 0; b < fs->data_blk; b++)
		c->claimed[b / 8] |= (uint8_t)(1U << (b % 8));
	for (uint64_t b = 0; b < fs->total_blocks; b++) {
		bool on = bm[b / 8] & (1U << (b % 8));
		bool want = c->claimed[b / 8] & (1U << (b % 8));

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
	if (c->leaked && !quiet_fix)
		problem(c, "bitmap", first_leak, c->repair,
			"bitmap: %llu blocks marked used but owned by nobody (first %llu)%s",
			(unsigned long long)c->leaked, (unsigned long long)first_leak,
			c->repair ? ", freed" : "");
	if (c->unmarked && !quiet_fix)
		problem(c, "bitmap", first_unmarked, c->repair,
			"bitmap: %llu blocks in use but marked free (first %llu)%s",
			(unsigned long long)c->unmarked, (unsigned long long)first_unmarked,
			c->repair ? ", marked" : "");
	if ((c->leaked || c->unmarked) && (c->repair || quiet_fix)) {
		uint8_t *w = dx_ptr(fs, blk_to_off(fs->bitmap_blk));
		size_t len = (size_t)((fs->total_blocks + 7) / 8);

		pmr_memcpy(fs->r, w, c->claimed, len, 0);
		alloc_recount(fs);
	}
}

/* ---- driver ---- */

static int ck_init(struct ck *c, struct daxfs *fs, bool repair)
{
	uint64_t n = fs->inode_count;

	memset(c, 0, sizeof(*c));
	c->fs = fs;
	c->repair = repair;
	c->claimed = calloc((size_t)(fs->total_blocks + 7) / 8, 1);
	c->bad = calloc(n, 1);
	c->refs = calloc(n, sizeof(*c->refs));
	c->subdirs = calloc(n, sizeof(*c->subdirs));
	c->dotdot = calloc(n, sizeof(*c->dotdot));
	c->orphan = calloc(n, sizeof(*c->orphan));
	if (!c->claimed || !c->bad || !c->refs || !c->subdirs || !c->dotdot || !c->orphan)
		return -ENOMEM;
	return 0;
}

static void ck_free(struct ck *c)
{
	free(c->claimed);
	free(c->bad);
	free(c->refs);
	free(c->subdirs);
	free(c->dotdot);
	free(c->orphan);
	free(c->edges);
	free(c->probs);
	free(c->hits);
}

int daxfs_rebuild_bitmap(struct daxfs *fs)
{
	struct ck c;
	int err = ck_init(&c, fs, false);

	if (!err) {
		pass1(&c);
		pass3(&c, true);
	}
	ck_free(&c);
	return err;
}

static void json_str(FILE *f, const char *s);

/* bad_fixed - the superblocks, journal, inode table and bitmap on bad sectors */
static void bad_fixed(struct ck *c)
{
	struct daxfs *fs = c->fs;

	bad_note(c, 0, "superblock", UINT64_MAX, 0, 2);
	bad_note(c, 0, "journal", UINT64_MAX, fs->journal_blk, fs->journal_nblks);
	bad_note(c, 0, "inode table", UINT64_MAX, fs->itable_blk,
		 fs->inode_count / DAXFS_INODES_PER_BLOCK);
	bad_note(c, 0, "bitmap", UINT64_MAX, fs->bitmap_blk, fs->bitmap_nblks);
}

/*
 * ino_path - a path of @ino from the directory entries pass 1 found
 * ("/a/b"), or "" when it has none; "/" for the root.
 */
static const char *ino_path(const struct ck *c, uint64_t ino, char *buf, size_t len)
{
	char tmp[4096];
	size_t at = sizeof(tmp) - 1;

	tmp[at] = '\0';
	for (int depth = 0; ino != DAXFS_ROOT_INO && depth < 256; depth++) {
		const struct edge *e = NULL;

		for (size_t k = 0; k < c->nedges && !e; k++)
			if (c->edges[k].child == ino)
				e = &c->edges[k];
		if (!e || (size_t)e->namelen + 1 > at) {
			snprintf(buf, len, "%s", "");
			return buf;
		}
		at -= e->namelen;
		memcpy(tmp + at, e->name, e->namelen);
		tmp[--at] = '/';
		ino = e->dir;
	}
	snprintf(buf, len, "%s", ino == DAXFS_ROOT_INO ? (tmp[at] ? tmp + at : "/") : "");
	return buf;
}

/* bad_sectors - first and last bad sector of hit @h */
static void bad_sectors(const struct ck *c, const struct badhit *h, uint64_t *first, uint64_t *last)
{
	const struct daxfs_badblocks *bad = c->badl;
	uint64_t s = blk_to_off(h->blk) / 512, e = blk_to_off(h->blk + h->n) / 512;

	*first = s;
	*last = e - 1;
	while (*first < e && !bad->check(bad->ctx, *first * 512, 512))
		(*first)++;
	while (*last > *first && !bad->check(bad->ctx, *last * 512, 512))
		(*last)--;
}

/* report_bad - the hits as text lines or a JSON array member */
static void report_bad(FILE *f, const struct daxfs_fsck_opts *o, const struct ck *c)
{
	char path[4096];

	if (o->json)
		fprintf(f, ", \"bad_sectors\": [");
	for (size_t k = 0; k < c->nhits; k++) {
		const struct badhit *h = &c->hits[k];
		uint64_t s, e;

		if (!o->json && !o->verbose && k == MAX_REPORT) {
			fprintf(f, "... and %zu more on bad sectors (use -v)\n", c->nhits - k);
			break;
		}
		bad_sectors(c, h, &s, &e);
		ino_path(c, h->ino, path, sizeof(path));
		if (o->json) {
			fprintf(f, "%s{\"inode\": %llu, \"path\": ", k ? ", " : "",
				(unsigned long long)h->ino);
			json_str(f, path);
			fprintf(f, ", \"what\": \"%s\", \"block\": %llu, \"blocks\": %llu", h->what,
				(unsigned long long)h->blk, (unsigned long long)h->n);
			if (h->lblk != UINT64_MAX)
				fprintf(f, ", \"file_offset\": %llu, \"bytes\": %llu",
					(unsigned long long)blk_to_off(h->lblk),
					(unsigned long long)blk_to_off(h->n));
			fprintf(f, ", \"first_sector\": %llu, \"last_sector\": %llu}",
				(unsigned long long)s, (unsigned long long)e);
		} else if (h->lblk != UINT64_MAX) {
			fprintf(f,
				"BAD SECTORS: file %s (inode %llu): bytes %llu..%llu are on bad "
				"sectors %llu..%llu (reads fail with EIO until rewritten)\n",
				path[0] ? path : "(no name)", (unsigned long long)h->ino,
				(unsigned long long)blk_to_off(h->lblk),
				(unsigned long long)blk_to_off(h->lblk + h->n) - 1,
				(unsigned long long)s, (unsigned long long)e);
		} else if (h->ino) {
			fprintf(f,
				"BAD SECTORS: %s block %llu of inode %llu (%s) is on bad sectors "
				"%llu..%llu\n",
				h->what, (unsigned long long)h->blk, (unsigned long long)h->ino,
				path[0] ? path : "no name", (unsigned long long)s,
				(unsigned long long)e);
		} else {
			fprintf(f, "BAD SECTORS: %s blocks %llu..%llu are on bad sectors %llu..%llu\n",
				h->what, (unsigned long long)h->blk,
				(unsigned long long)(h->blk + h->n - 1), (unsigned long long)s,
				(unsigned long long)e);
		}
	}
	if (o->json)
		fprintf(f, "]");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static int report(FILE *f, const struct daxfs_fsck_opts *o, const char *path, struct ck *c,
		  const char *fatal, int rc)
{
	static const char *modes[] = {"check", "repair", "preen"};
	struct daxfs *fs = c ? c->fs : NULL;
	uint64_t free_blocks = fs ? fs->free_blocks : 0, free_huge = fs ? fs->free_chunks : 0;
	uint64_t total = fs ? fs->total_blocks : 0;
	size_t nprobs = c ? c->nprobs : 0, nfixed = 0;
	struct daxfs_statfs id;
	char uuid[DAXFS_UUID_STR_LEN];

	for (size_t k = 0; k < nprobs; k++)
		nfixed += c->probs[k].fixed;
	memset(&id, 0, sizeof(id));
	if (fs)
		daxfs_statfs(fs, &id); /* the label and UUID */
	if (o->json) {
		fprintf(f, "{\"path\": ");
		json_str(f, path);
		fprintf(f, ", \"mode\": \"%s\", \"exit\": %d, \"clean\": %s", modes[o->mode], rc,
			rc == 0 ? "true" : "false");
		if (fatal) {
			fprintf(f, ", \"error\": ");
			json_str(f, fatal);
		}
		fprintf(f, ", \"problems\": [");
		for (size_t k = 0; k < nprobs; k++) {
			fprintf(f,
				"%s{\"structure\": \"%s\", \"id\": %llu, \"fixed\": %s, "
				"\"message\": ",
				k ? ", " : "", c->probs[k].structure,
				(unsigned long long)c->probs[k].id,
				c->probs[k].fixed ? "true" : "false");
			json_str(f, c->probs[k].msg);
			fputc('}', f);
		}
		fprintf(f, "]");
		if (c)
			report_bad(f, o, c);
		if (c) {
			fprintf(f, ", \"summary\": {\"label\": ");
			json_str(f, id.label);
			fprintf(f, ", \"uuid\": \"%s\"", daxfs_uuid_format(id.uuid, uuid));
			fprintf(f,
				", \"journal_replay_needed\": %s, \"inodes\": %llu, "
				"\"inodes_used\": %llu, \"files\": %llu, \"directories\": %llu, "
				"\"symlinks\": %llu, \"special\": %llu, \"blocks\": %llu, "
				"\"free_blocks\": %llu, \"free_huge_extents\": %llu, "
				"\"free_huge_bytes\": %llu, \"free_bytes\": %llu, "
				"\"file_data_blocks\": %llu, \"file_data_huge_blocks\": %llu, "
				"\"file_data_huge_share\": %.4f}",
				c->journal_pending ? "true" : "false",
				(unsigned long long)fs->inode_count,
				(unsigned long long)(fs->inode_count - fs->free_inodes),
				(unsigned long long)c->files, (unsigned long long)c->dirs,
				(unsigned long long)c->symlinks, (unsigned long long)c->others,
				(unsigned long long)total, (unsigned long long)free_blocks,
				(unsigned long long)free_huge,
				(unsigned long long)(free_huge * HUGE_SIZE),
				(unsigned long long)(free_blocks * BLK_SIZE),
				(unsigned long long)c->data_blocks,
				(unsigned long long)c->huge_blocks,
				c->data_blocks ? (double)c->huge_blocks / (double)c->data_blocks
					       : 0.0);
		}
		fprintf(f, "}\n");
		return rc;
	}
	if (fatal) {
		cli_report(f, "fsck.daxfs", path, fatal);
		return rc;
	}
	for (size_t k = 0; k < nprobs && (o->verbose || k < MAX_REPORT); k++)
		fprintf(f, "%s: %s\n", c->probs[k].fixed ? "FIXED" : "ERROR", c->probs[k].msg);
	if (nprobs > MAX_REPORT && !o->verbose)
		fprintf(f, "... and %zu more (use -v)\n", nprobs - MAX_REPORT);
	report_bad(f, o, c);
	char b1[32], b2[32];

	fprintf(f, "%s: %s%s%s, UUID %s\n", path, id.label[0] ? "label \"" : "no label",
		id.label, id.label[0] ? "\"" : "", daxfs_uuid_format(id.uuid, uuid));
	fprintf(f, "%s: %llu/%llu inodes, %llu files, %llu directories, %llu symlinks\n", path,
		(unsigned long long)(fs->inode_count - fs->free_inodes),
		(unsigned long long)fs->inode_count, (unsigned long long)c->files,
		(unsigned long long)c->dirs, (unsigned long long)c->symlinks);
	fprintf(f, "%s: %s free, %s of it as %llu aligned 2 MiB extents\n", path,
		format_size(free_blocks * BLK_SIZE, b1, sizeof(b1)),
		format_size(free_huge * HUGE_SIZE, b2, sizeof(b2)), (unsigned long long)free_huge);
	fprintf(f, "%s: file data %s, %.1f%% mapped by 2 MiB extents\n", path,
		format_size(c->data_blocks * BLK_SIZE, b1, sizeof(b1)),
		c->data_blocks ? 100.0 * (double)c->huge_blocks / (double)c->data_blocks : 0.0);
	if (c->nhits)
		fprintf(f, "%s: %zu runs of blocks on bad sectors (see pmemdev badblocks)\n", path,
			c->nhits);
	if (!nprobs && !c->nhits)
		fprintf(f, "%s: clean\n", path);
	else if (nprobs)
		fprintf(f, "%s: %zu problems, %zu fixed\n", path, nprobs, nfixed);
	return rc;
}

int daxfs_fsck(const char *path, const struct daxfs_fsck_opts *o)
{
	FILE *f = o->out ? o->out : stdout;
	bool repair = o->mode != DAXFS_FSCK_CHECK;
	struct pmr_region *r;
	struct daxfs_dsuper sb;
	struct daxfs *fs = NULL;
	struct ck c;
	bool sb_bad = false, sb_fixed = false, journal_pending = false, journal_replayed = false;
	char sbmsg[256] = "";
	unsigned flags;
	int err, rc = 0;

	pmd_err_clear();
	/* the region lock; a daemon still closing after umount is waited for */
	err = pmr_open(path,
		       (repair ? PMR_F_LOCK_EXCL : PMR_F_RDONLY | PMR_F_LOCK_SHARED) |
			       PMR_F_LOCK_WAIT,
		       &r);
	if (err)
		return report(f, o, path, NULL, pmd_strerror(err), DAXFS_FSCK_OPERROR);
	/* 0. superblock */
	memcpy(&sb, pmr_addr(r), sizeof(sb));
	err = super_check(&sb, pmr_size(r), false);
	if (err == -EPROTONOSUPPORT || (err && le64_to_cpu(sb.magic) == DAXFS_MAGIC &&
					strstr(pmd_errmsg(), "region has only"))) {
		snprintf(sbmsg, sizeof(sbmsg), "%s", pmd_errmsg());
		pmr_close(&r);
		return report(f, o, path, NULL, sbmsg, DAXFS_FSCK_OPERROR);
	}
	if (err && repair && !super_replay_torn(r)) {
		/* torn by a crash while a transaction was applied: the journal mended it */
		journal_replayed = true;
		err = 0;
	}
	if (err) {
		struct daxfs_dsuper bk;

		snprintf(sbmsg, sizeof(sbmsg), "%s", pmd_errmsg());
		memcpy(&bk, (uint8_t *)pmr_addr(r) + BLK_SIZE, sizeof(bk));
		if (super_check(&bk, pmr_size(r), true)) {
			pmr_close(&r);
			if (le64_to_cpu(sb.magic) != DAXFS_MAGIC &&
			    le64_to_cpu(bk.magic) != DAXFS_MAGIC)
				return report(f, o, path, NULL,
					      "not a daxfs filesystem (superblock: bad magic, no "
					      "backup superblock)",
					      DAXFS_FSCK_OPERROR);
			return report(f, o, path, NULL, sbmsg, DAXFS_FSCK_UNCORRECTED);
		}
		sb_bad = true;
		if (repair) {
			/* restore the primary from the backup; the orphan list is lost
			 * (pass 2 finds those inodes) */
			bk.orphan_head = 0;
			bk.state = cpu_to_le32(DAXFS_STATE_INUSE);
			super_seal(&bk);
			pmr_memcpy(r, pmr_addr(r), &bk, sizeof(bk), 0);
			sb_fixed = true;
		}
	}
	flags = DAXFS_O_NOLOCK | (repair ? DAXFS_O_FSCK : DAXFS_O_RDONLY | DAXFS_O_NORECOVERY);
	if (sb_bad && !sb_fixed)
		flags |= DAXFS_O_BACKUP_SB;
	{
		/* journal state before the open replays it */
		struct daxfs tmp;

		memset(&tmp, 0, sizeof(tmp));
		tmp.base = pmr_addr(r);
		super_load_geometry(
			&tmp,
			(const struct daxfs_dsuper *)((uint8_t *)pmr_addr(r) +
						      (flags & DAXFS_O_BACKUP_SB ? BLK_SIZE : 0)));
		tmp.size = pmr_size(r) < tmp.size ? pmr_size(r) : tmp.size;
		journal_pending = jnl_replay(&tmp, true) != 0;
	}
	err = daxfs_open_region(r, flags, &fs);
	if (err)
		return report(f, o, path, NULL, pmd_strerror(err),
			      err == -ENOMEM ? DAXFS_FSCK_OPERROR : DAXFS_FSCK_UNCORRECTED);
	err = ck_init(&c, fs, repair);
	if (err)
		goto out_nomem;
	if (sb_bad)
		problem(&c, "superblock", 0, sb_fixed, "%s%s", sbmsg,
			sb_fixed ? "; restored from the backup superblock" : "");
	if (journal_pending || journal_replayed)
		problem(&c, "journal", 0, repair, "journal holds a committed transaction%s",
			journal_replayed ? ", replayed to mend a torn superblock"
			: repair	 ? ", replayed"
					 : " (needs recovery: run with -y or mount)");
	c.journal_pending = journal_pending && !repair;
	c.badl = o->bad && o->bad->check ? o->bad : NULL;
	bad_fixed(&c);
	pass1(&c);
	pass3(&c, false); /* the bitmap first: pass 2's repairs allocate */
	pass2(&c);
	if (!repair) {
		rc = c.nprobs ? DAXFS_FSCK_UNCORRECTED : 0;
	} else if (c.nprobs) {
		/* check again (fixing what the first fixes uncovered) until clean */
		rc = DAXFS_FSCK_UNCORRECTED;
		for (int round = 0; round < 3; round++) {
			struct ck again;

			err = ck_init(&again, fs, true);
			if (err) {
				ck_free(&again);
				break;
			}
			pass1(&again);
			pass3(&again, false);
			pass2(&again);
			size_t n = again.nprobs;

			for (size_t k = 0; k < n; k++) {
				struct problem *p = &again.probs[k];

				problem(&c, p->structure, p->id, p->fixed, "%s", p->msg);
			}
			ck_free(&again);
			if (!n) {
				rc = DAXFS_FSCK_CORRECTED;
				break;
			}
		}
	}
	if (c.nhits)
		rc |= DAXFS_FSCK_UNCORRECTED; /* lost data: nothing fsck can mend */
	report(f, o, path, &c, NULL, rc);
	ck_free(&c);
	err = daxfs_close(&fs);
	if (repair && !err) {
		/* a normal mount frees the orphans and marks the fs clean */
		struct daxfs *fs2;

		err = daxfs_open(path, 0, &fs2);
		if (!err)
			err = daxfs_close(&fs2);
	}
	if (err) {
		fprintf(stderr, "fsck.daxfs: %s: %s\n", path, pmd_strerror(err));
		rc |= DAXFS_FSCK_OPERROR;
	}
	return rc;
out_nomem:
	ck_free(&c);
	daxfs_close(&fs);
	return report(f, o, path, NULL, "out of memory", DAXFS_FSCK_OPERROR);
}
