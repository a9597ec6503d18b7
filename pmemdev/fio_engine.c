/* SPDX-License-Identifier: MIT */
/*
 * fio_engine.c - fio external ioengine that drives a pmemdev block device.
 *
 * Load it with ioengine=external:/path/to/libfio_pmemdev.so. Every fio io_u
 * becomes a real bio, built by bio_add_range() over fio's own I/O buffer in
 * the job's descriptor mode, and submitted to a pmemdev device (one device
 * per job, opened in ->init on the job's thread or process):
 *
 *   mode=pfn    a 2 MiB io_u is 1 bvec {pfn, 2 MiB}
 *   mode=folio  a 2 MiB io_u is 1 bvec {folio head, 2 MiB}
 *   mode=page   a 2 MiB io_u is 512 bvecs {page, 4 KiB}
 *
 * For that, the engine allocates fio's I/O buffers itself (->iomem_alloc):
 * 2 MiB aligned anonymous memory registered in the pfn space with the job's
 * mode, so the buffers have pfns and, in folio/page mode, struct pages.
 *
 * Options (see pmemdev_fio_options[] below): region=PATH (else the job's
 * filename), mode=pfn|folio|page|ondemand|memdesc, target=pmem|null, completion=sync|async,
 * fua=0|1, workers=N, blk_stats=0|1, lat_sample=N.
 *
 * Built against the headers of one fio version (FIO_VERSION, from the
 * configured source tree scripts/fio-src fetched); the engine refuses to
 * run in any other fio, because fio's structures change between versions.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* fio's headers (from the configured source tree, config-host.h forced in). */
#include "fio.h"
#include "optgroup.h"

#include "bio.h"
#include "blk.h"
#include "desc.h"
#include "errmsg.h"
#include "pfn.h"
#include "pmemdev.h"
#include "region.h"
#include "region_lock.h"
#include "units.h"

#ifndef FIO_VERSION
#error "FIO_VERSION must be defined by the build (from the fio source's FIO-VERSION-FILE)"
#endif

/*
 * The running fio's version string. Weak, so that a fio that does not
 * export it still loads the engine and gets a clear message from
 * pmemdev_fio_check_version() instead of a dlopen() failure.
 */
#pragma weak fio_version_string

#define PFX "pmemdev engine: "

/* How long getevents() polls for completions before it sleeps, ns. */
#define PMEMDEV_FIO_POLL_NS 20000L

/* The ops table fio finds with dlsym(); defined at the end of this file. */
extern struct ioengine_ops ioengine;

enum pmemdev_fio_completion {
	PMEMDEV_FIO_SYNC,
	PMEMDEV_FIO_ASYNC,
};

/* Engine options; fio keeps a copy per job in td->eo. */
struct pmemdev_fio_opts {
	void *td;		    /* fio stores the thread_data here: must be first */
	char *region;		    /* region path; NULL: the job's filename */
	unsigned int mode;	    /* enum desc_mode */
	unsigned int target;	    /* enum pmemdev_target */
	unsigned int completion;    /* enum pmemdev_fio_completion */
	unsigned int fua;	    /* 1: every write carries BIO_FUA */
	unsigned int workers;	    /* device worker threads; 0: auto (sync 0, async 1) */
	unsigned int blk_stats;	    /* 1: print the block layer's stats at job end */
	unsigned int lat_sample;    /* pmemdev_config.lat_sample; 0: the driver's default */
	unsigned int plug;	    /* async: hold one burst of ->queue in a plug until ->commit */
	unsigned int poll_us;	    /* async: workers poll this long before sleeping */
	unsigned int run_when_idle; /* async: run a request inline when every worker sleeps */
};

/* Per-job engine state (td->io_ops_data). */
struct pmemdev_fio_data {
	struct pmemdev *pd;
	struct blk_dev *bdev;
	enum desc_mode mode;
	bool async;
	bool sync_inline; /* completion=sync, no workers: done when the submit returns */
	bool fua;
	unsigned nr_workers;
	unsigned max_vecs; /* bvecs per bio, sized for the job's largest block */

	/* I/O buffers handed to fio (->iomem_alloc). */
	void *buf_map;	      /* start of the anonymous mapping */
	size_t buf_map_bytes; /* bytes mapped */
	struct pfn_range *buf_range;
	uint64_t buf_desc_bytes; /* descriptor bytes of the buffer range */
	pfn_t buf_pfn;		 /* first frame of the buffers */
	bool buf_pfn_bvecs;	 /* pfn mode: bvecs of the buffers are computed, not looked up */

	unsigned write_opf;   /* a write's bi_opf: BIO_OP_WRITE, with BIO_FUA if fua=1 */
	bio_end_io_t *end_io; /* async: pmemdev_fio_end_io_async; sync: none (blk.h) */

