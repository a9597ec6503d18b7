/* SPDX-License-Identifier: MIT */
/*
 * fsck.c - check and repair a daxfs: the driver, pass 0 and the report.
 *
 * Passes (e2fsck's structure):
 *  0. superblocks, journal header, journal replay; state and orphans are
 *     reported;
 *  1. every inode (fsck_inode.c, fsck_dir.c): judged, repaired field by
 *     field or cleared; every block it refers to claimed, conflicts given
 *     to the most trustworthy claim;
 *  3. the bitmap against the claims (fsck_bitmap.c), then the repairs that
 *     allocate (rewritten extent maps, rebuilt directories, a new root);
 *  2. the namespace (fsck_tree.c): entries, reachability, reconnection by
 *     recorded name or to /lost+found, '..', link counts, orphans, names.
 * Then the orphans are freed and everything is checked again, until a
 * round finds nothing ("after -y, -n is clean").
 *
 * "-n" never writes the region: it works on a copy-on-write mapping
 * (PMR_F_PRIVATE), where it replays the journal and makes the same repairs
 * as "-y" in memory, so each problem is reported once, the way "-y" would
 * find it, and nothing a later pass would see depends on damage that an
 * earlier pass would have repaired. Where no private mapping can be made
 * (device DAX), "-n" reads the region as it is.
 * "-p" makes only the repairs that cannot lose anything (FIX_SAFE) and
 * stops with a message when the rest needs "-y".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core.h"
#include "errmsg.h"
#include "fsck_int.h"
#include "json.h"
#include "region.h"
#include "units.h"

#define MAX_REPORT 50
#define MAX_ROUNDS 4
#define MAX_LISTED_ORPHANS 8

/* ---- problems ---- */

static struct problem *new_problem(struct ck *c)
{
	if (c->nprobs == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct problem *n = realloc(c->probs, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->probs = n;
		c->cap = cap;
	}
	return memset(&c->probs[c->nprobs++], 0, sizeof(*c->probs));
}

static void vproblem(struct ck *c, const char *structure, uint64_t id, bool fixed, bool is_note,
		     const char *fmt, va_list ap)
{
	struct problem *p = new_problem(c);

	if (!p)
		return;
	snprintf(p->structure, sizeof(p->structure), "%s", structure);
	p->id = id;
	p->fixed = fixed && c->mode != DAXFS_FSCK_CHECK;
	p->note = is_note;
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
}

void problem(struct ck *c, const char *structure, uint64_t id, bool fixed, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, structure, id, fixed, false, fmt, ap);
	va_end(ap);
}

void resolve(struct ck *c, const char *structure, uint64_t id, const char *what)
{
	size_t last = SIZE_MAX;

	if (c->mode == DAXFS_FSCK_CHECK)
		return;
	for (size_t k = 0; k < c->nprobs; k++) {
		struct problem *p = &c->probs[k];

		if (!p->note && !p->fixed && p->id == id && !strcmp(p->structure, structure)) {
			p->fixed = true;
			last = k;
		}
	}
	if (last != SIZE_MAX) {
		size_t len = strlen(c->probs[last].msg);

		snprintf(c->probs[last].msg + len, sizeof(c->probs[last].msg) - len, ", %s", what);
	}
}

void note(struct ck *c, const char *structure, uint64_t id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, structure, id, false, true, fmt, ap);
	va_end(ap);
}

bool ck_fix(struct ck *c, enum fix_class cls)
{
	if (!c->apply)
		return false;
	if (c->mode == DAXFS_FSCK_PREEN && cls == FIX_UNSAFE) {
		c->manual = true;
		return false;
	}
	return true;
}

const char *ck_did(const struct ck *c, bool fixed, const char *what, char *buf, size_t len)
{
	/* in -n, fixes are made in the private copy but reported as errors */
	if (!fixed || c->mode == DAXFS_FSCK_CHECK)
		return "";
	snprintf(buf, len, ", %s", what);
	return buf;
}

