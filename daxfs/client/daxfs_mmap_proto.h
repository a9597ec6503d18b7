/* SPDX-License-Identifier: MIT */
/*
 * daxfs_mmap_proto.h - the DAX mmap protocol between libdaxfs (client) and
 * the daxfs daemon (daxfs/fuse/mmap_server.c). Not installed: private to the two
 * sides, which are always built from the same tree (the version field
 * still lets a client refuse a daemon it does not understand).
 *
 *  1. ioctl(fd, DAXFS_IOC_INFO) on an open file of the mount: the daemon
 *     answers with its magic, the name of its abstract unix socket and
 *     what the region looks like (size, granularity, map alignment).
 *  2. The client connects to the socket; the daemon sends a hello holding
 *     a random connection id.
 *  3. ioctl(fd, DAXFS_IOC_MAP, {conn_id, range, want write}) on the same
 *     open file. The daemon checks that the ioctl caller's thread group is
 *     the peer of that connection (SO_PEERCRED), that the file was opened
 *     for writing if write is wanted; takes a layout pin and an inode
 *     reference for the connection; on a chunked region gives the range
 *     chunks of its own (daxfs_isolate: shared blocks are moved, holes
 *     allocated), on a single-file region only if the caller may open the
 *     region file itself. It replies with the status (and a message on
 *     failure), or with DAXFS_MAP_KERNEL in granted: no DAX mapping for
 *     this caller or file (the message says why), map through the kernel
 *     (mmap(2) of the file, served by the page cache). After a DAX grant it
 *     sends on the connection a daxfs_mmap_grant, the extents, and the
 *     descriptors (O_RDONLY unless write was granted): one of the whole
 *     region with the grant header (chunk_size 0), or, for a chunked
 *     region, the chunk indexes and then batches of at most
 *     DAXFS_MMAP_FDS_BATCH chunk descriptors, each batch a
 *     daxfs_mmap_fdbatch with the descriptors as SCM_RIGHTS, in the order
 *     of the index list. A descriptor of a chunk reaches that chunk's
 *     2 MiB and nothing else, and the chunk holds only the file's data.
 *  4. The client maps the extents (each piece from the descriptor of its
 *     chunk, at the offset within it), closes the descriptors at once and
 *     keeps the connection open for the life of the mapping. The daemon
 *     drops the pin when the connection closes: munmap, exit or death.

 * Restricted FUSE ioctls: fixed-size structures, encoded with _IOR/_IOWR
 * so the kernel copies them in and out. All sizes and offsets are bytes.
 */
#ifndef DAXFS_MMAP_PROTO_H
#define DAXFS_MMAP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#define DAXFS_MMAP_MAGIC UINT64_C(0x317061786d786164) /* "daxmmap1" little-endian */
#define DAXFS_MMAP_VERSION 2U

#define DAXFS_MMAP_SOCK_MAX 100 /* bytes of the abstract socket name, with NUL */
#define DAXFS_MMAP_MSG_MAX 200	/* bytes of a failure message, with NUL */

/* daxfs_ioc_info.flags */
#define DAXFS_INFO_RDONLY_FS (1U << 0) /* the filesystem is mounted read-only */
#define DAXFS_INFO_MMAP (1U << 1)      /* DAX mmap is offered by this mount */
#define DAXFS_INFO_ISOLATED (1U << 2)  /* chunked region: a grant reaches the file only */

/* daxfs_ioc_info.granularity: same values as enum pmr_granularity */
#define DAXFS_GRAN_BYTE 0
#define DAXFS_GRAN_CACHELINE 1
#define DAXFS_GRAN_PAGE 2

struct daxfs_ioc_info {
	uint64_t magic;	      /* DAXFS_MMAP_MAGIC */
	uint32_t version;     /* DAXFS_MMAP_VERSION */
	uint32_t flags;	      /* DAXFS_INFO_* */
	uint64_t region_size; /* bytes */
	uint64_t map_align;   /* bytes: region offsets and lengths the client may map
			       * must be multiples of this (4 KiB, or 2 MiB on hugetlbfs
			       * and devdax) */
	uint32_t granularity; /* DAXFS_GRAN_*: how the client must persist */
	uint32_t reserved;
	char sock_name[DAXFS_MMAP_SOCK_MAX]; /* abstract socket name (without the leading NUL) */
	char why[DAXFS_MMAP_MSG_MAX];	     /* why DAX mmap is not offered, if not */
};

