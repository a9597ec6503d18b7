/* SPDX-License-Identifier: MIT */
/*
 * fuse_ops.c - the FUSE low-level operations of the daxfs daemon: thin glue
 * from FUSE requests to the core (daxfs.h) and the data path (datapath.h).
 *
 * Lifetime: every reply that gives the kernel a lookup count (lookup,
 * create, mknod, mkdir, symlink, link) takes one core reference with
 * daxfs_iget(); forget drops them with daxfs_iput(). Those only keep the
 * inode number (the core is opened with DAXFS_O_OPENREFS): OPEN and CREATE
 * take an open reference that RELEASE drops, so an unlinked file stays
 * readable while open and is freed by the unlink itself when nothing has
 * it open (in the same transaction when it holds no blocks), else by the
 * last release; the forget that follows only gives its number back. The
 * kernel reaches an unlinked inode without opening it only for getattr
 * (fstat of an O_PATH descriptor), answered from what it was when freed.
 *
 * Coherence: with cache=never (the default) files are opened with direct_io
 * and without keep_cache, so every read and write comes here; shared
 * mappings go through the kernel's page cache, kept coherent as
 * fuse_cache.c explains; cache=auto|always let the kernel cache file data.
 * Names (also absent ones) are cached by the kernel for a long time: every
 * name change of this filesystem goes through this daemon and the kernel.
 *
 * setuid/setgid: the daemon asks for FUSE_CAP_HANDLE_KILLPRIV_V2 and clears
 * the bits itself (DAXFS_SET_KILL_SUIDGID) when the kernel says the writer
 * lacks CAP_FSETID: on WRITE, on a truncating SETATTR or OPEN, and on every
 * change of owner of a non-directory, as the kernel does for local files.
 *
 * Permissions: the daemon always mounts with default_permissions, so the
 * kernel checks modes and owners before calling us.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "badblocks_ctl.h"
#include "memfail.h"
#include "daxfs.h"
#include "errmsg.h"
#include "json.h"
#include "fuse_daemon.h"
#include "mmap_server.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif

static struct daxfs_daemon *daemon_of(fuse_req_t req)
{
	struct daxfs_daemon *d = fuse_req_userdata(req);

	/* the /dev/fuse loop gathers FORGETs once the ring serves (fuse_devloop.h) */
	if (d->uring_wanted && !atomic_load_explicit(&d->ring_live, memory_order_relaxed) &&
	    fuse_req_is_uring(req))
		atomic_store(&d->ring_live, true);
	return d;
}

static void op_done(struct daxfs_daemon *d, enum daxfs_stat_op op, uint64_t t0, int err)
{
	daxfs_fuse_stats_op_done(&d->stats, op, t0, err);
}

static bool is_stats_ino(fuse_ino_t ino)
{
	return ino == DAXFS_FUSE_STATS_INO || ino == DAXFS_FUSE_STATS_JSON_INO;
}

/* The hidden names live only in the root directory. */
static bool is_stats_name(fuse_ino_t parent, const char *name)
{
	return parent == DAXFS_ROOT_INO &&
	       (!strcmp(name, DAXFS_STATS_NAME) || !strcmp(name, DAXFS_STATS_JSON_NAME));
}

