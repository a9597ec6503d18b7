/* SPDX-License-Identifier: MIT */
/*
 * fsck_tree.c - pass 2: the namespace.
 *
 * Entries to free or cleared inodes go, a directory listed twice keeps one
 * entry, entry types follow the inodes. Then every inode in use must be
 * reachable from the root. One that is not goes back where the inode
 * extension table says its name was, directory by directory from the root
 * down (a directory that was lost is made again, empty, so its entries
 * have somewhere to go); what is left goes to /lost+found as "#ino", a
 * lost directory with its whole subtree. Last come '..', link counts, the
 * orphan list and the name records themselves.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "fsck_int.h"

struct tree {
	struct ck *c;
	uint64_t n;
	uint8_t *reached;
	uint64_t *queue;
	size_t *first, *fill; /* adjacency by directory, over c->edges */
	size_t *order;	      /* edge indices grouped by directory */
	size_t *link;	      /* per inode: index of one live edge to it, or SIZE_MAX */
};

static bool usable(struct ck *c, uint64_t ino)
{
	return ino_valid(c->fs, ino) && c->state[ino - 1] == IS_OK && di_read(c->fs, ino)->mode;
}

static bool is_dir(struct ck *c, uint64_t ino)
{
	return usable(c, ino) && S_ISDIR(le32_to_cpu(di_read(c->fs, ino)->mode));
}

static unsigned mode_dt(uint32_t mode)
{
	return (mode >> 12) & 15;
}

/* an inode the orphan list will free: unlinked and flagged or listed */
static bool orphan_to_free(struct ck *c, uint64_t ino)
{
	const struct daxfs_dinode *di = di_read(c->fs, ino);

	return !di->nlink && (c->orphan[ino - 1] || (le32_to_cpu(di->flags) & DAXFS_IF_ORPHAN));
}

/* remove_entry - drop edge @e from its directory (in a transaction) */
static void remove_entry(struct ck *c, struct edge *e, bool fixed)
{
	struct daxfs *fs = c->fs;

	e->dead = true;
	if (!fixed)
		return;
	dx_lock(fs);
	tx_begin(fs);
	if (dir_remove(fs, e->dir, e->name, e->namelen))
		tx_abort(fs);
	else
		tx_commit(fs);
	dx_unlock(fs);
}

/* link_entry - add @name -> @child to directory @dir and record the name */
static int link_entry(struct ck *c, uint64_t dir, const char *name, size_t len, uint64_t child)
{
	struct daxfs *fs = c->fs;
	unsigned dt = mode_dt(le32_to_cpu(di_read(fs, child)->mode));
	int err;

	dx_lock(fs);
	tx_begin(fs);
	err = dir_insert(fs, dir, name, len, child, dt);
	if (!err) {
		iext_set(fs, child, dir, name, len);
		if (S_ISDIR(le32_to_cpu(di_read(fs, child)->mode)))
			di_write(fs, child)->parent = cpu_to_le64(dir);
		err = tx_commit(fs);
	} else {
		tx_abort(fs);
	}
	dx_unlock(fs);
	if (!err)
		err = add_edge(c, dir, child, dt, name, len);
	return err;
}

/* ---- orphan list ---- */

static void check_orphans(struct ck *c)
{
	struct daxfs *fs = c->fs;
	uint64_t o = le64_to_cpu(((const struct daxfs_dsuper *)tx_read(fs, 0))->orphan_head);
	uint64_t prev = 0;
	char buf[48];

	for (uint64_t guard = 0; o; guard++) {
		if (!usable(c, o) || c->orphan[o - 1] || guard >= fs->inode_count ||
		    !(le32_to_cpu(di_read(fs, o)->flags) & DAXFS_IF_ORPHAN)) {
			bool fixed = ck_fix(c, FIX_SAFE);

			problem(c, "orphan", o, fixed, "orphan list broken at inode %llu%s",
				(unsigned long long)o,
				ck_did(c, fixed, "cut there", buf, sizeof(buf)));
			if (fixed) {
				dx_lock(fs);
				tx_begin(fs);
				if (prev) {
					di_write(fs, prev)->orphan_next = 0;
				} else {
					struct daxfs_dsuper *sb = super_write(fs);

					sb->orphan_head = 0;
				}
				tx_commit(fs);
				dx_unlock(fs);
			}
			return;
		}
		c->orphan[o - 1] = true;
		prev = o;
		o = le64_to_cpu(di_read(fs, o)->orphan_next);
	}
}

