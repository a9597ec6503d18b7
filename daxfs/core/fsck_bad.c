/* SPDX-License-Identifier: MIT */
/*
 * fsck_bad.c - blocks on the region's emulated bad sectors: after the last
 * round, every block the filesystem uses (the fixed metadata and each
 * inode's granted claims) is looked up in the list, and each run found is
 * reported with its owner, path and, for file data, the bytes it holds.
 * Lost data is nothing fsck can mend: a run counts as uncorrected damage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck_int.h"
#include "json.h"

#define MAX_REPORT 50

/* bad_note - the runs of [blk, blk + n) on bad sectors, as @ino's @what
 * (file block @lblk on, or UINT64_MAX for metadata) */
static void bad_note(struct ck *c, uint64_t ino, const char *what, uint64_t lblk, uint64_t blk,
		     uint64_t n)
{
	const struct daxfs_badblocks *bad = c->badl;

	while (n) {
		uint64_t b = daxfs_first_bad(bad, blk, n), e;

		if (b == UINT64_MAX)
			return;
		for (e = b + 1; e < blk + n && bad->check(bad->ctx, blk_to_off(e), BLK_SIZE); e++)
			;
		if (c->nhits == c->hits_cap) {
			size_t cap = c->hits_cap ? 2 * c->hits_cap : 16;
			struct badhit *h = realloc(c->hits, cap * sizeof(*h));

			if (!h)
				return;
			c->hits = h;
			c->hits_cap = cap;
		}
		c->hits[c->nhits++] = (struct badhit){
			ino, what, lblk == UINT64_MAX ? lblk : lblk + (b - blk), b, e - b, ""};
		n -= e - blk;
		if (lblk != UINT64_MAX)
			lblk += e - blk;
		blk = e;
	}
}

/* a path of @ino from the entries of round @c ("/a/b"), "" when it has none */
void ino_path(const struct ck *c, uint64_t ino, char *buf, size_t len)
{
	char tmp[4096];
	size_t at = sizeof(tmp) - 1;

	tmp[at] = '\0';
	for (int depth = 0; ino != DAXFS_ROOT_INO && depth < 256; depth++) {
		const struct edge *e = NULL;

		for (size_t k = 0; k < c->nedges && !e; k++)
			if (c->edges[k].child == ino && !c->edges[k].dead)
				e = &c->edges[k];
		if (!e || (size_t)e->namelen + 1 > at) {
			snprintf(buf, len, "%s", "");
			return;
		}
		at -= e->namelen;
		memcpy(tmp + at, e->name, e->namelen);
		tmp[--at] = '/';
		ino = e->dir;
	}
	snprintf(buf, len, "%s", ino == DAXFS_ROOT_INO ? (tmp[at] ? tmp + at : "/") : "");
}

void bad_collect(struct ck *log, const struct ck *c, const struct daxfs_badblocks *bad)
{
	static const char *const what[] = {"data", "extent", "directory", "xattr", "symlink"};
	struct daxfs *fs = c->fs;

	log->badl = bad;
	if (!bad)
		return;
	bad_note(log, 0, "superblock", UINT64_MAX, 0, 2);
	bad_note(log, 0, "journal", UINT64_MAX, fs->journal_blk, fs->journal_nblks);
	bad_note(log, 0, "inode table", UINT64_MAX, fs->itable_blk,
		 fs->inode_count / DAXFS_INODES_PER_BLOCK);
	bad_note(log, 0, "bitmap", UINT64_MAX, fs->bitmap_blk, fs->bitmap_nblks);
	if (fs->iext_nblks)
		bad_note(log, 0, "inode extension table", UINT64_MAX, fs->iext_blk, fs->iext_nblks);
	for (size_t k = 0; k < c->nclaims; k++) {
		const struct claim *cl = &c->claims[k];
		size_t first = log->nhits;

		if (cl->lost || c->state[cl->ino - 1] != IS_OK)
			continue;
		bad_note(log, cl->ino, what[cl->what], cl->what == CW_DATA ? cl->lblk : UINT64_MAX,
			 cl->blk, cl->len);
		for (size_t h = first; h < log->nhits; h++)
			ino_path(c, cl->ino, log->hits[h].path, sizeof(log->hits[h].path));
	}
}

/* the first and last bad sector of hit @h */
static void bad_sectors(const struct ck *c, const struct badhit *h, uint64_t *first, uint64_t *last)
{
	const struct daxfs_badblocks *bad = c->badl;
	uint64_t s = blk_to_off(h->blk) / 512, e = blk_to_off(h->blk + h->n) / 512;

	*first = s;
	*last = e - 1;
	while (*first < e && !bad->check(bad->ctx, *first * 512, 512))
		(*first)++;
	while (*last > *first && !bad->check(bad->ctx, *last * 512, 512))
		(*last)--;
}

void bad_report(FILE *f, const struct daxfs_fsck_opts *o, const struct ck *c)
{
	if (o->json)
		fprintf(f, ", \"bad_sectors\": [");
	for (size_t k = 0; k < c->nhits; k++) {
		const struct badhit *h = &c->hits[k];
		uint64_t s, e;

		if (!o->json && !o->verbose && k == MAX_REPORT) {
			fprintf(f, "... and %zu more on bad sectors (use -v)\n", c->nhits - k);
			break;
		}
		bad_sectors(c, h, &s, &e);
		if (o->json) {
			fprintf(f, "%s{\"inode\": %llu, \"path\": ", k ? ", " : "",
				(unsigned long long)h->ino);
			pmd_json_str(f, h->path);
			fprintf(f, ", \"what\": \"%s\", \"block\": %llu, \"blocks\": %llu", h->what,
				(unsigned long long)h->blk, (unsigned long long)h->n);
			if (h->lblk != UINT64_MAX)
				fprintf(f, ", \"file_offset\": %llu, \"bytes\": %llu",
					(unsigned long long)blk_to_off(h->lblk),
					(unsigned long long)blk_to_off(h->n));
			fprintf(f, ", \"first_sector\": %llu, \"last_sector\": %llu}",
				(unsigned long long)s, (unsigned long long)e);
		} else if (h->lblk != UINT64_MAX) {
			fprintf(f,
				"BAD SECTORS: file %s (inode %llu): bytes %llu..%llu are on bad "
				"sectors %llu..%llu (reads fail with EIO until rewritten)\n",
				h->path[0] ? h->path : "(no name)", (unsigned long long)h->ino,
				(unsigned long long)blk_to_off(h->lblk),
				(unsigned long long)blk_to_off(h->lblk + h->n) - 1,
				(unsigned long long)s, (unsigned long long)e);
		} else if (h->ino) {
			fprintf(f,
				"BAD SECTORS: %s block %llu of inode %llu (%s) is on bad sectors "
				"%llu..%llu\n",
				h->what, (unsigned long long)h->blk, (unsigned long long)h->ino,
				h->path[0] ? h->path : "no name", (unsigned long long)s,
				(unsigned long long)e);
		} else {
			fprintf(f,
				"BAD SECTORS: %s blocks %llu..%llu are on bad sectors %llu..%llu\n",
				h->what, (unsigned long long)h->blk,
				(unsigned long long)(h->blk + h->n - 1), (unsigned long long)s,
				(unsigned long long)e);
		}
	}
	if (o->json)
		fprintf(f, "]");
}
