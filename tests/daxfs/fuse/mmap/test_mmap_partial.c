/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_partial - partial unmaps: cutting the head, the tail and a hole
 * in the middle of a DAX mapping leaves the rest mapped and working, the
 * layout pin stays until the last byte is unmapped (space of a truncated
 * file comes back only then), and DAXFS_MMAP_FIXED over part of a mapping
 * replaces that part.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define MIB (1u << 20)
#define FILE_BYTES (8 * MIB)

int main(void)
{
	struct daxfs_mapping_info mi;
	uint64_t free0;
	char *p, *q;
	void *addr = NULL, *fixed;
	static struct mt t; /* outlives main: the exit handler cleans up */
	int fd, fd2, i;

	mt_setup(&t, MT_TMPFS, 48);
	fd = mt_make_file(&t, "f", FILE_BYTES, 'x', O_RDWR);
	fd2 = mt_make_file(&t, "g", 2 * MIB, 'g', O_RDWR);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	p = addr;
	CHECK_OK(daxfs_munmap(p, MIB));		      /* head */
	CHECK_OK(daxfs_munmap(p + 7 * MIB, MIB));     /* tail */
	CHECK_OK(daxfs_munmap(p + 3 * MIB, 2 * MIB)); /* middle: split */
	CHECK(!daxfs_is_mapped(p, 1));
	CHECK(!daxfs_is_mapped(p + 4 * MIB, 1));
	CHECK(daxfs_is_mapped(p + MIB, 2 * MIB));
	CHECK(daxfs_is_mapped(p + 5 * MIB, 2 * MIB));
	CHECK_OK(daxfs_mapping_info(p + 5 * MIB, &mi));
	CHECK(mi.addr == p + 5 * MIB);
	CHECK_EQ(mi.file_off, 5 * MIB);
	CHECK_EQ(mi.len, 2 * MIB);
	CHECK(p[MIB] == 'x' && p[7 * MIB - 1] == 'x');
	p[MIB] = 'A';
	p[6 * MIB] = 'B';
	CHECK_OK(daxfs_persist(p + MIB, 1));
	CHECK_OK(daxfs_persist(p + 6 * MIB, 1));

	/* DAXFS_MMAP_FIXED over the second piece: file g replaces it. */
	fixed = p + 5 * MIB;
	CHECK_OK(daxfs_mmap(fd2, 0, 2 * MIB, PROT_READ, DAXFS_MMAP_FIXED, &fixed));
	CHECK(fixed == p + 5 * MIB);
	q = fixed;
	CHECK(q[0] == 'g' && q[2 * MIB - 1] == 'g');
	CHECK_OK(daxfs_mapping_info(q, &mi));
	CHECK(!mi.writable);

	/* The first piece still pins f. */
	free0 = mt_free_bytes(&t);
	CHECK(ftruncate(fd, 0) == 0);
	usleep(200000);
	CHECK(mt_free_bytes(&t) < free0 + FILE_BYTES / 2);
	CHECK(p[MIB] == 'A');
	CHECK_OK(daxfs_munmap(p + MIB, 2 * MIB));
	for (i = 0; i < 100 && mt_free_bytes(&t) < free0 + FILE_BYTES - 65536; i++)
		usleep(50000);
	CHECK(mt_free_bytes(&t) >= free0 + FILE_BYTES - 65536);
	CHECK_OK(daxfs_munmap(q, 2 * MIB));
	close(fd);
	close(fd2);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
