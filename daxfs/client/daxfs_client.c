/* SPDX-License-Identifier: MIT */
/*
 * daxfs_client.c - libdaxfs: DAX mmap of daxfs files (see libdaxfs.h and,
 * for the protocol, daxfs_mmap_proto.h).
 *
 * Every mapping is a record {virtual range, connection to the daemon}: the
 * connection is what keeps the daemon's layout pin, so it stays open as
 * long as any byte of the range is mapped (a split range dups it). The
 * descriptors are close-on-exec and are inherited by fork, so a child that
 * inherits a mapping also keeps its pin.
 *
 * The library maps and unmaps with raw system calls, never through the
 * mmap/munmap symbols: libdaxfs-preload.so interposes those and calls in
 * here.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpmem2.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "daxfs_client_internal.h"
#include "daxfs_mmap_proto.h"
#include "libdaxfs.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define PAGE_4K UINT64_C(4096)
#define HUGE_2M (UINT64_C(2) << 20)

#define DAXFS_EXPORT __attribute__((visibility("default")))

struct dmap {
	struct dmap *next;
	uintptr_t start;      /* bytes, page aligned */
	size_t len;	      /* bytes */
	int conn_fd;	      /* holds the daemon's pin while open */
	uint64_t file_off;    /* file offset mapped at start */
	uint64_t file_size;   /* bytes, when mapped */
	uint64_t nr_extents;  /* of the original mapping */
	uint64_t huge_bytes;  /* of the original mapping */
	uintptr_t backed_end; /* address where the pages past end of file begin */
	bool writable;
	bool page_cache; /* the kernel's mapping: no connection, persisted by msync */
	pmem2_persist_fn persist;
};

static pthread_mutex_t dmaps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dmap *dmaps;
static pmem2_persist_fn persist_fns[3]; /* by DAXFS_GRAN_*, filled on first use */

static __thread char errbuf[256];

/* fork while another thread holds the registry lock must not leave the
 * child with a lock nobody will release. */
static void dmaps_lock_fork(void)
{
	pthread_mutex_lock(&dmaps_lock);
}

static void dmaps_unlock_fork(void)
{
	pthread_mutex_unlock(&dmaps_lock);
}

__attribute__((constructor)) static void dmaps_init(void)
{
	pthread_atfork(dmaps_lock_fork, dmaps_unlock_fork, dmaps_unlock_fork);
}

#define seterr daxfs_seterr

int daxfs_seterr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err;
}

DAXFS_EXPORT const char *daxfs_errmsg(void)
{
	return errbuf;
}

/* ---------------------------------------------------------------------- */
/* Raw system calls (never interposed) */

void *daxfs_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);

	return (void *)r;
}

int daxfs_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

int daxfs_sys_msync(void *addr, size_t len, int flags)
{
	return (int)syscall(SYS_msync, addr, len, flags);
}

/* ---------------------------------------------------------------------- */
/* Talking to the daemon */

static int query_info(int fd, struct daxfs_ioc_info *info)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st))
		return errno == EBADF ? -EBADF : -errno;
	if (!S_ISREG(st.st_mode))
		return seterr(-ENODEV, "not a regular file");
	if (fstatfs(fd, &sfs))
		return -errno;
	if (sfs.f_type != FUSE_SUPER_MAGIC)
		return seterr(-ENODEV, "not a file on a FUSE (daxfs) mount");
	memset(info, 0, sizeof(*info));
	if (ioctl(fd, DAXFS_IOC_INFO, info))
		return seterr(-ENODEV, "the FUSE filesystem does not answer daxfs ioctls (%s)",
			      strerror(errno));
	if (info->magic != DAXFS_MMAP_MAGIC)
		return seterr(-ENODEV, "the FUSE filesystem is not daxfs");
	if (info->version != DAXFS_MMAP_VERSION)
		return seterr(-EPROTO, "daemon speaks DAX mmap protocol %u, library %u",
			      info->version, DAXFS_MMAP_VERSION);
	info->sock_name[sizeof(info->sock_name) - 1] = 0;
	info->why[sizeof(info->why) - 1] = 0;
	if (!(info->flags & DAXFS_INFO_MMAP))
		return seterr(-ENODEV, "the daemon does not offer DAX mmap: %s", info->why);
	if (info->granularity > DAXFS_GRAN_PAGE || info->map_align < PAGE_4K ||
	    (info->map_align & (info->map_align - 1)))
		return seterr(-EPROTO, "daemon sent a bad region description");
	return 0;
}