	/*
	 * Async completions. end_io (on a worker, or inline) pushes its io_u on
	 * @done_list, a lock-free stack, with one compare-and-swap; getevents()
	 * takes the whole stack with one exchange into @backlog (oldest first),
	 * and sleeps on @cond only after polling found nothing, with @waiting
	 * set so that end_io knows to wake it.
	 */
	_Atomic(struct pmemdev_fio_iou *) done_list;
	struct pmemdev_fio_iou *backlog; /* reaped from done_list, not yet given to fio */
	struct pmemdev_fio_iou **backlog_tail;
	atomic_bool waiting; /* getevents() sleeps (or is about to) on cond */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct io_u **events; /* what getevents() reaped, for ->event() */
	unsigned events_cap;
	unsigned nr_events;

	/* plug=1: the bios queued since the last reap, dispatched by getevents(). */
	bool plug_bursts;
	bool plugged;
	struct blk_plug plug;
};

static void pmemdev_fio_end_io_async(struct bio *bio);

/* Per-io_u state (io_u->engine_data): the bio, reused for every I/O. */
struct pmemdev_fio_iou {
	struct io_u *io_u;
	struct pmemdev_fio_data *data;
	struct pmemdev_fio_iou *next; /* on done_list or the backlog */
	struct bio *bio;	      /* caller-owned: bio_init() once, bio_reset() per I/O */
};

/*
 * pmemdev_fio_check_version - 0 if the fio that loaded us is the fio we were
 * built against, else 1 with a message.
 */
static int pmemdev_fio_check_version(struct thread_data *td)
{
	const char *running = fio_version_string;

	if (!running) {
		log_err(PFX "this fio does not export fio_version_string; the engine was built "
			    "for %s and cannot check it is running in the same version\n",
			FIO_VERSION);
		return 1;
	}
	if (strcmp(running, FIO_VERSION) != 0) {
		log_err(PFX "built against %s but running in %s: rebuild the engine against "
			    "this fio's sources (scripts/fio-src)\n",
			FIO_VERSION, running);
		td_vmsg(td, EINVAL, "fio version mismatch", "pmemdev init");
		return 1;
	}
	return 0;
}

/* pmemdev_fio_region_path - the region= option, else the job's filename. */
static const char *pmemdev_fio_region_path(struct thread_data *td)
{
	struct pmemdev_fio_opts *o = td->eo;

	if (o->region && *o->region)
		return o->region;
	if (td->o.filename && *td->o.filename && td->files_index)
		return td->files[0]->file_name;
	return NULL;
}

/*
 * Region locks (lib/region_lock.h) taken in ->setup: held by fio's main
 * process for the whole run and shared by the job processes it forks (one
 * open file description), so jobs of one run never refuse each other
 * while any other program is refused. Let go when the engine is unloaded.
 */
static pthread_mutex_t pmemdev_fio_locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct pmr_lock **pmemdev_fio_locks;
static unsigned pmemdev_fio_nr_locks;

/* pmemdev_fio_lock - lock @path for this run: exclusive if the job writes it. */
static int pmemdev_fio_lock(struct thread_data *td, const char *path)
{
	struct pmemdev_fio_opts *o = td->eo;
	bool writes = (td_write(td) || td_trim(td)) && o->target != PMEMDEV_TARGET_NULL;
	struct pmr_lock *l, **grown;
	int err;

	err = pmr_lock_acquire(path, writes ? PMR_LOCK_EXCLUSIVE : PMR_LOCK_SHARED, 0, &l);
	if (err)
		return err;
	pthread_mutex_lock(&pmemdev_fio_locks_mutex);
	grown = realloc(pmemdev_fio_locks, (pmemdev_fio_nr_locks + 1) * sizeof(*grown));
	if (grown) {
		pmemdev_fio_locks = grown;
		pmemdev_fio_locks[pmemdev_fio_nr_locks++] = l;
	}
	pthread_mutex_unlock(&pmemdev_fio_locks_mutex);
	if (!grown) {
		pmr_lock_release(&l);
		return -ENOMEM;
	}
	return 0;
}

__attribute__((destructor)) static void pmemdev_fio_unlock_all(void)
{
	pthread_mutex_lock(&pmemdev_fio_locks_mutex);
	for (unsigned i = 0; i < pmemdev_fio_nr_locks; i++)
		pmr_lock_release(&pmemdev_fio_locks[i]);
	free(pmemdev_fio_locks);
	pmemdev_fio_locks = NULL;
	pmemdev_fio_nr_locks = 0;
	pthread_mutex_unlock(&pmemdev_fio_locks_mutex);
}

/*
 * ->setup: validate the options, lock the region and give fio its size. Runs
 * before ->init, in fio's main process with create_serialize=1 (default),
 * so it only looks at the region and opens no device.
 */
/*
 * sector_opt - whether the value @v of the job option @name (for the data
 * direction @dir) is whole 512-byte sectors, as every I/O of the block
 * layer is; if not, say so naming the option and values that would do.
 */