static void attr_to_stat(const struct daxfs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = a->blksize ? a->blksize : DAXFS_BLOCK_SIZE;
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

static void stats_attr(struct daxfs_daemon *d, fuse_ino_t ino, struct stat *st)
{
	struct daxfs_attr root;

	memset(st, 0, sizeof(*st));
	if (daxfs_getattr(d->fs, DAXFS_ROOT_INO, &root) == 0) {
		st->st_uid = root.uid;
		st->st_gid = root.gid;
		st->st_atim = st->st_mtim = st->st_ctim = root.ctime;
	}
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = 0; /* generated at open; served with direct_io */
	st->st_blksize = DAXFS_BLOCK_SIZE;
}

/* The entry the kernel gets for inode @a, with the mount's timeouts. */
static void fill_entry(const struct daxfs_daemon *d, const struct daxfs_attr *a,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	/* file handles carry it; the kernel wants 0 for the root (never reused) */
	e->generation = a->ino == FUSE_ROOT_ID ? 0 : a->generation;
	e->attr_timeout = d->attr_timeout;
	e->entry_timeout = d->entry_timeout;
	attr_to_stat(a, &e->attr);
}

/* send_entry - answer @req with @a, whose core reference the caller took. */
static void send_entry(fuse_req_t req, struct daxfs_daemon *d, const struct daxfs_attr *a)
{
	struct fuse_entry_param e;

	fill_entry(d, a, &e);
	if (fuse_reply_entry(req, &e))
		daxfs_iput(d->fs, a->ino, 1); /* the kernel never got it */
}

static void reply_result(fuse_req_t req, int err)
{
	fuse_reply_err(req, err < 0 ? -err : err);
}

/*
 * Count @req as operation @op, then answer it with @err (0 or -errno).
 * Counting comes first so that whoever saw the reply also sees the count
 * in `daxfs stat` (the tests compare counts around their own requests).
 */
static void reply_done(fuse_req_t req, struct daxfs_daemon *d, enum daxfs_stat_op op, uint64_t t0,
		       int err)
{
	op_done(d, op, t0, err);
	reply_result(req, err);
}

/*
 * Finish a request that makes a name: the entry for @a (with its core
 * reference) on success, else the error @err.
 */
static void entry_done(fuse_req_t req, struct daxfs_daemon *d, enum daxfs_stat_op op, uint64_t t0,
		       int err, const struct daxfs_attr *a)
{
	if (!err)
		err = daxfs_iget(d->fs, a->ino);
	op_done(d, op, t0, err);
	if (err)
		reply_result(req, err);
	else
		send_entry(req, d, a);
}

/* A regular file's handle, by cache mode (see fuse_daemon.h). */
static void open_file_info(struct daxfs_daemon *d, struct fuse_file_info *fi)
{
	fi->fh = daxfs_mmap_fh(fi->flags);
	fi->direct_io = d->cache == DAXFS_CACHE_NEVER;
	fi->keep_cache = d->cache == DAXFS_CACHE_ALWAYS;
	/* close() is no durability point (see dx_flush), but the page path
	 * reports a failed writeback there, for descriptors that could write */
	fi->noflush = !d->dp_ops->flush || !(fi->fh & DAXFS_MMAP_FH_WRITE);
}

/*
 * append_only_direct - with -o writeback, a file opened for writing that is
 * append-only (chattr +a) is opened direct_io: its writes must reach the
 * daemon with the descriptor's flags, for the check that fcntl did not drop
 * O_APPEND (daxfs_fuse_write_allowed); the kernel's writeback would hide
 * them.
 */
static void append_only_direct(struct daxfs_daemon *d, fuse_ino_t ino, struct fuse_file_info *fi)
{
	uint32_t fl;

	if (daxfs_getflags(d->fs, ino, &fl) == 0 && (fl & DAXFS_FL_APPEND))
		fi->direct_io = 1;
}

/*
 * kill_suidgid - clear setuid/setgid of @ino as an unprivileged write does.
 * The reply to a WRITE or OPEN carries no attributes, so when a bit goes
 * the kernel is told to forget the mode it has cached.
 */
static int kill_suidgid(struct daxfs_daemon *d, fuse_ino_t ino)
{
	struct daxfs_attr before, after;
	int err;

	err = daxfs_getattr(d->fs, ino, &before);
	if (err || !(before.mode & (S_ISUID | S_ISGID)))
		return err;
	memset(&after, 0, sizeof(after));
	err = daxfs_setattr(d->fs, ino, &after, DAXFS_SET_KILL_SUIDGID, &after);
	if (!err && after.mode != before.mode && d->se)
		fuse_lowlevel_notify_inval_inode(d->se, ino, -1, 0); /* attributes only */
	return err;
}

static void dx_init(void *userdata, struct fuse_conn_info *conn)
{
	struct daxfs_daemon *d = userdata;
	static const uint64_t unwanted[] = {
		FUSE_CAP_WRITEBACK_CACHE, FUSE_CAP_HANDLE_KILLPRIV, FUSE_CAP_ATOMIC_O_TRUNC,
		FUSE_CAP_SPLICE_READ,	  FUSE_CAP_SPLICE_WRITE,    FUSE_CAP_SPLICE_MOVE,
	};
	/* Each saves requests or makes something work; taken when offered. */
	static const uint64_t wanted[] = {
		FUSE_CAP_PARALLEL_DIROPS,      /* lookups and creates in one dir at once */
		FUSE_CAP_ASYNC_DIO,	       /* direct I/O requests in flight together */
		FUSE_CAP_DIRECT_IO_ALLOW_MMAP, /* shared mappings of direct_io files */
		FUSE_CAP_HANDLE_KILLPRIV_V2,   /* setuid/setgid cleared here, see above */
		FUSE_CAP_READDIRPLUS,	       /* ls -l: names with attributes, no LOOKUPs */
		FUSE_CAP_READDIRPLUS_AUTO,     /* ...plain READDIR where attributes are not used */
		FUSE_CAP_CACHE_SYMLINKS,       /* symlink targets never change */
		FUSE_CAP_POSIX_ACL,	       /* the kernel checks ACLs; kept with the mode here */
		FUSE_CAP_DONT_MASK,	       /* the umask is ours to apply (default ACLs) */
		FUSE_CAP_EXPORT_SUPPORT,       /* file handles: LOOKUP of "." and ".." */
		FUSE_CAP_IOCTL_DIR,	       /* chattr and remount on directories */
	};
	size_t i;

	conn->max_write = DAXFS_FUSE_MAX_IO;
	conn->max_readahead = DAXFS_FUSE_MAX_IO;
	for (i = 0; i < sizeof(unwanted) / sizeof(unwanted[0]); i++)
		fuse_unset_feature_flag(conn, unwanted[i]);
	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		fuse_set_feature_flag(conn, wanted[i]);
	/* cache=auto: drop cached data when size or mtime changed (close-to-open). */
	if (d->cache == DAXFS_CACHE_AUTO)
		fuse_set_feature_flag(conn, FUSE_CAP_AUTO_INVAL_DATA);
	else
		fuse_unset_feature_flag(conn, FUSE_CAP_AUTO_INVAL_DATA);
	/* -o writeback: the kernel keeps written data and sizes of files it has
	 * cached, and writes back later (fuse_daemon.h) */
	if (d->writeback && !fuse_set_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE))
		daxfs_fuse_log(d, "daxfs: warning: the kernel does not offer the FUSE "
				  "writeback cache: -o writeback has no effect, every write "
				  "goes to the daemon");
	if (d->uring_wanted)
		fuse_set_feature_flag(conn, FUSE_CAP_OVER_IO_URING);
	d->no_opendir = (conn->capable_ext & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	conn->time_gran = 1;
}

static void dx_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_attr a;
	int err;

	if (is_stats_name(parent, name)) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.ino = strcmp(name, DAXFS_STATS_NAME) ? DAXFS_FUSE_STATS_JSON_INO
						       : DAXFS_FUSE_STATS_INO;
		stats_attr(d, e.ino, &e.attr);
		op_done(d, DXS_LOOKUP, t0, 0);
		fuse_reply_entry(req, &e);
		return;
	}
	err = daxfs_lookup(d->fs, parent, name, &a);
	/* "." and ".." come from file handles (EXPORT_SUPPORT): a missing
	 * inode is an error (ESTALE to the caller), never a negative name */
	if (err == -ENOENT && d->negative_timeout > 0 && strcmp(name, ".") && strcmp(name, "..")) {
		struct fuse_entry_param e;

		/* a negative entry: the kernel remembers the name is absent */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = d->negative_timeout;
		op_done(d, DXS_LOOKUP, t0, 0);
		fuse_reply_entry(req, &e);
		return;
	}
	if (err == -ENOENT) { /* an answer, not a failure of the daemon */
		op_done(d, DXS_LOOKUP, t0, 0);
		reply_result(req, err);
		return;
	}
	entry_done(req, d, DXS_LOOKUP, t0, err, &a);
}

