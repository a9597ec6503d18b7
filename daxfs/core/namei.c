/* SPDX-License-Identifier: MIT */
/*
 * namei.c - namespace operations: lookup, create, mkdir, unlink, rmdir,
 * rename, link, symlink, readlink, readdir, getattr.
 *
 * Each operation is one journal transaction under fs->lock, so it is atomic
 * and durable when it returns.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

#define DIR_NLINK_MAX 65000U
#define FILE_NLINK_MAX 65000U

static int check_name(const char *name, size_t *len)
{
	size_t n = strnlen(name, DAXFS_NAME_MAX + 1);

	if (n > DAXFS_NAME_MAX)
		return pmd_err(-ENAMETOOLONG, "name longer than %d bytes", DAXFS_NAME_MAX);
	if (!n || !strcmp(name, ".") || !strcmp(name, "..") || memchr(name, '/', n))
		return pmd_err(-EINVAL, "invalid name \"%s\"", name);
	*len = n;
	return 0;
}

/*
 * entry_inode - the inode @ino named by an entry of directory @dir, checked;
 * an entry naming a free inode is corrupt. Returns 0 or -EIO.
 */
static int entry_inode(struct daxfs *fs, uint64_t dir, uint64_t ino,
		       const struct daxfs_dinode **out)
{
	int err = di_get(fs, ino, out);

	if (err == -ENOENT)
		err = dx_corrupt(fs, DAXFS_ERR_DIR, DAXFS_WHY_FIELD, dir, 0,
				 "an entry names free inode %llu", (unsigned long long)ino);
	return err;
}

static uint32_t iflags(struct daxfs *fs, uint64_t ino)
{
	return le32_to_cpu(di_read(fs, ino)->flags);
}

/* may entries be added to directory @dir? (not if immutable) */
static int may_add(struct daxfs *fs, uint64_t dir)
{
	if (iflags(fs, dir) & DAXFS_IF_IMMUTABLE)
		return pmd_err(-EPERM, "directory %llu is immutable", (unsigned long long)dir);
	return 0;
}

/* may the entry of @ino be removed from @dir? (neither may be immutable or
 * append-only: the rules of the kernel's may_delete()) */
static int may_remove(struct daxfs *fs, uint64_t dir, uint64_t ino)
{
	uint32_t f = DAXFS_IF_IMMUTABLE | DAXFS_IF_APPEND;

	if ((iflags(fs, dir) & f) || (iflags(fs, ino) & f))
		return pmd_err(-EPERM, "\"%llu\" in directory %llu is immutable or append-only",
			       (unsigned long long)ino, (unsigned long long)dir);
	return 0;
}

static int get_dir(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dinode *di;
	int err = di_get_tree(fs, ino, &di);

	if (err)
		return err;
	if (!S_ISDIR(le32_to_cpu(di->mode)))
		return -ENOTDIR;
	if (!di->nlink)
		return -ENOENT; /* removed directory */
	return 0;
}

/*
 * lock_parent - start a change in directory @parent: -EROFS on a read-only
 * file system, else take fs->lock and check that @parent is a live
 * directory (on error the lock is dropped again).
 */
static int lock_parent(struct daxfs *fs, uint64_t parent)
{
	int err;

	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	err = get_dir(fs, parent);
	if (err)
		dx_unlock(fs);
	return err;
}

static void touch(struct daxfs *fs, uint64_t ino, bool mtime)
{
	di_touch(fs, di_write(fs, ino), TOUCH_C | (mtime ? TOUCH_M : 0));
}

static void nlink_add(struct daxfs *fs, uint64_t ino, int delta)
{
	struct daxfs_dinode *di = di_write(fs, ino);

	di->nlink = cpu_to_le32((uint32_t)((int64_t)le32_to_cpu(di->nlink) + delta));
}

