/* SPDX-License-Identifier: MIT */
/*
 * fsck_inode.c - pass 1: every inode.
 *
 * Phase A reads each inode in use and judges it. An inode is repaired
 * field by field when its type and contents still make sense: its
 * checksum may fail, a count may be wrong, an extent may point where it
 * must not; what is wrong is fixed and the rest kept. It is cleared only
 * when it is beyond that: an impossible type whose contents fit no type,
 * or several independent fields wrong at once (random bytes, not a bit
 * flip). A type whose contents fit another type (a regular file's extent
 * map, a directory's tree, a symlink's target) takes that type.
 *
 * Every block range an inode refers to becomes a claim. Phase B grants
 * the claims in order of trust, so that when two inodes claim a block the
 * one whose structure proves ownership wins: metadata blocks whose header
 * names the inode first, then the data of inodes that passed their
 * checksum, then the data of those that did not; a claim that loses is
 * dropped from its inode (an extent becomes a hole). Repairs that need new
 * blocks (a rewritten extent map, a rebuilt directory) wait until pass 3
 * has made the bitmap right.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "daxfs.h"
#include "errmsg.h"
#include "fsck_int.h"
#include "units.h"

#define MAX_LBLK (DAXFS_FILE_SIZE_MAX >> BLK_SHIFT)
#define NLINK_MAX 65000U
#define MAX_CHAIN 4096U
/* a bit flip costs one anomaly, a stale checksum another: more is garbage */
#define MAX_ANOMALIES 2

bool claim_test(const struct ck *c, uint64_t blk)
{
	return c->claimed[blk / 8] & (1U << (blk % 8));
}

void claim_set(struct ck *c, uint64_t blk)
{
	c->claimed[blk / 8] |= (uint8_t)(1U << (blk % 8));
}

static void claim_clr(struct ck *c, uint64_t blk)
{
	c->claimed[blk / 8] &= (uint8_t) ~(1U << (blk % 8));
}

/* blocks an inode may refer to: the data area, not the table if it lives there */
bool range_ok(struct daxfs *fs, uint64_t blk, uint64_t n)
{
	if (!n || blk < fs->data_blk || blk >= fs->total_blocks || n > fs->total_blocks - blk)
		return false;
	if (fs->iext_nblks && fs->iext_blk >= fs->data_blk && blk < fs->iext_blk + fs->iext_nblks &&
	    blk + n > fs->iext_blk)
		return false;
	return true;
}

