/* SPDX-License-Identifier: MIT */
/*
 * mmap_server.c - the daemon side of DAX mmap: answers the DAXFS_IOC_INFO
 * and DAXFS_IOC_MAP ioctls, hands out region descriptors over an abstract
 * unix socket, and holds a layout pin per granted mapping until the
 * client's connection closes. See mmap_server.h and
 * client/daxfs_mmap_proto.h for the protocol.
 *
 * DAXFS_IOC_MAP itself (who gets what) is in mmap_grant.c.
 *
 * Threads: FUSE workers call daxfs_mmap_server_ioctl(); one server thread
 * accepts connections, sends hellos, watches for hang-ups and, every
 * RECLAIM_MS while the filesystem keeps chunks for mapped files, gives
 * back the chunks nobody can reach any more (daxfs_reclaim). Connections
 * are reference counted: the list holds one reference, an ioctl in flight
 * another, and the last put drops the pin, closes the socket and looks for
 * chunks to give back.
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

#include "daxfs.h"
#include "errmsg.h"
#include "mmap_internal.h"
#include "region.h"
#include "units.h"

#define SEND_TIMEOUT_S 5 /* a client that does not read its grant is dropped */
#define RECLAIM_MS 2000	 /* how often kept chunks are looked at again */

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
	/* its process let go of the chunks it had: they may come back now */
	if (c->nr_chunks)
		daxfs_reclaim(s->fs);
	free(c);
}

void conn_unpin(struct daxfs_mmap_server *s, struct mconn *c)
{
	if (c->pinned) {
		c->pinned = false;
		daxfs_unpin(s->fs, c->ino);
		daxfs_iput(s->fs, c->ino, 1);
		atomic_fetch_sub(&s->n_active, 1);
	}
	pthread_mutex_lock(&s->lock);
	c->busy = false;
	c->writable = false;
	pthread_mutex_unlock(&s->lock);
}

void conn_put(struct daxfs_mmap_server *s, struct mconn *c)
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

struct mconn *conn_find_get(struct daxfs_mmap_server *s, uint64_t id)
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
		struct daxfs_iso_stats is;
		int i, n;

		daxfs_iso_get_stats(s->fs, &is);
		n = epoll_wait(s->epoll_fd, evs, 32, is.excluded_chunks ? RECLAIM_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0) {
			daxfs_reclaim(s->fs);
			continue;
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

/*
 * open_region - what the server needs of the region: its geometry, for a
 * single-file region two descriptors to hand out and who may open it; and
 * the chunks that processes mapped before this daemon started (a
 * single-file region's; a chunked region knows its own).
 */
static int open_region(struct daxfs_mmap_server *s)
{
	struct pmr_region *r = daxfs_region(s->fs);
	struct pmr_info info;
	char path[64];
	int fd = pmr_fd(r), err;

	pmr_get_info(r, &info);
	s->region_ro = info.read_only;
	s->chunked = info.chunked;
	s->region_size = info.size;
	s->granularity = info.granularity == PMR_GRAN_BYTE	  ? DAXFS_GRAN_BYTE
			 : info.granularity == PMR_GRAN_CACHELINE ? DAXFS_GRAN_CACHELINE
								  : DAXFS_GRAN_PAGE;
	s->map_align = FRAME_SIZE;
	if (info.backend == PMR_BACKEND_HUGETLBFS || info.backend == PMR_BACKEND_DEVDAX)
		s->map_align =
			info.backing_page_size > FRAME_SIZE ? info.backing_page_size : HUGE_SIZE;
	s->region_path = realpath(info.path, NULL);
	if (!s->region_path)
		return pmd_err(-errno, "mmap server: cannot resolve %s: %s", info.path,
			       strerror(errno));
	if (fstat(fd, &s->region_st))
		return pmd_err(-errno, "mmap server: cannot stat %s: %s", info.path,
			       strerror(errno));
	err = daxfs_iso_scan(s->fs, &s->scan_unreadable);
	if (err)
		return err;
	/*
	 * A client given a writable descriptor can shrink the file behind
	 * our mapping: our next access there must not kill the filesystem.
	 */
	err = pmr_guard(r);
	if (err)
		return err;
	if (s->chunked)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	s->fd_ro = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd_ro < 0)
		return pmd_err(-errno, "mmap server: cannot reopen the region read-only: %s",
			       strerror(errno));
	if (!s->region_ro) {
		s->fd_rw = open(path, O_RDWR | O_CLOEXEC);
		if (s->fd_rw < 0)
			return pmd_err(-errno, "mmap server: cannot reopen the region: %s",
				       strerror(errno));
	}
	return 0;
}

