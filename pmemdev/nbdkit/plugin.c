/* SPDX-License-Identifier: MIT */
/*
 * plugin.c - nbdkit-pmemdev-plugin: serve a pmem region over NBD through
 * the pmemdev block driver.
 *
 *   nbdkit pmemdev region=/dev/shm/pmem0 mode=pfn
 *
 * One device serves every connection: the region is opened and locked
 * (lib/region_lock.h: exclusive, shared with readonly=true) in .get_ready,
 * where errors reach the user, and the device (pfn registration of the
 * region in the chosen mode, queue, optional worker threads) is made in
 * .after_fork, after nbdkit has forked into the background (threads do not
 * survive fork; a trial device in .get_ready shows set-up errors first).
 *
 * Requests map to bios (nbd_io.h): pread -> READ, pwrite -> WRITE (FUA
 * natively: BIO_FUA), flush -> FLUSH, trim -> DISCARD, zero ->
 * WRITE_ZEROES. Because every connection shares the one device, a FLUSH or
 * a FUA write makes every write completed before it durable, whatever
 * connection sent it, so multi-conn is advertised: the driver's stores are
 * non-temporal or flushed, and the completion of a write (locked
 * instructions on the completing thread) drains them from that CPU's
 * write-combining buffers before the reply, so a fence on the thread that
 * runs the FLUSH finds nothing of another connection's left behind.
 *
 * Block sizes come from the queue limits: minimum the logical block size,
 * preferred 4 KiB, maximum the queue's max_bytes (else 32 MiB). Requests
 * not aligned to the logical block size fail with EINVAL.
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errmsg.h"
#include "iomem.h"
#include "nbd_io.h"
#include "pmemdev.h"
#include "region.h"
#include "units.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* Largest request we advertise when the queue has no limit, bytes. */
#define NBD_MAX_REQUEST (32u << 20)
/* Most device worker threads. */
#define NBD_MAX_WORKERS 64u

/* Configuration (.config), then the device (.get_ready / .after_fork). */
static char *cfg_region;
static enum desc_mode cfg_mode = DESC_PFN;
static enum pmemdev_target cfg_target = PMEMDEV_TARGET_PMEM;
static bool cfg_readonly;
static unsigned cfg_workers;

static struct pmr_region *region;
static struct pmemdev *dev;
static struct blk_dev *bdev;
static struct nbd_io_dev io; /* bdev as nbd_io.h wants it */
static uint32_t lbs;	     /* logical block size, bytes */

static void pmemdev_nbd_unload(void)
{
	free(cfg_region);
	cfg_region = NULL;
}

/* parse_bool - nbdkit's spellings of a boolean; 0 or -1 (with no message). */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

static int pmemdev_nbd_config(const char *key, const char *value)
{
	if (!strcmp(key, "region")) {
		free(cfg_region);
		/* absolute: nbdkit changes directory when it forks */
		cfg_region = nbdkit_absolute_path(value);
		if (!cfg_region)
			return -1; /* nbdkit said why */
	} else if (!strcmp(key, "mode")) {
		if (desc_mode_parse(value, &cfg_mode)) {
			nbdkit_error("mode=%s: expected one of " DESC_MODE_NAMES, value);
			return -1;
		}
	} else if (!strcmp(key, "target")) {
		if (pmemdev_target_parse(value, &cfg_target)) {
			nbdkit_error("target=%s: expected pmem or null", value);
			return -1;
		}
	} else if (!strcmp(key, "readonly")) {
		if (parse_bool(value, &cfg_readonly)) {
			nbdkit_error("readonly=%s: expected true or false", value);
			return -1;
		}
	} else if (!strcmp(key, "workers")) {
		if (nbdkit_parse_unsigned("workers", value, &cfg_workers) == -1)
			return -1;
		if (cfg_workers > NBD_MAX_WORKERS) {
			nbdkit_error("workers=%u: at most %u", cfg_workers, NBD_MAX_WORKERS);
			return -1;
		}
	} else {
		nbdkit_error("unknown parameter '%s' (expected region, mode, target, readonly, "
			     "workers)",
			     key);
		return -1;
	}
	return 0;
}

