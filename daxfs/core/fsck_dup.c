/* SPDX-License-Identifier: MIT */
/*
 * fsck_dup.c - blocks claimed by more than one file, treated as e2fsck's
 * passes 1B to 1D treat them.
 *
 * Pass 1 grants each block to the most trusted claim (fsck_inode.c), which
 * decides soundly when the claims differ in trust: a metadata block whose
 * header names its owner, a file whose checksum holds against one whose
 * checksum failed, a map that adds up to its block count against one that
 * does not. But when one bit flips in an extent's block number and the
 * checksum is recomputed (a bug that wrote it, or a flip before the seal),
 * both files look sound and nothing tells which one was damaged: giving
 * the blocks to either may take the bytes of the one that was not. So,
 * like e2fsck's clone of multiply-claimed blocks, the first claim in trust
 * order keeps them and every other data claim as trusted gets its own copy
 * of the runs it shares: after the repair each file reads what it read
 * before, whichever one was damaged.
 *
 *  1B dup_mark: before the grant, a bit per block named by two claims or
 *     more (no trust involved).
 *  1C dup_granted, dup_grant: during the grant, the runs of those blocks
 *     granted to each claim are remembered; a data claim that meets blocks
 *     granted to equally trusted data claims gets the rest of its blocks
 *     and its shared runs are recorded (any other conflict loses as
 *     before); dup_report_found names every file involved, with the blocks.
 *  1D dup_map: in the extent map rewrite after pass 3 (the bitmap right),
 *     each shared run is copied to new blocks and the extent re-pointed, in
 *     the one transaction that rewrites the file's map. The copy is written
 *     to blocks still free on media before that transaction commits, so a
 *     crash leaves either the image as it was (the copy in free blocks) or
 *     the repaired one. Without space for the copies, the file's sharing
 *     extents are dropped as they were before copies existed (dup_drop),
 *     and the report says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fsck_int.h"
#include "json.h"
#include "region.h"

#define MAX_PATHS 256  /* runs whose files' names are looked up (a scan of the entries each) */
#define MAX_LISTED 4   /* runs or files listed in one report line */
#define MAX_KEEPERS 64 /* files that keep shared blocks, listed as notes */
#define SHORT_PATH 64  /* a longer name is shortened in report lines */

static bool multi_test(const struct ck *c, uint64_t b)
{
	return c->multi[b / 8] & (1U << (b % 8));
}

int dup_mark(struct ck *c)
{
	size_t bytes = (size_t)((c->fs->total_blocks + 7) / 8);
	uint8_t *seen = calloc(bytes, 1);
	bool any = false;

	free(c->multi);
	c->multi = calloc(bytes, 1);
	if (!seen || !c->multi) {
		free(seen);
		return -ENOMEM;
	}
	for (size_t k = 0; k < c->nclaims; k++) {
		const struct claim *cl = &c->claims[k];
		uint64_t b = cl->blk, end = cl->blk + cl->len;

		if (!claim_live(c, cl))
			continue;
		while (b < end) {
			uint8_t m = (uint8_t)(1U << (b % 8));

			if (b % 8 == 0 && end - b >= 8) { /* a whole byte of the bitmaps */
				any |= seen[b / 8] != 0;
				c->multi[b / 8] |= seen[b / 8];
				seen[b / 8] = 0xff;
				b += 8;
				continue;
			}
			if (seen[b / 8] & m) {
				c->multi[b / 8] |= m;
				any = true;
			}
			seen[b / 8] |= m;
			b++;
		}
	}
	free(seen);
	if (!any) {
		free(c->multi);
		c->multi = NULL;
	}
	return any;
}

