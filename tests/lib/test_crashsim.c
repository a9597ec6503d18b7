/* SPDX-License-Identifier: MIT */
/*
 * test_crashsim - the crash simulator on a real region in /dev/shm:
 * unflushed stores never reach the durable image, flushed but undrained
 * lines appear only in some crash images, drained lines always survive,
 * seeds reproduce, the hook sees each persist point before its drain, an
 * image opens as a region, and PMD_CRASHSIM / PMD_CRASHSIM_CUT work on an
 * unmodified program (a forked child), with bad values refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashsim.h"
#include "errmsg.h"
#include "region.h"
#include "test.h"

#define SIZE (UINT64_C(4) << 20)
#define L CRASHSIM_LINE_SIZE

static char path[256], img[256];

static void cleanup(void)
{
	unlink(path);
	unlink(img);
}

static uint8_t *image(struct crashsim *cs, enum crashsim_policy p, uint64_t seed,
		      struct crashsim_image_info *info)
{
	uint8_t *buf = malloc(SIZE);

	CHECK(buf);
	CHECK_OK(crashsim_image_buf(cs, p, seed, buf, info));
	return buf;
}

/* line_is - every byte of line @l in @buf equals @c */
static bool line_is(const uint8_t *buf, uint64_t l, uint8_t c)
{
	for (unsigned k = 0; k < L; k++)
		if (buf[l * L + k] != c)
			return false;
	return true;
}

static void test_modes(void)
{
	struct pmr_region *r;

	unsetenv("PMD_CRASHSIM");
	CHECK_OK(pmr_create(path, SIZE, 0, &r));
	CHECK(pmr_crashsim(r) == NULL); /* off unless asked */
	pmr_close(&r);
	CHECK_OK(pmr_open(path, PMR_F_CRASHSIM | PMR_F_RDONLY, &r));
	CHECK(pmr_crashsim(r) == NULL); /* read-only: nothing to simulate */
	pmr_close(&r);
	setenv("PMD_CRASHSIM", "0", 1);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(pmr_crashsim(r) == NULL);
	pmr_close(&r);
	setenv("PMD_CRASHSIM", "1", 1);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(pmr_crashsim(r) != NULL);
	CHECK_EQ(crashsim_size(pmr_crashsim(r)), SIZE);
	pmr_close(&r);
	unsetenv("PMD_CRASHSIM");
	unlink(path);
}

