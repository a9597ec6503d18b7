/* SPDX-License-Identifier: MIT */
/*
 * fuzz_case.h - one image fuzzing case, shared by the fork-per-case driver
 * (fuzz_images.c) and the coverage-guided harness (fuzz_core_lf.c).
 *
 * A case takes a populated base image (populate.h), damages one structure
 * of it with the daxfs-debug library (a bit flip, random bytes, a field at
 * a boundary value, a zeroed object or block, two blocks swapped; the
 * checksum left stale or recomputed), notes which inodes that damaged (the
 * owners of the structures it touched, and for journal damage every inode
 * the journal would have written), and runs the filesystem over it: open,
 * walk and read every file, write, create and unlink, close, fsck -y, fsck
 * -n, open and walk again. A failure is a crash, a hang, a sanitizer
 * report (the process dies), an fsck -y after which fsck -n is not clean,
 * a write that does not read back, or a file none of whose structures was
 * damaged whose data changed. Names of undamaged files that are gone after
 * fsck -y are counted (the repair's goal is to keep every one of them).
 *
 * The random choices come from a byte source: the fuzzer's input, then a
 * seeded generator.
 */
#ifndef PMD_TESTS_FUZZ_CASE_H
#define PMD_TESTS_FUZZ_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbg.h"
#include "populate.h"

/* ---- the byte source ---- */

struct fz_src {
	const uint8_t *data; /* input bytes first (may be NULL) */
	size_t len, pos;
	uint64_t state; /* then xorshift */
};

void fz_src_init(struct fz_src *s, const uint8_t *data, size_t len, uint64_t seed);
uint64_t fz_next(struct fz_src *s);
/* a value in [0, n) (n > 0) */
uint64_t fz_below(struct fz_src *s, uint64_t n);

/* ---- base images ---- */

#define FZ_NVARIANTS 3 /* POP_CLEAN, POP_CRASH_COMMIT, POP_CRASH_RECORDS */

struct fz_base {
	enum pop_end end;
	uint8_t *img; /* the image, in DRAM */
	uint64_t size;
	struct pop_manifest m;	 /* after recovery */
	struct dbg_obj *objs;	 /* every structure of the raw image */
	size_t nobjs;
	uint64_t *jhome;	 /* byte ranges (off, len) the journal would write */
	size_t njhome;
	uint64_t inode_count;
};

/*
 * fz_base_build - build the base image of @size bytes (see pop_build for
 * the profiles) ending as @end in @dir (a scratch file is made and
 * removed), load it, take its manifest and structures. Returns 0 or -errno.
 */
int fz_base_build(struct fz_base *b, const char *dir, enum pop_end end, uint64_t size);
void fz_base_free(struct fz_base *b);

/* ---- damage ---- */

#define FZ_MAX_RANGES 4

struct fz_damage {
	char what[200]; /* e.g. "flip bit 3 of inode 17 field blocks (stale crc)" */
	uint64_t off[FZ_MAX_RANGES], len[FZ_MAX_RANGES];
	unsigned nranges;
	bool journal; /* the journal header or a record was hit */
	bool bitmap;  /* the allocation bitmap was hit */
	enum dbg_kind kind;
};

/*
 * fz_mutate - damage one structure of @img (a copy of @b's image, @b->size
 * bytes), choices from @s; describes it in @d
 */
void fz_mutate(const struct fz_base *b, uint8_t *img, struct fz_src *s, struct fz_damage *d);

/* fz_damaged - mark in @out (inode_count + 1 bytes) the inodes @d damaged */
void fz_damaged(const struct fz_base *b, const struct fz_damage *d, uint8_t *out);

/* ---- running a case ---- */

enum fz_fail {
	FZ_OK,
	FZ_DATA,    /* an undamaged file's data changed */
	FZ_WRITE,   /* a write did not read back */
	FZ_NOCONV,  /* fsck -n not clean after fsck -y */
	FZ_FSCKERR, /* fsck failed operationally on an image it should repair */
};

#define FZ_NSTEPS 7
extern const char *const fz_step_names[FZ_NSTEPS];

struct fz_result {
	int step;		/* the step running (for hangs and crashes) */
	enum fz_fail fail;
	char msg[400];
	int rc_y, rc_n;
	/* after fsck -y: undamaged inodes (and their names) still there */
	unsigned kept, total;	    /* inodes: reachable with a name and their data */
	unsigned names_kept, names; /* every name of them */
	char missed[600];	    /* the first names that missed */
	bool unrecoverable;	    /* no superblock left: fsck refuses, correctly */
};

/*
 * fz_run - run the steps on the image file @path; @b and @damaged (may be
 * NULL: no comparison with a base, e.g. a regression image) say what to
 * expect. @step_timeout (s, 0 = none) arms alarm() around each step.
 * Results in *@r (which may live in shared memory); returns r->fail.
 */
enum fz_fail fz_run(const char *path, const struct fz_base *b, const uint8_t *damaged,
		    unsigned step_timeout, struct fz_result *r);

/* fz_write_image - write @len bytes of @img to the file @path (created or
 * truncated), skipping zero blocks (the file is sparse). Returns 0 or -errno. */
int fz_write_image(const char *path, const uint8_t *img, uint64_t len);

#endif
