/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_killed - a client killed with SIGKILL while it maps an unlinked
 * file: the daemon notices (the client's connection closes), drops the
 * layout pin and frees the space; the filesystem stays consistent.
 */
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (8u << 20)

int main(void)
{
	uint64_t free0;
	static struct mt t; /* outlives main: the exit handler cleans up */
	int fd, st, i, ready[2];
	pid_t pid;
	char c;

	mt_setup(&t, MT_TMPFS, 32);
	close(mt_make_file(&t, "doomed", FILE_BYTES, 'D', O_RDWR));
	CHECK(pipe(ready) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		void *addr = NULL;

		mt_current = NULL;
		fd = open(mt_path(&t, "doomed"), O_RDWR);
		CHECK(fd >= 0);
		CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
		close(fd);
		CHECK(write(ready[1], "r", 1) == 1);
		for (;;)
			pause();
	}
	CHECK(read(ready[0], &c, 1) == 1);
	free0 = mt_free_bytes(&t);
	CHECK(unlink(mt_path(&t, "doomed")) == 0);
	usleep(300000);
	CHECK(mt_free_bytes(&t) < free0 + FILE_BYTES / 2); /* pinned */
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st));
	for (i = 0; i < 100 && mt_free_bytes(&t) < free0 + FILE_BYTES - 65536; i++)
		usleep(50000);
	CHECK(mt_free_bytes(&t) >= free0 + FILE_BYTES - 65536);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