static void forget_one(struct daxfs_daemon *d, fuse_ino_t ino, uint64_t nlookup)
{
	if (is_stats_ino(ino))
		return;
	/* The kernel evicted the inode: cached pages go before the reference
	 * (dirty ones of a file that still exists stay if they cannot) */
	if (d->dp_ops->forget)
		d->dp_ops->forget(d->dp, ino);
	daxfs_iput(d->fs, ino, nlookup);
}

static void dx_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();

	forget_one(d, ino, nlookup);
	op_done(d, DXS_FORGET, t0, 0);
	fuse_reply_none(req);
}

static void dx_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	size_t i;

	for (i = 0; i < count; i++)
		forget_one(d, forgets[i].ino, forgets[i].nlookup);
	op_done(d, DXS_FORGET, t0, 0);
	fuse_reply_none(req);
}

static void dx_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_attr a;
	struct stat st;
	int err = 0;

	if (is_stats_ino(ino)) {
		stats_attr(d, ino, &st);
		op_done(d, DXS_GETATTR, t0, 0);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	err = daxfs_getattr(d->fs, ino, &a);
	if (err) {
		reply_done(req, d, DXS_GETATTR, t0, err);
		return;
	}
	attr_to_stat(&a, &st);
	op_done(d, DXS_GETATTR, t0, 0);
	fuse_reply_attr(req, &st, d->attr_timeout);
}

static void dx_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_attr in, out;
	unsigned valid = 0;
	struct stat st;
	int err;

	if (is_stats_ino(ino)) {
		err = -EPERM;
		goto out_reply;
	}
	memset(&in, 0, sizeof(in));
	if (to_set & FUSE_SET_ATTR_MODE) {
		valid |= DAXFS_SET_MODE;
		in.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		valid |= DAXFS_SET_UID;
		in.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		valid |= DAXFS_SET_GID;
		in.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		valid |= DAXFS_SET_SIZE;
		in.size = (uint64_t)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		valid |= DAXFS_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		valid |= DAXFS_SET_ATIME;
		in.atime = attr->st_atim;
	}
	/*
	 * -o writeback: the kernel keeps mtime and ctime and sends "set to now"
	 * as its own clock's time, so a touch looks like explicit times (which
	 * chattr +a refuses). Its atime keeps the "now" flag: with it, an mtime
	 * within a second of our clock is taken as "now" too (utimensat with an
	 * explicit mtime and UTIME_NOW for atime keeps its mtime).
	 */
	if (d->writeback && (to_set & FUSE_SET_ATTR_ATIME_NOW) && (to_set & FUSE_SET_ATTR_MTIME) &&
	    !(to_set & FUSE_SET_ATTR_MTIME_NOW)) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (llabs((long long)(now.tv_sec - attr->st_mtim.tv_sec)) <= 1) {
			to_set |= FUSE_SET_ATTR_MTIME_NOW;
			to_set &= ~FUSE_SET_ATTR_CTIME;
		}
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		valid |= DAXFS_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		valid |= DAXFS_SET_MTIME;
		in.mtime = attr->st_mtim;
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		valid |= DAXFS_SET_CTIME;
		in.ctime = attr->st_ctim;
	}
	/*
	 * KILLPRIV_V2: the kernel sets FATTR_KILL_SUIDGID (the value of
	 * FUSE_SET_ATTR_KILL_SUID) on a truncate by a process without
	 * CAP_FSETID, and leaves the clearing at a change of owner to us.
	 */
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID))
		valid |= DAXFS_SET_KILL_SUIDGID;
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		struct daxfs_attr cur;

		if (daxfs_getattr(d->fs, ino, &cur) == 0 && !S_ISDIR(cur.mode))
			valid |= DAXFS_SET_KILL_SUIDGID;
	}
	if ((valid & DAXFS_SET_SIZE) && d->dp_ops->flush) {
		err = d->dp_ops->flush(d->dp, ino, true);
		if (err)
			goto out_reply;
	}
	err = daxfs_setattr(d->fs, ino, &in, valid, &out);
	if (!err) {
		attr_to_stat(&out, &st);
		op_done(d, DXS_SETATTR, t0, 0);
		fuse_reply_attr(req, &st, d->attr_timeout);
		return;
	}
out_reply:
	reply_done(req, d, DXS_SETATTR, t0, err);
}

static void dx_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	char buf[DAXFS_SYMLINK_MAX + 1];
	int err;

	err = daxfs_readlink(d->fs, ino, buf, sizeof(buf), NULL);
	if (err) {
		reply_done(req, d, DXS_READLINK, t0, err);
		return;
	}
	op_done(d, DXS_READLINK, t0, 0);
	fuse_reply_readlink(req, buf);
}

/* Owner of a new inode: the caller, or a setgid parent directory's group. */
static void new_owner(fuse_req_t req, struct daxfs_daemon *d, fuse_ino_t parent, uint32_t *mode,
		      uint32_t *uid, uint32_t *gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct daxfs_attr pa;

	*uid = ctx->uid;
	*gid = ctx->gid;
	if (daxfs_getattr(d->fs, parent, &pa) == 0 && (pa.mode & S_ISGID)) {
		*gid = pa.gid;
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	}
}

/*
 * What daxfs_make() creates for @req: the umask of the caller is applied
 * by the core unless the directory has a default ACL (FUSE_CAP_DONT_MASK;
 * without it the kernel applied the umask already and sends 0).
 */
static struct daxfs_new new_inode_args(fuse_req_t req, uint32_t mode, uint32_t uid, uint32_t gid,
				       dev_t rdev)
{
	struct daxfs_new n = {.mode = mode,
			      .umask = fuse_req_ctx(req)->umask & 0777,
			      .uid = uid,
			      .gid = gid,
			      .rdev = rdev};

	return n;
}

