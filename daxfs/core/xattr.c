/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - extended attributes.
 *
 * An inode's xattr_blk is 0, a lone entry block (the version 1 format:
 * entries {namelen, flags, vlen, name, value} packed after the header), or
 * with the XATTR2 feature an index block listing up to 509 entry blocks.
 * With an index, values above XINLINE_MAX bytes live outside the entry, in
 * blocks of their own named by a struct daxfs_xvalref; so an inode holds
 * thousands of small attributes and values up to 64 KiB (the VFS limit).
 *
 * An inode keeps the lone block while its attributes fit in it (old images
 * stay readable by old code); the first change that does not fit moves it
 * under a new index block and announces XATTR2. Every change is one
 * transaction: the entry blocks it edits are journaled line by line (an
 * append touches the new entry's lines and the header), new value blocks
 * are written and persisted before the commit that points at them.
 *
 * Every block is checked when it is read (range, magic, owner, checksum,
 * entry bounds): a bad one is -EIO for the operation, never a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

#define XHDR sizeof(struct daxfs_xattrblk)
#define XROOM (BLK_SIZE - XHDR) /* bytes of entries a block holds */
#define XLONE_VMAX 3800		/* largest value a lone block takes (version 1) */
#define XINLINE_MAX 2048	/* with an index, larger values go outside */
#define XENTRY_MAX DAXFS_XENTRY_SIZE(DAXFS_XATTR_NAME_MAX, XLONE_VMAX)

/* The blocks of one inode's attributes, checked, as loaded by xl_load(). */
struct xlayout {
	uint64_t ino;
	uint64_t idx;	 /* index block, 0: a lone entry block (or none) */
	uint32_t n;	 /* entry blocks */
	bool changed;	 /* the list changed: rewrite the index */
	int64_t dblocks; /* change of the inode's block count */
	uint64_t blk[DAXFS_XIDX_MAX];
};

/* Where an entry is: block @k of the layout, @off bytes after the header. */
struct xpos {
	uint32_t k;
	uint32_t off;
	const struct daxfs_xentry *e;
};

struct xiter {
	const uint8_t *p, *start, *end;
};

static void xiter_init(struct xiter *it, const struct daxfs_xattrblk *xb)
{
	it->start = it->p = (const uint8_t *)xb + XHDR;
	it->end = it->p + le32_to_cpu(xb->used);
}

/* the next entry, or NULL at the end (the block was checked by xb_check) */
static const struct daxfs_xentry *xnext(struct xiter *it)
{
	const struct daxfs_xentry *e = (const void *)it->p;

	if (it->p + 4 > it->end)
		return NULL;
	size_t sz = DAXFS_XENTRY_SIZE(e->namelen, le16_to_cpu(e->vlen));

	if (!e->namelen || it->p + sz > it->end)
		return NULL;
	it->p += sz;
	return e;
}

static size_t xe_size(const struct daxfs_xentry *e)
{
	return DAXFS_XENTRY_SIZE(e->namelen, le16_to_cpu(e->vlen));
}

static const struct daxfs_xattrblk *xb_read(struct daxfs *fs, uint64_t blk)
{
	return tx_read(fs, blk_to_off(blk));
}

/* a check of @ino's attribute block @blk failed: -EIO (verify.c records it) */
static int xbad(struct daxfs *fs, uint64_t ino, uint64_t blk, unsigned why, const char *what)
{
	return dx_corrupt(fs, DAXFS_ERR_XATTR, why, ino, blk, "%s", what);
}

/*
 * xb_check - entry block @blk of @ino: blk_get() (range, magic, owner,
 * checksum), then every entry inside its bounds with known flags and a
 * name without NUL bytes; outside values need XATTR2 and a well-formed
 * reference.
 */
static int xb_check(struct daxfs *fs, uint64_t ino, uint64_t blk)
{
	const struct daxfs_xattrblk *xb;
	uint32_t used, count = 0;
	const uint8_t *p, *end;
	int err = blk_get(fs, blk, DAXFS_XATTR_MAGIC, ino, DAXFS_ERR_XATTR, (const void **)&xb);

	if (err)
		return err;
	used = le32_to_cpu(xb->used);
	if (used > XROOM || used % 4)
		return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "bad length");
	p = (const uint8_t *)xb + XHDR;
	end = p + used;
	while (p < end) {
		const struct daxfs_xentry *e = (const void *)p;
		size_t vl;

		if (p + 4 > end || !e->namelen)
			return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "bad entry");
		vl = le16_to_cpu(e->vlen);
		if (p + DAXFS_XENTRY_SIZE(e->namelen, vl) > end || (e->flags & ~DAXFS_XE_EXTERNAL))
			return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "bad entry");
		/* a name is written without NUL bytes (check_xname); one inside
		 * would split it in two for listxattr, neither to be found */
		if (memchr(e->data, 0, e->namelen))
			return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "NUL byte in a name");
		if (e->flags & DAXFS_XE_EXTERNAL) {
			struct daxfs_xvalref ref;

			if (!super_has_feature(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2) ||
			    vl < sizeof(ref))
				return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "bad outside value");
			memcpy(&ref, e->data + e->namelen, sizeof(ref));
			if (le32_to_cpu(ref.len) > DAXFS_XVAL_MAX ||
			    DAXFS_XVALREF_SIZE(le32_to_cpu(ref.len)) != vl)
				return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "bad outside value");
		}
		p += DAXFS_XENTRY_SIZE(e->namelen, vl);
		count++;
	}
	if (count != le32_to_cpu(xb->count))
		return xbad(fs, ino, blk, DAXFS_WHY_FIELD, "entry count mismatch");
	return 0;
}

