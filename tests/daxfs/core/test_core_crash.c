/* SPDX-License-Identifier: MIT */
/*
 * test_core_crash - crash consistency of the daxfs core under SIGKILL.
 *
 * Each round forks a child that opens the filesystem and runs random
 * metadata and data operations (create, append, unlink, rename, mkdir,
 * rmdir, truncate, setxattr, link, fsync), announcing each one on a pipe
 * before it starts and again when it has returned. The parent kills the
 * child at a random moment, reopens the filesystem (journal replay, orphan
 * recovery) and checks that the namespace, sizes, contents, link counts and
 * xattrs equal its model after every completed operation, with the one
 * operation in flight either wholly present or wholly absent; then fsck
 * must find the image clean. Rounds continue from the surviving state.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "test_core_util.h"
#include "units.h"

#define NNAMES 48
#define NOBJS 64
#define MAXDATA (48 * 1024)
#define ROUNDS 6

enum op {
	OP_CREATE,
	OP_APPEND,
	OP_UNLINK,
	OP_RENAME,
	OP_MKDIR,
	OP_RMDIR,
	OP_TRUNC,
	OP_SETX,
	OP_LINK,
	OP_FSYNC,
	OP_COUNT
};

struct rec {
	int phase; /* 0 start, 1 done */
	int op;
	int a, b; /* name indexes */
	uint32_t len, seed;
};

struct obj {
	bool used, dir;
	int nlinks;
	size_t size;
	uint32_t xattr;
	uint8_t data[MAXDATA];
};

struct model {
	int name_obj[NNAMES]; /* -1: no entry */
	struct obj obj[NOBJS];
};

static void nm(char *buf, int k)
{
	sprintf(buf, "n%02d", k);
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)((k * 131 + seed * 7) >> 3);
}

static int new_obj(struct model *m)
{
	for (int k = 0; k < NOBJS; k++)
		if (!m->obj[k].used)
			return k;
	return -1;
}

static void unref(struct model *m, int o)
{
	if (--m->obj[o].nlinks <= 0)
		memset(&m->obj[o], 0, sizeof(m->obj[o]));
}

/* apply @r to @m (both sides use this) */
static void apply(struct model *m, const struct rec *r)
{
	int oa = m->name_obj[r->a], ob = r->b >= 0 ? m->name_obj[r->b] : -1;

	switch (r->op) {
	case OP_CREATE:
	case OP_MKDIR: {
		int o = new_obj(m);

		m->obj[o].used = true;
		m->obj[o].dir = r->op == OP_MKDIR;
		m->obj[o].nlinks = 1;
		m->name_obj[r->a] = o;
		break;
	}
	case OP_APPEND: {
		struct obj *x = &m->obj[oa];

		pattern(x->data + x->size, r->len, r->seed);
		x->size += r->len;
		break;
	}
	case OP_UNLINK:
	case OP_RMDIR:
		m->name_obj[r->a] = -1;
		unref(m, oa);
		break;
	case OP_RENAME:
		if (oa == ob)
			break;
		if (ob >= 0)
			unref(m, ob);
		m->name_obj[r->b] = oa;
		m->name_obj[r->a] = -1;
		break;
	case OP_TRUNC:
		memset(m->obj[oa].data + r->len, 0, m->obj[oa].size - r->len);
		m->obj[oa].size = r->len;
		break;
	case OP_SETX:
		m->obj[oa].xattr = r->seed;
		break;
	case OP_LINK:
		m->name_obj[r->b] = oa;
		m->obj[oa].nlinks++;
		break;
	}
}

