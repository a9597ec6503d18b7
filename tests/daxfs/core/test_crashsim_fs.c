/* SPDX-License-Identifier: MIT */
/*
 * test_crashsim_fs - the daxfs core under the crash simulator (lib/crashsim.h).
 *
 * A seeded workload (create, symlink, write with holes, truncate up and down,
 * punch, unlink, unlink of a held inode (orphan), link, rename across
 * directories, rename and exchange of directories, mkdir, rmdir, set and
 * remove xattrs, fsync) runs on a small filesystem whose region is in test
 * mode. Before each operation the test computes the model after it; at
 * sampled persist points a hook forks a checker that builds crash images
 * (none / flushed / all of the unpersisted lines, and seeded random subsets),
 * opens each with the core (journal replay, orphan recovery) and requires the
 * filesystem to equal the model before the operation in flight or the model
 * after it, exactly (names, types, inode identity of links, link counts,
 * sizes, contents, symlink targets, xattrs), and fsck -n to find it clean
 * after a clean close. For the first image of some points it also cuts the
 * recovery itself (PMD_CRASHSIM_CUT) at each of its persist points and
 * checks the twice-crashed image the same way.
 *
 * Every failure prints the workload seed, the persist point, the policy and
 * the operation. Environment: PMD_TEST_SEED (workload seed), PMD_CRASHSIM_STRIDE
 * (check every Nth persist point; 1 = all).
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "crashsim.h"
#include "format.h"
#include "test_core_util.h"
#include "units.h"

#define NROOT 8	 /* root file slots "f0".."f7" */
#define NDIRS 2	 /* directory slots "D0", "D1" in the root */
#define NCHILD 4 /* child slots "c0".."c3" in each directory */
#define NOBJS 40 /* objects (inodes) the model tracks */
#define MAXDATA (28 * 1024)
#define NOPS 140
#define REGION_SIZE (4 * MiB)
#define DEFAULT_STRIDE 10
#define MAX_TORN 8	     /* torn superblock checks */
#define RECOVERY_EVERY 8     /* cut the recovery at every 8th checked point */
#define MAX_RECOVERY_CUTS 12 /* its first persist points: replay, mount, orphans */

enum otype { T_NONE, T_FILE, T_DIR, T_SYMLINK };

struct obj {
	int type;
	int nlinks; /* names that refer to it (files, symlinks) */
	size_t size;
	uint32_t xattr;	      /* 0: no "user.x" */
	uint32_t target_seed; /* symlink */
	int child[NCHILD];    /* directories: object per child slot, -1 none */
	uint8_t data[MAXDATA];
};

struct model {
	int root[NROOT];
	int dir[NDIRS];
	struct obj obj[NOBJS];
};

/* A name: d = -1 for root file slot i, else child slot i of directory slot d. */
struct loc {
	int d, i;
};

enum opkind {
	OP_CREATE,
	OP_SYMLINK,
	OP_WRITE,
	OP_TRUNC,
	OP_PUNCH,
	OP_UNLINK,
	OP_UNLINK_HELD,
	OP_LINK,
	OP_RENAME,
	OP_MKDIR,
	OP_RMDIR,
	OP_RENAME_DIR,
	OP_EXCHANGE_DIR,
	OP_SETX,
	OP_REMOVEX,
	OP_FSYNC,
	OP_BMAP_WRITE, /* the bio/page data paths: bmap(ALLOC), own stores, write_commit */
	OP_PIN_TRUNC,  /* truncate under a layout pin: frees deferred to the unpin */
	OP_COUNT
};

static const char *const op_names[] = {
	"create",	"symlink",  "write",	   "truncate", "punch",	     "unlink",
	"unlink-held",	"link",	    "rename",	   "mkdir",    "rmdir",	     "rename-dir",
	"exchange-dir", "setxattr", "removexattr", "fsync",    "bmap-write", "pin-truncate",
};
_Static_assert(sizeof(op_names) / sizeof(op_names[0]) == OP_COUNT, "a name per operation");

struct op {
	int kind;
	struct loc a, b;
	int da, db;  /* directory slots */
	bool on_dir; /* setxattr: on directory slot da, not on a */
	uint64_t off, len;
	uint32_t seed;
};

/* ---------------------------------------------------------------------- */
/* deterministic randomness */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(seed * 29 + (k * 7 ^ (k >> 5)) + 1);
}

