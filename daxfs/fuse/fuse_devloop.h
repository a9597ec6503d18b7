/* SPDX-License-Identifier: MIT */
/*
 * fuse_devloop.h - the /dev/fuse loop of a daemon whose requests come
 * through FUSE over io_uring.
 *
 * With io_uring the ring threads get every request but FORGET (and
 * BATCH_FORGET) and INTERRUPT, which the kernel still queues on /dev/fuse.
 * libfuse's loop keeps a thread waiting there, so each FORGET (the kernel
 * sends one when it drops an inode: after every unlink of a file nobody
 * has open) wakes that thread, on the CPU of the application as often as
 * not: a context switch each. A FORGET has no reply and nobody waits for
 * it, so this loop, once the ring serves requests, waits
 * DAXFS_FORGET_WINDOW_NS after handling a FORGET before it reads again;
 * the kernel hands the FORGETs queued meanwhile over as one BATCH_FORGET,
 * for one wake-up. An INTERRUPT that arrives in that window waits for its
 * end too (the daemon's requests are short; an interrupted one has usually
 * been answered before).
 *
 * Until the ring serves (between INIT and the registration of its queues
 * the kernel sends everything through /dev/fuse), requests read here are
 * served here, one at a time. If DAXFS_DEVLOOP_FALLBACK of them come
 * without one request through the ring, libfuse could not start it: the
 * loop hands /dev/fuse over to libfuse's multi-threaded loop.
 */
#ifndef DAXFS_FUSE_DEVLOOP_H
#define DAXFS_FUSE_DEVLOOP_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>

/* how long FORGETs gather after one was handled */
#define DAXFS_FORGET_WINDOW_NS 1000000L
/* requests other than FORGET and INTERRUPT through /dev/fuse, with none
 * through the ring, after which the ring is taken as not started */
#define DAXFS_DEVLOOP_FALLBACK 256

/*
 * daxfs_fuse_devloop - serve /dev/fuse of @se until the session ends.
 * @ring_live: set by the request handlers once a request came through the
 * ring (fuse_req_is_uring). @cfg: libfuse's loop configuration, for the
 * hand-over to its multi-threaded loop, or NULL for its single-threaded
 * one (-s). Returns what fuse_session_loop_mt returns: 0 or a positive
 * signal number for a normal stop, -errno on a failure.
 */
int daxfs_fuse_devloop(struct fuse_session *se, const _Atomic bool *ring_live,
		       struct fuse_loop_config *cfg);

#endif