/* mknod, mkdir and symlink (@link: the target of a symlink, else NULL). */
static void make_node(fuse_req_t req, fuse_ino_t parent, const char *name, uint32_t m, dev_t rdev,
		      const char *link, enum daxfs_stat_op op)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	uint32_t uid, gid;
	struct daxfs_attr a;
	int err;

	if (is_stats_name(parent, name)) {
		reply_done(req, d, op, t0, -EEXIST);
		return;
	}
	new_owner(req, d, parent, &m, &uid, &gid);
	if (op == DXS_SYMLINK) {
		err = daxfs_symlink(d->fs, parent, name, link, uid, gid, &a);
	} else {
		struct daxfs_new n = new_inode_args(req, m, uid, gid, rdev);

		err = daxfs_make(d->fs, parent, name, &n, &a);
	}
	entry_done(req, d, op, t0, err, &a);
}

static void dx_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL, DXS_MKNOD);
}

static void dx_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, (mode & 07777) | S_IFDIR, 0, NULL, DXS_MKDIR);
}

/* unlink, or rmdir when @op is DXS_RMDIR; the hidden names cannot go. */
static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, enum daxfs_stat_op op)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	if (is_stats_name(parent, name))
		err = op == DXS_RMDIR ? -ENOTDIR : -EPERM;
	else if (op == DXS_RMDIR)
		err = daxfs_rmdir(d->fs, parent, name);
	else
		err = daxfs_unlink(d->fs, parent, name);
	reply_done(req, d, op, t0, err);
}

static void dx_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, DXS_UNLINK);
}

static void dx_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, DXS_RMDIR);
}

static void dx_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	make_node(req, parent, name, S_IFLNK | 0777, 0, link, DXS_SYMLINK);
}

static void dx_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	unsigned f = 0;
	int err;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
		err = -EINVAL;
	} else if (is_stats_name(parent, name) || is_stats_name(newparent, newname)) {
		err = -EPERM;
	} else {
		if (flags & RENAME_NOREPLACE)
			f |= DAXFS_RENAME_NOREPLACE;
		if (flags & RENAME_EXCHANGE)
			f |= DAXFS_RENAME_EXCHANGE;
		if (flags & RENAME_WHITEOUT) /* overlayfs: owned by the caller, as on ext4 */
			f |= DAXFS_RENAME_WHITEOUT;
		err = daxfs_rename_wh(d->fs, parent, name, newparent, newname, f,
				      fuse_req_ctx(req)->uid, fuse_req_ctx(req)->gid);
	}
	reply_done(req, d, DXS_RENAME, t0, err);
}

static void dx_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_attr a;
	int err;

	if (is_stats_ino(ino) || is_stats_name(newparent, newname))
		err = -EPERM;
	else
		err = daxfs_link(d->fs, ino, newparent, newname, &a);
	entry_done(req, d, DXS_LINK, t0, err, &a);
}

/* A statistics snapshot, generated at open, held by the file handle. */
struct stats_snap {
	char *buf;
	size_t len;
};

static int open_stats(struct daxfs_daemon *d, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stats_snap *s;
	FILE *f;

	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	f = open_memstream(&s->buf, &s->len);
	if (!f) {
		free(s);
		return -ENOMEM;
	}
	daxfs_fuse_print_stats(d, f, ino == DAXFS_FUSE_STATS_JSON_INO);
	fclose(f);
	fi->fh = (uintptr_t)s;
	fi->direct_io = 1;
	fi->noflush = 1; /* read-only: its close has nothing to report */
	return 0;
}

/* Serialises replies from stats snapshots with their release (see dx_read). */
static pthread_mutex_t stats_snap_lock = PTHREAD_MUTEX_INITIALIZER;

static void dx_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err = 0;

	if (is_stats_ino(ino)) {
		err = open_stats(d, ino, fi);
	} else {
		err = daxfs_fuse_open_allowed(d, ino, fi->flags);
		if (!err && fi->kill_suidgid && (fi->flags & O_TRUNC))
			err = kill_suidgid(d, ino);
		if (!err)
			err = daxfs_open_ref(d->fs, ino, 0); /* until RELEASE */
		open_file_info(d, fi);
		if (!err && d->writeback && (fi->flags & O_ACCMODE) != O_RDONLY)
			append_only_direct(d, ino, fi);
	}
	/* the statistics files, the instrument, are not counted (fuse_stats.h) */
	if (!is_stats_ino(ino))
		op_done(d, DXS_OPEN, t0, err);
	if (err)
		reply_result(req, err);
	else if (fuse_reply_open(req, fi) && !is_stats_ino(ino))
		daxfs_open_put(d->fs, ino); /* not delivered: no RELEASE comes */
}

static void dx_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct fuse_bufvec *bv;
	int err;

	if (is_stats_ino(ino)) {
		struct stats_snap *s = (struct stats_snap *)(uintptr_t)fi->fh;
		size_t n = 0;

		/*
		 * The kernel may send RELEASE while a READ of the same handle is
		 * still being answered (direct I/O reads can complete in the
		 * kernel before every split request is answered): the snapshot
		 * is freed under the same lock, never in the middle of a reply.
		 */
		pthread_mutex_lock(&stats_snap_lock);
		if ((uint64_t)off < s->len)
			n = s->len - (size_t)off < size ? s->len - (size_t)off : size;
		fuse_reply_buf(req, n ? s->buf + off : NULL, n);
		pthread_mutex_unlock(&stats_snap_lock);
		return;
	}
	if (size > DAXFS_FUSE_MAX_IO)
		size = DAXFS_FUSE_MAX_IO;
	err = d->dp_ops->read(d->dp, ino, (uint64_t)off, size, &bv);
	if (err) {
		reply_done(req, d, DXS_READ, t0, err);
		return;
	}
	atomic_fetch_add_explicit(&d->stats.bytes_read, fuse_buf_size(bv), memory_order_relaxed);
	op_done(d, DXS_READ, t0, 0); /* the copy into the reply is the kernel's */
	fuse_reply_data(req, bv, 0);
	if (d->dp_ops->read_done)
		d->dp_ops->read_done(d->dp, ino);
	daxfs_fuse_touch_atime(d, ino, false); /* after the reply: off the reader's path */
}

