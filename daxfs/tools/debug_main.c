/* SPDX-License-Identifier: MIT */
/*
 * daxfs-debug - print and damage the structures of a daxfs image, by name,
 * for tests and for looking at a broken filesystem (like debugfs). See
 * docs/man/daxfs-debug.8 and dbg.h.
 *
 *   daxfs-debug [-c] [-F] [-s SEED] [-n BYTES] REGION COMMAND [ARGS...]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core.h"
#include "dbg.h"
#include "errmsg.h"
#include "region.h"

#define DEBUG_USAGE 16
#define DEBUG_FAIL 8

static void usage(FILE *f)
{
	fprintf(f,
		"usage: daxfs-debug [-c] [-F] [-s SEED] [-n BYTES] REGION COMMAND [ARGS]\n"
		"       daxfs-debug -h|--help | -V|--version\n"
		"commands (KIND ID: sb, backup, jheader take no ID; see daxfs-debug(8)):\n"
		"  list [KIND] [INO]            every structure: kind id offset length owner\n"
		"  print KIND [ID]              the fields of one structure\n"
		"  get KIND [ID] FIELD          one field's value\n"
		"  ls DIR                       a directory's entries (raw walk) with their ids\n"
		"  set KIND [ID] FIELD VALUE    VALUE: number, max, out, +N, -N\n"
		"  flip KIND [ID] [FIELD] BIT   flip one bit of the field or structure\n"
		"  rand KIND [ID] [FIELD]       random bytes (-n BYTES of them, seed -s)\n"
		"  zero BLK [COUNT]             zero blocks\n"
		"  swap BLK1 BLK2               exchange two blocks\n"
		"options:\n"
		"  -c  recompute the checksum covering the change (damage only in meaning)\n"
		"  -F  read commands: do not take the region lock (a mounted filesystem)\n"
		"  -s SEED   seed of rand (default 1)\n"
		"  -n BYTES  bytes rand overwrites (default: all of them)\n"
		"  -h, --help  this help; -V, --version  the version\n");
}

struct opts {
	bool reseal, nolock;
	uint64_t seed, nbytes;
};

struct ctx {
	struct pmr_region *r;
	struct dbg_img im;
	struct opts o;
	char **argv;
	int argc, pos;
};

static const char *next_arg(struct ctx *c)
{
	return c->pos < c->argc ? c->argv[c->pos++] : NULL;
}

/* parse "KIND [ID]" from the arguments into @o */
static int take_obj(struct ctx *c, struct dbg_obj *o)
{
	const char *kname = next_arg(c), *id = "";
	enum dbg_kind k;
	int err;

	if (!kname) {
		fprintf(stderr, "daxfs-debug: missing structure kind\n");
		return -EINVAL;
	}
	if (dbg_kind_parse(kname, &k)) {
		fprintf(stderr, "daxfs-debug: unknown structure kind \"%s\"\n", kname);
		return -EINVAL;
	}
	if (dbg_kind_has_id(k)) {
		id = next_arg(c);
		if (!id) {
			fprintf(stderr, "daxfs-debug: %s needs an id\n", kname);
			return -EINVAL;
		}
	}
	err = dbg_find(&c->im, k, id, o);
	if (err == -EINVAL)
		fprintf(stderr, "daxfs-debug: bad id \"%s\" for %s\n", id, kname);
	else if (err)
		fprintf(stderr, "daxfs-debug: no %s %s in this image\n", kname, id);
	return err;
}

static const struct dbg_field *take_field(struct ctx *c, const struct dbg_obj *o, const char *name)
{
	const struct dbg_field *f = dbg_field(&c->im, o, name);
	char buf[64];

	if (!f)
		fprintf(stderr, "daxfs-debug: %s has no field \"%s\"\n",
			dbg_obj_name(o, buf, sizeof(buf)), name);
	return f;
}

static void persist(struct ctx *c, uint64_t off, uint64_t len)
{
	if (len)
		pmr_persist(c->r, c->im.base + off, len);
}