static bool sector_opt(struct thread_data *td, const char *name, const char *dir,
		       unsigned long long v)
{
	unsigned long long lo = align_down(v, SECTOR_SIZE), hi = align_up(v, SECTOR_SIZE);

	if (is_aligned(v, SECTOR_SIZE))
		return true;
	if (lo)
		log_err(PFX "job '%s': %s=%llu (%s) is not a multiple of the %" PRIu64
			    "-byte sector: use %s=%llu or %s=%llu\n",
			td->o.name, name, v, dir, SECTOR_SIZE, name, lo, name, hi);
	else
		log_err(PFX "job '%s': %s=%llu (%s) is not a multiple of the %" PRIu64
			    "-byte sector: use %s=%llu\n",
			td->o.name, name, v, dir, SECTOR_SIZE, name, hi);
	td_vmsg(td, EINVAL, "I/O size not whole sectors", "pmemdev setup");
	return false;
}

/*
 * check_sectors - refuse, at job setup, block sizes and alignments the
 * block layer would refuse at each I/O: bs, bsrange, bssplit, blockalign
 * and offset must be whole sectors, bs_unaligned is not supported.
 */
static int check_sectors(struct thread_data *td, uint64_t start)
{
	static const char *const dirs[] = {"read", "write", "trim"};
	struct thread_options *o = &td->o;

	if (o->bs_unaligned) {
		log_err(PFX "job '%s': bs_unaligned is not supported: every I/O is whole "
			    "%" PRIu64 "-byte sectors (leave it out)\n",
			td->o.name, SECTOR_SIZE);
		td_vmsg(td, EINVAL, "bs_unaligned", "pmemdev setup");
		return 1;
	}
	for (unsigned d = 0; d < DDIR_RWDIR_CNT && d < 3; d++) {
		/* bssplit first: fio derives bsrange from it */
		for (unsigned k = 0; k < o->bssplit_nr[d]; k++)
			if (!sector_opt(td, "bssplit", dirs[d], o->bssplit[d][k].bs))
				return 1;
		if (!sector_opt(td, "bs", dirs[d], o->bs[d]) ||
		    !sector_opt(td, "bsrange", dirs[d], o->min_bs[d]) ||
		    !sector_opt(td, "bsrange", dirs[d], o->max_bs[d]) ||
		    !sector_opt(td, "blockalign", dirs[d], o->ba[d]))
			return 1;
	}
	return sector_opt(td, "offset", "start", start) ? 0 : 1;
}

static int pmemdev_fio_setup(struct thread_data *td)
{
	struct pmemdev_fio_opts *o = td->eo;
	struct pmr_region *region;
	const char *path;
	struct fio_file *f;
	uint64_t size, start, need;
	char b1[32], b2[32], b3[32];
	unsigned i;
	int err;

	if (pmemdev_fio_check_version(td))
		return 1;

	path = pmemdev_fio_region_path(td);
	if (!path) {
		log_err(PFX "job '%s': no region given: set region=PATH or filename=PATH\n",
			td->o.name);
		td_vmsg(td, EINVAL, "no region", "pmemdev setup");
		return 1;
	}
	if (td->files_index > 1) {
		log_err(PFX "job '%s': %u files given; the engine drives one region per job\n",
			td->o.name, td->files_index);
		td_vmsg(td, EINVAL, "more than one file", "pmemdev setup");
		return 1;
	}
	if (o->completion == PMEMDEV_FIO_SYNC && td->o.iodepth > 1)
		log_info(PFX "job '%s': completion=sync completes every I/O in ->queue; "
			     "iodepth=%u has no effect (use completion=async)\n",
			 td->o.name, td->o.iodepth);

	err = pmemdev_fio_lock(td, path);
	if (!err)
		err = pmr_open(path, PMR_F_RDONLY, &region);
	if (err) {
		log_err(PFX "job '%s': cannot open region %s: %s\n", td->o.name, path,
			pmd_strerror(err));
		td_vmsg(td, -err, "cannot open region", "pmemdev setup");
		return 1;
	}
	size = pmr_size(region);
	pmr_close(&region);

	for_each_file(td, f, i)
	{
		f->real_file_size = size;
		fio_file_set_size_known(f);
	}

	/* The job's range must lie inside the region: never silently shrink it. */
	f = td->files_index ? td->files[0] : NULL;
	start = f ? get_start_offset(td, f) : td->o.start_offset;
	need = td->o.size_percent ? 0 : td->o.size;
	if (check_sectors(td, start))
		return 1;
	if (start + need > size || start >= size) {
		log_err(PFX "job '%s': region %s is %s, smaller than the job needs: "
			    "offset %s + size %s\n",
			td->o.name, path, format_size(size, b1, sizeof(b1)),
			format_size(start, b2, sizeof(b2)), format_size(need, b3, sizeof(b3)));
		td_vmsg(td, ENOSPC, "region smaller than the job", "pmemdev setup");
		return 1;
	}
	return 0;
}