int add_edge(struct ck *c, uint64_t dir, uint64_t child, unsigned type, const char *name,
	     size_t len)
{
	struct edge *e;

	if (c->nedges == c->edges_cap) {
		size_t cap = c->edges_cap ? c->edges_cap * 2 : 1024;
		struct edge *n = realloc(c->edges, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->edges = n;
		c->edges_cap = cap;
	}
	e = &c->edges[c->nedges++];
	e->dir = dir;
	e->child = child;
	e->type = (uint8_t)type;
	e->namelen = (uint8_t)len;
	e->dead = false;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	return 0;
}

struct daxfs_dinode *fix_begin(struct ck *c, uint64_t ino)
{
	dx_lock(c->fs);
	tx_begin(c->fs);
	return di_write(c->fs, ino);
}

void fix_end(struct ck *c)
{
	tx_commit(c->fs);
	dx_unlock(c->fs);
}

void fix_feature(struct ck *c, enum dx_feat w, uint32_t bit)
{
	dx_lock(c->fs);
	tx_begin(c->fs);
	super_feature_on(c->fs, w, bit);
	tx_commit(c->fs);
	dx_unlock(c->fs);
}

/* ---- one round of passes 1, 3, 2 ---- */

static int ck_init(struct ck *c, struct daxfs *fs, enum daxfs_fsck_mode mode, bool apply)
{
	uint64_t n = fs->inode_count;

	memset(c, 0, sizeof(*c));
	c->fs = fs;
	c->mode = mode;
	c->apply = apply;
	c->claimed = calloc((size_t)(fs->total_blocks + 7) / 8, 1);
	c->state = calloc(n, 1);
	c->crc_bad = calloc(n, 1);
	c->iflags = calloc(n, sizeof(*c->iflags));
	c->itype = calloc(n, sizeof(*c->itype));
	c->used = calloc(n, sizeof(*c->used));
	c->xblocks = calloc(n, sizeof(*c->xblocks));
	c->nent = calloc(n, sizeof(*c->nent));
	c->refs = calloc(n, sizeof(*c->refs));
	c->subdirs = calloc(n, sizeof(*c->subdirs));
	c->dotdot = calloc(n, sizeof(*c->dotdot));
	c->orphan = calloc(n, sizeof(*c->orphan));
	if (!c->claimed || !c->state || !c->crc_bad || !c->iflags || !c->itype || !c->used ||
	    !c->nent || !c->refs || !c->subdirs || !c->dotdot || !c->orphan)
		return -ENOMEM;
	return 0;
}

static void ck_free(struct ck *c)
{
	free(c->claimed);
	free(c->state);
	free(c->crc_bad);
	free(c->iflags);
	free(c->itype);
	free(c->used);
	free(c->xblocks);
	free(c->nent);
	free(c->refs);
	free(c->subdirs);
	free(c->dotdot);
	free(c->orphan);
	free(c->claims);
	free(c->edges);
	for (size_t k = 0; k < c->nsalv; k++)
		free(c->salv[k].blocks);
	free(c->salv);
	free(c->multi);
	free(c->dups);
	free(c->held);
	free(c->probs);
	free(c->hits);
}

static int round_passes(struct ck *c)
{
	int err = pass1(c);

	if (err)
		return err;
	pass3(c, false); /* the bitmap first: the rebuilds and pass 2 allocate */
	pass1_rebuild(c);
	err = pass2(c);
	dx_lock(c->fs);
	imap_init(c->fs);
	alloc_recount(c->fs);
	dx_unlock(c->fs);
	return err;
}

int daxfs_rebuild_bitmap(struct daxfs *fs)
{
	struct ck c;
	int err = ck_init(&c, fs, DAXFS_FSCK_CHECK, false);

	if (!err)
		err = pass1(&c);
	if (!err)
		pass3(&c, true);
	ck_free(&c);
	return err;
}

/* ---- pass 0 ---- */

struct run {
	const struct daxfs_fsck_opts *o;
	const char *path;
	struct pmr_region *r;
	struct daxfs *fs;
	struct ck *log; /* the problems of every round, and the last round's counts */
	bool apply;
	bool primary_bad; /* open with the backup's geometry */
	uint32_t state;	  /* the superblock's, before recovery */
	uint64_t orphans;
	struct daxfs_errinfo errs; /* the superblock's error record */
};

/* the fields a backup must share with the primary (not state, counters,
 * compat features, the error record, crc) */
static bool backup_matches(const struct daxfs_dsuper *a, const struct daxfs_dsuper *b)
{
	const uint8_t *x = (const void *)a, *y = (const void *)b;

	return !memcmp(x, y, offsetof(struct daxfs_dsuper, crc)) &&
	       !memcmp(x + offsetof(struct daxfs_dsuper, feat_incompat),
		       y + offsetof(struct daxfs_dsuper, feat_incompat),
		       offsetof(struct daxfs_dsuper, orphan_head) -
			       offsetof(struct daxfs_dsuper, feat_incompat)) &&
	       a->hash_seed == b->hash_seed && a->mkfs_time == b->mkfs_time &&
	       a->iext_blk == b->iext_blk && a->iext_nblks == b->iext_nblks;
}

/* the primary is sound: the backup must agree with it */
static void check_backup(struct run *u, const struct daxfs_dsuper *sb)
{
	struct ck *c = u->log;
	struct daxfs_dsuper bk;
	char why[200], buf[48];
	bool fixed;

	memcpy(&bk, (uint8_t *)pmr_addr(u->r) + BLK_SIZE, sizeof(bk));
	if (super_check(&bk, pmr_size(u->r), true))
		snprintf(why, sizeof(why), "%s", pmd_errmsg());
	else if (!backup_matches(&bk, sb))
		snprintf(why, sizeof(why), "differs from the primary");
	else
		return;
	fixed = ck_fix(c, FIX_SAFE);
	problem(c, "superblock", 1, fixed, "backup superblock: %s%s", why,
		ck_did(c, fixed, "rewritten from the primary", buf, sizeof(buf)));
	if (fixed)
		super_write_backup(u->r, sb);
}

/* the journal header: all zero (never used) or sound */
static void check_jheader(struct run *u, const struct daxfs_dsuper *sb)
{
	static const struct daxfs_jheader zero;
	struct ck *c = u->log;
	struct daxfs_jheader *jh =
		(void *)((uint8_t *)pmr_addr(u->r) + blk_to_off(le64_to_cpu(sb->journal_blk)));
	struct daxfs_jheader h = *jh;
	const char *why = NULL;
	char buf[48];
	bool fixed;

	if (!memcmp(&h, &zero, sizeof(h)))
		return;
	if (le64_to_cpu(h.magic) != DAXFS_JNL_MAGIC)
		why = "bad magic";
	else if (le32_to_cpu(h.crc) !=
		 daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)))
		why = "checksum mismatch";
	else if (le32_to_cpu(h.state) != DAXFS_JNL_EMPTY &&
		 le32_to_cpu(h.state) != DAXFS_JNL_COMMITTED)
		why = "unknown state";
	if (!why)
		return;
	fixed = ck_fix(c, FIX_SAFE);
	problem(c, "journal", 0, fixed, "journal header: %s (nothing in it can be replayed)%s", why,
		ck_did(c, fixed, "reset", buf, sizeof(buf)));
	if (!fixed)
		return;
	memset(&h, 0, sizeof(h));
	h.magic = cpu_to_le64(DAXFS_JNL_MAGIC);
	h.state = cpu_to_le32(DAXFS_JNL_EMPTY);
	h.crc = cpu_to_le32(daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)));
	pmr_memcpy(u->r, jh, &h, sizeof(h), 0);
}

