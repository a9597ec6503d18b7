/* SPDX-License-Identifier: MIT */
/*
 * fuse_transport.h - how requests reach the daxfs daemon: /dev/fuse reads,
 * or FUSE over io_uring (-o io_uring), which the kernel offers only while
 * the fuse module's enable_uring parameter is on.
 */
#ifndef DAXFS_FUSE_TRANSPORT_H
#define DAXFS_FUSE_TRANSPORT_H

/* Where the kernel's switch for FUSE over io_uring lives. */
#define DAXFS_FUSE_URING_PARAM "/sys/module/fuse/parameters/enable_uring"

/*
 * daxfs_fuse_uring_prepare - make FUSE over io_uring available to the next
 * FUSE connection of this machine: turns the kernel's enable_uring
 * parameter (@param, normally DAXFS_FUSE_URING_PARAM) on if it is off. The
 * parameter is global: it lets every later FUSE connection ask for
 * io_uring, which libfuse daemons only do when told to.
 * Returns 0 when it is on, or -errno with pmd_err saying why it cannot be
 * (-ENOENT: the kernel has no FUSE over io_uring; -EACCES/-EPERM: only root
 * may switch it; a read error); the caller then stays on /dev/fuse.
 */
int daxfs_fuse_uring_prepare(const char *param);

#endif
