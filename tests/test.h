/* SPDX-License-Identifier: MIT */
/*
 * test.h - assertions for test programs that survive NDEBUG.
 *
 * CHECK(cond) and friends print file:line and the failed expression, then
 * exit(1). SKIP(reason) exits 77, which CTest reports as skipped: use it
 * only for what no CI machine has (a real NVDIMM). NEED(cond, reason) is
 * for what CI machines do have (FUSE, hugetlbfs, fio): it skips on a
 * developer's box but fails under CI=true.
 */
#ifndef PMD_TEST_H
#define PMD_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);                          \
		if (_a != _b) {                                                              \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);                         \
			exit(1);                                                             \
		}                                                                            \
	} while (0)

/* CHECK_OK - expression must return 0; prints pmd_errmsg-style detail. */
#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		int _r = (expr);                                                                   \
		if (_r != 0) {                                                                     \
			fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #expr, \
				_r, strerror(_r < 0 ? -_r : _r));                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define SKIP(...)                             \
	do {                                  \
		fprintf(stderr, "SKIP: ");    \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n");        \
		exit(77);                     \
	} while (0)

#define NEED(cond, ...)                                                                      \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			const char *_ci = getenv("CI");                                      \
			fprintf(stderr,                                                      \
				"%s: ", _ci && !strcmp(_ci, "true") ? "FAIL (CI)" : "SKIP"); \
			fprintf(stderr, __VA_ARGS__);                                        \
			fprintf(stderr, "\n");                                               \
			exit(_ci && !strcmp(_ci, "true") ? 1 : 77);                          \
		}                                                                            \
	} while (0)

/* test_tmpdir - a directory for region files: $PMD_TEST_DIR or /dev/shm. */
static inline const char *test_tmpdir(void)
{
	const char *d = getenv("PMD_TEST_DIR");
	return d && *d ? d : "/dev/shm";
}

/* test_path - "<tmpdir>/pmd-test-<pid>-<tag>" into @buf. */
#include <unistd.h>
static inline const char *test_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/pmd-test-%d-%s", test_tmpdir(), (int)getpid(), tag);
	return buf;
}

#endif