int add_claim(struct ck *c, uint64_t ino, uint64_t blk, uint64_t len, enum claim_prio prio,
	      enum claim_what what, uint32_t idx, uint64_t lblk)
{
	if (c->nclaims == c->claims_cap) {
		size_t cap = c->claims_cap ? c->claims_cap * 2 : 1024;
		struct claim *n = realloc(c->claims, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->claims = n;
		c->claims_cap = cap;
	}
	c->claims[c->nclaims++] = (struct claim){.blk = blk,
						 .len = len,
						 .ino = ino,
						 .lblk = lblk,
						 .idx = idx,
						 .prio = (uint8_t)prio,
						 .what = (uint8_t)what};
	return 0;
}

static bool blkhdr_ok(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino, bool *crc_ok)
{
	const struct daxfs_blkhdr *h = dx_ptr(fs, blk_to_off(blk));

	*crc_ok = le32_to_cpu(h->crc) == daxfs_csum(h, BLK_SIZE, 4);
	return le32_to_cpu(h->magic) == magic && le64_to_cpu(h->ino) == ino;
}

/* ---- how well the union fits each type ---- */

/* ext_why - what is wrong with extent @e, or NULL */
static const char *ext_why(struct daxfs *fs, const struct daxfs_dextent *e, uint64_t last_end)
{
	uint64_t l = le32_to_cpu(e->lblk), len = le32_to_cpu(e->len);

	if (!len)
		return "empty";
	if (l < last_end)
		return "overlaps or precedes the one before";
	if (l + len > MAX_LBLK)
		return "past the largest file";
	if (!range_ok(fs, le64_to_cpu(e->pblk), len))
		return "blocks out of range";
	return NULL;
}

static bool ext_ok(struct daxfs *fs, const struct daxfs_dextent *e, uint64_t *last_end)
{
	if (ext_why(fs, e, *last_end))
		return false;
	/* in 64 bits: lblk 0xffffffff + 1 must not wrap to 0 */
	*last_end = (uint64_t)le32_to_cpu(e->lblk) + le32_to_cpu(e->len);
	return true;
}

/* inline_stray - a map held in the inode with a chain link or a used slot past its count */
static bool inline_stray(const struct daxfs_dinode *di)
{
	static const struct daxfs_dextent zero;
	uint32_t n = le32_to_cpu(di->file.nextents);

	if (di->file.ext_next)
		return true;
	for (uint32_t k = n; k < DAXFS_INLINE_EXTENTS; k++)
		if (memcmp(&di->file.ext[k], &zero, sizeof(zero)))
			return true;
	return false;
}

/* fits_file - bad inline extents (0: a sound map); @nontrivial: it maps something */
static unsigned fits_file(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di,
			  bool *nontrivial)
{
	uint32_t n = le32_to_cpu(di->file.nextents);
	uint64_t last = 0, next = le64_to_cpu(di->file.ext_next);
	unsigned bad = 0;
	bool crc;

	*nontrivial = n > 0;
	if (n > (uint64_t)MAX_CHAIN * DAXFS_EXTBLK_MAX + DAXFS_INLINE_EXTENTS)
		return 8;
	for (uint32_t k = 0; k < n && k < DAXFS_INLINE_EXTENTS; k++)
		bad += !ext_ok(fs, &di->file.ext[k], &last);
	for (uint32_t k = n; k < DAXFS_INLINE_EXTENTS; k++) {
		static const struct daxfs_dextent zero;

		bad += memcmp(&di->file.ext[k], &zero, sizeof(zero)) != 0;
	}
	if (n > DAXFS_INLINE_EXTENTS)
		bad += !range_ok(fs, next, 1) || !blkhdr_ok(fs, next, DAXFS_EXT_MAGIC, ino, &crc);
	else
		bad += next != 0;
	return bad;
}

static unsigned fits_dir(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di,
			 bool *nontrivial)
{
	uint64_t root = le64_to_cpu(di->dir.root);
	uint32_t h = le32_to_cpu(di->dir.height);
	bool crc;

	*nontrivial = root != 0;
	if (!root)
		return h != 0;
	if (!h || h > MAX_TREE_HEIGHT || !range_ok(fs, root, 1) ||
	    !blkhdr_ok(fs, root, DAXFS_DIR_MAGIC, ino, &crc))
		return 1 + (h > MAX_TREE_HEIGHT);
	return le16_to_cpu(((const struct daxfs_dnode *)dx_ptr(fs, blk_to_off(root)))->level) !=
	       h - 1;
}

static unsigned fits_symlink(struct daxfs *fs, const struct daxfs_dinode *di, bool *nontrivial)
{
	uint64_t b = le64_to_cpu(di->symlink.blk);
	uint32_t len = le32_to_cpu(di->symlink.len);

	*nontrivial = true;
	if (!len || len > DAXFS_SYMLINK_MAX || !range_ok(fs, b, 1))
		return 2;
	return daxfs_crc32c(0, dx_ptr(fs, blk_to_off(b)), len) != le32_to_cpu(di->symlink.crc);
}

static bool valid_type(uint32_t t)
{
	return t == S_IFREG || t == S_IFDIR || t == S_IFLNK || t == S_IFCHR || t == S_IFBLK ||
	       t == S_IFIFO || t == S_IFSOCK;
}

static unsigned fits(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di, uint32_t t,
		     bool *nontrivial)
{
	*nontrivial = false;
	switch (t) {
	case S_IFREG:
		return fits_file(fs, ino, di, nontrivial);
	case S_IFDIR:
		return fits_dir(fs, ino, di, nontrivial);
	case S_IFLNK:
		return fits_symlink(fs, di, nontrivial);
	default:
		return 0;
	}
}

/*
 * infer_type - the type whose contents @di holds when its own type does
 * not fit: the one of regular file, directory, symlink that fits
 * perfectly and maps something; 0 if none or several do
 */
static uint32_t infer_type(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di)
{
	static const uint32_t types[] = {S_IFREG, S_IFDIR, S_IFLNK};
	uint32_t found = 0;

	for (unsigned k = 0; k < 3; k++) {
		bool nontrivial;

		if (!fits(fs, ino, di, types[k], &nontrivial) && nontrivial) {
			if (found)
				return 0;
			found = types[k];
		}
	}
	return found;
}

/* ---- phase A ---- */

struct ijudge {
	uint32_t type;	      /* after inference */
	unsigned anomalies;   /* fields that are wrong */
	bool type_fixed;      /* the mode's type was replaced */
	bool xattr_bad;	      /* xattr block to drop */
	bool orphan_next_bad; /* orphan_next out of range */
	bool size_bad;
	bool root_not_dir; /* inode 1 holds a sound inode that is no directory */
};

/* an xattr walk: counts the blocks, or claims them (pass 1) */
struct xwalk {
	struct ck *c;
	uint64_t ino;
	uint32_t n;
	bool claim;
};

static int xattr_blk_cb(void *ctx, uint64_t blk, enum xattr_blk_kind kind)
{
	struct xwalk *x = ctx;

	if (!range_ok(x->c->fs, blk, 1))
		return -EIO;
	x->n++;
	if (!x->claim)
		return 0;
	return add_claim(x->c, x->ino, blk, 1, kind == XATTR_BLK_VALUE ? CP_DATA : CP_META,
			 CW_XATTR, x->n, 0);
}

/*
 * xattr_ok - whether the attribute blocks of @ino (a lone entry block, or an
 * XATTR2 index with entry blocks and outside values) are all sound. An inode
 * whose own checksum failed cannot be walked by the core: only a lone,
 * intact entry block is kept then. An index block without the XATTR2 feature
 * turns the feature on (a safe repair; nothing else could have written it).
 */
static bool xattr_ok(struct ck *c, uint64_t ino, uint64_t xb)
{
	struct daxfs *fs = c->fs;
	const struct daxfs_blkhdr *h;
	struct xwalk x = {c, ino, 0, false};
	bool crc;

	if (!range_ok(fs, xb, 1))
		return false;
	h = dx_ptr(fs, blk_to_off(xb));
	if (c->crc_bad[ino - 1]) {
		const struct daxfs_xattrblk *b = (const void *)h;

		return blkhdr_ok(fs, xb, DAXFS_XATTR_MAGIC, ino, &crc) && crc &&
		       le32_to_cpu(b->used) <= BLK_SIZE - sizeof(*b);
	}
	if (le32_to_cpu(h->magic) == DAXFS_XIDX_MAGIC &&
	    !super_has_feature(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2)) {
		bool fixed = ck_fix(c, FIX_SAFE);
		char buf[48];

		problem(c, "superblock", 0, fixed,
			"inode %llu has an xattr index block but the XATTR2 feature is off%s",
			(unsigned long long)ino, ck_did(c, fixed, "turned on", buf, sizeof(buf)));
		if (!fixed)
			return true; /* not damage of the inode: leave its blocks alone */
		fix_feature(c, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_XATTR2);
	}
	return xattr_walk(fs, ino, true, xattr_blk_cb, &x) == 0;
}

/* check_user_flags - bits 8..15 of the inode flags: only the known ones */
static void check_user_flags(struct ck *c, uint64_t ino, const struct daxfs_dinode *di)
{
	uint32_t unknown = le32_to_cpu(di->flags) & DAXFS_IF_USER_MASK & ~DAXFS_IF_USER_KNOWN;
	bool fixed;
	char buf[48];

	if (!unknown)
		return;
	fixed = ck_fix(c, FIX_SAFE);
	problem(c, "inode", ino, fixed, "inode %llu: unknown flags 0x%x%s", (unsigned long long)ino,
		unknown, ck_did(c, fixed, "cleared", buf, sizeof(buf)));
	if (fixed) {
		struct daxfs_dinode *w = fix_begin(c, ino);

		w->flags = cpu_to_le32(le32_to_cpu(w->flags) & ~unknown);
		fix_end(c);
	}
}

/* check_epochs - nonzero timestamp epoch bytes need the EPOCH feature */
static void check_epochs(struct ck *c, uint64_t ino, const struct daxfs_dinode *di)
{
	bool fixed;
	char buf[48];

	if (!(di->epoch[0] | di->epoch[1] | di->epoch[2] | di->epoch[3]) ||
	    super_has_feature(c->fs, FEAT_RO_COMPAT, DAXFS_FEAT_RO_COMPAT_EPOCH))
		return;
	fixed = ck_fix(c, FIX_SAFE);
	problem(c, "superblock", 0, fixed,
		"inode %llu has timestamps outside 1677..2262 but the EPOCH feature is off%s",
		(unsigned long long)ino, ck_did(c, fixed, "turned on", buf, sizeof(buf)));
	if (fixed)
		fix_feature(c, FEAT_RO_COMPAT, DAXFS_FEAT_RO_COMPAT_EPOCH);
}

static void judge(struct ck *c, uint64_t ino, const struct daxfs_dinode *di, struct ijudge *j)
{
	struct daxfs *fs = c->fs;
	uint32_t mode = le32_to_cpu(di->mode), t = mode & S_IFMT;
	uint64_t xb = le64_to_cpu(di->xattr_blk), on = le64_to_cpu(di->orphan_next);
	bool nontrivial;

	memset(j, 0, sizeof(*j));
	j->type = t;
	if (!valid_type(t) || fits(fs, ino, di, t, &nontrivial) ||
	    (ino == DAXFS_ROOT_INO && t != S_IFDIR)) {
		uint32_t it = infer_type(fs, ino, di);

		if (it && it != t && (ino != DAXFS_ROOT_INO || it == S_IFDIR)) {
			j->type = it;
			j->type_fixed = true;
			j->anomalies++;
		} else if (!valid_type(t)) {
			j->type = 0;
			return;
		} else if (ino == DAXFS_ROOT_INO && t != S_IFDIR) {
			/* a sound inode of another type in the root's slot (two
			 * inode blocks swapped): nothing of it is the root's */
			j->type = 0;
			j->root_not_dir = true;
			return;
		} else {
			j->anomalies += fits(fs, ino, di, t, &nontrivial) ? 1 : 0;
		}
	}
	if (mode & ~(uint32_t)(S_IFMT | 07777))
		j->anomalies++;
	if (le32_to_cpu(di->nlink) > NLINK_MAX)
		j->anomalies++;
	if (on > fs->inode_count) {
		j->orphan_next_bad = true;
		j->anomalies++;
	}
	if (xb && !xattr_ok(c, ino, xb)) {
		j->xattr_bad = true;
		j->anomalies++;
	}
	if (j->type == S_IFREG && le64_to_cpu(di->size) > DAXFS_FILE_SIZE_MAX) {
		j->size_bad = true;
		j->anomalies++;
	}
	if (j->type == S_IFLNK && le64_to_cpu(di->size) != le32_to_cpu(di->symlink.len)) {
		j->size_bad = true;
		j->anomalies++;
	}
	if (le64_to_cpu(di->blocks) > fs->total_blocks)
		j->anomalies++;
}

/* the walk of one file's extents in claim_file() */
struct mapwalk {
	struct ck *c;
	uint64_t ino;
	enum claim_prio prio;
	uint64_t eof;	   /* file blocks under the size */
	uint64_t last;	   /* end of the last extent kept */
	uint64_t before;   /* ... and of the one kept before it */
	size_t last_claim; /* claim of the last extent kept, SIZE_MAX: none */
	unsigned dropped, first_bad;
	uint64_t overlapped; /* blocks of extents left out for overlapping */
	const char *why;
};

static void map_drop(struct mapwalk *m, uint32_t k, const char *why)
{
	if (!m->dropped++) {
		m->why = why;
		m->first_bad = k;
	}
}

/*
 * map_extent - extent @k of the map: claimed, or left out when bad. When it
 * overlaps the one before only because that one lies past the end of the
 * file (a damaged file block number, e.g. 0xffffffff) and it would follow
 * the one before that, the stray one is left out instead: one damaged
 * extent must not hide all that follow it.
 */
static int map_extent(struct mapwalk *m, const struct daxfs_dextent *e, uint32_t k)
{
	struct ck *c = m->c;
	uint64_t l = le32_to_cpu(e->lblk);
	const char *why = ext_why(c->fs, e, m->last);

	if (why && l < m->last && m->last_claim != SIZE_MAX &&
	    c->claims[m->last_claim].lblk >= m->eof && l < m->eof &&
	    !ext_why(c->fs, e, m->before)) {
		struct claim *stray = &c->claims[m->last_claim];

		if (l - m->before == stray->len) {
			/* it fills the gap it left exactly: put it back there */
			map_drop(m, stray->idx, "past the end of the file, put back in its gap");
			stray->lblk = m->before;
			m->before = m->last = l;
		} else {
			stray->lost = true; /* never granted */
			map_drop(m, stray->idx, "past the end of the file");
			m->last = m->before;
		}
		m->last_claim = SIZE_MAX;
		why = NULL;
	}
	if (why) {
		map_drop(m, k, why);
		/* a lengthened extent before it may be the damage: its blocks
		 * still count when the map is weighed against the inode */
		if (l < m->last)
			m->overlapped += le32_to_cpu(e->len);
		return 0;
	}
	m->before = m->last;
	m->last = l + le32_to_cpu(e->len);
	m->last_claim = c->nclaims;
	return add_claim(c, m->ino, le64_to_cpu(e->pblk), le32_to_cpu(e->len), m->prio, CW_DATA, k,
			 l);
}

/*
 * claims of a file's extent map; bad extents are left out (a rewrite
 * follows). *@overlapped: blocks of extents left out for overlapping.
 */
static int claim_file(struct ck *c, uint64_t ino, const struct daxfs_dinode *di, bool *rewrite,
		      uint64_t *overlapped)
{
	struct daxfs *fs = c->fs;
	uint32_t n = le32_to_cpu(di->file.nextents), k = 0;
	uint64_t blk = le64_to_cpu(di->file.ext_next);
	unsigned chain = 0;
	struct mapwalk m = {
		.c = c,
		.ino = ino,
		.prio = c->crc_bad[ino - 1] ? CP_DATA_BAD : CP_DATA,
		.eof = (le64_to_cpu(di->size) + BLK_SIZE - 1) / BLK_SIZE,
		.last_claim = SIZE_MAX,
	};
	int err;

	if (n > (uint64_t)MAX_CHAIN * DAXFS_EXTBLK_MAX + DAXFS_INLINE_EXTENTS) {
		problem(c, "inode", ino, false, "inode %llu: %u extents is impossible",
			(unsigned long long)ino, n);
		*rewrite = true;
		return 0;
	}
	for (; k < n && k < DAXFS_INLINE_EXTENTS; k++) {
		err = map_extent(&m, &di->file.ext[k], k);
		if (err)
			return err;
	}
	if (n <= DAXFS_INLINE_EXTENTS && inline_stray(di)) {
		/* the core refuses such an inode: the map is written again */
		problem(c, "inode", ino, false,
			"inode %llu: %u extents in the inode, but a chain link or unused "
			"extent slots are set",
			(unsigned long long)ino, n);
		*rewrite = true;
	}
	while (k < n) {
		const struct daxfs_extblk *eb;
		bool crc;

		if (!range_ok(fs, blk, 1) || ++chain > MAX_CHAIN ||
		    !blkhdr_ok(fs, blk, DAXFS_EXT_MAGIC, ino, &crc)) {
			problem(c, "inode", ino, false,
				"inode %llu: extent chain broken at block %llu, %u extents lost",
				(unsigned long long)ino, (unsigned long long)blk, n - k);
			*rewrite = true;
			break;
		}
		if (!crc)
			problem(c, "inode", ino, false,
				"inode %llu: extent block %llu: checksum mismatch",
				(unsigned long long)ino, (unsigned long long)blk);
		*rewrite |= !crc;
		err = add_claim(c, ino, blk, 1, CP_META, CW_EXTBLK, chain - 1, 0);
		if (err)
			return err;
		eb = dx_ptr(fs, blk_to_off(blk));
		uint32_t cnt = le32_to_cpu(eb->count);

		if (cnt > DAXFS_EXTBLK_MAX || !cnt) {
			problem(c, "inode", ino, false, "inode %llu: extent block %llu holds %u",
				(unsigned long long)ino, (unsigned long long)blk, cnt);
			*rewrite = true;
			break;
		}
		if (cnt > n - k) {
			/* the core refuses a block holding more than the inode's
			 * count leaves (inode.c): the extents up to it are kept */
			problem(c, "inode", ino, false,
				"inode %llu: extent block %llu holds %u, more than the %u left",
				(unsigned long long)ino, (unsigned long long)blk, cnt, n - k);
			*rewrite = true;
		}
		for (uint32_t j = 0; j < cnt && k < n; j++, k++) {
			err = map_extent(&m, &eb->ext[j], k);
			if (err)
				return err;
		}
		blk = le64_to_cpu(eb->next);
		if (k == n && blk) {
			/* and a chain that goes on past the count */
			problem(c, "inode", ino, false,
				"inode %llu: extent chain goes on past its %u extents (block %llu)",
				(unsigned long long)ino, n, (unsigned long long)blk);
			*rewrite = true;
		}
	}
	*overlapped = m.overlapped;
	if (m.dropped) {
		problem(c, "inode", ino, false, "inode %llu: %u bad extents (extent %u: %s)",
			(unsigned long long)ino, m.dropped, m.first_bad, m.why);
		*rewrite = true;
	}
	return 0;
}

/* beyond_repair - @ino cannot be kept: clear it (the root: rebuild it) */
static void beyond_repair(struct ck *c, uint64_t ino, const char *why)
{
	bool fixed = ck_fix(c, FIX_UNSAFE);
	char buf[48];

	if (ino == DAXFS_ROOT_INO) {
		problem(c, "inode", ino, fixed, "inode 1 (root): %s%s", why,
			ck_did(c, fixed, "rebuilt", buf, sizeof(buf)));
		c->state[0] = IS_ROOTX;
		return;
	}
	problem(c, "inode", ino, fixed, "inode %llu: %s%s", (unsigned long long)ino, why,
		ck_did(c, fixed, "cleared", buf, sizeof(buf)));
	c->state[ino - 1] = IS_BAD;
	if (fixed)
		fix_clear_inode(c, ino);
	else
		c->unresolved++;
}

/*
 * demote_odd_map - the claims of file @ino (from @first on), with the
 * @overlapped blocks of extents left out for overlapping, add up to
 * another count than the block count its inode records: a length or block
 * number in its map is likely what was damaged (a flipped bit in an
 * extent's length makes it run over its neighbours' blocks, and over the
 * extents after it, which are left out), so its data loses a block it
 * shares with a file whose map and count agree.
 */
static void demote_odd_map(struct ck *c, const struct daxfs_dinode *di, size_t first,
			   uint64_t overlapped)
{
	uint64_t sum = overlapped;

	for (size_t k = first; k < c->nclaims; k++)
		sum += c->claims[k].len;
	if (sum == le64_to_cpu(di->blocks))
		return;
	for (size_t k = first; k < c->nclaims; k++)
		if (c->claims[k].prio == CP_DATA && c->claims[k].what == CW_DATA)
			c->claims[k].prio = CP_DATA_ODD;
}

/* pass1_inode - phase A for one inode */
static int pass1_inode(struct ck *c, uint64_t ino)
{
	struct daxfs *fs = c->fs;
	const struct daxfs_dinode *di = di_read(fs, ino);
	struct ijudge j;
	bool rewrite = false;
	size_t first_claim;
	uint64_t overlapped = 0;
	int err = 0;

	if (!di->mode) {
		c->state[ino - 1] = IS_FREE;
		if (ino == DAXFS_ROOT_INO)
			beyond_repair(c, ino, "free");
		return 0;
	}
	c->crc_bad[ino - 1] = !di_crc_ok(fs, ino, di);
	judge(c, ino, di, &j);
	if (!j.type || j.anomalies + c->crc_bad[ino - 1] > MAX_ANOMALIES) {
		char why[80];

		snprintf(why, sizeof(why), "%s%s", c->crc_bad[ino - 1] ? "checksum mismatch, " : "",
			 j.type ? "too many fields wrong"
				: (j.root_not_dir ? "not a directory" : "no valid type"));
		beyond_repair(c, ino, why);
		return 0;
	}
	c->state[ino - 1] = IS_OK;
	c->itype[ino - 1] = j.type;
	first_claim = c->nclaims;
	c->iflags[ino - 1] =
		(uint16_t)((j.type_fixed ? IF_TYPE_FIXED : 0) | (j.xattr_bad ? IF_XATTR_BAD : 0) |
			   (j.orphan_next_bad ? IF_ORPHAN_NEXT_BAD : 0) |
			   (j.size_bad ? IF_SIZE_BAD : 0) |
			   (le32_to_cpu(di->mode) & ~(uint32_t)(S_IFMT | 07777) ? IF_MODE_BITS
										: 0) |
			   (le32_to_cpu(di->nlink) > NLINK_MAX ? IF_NLINK_BAD : 0));
	switch (j.type) {
	case S_IFREG:
		c->files++;
		err = claim_file(c, ino, di, &rewrite, &overlapped);
		if (rewrite)
			c->iflags[ino - 1] |= IF_REWRITE;
		break;
	case S_IFDIR: {
		uint64_t blocks = 0;

		c->dirs++;
		err = check_dir(c, ino, di, &blocks);
		break;
	}
	case S_IFLNK: {
		bool nontrivial;

		c->symlinks++;
		if (fits_symlink(fs, di, &nontrivial)) {
			beyond_repair(c, ino, "symlink target lost");
			return 0;
		}
		err = add_claim(c, ino, le64_to_cpu(di->symlink.blk), 1,
				c->crc_bad[ino - 1] ? CP_DATA_BAD : CP_DATA, CW_SYMLINK, 0, 0);
		break;
	}
	default:
		c->others++;
		break;
	}
	if (!err && di->xattr_blk && !j.xattr_bad) {
		struct xwalk x = {c, ino, 0, true};

		if (c->crc_bad[ino - 1])
			err = add_claim(c, ino, le64_to_cpu(di->xattr_blk), 1, CP_META, CW_XATTR, 0,
					0);
		else
			err = xattr_walk(fs, ino, false, xattr_blk_cb, &x);
	}
	if (!err && j.type == S_IFREG)
		demote_odd_map(c, di, first_claim, overlapped);
	if (!err) {
		check_user_flags(c, ino, di);
		check_epochs(c, ino, di);
	}
	return err;
}

/* ---- phase B: grant the claims ---- */

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->what != y->what)
		return x->what < y->what ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char *what_name(uint8_t w)
{
	static const char *const names[] = {"data", "extent block", "directory block",
					    "xattr block", "symlink target"};

	return w < 5 ? names[w] : "?";
}