static int attr_of(struct daxfs *fs, uint64_t ino, struct daxfs_attr *out)
{
	const struct daxfs_dinode *di;
	struct daxfs_attr ra;
	int err = ino == DAXFS_ROOT_INO && atomic_load(&fs->root_ro) ? -EIO : di_get(fs, ino, &di);

	if (err == -EIO && ino == DAXFS_ROOT_INO) {
		/* a root that fails only its checksum: read-only, restricted */
		err = root_attr(fs, &ra);
		if (!err && out)
			*out = ra;
		return err;
	}
	if (err)
		return err;
	if (out)
		di_to_attr(fs, ino, di, out);
	return 0;
}

/*
 * end_make - end the transaction of an operation that holds fs->lock: abort
 * it if @err, else, for a nonzero @ino, fill @out (if asked) with the
 * attributes of @ino as the transaction leaves them and commit it. A file
 * it made is opened if @n asks (daxfs_new.open): the references are taken
 * after the commit, before fs->lock is dropped, so no unlink comes between;
 * out of memory for the in-memory inode then leaves the file made and not
 * opened (-ENOMEM). Drops fs->lock; returns the first error.
 */
static int end_make(struct daxfs *fs, int err, uint64_t ino, struct daxfs_attr *out,
		    const struct daxfs_new *n)
{
	struct daxfs_attr a;
	struct dxi *i = NULL;

	/* the attributes come from the transaction's own copy: after the commit
	 * the inode's lines are flushed, and on CPUs whose clwb evicts them
	 * every read of the home copy would miss */
	if (!err && ino)
		err = attr_of(fs, ino, &a);
	if (err)
		tx_abort(fs);
	else
		err = tx_commit(fs);
	if (!err && ino && n && n->open && !(i = dxi_get(fs, ino)))
		err = -ENOMEM;
	if (i)
		open_count(fs, i, n->lookups, !a.nlink);
	dx_unlock(fs);
	if (i)
		dxi_put(fs, i);
	if (!err && ino && out)
		*out = a;
	return err;
}

/* end_tx - end_make() of an operation that opens nothing */
static int end_tx(struct daxfs *fs, int err, uint64_t ino, struct daxfs_attr *out)
{
	return end_make(fs, err, ino, out, NULL);
}

int daxfs_getattr(struct daxfs *fs, uint64_t ino, struct daxfs_attr *out)
{
	int err;

	dx_lock(fs);
	err = attr_of(fs, ino, out);
	dx_unlock(fs);
	if (err == -ENOENT && (fs->flags & DAXFS_O_OPENREFS))
		err = ghost_attr(fs, ino, out); /* freed while the kernel names it */
	return err;
}

int daxfs_lookup(struct daxfs *fs, uint64_t parent, const char *name, struct daxfs_attr *out)
{
	uint64_t ino;
	size_t len = strnlen(name, DAXFS_NAME_MAX + 1);
	int err;

	if (len > DAXFS_NAME_MAX)
		return pmd_err(-ENAMETOOLONG, "name longer than %d bytes", DAXFS_NAME_MAX);
	dx_lock(fs);
	if (!strcmp(name, ".")) {
		/* any live inode, by number: how file handles come back */
		const struct daxfs_dinode *di;

		err = di_get(fs, parent, &di);
		if (!err && !di->nlink)
			err = -ENOENT;
		if (!err && out)
			di_to_attr(fs, parent, di, out);
		goto out_unlock;
	}
	err = get_dir(fs, parent);
	if (err)
		goto out_unlock;
	if (!strcmp(name, ".."))
		ino = le64_to_cpu(di_read(fs, parent)->parent);
	else if (!len) {
		err = -ENOENT;
		goto out_unlock;
	} else {
		const struct daxfs_dinode *di;

		err = dir_find(fs, parent, name, len, &ino, NULL, NULL);
		if (!err)
			err = entry_inode(fs, parent, ino, &di);
		if (err)
			goto out_unlock;
	}
	err = attr_of(fs, ino, out);
out_unlock:
	dx_unlock(fs);
	return err;
}

