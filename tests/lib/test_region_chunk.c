/* SPDX-License-Identifier: MIT */
/*
 * test_region_chunk - chunked regions (a directory of 2 MiB chunk files)
 * on tmpfs:
 *  - create makes the directory (0700), the marker, the chunks and the
 *    exposure record; the mapping is one 2 MiB-aligned range whose bytes
 *    are the chunks' bytes in order; data survives close and reopen;
 *  - pmr_fd() is the directory and the region lock of a chunked region is
 *    one lock (another process is refused);
 *  - pmr_chunk_give: a read-only descriptor reads its chunk only, cannot
 *    write it, and /proc/self/fd reopening needs the chunk's permissions;
 *    the chunk is recorded as given durably (a reopen knows);
 *  - pmr_reclaim: refused while another process holds the chunk (a
 *    descriptor, a mapping, an inherited mapping), granted when it is gone;
 *    page references that outlive the files (vmsplice into a pipe) do not
 *    see what the region stores after the reclaim;
 *  - a process that opened a chunk file itself exposes nothing;
 *  - single-file regions: pmr_exposure_scan finds another process's
 *    mapping of a chunk, and pmr_reclaim takes it back once it is gone;
 *  - bad directories are refused with the reason: no marker, writable by
 *    others, a missing or wrong-sized chunk, a foreign marker or version;
 *    create of an existing path, and a create that runs out of space
 *    leaves nothing behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errmsg.h"
#include "region.h"
#include "test.h"
#include "test_region_chunk.h"
#include "units.h"

#define NCHUNKS 4
#define SIZE (NCHUNKS * PMR_CHUNK_SIZE)

static char path[256];

static void rm_region(const char *p)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", p);
}

static void chunk_path(char *buf, size_t len, const char *dir, unsigned idx)
{
	snprintf(buf, len, "%s/chunk.%08x", dir, idx);
}

/* A child that runs @fn and then waits until the pipe it is given closes. */
struct child {
	pid_t pid;
	int go;
};