static void symlink_target(char *buf, size_t len, uint32_t seed)
{
	snprintf(buf, len, "target-%u-%.*s", seed, (int)(seed % 40),
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* ---------------------------------------------------------------------- */
/* the model */

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (int k = 0; k < NROOT; k++)
		m->root[k] = -1;
	for (int k = 0; k < NDIRS; k++)
		m->dir[k] = -1;
}

/* slot - the object slot of @l, or NULL if its directory does not exist */
static int *slot(struct model *m, struct loc l)
{
	if (l.d < 0)
		return &m->root[l.i];
	if (m->dir[l.d] < 0)
		return NULL;
	return &m->obj[m->dir[l.d]].child[l.i];
}

static int obj_at(struct model *m, struct loc l)
{
	int *s = slot(m, l);

	return s ? *s : -1;
}

static int obj_new(struct model *m, int type)
{
	for (int k = 0; k < NOBJS; k++) {
		if (m->obj[k].type == T_NONE) {
			memset(&m->obj[k], 0, sizeof(m->obj[k]));
			m->obj[k].type = type;
			m->obj[k].nlinks = 1;
			for (int c = 0; c < NCHILD; c++)
				m->obj[k].child[c] = -1;
			return k;
		}
	}
	return -1;
}

static void obj_unref(struct model *m, int o)
{
	if (--m->obj[o].nlinks <= 0)
		m->obj[o].type = T_NONE;
}

static void model_apply(struct model *m, const struct op *op)
{
	int oa = obj_at(m, op->a);
	struct obj *x = oa >= 0 ? &m->obj[oa] : NULL;

	switch (op->kind) {
	case OP_CREATE:
	case OP_SYMLINK: {
		int o = obj_new(m, op->kind == OP_CREATE ? T_FILE : T_SYMLINK);

		m->obj[o].target_seed = op->seed;
		*slot(m, op->a) = o;
		break;
	}
	case OP_WRITE:
	case OP_BMAP_WRITE:
		if (op->off > x->size)
			memset(x->data + x->size, 0, op->off - x->size);
		fill(x->data + op->off, op->len, op->seed);
		if (op->off + op->len > x->size)
			x->size = op->off + op->len;
		break;
	case OP_TRUNC:
	case OP_PIN_TRUNC:
		if (op->len > x->size)
			memset(x->data + x->size, 0, op->len - x->size);
		x->size = op->len;
		break;
	case OP_PUNCH:
		memset(x->data + op->off, 0, op->len);
		break;
	case OP_UNLINK:
	case OP_UNLINK_HELD:
		*slot(m, op->a) = -1;
		obj_unref(m, oa);
		break;
	case OP_LINK:
		*slot(m, op->b) = oa;
		x->nlinks++;
		break;
	case OP_RENAME: {
		int ob = obj_at(m, op->b);

		if (ob == oa)
			break; /* two links of one inode: nothing happens */
		if (ob >= 0)
			obj_unref(m, ob);
		*slot(m, op->a) = -1;
		*slot(m, op->b) = oa;
		break;
	}
	case OP_MKDIR:
		m->dir[op->da] = obj_new(m, T_DIR);
		break;
	case OP_RMDIR:
		m->obj[m->dir[op->da]].type = T_NONE;
		m->dir[op->da] = -1;
		break;
	case OP_RENAME_DIR:
		m->dir[op->db] = m->dir[op->da];
		m->dir[op->da] = -1;
		break;
	case OP_EXCHANGE_DIR: {
		int t = m->dir[op->da];

		m->dir[op->da] = m->dir[op->db];
		m->dir[op->db] = t;
		break;
	}
	case OP_SETX:
		if (op->on_dir)
			m->obj[m->dir[op->da]].xattr = op->seed;
		else
			x->xattr = op->seed;
		break;
	case OP_REMOVEX:
		x->xattr = 0;
		break;
	case OP_FSYNC:
		break;
	}
}

static struct loc rnd_loc(void)
{
	int n = (int)rnd_below(NROOT + NDIRS * NCHILD);

	if (n < NROOT)
		return (struct loc){-1, n};
	n -= NROOT;
	return (struct loc){n / NCHILD, n % NCHILD};
}

static bool is_reg(struct model *m, int o)
{
	return o >= 0 && m->obj[o].type == T_FILE;
}

/* relative frequency of each operation (those always valid are rarer) */
static const unsigned op_weight[OP_COUNT] = {
	[OP_CREATE] = 6,       [OP_SYMLINK] = 2,   [OP_WRITE] = 10,	 [OP_TRUNC] = 4,
	[OP_PUNCH] = 3,	       [OP_UNLINK] = 3,	   [OP_UNLINK_HELD] = 2, [OP_LINK] = 3,
	[OP_RENAME] = 5,       [OP_MKDIR] = 3,	   [OP_RMDIR] = 2,	 [OP_RENAME_DIR] = 2,
	[OP_EXCHANGE_DIR] = 1, [OP_SETX] = 3,	   [OP_REMOVEX] = 2,	 [OP_FSYNC] = 1,
	[OP_BMAP_WRITE] = 5,   [OP_PIN_TRUNC] = 3,
};

static int op_weighted(void)
{
	unsigned total = 0, pick;
	int k;

	for (k = 0; k < OP_COUNT; k++)
		total += op_weight[k];
	pick = (unsigned)rnd_below(total);
	for (k = 0; pick >= op_weight[k]; k++)
		pick -= op_weight[k];
	return k;
}

static int free_objs(const struct model *m)
{
	int n = 0;

	for (int k = 0; k < NOBJS; k++)
		n += m->obj[k].type == T_NONE;
	return n;
}

/* op_choose - a random operation valid in @m, or false to try again */
static bool op_choose(struct model *m, struct op *op)
{
	int oa, ob;

	memset(op, 0, sizeof(*op));
	op->kind = op_weighted();
	op->a = rnd_loc();
	op->b = rnd_loc();
	op->da = (int)rnd_below(NDIRS);
	op->db = 1 - op->da;
	op->seed = (uint32_t)rnd_below(1000000) + 1;
	oa = obj_at(m, op->a);
	ob = obj_at(m, op->b);
	switch (op->kind) {
	case OP_CREATE:
	case OP_SYMLINK:
		return slot(m, op->a) && oa < 0 && free_objs(m) > 0;
	case OP_WRITE: {
		struct obj *x;

		if (!is_reg(m, oa))
			return false;
		x = &m->obj[oa];
		op->len = rnd_below(7000) + 1;
		switch (rnd_below(4)) {
		case 0: /* past the end: a hole */
			op->off = x->size + rnd_below(9000);
			break;
		case 1: /* overwrite inside (the in-flight write may be partly there) */
			if (x->size < 2)
				return false;
			op->off = rnd_below(x->size / 2);
			if (op->off + op->len > x->size)
				op->len = x->size - op->off;
			break;
		default: /* append */
			op->off = x->size;
			break;
		}
		return op->off + op->len <= MAXDATA;
	}
	case OP_BMAP_WRITE: /* appends or past the end only: its stores are not atomic */
		if (!is_reg(m, oa))
			return false;
		op->len = rnd_below(9000) + 1;
		op->off = m->obj[oa].size + (rnd_below(2) ? rnd_below(6000) : 0);
		return op->off + op->len <= MAXDATA;
	case OP_PIN_TRUNC:
		if (!is_reg(m, oa) || m->obj[oa].size < 2)
			return false;
		op->len = rnd_below(m->obj[oa].size / 2);
		return true;
	case OP_TRUNC:
		if (!is_reg(m, oa))
			return false;
		op->len = rnd_below(2) ? rnd_below(m->obj[oa].size + 1) : rnd_below(MAXDATA + 1);
		return true;
	case OP_PUNCH: {
		size_t blocks;

		if (!is_reg(m, oa) || m->obj[oa].size < DAXFS_BLOCK_SIZE)
			return false;
		blocks = m->obj[oa].size / DAXFS_BLOCK_SIZE;
		op->off = rnd_below(blocks) * DAXFS_BLOCK_SIZE;
		op->len = (rnd_below(blocks - op->off / DAXFS_BLOCK_SIZE) + 1) * DAXFS_BLOCK_SIZE;
		return true;
	}
	case OP_UNLINK:
		return oa >= 0;
	case OP_UNLINK_HELD: /* the last link, so the write below goes to an orphan */
		return is_reg(m, oa) && m->obj[oa].nlinks == 1;
	case OP_LINK:
		return oa >= 0 && slot(m, op->b) && ob < 0 && m->obj[oa].type != T_DIR;
	case OP_RENAME:
		return oa >= 0 && slot(m, op->b) && (op->a.d != op->b.d || op->a.i != op->b.i);
	case OP_MKDIR:
		return m->dir[op->da] < 0 && free_objs(m) > 0;
	case OP_RMDIR:
		if (m->dir[op->da] < 0)
			return false;
		/* not empty: unlink one of its entries instead, so directories empty out */
		for (int c = 0; c < NCHILD; c++) {
			if (m->obj[m->dir[op->da]].child[c] >= 0) {
				op->kind = OP_UNLINK;
				op->a = (struct loc){op->da, c};
				return true;
			}
		}
		return true;
	case OP_RENAME_DIR:
		return m->dir[op->da] >= 0 && m->dir[op->db] < 0;
	case OP_EXCHANGE_DIR:
		return m->dir[op->da] >= 0 && m->dir[op->db] >= 0;
	case OP_SETX:
		if (rnd_below(4) == 0 && m->dir[op->da] >= 0) {
			op->on_dir = true;
			return true;
		}
		return oa >= 0 && m->obj[oa].type != T_SYMLINK;
	case OP_REMOVEX:
		return oa >= 0 && m->obj[oa].type != T_SYMLINK && m->obj[oa].xattr;
	case OP_FSYNC:
		return is_reg(m, oa);
	}
	return false;
}

static void op_describe(const struct op *op, char *buf, size_t len)
{
	snprintf(buf, len, "%s a=(%d,%d)%s b=(%d,%d) dirs %d,%d off %llu len %llu seed %u",
		 op_names[op->kind], op->a.d, op->a.i, op->on_dir ? " (dir)" : "", op->b.d, op->b.i,
		 op->da, op->db, (unsigned long long)op->off, (unsigned long long)op->len,
		 op->seed);
}

/* ---------------------------------------------------------------------- */
/* running operations on the filesystem */

static void loc_name(struct loc l, char *buf, size_t len)
{
	snprintf(buf, len, l.d < 0 ? "f%d" : "c%d", l.i);
}

static uint64_t dir_ino(struct daxfs *fs, int d)
{
	char name[8];
	struct daxfs_attr at;

	snprintf(name, sizeof(name), "D%d", d);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, name, &at));
	return at.ino;
}

