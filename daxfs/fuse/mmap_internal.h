/* SPDX-License-Identifier: MIT */
/*
 * mmap_internal.h - what the two halves of the DAX mmap server share:
 * mmap_server.c (connections, the server thread, set-up, statistics) and
 * mmap_grant.c (DAXFS_IOC_MAP: who gets what, and sending it). Not an API.
 */
#ifndef DAXFS_MMAP_INTERNAL_H
#define DAXFS_MMAP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "client/daxfs_mmap_proto.h"
#include "daxfs.h"
#include "mmap_server.h"

struct mconn {
	struct mconn *next;
	int fd;
	uint64_t id;
	pid_t peer_pid; /* thread group id, from SO_PEERCRED */
	unsigned refs;	/* under srv->lock */
	bool busy;	/* a DAXFS_IOC_MAP is being served or was granted */
	bool pinned;	/* holds daxfs_pin + daxfs_iget on ino */
	bool writable;	/* the mapping served or granted is writable (srv->lock) */
	bool listed;	/* on srv->conns and in the epoll set */
	uint64_t ino;
	/* what was granted, for daxfs stat (set before the reply, then fixed) */
	uint64_t file_off, len; /* bytes */
	uint64_t nr_chunks;	/* chunk descriptors handed out */
};

struct daxfs_mmap_server {
	struct daxfs *fs;
	const char *disabled_why; /* NULL when mmap is offered */
	bool region_ro;		  /* the region is open read-only (no fd_rw) */
	atomic_bool no_write;	  /* going read-only (set under lock) */
	bool chunked;		  /* the region isolates: chunk descriptors */
	int fd_rw;		  /* single-file region, O_RDWR (or -1) */
	int fd_ro;		  /* single-file region, O_RDONLY (or -1) */
	struct stat region_st;	  /* owner and mode of the region file or device */
	const char *region_path;
	uint64_t region_size; /* bytes */
	uint64_t map_align;   /* bytes */
	uint32_t granularity; /* DAXFS_GRAN_* */
	char sock_name[DAXFS_MMAP_SOCK_MAX];
	int listen_fd;
	int epoll_fd;
	int stop_fd; /* eventfd */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	struct mconn *conns;
	void (*inval)(void *arg, uint64_t ino); /* see daxfs_mmap_server_set_inval */
	void *inval_arg;
	void (*quiesce)(void *arg, uint64_t ino, bool begin); /* daxfs_mmap_server_set_quiesce */
	void *quiesce_arg;
	uint64_t scan_unreadable; /* processes whose mappings the start-up scan could not read */
	_Atomic uint64_t n_conn, n_grant, n_refuse, n_active, n_bytes, n_kernel, n_chunks;
	const struct daxfs_badblocks *bad; /* refuse bad sectors, or NULL */
};

/*
 * No writable grant and no allocation: the filesystem is read-only now
 * (mounted or remounted so, or stopped after corruption), or the region
 * itself is open read-only. Asked at each request: a remount changes it.
 */
static inline bool fs_readonly(struct daxfs_mmap_server *s)
{
	return s->region_ro || atomic_load(&s->no_write) || daxfs_readonly(s->fs);
}

/* mmap_grant.c: serve DAXFS_IOC_MAP (always replies to @req). */
void mmap_do_map(struct daxfs_mmap_server *s, fuse_req_t req, fuse_ino_t ino,
		 struct fuse_file_info *fi, const void *in_buf, size_t in_bufsz, size_t out_bufsz);

/* mmap_server.c, for mmap_grant.c */
struct mconn *conn_find_get(struct daxfs_mmap_server *s, uint64_t id);
void conn_put(struct daxfs_mmap_server *s, struct mconn *c);
/* drop the pin of a connection whose grant failed (the connection stays) */
void conn_unpin(struct daxfs_mmap_server *s, struct mconn *c);

#endif
