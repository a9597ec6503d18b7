/* SPDX-License-Identifier: MIT */
/*
 * fsck_int.h - what the fsck passes share (not an API). See fsck.c for the
 * pass structure.
 */
#ifndef PMD_DAXFS_FSCK_INT_H
#define PMD_DAXFS_FSCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"

/* One reported problem (or note: reported, not damage). */
struct problem {
	char structure[16];
	uint64_t id;
	char msg[300];
	bool fixed;
	bool note;
};

/* Who may apply a fix: -p applies only SAFE ones (nothing can be lost). */
enum fix_class {
	FIX_SAFE,
	FIX_UNSAFE,
};

/* A directory entry found in pass 1. */
struct edge {
	uint64_t dir, child;
	uint8_t type;
	uint8_t namelen;
	bool dead; /* removed by a repair */
	char name[DAXFS_NAME_MAX + 1];
};

/* A block range an inode refers to (pass 1), with how strongly. */
enum claim_prio {
	CP_META,     /* metadata block whose header names the inode */
	CP_DATA,     /* data of an inode that passed its checksum */
	CP_DATA_ODD, /* ... whose map does not add up to its block count */
	CP_DATA_BAD, /* data of an inode that failed it */
};

enum claim_what {
	CW_DATA,
	CW_EXTBLK,
	CW_DIR,
	CW_XATTR,
	CW_SYMLINK,
};

struct claim {
	uint64_t blk, len;
	uint64_t ino;
	uint64_t lblk; /* file block of a CW_DATA claim */
	uint32_t idx;  /* extent index for CW_DATA, chain position for CW_EXTBLK */
	uint8_t prio, what;
	bool lost; /* another inode won (some of) the blocks */
	bool dup;  /* shares blocks with claims as trusted that won them: the
		    * shared runs (c->dups[dup0 .. dup0 + ndup)) get copies */
	uint32_t ndup;
	size_t dup0;
};

/*
 * A run of blocks that a data claim shares with an equally trusted data
 * claim that was granted them first (pass 1B): the loser's extent gets a
 * copy of the run in the rewrite (pass 1D), so both files keep their bytes.
 */
enum dup_state {
	DUP_FOUND,  /* not copied (yet, or -n, or -p) */
	DUP_COPIED, /* copied to @copy (in @copy_runs runs) */
	DUP_HOLE,   /* no space for the copy: the run became a hole (the old rule) */
};

struct dup {
	uint64_t ino, lblk; /* the loser and its file block of the run */
	uint64_t blk, len;  /* the shared run */
	uint64_t owner;	    /* the inode that keeps it */
	uint64_t copy;	    /* first block of the copy, 0: none */
	uint32_t copy_runs;
	uint8_t state;
	char path[256], owner_path[256]; /* names of the two, "" if none found */
};

/* A run of multiply-claimed blocks granted to claim @claim. */
struct claim_run {
	uint64_t blk, len;
	size_t claim;
};

/* Blocks on bad sectors: file data (lblk set) or metadata. */
struct badhit {
	uint64_t ino; /* 0: fixed metadata */
	const char *what;
	uint64_t lblk; /* file block of data, UINT64_MAX for metadata */
	uint64_t blk, n;
	char path[256]; /* a name of the inode, "" if none */
};

/* Per-inode findings of pass 1 phase A (bits of ck.iflags). */
#define IF_TYPE_FIXED (1U << 0)
#define IF_XATTR_BAD (1U << 1)
#define IF_ORPHAN_NEXT_BAD (1U << 2)
#define IF_SIZE_BAD (1U << 3)
#define IF_REWRITE (1U << 4) /* the extent map must be rewritten */
#define IF_MODE_BITS (1U << 5)
#define IF_NLINK_BAD (1U << 6)
#define IF_SALVAGE (1U << 7) /* the directory tree is rebuilt */

/* Per-inode results of pass 1. */
enum istate {
	IS_FREE,  /* mode 0 */
	IS_OK,	  /* usable (possibly repaired) */
	IS_BAD,	  /* unusable: cleared (or, in -n, would be) */
	IS_ROOTX, /* the root, to be rebuilt */
};

