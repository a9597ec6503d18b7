/* SPDX-License-Identifier: MIT */
/*
 * daxfs.h - the daxfs core: a crash-consistent filesystem on a pmem region.
 *
 * No FUSE in here: the daemon (daxfs/fuse/), mkfs, fsck and the tests all
 * drive the core through this API. It is inode-number based like the FUSE
 * low-level API; the root directory is DAXFS_ROOT_INO.
 *
 * Error convention: every action returns 0 or -errno and never relies on
 * errno; notable failures also record a sentence with pmd_err() (see
 * lib/errmsg.h) that front ends print with pmd_strerror().
 *
 * Durability: a metadata operation (create, mknod, mkdir, unlink, rmdir,
 * rename, link, symlink, setattr, fallocate, setxattr, removexattr) is
 * durable when it returns 0. Data written by daxfs_write() is durable when
 * it returns; data a caller stores itself through region offsets from
 * daxfs_bmap() is durable once the caller persisted it and called
 * daxfs_write_commit() or daxfs_fsync().
 *
 * Threads and locks: any function may be called from any thread. Metadata
 * operations serialise on one filesystem-wide lock. Each inode has its own
 * reader/writer lock: daxfs_read() takes it shared, daxfs_write() and size
 * changes take it exclusive, so reads and writes of different files run in
 * parallel, and so do reads of one file. Lock order: inode lock before the
 * filesystem lock. No callback is ever invoked with the filesystem lock
 * held except daxfs_readdir()'s and daxfs_extent_map()'s, which must not
 * call back into the core.
 *
 * Units: file offsets, lengths and region offsets are bytes unless a name
 * says otherwise; blocks are DAXFS_BLOCK_SIZE (4 KiB) bytes.
 */
#ifndef PMD_DAXFS_H
#define PMD_DAXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct pmr_region;
struct daxfs;

#define DAXFS_ROOT_INO 1
#define DAXFS_BLOCK_SIZE 4096U			/* bytes */
#define DAXFS_NAME_MAX 255			/* bytes in one name, no NUL */
#define DAXFS_SYMLINK_MAX 4095			/* bytes in a symlink target, no NUL */
#define DAXFS_XATTR_NAME_MAX 255		/* bytes in an xattr name, no NUL */
#define DAXFS_XATTR_SIZE_MAX 65536		/* bytes in one value (the VFS limit) */
#define DAXFS_FILE_SIZE_MAX (UINT64_C(1) << 44) /* bytes (16 TiB) */

/* ---------------------------------------------------------------------- */
/* Open and close */

/* Flags for daxfs_open(). */
#define DAXFS_O_RDONLY (1U << 0) /* map read-only, never write the region */
#define DAXFS_O_NORECOVERY \
	(1U << 1) /* do not replay the journal nor free orphans
				      * (needs DAXFS_O_RDONLY; for fsck -n) */
#define DAXFS_O_NOLOCK \
	(1U << 2) /* take no region lock (the caller holds it,
				      * as fsck does) */
/* the errors mode from the open on (default DAXFS_ERRORS_RO; see below) */
#define DAXFS_O_ERRORS_CONTINUE (1U << 3)
#define DAXFS_O_ERRORS_PANIC (1U << 4)
/*
 * Opens are counted (daxfs_open_ref/daxfs_open_put) and iget references
 * only name the inode, as FUSE's lookup counts do: an inode whose last link
 * goes is freed as soon as nothing has it open or pinned, without waiting
 * for the last daxfs_iput (see daxfs_iget). For a server that sees every
 * open, such as the FUSE daemon.
 */
#define DAXFS_O_OPENREFS (1U << 5)

/*
 * daxfs_open - open the filesystem in the region file (or /dev/dax) @path.
 *
 * Takes the region lock (lib/region_lock.h; exclusive, shared with RDONLY,
 * and sole in this process), -EBUSY with a message naming the holder if
 * another user has it (a read-only open maps the region read-only but
 * opens it for writing where allowed, for daxfs_remount()), checks the
 * superblock (-EINVAL naming the bad field for a corrupt or foreign image,
 * -EROFS for unknown read-only compatible features unless DAXFS_O_RDONLY,
 * -EPROTONOSUPPORT naming both versions for a
 * wrong version, -EINVAL if the region is smaller than the recorded size),
 * then, unless RDONLY|NORECOVERY, recovers: replays a committed journal
 * transaction and frees the inodes left on the orphan list, and marks the
 * filesystem in use (not clean). A read-only open with a journal that needs
 * replay fails with -EROFS unless NORECOVERY is given.
 * Returns 0 and the handle in *@out, or -errno; nothing is kept on failure.
 */
int daxfs_open(const char *path, unsigned flags, struct daxfs **out);

/*
 * daxfs_close - clean unmount: finish deferred frees, mark the filesystem
 * clean (unless read-only), unmap and free. Sets *@fsp to NULL. Returns 0 or
 * the first -errno met (the handle is freed in every case). No other thread
 * may use the handle any more; leftover iget references are dropped.
 */
int daxfs_close(struct daxfs **fsp);

/*
 * daxfs_remount - switch a mounted filesystem between read-only (@rdonly)
 * and read-write.
 * To read-only: metadata is durable already; the superblock is marked
 * clean (as daxfs_close does), every change is refused from then on, the
 * mapping becomes read-only and the region lock shared (so fsck -n can
 * check it). -EBUSY while frees wait for DAX mappings to go away.
 * To read-write: needs the region open for writing, which daxfs_open gives
 * a read-only open when the file's permissions allow (else -EROFS); takes
 * the exclusive lock (-EBUSY while another process holds it), then recovers
 * as a read-write open does (orphans) and marks the filesystem in use.
 * A filesystem whose changes errors=remount-ro stopped stays stopped until
 * it is closed: read-write is then -EROFS (even if it was never remounted
 * read-only), read-only is allowed (the superblock stays "in use" for
 * fsck). The caller makes sure no change runs meanwhile (the kernel's remount
 * does: it fails while files are open for writing). Returns 0 or -errno;
 * on failure the filesystem keeps its mode.
 */
int daxfs_remount(struct daxfs *fs, bool rdonly);

/*
 * daxfs_readonly - whether @fs refuses changes now: opened or remounted
 * read-only, or stopped after corruption was found (errors=remount-ro).
 * For front ends that hand out write access the kernel does not check
 * (DAX mappings); the answer may change at the next daxfs_remount().
 */
bool daxfs_readonly(struct daxfs *fs);

/* daxfs_region - the mapped region (valid until daxfs_close). */
struct pmr_region *daxfs_region(struct daxfs *fs);

