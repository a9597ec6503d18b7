/* SPDX-License-Identifier: MIT */
/*
 * daxfs_mmap_proto.c - what both sides of the DAX mmap protocol do the same
 * way (see daxfs_mmap_proto.h): move whole messages over a connection.
 * Built into libdaxfs, the preload shim and the daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daxfs_mmap_proto.h"

static int xfer_all(int fd, char *p, size_t len, bool out)
{
	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int daxfs_mmap_send_all(int fd, const void *buf, size_t len)
{
	return xfer_all(fd, (char *)buf, len, true);
}

int daxfs_mmap_recv_all(int fd, void *buf, size_t len)
{
	return xfer_all(fd, buf, len, false);
}
