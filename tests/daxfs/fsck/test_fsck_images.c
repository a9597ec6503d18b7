/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_images - fsck.daxfs's regression images with their expected
 * reports, in the manner of e2fsprogs' f_* tests: one directory per case
 * under tests/daxfs/fsck/images/, holding
 *
 *   damage    how the image is made (below)
 *   expect.1  the report of "fsck -n" on it, and its exit status
 *   expect.2  the report of "fsck -y", its exit status, and how many
 *             undamaged files were missing afterwards
 *
 * and after "fsck -y" a second "fsck -n" must be clean (exit 0), unless
 * "fsck -y" refused the image (no superblock left, exit 8).
 *
 * The image fuzzer runs the filesystem over its damaged image before fsck
 * (open, walk, write, create, unlink); these cases give fsck the image as
 * it was damaged, as e2fsprogs' do.
 *
 * The image is not stored (a populated 12 MiB image is megabytes even
 * compressed); it is the small profile of tests/daxfs/fuzz/populate.h,
 * which is built the same way every time, damaged as the file says:
 *
 *   seed N          the image fuzzer's case N on the small profile
 *                   (fuzz_images -S 12 -n 1 -s N): its base and damage
 *   what TEXT       the fuzzer's description of that damage; checked, so a
 *                   change in the fuzzer's choices is caught, not silently
 *                   tested as another case
 *   end clean|commit|records      a base of that ending (without seed)
 *   damage KIND ID FIELD|- flip|set|rand|zero ARG reseal|stale
 *                   one change by structure name, as daxfs-debug names
 *                   structures (fsck_test.h: ft_damage)
 *   # ...           a comment: where the case came from
 *
 * The reports are compared line by line after the image path and the
 * filesystem UUID (drawn at mkfs) are replaced by IMAGE and UUID.
 *
 *   test_fsck_images IMAGES_DIR [NAME...]           run the cases
 *   test_fsck_images --update IMAGES_DIR [NAME...]  rewrite expect.1/2
 *   test_fsck_images --seed N IMAGES_DIR NAME        record fuzzer case N
 *                                                   as NAME (then --update)
 *
 * A fuzzer finding becomes a regression case with --seed and --update;
 * review the expected reports before committing them.
 */
#include <ctype.h>
#include <dirent.h>

#include "fsck_test.h"
#include "fuzz_case.h"

#define SMALL_PROFILE (12ULL << 20)

static struct fz_base bases[FZ_NVARIANTS];
static bool built[FZ_NVARIANTS];

static const char *const end_names[FZ_NVARIANTS] = {"clean", "commit", "records"};

static const struct fz_base *base_of(int end)
{
	if (!built[end]) {
		CHECK_OK(fz_base_build(&bases[end], test_tmpdir(), (enum pop_end)end,
				       SMALL_PROFILE));
		built[end] = true;
	}
	return &bases[end];
}

struct img_case {
	char dir[768];
	long long seed; /* -1: none */
	char what[256];
	int end;
	char damage[8][256]; /* damage lines */
	unsigned ndamage;
};

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = 0;
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static void spew(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f);
	CHECK(fputs(text, f) >= 0);
	CHECK_EQ(fclose(f), 0);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
}

static void read_case(struct img_case *c)
{
	char path[800], line[256];
	FILE *f;

	memset(c->damage, 0, sizeof(c->damage));
	c->seed = -1;
	c->what[0] = 0;
	c->end = 0;
	c->ndamage = 0;
	snprintf(path, sizeof(path), "%s/damage", c->dir);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		chomp(line);
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "seed ", 5)) {
			c->seed = atoll(line + 5);
		} else if (!strncmp(line, "what ", 5)) {
			snprintf(c->what, sizeof(c->what), "%s", line + 5);
		} else if (!strncmp(line, "end ", 4)) {
			for (c->end = 0;
			     c->end < FZ_NVARIANTS && strcmp(end_names[c->end], line + 4); c->end++)
				;
			CHECK(c->end < FZ_NVARIANTS);
		} else if (!strncmp(line, "damage ", 7) && c->ndamage < 8) {
			snprintf(c->damage[c->ndamage++], sizeof(c->damage[0]), "%s", line + 7);
		} else {
			fprintf(stderr, "%s: cannot read \"%s\"\n", path, line);
			exit(1);
		}
	}
	fclose(f);
}