struct dir_salvage {
	uint64_t ino;
	struct edge *ents; /* entries kept */
	size_t n, cap;
	uint64_t *blocks; /* the old tree blocks, freed by the rebuild */
	size_t nblocks, blocks_cap;
};

struct ck {
	struct daxfs *fs;
	enum daxfs_fsck_mode mode;
	bool apply; /* fixes may change the mapping (private in -n) */
	/* results */
	struct problem *probs;
	size_t nprobs, cap;
	unsigned unresolved; /* damage left unfixed that hides blocks in use */
	bool manual;	     /* -p met damage that needs -y */
	/* pass 1 */
	uint8_t *claimed; /* bit per block */
	struct claim *claims;
	size_t nclaims, claims_cap;
	uint8_t *state;	   /* enum istate per inode */
	uint8_t *crc_bad;  /* per inode */
	uint16_t *iflags;  /* IF_* per inode */
	uint32_t *itype;   /* S_IFMT per inode, after inference */
	uint64_t *used;	   /* blocks granted per inode */
	uint32_t *xblocks; /* of which attribute blocks */
	uint64_t *nent;	   /* entries found per directory */
	uint32_t *refs;	   /* directory entries pointing to each inode */
	uint32_t *subdirs; /* subdirectories listed in each directory */
	uint64_t *dotdot;  /* parent found by the tree walk */
	bool *orphan;
	struct edge *edges;
	size_t nedges, edges_cap;
	struct dir_salvage *salv;
	size_t nsalv, salv_cap;
	/* pass 1B: multiply-claimed blocks */
	uint8_t *multi;	  /* bit per block: claimed by two claims or more */
	struct dup *dups; /* the shared runs, by loser in claim order */
	size_t ndups, dups_cap;
	struct claim_run *held; /* granted runs of multiply-claimed blocks */
	size_t nheld, held_cap;
	/* stats */
	uint64_t files, dirs, symlinks, others, data_blocks, huge_blocks;
	uint64_t leaked, unmarked;
	/* bad sectors (the report's log only) */
	const struct daxfs_badblocks *badl;
	struct badhit *hits;
	size_t nhits, hits_cap;
};

/* claim_live - @cl may be granted: not left out, its inode kept */
static inline bool claim_live(const struct ck *c, const struct claim *cl)
{
	uint8_t s = c->state[cl->ino - 1];

	return !cl->lost && (s == IS_OK || s == IS_ROOTX);
}