/* new_inode - allocate and initialise an inode in the running transaction */
static int new_inode(struct daxfs *fs, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t rdev,
		     uint64_t parent, uint64_t *out)
{
	uint64_t ino;
	int err = ino_alloc(fs, &ino);
	struct daxfs_dinode *di;
	uint64_t gen;

	if (err)
		return err;
	di = di_write(fs, ino);
	gen = le64_to_cpu(di->generation) + 1;
	memset(di, 0, sizeof(*di));
	di->mode = cpu_to_le32(mode);
	di->nlink = cpu_to_le32(S_ISDIR(mode) ? 2 : 1);
	di->uid = cpu_to_le32(uid);
	di->gid = cpu_to_le32(gid);
	di->rdev = cpu_to_le64(rdev);
	di->generation = cpu_to_le64(gen);
	di_touch(fs, di, TOUCH_A | TOUCH_M | TOUCH_C | TOUCH_B);
	if (S_ISDIR(mode))
		di->parent = cpu_to_le64(parent);
	*out = ino;
	return 0;
}

static unsigned mode_dt(uint32_t mode)
{
	return (mode >> 12) & 15;
}

/* the directory entry type of the in-use inode @ino */
static unsigned ino_dt(struct daxfs *fs, uint64_t ino)
{
	return mode_dt(le32_to_cpu(di_read(fs, ino)->mode));
}

/* set_target - store the symlink target of the new inode @ino, in the tx */
static int set_target(struct daxfs *fs, uint64_t ino, const char *target, size_t tlen)
{
	struct dx_range r;
	struct daxfs_dinode *di;
	uint64_t tblk;
	int err = alloc_blocks(fs, 1, false, 0, &r);

	if (err)
		return err;
	tblk = r.pblk;
	/* a new block: store it directly, it becomes visible at commit */
	pmr_memset(fs->r, dx_ptr(fs, blk_to_off(tblk)), 0, BLK_SIZE, PMR_MEM_NODRAIN);
	pmr_memcpy(fs->r, dx_ptr(fs, blk_to_off(tblk)), target, tlen, 0);
	di = di_write(fs, ino);
	di->symlink.blk = cpu_to_le64(tblk);
	di->symlink.len = cpu_to_le32((uint32_t)tlen);
	di->symlink.crc = cpu_to_le32(daxfs_crc32c(0, target, tlen));
	di->size = cpu_to_le64(tlen);
	di->blocks = cpu_to_le64(1);
	return 0;
}

static int do_create(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode,
		     uint32_t umask, uint32_t uid, uint32_t gid, uint64_t rdev, const char *target,
		     const struct daxfs_new *n, struct daxfs_attr *out)
{
	size_t len, tlen = 0;
	uint64_t ino = 0;
	int err = check_name(name, &len);

	if (err)
		return err;
	if (target) {
		tlen = strnlen(target, DAXFS_SYMLINK_MAX + 1);
		if (tlen > DAXFS_SYMLINK_MAX)
			return pmd_err(-ENAMETOOLONG, "symlink target longer than %d bytes",
				       DAXFS_SYMLINK_MAX);
		if (!tlen)
			return pmd_err(-ENOENT, "empty symlink target");
	}
	err = lock_parent(fs, parent);
	if (err)
		return err;
	if (S_ISDIR(mode) && le32_to_cpu(di_read(fs, parent)->nlink) >= DIR_NLINK_MAX) {
		dx_unlock(fs);
		return -EMLINK;
	}
	tx_begin(fs);
	err = dir_find(fs, parent, name, len, NULL, NULL, NULL);
	if (!err)
		err = -EEXIST;
	if (err == -ENOENT)
		err = may_add(fs, parent);
	if (!err)
		err = new_inode(fs, mode, uid, gid, rdev, parent, &ino);
	if (!err && target)
		err = set_target(fs, ino, target, tlen);
	if (!err)
		err = acl_create(fs, parent, ino, umask);
	if (!err)
		err = dir_insert(fs, parent, name, len, ino, mode_dt(mode));
	if (!err) {
		if (S_ISDIR(mode))
			nlink_add(fs, parent, 1);
		touch(fs, parent, true);
		iext_set(fs, ino, parent, name, len);
	}
	return end_make(fs, err, ino, out, n);
}

