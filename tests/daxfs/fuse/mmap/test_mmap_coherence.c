/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_coherence - a store through a DAX mapping is seen at once by
 * read(2) through the mount, and a write(2) is seen at once through the
 * mapping (no stale kernel page cache), on the dax and bio data paths.
 * The page data path (a DRAM cache in the daemon) refuses DAX mmap with a
 * reason instead of serving stale data.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (3u << 20)

static void check_coherence(struct mt *t)
{
	char buf[16];
	char *p;
	void *addr = NULL;
	int fd, rfd, i;

	fd = mt_make_file(t, "coh", FILE_BYTES, 'a', O_RDWR);
	rfd = open(mt_path(t, "coh"), O_RDONLY);
	CHECK(rfd >= 0);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	p = addr;
	for (i = 0; i < 50; i++) {
		off_t off = (off_t)((uint64_t)i * 61441 % (FILE_BYTES - 8));

		/* mapping -> read(2) */
		snprintf(p + off, 8, "m%06d", i);
		CHECK(pread(rfd, buf, 8, off) == 8);
		CHECK(memcmp(buf, p + off, 8) == 0);
		/* write(2) -> mapping */
		snprintf(buf, sizeof(buf), "w%06d", i);
		CHECK(pwrite(fd, buf, 8, off + 1) == 8);
		CHECK(memcmp(p + off + 1, buf, 8) == 0);
	}
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
	close(rfd);
	close(fd);
}

int main(void)
{
	void *addr = NULL;
	static struct mt t; /* outlives main: the exit handler cleans up */
	int fd, err;

	mt_setup(&t, MT_TMPFS, 32);
	check_coherence(&t);
	mt_umount(&t);

	snprintf(t.opts, sizeof(t.opts), "-o datapath=bio");
	mt_mount(&t);
	check_coherence(&t);
	mt_umount(&t);

	snprintf(t.opts, sizeof(t.opts), "-o datapath=page");
	mt_mount(&t);
	fd = open(mt_path(&t, "coh"), O_RDWR);
	CHECK(fd >= 0);
	CHECK(!daxfs_is_daxfs(fd));
	err = daxfs_mmap(fd, 0, 4096, PROT_READ, 0, &addr);
	CHECK_EQ(err, -ENODEV);
	CHECK(strstr(daxfs_errmsg(), "page data path") != NULL);
	close(fd);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
