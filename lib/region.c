/* SPDX-License-Identifier: MIT */
/*
 * region.c - map a pmem region with libpmem2, 2 MiB aligned, and pick the
 * persistence primitives once.
 *
 * Mapping: we reserve a 2 MiB (or backing-page) aligned stretch of address
 * space as a pmem2_vm_reservation and let pmem2_map_new() map the source
 * into it, because libpmem2 only aligns a mapping to the source's own
 * alignment (4 KiB for files).
 *
 * Granularity: emulated pmem (FILE, TMPFS, HUGE_TMPFS, HUGETLBFS) cannot be
 * mapped with MAP_SYNC, so libpmem2 reports PAGE and would persist with
 * msync(). libpmem2 reads PMEM2_FORCE_GRANULARITY in pmem2_map_new(); we set
 * it to CACHE_LINE for the duration of that call (under a lock, restoring
 * the caller's value) so persists are cache-line flushes plus a fence.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crashsim.h"
#include "errmsg.h"
#include "region_internal.h"
#include "region_lock.h"
#include "units.h"
#include "vmspace.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

/* Preallocation step on hugetlbfs, bytes (one progress report each). */
#define PMR_PREALLOC_STEP (UINT64_C(256) << 20)
/* Regions at least this big get progress reports, bytes. */
#define PMR_PROGRESS_MIN (UINT64_C(1) << 30)

/* Serialises our setenv/getenv of PMEM2_FORCE_GRANULARITY around map_new. */
static pthread_mutex_t pmr_env_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const pmr_backend_names[] = {
	[PMR_BACKEND_FILE] = "file",
	[PMR_BACKEND_TMPFS] = "tmpfs",
	[PMR_BACKEND_HUGE_TMPFS] = "huge-tmpfs",
	[PMR_BACKEND_HUGETLBFS] = "hugetlbfs",
	[PMR_BACKEND_DEVDAX] = "devdax",
	[PMR_BACKEND_FSDAX] = "fsdax",
};

const char *pmr_backend_name(enum pmr_backend b)
{
	if ((unsigned)b >= sizeof(pmr_backend_names) / sizeof(pmr_backend_names[0]))
		return "unknown";
	return pmr_backend_names[b];
}

const char *pmr_granularity_name(enum pmr_granularity g)
{
	switch (g) {
	case PMR_GRAN_BYTE:
		return "byte";
	case PMR_GRAN_CACHELINE:
		return "cacheline";
	case PMR_GRAN_PAGE:
		return "page";
	}
	return "unknown";
}

/* Emulated pmem: anything that is not real DAX memory. */
static bool backend_is_emulated(enum pmr_backend b)
{
	return b != PMR_BACKEND_DEVDAX && b != PMR_BACKEND_FSDAX;
}

/* A libpmem2 return value (negative PMEM2_E_* or -errno) as -errno. */
static int pmem2_to_err(int ret)
{
	/* Below PMEM2_E_UNKNOWN libpmem2 has its own codes; above, -errno. */
	if (ret > PMEM2_E_UNKNOWN && ret < 0)
		return ret;
	if (ret == PMEM2_E_NOSUPP)
		return -ENOTSUP;
	if (ret == PMEM2_E_MAPPING_EXISTS)
		return -EEXIST;
	return -EINVAL;
}

/* read_sysfs_u64 - first number in file @path; 0 or -errno. */
static int read_sysfs_u64(const char *path, uint64_t *out)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*out = strtoull(buf, NULL, 0);
	return 0;
}

/*
 * mount_super_opts - the super-block options (last field of
 * /proc/self/mountinfo) of a mount of device @dev into @opts.
 * Returns 0 or -ENOENT.
 */
static int mount_super_opts(dev_t dev, char *opts, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		char *sep, *p;

		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) != 2)
			continue;
		if (makedev(maj, min) != dev)
			continue;
		/* "... - fstype source super-opts" */
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		p = strrchr(sep, ' ');
		if (!p)
			continue;
		p++;
		p[strcspn(p, "\n")] = '\0';
		snprintf(opts, len, "%s", p);
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