/* a committed transaction in the journal: replay it, or drop it if broken */
static int check_journal(struct run *u, const struct daxfs_dsuper *sb)
{
	struct ck *c = u->log;
	struct daxfs tmp;
	char buf[64];
	bool fixed;
	int err;

	memset(&tmp, 0, sizeof(tmp));
	tmp.r = u->r;
	tmp.base = pmr_addr(u->r);
	super_load_geometry(&tmp, sb);
	err = jnl_replay(&tmp, true);
	if (!err)
		return 0;
	if (err > 0) {
		fixed = ck_fix(c, FIX_SAFE);
		problem(c, "journal", 0, fixed, "journal holds a committed transaction%s",
			fixed ? ck_did(c, fixed, "replayed", buf, sizeof(buf))
			      : " (needs recovery: run with -y or mount)");
		return 0;
	}
	fixed = ck_fix(c, FIX_UNSAFE);
	problem(c, "journal", 0, fixed, "%s%s", pmd_errmsg(),
		ck_did(c, fixed, "the transaction is dropped", buf, sizeof(buf)));
	if (!fixed)
		return -EIO;
	struct daxfs_jheader *jh = dx_ptr(&tmp, blk_to_off(tmp.journal_blk)), h = *jh;

	h.state = cpu_to_le32(DAXFS_JNL_EMPTY);
	h.crc = cpu_to_le32(daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)));
	pmr_memcpy(u->r, jh, &h, sizeof(h), 0);
	return 0;
}

/*
 * check_features - incompatible or read-only compatible feature bits this
 * daxfs does not know, in a primary superblock whose checksum holds. A
 * newer daxfs sets a feature in both superblocks (super_feature_on): when
 * the backup is sound, knows none of them and otherwise agrees, the bits
 * are damage and are cleared (from the backup's words). Otherwise this
 * fsck cannot check the filesystem: returns DAXFS_FSCK_OPERROR with the
 * reason in @msg, before anything is written. Updates *@sb; 0 when it
 * may go on.
 */