void claim_lose(struct ck *c, struct claim *cl, uint64_t b)
{
	cl->lost = true;
	problem(c, cl->what == CW_DIR ? "directory" : "inode", cl->ino, false,
		"block %llu is in use twice: inode %llu's %s loses it", (unsigned long long)b,
		(unsigned long long)cl->ino, what_name(cl->what));
}

/*
 * grant - the claims in order of trust, each granted its blocks if none is
 * taken yet. A data claim that meets blocks taken by data claims as trusted
 * shares them (fsck_dup.c: it gets copies); any other conflict is lost.
 */
static int grant(struct ck *c)
{
	int multi, err;

	if (c->nclaims)
		qsort(c->claims, c->nclaims, sizeof(*c->claims), claim_cmp);
	multi = dup_mark(c);
	if (multi < 0)
		return multi;
	for (size_t k = 0; k < c->nclaims; k++) {
		struct claim *cl = &c->claims[k];
		uint64_t b;

		if (!claim_live(c, cl))
			continue; /* lost: left out by claim_file() already */
		for (b = cl->blk; b < cl->blk + cl->len && !claim_test(c, b); b++)
			;
		if (b < cl->blk + cl->len) {
			err = cl->what == CW_DATA ? dup_grant(c, k) : 0;
			if (err < 0)
				return err;
			if (!err)
				claim_lose(c, cl, b);
			continue;
		}
		for (b = cl->blk; b < cl->blk + cl->len; b++)
			claim_set(c, b);
		if (multi && (err = dup_granted(c, k)))
			return err;
	}
	if (c->ndups)
		dup_report_found(c);
	return 0;
}