static int pmemdev_nbd_config_complete(void)
{
	if (!cfg_region) {
		nbdkit_error("region=PATH is required (a pmem region file or /dev/dax device)");
		return -1;
	}
	return 0;
}

/* device_new - the pmemdev device on the open region, as configured. */
static int device_new(struct pmemdev **out)
{
	struct pmemdev_config pc = {
		.region = region,
		.target = cfg_target,
		.mode = cfg_mode,
		.nr_workers = cfg_workers,
	};

	return pmemdev_new(&pc, out);
}

static int pmemdev_nbd_get_ready(void)
{
	unsigned flags = cfg_readonly ? PMR_F_RDONLY | PMR_F_LOCK_SHARED : PMR_F_LOCK_EXCL;
	struct pmemdev *trial = NULL;
	int err;

	pmd_err_clear();
	err = pmr_open(cfg_region, flags, &region);
	if (err) {
		nbdkit_error("%s", pmd_strerror(err));
		return -1;
	}
	/* A trial device, so set-up errors are seen before nbdkit forks. */
	err = device_new(&trial);
	if (err) {
		nbdkit_error("cannot serve %s (mode=%s target=%s): %s", cfg_region,
			     desc_mode_name(cfg_mode), pmemdev_target_name(cfg_target),
			     pmd_strerror(err));
		pmr_close(&region);
		return -1;
	}
	pmemdev_delete(&trial);
	err = nbd_iomem_init(cfg_mode);
	if (err) {
		nbdkit_error("%s", pmd_strerror(err));
		pmr_close(&region);
		return -1;
	}
	return 0;
}

/*
 * region_populate - map every page of the region now, as a kernel pmem
 * driver has its region mapped: otherwise the first touch of each page is
 * a page fault in the middle of a request (the file plugin's pread has
 * none). Done after the fork: the child does not inherit the page tables
 * of a shared file mapping. Skipped for a region larger than half the
 * free memory (a sparse emulated region): then pages fault in as used.
 */
static void region_populate(void)
{
	long pages = sysconf(_SC_AVPHYS_PAGES);
	uint64_t avail = pages > 0 ? (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
	uint64_t size = pmr_size(region);

	if (size > avail / 2) {
		nbdkit_debug("region of %" PRIu64 " bytes not populated (%" PRIu64 " bytes free)",
			     size, avail);
		return;
	}
	if (madvise(pmr_addr(region), size,
		    cfg_readonly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE))
		nbdkit_debug("populating the region: %s", strerrordesc_np(errno));
}

static int pmemdev_nbd_after_fork(void)
{
	int err = device_new(&dev);

	if (err) {
		nbdkit_error("cannot serve %s: %s", cfg_region, pmd_strerror(err));
		return -1;
	}
	region_populate();
	bdev = pmemdev_blk(dev);
	io = (struct nbd_io_dev){.bdev = bdev, .mode = cfg_mode, .sync = cfg_workers == 0};
	lbs = blk_dev_limits(bdev)->logical_block_size;
	return 0;
}

static void pmemdev_nbd_cleanup(void)
{
	unsigned long long registered, bounced;

	nbd_iomem_stats(&registered, &bounced);
	nbdkit_debug("request buffers registered %llu times, %llu requests bounced", registered,
		     bounced);
	pmemdev_delete(&dev);
	bdev = NULL;
	io.bdev = NULL;
	nbd_iomem_fini();
	pmr_close(&region); /* and its lock */
}

static void pmemdev_nbd_dump_plugin(void)
{
	printf("pmemdev_version=%s\n", PMD_VERSION);
	printf("pmemdev_modes=pfn,folio,page,ondemand,memdesc\n");
	printf("pmemdev_targets=pmem,null\n");
}

/* The handle: whether this connection may write. */
struct nbd_conn {
	bool readonly;
};

static void *pmemdev_nbd_open(int readonly)
{
	struct nbd_conn *c = malloc(sizeof(*c));

	if (!c) {
		nbdkit_error("out of memory");
		return NULL;
	}
	c->readonly = readonly || cfg_readonly;
	return c;
}

static void pmemdev_nbd_close(void *handle)
{
	free(handle);
}

static const char *pmemdev_nbd_export_description(void *handle)
{
	return nbdkit_printf_intern("pmemdev region %s (mode=%s, target=%s)", cfg_region,
				    desc_mode_name(cfg_mode), pmemdev_target_name(cfg_target));
}

static int64_t pmemdev_nbd_get_size(void *handle)
{
	return (int64_t)sector_to_off(blk_dev_capacity(bdev));
}

static int pmemdev_nbd_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
				  uint32_t *maximum)
{
	const struct blk_limits *l = blk_dev_limits(bdev);

	*minimum = l->logical_block_size;
	*preferred = l->logical_block_size > FRAME_SIZE ? l->logical_block_size : FRAME_SIZE;
	*maximum = l->max_bytes && l->max_bytes < NBD_MAX_REQUEST ? (uint32_t)l->max_bytes
								  : NBD_MAX_REQUEST;
	return 0;
}

