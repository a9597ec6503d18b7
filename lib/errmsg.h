/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - a thread-local "why" to go with a -errno.
 *
 * Every action in lib/, pmemdev/ and daxfs/ returns 0 or -errno and never
 * relies on errno. A bare errno rarely tells a user which input was wrong,
 * so a function that fails for a reason worth naming also records a
 * sentence here; front ends (CLI, fio engine, FUSE daemon) print it.
 */
#ifndef PMD_ERRMSG_H
#define PMD_ERRMSG_H

#include <stdarg.h>

/*
 * pmd_err - record a message for the calling thread and return @err.
 * @err is a negative errno; it is returned unchanged so callers can write
 * "return pmd_err(-EINVAL, "size %zu is not ...", size);".
 */
int pmd_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pmd_errmsg - last message recorded by this thread, or "" if none. */
const char *pmd_errmsg(void);

/* pmd_err_clear - forget the last message of this thread. */
void pmd_err_clear(void);

/*
 * pmd_strerror - a printable reason for @err: the recorded message if one is
 * set, else strerror(-err). Never returns NULL.
 */
const char *pmd_strerror(int err);

#endif
