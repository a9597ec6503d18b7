/* SPDX-License-Identifier: MIT */
/*
 * fuzz_case.c - one image fuzzing case (see fuzz_case.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"
#include "fuzz_case.h"
#include "region.h"

#define NEW_BYTES 100000

const char *const fz_step_names[FZ_NSTEPS] = {
	"open", "walk", "write", "close", "fsck -y", "fsck -n", "walk after fsck",
};

/* ---- the byte source ---- */

void fz_src_init(struct fz_src *s, const uint8_t *data, size_t len, uint64_t seed)
{
	s->data = data;
	s->len = len;
	s->pos = 0;
	s->state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
}

uint64_t fz_next(struct fz_src *s)
{
	uint64_t v = 0;

	if (s->pos < s->len) {
		size_t n = s->len - s->pos < 8 ? s->len - s->pos : 8;

		memcpy(&v, s->data + s->pos, n);
		s->pos += n;
		return v;
	}
	s->state ^= s->state << 13;
	s->state ^= s->state >> 7;
	s->state ^= s->state << 17;
	return s->state;
}

uint64_t fz_below(struct fz_src *s, uint64_t n)
{
	return fz_next(s) % n;
}

/* ---- base images ---- */

static int collect(void *ctx, const struct dbg_obj *o)
{
	struct fz_base *b = ctx;

	if (b->nobjs % 1024 == 0) {
		struct dbg_obj *n = realloc(b->objs, (b->nobjs + 1024) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->objs = n;
	}
	b->objs[b->nobjs++] = *o;
	return 0;
}

/* the home ranges of every record in the journal area, committed or not */
static int journal_homes(struct fz_base *b, const struct dbg_img *im)
{
	uint64_t start = blk_to_off(im->journal_blk + 1);
	uint64_t end = blk_to_off(im->journal_blk + im->journal_nblks), pos = start;

	while (pos + sizeof(struct daxfs_jrec) <= end) {
		struct daxfs_jrec r;
		uint64_t off, len;

		memcpy(&r, b->img + pos, sizeof(r));
		off = le64_to_cpu(r.off);
		len = le32_to_cpu(r.len);
		if (!len || len > end - pos || off > b->size || len > b->size - off)
			break;
		if (b->njhome % 256 == 0) {
			uint64_t *n = realloc(b->jhome, (b->njhome + 256) * 2 * sizeof(*n));

			if (!n)
				return -ENOMEM;
			b->jhome = n;
		}
		b->jhome[2 * b->njhome] = off;
		b->jhome[2 * b->njhome + 1] = len;
		b->njhome++;
		pos += sizeof(r) + len;
	}
	return 0;
}

int fz_base_build(struct fz_base *b, const char *dir, enum pop_end end, uint64_t size)
{
	char path[512], copy[600];
	struct pmr_region *r;
	struct dbg_img im;
	struct daxfs *fs;
	int err;

	memset(b, 0, sizeof(*b));
	b->end = end;
	snprintf(path, sizeof(path), "%s/pmd-fuzz-%d-base%d", dir, (int)getpid(), (int)end);
	snprintf(copy, sizeof(copy), "%s.walk", path);
	unlink(path);
	err = pop_build(path, size, end, 0);
	if (err)
		return err;
	err = pmr_open(path, PMR_F_RDONLY, &r);
	if (err)
		goto out_unlink;
	b->size = pmr_size(r);
	b->img = malloc(b->size);
	if (!b->img) {
		pmr_close(&r);
		err = -ENOMEM;
		goto out_unlink;
	}
	memcpy(b->img, pmr_addr(r), b->size);
	pmr_close(&r);
	err = dbg_img_init(&im, b->img, b->size);
	if (!err)
		err = dbg_scan(&im, collect, b);
	if (!err)
		err = journal_homes(b, &im);
	b->inode_count = im.inode_count;
	if (err)
		goto out_unlink;
	/* the manifest: what a recovering open shows */
	err = fz_write_image(copy, b->img, b->size);
	if (!err)
		err = daxfs_open(copy, 0, &fs);
	if (!err) {
		err = pop_walk(fs, &b->m, NULL, NULL);
		daxfs_close(&fs);
		if (!err && b->m.errors)
			err = -EIO;
	}
	/* and the structures of the recovered image: what the journal and the
	 * orphan list would make of it belongs to their owners too */
	if (!err && end != POP_CLEAN && !(err = pmr_open(copy, PMR_F_RDONLY, &r))) {
		struct dbg_img rim;

		if (!dbg_img_init(&rim, pmr_addr(r), pmr_size(r)))
			err = dbg_scan(&rim, collect, b);
		pmr_close(&r);
	}
	unlink(copy);
out_unlink:
	unlink(path);
	return err;
}

void fz_base_free(struct fz_base *b)
{
	free(b->img);
	free(b->objs);
	free(b->jhome);
	pop_free(&b->m);
	memset(b, 0, sizeof(*b));
}

/* ---- damage ---- */

static void add_range(struct fz_damage *d, uint64_t off, uint64_t len)
{
	if (d->nranges < FZ_MAX_RANGES) {
		d->off[d->nranges] = off;
		d->len[d->nranges] = len;
		d->nranges++;
	}
}

/* a random object: a kind first (so that rare kinds come up), then one of it */
static const struct dbg_obj *pick(const struct fz_base *b, struct fz_src *s)
{
	unsigned kinds[DBG_NKINDS], nk = 0;
	size_t count[DBG_NKINDS] = {0};

	for (size_t k = 0; k < b->nobjs; k++)
		count[b->objs[k].kind]++;
	for (unsigned k = 0; k < DBG_NKINDS; k++)
		if (count[k])
			kinds[nk++] = k;
	unsigned kind = kinds[fz_below(s, nk)];
	size_t n = fz_below(s, count[kind]);

	for (size_t k = 0; k < b->nobjs; k++)
		if (b->objs[k].kind == kind && !n--)
			return &b->objs[k];
	return &b->objs[0];
}

enum {
	OP_FLIP,
	OP_BYTES,
	OP_RANDOM,
	OP_BOUNDARY,
	OP_ZERO,
	OP_ZERO_BLOCK,
	OP_SWAP,
	OP_FIELD_FLIP,
	OP_COUNT
};

void fz_mutate(const struct fz_base *b, uint8_t *img, struct fz_src *s, struct fz_damage *d)
{
	const struct dbg_obj *o = pick(b, s);
	unsigned op = (unsigned)fz_below(s, OP_COUNT);
	bool reseal = fz_below(s, 2);
	struct dbg_img im;
	const struct dbg_field *fl = NULL;
	size_t nf = 0;
	char name[64];
	uint64_t x;

	memset(d, 0, sizeof(*d));
	d->kind = o->kind;
	d->journal = o->kind == DBG_JHEADER || o->kind == DBG_JREC;
	d->bitmap = o->kind == DBG_BITMAP;
	dbg_img_init(&im, img, b->size);
	dbg_obj_name(o, name, sizeof(name));
	if (op == OP_BOUNDARY || op == OP_FIELD_FLIP) {
		fl = dbg_fields(&im, o, &nf);
		if (!nf)
			op = OP_FLIP;
	}
	switch (op) {
	case OP_FLIP:
		x = fz_below(s, (uint64_t)o->len * 8);
		img[o->off + x / 8] ^= (uint8_t)(1U << (x % 8));
		snprintf(d->what, sizeof(d->what), "flip bit %llu of %s", (unsigned long long)x,
			 name);
		add_range(d, o->off, o->len);
		break;
	case OP_BYTES: {
		unsigned n = 1 + (unsigned)fz_below(s, 8);

		for (unsigned k = 0; k < n; k++)
			img[o->off + fz_below(s, o->len)] = (uint8_t)fz_next(s);
		snprintf(d->what, sizeof(d->what), "%u random bytes in %s", n, name);
		add_range(d, o->off, o->len);
		break;
	}
	case OP_RANDOM:
		for (uint32_t k = 0; k < o->len; k++)
			img[o->off + k] = (uint8_t)fz_next(s);
		snprintf(d->what, sizeof(d->what), "random bytes over %s", name);
		add_range(d, o->off, o->len);
		break;
	case OP_BOUNDARY: {
		const struct dbg_field *f = &fl[fz_below(s, nf)];
		unsigned k = (unsigned)fz_below(s, DBG_NBOUNDARY);
		uint64_t v = dbg_boundary(&im, f, k);

		if (dbg_set(&im, o, f, v)) {
			/* an array field: its first byte */
			img[o->off + f->off] = (uint8_t)v;
		}
		snprintf(d->what, sizeof(d->what), "%s field %s = %llu", name, f->name,
			 (unsigned long long)v);
		add_range(d, o->off, o->len);
		break;
	}
	case OP_ZERO:
		memset(img + o->off, 0, o->len);
		snprintf(d->what, sizeof(d->what), "zero %s", name);
		add_range(d, o->off, o->len);
		break;
	case OP_ZERO_BLOCK: {
		uint64_t blk = o->off / DAXFS_BLOCK_SIZE;

		memset(img + blk * DAXFS_BLOCK_SIZE, 0, DAXFS_BLOCK_SIZE);
		snprintf(d->what, sizeof(d->what), "zero block %llu (of %s)",
			 (unsigned long long)blk, name);
		add_range(d, blk * DAXFS_BLOCK_SIZE, DAXFS_BLOCK_SIZE);
		reseal = false;
		break;
	}
	case OP_SWAP: {
		const struct dbg_obj *o2 = pick(b, s);
		uint64_t a = o->off / DAXFS_BLOCK_SIZE, c = o2->off / DAXFS_BLOCK_SIZE;
		uint8_t tmp[DAXFS_BLOCK_SIZE];

		memcpy(tmp, img + a * DAXFS_BLOCK_SIZE, DAXFS_BLOCK_SIZE);
		memcpy(img + a * DAXFS_BLOCK_SIZE, img + c * DAXFS_BLOCK_SIZE, DAXFS_BLOCK_SIZE);
		memcpy(img + c * DAXFS_BLOCK_SIZE, tmp, DAXFS_BLOCK_SIZE);
		snprintf(d->what, sizeof(d->what), "swap blocks %llu (%s) and %llu",
			 (unsigned long long)a, name, (unsigned long long)c);
		add_range(d, a * DAXFS_BLOCK_SIZE, DAXFS_BLOCK_SIZE);
		add_range(d, c * DAXFS_BLOCK_SIZE, DAXFS_BLOCK_SIZE);
		d->journal |= o2->kind == DBG_JHEADER || o2->kind == DBG_JREC;
		d->bitmap |= o2->kind == DBG_BITMAP;
		reseal = false;
		break;
	}
	default: {
		const struct dbg_field *f = &fl[fz_below(s, nf)];

		x = fz_below(s, (uint64_t)f->size * 8);
		img[o->off + f->off + x / 8] ^= (uint8_t)(1U << (x % 8));
		snprintf(d->what, sizeof(d->what), "flip bit %llu of %s field %s",
			 (unsigned long long)x, name, f->name);
		add_range(d, o->off, o->len);
		break;
	}
	}
	if (reseal) {
		uint64_t off, len;

		dbg_reseal(&im, o, &off, &len);
		if (len)
			add_range(d, off, len);
	}
	if (reseal) {
		size_t l = strlen(d->what);

		snprintf(d->what + l, sizeof(d->what) - l, " (checksum recomputed)");
	}
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void mark_range(const struct fz_base *b, uint64_t off, uint64_t len, uint8_t *out)
{
	for (size_t k = 0; k < b->nobjs; k++) {
		const struct dbg_obj *o = &b->objs[k];

		if (o->ino && o->ino <= b->inode_count && overlaps(off, len, o->off, o->len))
			out[o->ino] = 1;
	}
}

void fz_damaged(const struct fz_base *b, const struct fz_damage *d, uint8_t *out)
{
	memset(out, 0, b->inode_count + 1);
	for (unsigned k = 0; k < d->nranges; k++)
		mark_range(b, d->off[k], d->len[k], out);
	if (d->journal)
		for (size_t k = 0; k < b->njhome; k++)
			mark_range(b, b->jhome[2 * k], b->jhome[2 * k + 1], out);
}

/* ---- running a case ---- */

int fz_write_image(const char *path, const uint8_t *img, uint64_t len)
{
	static const uint8_t zero[DAXFS_BLOCK_SIZE];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len))
		err = -errno;
	for (uint64_t off = 0; !err && off < len; off += DAXFS_BLOCK_SIZE) {
		if (!memcmp(img + off, zero, DAXFS_BLOCK_SIZE))
			continue;
		if (pwrite(fd, img + off, DAXFS_BLOCK_SIZE, (off_t)off) != DAXFS_BLOCK_SIZE)
			err = errno ? -errno : -EIO;
	}
	close(fd);
	return err;
}

