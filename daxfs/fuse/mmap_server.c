/* SPDX-License-Identifier: MIT */
/*
 * mmap_server.c - the daemon side of DAX mmap: answers the DAXFS_IOC_INFO
 * and DAXFS_IOC_MAP ioctls, hands out region descriptors over an abstract
 * unix socket, and holds a layout pin per granted mapping until the
 * client's connection closes. See mmap_server.h and
 * client/daxfs_mmap_proto.h for the protocol.
 *
 * Threads: FUSE workers call daxfs_mmap_server_ioctl(); one server thread
 * accepts connections, sends hellos and watches for hang-ups. Connections
 * are reference counted: the list holds one reference, an ioctl in flight
 * another, and the last put drops the pin and closes the socket.
 * Lock order: srv->lock, then nothing (core calls are made without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/daxfs_mmap_proto.h"
#include "daxfs.h"
#include "errmsg.h"
#include "mmap_server.h"
#include "region.h"
#include "units.h"

#define SEND_TIMEOUT_S 5 /* a client that does not read its grant is dropped */

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
};

struct daxfs_mmap_server {
	struct daxfs *fs;
	const char *disabled_why; /* NULL when mmap is offered */
	bool region_ro;		  /* the region is open read-only (no fd_rw) */
	atomic_bool no_write;	  /* going read-only (set under lock) */
	int fd_rw;		  /* region, O_RDWR (or -1 on a read-only fs) */
	int fd_ro;		  /* region, O_RDONLY */
	uint64_t region_size;	  /* bytes */
	uint64_t map_align;	  /* bytes */
	uint32_t granularity;	  /* DAXFS_GRAN_* */
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
	_Atomic uint64_t n_conn, n_grant, n_refuse, n_active, n_bytes;
	const struct daxfs_badblocks *bad; /* refuse bad sectors, or NULL */
};

/* ---------------------------------------------------------------------- */
/* Connections */

static void conn_release(struct daxfs_mmap_server *s, struct mconn *c)
{
	if (c->pinned) {
		/* The mapping's stores are in the region: cached pages are stale. */
		if (s->inval)
			s->inval(s->inval_arg, c->ino);
		daxfs_unpin(s->fs, c->ino);
		daxfs_iput(s->fs, c->ino, 1);
		atomic_fetch_sub(&s->n_active, 1);
	}
	close(c->fd);
	free(c);
}

static void conn_put(struct daxfs_mmap_server *s, struct mconn *c)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last)
		conn_release(s, c);
}

