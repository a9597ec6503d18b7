/* SPDX-License-Identifier: MIT */
/*
 * mmap_shim_prog - an ordinary program that uses plain mmap(2), msync(2)
 * and munmap(2), for test_mmap_shim.sh. It knows nothing of daxfs.
 *
 *   mmap_shim_prog shared FILE   map MAP_SHARED, write, msync, munmap; a
 *                                forked child stores through the inherited
 *                                mapping and execs /bin/true; print where
 *                                the mapping came from ("backing: PATH"
 *                                from /proc/self/maps) and what mremap
 *                                did ("mremap: moved" or the error)
 *   mmap_shim_prog private FILE  MAP_PRIVATE store stays private; anonymous
 *                                memory works
 * Exits 0 on success, 1 with a message otherwise, 3 if mmap failed (errno
 * printed), so the script can tell "no DAX without the shim" apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEN (4u << 20)

static int die(const char *what)
{
	fprintf(stderr, "mmap_shim_prog: %s: %s\n", what, strerror(errno));
	return 1;
}

static void print_backing(void *p)
{
	char line[512], path[400];
	unsigned long a, b;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399s", &a, &b, path) >= 2 &&
		    (unsigned long)p >= a && (unsigned long)p < b) {
			printf("backing: %s\n", path);
			break;
		}
	}
	if (f)
		fclose(f);
}

/*
 * Open @file with @oflags and map LEN bytes of it read-write with @mflags;
 * print where the mapping came from. Returns 0, or the exit status: 1 if
 * the open failed, 3 if the mmap did.
 */
static int map_file(const char *file, int oflags, int mflags, int *fd, char **p)
{
	*fd = open(file, oflags);
	if (*fd < 0)
		return die("open");
	*p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, mflags, *fd, 0);
	if (*p == MAP_FAILED) {
		printf("mmap: %s\n", strerror(errno));
		return 3;
	}
	print_backing(*p);
	return 0;
}

static int shared(const char *file)
{
	char *p, *q;
	pid_t pid;
	int fd, st, err;

	err = map_file(file, O_RDWR, MAP_SHARED, &fd, &p);
	if (err)
		return err;
	close(fd);
	memcpy(p + 4096, "parent-wrote", 12);
	if (msync(p, LEN, MS_SYNC))
		return die("msync");
	q = mremap(p, LEN, 2 * LEN, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		printf("mremap: %s\n", strerror(errno));
	} else {
		printf("mremap: moved\n");
		p = mremap(q, 2 * LEN, LEN, 0);
		if (p == MAP_FAILED)
			return die("mremap back");
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return die("fork");
	if (pid == 0) {
		memcpy(p + 8192, "child-wrote", 11);
		msync(p + 8192, 4096, MS_SYNC);
		execl("/bin/true", "true", (char *)NULL);
		_exit(2);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return die("child");
	if (memcmp(p + 8192, "child-wrote", 11)) {
		fprintf(stderr, "mmap_shim_prog: the child's store is not visible\n");
		return 1;
	}
	if (munmap(p, LEN))
		return die("munmap");
	return 0;
}

static int private(const char *file)
{
	char *p, *anon;
	int fd, err;

	err = map_file(file, O_RDONLY, MAP_PRIVATE, &fd, &p);
	if (err)
		return err;
	memcpy(p, "private!", 8);
	anon = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return die("anonymous mmap");
	anon[12345] = 7;
	if (anon[12345] != 7 || munmap(anon, 1 << 20) || munmap(p, LEN))
		return die("anonymous memory");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "shared"))
		return shared(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "private"))
		return private(argv[2]);
	fprintf(stderr, "usage: mmap_shim_prog shared|private FILE\n");
	return 2;
}
