/* SPDX-License-Identifier: MIT */
/*
 * fuzz_core_lf - the coverage-guided harness (libFuzzer) over the core's
 * open, journal replay, lookup, readdir, read, write and fsck paths.
 *
 * The input is the byte source of fuzz_case.h: it picks the base image
 * (clean, committed journal, uncommitted records), then up to three
 * damages (structure, kind of damage, where, which value), so libFuzzer's
 * mutations of the input are mutations of the damage, and its coverage
 * feedback steers them into the core's checks and repairs. Each input runs
 * the steps of a case in this process; a failure of fz_run() (changed
 * data, a write that does not read back, an fsck -y that does not
 * converge) aborts, crashes and sanitizer reports are libFuzzer's own, and
 * hangs are caught by its -timeout.
 *
 * Built with PMD_LIBFUZZER=ON (clang, -fsanitize=fuzzer; see
 * scripts/fuzz-libfuzzer). Without it the same file builds a replayer:
 * fuzz_core_replay FILE|DIR... runs each input once (the corpus in
 * tests/daxfs/fuzz/corpus is a ctest).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_case.h"
#include "test.h"

#define MAX_DAMAGES 3
#define BASE_BYTES (12U << 20) /* the small profile */

static struct fz_base base[FZ_NVARIANTS];
static uint8_t *img[FZ_NVARIANTS];
static uint8_t *damaged, *one;
static char path[600];

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int v = 0; v < FZ_NVARIANTS; v++) {
		int err = fz_base_build(&base[v], test_tmpdir(), (enum pop_end)v, BASE_BYTES);

		if (err) {
			fprintf(stderr, "fuzz_core_lf: cannot build base image %d: %s\n", v,
				strerror(-err));
			exit(1);
		}
		img[v] = malloc(base[v].size);
		CHECK(img[v]);
		memcpy(img[v], base[v].img, base[v].size);
	}
	damaged = malloc(base[0].inode_count + 1);
	one = malloc(base[0].inode_count + 1);
	CHECK(damaged && one);
	snprintf(path, sizeof(path), "%s/pmd-fuzz-lf-%d", test_tmpdir(), (int)getpid());
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_damage d[MAX_DAMAGES];
	struct fz_result r;
	struct fz_src src;
	unsigned n, v;

	fz_src_init(&src, data, size, size);
	v = (unsigned)fz_below(&src, FZ_NVARIANTS);
	n = 1 + (unsigned)fz_below(&src, MAX_DAMAGES);
	memset(damaged, 0, base[v].inode_count + 1);
	for (unsigned k = 0; k < n; k++) {
		fz_mutate(&base[v], img[v], &src, &d[k]);
		fz_damaged(&base[v], &d[k], one);
		for (uint64_t i = 0; i <= base[v].inode_count; i++)
			damaged[i] |= one[i];
	}
	if (fz_write_image(path, img[v], base[v].size)) {
		perror("fuzz_core_lf: writing the image");
		abort();
	}
	for (unsigned k = 0; k < n; k++)
		for (unsigned x = 0; x < d[k].nranges; x++)
			memcpy(img[v] + d[k].off[x], base[v].img + d[k].off[x], d[k].len[x]);
	if (fz_run(path, &base[v], damaged, 0, &r)) {
		fprintf(stderr, "fuzz_core_lf: base %u, %u damages:\n", v, n);
		for (unsigned k = 0; k < n; k++)
			fprintf(stderr, "  %s\n", d[k].what);
		fprintf(stderr, "failed at step \"%s\": %s\n", fz_step_names[r.step], r.msg);
		abort();
	}
	return 0;
}

#ifndef PMD_LIBFUZZER
/* the replayer: each input of the files and directories named, once */
static int run_file(const char *file)
{
	FILE *f = fopen(file, "rb");
	static uint8_t buf[1 << 16];
	size_t len;

	if (!f) {
		fprintf(stderr, "fuzz_core_replay: %s: %s\n", file, strerror(errno));
		return 1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0, runs = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: fuzz_core_replay FILE|DIR...\n");
		return 16;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int k = 1; k < argc; k++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[k], &st) || !S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[k]);
			runs++;
			continue;
		}
		d = opendir(argv[k]);
		CHECK(d);
		while ((e = readdir(d))) {
			char file[1024];

			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", argv[k], e->d_name);
			bad |= run_file(file);
			runs++;
		}
		closedir(d);
	}
	printf("fuzz_core_replay: %d inputs replayed\n", runs);
	return bad;
}
#endif
