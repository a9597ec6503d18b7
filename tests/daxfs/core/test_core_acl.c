/* SPDX-License-Identifier: MIT */
/*
 * test_core_acl - POSIX ACLs and the mode kept in step, as ext4 and tmpfs
 * do: an access ACL with a named entry sets the group bits from its mask
 * and is stored; one the mode says fully is not stored but sets the mode;
 * DAXFS_XATTR_ACL_KILL_SGID clears S_ISGID; chmod rewrites the owner, mask
 * and other entries; a directory's default ACL is inherited by new files
 * (masked by the mode asked for, the umask ignored) and by new directories
 * (also as their default); without one the umask applies; malformed ACLs
 * are -EINVAL, a default ACL on a file -EACCES.
 */
#include <sys/stat.h>

#include "format.h"
#include "test_core_util.h"

#define ACCESS "system.posix_acl_access"
#define DEFAULT "system.posix_acl_default"

enum { UOBJ = 1, USER = 2, GOBJ = 4, GROUP = 8, MASK = 0x10, OTHER = 0x20 };

struct ent {
	int tag, perm;
	uint32_t id;
};

/* the kernel's xattr form of the ACL in @e (@n entries) into @buf; bytes */
static size_t acl(uint8_t *buf, const struct ent *e, int n)
{
	le32 v = cpu_to_le32(2);

	memcpy(buf, &v, 4);
	for (int k = 0; k < n; k++) {
		le16 t = cpu_to_le16((uint16_t)e[k].tag), p = cpu_to_le16((uint16_t)e[k].perm);
		le32 id = cpu_to_le32(e[k].id);

		memcpy(buf + 4 + 8 * k, &t, 2);
		memcpy(buf + 6 + 8 * k, &p, 2);
		memcpy(buf + 8 + 8 * k, &id, 4);
	}
	return 4 + 8 * (size_t)n;
}

/* the permission of entry @tag (and @id) of @ino's ACL @which, -1 if none */
static int perm_of(struct daxfs *fs, uint64_t ino, const char *which, int tag, uint32_t id)
{
	uint8_t buf[512];
	size_t sz;

	if (daxfs_getxattr(fs, ino, which, buf, sizeof(buf), &sz))
		return -1;
	for (size_t k = 4; k + 8 <= sz; k += 8) {
		le16 t, p;
		le32 i;

		memcpy(&t, buf + k, 2);
		memcpy(&p, buf + k + 2, 2);
		memcpy(&i, buf + k + 4, 4);
		if (le16_to_cpu(t) == tag && ((tag != USER && tag != GROUP) || le32_to_cpu(i) == id))
			return le16_to_cpu(p);
	}
	return -1;
}

static uint32_t mode_of(struct daxfs *fs, uint64_t ino)
{
	struct daxfs_attr a;

	CHECK_OK(daxfs_getattr(fs, ino, &a));
	return a.mode & 07777;
}

static uint64_t make(struct daxfs *fs, uint64_t dir, const char *name, uint32_t mode,
		     uint32_t umask)
{
	struct daxfs_new n = {.mode = mode, .umask = umask, .uid = 0, .gid = 0};
	struct daxfs_attr a;

	CHECK_OK(daxfs_make(fs, dir, name, &n, &a));
	return a.ino;
}

