/* SPDX-License-Identifier: MIT */
/*
 * dbg.c - structure-aware reading and damaging of a daxfs image (see dbg.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "dbg.h"

#define FLD(type, member, name)                                           \
	{                                                                 \
		name, offsetof(type, member), sizeof(((type *)0)->member) \
	}

static const char *const kind_names[DBG_NKINDS] = {
	[DBG_SB] = "sb",	   [DBG_BACKUP] = "backup", [DBG_JHEADER] = "jheader",
	[DBG_JREC] = "jrec",	   [DBG_BITMAP] = "bitmap", [DBG_INODE] = "inode",
	[DBG_IEXT] = "iext",	   [DBG_EXTENT] = "extent", [DBG_EXTBLK] = "extblk",
	[DBG_DATA] = "data",	   [DBG_DNODE] = "dnode",   [DBG_DINDEX] = "dindex",
	[DBG_DENTRY] = "dentry",   [DBG_XATTR] = "xattr",   [DBG_XENTRY] = "xentry",
	[DBG_SYMLINK] = "symlink", [DBG_BLOCK] = "block",
};

const char *dbg_kind_name(enum dbg_kind k)
{
	return k < DBG_NKINDS ? kind_names[k] : "?";
}

int dbg_kind_parse(const char *name, enum dbg_kind *k)
{
	for (int i = 0; i < DBG_NKINDS; i++) {
		if (!strcmp(name, kind_names[i])) {
			*k = (enum dbg_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- geometry ---- */

static bool sb_sane(const struct daxfs_dsuper *sb, uint64_t size)
{
	uint64_t tb = le64_to_cpu(sb->total_blocks), jb = le64_to_cpu(sb->journal_blk);
	uint64_t jn = le64_to_cpu(sb->journal_nblks), ib = le64_to_cpu(sb->itable_blk);
	uint64_t in = le64_to_cpu(sb->itable_nblks), bb = le64_to_cpu(sb->bitmap_blk);
	uint64_t bn = le64_to_cpu(sb->bitmap_nblks), db = le64_to_cpu(sb->data_blk);

	return le64_to_cpu(sb->magic) == DAXFS_MAGIC && tb && tb <= size / BLK_SIZE && jb >= 2 &&
	       jn >= 2 && jn < tb && ib == jb + jn && in < tb && bb == ib + in && bn < tb &&
	       db >= bb + bn && db < tb &&
	       le64_to_cpu(sb->inode_count) == in * DAXFS_INODES_PER_BLOCK;
}

static void load_geometry(struct dbg_img *im, const struct daxfs_dsuper *sb)
{
	im->sb = *sb;
	im->total_blocks = le64_to_cpu(sb->total_blocks);
	im->journal_blk = le64_to_cpu(sb->journal_blk);
	im->journal_nblks = le64_to_cpu(sb->journal_nblks);
	im->itable_blk = le64_to_cpu(sb->itable_blk);
	im->inode_count = le64_to_cpu(sb->inode_count);
	im->bitmap_blk = le64_to_cpu(sb->bitmap_blk);
	im->bitmap_nblks = le64_to_cpu(sb->bitmap_nblks);
	im->data_blk = le64_to_cpu(sb->data_blk);
	if (le32_to_cpu(sb->feat_incompat) & DAXFS_FEAT_INCOMPAT_IEXT) {
		im->iext_blk = le64_to_cpu(sb->iext_blk);
		im->iext_nblks = le64_to_cpu(sb->iext_nblks);
		if (im->iext_blk >= im->total_blocks ||
		    im->iext_nblks > im->total_blocks - im->iext_blk ||
		    im->iext_nblks * DAXFS_IEXT_PER_BLOCK < im->inode_count)
			im->iext_blk = im->iext_nblks = 0;
	}
}

int dbg_img_init(struct dbg_img *im, void *base, uint64_t size)
{
	struct daxfs_dsuper sb;

	memset(im, 0, sizeof(*im));
	im->base = base;
	im->size = size;
	if (size < 2 * BLK_SIZE)
		return -EINVAL;
	memcpy(&sb, base, sizeof(sb));
	if (sb_sane(&sb, size)) {
		load_geometry(im, &sb);
		return 0;
	}
	memcpy(&sb, (uint8_t *)base + BLK_SIZE, sizeof(sb));
	if (!sb_sane(&sb, size))
		return -EINVAL;
	load_geometry(im, &sb);
	im->from_backup = true;
	return 0;
}

static bool blk_ok(const struct dbg_img *im, uint64_t blk)
{
	return blk && blk < im->total_blocks;
}

static void *at(const struct dbg_img *im, uint64_t off)
{
	return im->base + off;
}

static const struct daxfs_dinode *inode_at(const struct dbg_img *im, uint64_t ino)
{
	return at(im, blk_to_off(im->itable_blk) + (ino - 1) * DAXFS_INODE_SIZE);
}

/* ---- the scan ---- */

struct scan {
	const struct dbg_img *im;
	dbg_obj_fn fn;
	void *ctx;
	uint64_t budget; /* nodes left to visit: a corrupt tree may loop */
};