/* ---- consequences and repairs ---- */

/* fix_clear_inode - free inode @ino in place (keeping its generation) */
void fix_clear_inode(struct ck *c, uint64_t ino)
{
	struct daxfs_dinode *di = fix_begin(c, ino);
	uint64_t gen = le64_to_cpu(di->generation);

	memset(di, 0, sizeof(*di));
	di->generation = cpu_to_le64(gen);
	fix_end(c);
}

/* ---- phase C: what the grant means for each inode, and the field repairs ---- */

static void tally(struct ck *c)
{
	/* an attribute block lost to another inode drops all of them */
	for (size_t k = 0; k < c->nclaims; k++) {
		const struct claim *cl = &c->claims[k];

		if (cl->lost && cl->what == CW_XATTR && c->state[cl->ino - 1] == IS_OK)
			c->iflags[cl->ino - 1] |= IF_XATTR_BAD;
	}
	for (size_t k = 0; k < c->nclaims; k++) {
		const struct claim *cl = &c->claims[k];
		uint64_t x = cl->ino - 1;

		if (c->state[x] != IS_OK)
			continue;
		if (cl->dup)
			c->iflags[x] |= IF_REWRITE; /* the shared runs get copies */
		if (cl->lost) {
			switch (cl->what) {
			case CW_DATA:
			case CW_EXTBLK:
				c->iflags[x] |= IF_REWRITE;
				break;
			case CW_DIR:
				c->iflags[x] |= IF_SALVAGE;
				break;
			case CW_XATTR:
				c->iflags[x] |= IF_XATTR_BAD;
				break;
			case CW_SYMLINK:
				c->state[x] = IS_BAD; /* handled below */
				break;
			}
			continue;
		}
		if (cl->what == CW_XATTR && (c->iflags[x] & IF_XATTR_BAD)) {
			for (uint64_t b = cl->blk; b < cl->blk + cl->len; b++)
				claim_clr(c, b);
			continue;
		}
		c->used[x] += cl->len;
		if (cl->what == CW_XATTR)
			c->xblocks[x] += (uint32_t)cl->len;
		if (cl->what == CW_DATA) {
			uint64_t l = cl->lblk, len = cl->len, p = cl->blk;

			c->data_blocks += len;
			if ((p - l) % CHUNK_BLKS == 0) {
				uint64_t ws = align_up(l, CHUNK_BLKS),
					 we = align_down(l + len, CHUNK_BLKS);

				if (we > ws)
					c->huge_blocks += we - ws;
			}
		}
	}
}

