/* SPDX-License-Identifier: MIT */
/*
 * fuse_posix.c - what the kernel leaves to a FUSE filesystem that a local
 * one gets from the VFS: the inode flags of chattr (FS_IOC_GETFLAGS and
 * friends arrive as FUSE ioctls; the kernel checked the caller's right to
 * change them, but it knows nothing of what they forbid, so opens and
 * writes are checked here), the group rule of ACL updates, access times,
 * and remounting (DAXFS_IOC_REMOUNT from `daxfs -o remount`).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daxfs.h"
#include "errmsg.h"
#include "fuse_daemon.h"
#include "mmap_server.h"

/* FS_XFLAG_* of FS_IOC_FSGETXATTR for each FS_*_FL the core keeps */
static const struct {
	uint32_t fl, xfl;
} xflag_map[] = {
	{FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE},
	{FS_APPEND_FL, FS_XFLAG_APPEND},
	{FS_NODUMP_FL, FS_XFLAG_NODUMP},
	{FS_NOATIME_FL, FS_XFLAG_NOATIME},
};
#define NXFLAGS (sizeof(xflag_map) / sizeof(xflag_map[0]))

static_assert(DAXFS_FL_IMMUTABLE == FS_IMMUTABLE_FL && DAXFS_FL_APPEND == FS_APPEND_FL &&
		      DAXFS_FL_NODUMP == FS_NODUMP_FL && DAXFS_FL_NOATIME == FS_NOATIME_FL,
	      "the core's flags are the FS_*_FL values");

int daxfs_fuse_open_allowed(struct daxfs_daemon *d, uint64_t ino, int flags)
{
	bool writes = (flags & O_ACCMODE) != O_RDONLY;
	uint32_t fl;
	int err;

	if (!writes && !(flags & O_TRUNC))
		return 0;
	err = daxfs_getflags(d->fs, ino, &fl);
	if (err)
		return err;
	if (fl & DAXFS_FL_IMMUTABLE)
		return -EPERM;
	if ((fl & DAXFS_FL_APPEND) && ((flags & O_TRUNC) || !(flags & O_APPEND)))
		return -EPERM;
	return 0;
}

int daxfs_fuse_write_allowed(struct daxfs_daemon *d, uint64_t ino, int flags)
{
	uint32_t fl;
	int err;

	/* O_APPEND writes land at the end: the core refuses them if immutable */
	if (flags & O_APPEND)
		return 0;
	err = daxfs_getflags(d->fs, ino, &fl);
	if (err)
		return err;
	return (fl & (DAXFS_FL_IMMUTABLE | DAXFS_FL_APPEND)) ? -EPERM : 0;
}

/* Does process @pid have capability @cap in its effective set? */
static bool has_cap(pid_t pid, unsigned cap)
{
	char path[64], line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found && cap < 64 && (eff >> cap) & 1;
}

#define CAP_FSETID_BIT 4

bool daxfs_fuse_acl_kills_sgid(fuse_req_t req, uint32_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[256];
	int n;

	if (ctx->gid == gid)
		return false;
	n = fuse_req_getgroups(req, (int)(sizeof(groups) / sizeof(groups[0])), groups);
	for (int k = 0; k < n && k < (int)(sizeof(groups) / sizeof(groups[0])); k++)
		if (groups[k] == gid)
			return false;
	return !has_cap(ctx->pid, CAP_FSETID_BIT);
}

void daxfs_fuse_touch_atime(struct daxfs_daemon *d, uint64_t ino, bool dir)
{
	enum daxfs_atime policy = atomic_load_explicit(&d->atime, memory_order_relaxed);

	if (policy == DAXFS_ATIME_NEVER || (dir && atomic_load(&d->nodiratime)))
		return;
	/* best effort, as for a local filesystem: a failed update is no read error */
	(void)daxfs_touch_atime(d->fs, ino, policy);
}

static void reply_flags(fuse_req_t req, uint32_t fl, size_t out_bufsz)
{
	unsigned int v = fl;

	if (out_bufsz < sizeof(v))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_ioctl(req, 0, &v, sizeof(v));
}

/* chattr: the page path writes back first, so no cached data lands later */
static int set_flags(struct daxfs_daemon *d, uint64_t ino, uint32_t fl)
{
	int err = d->dp_ops->flush ? d->dp_ops->flush(d->dp, ino, false) : 0;

	return err ? err : daxfs_setflags(d->fs, ino, fl);
}

