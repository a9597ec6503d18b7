/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_isolation - a user who may open only their own files gets,
 * through DAX mmap, those files' bytes and nothing else, whatever the
 * process does with what it is given. Real mount with allow_other, an
 * unprivileged user made by the test, root's files mode 0600, small files
 * packed into shared chunks. Every attack runs in a child as that user and
 * reads all it can reach; each 4 KiB page it reaches must be all zero or a
 * page of one of the user's own files (so no byte of root's files, of
 * freed data or of metadata). Attacks:
 *   mremap     grow each piece of a read-only mapping to 256 MiB
 *   remap      remap_file_pages of each piece of a writable mapping over
 *              every page offset of the region
 *   kept       keep the descriptors the daemon sends (an interposed close)
 *              and pread them whole, and pwrite them everywhere (root's
 *              files must not change)
 *   reopen     open /proc/self/fd/N of a kept descriptor read-write and
 *              read-only
 *   inherit    the kept descriptors in a fork()ed child and, without
 *              close-on-exec, in an exec()ed program
 *   fixed      map a kept descriptor with MAP_FIXED over the mapping, and
 *              at every 2 MiB offset
 * and the pin that outlives the daemon: a user maps a file writable, root
 * removes the file, unmounts, mounts again and writes new files; the old
 * mapping's stores must never show in them.
 *
 * With ISO_ALL set in the environment every attack runs even after one got
 * through (to see which fail on a build without isolation).
 *
 * argv[1] is the layout: "chunked" (DAX isolates: the attacks get the
 * file) or "file" (a single-file region: the user may not open the region,
 * so gets no DAX mapping at all; the pin test runs with root as the
 * client, who may).
 */
#include <dirent.h>
#include <sys/mman.h>

#include "libdaxfs.h"
#include "mmuser.h"

#define REGION_MIB 64
#define SCAN_BYTES (UINT64_C(256) << 20) /* beyond the region */
#define PAGE 4096
#define CHUNK (2 * 1024 * 1024)

static struct mt t;
static bool keep_going; /* $ISO_ALL: report every attack that gets through, then fail */
static int failures;
static bool chunked;

/* ---------------------------------------------------------------------- */
/* Contents: every page says whose it is */

enum { ROOT_SMALL, USER_SMALL, ROOT_SMALL2, USER_BIG, ROOT_BIG, NFILES };

static const struct {
	const char *name;
	uint64_t size;
	bool users;
} files[NFILES] = {
	[ROOT_SMALL] = {"zz-root-secret", 3 * PAGE, false},
	[USER_SMALL] = {"user-small", 3 * PAGE, true},
	[ROOT_SMALL2] = {"zz-root-secret2", 5 * PAGE, false},
	[USER_BIG] = {"user-big", 3 * 1024 * 1024 + 2 * PAGE, true},
	[ROOT_BIG] = {"zz-root-big", 5 * 1024 * 1024, false},
};

static void fill_page(uint8_t *p, int f, uint64_t k)
{
	memset(p, files[f].users ? 0x55 + (int)(k % 7) : 'R', PAGE);
	snprintf((char *)p, 64, "%s f=%d k=%llu", files[f].users ? "USERPAGE" : "ROOTSECRET", f,
		 (unsigned long long)k);
}

#define EVIL 0xEE /* what the attacks store where they can */

/*
 * A reached page is fine if it is zero, a page of the user's own files, or
 * what the user's own attacks stored (into their own files).
 */
static bool page_ok(const uint8_t *p)
{
	uint8_t want[PAGE];
	unsigned long long k;
	size_t zero = 0, evil = 0;
	int f;

	for (size_t i = 0; i < PAGE; i++) {
		zero += !p[i];
		evil += p[i] == EVIL;
	}
	if (zero == PAGE || evil == PAGE)
		return true;
	if (sscanf((const char *)p, "USERPAGE f=%d k=%llu", &f, &k) != 2 || f < 0 || f >= NFILES ||
	    !files[f].users)
		return false;
	fill_page(want, f, k);
	return !memcmp(want, p, PAGE);
}

