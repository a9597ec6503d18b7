/* SPDX-License-Identifier: MIT */
/*
 * fuse_devloop.c - the /dev/fuse loop beside FUSE over io_uring (see
 * fuse_devloop.h).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse_devloop.h"

/* opcode_of - the opcode of the request in @buf, 0 if it cannot be seen */
static uint32_t opcode_of(const struct fuse_buf *buf)
{
	struct fuse_in_header in;

	if ((buf->flags & FUSE_BUF_IS_FD) || !buf->mem || buf->size < sizeof(in))
		return 0;
	memcpy(&in, buf->mem, sizeof(in));
	return in.opcode;
}

static void forget_window(void)
{
	struct timespec t = {.tv_sec = 0, .tv_nsec = DAXFS_FORGET_WINDOW_NS};

	/* a signal cuts it short: the loop then sees the session end */
	nanosleep(&t, NULL);
}

int daxfs_fuse_devloop(struct fuse_session *se, const _Atomic bool *ring_live,
		       struct fuse_loop_config *cfg)
{
	struct fuse_buf buf;
	unsigned unringed = 0;
	int res = 0, ret;

	memset(&buf, 0, sizeof(buf));
	while (!fuse_session_exited(se)) {
		uint32_t op;

		res = fuse_session_receive_buf(se, &buf);
		if (res == -EINTR || res == -EAGAIN) {
			res = 0;
			continue;
		}
		if (res <= 0)
			break; /* 0: unmounted (libfuse ended the session) */
		op = opcode_of(&buf);
		fuse_session_process_buf(se, &buf);
		res = 0;
		if (op == FUSE_INIT) {
			/* INIT sets the size of a request: libfuse allocates
			 * a buffer of the new size when given none */
			free(buf.mem);
			buf.mem = NULL;
		}
		if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET) {
			if (atomic_load_explicit(ring_live, memory_order_relaxed))
				forget_window();
		} else if (op != FUSE_INTERRUPT &&
			   !atomic_load_explicit(ring_live, memory_order_relaxed) &&
			   ++unringed >= DAXFS_DEVLOOP_FALLBACK) {
			/* the ring never served: libfuse's loop, its threads
			 * (one thread when the daemon was asked for one) */
			free(buf.mem);
			return cfg ? fuse_session_loop_mt(se, cfg) : fuse_session_loop(se);
		}
	}
	free(buf.mem);
	/*
	 * libfuse stops the rings (threads, buffers) only at the end of its own
	 * loops, which it offers no other way: its single-threaded loop, on a
	 * session that has ended, does just that and returns (the signal that
	 * ended the session, if one did).
	 */
	fuse_session_exit(se);
	ret = fuse_session_loop(se);
	return res < 0 ? res : ret;
}