int main(void)
{
	const char *path = core_mkfs("acl", 16 << 20, 0);
	struct daxfs *fs = core_open(path);
	uint8_t buf[512];
	size_t len;
	uint64_t f, d, g;

	/* setfacl -m u:1000:--- on a 0644 file */
	f = make(fs, DAXFS_ROOT_INO, "f", S_IFREG | 0644, 022);
	CHECK_EQ(mode_of(fs, f), 0644);
	const struct ent deny[] = {{UOBJ, 6, 0}, {USER, 0, 1000}, {GOBJ, 4, 0}, {MASK, 4, 0}, {OTHER, 4, 0}};

	len = acl(buf, deny, 5);
	CHECK_OK(daxfs_setxattr(fs, f, ACCESS, buf, len, 0));
	CHECK_EQ(mode_of(fs, f), 0644);
	CHECK_EQ(perm_of(fs, f, ACCESS, USER, 1000), 0);

	/* chmod 600; setfacl -m u:1000:r: the mask (group bits) becomes r */
	struct daxfs_attr in = {.mode = 0600};

	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL));
	CHECK_EQ(perm_of(fs, f, ACCESS, MASK, 0), 0); /* chmod rewrote the mask */
	CHECK_EQ(perm_of(fs, f, ACCESS, OTHER, 0), 0);
	CHECK_EQ(perm_of(fs, f, ACCESS, GOBJ, 0), 4); /* the owning group entry is kept */
	const struct ent allow[] = {{UOBJ, 6, 0}, {USER, 4, 1000}, {GOBJ, 0, 0}, {MASK, 4, 0}, {OTHER, 0, 0}};

	len = acl(buf, allow, 5);
	CHECK_OK(daxfs_setxattr(fs, f, ACCESS, buf, len, 0));
	CHECK_EQ(mode_of(fs, f), 0640); /* ls shows the mask in the group bits */

	/* chmod 755 rewrites owner, mask and other */
	in.mode = 0755;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL));
	CHECK_EQ(perm_of(fs, f, ACCESS, UOBJ, 0), 7);
	CHECK_EQ(perm_of(fs, f, ACCESS, MASK, 0), 5);
	CHECK_EQ(perm_of(fs, f, ACCESS, OTHER, 0), 5);
	CHECK_EQ(perm_of(fs, f, ACCESS, USER, 1000), 4);

	/* an ACL the mode says fully: not stored, mode set; SGID cleared on request */
	in.mode = 02775;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL));
	const struct ent plain[] = {{UOBJ, 6, 0}, {GOBJ, 4, 0}, {OTHER, 0, 0}};

	len = acl(buf, plain, 3);
	CHECK_OK(daxfs_setxattr(fs, f, ACCESS, buf, len, DAXFS_XATTR_ACL_KILL_SGID));
	CHECK_EQ(mode_of(fs, f), 0640);
	CHECK_EQ(daxfs_getxattr(fs, f, ACCESS, NULL, 0, &len), -ENODATA);
	in.mode = 02775;
	CHECK_OK(daxfs_setattr(fs, f, &in, DAXFS_SET_MODE, NULL));
	len = acl(buf, plain, 3);
	CHECK_OK(daxfs_setxattr(fs, f, ACCESS, buf, len, 0));
	CHECK_EQ(mode_of(fs, f), 02640); /* in the group or privileged: SGID stays */

	/* malformed ACLs */
	const struct ent nomask[] = {{UOBJ, 6, 0}, {USER, 4, 5}, {GOBJ, 4, 0}, {OTHER, 0, 0}};
	const struct ent order[] = {{GOBJ, 6, 0}, {UOBJ, 4, 0}, {OTHER, 0, 0}};
	const struct ent bits[] = {{UOBJ, 8, 0}, {GOBJ, 4, 0}, {OTHER, 0, 0}};

	len = acl(buf, nomask, 4);
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, len, 0), -EINVAL);
	len = acl(buf, order, 3);
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, len, 0), -EINVAL);
	len = acl(buf, bits, 3);
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, len, 0), -EINVAL);
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, len - 2, 0), -EINVAL);
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, 0, 0), -EINVAL);
	len = acl(buf, plain, 3);
	buf[0] = 1; /* version */
	CHECK_EQ(daxfs_setxattr(fs, f, ACCESS, buf, len, 0), -EINVAL);
	len = acl(buf, plain, 3);
	CHECK_EQ(daxfs_setxattr(fs, f, DEFAULT, buf, len, 0), -EACCES);

	/* default ACL inheritance: setfacl -d -m u::rw,g::rw,o::- on d, then
	 * a file made with 0666 and umask 022 is -rw-rw---- (tmpfs does so) */
	d = make(fs, DAXFS_ROOT_INO, "d", S_IFDIR | 0777, 022);
	CHECK_EQ(mode_of(fs, d), 0755);
	const struct ent dflt[] = {{UOBJ, 7, 0}, {GOBJ, 6, 0}, {OTHER, 0, 0}};

	len = acl(buf, dflt, 3);
	CHECK_OK(daxfs_setxattr(fs, d, DEFAULT, buf, len, 0));
	g = make(fs, d, "file", S_IFREG | 0666, 022);
	CHECK_EQ(mode_of(fs, g), 0660);
	CHECK_EQ(daxfs_getxattr(fs, g, ACCESS, NULL, 0, &len), -ENODATA); /* equivalent */
	CHECK_EQ(daxfs_getxattr(fs, g, DEFAULT, NULL, 0, &len), -ENODATA);
	g = make(fs, d, "sub", S_IFDIR | 0777, 022);
	CHECK_EQ(mode_of(fs, g), 0760);
	CHECK_EQ(perm_of(fs, g, DEFAULT, GOBJ, 0), 6); /* directories inherit the default */
	uint64_t deeper = make(fs, g, "deeper", S_IFREG | 0644, 077);

	CHECK_EQ(mode_of(fs, deeper), 0640);
	CHECK_EQ(perm_of(fs, deeper, ACCESS, UOBJ, 0), -1);

	/* a default ACL with a named entry: the access ACL is stored, masked */
	const struct ent named[] = {{UOBJ, 7, 0}, {USER, 7, 1000}, {GOBJ, 5, 0}, {MASK, 7, 0}, {OTHER, 5, 0}};

	len = acl(buf, named, 5);
	CHECK_OK(daxfs_setxattr(fs, d, DEFAULT, buf, len, 0));
	g = make(fs, d, "named", S_IFREG | 0640, 0);
	CHECK_EQ(mode_of(fs, g), 0640);
	CHECK_EQ(perm_of(fs, g, ACCESS, MASK, 0), 4);
	CHECK_EQ(perm_of(fs, g, ACCESS, USER, 1000), 7); /* masked at check time, not here */
	CHECK_EQ(perm_of(fs, g, ACCESS, OTHER, 0), 0);
	/* removing the default: the umask applies again */
	CHECK_OK(daxfs_removexattr(fs, d, DEFAULT));
	CHECK_EQ(mode_of(fs, make(fs, d, "plain", S_IFREG | 0666, 027)), 0640);

	/* symlinks are not touched */
	struct daxfs_attr a;

	len = acl(buf, dflt, 3);
	CHECK_OK(daxfs_setxattr(fs, d, DEFAULT, buf, len, 0));
	CHECK_OK(daxfs_symlink(fs, d, "ln", "target", 0, 0, &a));
	CHECK_EQ(a.mode & 0777, 0777);

	/* O_TMPFILE (no name): the same inheritance, the same umask rule */
	struct daxfs_new tmp = {.mode = S_IFREG | 0666, .umask = 022};

	CHECK_OK(daxfs_make(fs, d, NULL, &tmp, &a));
	CHECK_EQ(a.mode & 07777, 0660);
	CHECK_EQ(a.nlink, 0);
	CHECK_OK(daxfs_removexattr(fs, d, DEFAULT));
	CHECK_OK(daxfs_make(fs, d, NULL, &tmp, &a));
	CHECK_EQ(a.mode & 07777, 0644);
	tmp.mode = S_IFDIR | 0777;
	CHECK_EQ(daxfs_make(fs, d, NULL, &tmp, &a), -EINVAL);

	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	fs = core_open(path);
	CHECK_EQ(perm_of(fs, f, ACCESS, USER, 1000), -1);
	CHECK_EQ(mode_of(fs, f), 02640);
	CHECK_OK(daxfs_close(&fs));
	printf("ok\n");
	return 0;
}