/* What an attack saw: pages reached, and pages it should not have reached. */
struct seen {
	uint64_t pages, bad, own;
	char first_bad[80];
};

static void judge(struct seen *s, const uint8_t *p)
{
	s->pages++;
	if (page_ok(p)) {
		s->own += p[0] == 'U';
		return;
	}
	if (!s->bad++) {
		size_t i;

		for (i = 0; i < 64; i++)
			s->first_bad[i] = p[i] >= 32 && p[i] < 127 ? (char)p[i] : '.';
		s->first_bad[i] = 0;
	}
}

/* read_page - copy the page at @p if it can be read at all (else false):
 * through a pipe, so an unreadable page is EFAULT and not a signal. */
static bool read_page(const void *p, uint8_t *out)
{
	static int pfd[2] = {-1, -1};

	if (pfd[0] < 0)
		CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	if (write(pfd[1], p, PAGE) != PAGE)
		return false;
	CHECK(read(pfd[0], out, PAGE) == PAGE);
	return true;
}

static void scan_mem(struct seen *s, const uint8_t *p, uint64_t len)
{
	uint8_t page[PAGE];

	for (uint64_t o = 0; o < len; o += PAGE)
		if (read_page(p + o, page))
			judge(s, page);
}

static void scan_fd(struct seen *s, int fd)
{
	uint8_t page[PAGE];

	for (uint64_t o = 0; o < SCAN_BYTES; o += PAGE) {
		ssize_t n = pread(fd, page, PAGE, (off_t)o);

		if (n <= 0)
			break;
		if (n < PAGE)
			memset(page + n, 0, PAGE - (size_t)n);
		judge(s, page);
	}
}

/* ---------------------------------------------------------------------- */
/* Running as the user */

struct vma {
	uintptr_t s, e;
};

/* the mappings (VMAs) inside [p, p + len) */
static int vmas_in(void *p, size_t len, struct vma *v, int max)
{
	uintptr_t a = (uintptr_t)p, b = a + len;
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s >= a && e <= b)
			v[n++] = (struct vma){s, e};
	}
	fclose(f);
	return n;
}

/* map the user's file @f (O_RDWR if @rw) into *@p; false when refused */
static bool map_own(int f, bool rw, void **p, int *fdp)
{
	int fd = open(mt_path(&t, files[f].name), rw ? O_RDWR : O_RDONLY);
	int err;

	CHECK(fd >= 0);
	*p = NULL;
	err = daxfs_mmap(fd, 0, files[f].size, PROT_READ | (rw ? PROT_WRITE : 0), 0, p);
	if (err) {
		/* only the single-file layout may refuse the user */
		if (chunked) {
			fprintf(stderr, "daxfs_mmap %s: %s\n", files[f].name, daxfs_errmsg());
			exit(3);
		}
		syscall(SYS_close, fd);
		return false;
	}
	*fdp = fd;
	return true;
}

static void report(int out, const struct seen *s)
{
	CHECK(write(out, s, sizeof(*s)) == sizeof(*s));
}

static void attack_mremap(int out)
{
	struct seen s = {0};
	struct vma v[64];
	void *p;
	int fd, n;

	mu_become();
	for (int f = USER_SMALL; f <= USER_BIG; f += USER_BIG - USER_SMALL) {
		if (!map_own(f, false, &p, &fd))
			continue;
		scan_mem(&s, p, files[f].size);
		n = vmas_in(p, files[f].size, v, 64);
		for (int k = 0; k < n; k++) {
			void *q =
				mremap((void *)v[k].s, v[k].e - v[k].s, SCAN_BYTES, MREMAP_MAYMOVE);

			if (q == MAP_FAILED)
				continue;
			scan_mem(&s, q, SCAN_BYTES);
			munmap(q, SCAN_BYTES);
		}
	}
	report(out, &s);
}

