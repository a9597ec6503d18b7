/* SPDX-License-Identifier: MIT */
/*
 * mmuser.h - the attacker of the DAX mmap tests: an unprivileged user made
 * by the test, and a program that keeps the descriptors libdaxfs closes.
 *
 * mu_make_user() creates a system user (removed at exit; needs root and
 * useradd), mu_become() switches the calling process to it for good.
 *
 * Including this header defines close(): the symbol in the executable wins
 * over libc's for libdaxfs too, so while mu_keeping is set the regular
 * files libdaxfs would close after mapping them (the region or chunk
 * descriptors the daemon sent) are kept in mu_kept[] instead. Include it in
 * one file of a program only.
 */
#ifndef MMUSER_H
#define MMUSER_H

#include <grp.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "mmtest.h"

#define MU_MAX_KEPT 1024

static char mu_user[32];
static uid_t mu_uid;
static gid_t mu_gid;

static bool mu_keeping;
static int mu_kept[MU_MAX_KEPT];
static int mu_nkept;

int close(int fd)
{
	char link[64], target[256];
	struct stat st;
	struct statfs sfs;
	ssize_t n;

	if (mu_keeping && mu_nkept < MU_MAX_KEPT && !fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    !fstatfs(fd, &sfs) && sfs.f_type != 0x65735546 /* not the FUSE mount */) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && strncmp(target, "/memfd:", 7)) {
			mu_kept[mu_nkept++] = fd;
			return 0;
		}
	}
	return (int)syscall(SYS_close, fd);
}

static void mu_user_cleanup(void)
{
	if (mu_user[0])
		mt_run("userdel '%s' >/dev/null 2>&1; groupdel '%s' >/dev/null 2>&1", mu_user,
		       mu_user);
}

/* mu_make_user - a new system user "@prefix<pid>" with its own group. */
static void mu_make_user(const char *prefix)
{
	struct passwd *pw;

	snprintf(mu_user, sizeof(mu_user), "%s%d", prefix, (int)getpid() % 100000);
	NEED(mt_run("command -v useradd >/dev/null") == 0, "useradd is not installed");
	NEED(geteuid() == 0, "needs root (creates a user, mounts)");
	CHECK(mt_run("useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "
		     "'%s'",
		     mu_user) == 0);
	atexit(mu_user_cleanup);
	pw = getpwnam(mu_user);
	CHECK(pw);
	mu_uid = pw->pw_uid;
	mu_gid = pw->pw_gid;
}

static inline void mu_become(void)
{
	CHECK(setgroups(0, NULL) == 0);
	CHECK(setgid(mu_gid) == 0 && setuid(mu_uid) == 0);
}

#endif