DAXFS_EXPORT bool daxfs_is_daxfs(int fd)
{
	struct daxfs_ioc_info info;

	return query_info(fd, &info) == 0;
}

static int connect_daemon(const struct daxfs_ioc_info *info, int *conn_fd, uint64_t *conn_id)
{
	struct daxfs_mmap_hello hello;
	struct sockaddr_un sa;
	size_t nlen = strlen(info->sock_name);
	int fd, err;

	if (nlen == 0 || nlen + 1 > sizeof(sa.sun_path))
		return seterr(-EPROTO, "daemon sent a bad socket name");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return seterr(-errno, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, info->sock_name, nlen);
	if (connect(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nlen))) {
		err = seterr(-ENODEV, "cannot reach the daxfs daemon at @%s: %s", info->sock_name,
			     strerror(errno));
		goto out_close;
	}
	err = daxfs_mmap_recv_all(fd, &hello, sizeof(hello));
	if (err) {
		err = seterr(-EPROTO, "daemon hung up before its hello");
		goto out_close;
	}
	if (hello.magic != DAXFS_MMAP_MAGIC || hello.version != DAXFS_MMAP_VERSION) {
		err = seterr(-EPROTO, "bad hello from the daemon");
		goto out_close;
	}
	*conn_fd = fd;
	*conn_id = hello.conn_id;
	return 0;

out_close:
	close(fd);
	return err;
}

/*
 * libpmem2's persist function for a granularity. The flush and fence it
 * picks do not depend on the map object, so one map per granularity is
 * made over a page of address space reserved for it for the life of the
 * process (never over a daxfs mapping: those come and go, and libpmem2
 * keeps a registry of mapped ranges; the objects stay reachable, since
 * pmem2_map_delete does not free all of a map made from an existing one).
 */
