/* SPDX-License-Identifier: MIT */
/*
 * acl.c - POSIX ACLs kept in step with the mode, as the kernel's ACL code
 * does for ext4 and tmpfs.
 *
 * The ACLs are the extended attributes "system.posix_acl_access" and
 * "system.posix_acl_default" in the form the kernel passes through FUSE
 * (a le32 version 2, then {le16 tag, le16 perm, le32 id} entries). The
 * kernel checks permissions against them (FUSE_CAP_POSIX_ACL); the
 * filesystem's part, done here in the transaction of the change, is:
 *  - setting an access ACL sets the mode's permission bits from it (owner,
 *    mask or else owning group, other); an ACL the mode says fully (no
 *    named entry, no mask) is not stored; S_ISGID is cleared when the
 *    caller is not in the file's group (DAXFS_XATTR_ACL_KILL_SGID);
 *  - chmod rewrites the owner, mask (or owning group) and other entries of
 *    the access ACL;
 *  - a new inode in a directory with a default ACL gets it as its access
 *    ACL, masked by the mode asked for (the umask is not applied), and a
 *    new directory also gets it as its default ACL; without a default ACL
 *    the umask applies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
#define ACL_VERSION 2

/* tags */
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20

struct acl_ent {
	le16 tag;
	le16 perm;
	le32 id;
};

/* largest ACL handled: the VFS limit on a value */
#define ACL_MAX_ENTS ((DAXFS_XATTR_SIZE_MAX - 4) / sizeof(struct acl_ent))

static struct acl_ent *acl_ents(void *value)
{
	return (struct acl_ent *)((uint8_t *)value + 4);
}

/*
 * acl_check - is @value (@vl bytes) a valid ACL? The rules of the kernel's
 * posix_acl_valid(): entries in the order owner, named users, owning group,
 * named groups, mask, other; a mask whenever there is a named entry; only
 * read/write/execute permission bits. Returns the entry count or -EINVAL.
 */
static int acl_check(const void *value, size_t vl)
{
	/* the order of the tags: each moves the state from @from to @to */
	enum { S_UOBJ, S_USER, S_GROUP, S_OTHER, S_DONE };
	static const struct {
		unsigned tag, from, to;
	} order[] = {
		{ACL_USER_OBJ, S_UOBJ, S_USER},	  {ACL_USER, S_USER, S_USER},
		{ACL_GROUP_OBJ, S_USER, S_GROUP}, {ACL_GROUP, S_GROUP, S_GROUP},
		{ACL_MASK, S_GROUP, S_OTHER},	  {ACL_OTHER, S_OTHER, S_DONE},
	};
	unsigned st = S_UOBJ;
	bool named = false;
	le32 version;
	size_t n;

	if (vl < 4 || (vl - 4) % sizeof(struct acl_ent))
		return pmd_err(-EINVAL, "POSIX ACL of %zu bytes: bad length", vl);
	memcpy(&version, value, 4);
	if (le32_to_cpu(version) != ACL_VERSION)
		return pmd_err(-EINVAL, "POSIX ACL version %u, expected %u", le32_to_cpu(version),
			       ACL_VERSION);
	n = (vl - 4) / sizeof(struct acl_ent);
	for (size_t k = 0; k < n; k++) {
		struct acl_ent e;
		unsigned tag;
		size_t o = 0;

		memcpy(&e, (const uint8_t *)value + 4 + k * sizeof(e), sizeof(e));
		tag = le16_to_cpu(e.tag);
		while (o < sizeof(order) / sizeof(order[0]) && order[o].tag != tag)
			o++;
		if (o == sizeof(order) / sizeof(order[0]) || (le16_to_cpu(e.perm) & ~7U))
			goto bad;
		/* without named entries the mask may be left out */
		if (tag == ACL_OTHER && st == S_GROUP && !named)
			st = S_OTHER;
		if (st != order[o].from)
			goto bad;
		st = order[o].to;
		named |= tag == ACL_USER || tag == ACL_GROUP;
	}
	if (st != S_DONE)
		goto bad;
	return (int)n;
bad:
	return pmd_err(-EINVAL, "POSIX ACL: entries out of order, incomplete or with bad bits");
}