/*
 * xl_load - read and check the attribute blocks of the in-use inode @ino
 * (under fs->lock). Returns 0, -ENOENT, -EIO.
 */
static int xl_load(struct daxfs *fs, uint64_t ino, struct xlayout *xl)
{
	const struct daxfs_dinode *di;
	uint64_t b;
	int err;

	xl->ino = ino;
	xl->idx = 0;
	xl->n = 0;
	xl->changed = false;
	xl->dblocks = 0;
	err = di_get(fs, ino, &di);
	if (err)
		return err;
	b = le64_to_cpu(di->xattr_blk);
	if (!b)
		return 0;
	if (dx_in_data(fs, b, 1) && le32_to_cpu(xb_read(fs, b)->h.magic) == DAXFS_XIDX_MAGIC) {
		const struct daxfs_xattridx *x;
		uint32_t n;

		err = blk_get(fs, b, DAXFS_XIDX_MAGIC, ino, DAXFS_ERR_XATTR, (const void **)&x);
		if (err)
			return err;
		n = le32_to_cpu(x->nblks);
		if (!super_has_feature(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2))
			return xbad(fs, ino, b, DAXFS_WHY_MAGIC,
				    "index block without the XATTR2 feature");
		if (n > DAXFS_XIDX_MAX)
			return xbad(fs, ino, b, DAXFS_WHY_RANGE, "too many entry blocks");
		xl->idx = b;
		for (uint32_t k = 0; k < n; k++) {
			xl->blk[k] = le64_to_cpu(x->blk[k]);
			if (xl->blk[k] == b)
				return xbad(fs, ino, b, DAXFS_WHY_FIELD, "index lists itself");
		}
		xl->n = n;
	} else {
		xl->blk[0] = b;
		xl->n = 1;
	}
	for (uint32_t k = 0; k < xl->n; k++) {
		err = xb_check(fs, ino, xl->blk[k]);
		if (err)
			return err;
	}
	return 0;
}

/* xl_get - a new layout with @ino's blocks loaded (xl_load); NULL on error */
static int xl_get(struct daxfs *fs, uint64_t ino, struct xlayout **out)
{
	struct xlayout *xl = malloc(sizeof(*xl));
	int err = xl ? xl_load(fs, ino, xl) : -ENOMEM;

	if (err) {
		free(xl);
		xl = NULL;
	}
	*out = xl;
	return err;
}

static int xl_find(struct daxfs *fs, const struct xlayout *xl, const char *name, size_t nl,
		   struct xpos *pos)
{
	for (uint32_t k = 0; k < xl->n; k++) {
		const struct daxfs_xattrblk *xb = xb_read(fs, xl->blk[k]);
		const struct daxfs_xentry *e;
		struct xiter it;

		xiter_init(&it, xb);
		for (const uint8_t *at = it.p; (e = xnext(&it)); at = it.p) {
			if (e->namelen == nl && !memcmp(e->data, name, nl)) {
				pos->k = k;
				pos->off = (uint32_t)(at - it.start);
				pos->e = e;
				return 0;
			}
		}
	}
	return -ENODATA;
}