/* opts_has - true if comma-separated @opts contains exactly @opt. */
static bool opts_has(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;

	while ((p = strstr(p, opt)) != NULL) {
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* shmem_forced_huge - true if every tmpfs file gets huge pages (THP "force"). */
static bool shmem_forced_huge(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[force]") != NULL;
}

/*
 * detect_chr - classify a character device: only dax devices are regions.
 */
static int detect_chr(const char *path, const struct stat *st, enum pmr_backend *backend,
		      uint64_t *page_size)
{
	char sys[128], link[256];
	uint64_t align = 0;
	ssize_t n;
	const char *base;

	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/subsystem", major(st->st_rdev),
		 minor(st->st_rdev));
	n = readlink(sys, link, sizeof(link) - 1);
	if (n < 0)
		return pmd_err(-EINVAL, "%s is a character device but not a dax device", path);
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strcmp(base, "dax"))
		return pmd_err(-EINVAL, "%s is a character device but not a dax device", path);

	snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/align", major(st->st_rdev),
		 minor(st->st_rdev));
	if (read_sysfs_u64(sys, &align) || !align) {
		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/device/align", major(st->st_rdev),
			 minor(st->st_rdev));
		if (read_sysfs_u64(sys, &align) || !align)
			align = HUGE_SIZE;
	}
	*backend = PMR_BACKEND_DEVDAX;
	*page_size = align;
	return 0;
}

/* pmr_detect_fd - classify the open file @fd (named @path for messages). */
int pmr_detect_fd(int fd, const char *path, enum pmr_backend *backend, uint64_t *page_size)
{
	struct statfs sfs;
	struct statx stx;
	struct stat st;
	char opts[1024];

	if (fstat(fd, &st))
		return pmd_err(-errno, "cannot stat %s: %s", path, strerror(errno));
	if (S_ISCHR(st.st_mode))
		return detect_chr(path, &st, backend, page_size);
	if (!S_ISREG(st.st_mode))
		return pmd_err(-EINVAL, "%s is neither a regular file nor a dax device", path);
	if (fstatfs(fd, &sfs))
		return pmd_err(-errno, "cannot statfs %s: %s", path, strerror(errno));

	*page_size = FRAME_SIZE;
	switch ((unsigned long)sfs.f_type) {
	case HUGETLBFS_MAGIC:
		*backend = PMR_BACKEND_HUGETLBFS;
		*page_size = (uint64_t)sfs.f_bsize;
		return 0;
	case TMPFS_MAGIC:
		*backend = PMR_BACKEND_TMPFS;
		if ((uint64_t)st.st_blksize >= HUGE_SIZE || shmem_forced_huge() ||
		    (!mount_super_opts(st.st_dev, opts, sizeof(opts)) &&
		     (opts_has(opts, "huge=always") || opts_has(opts, "huge=within_size")))) {
			*backend = PMR_BACKEND_HUGE_TMPFS;
			*page_size = HUGE_SIZE;
		}
		return 0;
	default:
		break;
	}

	*backend = PMR_BACKEND_FILE;
	if ((!statx(fd, "", AT_EMPTY_PATH, 0, &stx) && (stx.stx_attributes_mask & STATX_ATTR_DAX) &&
	     (stx.stx_attributes & STATX_ATTR_DAX)) ||
	    (!mount_super_opts(st.st_dev, opts, sizeof(opts)) &&
	     (opts_has(opts, "dax") || opts_has(opts, "dax=always"))))
		*backend = PMR_BACKEND_FSDAX;
	return 0;
}

int pmr_detect_backend(const char *path, enum pmr_backend *backend, uint64_t *page_size)
{
	char chunk0[4096];
	int fd, ret;

	/* a chunked region is what its chunks are */
	if (chunked_is_region_dir(path)) {
		snprintf(chunk0, sizeof(chunk0), "%s/chunk.00000000", path);
		path = chunk0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return pmd_err(-ENOENT, "region %s does not exist", path);
		return pmd_err(-errno, "cannot open %s: %s", path, strerror(errno));
	}
	ret = pmr_detect_fd(fd, path, backend, page_size);
	close(fd);
	return ret;
}

/* pmr_check_size_page - the size rules every region obeys (@page_size: its
 * backing page, 0 if not known yet). */
int pmr_check_size_page(const char *path, uint64_t size, uint64_t page_size)
{
	char a[32], b[32], lo[24], hi[24];

	if (size < PMR_MIN_SIZE)
		return pmd_err(-EINVAL, "size %s of %s is too small: a region is at least %s",
			       pmd_size_hint(size, a, sizeof(a)), path,
			       format_size(PMR_MIN_SIZE, b, sizeof(b)));
	if (!is_aligned(size, HUGE_SIZE))
		return pmd_err(-EINVAL,
			       "size %s of %s is not a multiple of 2 MiB (%s or %s would be)",
			       pmd_size_hint(size, a, sizeof(a)), path,
			       pmd_size_hint(align_down(size, HUGE_SIZE), lo, sizeof(lo)),
			       pmd_size_hint(align_up(size, HUGE_SIZE), hi, sizeof(hi)));
	if (page_size > HUGE_SIZE && !is_aligned(size, page_size))
		return pmd_err(-EINVAL, "size %s of %s is not a multiple of its page size %s",
			       format_size(size, a, sizeof(a)), path,
			       format_size(page_size, b, sizeof(b)));
	return 0;
}