/* ---- entries ---- */

static void check_entries(struct tree *t)
{
	struct ck *c = t->c;
	struct daxfs *fs = c->fs;
	char buf[48];

	for (size_t k = 0; k < c->nedges; k++) {
		struct edge *e = &c->edges[k];
		bool fixed;

		if (e->dead || !is_dir(c, e->dir))
			continue;
		if (c->iflags[e->dir - 1] & IF_SALVAGE) {
			/* a damaged directory left as it is (-p): no entry of it is touched */
			if (usable(c, e->child))
				c->refs[e->child - 1]++;
			continue;
		}
		if (!usable(c, e->child) || e->child == DAXFS_ROOT_INO) {
			bool was_bad = ino_valid(fs, e->child) && c->state[e->child - 1] != IS_FREE;

			fixed = ck_fix(c, was_bad ? FIX_UNSAFE : FIX_SAFE);
			problem(c, "directory", e->dir, fixed,
				"directory %llu: entry \"%s\" points to %s inode %llu%s",
				(unsigned long long)e->dir, e->name,
				e->child == DAXFS_ROOT_INO ? "the root"
				: was_bad		   ? "the corrupt"
							   : "free",
				(unsigned long long)e->child,
				ck_did(c, fixed, "removed", buf, sizeof(buf)));
			remove_entry(c, e, fixed);
			if (!fixed)
				c->unresolved++;
			continue;
		}
		uint32_t mode = le32_to_cpu(di_read(fs, e->child)->mode);

		if (S_ISDIR(mode)) {
			if (c->dotdot[e->child - 1]) {
				fixed = ck_fix(c, FIX_UNSAFE);
				problem(c, "directory", e->child, fixed,
					"directory %llu is listed in %llu and again in %llu as "
					"\"%s\"%s",
					(unsigned long long)e->child,
					(unsigned long long)c->dotdot[e->child - 1],
					(unsigned long long)e->dir, e->name,
					ck_did(c, fixed, "second entry removed", buf, sizeof(buf)));
				remove_entry(c, e, fixed);
				continue;
			}
			c->dotdot[e->child - 1] = e->dir;
			c->subdirs[e->dir - 1]++;
		}
		if (e->type != mode_dt(mode)) {
			fixed = ck_fix(c, FIX_SAFE);
			problem(c, "directory", e->dir, fixed,
				"directory %llu: entry \"%s\" has type %u, inode %llu is %u%s",
				(unsigned long long)e->dir, e->name, e->type,
				(unsigned long long)e->child, mode_dt(mode),
				ck_did(c, fixed, "set", buf, sizeof(buf)));
			if (fixed) {
				dx_lock(fs);
				tx_begin(fs);
				if (dir_set(fs, e->dir, e->name, e->namelen, e->child,
					    mode_dt(mode)))
					tx_abort(fs);
				else
					tx_commit(fs);
				dx_unlock(fs);
				e->type = (uint8_t)mode_dt(mode);
			}
		}
		c->refs[e->child - 1]++;
	}
}

/* ---- reachability ---- */

