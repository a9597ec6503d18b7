/* SPDX-License-Identifier: MIT */
/*
 * region_chunk.c - regions made of 2 MiB chunk files, and the exposure of
 * chunks to other processes (see region.h, "Chunked regions").
 *
 * Layout of a chunked region directory (mode 0700, owned by the region's
 * owner). Everything is a name: hugetlbfs files cannot be written with
 * write(2), so no file holds text.
 *   chunk.XXXXXXXX        the chunks: 2 MiB regular files, index in hex;
 *                         chunk i holds region bytes [i * 2 MiB, +2 MiB)
 *   pmemdev-region.1.N    empty: the marker (layout version 1, N chunks),
 *                         made last at create
 *   boot.<boot id>        empty: the boot the exposure records belong to
 *   given.XXXXXXXX        empty: a descriptor of chunk XXXXXXXX was given to
 *                         another process since the chunk was last reclaimed
 *
 * All chunks are mapped MAP_FIXED into one 2 MiB-aligned range, so users
 * of the region see the same contiguous memory as with a single file.
 *
 * Whether another process can still reach a chunk is asked of the kernel:
 * a write lease (F_SETLEASE F_WRLCK) is granted only when no open file of
 * the inode exists besides the caller's own, and a mapping or a descriptor
 * in flight on a socket keeps its open file. The lease is taken on the
 * open file that backs our own mapping of the chunk (else our mapping
 * would count as another open file) and dropped at once. Page references
 * that outlive every open file (a pipe filled by vmsplice(2), io_uring
 * fixed buffers) are cut by punching the chunk's pages out of the file
 * before it is reused: the kernel then keeps the old pages only for those
 * references, and the file gets new ones.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "errmsg.h"
#include "region_internal.h"
#include "units.h"

#define MARKER "pmemdev-region."
#define GIVEN "given."
#define BOOT "boot."
#define BOOT_ID_LEN 36U	    /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define CREATE_STEP 128U    /* chunks per progress report */
#define LEASE_SIGNAL SIGURG /* a lease break (our lease lasts microseconds) is ignored */

/*
 * region_writable - the chunk files may be changed: neither read-only nor
 * private (PMR_F_PRIVATE maps the chunks copy-on-write from read-only
 * files: writes stay in this process, no exposure record is touched).
 */
static bool region_writable(const struct pmr_region *r)
{
	return !(r->flags & (PMR_F_RDONLY | PMR_F_PRIVATE));
}

static void chunk_name(char *buf, size_t len, uint64_t idx)
{
	snprintf(buf, len, "chunk.%08" PRIx64, idx);
}

/* ---------------------------------------------------------------------- */
/* The names in the directory */

/* What one pass over the directory found. */
struct dir_scan {
	unsigned markers;	    /* entries named pmemdev-region.* */
	char marker[256];	    /* the last of them */
	char boot[BOOT_ID_LEN + 1]; /* boot.<id>, "" if none */
	unsigned boots;
	uint64_t *given; /* chunk indexes of given.* entries */
	size_t ngiven;
};

static int scan_dir(int dirfd, const char *path, struct dir_scan *ds)
{
	size_t cap = 0;
	struct dirent *de;
	int fd = dup(dirfd);
	DIR *d;

	memset(ds, 0, sizeof(*ds));
	if (fd < 0)
		return pmd_err(-errno, "cannot read %s: %s", path, strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return pmd_err(-errno, "cannot read %s: %s", path, strerror(errno));
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *n = de->d_name;

		if (!strncmp(n, MARKER, strlen(MARKER))) {
			ds->markers++;
			snprintf(ds->marker, sizeof(ds->marker), "%s", n);
		} else if (!strncmp(n, BOOT, strlen(BOOT))) {
			ds->boots++;
			snprintf(ds->boot, sizeof(ds->boot), "%s", n + strlen(BOOT));
		} else if (!strncmp(n, GIVEN, strlen(GIVEN))) {
			char *end;
			unsigned long long idx = strtoull(n + strlen(GIVEN), &end, 16);

			if (*end || end == n + strlen(GIVEN))
				continue;
			if (ds->ngiven == cap) {
				size_t nc = cap ? 2 * cap : 64;
				uint64_t *g = realloc(ds->given, nc * sizeof(*g));

				if (!g) {
					closedir(d);
					free(ds->given);
					return -ENOMEM;
				}
				ds->given = g;
				cap = nc;
			}
			ds->given[ds->ngiven++] = idx;
		}
	}
	closedir(d);
	return 0;
}

