/* SPDX-License-Identifier: MIT */
/*
 * populate.c - build the populated image and walk it into a manifest (see
 * populate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"
#include "populate.h"
#include "region.h"

#define BIG_SIZE (4U << 20)
#define SMALL_REGION (16U << 20) /* below this: the small profile */

/* how much of everything: the full profile, or the small one for quick runs */
struct profile {
	int nsmall;	  /* files in /small (two leaves or more) */
	size_t small_max; /* their largest size, bytes */
	size_t big;	  /* /big, bytes (over 2 MiB: mapped by a 2 MiB extent) */
	int frag_extents; /* one-block extents of /frag and /frag2 (> 261: two blocks) */
};

static const struct profile full_profile = {300, 6200, BIG_SIZE, 300};
static const struct profile small_profile = {150, 2100, (2U << 20) + 5000, 270};

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761U + 1;

	for (size_t k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[k] = (uint8_t)x;
	}
}

#define TRY(expr)                                                                       \
	do {                                                                            \
		int _e = (expr);                                                        \
		if (_e) {                                                               \
			fprintf(stderr, "populate: %s: %s\n", #expr, pmd_strerror(_e)); \
			_exit(1);                                                       \
		}                                                                       \
	} while (0)

static uint64_t mk(struct daxfs *fs, uint64_t dir, const char *name, const uint8_t *data,
		   size_t len)
{
	struct daxfs_attr a;
	size_t done;

	TRY(daxfs_create(fs, dir, name, 0644, 1000, 1000, &a));
	if (len) {
		TRY(daxfs_write(fs, a.ino, 0, len, data, &done));
		if (done != len)
			_exit(1);
	}
	return a.ino;
}

static uint64_t mkd(struct daxfs *fs, uint64_t dir, const char *name)
{
	struct daxfs_attr a;

	TRY(daxfs_mkdir(fs, dir, name, 0755, 1000, 1000, &a));
	return a.ino;
}

/* the small-file name @k: mostly short, some long (up to 255 bytes) */
static void small_name(char *buf, int k)
{
	int len = k % 37 == 0 ? 255 - k % 5 : k % 11 == 0 ? 100 + k % 90 : 0;

	if (!len) {
		snprintf(buf, 256, "f%03d", k);
		return;
	}
	int n = snprintf(buf, 256, "long%03d-", k);

	for (; n < len; n++)
		buf[n] = (char)('a' + (n * 7 + k) % 26);
	buf[len] = '\0';
}

/* populate the open filesystem @fs (the child's work) */
static void populate(struct daxfs *fs, enum pop_end end, const struct profile *p)
{
	static uint8_t buf[BIG_SIZE];
	struct daxfs_attr a;
	char name[256];
	size_t done;
	uint64_t small, d, sub, f;

	small = mkd(fs, DAXFS_ROOT_INO, "small");
	for (int k = 0; k < p->nsmall; k++) {
		size_t len = (size_t)(k * 397) % p->small_max;

		small_name(name, k);
		fill(buf, len, (uint32_t)k);
		f = mk(fs, small, name, buf, len);
		if (k % 50 == 3) {
			fill(buf, 64, (uint32_t)k + 7);
			TRY(daxfs_setxattr(fs, f, "user.note", buf, 16 + k % 40, 0));
			TRY(daxfs_setxattr(fs, f, "trusted.x", "v", 1, 0));
		}
	}
	fill(buf, p->big, 1000);
	mk(fs, DAXFS_ROOT_INO, "big", buf, p->big);

	/* sparse: data at 0, 1 MiB and 3 MiB + 10 */
	f = mk(fs, DAXFS_ROOT_INO, "sparse", NULL, 0);
	fill(buf, 9000, 1001);
	TRY(daxfs_write(fs, f, 0, 5000, buf, &done));
	TRY(daxfs_write(fs, f, 1 << 20, 4096, buf + 5000, &done));
	TRY(daxfs_write(fs, f, (3 << 20) + 10, 3000, buf + 6000, &done));

	/* fragmented: two files written block by block in turn, 300
	 * one-block extents each (two chained extent blocks) */
	f = mk(fs, DAXFS_ROOT_INO, "frag", NULL, 0);
	uint64_t f2 = mk(fs, DAXFS_ROOT_INO, "frag2", NULL, 0);

	for (int k = 0; k < p->frag_extents; k++) {
		fill(buf, 8192, 2000U + (unsigned)k);
		TRY(daxfs_write(fs, f, (uint64_t)k * 4096, 4096, buf, &done));
		TRY(daxfs_write(fs, f2, (uint64_t)k * 4096, 4096, buf + 4096, &done));
	}

	d = mkd(fs, DAXFS_ROOT_INO, "dir");
	TRY(daxfs_setxattr(fs, d, "user.dir", "dirvalue", 8, 0));
	sub = mkd(fs, d, "sub");
	sub = mkd(fs, sub, "deeper");
	fill(buf, 777, 3000);
	mk(fs, sub, "leaf", buf, 777);
	mkd(fs, d, "empty");
	TRY(daxfs_lookup(fs, small, "f002", &a));
	TRY(daxfs_link(fs, a.ino, d, "hard", NULL));
	TRY(daxfs_link(fs, a.ino, DAXFS_ROOT_INO, "hard2", NULL));
	TRY(daxfs_symlink(fs, DAXFS_ROOT_INO, "sl", "small/f001", 0, 0, NULL));
	memset(name, 0, sizeof(name));
	fill(buf, 3000, 4000);
	for (int k = 0; k < 3000; k++)
		buf[k] = (uint8_t)('a' + buf[k] % 26);
	buf[3000] = '\0';
	TRY(daxfs_symlink(fs, d, "longlink", (const char *)buf, 0, 0, NULL));
	TRY(daxfs_mknod(fs, d, "fifo", S_IFIFO | 0600, 0, 0, 0, NULL));
	TRY(daxfs_mknod(fs, d, "null", S_IFCHR | 0666, 0, 0, makedev(1, 3), NULL));
	if (end == POP_CLEAN)
		return;

	/* open-unlinked files: left on the orphan list by the crash */
	for (int k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "orphan%d", k);
		fill(buf, 10000, 5000U + (unsigned)k);
		f = mk(fs, DAXFS_ROOT_INO, name, buf, 5000 + 3000 * (size_t)k);
		TRY(daxfs_iget(fs, f));
		TRY(daxfs_unlink(fs, DAXFS_ROOT_INO, name));
	}
	/* the last transaction: dies at commit step 2 (committed, not applied)
	 * or 1 (records written, header not) */
	daxfs_test_crash_at(1, end == POP_CRASH_COMMIT ? 2 : 1);
	fill(buf, 100, 6000);
	mk(fs, d, "journalled", NULL, 0);
	_exit(2); /* the crash point did not fire */
}

