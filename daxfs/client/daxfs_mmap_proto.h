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
 *     for writing if write is wanted, allocates holes in the range, takes
 *     a layout pin and an inode reference for the connection, replies with
 *     the status (and a message on failure), then sends on the connection
 *     a daxfs_mmap_grant followed by the extents and, as SCM_RIGHTS, a
 *     descriptor of the region (O_RDONLY unless write was granted).
 *  4. The client maps the extents, closes the region descriptor at once and
 *     keeps the connection open for the life of the mapping. The daemon
 *     drops the pin when the connection closes: munmap, exit or death.
 *
 * Restricted FUSE ioctls: fixed-size structures, encoded with _IOR/_IOWR
 * so the kernel copies them in and out. All sizes and offsets are bytes.
 */
#ifndef DAXFS_MMAP_PROTO_H
#define DAXFS_MMAP_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#define DAXFS_MMAP_MAGIC UINT64_C(0x317061786d786164) /* "daxmmap1" little-endian */
#define DAXFS_MMAP_VERSION 1U

#define DAXFS_MMAP_SOCK_MAX 100 /* bytes of the abstract socket name, with NUL */
#define DAXFS_MMAP_MSG_MAX 200	/* bytes of a failure message, with NUL */

/* daxfs_ioc_info.flags */
#define DAXFS_INFO_RDONLY_FS (1U << 0) /* the filesystem is mounted read-only */
#define DAXFS_INFO_MMAP (1U << 1)      /* DAX mmap is offered by this mount */

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

/* daxfs_ioc_map.want */
#define DAXFS_MAP_WANT_WRITE (1U << 0)

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

/* After a successful DAXFS_IOC_MAP: this header (with the region fd as
 * SCM_RIGHTS), then nr_extents extents, daemon to client. */
struct daxfs_mmap_grant {
	uint64_t magic;
	uint64_t nr_extents;
};

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

#endif