static void dx_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	long n;

	if (is_stats_ino(ino)) {
		reply_done(req, d, DXS_WRITE, t0, -EBADF);
		return;
	}
	/* chattr +i/+a (the VFS checks them at open, FUSE cannot: fcntl may drop
	 * O_APPEND later; a writeback of mapped pages was allowed at open), then
	 * a writer without CAP_FSETID clears setuid/setgid first (KILLPRIV_V2). */
	n = fi->writepage ? 0 : daxfs_fuse_write_allowed(d, ino, fi->flags);
	if (n == 0 && fi->kill_suidgid)
		n = kill_suidgid(d, ino);
	if (n == 0)
		n = d->dp_ops->write(d->dp, ino, (uint64_t)off, in);
	if (n < 0) {
		reply_done(req, d, DXS_WRITE, t0, (int)n);
		return;
	}
	atomic_fetch_add_explicit(&d->stats.bytes_written, (uint64_t)n, memory_order_relaxed);
	op_done(d, DXS_WRITE, t0, 0);
	fuse_reply_write(req, (size_t)n);
}

/*
 * FLUSH (sent at every close). The dax and bio paths are durable at each
 * reply and open files with noflush, so the kernel does not send it; an
 * answer of ENOSYS would stop it for the life of the mount anyway. The page
 * path writes the file's dirty pages back here, so that close(2) of a
 * descriptor open for writing reports a writeback that failed (the pages
 * stay dirty and are tried again).
 */
static void dx_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	if (!d->dp_ops->flush || is_stats_ino(ino)) {
		op_done(d, DXS_FLUSH, t0, 0);
		fuse_reply_err(req, is_stats_ino(ino) ? 0 : ENOSYS);
		return;
	}
	/* the close of a descriptor that could not write reports nothing */
	err = fi->fh & DAXFS_MMAP_FH_WRITE ? d->dp_ops->flush(d->dp, ino, false) : 0;
	reply_done(req, d, DXS_FLUSH, t0, err);
}

static void dx_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err = 0;

	if (is_stats_ino(ino)) {
		struct stats_snap *s = (struct stats_snap *)(uintptr_t)fi->fh;

		pthread_mutex_lock(&stats_snap_lock);
		if (s) {
			free(s->buf);
			free(s);
		}
		pthread_mutex_unlock(&stats_snap_lock);
		fuse_reply_err(req, 0); /* not counted (fuse_stats.h) */
		return;
	}
	if (d->dp_ops->flush)
		err = d->dp_ops->flush(d->dp, ino, false);
	/* after the writeback: the last close of an unlinked file frees it */
	daxfs_open_put(d->fs, ino);
	reply_done(req, d, DXS_RELEASE, t0, err);
}

static void dx_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err = 0;

	if (!is_stats_ino(ino))
		err = d->dp_ops->fsync(d->dp, ino, datasync);
	reply_done(req, d, DXS_FSYNC, t0, err);
}

/*
 * OPENDIR, like FLUSH, is answered with ENOSYS where the kernel allows it
 * (FUSE_CAP_NO_OPENDIR_SUPPORT): it then opens directories without asking
 * (and sends no RELEASEDIR), a round trip saved per opendir(3). Nothing is
 * lost: the kernel knows the inode is a directory, READDIR checks again.
 */
static void dx_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_attr a;
	int err;

	if (d->no_opendir) {
		op_done(d, DXS_OPENDIR, t0, 0);
		fuse_reply_err(req, ENOSYS);
		return;
	}
	err = daxfs_getattr(d->fs, ino, &a);
	if (!err && !S_ISDIR(a.mode))
		err = -ENOTDIR;
	if (err) {
		reply_done(req, d, DXS_OPENDIR, t0, err);
		return;
	}
	fi->fh = 0;
	op_done(d, DXS_OPENDIR, t0, 0);
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size; /* bytes available */
	size_t used; /* bytes filled */
};

static int fill_dirent(void *ctx, const char *name, uint64_t ino, unsigned type,
		       uint64_t next_cookie)
{
	struct dirbuf *db = ctx;
	struct stat st;
	size_t need;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = (mode_t)type << 12;
	need = fuse_add_direntry(db->req, NULL, 0, name, NULL, 0);
	if (db->used + need > db->size)
		return 1;
	fuse_add_direntry(db->req, db->buf + db->used, db->size - db->used, name, &st,
			  (off_t)next_cookie);
	db->used += need;
	return 0;
}

/*
 * readdir_done - after the answer to READDIR or READDIRPLUS (both counted
 * as DXS_READDIR before it): a directory that was read gets its atime (by
 * the mount's atime policy).
 */
static void readdir_done(struct daxfs_daemon *d, fuse_ino_t ino, int err)
{
	if (!err)
		daxfs_fuse_touch_atime(d, ino, true);
}

static void dx_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct dirbuf db = {.req = req, .size = size};
	int err;

	db.buf = malloc(size ? size : 1);
	err = db.buf ? daxfs_readdir(d->fs, ino, (uint64_t)off, fill_dirent, &db) : -ENOMEM;
	op_done(d, DXS_READDIR, t0, err);
	if (err)
		reply_result(req, err);
	else
		fuse_reply_buf(req, db.buf, db.used);
	free(db.buf);
	readdir_done(d, ino, err);
}

/*
 * READDIRPLUS: names with their attributes, so `ls -l` and find(1) need no
 * LOOKUP per entry. Each entry but "." and ".." gives the kernel a lookup
 * count, so it takes a core reference like a LOOKUP. The core calls back
 * under its lock, where no other core call may be made: the names are
 * collected first (as many as the reply can hold), then completed.
 */
struct plus_ent {
	uint64_t ino;
	uint64_t cookie; /* to resume after this entry */
	unsigned type;	 /* DT_* */
	char *name;
};

struct plus_buf {
	fuse_req_t req;
	size_t size; /* bytes the reply may hold */
	size_t need; /* bytes the collected entries take */
	struct plus_ent *v;
	size_t n, cap;
	int err;
};

