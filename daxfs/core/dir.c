/* SPDX-License-Identifier: MIT */
/*
 * dir.c - hashed directories: a B+tree per directory keyed by name hash.
 *
 * Key = 58 bits of a seeded 64-bit name hash, shifted left by 4, plus a
 * 4-bit number that tells apart names whose hashes collide. Keys are unique
 * in a directory and are the readdir cookies (so cookies survive any
 * insertion or deletion). Leaves hold variable-size entries behind a sorted
 * slot array; internal nodes hold {key, child} pairs. Lookups descend
 * log_254(n) nodes and read one leaf: never a scan of the directory.
 * Empty leaves are unlinked from their parent; an empty directory has no
 * tree at all. Everything runs under fs->lock inside a transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"

#define HDR 32U
#define KEY_IDX_BITS 4
#define KEY_MAX ((UINT64_C(1) << 62) - 1)

uint64_t name_hash(struct daxfs *fs, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ fs->hash_seed;

	for (size_t k = 0; k < len; k++) {
		h ^= (uint8_t)name[k];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (h & ((UINT64_C(1) << 58) - 1)) << KEY_IDX_BITS;
}

static const struct daxfs_dnode *node_rd(struct daxfs *fs, uint64_t blk)
{
	fs->stats.dir_node_reads++;
	return tx_read(fs, blk_to_off(blk));
}

static uint16_t slot_get(const struct daxfs_dnode *n, unsigned i)
{
	le16 v;

	memcpy(&v, (const uint8_t *)n + HDR + 2 * i, 2);
	return le16_to_cpu(v);
}

static const struct daxfs_dentry *leaf_ent(const struct daxfs_dnode *n, unsigned i)
{
	return (const void *)((const uint8_t *)n + slot_get(n, i));
}

static uint64_t ent_key(const struct daxfs_dentry *e)
{
	return le64_to_cpu(e->key);
}

static const struct daxfs_dindex *idx_ent(const struct daxfs_dnode *n, unsigned i)
{
	return (const void *)((const uint8_t *)n + HDR + 16 * i);
}

/* first slot with key >= @key */
static unsigned leaf_search(const struct daxfs_dnode *n, uint64_t key)
{
	unsigned lo = 0, hi = le16_to_cpu(n->nslots);

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (ent_key(leaf_ent(n, mid)) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* child index covering @key: the last with key[i] <= @key, or 0 */
static unsigned idx_search(const struct daxfs_dnode *n, uint64_t key)
{
	unsigned lo = 0, hi = le16_to_cpu(n->nslots);

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (le64_to_cpu(idx_ent(n, mid)->key) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

struct path {
	uint64_t dir;
	int height; /* levels of the tree */
	int depth;  /* levels used; path[0] is the root */
	uint64_t blk[MAX_TREE_HEIGHT];
	unsigned idx[MAX_TREE_HEIGHT];
	/* the keys node blk[d] may hold, by its parents' index: [lo, hi) */
	uint64_t lo[MAX_TREE_HEIGHT], hi[MAX_TREE_HEIGHT];
};

/* the key range of child @i of internal node @n, whose own range is [lo, hi) */
static void child_range(const struct daxfs_dnode *n, unsigned i, uint64_t lo, uint64_t hi,
			uint64_t *clo, uint64_t *chi)
{
	*clo = lo;
	*chi = hi;
	if (i && le64_to_cpu(idx_ent(n, i)->key) > lo)
		*clo = le64_to_cpu(idx_ent(n, i)->key);
	if (i + 1 < le16_to_cpu(n->nslots) && le64_to_cpu(idx_ent(n, i + 1)->key) < hi)
		*chi = le64_to_cpu(idx_ent(n, i + 1)->key);
}

/*
 * A leaf whose keys leave the range its parents give it (two leaves
 * swapped, a damaged index key) is corrupt: lookups would miss names and
 * readdir cookies would go backwards (a listing that never ends).
 */
static int leaf_in_range(struct daxfs *fs, uint64_t dir, uint64_t blk, const struct daxfs_dnode *n,
			 uint64_t lo, uint64_t hi)
{
	unsigned ns = le16_to_cpu(n->nslots);

	if (!ns || (ent_key(leaf_ent(n, 0)) >= lo && ent_key(leaf_ent(n, ns - 1)) < hi))
		return 0;
	return dx_corrupt(fs, DAXFS_ERR_DIR, DAXFS_WHY_FIELD, dir, blk,
			  "entry keys outside the range the index gives the leaf");
}

/*
 * descend - the path from the root of directory @dir's tree (which must
 * exist) down to the leaf slot for @key, checking each node on the way
 * (dnode_get); the other functions re-read path nodes unchecked.
 */
static int descend(struct daxfs *fs, uint64_t dir, uint64_t key, struct path *p)
{
	const struct daxfs_dinode *di;
	uint64_t blk;
	int err = di_get_tree(fs, dir, &di);

	if (err)
		return err;
	blk = le64_to_cpu(di->dir.root);
	p->dir = dir;
	p->height = (int)le32_to_cpu(di->dir.height);
	p->depth = 0;
	p->lo[0] = 0;
	p->hi[0] = UINT64_MAX;
	for (;;) {
		const struct daxfs_dnode *n;
		unsigned level = (unsigned)(p->height - 1 - p->depth);

		err = dnode_get(fs, dir, blk, level, &n);
		if (err)
			return err;
		p->blk[p->depth] = blk;
		if (level == 0) {
			p->idx[p->depth] = leaf_search(n, key);
			p->depth++;
			return leaf_in_range(fs, dir, blk, n, p->lo[p->depth - 1],
					     p->hi[p->depth - 1]);
		}
		p->idx[p->depth] = idx_search(n, key);
		blk = le64_to_cpu(idx_ent(n, p->idx[p->depth])->child);
		child_range(n, p->idx[p->depth], p->lo[p->depth], p->hi[p->depth],
			    &p->lo[p->depth + 1], &p->hi[p->depth + 1]);
		p->depth++;
	}
}

/* move @p to the first entry of the next leaf; returns false at the end */
static int next_leaf(struct daxfs *fs, struct path *p, bool *end)
{
	int d = p->depth - 2;

	while (d >= 0) {
		const struct daxfs_dnode *n = node_rd(fs, p->blk[d]);

		if (p->idx[d] + 1 < le16_to_cpu(n->nslots)) {
			p->idx[d]++;
			break;
		}
		d--;
	}
	if (d < 0) {
		*end = true;
		return 0;
	}
	for (; d < p->depth - 1; d++) {
		const struct daxfs_dnode *n = node_rd(fs, p->blk[d]), *c;
		uint64_t child = le64_to_cpu(idx_ent(n, p->idx[d])->child);
		int err = dnode_get(fs, p->dir, child, (unsigned)(p->height - 2 - d), &c);

		if (err)
			return err;
		p->blk[d + 1] = child;
		p->idx[d + 1] = 0;
		child_range(n, p->idx[d], p->lo[d], p->hi[d], &p->lo[d + 1], &p->hi[d + 1]);
		if (d + 1 == p->depth - 1) {
			err = leaf_in_range(fs, p->dir, child, c, p->lo[d + 1], p->hi[d + 1]);
			if (err)
				return err;
		}
	}
	*end = false;
	return 0;
}

static const struct daxfs_dinode *dir_inode(struct daxfs *fs, uint64_t dir)
{
	return di_read(fs, dir);
}

int dir_iterate(struct daxfs *fs, uint64_t dir, uint64_t from_key, dir_iter_fn fn, void *ctx)
{
	const struct daxfs_dinode *di;
	struct path p;
	int err = di_get_tree(fs, dir, &di);

	if (err)
		return err;
	if (!di->dir.root)
		return 0;
	err = descend(fs, dir, from_key, &p);
	if (err)
		return err;
	for (;;) {
		const struct daxfs_dnode *n = node_rd(fs, p.blk[p.depth - 1]);
		unsigned ns = le16_to_cpu(n->nslots);
		bool end;

		for (unsigned i = p.idx[p.depth - 1]; i < ns; i++) {
			const struct daxfs_dentry *e = leaf_ent(n, i);
			int r = fn(ctx, ent_key(e), e->name, e->namelen, le64_to_cpu(e->ino),
				   e->type);

			if (r)
				return r > 0 ? 0 : r;
		}
		err = next_leaf(fs, &p, &end);
		if (err || end)
			return err;
	}
}

struct find_ctx {
	const char *name;
	size_t len;
	uint64_t prefix;
	uint64_t ino, key;
	unsigned type;
	uint16_t used; /* idx values in use */
	bool found;
};

static int find_cb(void *ctx, uint64_t key, const char *name, size_t len, uint64_t ino,
		   unsigned type)
{
	struct find_ctx *c = ctx;

	if (key > (c->prefix | ((1U << KEY_IDX_BITS) - 1)))
		return 1;
	c->used |= (uint16_t)(1U << (key & ((1U << KEY_IDX_BITS) - 1)));
	if (len == c->len && !memcmp(name, c->name, len)) {
		c->found = true;
		c->ino = ino;
		c->key = key;
		c->type = type;
		return 1;
	}
	return 0;
}

static int find(struct daxfs *fs, uint64_t dir, const char *name, size_t len, struct find_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->len = len;
	c->prefix = name_hash(fs, name, len);
	return dir_iterate(fs, dir, c->prefix, find_cb, c);
}

int dir_find(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino,
	     unsigned *type, uint64_t *key)
{
	struct find_ctx c;
	int err = find(fs, dir, name, len, &c);

	if (err)
		return err;
	if (!c.found)
		return -ENOENT;
	if (ino)
		*ino = c.ino;
	if (type)
		*type = c.type;
	if (key)
		*key = c.key;
	return 0;
}

/* ---- modification ---- */

static void dir_account(struct daxfs *fs, uint64_t dir, int64_t dentries, int64_t dblocks)
{
	struct daxfs_dinode *di = di_write(fs, dir);

	di->dir.nentries = cpu_to_le64(le64_to_cpu(di->dir.nentries) + (uint64_t)dentries);
	di->dir.nblocks = cpu_to_le64(le64_to_cpu(di->dir.nblocks) + (uint64_t)dblocks);
	di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)dblocks);
	di->size = cpu_to_le64(le64_to_cpu(di->dir.nblocks) * BLK_SIZE);
}

static int new_node(struct daxfs *fs, uint64_t dir, unsigned level, uint64_t goal, uint64_t *blk)
{
	struct dx_range r;
	struct daxfs_dnode *n;
	int err = alloc_blocks(fs, 1, false, goal, &r);

	if (err)
		return pmd_err(err, "no space for a directory block");
	n = tx_new_blk(fs, r.pblk, true);
	n->h.magic = cpu_to_le32(DAXFS_DIR_MAGIC);
	n->h.ino = cpu_to_le64(dir);
	n->level = cpu_to_le16((uint16_t)level);
	n->heap_start = cpu_to_le16(BLK_SIZE);
	dir_account(fs, dir, 0, 1);
	*blk = r.pblk;
	return 0;
}

struct ent_copy {
	uint64_t key, ino;
	uint8_t type, namelen;
	char name[DAXFS_NAME_MAX];
};

/* rewrite leaf @blk with @n entries @v (sorted) */
static void leaf_fill(struct daxfs *fs, uint64_t blk, const struct ent_copy *v, unsigned n)
{
	uint8_t *b = tx_write_blk(fs, blk, true);
	struct daxfs_dnode *h = (void *)b;
	unsigned heap = BLK_SIZE;

	memset(b + HDR, 0, BLK_SIZE - HDR);
	for (unsigned i = 0; i < n; i++) {
		unsigned es = DAXFS_DENTRY_SIZE(v[i].namelen);
		struct daxfs_dentry *e;
		le16 s;

		heap -= es;
		e = (void *)(b + heap);
		e->key = cpu_to_le64(v[i].key);
		e->ino = cpu_to_le64(v[i].ino);
		e->type = v[i].type;
		e->namelen = v[i].namelen;
		memcpy(e->name, v[i].name, v[i].namelen);
		s = cpu_to_le16((uint16_t)heap);
		memcpy(b + HDR + 2 * i, &s, 2);
	}
	h->nslots = cpu_to_le16((uint16_t)n);
	h->heap_start = cpu_to_le16((uint16_t)heap);
	h->frag = 0;
}

static unsigned leaf_load(const struct daxfs_dnode *n, struct ent_copy *v)
{
	unsigned ns = le16_to_cpu(n->nslots);

	for (unsigned i = 0; i < ns; i++) {
		const struct daxfs_dentry *e = leaf_ent(n, i);

		v[i].key = ent_key(e);
		v[i].ino = le64_to_cpu(e->ino);
		v[i].type = e->type;
		v[i].namelen = e->namelen;
		memcpy(v[i].name, e->name, e->namelen);
	}
	return ns;
}

/* insert {key, child} at path level @d (an internal node), splitting upwards */
static int idx_insert(struct daxfs *fs, uint64_t dir, struct path *p, int d, uint64_t key,
		      uint64_t child)
{
	if (d < 0) {
		/* split the root: new root over the old root and @child */
		const struct daxfs_dinode *di = dir_inode(fs, dir);
		uint64_t old = le64_to_cpu(di->dir.root), nr;
		unsigned lvl = le16_to_cpu(node_rd(fs, old)->level) + 1;
		struct daxfs_dnode *n;
		struct daxfs_dindex *x;
		struct daxfs_dinode *w;
		int err;

		if (le32_to_cpu(di->dir.height) >= MAX_TREE_HEIGHT)
			return pmd_err(-ENOSPC, "directory %llu: tree too tall",
				       (unsigned long long)dir);
		err = new_node(fs, dir, lvl, old, &nr);
		if (err)
			return err;
		n = tx_write_blk(fs, nr, true);
		x = (void *)((uint8_t *)n + HDR);
		x[0].key = 0;
		x[0].child = cpu_to_le64(old);
		x[1].key = cpu_to_le64(key);
		x[1].child = cpu_to_le64(child);
		n->nslots = cpu_to_le16(2);
		w = di_write(fs, dir);
		w->dir.root = cpu_to_le64(nr);
		w->dir.height = cpu_to_le32(le32_to_cpu(w->dir.height) + 1);
		return 0;
	}
	uint64_t blk = p->blk[d];
	const struct daxfs_dnode *rn = node_rd(fs, blk);
	unsigned ns = le16_to_cpu(rn->nslots), pos = p->idx[d] + 1;

	if (ns < DAXFS_DINDEX_MAX) {
		struct daxfs_dnode *n = tx_write(fs, blk_to_off(blk), HDR);
		uint8_t *b = tx_write(fs, blk_to_off(blk) + HDR + 16 * pos, 16 * (ns - pos + 1));
		struct daxfs_dindex x = {cpu_to_le64(key), cpu_to_le64(child)};

		memmove(b + 16, b, 16 * (ns - pos));
		memcpy(b, &x, 16);
		n->nslots = cpu_to_le16((uint16_t)(ns + 1));
		tx_seal(fs, blk);
		return 0;
	}
	/* split the internal node */
	struct daxfs_dindex *all = malloc(sizeof(*all) * (ns + 1));
	uint64_t right;
	unsigned half = (ns + 1) / 2;
	int err;

	if (!all)
		return -ENOMEM;
	memcpy(all, idx_ent(rn, 0), 16 * pos);
	all[pos].key = cpu_to_le64(key);
	all[pos].child = cpu_to_le64(child);
	memcpy(all + pos + 1, idx_ent(rn, pos), 16 * (ns - pos));
	err = new_node(fs, dir, le16_to_cpu(rn->level), blk, &right);
	if (err)
		goto out_free;
	struct daxfs_dnode *l = tx_write_blk(fs, blk, true);
	struct daxfs_dnode *r = tx_write_blk(fs, right, true);

	memset((uint8_t *)l + HDR, 0, BLK_SIZE - HDR);
	memcpy((uint8_t *)l + HDR, all, 16 * half);
	l->nslots = cpu_to_le16((uint16_t)half);
	memcpy((uint8_t *)r + HDR, all + half, 16 * (ns + 1 - half));
	r->nslots = cpu_to_le16((uint16_t)(ns + 1 - half));
	err = idx_insert(fs, dir, p, d - 1, le64_to_cpu(all[half].key), right);
out_free:
	free(all);
	return err;
}

int dir_insert(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
	       unsigned type)
{
	struct find_ctx c;
	const struct daxfs_dinode *di;
	uint64_t key, root, blk;
	unsigned es = DAXFS_DENTRY_SIZE(len), pos, ns, idx;
	const struct daxfs_dnode *rn;
	struct path p;
	int err;

	err = find(fs, dir, name, len, &c);
	if (err)
		return err;
	if (c.found)
		return -EEXIST;
	if (c.used == 0xffff)
		return pmd_err(-ENOSPC, "directory %llu: too many names with one hash",
			       (unsigned long long)dir);
	idx = (unsigned)__builtin_ctz((unsigned)~c.used);
	key = c.prefix | idx;
	di = dir_inode(fs, dir);
	root = le64_to_cpu(di->dir.root);
	if (!root) {
		err = new_node(fs, dir, 0, fs->data_blk, &root);
		if (err)
			return err;
		struct daxfs_dinode *w = di_write(fs, dir);

		w->dir.root = cpu_to_le64(root);
		w->dir.height = cpu_to_le32(1);
	}
	err = descend(fs, dir, key, &p);
	if (err)
		return err;
	blk = p.blk[p.depth - 1];
	pos = p.idx[p.depth - 1];
	rn = node_rd(fs, blk);
	ns = le16_to_cpu(rn->nslots);
	unsigned heap = le16_to_cpu(rn->heap_start);
	unsigned contig = heap - (HDR + 2 * ns);

	if (contig < es + 2 && contig + le16_to_cpu(rn->frag) >= es + 2) {
		struct ent_copy *v = malloc(sizeof(*v) * (ns + 1));

		if (!v)
			return -ENOMEM;
		leaf_load(rn, v);
		leaf_fill(fs, blk, v, ns);
		free(v);
		rn = node_rd(fs, blk);
		heap = le16_to_cpu(rn->heap_start);
		contig = heap - (HDR + 2 * ns);
	}
	if (contig >= es + 2) {
		struct daxfs_dnode *n = tx_write(fs, blk_to_off(blk), HDR);
		struct daxfs_dentry *e = tx_write(fs, blk_to_off(blk) + heap - es, es);
		uint8_t *s = tx_write(fs, blk_to_off(blk) + HDR + 2 * pos, 2 * (ns - pos + 1));
		le16 off = cpu_to_le16((uint16_t)(heap - es));

		memset(e, 0, es);
		e->key = cpu_to_le64(key);
		e->ino = cpu_to_le64(ino);
		e->type = (uint8_t)type;
		e->namelen = (uint8_t)len;
		memcpy(e->name, name, len);
		memmove(s + 2, s, 2 * (ns - pos));
		memcpy(s, &off, 2);
		n->nslots = cpu_to_le16((uint16_t)(ns + 1));
		n->heap_start = cpu_to_le16((uint16_t)(heap - es));
		tx_seal(fs, blk);
		dir_account(fs, dir, 1, 0);
		return 0;
	}
	/* split the leaf by bytes */
	struct ent_copy *v = malloc(sizeof(*v) * (ns + 1));
	unsigned total = 0, acc = 0, half;
	uint64_t right;

	if (!v)
		return -ENOMEM;
	leaf_load(rn, v);
	memmove(v + pos + 1, v + pos, sizeof(*v) * (ns - pos));
	v[pos].key = key;
	v[pos].ino = ino;
	v[pos].type = (uint8_t)type;
	v[pos].namelen = (uint8_t)len;
	memcpy(v[pos].name, name, len);
	for (unsigned i = 0; i <= ns; i++)
		total += DAXFS_DENTRY_SIZE(v[i].namelen) + 2;
	for (half = 0; half < ns && acc + DAXFS_DENTRY_SIZE(v[half].namelen) + 2 <= total / 2;
	     half++)
		acc += DAXFS_DENTRY_SIZE(v[half].namelen) + 2;
	if (half == 0)
		half = 1;
	err = new_node(fs, dir, 0, blk, &right);
	if (err)
		goto out_free;
	leaf_fill(fs, blk, v, half);
	leaf_fill(fs, right, v + half, ns + 1 - half);
	err = idx_insert(fs, dir, &p, p.depth - 2, v[half].key, right);
	if (!err)
		dir_account(fs, dir, 1, 0);
out_free:
	free(v);
	return err;
}

static void idx_remove(struct daxfs *fs, uint64_t dir, struct path *p, int d);

/*
 * drop_node - the node at path level @d loses its last slot: free it and
 * remove it from the level above, or empty the tree if it is the root
 */
static void drop_node(struct daxfs *fs, uint64_t dir, struct path *p, int d)
{
	tx_free(fs, p->blk[d], 1);
	dir_account(fs, dir, 0, -1);
	if (d == 0) {
		struct daxfs_dinode *w = di_write(fs, dir);

		w->dir.root = 0;
		w->dir.height = 0;
		return;
	}
	idx_remove(fs, dir, p, d - 1);
}

/* remove the child at path level @d, freeing emptied nodes upwards */
static void idx_remove(struct daxfs *fs, uint64_t dir, struct path *p, int d)
{
	uint64_t blk = p->blk[d];
	const struct daxfs_dnode *rn = node_rd(fs, blk);
	unsigned ns = le16_to_cpu(rn->nslots), pos = p->idx[d];

	if (ns == 1) {
		drop_node(fs, dir, p, d);
		return;
	}
	struct daxfs_dnode *n = tx_write(fs, blk_to_off(blk), HDR);
	uint8_t *b = tx_write(fs, blk_to_off(blk) + HDR + 16 * pos, 16 * (ns - pos));

	memmove(b, b + 16, 16 * (ns - pos - 1));
	memset(b + 16 * (ns - pos - 1), 0, 16);
	n->nslots = cpu_to_le16((uint16_t)(ns - 1));
	tx_seal(fs, blk);
}

/* locate - the path @p to the leaf slot of entry @name of @dir, or -errno */
static int locate(struct daxfs *fs, uint64_t dir, const char *name, size_t len, struct path *p)
{
	uint64_t key;
	int err = dir_find(fs, dir, name, len, NULL, NULL, &key);

	if (err)
		return err;
	err = descend(fs, dir, key, p);
	if (err)
		return err;
	const struct daxfs_dnode *n = node_rd(fs, p->blk[p->depth - 1]);

	if (p->idx[p->depth - 1] >= le16_to_cpu(n->nslots) ||
	    ent_key(leaf_ent(n, p->idx[p->depth - 1])) != key)
		return dx_corrupt(fs, DAXFS_ERR_DIR, DAXFS_WHY_FIELD, dir, p->blk[p->depth - 1],
				  "index keys lead away from an entry");
	return 0;
}

int dir_remove(struct daxfs *fs, uint64_t dir, const char *name, size_t len)
{
	struct path p;
	int err = locate(fs, dir, name, len, &p);

	if (err)
		return err;
	uint64_t blk = p.blk[p.depth - 1];
	unsigned pos = p.idx[p.depth - 1];
	const struct daxfs_dnode *rn = node_rd(fs, blk);
	unsigned ns = le16_to_cpu(rn->nslots);
	unsigned es = DAXFS_DENTRY_SIZE(leaf_ent(rn, pos)->namelen);

	dir_account(fs, dir, -1, 0);
	if (ns == 1) {
		drop_node(fs, dir, &p, p.depth - 1);
		return 0;
	}
	struct daxfs_dnode *n = tx_write(fs, blk_to_off(blk), HDR);
	uint8_t *s = tx_write(fs, blk_to_off(blk) + HDR + 2 * pos, 2 * (ns - pos));

	memmove(s, s + 2, 2 * (ns - pos - 1));
	memset(s + 2 * (ns - pos - 1), 0, 2);
	n->nslots = cpu_to_le16((uint16_t)(ns - 1));
	n->frag = cpu_to_le16((uint16_t)(le16_to_cpu(n->frag) + es));
	tx_seal(fs, blk);
	return 0;
}

int dir_set(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
	    unsigned type)
{
	struct path p;
	int err = locate(fs, dir, name, len, &p);

	if (err)
		return err;
	uint64_t blk = p.blk[p.depth - 1];
	uint16_t off = slot_get(node_rd(fs, blk), p.idx[p.depth - 1]);
	struct daxfs_dentry *e = tx_write(fs, blk_to_off(blk) + off, 18);

	e->ino = cpu_to_le64(ino);
	e->type = (uint8_t)type;
	tx_seal(fs, blk);
	return 0;
}

int dir_walk_blocks(struct daxfs *fs, uint64_t root, int height, dir_blk_fn fn, void *ctx)
{
	const struct daxfs_dnode *n;
	int err;

	if (!root)
		return 0;
	if (height <= 0 || height > MAX_TREE_HEIGHT || !dx_in_data(fs, root, 1))
		return pmd_err(-EIO, "directory tree: bad node %llu", (unsigned long long)root);
	n = node_rd(fs, root);
	err = fn(ctx, root, height - 1);
	if (err)
		return err;
	if (le32_to_cpu(n->h.magic) != DAXFS_DIR_MAGIC || le16_to_cpu(n->level) != height - 1)
		return pmd_err(-EIO, "directory tree: block %llu bad header",
			       (unsigned long long)root);
	if (height == 1)
		return 0;
	for (unsigned i = 0; i < le16_to_cpu(n->nslots) && i < DAXFS_DINDEX_MAX; i++) {
		err = dir_walk_blocks(fs, le64_to_cpu(idx_ent(n, i)->child), height - 1, fn, ctx);
		if (err)
			return err;
	}
	return 0;
}

struct free_ctx {
	struct daxfs *fs;
	uint64_t dir;
};

/* free one node of the tree, once it passed its checks */
static int free_blk_cb(void *ctx, uint64_t blk, int level)
{
	struct free_ctx *c = ctx;
	const struct daxfs_dnode *n;
	int err = dnode_get(c->fs, c->dir, blk, (unsigned)level, &n);

	if (!err)
		tx_free(c->fs, blk, 1);
	return err;
}

int dir_free_tree(struct daxfs *fs, uint64_t dir)
{
	const struct daxfs_dinode *di = dir_inode(fs, dir);
	struct free_ctx c = {fs, dir};
	int err = dir_walk_blocks(fs, le64_to_cpu(di->dir.root), (int)le32_to_cpu(di->dir.height),
				  free_blk_cb, &c);
	struct daxfs_dinode *w;

	if (err)
		return err;
	w = di_write(fs, dir);
	w->blocks = cpu_to_le64(le64_to_cpu(w->blocks) - le64_to_cpu(w->dir.nblocks));
	w->dir.root = 0;
	w->dir.height = 0;
	w->dir.nblocks = 0;
	w->dir.nentries = 0;
	w->size = 0;
	return 0;
}
