/* SPDX-License-Identifier: MIT */
/*
 * fsck_test.h - what the fsck behaviour tests share: a populated image
 * (tests/daxfs/fuzz/populate.h) and its manifest, fresh copies of it,
 * damage by structure name (daxfs/tools/dbg.h), fsck runs with their
 * report captured, and the check that names and contents survived.
 */
#ifndef PMD_TESTS_FSCK_TEST_H
#define PMD_TESTS_FSCK_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "dbg.h"
#include "errmsg.h"
#include "populate.h"
#include "region.h"
#include "test.h"

struct ft {
	char base[512]; /* the populated image, never changed */
	char img[512];	/* the copy a case damages */
	struct pop_manifest m;
	char out[1 << 16]; /* the report of the last ft_fsck() */
};

static struct ft *ft_cur;

static void ft_cleanup(void)
{
	if (ft_cur) {
		unlink(ft_cur->base);
		unlink(ft_cur->img);
	}
}

static inline void ft_copy(const char *from, const char *to)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", from, to);
	CHECK_EQ(system(cmd), 0);
}

/* ft_manifest - the manifest of @path, through an open that recovers it
 * (on a copy, so @path is left as it is) */
static inline void ft_manifest(struct ft *t, const char *path, struct pop_manifest *m)
{
	char tmp[600];
	struct daxfs *fs;
	int err;

	snprintf(tmp, sizeof(tmp), "%s.walk", t->img);
	ft_copy(path, tmp);
	err = daxfs_open(tmp, 0, &fs);
	if (err) {
		fprintf(stderr, "open %s: %s\n", path, pmd_strerror(err));
		exit(1);
	}
	memset(m, 0, sizeof(*m));
	CHECK_OK(pop_walk(fs, m, NULL, NULL));
	CHECK_OK(daxfs_close(&fs));
	unlink(tmp);
}

/* the image size: the small profile of populate.h (quick, every structure) */
#define FT_IMAGE_BYTES (12U << 20)

/* ft_init - build the populated image ending as @end (format @version, 0 =
 * current) and take its manifest */
static inline void ft_init(struct ft *t, const char *tag, enum pop_end end, unsigned version)
{
	char name[64];

	memset(t, 0, sizeof(*t));
	snprintf(name, sizeof(name), "%s-base", tag);
	test_path(t->base, sizeof(t->base), name);
	snprintf(name, sizeof(name), "%s-img", tag);
	test_path(t->img, sizeof(t->img), name);
	unlink(t->base);
	ft_cur = t;
	atexit(ft_cleanup);
	CHECK_OK(pop_build(t->base, FT_IMAGE_BYTES, end, version));
	ft_manifest(t, t->base, &t->m);
	CHECK_EQ(t->m.errors, 0);
}

static inline void ft_fresh(struct ft *t)
{
	ft_copy(t->base, t->img);
}

/* ---- finding structures ---- */

struct ft_nth {
	enum dbg_kind kind;
	uint64_t ino;
	unsigned n;
	struct dbg_obj o;
	bool found;
};

static int ft_nth_cb(void *ctx, const struct dbg_obj *o)
{
	struct ft_nth *w = ctx;

	if (o->kind != w->kind || (w->ino && o->ino != w->ino))
		return 0;
	if (w->n--)
		return 0;
	w->o = *o;
	w->found = true;
	return 1;
}

/*
 * ft_nth - the @n-th structure of @kind owned by inode @ino (0: any) in
 * the base image; its id string goes to @id (as daxfs-debug names it)
 */
static inline struct dbg_obj ft_nth(struct ft *t, const char *kind, uint64_t ino, unsigned n,
				    char *id, size_t idlen)
{
	struct pmr_region *r;
	struct dbg_img im;
	struct ft_nth w = {.ino = ino, .n = n};

	CHECK_OK(dbg_kind_parse(kind, &w.kind));
	CHECK_OK(pmr_open(t->base, PMR_F_RDONLY, &r));
	CHECK_OK(dbg_img_init(&im, pmr_addr(r), pmr_size(r)));
	dbg_scan(&im, ft_nth_cb, &w);
	pmr_close(&r);
	if (!w.found) {
		fprintf(stderr, "the image has no %s #%u of inode %llu\n", kind, n,
			(unsigned long long)ino);
		exit(1);
	}
	dbg_obj_id(&w.o, id, idlen);
	return w.o;
}

/* ft_ino - inode of @path in the base manifest */
static inline uint64_t ft_ino(const struct ft *t, const char *path)
{
	const struct pop_entry *e = pop_find(&t->m, path);

	if (!e) {
		fprintf(stderr, "no %s in the manifest\n", path);
		exit(1);
	}
	return e->ino;
}

/* ---- damage ---- */

enum ft_op { FT_FLIP, FT_SET, FT_RAND, FT_ZERO };

/*
 * ft_damage - on the current copy: @op on the structure @kind @id (field
 * @field, or the whole structure when NULL): flip bit @arg, set to @arg,
 * @arg random bytes (seeded), or zero it. @reseal recomputes the checksum.
 * Returns the damaged object.
 */