static int collect_plus(void *ctx, const char *name, uint64_t ino, unsigned type,
			uint64_t next_cookie)
{
	struct plus_buf *pb = ctx;
	size_t need = fuse_add_direntry_plus(pb->req, NULL, 0, name, NULL, 0);

	if (pb->need + need > pb->size)
		return 1;
	if (pb->n == pb->cap) {
		size_t cap = pb->cap ? 2 * pb->cap : 32;
		struct plus_ent *v = realloc(pb->v, cap * sizeof(*v));

		if (!v) {
			pb->err = -ENOMEM;
			return 1;
		}
		pb->v = v;
		pb->cap = cap;
	}
	pb->v[pb->n].name = strdup(name);
	if (!pb->v[pb->n].name) {
		pb->err = -ENOMEM;
		return 1;
	}
	pb->v[pb->n].ino = ino;
	pb->v[pb->n].cookie = next_cookie;
	pb->v[pb->n].type = type;
	pb->n++;
	pb->need += need;
	return 0;
}

static void dx_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct plus_buf pb = {.req = req, .size = size};
	size_t i, used = 0, nref = 0;
	uint64_t *refs = NULL;
	char *buf = NULL;
	int err;

	err = daxfs_readdir(d->fs, ino, (uint64_t)off, collect_plus, &pb);
	if (!err)
		err = pb.err;
	if (!err) {
		buf = malloc(size ? size : 1);
		refs = calloc(pb.n ? pb.n : 1, sizeof(*refs));
		if (!buf || !refs)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < pb.n; i++) {
		struct plus_ent *pe = &pb.v[i];
		bool dots = !strcmp(pe->name, ".") || !strcmp(pe->name, "..");
		struct fuse_entry_param e;
		struct daxfs_attr a;
		size_t need;

		err = daxfs_getattr(d->fs, pe->ino, &a);
		if (err == -EIO) {
			/* a corrupt inode: the name alone, as READDIR gives it;
			 * a LOOKUP of it then gets the error */
			err = 0;
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = pe->ino;
			e.attr.st_mode = (mode_t)pe->type << 12;
			dots = true;
		} else if (err) {
			err = 0;
			continue; /* removed since it was listed: skip it */
		} else {
			fill_entry(d, &a, &e);
		}
		if (dots) {
			e.ino = 0; /* attributes only: the kernel keeps no count */
		} else {
			if (daxfs_iget(d->fs, pe->ino))
				continue;
			refs[nref++] = pe->ino;
		}
		need = fuse_add_direntry_plus(req, buf + used, size - used, pe->name, &e,
					      (off_t)pe->cookie);
		if (need > size - used) {
			/* the attributes made it longer than estimated: stop here */
			if (!dots)
				daxfs_iput(d->fs, refs[--nref], 1);
			break;
		}
		used += need;
	}
	op_done(d, DXS_READDIR, t0, err);
	if (err) {
		reply_result(req, err);
	} else if (fuse_reply_buf(req, buf, used)) {
		/* the kernel never got the entries: give their references back */
		for (i = 0; i < nref; i++)
			daxfs_iput(d->fs, refs[i], 1);
	}
	for (i = 0; i < pb.n; i++)
		free(pb.v[i].name);
	free(pb.v);
	free(refs);
	free(buf);
	readdir_done(d, ino, err);
}

static void dx_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();

	op_done(d, DXS_RELEASEDIR, t0, 0);
	fuse_reply_err(req, 0);
}

static void dx_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	err = daxfs_fsync(d->fs, ino, datasync);
	reply_done(req, d, DXS_FSYNCDIR, t0, err);
}

static void dx_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	struct daxfs_statfs s;
	struct statvfs sv;
	int err;

	err = daxfs_statfs(d->fs, &s);
	if (err) {
		reply_done(req, d, DXS_STATFS, t0, err);
	} else {
		memset(&sv, 0, sizeof(sv));
		sv.f_bsize = s.block_size;
		sv.f_frsize = s.block_size;
		sv.f_blocks = s.total_blocks;
		sv.f_bfree = s.free_blocks;
		sv.f_bavail = s.free_blocks;
		sv.f_files = s.total_inodes;
		sv.f_ffree = s.free_inodes;
		sv.f_favail = s.free_inodes;
		sv.f_namemax = s.name_max ? s.name_max : DAXFS_NAME_MAX;
		op_done(d, DXS_STATFS, t0, 0);
		fuse_reply_statfs(req, &sv);
	}
}

static void dx_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	struct daxfs_attr a;

	err = is_stats_ino(ino) ? -EPERM : 0;
	/* an access ACL may clear setgid: who asks is known only here */
	if (!err && !strcmp(name, "system.posix_acl_access") && value &&
	    daxfs_getattr(d->fs, ino, &a) == 0 && daxfs_fuse_acl_kills_sgid(req, a.gid))
		flags |= DAXFS_XATTR_ACL_KILL_SGID;
	if (!err)
		err = daxfs_setxattr(d->fs, ino, name, value, size, flags);
	reply_done(req, d, DXS_SETXATTR, t0, err);
}

/* Answer getxattr/listxattr: the @len bytes at @buf, or only @len when @size is 0. */
static void reply_xattr(fuse_req_t req, size_t size, const char *buf, size_t len)
{
	if (size)
		fuse_reply_buf(req, buf, len);
	else
		fuse_reply_xattr(req, len);
}

/*
 * getxattr (@name) or listxattr (@name NULL) of @ino into a buffer of @size
 * bytes, counted as @op (started at @t0) and answered on success. Returns
 * 0, or -errno left for the caller to count and answer.
 */
static int query_xattr(fuse_req_t req, struct daxfs_daemon *d, fuse_ino_t ino, const char *name,
		       size_t size, enum daxfs_stat_op op, uint64_t t0)
{
	size_t len = 0;
	char *buf = NULL;
	int err;

	if (size) {
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
	}
	if (name)
		err = daxfs_getxattr(d->fs, ino, name, buf, size, &len);
	else
		err = daxfs_listxattr(d->fs, ino, buf, size, &len);
	if (!err) {
		op_done(d, op, t0, 0);
		reply_xattr(req, size, buf, len);
	}
	free(buf);
	return err;
}

