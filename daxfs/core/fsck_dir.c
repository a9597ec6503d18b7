/* SPDX-License-Identifier: MIT */
/*
 * fsck_dir.c - directory trees in fsck: the walk of pass 1 and the
 * salvage of a damaged tree.
 *
 * The walk trusts nothing: every node must lie in the data area, carry the
 * directory magic and name its directory as owner, and is visited once; a
 * leaf's entries are taken one by one, each checked on its own (inside the
 * block, a sane length, a name without '/' or NUL, a key that is the hash
 * of the name, an inode number in range). A node that fails its checksum
 * is still read this way. Damage anywhere (a bad node, a bad entry, keys
 * out of order, counts off) queues the directory for a rebuild that keeps
 * every entry that passed: the tree is freed and built again from them
 * after pass 3, so one bad byte costs at most the entry it hit, whose
 * inode pass 2 then puts back under the name the inode extension table
 * recorded for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "fsck_int.h"

#define HDR sizeof(struct daxfs_dnode)
#define DENTRY_HDR offsetof(struct daxfs_dentry, name)

bool name_valid(const char *name, size_t len)
{
	if (!len || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

struct dwalk {
	struct ck *c;
	uint64_t ino;
	size_t first_edge;
	uint64_t *blocks; /* visited, for the rebuild to free */
	size_t nblocks, cap;
	char why[160]; /* the first damage seen */
	unsigned bad_entries;
	bool damaged;
};

static void damage(struct dwalk *w, const char *fmt, unsigned long long blk)
{
	if (!w->damaged)
		snprintf(w->why, sizeof(w->why), fmt, blk);
	w->damaged = true;
}

static bool visited(const struct dwalk *w, uint64_t blk)
{
	for (size_t k = 0; k < w->nblocks; k++)
		if (w->blocks[k] == blk)
			return true;
	return false;
}

