/* SPDX-License-Identifier: MIT */
/*
 * daxfs_mmap_proto.c - what both sides of the DAX mmap protocol do the same
 * way (see daxfs_mmap_proto.h): move whole messages over a connection.
 * Built into libdaxfs, the preload shim and the daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
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

#define FDS_CMSG_SPACE CMSG_SPACE(sizeof(int) * DAXFS_MMAP_FDS_BATCH)

int daxfs_mmap_send_fds(int fd, const void *buf, size_t len, const int *fds, unsigned nfds)
{
	union {
		char buf[FDS_CMSG_SPACE];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	if (nfds > DAXFS_MMAP_FDS_BATCH)
		return -EINVAL;
	memset(&mh, 0, sizeof(mh));
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EPIPE; /* a message this small goes whole or not at all */
	return 0;
}

int daxfs_mmap_recv_fds(int fd, void *buf, size_t len, int *fds, unsigned max, unsigned *nfds)
{
	union {
		char buf[FDS_CMSG_SPACE];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	unsigned got = 0;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k, count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count; k++) {
			int d;

			memcpy(&d, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = d;
			else
				close(d);
		}
	}
	*nfds = got;
	if (n < 0 || (size_t)n != len || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		int err = n < 0 ? -errno : -EPROTO;

		for (unsigned k = 0; k < got; k++)
			close(fds[k]);
		*nfds = 0;
		return err;
	}
	return 0;
}