/*
 * fix_hash_seed - give both superblocks of the new filesystem in @r the same
 * name hash seed every run (mkfs draws one): the directory trees, and so
 * every structure's place and number, are then the same each time, and a
 * fuzz case replays by its seed alone
 */
static void fix_hash_seed(struct pmr_region *r)
{
	for (int k = 0; k < 2; k++) {
		struct daxfs_dsuper *sb = (void *)((uint8_t *)pmr_addr(r) + k * BLK_SIZE);

		sb->hash_seed = cpu_to_le64(0x5eed5eed5eed5eedULL);
		super_seal(sb);
		pmr_persist(r, sb, sizeof(*sb));
	}
}

int pop_build(const char *path, uint64_t size, enum pop_end end, unsigned version)
{
	struct daxfs_mkfs_opts mo = {.label = "fuzz", .version = version};
	struct pmr_region *r;
	pid_t pid;
	int err, st;

	err = pmr_create(path, size, 0, &r);
	if (err) {
		fprintf(stderr, "populate: %s: %s\n", path, pmd_strerror(err));
		return err;
	}
	err = daxfs_mkfs(r, &mo);
	if (!err)
		fix_hash_seed(r);
	pmr_close(&r);
	if (err) {
		fprintf(stderr, "populate: mkfs: %s\n", pmd_strerror(err));
		return err;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct daxfs *fs;

		TRY(daxfs_open(path, 0, &fs));
		populate(fs, end, size < SMALL_REGION ? &small_profile : &full_profile);
		TRY(daxfs_close(&fs));
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != (end == POP_CLEAN ? 0 : DAXFS_TEST_CRASH_EXIT)) {
		fprintf(stderr, "populate: child ended with status 0x%x\n", st);
		return -EIO;
	}
	return 0;
}