int daxfs_mknod(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint64_t rdev, struct daxfs_attr *out)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case 0:
		mode |= S_IFREG;
		break;
	default:
		return pmd_err(-EINVAL, "mknod: bad file type 0%o", mode & S_IFMT);
	}
	if (!S_ISCHR(mode) && !S_ISBLK(mode))
		rdev = 0;
	return do_create(fs, parent, name, mode & (S_IFMT | 07777), 0, uid, gid, rdev, NULL, NULL,
			 out);
}

int daxfs_create(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		 uint32_t gid, struct daxfs_attr *out)
{
	return do_create(fs, parent, name, S_IFREG | (mode & 07777), 0, uid, gid, 0, NULL, NULL,
			 out);
}

/* an unnamed regular file in @dir, an orphan from the start (O_TMPFILE) */
static int do_tmpfile(struct daxfs *fs, uint64_t dir, uint32_t mode, uint32_t umask, uint32_t uid,
		      uint32_t gid, const struct daxfs_new *n, struct daxfs_attr *out)
{
	uint64_t ino = 0;
	int err = lock_parent(fs, dir);

	if (err)
		return err;
	tx_begin(fs);
	err = may_add(fs, dir);
	if (!err)
		err = new_inode(fs, S_IFREG | (mode & 07777), uid, gid, 0, dir, &ino);
	if (!err)
		err = acl_create(fs, dir, ino, umask);
	if (!err) {
		/* No name: an orphan from the start, freed at the last iput or
		 * by recovery, unless daxfs_link() gives it a name first. */
		di_write(fs, ino)->nlink = 0;
		err = orphan_add(fs, ino);
	}
	return end_make(fs, err, ino, out, n);
}

int daxfs_tmpfile(struct daxfs *fs, uint64_t dir, uint32_t mode, uint32_t uid, uint32_t gid,
		  struct daxfs_attr *out)
{
	return do_tmpfile(fs, dir, mode, 0, uid, gid, NULL, out);
}

int daxfs_mkdir(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, struct daxfs_attr *out)
{
	return do_create(fs, parent, name, S_IFDIR | (mode & 07777), 0, uid, gid, 0, NULL, NULL,
			 out);
}

int daxfs_symlink(struct daxfs *fs, uint64_t parent, const char *name, const char *target,
		  uint32_t uid, uint32_t gid, struct daxfs_attr *out)
{
	return do_create(fs, parent, name, S_IFLNK | 0777, 0, uid, gid, 0, target, NULL, out);
}

int daxfs_make(struct daxfs *fs, uint64_t parent, const char *name, const struct daxfs_new *n,
	       struct daxfs_attr *out)
{
	uint32_t mode = n->mode;
	uint64_t rdev = n->rdev;

	switch (mode & S_IFMT) {
	case 0:
		mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFDIR:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return pmd_err(-EINVAL, "bad file type 0%o", mode & S_IFMT);
	}
	if (!S_ISCHR(mode) && !S_ISBLK(mode))
		rdev = 0;
	if (!name) {
		if (!S_ISREG(mode))
			return pmd_err(-EINVAL, "an unnamed file must be a regular file");
		return do_tmpfile(fs, parent, mode, n->umask, n->uid, n->gid, n, out);
	}
	if (n->open && !S_ISREG(mode))
		return pmd_err(-EINVAL, "only a regular file is opened as it is made");
	return do_create(fs, parent, name, mode & (S_IFMT | 07777), n->umask, n->uid, n->gid, rdev,
			 NULL, n, out);
}

enum dropped {
	DROP_LINKED, /* links remain */
	DROP_ORPHAN, /* on the orphan list: maybe_evict() after the commit */
	DROP_FREED,  /* freed by the transaction: inode_freed() at its commit */
};

/*
 * free_now - may @ino (@di: its last link going) be freed in the running
 * transaction itself? With DAXFS_O_OPENREFS, when nothing keeps it and the
 * free is a few lines: not a directory, no data, extent or xattr blocks.
 * Anything bigger goes through the orphan list, freed in transactions of
 * its own that a crash may cut.
 */
