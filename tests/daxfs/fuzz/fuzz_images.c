/* SPDX-License-Identifier: MIT */
/*
 * fuzz_images - the image fuzzer: damage one structure of a populated
 * image per case and run the filesystem over it (fuzz_case.h), each case
 * in a child process with a timeout on each step.
 *
 *   fuzz_images [-n CASES] [-s SEED] [-j JOBS] [-T SECONDS] [-t STEP_TIMEOUT] [-o DIR]
 *               [-S MIB] [-P N] [-L N] [-B] [-v]
 *   fuzz_images --replay IMAGE
 *
 * Case k uses seed SEED + k, so any case can be run again alone
 * (-n 1 -s SEED+k). -T stops after a time budget (the cases run are
 * reported); -j runs that many cases at once. A failing case's damaged
 * image is kept in DIR (default: the scratch directory), for --replay and
 * the regression tests. Prints one line per failure and a summary: cases,
 * failures by kind, and how many undamaged files (and names) are still
 * there after fsck -y, with the cases that lost one; its last line
 * ("totals: cases=... next=... crash=... ...") has the same numbers as
 * key=value pairs for scripts. Exit 0 when no case failed, 1 otherwise, 16
 * on usage errors. --replay runs the steps on an image without a base to
 * compare with (crashes, hangs, convergence). -S sizes the base images
 * (16 MiB, the full profile, by default; under 16 MiB the small one).
 * The core's own log lines about what it found corrupt go to /dev/null
 * unless -v. -B makes data changed after bitmap damage a failure too
 * (see V_BITMAP). -P N prints a progress line every N cases; SIGINT or
 * SIGTERM stops starting cases and ends with the summary of those run.
 *
 * A case's child ends through exit(), where LeakSanitizer (in a sanitizer
 * build) checks for leaks, a report failing the case; -L N does that only
 * in the cases whose seed is a multiple of N (the others end with _exit()
 * once their output is flushed), since the check costs more than the rest
 * of a case under ASan. Default 1: every case.
 *
 * Images live in the scratch directory ($PMD_TEST_DIR, else /dev/shm);
 * when run as root without $PMD_TEST_DIR, on a tmpfs with huge pages
 * mounted for the run alone (see scratch_dir()).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "fuzz_case.h"
#include "test.h"

#define SANITIZER_EXIT 66 /* ASAN_OPTIONS/UBSAN_OPTIONS exitcode in the tests */

enum verdict {
	V_OK,
	V_CRASH,
	V_SANITIZER,
	V_HANG,
	V_NOCONV,
	V_DATA,
	V_WRITE,
	V_FSCKERR,
	V_BITMAP, /* V_DATA after damage to the bitmap: see below */
	V_COUNT
};

/* the same, as keys of the totals line (for scripts) */
static const char *const verdict_keys[V_COUNT] = {
	"ok", "crash", "sanitizer", "hang", "noconv", "data", "write", "fsckerr", "bitmap",
};

static const char *const verdict_names[V_COUNT] = {
	"ok",
	"crash",
	"sanitizer report",
	"hang",
	"fsck -y does not converge",
	"undamaged data changed",
	"write lost",
	"fsck failed",
	"data changed, bitmap damaged",
};

/*
 * The allocation bitmap has no checksum: a block in use whose bit was
 * cleared could be handed out by the writes a case makes before fsck, and
 * the new data land over a file that was not damaged. The open now checks
 * the data blocks of sound files against it (alloc_check_data), so what is
 * left is a metadata block's bit. Such a loss is one of the core's, not of
 * fsck's: it is counted apart and listed ("KNOWN"), and fails the run only
 * with -B.
 */
static bool bitmap_fails;