/* ---- the walk ---- */

struct names {
	char (*name)[DAXFS_NAME_MAX + 1];
	uint64_t *ino;
	size_t n, cap;
};

static int collect(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	struct names *nm = ctx;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 64;
		void *a = realloc(nm->name, cap * sizeof(*nm->name));
		void *b = a ? realloc(nm->ino, cap * sizeof(*nm->ino)) : NULL;

		if (a)
			nm->name = a;
		if (!b)
			return -ENOMEM;
		nm->ino = b;
		nm->cap = cap;
	}
	snprintf(nm->name[nm->n], sizeof(nm->name[0]), "%s", name);
	nm->ino[nm->n++] = ino;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static uint32_t xattr_crc(struct daxfs *fs, uint64_t ino, uint32_t crc, unsigned *errors)
{
	char list[4096], val[4096];
	size_t len, vl;

	if (daxfs_listxattr(fs, ino, list, sizeof(list), &len)) {
		(*errors)++;
		return crc;
	}
	for (size_t p = 0; p < len; p += strlen(list + p) + 1) {
		crc = daxfs_crc32c(crc, list + p, strlen(list + p));
		if (daxfs_getxattr(fs, ino, list + p, val, sizeof(val), &vl))
			(*errors)++;
		else
			crc = daxfs_crc32c(crc, val, vl);
	}
	return crc;
}

/*
 * file_crc - a CRC of the file's data runs and where they lie. Holes are
 * skipped (SEEK_DATA/SEEK_HOLE), so a damaged size of terabytes costs what
 * the file's blocks cost to read, not hours of zeros; a hole that becomes
 * data (or the reverse) still changes the CRC through the offsets folded in.
 */
static uint32_t file_crc(struct daxfs *fs, uint64_t ino, uint64_t size, unsigned *errors)
{
	static uint8_t buf[1 << 16];
	uint32_t crc = 0;
	uint64_t off = 0, end;

	while (off < size) {
		int err = daxfs_lseek_data(fs, ino, off, SEEK_DATA, &off);

		if (err == -ENXIO)
			break;
		if (!err)
			err = daxfs_lseek_data(fs, ino, off, SEEK_HOLE, &end);
		if (err || end <= off) {
			(*errors)++;
			break;
		}
		if (end > size)
			end = size;
		crc = daxfs_crc32c(crc, &off, sizeof(off));
		while (off < end) {
			size_t done,
				want = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);

			if (daxfs_read(fs, ino, off, want, buf, &done) || !done) {
				(*errors)++;
				return crc;
			}
			crc = daxfs_crc32c(crc, buf, done);
			off += done;
		}
	}
	return crc;
}

static int add(struct pop_manifest *m, const struct pop_entry *e)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct pop_entry *n = realloc(m->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		m->e = n;
		m->cap = cap;
	}
	m->e[m->n++] = *e;
	return 0;
}