/* the change to @o is in place: reseal if asked, persist */
static void changed(struct ctx *c, const struct dbg_obj *o, uint64_t off, uint64_t len)
{
	persist(c, off, len);
	if (c->o.reseal) {
		dbg_reseal(&c->im, o, &off, &len);
		persist(c, off, len);
	}
}

struct list_ctx {
	bool any_kind;
	enum dbg_kind kind;
	uint64_t ino; /* 0 = all */
};

static int list_cb(void *ctx, const struct dbg_obj *o)
{
	struct list_ctx *l = ctx;
	char id[48];

	if ((!l->any_kind && o->kind != l->kind) || (l->ino && o->ino != l->ino))
		return 0;
	printf("%s\t%s\t%" PRIu64 "\t%u\t%" PRIu64 "\n", dbg_kind_name(o->kind),
	       dbg_obj_id(o, id, sizeof(id)), o->off, o->len, o->ino);
	return 0;
}

static int cmd_list(struct ctx *c)
{
	struct list_ctx l = {.any_kind = true};
	const char *a;

	while ((a = next_arg(c))) {
		if (!dbg_kind_parse(a, &l.kind)) {
			l.any_kind = false;
		} else {
			l.ino = *a == '/' ? dbg_lookup_path(&c->im, a) : strtoull(a, NULL, 0);
			if (!l.ino) {
				fprintf(stderr, "daxfs-debug: \"%s\" is no kind nor inode\n", a);
				return -EINVAL;
			}
		}
	}
	return dbg_scan(&c->im, list_cb, &l);
}

struct ls_ctx {
	const struct dbg_img *im;
	uint64_t dir;
};

static int ls_cb(void *ctx, const struct dbg_obj *o)
{
	struct ls_ctx *l = ctx;
	const uint8_t *e = l->im->base + o->off;
	size_t nl;
	le64 ino;

	if (o->kind != DBG_DENTRY || o->ino != l->dir)
		return 0;
	nl = e[DBG_DENTRY_NAMELEN] < o->len - DBG_DENTRY_HDR ? e[DBG_DENTRY_NAMELEN]
							     : o->len - DBG_DENTRY_HDR;
	memcpy(&ino, e + offsetof(struct daxfs_dentry, ino), sizeof(ino));
	printf("dentry %" PRIu64 ".%u\tino %" PRIu64 "\ttype %u\t%.*s\n", o->id, o->sub,
	       le64_to_cpu(ino), e[offsetof(struct daxfs_dentry, type)], (int)nl,
	       (const char *)e + DBG_DENTRY_HDR);
	return 0;
}

static int cmd_ls(struct ctx *c)
{
	const char *a = next_arg(c);
	struct ls_ctx l = {&c->im, 0};

	if (!a)
		return -EINVAL;
	l.dir = *a == '/' ? dbg_lookup_path(&c->im, a) : strtoull(a, NULL, 0);
	if (!l.dir || l.dir > c->im.inode_count) {
		fprintf(stderr, "daxfs-debug: no directory \"%s\"\n", a);
		return -ENOENT;
	}
	return dbg_scan(&c->im, ls_cb, &l);
}

static int cmd_print(struct ctx *c)
{
	struct dbg_obj o;
	int err = take_obj(c, &o);

	if (!err)
		dbg_print(stdout, &c->im, &o);
	return err;
}

static int cmd_get(struct ctx *c)
{
	struct dbg_obj o;
	const struct dbg_field *f;
	const char *name;
	uint64_t v;
	int err = take_obj(c, &o);

	if (err)
		return err;
	name = next_arg(c);
	if (!name)
		return -EINVAL;
	f = take_field(c, &o, name);
	if (!f)
		return -ENOENT;
	err = dbg_get(&c->im, &o, f, &v);
	if (err) {
		fprintf(stderr, "daxfs-debug: field %s is not a number\n", name);
		return err;
	}
	printf("%" PRIu64 "\n", v);
	return 0;
}