/* ->init: open the device for this job (thread or process). */
static int pmemdev_fio_init(struct thread_data *td)
{
	struct pmemdev_fio_opts *o = td->eo;
	struct pmemdev_fio_data *d;
	struct pmemdev_config cfg = {0};
	unsigned long long max_bs;
	const char *path;
	int err;

	if (pmemdev_fio_check_version(td))
		return 1;
	/*
	 * Layout sanity: td->io_ops must be our table, and fio keeps the head of
	 * our option block for a thread_data pointer (NULL once jobs are set up).
	 */
	if (td->io_ops != &ioengine || (o->td && o->td != td)) {
		log_err(PFX "fio's option block is not laid out as the engine expects: the "
			    "engine was built against different fio headers\n");
		return 1;
	}

	path = pmemdev_fio_region_path(td);
	if (!path) {
		log_err(PFX "job '%s': no region given: set region=PATH or filename=PATH\n",
			td->o.name);
		return 1;
	}

	d = calloc(1, sizeof(*d));
	if (!d) {
		log_err(PFX "out of memory\n");
		return 1;
	}
	d->mode = (enum desc_mode)o->mode;
	d->async = o->completion == PMEMDEV_FIO_ASYNC;
	d->fua = o->fua;
	d->write_opf = BIO_OP_WRITE | (d->fua ? BIO_FUA : 0);
	d->nr_workers = o->workers ? o->workers : (d->async ? 1 : 0);
	d->sync_inline = !d->async && !d->nr_workers;

	max_bs = td_max_bs(td);
	/* Worst case: one bvec per 4 KiB plus one for a misaligned start. */
	d->max_vecs = (unsigned)(align_up(max_bs, FRAME_SIZE) / FRAME_SIZE + 1);
	if (d->max_vecs > BIO_MAX_VECS) {
		log_err(PFX "job '%s': block size %llu is too large: at most %" PRIu64
			    " bytes per I/O\n",
			td->o.name, max_bs, (uint64_t)(BIO_MAX_VECS - 1) * FRAME_SIZE);
		goto out_free;
	}

	d->events_cap = td->o.iodepth ? td->o.iodepth : 1;
	d->events = calloc(d->events_cap, sizeof(*d->events));
	d->backlog_tail = &d->backlog;
	d->plug_bursts = d->async && o->plug;
	d->end_io = d->async ? pmemdev_fio_end_io_async : NULL;
	if (!d->events) {
		log_err(PFX "out of memory\n");
		goto out_free;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);

	cfg.region_path = path;
	cfg.target = (enum pmemdev_target)o->target;
	cfg.mode = d->mode;
	cfg.nr_workers = d->nr_workers;
	cfg.lat_sample = o->lat_sample;
	cfg.poll_us = o->poll_us;
	cfg.worker_only = !o->run_when_idle;
	err = pmemdev_new(&cfg, &d->pd);
	if (err) {
		log_err(PFX "job '%s': cannot open pmemdev on %s (mode=%s target=%s): %s\n",
			td->o.name, path, desc_mode_name(cfg.mode), pmemdev_target_name(cfg.target),
			pmd_strerror(err));
		td_vmsg(td, -err, "pmemdev_new failed", "pmemdev init");
		goto out_destroy;
	}
	d->bdev = pmemdev_blk(d->pd);
	td->io_ops_data = d;

	/*
	 * completion=sync is a synchronous engine: tell fio, per job, so it
	 * takes the issue time before ->queue and reports the copy as completion
	 * latency, as it does for its own sync engines (libpmem, psync). fio
	 * copies the table's flags into td->flags at load; this only adds one.
	 */
	if (!d->async)
		td->flags |= (unsigned long long)FIO_SYNCIO << TD_ENG_FLAG_SHIFT;
	return 0;

out_destroy:
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
out_free:
	free(d->events);
	free(d);
	return 1;
}

/* pmemdev_fio_print_stats - the block layer's view of the job (blk_stats=1). */
static void pmemdev_fio_print_stats(struct thread_data *td, struct pmemdev_fio_data *d)
{
	struct pfn_range *rr = pmemdev_pfn_range(d->pd);
	uint64_t region_desc = rr ? pfn_range_descriptor_bytes(rr) : 0;
	struct blk_stats st;
	uint64_t bios;

	blk_dev_get_stats(d->bdev, &st);
	bios = st.ios[BLK_STAT_READ] + st.ios[BLK_STAT_WRITE] + st.ios[BLK_STAT_OTHER];
	/* One line, key=value, so scripts can pick it out of fio's output. */
	log_info("pmemdev-stats: job=%s mode=%s bios=%" PRIu64 " data_bios=%" PRIu64
		 " bvecs=%" PRIu64 " mean_bvecs_per_bio=%.2f requests=%" PRIu64 " merges=%" PRIu64
		 " splits=%" PRIu64 " errors=%" PRIu64 " descriptor_bytes=%" PRIu64
		 " region_descriptor_bytes=%" PRIu64 " buffer_descriptor_bytes=%" PRIu64 "\n",
		 td->o.name, desc_mode_name(d->mode), bios,
		 st.ios[BLK_STAT_READ] + st.ios[BLK_STAT_WRITE], st.bvecs,
		 blk_stats_mean_bvecs(&st), st.requests, st.merges, st.splits, st.errors,
		 region_desc + d->buf_desc_bytes, region_desc, d->buf_desc_bytes);
	/* A forked job leaves with _exit(): flush, or the line is lost. */
	fflush(f_out);
}