static int walk_dir(struct daxfs *fs, struct pop_manifest *m, const char *path, uint64_t dir,
		    int depth, void (*visit)(void *, const struct pop_entry *), void *ctx)
{
	struct names nm = {0};
	struct pop_entry e;
	struct daxfs_attr a;
	uint32_t crc = 0;
	int err;

	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	e.ino = dir;
	if (daxfs_getattr(fs, dir, &a)) {
		m->errors++;
		return 0;
	}
	e.mode = a.mode;
	e.nlink = a.nlink;
	err = daxfs_readdir(fs, dir, 0, collect, &nm);
	if (err == -ENOMEM)
		goto out_free;
	if (err)
		m->errors++;
	if (nm.n)
		qsort(nm.name, nm.n, sizeof(nm.name[0]), cmp_name);
	for (size_t k = 0; k < nm.n; k++)
		crc = daxfs_crc32c(crc, nm.name[k], strlen(nm.name[k]) + 1);
	e.size = nm.n;
	e.crc = xattr_crc(fs, dir, crc, &m->errors);
	err = add(m, &e);
	if (err)
		goto out_free;
	if (visit)
		visit(ctx, &e);
	/* the readdir order was lost by the sort: look each name up again */
	for (size_t k = 0; k < nm.n && !err; k++) {
		char child[sizeof(e.path)];
		struct pop_entry c;

		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "",
			 nm.name[k]);
		if (daxfs_lookup(fs, dir, nm.name[k], &a)) {
			m->errors++;
			continue;
		}
		if (S_ISDIR(a.mode)) {
			if (depth < 64)
				err = walk_dir(fs, m, child, a.ino, depth + 1, visit, ctx);
			continue;
		}
		memset(&c, 0, sizeof(c));
		snprintf(c.path, sizeof(c.path), "%s", child);
		c.ino = a.ino;
		c.mode = a.mode;
		c.nlink = a.nlink;
		c.size = a.size;
		if (S_ISREG(a.mode)) {
			c.crc = file_crc(fs, a.ino, a.size, &m->errors);
		} else if (S_ISLNK(a.mode)) {
			char t[DAXFS_SYMLINK_MAX + 1];
			size_t tl;

			if (daxfs_readlink(fs, a.ino, t, sizeof(t), &tl))
				m->errors++;
			else
				c.crc = daxfs_crc32c(0, t, tl);
		} else {
			c.crc = (uint32_t)a.rdev;
		}
		c.crc = xattr_crc(fs, a.ino, c.crc, &m->errors);
		err = add(m, &c);
		if (!err && visit)
			visit(ctx, &c);
	}
out_free:
	free(nm.name);
	free(nm.ino);
	return err;
}

/* by path, then in walk order (the first of equal paths first) */
static int cmp_entry(const void *a, const void *b)
{
	const struct pop_entry *x = *(const struct pop_entry *const *)a;
	const struct pop_entry *y = *(const struct pop_entry *const *)b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x > y) - (x < y);
}

/* index - sort the entry numbers of @m by path (m->order) */
static int index_paths(struct pop_manifest *m)
{
	const struct pop_entry **p = malloc((m->n ? m->n : 1) * sizeof(*p));
	size_t *order = realloc(m->order, (m->n ? m->n : 1) * sizeof(*order));

	if (order)
		m->order = order;
	m->norder = 0;
	if (!p || !order) {
		free(p);
		return -ENOMEM;
	}
	for (size_t k = 0; k < m->n; k++)
		p[k] = &m->e[k];
	qsort(p, m->n, sizeof(*p), cmp_entry);
	for (size_t k = 0; k < m->n; k++)
		order[k] = (size_t)(p[k] - m->e);
	m->norder = m->n;
	free(p);
	return 0;
}

int pop_walk(struct daxfs *fs, struct pop_manifest *m,
	     void (*visit)(void *ctx, const struct pop_entry *e), void *ctx)
{
	int err = walk_dir(fs, m, "/", DAXFS_ROOT_INO, 0, visit, ctx);

	return err ? err : index_paths(m);
}

const struct pop_entry *pop_find(const struct pop_manifest *m, const char *path)
{
	size_t lo = 0, hi = m->norder;

	if (m->norder != m->n || !m->order) {
		for (size_t k = 0; k < m->n; k++)
			if (!strcmp(m->e[k].path, path))
				return &m->e[k];
		return NULL;
	}
	while (lo < hi) { /* the first entry not below @path */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->e[m->order[mid]].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->norder && !strcmp(m->e[m->order[lo]].path, path))
		return &m->e[m->order[lo]];
	return NULL;
}

void pop_free(struct pop_manifest *m)
{
	free(m->e);
	free(m->order);
	memset(m, 0, sizeof(*m));
}