static int cmd_set(struct ctx *c)
{
	struct dbg_obj o;
	const struct dbg_field *f;
	const char *name, *val;
	uint64_t cur, v;
	int err = take_obj(c, &o);

	if (err)
		return err;
	name = next_arg(c);
	val = next_arg(c);
	if (!name || !val)
		return -EINVAL;
	f = take_field(c, &o, name);
	if (!f)
		return -ENOENT;
	err = dbg_get(&c->im, &o, f, &cur);
	if (!err)
		err = dbg_parse_value(&c->im, f, cur, val, &v);
	if (!err)
		err = dbg_set(&c->im, &o, f, v);
	if (err) {
		fprintf(stderr, "daxfs-debug: cannot set %s to \"%s\" (%s)\n", name, val,
			err == -ERANGE ? "too wide for the field" : "not a number field or value");
		return err;
	}
	changed(c, &o, o.off + f->off, f->size);
	return 0;
}

/* the byte range [*off, *off + *len) of the optional FIELD argument, else of @o */
static int take_range(struct ctx *c, const struct dbg_obj *o, bool need_more, uint64_t *off,
		      uint64_t *len)
{
	*off = o->off;
	*len = o->len;
	if (c->pos < c->argc && (!need_more || c->pos + 1 < c->argc)) {
		const char *a = c->argv[c->pos];

		if (!(a[0] >= '0' && a[0] <= '9')) {
			const struct dbg_field *f = take_field(c, o, a);

			if (!f)
				return -ENOENT;
			c->pos++;
			*off = o->off + f->off;
			*len = f->size;
		}
	}
	return 0;
}

