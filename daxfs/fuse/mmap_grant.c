/* SPDX-License-Identifier: MIT */
/*
 * mmap_grant.c - DAXFS_IOC_MAP: who gets a DAX mapping of what, and
 * handing it over (protocol in client/daxfs_mmap_proto.h, design in
 * docs/dax-mmap.md).
 *
 * A chunked region isolates: the range is given chunks of the file's own
 * (daxfs_isolate, with data path I/O on the file quiesced while blocks
 * move), and the client gets descriptors of those chunks only. Where the
 * file cannot get chunks of its own (no free 2 MiB chunk; a read-only
 * filesystem and the file shares chunks), the answer is DAXFS_MAP_KERNEL:
 * map through the kernel's page cache.
 *
 * A single-file region (or device) cannot be handed out in parts, and its
 * descriptor reaches everything: DAX goes only to callers who could open
 * the region themselves (checked with their credentials against the
 * region's path), everyone else is told DAXFS_MAP_KERNEL.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daxfs.h"
#include "errmsg.h"
#include "mmap_internal.h"
#include "region.h"
#include "units.h"

#define MAX_GROUPS 256

/* ---------------------------------------------------------------------- */
/* Who may have DAX on a single-file region */

/* Thread group of the thread @tid (FUSE reports the calling thread). */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * may_open_region - could the caller of @req open the region itself, for
 * reading and (@write) writing? Asked of the kernel with the caller's
 * filesystem ids and groups put on this thread only (the raw system calls
 * change the calling thread's credentials; glibc's wrappers would change
 * every thread's), so path search permission, ACLs and security modules
 * all count. Root may. When the ids cannot be switched (a daemon without
 * CAP_SETUID), only the daemon's own user may.
 */
static bool may_open_region(struct daxfs_mmap_server *s, fuse_req_t req, bool write)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[MAX_GROUPS], saved[MAX_GROUPS];
	int n, nsaved, mode = R_OK | (write ? W_OK : 0);
	long fsuid, fsgid;
	bool ok = false;

	if (ctx->uid == 0)
		return true;
	if (ctx->uid == geteuid() && ctx->gid == getegid())
		return !syscall(SYS_faccessat2, AT_FDCWD, s->region_path, mode, AT_EACCESS);
	n = fuse_req_getgroups(req, MAX_GROUPS, groups);
	if (n < 0 || n > MAX_GROUPS)
		n = 0;
	nsaved = getgroups(MAX_GROUPS, saved);
	if (nsaved < 0)
		return false;
	fsuid = syscall(SYS_setfsuid, -1);
	fsgid = syscall(SYS_setfsgid, -1);
	if (syscall(SYS_setgroups, (size_t)n, groups))
		return false;
	syscall(SYS_setfsgid, ctx->gid);
	syscall(SYS_setfsuid, ctx->uid);
	if (syscall(SYS_setfsuid, -1) == (long)ctx->uid &&
	    syscall(SYS_setfsgid, -1) == (long)ctx->gid)
		ok = !syscall(SYS_faccessat2, AT_FDCWD, s->region_path, mode, AT_EACCESS);
	syscall(SYS_setfsuid, fsuid);
	syscall(SYS_setfsgid, fsgid);
	if (syscall(SYS_setgroups, (size_t)nsaved, saved) || syscall(SYS_setfsuid, -1) != fsuid) {
		/* this thread would go on with a client's ids: never */
		fprintf(stderr, "daxfs: cannot restore the daemon's credentials; stopping\n");
		abort();
	}
	return ok;
}

/* ---------------------------------------------------------------------- */
/* Extents */

struct ext_vec {
	struct daxfs_mmap_ext *v;
	uint64_t n, cap;
};