/*
 * acl_equiv_mode - the permission bits @acl (@n entries) gives into *@mode
 * (other bits kept); true if the mode says all of it (no named entry and
 * no mask).
 */
static bool acl_equiv_mode(const struct acl_ent *acl, int n, uint32_t *mode)
{
	uint32_t m = 0;
	bool equiv = true;

	for (int k = 0; k < n; k++) {
		uint32_t p = le16_to_cpu(acl[k].perm) & 7;

		switch (le16_to_cpu(acl[k].tag)) {
		case ACL_USER_OBJ:
			m |= p << 6;
			break;
		case ACL_GROUP_OBJ:
			m |= p << 3;
			break;
		case ACL_OTHER:
			m |= p;
			break;
		case ACL_MASK:
			m = (m & ~(uint32_t)S_IRWXG) | p << 3;
			equiv = false;
			break;
		default:
			equiv = false;
		}
	}
	*mode = (*mode & ~(uint32_t)0777) | m;
	return equiv;
}

static bool acl_name(const char *name, size_t nl, const char *which)
{
	return nl == strlen(which) && !memcmp(name, which, nl);
}

static void set_mode(struct daxfs *fs, uint64_t ino, uint32_t mode)
{
	const struct daxfs_dinode *rd = di_read(fs, ino);

	if (le32_to_cpu(rd->mode) != mode)
		di_write(fs, ino)->mode = cpu_to_le32(mode);
}

int acl_xattr_set(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
		  size_t vl, int flags)
{
	bool access = acl_name(name, nl, ACL_ACCESS);
	bool kill_sgid = flags & DAXFS_XATTR_ACL_KILL_SGID;
	uint32_t mode;
	int n, err;

	if (!access && !acl_name(name, nl, ACL_DEFAULT))
		return -ENOSYS;
	flags &= ~DAXFS_XATTR_ACL_KILL_SGID;
	mode = le32_to_cpu(di_read(fs, ino)->mode);
	if (!value)
		return xattr_set(fs, ino, name, nl, NULL, 0, flags);
	n = acl_check(value, vl);
	if (n < 0)
		return n;
	if (!access) {
		if (!S_ISDIR(mode))
			return pmd_err(-EACCES, "a default ACL is for directories only");
		return xattr_set(fs, ino, name, nl, value, vl, flags);
	}
	/* the ACL is copied: the entries of @value may be unaligned */
	struct acl_ent *acl = malloc((size_t)n * sizeof(*acl) + 1);
	bool equiv;

	if (!acl)
		return -ENOMEM;
	memcpy(acl, (const uint8_t *)value + 4, (size_t)n * sizeof(*acl));
	equiv = acl_equiv_mode(acl, n, &mode);
	free(acl);
	if (kill_sgid)
		mode &= ~(uint32_t)S_ISGID;
	if (equiv) {
		err = xattr_set(fs, ino, name, nl, NULL, 0, 0);
		if (err == -ENODATA)
			err = 0;
	} else {
		err = xattr_set(fs, ino, name, nl, value, vl, flags);
	}
	if (!err)
		set_mode(fs, ino, mode);
	return err;
}