static uint64_t parent_ino(struct daxfs *fs, struct loc l)
{
	return l.d < 0 ? DAXFS_ROOT_INO : dir_ino(fs, l.d);
}

static uint64_t loc_ino(struct daxfs *fs, struct loc l)
{
	char name[8];
	struct daxfs_attr at;

	loc_name(l, name, sizeof(name));
	CHECK_OK(daxfs_lookup(fs, parent_ino(fs, l), name, &at));
	return at.ino;
}

/* bmap_write - store like the bio/page data paths: map (allocating), copy
 * into the region ourselves without a drain, then write_commit */
static void bmap_write(struct daxfs *fs, uint64_t ino, uint64_t off, uint64_t len,
		       const uint8_t *src)
{
	struct pmr_region *r = daxfs_region(fs);
	uint8_t *base = pmr_addr(r);
	uint64_t pos = off;

	CHECK_OK(daxfs_pin(fs, ino));
	while (pos < off + len) {
		struct daxfs_map m;
		uint64_t n;

		CHECK_OK(daxfs_bmap(fs, ino, pos, off + len - pos, DAXFS_BMAP_ALLOC, &m));
		CHECK(m.region_off != DAXFS_HOLE && m.file_off <= pos && m.file_off + m.len > pos);
		n = m.file_off + m.len - pos;
		if (n > off + len - pos)
			n = off + len - pos;
		pmr_memcpy(r, base + m.region_off + (pos - m.file_off), src + (pos - off), n,
			   PMR_MEM_NODRAIN);
		pos += n;
	}
	CHECK_OK(daxfs_write_commit(fs, ino, off + len));
	CHECK_OK(daxfs_unpin(fs, ino));
}

