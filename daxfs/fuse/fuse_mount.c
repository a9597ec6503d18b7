/* SPDX-License-Identifier: MIT */
/*
 * fuse_mount.c - checks on the mount point before the daemon mounts.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>

#include "errmsg.h"
#include "fuse_daemon.h"

/* Undo mountinfo's octal escapes (\040 for space etc.) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Is @real (a canonical path) the mount point of a mounted filesystem? */
static bool is_mount_point(const char *real, char *fstype, size_t fstype_len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok, *mp = NULL, *sep;
		int field = 0;

		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (++field == 5) {
				mp = tok;
				break;
			}
		}
		if (!mp)
			continue;
		unescape(mp);
		if (strcmp(mp, real))
			continue;
		found = true;
		/* the type follows the " - " separator */
		sep = strtok_r(NULL, "\n", &save);
		fstype[0] = '\0';
		if (sep) {
			char *dash = strstr(sep, " - ");

			if (dash)
				sscanf(dash + 3, "%63s", fstype);
		}
		(void)fstype_len;
	}
	free(line);
	fclose(f);
	return found;
}

/* stale_mount - the refusal of a mount point whose FUSE daemon is gone */
static int stale_mount(const char *path)
{
	return pmd_err(-ENOTCONN,
		       "mount point %s: %s: the daemon of the filesystem mounted there has "
		       "gone (killed?): run fusermount3 -u %s, then mount again",
		       path, strerror(ENOTCONN), path);
}

int daxfs_fuse_check_mountpoint(const char *path, bool nonempty)
{
	char real[PATH_MAX], fstype[64] = "";
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (stat(path, &st)) {
		if (errno == ENOTCONN)
			return stale_mount(path);
		return pmd_err(-errno, "mount point %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return pmd_err(-ENOTDIR, "mount point %s is not a directory", path);
	if (!realpath(path, real))
		return pmd_err(-errno, "mount point %s: %s", path, strerror(errno));
	if (is_mount_point(real, fstype, sizeof(fstype))) {
		struct statfs sfs;

		/* stat() may answer from the kernel's cache; statfs() asks the daemon */
		if (statfs(real, &sfs) && errno == ENOTCONN)
			return stale_mount(path);
		return pmd_err(-EBUSY,
			       "mount point %s is busy: already a mount point (%s); unmount it "
			       "first (%s %s)",
			       path, fstype[0] ? fstype : "unknown type",
			       strncmp(fstype, "fuse", 4) ? "umount" : "fusermount3 -u", path);
	}
	if (nonempty)
		return 0;
	dir = opendir(path);
	if (!dir)
		return pmd_err(-errno, "mount point %s: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(dir);
			return pmd_err(
				-ENOTEMPTY,
				"mount point %s is not empty (use -o nonempty to mount over it)",
				path);
		}
	}
	closedir(dir);
	return 0;
}