static int index_edges(struct tree *t)
{
	struct ck *c = t->c;
	size_t sum = 0;

	free(t->order);
	t->order = malloc((c->nedges ? c->nedges : 1) * sizeof(*t->order));
	if (!t->order)
		return -ENOMEM;
	memset(t->first, 0, (t->n + 2) * sizeof(*t->first));
	memset(t->fill, 0, (t->n + 2) * sizeof(*t->fill));
	for (size_t k = 0; k < c->nedges; k++)
		if (!c->edges[k].dead)
			t->first[c->edges[k].dir]++;
	for (uint64_t d = 0; d <= t->n + 1; d++) {
		size_t cnt = t->first[d];

		t->first[d] = sum;
		sum += cnt;
	}
	for (uint64_t x = 0; x < t->n; x++)
		t->link[x] = SIZE_MAX;
	for (size_t k = 0; k < c->nedges; k++) {
		const struct edge *e = &c->edges[k];

		if (e->dead)
			continue;
		t->order[t->first[e->dir] + t->fill[e->dir]++] = k;
		if (ino_valid(c->fs, e->child) && t->link[e->child - 1] == SIZE_MAX)
			t->link[e->child - 1] = k;
	}
	return 0;
}

/* reach - mark everything below directory @from (already marked) */
static void reach(struct tree *t, uint64_t from)
{
	struct ck *c = t->c;
	size_t qh = 0, qt = 0;

	t->queue[qt++] = from;
	while (qh < qt) {
		uint64_t d = t->queue[qh++];

		for (size_t k = t->first[d]; k < t->first[d] + t->fill[d]; k++) {
			const struct edge *e = &c->edges[t->order[k]];

			if (e->dead || !usable(c, e->child) || t->reached[e->child - 1])
				continue;
			t->reached[e->child - 1] = 1;
			if (is_dir(c, e->child) && c->dotdot[e->child - 1] == d)
				t->queue[qt++] = e->child;
		}
	}
}

static int reach_all(struct tree *t)
{
	int err = index_edges(t);

	if (err)
		return err;
	memset(t->reached, 0, t->n);
	if (!is_dir(t->c, DAXFS_ROOT_INO))
		return 0;
	t->reached[0] = 1;
	reach(t, DAXFS_ROOT_INO);
	return 0;
}

/* a directory inode @ino made from nothing, to hold entries that named it */
static void recreate_dir(struct ck *c, uint64_t ino)
{
	struct daxfs_dinode *di = fix_begin(c, ino);
	uint64_t gen = le64_to_cpu(di->generation) + 1;
	le64 now = cpu_to_le64((uint64_t)now_ns());

	memset(di, 0, sizeof(*di));
	di->mode = cpu_to_le32(S_IFDIR | 0755);
	di->nlink = cpu_to_le32(2);
	di->generation = cpu_to_le64(gen);
	di->atime = di->mtime = di->ctime = di->btime = now;
	fix_end(c);
	c->state[ino - 1] = IS_OK;
	c->itype[ino - 1] = S_IFDIR;
	c->dirs++;
	dx_lock(c->fs);
	imap_init(c->fs); /* in use again: no allocation may take it */
	dx_unlock(c->fs);
}

/*
 * by_name - put unreachable inodes back under their recorded names, round
 * by round from the reachable part down. Returns the number put back.
 */