static void op_run(struct daxfs *fs, const struct op *op)
{
	static uint8_t buf[MAXDATA];
	char a[8], b[8], da[8], db[8], tgt[64];
	size_t done;

	loc_name(op->a, a, sizeof(a));
	loc_name(op->b, b, sizeof(b));
	snprintf(da, sizeof(da), "D%d", op->da);
	snprintf(db, sizeof(db), "D%d", op->db);
	switch (op->kind) {
	case OP_CREATE:
		CHECK_OK(daxfs_create(fs, parent_ino(fs, op->a), a, 0644, 0, 0, NULL));
		break;
	case OP_SYMLINK:
		symlink_target(tgt, sizeof(tgt), op->seed);
		CHECK_OK(daxfs_symlink(fs, parent_ino(fs, op->a), a, tgt, 0, 0, NULL));
		break;
	case OP_WRITE:
		fill(buf, op->len, op->seed);
		CHECK_OK(daxfs_write(fs, loc_ino(fs, op->a), op->off, op->len, buf, &done));
		CHECK_EQ(done, op->len);
		break;
	case OP_TRUNC: {
		struct daxfs_attr in = {.size = op->len};

		CHECK_OK(daxfs_setattr(fs, loc_ino(fs, op->a), &in, DAXFS_SET_SIZE, NULL));
		break;
	}
	case OP_PUNCH:
		CHECK_OK(daxfs_fallocate(fs, loc_ino(fs, op->a),
					 FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, op->off,
					 op->len));
		break;
	case OP_UNLINK:
		CHECK_OK(daxfs_unlink(fs, parent_ino(fs, op->a), a));
		break;
	case OP_UNLINK_HELD: {
		/* unlinked while referenced: the inode lives on the orphan list,
		 * gets more blocks, and is freed by the last reference */
		uint64_t ino = loc_ino(fs, op->a);

		CHECK_OK(daxfs_iget(fs, ino));
		CHECK_OK(daxfs_unlink(fs, parent_ino(fs, op->a), a));
		fill(buf, 5000, op->seed);
		CHECK_OK(daxfs_write(fs, ino, 3 * DAXFS_BLOCK_SIZE, 5000, buf, &done));
		daxfs_iput(fs, ino, 1);
		break;
	}
	case OP_LINK:
		CHECK_OK(daxfs_link(fs, loc_ino(fs, op->a), parent_ino(fs, op->b), b, NULL));
		break;
	case OP_RENAME:
		CHECK_OK(daxfs_rename(fs, parent_ino(fs, op->a), a, parent_ino(fs, op->b), b, 0));
		break;
	case OP_MKDIR:
		CHECK_OK(daxfs_mkdir(fs, DAXFS_ROOT_INO, da, 0755, 0, 0, NULL));
		break;
	case OP_RMDIR:
		CHECK_OK(daxfs_rmdir(fs, DAXFS_ROOT_INO, da));
		break;
	case OP_RENAME_DIR:
		CHECK_OK(daxfs_rename(fs, DAXFS_ROOT_INO, da, DAXFS_ROOT_INO, db,
				      DAXFS_RENAME_NOREPLACE));
		break;
	case OP_EXCHANGE_DIR:
		CHECK_OK(daxfs_rename(fs, DAXFS_ROOT_INO, da, DAXFS_ROOT_INO, db,
				      DAXFS_RENAME_EXCHANGE));
		break;
	case OP_SETX: {
		uint64_t ino = op->on_dir ? dir_ino(fs, op->da) : loc_ino(fs, op->a);
		char val[64];

		/* values of different lengths, so a torn update would show */
		memset(val, (int)(op->seed & 0xff), sizeof(val));
		memcpy(val, &op->seed, sizeof(op->seed));
		CHECK_OK(daxfs_setxattr(fs, ino, "user.x", val, 4 + op->seed % 60, 0));
		break;
	}
	case OP_REMOVEX:
		CHECK_OK(daxfs_removexattr(fs, loc_ino(fs, op->a), "user.x"));
		break;
	case OP_FSYNC:
		CHECK_OK(daxfs_fsync(fs, loc_ino(fs, op->a), false));
		break;
	case OP_BMAP_WRITE:
		fill(buf, op->len, op->seed);
		bmap_write(fs, loc_ino(fs, op->a), op->off, op->len, buf);
		break;
	case OP_PIN_TRUNC: {
		struct daxfs_attr in = {.size = op->len};
		uint64_t ino = loc_ino(fs, op->a);

		CHECK_OK(daxfs_pin(fs, ino));
		CHECK_OK(daxfs_setattr(fs, ino, &in, DAXFS_SET_SIZE, NULL));
		CHECK_OK(daxfs_unpin(fs, ino));
		break;
	}
	}
}