struct check {
	const struct fz_base *b;
	const uint8_t *damaged;
	struct fz_result *r;
	const char *when;
};

static void fail(struct fz_result *r, enum fz_fail f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct fz_result *r, enum fz_fail f, const char *fmt, ...)
{
	va_list ap;

	if (r->fail)
		return;
	r->fail = f;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* a file as the walk read it, against the base: same data unless damaged */
static void visit(void *ctx, const struct pop_entry *e)
{
	struct check *k = ctx;
	const struct pop_entry *be = pop_find(&k->b->m, e->path);

	if (!be || be->ino != e->ino || e->ino > k->b->inode_count || k->damaged[e->ino] ||
	    S_ISDIR(be->mode))
		return;
	if (be->crc != e->crc || be->size != e->size || be->mode != e->mode)
		fail(k->r, FZ_DATA, "%s: %s (inode %llu, undamaged) reads differently", k->when,
		     e->path, (unsigned long long)e->ino);
}

static void write_step(struct daxfs *fs, struct fz_result *r)
{
	static uint8_t buf[NEW_BYTES], back[NEW_BYTES];
	struct daxfs_attr a, d;
	size_t done = 0, got = 0;

	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)(k * 131 + 7);
	if (!daxfs_create(fs, 1, "fz-new", 0644, 0, 0, &a)) {
		if (!daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &done) && done &&
		    (daxfs_read(fs, a.ino, 0, done, back, &got) || got != done ||
		     memcmp(buf, back, done)))
			fail(r, FZ_WRITE, "a write of %zu bytes to a new file did not read back",
			     done);
		daxfs_setxattr(fs, a.ino, "user.fz", "v", 1, 0);
	}
	if (!daxfs_mkdir(fs, 1, "fz-dir", 0755, 0, 0, &d)) {
		daxfs_create(fs, d.ino, "f", 0644, 0, 0, NULL);
		daxfs_rename(fs, d.ino, "f", 1, "fz-moved", 0);
		daxfs_unlink(fs, 1, "fz-moved");
		daxfs_rmdir(fs, 1, "fz-dir");
	}
	daxfs_unlink(fs, 1, "fz-new");
}