/* Capability hooks: what the device does, apart from doing it. */
static int pmemdev_nbd_can_write(void *handle)
{
	return !((struct nbd_conn *)handle)->readonly;
}

static int pmemdev_nbd_can_flush(void *handle)
{
	return 1;
}

static int pmemdev_nbd_can_fua(void *handle)
{
	return NBDKIT_FUA_NATIVE;
}

static int pmemdev_nbd_can_trim(void *handle)
{
	return 1;
}

static int pmemdev_nbd_can_zero(void *handle)
{
	return 1;
}

/* WRITE_ZEROES is a durable memset in the driver: always faster than writes. */
static int pmemdev_nbd_can_fast_zero(void *handle)
{
	return 1;
}

static int pmemdev_nbd_can_multi_conn(void *handle)
{
	return 1;
}

static int pmemdev_nbd_can_cache(void *handle)
{
	return NBDKIT_CACHE_NONE; /* memory: nothing to prefetch */
}

static int pmemdev_nbd_is_rotational(void *handle)
{
	return 0;
}

/* check_aligned - EINVAL for a request the device cannot take. */
static int check_aligned(const char *what, uint32_t count, uint64_t offset)
{
	if (!is_aligned(offset, lbs) || !is_aligned(count, lbs)) {
		nbdkit_error("%s of %" PRIu32 " bytes at offset %" PRIu64
			     " is not aligned to the %" PRIu32 "-byte block size",
			     what, count, offset, lbs);
		nbdkit_set_error(EINVAL);
		return -1;
	}
	return 0;
}

/*
 * io_error - report a failed request and give nbdkit its errno. The reason
 * is pmd_errmsg() or strerrordesc_np(): strerror() on a server thread can
 * leave glibc's locale lock held at exit under ASan (nbdkit then hangs in
 * a library destructor), and a description needs no locale anyway.
 */
static int io_error(const char *what, uint32_t count, uint64_t offset, int err)
{
	const char *why = pmd_errmsg()[0] ? pmd_errmsg() : strerrordesc_np(-err);

	nbdkit_error("%s of %" PRIu32 " bytes at offset %" PRIu64 ": %s", what, count, offset,
		     why ? why : "unknown error");
	nbdkit_set_error(-err);
	pmd_err_clear();
	return -1;
}

static unsigned fua_flag(uint32_t flags)
{
	return (flags & NBDKIT_FLAG_FUA) ? BIO_FUA : 0;
}