struct daxfs_statfs {
	uint64_t block_size;   /* bytes */
	uint64_t total_blocks; /* blocks in the data area and metadata */
	uint64_t free_blocks;  /* blocks an allocation may take (not reserved) */
	uint64_t free_huge;    /* free 2 MiB-aligned 2 MiB chunks */
	uint64_t resv_chunks;  /* chunks reserved for a window of a large file: their
				* unused blocks are free (in free_blocks) */
	uint64_t total_inodes;
	uint64_t free_inodes;
	uint32_t name_max; /* bytes */
	uint8_t uuid[16];
	char label[65];
};

/* daxfs_statfs - fill @st. Returns 0. */
int daxfs_statfs(struct daxfs *fs, struct daxfs_statfs *st);

/* ---------------------------------------------------------------------- */
/* Attributes and namespace */

struct daxfs_attr {
	uint64_t ino;
	uint32_t mode; /* S_IFMT type bits | permission bits */
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev;
	uint64_t size;	     /* bytes */
	uint64_t blocks;     /* 512-byte units allocated, like st_blocks */
	uint32_t blksize;    /* preferred I/O size, bytes */
	uint64_t generation; /* bumped each time the inode number is reused */
	struct timespec atime;
	struct timespec mtime;
	struct timespec ctime;
	struct timespec btime; /* creation */
};

/* Bits of @valid for daxfs_setattr(): which fields of @in to apply. */
#define DAXFS_SET_MODE (1U << 0) /* permission bits of in->mode (type ignored) */
#define DAXFS_SET_UID (1U << 1)
#define DAXFS_SET_GID (1U << 2)
#define DAXFS_SET_SIZE (1U << 3)      /* truncate/extend to in->size (regular files) */
#define DAXFS_SET_ATIME (1U << 4)     /* in->atime */
#define DAXFS_SET_MTIME (1U << 5)     /* in->mtime */
#define DAXFS_SET_ATIME_NOW (1U << 6) /* current time */
#define DAXFS_SET_MTIME_NOW (1U << 7)
#define DAXFS_SET_CTIME (1U << 8) /* in->ctime (otherwise ctime = now on any change) */
/*
 * Clear setuid, and setgid when group-execute is set, after the other
 * changes: what a write or truncate by a process without CAP_FSETID, or a
 * change of owner, does on Linux. Alone in @valid and with neither bit to
 * clear, nothing is written (no transaction, ctime kept).
 */
#define DAXFS_SET_KILL_SUIDGID (1U << 9)

/*
 * daxfs_lookup - find @name in directory @parent; fill *@out (may be NULL).
 * Does not take a reference (call daxfs_iget for that). Returns 0,
 * -ENOENT, -ENOTDIR (parent not a directory), -ENAMETOOLONG.
 * "." and ".." are resolved.
 */
int daxfs_lookup(struct daxfs *fs, uint64_t parent, const char *name, struct daxfs_attr *out);

/* daxfs_getattr - fill *@out for @ino. Returns 0 or -ENOENT (free/invalid ino). */
int daxfs_getattr(struct daxfs *fs, uint64_t ino, struct daxfs_attr *out);

/*
 * daxfs_setattr - change the attributes selected by @valid (DAXFS_SET_*)
 * from @in; ctime becomes now unless DAXFS_SET_CTIME. A size change on a
 * regular file truncates (frees blocks past the end, deferred while
 * pinned) or extends with a hole, and sets mtime too. Returns 0, -ENOENT,
 * -EISDIR/-EINVAL (size on a non-regular file), -EFBIG (size too big),
 * -EROFS. Fills *@out (may be NULL) with the new attributes. No permission
 * checks: the daemon runs with default_permissions.
 */
int daxfs_setattr(struct daxfs *fs, uint64_t ino, const struct daxfs_attr *in, unsigned valid,
		  struct daxfs_attr *out);

/*
 * daxfs_mknod - create @name in @parent with @mode (any of S_IFREG, S_IFCHR,
 * S_IFBLK, S_IFIFO, S_IFSOCK; @rdev for devices), owner @uid/@gid.
 * daxfs_create is mknod with S_IFREG; daxfs_mkdir makes a directory (mode's
 * type bits ignored). Fill *@out (may be NULL).
 * Returns 0, -EEXIST, -ENOENT (parent), -ENOTDIR, -ENAMETOOLONG, -EINVAL
 * (bad type or name "."/".."/containing '/'), -ENOSPC (no inode or block),
 * -EMLINK (parent's link count full, mkdir), -EROFS.
 */
int daxfs_mknod(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint64_t rdev, struct daxfs_attr *out);
int daxfs_create(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		 uint32_t gid, struct daxfs_attr *out);
int daxfs_mkdir(struct daxfs *fs, uint64_t parent, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, struct daxfs_attr *out);

/* What daxfs_make() creates. */
struct daxfs_new {
	uint32_t mode;	/* S_IFMT type (0 = regular) | permission bits */
	uint32_t umask; /* applied unless the directory has a default ACL */
	uint32_t uid;
	uint32_t gid;
	uint64_t rdev; /* character and block devices */
	/* open the new file as it is made: an open reference and @lookups
	 * lookup references, as daxfs_open_ref() takes them, in the same
	 * step, so that no unlink can come between (regular files only) */
	bool open;
	unsigned lookups;
};

/*
 * daxfs_make - create @name in @parent as described by @n: any type but a
 * symlink, as daxfs_mknod and daxfs_mkdir do. A default POSIX ACL of
 * @parent is inherited (the mode is masked by it and the umask is not
 * applied; a new directory also inherits it as its own default ACL), as
 * the kernel does for a filesystem with ACLs; without one the umask
 * applies. daxfs_mknod/create/mkdir are daxfs_make with a zero umask.
 * With @name NULL it makes an unnamed regular file as daxfs_tmpfile does.
 * Returns what daxfs_mknod returns, and -EPERM (@parent immutable).
 */
int daxfs_make(struct daxfs *fs, uint64_t parent, const char *name, const struct daxfs_new *n,
	       struct daxfs_attr *out);

/*
 * daxfs_tmpfile - a regular file without a name (O_TMPFILE) in directory
 * @dir, mode @mode & 07777, owner @uid/@gid, link count 0: it is on the
 * orphan list from the start, so it is freed by the last daxfs_iput() (take
 * a reference with daxfs_iget() at once) or by recovery after a crash,
 * unless daxfs_link() names it first. Fills *@out (may be NULL).
 * Returns 0, -ENOENT/-ENOTDIR (@dir), -ENOSPC, -EROFS.
 */
int daxfs_tmpfile(struct daxfs *fs, uint64_t dir, uint32_t mode, uint32_t uid, uint32_t gid,
		  struct daxfs_attr *out);

/*
 * daxfs_unlink - remove the non-directory entry @name from @parent.
 * When the link count drops to 0 the inode is freed at once if nobody holds
 * an iget reference, else it goes on the on-media orphan list and is freed
 * by the last daxfs_iput() (or by recovery after a crash); with
 * DAXFS_O_OPENREFS, by the last open reference or pin instead.
 * Returns 0, -ENOENT, -ENOTDIR, -EISDIR (it is a directory), -EROFS.
 */