static void dx_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	err = is_stats_ino(ino) ? -ENODATA : query_xattr(req, d, ino, name, size, DXS_GETXATTR, t0);
	if (err) { /* a missing attribute is an answer, not a failure */
		op_done(d, DXS_GETXATTR, t0, err == -ENODATA ? 0 : err);
		reply_result(req, err);
	}
}

static void dx_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err = 0;

	if (is_stats_ino(ino)) {
		op_done(d, DXS_LISTXATTR, t0, 0);
		reply_xattr(req, size, NULL, 0);
	} else {
		err = query_xattr(req, d, ino, NULL, size, DXS_LISTXATTR, t0);
	}
	if (err)
		reply_done(req, d, DXS_LISTXATTR, t0, err);
}

static void dx_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err;

	err = is_stats_ino(ino) ? -EPERM : daxfs_removexattr(d->fs, ino, name);
	reply_done(req, d, DXS_REMOVEXATTR, t0, err);
}

/*
 * create_open - CREATE and TMPFILE: a regular file called @name in @parent,
 * or with @name NULL an unnamed one (O_TMPFILE: linkat() may name it),
 * opened, with one lookup reference for the kernel.
 */
static void create_open(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	uint32_t m = (mode & 07777) | S_IFREG, uid, gid;
	struct fuse_entry_param e;
	struct daxfs_attr a;
	int err;

	if (name && is_stats_name(parent, name)) {
		reply_done(req, d, DXS_CREATE, t0, -EEXIST);
		return;
	}
	new_owner(req, d, parent, &m, &uid, &gid);
	struct daxfs_new n = new_inode_args(req, m, uid, gid, 0);

	/* opened as it is made (an unlink of the new name by another process
	 * cannot come first), with the kernel's lookup; the open keeps a
	 * tmpfile */
	n.open = true;
	n.lookups = 1;
	err = daxfs_make(d->fs, parent, name, &n, &a);
	if (err) {
		reply_done(req, d, DXS_CREATE, t0, err);
		return;
	}
	fill_entry(d, &a, &e);
	if (!name)
		e.entry_timeout = 0; /* no name to cache */
	open_file_info(d, fi);
	op_done(d, DXS_CREATE, t0, 0);
	/* not delivered: drop the kernel's references (frees a tmpfile) */
	if (fuse_reply_create(req, &e, fi)) {
		daxfs_iput(d->fs, a.ino, 1);
		daxfs_open_put(d->fs, a.ino);
	}
}

static void dx_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	create_open(req, parent, name, mode, fi);
}

static void dx_tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, struct fuse_file_info *fi)
{
	create_open(req, parent, NULL, mode, fi);
}

static void dx_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	int err = 0;

	if (is_stats_ino(ino))
		err = -EPERM;
	else if (off < 0 || len <= 0)
		err = -EINVAL;
	if (!err && d->dp_ops->flush)
		err = d->dp_ops->flush(d->dp, ino, true);
	if (!err)
		err = daxfs_fallocate(d->fs, ino, mode, (uint64_t)off, (uint64_t)len);
	reply_done(req, d, DXS_FALLOCATE, t0, err);
}

static void dx_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct daxfs_daemon *d = daemon_of(req);
	uint64_t t0 = daxfs_now_ns();
	uint64_t result = 0;
	int err = 0;

	/* -o writeback: data may wait in the kernel's cache, unseen here; ENOSYS
	 * leaves SEEK_DATA/SEEK_HOLE to the kernel (all data below the end) */
	if (d->writeback)
		err = -ENOSYS;
	else if (is_stats_ino(ino) || (whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0)
		err = -EINVAL;
	if (!err && d->dp_ops->flush)
		err = d->dp_ops->flush(d->dp, ino, false);
	if (!err)
		err = daxfs_lseek_data(d->fs, ino, (uint64_t)off, whence, &result);
	op_done(d, DXS_LSEEK, t0, err == -ENXIO || err == -ENOSYS ? 0 : err);
	if (err)
		reply_result(req, err);
	else
		fuse_reply_lseek(req, (off_t)result);
}

static void dx_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		     size_t out_bufsz)
{
	struct daxfs_daemon *d = daemon_of(req);

	if (cmd == DAXFS_IOC_BADBLOCKS) {
		daxfs_bb_ioctl(d, req, in_buf, in_bufsz, out_bufsz);
		return;
	}
	if (!is_stats_ino(ino) &&
	    daxfs_fuse_posix_ioctl(d, req, ino, cmd, in_buf, in_bufsz, out_bufsz))
		return;
	if (!is_stats_ino(ino)) {
		daxfs_mmap_server_ioctl(d->mmap, req, ino, cmd, arg, fi, flags, in_buf, in_bufsz,
					out_bufsz);
		return;
	}
	fuse_reply_err(req, ENOTTY);
}

const struct fuse_lowlevel_ops daxfs_fuse_ops = {
	.ioctl = dx_ioctl,
	.init = dx_init,
	.lookup = dx_lookup,
	.forget = dx_forget,
	.forget_multi = dx_forget_multi,
	.getattr = dx_getattr,
	.setattr = dx_setattr,
	.readlink = dx_readlink,
	.mknod = dx_mknod,
	.mkdir = dx_mkdir,
	.unlink = dx_unlink,
	.rmdir = dx_rmdir,
	.symlink = dx_symlink,
	.rename = dx_rename,
	.link = dx_link,
	.open = dx_open,
	.read = dx_read,
	.write_buf = dx_write_buf,
	.flush = dx_flush,
	.release = dx_release,
	.fsync = dx_fsync,
	.opendir = dx_opendir,
	.readdir = dx_readdir,
	.readdirplus = dx_readdirplus,
	.releasedir = dx_releasedir,
	.fsyncdir = dx_fsyncdir,
	.statfs = dx_statfs,
	.setxattr = dx_setxattr,
	.getxattr = dx_getxattr,
	.listxattr = dx_listxattr,
	.removexattr = dx_removexattr,
	.create = dx_create,
	.tmpfile = dx_tmpfile,
	.fallocate = dx_fallocate,
	.lseek = dx_lseek,
};