static int parse_marker(const struct dir_scan *ds, const char *path, uint64_t *nchunks)
{
	unsigned long long n = 0;
	unsigned version = 0;
	int consumed = 0;

	if (ds->markers == 0)
		return pmd_err(-EISDIR,
			       "%s is a directory but not a chunked region (no %s* in it; "
			       "create one with pmemdev create --chunked)",
			       path, MARKER);
	if (ds->markers > 1)
		return pmd_err(-EINVAL, "%s has %u chunked region markers (%s*): which is it?",
			       path, ds->markers, MARKER);
	if (sscanf(ds->marker, MARKER "%u.%llu%n", &version, &n, &consumed) != 2 ||
	    ds->marker[consumed] != '\0')
		return pmd_err(-EINVAL, "%s/%s is not a chunked region marker", path, ds->marker);
	if (version != 1)
		return pmd_err(-EPROTONOSUPPORT,
			       "%s is a chunked region of layout version %u; this program knows "
			       "version 1",
			       path, version);
	if (n == 0 || n > UINT64_MAX / PMR_CHUNK_SIZE)
		return pmd_err(-EINVAL, "%s/%s names %llu chunks", path, ds->marker, n);
	*nchunks = n;
	return 0;
}

/* make_name - create the empty file @name in the region directory. */
static int make_name(int dirfd, const char *path, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return pmd_err(-errno, "cannot create %s/%s: %s", path, name, strerror(errno));
	close(fd);
	return 0;
}

bool chunked_is_region_dir(const char *path)
{
	struct dir_scan ds;
	struct stat st;
	bool found;
	int fd;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	found = !scan_dir(fd, path, &ds) && ds.markers;
	free(ds.given);
	close(fd);
	return found;
}

/* ---------------------------------------------------------------------- */
/* Asking the kernel who holds a chunk */

/*
 * probe - 0 if no open file of @fd's inode exists besides @fd's own,
 * -EBUSY if one does, or -errno when the kernel cannot tell (leases
 * disabled, not the file's owner).
 */
static int probe(int fd)
{
	if (fcntl(fd, F_SETSIG, LEASE_SIGNAL))
		return -errno;
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
		fcntl(fd, F_SETLEASE, F_UNLCK);
		return 0;
	}
	return errno == EAGAIN ? -EBUSY : -errno;
}

static int boot_id(char out[BOOT_ID_LEN + 1])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(out, 0, BOOT_ID_LEN + 1);
	if (fd < 0)
		return -errno;
	n = read(fd, out, BOOT_ID_LEN);
	close(fd);
	return n == (ssize_t)BOOT_ID_LEN ? 0 : -EIO;
}

/* ---------------------------------------------------------------------- */
/* The exposure record */

static void exposed_set(struct pmr_region *r, uint64_t idx, uint8_t bits)
{
	if (!r->exposed[idx] && bits)
		r->nexposed++;
	else if (r->exposed[idx] && !bits)
		r->nexposed--;
	r->exposed[idx] = bits;
}

/* exposed_write - record durably that chunk @idx was given, or is no more. */
static int exposed_write(struct pmr_region *r, uint64_t idx, bool given)
{
	char name[64];

	snprintf(name, sizeof(name), GIVEN "%08" PRIx64, idx);
	if (given)
		return make_name(r->fd, r->path, name);
	if (unlinkat(r->fd, name, 0) && errno != ENOENT)
		return pmd_err(-errno, "cannot remove %s/%s: %s", r->path, name, strerror(errno));
	return 0;
}

