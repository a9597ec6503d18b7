/* SPDX-License-Identifier: MIT */
/*
 * mmap_server.h - the daemon side of DAX mmap (protocol in
 * client/daxfs_mmap_proto.h, design in docs/dax-mmap.md).
 *
 * A self-contained module: the daemon creates one server per mount after
 * opening the filesystem, routes the FUSE ioctl operation to
 * daxfs_mmap_server_ioctl(), and deletes the server before closing the
 * filesystem. The server owns an abstract unix socket and one thread that
 * accepts clients and notices when they go away; every granted mapping
 * holds a layout pin (daxfs_pin) and an inode reference (daxfs_iget) that
 * are dropped when the client's connection closes, which the kernel does
 * for a client that exits or dies.
 *
 * Open files: the FUSE ioctl request carries only the file handle, so the
 * daemon's open and create handlers must store daxfs_mmap_fh(fi->flags) in
 * fi->fh for regular files: it records whether the file was opened for
 * reading (any mapping needs it, as with mmap) and for writing (a writable
 * mapping needs it).
 */
#ifndef DAXFS_MMAP_SERVER_H
#define DAXFS_MMAP_SERVER_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct daxfs;
struct daxfs_mmap_server;

/* Bits of fi->fh for regular files: opened with write / read access. */
#define DAXFS_MMAP_FH_WRITE UINT64_C(1)
#define DAXFS_MMAP_FH_READ UINT64_C(2)

/* daxfs_mmap_fh - the fi->fh value for a regular file opened with @open_flags. */
static inline uint64_t daxfs_mmap_fh(int open_flags)
{
	switch (open_flags & O_ACCMODE) {
	case O_RDONLY:
		return DAXFS_MMAP_FH_READ;
	case O_WRONLY:
		return DAXFS_MMAP_FH_WRITE;
	default:
		return DAXFS_MMAP_FH_READ | DAXFS_MMAP_FH_WRITE;
	}
}

/*
 * daxfs_mmap_server_new - start serving DAX mmap for the open filesystem
 * @fs (which must outlive the server). If @disabled_why is not NULL the
 * server only answers DAXFS_IOC_INFO, saying mmap is not offered and why
 * (e.g. the page data path, whose cache is not coherent with a mapping),
 * and starts no thread. Returns 0 and the server in *@out, or -errno with
 * pmd_err (socket, thread or region descriptor failures).
 */
int daxfs_mmap_server_new(struct daxfs *fs, const char *disabled_why,
			  struct daxfs_mmap_server **out);

/*
 * daxfs_mmap_server_set_inval - have @fn(@arg, ino) called when the data of
 * file ino is about to change behind the kernel's page cache: when a
 * mapping of it is granted (on the FUSE worker thread serving the ioctl,
 * before the client gets the extents) and when a mapping's connection goes
 * away (on the server thread). @fn drops the kernel's cached pages of the
 * file (writing dirty ones back first). Call before the filesystem is
 * mounted; @fn may be NULL.
 */
void daxfs_mmap_server_set_inval(struct daxfs_mmap_server *s, void (*fn)(void *arg, uint64_t ino),
				 void *arg);

/*
 * daxfs_mmap_server_set_read_only - before a remount to read-only (@ro):
 * no writable mapping is granted from now on, nor blocks allocated, until
 * called with !@ro (a failed or undone remount); the filesystem's own
 * read-only state (daxfs_readonly) is followed besides. Returns -EBUSY
 * (nothing changed) when @ro and a writable mapping is granted or being
 * served (its stores would go on), else 0.
 */
int daxfs_mmap_server_set_read_only(struct daxfs_mmap_server *s, bool ro);

/*
 * daxfs_mmap_server_set_quiesce - have @fn(@arg, ino, true) called before
 * a grant moves blocks of file ino (isolation on a chunked region) and
 * @fn(@arg, ino, false) after: in between, no data path I/O may store into
 * the file's blocks except through the core (the bio path's in-flight
 * bios use block addresses looked up before). Called on the FUSE worker
 * serving the ioctl, with no lock held. Call before the filesystem is
 * mounted; @fn may be NULL.
 */
void daxfs_mmap_server_set_quiesce(struct daxfs_mmap_server *s,
				   void (*fn)(void *arg, uint64_t ino, bool begin), void *arg);

/*
 * daxfs_mmap_server_print - for daxfs stat: whether DAX mappings isolate
 * files on this region, grant counters, the pins held now (one per
 * mapping: process, inode, range) and the chunks kept for mapped files
 * (also those kept for mappings made before this daemon started). Text,
 * or (@json) one JSON member "mmap": {...} without a trailing comma.
 * @s may be NULL (prints that DAX mmap is not built in).
 */
void daxfs_mmap_server_print(struct daxfs_mmap_server *s, FILE *f, int json);

/*
 * daxfs_mmap_server_delete - stop the thread, close every connection and
 * drop their pins and references (call before daxfs_close). Sets *@sp to
 * NULL; a NULL server is fine.
 */
void daxfs_mmap_server_delete(struct daxfs_mmap_server **sp);

/*
 * daxfs_mmap_server_ioctl - the FUSE low-level ioctl operation for regular
 * files (same arguments): answers DAXFS_IOC_INFO and DAXFS_IOC_MAP and
 * replies ENOTTY to any other command. Always replies to @req. May be
 * called from any FUSE worker thread. @s may be NULL (replies ENOTTY).
 */
void daxfs_mmap_server_ioctl(struct daxfs_mmap_server *s, fuse_req_t req, fuse_ino_t ino,
			     unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
			     const void *in_buf, size_t in_bufsz, size_t out_bufsz);

/*
 * daxfs_mmap_server_set_badblocks - refuse (EIO, with the file offset in
 * the message) a mapping whose range holds a block on a bad sector of
 * @bad: a mapped bad block would be handed out silently, where the kernel
 * would raise SIGBUS at the first access. A sector that goes bad after the
 * mapping was granted is not revoked from it. @bad must outlive the
 * server; @s may be NULL. Call before the mount serves requests.
 */
struct daxfs_badblocks;
void daxfs_mmap_server_set_badblocks(struct daxfs_mmap_server *s,
				     const struct daxfs_badblocks *bad);

/* Counters since start. */
struct daxfs_mmap_server_stats {
	uint64_t connections; /* accepted */
	uint64_t grants;      /* mappings granted */
	uint64_t refusals;    /* DAXFS_IOC_MAP answered with an error */
	uint64_t kernel;      /* answered "map through the kernel" */
	uint64_t chunks;      /* chunk descriptors handed out */
	uint64_t active;      /* connections holding a pin now */
	uint64_t bytes;	      /* bytes granted, sum over grants */
};

void daxfs_mmap_server_get_stats(struct daxfs_mmap_server *s, struct daxfs_mmap_server_stats *st);

#endif