static void attack_remap(int out)
{
	struct seen s = {0};
	struct vma v[64];
	uint8_t page[PAGE];
	void *p;
	int fd, n;

	mu_become();
	if (!map_own(USER_SMALL, true, &p, &fd)) {
		report(out, &s);
		return;
	}
	n = vmas_in(p, files[USER_SMALL].size, v, 64);
	for (int k = 0; k < n; k++)
		for (uint64_t pg = 0; pg < (uint64_t)REGION_MIB * 256; pg++) {
			if (remap_file_pages((void *)v[k].s, PAGE, 0, pg, 0))
				continue;
			if (read_page((void *)v[k].s, page))
				judge(&s, page);
		}
	report(out, &s);
}

/* map both user files (read-only and writable) mu_keeping the descriptors */
static void keep_descriptors(void)
{
	void *p;
	int fd;

	mu_keeping = true;
	map_own(USER_SMALL, false, &p, &fd);
	map_own(USER_BIG, true, &p, &fd);
	mu_keeping = false;
}

static void evil_writes(int fd, struct seen *s)
{
	uint8_t page[PAGE];

	memset(page, EVIL, sizeof(page));
	for (uint64_t o = 0; o < (uint64_t)REGION_MIB << 20; o += PAGE)
		if (pwrite(fd, page, PAGE, (off_t)o) == PAGE)
			s->own++; /* counted, not judged: root checks its files */
}

static void attack_kept(int out)
{
	struct seen s = {0};

	mu_become();
	keep_descriptors();
	for (int k = 0; k < mu_nkept; k++)
		scan_fd(&s, mu_kept[k]);
	for (int k = 0; k < mu_nkept; k++)
		evil_writes(mu_kept[k], &s);
	report(out, &s);
}

static void attack_reopen(int out)
{
	struct seen s = {0};
	char path[64];

	mu_become();
	keep_descriptors();
	for (int k = 0; k < mu_nkept; k++) {
		int rw, ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", mu_kept[k]);
		rw = open(path, O_RDWR);
		if (rw >= 0) {
			scan_fd(&s, rw);
			evil_writes(rw, &s);
		}
		ro = open(path, O_RDONLY);
		if (ro >= 0)
			scan_fd(&s, ro);
	}
	report(out, &s);
}

static void attack_inherit(int out, const char *self)
{
	struct seen s = {0};
	char arg[4096] = "";
	pid_t pid;
	int st;

	mu_become();
	keep_descriptors();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (int k = 0; k < mu_nkept; k++)
			scan_fd(&s, mu_kept[k]);
		report(out, &s);
		_exit(0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int k = 0; k < mu_nkept; k++) {
		size_t l = strlen(arg);

		fcntl(mu_kept[k], F_SETFD, 0);
		snprintf(arg + l, sizeof(arg) - l, "%s%d", k ? "," : "", mu_kept[k]);
	}
	if (!mu_nkept) {
		report(out, &s);
		return;
	}
	CHECK(dup2(out, 900) == 900); /* where the exec()ed reader reports */
	execl(self, self, "--reader", arg, (char *)NULL);
	_exit(4);
}