static int ext_push(struct ext_vec *e, uint64_t file_off, uint64_t len, uint64_t region_off)
{
	struct daxfs_mmap_ext *last = e->n ? &e->v[e->n - 1] : NULL;

	if (last && last->file_off + last->len == file_off &&
	    ((last->region_off == DAXFS_MMAP_EXT_HOLE && region_off == DAXFS_MMAP_EXT_HOLE) ||
	     (last->region_off != DAXFS_MMAP_EXT_HOLE && region_off != DAXFS_MMAP_EXT_HOLE &&
	      last->region_off + last->len == region_off))) {
		last->len += len;
		return 0;
	}
	if (e->n == e->cap) {
		uint64_t cap = e->cap ? 2 * e->cap : 16;
		void *v = realloc(e->v, cap * sizeof(*e->v));

		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct daxfs_mmap_ext){file_off, len, region_off};
	return 0;
}

/*
 * bad_sectors - -EIO (with the file range in @msg) when region bytes
 * [@roff, +@len), file bytes from @pos, hold a bad sector: a mapping would
 * hand it out silently, where the kernel would raise SIGBUS at the first
 * access. A sector that goes bad after the grant is not revoked.
 */
static int bad_sectors(struct daxfs_mmap_server *s, uint64_t pos, uint64_t len, uint64_t roff,
		       char *msg, size_t msglen)
{
	if (!s->bad || !s->bad->check(s->bad->ctx, roff, len))
		return 0;
	snprintf(msg, msglen,
		 "file bytes %" PRIu64 "..%" PRIu64 " hold bad sectors (region bytes %" PRIu64
		 "..%" PRIu64 "): rewrite them with write(2); 'daxfs badblocks MNT list'",
		 pos, pos + len - 1, roff, roff + len - 1);
	return -EIO;
}

/*
 * Build the extents of [@off, @end) of @ino, allocating holes if @alloc,
 * and check that every allocated run can be mapped (map_align). The caller
 * holds a pin. Returns 0 or -errno with a message in @msg.
 */
static int build_extents(struct daxfs_mmap_server *s, uint64_t ino, uint64_t off, uint64_t end,
			 bool alloc, struct ext_vec *e, char *msg, size_t msglen)
{
	unsigned flags = alloc ? DAXFS_BMAP_ALLOC : 0;
	uint64_t pos = off;
	int err;

	while (pos < end) {
		struct daxfs_map m;
		uint64_t mend;

		err = daxfs_bmap(s->fs, ino, pos, end - pos, flags, &m);
		if (err) {
			snprintf(msg, msglen, "cannot %s file offset %" PRIu64 ": %s",
				 flags ? "allocate" : "map", pos, pmd_strerror(err));
			return err;
		}
		mend = m.file_off + m.len;
		if (m.len == 0 || mend <= pos) {
			snprintf(msg, msglen, "block map made no progress at offset %" PRIu64, pos);
			return -EIO;
		}
		if (mend > end)
			mend = end;
		if (m.region_off == DAXFS_HOLE) {
			err = ext_push(e, pos, mend - pos, DAXFS_MMAP_EXT_HOLE);
		} else {
			uint64_t roff = m.region_off + (pos - m.file_off);

			if (roff % s->map_align || (mend - pos) % s->map_align) {
				snprintf(msg, msglen,
					 "file offset %" PRIu64 " is in a %" PRIu64
					 "-byte run at region offset %" PRIu64
					 ", but this region (hugetlbfs or devdax) can only be "
					 "mapped in aligned %" PRIu64 "-byte pieces",
					 pos, mend - pos, roff, s->map_align);
				return -EINVAL;
			}
			err = bad_sectors(s, pos, mend - pos, roff, msg, msglen);
			if (err)
				return err;
			err = ext_push(e, pos, mend - pos, roff);
		}
		if (err) {
			snprintf(msg, msglen, "out of memory");
			return err;
		}
		pos = mend;
	}
	return 0;
}

/*
 * build_windows - the extents of [@off, @end) (2 MiB aligned) of @ino
 * after isolation window by window (DAXFS_ISO_WHOLE, hugetlbfs): a window
 * that holds data is its whole chunk, the file's own; one without is a
 * hole. Returns 0 or -errno with a message in @msg.
 */