/*
 * pmemdev_fio_unplug - send the bios held since the first ->queue after the
 * last reap (plug=1), as one batch: one lock round and at most one wake-up
 * for the workers. fio reaps (->getevents) whenever it waits for a
 * completion, so nothing stays held while fio waits. (A ->commit hook
 * would do it earlier, but would also change fio's own accounting of
 * submissions for every job of the engine, sync ones included.)
 */
static void pmemdev_fio_unplug(struct pmemdev_fio_data *d)
{
	if (d->plugged) {
		d->plugged = false;
		blk_finish_plug(&d->plug);
	}
}

/* ->cleanup: after all I/O and after ->iomem_free. */
static void pmemdev_fio_cleanup(struct thread_data *td)
{
	struct pmemdev_fio_opts *o = td->eo;
	struct pmemdev_fio_data *d = td->io_ops_data;

	if (!d)
		return;
	pmemdev_fio_unplug(d);
	if (o->blk_stats)
		pmemdev_fio_print_stats(td, d);
	pmemdev_delete(&d->pd);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d->events);
	free(d);
	td->io_ops_data = NULL;
}

/*
 * ->iomem_alloc: fio's I/O buffers, @total_mem bytes, from 2 MiB aligned
 * anonymous memory registered in the pfn space in the job's mode.
 */
static int pmemdev_fio_iomem_alloc(struct thread_data *td, size_t total_mem)
{
	struct pmemdev_fio_data *d = td->io_ops_data;
	uint64_t len = align_up(total_mem ? total_mem : 1, HUGE_SIZE);
	size_t map_bytes = len + HUGE_SIZE;
	char *map, *buf;
	int err;

	map = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		log_err(PFX "cannot map %zu bytes of I/O buffers\n", map_bytes);
		return 1;
	}
	buf = (char *)align_up((uintptr_t)map, HUGE_SIZE);
	/* Trim to exactly [buf, buf + len). */
	if (buf > map)
		munmap(map, buf - map);
	if (buf + len < map + map_bytes)
		munmap(buf + len, (map + map_bytes) - (buf + len));

	err = pfn_range_register(buf, len, PFN_KIND_DRAM, d->mode, &d->buf_range);
	if (err) {
		log_err(PFX "cannot register %" PRIu64 " bytes of I/O buffers (mode=%s): %s\n", len,
			desc_mode_name(d->mode), pmd_strerror(err));
		munmap(buf, len);
		return 1;
	}
	d->buf_map = buf;
	d->buf_map_bytes = len;
	d->buf_desc_bytes = pfn_range_descriptor_bytes(d->buf_range);
	d->buf_pfn = pfn_range_base(d->buf_range);
	d->buf_pfn_bvecs = d->mode == DESC_PFN;
	td->orig_buffer = buf;
	return 0;
}

static void pmemdev_fio_iomem_free(struct thread_data *td)
{
	struct pmemdev_fio_data *d = td->io_ops_data;

	if (!d || !d->buf_map)
		return;
	d->buf_pfn_bvecs = false;
	pfn_range_unregister(&d->buf_range);
	munmap(d->buf_map, d->buf_map_bytes);
	d->buf_map = NULL;
	td->orig_buffer = NULL;
}

static int pmemdev_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct pmemdev_fio_data *d = td->io_ops_data;
	struct pmemdev_fio_iou *iou;

	iou = calloc(1, sizeof(*iou));
	if (!iou)
		return 1;
	iou->bio = calloc(1, sizeof(struct bio) + (size_t)d->max_vecs * sizeof(struct bio_vec));
	if (!iou->bio) {
		free(iou);
		return 1;
	}
	bio_init(iou->bio, iou->bio->bi_inline_vecs, d->max_vecs, BIO_OP_READ,
		 bio_desc_of(d->mode));
	iou->io_u = io_u;
	iou->data = d;
	io_u->engine_data = iou;
	return 0;
}

static void pmemdev_fio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	struct pmemdev_fio_iou *iou = io_u->engine_data;

	if (!iou)
		return;
	free(iou->bio);
	free(iou);
	io_u->engine_data = NULL;
}

/*
 * pmemdev_fio_finish - record the bio's outcome in its io_u: only a failure,
 * as fio's td_io_queue() sets error and resid to 0 before every ->queue.
 */
static void pmemdev_fio_finish(struct io_u *io_u, struct bio *bio)
{
	if (bio_desc_holds_refs(bio->bi_desc))
		bio_release_pages(bio);
	if (bio->bi_status) {
		io_u->error = -bio->bi_status;
		io_u->resid = io_u->xfer_buflen;
	}
}

/* end_io for completion=async: on a device worker (or inline); hand to getevents. */
static void pmemdev_fio_end_io_async(struct bio *bio)
{
	struct pmemdev_fio_iou *iou = bio->bi_private;
	struct pmemdev_fio_data *d = iou->data;
	struct pmemdev_fio_iou *head = atomic_load_explicit(&d->done_list, memory_order_relaxed);

	pmemdev_fio_finish(iou->io_u, bio);
	do {
		iou->next = head;
	} while (!atomic_compare_exchange_weak(&d->done_list, &head, iou));
	/*
	 * Sequentially consistent push and load here, store and load in the
	 * sleeper: either it sees this io_u, or this sees it waiting.
	 */
	if (atomic_load(&d->waiting)) {
		pthread_mutex_lock(&d->lock);
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
	}
}

