/* SPDX-License-Identifier: MIT */
/*
 * fuse_daemon.h - the daxfs FUSE daemon's internals shared between
 * daxfs_main.c (command line, mount), fuse_ops.c (the low-level ops table)
 * and fuse_mount.c (mount point checks).
 */
#ifndef DAXFS_FUSE_DAEMON_H
#define DAXFS_FUSE_DAEMON_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <linux/ioctl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daxfs.h"
#include "datapath.h"
#include "daxfs.h"
#include "fuse_stats.h"

struct daxfs;
struct daxfs_mmap_server;

/*
 * How much file data the kernel may keep in its page cache (-o cache=):
 *   never   files are opened direct_io: every read and write is a request;
 *           shared mappings still work (the kernel caches only the mapped
 *           pages, written back at msync/fsync and before direct I/O).
 *   auto    the kernel caches while a file is open; each open starts afresh
 *           (close-to-open, like NFS), and a change of size or mtime seen
 *           in the attributes drops the cache.
 *   always  the cache survives close and open: repeated reads of a file
 *           cost no request at all. Data that changes behind the kernel
 *           (a libdaxfs DAX mapping) is dropped from it when the mapping is
 *           granted and when it goes away.
 * With -o writeback (auto or always) the kernel also keeps written data:
 * write(2) returns once the data is in its page cache, and the kernel
 * writes it back (WRITE requests) at close, fsync, msync and on its own
 * within seconds, as for a local filesystem; DAX mmap is not offered then.
 */
enum daxfs_cache_mode {
	DAXFS_CACHE_NEVER,
	DAXFS_CACHE_AUTO,
	DAXFS_CACHE_ALWAYS,
};

/* Inode numbers of the hidden statistics files (never used by the core). */
#define DAXFS_FUSE_STATS_INO (UINT64_MAX - 1)
#define DAXFS_FUSE_STATS_JSON_INO (UINT64_MAX - 2)

/* Largest read or write request, bytes (FUSE's 256-page limit). */
#define DAXFS_FUSE_MAX_IO (UINT32_C(1) << 20)

/*
 * `daxfs -o remount,...` (run by mount(8) through mount.fuse3 for
 * `mount -o remount`) asks the daemon of the mount with this ioctl on the
 * mount point, then remounts the kernel's side (docs/design.md, Remount).
 */
struct daxfs_ioc_remount {
	uint32_t flags; /* DAXFS_REMOUNT_* */
	uint32_t atime; /* enum daxfs_atime, with DAXFS_REMOUNT_ATIME */
};
#define DAXFS_REMOUNT_RDONLY (1U << 0)	   /* to read-only (everything durable first) */
#define DAXFS_REMOUNT_RDWR (1U << 1)	   /* to read-write */
#define DAXFS_REMOUNT_ATIME (1U << 2)	   /* set the atime policy */
#define DAXFS_REMOUNT_DIRATIME (1U << 3)   /* directories' atime too */
#define DAXFS_REMOUNT_NODIRATIME (1U << 4) /* not for directories */
#define DAXFS_IOC_REMOUNT _IOW(0xDA, 0x20, struct daxfs_ioc_remount)

struct daxfs_daemon {
	struct daxfs *fs;
	const char *region_path;
	const char *mountpoint;
	bool read_only;		      /* changed by remount, under remount_lock */
	pthread_mutex_t remount_lock; /* one remount at a time */
	_Atomic int atime;	      /* enum daxfs_atime: -o noatime|relatime|strictatime */
	atomic_bool nodiratime;	      /* -o nodiratime */
	struct daxfs_dp_config dp_cfg;
	const struct daxfs_dp_ops *dp_ops;
	struct daxfs_dp *dp;
	/*
	 * How long the kernel may trust a name (entry_timeout, also for names
	 * that do not exist: negative_timeout) and an inode's attributes
	 * (attr_timeout), seconds. Every name change goes through this daemon
	 * and the kernel, so names can be trusted long. So can attributes:
	 * the one change made behind the kernel's back, blocks (st_blocks)
	 * allocated for a DAX mapping, is followed by an invalidation of the
	 * file's cached attributes (daxfs_fuse_inval_data at the grant), and
	 * setuid/setgid cleared on WRITE by another (kill_suidgid).
	 */
	double entry_timeout;
	double negative_timeout;
	double attr_timeout;
	enum daxfs_cache_mode cache;
	bool writeback;	   /* -o writeback: FUSE_CAP_WRITEBACK_CACHE (cache=auto|always) */
	bool uring_wanted; /* -o io_uring given and the kernel switch is on */
	/* a request came through io_uring: the transport in use (daxfs stat),
	 * and the /dev/fuse loop gathers FORGETs (fuse_devloop.h) */
	_Atomic bool ring_live;
	struct fuse_session *se; /* for notifications to the kernel */
	bool no_opendir;	 /* the kernel opens directories without asking */
	bool detached;		 /* background daemon: logs go to syslog */
	/* -o errors=: after corrupt metadata, stop changes, go on or exit */
	enum daxfs_errors_mode errors;
	struct daxfs_fuse_stats stats;
	struct daxfs_mmap_server *mmap; /* DAX mmap server, NULL if not built */
	/* the region's emulated badblocks list: the daemon owns it while
	 * mounted (badblocks_ctl.h); @bad is it as the core takes it */
	struct pmemdev_bb *bb;
	struct daxfs_badblocks bad;
};