static int emit(struct scan *s, enum dbg_kind k, uint64_t id, uint32_t sub, uint64_t off,
		uint64_t len, uint64_t ino)
{
	struct dbg_obj o = {k, id, sub, off, (uint32_t)len, ino};

	if (off > s->im->size || len > s->im->size - off)
		return 0;
	return s->fn(s->ctx, &o);
}

static int scan_journal(struct scan *s)
{
	const struct dbg_img *im = s->im;
	uint64_t joff = blk_to_off(im->journal_blk);
	const struct daxfs_jheader *h = at(im, joff);
	uint64_t cap = blk_to_off(im->journal_nblks - 1), len = le64_to_cpu(h->len), pos = 0;
	int err = emit(s, DBG_JHEADER, 0, 0, joff, sizeof(*h), 0);

	if (err || le64_to_cpu(h->magic) != DAXFS_JNL_MAGIC)
		return err;
	if (len > cap)
		len = cap;
	for (uint32_t k = 0; pos + sizeof(struct daxfs_jrec) <= len; k++) {
		const struct daxfs_jrec *r = at(im, joff + BLK_SIZE + pos);
		uint64_t rl = le32_to_cpu(r->len);

		if (rl > len - pos - sizeof(*r))
			break;
		err = emit(s, DBG_JREC, k, 0, joff + BLK_SIZE + pos, sizeof(*r) + rl, 0);
		if (err)
			return err;
		pos += sizeof(*r) + rl;
	}
	return 0;
}

static int scan_file(struct scan *s, uint64_t ino, const struct daxfs_dinode *di)
{
	const struct dbg_img *im = s->im;
	uint32_t n = le32_to_cpu(di->file.nextents), k = 0;
	uint64_t blk = le64_to_cpu(di->file.ext_next);
	uint64_t dioff = (const uint8_t *)di - im->base;
	int err;

	for (; k < n && k < DAXFS_INLINE_EXTENTS; k++) {
		const struct daxfs_dextent *e = &di->file.ext[k];

		err = emit(s, DBG_EXTENT, ino, k,
			   dioff + offsetof(struct daxfs_dinode, file.ext[k]), sizeof(*e), ino);
		if (!err && blk_ok(im, le64_to_cpu(e->pblk)) && le32_to_cpu(e->len) &&
		    le32_to_cpu(e->len) <= im->total_blocks - le64_to_cpu(e->pblk))
			err = emit(s, DBG_DATA, ino, k, blk_to_off(le64_to_cpu(e->pblk)),
				   blk_to_off(le32_to_cpu(e->len)), ino);
		if (err)
			return err;
	}
	while (k < n && blk_ok(im, blk) && s->budget) {
		const struct daxfs_extblk *eb = at(im, blk_to_off(blk));
		uint32_t c = le32_to_cpu(eb->count);

		s->budget--;
		err = emit(s, DBG_EXTBLK, blk, 0, blk_to_off(blk), BLK_SIZE, ino);
		if (err)
			return err;
		if (c > DAXFS_EXTBLK_MAX)
			c = DAXFS_EXTBLK_MAX;
		for (uint32_t j = 0; j < c && k < n; j++, k++) {
			const struct daxfs_dextent *e = &eb->ext[j];

			err = emit(s, DBG_EXTENT, ino, k,
				   blk_to_off(blk) + offsetof(struct daxfs_extblk, ext) + 16 * j,
				   sizeof(*e), ino);
			if (!err && blk_ok(im, le64_to_cpu(e->pblk)) && le32_to_cpu(e->len) &&
			    le32_to_cpu(e->len) <= im->total_blocks - le64_to_cpu(e->pblk))
				err = emit(s, DBG_DATA, ino, k, blk_to_off(le64_to_cpu(e->pblk)),
					   blk_to_off(le32_to_cpu(e->len)), ino);
			if (err)
				return err;
		}
		blk = le64_to_cpu(eb->next);
	}
	return 0;
}

static uint16_t slot_at(const uint8_t *b, unsigned i)
{
	le16 v;

	memcpy(&v, b + sizeof(struct daxfs_dnode) + 2 * i, 2);
	return le16_to_cpu(v);
}

/* dentry_len - bytes of the leaf entry at @so of block @b, 0 if out of bounds */
static unsigned dentry_len(const uint8_t *b, unsigned so)
{
	if (so < sizeof(struct daxfs_dnode) || so + DBG_DENTRY_HDR > BLK_SIZE)
		return 0;
	unsigned n = DAXFS_DENTRY_SIZE(b[so + DBG_DENTRY_NAMELEN]);

	return so + n <= BLK_SIZE ? n : 0;
}