static int remember(struct dwalk *w, uint64_t blk)
{
	if (w->nblocks == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		uint64_t *n = realloc(w->blocks, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->blocks = n;
		w->cap = cap;
	}
	w->blocks[w->nblocks++] = blk;
	return 0;
}

static uint16_t slot_at(const uint8_t *b, unsigned i)
{
	le16 v;

	memcpy(&v, b + HDR + 2 * i, 2);
	return le16_to_cpu(v);
}

/* the entry at byte @so of leaf @b, or NULL if it does not hold up */
static const struct daxfs_dentry *entry_at(struct ck *c, uint64_t dir, const uint8_t *b,
					   unsigned so, unsigned min)
{
	const struct daxfs_dentry *e;
	uint64_t child, key;

	if (so < min || so % 8 || so + DENTRY_HDR > BLK_SIZE)
		return NULL;
	e = (const void *)(b + so);
	if (!e->namelen || so + DAXFS_DENTRY_SIZE(e->namelen) > BLK_SIZE ||
	    !name_valid(e->name, e->namelen))
		return NULL;
	child = le64_to_cpu(e->ino);
	key = le64_to_cpu(e->key);
	if (!ino_valid(c->fs, child) || child == dir ||
	    (key & ~UINT64_C(15)) != name_hash(c->fs, e->name, e->namelen))
		return NULL;
	return e;
}

/*
 * walk_leaf - the entries of leaf @blk (contents @b), whose keys its parents
 * bound to [@lo, @hi). Whatever the core's own checks (verify.c
 * dnode_layout(), dir.c leaf_in_range()) would refuse is damage, so that
 * the rebuild makes the directory one the core reads again.
 */
static int walk_leaf(struct dwalk *w, uint64_t blk, const uint8_t *b, uint64_t lo, uint64_t hi)
{
	struct ck *c = w->c;
	const struct daxfs_dnode *n = (const void *)b;
	unsigned ns = le16_to_cpu(n->nslots), heap = le16_to_cpu(n->heap_start);
	uint64_t prev = 0;

	if (ns > (BLK_SIZE - HDR) / 2) {
		damage(w, "leaf %llu: slot count out of range", blk);
		ns = (BLK_SIZE - HDR) / 2;
	}
	if (heap < HDR + 2 * ns || heap > BLK_SIZE || heap % 8)
		damage(w, "leaf %llu: heap start out of range", blk);
	if (le16_to_cpu(n->frag) > BLK_SIZE)
		damage(w, "leaf %llu: free byte count out of range", blk);
	/* as the core: live entries plus frag's dead bytes fit in the heap */
	unsigned bytes = le16_to_cpu(n->frag);
	bool overlap = false;

	for (unsigned i = 0; i < ns; i++) {
		unsigned so = slot_at(b, i);
		const struct daxfs_dentry *e = entry_at(c, w->ino, b, so, HDR + 2 * ns);
		uint64_t key;
		int err;

		if (!e) {
			w->bad_entries++;
			damage(w, "leaf %llu: bad entry", blk);
			continue;
		}
		bytes += DAXFS_DENTRY_SIZE(e->namelen);
		if (!overlap && heap <= BLK_SIZE && bytes > BLK_SIZE - heap) {
			overlap = true;
			damage(w, "leaf %llu: more entry and free bytes than its heap holds", blk);
		}
		/* a sound entry below the heap start is kept; the leaf is not */
		if (so < heap)
			damage(w, "leaf %llu: an entry lies below the heap start", blk);
		key = le64_to_cpu(e->key);
		if (i && key <= prev)
			damage(w, "leaf %llu: keys out of order", blk);
		if (key < lo || key >= hi)
			damage(w, "leaf %llu: keys outside the range its index gives it", blk);
		prev = key;
		err = add_edge(c, w->ino, le64_to_cpu(e->ino), e->type, e->name, e->namelen);
		if (err)
			return err;
	}
	return 0;
}

/* walk_node - node @blk at @level, holding the keys [@lo, @hi) (see dir.c child_range()) */
static int walk_node(struct dwalk *w, uint64_t blk, int level, uint64_t lo, uint64_t hi)
{
	struct ck *c = w->c;
	struct daxfs *fs = c->fs;
	const uint8_t *b;
	const struct daxfs_dnode *n;
	int err;

	if (!range_ok(fs, blk, 1)) {
		damage(w, "node %llu out of range", blk);
		return 0;
	}
	if (visited(w, blk)) {
		damage(w, "node %llu listed twice", blk);
		return 0;
	}
	b = dx_ptr(fs, blk_to_off(blk));
	n = (const void *)b;
	if (le32_to_cpu(n->h.magic) != DAXFS_DIR_MAGIC || le64_to_cpu(n->h.ino) != w->ino) {
		damage(w, "block %llu is not one of its nodes", blk);
		return 0;
	}
	err = remember(w, blk);
	if (!err)
		err = add_claim(c, w->ino, blk, 1, CP_META, CW_DIR, 0, 0);
	if (err)
		return err;
	if (le32_to_cpu(n->h.crc) != daxfs_csum(b, BLK_SIZE, 4))
		damage(w, "block %llu: checksum mismatch", blk);
	if (le16_to_cpu(n->level) != level)
		damage(w, "node %llu: wrong level", blk);
	if (level == 0 || le16_to_cpu(n->level) == 0)
		return walk_leaf(w, blk, b, lo, hi);
	unsigned ns = le16_to_cpu(n->nslots);
	uint64_t prev = 0;

	if (!ns || ns > DAXFS_DINDEX_MAX) {
		damage(w, "index node %llu: slot count out of range", blk);
		ns = ns > DAXFS_DINDEX_MAX ? DAXFS_DINDEX_MAX : ns;
	}
	for (unsigned i = 0; i < ns; i++) {
		const struct daxfs_dindex *x = (const void *)(b + HDR + 16 * i);
		uint64_t clo = lo, chi = hi;

		if (i && le64_to_cpu(x->key) <= prev)
			damage(w, "index node %llu: keys out of order", blk);
		prev = le64_to_cpu(x->key);
		/* the first slot's key is not used: the node's own range starts it */
		if (i && prev > lo)
			clo = prev;
		if (i + 1 < ns) {
			const struct daxfs_dindex *nx = (const void *)(b + HDR + 16 * (i + 1));

			if (le64_to_cpu(nx->key) < hi)
				chi = le64_to_cpu(nx->key);
		}
		err = walk_node(w, le64_to_cpu(x->child), level - 1, clo, chi);
		if (err)
			return err;
	}
	return 0;
}

static int queue_salvage(struct ck *c, struct dwalk *w)
{
	struct dir_salvage *s;

	if (c->nsalv == c->salv_cap) {
		size_t cap = c->salv_cap ? c->salv_cap * 2 : 8;
		struct dir_salvage *n = realloc(c->salv, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->salv = n;
		c->salv_cap = cap;
	}
	s = &c->salv[c->nsalv++];
	memset(s, 0, sizeof(*s));
	s->ino = w->ino;
	s->blocks = w->blocks;
	s->nblocks = w->nblocks;
	w->blocks = NULL;
	c->iflags[w->ino - 1] |= IF_SALVAGE;
	if (w->bad_entries)
		problem(c, "directory", w->ino, false, "directory %llu: %s (%u bad entries)",
			(unsigned long long)w->ino, w->why, w->bad_entries);
	else
		problem(c, "directory", w->ino, false, "directory %llu: %s",
			(unsigned long long)w->ino, w->why);
	return 0;
}

int check_dir(struct ck *c, uint64_t ino, const struct daxfs_dinode *di, uint64_t *blocks)
{
	struct dwalk w = {.c = c, .ino = ino, .first_edge = c->nedges};
	uint64_t root = le64_to_cpu(di->dir.root);
	uint32_t height = le32_to_cpu(di->dir.height);
	int err = 0;

	if (root) {
		if (!height || height > MAX_TREE_HEIGHT) {
			damage(&w, "tree height out of range (root %llu)", root);
			height = MAX_TREE_HEIGHT;
		}
		err = walk_node(&w, root, (int)height - 1, 0, UINT64_MAX);
	} else if (height) {
		damage(&w, "empty tree of height %llu", height);
	}
	if (!err) {
		c->nent[ino - 1] = c->nedges - w.first_edge;
		*blocks = w.nblocks;
		if (w.damaged)
			err = queue_salvage(c, &w);
	}
	free(w.blocks);
	return err;
}

void dir_reset(struct ck *c, uint64_t ino)
{
	struct daxfs_dinode *w = di_write(c->fs, ino);

	w->blocks = cpu_to_le64(w->xattr_blk ? c->xblocks[ino - 1] : 0);
	memset(&w->dir, 0, sizeof(w->dir));
	w->size = 0;
}

/* rebuild - free the old tree of @s and insert its good entries again */
static void rebuild(struct ck *c, struct dir_salvage *s)
{
	struct daxfs *fs = c->fs;
	unsigned kept = 0, lost = 0;
	bool fixed = ck_fix(c, FIX_UNSAFE);
	char what[80];

	if (!fixed)
		return;
	dx_lock(fs);
	tx_begin(fs);
	for (size_t k = 0; k < s->nblocks; k++)
		if (claim_test(c, s->blocks[k]))
			tx_free(fs, s->blocks[k], 1);
	dir_reset(c, s->ino);
	if (tx_commit(fs)) {
		dx_unlock(fs);
		problem(c, "directory", s->ino, false, "directory %llu: rebuild failed: %s",
			(unsigned long long)s->ino, pmd_errmsg());
		return;
	}
	for (size_t k = 0; k < c->nedges; k++) {
		struct edge *e = &c->edges[k];

		if (e->dir != s->ino || e->dead)
			continue;
		tx_begin(fs);
		if (dir_insert(fs, s->ino, e->name, e->namelen, e->child, e->type)) {
			tx_abort(fs);
			e->dead = true;
			lost++;
		} else if (tx_commit(fs)) {
			e->dead = true;
			lost++;
		} else {
			kept++;
		}
	}
	dx_unlock(fs);
	c->iflags[s->ino - 1] &= (uint16_t)~IF_SALVAGE;
	snprintf(what, sizeof(what), "rebuilt with the %u sound entries%s", kept,
		 lost ? " (some could not be inserted again)" : "");
	resolve(c, "directory", s->ino, what);
}

void rebuild_dirs(struct ck *c)
{
	if (c->state[0] == IS_ROOTX && ck_fix(c, FIX_UNSAFE)) {
		struct daxfs_dinode *di = fix_begin(c, DAXFS_ROOT_INO);
		uint64_t gen = le64_to_cpu(di->generation) + 1;
		le64 t = cpu_to_le64((uint64_t)now_ns());

		memset(di, 0, sizeof(*di));
		di->mode = cpu_to_le32(S_IFDIR | 0755);
		di->nlink = cpu_to_le32(2);
		di->generation = cpu_to_le64(gen);
		di->atime = di->mtime = di->ctime = di->btime = t;
		di->parent = cpu_to_le64(DAXFS_ROOT_INO);
		fix_end(c);
		c->state[0] = IS_OK;
		c->itype[0] = S_IFDIR;
		dx_lock(c->fs);
		imap_init(c->fs); /* the inode is in use again: no allocation may take it */
		dx_unlock(c->fs);
	}
	for (size_t k = 0; k < c->nsalv; k++)
		if (c->state[c->salv[k].ino - 1] == IS_OK)
			rebuild(c, &c->salv[k]);
}