static int pmemdev_nbd_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
			     uint32_t flags)
{
	int err;

	if (check_aligned("read", count, offset))
		return -1;
	err = nbd_io_rw(&io, false, 0, buf, count, offset);
	if (err)
		return io_error("read", count, offset, err);
	/* the null target moves no data: never hand out what the buffer held */
	if (cfg_target == PMEMDEV_TARGET_NULL)
		memset(buf, 0, count);
	return 0;
}

static int pmemdev_nbd_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
			      uint32_t flags)
{
	int err;

	if (check_aligned("write", count, offset))
		return -1;
	err = nbd_io_rw(&io, true, fua_flag(flags), (void *)buf, count, offset);
	return err ? io_error("write", count, offset, err) : 0;
}

static int pmemdev_nbd_flush(void *handle, uint32_t flags)
{
	int err = nbd_io_nodata(&io, BIO_OP_FLUSH, 0, 0, 0);

	return err ? io_error("flush", 0, 0, err) : 0;
}

static int pmemdev_nbd_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	int err;

	if (check_aligned("trim", count, offset))
		return -1;
	err = nbd_io_nodata(&io, BIO_OP_DISCARD, fua_flag(flags), count, offset);
	return err ? io_error("trim", count, offset, err) : 0;
}

static int pmemdev_nbd_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	int err;

	/* FAST_ZERO: accepted, WRITE_ZEROES is never slower than writing zeroes. */
	if (check_aligned("zero", count, offset))
		return -1;
	err = nbd_io_nodata(&io, BIO_OP_WRITE_ZEROES, fua_flag(flags), count, offset);
	return err ? io_error("zero", count, offset, err) : 0;
}

static struct nbdkit_plugin plugin = {
	.name = "pmemdev",
	.longname = "pmemdev: a pmem region through the pmemdev block driver",
	.version = PMD_VERSION,
	.description = "Serve a pmem region as bios in a descriptor mode (pfn, folio, page, "
		       "ondemand, memdesc).",
	.magic_config_key = "region",
	.config_help =
		"region=PATH        (required) the region: a file or /dev/dax device\n"
		"mode=pfn|folio|page|ondemand|memdesc descriptor mode of the bios (default pfn)\n"
		"target=pmem|null   driver target: copy to the region, or move nothing\n"
		"readonly=BOOL      serve read-only, with a shared lock (default false)\n"
		"workers=N          device completion threads (default 0: synchronous)",
	.unload = pmemdev_nbd_unload,
	.config = pmemdev_nbd_config,
	.config_complete = pmemdev_nbd_config_complete,
	.get_ready = pmemdev_nbd_get_ready,
	.after_fork = pmemdev_nbd_after_fork,
	.cleanup = pmemdev_nbd_cleanup,
	.dump_plugin = pmemdev_nbd_dump_plugin,

	.open = pmemdev_nbd_open,
	.close = pmemdev_nbd_close,
	.export_description = pmemdev_nbd_export_description,
	.get_size = pmemdev_nbd_get_size,
	.block_size = pmemdev_nbd_block_size,

	.can_write = pmemdev_nbd_can_write,
	.can_flush = pmemdev_nbd_can_flush,
	.can_fua = pmemdev_nbd_can_fua,
	.can_trim = pmemdev_nbd_can_trim,
	.can_zero = pmemdev_nbd_can_zero,
	.can_fast_zero = pmemdev_nbd_can_fast_zero,
	.can_multi_conn = pmemdev_nbd_can_multi_conn,
	.can_cache = pmemdev_nbd_can_cache,
	.is_rotational = pmemdev_nbd_is_rotational,

	.pread = pmemdev_nbd_pread,
	.pwrite = pmemdev_nbd_pwrite,
	.flush = pmemdev_nbd_flush,
	.trim = pmemdev_nbd_trim,
	.zero = pmemdev_nbd_zero,
	.errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