static int scan_dnode(struct scan *s, uint64_t ino, uint64_t blk, int depth)
{
	const struct dbg_img *im = s->im;
	const uint8_t *b;
	const struct daxfs_dnode *n;
	unsigned ns;
	int err;

	if (!blk_ok(im, blk) || depth > MAX_TREE_HEIGHT || !s->budget)
		return 0;
	s->budget--;
	b = at(im, blk_to_off(blk));
	n = (const void *)b;
	ns = le16_to_cpu(n->nslots);
	if (ns > (BLK_SIZE - sizeof(*n)) / 2)
		ns = (BLK_SIZE - sizeof(*n)) / 2;
	if (le16_to_cpu(n->level)) {
		if (ns > DAXFS_DINDEX_MAX)
			ns = DAXFS_DINDEX_MAX;
		err = emit(s, DBG_DNODE, blk, 0, blk_to_off(blk), sizeof(*n), ino);
		for (unsigned i = 0; i < ns && !err; i++)
			err = emit(s, DBG_DINDEX, blk, i, blk_to_off(blk) + sizeof(*n) + 16 * i, 16,
				   ino);
		for (unsigned i = 0; i < ns && !err; i++) {
			const struct daxfs_dindex *x = (const void *)(b + sizeof(*n) + 16 * i);

			err = scan_dnode(s, ino, le64_to_cpu(x->child), depth + 1);
		}
		return err;
	}
	err = emit(s, DBG_DNODE, blk, 0, blk_to_off(blk), sizeof(*n) + 2 * ns, ino);
	for (unsigned i = 0; i < ns && !err; i++) {
		unsigned so = slot_at(b, i), len = dentry_len(b, so);

		if (len)
			err = emit(s, DBG_DENTRY, blk, i, blk_to_off(blk) + so, len, ino);
	}
	return err;
}

static int scan_xattr(struct scan *s, uint64_t ino, uint64_t blk)
{
	const struct dbg_img *im = s->im;
	const struct daxfs_xattrblk *xb = at(im, blk_to_off(blk));
	uint64_t pos = sizeof(*xb), end = sizeof(*xb) + le32_to_cpu(xb->used);
	int err = emit(s, DBG_XATTR, blk, 0, blk_to_off(blk), sizeof(*xb), ino);

	if (end > BLK_SIZE)
		end = BLK_SIZE;
	for (uint32_t k = 0; !err && pos + 4 <= end; k++) {
		const struct daxfs_xentry *e = at(im, blk_to_off(blk) + pos);
		uint64_t sz = DAXFS_XENTRY_SIZE(e->namelen, le16_to_cpu(e->vlen));

		if (!e->namelen || pos + sz > end)
			break;
		err = emit(s, DBG_XENTRY, blk, k, blk_to_off(blk) + pos, sz, ino);
		pos += sz;
	}
	return err;
}

static int scan_inode(struct scan *s, uint64_t ino)
{
	const struct dbg_img *im = s->im;
	const struct daxfs_dinode *di = inode_at(im, ino);
	uint32_t mode = le32_to_cpu(di->mode);
	uint64_t dioff = (const uint8_t *)di - im->base, xb = le64_to_cpu(di->xattr_blk);
	int err;

	if (!mode)
		return 0;
	err = emit(s, DBG_INODE, ino, 0, dioff, DAXFS_INODE_SIZE, ino);
	if (!err && im->iext_nblks)
		err = emit(s, DBG_IEXT, ino, 0,
			   blk_to_off(im->iext_blk + (ino - 1) / DAXFS_IEXT_PER_BLOCK) +
				   (ino - 1) % DAXFS_IEXT_PER_BLOCK * DAXFS_IEXT_SIZE,
			   DAXFS_IEXT_SIZE, ino);
	if (err)
		return err;
	switch (mode & S_IFMT) {
	case S_IFREG:
		err = scan_file(s, ino, di);
		break;
	case S_IFDIR:
		err = scan_dnode(s, ino, le64_to_cpu(di->dir.root), 1);
		break;
	case S_IFLNK: {
		uint64_t b = le64_to_cpu(di->symlink.blk);
		uint32_t len = le32_to_cpu(di->symlink.len);

		if (blk_ok(im, b) && len && len <= BLK_SIZE)
			err = emit(s, DBG_SYMLINK, ino, 0, blk_to_off(b), len, ino);
		break;
	}
	default:
		break;
	}
	if (!err && blk_ok(im, xb))
		err = scan_xattr(s, ino, xb);
	return err;
}

int dbg_scan(const struct dbg_img *im, dbg_obj_fn fn, void *ctx)
{
	struct scan s = {im, fn, ctx, im->total_blocks};
	int err;

	err = emit(&s, DBG_SB, 0, 0, 0, DAXFS_SUPER_SIZE, 0);
	if (!err)
		err = emit(&s, DBG_BACKUP, 0, 0, BLK_SIZE, DAXFS_SUPER_SIZE, 0);
	if (!err)
		err = scan_journal(&s);
	for (uint64_t k = 0; !err && k < im->bitmap_nblks; k++)
		err = emit(&s, DBG_BITMAP, k, 0, blk_to_off(im->bitmap_blk + k), BLK_SIZE, 0);
	for (uint64_t ino = 1; !err && ino <= im->inode_count; ino++)
		err = scan_inode(&s, ino);
	return err;
}

/* ---- finding one object ---- */