static int cmd_flip(struct ctx *c)
{
	struct dbg_obj o;
	uint64_t off, len, bit;
	const char *b;
	char *end;
	int err = take_obj(c, &o);

	if (!err)
		err = take_range(c, &o, true, &off, &len);
	if (err)
		return err;
	b = next_arg(c);
	if (!b)
		return -EINVAL;
	bit = strtoull(b, &end, 0);
	if (*end || end == b || bit >= len * 8) {
		fprintf(stderr, "daxfs-debug: bit \"%s\" outside the %" PRIu64 " bytes\n", b, len);
		return -EINVAL;
	}
	c->im.base[off + bit / 8] ^= (uint8_t)(1U << (bit % 8));
	changed(c, &o, off + bit / 8, 1);
	return 0;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int cmd_rand(struct ctx *c)
{
	struct dbg_obj o;
	uint64_t off, len, s = c->o.seed * 0x9E3779B97F4A7C15ULL + 1;
	int err = take_obj(c, &o);

	if (!err)
		err = take_range(c, &o, false, &off, &len);
	if (err)
		return err;
	if (c->o.nbytes && c->o.nbytes < len) {
		for (uint64_t k = 0; k < c->o.nbytes; k++)
			c->im.base[off + rng(&s) % len] = (uint8_t)rng(&s);
	} else {
		for (uint64_t k = 0; k < len; k++)
			c->im.base[off + k] = (uint8_t)rng(&s);
	}
	changed(c, &o, off, len);
	return 0;
}

static int take_blk(struct ctx *c, uint64_t *blk, bool optional)
{
	const char *a = next_arg(c);
	char *end;

	if (!a) {
		if (optional)
			return 1;
		fprintf(stderr, "daxfs-debug: missing block number\n");
		return -EINVAL;
	}
	*blk = strtoull(a, &end, 0);
	if (*end || end == a || *blk >= c->im.size / BLK_SIZE) {
		fprintf(stderr, "daxfs-debug: block \"%s\" outside the region\n", a);
		return -EINVAL;
	}
	return 0;
}

static int cmd_zero(struct ctx *c)
{
	uint64_t blk, n = 1;
	int err = take_blk(c, &blk, false);

	if (err)
		return err;
	err = take_blk(c, &n, true);
	if (err < 0)
		return err;
	if (n > c->im.size / BLK_SIZE - blk) {
		fprintf(stderr, "daxfs-debug: %" PRIu64 " blocks from %" PRIu64 " pass the end\n",
			n, blk);
		return -EINVAL;
	}
	pmr_memset(c->r, c->im.base + blk_to_off(blk), 0, blk_to_off(n), 0);
	return 0;
}

static int cmd_swap(struct ctx *c)
{
	uint64_t a, b;
	uint8_t tmp[BLK_SIZE];
	int err = take_blk(c, &a, false);

	if (!err)
		err = take_blk(c, &b, false);
	if (err)
		return err;
	memcpy(tmp, c->im.base + blk_to_off(a), BLK_SIZE);
	memcpy(c->im.base + blk_to_off(a), c->im.base + blk_to_off(b), BLK_SIZE);
	memcpy(c->im.base + blk_to_off(b), tmp, BLK_SIZE);
	persist(c, blk_to_off(a), BLK_SIZE);
	persist(c, blk_to_off(b), BLK_SIZE);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct ctx *c);
	bool writes;
} cmds[] = {
	{"list", cmd_list, false}, {"print", cmd_print, false}, {"get", cmd_get, false},
	{"ls", cmd_ls, false},	   {"set", cmd_set, true},	{"flip", cmd_flip, true},
	{"rand", cmd_rand, true},  {"zero", cmd_zero, true},	{"swap", cmd_swap, true},
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		CLI_VERSION_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct ctx c = {.o = {.seed = 1}};
	const char *path, *cmd;
	char *end;
	int opt, err, k;
	unsigned flags;

	while ((opt = getopt_long(argc, argv, "+cFs:n:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.o.reseal = true;
			break;
		case 'F':
			c.o.nolock = true;
			break;
		case 's':
		case 'n':
			errno = 0;
			*(opt == 's' ? &c.o.seed : &c.o.nbytes) = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "daxfs-debug: bad number \"%s\"\n", optarg);
				return DEBUG_USAGE;
			}
			break;
		case 'V':
			return cli_version("daxfs-debug");
		default:
			return cli_help(usage, opt, DEBUG_USAGE);
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return DEBUG_USAGE;
	}
	path = argv[optind];
	cmd = argv[optind + 1];
	for (k = 0; k < (int)(sizeof(cmds) / sizeof(cmds[0])); k++)
		if (!strcmp(cmds[k].name, cmd))
			break;
	if (k == (int)(sizeof(cmds) / sizeof(cmds[0]))) {
		fprintf(stderr, "daxfs-debug: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return DEBUG_USAGE;
	}
	if (cmds[k].writes)
		flags = PMR_F_LOCK_EXCL;
	else
		flags = PMR_F_RDONLY | (c.o.nolock ? 0 : PMR_F_LOCK_SHARED);
	err = pmr_open(path, flags, &c.r);
	if (err) {
		fprintf(stderr, "daxfs-debug: %s: %s\n", path, pmd_strerror(err));
		return DEBUG_FAIL;
	}
	if (dbg_img_init(&c.im, pmr_addr(c.r), pmr_size(c.r)) && strcmp(cmd, "zero") &&
	    strcmp(cmd, "swap")) {
		fprintf(stderr,
			"daxfs-debug: %s: neither superblock is usable (bad magic or layout); "
			"only zero and swap work on it\n",
			path);
		pmr_close(&c.r);
		return DEBUG_FAIL;
	}
	if (!c.im.size) {
		c.im.base = pmr_addr(c.r);
		c.im.size = pmr_size(c.r);
	}
	c.argv = argv;
	c.argc = argc;
	c.pos = optind + 2;
	err = cmds[k].fn(&c);
	if (!err && c.pos < argc) {
		fprintf(stderr, "daxfs-debug: unexpected argument \"%s\"\n", argv[c.pos]);
		err = -EINVAL;
	}
	pmr_close(&c.r);
	if (err == -EINVAL) {
		usage(stderr);
		return DEBUG_USAGE;
	}
	return err ? DEBUG_FAIL : 0;
}