static void close_region(struct daxfs_mmap_server *s)
{
	if (s->fd_ro >= 0)
		close(s->fd_ro);
	if (s->fd_rw >= 0)
		close(s->fd_rw);
	free((char *)s->region_path);
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
	err = open_region(s);
	if (err)
		goto out_close_region;
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
	close_region(s);
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
	close_region(s);
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
	st->kernel = atomic_load(&s->n_kernel);
	st->chunks = atomic_load(&s->n_chunks);
}

/* One pin of daxfs_mmap_server_print(), copied out under the lock. */
struct pin_row {
	pid_t pid;
	uint64_t ino, off, len, chunks;
	bool writable;
};

static size_t pin_rows(struct daxfs_mmap_server *s, struct pin_row **out)
{
	size_t n = 0, cap = 0;
	struct pin_row *v = NULL;

	pthread_mutex_lock(&s->lock);
	for (struct mconn *c = s->conns; c; c = c->next) {
		if (!c->pinned)
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			struct pin_row *nv = realloc(v, nc * sizeof(*nv));

			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		v[n++] = (struct pin_row){c->peer_pid, c->ino,	     c->file_off,
					  c->len,      c->nr_chunks, c->writable};
	}
	pthread_mutex_unlock(&s->lock);
	*out = v;
	return n;
}