struct want {
	enum dbg_kind kind;
	uint64_t id;
	uint32_t sub;
	struct dbg_obj found;
	bool ok;
};

static int want_cb(void *ctx, const struct dbg_obj *o)
{
	struct want *w = ctx;

	if (o->kind != w->kind || o->id != w->id || o->sub != w->sub)
		return 0;
	w->found = *o;
	w->ok = true;
	return 1;
}

/* entry @name of directory @dir by a raw scan of its leaves, or 0 */
static uint64_t raw_lookup(const struct dbg_img *im, uint64_t dir, const char *name, size_t len)
{
	const struct daxfs_dinode *di = inode_at(im, dir);
	struct {
		uint64_t blk[64];
		unsigned n;
	} stack = {{0}, 0};

	if (!S_ISDIR(le32_to_cpu(di->mode)))
		return 0;
	stack.blk[stack.n++] = le64_to_cpu(di->dir.root);
	for (uint64_t budget = im->total_blocks; stack.n && budget; budget--) {
		uint64_t blk = stack.blk[--stack.n];
		const uint8_t *b;
		const struct daxfs_dnode *n;
		unsigned ns;

		if (!blk_ok(im, blk))
			continue;
		b = at(im, blk_to_off(blk));
		n = (const void *)b;
		ns = le16_to_cpu(n->nslots);
		if (ns > (BLK_SIZE - sizeof(*n)) / 2)
			ns = (BLK_SIZE - sizeof(*n)) / 2;
		if (le16_to_cpu(n->level)) {
			for (unsigned i = 0; i < ns && i < DAXFS_DINDEX_MAX && stack.n < 64; i++) {
				const struct daxfs_dindex *x =
					(const void *)(b + sizeof(*n) + 16 * i);

				stack.blk[stack.n++] = le64_to_cpu(x->child);
			}
			continue;
		}
		for (unsigned i = 0; i < ns; i++) {
			unsigned so = slot_at(b, i);
			le64 ino;

			if (dentry_len(b, so) && b[so + DBG_DENTRY_NAMELEN] == len &&
			    !memcmp(b + so + DBG_DENTRY_HDR, name, len)) {
				memcpy(&ino, b + so + offsetof(struct daxfs_dentry, ino), 8);
				return le64_to_cpu(ino);
			}
		}
	}
	return 0;
}

uint64_t dbg_lookup_path(const struct dbg_img *im, const char *path)
{
	uint64_t ino = DAXFS_ROOT_INO;

	if (*path != '/')
		return 0;
	while (*path) {
		while (*path == '/')
			path++;
		size_t len = strcspn(path, "/");

		if (!len)
			break;
		ino = raw_lookup(im, ino, path, len);
		if (!ino || ino > im->inode_count)
			return 0;
		path += len;
	}
	return ino;
}