/*
 * exposed_load - the chunks given out, from the names found in @ds. Records
 * of another boot (no process of that boot holds anything) are dropped when
 * the region is open writable.
 */
static int exposed_load(struct pmr_region *r, const struct dir_scan *ds)
{
	bool writable = region_writable(r);
	char boot[BOOT_ID_LEN + 1], name[64];
	bool stale;

	r->exposed = calloc(r->nchunks, 1);
	if (!r->exposed)
		return -ENOMEM;
	boot_id(boot);
	stale = ds->boots != 1 || strcmp(ds->boot, boot);
	if (stale && writable) {
		for (size_t k = 0; k < ds->ngiven; k++)
			exposed_write(r, ds->given[k], false);
		if (ds->boots) {
			snprintf(name, sizeof(name), BOOT "%s", ds->boot);
			unlinkat(r->fd, name, 0);
		}
		snprintf(name, sizeof(name), BOOT "%s", boot);
		return make_name(r->fd, r->path, name);
	}
	if (stale)
		return 0;
	for (size_t k = 0; k < ds->ngiven; k++)
		if (ds->given[k] < r->nchunks)
			exposed_set(r, ds->given[k], PMR_EXP_GIVEN);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Create, open, map */

/* remove_all - undo a half-made chunked region (create's failure path). */
static void remove_all(int dirfd, const char *path, uint64_t nchunks)
{
	struct dir_scan ds;
	char name[300];

	if (dirfd < 0)
		return;
	if (!scan_dir(dirfd, path, &ds)) {
		if (ds.markers) {
			snprintf(name, sizeof(name), "%s", ds.marker);
			unlinkat(dirfd, name, 0);
		}
		if (ds.boots) {
			snprintf(name, sizeof(name), BOOT "%s", ds.boot);
			unlinkat(dirfd, name, 0);
		}
		for (size_t k = 0; k < ds.ngiven; k++) {
			snprintf(name, sizeof(name), GIVEN "%08" PRIx64, ds.given[k]);
			unlinkat(dirfd, name, 0);
		}
		free(ds.given);
	}
	for (uint64_t i = 0; i < nchunks; i++) {
		chunk_name(name, sizeof(name), i);
		unlinkat(dirfd, name, 0);
	}
	rmdir(path);
}

/* open_chunk - open chunk @idx and check it is one of ours. */
static int open_chunk(struct pmr_region *r, const struct stat *dst, uint64_t idx, int oflags)
{
	char name[64];
	struct stat st;
	int fd;

	chunk_name(name, sizeof(name), idx);
	fd = openat(r->fd, name, oflags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return pmd_err(err, "chunk %s of region %s is missing", name, r->path);
		return pmd_err(err, "cannot open chunk %s of region %s: %s", name, r->path,
			       strerror(-err));
	}
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return pmd_err(err, "cannot stat chunk %s of %s: %s", name, r->path,
			       strerror(-err));
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != dst->st_dev || st.st_uid != dst->st_uid) {
		close(fd);
		return pmd_err(-EINVAL,
			       "chunk %s of region %s is not a regular file of the directory's "
			       "owner on the directory's filesystem",
			       name, r->path);
	}
	if ((uint64_t)st.st_size != PMR_CHUNK_SIZE) {
		/*
		 * A process given a writable descriptor of the chunk can change
		 * its size: bytes past 2 MiB are not the region's (cut them),
		 * bytes cut off were its own file's (they read as zeros now).
		 */
		int wfd = (oflags & O_ACCMODE) == O_RDWR || !region_writable(r)
				  ? fd
				  : openat(r->fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		bool fixed =
			region_writable(r) && wfd >= 0 && !ftruncate(wfd, (off_t)PMR_CHUNK_SIZE);

		if (wfd >= 0 && wfd != fd)
			close(wfd);
		if (fixed) {
			r->resized_chunks++;
		} else if ((uint64_t)st.st_size < PMR_CHUNK_SIZE) {
			close(fd);
			return pmd_err(-EINVAL,
				       "chunk %s of region %s has %llu bytes, not %llu (open the "
				       "region writable once to restore its size)",
				       name, r->path, (unsigned long long)st.st_size,
				       (unsigned long long)PMR_CHUNK_SIZE);
		}
	}
	return fd;
}

/*
 * map_chunk - map @fd as chunk @idx of the region's range.
 *
 * A shared hugetlbfs mapping is made MAP_NORESERVE: the chunks' pages were
 * allocated when the region was created, so a reservation adds nothing
 * for them; it would only be needed for a page that a holder of the
 * chunk's descriptor punched out, and when the pool has none left the
 * mapping would fail, the region would not open again (every user locked
 * out by one holder) and a reclaim's MAP_FIXED would leave a hole in our
 * range. Without it such a page faults when touched, where the guard
 * (region_guard.c) puts a page back or detaches the chunk. A private
 * mapping (fsck -n) keeps its reservations: its copy-on-write pages are
 * then certain, or the open fails with a reason.
 */
static int map_chunk(struct pmr_region *r, uint64_t idx, int fd)
{
	int prot = PROT_READ |
		   ((r->flags & PMR_F_RDONLY) && !(r->flags & PMR_F_PRIVATE) ? 0 : PROT_WRITE);
	int flags = r->map_flags | MAP_FIXED;
	char *at = (char *)r->addr + idx * PMR_CHUNK_SIZE;
	void *p;

	if (r->backend == PMR_BACKEND_HUGETLBFS && !(r->flags & PMR_F_PRIVATE))
		flags |= MAP_NORESERVE;
	p = mmap(at, PMR_CHUNK_SIZE, prot, flags, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		if (err == -ENOMEM && r->backend == PMR_BACKEND_HUGETLBFS)
			return pmd_err(err,
				       "cannot map chunk %" PRIu64 " of %s: not enough free huge "
				       "pages (a private mapping reserves one per chunk; see "
				       "/proc/sys/vm/nr_hugepages)",
				       idx, r->path);
		if (err == -ENOMEM)
			return pmd_err(err,
				       "cannot map chunk %" PRIu64 " of %s: out of memory or of "
				       "mappings (%" PRIu64
				       " chunks; see /proc/sys/vm/max_map_count)",
				       idx, r->path, r->nchunks);
		return pmd_err(err, "cannot map chunk %" PRIu64 " of %s: %s", idx, r->path,
			       strerror(-err));
	}
	return 0;
}

/* max_map_count - the kernel's limit of mappings per process, or 0. */
static uint64_t max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	unsigned long long v = 0;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * map_all - reserve the range and map every chunk into it. The persistence
 * functions come from chunk 0's source.
 */
static int map_all(struct pmr_region *r, const struct stat *dst)
{
	int oflags = region_writable(r) ? O_RDWR : O_RDONLY;
	uint64_t limit = max_map_count();
	int err, fd0 = -1;

	if (limit && r->nchunks + 1024 > limit)
		return pmd_err(-ENOMEM,
			       "region %s has %" PRIu64 " chunks, each a mapping, but a process "
			       "may have only %" PRIu64 " mappings (vm.max_map_count): raise "
			       "it (sysctl vm.max_map_count=%" PRIu64 ") or use a single-file "
			       "region",
			       r->path, r->nchunks, limit, 2 * r->nchunks + 65536);
	err = pmr_reserve_va(r->size, r->alignment, &r->addr);
	if (err)
		return err;
	r->map_flags = MAP_SHARED;
	if (r->flags & PMR_F_PRIVATE)
		r->map_flags = MAP_PRIVATE;
	else if (r->backend == PMR_BACKEND_FSDAX)
		r->map_flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	for (uint64_t i = 0; i < r->nchunks; i++) {
		int fd = open_chunk(r, dst, i, oflags);

		if (fd < 0) {
			err = fd;
			goto out_unmap;
		}
		err = map_chunk(r, i, fd);
		if (i == 0 && !err)
			fd0 = fd;
		else
			close(fd);
		if (err)
			goto out_unmap;
	}
	if (r->backend == PMR_BACKEND_TMPFS || r->backend == PMR_BACKEND_HUGE_TMPFS)
		madvise(r->addr, r->size, MADV_HUGEPAGE); /* a hint */
	err = pmr_map_existing(r, fd0);
	close(fd0);
	if (err)
		goto out_unmap;
	return 0;

out_unmap:
	if (fd0 >= 0)
		close(fd0);
	munmap(r->addr, r->size);
	r->addr = NULL;
	return err;
}

/* classify - backend of the region from chunk 0 (all chunks share its filesystem). */
static int classify(struct pmr_region *r, const struct stat *dst)
{
	int err, fd = open_chunk(r, dst, 0, region_writable(r) ? O_RDWR : O_RDONLY);

	if (fd < 0)
		return fd;
	err = pmr_detect_fd(fd, r->path, &r->backend, &r->page_size);
	close(fd);
	if (err)
		return err;
	if (r->page_size > PMR_CHUNK_SIZE)
		return pmd_err(-EINVAL,
			       "%s: a chunked region needs pages of at most 2 MiB, its "
			       "filesystem has %" PRIu64 "-byte pages (mount hugetlbfs with "
			       "pagesize=2M)",
			       r->path, r->page_size);
	r->alignment = HUGE_SIZE;
	return 0;
}

static int stat_dir(struct pmr_region *r, struct stat *st)
{
	if (fstat(r->fd, st))
		return pmd_err(-errno, "cannot stat %s: %s", r->path, strerror(errno));
	if (st->st_mode & 022)
		return pmd_err(-EPERM,
			       "region directory %s is writable by group or others: anyone "
			       "could replace its chunks (chmod 700 %s)",
			       r->path, r->path);
	return 0;
}

/*
 * create_chunks - make chunk files [@from, @to) of 2 MiB, with their pages
 * on hugetlbfs (a shortage is an error now, not a SIGBUS later). Chunk 0
 * classifies the backend.
 */
static int create_chunks(struct pmr_region *r, uint64_t from, uint64_t to)
{
	bool progress = (r->flags & PMR_F_PROGRESS) && r->size >= (UINT64_C(1) << 30) &&
			isatty(STDERR_FILENO);
	char name[64], a[32], b[32];

	for (uint64_t i = from; i < to; i++) {
		int fd, err = 0;

		chunk_name(name, sizeof(name), i);
		fd = openat(r->fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return pmd_err(-errno, "cannot create %s/%s: %s", r->path, name,
				       strerror(errno));
		if (ftruncate(fd, (off_t)PMR_CHUNK_SIZE))
			err = -errno;
		if (!err && i == 0)
			err = pmr_detect_fd(fd, r->path, &r->backend, &r->page_size);
		if (!err && r->backend == PMR_BACKEND_HUGETLBFS &&
		    fallocate(fd, 0, 0, (off_t)PMR_CHUNK_SIZE)) {
			err = -errno;
			if (err == -ENOSPC || err == -ENOMEM)
				err = pmd_err(-ENOSPC,
					      "not enough free huge pages for %s of %s (got %s; "
					      "see /proc/sys/vm/nr_hugepages)",
					      format_size(r->size, a, sizeof(a)), r->path,
					      format_size(i * PMR_CHUNK_SIZE, b, sizeof(b)));
		}
		close(fd);
		if (err)
			return err == -ENOSPC ? err
					      : pmd_err(err, "cannot size %s/%s: %s", r->path, name,
							strerror(-err));
		if (progress && (i + 1) % CREATE_STEP == 0)
			fprintf(stderr, "\rcreating %s: %s of %s", r->path,
				format_size((i + 1) * PMR_CHUNK_SIZE, a, sizeof(a)),
				format_size(r->size, b, sizeof(b)));
	}
	if (progress)
		fputc('\n', stderr);
	return 0;
}

int chunked_create(struct pmr_region *r, uint64_t size)
{
	struct statfs sfs;
	struct stat dst;
	char a[32], b[32];
	int err;

	r->chunked = true;
	r->size = size;
	r->nchunks = size / PMR_CHUNK_SIZE;
	err = stat_dir(r, &dst);
	if (err)
		goto out_remove;
	/* Chunk 0 first: it says what the filesystem is. */
	err = create_chunks(r, 0, 1);
	if (!err)
		err = classify(r, &dst);
	if (err)
		goto out_remove;
	err = pmr_check_size_page(r->path, size, r->page_size);
	if (err)
		goto out_remove;
	if (r->backend != PMR_BACKEND_HUGETLBFS && !(r->flags & PMR_F_SPARSE) &&
	    !fstatfs(r->fd, &sfs) && (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize < size) {
		err = pmd_err(
			-ENOSPC, "not enough space for %s of %s: %s free",
			format_size(size, a, sizeof(a)), r->path,
			format_size((uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize, b, sizeof(b)));
		goto out_remove;
	}
	err = create_chunks(r, 1, r->nchunks);
	if (err)
		goto out_remove;
	err = exposed_load(r, &(struct dir_scan){0});
	if (!err) {
		char marker[64];

		snprintf(marker, sizeof(marker), MARKER "1.%" PRIu64, r->nchunks);
		err = make_name(r->fd, r->path, marker);
	}
	if (!err)
		err = map_all(r, &dst);
	if (err)
		goto out_remove;
	return 0;

out_remove:
	remove_all(r->fd, r->path, r->nchunks);
	return err;
}

int chunked_open(struct pmr_region *r)
{
	struct dir_scan ds;
	struct stat dst;
	int err;

	r->chunked = true;
	err = scan_dir(r->fd, r->path, &ds);
	if (err)
		return err;
	err = parse_marker(&ds, r->path, &r->nchunks);
	if (!err)
		err = stat_dir(r, &dst);
	if (err) {
		free(ds.given);
		return err;
	}
	r->size = r->nchunks * PMR_CHUNK_SIZE;
	err = classify(r, &dst);
	if (!err)
		err = pmr_check_size_page(r->path, r->size, r->page_size);
	if (!err)
		err = exposed_load(r, &ds);
	free(ds.given);
	if (!err)
		err = map_all(r, &dst);
	return err;
}

int pmr_destroy(const char *path)
{
	struct dir_scan ds;
	uint64_t n;
	struct stat st;
	int fd, err;

	if (lstat(path, &st))
		return pmd_err(-errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path))
			return pmd_err(-errno, "cannot remove %s: %s", path, strerror(errno));
		return 0;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pmd_err(-errno, "cannot open %s: %s", path, strerror(errno));
	err = scan_dir(fd, path, &ds);
	if (!err)
		err = parse_marker(&ds, path, &n);
	free(ds.given);
	if (!err) {
		remove_all(fd, path, n);
		if (!access(path, F_OK))
			err = pmd_err(-ENOTEMPTY,
				      "%s holds files that are not the region's; "
				      "they were left",
				      path);
	}
	close(fd);
	return err;
}

void chunked_remove(struct pmr_region *r)
{
	remove_all(r->fd, r->path, r->nchunks);
}

/*
 * restore_exposed - give the chunks other processes hold their size back
 * before we let go of the region, so that a read-only open (fsck -n) after
 * us finds whole chunks. A holder may shrink one again later: the next
 * writable open restores it.
 */
static void restore_exposed(struct pmr_region *r)
{
	struct stat dst;

	if (!region_writable(r) || !r->nexposed || fstat(r->fd, &dst))
		return;
	for (uint64_t i = 0; i < r->nchunks; i++) {
		int fd;

		if (!r->exposed[i])
			continue;
		fd = open_chunk(r, &dst, i, O_RDWR);
		if (fd >= 0)
			close(fd);
	}
}

void chunked_unmap(struct pmr_region *r)
{
	restore_exposed(r);
	if (r->map)
		pmem2_map_delete(&r->map);
	if (r->src)
		pmem2_source_delete(&r->src);
	if (r->addr)
		munmap(r->addr, r->size);
	r->addr = NULL;
}

/* ---------------------------------------------------------------------- */
/* Exposure: giving chunks out, taking them back */

bool pmr_is_chunked(const struct pmr_region *r)
{
	return r->chunked;
}

uint64_t pmr_nr_chunks(const struct pmr_region *r)
{
	return r->size / PMR_CHUNK_SIZE;
}

bool pmr_chunk_exposed(const struct pmr_region *r, uint64_t idx)
{
	return r->exposed && idx < r->nchunks && r->exposed[idx];
}

uint64_t pmr_exposed_count(const struct pmr_region *r)
{
	return r->nexposed;
}

int pmr_chunk_give(struct pmr_region *r, uint64_t idx, bool rdonly, int *fd)
{
	struct stat dst;
	int err = 0;

	if (!r->chunked)
		return pmd_err(-EINVAL, "region %s is not chunked: it has no chunk descriptors",
			       r->path);
	if (idx >= r->nchunks)
		return pmd_err(-EINVAL, "region %s has no chunk %" PRIu64, r->path, idx);
	if (!rdonly && !region_writable(r))
		return pmd_err(-EROFS, "region %s is open read-only or private", r->path);
	if (fstat(r->fd, &dst))
		return pmd_err(-errno, "cannot stat %s: %s", r->path, strerror(errno));
	pthread_mutex_lock(&r->chunk_lock);
	if (!(r->exposed[idx] & PMR_EXP_GIVEN)) {
		err = exposed_write(r, idx, true);
		if (!err)
			exposed_set(r, idx, r->exposed[idx] | PMR_EXP_GIVEN);
	}
	if (!err) {
		*fd = open_chunk(r, &dst, idx, rdonly ? O_RDONLY : O_RDWR);
		err = *fd < 0 ? *fd : 0;
	}
	pthread_mutex_unlock(&r->chunk_lock);
	return err;
}

/*
 * scrub - drop every page of the chunk open as @fd (old pages stay only with
 * references that outlived every open file) and give it fresh ones where
 * the backing hands pages out only on allocation (hugetlbfs: a later fault
 * without a page in the pool would be SIGBUS; disk and DAX filesystems:
 * blocks).
 */
static int scrub(struct pmr_region *r, uint64_t idx, int fd)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)PMR_CHUNK_SIZE))
		return pmd_err(-errno, "cannot drop the pages of chunk %" PRIu64 " of %s: %s", idx,
			       r->path, strerror(errno));
	if (r->backend != PMR_BACKEND_TMPFS && r->backend != PMR_BACKEND_HUGE_TMPFS &&
	    fallocate(fd, 0, 0, (off_t)PMR_CHUNK_SIZE))
		return pmd_err(errno == ENOMEM ? -ENOSPC : -errno,
			       "cannot give chunk %" PRIu64 " of %s new pages: %s", idx, r->path,
			       strerror(errno));
	if (r->backend == PMR_BACKEND_TMPFS || r->backend == PMR_BACKEND_HUGE_TMPFS)
		madvise((char *)r->addr + idx * PMR_CHUNK_SIZE, PMR_CHUNK_SIZE, MADV_HUGEPAGE);
	return 0;
}