/* acl_load - the ACL @which of @ino into a new buffer; *@n entries. -ENODATA if none */
static int acl_load(struct daxfs *fs, uint64_t ino, const char *which, void **out, size_t *vl,
		    int *n)
{
	size_t size;
	void *buf;
	int err = xattr_get(fs, ino, which, strlen(which), NULL, 0, &size);

	if (err)
		return err;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	err = xattr_get(fs, ino, which, strlen(which), buf, size, &size);
	if (!err) {
		*n = acl_check(buf, size);
		if (*n < 0)
			err = dx_corrupt(fs, DAXFS_ERR_XATTR, DAXFS_WHY_FIELD, ino, 0,
					 "stored POSIX ACL \"%s\" is invalid", which);
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*vl = size;
	return 0;
}

int acl_chmod(struct daxfs *fs, uint64_t ino, uint32_t mode)
{
	struct acl_ent *acl, *group = NULL, *mask = NULL;
	void *value;
	size_t vl;
	int n, err = acl_load(fs, ino, ACL_ACCESS, &value, &vl, &n);

	if (err)
		return err == -ENODATA ? 0 : err;
	acl = acl_ents(value);
	for (int k = 0; k < n; k++) {
		struct acl_ent e;

		memcpy(&e, &acl[k], sizeof(e));
		switch (le16_to_cpu(e.tag)) {
		case ACL_USER_OBJ:
			e.perm = cpu_to_le16((uint16_t)((mode >> 6) & 7));
			break;
		case ACL_GROUP_OBJ:
			group = &acl[k];
			break;
		case ACL_MASK:
			mask = &acl[k];
			break;
		case ACL_OTHER:
			e.perm = cpu_to_le16((uint16_t)(mode & 7));
			break;
		}
		memcpy(&acl[k], &e, sizeof(e));
	}
	le16 gp = cpu_to_le16((uint16_t)((mode >> 3) & 7));

	memcpy(mask ? &mask->perm : &group->perm, &gp, sizeof(gp));
	err = xattr_set(fs, ino, ACL_ACCESS, strlen(ACL_ACCESS), value, vl, 0);
	free(value);
	return err;
}

/*
 * acl_masq - mask the entries of a copied default ACL with the mode asked
 * for and the mode with the ACL (the kernel's posix_acl_create_masq()).
 * Returns true if the result says no more than the mode.
 */
static bool acl_masq(struct acl_ent *acl, int n, uint32_t *mode)
{
	struct acl_ent *group = NULL, *mask = NULL;
	uint32_t m = *mode;
	bool equiv = true;

	for (int k = 0; k < n; k++) {
		struct acl_ent e;
		uint32_t p;

		memcpy(&e, &acl[k], sizeof(e));
		p = le16_to_cpu(e.perm);
		switch (le16_to_cpu(e.tag)) {
		case ACL_USER_OBJ:
			p &= (m >> 6) & 7;
			m &= (p << 6) | ~(uint32_t)S_IRWXU;
			break;
		case ACL_GROUP_OBJ:
			group = &acl[k];
			break;
		case ACL_MASK:
			mask = &acl[k];
			equiv = false;
			break;
		case ACL_OTHER:
			p &= m & 7;
			m &= p | ~(uint32_t)S_IRWXO;
			break;
		default:
			equiv = false;
		}
		e.perm = cpu_to_le16((uint16_t)p);
		memcpy(&acl[k], &e, sizeof(e));
	}
	struct acl_ent *g = mask ? mask : group;
	struct acl_ent e;

	memcpy(&e, g, sizeof(e));
	e.perm = cpu_to_le16((uint16_t)(le16_to_cpu(e.perm) & ((m >> 3) & 7)));
	m &= ((uint32_t)le16_to_cpu(e.perm) << 3) | ~(uint32_t)S_IRWXG;
	memcpy(g, &e, sizeof(e));
	*mode = (*mode & ~(uint32_t)0777) | (m & 0777);
	return equiv;
}

int acl_create(struct daxfs *fs, uint64_t parent, uint64_t ino, uint32_t umask)
{
	uint32_t mode = le32_to_cpu(di_read(fs, ino)->mode);
	void *value;
	size_t vl;
	int n, err;

	if (S_ISLNK(mode))
		return 0;
	err = acl_load(fs, parent, ACL_DEFAULT, &value, &vl, &n);
	if (err == -ENODATA) {
		set_mode(fs, ino, mode & ~(umask & 0777));
		return 0;
	}
	if (err)
		return err;
	if (S_ISDIR(mode))
		err = xattr_set(fs, ino, ACL_DEFAULT, strlen(ACL_DEFAULT), value, vl, 0);
	if (!err && !acl_masq(acl_ents(value), n, &mode))
		err = xattr_set(fs, ino, ACL_ACCESS, strlen(ACL_ACCESS), value, vl, 0);
	if (!err)
		set_mode(fs, ino, mode);
	free(value);
	return err;
}