/* parse_id - "N", "N.K", "N:K", "/PATH" or "/PATH:K"; -EINVAL, -ENOENT (no such path) */
static int parse_id(const struct dbg_img *im, const char *s, uint64_t *id, uint32_t *sub)
{
	char *end;
	char buf[4096];

	*sub = 0;
	if (*s == '/') {
		const char *colon = strrchr(s, ':');
		size_t n = colon ? (size_t)(colon - s) : strlen(s);

		if (n >= sizeof(buf))
			return -EINVAL;
		if (colon) {
			unsigned long k = strtoul(colon + 1, &end, 0);

			if (*end || end == colon + 1)
				return -EINVAL;
			*sub = (uint32_t)k;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		*id = dbg_lookup_path(im, buf);
		return *id ? 0 : -ENOENT;
	}
	*id = strtoull(s, &end, 0);
	if (end == s)
		return -EINVAL;
	if (*end == '.' || *end == ':') {
		const char *k = end + 1;

		*sub = (uint32_t)strtoul(k, &end, 0);
		if (end == k)
			return -EINVAL;
	}
	return *end ? -EINVAL : 0;
}

int dbg_find(const struct dbg_img *im, enum dbg_kind kind, const char *id, struct dbg_obj *out)
{
	struct want w = {.kind = kind};
	int err;

	switch (kind) {
	case DBG_SB:
	case DBG_BACKUP:
	case DBG_JHEADER:
		if (id && *id)
			return -EINVAL;
		break;
	case DBG_BLOCK:
		err = id ? parse_id(im, id, &w.id, &w.sub) : -EINVAL;
		if (err || w.sub)
			return err ? err : -EINVAL;
		if (w.id >= im->total_blocks || blk_to_off(w.id) + BLK_SIZE > im->size)
			return -ENOENT;
		*out = (struct dbg_obj){DBG_BLOCK, w.id, 0, blk_to_off(w.id), BLK_SIZE, 0};
		return 0;
	default:
		err = id ? parse_id(im, id, &w.id, &w.sub) : -EINVAL;
		if (err)
			return err;
		break;
	}
	dbg_scan(im, want_cb, &w);
	if (!w.ok)
		return -ENOENT;
	*out = w.found;
	return 0;
}

/* ---- fields ---- */

static const struct dbg_field sb_fields[] = {
	FLD(struct daxfs_dsuper, magic, "magic"),
	FLD(struct daxfs_dsuper, version, "version"),
	FLD(struct daxfs_dsuper, crc, "crc"),
	FLD(struct daxfs_dsuper, feat_compat, "feat_compat"),
	FLD(struct daxfs_dsuper, feat_incompat, "feat_incompat"),
	FLD(struct daxfs_dsuper, feat_ro_compat, "feat_ro_compat"),
	FLD(struct daxfs_dsuper, block_size, "block_size"),
	FLD(struct daxfs_dsuper, uuid, "uuid"),
	FLD(struct daxfs_dsuper, label, "label"),
	FLD(struct daxfs_dsuper, region_size, "region_size"),
	FLD(struct daxfs_dsuper, total_blocks, "total_blocks"),
	FLD(struct daxfs_dsuper, journal_blk, "journal_blk"),
	FLD(struct daxfs_dsuper, journal_nblks, "journal_nblks"),
	FLD(struct daxfs_dsuper, itable_blk, "itable_blk"),
	FLD(struct daxfs_dsuper, itable_nblks, "itable_nblks"),
	FLD(struct daxfs_dsuper, inode_count, "inode_count"),
	FLD(struct daxfs_dsuper, bitmap_blk, "bitmap_blk"),
	FLD(struct daxfs_dsuper, bitmap_nblks, "bitmap_nblks"),
	FLD(struct daxfs_dsuper, data_blk, "data_blk"),
	FLD(struct daxfs_dsuper, root_ino, "root_ino"),
	FLD(struct daxfs_dsuper, orphan_head, "orphan_head"),
	FLD(struct daxfs_dsuper, hash_seed, "hash_seed"),
	FLD(struct daxfs_dsuper, mkfs_time, "mkfs_time"),
	FLD(struct daxfs_dsuper, mount_count, "mount_count"),
	FLD(struct daxfs_dsuper, mount_time, "mount_time"),
	FLD(struct daxfs_dsuper, state, "state"),
	FLD(struct daxfs_dsuper, flags, "flags"),
	FLD(struct daxfs_dsuper, iext_blk, "iext_blk"),
	FLD(struct daxfs_dsuper, iext_nblks, "iext_nblks"),
};

static const struct dbg_field jh_fields[] = {
	FLD(struct daxfs_jheader, magic, "magic"),
	FLD(struct daxfs_jheader, seq, "seq"),
	FLD(struct daxfs_jheader, state, "state"),
	FLD(struct daxfs_jheader, nrec, "nrec"),
	FLD(struct daxfs_jheader, len, "len"),
	FLD(struct daxfs_jheader, crc_records, "crc_records"),
	FLD(struct daxfs_jheader, crc, "crc"),
};

static const struct dbg_field jrec_fields[] = {
	FLD(struct daxfs_jrec, off, "off"),
	FLD(struct daxfs_jrec, len, "len"),
	FLD(struct daxfs_jrec, pad, "pad"),
};

#define INODE_COMMON                                                                              \
	FLD(struct daxfs_dinode, mode, "mode"), FLD(struct daxfs_dinode, nlink, "nlink"),         \
		FLD(struct daxfs_dinode, uid, "uid"), FLD(struct daxfs_dinode, gid, "gid"),       \
		FLD(struct daxfs_dinode, flags, "flags"), FLD(struct daxfs_dinode, crc, "crc"),   \
		FLD(struct daxfs_dinode, generation, "generation"),                               \
		FLD(struct daxfs_dinode, size, "size"),                                           \
		FLD(struct daxfs_dinode, blocks, "blocks"),                                       \
		FLD(struct daxfs_dinode, rdev, "rdev"), FLD(struct daxfs_dinode, atime, "atime"), \
		FLD(struct daxfs_dinode, mtime, "mtime"),                                         \
		FLD(struct daxfs_dinode, ctime, "ctime"),                                         \
		FLD(struct daxfs_dinode, btime, "btime"),                                         \
		FLD(struct daxfs_dinode, parent, "parent"),                                       \
		FLD(struct daxfs_dinode, orphan_next, "orphan_next"),                             \
		FLD(struct daxfs_dinode, xattr_blk, "xattr_blk")

static const struct dbg_field inode_file_fields[] = {
	INODE_COMMON,
	FLD(struct daxfs_dinode, file.ext_next, "ext_next"),
	FLD(struct daxfs_dinode, file.nextents, "nextents"),
	FLD(struct daxfs_dinode, reserved, "reserved"),
};

static const struct dbg_field inode_dir_fields[] = {
	INODE_COMMON,
	FLD(struct daxfs_dinode, dir.root, "root"),
	FLD(struct daxfs_dinode, dir.nentries, "nentries"),
	FLD(struct daxfs_dinode, dir.nblocks, "nblocks"),
	FLD(struct daxfs_dinode, dir.height, "height"),
	FLD(struct daxfs_dinode, reserved, "reserved"),
};

static const struct dbg_field inode_symlink_fields[] = {
	INODE_COMMON,
	FLD(struct daxfs_dinode, symlink.blk, "target_blk"),
	FLD(struct daxfs_dinode, symlink.len, "target_len"),
	FLD(struct daxfs_dinode, symlink.crc, "target_crc"),
	FLD(struct daxfs_dinode, reserved, "reserved"),
};

static const struct dbg_field inode_other_fields[] = {
	INODE_COMMON,
	FLD(struct daxfs_dinode, u_raw, "union"),
	FLD(struct daxfs_dinode, reserved, "reserved"),
};

static const struct dbg_field iext_fields[] = {
	FLD(struct daxfs_iext, parent, "parent"),   FLD(struct daxfs_iext, crc, "crc"),
	FLD(struct daxfs_iext, namelen, "namelen"), FLD(struct daxfs_iext, flags, "flags"),
	FLD(struct daxfs_iext, name, "name"),
};

static const struct dbg_field extent_fields[] = {
	FLD(struct daxfs_dextent, lblk, "lblk"),
	FLD(struct daxfs_dextent, len, "len"),
	FLD(struct daxfs_dextent, pblk, "pblk"),
};

#define BLKHDR(type) FLD(type, h.magic, "magic"), FLD(type, h.crc, "crc"), FLD(type, h.ino, "ino")

static const struct dbg_field extblk_fields[] = {
	BLKHDR(struct daxfs_extblk),
	FLD(struct daxfs_extblk, next, "next"),
	FLD(struct daxfs_extblk, count, "count"),
};

static const struct dbg_field dnode_fields[] = {
	BLKHDR(struct daxfs_dnode),
	FLD(struct daxfs_dnode, level, "level"),
	FLD(struct daxfs_dnode, nslots, "nslots"),
	FLD(struct daxfs_dnode, heap_start, "heap_start"),
	FLD(struct daxfs_dnode, frag, "frag"),
};

static const struct dbg_field dindex_fields[] = {
	FLD(struct daxfs_dindex, key, "key"),
	FLD(struct daxfs_dindex, child, "child"),
};

static const struct dbg_field dentry_fields[] = {
	FLD(struct daxfs_dentry, key, "key"),
	FLD(struct daxfs_dentry, ino, "ino"),
	FLD(struct daxfs_dentry, type, "type"),
	FLD(struct daxfs_dentry, namelen, "namelen"),
};

static const struct dbg_field xattr_fields[] = {
	BLKHDR(struct daxfs_xattrblk),
	FLD(struct daxfs_xattrblk, used, "used"),
	FLD(struct daxfs_xattrblk, count, "count"),
};

static const struct dbg_field xentry_fields[] = {
	FLD(struct daxfs_xentry, namelen, "namelen"),
	FLD(struct daxfs_xentry, vlen, "vlen"),
};

#define TABLE(t)                               \
	do {                                   \
		*n = sizeof(t) / sizeof(t[0]); \
		return t;                      \
	} while (0)

const struct dbg_field *dbg_fields(const struct dbg_img *im, const struct dbg_obj *o, size_t *n)
{
	switch (o->kind) {
	case DBG_SB:
	case DBG_BACKUP:
		TABLE(sb_fields);
	case DBG_JHEADER:
		TABLE(jh_fields);
	case DBG_JREC:
		TABLE(jrec_fields);
	case DBG_INODE: {
		uint32_t mode = le32_to_cpu(((const struct daxfs_dinode *)at(im, o->off))->mode);

		if (S_ISREG(mode))
			TABLE(inode_file_fields);
		if (S_ISDIR(mode))
			TABLE(inode_dir_fields);
		if (S_ISLNK(mode))
			TABLE(inode_symlink_fields);
		TABLE(inode_other_fields);
	}
	case DBG_IEXT:
		TABLE(iext_fields);
	case DBG_EXTENT:
		TABLE(extent_fields);
	case DBG_EXTBLK:
		TABLE(extblk_fields);
	case DBG_DNODE:
		TABLE(dnode_fields);
	case DBG_DINDEX:
		TABLE(dindex_fields);
	case DBG_DENTRY:
		TABLE(dentry_fields);
	case DBG_XATTR:
		TABLE(xattr_fields);
	case DBG_XENTRY:
		TABLE(xentry_fields);
	default:
		*n = 0;
		return NULL;
	}
}

const struct dbg_field *dbg_field(const struct dbg_img *im, const struct dbg_obj *o,
				  const char *name)
{
	size_t n;
	const struct dbg_field *f = dbg_fields(im, o, &n);

	for (size_t k = 0; k < n; k++)
		if (!strcmp(f[k].name, name))
			return &f[k];
	return NULL;
}

static bool is_int(const struct dbg_field *f)
{
	return f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8;
}

static uint64_t width_max(const struct dbg_field *f)
{
	return f->size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * f->size)) - 1;
}

