/* SPDX-License-Identifier: MIT */
/*
 * mapmodel - a seeded checker of one file's data through a MAP_SHARED
 * mapping and the system calls, against an in-memory model.
 *
 * Usage: mapmodel FILE SEED NOPS [--remap]
 *
 * FILE is created (truncated) and mapped MAP_SHARED read/write over
 * MAX_SIZE bytes. Then NOPS random operations, chosen from SEED alone:
 *   mread     compare a range of the mapping inside the file with the model
 *   mstore    store random bytes through the mapping (inside the file)
 *   read      pread(2) a range (possibly crossing end of file): bytes and
 *             the short count at end of file must match
 *   write     pwrite(2) random bytes, possibly growing the file
 *   truncate  ftruncate(2) to a random size (shrink or grow)
 *   fallocate allocate (growing or KEEP_SIZE), PUNCH_HOLE or ZERO_RANGE
 *   msync     msync(MS_SYNC) of the whole mapping, then the whole file
 *             read back with pread(2) must equal the model
 *   eof       touch the first page wholly past end of file: SIGBUS, as
 *             on a local filesystem
 * and at the end the whole file is compared through the mapping, read(2)
 * and fstat's size.
 *
 * --remap maps the file again after every operation that changes its size
 * or block layout: a DAX mapping of libdaxfs (under the preload shim) is
 * fixed at map time, while a kernel mapping follows the file by itself.
 *
 * MAPMODEL_TRACE set in the environment prints every operation on stderr.
 *
 * Exit status 0 when everything matched, 1 with the seed, the operation
 * number and what differed on stderr, 2 on bad usage. Prints a one-line
 * summary of the operations done.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIZE (UINT64_C(768) << 10) /* bytes mapped and the largest file */
#define MAX_IO (UINT64_C(96) << 10)    /* largest single access, bytes */

enum op { OP_MREAD, OP_MSTORE, OP_READ, OP_WRITE, OP_TRUNC, OP_FALLOC, OP_MSYNC, OP_EOF, OP_NR };

static const char *const op_name[OP_NR] = {"mread",    "mstore",    "read",  "write",
					   "truncate", "fallocate", "msync", "eof"};
/* Relative frequency of each operation. */
static const unsigned op_weight[OP_NR] = {20, 20, 15, 15, 6, 8, 4, 3};

struct checker {
	const char *path;
	uint64_t seed;
	long opno;
	int fd;
	bool remap;
	uint8_t *map;
	uint8_t *model; /* MAX_SIZE bytes; past size always zero */
	uint64_t size;	/* bytes */
	uint64_t rng;
	uint8_t *buf;
	long done[OP_NR];
	long page;
};

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;
static volatile long bus_opno; /* the operation running, for the message */

static void on_sigbus(int sig)
{
	char msg[96];
	int n;

	if (!bus_armed) {
		/* A fault inside the file: report which operation, then die of it. */
		n = snprintf(msg, sizeof(msg), "mapmodel: SIGBUS inside the file at op %ld\n",
			     (long)bus_opno);
		if (n > 0 && write(2, msg, (size_t)n) < 0)
			n = 0;
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	siglongjmp(bus_jmp, 1);
}

static uint64_t rnd(struct checker *c)
{
	/* xorshift64*: the whole run follows from the seed. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * UINT64_C(2685821657736338717);
}

/* A value in [0, n), n > 0. */
static uint64_t below(struct checker *c, uint64_t n)
{
	return rnd(c) % n;
}

/* An offset biased towards page boundaries and the end of file. */
static uint64_t pick_off(struct checker *c, uint64_t limit)
{
	uint64_t off;

	if (!limit)
		return 0;
	switch (below(c, 4)) {
	case 0:
		off = below(c, limit) & ~(uint64_t)(c->page - 1);
		break;
	case 1:
		off = c->size > 64 ? c->size - below(c, 64) : below(c, limit);
		break;
	default:
		off = below(c, limit);
	}
	return off < limit ? off : limit - 1;
}

static uint64_t pick_len(struct checker *c)
{
	switch (below(c, 3)) {
	case 0:
		return 1 + below(c, 64);
	case 1:
		return 1 + below(c, (uint64_t)c->page * 2);
	default:
		return 1 + below(c, MAX_IO);
	}
}

static void fill_random(struct checker *c, uint8_t *p, uint64_t len)
{
	uint64_t i, v = 0;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0)
			v = rnd(c);
		p[i] = (uint8_t)(v >> ((i & 7) * 8));
	}
}