/* choose a valid random operation for @m */
static bool choose(struct model *m, struct rec *r)
{
	int a = rand() % NNAMES, b = rand() % NNAMES;
	int oa = m->name_obj[a], ob = m->name_obj[b];

	memset(r, 0, sizeof(*r));
	r->op = rand() % OP_COUNT;
	r->a = a;
	r->b = -1;
	r->seed = (uint32_t)rand();
	switch (r->op) {
	case OP_CREATE:
	case OP_MKDIR:
		return oa < 0 && new_obj(m) >= 0;
	case OP_APPEND:
		if (oa < 0 || m->obj[oa].dir)
			return false;
		r->len = (uint32_t)(rand() % 9000 + 1);
		return m->obj[oa].size + r->len <= MAXDATA;
	case OP_UNLINK:
		return oa >= 0 && !m->obj[oa].dir;
	case OP_RMDIR:
		return oa >= 0 && m->obj[oa].dir;
	case OP_RENAME:
		r->b = b;
		if (oa < 0 || a == b)
			return false;
		if (m->obj[oa].dir)
			return ob < 0;
		return ob < 0 || !m->obj[ob].dir;
	case OP_TRUNC:
		if (oa < 0 || m->obj[oa].dir)
			return false;
		r->len = (uint32_t)(m->obj[oa].size ? (size_t)rand() % m->obj[oa].size : 0);
		return true;
	case OP_SETX:
	case OP_FSYNC:
		return oa >= 0 && !m->obj[oa].dir;
	case OP_LINK:
		r->b = b;
		return oa >= 0 && !m->obj[oa].dir && ob < 0;
	}
	return false;
}

static void run(struct daxfs *fs, struct model *m, const struct rec *r)
{
	char a[16], b[16];
	struct daxfs_attr at;
	uint64_t ino = 0;
	size_t done;

	nm(a, r->a);
	if (r->b >= 0)
		nm(b, r->b);
	if (r->op != OP_CREATE && r->op != OP_MKDIR) {
		CHECK_OK(daxfs_lookup(fs, 1, a, &at));
		ino = at.ino;
	}
	switch (r->op) {
	case OP_CREATE:
		CHECK_OK(daxfs_create(fs, 1, a, 0644, 0, 0, NULL));
		break;
	case OP_MKDIR:
		CHECK_OK(daxfs_mkdir(fs, 1, a, 0755, 0, 0, NULL));
		break;
	case OP_APPEND: {
		uint8_t buf[9000];

		pattern(buf, r->len, r->seed);
		CHECK_OK(daxfs_write(fs, ino, at.size, r->len, buf, &done));
		CHECK_EQ(done, r->len);
		break;
	}
	case OP_UNLINK:
		CHECK_OK(daxfs_unlink(fs, 1, a));
		break;
	case OP_RMDIR:
		CHECK_OK(daxfs_rmdir(fs, 1, a));
		break;
	case OP_RENAME:
		CHECK_OK(daxfs_rename(fs, 1, a, 1, b, 0));
		break;
	case OP_TRUNC: {
		struct daxfs_attr in = {.size = r->len};

		CHECK_OK(daxfs_setattr(fs, ino, &in, DAXFS_SET_SIZE, NULL));
		break;
	}
	case OP_SETX:
		CHECK_OK(daxfs_setxattr(fs, ino, "user.x", &r->seed, 4, 0));
		break;
	case OP_LINK:
		CHECK_OK(daxfs_link(fs, ino, 1, b, NULL));
		break;
	case OP_FSYNC:
		CHECK_OK(daxfs_fsync(fs, ino, false));
		break;
	}
}

static void child(const char *path, struct model *m, int fd, unsigned seed)
{
	struct daxfs *fs = core_open(path);

	srand(seed);
	for (;;) {
		struct rec r;

		if (!choose(m, &r))
			continue;
		r.phase = 0;
		CHECK(write(fd, &r, sizeof(r)) == sizeof(r));
		run(fs, m, &r);
		apply(m, &r);
		r.phase = 1;
		CHECK(write(fd, &r, sizeof(r)) == sizeof(r));
	}
}

