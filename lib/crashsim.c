/* SPDX-License-Identifier: MIT */
/*
 * crashsim.c - durable image, flushed lines and crash images (see crashsim.h).
 *
 * State: the durable image (a copy of the region), an array of pending
 * lines {line number, contents at flush time} and, per line, the index of
 * its pending entry or -1, so a line flushed twice before a drain keeps one
 * entry with its latest flushed contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crashsim.h"
#include "errmsg.h"

struct cs_pending {
	uint64_t line; /* line number from the start of the mapping */
	uint8_t data[CRASHSIM_LINE_SIZE];
};

struct crashsim {
	uint8_t *addr; /* working mapping */
	uint64_t size; /* bytes */
	uint64_t nlines;
	uint8_t *durable;
	uint32_t *slot; /* per line: 1 + index into pending, or 0 */
	struct cs_pending *pending;
	size_t npending, pending_cap;
	uint64_t points; /* drains so far */
	crashsim_hook_fn hook;
	void *hook_ctx;
	pthread_mutex_t lock;

	/* PMD_CRASHSIM_CUT */
	uint64_t cut_point; /* 0: none */
	char *cut_path;
	enum crashsim_policy cut_policy;
	uint64_t cut_seed;
};

/* Bytes of the pieces images are copied and written in; zero pieces stay holes. */
#define CS_PIECE 4096U

static bool all_zero(const uint8_t *p, size_t len)
{
	return p[0] == 0 && !memcmp(p, p + 1, len - 1);
}

static const char *const cs_policy_names[] = {
	[CRASHSIM_KEEP_NONE] = "none",
	[CRASHSIM_KEEP_FLUSHED] = "flushed",
	[CRASHSIM_KEEP_ALL] = "all",
	[CRASHSIM_KEEP_RANDOM] = "random",
};

const char *crashsim_policy_name(enum crashsim_policy policy)
{
	if ((unsigned)policy >= sizeof(cs_policy_names) / sizeof(cs_policy_names[0]))
		return "unknown";
	return cs_policy_names[policy];
}

int crashsim_parse_policy(const char *s, enum crashsim_policy *policy, uint64_t *seed)
{
	char *end;

	*seed = 0;
	for (unsigned p = 0; p < sizeof(cs_policy_names) / sizeof(cs_policy_names[0]); p++) {
		if (!strcmp(s, cs_policy_names[p])) {
			*policy = (enum crashsim_policy)p;
			return 0;
		}
	}
	if (!strncmp(s, "random:", 7) && s[7]) {
		errno = 0;
		*seed = strtoull(s + 7, &end, 0);
		if (!*end && !errno) {
			*policy = CRASHSIM_KEEP_RANDOM;
			return 0;
		}
	}
	return pmd_err(-EINVAL,
		       "crash policy \"%s\" is not none, flushed, all, random or random:SEED", s);
}

bool crashsim_env_enabled(void)
{
	const char *v = getenv("PMD_CRASHSIM");

	return v && *v && strcmp(v, "0");
}

/* cs_env_cut - read PMD_CRASHSIM_CUT/IMAGE/POLICY into @cs. */
static int cs_env_cut(struct crashsim *cs)
{
	const char *cut = getenv("PMD_CRASHSIM_CUT");
	const char *path = getenv("PMD_CRASHSIM_IMAGE");
	const char *pol = getenv("PMD_CRASHSIM_POLICY");
	char *end;

	if (!cut || !*cut)
		return 0;
	errno = 0;
	cs->cut_point = strtoull(cut, &end, 0);
	if (*end || errno || !cs->cut_point)
		return pmd_err(-EINVAL, "PMD_CRASHSIM_CUT=%s is not a persist point (1, 2, ...)",
			       cut);
	if (!path || !*path)
		return pmd_err(-EINVAL, "PMD_CRASHSIM_CUT is set but PMD_CRASHSIM_IMAGE is not");
	if (pol && *pol) {
		int err = crashsim_parse_policy(pol, &cs->cut_policy, &cs->cut_seed);

		if (err)
			return err;
	}
	cs->cut_path = strdup(path);
	return cs->cut_path ? 0 : -ENOMEM;
}

