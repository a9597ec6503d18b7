/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_hugetlb - the hugetlbfs form of the hostile chunk holder
 * (issue 12). On a chunked region on hugetlbfs, an unprivileged user made
 * by the test maps their own file writable and keeps the chunk
 * descriptors libdaxfs closes; they punch one chunk's huge page out
 * (fallocate PUNCH_HOLE) and truncate another chunk to 0 bytes. Then the
 * system's huge page pool is used up (hugepool.h), so the daemon's next
 * access to those chunks finds no page and cannot get one: a SIGBUS that
 * giving the size back does not cure.
 *
 * While the pool is used up, root works through the mount:
 *  - the user's file reads its own bytes or zeros, or fails with EIO, and
 *    `daxfs stat` counts the chunks the daemon detached (after the read
 *    alone: on the dax path the kernel reads region memory for the reply,
 *    where a lost page is EFAULT and not a signal to the daemon);
 *  - writes into it succeed (and read back) or fail with EIO;
 *  - root's other file reads back unchanged, a new file is written and
 *    read, the daemon answers `daxfs stat`;
 *  - after the user is gone, unmount and mount again: a page a user punched
 *    out of their own chunk must not make the region unmountable; root's
 *    files are intact, the user's file reads as before.
 * Then the pool is given back: unmount, fsck.daxfs -n clean, mount, files
 * intact, and at exit the pool is as it was (on every exit path: the
 * keeper in hugepool.h).
 *
 * argv[1] is the data path (dax or bio).
 */
#include <linux/falloc.h>
#include <sys/mman.h>

#include "hugepool.h"
#include "mmholder.h"

#define MIB (1024 * 1024)
#define REGION_MIB 32
#define NCHUNKS (REGION_MIB / 2)
#define PAGE 4096
#define VICTIM_SIZE (4 * MIB + 2 * PAGE)
#define OTHER_SIZE MIB
#define WRITE_LEN (64 * 1024)
#define HANG_SECONDS 240 /* a hang detector only: each step takes milliseconds */

static struct mt t;

/* What the user's child tells root. */
struct report {
	int given;     /* chunk descriptors kept */
	int punched;   /* given[0]: punched by the user (else root does it) */
	int truncated; /* given[1]: truncated to 0 by the user */
	ino_t ino[64]; /* the chunks' inode numbers */
};

/* The user: map the own file writable, punch one chunk, truncate another. */
static void user_child(void *arg, int go, int out)
{
	struct report rep = {0};
	char b;

	(void)arg;
	rep.given = mh_hold(&t, "victim", VICTIM_SIZE, rep.ino, 64);
	if (rep.given >= 2) {
		rep.punched = !fallocate(mu_kept[0], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
					 2 * MIB);
		if (!rep.punched)
			printf("user: punching chunk descriptor %d refused: %s\n", mu_kept[0],
			       strerror(errno));
		rep.truncated = !ftruncate(mu_kept[1], 0);
		if (!rep.truncated)
			printf("user: ftruncate of chunk descriptor %d refused: %s\n", mu_kept[1],
			       strerror(errno));
	}
	CHECK(write(out, &rep, sizeof(rep)) == sizeof(rep));
	/* hold the mapping and the descriptors until root is done */
	while (read(go, &b, 1) == 1)
		;
	_exit(0);
}

/* the region's chunk file with inode number @ino */
static const char *chunk_path(ino_t ino)
{
	static char path[600];

	for (int c = 0; c < NCHUNKS; c++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/chunk.%08x", t.region, c);
		CHECK(stat(path, &st) == 0);
		if (st.st_ino == ino)
			return path;
	}
	fprintf(stderr, "FAIL: no chunk file of the region has inode %lu\n", (unsigned long)ino);
	exit(1);
}

/* root does what the kernel did not let the user do, so the daemon's side
 * is tested either way; then both chunks must have lost their page */
static void attack_done(const struct report *rep)
{
	const char *p0, *p1;
	struct stat st;
	int fd;

	p0 = chunk_path(rep->ino[0]);
	if (!rep->punched) {
		fd = open(p0, O_RDWR);
		CHECK(fd >= 0);
		CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * MIB) == 0);
		close(fd);
		printf("root: punched the chunk the user could not\n");
	}
	CHECK(stat(p0, &st) == 0);
	CHECK_EQ(st.st_blocks, 0);
	CHECK_EQ(st.st_size, 2 * MIB);
	p1 = chunk_path(rep->ino[1]);
	if (!rep->truncated) {
		CHECK(truncate(p1, 0) == 0);
		printf("root: truncated the chunk the user could not\n");
	}
	CHECK(stat(p1, &st) == 0);
	CHECK_EQ(st.st_size, 0);
}

/* the user's file: each byte its own ('v', or what root wrote) or zero */
static void read_victim(const char *what)
{
	static uint8_t buf[VICTIM_SIZE];
	int fd = open(mt_path(&t, "victim"), O_RDONLY);
	long zeros = 0;

	CHECK(fd >= 0);
	if (mh_ok_or_eio(what, pread(fd, buf, VICTIM_SIZE, 0), VICTIM_SIZE)) {
		for (long i = 0; i < VICTIM_SIZE; i++) {
			if (buf[i] != 'v' && buf[i] != 'w' && buf[i] != 0) {
				fprintf(stderr,
					"FAIL: victim byte %ld is %#x (not its own or zero)\n", i,
					buf[i]);
				exit(1);
			}
			zeros += !buf[i];
		}
		printf("  %ld of %d bytes read as zeros\n", zeros, VICTIM_SIZE);
	}
	close(fd);
}

