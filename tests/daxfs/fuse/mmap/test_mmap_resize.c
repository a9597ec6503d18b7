/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_resize - a client that changes the size of the chunk files it
 * was given must not take the filesystem down (issue 12: a writable DAX
 * grant hands out O_RDWR chunk descriptors, and ftruncate(2) of one used to
 * make the daemon die of SIGBUS at its next access to those pages).
 *
 * Real mount with allow_other on a chunked region; an unprivileged user
 * made by the test maps their own file writable, keeps the chunk
 * descriptors libdaxfs closes and truncates every one of them to 0 bytes
 * (if the kernel refuses, root truncates the same chunk files in the
 * region directory, so the daemon's side is tested either way). While the
 * user still holds them, root reads, writes and truncates that file
 * through the mount (each may succeed or fail with EIO, nothing else; a
 * write that succeeds reads back), and the rest of the filesystem works:
 * root's other file reads back intact, a new file is written and read,
 * `daxfs stat` lists the user's pin (pid, writable, chunks) and counts
 * the chunks put back. Then the user truncates again after each of root's
 * writes, until the daemon gives up putting the chunk back and detaches it
 * (anonymous memory in its mapping):
 * the writes still answer, and `daxfs stat` counts the detached chunk.
 * After the user is gone: unmount, fsck.daxfs -n clean, mount again, root's
 * files intact.
 *
 * argv[1] is the data path (dax or bio): the dax path writes through the
 * core's copy into the region, the bio path reads and writes through the
 * block layer's copies.
 */
#include <sys/mman.h>

#include "mmholder.h"

#define REGION_MIB 64
#define PAGE 4096
#define VICTIM_SIZE (4 * 1024 * 1024 + 2 * PAGE)
#define OTHER_SIZE (1024 * 1024)
#define WRITE_OFF (1024 * 1024)
#define WRITE_LEN (64 * 1024)
#define HANG_SECONDS 240 /* a hang detector only: each step takes milliseconds */

static struct mt t;

/* What the user's child tells root. */
struct report {
	int given;     /* chunk descriptors kept */
	int truncated; /* of them, truncated to 0 by the user */
	ino_t ino[64]; /* their inode numbers */
};

/* The user: map the own file writable, truncate every chunk, hold on. */
static void user_child(void *arg, int go, int out)
{
	struct report rep = {0};
	char b;

	(void)arg;
	rep.given = mh_hold(&t, "victim", VICTIM_SIZE, rep.ino, 64);
	for (int k = 0; k < rep.given; k++) {
		if (ftruncate(mu_kept[k], 0) == 0)
			rep.truncated++;
		else
			printf("user: ftruncate of chunk descriptor %d refused: %s\n", mu_kept[k],
			       strerror(errno));
	}
	CHECK(write(out, &rep, sizeof(rep)) == sizeof(rep));
	/* hold the mapping and the descriptors; truncate again when asked */
	while (read(go, &b, 1) == 1) {
		for (int k = 0; k < mu_nkept; k++)
			if (ftruncate(mu_kept[k], 0))
				b = 'r';
		CHECK(write(out, &b, 1) == 1);
	}
	_exit(0);
}

/* root: truncate the chunk files with these inode numbers in the region */
static int truncate_chunks(const struct report *rep)
{
	char path[600];
	int n = 0;

	for (int c = 0; c < REGION_MIB / 2; c++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/chunk.%08x", t.region, c);
		CHECK(stat(path, &st) == 0);
		for (int k = 0; k < rep->given; k++)
			if (st.st_ino == rep->ino[k]) {
				CHECK(truncate(path, 0) == 0);
				n++;
			}
	}
	return n;
}

/* root works on the file whose chunks were truncated */
static void use_victim(void)
{
	static uint8_t buf[VICTIM_SIZE], w[WRITE_LEN];
	int fd = open(mt_path(&t, "victim"), O_RDWR);
	long rc;

	CHECK(fd >= 0);
	rc = pread(fd, buf, VICTIM_SIZE, 0);
	mh_ok_or_eio("read of the truncated file", rc, VICTIM_SIZE);
	for (long i = 0; rc == VICTIM_SIZE && i < VICTIM_SIZE; i++)
		if (buf[i] != 'v' && buf[i] != 0) {
			fprintf(stderr, "FAIL: victim byte %ld is %#x (not its own or zero)\n", i,
				buf[i]);
			exit(1);
		}
	memset(w, 'w', sizeof(w));
	rc = pwrite(fd, w, sizeof(w), WRITE_OFF);
	mh_ok_or_eio("write into the truncated file", rc, WRITE_LEN);
	if (rc == WRITE_LEN) {
		CHECK(pread(fd, buf, WRITE_LEN, WRITE_OFF) == WRITE_LEN);
		CHECK(!memcmp(buf, w, WRITE_LEN));
	}
	rc = ftruncate(fd, WRITE_OFF + 100);
	mh_ok_or_eio("truncate of the truncated file", rc, 0);
	close(fd);
}

/* everything else works */
static void use_the_rest(void)
{
	struct statvfs sv;

	CHECK(statvfs(t.mnt, &sv) == 0);
	mh_check_contents(&t, "other", OTHER_SIZE, 'o');
	mh_fill(&t, "new", OTHER_SIZE, 'n', 0644);
	mh_check_contents(&t, "new", OTHER_SIZE, 'n');
	mh_check_stat(&t, "^resized chunks: *[1-9]", "the chunks put back");
	printf("%-34s done\n", "the rest of the filesystem");
}

/* the user truncates after each write of root's, @rounds times */
static void truncate_again(int go, int done, int rounds)
{
	uint8_t w[PAGE];
	int fd = open(mt_path(&t, "victim"), O_RDWR);
	char b = 't';
	long rc;

	CHECK(fd >= 0);
	memset(w, 'x', sizeof(w));
	for (int k = 0; k < rounds; k++) {
		CHECK(write(go, &b, 1) == 1);
		CHECK(read(done, &b, 1) == 1);
		if (b != 't') {
			printf("user: ftruncate refused: the rounds test the daemon nothing\n");
			break;
		}
		rc = pwrite(fd, w, sizeof(w), 0);
		if (rc != PAGE && !(rc < 0 && errno == EIO)) {
			fprintf(stderr, "FAIL: write after truncation %d returned %ld (%s)\n",
				k + 2, rc, rc < 0 ? strerror(errno) : "short");
			exit(1);
		}
	}
	close(fd);
	if (b == 't')
		mh_check_stat(&t, "^resized chunks: .*, [1-9][0-9]* detached",
			      "the chunk detached");
	mh_check_contents(&t, "other", OTHER_SIZE, 'o');
	printf("%-34s done\n", "truncated again and again");
}

int main(int argc, char **argv)
{
	struct report rep;
	int go, done, st;
	pid_t pid;

	mh_setup(&t, argc, argv, MT_TMPFS, REGION_MIB, "pmdrsz", VICTIM_SIZE, OTHER_SIZE);

	pid = mt_spawn(user_child, NULL, &go, &done);
	CHECK(read(done, &rep, sizeof(rep)) == sizeof(rep));
	printf("user: %d chunk descriptors given, %d truncated to 0 bytes\n", rep.given,
	       rep.truncated);
	CHECK(rep.given >= 2); /* a 4 MiB file in chunks of its own */
	/* issue 12: `daxfs stat` says the mount isolates and lists the pin */
	{
		char re[160];

		mh_check_stat(&t, "^dax mmap: +isolating", "that DAX mappings isolate");
		mh_check_stat(&t, "^pins: +1$", "one pin");
		snprintf(re, sizeof(re), "^  pid %d inode [0-9]+ bytes 0\\+[0-9]+ rw, %d chunks$",
			 (int)pid, rep.given);
		mh_check_stat(&t, re, "the user's pin");
	}
	if (rep.truncated < rep.given) {
		int n = truncate_chunks(&rep);

		printf("root: truncated the %d chunk files the user could not\n", n);
		CHECK(n == rep.given);
	}

	alarm(HANG_SECONDS);
	use_victim();
	use_the_rest();
	if (rep.truncated == rep.given)
		truncate_again(go, done, 6);
	alarm(0);

	syscall(SYS_close, go);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	syscall(SYS_close, done);
	mt_umount(&t);
	if (mt_fsck(&t))
		mt_run("'%s' -n '%s' >&2", FSCK_BIN, t.region);
	CHECK_EQ(mt_fsck(&t), 0);
	mt_mount(&t);
	mh_check_contents(&t, "other", OTHER_SIZE, 'o');
	mh_check_contents(&t, "new", OTHER_SIZE, 'n');
	mt_umount(&t);
	printf("ok\n");
	return 0;
}