static struct child child_hold(void (*fn)(void *), void *arg)
{
	int ready[2], go[2];
	struct child c;
	char b;

	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(go));
	c.pid = fork();
	CHECK(c.pid >= 0);
	if (c.pid == 0) {
		close(ready[0]);
		close(go[1]);
		fn(arg);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		while (read(go[0], &b, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c.go = go[1];
	return c;
}

static void child_release(struct child *c)
{
	int st;

	close(c->go);
	CHECK_EQ(waitpid(c->pid, &st, 0), c->pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* the child keeps what it inherited (a descriptor) */
static void hold_inherited(void *arg)
{
	(void)arg;
}

static void hold_map_chunk2(void *arg)
{
	int fd;
	char p[300];

	chunk_path(p, sizeof(p), arg, 2);
	fd = open(p, O_RDONLY);
	if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		_exit(3);
	close(fd);
}

static void test_create_layout(void)
{
	struct pmr_region *r;
	struct pmr_info info;
	struct stat st;
	char p[300];
	uint8_t *a;
	int gfd;

	CHECK_OK(pmr_create(path, SIZE, PMR_F_CHUNKED, &r));
	CHECK_OK(stat(path, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	for (unsigned i = 0; i < NCHUNKS; i++) {
		chunk_path(p, sizeof(p), path, i);
		CHECK_OK(stat(p, &st));
		CHECK(S_ISREG(st.st_mode));
		CHECK_EQ(st.st_size, PMR_CHUNK_SIZE);
		CHECK_EQ(st.st_mode & 0777, 0600);
	}
	chunk_path(p, sizeof(p), path, NCHUNKS);
	CHECK(stat(p, &st) && errno == ENOENT);
	snprintf(p, sizeof(p), "%s/pmemdev-region.1.%d", path, NCHUNKS);
	CHECK_OK(stat(p, &st));

	pmr_get_info(r, &info);
	CHECK(info.chunked);
	CHECK(pmr_is_chunked(r));
	CHECK_EQ(info.chunks, NCHUNKS);
	CHECK_EQ(info.size, SIZE);
	CHECK_EQ(info.backend, PMR_BACKEND_TMPFS);
	CHECK_EQ(info.granularity, PMR_GRAN_CACHELINE);
	CHECK_EQ(info.exposed_chunks, 0);
	CHECK(is_aligned((uintptr_t)pmr_addr(r), HUGE_SIZE));
	CHECK_OK(fstat(pmr_fd(r), &st));
	CHECK(S_ISDIR(st.st_mode));

	/* a pattern across every chunk boundary */
	a = pmr_addr(r);
	for (uint64_t o = 0; o < SIZE; o += 4096)
		a[o] = (uint8_t)(o / 4096 + 1);
	pmr_memcpy(r, a + PMR_CHUNK_SIZE - 3, "XYZUVW", 6, 0);
	pmr_persist(r, a, SIZE);
	pmr_close(&r);

	/* the chunks hold the bytes in order */
	for (unsigned i = 0; i < NCHUNKS; i++) {
		uint8_t b;
		int fd;

		chunk_path(p, sizeof(p), path, i);
		fd = open(p, O_RDONLY);
		CHECK(fd >= 0);
		CHECK_EQ(pread(fd, &b, 1, 4096), 1);
		CHECK_EQ(b, (uint8_t)((i * PMR_CHUNK_SIZE + 4096) / 4096 + 1));
		close(fd);
	}
	CHECK_OK(pmr_open(path, 0, &r));
	a = pmr_addr(r);
	CHECK(!memcmp(a + PMR_CHUNK_SIZE - 3, "XYZUVW", 6));
	CHECK_EQ(a[3 * PMR_CHUNK_SIZE + 8192], (uint8_t)((3 * PMR_CHUNK_SIZE + 8192) / 4096 + 1));
	pmr_close(&r);
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	pmr_get_info(r, &info);
	CHECK(info.read_only && info.chunked);
	pmr_close(&r);

	/* private (fsck -n): writable in this process, nothing reaches the chunks */
	CHECK_OK(pmr_open(path, PMR_F_PRIVATE, &r));
	a = pmr_addr(r);
	CHECK_EQ(a[4096], 2);
	memset(a, 0xAB, SIZE);
	pmr_persist(r, a, SIZE);
	CHECK_EQ(pmr_chunk_give(r, 1, false, &gfd), -EROFS);
	pmr_close(&r);
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	a = pmr_addr(r);
	CHECK(!memcmp(a + PMR_CHUNK_SIZE - 3, "XYZUVW", 6));
	CHECK_EQ(a[4096], 2);
	pmr_close(&r);
}

static void test_lock(void)
{
	struct pmr_region *r;
	char cmd[400];

	/* flock(1) is another process with its own open of the directory */
	snprintf(cmd, sizeof(cmd), "flock -n -s '%s' true", path);
	CHECK_OK(pmr_open(path, PMR_F_LOCK_EXCL, &r));
	CHECK(system(cmd) != 0);
	pmr_close(&r);
	CHECK_EQ(system(cmd), 0);
}

static void test_give_reclaim(void)
{
	struct pmr_region *r;
	struct child c;
	uint8_t buf[8], *a;
	char proc[64];
	bool done[2];
	uint64_t idx[2] = {1, 2};
	int fd, fd2;

	CHECK_OK(pmr_open(path, 0, &r));
	a = pmr_addr(r);
	memset(a + PMR_CHUNK_SIZE, 0xA1, PMR_CHUNK_SIZE);
	memset(a + 2 * PMR_CHUNK_SIZE, 0xA2, PMR_CHUNK_SIZE);
	pmr_persist(r, a, SIZE);

	CHECK_EQ(pmr_chunk_give(r, NCHUNKS, true, &fd), -EINVAL);
	CHECK_OK(pmr_chunk_give(r, 1, true, &fd));
	CHECK(pmr_chunk_exposed(r, 1));
	CHECK(!pmr_chunk_exposed(r, 2));
	CHECK_EQ(pmr_exposed_count(r), 1);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	/* it reads chunk 1 and nothing past it */
	CHECK_EQ(pread(fd, buf, 8, 0), 8);
	CHECK_EQ(buf[0], 0xA1);
	CHECK_EQ(pread(fd, buf, 8, PMR_CHUNK_SIZE), 0);
	CHECK_EQ(pwrite(fd, buf, 1, 0), -1);
	CHECK_EQ(errno, EBADF);
	/* reopening through /proc follows the chunk's mode (0600, ours: ok) */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	fd2 = open(proc, O_RDWR);
	CHECK(fd2 >= 0);
	close(fd2);

	/* a child holds the descriptor: no reclaim */
	c = child_hold(hold_inherited, NULL);
	close(fd);
	CHECK_EQ(pmr_reclaim(r, idx, 1, done), 0);
	CHECK(!done[0]);
	CHECK(pmr_chunk_exposed(r, 1));
	CHECK_EQ(a[PMR_CHUNK_SIZE + 100], 0xA1); /* our mapping is untouched */
	child_release(&c);
	/* gone: reclaimed, its pages replaced (zero), record cleared */
	CHECK_EQ(pmr_reclaim(r, idx, 2, done), 1);
	CHECK(done[0] && !done[1]);
	CHECK(!pmr_chunk_exposed(r, 1));
	CHECK_EQ(a[PMR_CHUNK_SIZE + 100], 0);
	CHECK_EQ(a[2 * PMR_CHUNK_SIZE + 100], 0xA2); /* not exposed: not touched */
	a[PMR_CHUNK_SIZE + 100] = 7;		      /* the new pages are ours */
	pmr_close(&r);
}

static void test_give_durable(void)
{
	struct pmr_region *r;
	uint64_t idx = 3;
	bool done;
	int fd;

	CHECK_OK(pmr_open(path, 0, &r));
	CHECK_OK(pmr_chunk_give(r, 3, false, &fd));
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	close(fd);
	pmr_close(&r);
	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	CHECK(pmr_chunk_exposed(r, 3));
	CHECK_EQ(pmr_chunk_give(r, 3, false, &fd), -EROFS);
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), -EROFS);
	pmr_close(&r);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(pmr_chunk_exposed(r, 3));
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 1);
	pmr_close(&r);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(!pmr_chunk_exposed(r, 3));
	CHECK_EQ(pmr_exposed_count(r), 0);
	pmr_close(&r);
}

/*
 * A mapping (the descriptor closed) of a given chunk holds it; a process
 * that opened a chunk file itself (it could open the region) exposes nothing.
 */
static void test_held_mapping(void)
{
	struct pmr_region *r;
	struct child c;
	uint64_t idx = 2;
	bool done;
	int fd;

	c = child_hold(hold_map_chunk2, path);
	CHECK_OK(pmr_open(path, 0, &r));
	CHECK(!pmr_chunk_exposed(r, 2));
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 0);
	CHECK_OK(pmr_chunk_give(r, 2, true, &fd));
	close(fd);
	CHECK(pmr_chunk_exposed(r, 2));
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 0); /* the child maps it */
	child_release(&c);
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 1);
	pmr_close(&r);
}