static void test_store_flush_drain(void)
{
	struct crashsim_image_info info;
	struct pmr_region *r;
	struct crashsim *cs;
	uint8_t *base, *none, *fl, *all;
	const uint8_t *dur;

	CHECK_OK(pmr_create(path, SIZE, PMR_F_CRASHSIM, &r));
	cs = pmr_crashsim(r);
	CHECK(cs);
	base = pmr_addr(r);
	dur = crashsim_durable(cs);

	/* a plain store: only the working mapping has it */
	memset(base + 10 * L, 0xaa, L);
	CHECK(line_is(dur, 10, 0));
	none = image(cs, CRASHSIM_KEEP_NONE, 0, &info);
	CHECK_EQ(info.unpersisted_lines, 1);
	CHECK_EQ(info.kept_lines, 0);
	CHECK(line_is(none, 10, 0));
	fl = image(cs, CRASHSIM_KEEP_FLUSHED, 0, NULL);
	CHECK(line_is(fl, 10, 0));
	all = image(cs, CRASHSIM_KEEP_ALL, 0, &info);
	CHECK_EQ(info.kept_lines, 1);
	CHECK(line_is(all, 10, 0xaa));
	free(none), free(fl), free(all);

	/* a drain without a flush does not persist it */
	pmr_drain(r);
	CHECK_EQ(crashsim_persist_points(cs), 1);
	CHECK(line_is(dur, 10, 0));

	/* flushed, not drained: only in some images; later store not flushed */
	pmr_flush(r, base + 10 * L + 5, 1);
	CHECK_EQ(crashsim_pending_lines(cs), 1);
	memset(base + 10 * L, 0xbb, L);
	none = image(cs, CRASHSIM_KEEP_NONE, 0, NULL);
	fl = image(cs, CRASHSIM_KEEP_FLUSHED, 0, NULL);
	all = image(cs, CRASHSIM_KEEP_ALL, 0, NULL);
	CHECK(line_is(none, 10, 0));
	CHECK(line_is(fl, 10, 0xaa)); /* the value at flush time */
	CHECK(line_is(all, 10, 0xbb));
	free(none), free(fl), free(all);
	{
		bool seen[3] = {false, false, false};

		for (uint64_t seed = 0; seed < 64; seed++) {
			uint8_t *rnd = image(cs, CRASHSIM_KEEP_RANDOM, seed, NULL);

			seen[0] |= line_is(rnd, 10, 0);
			seen[1] |= line_is(rnd, 10, 0xaa);
			seen[2] |= line_is(rnd, 10, 0xbb);
			CHECK(line_is(rnd, 10, 0) || line_is(rnd, 10, 0xaa) ||
			      line_is(rnd, 10, 0xbb));
			free(rnd);
		}
		CHECK(seen[0] && seen[1] && seen[2]);
	}

	/* the drain persists what was flushed, not the later store */
	pmr_drain(r);
	CHECK_EQ(crashsim_persist_points(cs), 2);
	CHECK_EQ(crashsim_pending_lines(cs), 0);
	CHECK(line_is(dur, 10, 0xaa));
	none = image(cs, CRASHSIM_KEEP_NONE, 0, NULL);
	CHECK(line_is(none, 10, 0xaa));
	free(none);

	/* persist: durable at once; a range spanning lines flushes all of them */
	pmr_persist(r, base + 10 * L + 1, 2 * L);
	CHECK_EQ(crashsim_persist_points(cs), 3);
	CHECK(line_is(dur, 10, 0xbb));
	CHECK(line_is(dur, 11, 0) && line_is(dur, 12, 0));

	/* memcpy/memset flags */
	{
		uint8_t src[2 * L];

		memset(src, 0xcc, sizeof(src));
		pmr_memcpy(r, base + 20 * L, src, sizeof(src), 0);
		CHECK(line_is(dur, 20, 0xcc) && line_is(dur, 21, 0xcc));
		CHECK_EQ(crashsim_persist_points(cs), 4);
		pmr_memcpy(r, base + 22 * L, src, L, PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
		CHECK(line_is(dur, 22, 0));
		CHECK_EQ(crashsim_pending_lines(cs), 1);
		pmr_memset(r, base + 23 * L, 0xdd, L, PMR_MEM_NOFLUSH);
		CHECK_EQ(crashsim_pending_lines(cs), 1);
		CHECK_EQ(crashsim_persist_points(cs), 4);
		pmr_memset(r, base + 24 * L, 0xee, L, 0);
		CHECK_EQ(crashsim_persist_points(cs), 5);
		CHECK(line_is(dur, 22, 0xcc)); /* drained with the memset's drain */
		CHECK(line_is(dur, 23, 0));    /* NOFLUSH: never flushed */
		CHECK(line_is(dur, 24, 0xee));
	}
	pmr_close(&r);
	unlink(path);
}

/* A random image keeps a subset: seeds reproduce, and differ from each other. */
static void test_seeds(void)
{
	struct crashsim_image_info i1, i2, i3;
	struct pmr_region *r;
	struct crashsim *cs;
	uint8_t *base, *a, *b, *c;

	CHECK_OK(pmr_create(path, SIZE, PMR_F_CRASHSIM, &r));
	cs = pmr_crashsim(r);
	base = pmr_addr(r);
	for (unsigned l = 0; l < 64; l++) {
		memset(base + (100 + 2 * l) * L, (int)(l + 1), L);
		if (l % 2)
			pmr_flush(r, base + (100 + 2 * l) * L, L);
	}
	a = image(cs, CRASHSIM_KEEP_RANDOM, 42, &i1);
	b = image(cs, CRASHSIM_KEEP_RANDOM, 42, &i2);
	c = image(cs, CRASHSIM_KEEP_RANDOM, 43, &i3);
	CHECK(memcmp(a, b, SIZE) == 0);
	CHECK(memcmp(a, c, SIZE) != 0);
	CHECK_EQ(i1.unpersisted_lines, 64);
	CHECK(i1.kept_lines > 0 && i1.kept_lines < 64);
	CHECK_EQ(i1.kept_lines, i2.kept_lines);
	/* each line is either durable (zero) or its stored value, never torn */
	for (unsigned l = 0; l < 64; l++)
		CHECK(line_is(a, 100 + 2 * l, 0) || line_is(a, 100 + 2 * l, (uint8_t)(l + 1)));
	/* nothing outside the touched lines differs from the durable image */
	for (uint64_t l = 0; l < SIZE / L; l++)
		if (l < 100 || l >= 228 || l % 2)
			CHECK(line_is(a, l, 0));
	free(a), free(b), free(c);
	pmr_close(&r);
	unlink(path);
}

struct hook_log {
	uint64_t calls, last_point;
	bool durable_before; /* the line was not yet durable inside the hook */
	uint64_t line;
};

static void hook(void *ctx, struct crashsim *cs, uint64_t point)
{
	struct hook_log *h = ctx;
	const uint8_t *dur = crashsim_durable(cs);

	h->calls++;
	h->last_point = point;
	h->durable_before = line_is(dur, h->line, 0);
	CHECK_EQ(crashsim_pending_lines(cs), 1);
}

/* The hook runs at each persist point before its drain; an image opens as a region. */
static void test_hook_and_file(void)
{
	struct hook_log h = {.line = 7};
	struct pmr_region *r, *r2;
	struct crashsim *cs;
	uint8_t *base, *buf;
	struct stat st;
	int err;

	CHECK_OK(pmr_create(path, SIZE, PMR_F_CRASHSIM, &r));
	cs = pmr_crashsim(r);
	base = pmr_addr(r);
	crashsim_set_hook(cs, hook, &h);
	memset(base + 7 * L, 0x5a, L);
	pmr_persist(r, base + 7 * L, L);
	CHECK_EQ(h.calls, 1);
	CHECK_EQ(h.last_point, 1);
	CHECK(h.durable_before);
	CHECK(line_is(crashsim_durable(cs), 7, 0x5a));
	crashsim_set_hook(cs, NULL, NULL);
	pmr_drain(r);
	CHECK_EQ(h.calls, 1);

	memset(base + 8 * L, 0x11, L); /* unflushed */
	CHECK_OK(crashsim_image(cs, CRASHSIM_KEEP_NONE, 0, img, NULL));
	CHECK_OK(stat(img, &st));
	CHECK_EQ(st.st_size, SIZE);
	/* an existing file is refused and left alone */
	err = crashsim_image(cs, CRASHSIM_KEEP_ALL, 0, img, NULL);
	CHECK_EQ(err, -EEXIST);
	CHECK(strstr(pmd_errmsg(), img));
	CHECK_OK(pmr_open(img, PMR_F_RDONLY, &r2));
	buf = pmr_addr(r2);
	CHECK(line_is(buf, 7, 0x5a));
	CHECK(line_is(buf, 8, 0));
	pmr_close(&r2);
	unlink(img);
	pmr_close(&r);

	/* reopening in test mode: the durable image starts as the file's contents */
	CHECK_OK(pmr_open(path, PMR_F_CRASHSIM, &r));
	CHECK(line_is(crashsim_durable(pmr_crashsim(r)), 8, 0x11));
	pmr_close(&r);
	unlink(path);
}

static void test_policy_names(void)
{
	enum crashsim_policy p;
	uint64_t seed;

	CHECK_OK(crashsim_parse_policy("flushed", &p, &seed));
	CHECK_EQ(p, CRASHSIM_KEEP_FLUSHED);
	CHECK_OK(crashsim_parse_policy("random:17", &p, &seed));
	CHECK_EQ(p, CRASHSIM_KEEP_RANDOM);
	CHECK_EQ(seed, 17);
	CHECK(!strcmp(crashsim_policy_name(CRASHSIM_KEEP_ALL), "all"));
	CHECK_EQ(crashsim_parse_policy("some", &p, &seed), -EINVAL);
	CHECK(strstr(pmd_errmsg(), "\"some\""));
	CHECK_EQ(crashsim_parse_policy("random:x", &p, &seed), -EINVAL);
	CHECK_EQ(crashsim_parse_policy("random:", &p, &seed), -EINVAL);
}

/* PMD_CRASHSIM_CUT: an unmodified program is cut at persist point 3. */
static void test_env_cut(void)
{
	struct pmr_region *r;
	uint8_t *buf;
	pid_t pid;
	int status, err;

	CHECK_OK(pmr_create(path, SIZE, 0, &r));
	pmr_close(&r);

	/* bad values are refused at open, naming the variable */
	setenv("PMD_CRASHSIM", "1", 1);
	setenv("PMD_CRASHSIM_CUT", "zero", 1);
	err = pmr_open(path, 0, &r);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(pmd_errmsg(), "PMD_CRASHSIM_CUT"));
	setenv("PMD_CRASHSIM_CUT", "3", 1);
	err = pmr_open(path, 0, &r);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(pmd_errmsg(), "PMD_CRASHSIM_IMAGE"));
	setenv("PMD_CRASHSIM_IMAGE", img, 1);
	setenv("PMD_CRASHSIM_POLICY", "sometimes", 1);
	err = pmr_open(path, 0, &r);
	CHECK_EQ(err, -EINVAL);
	CHECK(strstr(pmd_errmsg(), "sometimes"));
	setenv("PMD_CRASHSIM_POLICY", "none", 1);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		uint8_t *base;

		if (pmr_open(path, 0, &r))
			_exit(2);
		base = pmr_addr(r);
		for (int k = 1; k <= 5; k++) {
			memset(base + (uint64_t)k * L, k, L);
			pmr_persist(r, base + (uint64_t)k * L, L);
		}
		_exit(0); /* not reached: cut at point 3 */
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), CRASHSIM_CUT_EXIT);
	unsetenv("PMD_CRASHSIM");
	unsetenv("PMD_CRASHSIM_CUT");
	unsetenv("PMD_CRASHSIM_IMAGE");
	unsetenv("PMD_CRASHSIM_POLICY");

	CHECK_OK(pmr_open(img, PMR_F_RDONLY, &r));
	buf = pmr_addr(r);
	CHECK(line_is(buf, 1, 1) && line_is(buf, 2, 2));
	CHECK(line_is(buf, 3, 0)); /* cut before the third drain completed */
	CHECK(line_is(buf, 4, 0) && line_is(buf, 5, 0));
	pmr_close(&r);
	/* the working file got the third store (the process died after it) */
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	buf = pmr_addr(r);
	CHECK(line_is(buf, 3, 3) && line_is(buf, 4, 0));
	pmr_close(&r);
	unlink(img);
	unlink(path);
}

int main(void)
{
	test_path(path, sizeof(path), "crashsim");
	test_path(img, sizeof(img), "crashsim-img");
	unlink(path);
	unlink(img);
	atexit(cleanup);
	unsetenv("PMD_CRASHSIM_CUT");

	test_modes();
	test_store_flush_drain();
	test_seeds();
	test_hook_and_file();
	test_policy_names();
	test_env_cut();
	return 0;
}