int pmr_check_size(const char *path, uint64_t size_bytes)
{
	return pmr_check_size_page(path, size_bytes, 0);
}

/*
 * reserve_aligned - reserve @size bytes of address space at an @align
 * aligned address. Finds a hole with an oversized anonymous mapping, gives it
 * back and reserves inside it; retried if another thread takes the hole.
 */
static int reserve_aligned(uint64_t size, uint64_t align, struct pmem2_vm_reservation **rsv)
{
	int ret = -EBUSY;

	for (int tries = 0; tries < 16; tries++) {
		void *p = mmap(NULL, size + align, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uintptr_t a;

		if (p == MAP_FAILED)
			return pmd_err(-errno, "cannot reserve %llu bytes of address space: %s",
				       (unsigned long long)(size + align), strerror(errno));
		a = (uintptr_t)align_up((uintptr_t)p, align);
		munmap(p, size + align);
		ret = pmem2_vm_reservation_new(rsv, (void *)a, size);
		if (ret == 0) {
			if ((uintptr_t)pmem2_vm_reservation_get_address(*rsv) == a)
				return 0;
			pmem2_vm_reservation_delete(rsv);
			ret = -EBUSY;
			continue;
		}
		if (ret != PMEM2_E_MAPPING_EXISTS)
			return pmd_err(pmem2_to_err(ret), "cannot reserve address space: %s",
				       pmem2_errormsg());
	}
	return pmd_err(ret, "cannot find a %llu-byte aligned hole for %llu bytes",
		       (unsigned long long)align, (unsigned long long)size);
}

/*
 * pmr_reserve_va - reserve @size bytes of address space (PROT_NONE) at an
 * @align-aligned address into *@addr, for mappings placed with MAP_FIXED.
 */
int pmr_reserve_va(uint64_t size, uint64_t align, void **addr)
{
	void *p = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return pmd_err(-errno, "cannot reserve %llu bytes of address space: %s",
			       (unsigned long long)(size + align), strerror(errno));
	a = (uintptr_t)align_up((uintptr_t)p, align);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + size + align > a + size)
		munmap((void *)(a + size), (uintptr_t)p + size + align - (a + size));
	*addr = (void *)a;
	return 0;
}

/*
 * map_new_forced - pmem2_map_new() with PMEM2_FORCE_GRANULARITY set to
 * @force (NULL: leave the environment alone). The caller's value of the
 * variable is restored. Other threads must not change the environment
 * meanwhile (setenv is not thread-safe anyway).
 */
static int map_new_forced(struct pmem2_map **map, const struct pmem2_config *cfg,
			  const struct pmem2_source *src, const char *force)
{
	char *saved = NULL;
	const char *old;
	int ret;

	if (!force)
		return pmem2_map_new(map, cfg, src);

	pthread_mutex_lock(&pmr_env_lock);
	old = getenv("PMEM2_FORCE_GRANULARITY");
	if (old)
		saved = strdup(old);
	setenv("PMEM2_FORCE_GRANULARITY", force, 1);
	ret = pmem2_map_new(map, cfg, src);
	if (saved)
		setenv("PMEM2_FORCE_GRANULARITY", saved, 1);
	else if (!old)
		unsetenv("PMEM2_FORCE_GRANULARITY");
	pthread_mutex_unlock(&pmr_env_lock);
	free(saved);
	return ret;
}

static enum pmr_granularity gran_from_pmem2(enum pmem2_granularity g)
{
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
		return PMR_GRAN_BYTE;
	case PMEM2_GRANULARITY_CACHE_LINE:
		return PMR_GRAN_CACHELINE;
	case PMEM2_GRANULARITY_PAGE:
		break;
	}
	return PMR_GRAN_PAGE;
}

/*
 * map_error - the message of a failed map of @r: when the address space has
 * no free range for the whole region, say so and what size would fit. The
 * size suggested keeps 1 TiB in hand: address space layout randomisation
 * moves the program by up to 1 TiB from one run to the next, and with it
 * the largest free range.
 */