static unsigned by_name(struct tree *t)
{
	struct ck *c = t->c;
	struct daxfs *fs = c->fs;
	unsigned total = 0;
	char buf[48];

	if (!fs->iext_nblks)
		return 0;
	for (;;) {
		unsigned round = 0, remade = 0;

		for (uint64_t x = 2; x <= t->n; x++) {
			char name[DAXFS_NAME_MAX + 1];
			uint64_t p;
			size_t len;

			if (!usable(c, x) || orphan_to_free(c, x) ||
			    (t->reached[x - 1] && is_dir(c, x)))
				continue;
			dx_lock(fs);
			int err = iext_get(fs, x, &p, name, &len);

			dx_unlock(fs);
			if (err || p == x || !name_valid(name, len))
				continue;
			if (t->reached[x - 1] && (!is_dir(c, p) || !t->reached[p - 1]))
				continue; /* a hard link lost its recorded name: only put it back */
			if (!usable(c, p) && c->state[p - 1] != IS_OK) {
				/* the directory itself was lost: make it again */
				bool fixed = ck_fix(c, FIX_UNSAFE);

				problem(c, "directory", p, fixed,
					"directory %llu is gone but inode %llu was in it%s",
					(unsigned long long)p, (unsigned long long)x,
					ck_did(c, fixed, "made again", buf, sizeof(buf)));
				if (!fixed) {
					c->unresolved++;
					continue;
				}
				recreate_dir(c, p);
				remade++; /* its own recorded name is tried next round */
			}
			if (!is_dir(c, p) || !t->reached[p - 1])
				continue;
			dx_lock(fs);
			err = dir_find(fs, p, name, len, NULL, NULL, NULL);
			dx_unlock(fs);
			if (err != -ENOENT)
				continue;
			bool fixed = ck_fix(c, FIX_UNSAFE);

			problem(c, "inode", x, fixed,
				"inode %llu %s; its name is \"%s\" in directory %llu%s",
				(unsigned long long)x,
				t->reached[x - 1] ? "lost the entry of its recorded name"
						  : "is not reachable",
				name, (unsigned long long)p,
				ck_did(c, fixed, "linked there again", buf, sizeof(buf)));
			if (!fixed) {
				c->unresolved++;
				continue;
			}
			if (link_entry(c, p, name, len, x))
				continue;
			if (is_dir(c, x)) {
				c->dotdot[x - 1] = p;
				c->subdirs[p - 1]++;
			}
			c->refs[x - 1]++;
			round++;
		}
		if ((!round && !remade) || reach_all(t))
			break;
		total += round;
	}
	return total;
}

static uint64_t lost_found(struct tree *t)
{
	struct ck *c = t->c;
	struct daxfs *fs = c->fs;
	struct daxfs_attr a;

	if (!daxfs_lookup(fs, DAXFS_ROOT_INO, "lost+found", &a))
		return S_ISDIR(a.mode) ? a.ino : 0;
	if (daxfs_mkdir(fs, DAXFS_ROOT_INO, "lost+found", 0700, 0, 0, &a))
		return 0;
	c->state[a.ino - 1] = IS_OK;
	c->itype[a.ino - 1] = S_IFDIR;
	add_edge(c, DAXFS_ROOT_INO, a.ino, DT_DIR, "lost+found", 10);
	c->dotdot[a.ino - 1] = DAXFS_ROOT_INO;
	c->subdirs[0]++;
	c->refs[a.ino - 1]++;
	t->reached[a.ino - 1] = 1;
	return a.ino;
}

/* to_lost_found - @x and what hangs below it go to /lost+found as "#x" */
static void to_lost_found(struct tree *t, uint64_t x, uint64_t *lf)
{
	struct ck *c = t->c;
	char name[32], buf[48];
	bool fixed = ck_fix(c, FIX_UNSAFE);
	int err = 0;

	if (fixed && !*lf)
		*lf = lost_found(t);
	if (fixed && !*lf)
		err = -ENOENT;
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)x);
	if (fixed && !err)
		err = link_entry(c, *lf, name, strlen(name), x);
	fixed &= !err;
	problem(c, "inode", x, fixed, "inode %llu is not reachable from /%s", (unsigned long long)x,
		ck_did(c, fixed, "moved to /lost+found", buf, sizeof(buf)));
	if (!fixed) {
		c->unresolved++;
		t->reached[x - 1] = 1; /* reported once */
		return;
	}
	c->refs[x - 1]++;
	t->reached[x - 1] = 1;
	if (is_dir(c, x)) {
		c->dotdot[x - 1] = *lf;
		c->subdirs[*lf - 1]++;
		index_edges(t);
		reach(t, x);
	}
}