/* the corrected image of @ino; returns whether anything changed */
static bool corrected(struct ck *c, uint64_t ino, const struct daxfs_dinode *di,
		      struct daxfs_dinode *w)
{
	uint16_t f = c->iflags[ino - 1];
	uint32_t t = c->itype[ino - 1];
	bool dir = t == S_IFDIR;

	*w = *di;
	if (f & (IF_TYPE_FIXED | IF_MODE_BITS)) {
		uint32_t perm = le32_to_cpu(di->mode) & 07777;

		w->mode = cpu_to_le32(t | (perm ? perm : (dir ? 0755 : 0644)));
	}
	if (f & IF_NLINK_BAD)
		w->nlink = cpu_to_le32(dir ? 2 : 1); /* pass 2 counts it */
	if (f & IF_ORPHAN_NEXT_BAD)
		w->orphan_next = 0;
	if (f & IF_XATTR_BAD)
		w->xattr_blk = 0;
	if (f & IF_SIZE_BAD)
		w->size = cpu_to_le64(t == S_IFLNK ? le32_to_cpu(di->symlink.len)
						   : c->used[ino - 1] * BLK_SIZE);
	if (!(f & (IF_REWRITE | IF_SALVAGE)))
		w->blocks = cpu_to_le64(c->used[ino - 1]);
	if (dir && !(f & IF_SALVAGE)) {
		uint64_t nb = c->used[ino - 1] - (w->xattr_blk ? c->xblocks[ino - 1] : 0);

		w->dir.nblocks = cpu_to_le64(nb);
		w->dir.nentries = cpu_to_le64(c->nent[ino - 1]);
		w->size = cpu_to_le64(nb * BLK_SIZE);
	}
	return memcmp(w, di, sizeof(*w)) || c->crc_bad[ino - 1];
}