static inline struct dbg_obj ft_damage(struct ft *t, const char *kind, const char *id,
				       const char *field, enum ft_op op, uint64_t arg, bool reseal)
{
	struct pmr_region *r;
	struct dbg_img im;
	struct dbg_obj o;
	enum dbg_kind k;
	const struct dbg_field *f = NULL;
	uint64_t off, len;

	CHECK_OK(pmr_open(t->img, 0, &r));
	CHECK_OK(dbg_img_init(&im, pmr_addr(r), pmr_size(r)));
	CHECK_OK(dbg_kind_parse(kind, &k));
	if (dbg_find(&im, k, id, &o)) {
		fprintf(stderr, "no %s %s in the image\n", kind, id);
		exit(1);
	}
	off = o.off;
	len = o.len;
	if (field) {
		f = dbg_field(&im, &o, field);
		CHECK(f);
		off += f->off;
		len = f->size;
	}
	switch (op) {
	case FT_FLIP:
		CHECK(arg < len * 8);
		im.base[off + arg / 8] ^= (uint8_t)(1U << (arg % 8));
		break;
	case FT_SET:
		CHECK(f);
		CHECK_OK(dbg_set(&im, &o, f, arg));
		break;
	case FT_RAND: {
		uint64_t s = arg * 0x9E3779B97F4A7C15ULL + 7;

		for (uint64_t b = 0; b < len; b++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			im.base[off + b] = (uint8_t)s;
		}
		break;
	}
	case FT_ZERO:
		memset(im.base + off, 0, len);
		break;
	}
	if (reseal)
		dbg_reseal(&im, &o, NULL, NULL);
	pmr_persist(r, pmr_addr(r), pmr_size(r));
	pmr_close(&r);
	return o;
}

/* ---- fsck ---- */

/* ft_fsck - fsck the copy in @mode; the report lands in t->out */
static inline int ft_fsck(struct ft *t, enum daxfs_fsck_mode mode)
{
	FILE *f = fmemopen(t->out, sizeof(t->out) - 1, "w");
	struct daxfs_fsck_opts o = {.mode = mode, .out = f, .verbose = true};
	int rc;

	CHECK(f);
	rc = daxfs_fsck(t->img, &o);
	fclose(f);
	return rc;
}

static inline bool ft_said(const struct ft *t, const char *what)
{
	return strstr(t->out, what) != NULL;
}

#define FT_EXPECT(t, mode, rc_want)                                                              \
	do {                                                                                     \
		int _rc = ft_fsck(t, mode);                                                      \
		if (_rc != (rc_want)) {                                                          \
			fprintf(stderr, "%s:%d: fsck mode %d exited %d, expected %d:\n%s",       \
				__FILE__, __LINE__, (int)(mode), _rc, (int)(rc_want), (t)->out); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define FT_SAID(t, what, yes)                                                                   \
	do {                                                                                    \
		if (ft_said(t, what) != (yes)) {                                                \
			fprintf(stderr, "%s:%d: the report %s \"%s\":\n%s", __FILE__, __LINE__, \
				(yes) ? "lacks" : "has", what, (t)->out);                       \
			exit(1);                                                                \
		}                                                                               \
	} while (0)

/* ---- survivors ---- */

/*
 * ft_missing - walk the repaired copy and count the entries of the base
 * manifest whose inode is not in @damaged (0-terminated, may be NULL)
 * that are missing: not at their path, or with another inode or content.
 * Each is printed. A second name of a hard-linked file may go when its
 * directory was lost (one name per inode is recorded): that counts only if
 * no name of the file is left. Fails if the walk itself met errors.
 */
static inline unsigned ft_missing(struct ft *t, const uint64_t *damaged)
{
	struct pop_manifest now;
	unsigned missing = 0;

	ft_manifest(t, t->img, &now);
	CHECK_EQ(now.errors, 0);
	for (size_t k = 0; k < t->m.n; k++) {
		const struct pop_entry *e = &t->m.e[k], *n;
		bool skip = false;

		for (const uint64_t *d = damaged; d && *d; d++)
			skip |= *d == e->ino;
		if (skip || !strcmp(e->path, "/"))
			continue;
		n = pop_find(&now, e->path);
		if (!n && e->nlink > 1 && !S_ISDIR(e->mode)) {
			for (size_t j = 0; j < now.n && !n; j++)
				if (now.e[j].ino == e->ino)
					n = &now.e[j];
			if (n)
				fprintf(stderr, "hard link %s lost; the file is at %s\n", e->path,
					n->path);
		}
		if (!n || n->ino != e->ino || n->mode != e->mode ||
		    (!S_ISDIR(e->mode) && (n->crc != e->crc || n->size != e->size))) {
			fprintf(stderr, "missing after repair: %s (inode %llu)%s\n", e->path,
				(unsigned long long)e->ino, n ? ": changed" : "");
			missing++;
		}
	}
	pop_free(&now);
	return missing;
}

/* ft_same_tree - the repaired copy holds exactly the base tree (every
 * directory with the same names, so no lost+found either) */
static inline void ft_same_tree(struct ft *t)
{
	struct pop_manifest now;

	CHECK_EQ(ft_missing(t, NULL), 0);
	ft_manifest(t, t->img, &now);
	for (size_t k = 0; k < t->m.n; k++) {
		const struct pop_entry *n = pop_find(&now, t->m.e[k].path);

		if (S_ISDIR(t->m.e[k].mode) && (!n || n->crc != t->m.e[k].crc)) {
			fprintf(stderr, "directory %s lists other names after repair\n",
				t->m.e[k].path);
			exit(1);
		}
	}
	CHECK_EQ(now.n, t->m.n);
	pop_free(&now);
}

/* ft_summary_inodes - N of the summary line "IMG: N/M inodes, ..." */
static inline unsigned long ft_summary_inodes(const struct ft *t)
{
	size_t len = strlen(t->img);

	for (const char *p = t->out; (p = strstr(p, t->img)); p += len) {
		unsigned long used, total;

		if ((p == t->out || p[-1] == '\n') &&
		    sscanf(p + len, ": %lu/%lu inodes,", &used, &total) == 2)
			return used;
	}
	fprintf(stderr, "no summary in the report:\n%s", t->out);
	exit(1);
}

#endif