/* pmemdev_fio_bio_start - @iou's bio, reset for an I/O of @opf at @sector. */
static inline struct bio *pmemdev_fio_bio_start(struct pmemdev_fio_data *d,
						struct pmemdev_fio_iou *iou, unsigned opf,
						uint64_t sector)
{
	struct bio *bio = iou->bio;

	/* The array, capacity and descriptor were set once, in ->io_u_init. */
	bio_reset(bio, opf);
	bio->bi_private = iou;
	bio->bi_end_io = d->end_io;
	bio->bi_iter.bi_sector = sector;
	return bio;
}

/*
 * pmemdev_fio_prep_bio - (re)build @iou's bio for @io_u. Returns 0 or -errno
 * with a message.
 */
static int pmemdev_fio_prep_bio(struct pmemdev_fio_data *d, struct pmemdev_fio_iou *iou,
				struct io_u *io_u)
{
	struct bio *bio;
	unsigned opf;
	int err;

	switch (io_u->ddir) {
	case DDIR_READ:
		opf = BIO_OP_READ;
		break;
	case DDIR_WRITE:
		opf = d->write_opf;
		break;
	case DDIR_TRIM:
		opf = BIO_OP_DISCARD;
		break;
	case DDIR_SYNC:
	case DDIR_DATASYNC:
	case DDIR_SYNC_FILE_RANGE:
		opf = BIO_OP_FLUSH;
		break;
	default:
		return pmd_err(-EINVAL, "unsupported data direction %d", (int)io_u->ddir);
	}

	if (opf != BIO_OP_FLUSH && (io_u->offset & (SECTOR_SIZE - 1)))
		return pmd_err(-EINVAL, "offset %llu is not a multiple of %" PRIu64 " bytes",
			       io_u->offset, SECTOR_SIZE);
	bio = pmemdev_fio_bio_start(d, iou, opf,
				    opf == BIO_OP_FLUSH ? 0 : off_to_sector(io_u->offset));
	if (opf == BIO_OP_FLUSH)
		return 0;
	if (opf == BIO_OP_DISCARD) {
		bio->bi_iter.bi_size = (uint32_t)io_u->xfer_buflen;
		return 0;
	}
	err = bio_add_range(bio, io_u->xfer_buf, io_u->xfer_buflen, d->mode);
	if (err)
		return pmd_err(err, "cannot describe buffer %p + %llu in mode %s: %s",
			       io_u->xfer_buf, io_u->xfer_buflen, desc_mode_name(d->mode),
			       pmd_strerror(err));
	return 0;
}

/*
 * pmemdev_fio_prep_fast - pmemdev_fio_prep_bio() for the common io_u: a
 * read or write at a whole sector of memory in fio's own I/O buffers, in
 * pfn mode. The engine registered those buffers (->iomem_alloc) and kept
 * their first frame, so the bvec is computed, not looked up. Returns false,
 * the bio untouched, for any other io_u.
 */
static inline bool pmemdev_fio_prep_fast(struct pmemdev_fio_data *d, struct pmemdev_fio_iou *iou,
					 struct io_u *io_u)
{
	uintptr_t rel = (uintptr_t)io_u->xfer_buf - (uintptr_t)d->buf_map;
	unsigned long long len = io_u->xfer_buflen;
	struct bio *bio;

	/* len - 1 wraps for 0; len <= the largest block, so 32 bits (->init). */
	if ((unsigned)io_u->ddir > DDIR_WRITE || !d->buf_pfn_bvecs || rel >= d->buf_map_bytes ||
	    len - 1 >= d->buf_map_bytes - rel || (io_u->offset & (SECTOR_SIZE - 1)))
		return false;
	bio = pmemdev_fio_bio_start(d, iou, io_u->ddir == DDIR_READ ? BIO_OP_READ : d->write_opf,
				    off_to_sector(io_u->offset));
	bio_add_pfn_nocheck(bio, d->buf_pfn + bytes_to_frames(rel), (uint32_t)len,
			    (uint32_t)(rel & (FRAME_SIZE - 1)));
	return true;
}