int daxfs_unlink(struct daxfs *fs, uint64_t parent, const char *name);

/* daxfs_rmdir - remove the empty directory @name: 0, -ENOENT, -ENOTDIR,
 * -ENOTEMPTY, -EBUSY (root), -EINVAL ("."), -EROFS. */
int daxfs_rmdir(struct daxfs *fs, uint64_t parent, const char *name);

/* Flags for daxfs_rename(), same values as RENAME_NOREPLACE/EXCHANGE/WHITEOUT. */
#define DAXFS_RENAME_NOREPLACE (1U << 0)
#define DAXFS_RENAME_EXCHANGE (1U << 1)
#define DAXFS_RENAME_WHITEOUT (1U << 2) /* leave a whiteout (0/0 char device) at the source */

/*
 * daxfs_rename - atomically rename @parent/@name to @newparent/@newname,
 * replacing a target as rename(2) does, or exchanging the two with
 * DAXFS_RENAME_EXCHANGE. One journal transaction: after a crash either the
 * old or the new namespace is visible, never both or neither.
 * Returns 0, -ENOENT, -EEXIST (NOREPLACE and target exists), -EISDIR
 * (directory over non-directory), -ENOTDIR, -ENOTEMPTY (target directory not
 * empty), -EINVAL (both flags; moving a directory below itself; "." or ".."),
 * -ENAMETOOLONG, -EMLINK, -EPERM (an immutable or append-only entry or
 * directory in the way), -EROFS. Renaming an entry onto a hard link of the
 * same inode succeeds and does nothing, as POSIX says. With
 * DAXFS_RENAME_WHITEOUT (not with EXCHANGE) the source name becomes a
 * whiteout, as overlayfs asks of its upper directory, owned by root;
 * daxfs_rename_wh() names its owner.
 */
int daxfs_rename(struct daxfs *fs, uint64_t parent, const char *name, uint64_t newparent,
		 const char *newname, unsigned flags);
int daxfs_rename_wh(struct daxfs *fs, uint64_t parent, const char *name, uint64_t newparent,
		    const char *newname, unsigned flags, uint32_t uid, uint32_t gid);

/* daxfs_link - new hard link @newparent/@newname to @ino (not a directory).
 * A regular file with no link (daxfs_tmpfile, or unlinked while referenced)
 * comes off the orphan list and gets its name; the caller (the kernel) is
 * the one to refuse that where POSIX does.
 * 0, -EEXIST, -EPERM (directory), -EMLINK, -ENOENT, -ENAMETOOLONG, -EROFS. */
int daxfs_link(struct daxfs *fs, uint64_t ino, uint64_t newparent, const char *newname,
	       struct daxfs_attr *out);

/* daxfs_symlink - create symlink @name -> @target (1..DAXFS_SYMLINK_MAX
 * bytes, else -ENAMETOOLONG/-ENOENT for empty), mode 0777. */
int daxfs_symlink(struct daxfs *fs, uint64_t parent, const char *name, const char *target,
		  uint32_t uid, uint32_t gid, struct daxfs_attr *out);

/*
 * daxfs_readlink - copy the target of symlink @ino into @buf and NUL-terminate
 * it; *@len (may be NULL) gets the target length without NUL. Returns 0,
 * -EINVAL (not a symlink), -ERANGE (@bufsize <= length), -ENOENT.
 */
int daxfs_readlink(struct daxfs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *len);

/*
 * daxfs_filldir_fn - one entry for daxfs_readdir(): @type is a DT_* value,
 * @next_cookie the cookie to pass to resume after this entry. Return
 * nonzero to stop (the entry was not consumed: it is returned again on a
 * call with the same cookie).
 */
typedef int (*daxfs_filldir_fn)(void *ctx, const char *name, uint64_t ino, unsigned type,
				uint64_t next_cookie);

/*
 * daxfs_readdir - list directory @ino from @cookie (0 = start) calling @fn,
 * "." and ".." first. Cookies are stable across concurrent modification:
 * an entry present for the whole listing is returned exactly once, and a
 * cookie stays valid after its entry is deleted (they are name hashes, in
 * hash order). Called with the filesystem lock held: @fn must not call the
 * core. Returns 0 (also when @fn stopped), -ENOTDIR, -ENOENT.
 */
int daxfs_readdir(struct daxfs *fs, uint64_t ino, uint64_t cookie, daxfs_filldir_fn fn, void *ctx);

/* ---------------------------------------------------------------------- */
/* Extended attributes: any namespace prefix is stored as given. */

#define DAXFS_XATTR_CREATE 1  /* == XATTR_CREATE: fail with -EEXIST if present */
#define DAXFS_XATTR_REPLACE 2 /* == XATTR_REPLACE: fail with -ENODATA if absent */
#define DAXFS_XATTR_ACL_KILL_SGID \
	4 /* system.posix_acl_access: the caller is neither in \
				     * the file's group nor privileged: clear S_ISGID */

/*
 * daxfs_setxattr - set @name to @size bytes of @value (up to
 * DAXFS_XATTR_SIZE_MAX; an inode holds thousands of small attributes).
 * "system.posix_acl_access" and "system.posix_acl_default" are POSIX ACLs
 * in the kernel's xattr form: they are checked (-EINVAL), and an access ACL
 * sets the mode's permission bits as the kernel's ACL code does (the group
 * bits from the mask; an ACL a mode says fully is not stored); a default
 * ACL is for directories only (-EACCES).
 * Returns 0, -EEXIST, -ENODATA, -ERANGE (name empty or too long), -E2BIG
 * (value too big), -ENOSPC, -EPERM (immutable or append-only inode),
 * -EINVAL, -EACCES, -ENOENT, -EIO, -EROFS.
 */
int daxfs_setxattr(struct daxfs *fs, uint64_t ino, const char *name, const void *value, size_t size,
		   int flags);

/* daxfs_getxattr - copy the value into @buf: with @bufsize 0 only report the
 * size in *@size. 0, -ENODATA, -ERANGE (buffer too small), -ENOENT. */
int daxfs_getxattr(struct daxfs *fs, uint64_t ino, const char *name, void *buf, size_t bufsize,
		   size_t *size);

/* daxfs_listxattr - NUL-separated names into @buf, like listxattr(2);
 * @bufsize 0 only reports the size. 0, -ERANGE, -ENOENT. */
int daxfs_listxattr(struct daxfs *fs, uint64_t ino, char *buf, size_t bufsize, size_t *size);

/* daxfs_removexattr - 0, -ENODATA, -EPERM (immutable or append-only),
 * -ENOENT, -EIO, -EROFS. */