static struct daxfs_xvalref *ref_load(const struct daxfs_xentry *e, void *buf)
{
	memcpy(buf, e->data + e->namelen, le16_to_cpu(e->vlen));
	return buf;
}

/* bytes of @e's value */
static size_t xe_vlen(const struct daxfs_xentry *e)
{
	struct daxfs_xvalref ref;

	if (!(e->flags & DAXFS_XE_EXTERNAL))
		return le16_to_cpu(e->vlen);
	memcpy(&ref, e->data + e->namelen, sizeof(ref));
	return le32_to_cpu(ref.len);
}

/* copy the value of @e (of inode @ino) into @buf of at least xe_vlen() bytes */
static int xe_copy_value(struct daxfs *fs, uint64_t ino, const struct daxfs_xentry *e, void *buf)
{
	_Alignas(8) uint8_t rbuf[DAXFS_XVALREF_SIZE(DAXFS_XVAL_MAX)];
	const struct daxfs_xvalref *ref;
	size_t len, nb;

	if (!(e->flags & DAXFS_XE_EXTERNAL)) {
		memcpy(buf, e->data + e->namelen, le16_to_cpu(e->vlen));
		return 0;
	}
	ref = ref_load(e, rbuf);
	len = le32_to_cpu(ref->len);
	nb = (len + BLK_SIZE - 1) / BLK_SIZE;
	for (size_t k = 0; k < nb; k++) {
		uint64_t b = le64_to_cpu(ref->blk[k]);
		size_t n = len - k * BLK_SIZE < BLK_SIZE ? len - k * BLK_SIZE : BLK_SIZE;

		if (!dx_in_data(fs, b, 1))
			return xbad(fs, ino, b, DAXFS_WHY_RANGE, "value block out of range");
		memcpy((uint8_t *)buf + k * BLK_SIZE, dx_ptr(fs, blk_to_off(b)), n);
	}
	if (daxfs_crc32c(0, buf, len) != le32_to_cpu(ref->crc))
		return dx_corrupt(fs, DAXFS_ERR_XATTR, DAXFS_WHY_CRC, ino, le64_to_cpu(ref->blk[0]),
				  "value of \"%.*s\": checksum mismatch", e->namelen, e->data);
	return 0;
}

static int check_xname(const char *name, size_t *nl)
{
	*nl = strnlen(name, DAXFS_XATTR_NAME_MAX + 1);
	if (!*nl || *nl > DAXFS_XATTR_NAME_MAX)
		return pmd_err(-ERANGE, "xattr name empty or longer than %d bytes",
			       DAXFS_XATTR_NAME_MAX);
	return 0;
}

int xattr_get(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, void *buf,
	      size_t bufsize, size_t *size)
{
	struct xlayout *xl;
	struct xpos pos;
	size_t vl;
	int err = xl_get(fs, ino, &xl);

	if (!err)
		err = xl_find(fs, xl, name, nl, &pos);
	if (err)
		goto out_free;
	vl = xe_vlen(pos.e);
	if (size)
		*size = vl;
	if (bufsize) {
		if (bufsize < vl)
			err = -ERANGE;
		else
			err = xe_copy_value(fs, ino, pos.e, buf);
	}
out_free:
	free(xl);
	return err;
}

int daxfs_getxattr(struct daxfs *fs, uint64_t ino, const char *name, void *buf, size_t bufsize,
		   size_t *size)
{
	size_t nl;
	int err = check_xname(name, &nl);

	if (err)
		return err == -ERANGE ? -ENODATA : err;
	dx_lock(fs);
	err = xattr_get(fs, ino, name, nl, buf, bufsize, size);
	dx_unlock(fs);
	return err;
}