/* ->queue: turn @io_u into a bio and submit it. */
static enum fio_q_status pmemdev_fio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct pmemdev_fio_data *d = td->io_ops_data;
	struct pmemdev_fio_iou *iou = io_u->engine_data;
	int err;

	fio_ro_check(td, io_u);

	if (!pmemdev_fio_prep_fast(d, iou, io_u)) {
		err = pmemdev_fio_prep_bio(d, iou, io_u);
		if (err) {
			log_err(PFX "%s\n", pmd_strerror(err));
			goto out_error;
		}
	}

	if (d->sync_inline) {
		/*
		 * A synchronous queue and no plug: the bio completes inside
		 * blk_submit_bio() (blk.h), without an end_io.
		 */
		err = blk_submit_bio(d->bdev, iou->bio);
		if (err)
			goto out_release;
		pmemdev_fio_finish(io_u, iou->bio);
		return FIO_Q_COMPLETED;
	}
	if (!d->async) {
		/* Synchronous completion on a device with workers: wait here. */
		iou->bio->bi_end_io = NULL;
		iou->bio->bi_private = NULL;
		err = blk_submit_bio_wait(d->bdev, iou->bio);
		bio_release_pages(iou->bio);
		io_u->error = err < 0 ? -err : 0;
		io_u->resid = err ? io_u->xfer_buflen : 0;
		return FIO_Q_COMPLETED;
	}

	if (d->plug_bursts && !d->plugged) {
		/* Held until fio reaps (->getevents): see pmemdev_fio_unplug(). */
		blk_start_plug(&d->plug);
		d->plugged = true;
	}
	err = blk_submit_bio(d->bdev, iou->bio);
	if (err)
		goto out_release;
	return FIO_Q_QUEUED;

out_release:
	bio_release_pages(iou->bio);
out_error:
	io_u->error = -err;
	io_u->resid = io_u->xfer_buflen;
	return FIO_Q_COMPLETED;
}

/* Move everything on done_list to the end of the backlog, oldest first. */
static bool pmemdev_fio_collect(struct pmemdev_fio_data *d)
{
	struct pmemdev_fio_iou *l = atomic_exchange(&d->done_list, NULL), *fifo = NULL;

	if (!l)
		return false;
	while (l) {
		struct pmemdev_fio_iou *next = l->next;

		l->next = fifo;
		fifo = l;
		l = next;
	}
	*d->backlog_tail = fifo;
	while (fifo->next)
		fifo = fifo->next;
	d->backlog_tail = &fifo->next;
	return true;
}

/* Poll done_list for up to PMEMDEV_FIO_POLL_NS; true if something arrived. */
static bool pmemdev_fio_poll(struct pmemdev_fio_data *d)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 64; i++) {
			__builtin_ia32_pause();
			if (atomic_load_explicit(&d->done_list, memory_order_relaxed))
				return true;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) <
		 PMEMDEV_FIO_POLL_NS);
	return false;
}

/*
 * Sleep until end_io pushes something (or @deadline passes: returns false).
 * The store to @waiting and the load of done_list pair with end_io's push
 * and load of @waiting (both sequentially consistent): no wake-up is lost.
 */
