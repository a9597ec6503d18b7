/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_persist - stores through a DAX mapping, persisted with
 * daxfs_persist()/daxfs_msync(), survive unmount and remount: read back
 * with read(2) and through a new mapping; holes in the mapped range were
 * allocated at map time; fsck is clean.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (6u << 20) /* 6 MiB, created as one hole */

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 12));
}

int main(void)
{
	struct daxfs_mapping_info mi;
	unsigned char *p, *buf;
	struct stat st;
	uint64_t free0;
	static struct mt t; /* outlives main: the exit handler cleans up */
	void *addr = NULL;
	size_t i;
	int fd;

	mt_setup(&t, MT_TMPFS, 64);
	fd = open(mt_path(&t, "data"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, FILE_BYTES) == 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK_EQ(st.st_blocks, 0);
	CHECK(daxfs_is_daxfs(fd));

	free0 = mt_free_bytes(&t);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	CHECK(mt_free_bytes(&t) + FILE_BYTES <= free0); /* holes allocated */
	CHECK_OK(daxfs_mapping_info((char *)addr + 5000, &mi));
	CHECK(mi.addr == addr);
	CHECK_EQ(mi.len, FILE_BYTES);
	CHECK_EQ(mi.file_size, FILE_BYTES);
	CHECK(mi.writable);
	p = addr;
	for (i = 0; i < FILE_BYTES; i++)
		CHECK(p[i] == 0);
	for (i = 0; i < FILE_BYTES; i++)
		p[i] = pattern(i);
	CHECK_OK(daxfs_persist(p, FILE_BYTES / 2));
	CHECK_OK(daxfs_msync(p + FILE_BYTES / 2, FILE_BYTES / 2, MS_SYNC));
	CHECK_EQ(daxfs_persist(p, FILE_BYTES + 4096), -EINVAL); /* not inside */
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
	CHECK(!daxfs_is_mapped(addr, 1));
	close(fd);

	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	mt_mount(&t);

	fd = open(mt_path(&t, "data"), O_RDONLY);
	CHECK(fd >= 0);
	buf = malloc(FILE_BYTES);
	CHECK(buf);
	CHECK(pread(fd, buf, FILE_BYTES, 0) == FILE_BYTES);
	for (i = 0; i < FILE_BYTES; i++)
		CHECK(buf[i] == pattern(i));
	addr = NULL;
	CHECK_OK(daxfs_mmap(fd, 2 << 20, 2 << 20, PROT_READ, 0, &addr));
	CHECK(memcmp(addr, buf + (2 << 20), 2 << 20) == 0);
	CHECK_OK(daxfs_munmap(addr, 2 << 20));
	close(fd);
	free(buf);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