void daxfs_fuse_print_stats(struct daxfs_daemon *d, FILE *f, int json)
{
	uint64_t up_ns = daxfs_now_ns() - atomic_load(&d->stats.start_ns);
	uint64_t rd = atomic_load(&d->stats.bytes_read), wr = atomic_load(&d->stats.bytes_written);
	struct daxfs_statfs sfs;
	struct daxfs_stats cs;
	char uuid[DAXFS_UUID_STR_LEN];
	struct daxfs_errinfo ei;

	memset(&sfs, 0, sizeof(sfs));
	daxfs_statfs(d->fs, &sfs);
	daxfs_get_stats(d->fs, &cs);
	daxfs_get_errors(d->fs, &ei);
	if (json) {
		fprintf(f, "{\n  \"region\": ");
		pmd_json_str(f, d->region_path);
		fprintf(f, ",\n  \"label\": ");
		pmd_json_str(f, sfs.label);
		fprintf(f, ",\n  \"uuid\": \"%s\"", daxfs_uuid_format(sfs.uuid, uuid));
		fprintf(f, ",\n  \"datapath\": \"%s\",\n  \"mode\": \"%s\",\n",
			daxfs_dp_name(d->dp_cfg.kind), desc_mode_name(d->dp_cfg.mode));
		fprintf(f, "  \"read_only\": %s,\n  \"uptime_ns\": %llu,\n",
			d->read_only ? "true" : "false", (unsigned long long)up_ns);
		fprintf(f, "  \"cache\": \"%s\",\n  \"writeback\": %s,\n  \"transport\": \"%s\",\n",
			daxfs_cache_mode_name(d->cache), d->writeback ? "true" : "false",
			atomic_load(&d->ring_live) ? "io_uring" : "dev_fuse");
		fprintf(f, "  \"bytes_read\": %llu,\n  \"bytes_written\": %llu,\n  ",
			(unsigned long long)rd, (unsigned long long)wr);
		daxfs_fuse_stats_print_ops(&d->stats, f, 1);
		fprintf(f, ",\n  \"space\": {");
		PMD_JSON_U64S(f, {"block_size", sfs.block_size}, {"total_blocks", sfs.total_blocks},
			      {"free_blocks", sfs.free_blocks}, {"free_huge", sfs.free_huge},
			      {"total_inodes", sfs.total_inodes}, {"free_inodes", sfs.free_inodes});
		fprintf(f, "},\n  \"core\": {");
		PMD_JSON_U64S(f, {"tx_commits", cs.tx_commits}, {"tx_bytes", cs.tx_bytes},
			      {"alloc_calls", cs.alloc_calls}, {"alloc_huge", cs.alloc_huge},
			      {"alloc_blocks", cs.alloc_blocks}, {"freed_blocks", cs.freed_blocks},
			      {"deferred_blocks", cs.deferred_blocks},
			      {"inodes_held", cs.inodes_held});
		fprintf(f, "},\n");
		daxfs_mmap_server_print(d->mmap, f, 1);
		fprintf(f, ",\n");
		daxfs_memfail_print(d, f, 1);
		fprintf(f, ",\n  \"errors_mode\": \"%s\",\n  \"errors\": ",
			daxfs_errors_name(d->errors));
		daxfs_errinfo_print(&ei, f, "", true);
		if (d->dp_ops->print_stats) {
			fprintf(f, ",\n");
			d->dp_ops->print_stats(d->dp, f, 1);
		}
		fprintf(f, "\n}\n");
		return;
	}
	fprintf(f, "region:        %s\n", d->region_path);
	fprintf(f, "label:         %s%s%s\n", sfs.label[0] ? "\"" : "",
		sfs.label[0] ? sfs.label : "(none)", sfs.label[0] ? "\"" : "");
	fprintf(f, "UUID:          %s\n", daxfs_uuid_format(sfs.uuid, uuid));
	fprintf(f, "datapath:      %s (descriptor mode %s)%s\n", daxfs_dp_name(d->dp_cfg.kind),
		desc_mode_name(d->dp_cfg.mode), d->read_only ? ", read-only" : "");
	fprintf(f, "uptime:        %.3f s\n", (double)up_ns / 1e9);
	fprintf(f, "cache:         %s%s; transport %s\n", daxfs_cache_mode_name(d->cache),
		d->writeback ? ", writeback" : "",
		atomic_load(&d->ring_live) ? "FUSE over io_uring" : "/dev/fuse");
	fprintf(f, "bytes read:    %llu\n", (unsigned long long)rd);
	fprintf(f, "bytes written: %llu\n", (unsigned long long)wr);
	fprintf(f,
		"space:         %llu of %llu blocks free (%llu free 2 MiB chunks), "
		"%llu of %llu inodes free\n",
		(unsigned long long)sfs.free_blocks, (unsigned long long)sfs.total_blocks,
		(unsigned long long)sfs.free_huge, (unsigned long long)sfs.free_inodes,
		(unsigned long long)sfs.total_inodes);
	fprintf(f,
		"core:          %llu journal commits, %llu allocations (%llu huge), "
		"%llu blocks freed\n",
		(unsigned long long)cs.tx_commits, (unsigned long long)cs.alloc_calls,
		(unsigned long long)cs.alloc_huge, (unsigned long long)cs.freed_blocks);
	daxfs_mmap_server_print(d->mmap, f, 0);
	daxfs_memfail_print(d, f, 0);
	fprintf(f, "on errors:     %s\n", daxfs_errors_name(d->errors));
	daxfs_errinfo_print(&ei, f, "", false);
	fprintf(f, "\n");
	daxfs_fuse_stats_print_ops(&d->stats, f, 0);
	if (d->dp_ops->print_stats) {
		fprintf(f, "\n");
		d->dp_ops->print_stats(d->dp, f, 0);
	}
}
