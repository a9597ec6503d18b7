/* SPDX-License-Identifier: MIT */
/*
 * xattr.c - extended attributes: one 4 KiB block per inode, entries
 * {namelen, vlen, name, value} packed after the header. Every change
 * rewrites the block inside a transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "errmsg.h"

#define XHDR sizeof(struct daxfs_xattrblk)

struct xiter {
	const uint8_t *p, *end;
};

/* xiter_init - iterate over the entries of the (checked) block @xb */
static void xiter_init(struct xiter *it, const struct daxfs_xattrblk *xb)
{
	it->p = (const uint8_t *)xb + XHDR;
	it->end = it->p + le32_to_cpu(xb->used);
}

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

/* xblk_get - the xattr block of @ino (NULL if none), checked (verify.c) */
static int xblk_get(struct daxfs *fs, uint64_t ino, const struct daxfs_xattrblk **out)
{
	const struct daxfs_dinode *di;
	uint64_t blk;
	int err = di_get(fs, ino, &di);

	*out = NULL;
	if (err)
		return err;
	blk = le64_to_cpu(di->xattr_blk);
	if (!blk)
		return 0;
	err = blk_get(fs, blk, DAXFS_XATTR_MAGIC, ino, DAXFS_ERR_XATTR, (const void **)out);
	if (!err && le32_to_cpu((*out)->used) > BLK_SIZE - XHDR)
		err = dx_corrupt(fs, DAXFS_ERR_XATTR, DAXFS_WHY_FIELD, ino, blk, "%u bytes used",
				 le32_to_cpu((*out)->used));
	if (err)
		*out = NULL;
	return err;
}

static const struct daxfs_xentry *xfind(const struct daxfs_xattrblk *xb, const char *name,
					size_t nl)
{
	struct xiter it;
	const struct daxfs_xentry *e;

	if (!xb)
		return NULL;
	xiter_init(&it, xb);
	while ((e = xnext(&it)))
		if (e->namelen == nl && !memcmp(e->data, name, nl))
			return e;
	return NULL;
}

static int check_xname(const char *name, size_t *nl)
{
	*nl = strnlen(name, DAXFS_XATTR_NAME_MAX + 1);
	if (!*nl || *nl > DAXFS_XATTR_NAME_MAX)
		return pmd_err(-ERANGE, "xattr name empty or longer than %d bytes",
			       DAXFS_XATTR_NAME_MAX);
	return 0;
}

int daxfs_getxattr(struct daxfs *fs, uint64_t ino, const char *name, void *buf, size_t bufsize,
		   size_t *size)
{
	const struct daxfs_xattrblk *xb;
	const struct daxfs_xentry *e;
	size_t nl;
	int err = check_xname(name, &nl);

	if (err)
		return err == -ERANGE ? -ENODATA : err;
	dx_lock(fs);
	err = xblk_get(fs, ino, &xb);
	if (err)
		goto out_unlock;
	e = xfind(xb, name, nl);
	if (!e) {
		err = -ENODATA;
		goto out_unlock;
	}
	size_t vl = le16_to_cpu(e->vlen);

	if (size)
		*size = vl;
	if (bufsize) {
		if (bufsize < vl)
			err = -ERANGE;
		else
			memcpy(buf, e->data + e->namelen, vl);
	}
out_unlock:
	dx_unlock(fs);
	return err;
}

int daxfs_listxattr(struct daxfs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *size)
{
	const struct daxfs_xattrblk *xb;
	const struct daxfs_xentry *e;
	struct xiter it;
	size_t total = 0;
	int err;

	dx_lock(fs);
	err = xblk_get(fs, ino, &xb);
	if (err || !xb)
		goto out_done;
	xiter_init(&it, xb);
	while ((e = xnext(&it))) {
		if (bufsize) {
			if (total + e->namelen + 1 > bufsize) {
				err = -ERANGE;
				goto out_done;
			}
			memcpy(buf + total, e->data, e->namelen);
			buf[total + e->namelen] = '\0';
		}
		total += e->namelen + 1u;
	}
out_done:
	if (size && !err)
		*size = total;
	dx_unlock(fs);
	return err;
}

