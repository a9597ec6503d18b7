/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_truncate - truncate and unlink of a mapped file: the mapping
 * keeps reading the file's old data while the filesystem is filled up by
 * other files (its blocks are never reused while mapped), the space is not
 * freed while mapped and is freed after the last unmap; fsck is clean.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (8u << 20)

/* Fill the filesystem with "filler" until ENOSPC; returns bytes written. */
static uint64_t fill_up(struct mt *t)
{
	static char buf[1 << 20];
	uint64_t total = 0;
	ssize_t n;
	int fd;

	memset(buf, 'F', sizeof(buf));
	fd = open(mt_path(t, "filler"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	CHECK(n < 0 && errno == ENOSPC);
	close(fd);
	return total;
}

static void check_all(const unsigned char *p, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		CHECK(p[i] == c);
}

/* Wait up to 5 s for the free space to reach at least @want bytes. */
static bool wait_free(struct mt *t, uint64_t want)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (mt_free_bytes(t) >= want)
			return true;
		usleep(50000);
	}
	return false;
}

static void run(struct mt *t, bool do_unlink)
{
	uint64_t free0, free1;
	void *addr = NULL;
	int fd;

	fd = mt_make_file(t, "victim", FILE_BYTES, 'V', O_RDWR);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	close(fd); /* the mapping alone must keep the blocks */
	free0 = mt_free_bytes(t);
	if (do_unlink)
		CHECK(unlink(mt_path(t, "victim")) == 0);
	else
		CHECK(truncate(mt_path(t, "victim"), 0) == 0);
	usleep(200000);
	free1 = mt_free_bytes(t);
	CHECK(free1 < free0 + FILE_BYTES / 2); /* not freed while mapped */
	check_all(addr, FILE_BYTES, 'V');

	fill_up(t);
	check_all(addr, FILE_BYTES, 'V'); /* nobody got our blocks */
	CHECK(unlink(mt_path(t, "filler")) == 0);
	CHECK(wait_free(t, free1 - 1024 * 1024));

	free1 = mt_free_bytes(t);
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
	CHECK(wait_free(t, free1 + FILE_BYTES - 64 * 1024)); /* freed after unmap */
	if (!do_unlink)
		CHECK(unlink(mt_path(t, "victim")) == 0);
}

int main(void)
{
	static struct mt t; /* outlives main: the exit handler cleans up */

	mt_setup(&t, MT_TMPFS, 48);
	run(&t, false);
	run(&t, true);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