static int check_features(struct run *u, struct daxfs_dsuper *sb, char *msg, size_t msglen)
{
	struct ck *c = u->log;
	uint32_t inc = le32_to_cpu(sb->feat_incompat) & ~DAXFS_FEAT_INCOMPAT_SUPP;
	uint32_t ro = le32_to_cpu(sb->feat_ro_compat) & ~DAXFS_FEAT_RO_COMPAT_SUPP;
	struct daxfs_dsuper bk, fixed_sb = *sb;
	char buf[64];
	bool fixed;

	if (le64_to_cpu(sb->magic) != DAXFS_MAGIC || (!inc && !ro) ||
	    le32_to_cpu(sb->crc) !=
		    daxfs_csum(sb, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc)))
		return 0; /* sound, or for super_check to judge */
	memcpy(&bk, (uint8_t *)pmr_addr(u->r) + BLK_SIZE, sizeof(bk));
	fixed_sb.feat_incompat = cpu_to_le32(le32_to_cpu(sb->feat_incompat) & ~inc);
	fixed_sb.feat_ro_compat = cpu_to_le32(le32_to_cpu(sb->feat_ro_compat) & ~ro);
	if (super_check(&bk, pmr_size(u->r), true) || !backup_matches(&bk, &fixed_sb)) {
		snprintf(msg, msglen,
			 "superblock: unknown %s features 0x%x, and the backup superblock "
			 "cannot tell whether they are damage: made by a newer daxfs? This "
			 "fsck.daxfs cannot check it",
			 inc ? "incompatible" : "read-only compatible", inc ? inc : ro);
		return DAXFS_FSCK_OPERROR;
	}
	fixed = ck_fix(c, FIX_UNSAFE);
	problem(c, "superblock", 0, fixed,
		"superblock: unknown %s features 0x%x that the sound backup superblock does "
		"not have%s",
		inc ? "incompatible" : "read-only compatible", inc ? inc : ro,
		ck_did(c, fixed, "cleared", buf, sizeof(buf)));
	if (!fixed) {
		u->primary_bad = true; /* the rest is checked through the backup */
		*sb = bk;
		snprintf(msg, msglen, "superblock: unknown feature bits; run fsck.daxfs -y");
		return c->mode == DAXFS_FSCK_PREEN ? DAXFS_FSCK_UNCORRECTED : 0;
	}
	super_seal(&fixed_sb);
	pmr_memcpy(u->r, pmr_addr(u->r), &fixed_sb, sizeof(fixed_sb), 0);
	*sb = fixed_sb;
	return 0;
}

/*
 * pass0 - the superblocks and the journal, before the filesystem is opened.
 * Returns 0, or a fatal exit code with *@fatal set (the report's error).
 */
static int pass0(struct run *u, const char **fatal, char *msg, size_t msglen)
{
	struct ck *c = u->log;
	struct daxfs_dsuper sb, bk;
	char buf[64];
	int err;

	memcpy(&sb, pmr_addr(u->r), sizeof(sb));
	err = check_features(u, &sb, msg, msglen);
	if (err) {
		*fatal = msg;
		return err;
	}
	if (u->primary_bad) {
		u->state = le32_to_cpu(sb.state);
		goto journal;
	}
	err = super_check(&sb, pmr_size(u->r), false);
	if (err == -EPROTONOSUPPORT || (err && le64_to_cpu(sb.magic) == DAXFS_MAGIC &&
					strstr(pmd_errmsg(), "region has only"))) {
		snprintf(msg, msglen, "%s", pmd_errmsg());
		*fatal = msg;
		return DAXFS_FSCK_OPERROR;
	}
	if (err && u->apply && !super_replay_torn(u->r)) {
		problem(c, "journal", 0, true,
			"superblock torn by a crash; the journal replayed to mend it");
		memcpy(&sb, pmr_addr(u->r), sizeof(sb));
		err = 0;
	}
	if (err) {
		snprintf(msg, msglen, "%s", pmd_errmsg());
		memcpy(&bk, (uint8_t *)pmr_addr(u->r) + BLK_SIZE, sizeof(bk));
		if (super_check(&bk, pmr_size(u->r), true)) {
			*fatal = msg;
			if (le64_to_cpu(sb.magic) != DAXFS_MAGIC &&
			    le64_to_cpu(bk.magic) != DAXFS_MAGIC) {
				*fatal = "not a daxfs filesystem (superblock: bad magic, no backup "
					 "superblock)";
				return DAXFS_FSCK_OPERROR;
			}
			return DAXFS_FSCK_UNCORRECTED;
		}
		bool fixed = ck_fix(c, FIX_UNSAFE);

		problem(c, "superblock", 0, fixed, "%s%s", msg,
			ck_did(c, fixed, "restored from the backup superblock", buf, sizeof(buf)));
		if (fixed) {
			/* the orphan list is lost: pass 2 finds those inodes */
			bk.orphan_head = 0;
			bk.state = cpu_to_le32(DAXFS_STATE_INUSE);
			super_seal(&bk);
			pmr_memcpy(u->r, pmr_addr(u->r), &bk, sizeof(bk), 0);
		} else {
			u->primary_bad = true;
			if (c->mode == DAXFS_FSCK_PREEN)
				return DAXFS_FSCK_UNCORRECTED;
		}
		sb = bk;
	} else {
		check_backup(u, &sb);
	}
	u->state = le32_to_cpu(sb.state);
journal:
	check_jheader(u, &sb);
	if (check_journal(u, &sb)) {
		*fatal = "the journal holds a broken transaction; run fsck.daxfs -y";
		return DAXFS_FSCK_UNCORRECTED;
	}
	return 0;
}