/* one "damage" line on the image in t->img; the owner's inode into @ino */
static void apply_line(struct ft *t, const char *line, uint64_t *ino)
{
	static const char *const ops[] = {"flip", "set", "rand", "zero"};
	char kind[32], id[64], field[64], op[16], seal[16];
	unsigned long long arg;
	struct dbg_obj o;
	unsigned k;

	if (sscanf(line, "%31s %63s %63s %15s %llu %15s", kind, id, field, op, &arg, seal) != 6) {
		fprintf(stderr, "a damage line needs KIND ID FIELD OP ARG reseal|stale: %s\n",
			line);
		exit(1);
	}
	for (k = 0; k < 4 && strcmp(ops[k], op); k++)
		;
	CHECK(k < 4);
	o = ft_damage(t, kind, id, strcmp(field, "-") ? field : NULL, (enum ft_op)k, arg,
		      !strcmp(seal, "reseal"));
	*ino = o.ino;
}

/*
 * seed_image - the fuzzer's case @seed (fuzz_images.c draws the same way):
 * its base (returned), a damaged copy of the base's image (malloc'd, into
 * *@img; NULL: not kept) and the damage in @d
 */
static const struct fz_base *seed_image(long long seed, uint8_t **img, struct fz_damage *d)
{
	const struct fz_base *b;
	struct fz_src src;
	uint8_t *copy;

	fz_src_init(&src, NULL, 0, (uint64_t)seed);
	b = base_of((int)fz_below(&src, FZ_NVARIANTS));
	copy = malloc(b->size);
	CHECK(copy);
	memcpy(copy, b->img, b->size);
	fz_mutate(b, copy, &src, d);
	if (img)
		*img = copy;
	else
		free(copy);
	return b;
}

/*
 * make_image - the damaged image of @c into t->img, the base's manifest
 * into t->m, and the inodes the damage touched (0-terminated) into @dmg
 */
static void make_image(struct ft *t, const struct img_case *c, uint64_t *dmg, size_t ndmg)
{
	const struct fz_base *b;
	size_t n = 0;

	if (c->seed >= 0) {
		struct fz_damage d;
		uint8_t *img, *mark;

		b = seed_image(c->seed, &img, &d);
		mark = calloc(b->inode_count + 1, 1);
		CHECK(mark);
		if (c->what[0] && strcmp(c->what, d.what)) {
			fprintf(stderr,
				"%s: the fuzzer's seed %lld now does \"%s\", the case was "
				"recorded for \"%s\": record it again (--seed) or drop it\n",
				c->dir, c->seed, d.what, c->what);
			exit(1);
		}
		CHECK_OK(fz_write_image(t->img, img, b->size));
		fz_damaged(b, &d, mark);
		for (uint64_t i = 1; i <= b->inode_count && n + 1 < ndmg; i++)
			if (mark[i])
				dmg[n++] = i;
		free(img);
		free(mark);
	} else {
		b = base_of(c->end);
		CHECK_OK(fz_write_image(t->img, b->img, b->size));
		for (unsigned k = 0; k < c->ndamage && n + 1 < ndmg; k++) {
			uint64_t ino = 0;

			apply_line(t, c->damage[k], &ino);
			if (ino)
				dmg[n++] = ino;
		}
	}
	dmg[n] = 0;
	t->m = b->m; /* shared with the base: never freed here */
}