/* the exec()ed half of attack_inherit: read every inherited descriptor */
static int reader_main(const char *list)
{
	struct seen s = {0};
	char *dup_list = strdup(list), *tok, *save = NULL;

	for (tok = strtok_r(dup_list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		scan_fd(&s, atoi(tok));
	free(dup_list);
	report(900, &s);
	return 0;
}

static void attack_fixed(int out)
{
	struct seen s = {0};
	void *p, *q;
	int fd;

	mu_become();
	mu_keeping = true;
	if (!map_own(USER_BIG, false, &p, &fd)) {
		mu_keeping = false;
		report(out, &s);
		return;
	}
	mu_keeping = false;
	for (int k = 0; k < mu_nkept; k++) {
		/* over the mapping itself */
		q = mmap(p, files[USER_BIG].size, PROT_READ, MAP_SHARED | MAP_FIXED, mu_kept[k], 0);
		if (q != MAP_FAILED)
			scan_mem(&s, q, files[USER_BIG].size);
		/* and at every 2 MiB offset of the region */
		for (uint64_t o = 0; o < (uint64_t)REGION_MIB << 20; o += CHUNK) {
			q = mmap(NULL, CHUNK, PROT_READ, MAP_SHARED, mu_kept[k], (off_t)o);
			if (q == MAP_FAILED)
				continue;
			scan_mem(&s, q, CHUNK);
			munmap(q, CHUNK);
		}
	}
	report(out, &s);
}

/* ---------------------------------------------------------------------- */
/* The parent (root) */

static void make_files(void)
{
	uint8_t page[PAGE];

	for (int f = 0; f < NFILES; f++) {
		int fd = open(mt_path(&t, files[f].name), O_RDWR | O_CREAT | O_TRUNC, 0600);

		CHECK(fd >= 0);
		/* 4 KiB at a time, as small files are written: packed together */
		for (uint64_t k = 0; k < files[f].size / PAGE; k++) {
			fill_page(page, f, k);
			CHECK(pwrite(fd, page, PAGE, (off_t)(k * PAGE)) == PAGE);
		}
		if (files[f].users)
			CHECK(fchown(fd, mu_uid, mu_gid) == 0);
		syscall(SYS_close, fd);
	}
}

/* root's files still hold what root wrote */
static void check_root_files(void)
{
	bool changed = false;

	uint8_t page[PAGE], want[PAGE];

	for (int f = 0; f < NFILES; f++) {
		int fd;

		if (files[f].users)
			continue;
		fd = open(mt_path(&t, files[f].name), O_RDONLY);
		CHECK(fd >= 0);
		for (uint64_t k = 0; k < files[f].size / PAGE; k++) {
			fill_page(want, f, k);
			CHECK(pread(fd, page, PAGE, (off_t)(k * PAGE)) == PAGE);
			if (memcmp(page, want, PAGE) && !changed) {
				fprintf(stderr, "FAIL: %s page %llu was changed\n", files[f].name,
					(unsigned long long)k);
				changed = true;
			}
		}
		syscall(SYS_close, fd);
	}
	if (changed) {
		failures++;
		if (!keep_going)
			exit(1);
	}
}

static void run_attack(const char *name, void (*fn)(int), bool must_reach)
{
	struct seen s, all = {0};
	int p[2], st;
	pid_t pid;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		mt_current = NULL;
		syscall(SYS_close, p[0]);
		fn(p[1]);
		_exit(0);
	}
	syscall(SYS_close, p[1]);
	while (read(p[0], &s, sizeof(s)) == sizeof(s)) {
		all.pages += s.pages;
		all.own += s.own;
		if (s.bad && !all.bad)
			memcpy(all.first_bad, s.first_bad, sizeof(all.first_bad));
		all.bad += s.bad;
	}
	syscall(SYS_close, p[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	printf("%-8s %s: %llu pages reached, %llu not the user's\n", name,
	       chunked ? "chunked" : "file", (unsigned long long)all.pages,
	       (unsigned long long)all.bad);
	if (all.bad) {
		fprintf(stderr, "FAIL: attack %s reached %llu pages that are not the user's: %s\n",
			name, (unsigned long long)all.bad, all.first_bad);
		failures++;
		if (!keep_going)
			exit(1);
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* a test that reaches nothing proves nothing */
	if (must_reach && chunked)
		CHECK(all.pages > 0);
	check_root_files();
}

static const char *self_path;

static void attack_inherit_self(int out)
{
	attack_inherit(out, self_path);
}

/* ---------------------------------------------------------------------- */
/* A pin that outlives the daemon */

struct pin_child {
	pid_t pid;
	int go, done;
};

static void pin_holder(void *arg, int go, int done)
{
	bool as_user = arg != NULL;
	void *p = NULL;
	char b;
	int fd;

	if (as_user)
		mu_become();
	fd = open(mt_path(&t, "victim"), O_RDWR);
	CHECK(fd >= 0);
	if (daxfs_mmap(fd, 0, 64 * PAGE, PROT_READ | PROT_WRITE, 0, &p)) {
		fprintf(stderr, "pin holder: daxfs_mmap: %s\n", daxfs_errmsg());
		_exit(2);
	}
	syscall(SYS_close, fd);
	CHECK(write(done, "m", 1) == 1);
	/* stores after the remount, as a client that never stopped */
	CHECK(read(go, &b, 1) == 1);
	for (int round = 0; round < 3; round++)
		memset(p, EVIL, 64 * PAGE);
	CHECK(write(done, "s", 1) == 1);
	CHECK(read(go, &b, 1) <= 1);
	_exit(0);
}

static void test_pin_outlives_daemon(bool as_user)
{
	int go, done, st;
	uint8_t buf[64 * PAGE], want[64 * PAGE];
	pid_t pid;
	char b;

	close(mt_make_file(&t, "victim", 64 * PAGE, 'v', O_RDONLY));
	if (as_user)
		CHECK(chown(mt_path(&t, "victim"), mu_uid, mu_gid) == 0);
	/* close-on-exec: the daemon mt_mount() starts must not keep the pipes open */
	pid = mt_spawn(pin_holder, as_user ? &t : NULL, &go, &done);
	CHECK(read(done, &b, 1) == 1 && b == 'm');
	CHECK(unlink(mt_path(&t, "victim")) == 0);
	mt_umount(&t);
	mt_mount(&t);
	/* new files take whatever space is free: 60 of them, 64 KiB each */
	memset(want, 'n', sizeof(want));
	for (int k = 0; k < 60; k++) {
		char name[32];

		snprintf(name, sizeof(name), "new%02d", k);
		close(mt_make_file(&t, name, sizeof(want), 'n', O_RDONLY));
	}
	CHECK(write(go, "g", 1) == 1);
	CHECK(read(done, &b, 1) == 1 && b == 's');
	for (int k = 0; k < 60; k++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "new%02d", k);
		fd = open(mt_path(&t, name), O_RDONLY);
		CHECK(fd >= 0);
		CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
		syscall(SYS_close, fd);
		if (memcmp(buf, want, sizeof(buf))) {
			fprintf(stderr,
				"FAIL: %s changed: a mapping made before the remount stored into "
				"it\n",
				name);
			failures++;
			if (!keep_going)
				exit(1);
			break;
		}
	}
	if (!failures)
		printf("pin      %s: the old mapping's stores reached none of 60 new files\n",
		       chunked ? "chunked" : "file");
	syscall(SYS_close, go);
	syscall(SYS_close, done);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--reader"))
		return reader_main(argv[2]);
	CHECK(argc == 2 && (!strcmp(argv[1], "chunked") || !strcmp(argv[1], "file")));
	chunked = !strcmp(argv[1], "chunked");
	keep_going = getenv("ISO_ALL") != NULL;
	self_path = "/proc/self/exe";
	{
		static char exe[512];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		CHECK(n > 0);
		exe[n] = 0;
		self_path = exe;
	}
	mu_make_user("pmdiso");
	mt_setup_layout(&t, MT_TMPFS, REGION_MIB, chunked);
	mt_umount(&t);
	snprintf(t.opts, sizeof(t.opts), "-o allow_other");
	mt_mount(&t);
	make_files();

	run_attack("mremap", attack_mremap, true);
	run_attack("remap", attack_remap, true);
	run_attack("kept", attack_kept, true);
	run_attack("reopen", attack_reopen, false); /* the chunks are 0600: nothing */
	run_attack("inherit", attack_inherit_self, true);
	run_attack("fixed", attack_fixed, true);

	/* the pin: a user on a chunked region; root, who may open the region, on a file */
	test_pin_outlives_daemon(chunked);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return failures ? 1 : 0;
}