static bool pmemdev_fio_sleep(struct pmemdev_fio_data *d, const struct timespec *deadline)
{
	bool ok = true;

	pthread_mutex_lock(&d->lock);
	atomic_store(&d->waiting, true);
	while (ok && !atomic_load(&d->done_list)) {
		if (deadline)
			ok = pthread_cond_timedwait(&d->cond, &d->lock, deadline) != ETIMEDOUT;
		else
			pthread_cond_wait(&d->cond, &d->lock);
	}
	atomic_store(&d->waiting, false);
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* ->getevents: reap between @min and @max completions (async). */
static int pmemdev_fio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
				 const struct timespec *t)
{
	struct pmemdev_fio_data *d = td->io_ops_data;
	struct timespec deadline;
	bool have_deadline = false;
	unsigned n = 0;

	pmemdev_fio_unplug(d);
	if (max > d->events_cap)
		max = d->events_cap;
	for (;;) {
		while (d->backlog && n < max) {
			struct pmemdev_fio_iou *iou = d->backlog;

			d->backlog = iou->next;
			if (!d->backlog)
				d->backlog_tail = &d->backlog;
			d->events[n++] = iou->io_u;
		}
		if (n >= min || n == max)
			break;
		if (pmemdev_fio_collect(d))
			continue;
		/* Completions usually come within microseconds: poll before sleeping. */
		if (pmemdev_fio_poll(d))
			continue;
		if (t && !have_deadline) {
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_sec += t->tv_sec;
			deadline.tv_nsec += t->tv_nsec;
			if (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
			have_deadline = true;
		}
		if (!pmemdev_fio_sleep(d, t ? &deadline : NULL))
			break;
	}
	d->nr_events = n;
	return (int)n;
}

static struct io_u *pmemdev_fio_event(struct thread_data *td, int event)
{
	struct pmemdev_fio_data *d = td->io_ops_data;

	assert(event >= 0 && (unsigned)event < d->nr_events);
	return d->events[event];
}

/* Files are names only: the device is opened in ->init. */
static int pmemdev_fio_open_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

static int pmemdev_fio_close_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

/*
 * One engine option: every option of ours is in fio's engine category and
 * stored in struct pmemdev_fio_opts at @field. The rest (.def, .posval,
 * .minval, ...) comes as designated initialisers in the trailing arguments.
 */
#define PMEMDEV_FIO_OPT(nm, lnm, typ, field, hlp, ...)                                \
	{                                                                             \
		.name = (nm), .lname = (lnm), .type = (typ),                          \
		.off1 = offsetof(struct pmemdev_fio_opts, field), .help = (hlp),      \
		.category = FIO_OPT_C_ENGINE, .group = FIO_OPT_G_INVALID, __VA_ARGS__ \
	}

/* One value of a choice option: what the user writes, what we store, what it means. */
#define PMEMDEV_FIO_VAL(iv, ov, hlp)                      \
	{                                                 \
		.ival = (iv), .oval = (ov), .help = (hlp) \
	}

static struct fio_option pmemdev_fio_options[] = {
	PMEMDEV_FIO_OPT("region", "pmemdev region", FIO_OPT_STR_STORE, region,
			"Region file or /dev/dax device (default: the job's filename)"),
	PMEMDEV_FIO_OPT(
		"mode", "pmemdev descriptor mode", FIO_OPT_STR, mode,
		"How memory is described to the block layer", .def = "pfn",
		.posval =
			{
				PMEMDEV_FIO_VAL("pfn", DESC_PFN,
						"extents of pfns: 1 bvec per 2 MiB"),
				PMEMDEV_FIO_VAL("folio", DESC_FOLIO,
						"struct page memmap, 2 MiB folios"),
				PMEMDEV_FIO_VAL("page", DESC_PAGE,
						"struct page memmap, 1 bvec per 4 KiB"),
				PMEMDEV_FIO_VAL("ondemand", DESC_ONDEMAND,
						"64 B per 2 MiB, transient 4 KiB pages"),
				PMEMDEV_FIO_VAL("memdesc", DESC_MEMDESC,
						"8 B per 4 KiB + objects, 1 bvec per folio"),
			}),
	PMEMDEV_FIO_OPT("target", "pmemdev target", FIO_OPT_STR, target, "Where requests go",
			.def = "pmem",
			.posval =
				{
					PMEMDEV_FIO_VAL("pmem", PMEMDEV_TARGET_PMEM,
							"copy to/from the region"),
					PMEMDEV_FIO_VAL("null", PMEMDEV_TARGET_NULL,
							"complete without moving data"),
				}),
	PMEMDEV_FIO_OPT(
		"completion", "pmemdev completion", FIO_OPT_STR, completion, "How I/O completes",
		.def = "sync",
		.posval =
			{
				PMEMDEV_FIO_VAL("sync", PMEMDEV_FIO_SYNC, "complete in ->queue"),
				PMEMDEV_FIO_VAL("async", PMEMDEV_FIO_ASYNC,
						"device workers, reaped by getevents"),
			}),
	PMEMDEV_FIO_OPT("fua", "pmemdev FUA writes", FIO_OPT_BOOL, fua,
			"Every write is durable at completion (BIO_FUA)", .def = "0"),
	PMEMDEV_FIO_OPT("workers", "pmemdev worker threads", FIO_OPT_INT, workers,
			"Device worker threads (0: none for sync, 1 for async)", .def = "0",
			.minval = 0, .maxval = 64),
	PMEMDEV_FIO_OPT("blk_stats", "pmemdev block layer stats", FIO_OPT_BOOL, blk_stats,
			"Print bios, bvecs per bio and descriptor bytes at job end", .def = "0"),
	PMEMDEV_FIO_OPT("plug", "pmemdev plug bursts", FIO_OPT_BOOL, plug,
			"completion=async: hold the bios submitted between two reaps in a "
			"plug and queue them together when fio reaps",
			.def = "1"),
	PMEMDEV_FIO_OPT("poll_us", "pmemdev worker polling", FIO_OPT_INT, poll_us,
			"completion=async: device workers poll for requests this many us "
			"before they sleep (0: sleep at once)",
			.def = "0", .minval = 0, .maxval = 100000),
	PMEMDEV_FIO_OPT("run_when_idle", "pmemdev run when idle", FIO_OPT_BOOL, run_when_idle,
			"completion=async: a request that finds every worker asleep runs in "
			"the submitting thread",
			.def = "1"),
	PMEMDEV_FIO_OPT("lat_sample", "pmemdev latency sampling", FIO_OPT_INT, lat_sample,
			"Time one bio in N for the block layer's latency histogram (0: the "
			"driver's default, 64; 1: every bio)",
			.def = "0", .minval = 0, .maxval = 65536),
	{
		.name = NULL,
	},
};

/* Exported: fio looks the table up with dlsym(handle, "ioengine"). */
struct ioengine_ops ioengine = {
	.name = "pmemdev",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL,
	.setup = pmemdev_fio_setup,
	.init = pmemdev_fio_init,
	.cleanup = pmemdev_fio_cleanup,
	.queue = pmemdev_fio_queue,
	.getevents = pmemdev_fio_getevents,
	.event = pmemdev_fio_event,
	.open_file = pmemdev_fio_open_file,
	.close_file = pmemdev_fio_close_file,
	.iomem_alloc = pmemdev_fio_iomem_alloc,
	.iomem_free = pmemdev_fio_iomem_free,
	.io_u_init = pmemdev_fio_io_u_init,
	.io_u_free = pmemdev_fio_io_u_free,
	.options = pmemdev_fio_options,
	.option_struct_size = sizeof(struct pmemdev_fio_opts),
};