static int map_error(const struct pmr_region *r, int err)
{
	uint64_t hole = pmd_vm_largest_hole(), fit;
	char a[32], b[32], hint[24];

	if (err == -ENOMEM && hole > r->alignment + HUGE_SIZE && r->size + r->alignment > hole) {
		fit = hole - r->alignment - HUGE_SIZE;
		if (fit > 2 * TiB)
			fit -= TiB;
		return pmd_err(err,
			       "cannot map %s: a region is mapped whole, and %s does not fit in "
			       "the address space of a process (its largest free range is %s); "
			       "use a size of at most %s",
			       r->path, format_size(r->size, a, sizeof(a)),
			       format_size(hole, b, sizeof(b)),
			       pmd_size_hint(pmd_round_hint(fit, HUGE_SIZE), hint, sizeof(hint)));
	}
	return pmd_err(err, "cannot map %s (%s): %s", r->path, pmr_backend_name(r->backend),
		       pmem2_errormsg());
}

/*
 * pmr_map_existing - the persistence functions for [r->addr, +r->size),
 * already mapped by the caller from files like @src_fd (chunked regions):
 * cache-line granularity on DAX (mapped with MAP_SYNC) and, unless
 * PMR_F_NATIVE_GRAN, on emulated pmem; page granularity (msync) otherwise.
 */
int pmr_map_existing(struct pmr_region *r, int src_fd)
{
	bool emulated = backend_is_emulated(r->backend);
	enum pmem2_granularity g = PMEM2_GRANULARITY_CACHE_LINE;
	int ret;

	if (emulated && (r->flags & PMR_F_NATIVE_GRAN))
		g = PMEM2_GRANULARITY_PAGE;
	ret = pmem2_source_from_fd(&r->src, src_fd);
	if (ret)
		return pmd_err(pmem2_to_err(ret), "%s: %s", r->path, pmem2_errormsg());
	ret = pmem2_map_from_existing(&r->map, r->src, r->addr, r->size, g);
	if (ret) {
		pmem2_source_delete(&r->src);
		return pmd_err(pmem2_to_err(ret), "%s: %s", r->path, pmem2_errormsg());
	}
	r->gran = gran_from_pmem2(g);
	r->native_gran = emulated ? PMR_GRAN_PAGE : PMR_GRAN_CACHELINE;
	r->persist = pmem2_get_persist_fn(r->map);
	r->flush = pmem2_get_flush_fn(r->map);
	r->drain = pmem2_get_drain_fn(r->map);
	r->memcpy_fn = pmem2_get_memcpy_fn(r->map);
	r->memset_fn = pmem2_get_memset_fn(r->map);
	return 0;
}

