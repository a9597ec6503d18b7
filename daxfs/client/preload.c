/* SPDX-License-Identifier: MIT */
/*
 * preload.c - libdaxfs-preload.so: DAX mmap for unmodified programs.
 *
 *   LD_PRELOAD=libdaxfs-preload.so program ...
 *
 * Interposes mmap/mmap64, munmap, msync and mremap. A MAP_SHARED mapping of a file
 * on a daxfs mount becomes a DAX mapping from libdaxfs (region memory, no
 * page cache); msync on it persists; munmap releases it and its layout pin.
 * Everything else (other filesystems, MAP_PRIVATE, anonymous memory, a
 * daemon that does not offer DAX mmap) goes straight to the system call,
 * exactly as without the shim. mremap of a DAX mapping fails with EINVAL. fork keeps mappings and pins (the
 * connection descriptors are inherited); exec drops them (close-on-exec).
 *
 * Set DAXFS_PRELOAD_DEBUG=1 to log each decision on stderr.
 * Under AddressSanitizer builds preload libasan first (see docs/dax-mmap.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daxfs_client_internal.h"
#include "libdaxfs.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static int debug = -1;

static void dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void dbg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (debug < 0) {
		const char *e = getenv("DAXFS_PRELOAD_DEBUG");

		debug = e && *e && strcmp(e, "0");
	}
	if (!debug)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0) {
		if (n > (int)sizeof(buf) - 1)
			n = sizeof(buf) - 1;
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			return;
	}
}

/* Flags a DAX mapping can honour: MAP_FIXED placement, and the ones that
 * only matter for page-cache or anonymous memory. */
#define DAX_OK_FLAGS                                                                              \
	(MAP_SHARED | MAP_SHARED_VALIDATE | MAP_FIXED | MAP_SYNC | MAP_POPULATE | MAP_NORESERVE | \
	 MAP_LOCKED | MAP_NONBLOCK)

static bool want_dax(int prot, int flags, int fd, off_t off, size_t len)
{
	int type = flags & MAP_TYPE;

	if (fd < 0 || (flags & MAP_ANONYMOUS) || len == 0 || off < 0 || off % 4096)
		return false;
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return false;
	if (flags & ~DAX_OK_FLAGS)
		return false;
	if ((prot & ~(PROT_READ | PROT_WRITE)) || !(prot & (PROT_READ | PROT_WRITE)))
		return false;
	return daxfs_is_daxfs(fd);
}

static void *dax_or_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int saved = errno; /* the checks must not leave errno changed */
	void *p;

	if (want_dax(prot, flags, fd, off, len)) {
		int err;

		/* PROT_WRITE alone is mapped read-write, as the kernel does. */
		p = addr;
		err = daxfs_mmap(fd, (uint64_t)off, len, prot | PROT_READ,
				 (flags & MAP_FIXED) ? DAXFS_MMAP_FIXED : 0, &p);
		if (err == 0) {
			dbg("daxfs-preload: fd %d off %lld len %zu -> DAX %p\n", fd, (long long)off,
			    len, p);
			errno = saved;
			return p;
		}
		dbg("daxfs-preload: fd %d: %s\n", fd, daxfs_errmsg());
		if (err != -ENODEV) {
			/* A daxfs file the daemon refused: fail as mmap would. */
			errno = -err;
			return MAP_FAILED;
		}
	}
	errno = saved;
	p = daxfs_sys_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && (flags & MAP_FIXED) && daxfs_overlaps(p, len))
		daxfs_forget(p, len);
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return dax_or_sys_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return dax_or_sys_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	if (daxfs_sys_munmap(addr, len))
		return -1;
	if (daxfs_overlaps(addr, len))
		daxfs_forget(addr, len);
	return 0;
}

EXPORT int msync(void *addr, size_t len, int flags)
{
	/* Persist what is ours; the system call still checks the flags and
	 * reports unmapped parts. */
	if (daxfs_overlaps(addr, len))
		daxfs_persist_overlaps(addr, len);
	return daxfs_sys_msync(addr, len, flags);
}

/*
 * mremap of a DAX mapping is refused (EINVAL): the extents behind it are
 * fixed at map time and the registry could not follow a move. Programs
 * fall back to munmap + mmap. Anything else goes to the system call.
 */
EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (daxfs_overlaps(old, old_len ? old_len : 1)) {
		dbg("daxfs-preload: mremap of DAX mapping %p refused\n", old);
		errno = EINVAL;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}