/* reclaim_chunk - see pmr_reclaim(); under chunk_lock. */
static int reclaim_chunk(struct pmr_region *r, const struct stat *dst, uint64_t idx)
{
	int err, fd = open_chunk(r, dst, idx, O_RDWR);

	if (fd < 0)
		return fd;
	/* Our mapping must hang on this open file, or it counts as another. */
	err = map_chunk(r, idx, fd);
	if (!err)
		pmr_guard_reset(r, idx); /* mapped from its file again */
	if (!err)
		err = probe(fd);
	if (!err)
		err = scrub(r, idx, fd);
	if (!err && (r->exposed[idx] & PMR_EXP_GIVEN))
		err = exposed_write(r, idx, false);
	if (!err)
		exposed_set(r, idx, 0);
	close(fd);
	return err;
}

/*
 * held_by_others - for a single-file region: mark in @held (bit per chunk)
 * the chunks another process maps, from /proc/PID/maps (the mapping's file
 * offset and length give the range). Returns the number of processes whose
 * maps could not be read, or -errno.
 */
static long held_by_others(const struct pmr_region *r, uint8_t *held)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	long unreadable = 0;
	struct dirent *de;
	struct stat st;
	pid_t self = getpid();
	DIR *d;

	if (fstat(r->fd, &st))
		return -errno;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		FILE *f;

		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
		f = fopen(path, "re");
		if (!f) {
			if (errno != ENOENT)
				unreadable++;
			continue;
		}
		while (getline(&line, &cap, f) > 0) {
			unsigned long long start, stop, off, ino;
			unsigned maj, min;

			if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &start, &stop, &off, &maj,
				   &min, &ino) != 6)
				continue;
			if (ino != (unsigned long long)st.st_ino ||
			    makedev(maj, min) != st.st_dev || stop <= start)
				continue;
			for (uint64_t c = off / PMR_CHUNK_SIZE;
			     c < r->nchunks && c * PMR_CHUNK_SIZE < off + (stop - start); c++)
				held[c / 8] |= (uint8_t)(1U << (c % 8));
		}
		fclose(f);
	}
	closedir(d);
	free(line);
	return unreadable;
}