/* ---------------------------------------------------------------------- */
/* comparing a filesystem with a model */

struct names {
	char name[24][16];
	int n;
	bool overflow;
};

static int collect(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	struct names *ns = ctx;

	(void)ino, (void)type, (void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (ns->n == 24 || strlen(name) >= 16) {
		ns->overflow = true;
		return 0;
	}
	snprintf(ns->name[ns->n++], 16, "%s", name);
	return 0;
}

#define WHY(...) (snprintf(why, wl, __VA_ARGS__), false)

/*
 * An overwrite is not atomic (as with write(2) on any filesystem): while one
 * is in flight, each byte of object tol_obj in [tol_lo, tol_hi) may hold its
 * old or its new value. Sizes and everything else must match exactly.
 */
static int tol_obj = -1;
static size_t tol_lo, tol_hi;
static const uint8_t *tol_alt;

/* entry_matches - the entry @name in @parent against object @o of @m */
static bool entry_matches(struct daxfs *fs, const struct model *m, uint64_t parent,
			  const char *name, int o, uint64_t *obj_ino, char *why, size_t wl)
{
	static uint8_t buf[MAXDATA + 1];
	struct daxfs_attr at;
	const struct obj *x;
	int err = daxfs_lookup(fs, parent, name, &at);

	if (o < 0)
		return err == -ENOENT ? true : WHY("%s exists (error %d), should not", name, err);
	if (err)
		return WHY("%s is missing (%d)", name, err);
	x = &m->obj[o];
	if ((x->type == T_FILE && !S_ISREG(at.mode)) || (x->type == T_DIR && !S_ISDIR(at.mode)) ||
	    (x->type == T_SYMLINK && !S_ISLNK(at.mode)))
		return WHY("%s has mode %o, want type %d", name, at.mode, x->type);
	if (obj_ino[o] && obj_ino[o] != at.ino)
		return WHY("%s is inode %llu, its other link %llu", name,
			   (unsigned long long)at.ino, (unsigned long long)obj_ino[o]);
	obj_ino[o] = at.ino;
	if (x->type != T_DIR && at.nlink != (uint32_t)x->nlinks)
		return WHY("%s has %u links, want %d", name, at.nlink, x->nlinks);
	if (x->type == T_DIR && at.nlink != 2)
		return WHY("directory %s has %u links, want 2", name, at.nlink);
	if (x->type == T_SYMLINK) {
		char want[64], got[64];
		size_t len;

		symlink_target(want, sizeof(want), x->target_seed);
		err = daxfs_readlink(fs, at.ino, got, sizeof(got), &len);
		if (err || strcmp(got, want))
			return WHY("symlink %s: target differs (%d)", name, err);
		return true;
	}
	if (x->type == T_FILE) {
		size_t done = 0;

		if (at.size != x->size)
			return WHY("%s has size %llu, want %zu", name, (unsigned long long)at.size,
				   x->size);
		CHECK_OK(daxfs_read(fs, at.ino, 0, x->size + 1, buf, &done));
		if (done != x->size)
			return WHY("%s: read %zu bytes, want %zu", name, done, x->size);
		for (size_t k = 0; k < x->size; k++)
			if (buf[k] != x->data[k] &&
			    !(o == tol_obj && k >= tol_lo && k < tol_hi && buf[k] == tol_alt[k]))
				return WHY("%s: byte %zu is %u, want %u", name, k, buf[k],
					   x->data[k]);
	}
	{
		uint8_t val[64], want[64];
		size_t sz = 0;

		err = daxfs_getxattr(fs, at.ino, "user.x", val, sizeof(val), &sz);
		if (!x->xattr)
			return err == -ENODATA ? true : WHY("%s has an xattr (%d)", name, err);
		memset(want, (int)(x->xattr & 0xff), sizeof(want));
		memcpy(want, &x->xattr, sizeof(x->xattr));
		if (err || sz != 4 + x->xattr % 60 || memcmp(val, want, sz))
			return WHY("%s: xattr differs (%d, %zu bytes)", name, err, sz);
	}
	return true;
}

static bool dir_names_match(struct daxfs *fs, uint64_t ino, int want, const char *what, char *why,
			    size_t wl)
{
	struct names ns = {0};
	int err = daxfs_readdir(fs, ino, 0, collect, &ns);

	if (err)
		return WHY("readdir %s: %d", what, err);
	if (ns.overflow || ns.n != want)
		return WHY("%s lists %d names, want %d", what, ns.n, want);
	return true;
}

/* fs_matches - does @fs hold exactly @m? */
static bool fs_matches(struct daxfs *fs, const struct model *m, char *why, size_t wl)
{
	uint64_t obj_ino[NOBJS] = {0};
	int nroot = 0;
	char name[8];

	for (int k = 0; k < NROOT; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		nroot += m->root[k] >= 0;
		if (!entry_matches(fs, m, DAXFS_ROOT_INO, name, m->root[k], obj_ino, why, wl))
			return false;
	}
	for (int d = 0; d < NDIRS; d++) {
		int o = m->dir[d], nchild = 0;
		uint64_t ino;

		snprintf(name, sizeof(name), "D%d", d);
		nroot += o >= 0;
		if (!entry_matches(fs, m, DAXFS_ROOT_INO, name, o, obj_ino, why, wl))
			return false;
		if (o < 0)
			continue;
		ino = obj_ino[o];
		for (int c = 0; c < NCHILD; c++) {
			char cn[8];

			snprintf(cn, sizeof(cn), "c%d", c);
			nchild += m->obj[o].child[c] >= 0;
			if (!entry_matches(fs, m, ino, cn, m->obj[o].child[c], obj_ino, why, wl))
				return false;
		}
		if (!dir_names_match(fs, ino, nchild, name, why, wl))
			return false;
	}
	if (!dir_names_match(fs, DAXFS_ROOT_INO, nroot, "/", why, wl))
		return false;
	{
		struct daxfs_attr at;

		CHECK_OK(daxfs_getattr(fs, DAXFS_ROOT_INO, &at));
		int ndirs = (m->dir[0] >= 0) + (m->dir[1] >= 0);

		if (at.nlink != (uint32_t)(2 + ndirs))
			return WHY("/ has %u links, want %d", at.nlink, 2 + ndirs);
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* the crash checks */

struct state {
	uint64_t seed;
	const char *region;
	struct model *prev, *next; /* before / after the operation in flight */
	const struct op *op;	   /* NULL: none in flight */
	const void *work;	   /* the working mapping of the region */
	int tol;		   /* object the operation in flight writes, or -1 */
	long opno;
	long torn_opno; /* last operation whose torn superblock was checked */
	uint64_t stride;
	struct counters *cnt; /* shared with the checker children */
};

struct counters {
	uint64_t checked_points, checked_images, recovery_cuts, torn_supers;
};

static struct state st;

static const char *fsck_clean(const char *path)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = devnull};
	int rc = daxfs_fsck(path, &o);

	fclose(devnull);
	if (rc == 0)
		return NULL;
	{
		struct daxfs_fsck_opts v = {
			.mode = DAXFS_FSCK_CHECK, .verbose = true, .out = stderr};

		daxfs_fsck(path, &v);
	}
	return "fsck -n does not find it clean";
}

/*
 * check_image - recover the crash image @img and compare it with the models;
 * returns NULL or what is wrong (in @why).
 */
static const char *check_image(const char *img, char *why, size_t wl)
{
	char w1[256] = "", w2[256] = "";
	struct daxfs *fs;
	int err = daxfs_open(img, 0, &fs);

	if (err) {
		snprintf(why, wl, "recovery failed: %s", pmd_strerror(err));
		return why;
	}
	tol_obj = -1;
	if (st.op && st.op->kind == OP_WRITE) {
		size_t old = st.prev->obj[st.tol].size;

		tol_obj = st.tol;
		tol_lo = st.op->off;
		tol_hi = st.op->off + st.op->len < old ? st.op->off + st.op->len : old;
	}
	tol_alt = st.next->obj[st.tol < 0 ? 0 : st.tol].data;
	bool ok = fs_matches(fs, st.prev, w1, sizeof(w1));

	tol_alt = st.prev->obj[st.tol < 0 ? 0 : st.tol].data;
	if (!ok && (!st.op || !fs_matches(fs, st.next, w2, sizeof(w2)))) {
		snprintf(why, wl, "neither before (%s) nor after (%s) the operation", w1,
			 st.op ? w2 : "no operation in flight");
		daxfs_close(&fs);
		return why;
	}
	err = daxfs_close(&fs);
	if (err) {
		snprintf(why, wl, "close after recovery: %s", pmd_strerror(err));
		return why;
	}
	return fsck_clean(img);
}

static void fail(uint64_t point, const char *policy, uint64_t pseed, const char *img,
		 const char *why)
{
	char d[160] = "none";

	if (st.op)
		op_describe(st.op, d, sizeof(d));
	fprintf(stderr,
		"FAIL: workload seed %llu, persist point %llu, policy %s (seed %llu), "
		"op #%ld in flight: %s\n  %s\n  image kept at %s\n",
		(unsigned long long)st.seed, (unsigned long long)point, policy,
		(unsigned long long)pseed, st.opno, d, why, img);
	_exit(1);
}

/* copy_file - @from to a new file @to; 0 or -errno */
static int copy_file(const char *from, const char *to)
{
	static uint8_t buf[4096];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -errno;
	}
	/* sparse: the images are mostly zeros */
	for (off_t off = 0; (n = read(in, buf, 4096)) > 0; off += n) {
		if (buf[0] == 0 && !memcmp(buf, buf + 1, (size_t)n - 1))
			continue;
		if (pwrite(out, buf, (size_t)n, off) != n) {
			n = -1;
			break;
		}
	}
	if (n == 0 && ftruncate(out, lseek(in, 0, SEEK_CUR)))
		n = -1;
	close(in);
	close(out);
	return n < 0 ? -EIO : 0;
}