/* daxfs_ioc_map.want and .granted */
#define DAXFS_MAP_WANT_WRITE (1U << 0)
#define DAXFS_MAP_KERNEL (1U << 1) /* granted: no DAX mapping, map with mmap(2) (msg: why) */

struct daxfs_ioc_map {
	/* in */
	uint64_t conn_id;  /* from the hello on the caller's connection */
	uint64_t file_off; /* bytes, 4 KiB aligned */
	uint64_t len;	   /* bytes, > 0 */
	uint32_t want;	   /* DAXFS_MAP_WANT_* */
	uint32_t reserved;
	/* out */
	int32_t status;		      /* 0 or -errno */
	uint32_t granted;	      /* DAXFS_MAP_WANT_* that were granted */
	uint64_t file_size;	      /* bytes, at the time of the map */
	uint64_t nr_extents;	      /* extents that follow on the connection */
	char msg[DAXFS_MMAP_MSG_MAX]; /* why, when status < 0 */
};

#define DAXFS_IOC_INFO _IOR(0xDA, 0x01, struct daxfs_ioc_info)
#define DAXFS_IOC_MAP _IOWR(0xDA, 0x02, struct daxfs_ioc_map)

/* First message on a new connection, daemon to client. */
struct daxfs_mmap_hello {
	uint64_t magic; /* DAXFS_MMAP_MAGIC */
	uint32_t version;
	uint32_t reserved;
	uint64_t conn_id;
};

/*
 * After a DAX grant: this header (with the region descriptor as SCM_RIGHTS
 * when chunk_size is 0), then nr_extents extents; when chunk_size is not 0,
 * then nr_chunks chunk indexes (uint64_t, ascending) and the batches of
 * their descriptors.
 */
struct daxfs_mmap_grant {
	uint64_t magic;
	uint64_t nr_extents;
	uint64_t chunk_size; /* bytes: 0 = one descriptor of the whole region */
	uint64_t nr_chunks;  /* chunk descriptors that follow */
};

#define DAXFS_MMAP_FDS_BATCH 64 /* chunk descriptors per message at most */

/* One batch of chunk descriptors: @count of them ride as SCM_RIGHTS. */
struct daxfs_mmap_fdbatch {
	uint32_t magic; /* DAXFS_MMAP_FDS_MAGIC */
	uint32_t count;
};

#define DAXFS_MMAP_FDS_MAGIC 0x73646678U /* "xfds" */

#define DAXFS_MMAP_EXT_HOLE UINT64_MAX /* map zeros (read-only filesystem only) */

/* One run of the granted range, in file order, covering it without gaps. */
struct daxfs_mmap_ext {
	uint64_t file_off;   /* bytes */
	uint64_t len;	     /* bytes */
	uint64_t region_off; /* bytes, or DAXFS_MMAP_EXT_HOLE */
};

/*
 * daxfs_mmap_send_all, daxfs_mmap_recv_all - send or receive all @len bytes
 * at @buf on connection @fd (send never raises SIGPIPE), retrying after
 * signals. Return 0, -EPIPE when the peer closed the connection first, or
 * -errno. (daxfs_mmap_proto.c)
 */
int daxfs_mmap_send_all(int fd, const void *buf, size_t len);
int daxfs_mmap_recv_all(int fd, void *buf, size_t len);

/*
 * daxfs_mmap_send_fds - send the @len bytes at @buf as one message carrying
 * @nfds descriptors (SCM_RIGHTS, at most DAXFS_MMAP_FDS_BATCH). Returns 0,
 * -EPIPE or -errno.
 *
 * daxfs_mmap_recv_fds - receive such a message of exactly @len bytes into
 * @buf and its descriptors (close-on-exec) into @fds: *@nfds gets how many
 * (at most @max; any beyond are closed). Returns 0, -EPROTO for a short or
 * truncated message (no descriptor is left open then), or -errno.
 */
int daxfs_mmap_send_fds(int fd, const void *buf, size_t len, const int *fds, unsigned nfds);
int daxfs_mmap_recv_fds(int fd, void *buf, size_t len, int *fds, unsigned max, unsigned *nfds);

#endif