static bool free_now(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di)
{
	uint32_t mode = le32_to_cpu(di->mode);

	if (!(fs->flags & DAXFS_O_OPENREFS) || S_ISDIR(mode) || di->xattr_blk)
		return false;
	if (S_ISREG(mode) && (di->file.nextents || di->file.ext_next))
		return false;
	return !kept_open(fs, ino, 0);
}

/* drop_link - one link of @ino goes away (in the running transaction); for
 * DROP_FREED *@freed gets the attributes the inode had */
static enum dropped drop_link(struct daxfs *fs, uint64_t ino, struct daxfs_attr *freed)
{
	const struct daxfs_dinode *di = di_read(fs, ino);
	bool dir = S_ISDIR(le32_to_cpu(di->mode));
	uint32_t nl = le32_to_cpu(di->nlink);
	struct daxfs_dinode *w = di_write(fs, ino);

	nl = dir ? 0 : (nl ? nl - 1 : 0);
	w->nlink = cpu_to_le32(nl);
	di_touch(fs, w, TOUCH_C);
	if (nl)
		return DROP_LINKED;
	if (free_now(fs, ino, w)) {
		uint64_t gen = le64_to_cpu(w->generation);

		di_to_attr(fs, ino, w, freed);
		if (S_ISLNK(le32_to_cpu(w->mode)) && w->symlink.blk)
			tx_free(fs, le64_to_cpu(w->symlink.blk), 1);
		memset(w, 0, sizeof(*w)); /* as inode_evict leaves a free inode */
		w->generation = cpu_to_le64(gen);
		return DROP_FREED;
	}
	orphan_add(fs, ino);
	hint_orphan(fs, ino); /* its last close frees it */
	return DROP_ORPHAN;
}

static int do_remove(struct daxfs *fs, uint64_t parent, const char *name, bool rmdir)
{
	size_t len;
	uint64_t ino;
	const struct daxfs_dinode *di;
	enum dropped dr = DROP_LINKED;
	struct daxfs_attr fa;
	int err;

	if (rmdir && !strcmp(name, "."))
		return -EINVAL;
	if (rmdir && !strcmp(name, ".."))
		return -ENOTEMPTY;
	err = check_name(name, &len);
	if (err)
		return err;
	err = lock_parent(fs, parent);
	if (err)
		return err;
	err = dir_find(fs, parent, name, len, &ino, NULL, NULL);
	if (err)
		goto out_unlock;
	err = entry_inode(fs, parent, ino, &di);
	if (err)
		goto out_unlock;
	err = may_remove(fs, parent, ino);
	if (err)
		goto out_unlock;
	if (rmdir) {
		if (!S_ISDIR(le32_to_cpu(di->mode))) {
			err = -ENOTDIR;
			goto out_unlock;
		}
		if (ino == DAXFS_ROOT_INO) {
			err = -EBUSY;
			goto out_unlock;
		}
		if (di->dir.nentries) {
			err = -ENOTEMPTY;
			goto out_unlock;
		}
	} else if (S_ISDIR(le32_to_cpu(di->mode))) {
		err = -EISDIR;
		goto out_unlock;
	}
	tx_begin(fs);
	err = dir_remove(fs, parent, name, len);
	if (!err) {
		if (rmdir)
			nlink_add(fs, parent, -1);
		touch(fs, parent, true);
		dr = drop_link(fs, ino, &fa);
		if (dr == DROP_LINKED)
			iext_forget(fs, ino, parent, name, len);
	}
	if (err)
		tx_abort(fs);
	else
		err = tx_commit(fs);
	if (!err && dr == DROP_FREED)
		inode_freed(fs, ino, &fa);
	dx_unlock(fs);
	if (!err && dr == DROP_ORPHAN)
		maybe_evict(fs, ino);
	return err;
out_unlock:
	dx_unlock(fs);
	return err;
}