static void repair_fields(struct ck *c, uint64_t ino)
{
	struct daxfs *fs = c->fs;
	const struct daxfs_dinode *di = di_read(fs, ino);
	uint16_t f = c->iflags[ino - 1];
	struct daxfs_dinode w;
	bool crc = c->crc_bad[ino - 1], fixed;
	enum fix_class cls = FIX_SAFE;
	char buf[48];

	if (!corrected(c, ino, di, &w))
		return;
	if (crc || (f & (IF_TYPE_FIXED | IF_MODE_BITS | IF_XATTR_BAD | IF_SIZE_BAD)))
		cls = FIX_UNSAFE;
	fixed = ck_fix(c, cls);
	if (crc)
		problem(c, "inode", ino, fixed, "inode %llu: checksum mismatch%s",
			(unsigned long long)ino,
			ck_did(c, fixed, "fields checked and kept", buf, sizeof(buf)));
	if (f & IF_TYPE_FIXED)
		problem(c, "inode", ino, fixed, "inode %llu: type 0%o, but it holds a %s%s",
			(unsigned long long)ino, le32_to_cpu(di->mode) & S_IFMT,
			S_ISDIR(le32_to_cpu(w.mode))   ? "directory"
			: S_ISREG(le32_to_cpu(w.mode)) ? "regular file"
						       : "symlink",
			ck_did(c, fixed, "type set", buf, sizeof(buf)));
	if (f & IF_MODE_BITS)
		problem(c, "inode", ino, fixed, "inode %llu: mode 0%o has unknown bits%s",
			(unsigned long long)ino, le32_to_cpu(di->mode),
			ck_did(c, fixed, "cleared", buf, sizeof(buf)));
	if (f & IF_NLINK_BAD)
		problem(c, "inode", ino, fixed, "inode %llu: link count %u impossible%s",
			(unsigned long long)ino, le32_to_cpu(di->nlink),
			ck_did(c, fixed, "recounted", buf, sizeof(buf)));
	if (f & IF_ORPHAN_NEXT_BAD)
		problem(c, "inode", ino, fixed, "inode %llu: orphan list link %llu out of range%s",
			(unsigned long long)ino, (unsigned long long)le64_to_cpu(di->orphan_next),
			ck_did(c, fixed, "cut", buf, sizeof(buf)));
	if (f & IF_XATTR_BAD)
		problem(c, "inode", ino, fixed, "inode %llu: bad xattr block %llu%s",
			(unsigned long long)ino, (unsigned long long)le64_to_cpu(di->xattr_blk),
			ck_did(c, fixed, "dropped", buf, sizeof(buf)));
	if (f & IF_SIZE_BAD)
		problem(c, "inode", ino, fixed, "inode %llu: size %llu impossible%s",
			(unsigned long long)ino, (unsigned long long)le64_to_cpu(di->size),
			ck_did(c, fixed, "set from the blocks", buf, sizeof(buf)));
	if (w.blocks != di->blocks)
		problem(c, "inode", ino, fixed, "inode %llu: block count %llu, counted %llu%s",
			(unsigned long long)ino, (unsigned long long)le64_to_cpu(di->blocks),
			(unsigned long long)le64_to_cpu(w.blocks),
			ck_did(c, fixed, "set", buf, sizeof(buf)));
	if (S_ISDIR(le32_to_cpu(w.mode)) &&
	    (w.dir.nentries != di->dir.nentries || w.dir.nblocks != di->dir.nblocks ||
	     w.size != di->size))
		problem(c, "directory", ino, fixed,
			"directory %llu: counts %llu entries/%llu blocks, found %llu/%llu%s",
			(unsigned long long)ino, (unsigned long long)le64_to_cpu(di->dir.nentries),
			(unsigned long long)le64_to_cpu(di->dir.nblocks),
			(unsigned long long)le64_to_cpu(w.dir.nentries),
			(unsigned long long)le64_to_cpu(w.dir.nblocks),
			ck_did(c, fixed, "set", buf, sizeof(buf)));
	if (!fixed) {
		if (cls == FIX_UNSAFE)
			c->unresolved++;
		return;
	}
	*fix_begin(c, ino) = w;
	fix_end(c);
	if (!(f & IF_REWRITE))
		resolve(c, "inode", ino, "repaired");
}