/* region_map - map r->fd (already classified and size-checked) at r->addr. */
static int region_map(struct pmr_region *r)
{
	bool emulated = backend_is_emulated(r->backend);
	bool force = emulated && !(r->flags & PMR_F_NATIVE_GRAN);
	struct pmem2_config *cfg;
	size_t src_align = 0;
	unsigned prot;
	int ret;

	ret = pmem2_source_from_fd(&r->src, r->fd);
	if (ret)
		return pmd_err(pmem2_to_err(ret), "%s: %s", r->path, pmem2_errormsg());
	if (!pmem2_source_alignment(r->src, &src_align) && src_align > r->alignment)
		r->alignment = src_align;

	/*
	 * A huge region may not find a reservable hole (libpmem2 reserves with
	 * MAP_FIXED_NOREPLACE, and its own start-up mappings can land in the
	 * hole we found): then let libpmem2 place the mapping itself (it aligns
	 * large mappings to 2 MiB or more) and check the result below.
	 */
	if (reserve_aligned(r->size, r->alignment, &r->rsv))
		r->rsv = NULL;

	ret = pmem2_config_new(&cfg);
	if (ret) {
		ret = pmd_err(pmem2_to_err(ret), "pmem2 config: %s", pmem2_errormsg());
		goto out_rsv;
	}
	/* Emulated: accept whatever we get (PAGE); real pmem: need cache lines. */
	pmem2_config_set_required_store_granularity(cfg, emulated ? PMEM2_GRANULARITY_PAGE
								  : PMEM2_GRANULARITY_CACHE_LINE);
	prot = PMEM2_PROT_READ |
	       ((r->flags & PMR_F_RDONLY) && !(r->flags & PMR_F_PRIVATE) ? 0 : PMEM2_PROT_WRITE);
	ret = pmem2_config_set_protection(cfg, prot);
	if (!ret && (r->flags & PMR_F_PRIVATE))
		ret = pmem2_config_set_sharing(cfg, PMEM2_PRIVATE);
	if (!ret)
		ret = pmem2_config_set_length(cfg, r->size);
	if (!ret && r->rsv)
		ret = pmem2_config_set_vm_reservation(cfg, r->rsv, 0);
	if (ret) {
		ret = pmd_err(pmem2_to_err(ret), "pmem2 config: %s", pmem2_errormsg());
		goto out_cfg;
	}

	ret = map_new_forced(&r->map, cfg, r->src, force ? "CACHE_LINE" : NULL);
	if (ret) {
		ret = map_error(r, pmem2_to_err(ret));
		goto out_cfg;
	}
	pmem2_config_delete(&cfg);

	r->addr = pmem2_map_get_address(r->map);
	r->gran = gran_from_pmem2(pmem2_map_get_store_granularity(r->map));
	/*
	 * Unforced emulated mappings cannot use MAP_SYNC, so libpmem2 would
	 * report PAGE for them: that is their native granularity.
	 */
	r->native_gran = force ? PMR_GRAN_PAGE : r->gran;
	r->persist = pmem2_get_persist_fn(r->map);
	r->flush = pmem2_get_flush_fn(r->map);
	r->drain = pmem2_get_drain_fn(r->map);
	r->memcpy_fn = pmem2_get_memcpy_fn(r->map);
	r->memset_fn = pmem2_get_memset_fn(r->map);
	if (!is_aligned((uintptr_t)r->addr, HUGE_SIZE)) {
		ret = pmd_err(-EFAULT, "mapping of %s at %p is not 2 MiB aligned", r->path,
			      r->addr);
		goto out_map;
	}
	if (r->backend == PMR_BACKEND_TMPFS || r->backend == PMR_BACKEND_HUGE_TMPFS)
		madvise(r->addr, r->size, MADV_HUGEPAGE); /* a hint; failure is harmless */
	return 0;

out_map:
	pmem2_map_delete(&r->map);
	goto out_rsv;
out_cfg:
	pmem2_config_delete(&cfg);
out_rsv:
	if (r->rsv)
		pmem2_vm_reservation_delete(&r->rsv);
	pmem2_source_delete(&r->src);
	return ret;
}

/* region_unmap - undo region_map(). */
static void region_unmap(struct pmr_region *r)
{
	if (r->chunked) {
		chunked_unmap(r);
		return;
	}
	pmem2_map_delete(&r->map);
	if (r->rsv)
		pmem2_vm_reservation_delete(&r->rsv);
	pmem2_source_delete(&r->src);
}

/* region_crashsim - enter test mode if asked (flag or PMD_CRASHSIM=1). */
static int region_crashsim(struct pmr_region *r)
{
	if (r->flags & (PMR_F_RDONLY | PMR_F_PRIVATE))
		return 0;
	if (!(r->flags & PMR_F_CRASHSIM) && !crashsim_env_enabled())
		return 0;
	return crashsim_new(r->addr, r->size, &r->sim);
}

/*
 * region_start - map @r (a chunked region is mapped already) and enter
 * test mode if asked; on failure nothing is mapped.
 */
static int region_start(struct pmr_region *r)
{
	int ret = r->chunked ? 0 : region_map(r);

	if (ret)
		return ret;
	ret = region_crashsim(r);
	if (ret)
		region_unmap(r);
	return ret;
}

static void region_free(struct pmr_region *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->exposed);
	pthread_mutex_destroy(&r->chunk_lock);
	pmr_lock_release(&r->lock);
	free(r->path);
	free(r);
}

static int region_alloc(const char *path, unsigned flags, struct pmr_region **out)
{
	struct pmr_region *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->path = strdup(path);
	if (!r->path) {
		free(r);
		return -ENOMEM;
	}
	r->fd = -1;
	r->flags = flags;
	pthread_mutex_init(&r->chunk_lock, NULL);
	*out = r;
	return 0;
}

/*
 * region_lock - take the lock PMR_F_LOCK_* asks for on @path (before the
 * region is opened, so nothing is mapped while someone else owns it).
 */
static int region_lock(struct pmr_region *r, const char *path)
{
	enum pmr_lock_mode mode;

	if (!(r->flags & (PMR_F_LOCK_SHARED | PMR_F_LOCK_EXCL)))
		return 0;
	if ((r->flags & PMR_F_LOCK_SHARED) && (r->flags & PMR_F_LOCK_EXCL))
		return pmd_err(-EINVAL, "region %s: both shared and exclusive lock asked", path);
	mode = (r->flags & PMR_F_LOCK_EXCL) ? PMR_LOCK_EXCLUSIVE : PMR_LOCK_SHARED;
	return pmr_lock_acquire(path, mode,
				(r->flags & PMR_F_LOCK_WAIT) ? PMR_LOCK_WAIT_CLOSING : 0, &r->lock);
}