int daxfs_removexattr(struct daxfs *fs, uint64_t ino, const char *name);

/* ---------------------------------------------------------------------- */
/* Inode flags (chattr) and access times */

/* Flags of daxfs_getflags()/daxfs_setflags(): the FS_*_FL values. */
#define DAXFS_FL_IMMUTABLE 0x00000010 /* FS_IMMUTABLE_FL: no change, no new link */
#define DAXFS_FL_APPEND 0x00000020    /* FS_APPEND_FL: data only appended */
#define DAXFS_FL_NODUMP 0x00000040    /* FS_NODUMP_FL: a hint for backup tools */
#define DAXFS_FL_NOATIME 0x00000080   /* FS_NOATIME_FL: reads leave atime alone */
#define DAXFS_FL_SUPPORTED \
	(DAXFS_FL_IMMUTABLE | DAXFS_FL_APPEND | DAXFS_FL_NODUMP | DAXFS_FL_NOATIME)

/*
 * daxfs_getflags/daxfs_setflags - the inode flags of @ino (DAXFS_FL_*).
 * Setting replaces them all and sets ctime; the caller has checked the
 * right to do it (the owner; CAP_LINUX_IMMUTABLE for IMMUTABLE and APPEND).
 * What they forbid, as on ext4: an immutable inode refuses every change
 * (data, size, attributes, xattrs, new links, removal or rename of its
 * names, new entries in it) with -EPERM; an append-only one refuses writes
 * before its end, truncation, chmod/chown/explicit times, xattrs, removal
 * and rename. Return 0, -ENOENT, -EOPNOTSUPP (other flags), -EROFS.
 * daxfs_getflags takes no lock (cheap enough to ask on every write).
 */
int daxfs_getflags(struct daxfs *fs, uint64_t ino, uint32_t *flags);
int daxfs_setflags(struct daxfs *fs, uint64_t ino, uint32_t flags);

/* When reads update the access time (the mount's atime option). */
enum daxfs_atime {
	DAXFS_ATIME_NEVER,    /* noatime */
	DAXFS_ATIME_RELATIVE, /* relatime: when atime <= mtime or ctime, or a day old */
	DAXFS_ATIME_STRICT,   /* strictatime: on every read */
};

/*
 * daxfs_touch_atime - @ino was read: set its atime to now if @policy and
 * its NOATIME flag say so (one transaction; nothing, and no lock, when no
 * update is due). Nothing on a read-only filesystem. Returns 0 or -errno of
 * the commit.
 */
int daxfs_touch_atime(struct daxfs *fs, uint64_t ino, enum daxfs_atime policy);

/* ---------------------------------------------------------------------- */
/* Inode lifetime (FUSE lookup/forget and open/release) */

/*
 * daxfs_iget - take one in-memory reference on @ino (FUSE: each reply that
 * creates a lookup count). While referenced, an inode whose link count drops
 * to 0 stays allocated (on the orphan list). Returns 0 or -ENOENT.
 *
 * With DAXFS_O_OPENREFS a reference keeps the inode's number, not the
 * inode: when the link count drops to 0 and no open reference or pin is
 * left, the inode and its blocks are freed at once (in the unlink's own
 * transaction when it has no blocks), and the number is not given to a new
 * inode until the last daxfs_iput. Meanwhile daxfs_getattr answers with the
 * attributes it had when freed (link count 0); anything else is -ENOENT.
 */
int daxfs_iget(struct daxfs *fs, uint64_t ino);

/*
 * daxfs_iput - drop @count references (FUSE forget's nlookup). The last one
 * frees an unlinked inode and its blocks (deferred while pinned). Never fails.
 */
void daxfs_iput(struct daxfs *fs, uint64_t ino, uint64_t count);

/*
 * daxfs_open_ref - one open reference on in-use inode @ino (DAXFS_O_OPENREFS:
 * FUSE OPEN and CREATE), and @lookups iget references with it (a CREATE
 * gives the kernel both: one check of the inode, not two); an inode whose
 * link count is 0 stays until the last open reference and pin are gone.
 * Returns 0, -ENOENT (freed already: an open that raced the unlink),
 * -ENOMEM; nothing is taken on failure.
 */
int daxfs_open_ref(struct daxfs *fs, uint64_t ino, unsigned lookups);

/* daxfs_open_put - drop an open reference (FUSE RELEASE); the last one frees
 * an unlinked inode nothing else keeps. Never fails. */
void daxfs_open_put(struct daxfs *fs, uint64_t ino);

/* ---------------------------------------------------------------------- */
/* Data */

/*
 * daxfs_read - copy up to @len bytes at file offset @off into @buf; holes
 * read as zeros; *@done gets bytes copied (short at end of file, 0 past it).
 * Takes the inode lock shared. Returns 0, -EISDIR, -EINVAL (not a regular
 * file), -ENOENT. Does not update atime.
 */
int daxfs_read(struct daxfs *fs, uint64_t ino, uint64_t off, size_t len, void *buf, size_t *done);

/*
 * daxfs_write - copy @len bytes from @buf to file offset @off, allocating as
 * needed (2 MiB-aligned extents once the file reaches 2 MiB), with
 * pmr_memcpy + persist; then size (if it grew) and mtime/ctime are committed
 * durably. *@done gets bytes written (all of them unless -ENOSPC part way:
 * then 0 is returned if some bytes were written). Takes the inode lock
 * exclusive. Returns 0, -ENOSPC, -EFBIG, -EISDIR, -EINVAL, -ENOENT, -EROFS.
 */
int daxfs_write(struct daxfs *fs, uint64_t ino, uint64_t off, size_t len, const void *buf,
		size_t *done);

/* daxfs_fsync - make everything of @ino durable (a drain: metadata already
 * is). Returns 0 or -ENOENT. */
int daxfs_fsync(struct daxfs *fs, uint64_t ino, bool datasync);

/*
 * daxfs_fallocate - @mode 0 allocates (zeroed) and extends the size;
 * FALLOC_FL_KEEP_SIZE allocates without changing size;
 * FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE frees whole blocks in the range
 * and zeroes partial ones; FALLOC_FL_ZERO_RANGE zeroes (allocating) the
 * range, extending the size unless KEEP_SIZE. Returns 0, -EOPNOTSUPP
 * (other modes), -EINVAL (@len 0, PUNCH without KEEP_SIZE), -ENOSPC, -EFBIG,
 * -ENODEV (not a regular file), -EROFS.
 */
int daxfs_fallocate(struct daxfs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len);

/*
 * daxfs_lseek_data - SEEK_DATA/SEEK_HOLE (@whence) from @off: *@result gets
 * the offset of the next data/hole (end of file counts as a hole). Returns 0,
 * -ENXIO (@off at/after end of file, or no data after @off), -EINVAL.
 */