/* Take the connection @id off the list (server thread, on hang-up). */
static void conn_unlist(struct daxfs_mmap_server *s, struct mconn *c)
{
	struct mconn **pp;
	bool last = false;

	pthread_mutex_lock(&s->lock);
	if (c->listed) {
		for (pp = &s->conns; *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		c->listed = false;
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		last = --c->refs == 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (last)
		conn_release(s, c);
}

static struct mconn *conn_find_get(struct daxfs_mmap_server *s, uint64_t id)
{
	struct mconn *c;

	pthread_mutex_lock(&s->lock);
	for (c = s->conns; c; c = c->next)
		if (c->id == id)
			break;
	if (c)
		c->refs++;
	pthread_mutex_unlock(&s->lock);
	return c;
}

static void accept_one(struct daxfs_mmap_server *s)
{
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	struct daxfs_mmap_hello hello;
	struct epoll_event ev;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct mconn *c;
	int fd;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.pid <= 0)
		goto out_close;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_close;
	c->fd = fd;
	c->peer_pid = cred.pid;
	c->refs = 1;
	c->listed = true;
	do {
		if (getrandom(&c->id, sizeof(c->id), 0) != sizeof(c->id))
			goto out_free;
	} while (c->id == 0);

	/* List it before the hello: the client's ioctl may follow at once. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.ptr = c;
	pthread_mutex_lock(&s->lock);
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		pthread_mutex_unlock(&s->lock);
		goto out_free;
	}
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);

	memset(&hello, 0, sizeof(hello));
	hello.magic = DAXFS_MMAP_MAGIC;
	hello.version = DAXFS_MMAP_VERSION;
	hello.conn_id = c->id;
	if (daxfs_mmap_send_all(fd, &hello, sizeof(hello))) {
		conn_unlist(s, c);
		return;
	}
	atomic_fetch_add(&s->n_conn, 1);
	return;

out_free:
	free(c);
out_close:
	close(fd);
}

/* The client sends nothing after connecting: any readable event is data
 * to discard or a hang-up. */
static void conn_event(struct daxfs_mmap_server *s, struct mconn *c, uint32_t events)
{
	char buf[256];
	ssize_t n;

	if (!(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	conn_unlist(s, c);
}

static void *server_thread(void *arg)
{
	struct daxfs_mmap_server *s = arg;
	struct epoll_event evs[32];

	for (;;) {
		int i, n = epoll_wait(s->epoll_fd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				return NULL; /* stop_fd */
			if (evs[i].data.ptr == (void *)s)
				accept_one(s);
			else
				conn_event(s, evs[i].data.ptr, evs[i].events);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Set-up */

static int open_socket(struct daxfs_mmap_server *s)
{
	struct sockaddr_un sa;
	uint64_t rnd;
	socklen_t len;
	int fd;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return pmd_err(-EIO, "mmap server: no random bytes for the socket name");
	snprintf(s->sock_name, sizeof(s->sock_name), "daxfs-mmap-%d-%016" PRIx64, (int)getpid(),
		 rnd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pmd_err(-errno, "mmap server: socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, s->sock_name, strlen(s->sock_name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(s->sock_name));
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return pmd_err(err, "mmap server: cannot listen on @%s: %s", s->sock_name,
			       strerror(-err));
	}
	s->listen_fd = fd;
	return 0;
}

static int open_region_fds(struct daxfs_mmap_server *s)
{
	struct pmr_region *r = daxfs_region(s->fs);
	struct pmr_info info;
	char path[64];
	int fd = pmr_fd(r);

	pmr_get_info(r, &info);
	s->region_ro = info.read_only;
	s->region_size = info.size;
	s->granularity = info.granularity == PMR_GRAN_BYTE	  ? DAXFS_GRAN_BYTE
			 : info.granularity == PMR_GRAN_CACHELINE ? DAXFS_GRAN_CACHELINE
								  : DAXFS_GRAN_PAGE;
	s->map_align = FRAME_SIZE;
	if (info.backend == PMR_BACKEND_HUGETLBFS || info.backend == PMR_BACKEND_DEVDAX)
		s->map_align =
			info.backing_page_size > FRAME_SIZE ? info.backing_page_size : HUGE_SIZE;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	s->fd_ro = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd_ro < 0)
		return pmd_err(-errno, "mmap server: cannot reopen the region read-only: %s",
			       strerror(errno));
	s->fd_rw = -1;
	if (!s->region_ro) {
		s->fd_rw = open(path, O_RDWR | O_CLOEXEC);
		if (s->fd_rw < 0) {
			int err = -errno;

			close(s->fd_ro);
			return pmd_err(err, "mmap server: cannot reopen the region: %s",
				       strerror(-err));
		}
	}
	return 0;
}

int daxfs_mmap_server_new(struct daxfs *fs, const char *disabled_why,
			  struct daxfs_mmap_server **out)
{
	struct daxfs_mmap_server *s;
	struct epoll_event ev;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fs = fs;
	s->listen_fd = s->epoll_fd = s->stop_fd = s->fd_ro = s->fd_rw = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (disabled_why) {
		s->disabled_why = disabled_why;
		*out = s;
		return 0;
	}
	err = open_region_fds(s);
	if (err)
		goto out_free;
	err = open_socket(s);
	if (err)
		goto out_close_region;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->epoll_fd < 0 || s->stop_fd < 0) {
		err = pmd_err(-errno, "mmap server: epoll/eventfd: %s", strerror(errno));
		goto out_close_epoll;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = s;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev))
		goto out_epoll_err;
	ev.data.ptr = NULL;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_fd, &ev))
		goto out_epoll_err;
	err = -pthread_create(&s->thread, NULL, server_thread, s);
	if (err) {
		pmd_err(err, "mmap server: cannot start its thread: %s", strerror(-err));
		goto out_close_epoll;
	}
	s->thread_started = true;
	*out = s;
	return 0;

out_epoll_err:
	err = pmd_err(-errno, "mmap server: epoll_ctl: %s", strerror(errno));
out_close_epoll:
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	close(s->listen_fd);
out_close_region:
	close(s->fd_ro);
	if (s->fd_rw >= 0)
		close(s->fd_rw);
out_free:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}

void daxfs_mmap_server_delete(struct daxfs_mmap_server **sp)
{
	struct daxfs_mmap_server *s = *sp;
	uint64_t one = 1;

	if (!s)
		return;
	*sp = NULL;
	if (s->thread_started) {
		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(s->thread);
		pthread_join(s->thread, NULL);
	}
	/* No ioctl can be in flight: the FUSE session has stopped. */
	while (s->conns)
		conn_unlist(s, s->conns);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->fd_ro >= 0)
		close(s->fd_ro);
	if (s->fd_rw >= 0)
		close(s->fd_rw);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void daxfs_mmap_server_get_stats(struct daxfs_mmap_server *s, struct daxfs_mmap_server_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	st->connections = atomic_load(&s->n_conn);
	st->grants = atomic_load(&s->n_grant);
	st->refusals = atomic_load(&s->n_refuse);
	st->active = atomic_load(&s->n_active);
	st->bytes = atomic_load(&s->n_bytes);
}

/* ---------------------------------------------------------------------- */
/* The ioctls */

/*
 * No writable grant and no allocation: the filesystem is read-only now
 * (mounted or remounted so, or stopped after corruption), or the region
 * itself is open read-only. Asked at each request: a remount changes it.
 */
static bool fs_readonly(struct daxfs_mmap_server *s)
{
	return s->region_ro || atomic_load(&s->no_write) || daxfs_readonly(s->fs);
}

static void reply_info(struct daxfs_mmap_server *s, fuse_req_t req, size_t out_bufsz)
{
	struct daxfs_ioc_info info;

	if (out_bufsz < sizeof(info)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memset(&info, 0, sizeof(info));
	info.magic = DAXFS_MMAP_MAGIC;
	info.version = DAXFS_MMAP_VERSION;
	if (s->disabled_why) {
		snprintf(info.why, sizeof(info.why), "%s", s->disabled_why);
	} else {
		info.flags = DAXFS_INFO_MMAP | (fs_readonly(s) ? DAXFS_INFO_RDONLY_FS : 0);
		info.region_size = s->region_size;
		info.map_align = s->map_align;
		info.granularity = s->granularity;
		snprintf(info.sock_name, sizeof(info.sock_name), "%s", s->sock_name);
	}
	fuse_reply_ioctl(req, 0, &info, sizeof(info));
}

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
			if (s->bad && s->bad->check(s->bad->ctx, roff, mend - pos)) {
				snprintf(msg, msglen,
					 "file bytes %" PRIu64 "..%" PRIu64 " hold bad sectors "
					 "(region bytes %" PRIu64 "..%" PRIu64 "): a mapping would "
					 "hand them out; rewrite them with write(2) or see "
					 "'daxfs badblocks MOUNTPOINT list'",
					 pos, mend - 1, roff, roff + (mend - pos) - 1);
				return -EIO;
			}
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

static int send_grant(struct daxfs_mmap_server *s, struct mconn *c, int region_fd,
		      const struct ext_vec *e)
{
	struct daxfs_mmap_grant g = {.magic = DAXFS_MMAP_MAGIC, .nr_extents = e->n};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &g, .iov_len = sizeof(g)};
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &region_fd, sizeof(int));
	do {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(g))
		return n < 0 ? -errno : -EPIPE;
	return e->n ? daxfs_mmap_send_all(c->fd, e->v, e->n * sizeof(*e->v)) : 0;
}

static void do_map(struct daxfs_mmap_server *s, fuse_req_t req, fuse_ino_t ino,
		   struct fuse_file_info *fi, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ext_vec e = {0};
	struct daxfs_ioc_map m;
	struct daxfs_attr a;
	struct mconn *c = NULL;
	bool want_write, granted = false, ro = fs_readonly(s);
	uint64_t end, valid_end;
	int err;

	if (in_bufsz < sizeof(m) || out_bufsz < sizeof(m)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(&m, in_buf, sizeof(m));
	m.status = 0;
	m.granted = 0;
	m.file_size = 0;
	m.nr_extents = 0;
	memset(m.msg, 0, sizeof(m.msg));
	want_write = m.want & DAXFS_MAP_WANT_WRITE;

	if (s->disabled_why) {
		err = -ENODEV;
		snprintf(m.msg, sizeof(m.msg), "DAX mmap is not offered: %s", s->disabled_why);
		goto out_reply;
	}
	if (m.len == 0 || m.file_off % FRAME_SIZE || m.want & ~DAXFS_MAP_WANT_WRITE ||
	    m.file_off > DAXFS_FILE_SIZE_MAX || m.len > DAXFS_FILE_SIZE_MAX - m.file_off) {
		err = -EINVAL;
		snprintf(m.msg, sizeof(m.msg),
			 "bad range: offset %" PRIu64 " length %" PRIu64 " (offset must be 4 KiB "
			 "aligned, length nonzero, within %" PRIu64 " bytes)",
			 m.file_off, m.len, (uint64_t)DAXFS_FILE_SIZE_MAX);
		goto out_reply;
	}
	if (!(fi->fh & DAXFS_MMAP_FH_READ)) {
		err = -EACCES;
		snprintf(m.msg, sizeof(m.msg), "mapping a file not opened for reading");
		goto out_reply;
	}
	if (want_write && ro) {
		err = -EROFS;
		snprintf(m.msg, sizeof(m.msg), "writable mapping on a read-only filesystem");
		goto out_reply;
	}
	if (want_write && !(fi->fh & DAXFS_MMAP_FH_WRITE)) {
		err = -EACCES;
		snprintf(m.msg, sizeof(m.msg), "writable mapping of a file not opened for writing");
		goto out_reply;
	}
	c = conn_find_get(s, m.conn_id);
	if (!c || ctx->pid <= 0 || tgid_of(ctx->pid) != c->peer_pid) {
		err = -EPERM;
		snprintf(m.msg, sizeof(m.msg),
			 "no connection %016" PRIx64 " from the calling process", m.conn_id);
		goto out_reply;
	}
	pthread_mutex_lock(&s->lock);
	/* read-only again under the lock: a remount to read-only waits for
	 * no writable mapping (daxfs_mmap_server_set_read_only) */
	err = c->busy ? -EBUSY : want_write && fs_readonly(s) ? -EROFS : 0;
	if (!err) {
		c->busy = true;
		c->writable = want_write;
	}
	pthread_mutex_unlock(&s->lock);
	if (err) {
		snprintf(m.msg, sizeof(m.msg),
			 err == -EBUSY ? "connection already holds a mapping"
				       : "writable mapping on a read-only filesystem");
		goto out_reply;
	}

	/* Pin before reading the block map: nothing may be freed after it. */
	err = daxfs_iget(s->fs, ino);
	if (!err) {
		err = daxfs_pin(s->fs, ino);
		if (err)
			daxfs_iput(s->fs, ino, 1);
	}
	if (err) {
		snprintf(m.msg, sizeof(m.msg), "inode %" PRIu64 ": %s", (uint64_t)ino,
			 pmd_strerror(err));
		goto out_reply;
	}
	c->ino = ino;
	c->pinned = true;
	atomic_fetch_add(&s->n_active, 1);
	/*
	 * Stores through a writable mapping are writes: by a process that may
	 * lack CAP_FSETID (any but root), they clear setuid/setgid as write(2)
	 * does. Then the kernel's cached pages go (dirty ones of kernel
	 * mappings written back first), so the mapping starts from the newest
	 * data and no cached copy outlives its stores unnoticed.
	 */
	if (want_write && ctx->uid != 0) {
		struct daxfs_attr none;

		memset(&none, 0, sizeof(none));
		err = daxfs_setattr(s->fs, ino, &none, DAXFS_SET_KILL_SUIDGID, NULL);
		if (err) {
			snprintf(m.msg, sizeof(m.msg), "clearing setuid/setgid: %s",
				 pmd_strerror(err));
			goto out_reply;
		}
	}
	if (s->inval)
		s->inval(s->inval_arg, ino);

	err = daxfs_getattr(s->fs, ino, &a);
	if (err) {
		snprintf(m.msg, sizeof(m.msg), "getattr: %s", pmd_strerror(err));
		goto out_reply;
	}
	end = m.file_off + m.len;
	valid_end = align_up(a.size, FRAME_SIZE);
	if (valid_end > end)
		valid_end = end;
	/* Pieces must be whole pages of the backing (hugetlbfs, devdax). */
	if (valid_end > m.file_off && s->map_align > FRAME_SIZE)
		valid_end = align_up(valid_end, s->map_align);
	/* Where only aligned pieces can be mapped, look before allocating, so
	 * a refused request changes nothing. */
	if (valid_end > m.file_off && s->map_align > FRAME_SIZE && !ro) {
		err = build_extents(s, ino, m.file_off, valid_end, false, &e, m.msg, sizeof(m.msg));
		e.n = 0;
	}
	if (!err && valid_end > m.file_off)
		err = build_extents(s, ino, m.file_off, valid_end, !ro, &e, m.msg,
				    sizeof(m.msg));
	if (err)
		goto out_reply;
	m.file_size = a.size;
	m.nr_extents = e.n;
	m.granted = want_write ? DAXFS_MAP_WANT_WRITE : 0;
	granted = true;

out_reply:
	m.status = err;
	if (err) {
		atomic_fetch_add(&s->n_refuse, 1);
		if (c && c->pinned) {
			c->pinned = false;
			daxfs_unpin(s->fs, ino);
			daxfs_iput(s->fs, ino, 1);
			atomic_fetch_sub(&s->n_active, 1);
		}
		if (c && err != -EBUSY) {
			pthread_mutex_lock(&s->lock);
			c->busy = false;
			c->writable = false;
			pthread_mutex_unlock(&s->lock);
		}
	}
	fuse_reply_ioctl(req, 0, &m, sizeof(m));
	if (granted) {
		int rfd = want_write ? s->fd_rw : s->fd_ro;

		err = send_grant(s, c, rfd, &e);
		if (err) {
			/* The client will see a short read; drop its pin now. */
			shutdown(c->fd, SHUT_RDWR);
		} else {
			atomic_fetch_add(&s->n_grant, 1);
			atomic_fetch_add(&s->n_bytes, m.len);
		}
	}
	free(e.v);
	if (c)
		conn_put(s, c);
}

int daxfs_mmap_server_set_read_only(struct daxfs_mmap_server *s, bool ro)
{
	struct mconn *c;
	int err = 0;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (c = s->conns; ro && c; c = c->next)
		if (c->busy && c->writable)
			err = -EBUSY;
	if (!err)
		atomic_store(&s->no_write, ro);
	pthread_mutex_unlock(&s->lock);
	return err;
}

void daxfs_mmap_server_set_inval(struct daxfs_mmap_server *s, void (*fn)(void *arg, uint64_t ino),
				 void *arg)
{
	if (!s)
		return;
	s->inval = fn;
	s->inval_arg = arg;
}

void daxfs_mmap_server_set_badblocks(struct daxfs_mmap_server *s,
				     const struct daxfs_badblocks *bad)
{
	if (s)
		s->bad = bad;
}

void daxfs_mmap_server_ioctl(struct daxfs_mmap_server *s, fuse_req_t req, fuse_ino_t ino,
			     unsigned int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
			     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	if (!s || (flags & (FUSE_IOCTL_DIR | FUSE_IOCTL_COMPAT))) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	switch (cmd) {
	case DAXFS_IOC_INFO:
		reply_info(s, req, out_bufsz);
		break;
	case DAXFS_IOC_MAP:
		do_map(s, req, ino, fi, in_buf, in_bufsz, out_bufsz);
		break;
	default:
		fuse_reply_err(req, ENOTTY);
		break;
	}
}