/* after the open (and the replay): what the state and orphan list say */
static void report_state(struct run *u)
{
	struct ck *c = u->log;
	struct daxfs *fs = u->fs;
	const struct daxfs_dsuper *sb = dx_ptr(fs, 0);
	uint64_t o = u->primary_bad ? 0 : le64_to_cpu(sb->orphan_head);
	char list[160] = "";
	size_t len = 0;

	if (u->state != DAXFS_STATE_CLEAN)
		note(c, "superblock", 0,
		     "not cleanly unmounted (it crashed, or its daemon had not finished closing)");
	for (uint64_t guard = 0; o && ino_valid(fs, o) && guard < fs->inode_count; guard++) {
		if (u->orphans < MAX_LISTED_ORPHANS && len < sizeof(list) - 24)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%llu",
						u->orphans ? ", " : "", (unsigned long long)o);
		u->orphans++;
		o = le64_to_cpu(di_read(fs, o)->orphan_next);
	}
	if (u->orphans)
		note(c, "orphan", 0, "orphan list: %llu unlinked inodes wait to be freed (%s%s)",
		     (unsigned long long)u->orphans, list,
		     u->orphans > MAX_LISTED_ORPHANS ? ", ..." : "");
	if (!fs->iext_nblks)
		note(c, "superblock", 0,
		     "format version 1: no names are recorded for reconnecting files; "
		     "fsck.daxfs --upgrade adds them");
	if (!fs->icsum.on)
		note(c, "superblock", 0,
		     "inode checksums do not cover the inode number, so an inode written "
		     "into another slot goes unseen; fsck.daxfs --upgrade adds it");
	else if (fs->icsum.next)
		note(c, "superblock", 0,
		     "the upgrade of inode checksums stopped at inode %llu (inodes from "
		     "there keep the old form); fsck.daxfs -y --upgrade finishes it",
		     (unsigned long long)fs->icsum.next);
	if (!u->primary_bad)
		daxfs_errinfo_from_super(sb, &u->errs);
	if (u->errs.count) {
		char *text = NULL, *line, *save;
		size_t tlen = 0;
		FILE *m = open_memstream(&text, &tlen);

		if (!m)
			return;
		daxfs_errinfo_print(&u->errs, m, "", false);
		fclose(m);
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			note(c, "errors", 0, "error record: %s", line);
		free(text);
	}
}

/* clear_errors - the check is clean: forget the error record (as e2fsck) */
static void clear_errors(struct run *u)
{
	struct daxfs *fs = u->fs;
	struct daxfs_dsuper *sb;

	if (!u->errs.count || !u->apply || u->o->mode == DAXFS_FSCK_CHECK)
		return;
	dx_lock(fs);
	tx_begin(fs);
	sb = super_write(fs);
	memset((uint8_t *)sb + offsetof(struct daxfs_dsuper, err_count), 0,
	       offsetof(struct daxfs_dsuper, iext_blk) - offsetof(struct daxfs_dsuper, err_count));
	sb->feat_compat = cpu_to_le32(le32_to_cpu(sb->feat_compat) & ~DAXFS_FEAT_COMPAT_ERRREC);
	super_seal(sb);
	if (!tx_commit(fs))
		note(u->log, "errors", 0, "error record cleared");
	dx_unlock(fs);
}