int daxfs_listxattr(struct daxfs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *size)
{
	struct xlayout *xl;
	const struct daxfs_xentry *e;
	struct xiter it;
	size_t total = 0;
	int err;

	dx_lock(fs);
	err = xl_get(fs, ino, &xl);
	for (uint32_t k = 0; !err && k < xl->n; k++) {
		xiter_init(&it, xb_read(fs, xl->blk[k]));
		while ((e = xnext(&it))) {
			if (bufsize) {
				if (total + e->namelen + 1 > bufsize) {
					err = -ERANGE;
					break;
				}
				memcpy(buf + total, e->data, e->namelen);
				buf[total + e->namelen] = '\0';
			}
			total += e->namelen + 1u;
		}
	}
	if (size && !err)
		*size = total;
	dx_unlock(fs);
	free(xl);
	return err;
}

int xattr_walk(struct daxfs *fs, uint64_t ino, bool values, xattr_blk_fn fn, void *ctx)
{
	uint8_t *vbuf = values ? malloc(DAXFS_XVAL_MAX) : NULL;
	struct xlayout *xl = NULL;
	int err = values && !vbuf ? -ENOMEM : xl_get(fs, ino, &xl);

	if (!err && xl->idx)
		err = fn(ctx, xl->idx, XATTR_BLK_INDEX);
	for (uint32_t k = 0; !err && k < xl->n; k++) {
		const struct daxfs_xentry *e;
		struct xiter it;

		err = fn(ctx, xl->blk[k], XATTR_BLK_ENTRY);
		xiter_init(&it, xb_read(fs, xl->blk[k]));
		while (!err && (e = xnext(&it))) {
			_Alignas(8) uint8_t rbuf[DAXFS_XVALREF_SIZE(DAXFS_XVAL_MAX)];
			const struct daxfs_xvalref *ref;
			size_t nb;

			if (!(e->flags & DAXFS_XE_EXTERNAL))
				continue;
			if (values) {
				err = xe_copy_value(fs, ino, e, vbuf);
				if (err)
					break;
			}
			ref = ref_load(e, rbuf);
			nb = (le32_to_cpu(ref->len) + BLK_SIZE - 1) / BLK_SIZE;
			for (size_t j = 0; !err && j < nb; j++) {
				uint64_t b = le64_to_cpu(ref->blk[j]);

				err = dx_in_data(fs, b, 1) ? fn(ctx, b, XATTR_BLK_VALUE)
							   : xbad(fs, ino, b, DAXFS_WHY_RANGE,
								  "value block out of range");
			}
		}
	}
	free(vbuf);
	free(xl);
	return err;
}

/* ---- changes (under fs->lock, in the running transaction) ---- */

/* give back the blocks of @e's outside value, if it has one */
static void xe_free_value(struct daxfs *fs, struct xlayout *xl, const struct daxfs_xentry *e)
{
	_Alignas(8) uint8_t rbuf[DAXFS_XVALREF_SIZE(DAXFS_XVAL_MAX)];
	const struct daxfs_xvalref *ref;
	size_t nb;

	if (!(e->flags & DAXFS_XE_EXTERNAL))
		return;
	ref = ref_load(e, rbuf);
	nb = (le32_to_cpu(ref->len) + BLK_SIZE - 1) / BLK_SIZE;
	for (size_t k = 0; k < nb; k++) {
		uint64_t b = le64_to_cpu(ref->blk[k]);

		if (dx_in_data(fs, b, 1)) {
			tx_free(fs, b, 1);
			xl->dblocks--;
		}
	}
}

/* remove the entry at @pos from its block, compacting the ones after it */
static void xb_remove(struct daxfs *fs, struct xlayout *xl, const struct xpos *pos)
{
	uint64_t blk = xl->blk[pos->k];
	const struct daxfs_xattrblk *ro = xb_read(fs, blk);
	uint32_t used = le32_to_cpu(ro->used), sz = (uint32_t)xe_size(pos->e);
	struct daxfs_xattrblk *h;
	uint8_t *p;

	xe_free_value(fs, xl, pos->e);
	p = tx_write(fs, blk_to_off(blk) + XHDR + pos->off, used - pos->off);
	memmove(p, p + sz, used - pos->off - sz);
	memset(p + used - pos->off - sz, 0, sz);
	h = tx_write(fs, blk_to_off(blk), XHDR);
	h->used = cpu_to_le32(used - sz);
	h->count = cpu_to_le32(le32_to_cpu(h->count) - 1);
	tx_seal(fs, blk);
}