/* does the filesystem hold exactly @m? */
static bool matches(struct daxfs *fs, const struct model *m, char *why, size_t wl)
{
	uint64_t obj_ino[NOBJS] = {0};
	static uint8_t buf[MAXDATA];

	for (int k = 0; k < NNAMES; k++) {
		char a[16];
		struct daxfs_attr at;
		int o = m->name_obj[k], err;

		nm(a, k);
		err = daxfs_lookup(fs, 1, a, &at);
		if (o < 0) {
			if (err != -ENOENT) {
				snprintf(why, wl, "%s exists but should not", a);
				return false;
			}
			continue;
		}
		if (err) {
			snprintf(why, wl, "%s missing", a);
			return false;
		}
		const struct obj *x = &m->obj[o];

		if (x->dir != S_ISDIR(at.mode)) {
			snprintf(why, wl, "%s wrong type", a);
			return false;
		}
		if (obj_ino[o] && obj_ino[o] != at.ino) {
			snprintf(why, wl, "%s not a link of its sibling", a);
			return false;
		}
		obj_ino[o] = at.ino;
		if (x->dir)
			continue;
		if (at.nlink != (uint32_t)x->nlinks || at.size != x->size) {
			snprintf(why, wl, "%s nlink %u size %llu, want %d %zu", a, at.nlink,
				 (unsigned long long)at.size, x->nlinks, x->size);
			return false;
		}
		size_t done;

		CHECK_OK(daxfs_read(fs, at.ino, 0, x->size, buf, &done));
		if (done != x->size || memcmp(buf, x->data, x->size)) {
			snprintf(why, wl, "%s content differs", a);
			return false;
		}
		uint32_t v = 0;
		size_t sz;

		err = daxfs_getxattr(fs, at.ino, "user.x", &v, sizeof(v), &sz);
		if ((x->xattr && (err || v != x->xattr)) || (!x->xattr && err != -ENODATA)) {
			snprintf(why, wl, "%s xattr differs", a);
			return false;
		}
	}
	return true;
}

/* what the parent knows of the child's operations from its records */
struct feed {
	struct model *m;    /* the completed operations applied */
	struct rec pending; /* started, not known to be done */
	bool have_pending;
	long ops;
};

static void take(struct feed *f, const struct rec *r)
{
	if (r->phase == 0) {
		f->pending = *r;
		f->have_pending = true;
	} else {
		apply(f->m, r);
		f->have_pending = false;
		f->ops++;
	}
}

int main(void)
{
	const char *path = core_mkfs("crash", 32 * MiB, 0);
	static struct model m, m2;
	unsigned seed = (unsigned)time(NULL);
	const char *env = getenv("PMD_TEST_SEED");

	if (env)
		seed = (unsigned)strtoul(env, NULL, 0);
	printf("seed %u\n", seed);
	srand(seed);
	for (int k = 0; k < NNAMES; k++)
		m.name_obj[k] = -1;
	for (int round = 0; round < ROUNDS; round++) {
		int pfd[2];
		struct rec r;
		struct feed f = {.m = &m};

		CHECK(pipe(pfd) == 0);
		unsigned cseed = (unsigned)rand();
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child(path, &m, pfd[1], cseed);
			_exit(0);
		}
		close(pfd[1]);
		/* let it run for a random number of completed operations */
		long target = 50 + rand() % 400;

		while (f.ops < target && read(pfd[0], &r, sizeof(r)) == sizeof(r))
			take(&f, &r);
		/* keep draining for a random time so the kill lands while it runs */
		struct timespec t0, t1;
		long budget_ns = (rand() % 20000) * 1000L;

		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) >
			    budget_ns)
				break;
			if (read(pfd[0], &r, sizeof(r)) == sizeof(r))
				take(&f, &r);
		}
		kill(pid, SIGKILL);
		int status;

		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status));
		fcntl(pfd[0], F_SETFL, 0);
		while (read(pfd[0], &r, sizeof(r)) == sizeof(r))
			take(&f, &r);
		close(pfd[0]);

		struct daxfs *fs = core_open(path); /* recovery */
		char why[128] = "", why2[128] = "";

		if (!matches(fs, &m, why, sizeof(why))) {
			CHECK(f.have_pending);
			m2 = m;
			apply(&m2, &f.pending);
			if (!matches(fs, &m2, why2, sizeof(why2))) {
				fprintf(stderr, "round %d: state matches neither model: %s / %s\n",
					round, why, why2);
				return 1;
			}
			m = m2;
		}
		CHECK_OK(daxfs_close(&fs));
		core_fsck_clean(path);
		printf("round %d: %ld operations, state consistent\n", round, f.ops);
	}
	return 0;
}
