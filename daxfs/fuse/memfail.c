/* SPDX-License-Identifier: MIT */
/*
 * memfail.c - the daemon's memory failure report (memfail.h).
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "badblocks.h"
#include "daxfs.h"
#include "fuse_daemon.h"
#include "json.h"
#include "memfail.h"
#include "pmemdev.h"
#include "region.h"

#define FRAME_SECTORS 8 /* 512-byte sectors per 4 KiB frame */

/* What one failing frame holds. */
struct mf_owner {
	struct daxfs_owner o;
	char path[1024]; /* FILE: "" when the file has no name (unlinked) */
};

static void mf_lookup(struct daxfs *fs, uint64_t frame, struct mf_owner *m)
{
	m->path[0] = '\0';
	if (daxfs_owner_of(fs, frame * DAXFS_BLOCK_SIZE, &m->o)) {
		m->o.kind = DAXFS_OWNER_META;
		return;
	}
	if (m->o.kind == DAXFS_OWNER_FILE && daxfs_ino_path(fs, m->o.ino, m->path, sizeof(m->path)))
		m->path[0] = '\0';
}

static const char *kind_name(enum daxfs_owner_kind k)
{
	return k == DAXFS_OWNER_FILE ? "file" : k == DAXFS_OWNER_FREE ? "free" : "metadata";
}

void daxfs_memfail_describe(struct daxfs *fs, uint64_t frame, char *buf, size_t size)
{
	struct mf_owner m;
	int n;

	mf_lookup(fs, frame, &m);
	n = snprintf(buf, size,
		     "frame %" PRIu64 " (region bytes %" PRIu64 "..%" PRIu64 "): ", frame,
		     frame * DAXFS_BLOCK_SIZE, (frame + 1) * DAXFS_BLOCK_SIZE - 1);
	if (n < 0 || (size_t)n >= size)
		return;
	if (m.o.kind != DAXFS_OWNER_FILE)
		snprintf(buf + n, size - (size_t)n, "%s",
			 m.o.kind == DAXFS_OWNER_FREE ? "free space, no file loses data"
						      : "filesystem metadata");
	else
		snprintf(buf + n, size - (size_t)n,
			 "file %s (inode %" PRIu64 ") bytes %" PRIu64 "..%" PRIu64,
			 m.path[0] ? m.path : "(unlinked)", m.o.ino, m.o.off,
			 m.o.off + DAXFS_BLOCK_SIZE - 1);
}

void daxfs_memfail_report(struct daxfs_daemon *d, uint64_t sector, uint64_t count, int cleared,
			  char *msg, size_t msgsz)
{
	uint64_t first = sector / FRAME_SECTORS;
	uint64_t end = (sector + count + FRAME_SECTORS - 1) / FRAME_SECTORS;
	char line[1400];

	for (uint64_t f = first; f < end; f++) {
		if (f - first == DAXFS_MEMFAIL_MAX_FRAMES) {
			snprintf(line, sizeof(line),
				 "daxfs: memory failure%s: %" PRIu64 " more frames not listed",
				 cleared ? " cleared" : "", end - f);
			daxfs_fuse_log(d, line);
			break;
		}
		int n = snprintf(line, sizeof(line),
				 "daxfs: memory failure%s: ", cleared ? " cleared" : "");

		daxfs_memfail_describe(d->fs, f, line + n, sizeof(line) - (size_t)n);
		daxfs_fuse_log(d, line);
		if (msg && f == first)
			snprintf(msg, msgsz, "%s%s", line + n,
				 end - first > 1 ? " (and more: see the daemon's log)" : "");
	}
}

/* The failing frames of the list, collected with the list's lock held
 * (the lookups take file locks, which writers clearing sectors hold). */
struct mf_frames {
	uint64_t frame[DAXFS_MEMFAIL_MAX_FRAMES];
	unsigned nr;
	uint64_t total; /* frames in all */
	uint64_t last;	/* last frame counted, UINT64_MAX: none */
};