/* fsck.c */
void problem(struct ck *c, const char *structure, uint64_t id, bool fixed, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void note(struct ck *c, const char *structure, uint64_t id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* resolve - a deferred repair is done: the problems reported so far for
 * @structure @id are fixed, the last one says @what was done */
void resolve(struct ck *c, const char *structure, uint64_t id, const char *what);
/* ck_fix - whether to apply a fix of @cls now; false in -p for UNSAFE ones
 * (then the run ends with "run fsck.daxfs -y") and when nothing may be written */
bool ck_fix(struct ck *c, enum fix_class cls);
/* ck_did - the text to append to a problem's message: ", @what" if @fixed
 * (and not in -n, whose fixes only touch a private copy), else "" */
const char *ck_did(const struct ck *c, bool fixed, const char *what, char *buf, size_t len);
int add_edge(struct ck *c, uint64_t dir, uint64_t child, unsigned type, const char *name,
	     size_t len);
/* one-inode repair transaction: fix_begin returns the inode to change */
struct daxfs_dinode *fix_begin(struct ck *c, uint64_t ino);
void fix_end(struct ck *c);
/* fix_feature - set feature bit @bit of word @w (a transaction of its own) */
void fix_feature(struct ck *c, enum dx_feat w, uint32_t bit);

/* fsck_inode.c: pass 1 */
int pass1(struct ck *c);
/* after pass 3: the repairs that allocate (extent maps, directories, root) */
void pass1_rebuild(struct ck *c);
bool claim_test(const struct ck *c, uint64_t blk);
void claim_set(struct ck *c, uint64_t blk);
/* claim_lose - @cl (in grant order) loses block @blk to a claim granted before */
void claim_lose(struct ck *c, struct claim *cl, uint64_t blk);
bool range_ok(struct daxfs *fs, uint64_t blk, uint64_t n);
int add_claim(struct ck *c, uint64_t ino, uint64_t blk, uint64_t len, enum claim_prio prio,
	      enum claim_what what, uint32_t idx, uint64_t lblk);
void fix_clear_inode(struct ck *c, uint64_t ino);

/* fsck_dir.c: directory trees, their salvage and rebuild */
/* check_dir - walk the tree of directory @ino (pass 1): entries become
 * edges, blocks become claims; a damaged tree is queued for a rebuild with
 * every good entry. Returns the tree blocks counted, or -errno (ENOMEM). */
int check_dir(struct ck *c, uint64_t ino, const struct daxfs_dinode *di, uint64_t *blocks);
/* rebuild_dirs - rebuild the queued directories (after pass 3) */
void rebuild_dirs(struct ck *c);
/* dir_reset - empty directory @ino in the running transaction, freeing nothing */
void dir_reset(struct ck *c, uint64_t ino);
bool name_valid(const char *name, size_t len);

/* fsck_tree.c: pass 2 */
int pass2(struct ck *c);

/* fsck_bad.c: blocks on bad sectors */
/* bad_collect - into @log, the runs on @bad (may be NULL) of the fixed
 * metadata and of the blocks granted in round @c */
void bad_collect(struct ck *log, const struct ck *c, const struct daxfs_badblocks *bad);
/* bad_report - the runs as text lines, or the JSON "bad_sectors" member */
void bad_report(FILE *f, const struct daxfs_fsck_opts *o, const struct ck *c);

/* fsck_dup.c: blocks claimed by more than one file (e2fsck's passes 1B-1D) */
/* dup_mark - before the grant: note the blocks that two claims or more name.
 * Returns whether there are any, or -ENOMEM. */
int dup_mark(struct ck *c);
/* dup_granted - claim @k was granted: remember which of its blocks others
 * name too (for dup_grant). Returns 0 or -ENOMEM. */
int dup_granted(struct ck *c, size_t k);
/*
 * dup_grant - data claim @k meets blocks already granted. When every such
 * block went to a data claim as trusted as it (a tie no rule decides), it
 * is granted its other blocks and the shared runs are recorded for a copy
 * (true); otherwise it loses as before (false). -ENOMEM on no memory.
 */
int dup_grant(struct ck *c, size_t k);
/* dup_report_found - after the grant: the report lines of the shared runs */
void dup_report_found(struct ck *c);
/*
 * dup_map - in @ino's extent map rewrite (a running transaction): the
 * extents of data claim @cl into i->ext from *@n on, each shared run
 * copied to new blocks. Returns 0 or -ENOSPC/-ENOMEM (abort then).
 */
int dup_map(struct ck *c, struct dxi *i, const struct claim *cl, size_t *n);
/* dup_drop - the fallback when there is no space for the copies: frees
 * the blocks of @cl that no other claim names (in the running transaction) */
void dup_drop(struct ck *c, const struct claim *cl);
/* dup_done - the result for @ino's runs after its rewrite: the text for
 * resolve(), or NULL if it has none */
const char *dup_done(struct ck *c, uint64_t ino, bool copied, char *buf, size_t len);
/* dup_take - move the runs of round @from to @to (the report's log) */
void dup_take(struct ck *to, struct ck *from);
/* dup_report - the JSON "multiply_claimed" member */
void dup_report(FILE *f, const struct daxfs_fsck_opts *o, const struct ck *c);

/* fsck_bad.c: a path of @ino from the entries of round @c, "" if none */
void ino_path(const struct ck *c, uint64_t ino, char *buf, size_t len);

/* fsck_bitmap.c: pass 3 */
void pass3(struct ck *c, bool quiet);

#endif
