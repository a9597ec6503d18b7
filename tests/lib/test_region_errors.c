/* SPDX-License-Identifier: MIT */
/*
 * test_region_errors - bad input is refused with a message naming what was
 * wrong, and nothing is created or modified: sizes that are not multiples
 * of 2 MiB, too small, zero; a missing path; creating over an existing
 * file; opening a file of a bad size, a directory, a non-dax device.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "units.h"

static void check_absent(const char *path)
{
	struct stat st;

	CHECK(stat(path, &st) != 0 && errno == ENOENT);
}

/* The last error message contains @needle. */
static void check_msg(const char *needle)
{
	if (!strstr(pmd_errmsg(), needle)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", pmd_errmsg(), needle);
		exit(1);
	}
}

int main(void)
{
	struct pmr_region *r = NULL;
	char path[256], other[256];
	struct stat st;
	char buf[16];
	int fd;

	test_path(path, sizeof(path), "errors");
	test_path(other, sizeof(other), "errors-existing");
	unlink(path);
	unlink(other);

	/* Not a multiple of 2 MiB. */
	pmd_err_clear();
	CHECK_EQ(pmr_create(path, 5 * MiB, 0, &r), -EINVAL);
	check_msg("not a multiple of 2 MiB");
	check_msg(path);
	CHECK(r == NULL);
	check_absent(path);
	CHECK_EQ(pmr_create(path, 4 * MiB + 4096, 0, &r), -EINVAL);
	check_absent(path);

	/* Too small, and zero. */
	CHECK_EQ(pmr_create(path, 2 * MiB, 0, &r), -EINVAL);
	check_msg("size 2M of");
	check_msg("too small: a region is at least 4 MiB");
	check_absent(path);
	CHECK_EQ(pmr_create(path, 0, 0, &r), -EINVAL);
	check_msg("size 0 of");
	check_msg("too small"); /* 0 is a multiple of 2 MiB: not the reason */
	check_absent(path);
	/* the rules alone, for front ends that check their command line */
	CHECK_EQ(pmr_check_size(path, 9 * MiB), -EINVAL);
	check_msg("(8M or 10M would be)");
	CHECK_EQ(pmr_check_size(path, 3 * MiB), -EINVAL);
	check_msg("too small");
	CHECK_OK(pmr_check_size(path, 6 * MiB));

	/* Missing path for open. */
	CHECK_EQ(pmr_open(path, 0, &r), -ENOENT);
	check_msg("does not exist");
	check_msg(path);
	CHECK(r == NULL);
	{
		enum pmr_backend b;
		uint64_t ps;

		CHECK_EQ(pmr_detect_backend(path, &b, &ps), -ENOENT);
	}

	/* Missing directory for create. */
	CHECK_EQ(pmr_create("/dev/shm/pmd-no-such-dir/x", 4 * MiB, 0, &r), -ENOENT);
	check_msg("pmd-no-such-dir");

	/* Create over an existing file: -EEXIST, file untouched. */
	fd = open(other, O_CREAT | O_EXCL | O_WRONLY, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "precious", 8), 8);
	close(fd);
	CHECK_EQ(pmr_create(other, 4 * MiB, 0, &r), -EEXIST);
	check_msg(other);
	CHECK_OK(stat(other, &st));
	CHECK_EQ(st.st_size, 8);
	CHECK_EQ((st.st_mode & 0777), 0644);
	fd = open(other, O_RDONLY);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 8);
	CHECK(!memcmp(buf, "precious", 8));
	close(fd);

	/* Open an existing file of a bad size: refused, untouched. */
	CHECK_EQ(pmr_open(other, 0, &r), -EINVAL);
	check_msg("size 8 of");
	check_msg("too small");
	CHECK_OK(stat(other, &st));
	CHECK_EQ(st.st_size, 8);
	CHECK_OK(truncate(other, 2 * MiB));
	CHECK_EQ(pmr_open(other, 0, &r), -EINVAL);
	check_msg("too small");
	CHECK_OK(stat(other, &st));
	CHECK_EQ(st.st_size, 2 * MiB);
	CHECK_OK(unlink(other));

	/* A directory and a character device that is not dax. */
	CHECK_EQ(pmr_open(test_tmpdir(), 0, &r), -EISDIR);
	CHECK_EQ(pmr_open("/dev/null", 0, &r), -EINVAL);
	check_msg("not a dax device");
	CHECK_EQ(pmr_create("/dev/null", 4 * MiB, 0, &r), -EEXIST);
	check_msg("device");

	/* Read-only creation makes no sense. */
	CHECK_EQ(pmr_create(path, 4 * MiB, PMR_F_RDONLY, &r), -EINVAL);
	check_absent(path);

	/* The smallest valid region works. */
	CHECK_OK(pmr_create(path, PMR_MIN_SIZE, 0, &r));
	CHECK_EQ(pmr_size(r), PMR_MIN_SIZE);
	pmr_close(&r);
	CHECK_OK(unlink(path));
	return 0;
}