static pmem2_persist_fn get_persist_fn(uint32_t gran)
{
	static const enum pmem2_granularity g2[] = {
		PMEM2_GRANULARITY_BYTE, PMEM2_GRANULARITY_CACHE_LINE, PMEM2_GRANULARITY_PAGE};
	static struct pmem2_map *maps[3];
	struct pmem2_source *src = NULL;
	pmem2_persist_fn fn;
	void *page;

	pthread_mutex_lock(&dmaps_lock);
	fn = persist_fns[gran];
	if (fn)
		goto out_unlock;
	page = daxfs_sys_mmap(NULL, PAGE_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		goto out_unlock;
	if (pmem2_source_from_anon(&src, PAGE_4K) == 0 &&
	    pmem2_map_from_existing(&maps[gran], src, page, PAGE_4K, g2[gran]) == 0)
		fn = persist_fns[gran] = pmem2_get_persist_fn(maps[gran]);
	else
		daxfs_sys_munmap(page, PAGE_4K);
	pmem2_source_delete(&src);
out_unlock:
	pthread_mutex_unlock(&dmaps_lock);
	return fn;
}

/* ---------------------------------------------------------------------- */
/* The registry */

static void dmap_free(struct dmap *m)
{
	if (m->conn_fd >= 0)
		close(m->conn_fd);
	free(m);
}

/* Free a list of records taken off the registry (their pins go). */
static void dmap_free_list(struct dmap *m)
{
	while (m) {
		struct dmap *next = m->next;

		dmap_free(m);
		m = next;
	}
}

/*
 * Forget [@start, @end) in every record (the caller unmapped or replaced
 * it). Records leave the list when nothing is left; a hole in the middle
 * splits one in two, each with its own descriptor of the connection.
 * Returns records to free (close) after the lock is dropped.
 */
static struct dmap *forget_range_locked(uintptr_t start, uintptr_t end)
{
	struct dmap **pp = &dmaps, *dead = NULL;

	while (*pp) {
		struct dmap *m = *pp;
		uintptr_t ms = m->start, me = m->start + m->len;

		if (end <= ms || start >= me) {
			pp = &m->next;
			continue;
		}
		if (start <= ms && end >= me) {
			*pp = m->next;
			m->next = dead;
			dead = m;
			continue;
		}
		if (start > ms && end < me) {
			struct dmap *t = malloc(sizeof(*t));
			int fd = m->conn_fd < 0 ? -1 : fcntl(m->conn_fd, F_DUPFD_CLOEXEC, 0);

			if (t && (fd >= 0 || m->conn_fd < 0)) {
				*t = *m;
				t->conn_fd = fd;
				t->file_off = m->file_off + (end - ms);
				t->start = end;
				t->len = me - end;
				t->next = m->next;
				m->next = t;
			} else {
				/* Keep the pin for the whole range: leak-safe. */
				free(t);
				if (fd >= 0)
					close(fd);
				pp = &m->next;
				continue;
			}
			m->len = start - ms;
			pp = &t->next;
			continue;
		}
		if (start <= ms) {
			m->file_off += end - ms;
			m->start = end;
			m->len = me - end;
		} else {
			m->len = start - ms;
		}
		pp = &m->next;
	}
	return dead;
}

static void forget_range(uintptr_t start, uintptr_t end)
{
	struct dmap *dead;

	pthread_mutex_lock(&dmaps_lock);
	dead = forget_range_locked(start, end);
	pthread_mutex_unlock(&dmaps_lock);
	dmap_free_list(dead);
}

bool daxfs_overlaps(const void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e = s + len;
	struct dmap *m;
	bool hit = false;

	pthread_mutex_lock(&dmaps_lock);
	for (m = dmaps; m && !hit; m = m->next)
		hit = s < m->start + m->len && e > m->start;
	pthread_mutex_unlock(&dmaps_lock);
	return hit;
}

void daxfs_persist_overlaps(const void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e = s + len;
	struct dmap *m;

	pthread_mutex_lock(&dmaps_lock);
	for (m = dmaps; m; m = m->next) {
		uintptr_t a = s > m->start ? s : m->start;
		uintptr_t b = e < m->start + m->len ? e : m->start + m->len;

		/* Pages past the end of file have no memory: touching them to
		 * flush would raise SIGBUS, and there is nothing to persist. */
		if (b > m->backed_end)
			b = m->backed_end;
		if (a >= b)
			continue;
		if (m->persist)
			m->persist((void *)a, b - a);
		else
			daxfs_sys_msync((void *)(a & ~(uintptr_t)(PAGE_4K - 1)),
					b - (a & ~(uintptr_t)(PAGE_4K - 1)), MS_SYNC);
	}
	pthread_mutex_unlock(&dmaps_lock);
}

void daxfs_forget(void *addr, size_t len)
{
	forget_range((uintptr_t)addr, (uintptr_t)addr + len);
}

/* ---------------------------------------------------------------------- */
/* Map */

/* Reserve @len bytes whose start is congruent to @phase modulo 2 MiB. */
static void *reserve_va(size_t len, uint64_t phase)
{
	size_t span = len + HUGE_2M;
	uintptr_t raw, start;
	void *p;

	p = daxfs_sys_mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			   0);
	if (p == MAP_FAILED)
		return NULL;
	raw = (uintptr_t)p;
	start = ((raw + HUGE_2M - 1) & ~(HUGE_2M - 1)) + (uintptr_t)(phase % HUGE_2M);
	if (start - HUGE_2M >= raw)
		start -= HUGE_2M;
	if (start > raw)
		daxfs_sys_munmap(p, start - raw);
	if (raw + span > start + len)
		daxfs_sys_munmap((void *)(start + len), raw + span - (start + len));
	return (void *)start;
}

/* register - @m (filled) joins the registry; with @fixed it replaces what was there. */
static void register_map(struct dmap *m, bool fixed)
{
	struct dmap *dead;

	pthread_mutex_lock(&dmaps_lock);
	dead = fixed ? forget_range_locked(m->start, m->start + m->len) : NULL;
	m->next = dmaps;
	dmaps = m;
	pthread_mutex_unlock(&dmaps_lock);
	dmap_free_list(dead);
}

/*
 * map_kernel - the daemon gives this caller or file no DAX mapping (@why):
 * a shared mapping through the kernel (the FUSE page cache), registered
 * like a DAX one so daxfs_munmap/daxfs_persist work on it.
 */