static uint32_t xb_used(struct daxfs *fs, uint64_t blk)
{
	return le32_to_cpu(xb_read(fs, blk)->used);
}

/* append the @sz bytes of entry @e to block @blk (which has room) */
static void xb_append(struct daxfs *fs, uint64_t blk, const void *e, uint32_t sz)
{
	uint32_t used = xb_used(fs, blk);
	struct daxfs_xattrblk *h;

	memcpy(tx_write(fs, blk_to_off(blk) + XHDR + used, sz), e, sz);
	h = tx_write(fs, blk_to_off(blk), XHDR);
	h->used = cpu_to_le32(used + sz);
	h->count = cpu_to_le32(le32_to_cpu(h->count) + 1);
	tx_seal(fs, blk);
}

/* a new, empty entry block appended to the layout */
static int xl_new_blk(struct daxfs *fs, struct xlayout *xl)
{
	struct daxfs_xattrblk *h;
	struct dx_range r;
	int err;

	if (xl->n == DAXFS_XIDX_MAX)
		return pmd_err(-ENOSPC, "inode %llu: no room for more extended attributes",
			       (unsigned long long)xl->ino);
	err = alloc_blocks(fs, 1, false, xl->n ? xl->blk[xl->n - 1] + 1 : 0, &r);
	if (err)
		return err;
	h = tx_new_blk(fs, r.pblk, true);
	h->h.magic = cpu_to_le32(DAXFS_XATTR_MAGIC);
	h->h.ino = cpu_to_le64(xl->ino);
	xl->blk[xl->n++] = r.pblk;
	xl->dblocks++;
	xl->changed = true;
	return 0;
}

/* move a lone block (or nothing) under a new index block: XATTR2 */
static int xl_make_index(struct daxfs *fs, struct xlayout *xl)
{
	struct dx_range r;
	int err = alloc_blocks(fs, 1, false, 0, &r);

	if (err)
		return err;
	tx_new_blk(fs, r.pblk, true);
	xl->idx = r.pblk;
	xl->dblocks++;
	xl->changed = true;
	super_feature_on(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2);
	return 0;
}

/*
 * xe_build - the entry for @name = @value in @buf (XENTRY_MAX bytes); with
 * @outside the value goes to new blocks (written and persisted here) and
 * the entry holds their reference. Returns the entry's size or -errno.
 */
static int xe_build(struct daxfs *fs, struct xlayout *xl, const char *name, size_t nl,
		    const void *value, size_t vl, bool outside, uint8_t *buf)
{
	struct daxfs_xentry *e = (void *)buf;
	size_t rl = outside ? DAXFS_XVALREF_SIZE(vl) : vl;

	memset(buf, 0, DAXFS_XENTRY_SIZE(nl, rl));
	e->namelen = (uint8_t)nl;
	e->vlen = cpu_to_le16((uint16_t)rl);
	memcpy(e->data, name, nl);
	if (!outside) {
		memcpy(e->data + nl, value, vl);
		return (int)DAXFS_XENTRY_SIZE(nl, rl);
	}
	_Alignas(8) uint8_t rbuf[DAXFS_XVALREF_SIZE(DAXFS_XVAL_MAX)];
	struct daxfs_xvalref *r = (void *)rbuf;
	size_t nb = (vl + BLK_SIZE - 1) / BLK_SIZE;
	uint64_t goal = 0;

	e->flags = DAXFS_XE_EXTERNAL;
	r->len = cpu_to_le32((uint32_t)vl);
	r->crc = cpu_to_le32(daxfs_crc32c(0, value, vl));
	for (size_t k = 0; k < nb; k++) {
		struct dx_range got;
		size_t n = vl - k * BLK_SIZE < BLK_SIZE ? vl - k * BLK_SIZE : BLK_SIZE;
		uint8_t *dst;
		int err = alloc_blocks(fs, 1, false, goal, &got);

		if (err)
			return err; /* the caller aborts: the blocks go back */
		goal = got.pblk + 1;
		r->blk[k] = cpu_to_le64(got.pblk);
		xl->dblocks++;
		/* a new block: store it directly, visible only after the commit */
		dst = dx_ptr(fs, blk_to_off(got.pblk));
		pmr_memcpy(fs->r, dst, (const uint8_t *)value + k * BLK_SIZE, n, PMR_MEM_NODRAIN);
		if (n < BLK_SIZE)
			pmr_memset(fs->r, dst + n, 0, BLK_SIZE - n, PMR_MEM_NODRAIN);
	}
	pmr_drain(fs->r);
	memcpy(e->data + nl, rbuf, rl); /* e->data + nl may be unaligned */
	return (int)DAXFS_XENTRY_SIZE(nl, rl);
}