int daxfs_unlink(struct daxfs *fs, uint64_t parent, const char *name)
{
	return do_remove(fs, parent, name, false);
}

int daxfs_rmdir(struct daxfs *fs, uint64_t parent, const char *name)
{
	return do_remove(fs, parent, name, true);
}

int daxfs_link(struct daxfs *fs, uint64_t ino, uint64_t newparent, const char *newname,
	       struct daxfs_attr *out)
{
	const struct daxfs_dinode *di;
	bool unnamed;
	size_t len;
	int err = check_name(newname, &len);

	if (err)
		return err;
	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	err = di_get(fs, ino, &di);
	if (err)
		goto out_unlock;
	if (S_ISDIR(le32_to_cpu(di->mode))) {
		err = -EPERM;
		goto out_unlock;
	}
	/*
	 * A regular file without links (an O_TMPFILE, or unlinked while open)
	 * may get a name again: the kernel only asks for that for O_TMPFILE
	 * files opened without O_EXCL (it refuses the others with ENOENT).
	 */
	unnamed = !di->nlink;
	if (unnamed && !S_ISREG(le32_to_cpu(di->mode))) {
		err = -ENOENT;
		goto out_unlock;
	}
	if (le32_to_cpu(di->nlink) >= FILE_NLINK_MAX) {
		err = -EMLINK;
		goto out_unlock;
	}
	if (le32_to_cpu(di->flags) & (DAXFS_IF_IMMUTABLE | DAXFS_IF_APPEND)) {
		err = pmd_err(-EPERM, "inode %llu is immutable or append-only",
			      (unsigned long long)ino);
		goto out_unlock;
	}
	err = get_dir(fs, newparent);
	if (!err)
		err = may_add(fs, newparent);
	if (err)
		goto out_unlock;
	tx_begin(fs);
	err = dir_insert(fs, newparent, newname, len, ino, mode_dt(le32_to_cpu(di->mode)));
	if (!err && unnamed)
		err = orphan_remove(fs, ino);
	if (!err) {
		uint64_t p;
		char n[DAXFS_NAME_MAX + 1];
		size_t nl;

		nlink_add(fs, ino, 1);
		touch(fs, ino, false);
		touch(fs, newparent, true);
		if (iext_get(fs, ino, &p, n, &nl))
			iext_set(fs, ino, newparent, newname, len);
	}
	return end_tx(fs, err, ino, out);
out_unlock:
	dx_unlock(fs);
	return err;
}

/* is @dir (a directory) @anc or below it? 1, 0 or -EIO (a bad parent) */
static int is_below(struct daxfs *fs, uint64_t dir, uint64_t anc)
{
	for (unsigned guard = 0; guard < 4096; guard++) {
		const struct daxfs_dinode *di;
		int err;

		if (dir == anc)
			return 1;
		if (dir == DAXFS_ROOT_INO)
			return 0;
		err = entry_inode(fs, dir, dir, &di);
		if (err)
			return err;
		dir = le64_to_cpu(di->parent);
	}
	return 1;
}

int daxfs_rename(struct daxfs *fs, uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags)
{
	return daxfs_rename_wh(fs, parent, name, newparent, newname, flags, 0, 0);
}

/* leave a whiteout (a 0/0 character device) at @dir/@name, in the tx */
static int put_whiteout(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint32_t uid,
			uint32_t gid)
{
	uint64_t w;
	int err = new_inode(fs, S_IFCHR, uid, gid, 0, dir, &w);

	if (!err)
		err = dir_set(fs, dir, name, len, w, mode_dt(S_IFCHR));
	if (!err)
		iext_set(fs, w, dir, name, len);
	return err;
}

