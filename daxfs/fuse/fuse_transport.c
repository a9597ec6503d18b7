/* SPDX-License-Identifier: MIT */
/*
 * fuse_transport.c - switching on FUSE over io_uring (see fuse_transport.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "fuse_transport.h"

/* read_flag - the first character of @path ('Y' or 'N'), or -errno. */
static int read_flag(const char *path)
{
	char c = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, &c, 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	return n == 1 ? (unsigned char)c : -EIO;
}

int daxfs_fuse_uring_prepare(const char *param)
{
	int fd, flag;
	ssize_t n;

	flag = read_flag(param);
	if (flag == -ENOENT)
		return pmd_err(-ENOENT,
			       "%s does not exist: this kernel has no FUSE over io_uring "
			       "(Linux 6.14 or later, CONFIG_FUSE_IO_URING)",
			       param);
	if (flag < 0)
		return pmd_err(flag, "cannot read %s: %s", param, strerror(-flag));
	if (flag == 'Y' || flag == '1')
		return 0;
	fd = open(param, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		return pmd_err(err,
			       "FUSE over io_uring is off (%s is N) and cannot be switched "
			       "on: %s (only root may write it)",
			       param, strerror(-err));
	}
	n = write(fd, "Y", 1);
	if (n != 1) {
		int err = n < 0 ? -errno : -EIO;

		close(fd);
		return pmd_err(err, "cannot switch on FUSE over io_uring in %s: %s", param,
			       strerror(-err));
	}
	close(fd);
	flag = read_flag(param);
	if (flag != 'Y' && flag != '1')
		return pmd_err(-EIO, "%s did not stay on after writing Y", param);
	return 0;
}