static int build_windows(struct daxfs_mmap_server *s, uint64_t ino, uint64_t off, uint64_t end,
			 struct ext_vec *e, char *msg, size_t msglen)
{
	for (uint64_t w = off; w < end; w += PMR_CHUNK_SIZE) {
		uint64_t chunk_off = DAXFS_MMAP_EXT_HOLE, pos = w, we = w + PMR_CHUNK_SIZE;
		int err;

		while (pos < we && chunk_off == DAXFS_MMAP_EXT_HOLE) {
			struct daxfs_map m;

			err = daxfs_bmap(s->fs, ino, pos, we - pos, 0, &m);
			if (err) {
				snprintf(msg, msglen, "cannot map file offset %" PRIu64 ": %s", pos,
					 pmd_strerror(err));
				return err;
			}
			if (m.len == 0 || m.file_off + m.len <= pos) {
				snprintf(msg, msglen,
					 "block map made no progress at offset %" PRIu64, pos);
				return -EIO;
			}
			if (m.region_off != DAXFS_HOLE)
				chunk_off = align_down(m.region_off, PMR_CHUNK_SIZE);
			pos = m.file_off + m.len;
		}
		if (chunk_off != DAXFS_MMAP_EXT_HOLE) {
			err = bad_sectors(s, w, PMR_CHUNK_SIZE, chunk_off, msg, msglen);
			if (err)
				return err;
		}
		err = ext_push(e, w, PMR_CHUNK_SIZE, chunk_off);
		if (err) {
			snprintf(msg, msglen, "out of memory");
			return err;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Sending a grant */

static int send_region_grant(struct daxfs_mmap_server *s, struct mconn *c, bool write,
			     const struct ext_vec *e)
{
	struct daxfs_mmap_grant g = {.magic = DAXFS_MMAP_MAGIC, .nr_extents = e->n};
	int rfd = write ? s->fd_rw : s->fd_ro;
	int err = daxfs_mmap_send_fds(c->fd, &g, sizeof(g), &rfd, 1);

	if (!err && e->n)
		err = daxfs_mmap_send_all(c->fd, e->v, e->n * sizeof(*e->v));
	return err;
}

/* the chunk descriptors, DAXFS_MMAP_FDS_BATCH at a time */
static int send_chunk_fds(struct daxfs_mmap_server *s, struct mconn *c, bool write,
			  const uint64_t *chunks, size_t n)
{
	struct pmr_region *r = daxfs_region(s->fs);
	int fds[DAXFS_MMAP_FDS_BATCH];
	int err = 0;

	for (size_t k = 0; k < n && !err;) {
		struct daxfs_mmap_fdbatch b = {.magic = DAXFS_MMAP_FDS_MAGIC};
		unsigned got = 0;

		while (k < n && got < DAXFS_MMAP_FDS_BATCH) {
			err = pmr_chunk_give(r, chunks[k], !write, &fds[got]);
			if (err)
				break;
			got++;
			k++;
		}
		b.count = got;
		if (!err)
			err = daxfs_mmap_send_fds(c->fd, &b, sizeof(b), fds, got);
		for (unsigned j = 0; j < got; j++)
			close(fds[j]);
	}
	return err;
}

static int send_chunk_grant(struct daxfs_mmap_server *s, struct mconn *c, bool write,
			    const struct ext_vec *e, const uint64_t *chunks, size_t n)
{
	struct daxfs_mmap_grant g = {.magic = DAXFS_MMAP_MAGIC,
				     .nr_extents = e->n,
				     .chunk_size = PMR_CHUNK_SIZE,
				     .nr_chunks = n};
	int err = daxfs_mmap_send_all(c->fd, &g, sizeof(g));

	if (!err && e->n)
		err = daxfs_mmap_send_all(c->fd, e->v, e->n * sizeof(*e->v));
	if (!err && n)
		err = daxfs_mmap_send_all(c->fd, chunks, n * sizeof(*chunks));
	if (!err)
		err = send_chunk_fds(s, c, write, chunks, n);
	return err;
}

/* ---------------------------------------------------------------------- */
/* DAXFS_IOC_MAP */

/* What one request is being given. */
struct grant {
	struct daxfs_ioc_map m;
	bool write;
	bool ro;     /* fs_readonly() when the request came */
	bool kernel; /* answer DAXFS_MAP_KERNEL */
	struct ext_vec e;
	uint64_t *chunks;
	size_t nr_chunks;
};

/* check_request - the request itself and the open file it came on */
static int check_request(struct daxfs_mmap_server *s, struct fuse_file_info *fi, struct grant *g)
{
	struct daxfs_ioc_map *m = &g->m;

	if (s->disabled_why) {
		snprintf(m->msg, sizeof(m->msg), "DAX mmap is not offered: %s", s->disabled_why);
		return -ENODEV;
	}
	if (m->len == 0 || m->file_off % FRAME_SIZE || m->want & ~DAXFS_MAP_WANT_WRITE ||
	    m->file_off > DAXFS_FILE_SIZE_MAX || m->len > DAXFS_FILE_SIZE_MAX - m->file_off) {
		snprintf(m->msg, sizeof(m->msg),
			 "bad range: offset %" PRIu64 " length %" PRIu64 " (offset must be 4 KiB "
			 "aligned, length nonzero, within %" PRIu64 " bytes)",
			 m->file_off, m->len, (uint64_t)DAXFS_FILE_SIZE_MAX);
		return -EINVAL;
	}
	if (!(fi->fh & DAXFS_MMAP_FH_READ)) {
		snprintf(m->msg, sizeof(m->msg), "mapping a file not opened for reading");
		return -EACCES;
	}
	if (g->write && g->ro) {
		snprintf(m->msg, sizeof(m->msg), "writable mapping on a read-only filesystem");
		return -EROFS;
	}
	if (g->write && !(fi->fh & DAXFS_MMAP_FH_WRITE)) {
		snprintf(m->msg, sizeof(m->msg),
			 "writable mapping of a file not opened for writing");
		return -EACCES;
	}
	return 0;
}

/* take_conn - the caller's connection, marked busy; -EPERM/-EBUSY */
static int take_conn(struct daxfs_mmap_server *s, fuse_req_t req, struct grant *g,
		     struct mconn **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct mconn *c = conn_find_get(s, g->m.conn_id);
	int err;

	*out = c;
	if (!c || ctx->pid <= 0 || tgid_of(ctx->pid) != c->peer_pid) {
		snprintf(g->m.msg, sizeof(g->m.msg),
			 "no connection %016" PRIx64 " from the calling process", g->m.conn_id);
		return -EPERM;
	}
	pthread_mutex_lock(&s->lock);
	/* read-only again under the lock: a remount to read-only waits for
	 * no writable mapping (daxfs_mmap_server_set_read_only) */
	err = c->busy ? -EBUSY : g->write && fs_readonly(s) ? -EROFS : 0;
	if (!err) {
		c->busy = true;
		c->writable = g->write;
	}
	pthread_mutex_unlock(&s->lock);
	if (err)
		snprintf(g->m.msg, sizeof(g->m.msg), "%s",
			 err == -EBUSY ? "connection already holds a mapping"
				       : "writable mapping on a read-only filesystem");
	return err;
}

/*
 * pin_file - the connection's pin and reference on @ino; a writable grant
 * by a caller without CAP_FSETID clears setuid/setgid as write(2) would;
 * the kernel's cached pages go (dirty ones of kernel mappings written back
 * first), so the mapping starts from the newest data.
 */
static int pin_file(struct daxfs_mmap_server *s, fuse_req_t req, struct mconn *c, uint64_t ino,
		    struct grant *g)
{
	int err = daxfs_iget(s->fs, ino);

	if (!err) {
		err = daxfs_pin(s->fs, ino);
		if (err)
			daxfs_iput(s->fs, ino, 1);
	}
	if (err) {
		snprintf(g->m.msg, sizeof(g->m.msg), "inode %" PRIu64 ": %s", ino,
			 pmd_strerror(err));
		return err;
	}
	c->ino = ino;
	c->pinned = true;
	atomic_fetch_add(&s->n_active, 1);
	if (g->write && fuse_req_ctx(req)->uid != 0) {
		struct daxfs_attr none;

		memset(&none, 0, sizeof(none));
		err = daxfs_setattr(s->fs, ino, &none, DAXFS_SET_KILL_SUIDGID, NULL);
		if (err) {
			snprintf(g->m.msg, sizeof(g->m.msg), "clearing setuid/setgid: %s",
				 pmd_strerror(err));
			return err;
		}
	}
	if (s->inval)
		s->inval(s->inval_arg, ino);
	return 0;
}

/*
 * isolate_range - give [@off, @end) of @ino chunks of its own. A file that
 * cannot have them is answered with the kernel's mapping (g->kernel).
 */
static int isolate_range(struct daxfs_mmap_server *s, uint64_t ino, uint64_t off, uint64_t end,
			 struct grant *g)
{
	unsigned flags =
		(g->ro ? 0 : DAXFS_ISO_ALLOC) | (s->map_align > FRAME_SIZE ? DAXFS_ISO_WHOLE : 0);
	int err;

	if (s->quiesce)
		s->quiesce(s->quiesce_arg, ino, true);
	err = daxfs_isolate(s->fs, ino, off, end - off, flags, &g->chunks, &g->nr_chunks, NULL);
	if (s->quiesce)
		s->quiesce(s->quiesce_arg, ino, false);
	if (err == -ENOSPC || err == -EROFS) {
		snprintf(g->m.msg, sizeof(g->m.msg),
			 "the file shares its chunks and %s: mapped through the page cache",
			 err == -ENOSPC ? "no free 2 MiB chunk is left to give it its own"
					: "the filesystem is read-only");
		g->kernel = true;
		return 0;
	}
	if (err)
		snprintf(g->m.msg, sizeof(g->m.msg), "isolating the file: %s", pmd_strerror(err));
	return err;
}

/*
 * any_detached - a chunk of the grant is detached (region_guard.c): the
 * daemon's bytes there are not the chunk file's, so a descriptor of it
 * would show the new mapping other bytes than read(2) and write(2) see.
 */
static bool any_detached(struct daxfs_mmap_server *s, const struct grant *g)
{
	struct pmr_region *r = daxfs_region(s->fs);

	for (size_t k = 0; k < g->nr_chunks; k++)
		if (pmr_chunk_detached(r, g->chunks[k]))
			return true;
	return false;
}

/* prepare - everything up to the reply: pin, isolate, extents */
static int prepare(struct daxfs_mmap_server *s, fuse_req_t req, uint64_t ino, struct mconn *c,
		   struct grant *g)
{
	struct daxfs_ioc_map *m = &g->m;
	uint64_t end = m->file_off + m->len, valid_end;
	struct daxfs_attr a;
	int err;

	if (!s->chunked && !may_open_region(s, req, g->write)) {
		snprintf(m->msg, sizeof(m->msg),
			 "the region is one file (%s) that the caller may not open: DAX would "
			 "reach every file; mapped through the page cache",
			 s->region_path);
		g->kernel = true;
		return 0;
	}
	err = pin_file(s, req, c, ino, g);
	if (err)
		return err;
	err = daxfs_getattr(s->fs, ino, &a);
	if (err) {
		snprintf(m->msg, sizeof(m->msg), "getattr: %s", pmd_strerror(err));
		return err;
	}
	valid_end = align_up(a.size, FRAME_SIZE);
	if (valid_end > end)
		valid_end = end;
	/* Pieces must be whole pages of the backing (hugetlbfs, devdax). */
	if (valid_end > m->file_off && s->map_align > FRAME_SIZE)
		valid_end = align_up(valid_end, s->map_align);
	m->file_size = a.size;
	if (valid_end <= m->file_off)
		return 0;
	if (s->chunked) {
		if (s->map_align > FRAME_SIZE && m->file_off % PMR_CHUNK_SIZE) {
			snprintf(m->msg, sizeof(m->msg),
				 "offset %" PRIu64 " is not a multiple of 2 MiB: this region "
				 "(hugetlbfs) maps whole 2 MiB pages",
				 m->file_off);
			return -EINVAL;
		}
		err = isolate_range(s, ino, m->file_off, valid_end, g);
		if (err || g->kernel)
			return err;
		if (any_detached(s, g)) {
			snprintf(m->msg, sizeof(m->msg),
				 "a chunk of the file lost its pages to the holder of its "
				 "descriptor and is detached until reclaimed: mapped through the "
				 "page cache");
			g->kernel = true;
			return 0;
		}
		if (s->map_align > FRAME_SIZE)
			return build_windows(s, ino, m->file_off, valid_end, &g->e, m->msg,
					     sizeof(m->msg));
		return build_extents(s, ino, m->file_off, valid_end, false, &g->e, m->msg,
				     sizeof(m->msg));
	}
	/* Where only aligned pieces can be mapped, look before allocating, so
	 * a refused request changes nothing. */
	if (s->map_align > FRAME_SIZE && !g->ro) {
		err = build_extents(s, ino, m->file_off, valid_end, false, &g->e, m->msg,
				    sizeof(m->msg));
		g->e.n = 0;
		if (err)
			return err;
	}
	return build_extents(s, ino, m->file_off, valid_end, !g->ro, &g->e, m->msg, sizeof(m->msg));
}

void mmap_do_map(struct daxfs_mmap_server *s, fuse_req_t req, fuse_ino_t ino,
		 struct fuse_file_info *fi, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct grant g;
	struct mconn *c = NULL;
	int err;

	if (in_bufsz < sizeof(g.m) || out_bufsz < sizeof(g.m)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memset(&g, 0, sizeof(g));
	memcpy(&g.m, in_buf, sizeof(g.m));
	g.m.status = 0;
	g.m.granted = 0;
	g.m.file_size = 0;
	g.m.nr_extents = 0;
	memset(g.m.msg, 0, sizeof(g.m.msg));
	g.write = g.m.want & DAXFS_MAP_WANT_WRITE;
	g.ro = fs_readonly(s);

	err = check_request(s, fi, &g);
	if (!err)
		err = take_conn(s, req, &g, &c);
	if (!err)
		err = prepare(s, req, ino, c, &g);
	if (!err && g.kernel) {
		/* no pin, nothing to send: the connection may ask again */
		conn_unpin(s, c);
		g.m.granted = DAXFS_MAP_KERNEL;
		atomic_fetch_add(&s->n_kernel, 1);
	} else if (!err) {
		g.m.nr_extents = g.e.n;
		g.m.granted = g.write ? DAXFS_MAP_WANT_WRITE : 0;
		c->file_off = g.m.file_off;
		c->len = g.m.len;
		c->nr_chunks = g.nr_chunks;
	}
	g.m.status = err;
	if (err) {
		atomic_fetch_add(&s->n_refuse, 1);
		if (c && err != -EBUSY)
			conn_unpin(s, c);
	}
	fuse_reply_ioctl(req, 0, &g.m, sizeof(g.m));
	if (!err && !g.kernel) {
		err = s->chunked ? send_chunk_grant(s, c, g.write, &g.e, g.chunks, g.nr_chunks)
				 : send_region_grant(s, c, g.write, &g.e);
		if (err) {
			/* The client will see a short read; drop its pin now. */
			shutdown(c->fd, SHUT_RDWR);
		} else {
			atomic_fetch_add(&s->n_grant, 1);
			atomic_fetch_add(&s->n_bytes, g.m.len);
			atomic_fetch_add(&s->n_chunks, g.nr_chunks);
		}
	}
	free(g.e.v);
	free(g.chunks);
	if (c)
		conn_put(s, c);
}