int daxfs_rename_wh(struct daxfs *fs, uint64_t parent, const char *name, uint64_t newparent,
		    const char *newname, unsigned flags, uint32_t uid, uint32_t gid)
{
	size_t len, nlen;
	uint64_t s, t = 0;
	bool sdir, tdir = false;
	enum dropped tdrop = DROP_LINKED;
	struct daxfs_attr tattr;
	int err;

	if (flags & ~(DAXFS_RENAME_NOREPLACE | DAXFS_RENAME_EXCHANGE | DAXFS_RENAME_WHITEOUT) ||
	    (flags & DAXFS_RENAME_EXCHANGE &&
	     flags & (DAXFS_RENAME_NOREPLACE | DAXFS_RENAME_WHITEOUT)))
		return pmd_err(-EINVAL, "rename: bad flags 0x%x", flags);
	err = check_name(name, &len);
	if (!err)
		err = check_name(newname, &nlen);
	if (err)
		return err == -ENAMETOOLONG ? err : -EINVAL;
	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	err = get_dir(fs, parent);
	if (!err)
		err = get_dir(fs, newparent);
	if (err)
		goto out_unlock;
	err = dir_find(fs, parent, name, len, &s, NULL, NULL);
	if (err)
		goto out_unlock;
	err = dir_find(fs, newparent, newname, nlen, &t, NULL, NULL);
	if (err && err != -ENOENT)
		goto out_unlock;
	if (err == -ENOENT) {
		t = 0;
		if (flags & DAXFS_RENAME_EXCHANGE)
			goto out_unlock;
	}
	const struct daxfs_dinode *sdi, *tdi;

	err = entry_inode(fs, parent, s, &sdi);
	if (!err && t)
		err = entry_inode(fs, newparent, t, &tdi);
	if (err)
		goto out_unlock;
	if (t && flags & DAXFS_RENAME_NOREPLACE) {
		err = -EEXIST;
		goto out_unlock;
	}
	if (t == s) /* same entry, or two links of one inode: nothing to do */
		goto out_unlock;
	err = may_remove(fs, parent, s);
	if (!err)
		err = t ? may_remove(fs, newparent, t) : may_add(fs, newparent);
	if (err)
		goto out_unlock;
	sdir = S_ISDIR(le32_to_cpu(di_read(fs, s)->mode));
	if (t)
		tdir = S_ISDIR(le32_to_cpu(di_read(fs, t)->mode));
	if (sdir && parent != newparent) {
		err = is_below(fs, newparent, s);
		if (err) {
			err = err > 0 ? -EINVAL : err;
			goto out_unlock;
		}
	}
	if (flags & DAXFS_RENAME_EXCHANGE) {
		if (tdir && parent != newparent) {
			err = is_below(fs, parent, t);
			if (err) {
				err = err > 0 ? -EINVAL : err;
				goto out_unlock;
			}
		}
		tx_begin(fs);
		err = dir_set(fs, parent, name, len, t, ino_dt(fs, t));
		if (!err)
			err = dir_set(fs, newparent, newname, nlen, s, ino_dt(fs, s));
		if (err)
			goto out_abort;
		if (parent != newparent && sdir != tdir) {
			nlink_add(fs, sdir ? parent : newparent, -1);
			nlink_add(fs, sdir ? newparent : parent, 1);
		}
		if (sdir && parent != newparent)
			di_write(fs, s)->parent = cpu_to_le64(newparent);
		if (tdir && parent != newparent)
			di_write(fs, t)->parent = cpu_to_le64(parent);
		touch(fs, s, false);
		touch(fs, t, false);
		iext_set(fs, s, newparent, newname, nlen);
		iext_set(fs, t, parent, name, len);
		goto out_commit;
	}
	if (t) {
		if (sdir && !tdir) {
			err = -ENOTDIR;
			goto out_unlock;
		}
		if (!sdir && tdir) {
			err = -EISDIR;
			goto out_unlock;
		}
		if (tdir && di_read(fs, t)->dir.nentries) {
			err = -ENOTEMPTY;
			goto out_unlock;
		}
	} else if (sdir && parent != newparent &&
		   le32_to_cpu(di_read(fs, newparent)->nlink) >= DIR_NLINK_MAX) {
		err = -EMLINK;
		goto out_unlock;
	}
	tx_begin(fs);
	if (t) {
		err = dir_set(fs, newparent, newname, nlen, s, ino_dt(fs, s));
		if (err)
			goto out_abort;
		if (tdir)
			nlink_add(fs, newparent, -1);
		tdrop = drop_link(fs, t, &tattr);
		if (tdrop == DROP_LINKED)
			iext_forget(fs, t, newparent, newname, nlen);
	} else {
		err = dir_insert(fs, newparent, newname, nlen, s, ino_dt(fs, s));
		if (err)
			goto out_abort;
	}
	if (flags & DAXFS_RENAME_WHITEOUT)
		err = put_whiteout(fs, parent, name, len, uid, gid);
	else
		err = dir_remove(fs, parent, name, len);
	if (err)
		goto out_abort;
	if (sdir && parent != newparent) {
		nlink_add(fs, parent, -1);
		nlink_add(fs, newparent, 1);
		di_write(fs, s)->parent = cpu_to_le64(newparent);
	}
	touch(fs, s, false);
	iext_set(fs, s, newparent, newname, nlen);
out_commit:
	touch(fs, parent, true);
	if (newparent != parent)
		touch(fs, newparent, true);
	err = tx_commit(fs);
	if (!err && tdrop == DROP_FREED)
		inode_freed(fs, t, &tattr);
	goto out_unlock;
out_abort:
	tx_abort(fs);
out_unlock:
	dx_unlock(fs);
	if (!err && tdrop == DROP_ORPHAN)
		maybe_evict(fs, t);
	return err;
}