int daxfs_lseek_data(struct daxfs *fs, uint64_t ino, uint64_t off, int whence, uint64_t *result);

/* ---------------------------------------------------------------------- */
/* Block mapping for the bio/page data paths and DAX mmap */

#define DAXFS_HOLE UINT64_MAX

struct daxfs_map {
	uint64_t file_off;   /* bytes, block aligned */
	uint64_t len;	     /* bytes, multiple of the block size */
	uint64_t region_off; /* bytes from the region start, or DAXFS_HOLE */
};

/* Flags for daxfs_bmap(). */
#define DAXFS_BMAP_ALLOC (1U << 0) /* allocate holes (zeroed durably) */

/*
 * daxfs_bmap - the first run of the file at block-aligned-down @file_off,
 * at most up to @file_off + @len rounded up to a block: *@out gets
 * {file_off, len, region_off} where the run is contiguous in the region, or
 * region_off = DAXFS_HOLE for a hole (up to the next data or the end of
 * the asked range). Callers loop. With DAXFS_BMAP_ALLOC holes are allocated
 * and zeroed durably first (the file size does not change: use
 * daxfs_write_commit). Blocks past the file size may be mapped.
 * To use the region offsets after the call, hold a pin (daxfs_pin) so
 * truncate/punch/unlink cannot free them meanwhile.
 * Returns 0, -ENOSPC, -EFBIG, -EINVAL (@len 0 or not a regular file), -ENOENT.
 */
int daxfs_bmap(struct daxfs *fs, uint64_t ino, uint64_t file_off, uint64_t len, unsigned flags,
	       struct daxfs_map *out);

/*
 * daxfs_reserve - delayed allocation: set aside @nblocks free blocks for
 * data a cache holds and will write back later (a page dirtied over a
 * hole), so that running out of space fails the write that dirtied it and
 * never its writeback. Reserved blocks count as used in daxfs_statfs() and
 * to every allocation but the writebacks that draw on them
 * (daxfs_bmap_resv). A small slack for the extent blocks those writebacks
 * may need is kept too. Returns 0, -ENOSPC (nothing reserved), -EROFS.
 */
int daxfs_reserve(struct daxfs *fs, uint64_t nblocks);

/* daxfs_unreserve - give back @nblocks of what daxfs_reserve() set aside. */
void daxfs_unreserve(struct daxfs *fs, uint64_t nblocks);

/*
 * daxfs_bmap_resv - daxfs_bmap() with DAXFS_BMAP_ALLOC whose allocation
 * draws first on *@resv reserved blocks: on success *@resv is lowered by
 * the reserved blocks it used (they are no longer reserved); the rest of
 * *@resv is still reserved and the caller's to use or give back.
 */
int daxfs_bmap_resv(struct daxfs *fs, uint64_t ino, uint64_t file_off, uint64_t len, uint64_t *resv,
		    struct daxfs_map *out);

/* daxfs_writable - 0, or -EROFS when no change is accepted (read-only
 * open, or stopped by errors=remount-ro). */
int daxfs_writable(struct daxfs *fs);

/* daxfs_extent_fn - one run of daxfs_extent_map(); nonzero stops. */
typedef int (*daxfs_extent_fn)(void *ctx, const struct daxfs_map *m);

/* daxfs_extent_map - call @fn for each allocated run of @ino in file order
 * (holes are skipped), under the inode lock shared. Returns 0 or -ENOENT. */
int daxfs_extent_map(struct daxfs *fs, uint64_t ino, daxfs_extent_fn fn, void *ctx);

/*
 * daxfs_write_commit - after a data path stored into blocks from
 * daxfs_bmap(): drain, then durably set size = max(size, @new_size) and
 * mtime/ctime = now. Returns 0, -EFBIG, -ENOENT, -EROFS.
 */
int daxfs_write_commit(struct daxfs *fs, uint64_t ino, uint64_t new_size);

/*
 * daxfs_file_size - the size in bytes of regular file @ino, for a data path
 * that clamps a read to it: what daxfs_getattr() reports as size, without
 * the rest of the attributes (one checked inode read). Returns 0, -EISDIR
 * (a directory), -EINVAL (another type), -ENOENT, -EIO (a bad inode).
 */
int daxfs_file_size(struct daxfs *fs, uint64_t ino, uint64_t *size);

/*
 * daxfs_pin/daxfs_unpin - a layout pin (DAX mmap, in-flight bio): while
 * @ino's pin count is nonzero, truncate/punch/unlink still remove blocks from
 * the file but never free or reuse them; the frees happen at the last unpin
 * (or at the next mount after a crash). Pins nest. Returns 0 or -ENOENT.
 */
int daxfs_pin(struct daxfs *fs, uint64_t ino);
int daxfs_unpin(struct daxfs *fs, uint64_t ino);

/*
 * daxfs_pin_size - daxfs_file_size() and then daxfs_pin() of regular file
 * @ino with one checked inode read: what a READ or WRITE of a data path
 * starts with. The pin is taken only on success. Returns 0 or the errors of
 * daxfs_file_size(), -ENOMEM.
 */
int daxfs_pin_size(struct daxfs *fs, uint64_t ino, uint64_t *size);

/* ---------------------------------------------------------------------- */
/* Emulated bad sectors */

/*
 * The bad sectors of the region (pmemdev's emulated badblocks, see
 * pmemdev/badblocks.h) as the core sees them: it never reads the list
 * itself; the daemon, mkfs.daxfs and fsck.daxfs pass its owner's functions.
 * Offsets and lengths are region bytes.
 */
struct daxfs_badblocks {
	/* true if any 512-byte sector of [@off, @off + @len) is bad */
	bool (*check)(void *ctx, uint64_t off, uint64_t len);
	/* [@off, @off + @len) (whole sectors) is being rewritten: forget its
	 * bad sectors; returns 0 or -errno (the core goes on either way) */
	int (*clear)(void *ctx, uint64_t off, uint64_t len);
	void *ctx;
};

/*
 * daxfs_set_badblocks - from now on, every block the allocator hands out
 * has its bad sectors cleared through @bb->clear before it is used (new
 * data blocks are zeroed and new metadata blocks written whole in the same
 * transaction, as the kernel's pmem driver clears poison on a write of
 * whole sectors). @bb NULL stops. Reads of bad sectors are the data
 * paths' business (they fail with EIO). Call before other threads use @fs.
 */
void daxfs_set_badblocks(struct daxfs *fs, const struct daxfs_badblocks *bb);

/* ---------------------------------------------------------------------- */
/* Owners of blocks: memory failure */