int dbg_get(const struct dbg_img *im, const struct dbg_obj *o, const struct dbg_field *f,
	    uint64_t *v)
{
	uint64_t x = 0;

	if (!is_int(f))
		return -EINVAL;
	if (f->off + f->size > o->len)
		return -ENOENT;
	memcpy(&x, at(im, o->off + f->off), f->size); /* little-endian host */
	*v = le64_to_cpu(x);
	return 0;
}

int dbg_set(const struct dbg_img *im, const struct dbg_obj *o, const struct dbg_field *f,
	    uint64_t v)
{
	le64 x = cpu_to_le64(v);

	if (!is_int(f))
		return -EINVAL;
	if (v > width_max(f))
		return -ERANGE;
	if (f->off + f->size > o->len)
		return -ENOENT;
	memcpy(at(im, o->off + f->off), &x, f->size);
	return 0;
}

/* the first value out of range for @f, if the field names a block or inode */
static uint64_t out_of_range(const struct dbg_img *im, const struct dbg_field *f)
{
	static const char *const blocks[] = {
		"pblk",	     "ext_next",     "next",	    "root",	  "child",
		"xattr_blk", "target_blk",   "journal_blk", "itable_blk", "bitmap_blk",
		"data_blk",  "total_blocks", NULL};
	static const char *const inodes[] = {
		"ino", "parent", "orphan_next", "orphan_head", "root_ino", "inode_count", NULL};

	for (int k = 0; blocks[k]; k++)
		if (!strcmp(f->name, blocks[k]))
			return im->total_blocks;
	for (int k = 0; inodes[k]; k++)
		if (!strcmp(f->name, inodes[k]))
			return im->inode_count + 1;
	if (!strcmp(f->name, "nslots") || !strcmp(f->name, "heap_start") ||
	    !strcmp(f->name, "used") || !strcmp(f->name, "len") || !strcmp(f->name, "count"))
		return BLK_SIZE + 1;
	return width_max(f);
}