/* the report in t->out with IMAGE and UUID for what changes run to run */
static void normalize(const struct ft *t, char *out, size_t len)
{
	const char *p = t->out;
	size_t n = 0, il = strlen(t->img);

	while (*p && n + 8 < len) {
		if (!strncmp(p, t->img, il)) {
			n += (size_t)snprintf(out + n, len - n, "IMAGE");
			p += il;
		} else if (!strncmp(p, "UUID ", 5) && strlen(p) >= 41) {
			n += (size_t)snprintf(out + n, len - n, "UUID UUID");
			p += 41;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = 0;
}

/* compare @got with the file @path (or write it when @update); true if same */
static bool against(const char *path, const char *got, bool update)
{
	static char want[1 << 17];
	const char *a = want, *b = got, *la = want, *lb = got;
	unsigned line = 1;

	if (update) {
		spew(path, got);
		return true;
	}
	slurp(path, want, sizeof(want));
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	if (!*a && !*b)
		return true;
	fprintf(stderr, "%s differs at line %u:\n--- expected\n%.*s\n--- got\n%.*s\n", path, line,
		(int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
	return false;
}

static bool run_case(struct ft *t, const char *dir, bool update)
{
	static char got[1 << 17];
	struct img_case c;
	char path[800];
	uint64_t dmg[64];
	size_t n;
	int rc;
	bool ok = true, unrecoverable;

	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	read_case(&c);
	make_image(t, &c, dmg, 64);

	rc = ft_fsck(t, DAXFS_FSCK_CHECK);
	normalize(t, got, sizeof(got));
	n = strlen(got);
	snprintf(got + n, sizeof(got) - n, "Exit status is %d\n", rc);
	snprintf(path, sizeof(path), "%s/expect.1", dir);
	ok &= against(path, got, update);

	rc = ft_fsck(t, DAXFS_FSCK_REPAIR);
	normalize(t, got, sizeof(got));
	n = strlen(got);
	n += (size_t)snprintf(got + n, sizeof(got) - n, "Exit status is %d\n", rc);
	unrecoverable = rc & DAXFS_FSCK_OPERROR; /* no superblock left: refused */
	if (!unrecoverable)
		snprintf(got + n, sizeof(got) - n, "Undamaged files missing after repair: %u\n",
			 ft_missing(t, dmg));
	snprintf(path, sizeof(path), "%s/expect.2", dir);
	ok &= against(path, got, update);

	rc = unrecoverable ? 0 : ft_fsck(t, DAXFS_FSCK_CHECK);
	if (rc) {
		fprintf(stderr, "%s: fsck -n after fsck -y exited %d, not 0:\n%s", dir, rc, t->out);
		ok = false;
	}
	printf("%-32s %s\n", strrchr(dir, '/') + 1, ok ? (update ? "updated" : "ok") : "FAILED");
	return ok;
}

/* record fuzzer case @seed as @dir/damage */
static void record_seed(const char *dir, long long seed)
{
	struct fz_damage d;
	const struct fz_base *b = seed_image(seed, NULL, &d);
	char path[800], text[600];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		exit(1);
	}
	snprintf(text, sizeof(text),
		 "# the image fuzzer's case %lld (fuzz_images -S 12 -n 1 -s %lld), base %s\n"
		 "seed %lld\nwhat %s\n",
		 seed, seed, end_names[b->end], seed, d.what);
	snprintf(path, sizeof(path), "%s/damage", dir);
	spew(path, text);
	printf("%s: %s\n", path, d.what);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	static struct ft t;
	bool update = false, ok = true;
	long long seed = -1;
	struct dirent **list;
	const char *top;
	char dir[768];
	int argi = 1, n;

	if (argi < argc && !strcmp(argv[argi], "--update")) {
		update = true;
		argi++;
	} else if (argi + 1 < argc && !strcmp(argv[argi], "--seed")) {
		seed = atoll(argv[argi + 1]);
		argi += 2;
	}
	if (argi >= argc || (seed >= 0 && argi + 2 != argc)) {
		fprintf(stderr, "usage: test_fsck_images [--update] IMAGES_DIR [NAME...]\n"
				"       test_fsck_images --seed N IMAGES_DIR NAME\n");
		return 16;
	}
	top = argv[argi++];
	if (seed >= 0) {
		snprintf(dir, sizeof(dir), "%s/%s", top, argv[argi]);
		record_seed(dir, seed);
		return 0;
	}
	test_path(t.img, sizeof(t.img), "images-img");
	ft_cur = &t;
	atexit(ft_cleanup);
	if (argi < argc) {
		for (; argi < argc; argi++) {
			snprintf(dir, sizeof(dir), "%s/%s", top, argv[argi]);
			ok &= run_case(&t, dir, update);
		}
	} else {
		n = scandir(top, &list, NULL, by_name);
		CHECK(n >= 0);
		for (int k = 0; k < n; k++) {
			if (list[k]->d_name[0] != '.') {
				snprintf(dir, sizeof(dir), "%s/%s", top, list[k]->d_name);
				ok &= run_case(&t, dir, update);
			}
			free(list[k]);
		}
		free(list);
	}
	for (int k = 0; k < FZ_NVARIANTS; k++)
		if (built[k])
			fz_base_free(&bases[k]);
	return ok ? 0 : 1;
}
