/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_eof_holes - mapping holes allocates them (zero-filled, the size
 * unchanged); touching a whole page past the end of file raises SIGBUS as
 * with mmap, while the partial last page is readable; bad arguments and
 * files that are not on daxfs are refused with clear errors.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES ((2u << 20) + 100)
#define MAP_BYTES (4u << 20)

static char *base;

static void touch_past_eof(void *arg)
{
	(void)*(volatile char *)(base + (uintptr_t)arg);
}

int main(void)
{
	char other[300];
	struct stat st;
	uint64_t free0;
	void *addr = NULL;
	static struct mt t; /* outlives main: the exit handler cleans up */
	int fd, ofd, st2;

	mt_setup(&t, MT_TMPFS, 32);
	fd = open(mt_path(&t, "sparse"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, FILE_BYTES) == 0);
	CHECK(pwrite(fd, "end", 3, FILE_BYTES - 3) == 3);

	free0 = mt_free_bytes(&t);
	CHECK_OK(daxfs_mmap(fd, 0, MAP_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	base = addr;
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ(st.st_size, FILE_BYTES);
	CHECK(mt_free_bytes(&t) + (2u << 20) <= free0); /* holes allocated */
	CHECK(base[0] == 0 && base[(1u << 20) + 5] == 0);
	CHECK(memcmp(base + FILE_BYTES - 3, "end", 3) == 0);
	CHECK(base[FILE_BYTES + 10] == 0); /* rest of the last page */
	st2 = mt_in_child(touch_past_eof, (void *)(uintptr_t)(FILE_BYTES + 4096));
	CHECK(WIFSIGNALED(st2) && WTERMSIG(st2) == SIGBUS);
	st2 = mt_in_child(touch_past_eof, (void *)(uintptr_t)(MAP_BYTES - 1));
	CHECK(WIFSIGNALED(st2) && WTERMSIG(st2) == SIGBUS);
	CHECK_OK(daxfs_munmap(addr, MAP_BYTES));

	/* Bad arguments */
	CHECK_EQ(daxfs_mmap(fd, 100, 4096, PROT_READ, 0, &addr), -EINVAL);
	CHECK_EQ(daxfs_mmap(fd, 0, 0, PROT_READ, 0, &addr), -EINVAL);
	CHECK_EQ(daxfs_mmap(fd, 0, 4096, PROT_EXEC, 0, &addr), -EINVAL);
	CHECK_EQ(daxfs_mmap(fd, 0, 4096, PROT_READ, 0x100, &addr), -EINVAL);
	CHECK_EQ(daxfs_mmap(-1, 0, 4096, PROT_READ, 0, &addr), -EBADF);
	CHECK_EQ(daxfs_munmap((char *)addr + 1, 4096), -EINVAL);
	close(fd);

	/* Not daxfs: a directory of the mount, a tmpfs file */
	fd = open(t.mnt, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	CHECK_EQ(daxfs_mmap(fd, 0, 4096, PROT_READ, 0, &addr), -ENODEV);
	CHECK(strstr(daxfs_errmsg(), "regular file") != NULL);
	close(fd);
	snprintf(other, sizeof(other), "%s/plain", t.dir);
	ofd = open(other, O_RDWR | O_CREAT, 0644);
	CHECK(ofd >= 0 && ftruncate(ofd, 4096) == 0);
	CHECK(!daxfs_is_daxfs(ofd));
	CHECK_EQ(daxfs_mmap(ofd, 0, 4096, PROT_READ, 0, &addr), -ENODEV);
	CHECK(strstr(daxfs_errmsg(), "FUSE") != NULL);
	close(ofd);
	unlink(other);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