/* rewrite the attributes of @ino without @name, plus @name=@value if @value */
static int xrewrite(struct daxfs *fs, uint64_t ino, const struct daxfs_xattrblk *xb,
		    const char *name, size_t nl, const void *value, size_t vl)
{
	uint8_t *tmp = calloc(1, BLK_SIZE);
	size_t used = 0;
	uint32_t count = 0;
	const struct daxfs_xentry *e;
	struct xiter it;
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	if (xb) {
		xiter_init(&it, xb);
		while ((e = xnext(&it))) {
			size_t sz = DAXFS_XENTRY_SIZE(e->namelen, le16_to_cpu(e->vlen));

			if (e->namelen == nl && !memcmp(e->data, name, nl))
				continue;
			memcpy(tmp + XHDR + used, e, sz);
			used += sz;
			count++;
		}
	}
	if (value) {
		size_t sz = DAXFS_XENTRY_SIZE(nl, vl);
		struct daxfs_xentry *n = (void *)(tmp + XHDR + used);

		if (XHDR + used + sz > BLK_SIZE || used + sz > DAXFS_XATTR_SIZE_MAX + 4 * 64) {
			err = pmd_err(-ENOSPC, "no room for xattr \"%s\" in inode %llu", name,
				      (unsigned long long)ino);
			goto out_free;
		}
		n->namelen = (uint8_t)nl;
		n->vlen = cpu_to_le16((uint16_t)vl);
		memcpy(n->data, name, nl);
		memcpy(n->data + nl, value, vl);
		used += sz;
		count++;
	}
	const struct daxfs_dinode *rd = di_read(fs, ino);
	uint64_t blk = le64_to_cpu(rd->xattr_blk);

	if (!count) {
		if (blk)
			xattr_free(fs, di_write(fs, ino));
		goto out_free;
	}
	uint8_t *b;

	if (!blk) {
		struct dx_range r;
		struct daxfs_dinode *di;

		err = alloc_blocks(fs, 1, false, 0, &r);
		if (err)
			goto out_free;
		blk = r.pblk;
		b = tx_new_blk(fs, blk, true);
		di = di_write(fs, ino);
		di->xattr_blk = cpu_to_le64(blk);
		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + 1);
	} else {
		b = tx_write_blk(fs, blk, true);
	}
	struct daxfs_xattrblk *h = (void *)b;

	memcpy(b + XHDR, tmp + XHDR, BLK_SIZE - XHDR);
	h->h.magic = cpu_to_le32(DAXFS_XATTR_MAGIC);
	h->h.ino = cpu_to_le64(ino);
	h->used = cpu_to_le32((uint32_t)used);
	h->count = cpu_to_le32(count);
out_free:
	free(tmp);
	return err;
}

static void touch_ctime(struct daxfs *fs, uint64_t ino)
{
	di_write(fs, ino)->ctime = cpu_to_le64((uint64_t)now_ns());
}

/*
 * xchange - set @name=@value (remove @name if @value is NULL) on @ino in one
 * transaction under fs->lock. @flags: DAXFS_XATTR_CREATE fails with -EEXIST
 * if @name is set, DAXFS_XATTR_REPLACE with -ENODATA if it is not.
 */
static int xchange(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
		   size_t vl, int flags)
{
	const struct daxfs_xattrblk *xb;
	int err;

	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	tx_begin(fs);
	err = xblk_get(fs, ino, &xb);
	if (!err) {
		bool exists = xfind(xb, name, nl) != NULL;

		if (exists && (flags & DAXFS_XATTR_CREATE))
			err = -EEXIST;
		else if (!exists && (flags & DAXFS_XATTR_REPLACE))
			err = -ENODATA;
	}
	if (!err)
		err = xrewrite(fs, ino, xb, name, nl, value, vl);
	if (!err) {
		touch_ctime(fs, ino);
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
		return pmd_err(-E2BIG, "xattr value of %zu bytes is over the limit of %d", size,
			       DAXFS_XATTR_SIZE_MAX);
	if (flags & ~(DAXFS_XATTR_CREATE | DAXFS_XATTR_REPLACE))
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

/* xattr_free - free @di's xattr block in the running transaction */
int xattr_free(struct daxfs *fs, struct daxfs_dinode *di)
{
	uint64_t blk = le64_to_cpu(di->xattr_blk);

	if (blk) {
		tx_free(fs, blk, 1);
		di->xattr_blk = 0;
		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) - 1);
	}
	return 0;
}