static void flags_ioctl(struct daxfs_daemon *d, fuse_req_t req, fuse_ino_t ino, unsigned cmd,
			const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fsxattr fx;
	unsigned int in;
	uint32_t fl = 0;
	int err = 0;

	switch (cmd) {
	case FS_IOC_GETFLAGS:
		err = daxfs_getflags(d->fs, ino, &fl);
		if (!err) {
			reply_flags(req, fl, out_bufsz);
			return;
		}
		break;
	case FS_IOC_SETFLAGS:
		if (in_bufsz < sizeof(in)) {
			err = -EINVAL;
			break;
		}
		memcpy(&in, in_buf, sizeof(in));
		err = set_flags(d, ino, in);
		if (!err) {
			fuse_reply_ioctl(req, 0, NULL, 0);
			return;
		}
		break;
	case FS_IOC_FSGETXATTR:
		if (out_bufsz < sizeof(fx)) {
			err = -EINVAL;
			break;
		}
		err = daxfs_getflags(d->fs, ino, &fl);
		if (err)
			break;
		memset(&fx, 0, sizeof(fx));
		for (size_t k = 0; k < NXFLAGS; k++)
			if (fl & xflag_map[k].fl)
				fx.fsx_xflags |= xflag_map[k].xfl;
		fuse_reply_ioctl(req, 0, &fx, sizeof(fx));
		return;
	case FS_IOC_FSSETXATTR:
		if (in_bufsz < sizeof(fx)) {
			err = -EINVAL;
			break;
		}
		memcpy(&fx, in_buf, sizeof(fx));
		for (size_t k = 0; k < NXFLAGS; k++)
			if (fx.fsx_xflags & xflag_map[k].xfl) {
				fl |= xflag_map[k].fl;
				fx.fsx_xflags &= ~xflag_map[k].xfl;
			}
		if (fx.fsx_xflags || fx.fsx_extsize || fx.fsx_projid || fx.fsx_cowextsize)
			err = -EOPNOTSUPP;
		else
			err = set_flags(d, ino, fl);
		if (!err) {
			fuse_reply_ioctl(req, 0, NULL, 0);
			return;
		}
		break;
	}
	fuse_reply_err(req, -err);
}

/* may the caller of @req change how this daemon mounts? root or our owner */
static bool may_remount(fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	return uid == 0 || uid == getuid();
}

int daxfs_fuse_remount(struct daxfs_daemon *d, const struct daxfs_ioc_remount *r)
{
	int err = 0;

	if (r->flags & ~(DAXFS_REMOUNT_RDONLY | DAXFS_REMOUNT_RDWR | DAXFS_REMOUNT_ATIME |
			 DAXFS_REMOUNT_DIRATIME | DAXFS_REMOUNT_NODIRATIME) ||
	    ((r->flags & DAXFS_REMOUNT_RDONLY) && (r->flags & DAXFS_REMOUNT_RDWR)) ||
	    ((r->flags & DAXFS_REMOUNT_ATIME) && r->atime > DAXFS_ATIME_STRICT))
		return pmd_err(-EINVAL, "remount: bad request");
	pthread_mutex_lock(&d->remount_lock);
	if ((r->flags & DAXFS_REMOUNT_RDONLY) && !d->read_only) {
		/* everything durable first: the page path's dirty pages */
		if (d->dp_ops->flush)
			err = d->dp_ops->flush(d->dp, 0, false);
		/* no writable DAX mapping may go on storing */
		if (!err)
			err = daxfs_mmap_server_set_read_only(d->mmap, true);
		if (!err) {
			err = daxfs_remount(d->fs, true);
			if (err)
				(void)daxfs_mmap_server_set_read_only(d->mmap, false);
		}
		if (!err)
			d->read_only = true;
	} else if ((r->flags & DAXFS_REMOUNT_RDWR) && !d->read_only) {
		/* staying read-write: refused (EROFS) once errors=remount-ro
		 * stopped changes, as from read-only */
		err = daxfs_remount(d->fs, false);
	} else if (r->flags & DAXFS_REMOUNT_RDWR) {
		err = daxfs_remount(d->fs, false);
		if (!err) {
			err = daxfs_mmap_server_set_read_only(d->mmap, false);
			if (err)
				(void)daxfs_remount(d->fs, true);
		}
		if (!err)
			d->read_only = false;
	}
	if (!err && (r->flags & DAXFS_REMOUNT_ATIME))
		atomic_store(&d->atime, (enum daxfs_atime)r->atime);
	if (!err && (r->flags & (DAXFS_REMOUNT_DIRATIME | DAXFS_REMOUNT_NODIRATIME)))
		atomic_store(&d->nodiratime, (r->flags & DAXFS_REMOUNT_NODIRATIME) != 0);
	pthread_mutex_unlock(&d->remount_lock);
	return err;
}

bool daxfs_fuse_posix_ioctl(struct daxfs_daemon *d, fuse_req_t req, fuse_ino_t ino, unsigned cmd,
			    const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct daxfs_ioc_remount r;
	int err;

	switch (cmd) {
	case FS_IOC_GETFLAGS:
	case FS_IOC_SETFLAGS:
	case FS_IOC_FSGETXATTR:
	case FS_IOC_FSSETXATTR:
		flags_ioctl(d, req, ino, cmd, in_buf, in_bufsz, out_bufsz);
		return true;
	case DAXFS_IOC_REMOUNT:
		if (!may_remount(req)) {
			err = -EPERM;
		} else if (in_bufsz != sizeof(r)) {
			err = -EINVAL;
		} else {
			memcpy(&r, in_buf, sizeof(r));
			err = daxfs_fuse_remount(d, &r);
		}
		if (err)
			fuse_reply_err(req, -err);
		else
			fuse_reply_ioctl(req, 0, NULL, 0);
		return true;
	default:
		return false;
	}
}