/*
 * cut_recovery - crash the recovery of @img at each of its persist points
 * (a child with PMD_CRASHSIM_CUT) and check each twice-crashed image.
 */
static void cut_recovery(const char *img, uint64_t point)
{
	char img2[400], work[400], why[600];

	snprintf(img2, sizeof(img2), "%s-rec", img);
	snprintf(work, sizeof(work), "%s-work", img);
	for (unsigned cut = 1; cut <= MAX_RECOVERY_CUTS; cut++) {
		char v[16];
		pid_t pid;
		int status;

		unlink(img2);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			struct daxfs *fs;

			snprintf(v, sizeof(v), "%u", cut);
			setenv("PMD_CRASHSIM", "1", 1);
			setenv("PMD_CRASHSIM_CUT", v, 1);
			setenv("PMD_CRASHSIM_IMAGE", img2, 1);
			setenv("PMD_CRASHSIM_POLICY", cut % 2 ? "none" : "random:7", 1);
			/* recover a copy: the image itself must stay as it was */
			int err = copy_file(img, work);

			if (!err)
				err = daxfs_open(work, 0, &fs);
			if (err) {
				fprintf(stderr, "recovery of a copy of %s: %s\n", img,
					pmd_strerror(err));
				_exit(2);
			}
			_exit(0); /* recovery had fewer persist points */
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			break;
		if (WEXITSTATUS(status) != CRASHSIM_CUT_EXIT)
			fail(point, "none+recovery-cut", cut, img, "recovery failed");
		__atomic_add_fetch(&st.cnt->recovery_cuts, 1, __ATOMIC_RELAXED);
		if (check_image(img2, why, sizeof(why)))
			fail(point, "none+recovery-cut", cut, img2, why);
		unlink(img2);
	}
	unlink(img2);
	unlink(work);
}