static int fsck_quiet(const char *path, enum daxfs_fsck_mode mode, char *out, size_t len)
{
	FILE *f = fmemopen(out, len - 1, "w");
	struct daxfs_fsck_opts o = {.mode = mode, .out = f};
	int rc;

	memset(out, 0, len);
	if (!f)
		return DAXFS_FSCK_OPERROR;
	rc = daxfs_fsck(path, &o);
	fclose(f);
	return rc;
}

static void step(struct fz_result *r, int n, unsigned timeout)
{
	static struct timespec last;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (getenv("FZ_TIMING") && n)
		fprintf(stdout, "step %s: %.1f ms\n", fz_step_names[n - 1],
			(double)(now.tv_sec - last.tv_sec) * 1e3 +
				(double)(now.tv_nsec - last.tv_nsec) / 1e6);
	last = now;
	r->step = n;
	if (timeout)
		alarm(timeout);
}

/* the names and data of undamaged inodes after the repair */
static void survivors(const struct fz_base *b, const uint8_t *damaged, struct pop_manifest *now,
		      struct fz_result *r)
{
	uint8_t *seen = calloc(b->inode_count + 1, 1), *kept = calloc(b->inode_count + 1, 1);
	size_t ml = 0;

	if (!seen || !kept)
		goto out_free;
	for (size_t k = 0; k < b->m.n; k++) {
		const struct pop_entry *be = &b->m.e[k], *n;

		if (!strcmp(be->path, "/") || be->ino > b->inode_count || damaged[be->ino])
			continue;
		r->names++;
		n = pop_find(now, be->path);
		if (n && n->ino == be->ino && n->mode == be->mode &&
		    (S_ISDIR(be->mode) || (n->crc == be->crc && n->size == be->size))) {
			r->names_kept++;
			kept[be->ino] = 1;
		} else if (ml < sizeof(r->missed) - 1) {
			ml += (size_t)snprintf(r->missed + ml, sizeof(r->missed) - ml, "%s%s%s",
					       ml ? " " : "", be->path, n ? "(changed)" : "");
		}
		seen[be->ino] = 1;
	}
	for (uint64_t i = 1; i <= b->inode_count; i++) {
		r->total += seen[i];
		r->kept += kept[i];
	}
out_free:
	free(seen);
	free(kept);
}

