/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_two_procs - two processes that map one file see each other's
 * stores at once; a child that inherits a mapping over fork keeps using it
 * (and keeps the layout pin) after the parent unmapped its copy.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (4u << 20)

static struct mt t;
static int to_child[2], to_parent[2];

static bool wait_value(volatile uint64_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (*p == v)
			return true;
		usleep(1000);
	}
	return false;
}

static void independent_child(void *arg)
{
	volatile uint64_t *p;
	void *addr = NULL;
	char c;
	int fd;

	fd = open(mt_path(&t, "shared"), O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	p = addr;
	CHECK(write(to_parent[1], "r", 1) == 1);
	CHECK(wait_value(&p[1000], 0x1111));
	p[2000] = 0x2222;
	CHECK(read(to_child[0], &c, 1) == 1);
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
	close(fd);
}

int main(void)
{
	volatile uint64_t *p;
	uint64_t free0;
	void *addr = NULL;
	pid_t pid;
	char c;
	int fd, st, i;

	mt_setup(&t, MT_TMPFS, 32);
	fd = mt_make_file(&t, "shared", FILE_BYTES, 0, O_RDWR);
	CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	p = addr;

	/* Two independent mappings. */
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		independent_child(NULL);
		_exit(0);
	}
	CHECK(read(to_parent[0], &c, 1) == 1);
	p[1000] = 0x1111;
	CHECK(wait_value(&p[2000], 0x2222));
	CHECK(write(to_child[1], "x", 1) == 1);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A mapping inherited over fork. */
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(read(to_child[0], &c, 1) == 1); /* parent unmapped and truncated */
		for (i = 0; i < 100; i++)
			CHECK(p[1000] == 0x1111);
		p[3000] = 0x3333;
		CHECK(p[3000] == 0x3333);
		_exit(0);
	}
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
	free0 = mt_free_bytes(&t);
	CHECK(ftruncate(fd, 0) == 0);
	usleep(200000);
	CHECK(mt_free_bytes(&t) < free0 + FILE_BYTES / 2); /* child still pins */
	CHECK(write(to_child[1], "x", 1) == 1);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < 100 && mt_free_bytes(&t) < free0 + FILE_BYTES - 65536; i++)
		usleep(50000);
	CHECK(mt_free_bytes(&t) >= free0 + FILE_BYTES - 65536);
	close(fd);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