/*
 * torn_super_point - true if a cut now can tear the superblock: the durable
 * journal holds a committed transaction whose apply changes at least two
 * 64-byte lines of the superblock (the crc's line and another).
 */
static bool torn_super_point(struct crashsim *cs)
{
	const uint8_t *dur = crashsim_durable(cs);
	const struct daxfs_dsuper *sb = (const void *)dur;
	const struct daxfs_jheader *jh;
	unsigned changed = 0;

	jh = (const void *)(dur + le64_to_cpu(sb->journal_blk) * DAXFS_BLOCK_SIZE);
	if (le32_to_cpu(jh->state) != DAXFS_JNL_COMMITTED)
		return false;
	for (unsigned l = 0; l < DAXFS_SUPER_SIZE / CRASHSIM_LINE_SIZE; l++)
		changed += memcmp(dur + l * CRASHSIM_LINE_SIZE,
				  (const uint8_t *)st.work + l * CRASHSIM_LINE_SIZE,
				  CRASHSIM_LINE_SIZE) != 0;
	return changed >= 2 && memcmp(dur, st.work, CRASHSIM_LINE_SIZE);
}

/*
 * check_torn_super - the durable image with only the superblock's first line
 * (its crc) from the working mapping: a torn superblock. Mounting must mend
 * it from the journal, and so must fsck -y on a copy.
 */
static void check_torn_super(struct crashsim *cs, uint64_t point)
{
	uint64_t size = crashsim_size(cs);
	uint8_t *buf = malloc(size);
	char img[256], copy[320], why[600];
	const char *bad;
	FILE *devnull;
	int fd, rc;

	CHECK(buf);
	test_path(img, sizeof(img), "csfs-torn");
	snprintf(copy, sizeof(copy), "%s-fsck", img);
	unlink(img);
	CHECK_OK(crashsim_image_buf(cs, CRASHSIM_KEEP_NONE, 0, buf, NULL));
	memcpy(buf, st.work, CRASHSIM_LINE_SIZE);
	fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, buf, size, 0) == (ssize_t)size);
	close(fd);
	free(buf);
	CHECK_OK(copy_file(img, copy));

	bad = check_image(img, why, sizeof(why));
	if (bad)
		fail(point, "none+torn-superblock", 0, img, bad);
	devnull = fopen("/dev/null", "w");
	{
		struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_REPAIR, .out = devnull};

		rc = daxfs_fsck(copy, &o);
	}
	fclose(devnull);
	if (rc & ~DAXFS_FSCK_CORRECTED)
		fail(point, "none+torn-superblock", 0, copy, "fsck -y cannot mend it");
	bad = check_image(copy, why, sizeof(why));
	if (bad)
		fail(point, "none+torn-superblock, after fsck -y", 0, copy, bad);
	__atomic_add_fetch(&st.cnt->torn_supers, 1, __ATOMIC_RELAXED);
	unlink(img);
	unlink(copy);
}