/* free the orphans now that they are known to be sound */
static void free_orphans(struct run *u)
{
	struct ck *c = u->log;
	struct daxfs *fs = u->fs;
	uint64_t before = fs->free_inodes;
	char buf[48];
	int err;

	if (!((const struct daxfs_dsuper *)dx_ptr(fs, 0))->orphan_head || !ck_fix(c, FIX_SAFE))
		return;
	err = orphans_recover(fs);
	dx_lock(fs);
	imap_init(fs);
	dx_unlock(fs);
	problem(c, "orphan", 0, !err, "orphan list: %llu unlinked inodes%s%s",
		(unsigned long long)(fs->free_inodes - before),
		ck_did(c, !err, "freed", buf, sizeof(buf)), err ? " (not all could be freed)" : "");
	u->orphans = 0;
}

/* ---- the report ---- */

static void json_list(FILE *f, const struct ck *c, bool notes)
{
	bool first = true;

	for (size_t k = 0; c && k < c->nprobs; k++) {
		const struct problem *p = &c->probs[k];

		if (p->note != notes)
			continue;
		fprintf(f, "%s{\"structure\": \"%s\", \"id\": %llu, ", first ? "" : ", ",
			p->structure, (unsigned long long)p->id);
		if (!notes)
			fprintf(f, "\"fixed\": %s, ", p->fixed ? "true" : "false");
		fprintf(f, "\"message\": ");
		pmd_json_str(f, p->msg);
		fputc('}', f);
		first = false;
	}
}

static int report(FILE *f, const struct daxfs_fsck_opts *o, const char *path, const struct ck *c,
		  const struct run *u, const char *fatal, int rc)
{
	static const char *modes[] = {"check", "repair", "preen"};
	struct daxfs *fs = u ? u->fs : NULL;
	uint64_t free_blocks = fs ? fs->free_blocks : 0, free_huge = fs ? fs->free_chunks : 0;
	size_t nprobs = 0, nfixed = 0;
	char b1[32], b2[32];
	struct daxfs_statfs id;
	char uuid[DAXFS_UUID_STR_LEN];

	for (size_t k = 0; c && k < c->nprobs; k++) {
		nprobs += !c->probs[k].note;
		nfixed += c->probs[k].fixed;
	}
	memset(&id, 0, sizeof(id));
	if (fs)
		daxfs_statfs(fs, &id); /* the label and UUID */
	if (o->json) {
		fprintf(f, "{\"path\": ");
		pmd_json_str(f, path);
		fprintf(f, ", \"mode\": \"%s\", \"exit\": %d, \"clean\": %s", modes[o->mode], rc,
			rc == 0 ? "true" : "false");
		if (fatal) {
			fprintf(f, ", \"error\": ");
			pmd_json_str(f, fatal);
		}
		fprintf(f, ", \"problems\": [");
		json_list(f, c, false);
		fprintf(f, "], \"notes\": [");
		json_list(f, c, true);
		fprintf(f, "]");
		if (c) {
			bad_report(f, o, c);
			dup_report(f, o, c);
		}
		if (fs) {
			fprintf(f, ", \"errors\": ");
			daxfs_errinfo_print(&u->errs, f, "", true);
			fprintf(f, ", \"summary\": {\"label\": ");
			pmd_json_str(f, id.label);
			fprintf(f, ", \"uuid\": \"%s\"", daxfs_uuid_format(id.uuid, uuid));
			fprintf(f,
				", \"version\": %u, \"name_table\": %s, "
				"\"unclean\": %s, \"inodes\": %llu, "
				"\"inodes_used\": %llu, \"files\": %llu, \"directories\": %llu, "
				"\"symlinks\": %llu, \"special\": %llu, \"blocks\": %llu, "
				"\"free_blocks\": %llu, \"free_huge_extents\": %llu, "
				"\"free_huge_bytes\": %llu, \"free_bytes\": %llu, "
				"\"file_data_blocks\": %llu, \"file_data_huge_blocks\": %llu, "
				"\"file_data_huge_share\": %.4f}",
				le32_to_cpu(((const struct daxfs_dsuper *)dx_ptr(fs, 0))->version),
				fs->iext_nblks ? "true" : "false",
				u->state != DAXFS_STATE_CLEAN ? "true" : "false",
				(unsigned long long)fs->inode_count,
				(unsigned long long)(fs->inode_count - fs->free_inodes),
				(unsigned long long)c->files, (unsigned long long)c->dirs,
				(unsigned long long)c->symlinks, (unsigned long long)c->others,
				(unsigned long long)fs->total_blocks,
				(unsigned long long)free_blocks, (unsigned long long)free_huge,
				(unsigned long long)(free_huge * HUGE_SIZE),
				(unsigned long long)(free_blocks * BLK_SIZE),
				(unsigned long long)c->data_blocks,
				(unsigned long long)c->huge_blocks,
				c->data_blocks ? (double)c->huge_blocks / (double)c->data_blocks
					       : 0.0);
		}
		fprintf(f, "}\n");
		return rc;
	}
	size_t listed = 0;

	for (size_t k = 0; c && k < c->nprobs; k++) {
		const struct problem *p = &c->probs[k];

		if (!o->verbose && !p->note && listed++ >= MAX_REPORT)
			continue;
		fprintf(f, "%s: %s\n", p->note ? "NOTE" : p->fixed ? "FIXED" : "ERROR", p->msg);
	}
	if (listed > MAX_REPORT && !o->verbose)
		fprintf(f, "... and %zu more (use -v)\n", listed - MAX_REPORT);
	if (fatal) {
		cli_report(f, "fsck.daxfs", path, fatal);
		return rc;
	}
	bad_report(f, o, c);
	fprintf(f, "%s: %s%s%s, UUID %s\n", path, id.label[0] ? "label \"" : "no label", id.label,
		id.label[0] ? "\"" : "", daxfs_uuid_format(id.uuid, uuid));
	fprintf(f, "%s: %llu/%llu inodes, %llu files, %llu directories, %llu symlinks\n", path,
		(unsigned long long)(fs->inode_count - fs->free_inodes),
		(unsigned long long)fs->inode_count, (unsigned long long)c->files,
		(unsigned long long)c->dirs, (unsigned long long)c->symlinks);
	fprintf(f, "%s: %s free, %s of it as %llu aligned 2 MiB extents\n", path,
		format_size(free_blocks * BLK_SIZE, b1, sizeof(b1)),
		format_size(free_huge * HUGE_SIZE, b2, sizeof(b2)), (unsigned long long)free_huge);
	fprintf(f, "%s: file data %s, %.1f%% mapped by 2 MiB extents\n", path,
		format_size(c->data_blocks * BLK_SIZE, b1, sizeof(b1)),
		c->data_blocks ? 100.0 * (double)c->huge_blocks / (double)c->data_blocks : 0.0);
	if (c->nhits)
		fprintf(f, "%s: %zu runs of blocks on bad sectors (see pmemdev badblocks)\n", path,
			c->nhits);
	if (!nprobs && !c->nhits)
		fprintf(f, "%s: clean\n", path);
	else if (nprobs)
		fprintf(f, "%s: %zu problems, %zu fixed\n", path, nprobs, nfixed);
	if (rc & DAXFS_FSCK_UNCORRECTED && o->mode == DAXFS_FSCK_PREEN)
		fprintf(f, "%s: damage that could lose data was left alone: run fsck.daxfs -y\n",
			path);
	return rc;
}

