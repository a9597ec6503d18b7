/* SPDX-License-Identifier: MIT */
/*
 * crashsim.h - a power-cut simulator for a region, for crash-consistency tests.
 *
 * In test mode (a region opened or created with PMR_F_CRASHSIM, or with the
 * environment variable PMD_CRASHSIM=1) the region keeps, beside its working
 * mapping, a durable image: what the media would hold after a power cut if
 * no store had reached it by chance. The pmr_* persistence wrappers route
 * through the simulator:
 *
 *   pmr_flush(addr, len)   records the 64-byte lines of [addr, addr + len)
 *                          with their contents at the time of the flush
 *                          ("flushed", like clwb: the line is on its way);
 *   pmr_drain()            is a persist point: every line flushed since the
 *                          last drain is copied into the durable image
 *                          (like sfence completing the write-backs);
 *   pmr_persist            = flush + drain;
 *   pmr_memcpy/pmr_memset  plain stores, then flush (unless NOFLUSH) and
 *                          drain (unless NODRAIN or NOFLUSH); non-temporal
 *                          stores count as flushed, not as persisted.
 *
 * Plain stores into the mapping are never copied into the durable image.
 * Persist points are numbered from 1 in the order of the drains.
 *
 * A power cut is modelled by building a crash image (crashsim_image): the
 * durable image plus a choice, line by line, among the values a line could
 * have reached the media with: its durable value, its flushed-but-not-drained
 * value, or its current working value (a cache line may be evicted at any
 * time). Lines are the unit: a line is never torn. The choice is made by a
 * policy (none, flushed, all, or a seeded random subset), so a test can
 * enumerate "nothing unpersisted survived", "every pending write-back
 * completed", "everything survived" and reproducible mixtures.
 *
 * A hook (crashsim_set_hook) runs at each persist point before the drain
 * takes effect, so a test can build crash images at every point without
 * re-running its workload. The drain is global (a fence completes every
 * thread's flushes): the simulator is meant for tests whose persistence
 * ordering is decided under locks or by one thread.
 *
 * Memory: the durable image (region size) plus 4 bytes per line (1/16 of
 * the region) plus 72 bytes per pending line. Meant for small test regions.
 * When test mode is off the region pays one predictable branch per wrapper.
 *
 * Error convention: actions return 0 or -errno (with pmd_err() messages);
 * nothing here relies on errno.
 */
#ifndef PMD_CRASHSIM_H
#define PMD_CRASHSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crashsim;

/* Bytes per simulated line (a CPU cache line). */
#define CRASHSIM_LINE_SIZE 64U

/* Which unpersisted lines a crash image keeps. */
enum crashsim_policy {
	CRASHSIM_KEEP_NONE,    /* only the durable image */
	CRASHSIM_KEEP_FLUSHED, /* + every flushed line, as flushed (the drain completed) */
	CRASHSIM_KEEP_ALL,     /* every line as it is now in the working mapping */
	CRASHSIM_KEEP_RANDOM,  /* each differing line: a random one of its possible values */
};

/* Exit status of a program cut by PMD_CRASHSIM_CUT (see crashsim_new). */
#define CRASHSIM_CUT_EXIT 98

/*
 * crashsim_hook_fn - called at persist point @point (1-based) by the thread
 * that drains, before the drain copies anything: crash images built now show
 * a cut just before that drain completed. Called without the simulator's
 * lock: the hook may call any crashsim_* function (but not pmr_drain on the
 * same region). Must not unmap the region.
 */
typedef void (*crashsim_hook_fn)(void *ctx, struct crashsim *cs, uint64_t point);

/*
 * crashsim_new - start simulating the mapping [@addr, @addr + @size_bytes):
 * the durable image starts as a copy of its current contents. @size_bytes
 * must be a multiple of CRASHSIM_LINE_SIZE and @addr line aligned.
 * Used by lib/region.c; tests reach the simulator with pmr_crashsim().
 *
 * Environment (read here, so unmodified programs can be cut):
 *   PMD_CRASHSIM_CUT=N      at persist point N write a crash image and
 *                           _exit(CRASHSIM_CUT_EXIT);
 *   PMD_CRASHSIM_IMAGE=path where to write it (required with CUT; created,
 *                           must not exist);
 *   PMD_CRASHSIM_POLICY=none|flushed|all|random[:seed] (default none).
 * Returns 0, -ENOMEM, or -EINVAL (misaligned, bad environment value).
 */
int crashsim_new(void *addr, uint64_t size_bytes, struct crashsim **out);

/* crashsim_delete - free the simulator (the mapping is untouched); *@csp = NULL. */
void crashsim_delete(struct crashsim **csp);

/* crashsim_flush - record the lines of [@addr, @addr + @len) as flushed, with
 * their present contents. Lines outside the mapping are ignored. Thread-safe. */
void crashsim_flush(struct crashsim *cs, const void *addr, size_t len);

/* crashsim_drain - a persist point: run the hook, then copy every flushed line
 * into the durable image. Thread-safe. */
void crashsim_drain(struct crashsim *cs);

/* crashsim_persist_points - drains so far (the number of the last persist point). */
uint64_t crashsim_persist_points(const struct crashsim *cs);

/* crashsim_pending_lines - lines flushed since the last drain. */
uint64_t crashsim_pending_lines(const struct crashsim *cs);

/* crashsim_set_hook - call @fn(@ctx, ...) at every persist point (NULL: none). */
void crashsim_set_hook(struct crashsim *cs, crashsim_hook_fn fn, void *ctx);

/* crashsim_size - bytes simulated (the region size). */
uint64_t crashsim_size(const struct crashsim *cs);

/* crashsim_durable - the durable image, read-only, crashsim_size() bytes. */
const void *crashsim_durable(const struct crashsim *cs);

struct crashsim_image_info {
	uint64_t unpersisted_lines; /* lines whose working or flushed value is not durable */
	uint64_t kept_lines;	    /* of those, lines whose image value is not the durable one */
};

/*
 * crashsim_image_buf - build the crash image for a power cut now into @buf
 * (crashsim_size() bytes) under @policy; @seed drives KEEP_RANDOM (the same
 * seed and the same state give the same image; ignored by other policies).
 * Fills *@info if not NULL. Returns 0 or -EINVAL (unknown policy).
 * Thread-safe; stores other threads make meanwhile may or may not be seen.
 */
int crashsim_image_buf(struct crashsim *cs, enum crashsim_policy policy, uint64_t seed, void *buf,
		       struct crashsim_image_info *info);

/*
 * crashsim_image - like crashsim_image_buf, written to a new file @path
 * (O_EXCL, mode 0600) that pmr_open() accepts as a region. Returns 0 or
 * -errno with a message (-EEXIST, -ENOSPC, -ENOMEM...); on failure no file
 * is left behind.
 */
int crashsim_image(struct crashsim *cs, enum crashsim_policy policy, uint64_t seed,
		   const char *path, struct crashsim_image_info *info);

/* crashsim_policy_name - "none", "flushed", "all", "random". */
const char *crashsim_policy_name(enum crashsim_policy policy);

/*
 * crashsim_parse_policy - "none", "flushed", "all", "random" or
 * "random:SEED" into *@policy and *@seed (0 unless given). Returns 0 or
 * -EINVAL with a message naming @s.
 */
int crashsim_parse_policy(const char *s, enum crashsim_policy *policy, uint64_t *seed);

/* crashsim_env_enabled - true if PMD_CRASHSIM is set to a value other than "0" or "". */
bool crashsim_env_enabled(void);

#endif