int daxfs_readlink(struct daxfs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *lenp)
{
	const struct daxfs_dinode *di;
	uint32_t len;
	uint64_t blk;
	int err = 0;

	dx_lock(fs);
	err = di_get(fs, ino, &di);
	if (err)
		goto out_unlock;
	if (!S_ISLNK(le32_to_cpu(di->mode))) {
		err = -EINVAL;
		goto out_unlock;
	}
	/* di_get() checked the block number and the length */
	len = le32_to_cpu(di->symlink.len);
	blk = le64_to_cpu(di->symlink.blk);
	if (daxfs_crc32c(0, dx_ptr(fs, blk_to_off(blk)), len) != le32_to_cpu(di->symlink.crc)) {
		err = dx_corrupt(fs, DAXFS_ERR_SYMLINK, DAXFS_WHY_CRC, ino, blk,
				 "checksum mismatch");
		goto out_unlock;
	}
	if (lenp)
		*lenp = len;
	if (bufsize <= len) {
		err = -ERANGE;
		goto out_unlock;
	}
	memcpy(buf, dx_ptr(fs, blk_to_off(blk)), len);
	buf[len] = '\0';
out_unlock:
	dx_unlock(fs);
	return err;
}

struct rd_ctx {
	daxfs_filldir_fn fn;
	void *ctx;
};

static int readdir_cb(void *ctx, uint64_t key, const char *name, size_t len, uint64_t ino,
		      unsigned type)
{
	struct rd_ctx *c = ctx;
	char buf[DAXFS_NAME_MAX + 1];

	memcpy(buf, name, len);
	buf[len] = '\0';
	return c->fn(c->ctx, buf, ino, type, key + 3) ? 1 : 0;
}

int daxfs_readdir(struct daxfs *fs, uint64_t ino, uint64_t cookie, daxfs_filldir_fn fn, void *ctx)
{
	struct rd_ctx c = {fn, ctx};
	int err;

	dx_lock(fs);
	err = get_dir(fs, ino);
	if (err)
		goto out_unlock;
	if (cookie == 0) {
		if (fn(ctx, ".", ino, DT_DIR, 1))
			goto out_unlock;
		cookie = 1;
	}
	if (cookie == 1) {
		if (fn(ctx, "..", le64_to_cpu(di_read(fs, ino)->parent), DT_DIR, 2))
			goto out_unlock;
		cookie = 2;
	}
	err = dir_iterate(fs, ino, cookie - 2, readdir_cb, &c);
out_unlock:
	dx_unlock(fs);
	return err;
}