/* region_lock_check - the file we opened is the one we locked. */
static int region_lock_check(struct pmr_region *r, const char *path)
{
	int err;

	if (!r->lock)
		return 0;
	err = pmr_lock_covers_fd(r->lock, r->fd);
	if (err == -ESTALE)
		return pmd_err(err, "region %s was replaced while it was being opened; try again",
			       path);
	if (err)
		return pmd_err(err, "cannot stat %s: %s", path, strerror(-err));
	return 0;
}

int pmr_lock_region(struct pmr_region *r, enum pmr_lock_mode mode, unsigned lock_flags)
{
	int err;

	if (r->lock)
		return pmd_err(-EINVAL, "region %s is locked already", r->path);
	err = pmr_lock_acquire(r->path, mode, lock_flags, &r->lock);
	if (!err)
		err = region_lock_check(r, r->path);
	if (err && r->lock)
		pmr_lock_release(&r->lock);
	return err;
}

int pmr_relock_region(struct pmr_region *r, enum pmr_lock_mode mode)
{
	if (!r->lock)
		return pmd_err(-EINVAL, "region %s is not locked", r->path);
	return pmr_lock_convert(r->lock, r->path, mode);
}

static bool want_progress(unsigned flags, uint64_t size)
{
	return (flags & PMR_F_PROGRESS) && size >= PMR_PROGRESS_MIN && isatty(STDERR_FILENO);
}

/*
 * prealloc_hugetlb - allocate the huge pages of a new hugetlbfs file now, so
 * a shortage is an error here and not a SIGBUS on first touch.
 */
static int prealloc_hugetlb(struct pmr_region *r)
{
	bool progress = want_progress(r->flags, r->size);
	char a[32], b[32];

	for (uint64_t off = 0; off < r->size; off += PMR_PREALLOC_STEP) {
		uint64_t len =
			r->size - off < PMR_PREALLOC_STEP ? r->size - off : PMR_PREALLOC_STEP;

		if (fallocate(r->fd, 0, (off_t)off, (off_t)len)) {
			int e = errno;

			if (progress)
				fputc('\n', stderr);
			if (e == ENOSPC || e == ENOMEM)
				return pmd_err(-ENOSPC,
					       "not enough free huge pages for %s of %s "
					       "(got %s; see /proc/sys/vm/nr_hugepages)",
					       format_size(r->size, a, sizeof(a)), r->path,
					       format_size(off, b, sizeof(b)));
			return pmd_err(-e, "cannot allocate %s: %s", r->path, strerror(e));
		}
		if (progress)
			fprintf(stderr, "\rallocating %s: %s of %s", r->path,
				format_size(off + len, a, sizeof(a)),
				format_size(r->size, b, sizeof(b)));
	}
	if (progress)
		fputc('\n', stderr);
	return 0;
}

/*
 * create_chunked - pmr_create() of a chunked region: the directory (mode
 * 0700, locked before anything is in it), its chunks, then the mapping.
 * On failure nothing is left behind.
 */
static int create_chunked(struct pmr_region *r, const char *path, uint64_t size)
{
	int ret;

	if (mkdir(path, 0700))
		return pmd_err(-errno, "cannot create %s: %s", path, strerror(errno));
	r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		ret = pmd_err(-errno, "cannot open %s: %s", path, strerror(errno));
		rmdir(path);
		return ret;
	}
	ret = region_lock(r, path);
	if (!ret)
		ret = region_lock_check(r, path);
	if (ret) {
		rmdir(path);
		return ret;
	}
	ret = chunked_create(r, size); /* removes what it made on failure */
	if (ret)
		return ret;
	ret = region_start(r);
	if (ret)
		chunked_remove(r);
	return ret;
}