/* ---- the driver ---- */

static int open_region(struct run *u)
{
	unsigned lock = PMR_F_LOCK_WAIT;
	int err;

	if (u->o->mode == DAXFS_FSCK_CHECK) {
		err = pmr_open(u->path, PMR_F_PRIVATE | PMR_F_LOCK_SHARED | lock, &u->r);
		if (!err) {
			u->apply = true;
			return 0;
		}
		if (err == -EBUSY || err == -ENOENT)
			return err;
		return pmr_open(u->path, PMR_F_RDONLY | PMR_F_LOCK_SHARED | lock, &u->r);
	}
	u->apply = true;
	return pmr_open(u->path, PMR_F_LOCK_EXCL | lock, &u->r);
}

static size_t count_damage(const struct ck *c, bool fixed_only)
{
	size_t n = 0;

	for (size_t k = 0; k < c->nprobs; k++)
		n += !c->probs[k].note && (!fixed_only || c->probs[k].fixed);
	return n;
}

/* move the problems of @from to the end of @to */
static void take_problems(struct ck *to, struct ck *from)
{
	for (size_t k = 0; k < from->nprobs; k++) {
		struct problem *p = new_problem(to);

		if (p)
			*p = from->probs[k];
	}
}

int daxfs_fsck(const char *path, const struct daxfs_fsck_opts *o)
{
	FILE *f = o->out ? o->out : stdout;
	struct ck log, c;
	struct run u = {.o = o, .path = path, .log = &log};
	const char *fatal = NULL;
	char msg[300];
	unsigned flags;
	int err, rc = 0;
	bool clean = false, unresolved = false, manual = false;

	pmd_err_clear();
	memset(&log, 0, sizeof(log));
	log.mode = o->mode;
	memset(&c, 0, sizeof(c));
	if (o->upgrade && o->mode != DAXFS_FSCK_REPAIR)
		return report(f, o, path, NULL, NULL, "--upgrade needs -y", DAXFS_FSCK_USAGE);
	err = open_region(&u);
	if (err) {
		snprintf(msg, sizeof(msg), "%s", pmd_strerror(err));
		return report(f, o, path, NULL, NULL, msg, DAXFS_FSCK_OPERROR);
	}
	log.apply = u.apply;
	rc = pass0(&u, &fatal, msg, sizeof(msg));
	if (rc) {
		pmr_close(&u.r);
		report(f, o, path, &log, NULL, fatal, rc);
		ck_free(&log);
		return rc;
	}
	flags = DAXFS_O_NOLOCK | DAXFS_O_FSCK;
	if (!u.apply)
		flags |= DAXFS_O_RDONLY | DAXFS_O_NORECOVERY;
	if (u.primary_bad)
		flags |= DAXFS_O_BACKUP_SB;
	err = daxfs_open_region(u.r, flags, &u.fs);
	if (err) {
		snprintf(msg, sizeof(msg), "%s", pmd_strerror(err));
		report(f, o, path, &log, NULL, msg,
		       err == -ENOMEM ? DAXFS_FSCK_OPERROR : DAXFS_FSCK_UNCORRECTED);
		ck_free(&log);
		return err == -ENOMEM ? DAXFS_FSCK_OPERROR : DAXFS_FSCK_UNCORRECTED;
	}
	report_state(&u);
	for (int round = 0; round < MAX_ROUNDS && !clean; round++) {
		ck_free(&c);
		err = ck_init(&c, u.fs, o->mode, u.apply);
		if (!err)
			err = round_passes(&c);
		if (err)
			break;
		take_problems(&log, &c);
		dup_take(&log, &c);
		clean = !count_damage(&c, false) &&
			(o->mode == DAXFS_FSCK_CHECK ||
			 !((const struct daxfs_dsuper *)dx_ptr(u.fs, 0))->orphan_head);
		unresolved = c.unresolved;
		manual |= c.manual;
		if (o->mode == DAXFS_FSCK_CHECK || c.manual || !u.apply)
			break;
		if (!c.unresolved)
			free_orphans(&u);
	}
	if (err) {
		snprintf(msg, sizeof(msg), "%s",
			 err == -ENOMEM ? "out of memory" : pmd_strerror(err));
		fatal = msg;
		rc = DAXFS_FSCK_OPERROR;
	} else if (o->mode == DAXFS_FSCK_CHECK) {
		rc = count_damage(&log, false) ? DAXFS_FSCK_UNCORRECTED : 0;
	} else {
		rc = count_damage(&log, true) ? DAXFS_FSCK_CORRECTED : 0;
		if (!clean || unresolved || manual)
			rc |= DAXFS_FSCK_UNCORRECTED;
		if (!clean && !manual && !unresolved)
			problem(&log, "fsck", 0, false, "the repairs did not converge in %d rounds",
				MAX_ROUNDS);
	}
	if (!err && !(rc & DAXFS_FSCK_UNCORRECTED))
		clear_errors(&u);
	if (!err && o->upgrade && !(rc & DAXFS_FSCK_UNCORRECTED)) {
		err = iext_upgrade(u.fs);
		if (!err)
			err = icsum_upgrade(u.fs);
		if (err) {
			snprintf(msg, sizeof(msg), "%s", pmd_strerror(err));
			fatal = msg;
			rc |= DAXFS_FSCK_OPERROR;
		} else {
			note(&log, "superblock", 0,
			     "format version %u, names recorded in the inode "
			     "extension table at blocks %llu..%llu, inode checksums "
			     "cover the inode number",
			     DAXFS_VERSION, (unsigned long long)u.fs->iext_blk,
			     (unsigned long long)(u.fs->iext_blk + u.fs->iext_nblks - 1));
		}
	}
	if (!err) {
		bad_collect(&log, &c, o->bad && o->bad->check ? o->bad : NULL);
		if (log.nhits)
			rc |= DAXFS_FSCK_UNCORRECTED; /* lost data: nothing fsck can mend */
	}
	/* the counts of the last round: the state the region is left in */
	log.files = c.files;
	log.dirs = c.dirs;
	log.symlinks = c.symlinks;
	log.others = c.others;
	log.data_blocks = c.data_blocks;
	log.huge_blocks = c.huge_blocks;
	report(f, o, path, &log, &u, fatal, rc);
	ck_free(&c);
	ck_free(&log);
	err = daxfs_close(&u.fs); /* marks it clean (nothing reaches the file in -n) */
	if (err && o->mode != DAXFS_FSCK_CHECK) {
		fprintf(stderr, "fsck.daxfs: %s: %s\n", path, pmd_strerror(err));
		rc |= DAXFS_FSCK_OPERROR;
	}
	return rc;
}