int crashsim_new(void *addr, uint64_t size_bytes, struct crashsim **out)
{
	struct crashsim *cs;
	int err;

	if (((uintptr_t)addr | size_bytes) % CRASHSIM_LINE_SIZE || !size_bytes)
		return pmd_err(-EINVAL, "crash simulator: mapping %p + %llu is not line aligned",
			       addr, (unsigned long long)size_bytes);
	if (size_bytes / CRASHSIM_LINE_SIZE >= UINT32_MAX)
		return pmd_err(-EINVAL, "crash simulator: region of %llu bytes is too big",
			       (unsigned long long)size_bytes);
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->addr = addr;
	cs->size = size_bytes;
	cs->nlines = size_bytes / CRASHSIM_LINE_SIZE;
	err = cs_env_cut(cs);
	if (err)
		goto out_free;
	err = -ENOMEM;
	/* huge pages if the system gives them: 1 fault per 2 MiB, not 512 */
	cs->durable =
		mmap(NULL, size_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cs->durable == MAP_FAILED) {
		cs->durable = NULL;
		goto out_free;
	}
	madvise(cs->durable, size_bytes, MADV_HUGEPAGE); /* a hint */
	cs->slot = calloc(cs->nlines, sizeof(*cs->slot));
	if (!cs->slot)
		goto out_free;
	/* the anonymous image is zero already: copy the nonzero pieces only */
	for (uint64_t off = 0; off < size_bytes; off += CS_PIECE) {
		size_t len = size_bytes - off < CS_PIECE ? (size_t)(size_bytes - off) : CS_PIECE;

		if (!all_zero(cs->addr + off, len))
			memcpy(cs->durable + off, cs->addr + off, len);
	}
	pthread_mutex_init(&cs->lock, NULL);
	*out = cs;
	return 0;

out_free:
	if (err == -ENOMEM)
		err = pmd_err(-ENOMEM, "crash simulator: no memory for a %llu-byte durable image",
			      (unsigned long long)size_bytes);
	free(cs->slot);
	if (cs->durable)
		munmap(cs->durable, size_bytes);
	free(cs->cut_path);
	free(cs);
	return err;
}

void crashsim_delete(struct crashsim **csp)
{
	struct crashsim *cs = csp ? *csp : NULL;

	if (!cs)
		return;
	pthread_mutex_destroy(&cs->lock);
	free(cs->pending);
	free(cs->slot);
	munmap(cs->durable, cs->size);
	free(cs->cut_path);
	free(cs);
	*csp = NULL;
}

void crashsim_flush(struct crashsim *cs, const void *addr, size_t len)
{
	uintptr_t base = (uintptr_t)cs->addr, a = (uintptr_t)addr;
	uint64_t first, last;

	if (!len || a < base || a - base >= cs->size)
		return;
	first = (a - base) / CRASHSIM_LINE_SIZE;
	last = (a - base + len - 1) / CRASHSIM_LINE_SIZE;
	if (last >= cs->nlines)
		last = cs->nlines - 1;

	pthread_mutex_lock(&cs->lock);
	for (uint64_t l = first; l <= last; l++) {
		struct cs_pending *p;

		if (cs->slot[l]) {
			p = &cs->pending[cs->slot[l] - 1];
		} else {
			if (cs->npending == cs->pending_cap) {
				size_t cap = cs->pending_cap ? cs->pending_cap * 2 : 256;
				struct cs_pending *n = realloc(cs->pending, cap * sizeof(*n));

				if (!n)
					abort(); /* test-only memory: no sane way to go on */
				cs->pending = n;
				cs->pending_cap = cap;
			}
			cs->slot[l] = (uint32_t)cs->npending + 1;
			p = &cs->pending[cs->npending++];
			p->line = l;
		}
		memcpy(p->data, cs->addr + l * CRASHSIM_LINE_SIZE, CRASHSIM_LINE_SIZE);
	}
	pthread_mutex_unlock(&cs->lock);
}

/* cs_cut - PMD_CRASHSIM_CUT reached: write the image and leave at once. */
static void cs_cut(struct crashsim *cs)
{
	int err = crashsim_image(cs, cs->cut_policy, cs->cut_seed, cs->cut_path, NULL);

	if (err) {
		fprintf(stderr, "crash simulator: %s\n", pmd_strerror(err));
		_exit(1);
	}
	_exit(CRASHSIM_CUT_EXIT);
}

void crashsim_drain(struct crashsim *cs)
{
	crashsim_hook_fn hook;
	uint64_t point;
	void *ctx;

	pthread_mutex_lock(&cs->lock);
	point = ++cs->points;
	hook = cs->hook;
	ctx = cs->hook_ctx;
	pthread_mutex_unlock(&cs->lock);

	if (point == cs->cut_point)
		cs_cut(cs);
	if (hook)
		hook(ctx, cs, point);

	pthread_mutex_lock(&cs->lock);
	for (size_t n = 0; n < cs->npending; n++) {
		struct cs_pending *p = &cs->pending[n];

		memcpy(cs->durable + p->line * CRASHSIM_LINE_SIZE, p->data, CRASHSIM_LINE_SIZE);
		cs->slot[p->line] = 0;
	}
	cs->npending = 0;
	pthread_mutex_unlock(&cs->lock);
}

uint64_t crashsim_persist_points(const struct crashsim *cs)
{
	return __atomic_load_n(&cs->points, __ATOMIC_RELAXED);
}

uint64_t crashsim_pending_lines(const struct crashsim *cs)
{
	return __atomic_load_n(&cs->npending, __ATOMIC_RELAXED);
}

void crashsim_set_hook(struct crashsim *cs, crashsim_hook_fn fn, void *ctx)
{
	pthread_mutex_lock(&cs->lock);
	cs->hook = fn;
	cs->hook_ctx = ctx;
	pthread_mutex_unlock(&cs->lock);
}

uint64_t crashsim_size(const struct crashsim *cs)
{
	return cs->size;
}

const void *crashsim_durable(const struct crashsim *cs)
{
	return cs->durable;
}

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t cs_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * cs_pick - the value line @l gets in a crash image under @policy (NULL: its
 * durable value); counts unpersisted and kept lines. Called with the lock.
 */
