/* SPDX-License-Identifier: MIT */
/*
 * test_fuse_transport - daxfs_fuse_uring_prepare() on stand-ins for the
 * kernel's enable_uring parameter: "N" is switched to "Y", "Y" stays, a
 * missing parameter (kernel without FUSE over io_uring) and one that
 * cannot be used are refused with a message saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "fuse_transport.h"
#include "test.h"

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	CHECK(f);
	CHECK(fputs(s, f) >= 0);
	CHECK(fclose(f) == 0);
}

static char get(const char *path)
{
	FILE *f = fopen(path, "r");
	int c;

	CHECK(f);
	c = fgetc(f);
	fclose(f);
	return (char)c;
}

int main(void)
{
	char dir[] = "/tmp/daxfs-transport.XXXXXX", param[64], missing[64];

	CHECK(mkdtemp(dir));
	snprintf(param, sizeof(param), "%s/enable_uring", dir);
	snprintf(missing, sizeof(missing), "%s/none", dir);

	put(param, "N\n");
	CHECK_EQ(daxfs_fuse_uring_prepare(param), 0);
	CHECK_EQ(get(param), 'Y');
	CHECK_EQ(daxfs_fuse_uring_prepare(param), 0);
	CHECK_EQ(get(param), 'Y');

	CHECK_EQ(daxfs_fuse_uring_prepare(missing), -ENOENT);
	CHECK(strstr(pmd_errmsg(), "no FUSE over io_uring"));

	/* A parameter that cannot be used (a directory stands in: even root
	 * cannot read or write it as a file). */
	CHECK(unlink(param) == 0);
	CHECK(mkdir(param, 0755) == 0);
	CHECK(daxfs_fuse_uring_prepare(param) < 0);
	CHECK(rmdir(param) == 0);
	CHECK(rmdir(dir) == 0);
	printf("PASS\n");
	return 0;
}