/* in a child: the mapping @arg of the user's file reads what read(2) reads */
static void compare_mapping(void *arg)
{
	static uint8_t buf[VICTIM_SIZE];
	const uint8_t *p = arg;
	int fd = open(mt_path(&t, "victim"), O_RDONLY);

	if (fd < 0 || pread(fd, buf, VICTIM_SIZE, 0) != VICTIM_SIZE)
		_exit(3); /* EIO: nothing to compare with */
	_exit(memcmp(p, buf, VICTIM_SIZE) ? 2 : 0);
}

/*
 * A new mapping of the user's file, made while a chunk of it is detached,
 * must see what read(2) sees (the daemon's bytes), not the chunk file.
 */
static void map_victim(void)
{
	struct daxfs_mapping_info mi;
	void *p = NULL;
	int fd = open(mt_path(&t, "victim"), O_RDWR), st;

	CHECK(fd >= 0);
	if (daxfs_mmap(fd, 0, VICTIM_SIZE, PROT_READ | PROT_WRITE, 0, &p)) {
		fprintf(stderr, "FAIL: root's daxfs_mmap of the user's file: %s\n", daxfs_errmsg());
		exit(1);
	}
	CHECK(daxfs_mapping_info(p, &mi) == 0);
	st = mt_in_child(compare_mapping, p);
	if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 2)) {
		fprintf(stderr, "FAIL: a %s mapping of the user's file made after the detach %s\n",
			mi.page_cache ? "page-cache" : "DAX",
			WIFSIGNALED(st) ? "raises a signal where read(2) answers"
					: "differs from what read(2) reads");
		exit(1);
	}
	printf("%-40s %s\n", "new mapping agrees with read(2)",
	       WIFEXITED(st) && WEXITSTATUS(st) == 3 ? "(read EIO)"
	       : mi.page_cache			     ? "(page cache)"
						     : "(DAX)");
	CHECK(daxfs_munmap(p, mi.len) == 0);
	close(fd);
}

/* root writes into every chunk of the user's file */
static void write_victim(void)
{
	static uint8_t w[WRITE_LEN], r[WRITE_LEN];
	int fd = open(mt_path(&t, "victim"), O_RDWR);
	char what[64];

	CHECK(fd >= 0);
	memset(w, 'w', sizeof(w));
	for (off_t off = 0; off < VICTIM_SIZE; off += 2 * MIB) {
		snprintf(what, sizeof(what), "write at %lld MiB of the user's file",
			 (long long)(off / MIB));
		if (mh_ok_or_eio(what, pwrite(fd, w, sizeof(w), off), WRITE_LEN)) {
			CHECK(pread(fd, r, sizeof(r), off) == WRITE_LEN);
			CHECK(!memcmp(r, w, sizeof(r)));
		}
	}
	close(fd);
}

static void others_intact(void)
{
	struct statvfs sv;

	CHECK(statvfs(t.mnt, &sv) == 0);
	mh_check_contents(&t, "other", OTHER_SIZE, 'o');
	mh_check_contents(&t, "new", OTHER_SIZE, 'n');
	printf("%-40s done\n", "root's files intact");
}

int main(int argc, char **argv)
{
	struct report rep;
	int go, done, st;
	pid_t pid;

	/* the region, and as many again for fsck -n's private mapping */
	hp_setup(2 * NCHUNKS + 2);
	mh_setup(&t, argc, argv, MT_HUGETLBFS, REGION_MIB, "pmdhtl", VICTIM_SIZE, OTHER_SIZE);

	pid = mt_spawn(user_child, NULL, &go, &done);
	CHECK(read(done, &rep, sizeof(rep)) == sizeof(rep));
	printf("user: %d chunk descriptors given; punched %s, truncated %s\n", rep.given,
	       rep.punched ? "one" : "none", rep.truncated ? "one" : "none");
	CHECK(rep.given >= 2); /* a 4 MiB file in chunks of its own */
	attack_done(&rep);
	hp_exhaust();
	if (hp_free() != 0) {
		fprintf(stderr, "FAIL: %ld huge pages are still free: the pool cannot be used up\n",
			hp_free());
		exit(1);
	}

	alarm(HANG_SECONDS);
	read_victim("read of the user's file");
	mh_check_stat(&t, "^resized chunks: .*, [1-9][0-9]* detached", "the chunks without a page");
	map_victim();
	write_victim();
	read_victim("read after the writes");
	mh_fill(&t, "new", OTHER_SIZE, 'n', 0644);
	others_intact();

	/* the user goes; the region is mounted again with the pool still used up */
	syscall(SYS_close, go);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	syscall(SYS_close, done);
	mt_umount(&t);
	printf("%-40s done\n", "unmount, pool used up");
	if (mt_run("'%s' %s '%s' '%s'", DAXFS_BIN, t.opts, t.region, t.mnt) != 0) {
		fprintf(stderr, "FAIL: the region does not mount while the pool is used up: a "
				"user's punched chunk locks everyone out\n");
		exit(1);
	}
	t.mounted = true;
	printf("%-40s done\n", "mount, pool used up");
	others_intact();
	read_victim("read of the user's file after the mount");
	mh_check_stat(&t, "^resized chunks: .*, [1-9][0-9]* detached", "the chunks without a page");

	/* the pool back: everything as it should be */
	hp_release();
	mt_umount(&t);
	if (mt_fsck(&t))
		mt_run("'%s' -n '%s' >&2", FSCK_BIN, t.region);
	CHECK_EQ(mt_fsck(&t), 0);
	mt_mount(&t);
	others_intact();
	read_victim("read of the user's file, pool back");
	alarm(0);
	mt_umount(&t);
	printf("ok\n");
	return 0;
}