static const uint8_t *cs_pick(struct crashsim *cs, uint64_t l, enum crashsim_policy policy,
			      uint64_t *rng, struct crashsim_image_info *info)
{
	uint64_t off = l * CRASHSIM_LINE_SIZE;
	const uint8_t *d = cs->durable + off, *w = cs->addr + off;
	const uint8_t *f = cs->slot[l] ? cs->pending[cs->slot[l] - 1].data : NULL;
	const uint8_t *choice[3];
	const uint8_t *pick = d;
	unsigned n = 0;
	bool wdiff = memcmp(w, d, CRASHSIM_LINE_SIZE) != 0;
	bool fdiff = f && memcmp(f, d, CRASHSIM_LINE_SIZE) != 0;

	if (!wdiff && !fdiff)
		return NULL;
	info->unpersisted_lines++;
	switch (policy) {
	case CRASHSIM_KEEP_NONE:
		break;
	case CRASHSIM_KEEP_FLUSHED:
		if (f)
			pick = f;
		break;
	case CRASHSIM_KEEP_ALL:
		pick = w;
		break;
	case CRASHSIM_KEEP_RANDOM:
		choice[n++] = d;
		if (fdiff)
			choice[n++] = f;
		if (wdiff && (!f || memcmp(w, f, CRASHSIM_LINE_SIZE)))
			choice[n++] = w;
		pick = choice[cs_rand(rng) % n];
		break;
	}
	if (pick == d || !memcmp(pick, d, CRASHSIM_LINE_SIZE))
		return NULL;
	info->kept_lines++;
	return pick;
}

/* cs_build - the image of bytes [@off, @off + @len) (whole lines) into @out */
static void cs_build(struct crashsim *cs, uint64_t off, uint64_t len, enum crashsim_policy policy,
		     uint64_t *rng, uint8_t *out, struct crashsim_image_info *info)
{
	memcpy(out, cs->durable + off, len);
	for (uint64_t l = off / CRASHSIM_LINE_SIZE; l < (off + len) / CRASHSIM_LINE_SIZE; l++) {
		const uint8_t *p = cs_pick(cs, l, policy, rng, info);

		if (p)
			memcpy(out + (l * CRASHSIM_LINE_SIZE - off), p, CRASHSIM_LINE_SIZE);
	}
}

int crashsim_image_buf(struct crashsim *cs, enum crashsim_policy policy, uint64_t seed, void *buf,
		       struct crashsim_image_info *info)
{
	struct crashsim_image_info i = {0, 0};
	uint64_t rng = seed;

	if ((unsigned)policy > CRASHSIM_KEEP_RANDOM)
		return pmd_err(-EINVAL, "crash simulator: unknown policy %d", (int)policy);
	pthread_mutex_lock(&cs->lock);
	cs_build(cs, 0, cs->size, policy, &rng, buf, &i);
	pthread_mutex_unlock(&cs->lock);
	if (info)
		*info = i;
	return 0;
}

/*
 * The file is built piece by piece (no region-sized buffer) and sparse:
 * a region is mostly zeros, and tests build many images.
 */
int crashsim_image(struct crashsim *cs, enum crashsim_policy policy, uint64_t seed,
		   const char *path, struct crashsim_image_info *info)
{
	struct crashsim_image_info i = {0, 0};
	_Alignas(64) uint8_t piece[CS_PIECE];
	uint64_t rng = seed;
	int fd, err = 0;

	if ((unsigned)policy > CRASHSIM_KEEP_RANDOM)
		return pmd_err(-EINVAL, "crash simulator: unknown policy %d", (int)policy);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		return pmd_err(err, "cannot create crash image %s: %s", path, strerror(-err));
	}
	if (ftruncate(fd, (off_t)cs->size)) {
		err = -errno;
		err = pmd_err(err, "cannot size crash image %s: %s", path, strerror(-err));
		goto out_unlink;
	}
	pthread_mutex_lock(&cs->lock);
	for (uint64_t off = 0; off < cs->size && !err; off += CS_PIECE) {
		size_t len = cs->size - off < CS_PIECE ? (size_t)(cs->size - off) : CS_PIECE;
		size_t done = 0;

		cs_build(cs, off, len, policy, &rng, piece, &i);
		if (all_zero(piece, len))
			continue;
		while (done < len) {
			ssize_t n = pwrite(fd, piece + done, len - done, (off_t)(off + done));

			if (n <= 0) {
				err = n < 0 ? -errno : -EIO;
				err = pmd_err(err, "cannot write crash image %s: %s", path,
					      strerror(-err));
				break;
			}
			done += (size_t)n;
		}
	}
	pthread_mutex_unlock(&cs->lock);
	if (err)
		goto out_unlink;
	if (close(fd)) {
		err = -errno;
		err = pmd_err(err, "cannot write crash image %s: %s", path, strerror(-err));
		unlink(path);
		return err;
	}
	if (info)
		*info = i;
	return 0;

out_unlink:
	close(fd);
	unlink(path);
	return err;
}