/* vmsplice keeps a page after every file is gone; the reclaim cuts it off. */
static void test_vmsplice(void)
{
	struct pmr_region *r;
	uint64_t idx = 1;
	uint8_t *a, got = 0;
	bool done;
	int rd;

	CHECK_OK(pmr_open(path, 0, &r));
	a = pmr_addr(r);
	rd = splice_given_page(r, 1);
	CHECK_EQ(pmr_reclaim(r, &idx, 1, &done), 1);
	a[PMR_CHUNK_SIZE] = 0x5E; /* what the region stores now */
	pmr_persist(r, a + PMR_CHUNK_SIZE, 1);
	CHECK_EQ(read(rd, &got, 1), 1);
	CHECK(got != 0x5E);
	close(rd);
	pmr_close(&r);
}

struct file_hold {
	const char *file;
	void *region; /* the parent's mapping, inherited: dropped first */
};

static void hold_map_file_chunk3(void *arg)
{
	struct file_hold *h = arg;
	int fd = open(h->file, O_RDONLY);

	munmap(h->region, SIZE);
	if (fd < 0 || mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 3 * PMR_CHUNK_SIZE + 4096) ==
			      MAP_FAILED)
		_exit(3);
	close(fd);
}

static void test_single_file_scan(void)
{
	struct pmr_region *r;
	struct child c;
	uint64_t unreadable, idx[2] = {3, 0};
	char file[300];
	bool done[2];
	int fd;

	snprintf(file, sizeof(file), "%s.file", path);
	CHECK_OK(pmr_create(file, SIZE, 0, &r));
	CHECK(!pmr_is_chunked(r));
	CHECK_EQ(pmr_nr_chunks(r), NCHUNKS);
	CHECK_EQ(pmr_chunk_give(r, 0, true, &fd), -EINVAL);
	struct file_hold h = {file, pmr_addr(r)};

	c = child_hold(hold_map_file_chunk3, &h);
	CHECK_OK(pmr_exposure_scan(r, &unreadable));
	CHECK(pmr_chunk_exposed(r, 3));
	CHECK(!pmr_chunk_exposed(r, 0));
	CHECK_EQ(pmr_exposed_count(r), 1);
	CHECK_EQ(pmr_reclaim(r, idx, 2, done), 0);
	child_release(&c);
	CHECK_EQ(pmr_reclaim(r, idx, 2, done), 1);
	CHECK(done[0] && !done[1]);
	CHECK_EQ(pmr_exposed_count(r), 0);
	pmr_close(&r);
	unlink(file);
}