/* after the edits: drop empty entry blocks, write the index and the inode */
static void xl_finish(struct daxfs *fs, struct xlayout *xl)
{
	uint32_t k = 0;

	while (k < xl->n) {
		if (le32_to_cpu(xb_read(fs, xl->blk[k])->count)) {
			k++;
			continue;
		}
		tx_free(fs, xl->blk[k], 1);
		xl->dblocks--;
		memmove(&xl->blk[k], &xl->blk[k + 1], (xl->n - k - 1) * sizeof(xl->blk[0]));
		xl->n--;
		xl->changed = true;
	}
	if (xl->idx && !xl->n) {
		tx_free(fs, xl->idx, 1);
		xl->dblocks--;
		xl->idx = 0;
	} else if (xl->idx && xl->changed) {
		struct daxfs_xattridx *x = tx_write_blk(fs, xl->idx, true);

		memset(x, 0, BLK_SIZE);
		x->h.magic = cpu_to_le32(DAXFS_XIDX_MAGIC);
		x->h.ino = cpu_to_le64(xl->ino);
		x->nblks = cpu_to_le32(xl->n);
		for (uint32_t j = 0; j < xl->n; j++)
			x->blk[j] = cpu_to_le64(xl->blk[j]);
	}
	uint64_t head = xl->idx ? xl->idx : xl->n ? xl->blk[0] : 0;
	const struct daxfs_dinode *rd = di_read(fs, xl->ino);

	if (le64_to_cpu(rd->xattr_blk) != head || xl->dblocks) {
		struct daxfs_dinode *di = di_write(fs, xl->ino);

		di->xattr_blk = cpu_to_le64(head);
		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)xl->dblocks);
	}
}

/* put the entry for @name = @value into the layout */
static int xl_add(struct daxfs *fs, struct xlayout *xl, const char *name, size_t nl,
		  const void *value, size_t vl)
{
	uint8_t buf[XENTRY_MAX];
	int sz;
	int err;

	if (!xl->idx) {
		uint32_t lone = DAXFS_XENTRY_SIZE(nl, vl);

		if (vl <= XLONE_VMAX && (!xl->n || xb_used(fs, xl->blk[0]) + lone <= XROOM)) {
			if (!xl->n) {
				err = xl_new_blk(fs, xl);
				if (err)
					return err;
			}
			sz = xe_build(fs, xl, name, nl, value, vl, false, buf);
			xb_append(fs, xl->blk[0], buf, (uint32_t)sz);
			return 0;
		}
		err = xl_make_index(fs, xl);
		if (err)
			return err;
	}
	sz = xe_build(fs, xl, name, nl, value, vl, vl > XINLINE_MAX, buf);
	if (sz < 0)
		return sz;
	for (uint32_t k = 0; k < xl->n; k++) {
		if (xb_used(fs, xl->blk[k]) + (uint32_t)sz <= XROOM) {
			xb_append(fs, xl->blk[k], buf, (uint32_t)sz);
			return 0;
		}
	}
	err = xl_new_blk(fs, xl);
	if (err)
		return err;
	xb_append(fs, xl->blk[xl->n - 1], buf, (uint32_t)sz);
	return 0;
}

/*
 * xattr_set - set @name to @vl bytes of @value, or remove it (@value NULL),
 * in the running transaction, under fs->lock. @flags: DAXFS_XATTR_CREATE
 * fails with -EEXIST if @name is set, DAXFS_XATTR_REPLACE (and a removal)
 * with -ENODATA if it is not. Does not touch ctime. Returns 0, -ENOENT,
 * -EEXIST, -ENODATA, -ENOSPC, -EIO (bad blocks): the caller aborts then.
 */