void daxfs_mmap_server_print(struct daxfs_mmap_server *s, FILE *f, int json)
{
	struct daxfs_mmap_server_stats st;
	struct daxfs_iso_stats is;
	struct pin_row *pins = NULL;
	struct pmr_info ri;
	size_t n;

	if (!s) {
		fprintf(f, json ? "  \"mmap\": null" : "dax mmap:      not built in\n");
		return;
	}
	daxfs_mmap_server_get_stats(s, &st);
	memset(&is, 0, sizeof(is));
	if (!s->disabled_why)
		daxfs_iso_get_stats(s->fs, &is);
	n = s->disabled_why ? 0 : pin_rows(s, &pins);
	pmr_get_info(daxfs_region(s->fs), &ri);
	if (json) {
		fprintf(f,
			"  \"mmap\": {\"offered\": %s, \"isolates\": %s, \"grants\": %llu, "
			"\"refusals\": %llu, \"kernel\": %llu, \"chunks_given\": %llu, "
			"\"kept_chunks\": %llu, \"waiting_chunks\": %llu, \"kept_free_blocks\": "
			"%llu, \"reclaimed_chunks\": %llu, \"moved_bytes\": %llu, "
			"\"zeroed_bytes\": %llu, \"resized_chunks\": %llu, \"detached_chunks\": "
			"%llu, \"scan_unreadable\": %llu, \"pins\": [",
			s->disabled_why ? "false" : "true", s->chunked ? "true" : "false",
			(unsigned long long)st.grants, (unsigned long long)st.refusals,
			(unsigned long long)st.kernel, (unsigned long long)st.chunks,
			(unsigned long long)is.excluded_chunks,
			(unsigned long long)is.waiting_chunks, (unsigned long long)is.excluded_free,
			(unsigned long long)is.reclaimed, (unsigned long long)is.moved_bytes,
			(unsigned long long)is.zeroed_bytes, (unsigned long long)ri.resized_chunks,
			(unsigned long long)ri.detached_chunks,
			(unsigned long long)s->scan_unreadable);
		for (size_t k = 0; k < n; k++)
			fprintf(f,
				"%s{\"pid\": %d, \"ino\": %llu, \"offset\": %llu, \"length\": "
				"%llu, \"writable\": %s, \"chunks\": %llu}",
				k ? ", " : "", (int)pins[k].pid, (unsigned long long)pins[k].ino,
				(unsigned long long)pins[k].off, (unsigned long long)pins[k].len,
				pins[k].writable ? "true" : "false",
				(unsigned long long)pins[k].chunks);
		fprintf(f, "]}");
		free(pins);
		return;
	}
	if (s->disabled_why)
		fprintf(f, "dax mmap:      not offered (%s)\n", s->disabled_why);
	else if (s->chunked)
		fprintf(f, "dax mmap:      isolating (chunked region: a mapping reaches the mapped "
			   "file only)\n");
	else
		fprintf(f,
			"dax mmap:      not isolating (single-file region: DAX only for users who "
			"may open %s;\n               others map through the page cache)\n",
			s->region_path);
	fprintf(f,
		"grants:        %llu DAX, %llu through the page cache, %llu refused; %llu "
		"chunk descriptors\n",
		(unsigned long long)st.grants, (unsigned long long)st.kernel,
		(unsigned long long)st.refusals, (unsigned long long)st.chunks);
	fprintf(f, "pins:          %zu\n", n);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "  pid %d inode %llu bytes %llu+%llu %s, %llu chunks\n",
			(int)pins[k].pid, (unsigned long long)pins[k].ino,
			(unsigned long long)pins[k].off, (unsigned long long)pins[k].len,
			pins[k].writable ? "rw" : "ro", (unsigned long long)pins[k].chunks);
	fprintf(f,
		"kept chunks:   %llu kept for mapped files (%llu empty, waiting for their "
		"holders to go), %llu free blocks in them; %llu given back\n",
		(unsigned long long)is.excluded_chunks, (unsigned long long)is.waiting_chunks,
		(unsigned long long)is.excluded_free, (unsigned long long)is.reclaimed);
	fprintf(f, "isolation:     %llu bytes moved, %llu bytes zeroed\n",
		(unsigned long long)is.moved_bytes, (unsigned long long)is.zeroed_bytes);
	if (ri.resized_chunks || ri.detached_chunks)
		fprintf(f,
			"resized chunks: %llu put back (a holder of a descriptor shrank them or "
			"took their pages: the lost bytes read as zeros), %llu detached until "
			"reclaimed\n",
			(unsigned long long)ri.resized_chunks,
			(unsigned long long)ri.detached_chunks);
	if (s->scan_unreadable)
		fprintf(f,
			"note:          %llu processes' mappings could not be read at start: "
			"mappings they made before a restart are not protected\n",
			(unsigned long long)s->scan_unreadable);
	free(pins);
}

/* ---------------------------------------------------------------------- */
/* The ioctls */

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
		info.flags = DAXFS_INFO_MMAP | (fs_readonly(s) ? DAXFS_INFO_RDONLY_FS : 0) |
			     (s->chunked ? DAXFS_INFO_ISOLATED : 0);
		info.region_size = s->region_size;
		info.map_align = s->map_align;
		info.granularity = s->granularity;
		snprintf(info.sock_name, sizeof(info.sock_name), "%s", s->sock_name);
	}
	fuse_reply_ioctl(req, 0, &info, sizeof(info));
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

void daxfs_mmap_server_set_badblocks(struct daxfs_mmap_server *s, const struct daxfs_badblocks *bad)
{
	if (s)
		s->bad = bad;
}

void daxfs_mmap_server_set_quiesce(struct daxfs_mmap_server *s,
				   void (*fn)(void *arg, uint64_t ino, bool begin), void *arg)
{
	if (!s)
		return;
	s->quiesce = fn;
	s->quiesce_arg = arg;
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
		mmap_do_map(s, req, ino, fi, in_buf, in_bufsz, out_bufsz);
		break;
	default:
		fuse_reply_err(req, ENOTTY);
		break;
	}
}
