/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_ro - DAX mmap on a read-only mount: files map read-only with
 * their data, holes read as zeros (nothing can be allocated), writable
 * mappings are refused, and the region is left untouched (fsck clean).
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define MIB (1u << 20)

int main(void)
{
	char *p;
	void *addr = NULL;
	static struct mt t; /* outlives main: the exit handler cleans up */
	int fd;

	mt_setup(&t, MT_TMPFS, 32);
	fd = mt_make_file(&t, "data", 2 * MIB, 'd', O_RDWR);
	CHECK(ftruncate(fd, 4 * MIB) == 0); /* second half is a hole */
	close(fd);
	mt_umount(&t);
	snprintf(t.opts, sizeof(t.opts), "-o ro");
	mt_mount(&t);

	fd = open(mt_path(&t, "data"), O_RDWR);
	CHECK(fd < 0 && errno == EROFS);
	fd = open(mt_path(&t, "data"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(daxfs_mmap(fd, 0, 4 * MIB, PROT_READ | PROT_WRITE, 0, &addr), -EACCES);
	CHECK(strstr(daxfs_errmsg(), "read-only") != NULL);
	CHECK_OK(daxfs_mmap(fd, 0, 4 * MIB, PROT_READ, 0, &addr));
	p = addr;
	CHECK(p[0] == 'd' && p[2 * MIB - 1] == 'd');
	CHECK(p[2 * MIB] == 0 && p[4 * MIB - 1] == 0);
	CHECK_OK(daxfs_munmap(addr, 4 * MIB));
	close(fd);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