int xattr_set(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
	      size_t vl, int flags)
{
	struct xlayout *xl;
	struct xpos pos;
	bool exists;
	int err = xl_get(fs, ino, &xl);

	if (err)
		return err;
	exists = xl_find(fs, xl, name, nl, &pos) == 0;
	if (exists && (flags & DAXFS_XATTR_CREATE)) {
		err = -EEXIST;
		goto out_free;
	}
	if (!exists && ((flags & DAXFS_XATTR_REPLACE) || !value)) {
		err = -ENODATA;
		goto out_free;
	}
	if (exists)
		xb_remove(fs, xl, &pos);
	if (value)
		err = xl_add(fs, xl, name, nl, value, vl);
	if (!err)
		xl_finish(fs, xl);
out_free:
	free(xl);
	return err;
}

/* can @ino's attributes be changed? (the immutable and append-only flags) */
static int xattr_writable(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dinode *di;
	int err = di_get(fs, ino, &di);

	if (err)
		return err;
	if (le32_to_cpu(di->flags) & (DAXFS_IF_IMMUTABLE | DAXFS_IF_APPEND))
		return pmd_err(-EPERM, "inode %llu is immutable or append-only",
			       (unsigned long long)ino);
	return 0;
}

/* set (or remove, @value NULL) @name on @ino in one transaction */
static int xchange(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
		   size_t vl, int flags)
{
	int err;

	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	tx_begin(fs);
	err = xattr_writable(fs, ino);
	if (!err)
		err = acl_xattr_set(fs, ino, name, nl, value, vl, flags);
	if (err == -ENOSYS) /* not an ACL */
		err = xattr_set(fs, ino, name, nl, value, vl, flags & ~DAXFS_XATTR_ACL_KILL_SGID);
	if (!err) {
		di_touch(fs, di_write(fs, ino), TOUCH_C);
		err = tx_commit(fs);
	} else {
		tx_abort(fs);
	}
	dx_unlock(fs);
	return err;
}

int daxfs_setxattr(struct daxfs *fs, uint64_t ino, const char *name, const void *value, size_t size,
		   int flags)
{
	size_t nl;
	int err = check_xname(name, &nl);

	if (err)
		return err;
	if (size > DAXFS_XATTR_SIZE_MAX)
		return pmd_err(-E2BIG, "xattr value of %zu bytes is over the limit of %u", size,
			       DAXFS_XATTR_SIZE_MAX);
	if (flags & ~(DAXFS_XATTR_CREATE | DAXFS_XATTR_REPLACE | DAXFS_XATTR_ACL_KILL_SGID))
		return -EINVAL;
	return xchange(fs, ino, name, nl, value ? value : "", size, flags);
}

int daxfs_removexattr(struct daxfs *fs, uint64_t ino, const char *name)
{
	size_t nl;
	int err = check_xname(name, &nl);

	if (err)
		return err == -ERANGE ? -ENODATA : err;
	return xchange(fs, ino, name, nl, NULL, 0, DAXFS_XATTR_REPLACE);
}

/*
 * xattr_free - free every attribute block of @di (inode @ino) in the
 * running transaction. Blocks of a structure that fails its checks are
 * left alone (fsck reclaims them): freeing through a bad pointer could
 * free another file's blocks.
 */
int xattr_free(struct daxfs *fs, uint64_t ino)
{
	struct xlayout *xl;
	int err = xl_get(fs, ino, &xl);

	if (err)
		return err == -EIO ? 0 : err; /* a bad structure: leaked, not freed */
	for (uint32_t k = 0; k < xl->n; k++) {
		const struct daxfs_xentry *e;
		struct xiter it;

		xiter_init(&it, xb_read(fs, xl->blk[k]));
		while ((e = xnext(&it)))
			xe_free_value(fs, xl, e);
		tx_free(fs, xl->blk[k], 1);
		xl->dblocks--;
	}
	if (xl->idx) {
		tx_free(fs, xl->idx, 1);
		xl->dblocks--;
	}
	struct daxfs_dinode *di = di_write(fs, ino);

	di->xattr_blk = 0;
	di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)xl->dblocks);
	free(xl);
	return 0;
}