int pmr_exposure_scan(struct pmr_region *r, uint64_t *unreadable)
{
	uint8_t *held;
	long n;

	*unreadable = 0;
	if (r->chunked)
		return 0; /* probed at open, given chunks recorded */
	held = calloc((r->nchunks + 7) / 8, 1);
	if (!held)
		return -ENOMEM;
	n = held_by_others(r, held);
	if (n < 0) {
		free(held);
		return pmd_err((int)n, "cannot read /proc to find mappings of %s: %s", r->path,
			       strerror((int)-n));
	}
	*unreadable = (uint64_t)n;
	pthread_mutex_lock(&r->chunk_lock);
	if (!r->exposed)
		r->exposed = calloc(r->nchunks, 1);
	if (r->exposed)
		for (uint64_t c = 0; c < r->nchunks; c++)
			if (held[c / 8] & (1U << (c % 8)))
				exposed_set(r, c, r->exposed[c] | PMR_EXP_HELD);
	pthread_mutex_unlock(&r->chunk_lock);
	free(held);
	return r->exposed ? 0 : -ENOMEM;
}

long pmr_reclaim(struct pmr_region *r, const uint64_t *idx, size_t n, bool *done)
{
	uint8_t *held = NULL;
	struct stat dst;
	long count = 0;

	for (size_t k = 0; k < n; k++)
		done[k] = false;
	if (!region_writable(r))
		return pmd_err(-EROFS, "region %s is open read-only or private", r->path);
	if (!r->exposed || !r->nexposed)
		return 0;
	if (fstat(r->fd, &dst))
		return pmd_err(-errno, "cannot stat %s: %s", r->path, strerror(errno));
	if (!r->chunked) {
		long e;

		held = calloc((r->nchunks + 7) / 8, 1);
		if (!held)
			return -ENOMEM;
		e = held_by_others(r, held);
		if (e < 0) {
			free(held);
			return pmd_err((int)e, "cannot read /proc to find mappings of %s", r->path);
		}
	}
	pthread_mutex_lock(&r->chunk_lock);
	for (size_t k = 0; k < n; k++) {
		uint64_t c = idx[k];

		if (c >= r->nchunks || !r->exposed[c])
			continue;
		if (held) {
			if (held[c / 8] & (1U << (c % 8)))
				continue;
			exposed_set(r, c, 0);
		} else if (reclaim_chunk(r, &dst, c)) {
			continue;
		}
		done[k] = true;
		count++;
	}
	pthread_mutex_unlock(&r->chunk_lock);
	free(held);
	return count;
}