static void reconnect(struct tree *t)
{
	struct ck *c = t->c;
	uint64_t lf = 0;

	by_name(t);
	/* directories first, each from the top of its lost subtree */
	for (uint64_t x = 2; x <= t->n; x++) {
		uint64_t top = x;

		if (!is_dir(c, x) || t->reached[x - 1] || orphan_to_free(c, x))
			continue;
		for (uint64_t guard = 0; guard < t->n; guard++) {
			uint64_t p = c->dotdot[top - 1];

			if (!p || p == x || !is_dir(c, p) || t->reached[p - 1] ||
			    orphan_to_free(c, p))
				break;
			top = p;
		}
		if (!t->reached[top - 1])
			to_lost_found(t, top, &lf);
	}
	/* names recorded in the directories that just came back */
	if (lf && !reach_all(t))
		by_name(t);
	for (uint64_t x = 2; x <= t->n; x++)
		if (usable(c, x) && !t->reached[x - 1] && !orphan_to_free(c, x))
			to_lost_found(t, x, &lf);
}

/* ---- counts, '..', orphans, names ---- */

static void check_counts(struct tree *t)
{
	struct ck *c = t->c;
	struct daxfs *fs = c->fs;
	char buf[48];

	for (uint64_t x = 1; x <= t->n; x++) {
		if (!usable(c, x))
			continue;
		const struct daxfs_dinode *di = di_read(fs, x);
		bool dir = S_ISDIR(le32_to_cpu(di->mode)), fixed;
		uint32_t nlink = le32_to_cpu(di->nlink);
		uint32_t want = dir ? 2 + c->subdirs[x - 1] : c->refs[x - 1];
		uint64_t parent = x == DAXFS_ROOT_INO ? DAXFS_ROOT_INO : c->dotdot[x - 1];

		if (!t->reached[x - 1]) {
			if (orphan_to_free(c, x) && !c->orphan[x - 1]) {
				fixed = ck_fix(c, FIX_SAFE);
				problem(c, "orphan", x, fixed,
					"unlinked inode %llu is not on the orphan list%s",
					(unsigned long long)x,
					ck_did(c, fixed, "added", buf, sizeof(buf)));
				if (fixed) {
					/* link it in front (its flag may say it is on already) */
					dx_lock(fs);
					tx_begin(fs);
					struct daxfs_dsuper *sb = super_write(fs);
					struct daxfs_dinode *w = di_write(fs, x);

					w->orphan_next = sb->orphan_head;
					w->flags = cpu_to_le32(le32_to_cpu(w->flags) |
							       DAXFS_IF_ORPHAN);
					sb->orphan_head = cpu_to_le64(x);
					tx_commit(fs);
					dx_unlock(fs);
					c->orphan[x - 1] = true;
				}
			}
			continue;
		}
		if (dir && parent && le64_to_cpu(di->parent) != parent) {
			fixed = ck_fix(c, FIX_SAFE);
			problem(c, "directory", x, fixed,
				"directory %llu: '..' is %llu, but it is listed in %llu%s",
				(unsigned long long)x, (unsigned long long)le64_to_cpu(di->parent),
				(unsigned long long)parent,
				ck_did(c, fixed, "set", buf, sizeof(buf)));
			if (fixed) {
				fix_begin(c, x)->parent = cpu_to_le64(parent);
				fix_end(c);
			}
		}
		if (nlink != want) {
			/* entries of a directory left damaged (-p) may be wrong */
			fixed = ck_fix(c, c->manual ? FIX_UNSAFE : FIX_SAFE);
			problem(c, "inode", x, fixed, "inode %llu: link count %u, counted %u%s",
				(unsigned long long)x, nlink, want,
				ck_did(c, fixed, "set", buf, sizeof(buf)));
			if (fixed) {
				fix_begin(c, x)->nlink = cpu_to_le32(want);
				fix_end(c);
			}
		}
		if (c->orphan[x - 1] || (le32_to_cpu(di->flags) & DAXFS_IF_ORPHAN)) {
			fixed = ck_fix(c, FIX_SAFE);
			problem(c, "orphan", x, fixed, "linked inode %llu is marked as an orphan%s",
				(unsigned long long)x,
				ck_did(c, fixed, "taken off the list", buf, sizeof(buf)));
			if (fixed) {
				dx_lock(fs);
				tx_begin(fs);
				orphan_remove(fs, x);
				struct daxfs_dinode *w = di_write(fs, x);

				w->flags = cpu_to_le32(le32_to_cpu(w->flags) & ~DAXFS_IF_ORPHAN);
				w->orphan_next = 0;
				tx_commit(fs);
				dx_unlock(fs);
				c->orphan[x - 1] = false;
			}
		}
	}
}