/*
 * misplaced - with ICSUM an inode's checksum names its number, so an inode
 * that fails its check in its own slot but passes it for the same place
 * in another inode-table block (two blocks swapped, or a write that went
 * to the wrong block) or for another place in its own block, is put back
 * in that slot, unless the slot holds a
 * sound inode of its own: two inodes in each other's slots are exchanged;
 * one alone is moved, and a copy of a sound inode is dropped, leaving its
 * slot never used (what was there is gone; the entries naming it are
 * pass 2's).
 */
static void misplaced(struct ck *c)
{
	struct daxfs *fs = c->fs;
	uint64_t nblk = (fs->inode_count + DAXFS_INODES_PER_BLOCK - 1) / DAXFS_INODES_PER_BLOCK;

	if (!fs->icsum.on)
		return;
	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		struct daxfs_dinode here = *di_read(fs, ino), there;
		uint64_t slot = (ino - 1) % DAXFS_INODES_PER_BLOCK + 1, t = 0;
		char buf[64];
		bool fixed, swap, copy;

		if (di_never_used(&here) || di_crc_ok(fs, ino, &here))
			continue;
		/* the same place in every block, then every place in this block */
		for (uint64_t k = 0; k < nblk + DAXFS_INODES_PER_BLOCK && !t; k++) {
			uint64_t cand = k < nblk ? k * DAXFS_INODES_PER_BLOCK + slot
						 : ino - slot + 1 + (k - nblk);

			if (cand != ino && cand <= fs->inode_count && di_seeded(fs, cand) &&
			    le32_to_cpu(here.crc) == di_csum(true, cand, &here))
				t = cand;
		}
		if (!t)
			continue;
		there = *di_read(fs, t);
		copy = !memcmp(&there, &here, sizeof(here));
		if (there.mode && di_crc_ok(fs, t, &there) && !copy)
			continue; /* that slot's own inode is sound: leave both to pass 1 */
		swap = !copy && !di_never_used(&there) &&
		       le32_to_cpu(there.crc) == di_csum(di_seeded(fs, ino), ino, &there);
		fixed = ck_fix(c, FIX_UNSAFE);
		problem(c, "inode", ino, fixed,
			"inode %llu holds %s %llu (its checksum names it)%s",
			(unsigned long long)ino, copy ? "a copy of inode" : "inode",
			(unsigned long long)t,
			ck_did(c, fixed,
			       copy   ? "cleared"
			       : swap ? "the two exchanged"
				      : "moved there",
			       buf, sizeof(buf)));
		if (!fixed) {
			c->unresolved++;
			continue;
		}
		dx_lock(fs);
		tx_begin(fs);
		if (!copy)
			memcpy(di_write(fs, t), &here, sizeof(here));
		if (swap)
			memcpy(di_write(fs, ino), &there, sizeof(there));
		else
			memset(di_write(fs, ino), 0, sizeof(here));
		tx_commit(fs);
		dx_unlock(fs);
	}
}

