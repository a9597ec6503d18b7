/* SPDX-License-Identifier: MIT */
/*
 * test_region_chunk.h - what the chunked region tests share.
 */
#ifndef PMD_TEST_REGION_CHUNK_H
#define PMD_TEST_REGION_CHUNK_H

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "region.h"
#include "test.h"

/*
 * splice_given_page - give chunk @idx of @r to a child that maps it,
 * vmsplices its first 4 KiB into a pipe and exits: afterwards no open file
 * of the chunk is left outside @r, only the pipe's reference to the page.
 * Returns the pipe's read end.
 */
static inline int splice_given_page(struct pmr_region *r, uint64_t idx)
{
	int pipefd[2], st, fd;
	pid_t pid;

	CHECK_OK(pmr_chunk_give(r, idx, true, &fd));
	CHECK_OK(pipe(pipefd));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		void *m = mmap(NULL, PMR_CHUNK_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		struct iovec iov = {.iov_base = m, .iov_len = 4096};

		munmap(pmr_addr(r), pmr_size(r)); /* the inherited mapping holds it too */
		_exit(m == MAP_FAILED || vmsplice(pipefd[1], &iov, 1, 0) != 4096);
	}
	close(fd);
	close(pipefd[1]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return pipefd[0];
}

#endif