uint64_t dbg_boundary(const struct dbg_img *im, const struct dbg_field *f, unsigned k)
{
	uint64_t oor = out_of_range(im, f) & width_max(f);

	switch (k % DBG_NBOUNDARY) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return width_max(f);
	case 3:
		return UINT64_C(1) << (8 * (f->size > 8 ? 8 : f->size) - 1);
	case 4:
		return oor;
	default:
		return oor ? oor - 1 : 0;
	}
}

int dbg_parse_value(const struct dbg_img *im, const struct dbg_field *f, uint64_t cur,
		    const char *s, uint64_t *v)
{
	char *end;
	uint64_t x;

	if (!strcmp(s, "max")) {
		*v = width_max(f);
		return 0;
	}
	if (!strcmp(s, "out")) {
		*v = out_of_range(im, f) & width_max(f);
		return 0;
	}
	if (*s == '+' || *s == '-') {
		x = strtoull(s + 1, &end, 0);
		if (end == s + 1 || *end)
			return -EINVAL;
		*v = (*s == '+' ? cur + x : cur - x) & width_max(f);
		return 0;
	}
	errno = 0;
	x = strtoull(s, &end, 0);
	if (end == s || *end || errno)
		return -EINVAL;
	*v = x;
	return 0;
}

/* ---- checksums ---- */

static void seal_inode(const struct dbg_img *im, uint64_t ino, uint64_t *off, uint64_t *len)
{
	struct daxfs_dinode *di = (void *)inode_at(im, ino);
	di->crc = cpu_to_le32(di_csum(icsum_seeded(icsum_of(&im->sb), ino), ino, di));
	*off = (uint8_t *)di - im->base;
	*len = sizeof(*di);
}

static void seal_block(const struct dbg_img *im, uint64_t blk, uint64_t *off, uint64_t *len)
{
	struct daxfs_blkhdr *h = at(im, blk_to_off(blk));

	h->crc = cpu_to_le32(daxfs_csum(h, BLK_SIZE, offsetof(struct daxfs_blkhdr, crc)));
	*off = blk_to_off(blk);
	*len = BLK_SIZE;
}

static void seal_jheader(const struct dbg_img *im, uint64_t *off, uint64_t *len)
{
	struct daxfs_jheader *h = at(im, blk_to_off(im->journal_blk));
	uint64_t cap = blk_to_off(im->journal_nblks - 1), rl = le64_to_cpu(h->len);

	if (rl <= cap)
		h->crc_records =
			cpu_to_le32(daxfs_crc32c(0, at(im, blk_to_off(im->journal_blk + 1)), rl));
	h->crc = cpu_to_le32(daxfs_csum(h, sizeof(*h), offsetof(struct daxfs_jheader, crc)));
	*off = blk_to_off(im->journal_blk);
	*len = sizeof(*h);
}