/* held_add - block run [@blk, +@len) of multiply-claimed blocks went to claim @k */
static int held_add(struct ck *c, uint64_t blk, uint64_t len, size_t k)
{
	struct claim_run *last = c->nheld ? &c->held[c->nheld - 1] : NULL;

	if (last && last->claim == k && last->blk + last->len == blk) {
		last->len += len;
		return 0;
	}
	if (c->nheld == c->held_cap) {
		size_t cap = c->held_cap ? 2 * c->held_cap : 64;
		struct claim_run *n = realloc(c->held, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->held = n;
		c->held_cap = cap;
	}
	c->held[c->nheld++] = (struct claim_run){blk, len, k};
	return 0;
}

/* the granted run holding multiply-claimed block @b, or NULL */
static const struct claim_run *held_find(const struct ck *c, uint64_t b)
{
	for (size_t k = 0; k < c->nheld; k++)
		if (b >= c->held[k].blk && b - c->held[k].blk < c->held[k].len)
			return &c->held[k];
	return NULL;
}

int dup_granted(struct ck *c, size_t k)
{
	const struct claim *cl = &c->claims[k];
	int err;

	if (!c->multi)
		return 0;
	for (uint64_t b = cl->blk; b < cl->blk + cl->len; b++) {
		if (!c->multi[b / 8]) {
			b |= 7; /* a byte of blocks nobody else names */
			continue;
		}
		if (multi_test(c, b) && (err = held_add(c, b, 1, k)))
			return err;
	}
	return 0;
}

static struct dup *dup_new(struct ck *c)
{
	if (c->ndups == c->dups_cap) {
		size_t cap = c->dups_cap ? 2 * c->dups_cap : 16;
		struct dup *n = realloc(c->dups, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->dups = n;
		c->dups_cap = cap;
	}
	return memset(&c->dups[c->ndups++], 0, sizeof(*c->dups));
}

int dup_grant(struct ck *c, size_t k)
{
	struct claim *cl = &c->claims[k];
	uint64_t end = cl->blk + cl->len, b;
	const struct claim_run *h;

	if (!c->multi)
		return 0;
	/* a tie only if every block taken went to a data claim as trusted */
	for (b = cl->blk; b < end;) {
		if (!claim_test(c, b)) {
			b++;
			continue;
		}
		h = held_find(c, b);
		if (!h || c->claims[h->claim].what != CW_DATA ||
		    c->claims[h->claim].prio != cl->prio)
			return 0;
		b = h->blk + h->len;
	}
	cl->dup = true;
	cl->dup0 = c->ndups;
	cl->ndup = 0;
	for (b = cl->blk; b < end;) {
		struct dup *d;
		uint64_t e;

		if (!claim_test(c, b)) {
			claim_set(c, b);
			if (multi_test(c, b) && held_add(c, b, 1, k))
				return -ENOMEM;
			b++;
			continue;
		}
		h = held_find(c, b);
		e = h->blk + h->len < end ? h->blk + h->len : end;
		d = dup_new(c);
		if (!d)
			return -ENOMEM;
		d->ino = cl->ino;
		d->lblk = cl->lblk + (b - cl->blk);
		d->blk = b;
		d->len = e - b;
		d->owner = c->claims[h->claim].ino;
		d->state = DUP_FOUND;
		cl->ndup++;
		b = e;
	}
	return 1;
}

/* ---- the report ---- */

/* "inode 12 (/a/b)", or "inode 12" when no name was found; long names shortened */
static const char *who(uint64_t ino, const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (!n)
		snprintf(buf, len, "inode %llu", (unsigned long long)ino);
	else if (n <= SHORT_PATH)
		snprintf(buf, len, "inode %llu (%s)", (unsigned long long)ino, path);
	else
		snprintf(buf, len, "inode %llu (%.*s...%s)", (unsigned long long)ino,
			 SHORT_PATH / 2 - 2, path, path + n - (SHORT_PATH / 2 - 1));
	return buf;
}

/* append run @k ("B" or "B..E") to @s at *@at, or ", ..." past the limit */
static void list_run(char *s, size_t len, size_t *at, unsigned k, uint64_t blk, uint64_t n)
{
	if (*at >= len)
		return;
	if (k == MAX_LISTED)
		*at += (size_t)snprintf(s + *at, len - *at, ", ...");
	else if (k < MAX_LISTED && n == 1)
		*at += (size_t)snprintf(s + *at, len - *at, "%s%llu", k ? ", " : "",
					(unsigned long long)blk);
	else if (k < MAX_LISTED)
		*at += (size_t)snprintf(s + *at, len - *at, "%s%llu..%llu", k ? ", " : "",
					(unsigned long long)blk, (unsigned long long)(blk + n - 1));
}

/* the runs [from, to) of one loser: its problem line */
static void report_loser(struct ck *c, size_t from, size_t to)
{
	const struct dup *d0 = &c->dups[from];
	char runs[120], owners[200], name[SHORT_PATH + 40];
	size_t ra = 0, oa = 0;
	uint64_t blocks = 0;
	unsigned nowners = 0;

	runs[0] = owners[0] = '\0';
	for (size_t k = from; k < to; k++) {
		const struct dup *d = &c->dups[k];
		bool seen = false;

		list_run(runs, sizeof(runs), &ra, (unsigned)(k - from), d->blk, d->len);
		blocks += d->len;
		for (size_t j = from; j < k && !seen; j++)
			seen = c->dups[j].owner == d->owner;
		if (seen)
			continue;
		if (nowners < MAX_LISTED && oa < sizeof(owners))
			oa += (size_t)snprintf(owners + oa, sizeof(owners) - oa, "%s%s",
					       nowners ? " and " : "",
					       d->owner == d->ino ? "another extent of its own"
								  : who(d->owner, d->owner_path,
									name, sizeof(name)));
		else if (nowners == MAX_LISTED && oa < sizeof(owners))
			oa += (size_t)snprintf(owners + oa, sizeof(owners) - oa, " and others");
		nowners++;
	}
	problem(c, "inode", d0->ino, false,
		"%s: %llu multiply-claimed block%s (%s) shared with %s, which keep%s %s",
		who(d0->ino, d0->path, name, sizeof(name)), (unsigned long long)blocks,
		blocks == 1 ? "" : "s", runs, owners, nowners == 1 ? "s" : "",
		blocks == 1 ? "it" : "them");
}

static int run_cmp(const void *a, const void *b)
{
	const struct claim_run *x = a, *y = b;

	return x->blk < y->blk ? -1 : x->blk > y->blk;
}

/* the note of one file that keeps blocks others share: its blocks (each
 * once, however many share it) and the files */
static void report_keeper(struct ck *c, uint64_t owner, const char *path)
{
	char runs[120], files[200], name[SHORT_PATH + 40];
	struct claim_run *r = NULL;
	size_t ra = 0, fa = 0, nr = 0;
	uint64_t blocks = 0, last = 0;
	unsigned nruns = 0, nfiles = 0;

	runs[0] = files[0] = '\0';
	for (size_t k = 0; k < c->ndups; k++) {
		const struct dup *d = &c->dups[k];

		if (d->owner != owner)
			continue;
		if (nr % 64 == 0) {
			struct claim_run *n = realloc(r, (nr + 64) * sizeof(*n));

			if (!n)
				break;
			r = n;
		}
		r[nr++] = (struct claim_run){d->blk, d->len, k};
		if (d->ino == last)
			continue;
		last = d->ino;
		if (nfiles < MAX_LISTED && fa < sizeof(files))
			fa += (size_t)snprintf(
				files + fa, sizeof(files) - fa, "%s%s", nfiles ? ", " : "",
				d->ino == owner ? "itself"
						: who(d->ino, d->path, name, sizeof(name)));
		else if (nfiles == MAX_LISTED && fa < sizeof(files))
			fa += (size_t)snprintf(files + fa, sizeof(files) - fa, ", ...");
		nfiles++;
	}
	if (nr)
		qsort(r, nr, sizeof(*r), run_cmp);
	for (size_t k = 0; k < nr;) { /* merge the runs that overlap or touch */
		uint64_t s = r[k].blk, e = r[k].blk + r[k].len;

		for (k++; k < nr && r[k].blk <= e; k++)
			if (r[k].blk + r[k].len > e)
				e = r[k].blk + r[k].len;
		list_run(runs, sizeof(runs), &ra, nruns++, s, e - s);
		blocks += e - s;
	}
	free(r);
	note(c, "inode", owner,
	     "%s keeps %llu multiply-claimed block%s (%s), shared with %u file%s: %s",
	     who(owner, path, name, sizeof(name)), (unsigned long long)blocks,
	     blocks == 1 ? "" : "s", runs, nfiles, nfiles == 1 ? "" : "s", files);
}

void dup_report_found(struct ck *c)
{
	uint64_t blocks = 0, keepers[MAX_KEEPERS];
	size_t nkeep = 0, nlosers = 0, from = 0;

	for (size_t k = 0; k < c->ndups; k++) {
		struct dup *d = &c->dups[k];

		blocks += d->len;
		if (k < MAX_PATHS) {
			ino_path(c, d->ino, d->path, sizeof(d->path));
			ino_path(c, d->owner, d->owner_path, sizeof(d->owner_path));
		}
	}
	for (size_t k = 1; k <= c->ndups; k++)
		nlosers += k == c->ndups || c->dups[k].ino != c->dups[k - 1].ino;
	note(c, "blocks", 0,
	     "multiply-claimed blocks: %zu file%s share%s data blocks with files whose maps look "
	     "as sound, so nothing tells which map is damaged; the first file keeps the "
	     "blocks and each other one gets its own copy (%llu block%s)",
	     nlosers, nlosers == 1 ? "" : "s", nlosers == 1 ? "s" : "", (unsigned long long)blocks,
	     blocks == 1 ? "" : "s");
	for (size_t k = 1; k <= c->ndups; k++) {
		if (k < c->ndups && c->dups[k].ino == c->dups[from].ino)
			continue;
		report_loser(c, from, k);
		from = k;
	}
	for (size_t k = 0; k < c->ndups; k++) {
		const struct dup *d = &c->dups[k];
		bool seen = false;

		for (size_t j = 0; j < nkeep && !seen; j++)
			seen = keepers[j] == d->owner;
		if (seen || nkeep == MAX_KEEPERS)
			continue;
		keepers[nkeep++] = d->owner;
		report_keeper(c, d->owner, d->owner_path);
	}
}

/* ---- 1D: the copies ---- */

static int put_ext(struct dxi *i, size_t *n, uint64_t lblk, uint64_t len, uint64_t pblk)
{
	int err = ext_reserve(i, *n + 1);

	if (err)
		return err;
	i->ext[(*n)++] = (struct dx_ext){lblk, len, pblk};
	return 0;
}

int dup_map(struct ck *c, struct dxi *i, const struct claim *cl, size_t *n)
{
	struct daxfs *fs = c->fs;
	uint64_t p = cl->blk, end = cl->blk + cl->len;
	int err;

	for (uint32_t k = 0; k < cl->ndup; k++) {
		struct dup *d = &c->dups[cl->dup0 + k];
		uint64_t done = 0;

		if (p < d->blk && (err = put_ext(i, n, cl->lblk + (p - cl->blk), d->blk - p, p)))
			return err;
		d->copy = 0;
		d->copy_runs = 0;
		while (done < d->len) {
			struct dx_range r;

			err = alloc_blocks(fs, d->len - done, false, d->copy ? d->copy + done : 0,
					   &r);
			if (err)
				return err;
			/* into blocks that are free on media until the commit */
			pmr_memcpy(fs->r, dx_ptr(fs, blk_to_off(r.pblk)),
				   dx_ptr(fs, blk_to_off(d->blk + done)), blk_to_off(r.len), 0);
			err = put_ext(i, n, d->lblk + done, r.len, r.pblk);
			if (err)
				return err;
			if (!d->copy)
				d->copy = r.pblk;
			d->copy_runs++;
			done += r.len;
		}
		p = d->blk + d->len;
	}
	return p < end ? put_ext(i, n, cl->lblk + (p - cl->blk), end - p, p) : 0;
}

/* free [@b, @e) but the blocks others name too (a later file may copy from
 * them: they stay marked until the next round finds them unclaimed) */
static void drop_run(struct ck *c, uint64_t b, uint64_t e)
{
	while (b < e) {
		uint64_t s = b;

		while (b < e && !multi_test(c, b))
			b++;
		if (b > s)
			tx_free(c->fs, s, b - s);
		while (b < e && multi_test(c, b))
			b++;
	}
}

void dup_drop(struct ck *c, const struct claim *cl)
{
	uint64_t p = cl->blk;

	for (uint32_t k = 0; k < cl->ndup; k++) {
		const struct dup *d = &c->dups[cl->dup0 + k];

		drop_run(c, p, d->blk);
		p = d->blk + d->len;
	}
	drop_run(c, p, cl->blk + cl->len);
}

const char *dup_done(struct ck *c, uint64_t ino, bool copied, char *buf, size_t len)
{
	uint64_t blocks = 0, first = 0;
	uint32_t runs = 0;
	bool any = false;

	for (size_t k = 0; k < c->ndups; k++) {
		struct dup *d = &c->dups[k];

		if (d->ino != ino)
			continue;
		any = true;
		d->state = copied ? DUP_COPIED : DUP_HOLE;
		if (!copied)
			d->copy = d->copy_runs = 0;
		blocks += d->len;
		runs += d->copy_runs;
		if (!first)
			first = d->copy;
	}
	if (!any)
		return NULL;
	if (!copied)
		snprintf(buf, len,
			 "no space for a copy of the multiply-claimed blocks: the other file keeps "
			 "them and the extents of this one that share them are dropped");
	else if (runs == 1 && blocks == 1)
		snprintf(buf, len, "its own copy of the multiply-claimed block made at %llu",
			 (unsigned long long)first);
	else if (runs == 1)
		snprintf(buf, len, "its own copy of the multiply-claimed blocks made at %llu..%llu",
			 (unsigned long long)first, (unsigned long long)(first + blocks - 1));
	else
		snprintf(
			buf, len,
			"its own copy of the multiply-claimed blocks made in %u runs of new blocks",
			runs);
	return buf;
}

/* ---- the log ---- */

void dup_take(struct ck *to, struct ck *from)
{
	for (size_t k = 0; k < from->ndups; k++) {
		struct dup *d = dup_new(to);

		if (d)
			*d = from->dups[k];
	}
}

void dup_report(FILE *f, const struct daxfs_fsck_opts *o, const struct ck *c)
{
	static const char *const result[] = {"found", "copied", "dropped, no space"};

	if (!o->json)
		return;
	fprintf(f, ", \"multiply_claimed\": [");
	for (size_t k = 0; k < c->ndups; k++) {
		const struct dup *d = &c->dups[k];
		uint8_t st = o->mode == DAXFS_FSCK_CHECK ? DUP_FOUND : d->state;

		fprintf(f, "%s{\"inode\": %llu, \"path\": ", k ? ", " : "",
			(unsigned long long)d->ino);
		pmd_json_str(f, d->path);
		fprintf(f,
			", \"file_block\": %llu, \"block\": %llu, \"blocks\": %llu, "
			"\"kept_by\": %llu, \"kept_by_path\": ",
			(unsigned long long)d->lblk, (unsigned long long)d->blk,
			(unsigned long long)d->len, (unsigned long long)d->owner);
		pmd_json_str(f, d->owner_path);
		fprintf(f, ", \"result\": \"%s\"", result[st]);
		if (st == DUP_COPIED)
			fprintf(f, ", \"copy\": %llu, \"copy_runs\": %u",
				(unsigned long long)d->copy, d->copy_runs);
		fputc('}', f);
	}
	fprintf(f, "]");
}