/*
 * daxfs_fuse_log - the daemon's log (a daxfs_log_fn, @arg the daemon): a
 * line to stderr, or to syslog once the daemon left its terminal.
 */
void daxfs_fuse_log(void *arg, const char *line);

/* daxfs_cache_mode_name - "never", "auto" or "always". */
const char *daxfs_cache_mode_name(enum daxfs_cache_mode m);

/*
 * daxfs_fuse_inval_data - drop the kernel's cached pages of @ino (dirty
 * ones of a shared mapping are written back first: the kernel sends WRITE
 * requests for them before this returns) and its cached attributes, so
 * that the next access sees what the region holds. For data changed behind
 * the kernel: DAX mappings granted or given up. Must be called from a
 * thread that is not the only one serving requests. Returns 0 or -errno
 * (-ENOENT: the kernel has no such inode cached, which is fine).
 */
int daxfs_fuse_inval_data(struct daxfs_daemon *d, uint64_t ino);

/* fuse_posix.c */
/* may @ino be opened with open(2) @flags? -EPERM for an immutable or
 * append-only file opened for writing without O_APPEND (as the VFS does) */
int daxfs_fuse_open_allowed(struct daxfs_daemon *d, uint64_t ino, int flags);
/* may a write with the file's @flags go to @ino? (append-only needs O_APPEND) */
int daxfs_fuse_write_allowed(struct daxfs_daemon *d, uint64_t ino, int flags);
/* setting an access ACL clears S_ISGID: the caller is neither in group @gid
 * nor has CAP_FSETID (the kernel's rule, which FUSE does not pass on) */
bool daxfs_fuse_acl_kills_sgid(fuse_req_t req, uint32_t gid);
/* @ino (a directory if @dir) was read: update atime as the mount says */
void daxfs_fuse_touch_atime(struct daxfs_daemon *d, uint64_t ino, bool dir);
/* apply a remount request; 0 or -errno (the mount keeps its state) */
int daxfs_fuse_remount(struct daxfs_daemon *d, const struct daxfs_ioc_remount *r);
/* answer @cmd if it is FS_IOC_[GS]ETFLAGS, FS_IOC_FS[GS]ETXATTR or
 * DAXFS_IOC_REMOUNT (true), else leave @req alone (false) */
bool daxfs_fuse_posix_ioctl(struct daxfs_daemon *d, fuse_req_t req, fuse_ino_t ino, unsigned cmd,
			    const void *in_buf, size_t in_bufsz, size_t out_bufsz);

/* The low-level operations; userdata is a struct daxfs_daemon. */
extern const struct fuse_lowlevel_ops daxfs_fuse_ops;

/*
 * daxfs_fuse_check_mountpoint - refuse a mount point that is missing, not a
 * directory, already a mount point, or (unless @nonempty) not empty.
 * Returns 0 or -errno with pmd_err naming the problem.
 */
int daxfs_fuse_check_mountpoint(const char *path, bool nonempty);

/*
 * daxfs_fuse_print_stats - write the mount's statistics (text or JSON) to
 * @f: ops, bytes, data path counters, core counters.
 */
void daxfs_fuse_print_stats(struct daxfs_daemon *d, FILE *f, int json);

#endif