/*
 * When a frame of the region fails (a bad sector, a poisoned frame), the
 * front end asks who owns it, to fail that file's I/O and name it. The
 * core records the owner of every data block as blocks change hands (built
 * from the extents at open, kept current by the allocator and by frees):
 * in a reverse map of its own (per 2 MiB chunk of the region, what the pfn
 * descriptor mode needs, keeping nothing per frame), or in the region's
 * frame descriptors through daxfs_owner_ops when a front end registered
 * the region in a descriptor mode that can hold an owner.
 */
enum daxfs_owner_kind {
	DAXFS_OWNER_FREE, /* a free block: no file loses anything */
	DAXFS_OWNER_META, /* metadata: fixed area, directory, extent or xattr block */
	DAXFS_OWNER_FILE, /* data of file @ino at byte @off */
};

struct daxfs_owner {
	enum daxfs_owner_kind kind;
	uint64_t ino;  /* FILE: the inode */
	uint64_t off;  /* FILE: file byte offset of the block's first byte */
	bool recorded; /* FILE: answered by the record (map or descriptor), not a scan */
};

/*
 * daxfs_owner_of - the owner of the 4 KiB block holding region byte
 * @region_off. The record is checked against the file's extent map before
 * it is believed; a block it does not know (or gets wrong) is looked up by
 * a scan of every file's extents and recorded. Returns 0, or -ERANGE
 * (beyond the filesystem). Any thread; takes the file's lock and fs locks.
 */
int daxfs_owner_of(struct daxfs *fs, uint64_t region_off, struct daxfs_owner *out);

/*
 * A front end's owner record in the region's frame descriptors. Blocks are
 * region blocks (4 KiB); @off file bytes. set() records that
 * [@pblk, +@nblks) hold file bytes from @off of @ino (@ino 0: no owner) and
 * is called with the core's allocation lock held (it must be quick and
 * never call back into the core); find() answers 0 or -ENOENT (unknown, or
 * a descriptor shared by several owners).
 */
struct daxfs_owner_ops {
	void (*set)(void *ctx, uint64_t pblk, uint64_t nblks, uint64_t ino, uint64_t off);
	int (*find)(void *ctx, uint64_t pblk, uint64_t *ino, uint64_t *off);
	void *ctx;
};

/*
 * daxfs_set_owner_ops - keep owners in @ops from now on (recording every
 * file's extents there now) and free the core's reverse map; @ops NULL
 * goes back to the core's map (built again). Call while no other thread
 * uses @fs (before serving, after the last request).
 */
void daxfs_set_owner_ops(struct daxfs *fs, const struct daxfs_owner_ops *ops);

struct pfn_range;

/*
 * daxfs_owner_ops_desc - owner functions over the frame descriptors of @r,
 * the filesystem's region registered in the pfn space (lib/pfn.h) from its
 * first byte (lib/desc_owner.h: page->mapping/index and the like). Returns
 * 0, or -EOPNOTSUPP in pfn mode (no descriptor: keep the core's map).
 */
int daxfs_owner_ops_desc(struct pfn_range *r, struct daxfs_owner_ops *out);

/* daxfs_owner_map_bytes - memory of the core's reverse map (0 with owner ops). */
uint64_t daxfs_owner_map_bytes(struct daxfs *fs);

/*
 * daxfs_ino_path - a path of @ino from the root ("/a/b") in @buf, from the
 * names the inode extension table records (one name of a hard-linked
 * file). Returns 0, -ENOENT (no name recorded: an unlinked file, or an
 * image without the table), -EIO (a damaged record), -ENAMETOOLONG.
 */
int daxfs_ino_path(struct daxfs *fs, uint64_t ino, char *buf, size_t size);

/* ---------------------------------------------------------------------- */
/* DAX isolation: a file's DAX mapping reaches that file only */

/*
 * On a chunked region (lib/region.h) the DAX mmap server hands a client
 * descriptors of whole 2 MiB chunks, so every chunk it hands out must hold
 * the mapped file's data and nothing else: no other file's data (live or
 * freed), no metadata. daxfs_isolate() arranges that for a range of a
 * file, and keeps the chunks it hands out *excluded*: no other file and no
 * metadata is allocated in them until daxfs_reclaim() finds that no other
 * process can reach them any more. Chunks the region reports exposed when
 * the filesystem is opened (given out by an earlier daemon, or held by
 * another process; for a single-file region, mapped by another process,
 * see daxfs_iso_scan) are excluded from the start, so a mapping made before
 * a daemon restart keeps its blocks out of other files' hands.
 */

/* Flags for daxfs_isolate(). */
#define DAXFS_ISO_ALLOC (1U << 0) /* allocate the holes of the range (zeroed) */
#define DAXFS_ISO_WHOLE (1U << 1) /* each 2 MiB window in one chunk, aligned (hugetlbfs) */

/* What daxfs_isolate() did, for the caller's counters. */
struct daxfs_iso_cost {
	uint64_t moved_bytes;  /* file data copied out of shared chunks */
	uint64_t zeroed_bytes; /* free bytes of handed-out chunks zeroed */
	uint64_t new_chunks;   /* free chunks taken for the file */
};

/*
 * daxfs_isolate - make the blocks of [@off, @off + @len) of regular file
 * @ino (4 KiB aligned) sit in chunks that hold only @ino's data, and
 * exclude those chunks for @ino. Blocks in chunks shared with other files
 * or metadata are copied into chunks of the file's own (whole free chunks,
 * or the free room of chunks already kept for it; a file offset keeps its
 * offset within 2 MiB, so huge mappings stay possible), in journaled
 * transactions: a crash leaves either the old or the new block map, never
 * a mix. Free blocks of every chunk handed out are zeroed first. With
 * DAXFS_ISO_ALLOC holes are allocated there too; with DAXFS_ISO_WHOLE every
 * 2 MiB window of the range ends up in one chunk at its own offset.
 *
 * The caller holds a layout pin on @ino (the old blocks' frees wait for the
 * last unpin, so I/O that mapped them still finds them) and no other I/O
 * may store into the file's blocks meanwhile except through the core
 * (quiesce the bio data path). On success *@chunks (malloc'd, sorted,
 * unique) gets the chunk indexes the range's blocks live in and *@nr their
 * number; @cost (may be NULL) gets what it took.
 * Returns 0, -ENOSPC (no free chunk for the file), -EROFS (a read-only
 * filesystem and the range is not isolated already), -EINVAL (not a regular
 * file, bad range), -ENOENT, -ENOMEM, -EIO.
 */
int daxfs_isolate(struct daxfs *fs, uint64_t ino, uint64_t off, uint64_t len, unsigned flags,
		  uint64_t **chunks, size_t *nr, struct daxfs_iso_cost *cost);

/*
 * daxfs_iso_scan - for a single-file region, exclude the chunks that other
 * processes map now (lib/region.h pmr_exposure_scan): mappings a previous
 * daemon granted. Call once after open, before serving requests. Sets
 * *@unreadable to the number of processes whose mappings could not be
 * read. A no-op on a chunked region (its exposure is known at open).
 * Returns 0 or -errno.
 */
