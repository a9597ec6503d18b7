/* SPDX-License-Identifier: MIT */
/*
 * mmholder.h - checks shared by the tests of a hostile chunk holder
 * (test_mmap_resize, test_mmap_hugetlb): the user's hold on their chunks,
 * files of one byte value, answers that must be success or EIO, and lines
 * of `daxfs stat`. Include it (it includes mmuser.h) in one file only.
 */
#ifndef MMHOLDER_H
#define MMHOLDER_H

#include "libdaxfs.h"
#include "mmuser.h"

/* mh_fill - @name gets @size bytes of @c and mode @mode. */
static inline void mh_fill(struct mt *t, const char *name, size_t size, int c, mode_t mode)
{
	close(mt_make_file(t, name, size, c, O_RDONLY));
	CHECK(chmod(mt_path(t, name), mode) == 0);
}

/* mh_check_contents - @name holds @size bytes of @c. */
static inline void mh_check_contents(struct mt *t, const char *name, size_t size, int c)
{
	uint8_t *buf = malloc(size);
	int fd = open(mt_path(t, name), O_RDONLY);

	CHECK(fd >= 0 && buf);
	CHECK(pread(fd, buf, size, 0) == (ssize_t)size);
	for (size_t i = 0; i < size; i++)
		if (buf[i] != c) {
			fprintf(stderr, "FAIL: %s byte %zu is %#x, not %#x\n", name, i, buf[i], c);
			exit(1);
		}
	close(fd);
	free(buf);
}

/*
 * mh_ok_or_eio - an answer through the mount about the damaged file: @rc
 * is @want (true) or -1 with EIO (false); anything else fails the test.
 */
static inline bool mh_ok_or_eio(const char *what, long rc, long want)
{
	if (rc == want) {
		printf("%-40s done\n", what);
		return true;
	}
	if (rc < 0 && errno == EIO) {
		printf("%-40s EIO\n", what);
		return false;
	}
	fprintf(stderr, "FAIL: %s returned %ld (%s): the daemon must answer\n", what, rc,
		rc < 0 ? strerror(errno) : "short");
	exit(1);
}

/* mh_check_stat - `daxfs stat` of the mount matches the ERE @re. */
static inline void mh_check_stat(struct mt *t, const char *re, const char *what)
{
	if (mt_run("'%s' stat '%s' | grep -Eq '%s'", DAXFS_BIN, t->mnt, re) != 0) {
		mt_run("'%s' stat '%s' >&2", DAXFS_BIN, t->mnt);
		fprintf(stderr, "FAIL: daxfs stat does not show %s\n", what);
		exit(1);
	}
	printf("%-40s shown\n", what);
}

/*
 * mh_setup - the scene: a chunked region on @b of @mib MiB mounted with
 * allow_other and the data path named by argv[1] ("dax" or "bio"), the
 * user @user_prefix<pid>, root's file "other" (mode 0600, @other bytes of
 * 'o') and the user's file "victim" (@victim bytes of 'v').
 */
static inline void mh_setup(struct mt *t, int argc, char **argv, enum mt_backing b, uint64_t mib,
			    const char *user_prefix, size_t victim, size_t other)
{
	CHECK(argc == 2 && (!strcmp(argv[1], "dax") || !strcmp(argv[1], "bio")));
	mu_make_user(user_prefix);
	mt_setup(t, b, mib);
	mt_umount(t);
	snprintf(t->opts, sizeof(t->opts), "-o allow_other,datapath=%s", argv[1]);
	mt_mount(t);
	mh_fill(t, "other", other, 'o', 0600);
	mh_fill(t, "victim", victim, 'v', 0600);
	CHECK(chown(mt_path(t, "victim"), mu_uid, mu_gid) == 0);
}

/*
 * mh_hold - in the user's child: become the test's user, map the file
 * @name writable with daxfs_mmap(), keeping the chunk descriptors libdaxfs
 * would close (mu_kept[]); the inode numbers of the first @max go to
 * @ino. Returns how many were kept. The mapping stays.
 */
static inline int mh_hold(struct mt *t, const char *name, size_t size, ino_t *ino, int max)
{
	void *p = NULL;
	int fd, n = 0;

	mu_become();
	fd = open(mt_path(t, name), O_RDWR);
	CHECK(fd >= 0);
	mu_keeping = true;
	if (daxfs_mmap(fd, 0, size, PROT_READ | PROT_WRITE, 0, &p)) {
		fprintf(stderr, "user: daxfs_mmap: %s\n", daxfs_errmsg());
		_exit(3);
	}
	mu_keeping = false;
	for (; n < mu_nkept && n < max; n++) {
		struct stat st;

		CHECK(fstat(mu_kept[n], &st) == 0);
		ino[n] = st.st_ino;
	}
	return n;
}

#endif