static int map_kernel(int fd, uint64_t off, size_t len, int prot, bool fixed, void **addr,
		      const char *why, uint64_t file_size)
{
	struct dmap *m = calloc(1, sizeof(*m));
	void *p;

	if (!m)
		return seterr(-ENOMEM, "out of memory");
	p = daxfs_sys_mmap(fixed ? *addr : NULL, len, prot, MAP_SHARED | (fixed ? MAP_FIXED : 0),
			   fd, (off_t)off);
	if (p == MAP_FAILED) {
		int err = -errno;

		free(m);
		return seterr(err, "no DAX mapping (%s), and the kernel's mapping failed: %s", why,
			      strerror(-err));
	}
	m->start = (uintptr_t)p;
	m->len = len;
	m->conn_fd = -1;
	m->file_off = off;
	m->file_size = file_size;
	m->backed_end = m->start + len;
	m->writable = prot & PROT_WRITE;
	m->page_cache = true;
	register_map(m, fixed);
	*addr = p;
	seterr(0, "%s", why); /* success, but the reason stays readable */
	return 0;
}

DAXFS_EXPORT int daxfs_mmap(int fd, uint64_t off, size_t len, int prot, unsigned flags, void **addr)
{
	struct daxfs_grant_result res;
	struct daxfs_ioc_info info;
	struct daxfs_ioc_map req;
	struct dmap *m = NULL;
	int conn_fd = -1, err;
	uint64_t conn_id = 0;
	uintptr_t base;
	bool fixed = flags & DAXFS_MMAP_FIXED;

	errbuf[0] = 0;
	if (!addr || len == 0 || off % PAGE_4K || (prot & ~(PROT_READ | PROT_WRITE)) ||
	    (flags & ~DAXFS_MMAP_FIXED) || len > SIZE_MAX - 2 * HUGE_2M || off + len < off ||
	    (fixed && (uintptr_t)*addr % PAGE_4K))
		return seterr(-EINVAL, "bad arguments: offset %llu length %zu prot %#x flags %#x",
			      (unsigned long long)off, len, prot, flags);
	len = (len + PAGE_4K - 1) & ~(PAGE_4K - 1);
	if (fcntl(fd, F_GETFL) < 0)
		return seterr(-EBADF, "bad file descriptor %d", fd);
	err = query_info(fd, &info);
	if (err)
		return err;
	if ((prot & PROT_WRITE) && (info.flags & DAXFS_INFO_RDONLY_FS))
		return seterr(-EACCES, "writable mapping on a read-only daxfs mount");
	/*
	 * hugetlbfs and devdax map whole pages: the daemon's pieces end on a
	 * page boundary, so the mapping does too (as mmap(2) of such a file
	 * rounds the length up).
	 */
	if (info.map_align > PAGE_4K && len > SIZE_MAX - info.map_align)
		return seterr(-EINVAL, "length %zu is too large", len);
	if (info.map_align > PAGE_4K)
		len = (len + info.map_align - 1) & ~(size_t)(info.map_align - 1);
	err = connect_daemon(&info, &conn_fd, &conn_id);
	if (err)
		return err;

	memset(&req, 0, sizeof(req));
	req.conn_id = conn_id;
	req.file_off = off;
	req.len = len;
	req.want = (prot & PROT_WRITE) ? DAXFS_MAP_WANT_WRITE : 0;
	if (ioctl(fd, DAXFS_IOC_MAP, &req)) {
		err = seterr(-errno, "DAX map request failed: %s", strerror(errno));
		goto out_close_conn;
	}
	req.msg[sizeof(req.msg) - 1] = 0;
	if (req.status) {
		err = seterr(req.status < 0 ? req.status : -EPROTO, "%s", req.msg);
		goto out_close_conn;
	}
	if (req.granted & DAXFS_MAP_KERNEL) {
		close(conn_fd);
		return map_kernel(fd, off, len, prot, fixed, addr, req.msg, req.file_size);
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = seterr(-ENOMEM, "out of memory");
		goto out_close_conn;
	}
	if (fixed) {
		base = (uintptr_t)*addr;
	} else {
		void *p = reserve_va(len, off);

		if (!p) {
			err = seterr(-ENOMEM, "no room for %zu bytes of address space", len);
			goto out_free_m;
		}
		base = (uintptr_t)p;
	}
	err = daxfs_grant_map(conn_fd, req.nr_extents, info.region_size, base, off, len, prot,
			      &res);
	if (err) {
		/* Leave no region memory mapped without its pin; with
		 * DAXFS_MMAP_FIXED what was there is gone, as with mmap. */
		daxfs_sys_munmap((void *)base, len);
		if (fixed)
			forget_range(base, base + len);
		goto out_free_m;
	}
	m->persist = get_persist_fn(info.granularity); /* NULL: msync, right anywhere */
	m->start = base;
	m->len = len;
	m->conn_fd = conn_fd;
	m->file_off = off;
	m->file_size = req.file_size;
	m->nr_extents = res.nr_extents;
	m->huge_bytes = res.huge_bytes;
	m->backed_end = res.backed_end;
	m->writable = prot & PROT_WRITE;
	register_map(m, fixed);
	*addr = (void *)base;
	return 0;

out_free_m:
	free(m);
out_close_conn:
	close(conn_fd);
	return err;
}