static void die(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void die(struct checker *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mapmodel: seed %" PRIu64 " op %ld (size %" PRIu64 "): ", c->seed, c->opno,
		c->size);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Compare @got (@len bytes of the file at @off) with the model. */
static void compare(struct checker *c, const char *what, uint64_t off, const uint8_t *got,
		    uint64_t len)
{
	uint64_t i;

	if (!memcmp(got, c->model + off, len))
		return;
	for (i = 0; i < len && got[i] == c->model[off + i]; i++)
		;
	die(c, "%s at %" PRIu64 "+%" PRIu64 ": byte %" PRIu64 " is 0x%02x, model 0x%02x", what, off,
	    len, off + i, got[i], c->model[off + i]);
}

static void do_map(struct checker *c)
{
	if (c->map)
		munmap(c->map, MAX_SIZE);
	c->map = mmap(NULL, MAX_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->map == MAP_FAILED)
		die(c, "mmap MAP_SHARED of %s: %s", c->path, strerror(errno));
}

static void layout_changed(struct checker *c)
{
	if (c->remap)
		do_map(c);
}

static void set_size(struct checker *c, uint64_t size)
{
	if (size < c->size)
		memset(c->model + size, 0, c->size - size);
	c->size = size;
}

/* A range inside the file for a mapped access; false for an empty file. */
static bool pick_inside(struct checker *c, uint64_t *off, uint64_t *len)
{
	if (!c->size)
		return false;
	*off = pick_off(c, c->size);
	*len = pick_len(c);
	if (*len > c->size - *off)
		*len = c->size - *off;
	return true;
}

static void op_mread(struct checker *c)
{
	uint64_t off, len;

	if (!pick_inside(c, &off, &len))
		return;
	memcpy(c->buf, c->map + off, len);
	compare(c, "mapped read", off, c->buf, len);
}

static void op_mstore(struct checker *c)
{
	uint64_t off, len;

	if (!pick_inside(c, &off, &len))
		return;
	fill_random(c, c->model + off, len);
	memcpy(c->map + off, c->model + off, len);
}

static void op_read(struct checker *c)
{
	uint64_t off = pick_off(c, MAX_SIZE), len = pick_len(c), want;
	ssize_t n;

	if (len > MAX_SIZE - off)
		len = MAX_SIZE - off;
	n = pread(c->fd, c->buf, len, (off_t)off);
	if (n < 0)
		die(c, "pread %" PRIu64 "+%" PRIu64 ": %s", off, len, strerror(errno));
	want = off >= c->size ? 0 : (c->size - off < len ? c->size - off : len);
	if ((uint64_t)n != want)
		die(c, "pread %" PRIu64 "+%" PRIu64 " returned %zd, model %" PRIu64, off, len, n,
		    want);
	compare(c, "pread", off, c->buf, (uint64_t)n);
}

static void op_write(struct checker *c)
{
	uint64_t off = pick_off(c, MAX_SIZE), len = pick_len(c);
	ssize_t n;

	if (len > MAX_SIZE - off)
		len = MAX_SIZE - off;
	fill_random(c, c->buf, len);
	n = pwrite(c->fd, c->buf, len, (off_t)off);
	if (n != (ssize_t)len)
		die(c, "pwrite %" PRIu64 "+%" PRIu64 " returned %zd: %s", off, len, n,
		    n < 0 ? strerror(errno) : "short");
	memcpy(c->model + off, c->buf, len);
	if (off + len > c->size) {
		c->size = off + len;
		layout_changed(c);
	}
}

static void op_truncate(struct checker *c)
{
	uint64_t size = below(c, 3) ? pick_off(c, MAX_SIZE) : below(c, 2 * (uint64_t)c->page);

	if (ftruncate(c->fd, (off_t)size))
		die(c, "ftruncate to %" PRIu64 ": %s", size, strerror(errno));
	set_size(c, size);
	layout_changed(c);
}

static void op_fallocate(struct checker *c)
{
	uint64_t off = pick_off(c, MAX_SIZE), len = pick_len(c), end;
	int mode;

	if (len > MAX_SIZE - off)
		len = MAX_SIZE - off;
	end = off + len;
	switch (below(c, 4)) {
	case 0:
		mode = 0;
		break;
	case 1:
		mode = FALLOC_FL_KEEP_SIZE;
		break;
	case 2:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		break;
	default:
		mode = FALLOC_FL_ZERO_RANGE | (below(c, 2) ? FALLOC_FL_KEEP_SIZE : 0);
	}
	if (fallocate(c->fd, mode, (off_t)off, (off_t)len))
		die(c, "fallocate mode 0x%x %" PRIu64 "+%" PRIu64 ": %s", mode, off, len,
		    strerror(errno));
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		uint64_t zend = (mode & FALLOC_FL_KEEP_SIZE) && end > c->size ? c->size : end;

		if (zend > off)
			memset(c->model + off, 0, zend - off);
	}
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > c->size)
		c->size = end;
	layout_changed(c);
}