void dbg_reseal(const struct dbg_img *im, const struct dbg_obj *o, uint64_t *offp, uint64_t *lenp)
{
	uint64_t off = o->off, len = 0;

	switch (o->kind) {
	case DBG_SB:
	case DBG_BACKUP: {
		struct daxfs_dsuper *sb = at(im, o->off);

		sb->crc = cpu_to_le32(
			daxfs_csum(sb, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc)));
		len = DAXFS_SUPER_SIZE;
		break;
	}
	case DBG_JHEADER:
	case DBG_JREC:
		seal_jheader(im, &off, &len);
		break;
	case DBG_INODE:
		seal_inode(im, o->id, &off, &len);
		break;
	case DBG_EXTENT:
		if (o->sub < DAXFS_INLINE_EXTENTS)
			seal_inode(im, o->id, &off, &len);
		else
			seal_block(im, off_to_blk(o->off), &off, &len);
		break;
	case DBG_EXTBLK:
	case DBG_DNODE:
	case DBG_DINDEX:
	case DBG_DENTRY:
	case DBG_XATTR:
	case DBG_XENTRY:
		seal_block(im, off_to_blk(o->off), &off, &len);
		break;
	case DBG_IEXT: {
		struct daxfs_iext *x = at(im, o->off);

		x->crc = cpu_to_le32(iext_csum(o->id, x));
		len = sizeof(*x);
		break;
	}
	case DBG_SYMLINK: {
		struct daxfs_dinode *di = (void *)inode_at(im, o->id);

		di->symlink.crc = cpu_to_le32(daxfs_crc32c(0, at(im, o->off), o->len));
		seal_inode(im, o->id, &off, &len);
		break;
	}
	default:
		break;
	}
	if (offp)
		*offp = off;
	if (lenp)
		*lenp = len;
}

/* ---- printing ---- */

bool dbg_kind_has_id(enum dbg_kind k)
{
	return k != DBG_SB && k != DBG_BACKUP && k != DBG_JHEADER;
}

static bool kind_has_sub(enum dbg_kind k)
{
	return k == DBG_EXTENT || k == DBG_DATA || k == DBG_DINDEX || k == DBG_DENTRY ||
	       k == DBG_XENTRY;
}

const char *dbg_obj_id(const struct dbg_obj *o, char *buf, size_t len)
{
	if (!dbg_kind_has_id(o->kind))
		snprintf(buf, len, "-");
	else if (kind_has_sub(o->kind))
		snprintf(buf, len, "%" PRIu64 ".%u", o->id, o->sub);
	else
		snprintf(buf, len, "%" PRIu64, o->id);
	return buf;
}

const char *dbg_obj_name(const struct dbg_obj *o, char *buf, size_t len)
{
	char id[48];

	if (dbg_kind_has_id(o->kind))
		snprintf(buf, len, "%s %s", dbg_kind_name(o->kind), dbg_obj_id(o, id, sizeof(id)));
	else
		snprintf(buf, len, "%s", dbg_kind_name(o->kind));
	return buf;
}

static void print_bytes(FILE *f, const uint8_t *p, size_t n)
{
	bool text = true;

	for (size_t k = 0; k < n; k++)
		if (p[k] && (p[k] < 0x20 || p[k] >= 0x7f))
			text = false;
	if (text) {
		fputc('"', f);
		for (size_t k = 0; k < n && p[k]; k++)
			fputc(p[k], f);
		fputc('"', f);
		return;
	}
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%02x", p[k]);
}

void dbg_print(FILE *f, const struct dbg_img *im, const struct dbg_obj *o)
{
	char name[64];
	size_t n;
	const struct dbg_field *fl = dbg_fields(im, o, &n);

	fprintf(f, "%s: offset %" PRIu64 " (block %" PRIu64 " + %" PRIu64 "), %u bytes",
		dbg_obj_name(o, name, sizeof(name)), o->off, off_to_blk(o->off),
		o->off & (BLK_SIZE - 1), o->len);
	if (o->ino)
		fprintf(f, ", inode %" PRIu64, o->ino);
	fputc('\n', f);
	for (size_t k = 0; k < n; k++) {
		uint64_t v;

		if (fl[k].off + fl[k].size > o->len)
			continue;
		fprintf(f, "  %-14s = ", fl[k].name);
		if (!dbg_get(im, o, &fl[k], &v)) {
			fprintf(f, "%" PRIu64, v);
			if (fl[k].size >= 4 && v > 9)
				fprintf(f, " (0x%" PRIx64 ")", v);
		} else {
			bool zero = true;
			const uint8_t *p = at(im, o->off + fl[k].off);

			for (size_t j = 0; j < fl[k].size; j++)
				zero &= !p[j];
			if (zero)
				fprintf(f, "(zero)");
			else
				print_bytes(f, p, fl[k].size);
		}
		fputc('\n', f);
	}
	if (o->kind == DBG_DENTRY) {
		const uint8_t *e = at(im, o->off);
		unsigned nl = e[DBG_DENTRY_NAMELEN];

		fprintf(f, "  %-14s = ", "name");
		print_bytes(f, e + DBG_DENTRY_HDR,
			    nl < o->len - DBG_DENTRY_HDR ? nl : o->len - DBG_DENTRY_HDR);
		fputc('\n', f);
	}
	if (o->kind == DBG_XENTRY) {
		const struct daxfs_xentry *e = at(im, o->off);

		fprintf(f, "  %-14s = ", "name");
		print_bytes(f, (const uint8_t *)e->data,
			    e->namelen < o->len - sizeof(*e) ? e->namelen : o->len - sizeof(*e));
		fputc('\n', f);
	}
}