struct slot {
	pid_t pid;
	unsigned long long seed;
	int variant;
	const struct fz_base *b;
	struct fz_damage d;
	uint8_t *damaged;
	char path[600];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool quiet_child = true;
static volatile sig_atomic_t stop_asked;
/* the leak check at a child's exit runs in cases whose seed is a multiple of this */
static unsigned long long leak_every = 1;

/* SIGINT/SIGTERM: start no more cases, finish the running ones, summarise */
static void on_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

/*
 * scratch_dir - where the base and case images go: @dir, or when the run
 * may mount (root) and $PMD_TEST_DIR does not name a place, a tmpfs mounted
 * huge=always that only this run can reach: it is mounted on a new
 * directory under @dir, opened, and detached at once (umount2 MNT_DETACH),
 * so it is in no mount table and goes away with the run's last process;
 * its path is "/proc/self/fd/N" (in @buf), which the cases, forked with
 * the descriptor, resolve too. Each case maps its image four times (open,
 * fsck -y, fsck -n, the walk after them); on a plain tmpfs each 4 KiB page
 * of each mapping costs a page fault, on this one a 16 MiB image takes 8.
 * The contents, and so every case, are the same either way.
 *
 * Not a mount namespace of its own: a private copy of the mount table
 * holds on to every FUSE mount that existed when it was made, so the
 * daemons of tests running beside the fuzzer would not see their unmount
 * until the run ended.
 */
static const char *scratch_dir(const char *dir, char *buf, size_t len)
{
	const char *env = getenv("PMD_TEST_DIR");
	char mnt[400];
	int fd;

	if ((env && *env) || geteuid() != 0)
		return dir;
	snprintf(mnt, sizeof(mnt), "%s/pmd-fuzz-XXXXXX", dir);
	if (!mkdtemp(mnt))
		return dir;
	if (mount("pmd-fuzz", mnt, "tmpfs", 0, "huge=always,mode=0700")) {
		rmdir(mnt);
		return dir;
	}
	fd = open(mnt, O_PATH | O_DIRECTORY);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	if (fd < 0)
		return dir;
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

/*
 * case_image - make the file @path hold the @len bytes of @img: rewritten
 * in place (not truncated first, so its pages stay allocated from case to
 * case), zero blocks included. Returns 0 or -errno.
 */
static int case_image(const char *path, const uint8_t *img, uint64_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	uint64_t off = 0;
	struct stat st;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || ((uint64_t)st.st_size != len && ftruncate(fd, (off_t)len)))
		err = -errno;
	while (!err && off < len) {
		ssize_t n = pwrite(fd, img + off, len - off, (off_t)off);

		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			off += (uint64_t)n;
	}
	close(fd);
	return err;
}

/* start_child - fz_run in a child; returns its pid */
static pid_t start_child(const char *path, const struct fz_base *b, const uint8_t *damaged,
			 unsigned timeout, bool leak_check, struct fz_result *r)
{
	pid_t pid;

	memset(r, 0, sizeof(*r));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		if (quiet_child && !freopen("/dev/null", "w", stderr))
			_exit(1);
		fz_run(path, b, damaged, timeout, r);
		if (leak_check)
			exit(0); /* through atexit, so leak checkers look */
		fflush(NULL);
		_exit(0);
	}
	return pid;
}

/* verdict - what the exit @status of a case's child and its result mean */
static enum verdict verdict(int status, const struct fz_result *r)
{
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGALRM ? V_HANG : V_CRASH;
	if (WEXITSTATUS(status) == SANITIZER_EXIT)
		return V_SANITIZER;
	if (WEXITSTATUS(status))
		return V_CRASH;
	switch (r->fail) {
	case FZ_OK:
		return V_OK;
	case FZ_DATA:
		return V_DATA;
	case FZ_WRITE:
		return V_WRITE;
	case FZ_NOCONV:
		return V_NOCONV;
	default:
		return V_FSCKERR;
	}
}

static enum verdict run_child(const char *path, const struct fz_base *b, const uint8_t *damaged,
			      unsigned timeout, struct fz_result *r)
{
	pid_t pid = start_child(path, b, damaged, timeout, true, r);
	int st;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return verdict(st, r);
}