int daxfs_iso_scan(struct daxfs *fs, uint64_t *unreadable);

/*
 * daxfs_reclaim - give excluded chunks that hold no data any more and that
 * no other process can reach back to the allocator (the region layer
 * replaces their pages first, cutting stale references). Does system calls
 * without holding the filesystem lock; call it when a client lets go and
 * from time to time. Returns the number of chunks given back, or -errno.
 */
long daxfs_reclaim(struct daxfs *fs);

struct daxfs_iso_stats {
	uint64_t excluded_chunks; /* chunks excluded now */
	uint64_t excluded_free;	  /* free blocks in them (unusable by others until reclaimed) */
	uint64_t waiting_chunks;  /* excluded, empty, waiting for their holders to go */
	uint64_t isolations;	  /* daxfs_isolate() calls that moved or allocated */
	uint64_t moved_bytes;	  /* since open */
	uint64_t zeroed_bytes;
	uint64_t new_chunks;
	uint64_t reclaimed; /* chunks given back */
};

/* daxfs_iso_get_stats - the isolation counters. */
void daxfs_iso_get_stats(struct daxfs *fs, struct daxfs_iso_stats *st);

/* ---------------------------------------------------------------------- */
/* Counters (monotonic since open) */

struct daxfs_stats {
	uint64_t tx_commits;	  /* journal transactions committed */
	uint64_t tx_bytes;	  /* bytes of redo records written */
	uint64_t alloc_calls;	  /* block allocations */
	uint64_t alloc_huge;	  /* of which whole aligned 2 MiB chunks */
	uint64_t alloc_blocks;	  /* blocks allocated */
	uint64_t freed_blocks;	  /* blocks freed */
	uint64_t deferred_blocks; /* blocks whose free waited for an unpin */
	uint64_t dir_node_reads;  /* directory tree nodes visited (lookups, inserts...) */
	uint64_t alloc_resv;	  /* chunks reserved for a window of a large file */
	uint64_t resv_broken;	  /* reservations ended by space pressure */
	uint64_t inode_checks;	  /* inode checksums computed on a read (di_get) */
	uint64_t inodes_held;	  /* now: inodes held in memory by lookups or opens */
};

void daxfs_get_stats(struct daxfs *fs, struct daxfs_stats *st);

/* ---------------------------------------------------------------------- */
/*
 * Corruption. The core checks every metadata structure when it reads it
 * (checksum, magic, owner, every block and inode number, length and count
 * against the geometry; an extent of a file that points into metadata or
 * outside the filesystem is corrupt too). A failed check:
 *   - fails that one operation with -EIO (never a crash, never a write
 *     through a pointer read from the bad structure; a structure that failed
 *     its check is never re-checksummed by a later change);
 *   - logs one line naming the structure and where it is (rate limited, at
 *     most 10 lines per 5 s) through the log function;
 *   - is recorded durably in the superblock: a count and the first and last
 *     error (time, inode, block, structure, check), shown by fsck.daxfs and
 *     daxfs stat (daxfs_get_errors);
 *   - then acts as the errors mode says.
 */

/* Which structure failed its check (the error record's "what"). */
enum daxfs_err_what {
	DAXFS_ERR_NONE = 0,
	DAXFS_ERR_INODE = 1,   /* an inode in the inode table */
	DAXFS_ERR_DIR = 2,     /* a directory tree node */
	DAXFS_ERR_EXTENT = 3,  /* an extent (inline) or an extent block */
	DAXFS_ERR_XATTR = 4,   /* an xattr block */
	DAXFS_ERR_SYMLINK = 5, /* a symlink target block */
	DAXFS_ERR_JOURNAL = 6, /* the journal header or its records */
	DAXFS_ERR_SUPER = 7,   /* the superblock (orphan list head) */
	DAXFS_ERR_BITMAP = 8,  /* the allocation bitmap */
	DAXFS_ERR_DATA = 9,    /* file data a cache could not write back */
	DAXFS_ERR_WHAT_MAX
};

/* Which check failed (its "why"). */
enum daxfs_err_why {
	DAXFS_WHY_NONE = 0,
	DAXFS_WHY_CRC = 1,   /* checksum mismatch */
	DAXFS_WHY_MAGIC = 2, /* wrong magic or block type */
	DAXFS_WHY_OWNER = 3, /* block header names another inode */
	DAXFS_WHY_RANGE = 4, /* a block or inode number or a length out of range */
	DAXFS_WHY_FIELD = 5, /* a field inconsistent with the others */
	DAXFS_WHY_IO = 6,    /* an I/O error (DATA) */
	DAXFS_ERR_WHY_MAX
};

/* What the filesystem does after a failed check (mount option errors=). */
enum daxfs_errors_mode {
	DAXFS_ERRORS_RO,       /* default: refuse every later change with -EROFS, serve reads */
	DAXFS_ERRORS_CONTINUE, /* go on: only operations meeting corruption fail */
	DAXFS_ERRORS_PANIC,    /* record the error, then end the process with
				* _exit(DAXFS_PANIC_EXIT) (a FUSE mount then fails
				* every request with ENOTCONN until unmounted) */
};
#define DAXFS_PANIC_EXIT 70

/* daxfs_set_errors - choose the errors mode (any thread, any time). */
void daxfs_set_errors(struct daxfs *fs, enum daxfs_errors_mode mode);

/* daxfs_errors_parse - "continue" | "remount-ro" | "panic"; 0 or -EINVAL. */
int daxfs_errors_parse(const char *s, enum daxfs_errors_mode *out);
const char *daxfs_errors_name(enum daxfs_errors_mode mode);

/*
 * daxfs_set_log - where the one-line corruption reports go: @fn(@ctx, line)
 * with a line without newline, or stderr when @fn is NULL (the default).
 * Call before other threads use @fs.
 */
typedef void (*daxfs_log_fn)(void *ctx, const char *line);
void daxfs_set_log(struct daxfs *fs, daxfs_log_fn fn, void *ctx);

/* One recorded error. */
struct daxfs_error {
	int64_t time_ns; /* since the epoch; 0 if none */
	uint64_t ino;	 /* 0 = none */
	uint64_t blk;	 /* region block, 0 = none */
	unsigned what;	 /* DAXFS_ERR_*: which structure */
	unsigned why;	 /* DAXFS_WHY_*: which check */
	int err;	 /* errno given to the operation */
};

struct daxfs_errinfo {
	uint64_t count;		  /* errors recorded (on media, plus not yet written) */
	bool stopped;		  /* changes refused since (errors=remount-ro) */
	struct daxfs_error first; /* the oldest recorded */
	struct daxfs_error last;  /* the newest */
};

/* daxfs_get_errors - the error record of @fs (what is on media plus what is
 * still being written). Returns 0. */