static void check_names(struct tree *t)
{
	struct ck *c = t->c;
	struct daxfs *fs = c->fs;
	char buf[48];

	/* the names are what a later repair needs: keep them while damage is left */
	if (!fs->iext_nblks || c->unresolved)
		return;
	for (uint64_t x = 1; x <= t->n; x++) {
		char name[DAXFS_NAME_MAX + 1];
		uint64_t p, found;
		size_t len;
		const char *what = NULL;
		int err;

		if (!usable(c, x) || !t->reached[x - 1])
			continue;
		dx_lock(fs);
		err = iext_get(fs, x, &p, name, &len);
		if (!err && x == DAXFS_ROOT_INO)
			what = "records a name for the root";
		else if (err == -EIO)
			what = "is damaged";
		else if (!err && !is_dir(c, p))
			what = "names a directory that does not exist";
		else if (!err && (c->iflags[p - 1] & IF_SALVAGE))
			what = NULL; /* its directory was left damaged */
		else if (!err) {
			int e = dir_find(fs, p, name, len, &found, NULL, NULL);

			if (e == -ENOENT || (!e && found != x))
				what = "names a link that does not exist";
		}
		dx_unlock(fs);
		if (!what)
			continue;
		bool fixed = ck_fix(c, FIX_SAFE);

		problem(c, "inode", x, fixed, "inode %llu: its name record %s%s",
			(unsigned long long)x, what,
			ck_did(c, fixed, "rewritten", buf, sizeof(buf)));
		if (!fixed)
			continue;
		dx_lock(fs);
		tx_begin(fs);
		if (x != DAXFS_ROOT_INO && t->link[x - 1] != SIZE_MAX) {
			const struct edge *e = &c->edges[t->link[x - 1]];

			iext_set(fs, x, e->dir, e->name, e->namelen);
		} else {
			memset(tx_write(fs, iext_off(fs, x), DAXFS_IEXT_SIZE), 0, DAXFS_IEXT_SIZE);
		}
		tx_commit(fs);
		dx_unlock(fs);
	}
}

int pass2(struct ck *c)
{
	uint64_t n = c->fs->inode_count;
	struct tree t = {.c = c, .n = n};
	int err = -ENOMEM;

	t.reached = calloc(n, 1);
	t.queue = malloc(n * sizeof(*t.queue));
	t.first = calloc(n + 2, sizeof(*t.first));
	t.fill = calloc(n + 2, sizeof(*t.fill));
	t.link = malloc(n * sizeof(*t.link));
	if (!t.reached || !t.queue || !t.first || !t.fill || !t.link)
		goto out_free;
	memset(c->refs, 0, n * sizeof(*c->refs));
	memset(c->subdirs, 0, n * sizeof(*c->subdirs));
	memset(c->dotdot, 0, n * sizeof(*c->dotdot));
	memset(c->orphan, 0, n * sizeof(*c->orphan));
	check_orphans(c);
	check_entries(&t);
	err = reach_all(&t);
	if (err)
		goto out_free;
	if (!is_dir(c, DAXFS_ROOT_INO)) {
		problem(c, "inode", 1, false, "root directory is missing or not a directory");
		c->unresolved++;
		goto out_free;
	}
	reconnect(&t);
	err = reach_all(&t);
	if (err)
		goto out_free;
	check_counts(&t);
	check_names(&t);
out_free:
	free(t.reached);
	free(t.queue);
	free(t.first);
	free(t.fill);
	free(t.order);
	free(t.link);
	return err;
}