enum fz_fail fz_run(const char *path, const struct fz_base *b, const uint8_t *damaged,
		    unsigned timeout, struct fz_result *r)
{
	static char out[1 << 16];
	struct check k = {b, damaged, r, "before fsck"};
	struct pop_manifest m;
	struct daxfs *fs = NULL;

	memset(r, 0, sizeof(*r));
	step(r, 0, timeout);
	/* the default errors mode, as a mount has it: changes stop at the
	 * first corruption the core detects */
	if (!daxfs_open(path, 0, &fs)) {
		step(r, 1, timeout);
		memset(&m, 0, sizeof(m));
		pop_walk(fs, &m, b ? visit : NULL, &k);
		pop_free(&m);
		step(r, 2, timeout);
		write_step(fs, r);
		step(r, 3, timeout);
		daxfs_close(&fs);
	}
	step(r, 4, timeout);
	r->rc_y = fsck_quiet(path, DAXFS_FSCK_REPAIR, out, sizeof(out));
	step(r, 5, timeout);
	r->rc_n = fsck_quiet(path, DAXFS_FSCK_CHECK, out, sizeof(out));
	if (r->rc_y & DAXFS_FSCK_OPERROR) {
		/* only an image with no usable superblock may be refused */
		if (!strstr(out, "not a daxfs") && !strstr(out, "superblock"))
			fail(r, FZ_FSCKERR, "fsck -y failed (exit %d): %.200s", r->rc_y, out);
		r->unrecoverable = true;
	} else if (r->rc_n) {
		fail(r, FZ_NOCONV, "fsck -n exits %d after fsck -y (exit %d): %.300s", r->rc_n,
		     r->rc_y, out);
	}
	step(r, 6, timeout);
	if (!r->unrecoverable) {
		memset(&m, 0, sizeof(m));
		if (!daxfs_open(path, DAXFS_O_ERRORS_CONTINUE, &fs)) {
			k.when = "after fsck -y";
			pop_walk(fs, &m, b ? visit : NULL, &k);
			daxfs_close(&fs);
			if (m.errors)
				fail(r, FZ_NOCONV, "after fsck -y, %u reads or listings fail",
				     m.errors);
			if (b)
				survivors(b, damaged, &m, r);
		} else if (!r->fail) {
			fail(r, FZ_NOCONV, "after fsck -y the filesystem does not open: %s",
			     pmd_errmsg());
		}
		pop_free(&m);
	}
	if (timeout)
		alarm(0);
	return r->fail;
}