static void expect_open_fails(const char *dir, int err, const char *words)
{
	struct pmr_region *r;

	CHECK_EQ(pmr_open(dir, 0, &r), err);
	if (!strstr(pmd_errmsg(), words)) {
		fprintf(stderr, "message '%s' lacks '%s'\n", pmd_errmsg(), words);
		exit(1);
	}
}

static void write_file(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* mark - make @dir's marker exactly the empty file @name */
static void mark(const char *dir, const char *name)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/pmemdev-region.* && touch '%s/%s'", dir, dir, name);
	CHECK_EQ(system(cmd), 0);
}

static void test_bad_dirs(void)
{
	struct pmr_region *r;
	char bad[300], p[400];

	snprintf(bad, sizeof(bad), "%s.bad", path);
	CHECK_OK(mkdir(bad, 0700));
	expect_open_fails(bad, -EISDIR, "not a chunked region");
	mark(bad, "pmemdev-region.x");
	expect_open_fails(bad, -EINVAL, "not a chunked region marker");
	mark(bad, "pmemdev-region.2.2");
	expect_open_fails(bad, -EPROTONOSUPPORT, "version 2");
	mark(bad, "pmemdev-region.1.2");
	snprintf(p, sizeof(p), "%s/pmemdev-region.1.3", bad);
	write_file(p, "");
	expect_open_fails(bad, -EINVAL, "2 chunked region markers");
	CHECK_OK(unlink(p));
	expect_open_fails(bad, -ENOENT, "chunk.00000000");
	chunk_path(p, sizeof(p), bad, 0);
	write_file(p, "short");
	chunk_path(p, sizeof(p), bad, 1);
	write_file(p, "short");
	CHECK_OK(truncate(p, 3 * PMR_CHUNK_SIZE)); /* grown by a holder: cut back */
	CHECK_EQ(pmr_open(bad, PMR_F_RDONLY, &r), -EINVAL); /* chunk 0 is short */
	CHECK(strstr(pmd_errmsg(), "chunk.00000000 of region"));
	CHECK(strstr(pmd_errmsg(), "writable once"));
	CHECK_OK(chmod(bad, 0777));
	expect_open_fails(bad, -EPERM, "writable by group or others");
	CHECK_OK(chmod(bad, 0700));
	mark(bad, "pmemdev-region.1.1");
	expect_open_fails(bad, -EINVAL, "too small");
	mark(bad, "pmemdev-region.1.2");
	CHECK_OK(pmr_open(bad, 0, &r)); /* a (4 MiB) region: sizes put back */
	{
		struct pmr_info in;
		struct stat st;

		pmr_get_info(r, &in);
		CHECK_EQ(in.resized_chunks, 1); /* chunk 0 was put back by the open above */
		CHECK_OK(stat(p, &st));
		CHECK_EQ(st.st_size, PMR_CHUNK_SIZE);
	}
	pmr_close(&r);
	CHECK_EQ(pmr_create(bad, SIZE, PMR_F_CHUNKED, &r), -EEXIST);
	rm_region(bad);
}

/* A create that runs out of space leaves nothing behind. */
static void test_create_enospc(void)
{
	char mnt[] = "/tmp/pmd-chunk-XXXXXX", p[300];
	struct pmr_region *r;
	DIR *d;
	int n = 0;

	CHECK(mkdtemp(mnt));
	if (mount("pmdtest", mnt, "tmpfs", 0, "size=6M")) {
		rmdir(mnt);
		NEED(0, "cannot mount a tmpfs (needs root)");
	}
	snprintf(p, sizeof(p), "%s/region", mnt);
	CHECK_EQ(pmr_create(p, 16 * MiB, PMR_F_CHUNKED, &r), -ENOSPC);
	CHECK(strstr(pmd_errmsg(), "not enough space"));
	d = opendir(mnt);
	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	CHECK_EQ(n, 2); /* . and .. */
	umount(mnt);
	rmdir(mnt);
}

int main(void)
{
	test_path(path, sizeof(path), "chunk");
	rm_region(path);
	test_create_layout();
	test_lock();
	test_give_reclaim();
	test_give_durable();
	test_held_mapping();
	test_vmsplice();
	test_single_file_scan();
	test_bad_dirs();
	test_create_enospc();
	rm_region(path);
	printf("ok\n");
	return 0;
}