static int collect(uint64_t sector, uint64_t count, void *arg)
{
	struct mf_frames *c = arg;
	uint64_t f = sector / FRAME_SECTORS;
	uint64_t end = (sector + count + FRAME_SECTORS - 1) / FRAME_SECTORS;

	if (c->last != UINT64_MAX && f <= c->last)
		f = c->last + 1; /* two ranges in one frame */
	for (; f < end; f++) {
		if (c->nr < DAXFS_MEMFAIL_MAX_FRAMES)
			c->frame[c->nr++] = f;
		c->total++;
		c->last = f;
	}
	return 0;
}

static void mf_collect(struct daxfs_daemon *d, struct mf_frames *c)
{
	memset(c, 0, sizeof(*c));
	c->last = UINT64_MAX;
	pmemdev_bb_list(d->bb, collect, c);
}

void daxfs_memfail_report_all(struct daxfs_daemon *d)
{
	struct mf_frames c;
	char line[1400];

	mf_collect(d, &c);
	for (unsigned k = 0; k < c.nr; k++) {
		int n = snprintf(line, sizeof(line), "daxfs: memory failure (listed at mount): ");

		daxfs_memfail_describe(d->fs, c.frame[k], line + n, sizeof(line) - (size_t)n);
		daxfs_fuse_log(d, line);
	}
	if (c.total > c.nr) {
		snprintf(line, sizeof(line),
			 "daxfs: memory failure: %" PRIu64 " more frames not listed",
			 c.total - c.nr);
		daxfs_fuse_log(d, line);
	}
}

void daxfs_memfail_print(struct daxfs_daemon *d, FILE *f, int json)
{
	uint64_t map = daxfs_owner_map_bytes(d->fs);
	struct mf_frames c;
	struct mf_owner m;

	mf_collect(d, &c);
	if (json) {
		fprintf(f,
			"  \"memory_failure\": {\"owner_record\": \"%s\", \"owner_map_bytes\": "
			"%" PRIu64 ", \"frames\": %" PRIu64 ", \"owners\": [",
			map ? "reverse map" : "descriptors", map, c.total);
		for (unsigned k = 0; k < c.nr; k++) {
			mf_lookup(d->fs, c.frame[k], &m);
			fprintf(f, "%s{\"frame\": %" PRIu64 ", \"kind\": \"%s\"", k ? ", " : "",
				c.frame[k], kind_name(m.o.kind));
			if (m.o.kind == DAXFS_OWNER_FILE) {
				fprintf(f,
					", \"ino\": %" PRIu64 ", \"offset\": %" PRIu64
					", \"path\": ",
					m.o.ino, m.o.off);
				if (m.path[0])
					pmd_json_str(f, m.path);
				else
					fprintf(f, "null");
			}
			fprintf(f, "}");
		}
		fprintf(f, "]}");
		return;
	}
	if (map)
		fprintf(f, "owners:        reverse map of the filesystem, %" PRIu64 " bytes\n",
			map);
	else
		fprintf(f, "owners:        in the frame descriptors (mode %s)\n",
			desc_mode_name(d->dp_cfg.mode));
	if (!c.total) {
		fprintf(f, "memory failure: none (no poisoned frame)\n");
		return;
	}
	fprintf(f, "memory failure: %" PRIu64 " poisoned frame%s\n", c.total,
		c.total == 1 ? "" : "s");
	for (unsigned k = 0; k < c.nr; k++) {
		char line[1400];

		daxfs_memfail_describe(d->fs, c.frame[k], line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
	if (c.total > c.nr)
		fprintf(f, "  ... %" PRIu64 " more\n", c.total - c.nr);
}

/* ---- owners in the region's frame descriptors ---- */

void daxfs_dp_owner_attach(struct daxfs *fs, struct pmemdev *pd)
{
	struct pfn_range *r = pmemdev_pfn_range(pd);
	struct daxfs_owner_ops ops;

	if (r && !daxfs_owner_ops_desc(r, &ops))
		daxfs_set_owner_ops(fs, &ops);
}

void daxfs_dp_owner_detach(struct daxfs *fs, struct pmemdev *pd)
{
	struct pfn_range *r = pd ? pmemdev_pfn_range(pd) : NULL;
	struct daxfs_owner_ops ops;

	if (r && !daxfs_owner_ops_desc(r, &ops))
		daxfs_set_owner_ops(fs, NULL);
}