int daxfs_get_errors(struct daxfs *fs, struct daxfs_errinfo *out);

/* daxfs_errinfo_from_super - decode the record of a superblock (512 bytes,
 * e.g. read by fsck); zeroes *@out when the record is unused. */
void daxfs_errinfo_from_super(const void *sb, struct daxfs_errinfo *out);

/*
 * daxfs_errinfo_print - describe @ei in text ("errors: none", or the count
 * and one line each for the first and last error), each line starting with
 * @indent; or as one JSON object (members count, first, last) with @json.
 */
void daxfs_errinfo_print(const struct daxfs_errinfo *ei, FILE *f, const char *indent, bool json);

/* Names of DAXFS_ERR_* and DAXFS_WHY_* values ("inode", "checksum mismatch", ...). */
const char *daxfs_err_what_name(unsigned what);
const char *daxfs_err_why_name(unsigned why);

/*
 * daxfs_report_error - for front ends: report and record a failure the core
 * cannot see itself (a data cache that could not write back @ino's data:
 * what DAXFS_ERR_DATA, why DAXFS_WHY_IO), with the sentence @msg. The
 * errors mode is not applied. Returns -@err.
 */
int daxfs_report_error(struct daxfs *fs, unsigned what, unsigned why, uint64_t ino, uint64_t blk,
		       int err, const char *msg);

/* ---------------------------------------------------------------------- */
/* mkfs and fsck (used by mkfs.daxfs and fsck.daxfs) */

/* Where daxfs_mkfs() put the fixed metadata (optional output). */
struct daxfs_mkfs_layout {
	uint64_t journal_blk; /* first block of the journal, inode table, bitmap run */
	uint64_t meta_blocks; /* blocks of that run */
	uint64_t skipped;     /* blocks before it left unused to avoid bad sectors */
};

struct daxfs_mkfs_opts {
	const char *label;	/* up to 64 bytes, may be NULL */
	const uint8_t *uuid;	/* 16 bytes, or NULL: a random one */
	uint64_t inodes;	/* inode count, rounded up to a multiple of 16;
				 * 0 = one per 16 KiB of region */
	uint64_t journal_bytes; /* 0 = default (size / 64, 256 KiB .. 16 MiB) */
	bool progress;		/* report progress on stderr if it is a tty */
	/* bad sectors to keep the metadata off (only check is used), or NULL */
	const struct daxfs_badblocks *bad;
	struct daxfs_mkfs_layout *layout; /* filled on success if not NULL */
	unsigned version;		  /* format version; 0 = the current one. 1 writes an
				 * old image (for tests of the upgrade path) */
};

/* Limits of struct daxfs_mkfs_opts. */
#define DAXFS_LABEL_MAX 64		       /* bytes */
#define DAXFS_JOURNAL_MIN (UINT64_C(64) << 10) /* bytes */
#define DAXFS_JOURNAL_MAX (UINT64_C(1) << 30)  /* bytes */
#define DAXFS_INODES_MAX (UINT64_C(1) << 32)

/*
 * daxfs_mkfs_check_opts - whether @opts are valid whatever the region: the
 * label length, the journal size (DAXFS_JOURNAL_MIN..MAX, a multiple of
 * 4 KiB) and the inode count (at most DAXFS_INODES_MAX). For mkfs.daxfs to
 * refuse a bad command line before it touches anything; daxfs_mkfs() checks
 * the same. Returns 0, or -EINVAL with a message naming the value, the rule
 * and values that would do.
 */
int daxfs_mkfs_check_opts(const struct daxfs_mkfs_opts *opts);

/* The text form of a UUID: 36 characters, 8-4-4-4-12 hex digits, and NUL. */
#define DAXFS_UUID_STR_LEN 37

/* daxfs_uuid_format - @uuid as lowercase text into @buf. Returns @buf. */
char *daxfs_uuid_format(const uint8_t uuid[16], char buf[DAXFS_UUID_STR_LEN]);

/*
 * daxfs_uuid_parse - the text form @s (hex digits of either case) into
 * @uuid. Returns 0, or -EINVAL (and @uuid untouched) if @s is not one.
 */
int daxfs_uuid_parse(const char *s, uint8_t uuid[16]);

/* What a region holds, from daxfs_probe(). */
enum daxfs_probe_result {
	DAXFS_PROBE_EMPTY,   /* the first 64 KiB are zero */
	DAXFS_PROBE_DAXFS,   /* a daxfs superblock (any version) */
	DAXFS_PROBE_FOREIGN, /* something else */
};

/* daxfs_probe - classify the contents of @r without writing. */
enum daxfs_probe_result daxfs_probe(const struct pmr_region *r);

/*
 * daxfs_mkfs - write a new empty filesystem over the whole region @r (the
 * caller has decided overwriting is fine). With @opts->bad, the journal,
 * inode table and bitmap start after the first block past 2 that has room
 * for them clear of bad sectors (the blocks skipped stay unused). Returns
 * 0, -EINVAL (with a message: region too small for the metadata, or what
 * daxfs_mkfs_check_opts() refuses), -EIO (a bad sector under the
 * superblocks, or no room for the metadata clear of bad sectors; the
 * message names it).
 */
int daxfs_mkfs(struct pmr_region *r, const struct daxfs_mkfs_opts *opts);

/* fsck modes */
enum daxfs_fsck_mode {
	DAXFS_FSCK_CHECK,  /* -n: never write */
	DAXFS_FSCK_REPAIR, /* -y: fix everything */
	DAXFS_FSCK_PREEN,  /* -p: fix only what cannot lose anything */
};

/* Exit bits, e2fsck convention. */
#define DAXFS_FSCK_OK 0
#define DAXFS_FSCK_CORRECTED 1
#define DAXFS_FSCK_UNCORRECTED 4
#define DAXFS_FSCK_OPERROR 8
#define DAXFS_FSCK_USAGE 16

struct daxfs_fsck_opts {
	enum daxfs_fsck_mode mode;
	bool json;    /* one JSON object on @out instead of text */
	bool verbose; /* list every problem (text mode lists the first 50) */
	bool upgrade; /* REPAIR only: then add the inode extension table to a
		       * version 1 image (format version 2) */
	FILE *out;    /* report stream (stdout if NULL) */
	/* the region's bad sectors (only check is used), or NULL: the files,
	 * offsets and metadata on them are listed, and count as uncorrected */
	const struct daxfs_badblocks *bad;
};

/*
 * daxfs_fsck - check (and in REPAIR/PREEN mode repair) the filesystem in the
 * region file @path, print the report, and return the e2fsck-style exit
 * bitmask (DAXFS_FSCK_*). Takes the exclusive lock like daxfs_open.
 */
int daxfs_fsck(const char *path, const struct daxfs_fsck_opts *opts);

#endif