DAXFS_EXPORT int daxfs_munmap(void *addr, size_t len)
{
	if ((uintptr_t)addr % PAGE_4K || len == 0)
		return -EINVAL;
	if (daxfs_sys_munmap(addr, len))
		return -errno;
	forget_range((uintptr_t)addr, (uintptr_t)addr + len);
	return 0;
}

/* Find the record holding [@addr, @addr + @len); copy it to *@out. */
static bool find_map(const void *addr, size_t len, struct dmap *out)
{
	uintptr_t s = (uintptr_t)addr, e = s + len;
	struct dmap *m;
	bool found = false;

	pthread_mutex_lock(&dmaps_lock);
	for (m = dmaps; m; m = m->next) {
		if (s >= m->start && e <= m->start + m->len && e >= s) {
			*out = *m;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&dmaps_lock);
	return found;
}

DAXFS_EXPORT bool daxfs_is_mapped(const void *addr, size_t len)
{
	struct dmap m;

	return find_map(addr, len, &m);
}

DAXFS_EXPORT int daxfs_persist(const void *addr, size_t len)
{
	struct dmap m;

	if (!find_map(addr, len, &m))
		return seterr(-EINVAL, "%p+%zu is not inside one daxfs mapping", addr, len);
	/* nothing to persist in the pages past the end of file (no memory) */
	if ((uintptr_t)addr + len > m.backed_end)
		len = (uintptr_t)addr < m.backed_end ? m.backed_end - (uintptr_t)addr : 0;
	if (len == 0)
		return 0;
	if (m.persist) {
		m.persist(addr, len);
		return 0;
	}
	uintptr_t a = (uintptr_t)addr & ~(uintptr_t)(PAGE_4K - 1);

	return daxfs_sys_msync((void *)a, (uintptr_t)addr + len - a, MS_SYNC) ? -errno : 0;
}

DAXFS_EXPORT int daxfs_msync(void *addr, size_t len, int flags)
{
	struct dmap m;

	if ((uintptr_t)addr % PAGE_4K || (flags & ~(MS_SYNC | MS_ASYNC | MS_INVALIDATE)) ||
	    ((flags & MS_SYNC) && (flags & MS_ASYNC)))
		return -EINVAL;
	if (!find_map(addr, len, &m))
		return daxfs_overlaps(addr, len) ? -EINVAL : -ENOMEM;
	return daxfs_persist(addr, len);
}

DAXFS_EXPORT int daxfs_mapping_info(const void *addr, struct daxfs_mapping_info *out)
{
	struct dmap m;

	if (!find_map(addr, 1, &m))
		return seterr(-EINVAL, "%p is not in a daxfs mapping", addr);
	out->addr = (void *)m.start;
	out->len = m.len;
	out->file_off = m.file_off;
	out->file_size = m.file_size;
	out->nr_extents = m.nr_extents;
	out->huge_bytes = m.huge_bytes;
	out->writable = m.writable;
	out->page_cache = m.page_cache;
	return 0;
}