int pass1(struct ck *c)
{
	struct daxfs *fs = c->fs;
	int err;

	misplaced(c);
	/* a table placed in the data area by an upgrade is metadata */
	if (fs->iext_nblks && fs->iext_blk >= fs->data_blk)
		for (uint64_t b = fs->iext_blk; b < fs->iext_blk + fs->iext_nblks; b++)
			claim_set(c, b);
	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		err = pass1_inode(c, ino);
		if (err)
			return err;
	}
	err = grant(c);
	if (err)
		return err;
	tally(c);
	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		if (c->state[ino - 1] == IS_BAD && c->itype[ino - 1] == S_IFLNK &&
		    di_read(fs, ino)->mode) {
			c->state[ino - 1] = IS_OK;
			beyond_repair(c, ino, "symlink target in use by another inode");
			continue;
		}
		if (c->state[ino - 1] == IS_OK)
			repair_fields(c, ino);
		if (c->iflags[ino - 1] & (IF_REWRITE | IF_SALVAGE) && !ck_fix(c, FIX_UNSAFE))
			c->unresolved++;
	}
	return 0;
}

/*
 * rewrite_extents - give @ino the extent map of its granted data claims
 * (fresh extent blocks; the old chain blocks it won are freed), the runs it
 * shares with other files copied to new blocks, or with @nospace its
 * sharing claims dropped. *@dups: it has sharing claims. Needs a right
 * bitmap: runs after pass 3.
 */
static int rewrite_extents(struct ck *c, uint64_t ino, bool nospace, bool *dups)
{
	struct daxfs *fs = c->fs;
	struct dxi *i = dxi_get(fs, ino);
	struct daxfs_dinode *di;
	uint64_t end = 0, blocks = 0;
	size_t n = 0;
	int err = 0;

	if (!i)
		return -ENOMEM;
	dx_lock(fs);
	tx_begin(fs);
	ext_unload(i);
	for (size_t k = 0; k < c->nclaims; k++) {
		const struct claim *cl = &c->claims[k];

		if (cl->ino != ino || cl->lost)
			continue;
		if (cl->what == CW_EXTBLK) {
			tx_free(fs, cl->blk, 1);
			continue;
		}
		*dups |= cl->dup;
		if (cl->dup && nospace) {
			dup_drop(c, cl);
			continue;
		}
		blocks += cl->len;
		if (cl->what != CW_DATA)
			continue;
		/* data claims of one inode sort by extent index: file order */
		if (cl->dup) {
			err = dup_map(c, i, cl, &n);
		} else {
			err = ext_reserve(i, n + 1);
			if (!err)
				i->ext[n++] = (struct dx_ext){cl->lblk, cl->len, cl->blk};
		}
		if (err)
			goto out_abort;
		end = cl->lblk + cl->len;
	}
	i->next = n;
	i->ext_loaded = true;
	di = di_write(fs, ino);
	di->file.ext_next = 0;
	di->file.nextents = 0;
	memset(di->file.ext, 0, sizeof(di->file.ext));
	di->blocks = cpu_to_le64(blocks); /* ext_store adds the new chain blocks */
	if (le64_to_cpu(di->size) > DAXFS_FILE_SIZE_MAX)
		di->size = cpu_to_le64(end * BLK_SIZE);
	err = ext_store(fs, i);
	if (err)
		goto out_abort;
	err = tx_commit(fs);
	goto out_unlock;
out_abort:
	tx_abort(fs);
out_unlock:
	ext_unload(i);
	dx_unlock(fs);
	dxi_put(fs, i);
	return err;
}

void pass1_rebuild(struct ck *c)
{
	struct daxfs *fs = c->fs;

	for (uint64_t ino = 1; ino <= fs->inode_count; ino++) {
		bool dups = false, copied = true;
		const char *what = NULL;
		char buf[160];
		int err;

		if (c->state[ino - 1] != IS_OK || !(c->iflags[ino - 1] & IF_REWRITE) ||
		    !ck_fix(c, FIX_UNSAFE))
			continue;
		err = rewrite_extents(c, ino, false, &dups);
		if (err == -ENOSPC && dups) {
			/* no room for the copies: the rule without them */
			copied = false;
			err = rewrite_extents(c, ino, true, &dups);
		}
		if (!err && dups)
			what = dup_done(c, ino, copied, buf, sizeof(buf));
		if (err)
			problem(c, "inode", ino, false, "inode %llu: extent map rewrite failed: %s",
				(unsigned long long)ino, pmd_strerror(err));
		else
			resolve(c, "inode", ino,
				what ? what : "extent map rewritten with the sound extents");
	}
	rebuild_dirs(c);
}