static void check_whole_file(struct checker *c, const char *what)
{
	struct stat st;
	ssize_t n;

	if (fstat(c->fd, &st))
		die(c, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size != c->size)
		die(c, "%s: st_size %lld, model %" PRIu64, what, (long long)st.st_size, c->size);
	n = pread(c->fd, c->buf, MAX_SIZE, 0);
	if (n != (ssize_t)c->size)
		die(c, "%s: pread of the whole file returned %zd, model %" PRIu64, what, n,
		    c->size);
	compare(c, what, 0, c->buf, c->size);
}

static void op_msync(struct checker *c)
{
	if (msync(c->map, MAX_SIZE, MS_SYNC))
		die(c, "msync: %s", strerror(errno));
	check_whole_file(c, "read after msync");
}

static void op_eof(struct checker *c)
{
	uint64_t first = (c->size + (uint64_t)c->page - 1) & ~(uint64_t)(c->page - 1);
	volatile uint8_t v;

	if (first >= MAX_SIZE)
		return;
	if (sigsetjmp(bus_jmp, 1) == 0) {
		bus_armed = 1;
		v = c->map[first + below(c, (uint64_t)c->page)];
		bus_armed = 0;
		(void)v;
		die(c, "a load at page %" PRIu64 ", past end of file, did not raise SIGBUS", first);
	}
	bus_armed = 0;
}

static void (*const op_fn[OP_NR])(struct checker *) = {
	op_mread, op_mstore, op_read, op_write, op_truncate, op_fallocate, op_msync, op_eof,
};

static enum op pick_op(struct checker *c)
{
	unsigned total = 0, r, i;

	for (i = 0; i < OP_NR; i++)
		total += op_weight[i];
	r = (unsigned)below(c, total);
	for (i = 0; i < OP_NR; i++) {
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_MREAD;
}

int main(int argc, char **argv)
{
	struct checker c = {.fd = -1};
	struct sigaction sa;
	long nops, i;
	bool trace;
	char *end;
	int k;

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--remap"))) {
		fprintf(stderr, "usage: mapmodel FILE SEED NOPS [--remap]\n");
		return 2;
	}
	c.path = argv[1];
	c.seed = strtoull(argv[2], &end, 0);
	if (*end || !*argv[2]) {
		fprintf(stderr, "mapmodel: bad seed '%s'\n", argv[2]);
		return 2;
	}
	nops = strtol(argv[3], &end, 0);
	if (*end || nops < 0) {
		fprintf(stderr, "mapmodel: bad operation count '%s'\n", argv[3]);
		return 2;
	}
	c.remap = argc == 5;
	trace = getenv("MAPMODEL_TRACE") != NULL;
	c.rng = c.seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
	c.page = sysconf(_SC_PAGESIZE);
	c.model = calloc(1, MAX_SIZE);
	c.buf = malloc(MAX_SIZE);
	if (!c.model || !c.buf) {
		fprintf(stderr, "mapmodel: out of memory\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	c.fd = open(c.path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (c.fd < 0)
		die(&c, "open %s: %s", c.path, strerror(errno));
	do_map(&c);
	for (i = 0; i < nops; i++) {
		enum op o = pick_op(&c);

		c.opno = i;
		bus_opno = i;
		if (trace)
			fprintf(stderr, "op %ld %s size %" PRIu64 "\n", i, op_name[o], c.size);
		op_fn[o](&c);
		c.done[o]++;
	}
	c.opno = nops;
	check_whole_file(&c, "final read");
	if (c.size)
		compare(&c, "final mapped read", 0, c.map, c.size);
	printf("mapmodel: seed %" PRIu64 ", %ld ops ok:", c.seed, nops);
	for (k = 0; k < OP_NR; k++)
		printf(" %s %ld", op_name[k], c.done[k]);
	printf(", final size %" PRIu64 "\n", c.size);
	munmap(c.map, MAX_SIZE);
	close(c.fd);
	free(c.model);
	free(c.buf);
	return 0;
}