int pmr_create(const char *path, uint64_t size_bytes, unsigned flags, struct pmr_region **out)
{
	struct statfs sfs;
	struct stat st;
	struct pmr_region *r;
	char a[32], b[32];
	int ret;

	if (!path || !*path || !out)
		return pmd_err(-EINVAL, "no region path given");
	ret = pmr_check_size_page(path, size_bytes, 0);
	if (ret)
		return ret;
	if (flags & PMR_F_RDONLY)
		return pmd_err(-EINVAL, "cannot create %s read-only", path);
	if (!stat(path, &st)) {
		struct pmr_lock_holder h;
		char who[700];

		if (S_ISCHR(st.st_mode))
			return pmd_err(-EEXIST, "%s is a device: open it, it cannot be created",
				       path);
		if (!pmr_lock_holder(path, &h))
			return pmd_err(-EEXIST, "%s already exists and is in use by %s", path,
				       pmr_lock_describe(&h, who, sizeof(who)));
		return pmd_err(-EEXIST, "%s already exists", path);
	}

	ret = region_alloc(path, flags, &r);
	if (ret)
		return ret;
	if (flags & PMR_F_CHUNKED) {
		ret = create_chunked(r, path, size_bytes);
		if (ret)
			goto out_free;
		*out = r;
		return 0;
	}
	r->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		ret = -errno;
		ret = pmd_err(ret, "cannot create %s: %s", path, strerror(-ret));
		goto out_free;
	}
	ret = region_lock(r, path);
	if (!ret)
		ret = region_lock_check(r, path);
	if (ret)
		goto out_unlink;
	ret = pmr_detect_fd(r->fd, path, &r->backend, &r->page_size);
	if (ret)
		goto out_unlink;
	if (r->backend == PMR_BACKEND_DEVDAX) {
		ret = pmd_err(-EINVAL, "%s: dax devices cannot be created", path);
		goto out_unlink;
	}
	ret = pmr_check_size_page(path, size_bytes, r->page_size);
	if (ret)
		goto out_unlink;
	r->size = size_bytes;
	r->nchunks = size_bytes / PMR_CHUNK_SIZE;
	r->alignment = r->page_size > HUGE_SIZE ? r->page_size : HUGE_SIZE;

	if (r->backend != PMR_BACKEND_HUGETLBFS && !(flags & PMR_F_SPARSE) &&
	    !fstatfs(r->fd, &sfs) && (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize < size_bytes) {
		ret = pmd_err(
			-ENOSPC, "not enough space for %s of %s: %s free",
			format_size(size_bytes, a, sizeof(a)), path,
			format_size((uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize, b, sizeof(b)));
		goto out_unlink;
	}
	if (ftruncate(r->fd, (off_t)size_bytes)) {
		ret = -errno;
		ret = pmd_err(ret, "cannot size %s to %s: %s", path,
			      format_size(size_bytes, a, sizeof(a)), strerror(-ret));
		goto out_unlink;
	}
	if (r->backend == PMR_BACKEND_HUGETLBFS) {
		ret = prealloc_hugetlb(r);
		if (ret)
			goto out_unlink;
	}
	ret = region_start(r);
	if (ret)
		goto out_unlink;
	*out = r;
	return 0;

out_unlink:
	unlink(path);
out_free:
	region_free(r);
	return ret;
}

int pmr_open(const char *path, unsigned flags, struct pmr_region **out)
{
	struct pmr_region *r;
	struct stat st;
	int ret;

	if (!path || !*path || !out)
		return pmd_err(-EINVAL, "no region path given");
	ret = region_alloc(path, flags, &r);
	if (ret)
		return ret;
	ret = region_lock(r, path);
	if (ret)
		goto out_free;
	if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->fd < 0) {
			ret = pmd_err(-errno, "cannot open %s: %s", path, strerror(errno));
			goto out_free;
		}
		ret = region_lock_check(r, path);
		if (!ret)
			ret = chunked_open(r);
		if (!ret)
			ret = region_start(r);
		if (ret)
			goto out_free;
		*out = r;
		return 0;
	}
	r->fd = open(path,
		     ((flags & (PMR_F_RDONLY | PMR_F_PRIVATE)) ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (r->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			ret = pmd_err(ret, "region %s does not exist", path);
		else
			ret = pmd_err(ret, "cannot open %s: %s", path, strerror(-ret));
		goto out_free;
	}
	ret = region_lock_check(r, path);
	if (ret)
		goto out_free;
	ret = pmr_detect_fd(r->fd, path, &r->backend, &r->page_size);
	if (ret)
		goto out_free;
	if (r->backend == PMR_BACKEND_DEVDAX) {
		struct pmem2_source *src;
		size_t sz = 0;

		ret = pmem2_source_from_fd(&src, r->fd);
		if (ret) {
			ret = pmd_err(pmem2_to_err(ret), "%s: %s", path, pmem2_errormsg());
			goto out_free;
		}
		ret = pmem2_source_size(src, &sz);
		pmem2_source_delete(&src);
		if (ret) {
			ret = pmd_err(pmem2_to_err(ret), "%s: %s", path, pmem2_errormsg());
			goto out_free;
		}
		r->size = sz;
	} else {
		if (fstat(r->fd, &st)) {
			ret = pmd_err(-errno, "cannot stat %s: %s", path, strerror(errno));
			goto out_free;
		}
		r->size = (uint64_t)st.st_size;
	}
	ret = pmr_check_size_page(path, r->size, r->page_size);
	if (ret)
		goto out_free;
	r->alignment = r->page_size > HUGE_SIZE ? r->page_size : HUGE_SIZE;
	r->nchunks = r->size / PMR_CHUNK_SIZE;
	ret = region_start(r);
	if (ret)
		goto out_free;
	*out = r;
	return 0;

out_free:
	region_free(r);
	return ret;
}

void pmr_close(struct pmr_region **rp)
{
	struct pmr_region *r = rp ? *rp : NULL;

	if (!r)
		return;
	pmr_unguard(r);
	crashsim_delete(&r->sim);
	region_unmap(r);
	region_free(r);
	*rp = NULL;
}

void *pmr_addr(const struct pmr_region *r)
{
	return r->addr;
}

uint64_t pmr_size(const struct pmr_region *r)
{
	return r->size;
}

int pmr_fd(const struct pmr_region *r)
{
	return r->fd;
}

void pmr_get_info(const struct pmr_region *r, struct pmr_info *info)
{
	info->path = r->path;
	info->backend = r->backend;
	info->size = r->size;
	info->alignment = r->alignment;
	info->backing_page_size = r->page_size;
	info->granularity = r->gran;
	info->native_granularity = r->native_gran;
	info->read_only = (r->flags & PMR_F_RDONLY) != 0;
	info->chunked = r->chunked;
	info->chunks = r->size / PMR_CHUNK_SIZE;
	info->exposed_chunks = r->nexposed;
	info->resized_chunks = r->resized_chunks + atomic_load(&r->guard.restored);
	info->detached_chunks = atomic_load(&r->guard.detached);
}

bool pmr_contains(const struct pmr_region *r, const void *p, size_t len)
{
	uintptr_t base = (uintptr_t)r->addr, a = (uintptr_t)p;

	return a >= base && len <= r->size && a - base <= r->size - len;
}

struct crashsim *pmr_crashsim(const struct pmr_region *r)
{
	return r->sim;
}

/*
 * The wrappers below: in test mode (r->sim) stores are plain and the
 * simulator records flushes and drains; otherwise libpmem2's functions.
 */
void pmr_persist(const struct pmr_region *r, const void *addr, size_t len)
{
	if (__builtin_expect(r->sim != NULL, 0)) {
		crashsim_flush(r->sim, addr, len);
		crashsim_drain(r->sim);
		return;
	}
	r->persist(addr, len);
}

void pmr_flush(const struct pmr_region *r, const void *addr, size_t len)
{
	if (__builtin_expect(r->sim != NULL, 0)) {
		crashsim_flush(r->sim, addr, len);
		return;
	}
	r->flush(addr, len);
}

void pmr_drain(const struct pmr_region *r)
{
	if (__builtin_expect(r->sim != NULL, 0)) {
		crashsim_drain(r->sim);
		return;
	}
	r->drain();
}

/* sim_after_store - flush/drain as libpmem2 would after a memcpy/memset. */
static void sim_after_store(const struct pmr_region *r, const void *dst, size_t len, unsigned flags)
{
	if (flags & PMR_MEM_NOFLUSH) /* implies NODRAIN */
		return;
	crashsim_flush(r->sim, dst, len);
	if (!(flags & PMR_MEM_NODRAIN))
		crashsim_drain(r->sim);
}

/* sim_memcpy - pmr_memcpy() under the crash simulator (cold: kept out of the copy's path). */
static void *__attribute__((noinline, cold))
sim_memcpy(const struct pmr_region *r, void *dst, const void *src, size_t len, unsigned flags)
{
	memmove(dst, src, len);
	sim_after_store(r, dst, len, flags);
	return dst;
}

void *pmr_memcpy(const struct pmr_region *r, void *dst, const void *src, size_t len, unsigned flags)
{
	if (__builtin_expect(r->sim != NULL, 0))
		return sim_memcpy(r, dst, src, len, flags);
	return r->memcpy_fn(dst, src, len, flags);
}

void *pmr_memset(const struct pmr_region *r, void *dst, int c, size_t len, unsigned flags)
{
	if (__builtin_expect(r->sim != NULL, 0)) {
		memset(dst, c, len);
		sim_after_store(r, dst, len, flags);
		return dst;
	}
	return r->memset_fn(dst, c, len, flags);
}