/* checker - in a forked child: every policy's image at @point */
static void checker(struct crashsim *cs, uint64_t point)
{
	static const enum crashsim_policy pols[] = {CRASHSIM_KEEP_NONE, CRASHSIM_KEEP_FLUSHED,
						    CRASHSIM_KEEP_ALL, CRASHSIM_KEEP_RANDOM,
						    CRASHSIM_KEEP_RANDOM};
	char img[256], why[600];
	unsigned n = 0;

	test_path(img, sizeof(img), "csfs-img");
	for (size_t k = 0; k < sizeof(pols) / sizeof(pols[0]); k++) {
		uint64_t pseed = point * 1000 + k;
		struct crashsim_image_info info;
		const char *bad;

		unlink(img);
		CHECK_OK(crashsim_image(cs, pols[k], pseed, img, &info));
		/* a copy kept for the recovery cuts, taken before recovery changes it */
		if (k == 0 && point % (st.stride * RECOVERY_EVERY) == 0) {
			char copy[320];
			struct crashsim_image_info i2;

			snprintf(copy, sizeof(copy), "%s-none", img);
			unlink(copy);
			CHECK_OK(crashsim_image(cs, pols[k], pseed, copy, &i2));
			cut_recovery(copy, point);
			unlink(copy);
		}
		bad = check_image(img, why, sizeof(why));
		if (bad)
			fail(point, crashsim_policy_name(pols[k]), pseed, img, bad);
		unlink(img);
		n++;
		__atomic_add_fetch(&st.cnt->checked_images, 1, __ATOMIC_RELAXED);
	}
	_exit(n == sizeof(pols) / sizeof(pols[0]) ? 0 : 1);
}

static void hook(void *ctx, struct crashsim *cs, uint64_t point)
{
	pid_t pid;
	int status;

	/* a torn superblock is checked once per operation, MAX_TORN in all */
	bool torn =
		st.cnt->torn_supers < MAX_TORN && st.torn_opno != st.opno && torn_super_point(cs);

	(void)ctx;
	if (point % st.stride && !torn)
		return;
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		unsetenv("PMD_CRASHSIM"); /* recover the images outside test mode */
		if (torn)
			check_torn_super(cs, point);
		if (point % st.stride)
			_exit(0);
		checker(cs, point);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr,
			"workload seed %llu: checker of persist point %llu failed (status %#x)\n",
			(unsigned long long)st.seed, (unsigned long long)point, status);
		exit(1);
	}
	if (point % st.stride == 0)
		st.cnt->checked_points++;
	if (torn)
		st.torn_opno = st.opno;
}

static struct daxfs *open_sim(const char *path)
{
	struct daxfs *fs = core_open(path);
	struct crashsim *cs = pmr_crashsim(daxfs_region(fs));

	CHECK(cs != NULL);
	st.work = pmr_addr(daxfs_region(fs));
	crashsim_set_hook(cs, hook, NULL);
	return fs;
}

int main(void)
{
	static struct model m, m2;
	const char *env = getenv("PMD_TEST_SEED");
	uint64_t total_points = 0;
	struct daxfs *fs;
	long counts[OP_COUNT] = {0};

	st.seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	env = getenv("PMD_CRASHSIM_STRIDE");
	st.stride = env ? strtoull(env, NULL, 0) : DEFAULT_STRIDE;
	if (!st.stride)
		st.stride = 1;
	printf("workload seed %llu, checking every %llu persist point(s)\n",
	       (unsigned long long)st.seed, (unsigned long long)st.stride);
	rng_state = st.seed;
	st.torn_opno = -1;
	st.cnt = mmap(NULL, sizeof(*st.cnt), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	CHECK(st.cnt != MAP_FAILED);

	st.region = core_mkfs("csfs", REGION_SIZE, 256);
	unsetenv("PMD_CRASHSIM_CUT");
	setenv("PMD_CRASHSIM", "1", 1);
	model_init(&m);
	st.prev = &m;
	st.next = &m2;
	fs = open_sim(st.region);

	for (st.opno = 0; st.opno < NOPS; st.opno++) {
		struct op op;

		while (!op_choose(&m, &op))
			;
		m2 = m;
		model_apply(&m2, &op);
		st.tol = obj_at(&m, op.a);
		st.op = &op;
		if (getenv("PMD_TEST_VERBOSE")) {
			char d[160];

			op_describe(&op, d, sizeof(d));
			printf("op #%ld at point %llu: %s\n", st.opno,
			       (unsigned long long)crashsim_persist_points(
				       pmr_crashsim(daxfs_region(fs))),
			       d);
		}
		op_run(fs, &op);
		m = m2;
		st.op = NULL;
		counts[op.kind]++;
		if (st.opno == NOPS / 2) {
			/* a clean unmount and mount in the middle */
			total_points += crashsim_persist_points(pmr_crashsim(daxfs_region(fs)));
			CHECK_OK(daxfs_close(&fs));
			fs = open_sim(st.region);
		}
	}
	{
		char why[256];

		CHECK(fs_matches(fs, &m, why, sizeof(why)) || (fprintf(stderr, "%s\n", why), 0));
	}
	total_points += crashsim_persist_points(pmr_crashsim(daxfs_region(fs)));
	CHECK_OK(daxfs_close(&fs));
	unsetenv("PMD_CRASHSIM");
	core_fsck_clean(st.region);

	printf("%d operations:", NOPS);
	for (int k = 0; k < OP_COUNT; k++)
		printf(" %s %ld", op_names[k], counts[k]);
	printf("\n%llu persist points, %llu checked with %llu crash images, %llu recovery cuts, "
	       "%llu torn superblocks\n",
	       (unsigned long long)total_points, (unsigned long long)st.cnt->checked_points,
	       (unsigned long long)st.cnt->checked_images,
	       (unsigned long long)st.cnt->recovery_cuts, (unsigned long long)st.cnt->torn_supers);
	CHECK(st.cnt->checked_points > 0);
	CHECK(st.cnt->recovery_cuts > 0);
	CHECK(st.cnt->torn_supers > 0);
	return 0;
}