static int replay(const char *path, unsigned timeout)
{
	struct fz_result *r =
		mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	enum verdict v;

	CHECK(r != MAP_FAILED);
	v = run_child(path, NULL, NULL, timeout, r);
	printf("%s: %s", path, verdict_names[v]);
	if (v != V_OK)
		printf(" at step \"%s\"%s%s", fz_step_names[r->step], r->msg[0] ? ": " : "",
		       r->msg);
	printf("\n");
	return v == V_OK ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fuzz_images [-n CASES] [-s SEED] [-j JOBS] [-T SECONDS] "
		   "[-t STEP_TIMEOUT] [-o DIR] [-S MIB] [-P N] [-L N] [-B] [-v]\n"
		   "       fuzz_images --replay IMAGE\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"replay", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long cases = 2000, seed = 1, budget = 0, mib = 16, progress = 0, done = 0;
	unsigned timeout = 30, counts[V_COUNT] = {0};
	const char *dir = test_tmpdir(), *keep = NULL, *scratch;
	char scratch_buf[400];
	bool verbose = false;
	static struct fz_base base[FZ_NVARIANTS];
	uint64_t kept = 0, total = 0, names_kept = 0, names = 0, lossy = 0, unrecov = 0;
	char saved[700];
	unsigned jobs = 1;
	double t0 = now_s();
	unsigned long long k;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:s:T:t:o:S:j:P:L:Bvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			cases = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			budget = strtoull(optarg, NULL, 0);
			break;
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			keep = optarg;
			break;
		case 'B':
			bitmap_fails = true;
			break;
		case 'P':
			progress = strtoull(optarg, NULL, 0);
			break;
		case 'L':
			leak_every = strtoull(optarg, NULL, 0);
			if (!leak_every) {
				fprintf(stderr, "fuzz_images: -L wants a number >= 1\n");
				return 16;
			}
			break;
		case 'j':
			jobs = (unsigned)strtoul(optarg, NULL, 0);
			if (!jobs || jobs > 64) {
				fprintf(stderr, "fuzz_images: -j wants 1 .. 64\n");
				return 16;
			}
			break;
		case 'S':
			mib = strtoull(optarg, NULL, 0);
			if (mib < 4 || mib % 2) {
				fprintf(stderr,
					"fuzz_images: -S wants an even number of MiB >= 4\n");
				return 16;
			}
			break;
		case 'v':
			verbose = true;
			quiet_child = false;
			break;
		case 'R':
			return replay(optarg, timeout);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 16;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 16;
	}
	/* a stop asked while the bases are built still ends with a summary */
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	scratch = scratch_dir(dir, scratch_buf, sizeof(scratch_buf));
	for (int v = 0; v < FZ_NVARIANTS; v++) {
		int err = fz_base_build(&base[v], scratch, (enum pop_end)v, mib << 20);

		if (err) {
			fprintf(stderr, "fuzz_images: cannot build base image %d: %s\n", v,
				strerror(-err));
			return 1;
		}
	}
	struct slot *slots = calloc(jobs, sizeof(*slots));
	struct fz_result *results = mmap(NULL, jobs * sizeof(*results), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *img[FZ_NVARIANTS];

	CHECK(slots && results != MAP_FAILED);
	for (int v = 0; v < FZ_NVARIANTS; v++) {
		/* one working copy per base, restored range by range after each case */
		img[v] = malloc(base[v].size);
		CHECK(img[v]);
		memcpy(img[v], base[v].img, base[v].size);
		madvise(img[v], base[v].size, MADV_DONTFORK);
		madvise(base[v].img, base[v].size, MADV_DONTFORK);
	}
	for (unsigned j = 0; j < jobs; j++) {
		slots[j].damaged = malloc(base[0].inode_count + 1);
		CHECK(slots[j].damaged);
		snprintf(slots[j].path, sizeof(slots[j].path), "%s/pmd-fuzz-%d-case%u", scratch,
			 (int)getpid(), j);
	}
	unsigned running = 0;

	for (k = 0;;) {
		bool more = k < cases && !(budget && now_s() - t0 > (double)budget) && !stop_asked;

		/* start cases while slots are free */
		for (unsigned j = 0; more && j < jobs; j++) {
			struct slot *sl = &slots[j];
			struct fz_src src;

			if (sl->pid)
				continue;
			sl->seed = seed + k++;
			fz_src_init(&src, NULL, 0, sl->seed);
			sl->variant = (int)fz_below(&src, FZ_NVARIANTS);
			sl->b = &base[sl->variant];
			fz_mutate(sl->b, img[sl->variant], &src, &sl->d);
			fz_damaged(sl->b, &sl->d, sl->damaged);
			CHECK_OK(case_image(sl->path, img[sl->variant], sl->b->size));
			for (unsigned x = 0; x < sl->d.nranges; x++)
				memcpy(img[sl->variant] + sl->d.off[x], sl->b->img + sl->d.off[x],
				       sl->d.len[x]);
			sl->pid = start_child(sl->path, sl->b, sl->damaged, timeout,
					      sl->seed % leak_every == 0, &results[j]);
			running++;
			more = k < cases && !(budget && now_s() - t0 > (double)budget) &&
			       !stop_asked;
		}
		if (!running)
			break;
		/* one ends */
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("waitpid");
			return 1;
		}
		unsigned j;

		for (j = 0; j < jobs && slots[j].pid != pid; j++)
			;
		if (j == jobs)
			continue;
		struct slot *sl = &slots[j];
		struct fz_result *r = &results[j];
		enum verdict v = verdict(st, r);

		sl->pid = 0;
		running--;
		if (progress && ++done % progress == 0) {
			unsigned bad = 0;

			for (int x = 1; x < V_COUNT; x++)
				bad += counts[x];
			printf("progress: %llu cases in %.0f s, %u failed, names kept %llu of "
			       "%llu\n",
			       done, now_s() - t0, bad, (unsigned long long)names_kept,
			       (unsigned long long)names);
			fflush(stdout);
		}
		if (v == V_OK || v == V_DATA || v == V_NOCONV) {
			kept += r->kept;
			total += r->total;
			names_kept += r->names_kept;
			names += r->names;
			unrecov += r->unrecoverable;
			if (r->names_kept < r->names) {
				lossy++;
				if (verbose)
					printf("miss   seed %llu: %s: %u of %u names gone: %s\n",
					       sl->seed, sl->d.what, r->names - r->names_kept,
					       r->names, r->missed);
			}
		}
		if (v == V_DATA && sl->d.bitmap)
			v = V_BITMAP;
		counts[v]++;
		if (v == V_OK)
			continue;
		snprintf(saved, sizeof(saved), "%s/fuzz-seed-%llu.img", keep ? keep : dir,
			 sl->seed);
		/* the damaged image again (the case's file was changed by its run) */
		{
			struct fz_src src;
			struct fz_damage d;

			fz_src_init(&src, NULL, 0, sl->seed);
			fz_below(&src, FZ_NVARIANTS);
			fz_mutate(sl->b, img[sl->variant], &src, &d);
			CHECK_OK(fz_write_image(saved, img[sl->variant], sl->b->size));
			for (unsigned x = 0; x < d.nranges; x++)
				memcpy(img[sl->variant] + d.off[x], sl->b->img + d.off[x],
				       d.len[x]);
		}
		printf("%s seed %llu (base %d): %s: %s at step \"%s\"%s%s\n       image %s\n",
		       v == V_BITMAP ? "KNOWN " : "FAIL  ", sl->seed, sl->variant, sl->d.what,
		       verdict_names[v], fz_step_names[r->step], r->msg[0] ? ": " : "", r->msg,
		       saved);
		fflush(stdout);
	}
	for (unsigned j = 0; j < jobs; j++) {
		unlink(slots[j].path);
		free(slots[j].damaged);
	}
	free(slots);
	for (int v = 0; v < FZ_NVARIANTS; v++)
		free(img[v]);
	printf("fuzz_images: %llu cases (seeds %llu..%llu) in %.0f s%s\n", k, seed, seed + k - 1,
	       now_s() - t0, stop_asked ? " (stopped by a signal)" : "");
	for (int v = 1; v < V_COUNT; v++)
		printf("  %-28s %u\n", verdict_names[v], counts[v]);
	printf("  undamaged files kept after fsck -y: %llu of %llu (%.3f%%), names %llu of %llu "
	       "(%.3f%%), %llu cases lost a name, %llu unrecoverable images\n",
	       (unsigned long long)kept, (unsigned long long)total,
	       total ? 100.0 * (double)kept / (double)total : 100.0, (unsigned long long)names_kept,
	       (unsigned long long)names,
	       names ? 100.0 * (double)names_kept / (double)names : 100.0,
	       (unsigned long long)lossy, (unsigned long long)unrecov);
	if (leak_every > 1)
		printf("  leaks checked in the cases whose seed is a multiple of %llu (-L)\n",
		       leak_every);
	/* the same on one line of key=value, for scripts/fuzz-images-long */
	printf("totals: cases=%llu next=%llu", k, seed + k);
	for (int v = 1; v < V_COUNT; v++)
		printf(" %s=%u", verdict_keys[v], counts[v]);
	printf(" kept=%llu total=%llu names_kept=%llu names=%llu lossy=%llu unrecoverable=%llu\n",
	       (unsigned long long)kept, (unsigned long long)total, (unsigned long long)names_kept,
	       (unsigned long long)names, (unsigned long long)lossy, (unsigned long long)unrecov);
	for (int v = 0; v < FZ_NVARIANTS; v++)
		fz_base_free(&base[v]);
	for (int v = 1; v < V_COUNT; v++)
		if (counts[v] && (v != V_BITMAP || bitmap_fails))
			return 1;
	return 0;
}
