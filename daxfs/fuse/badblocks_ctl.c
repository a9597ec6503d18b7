/* SPDX-License-Identifier: MIT */
/*
 * badblocks_ctl.c - `daxfs badblocks MOUNTPOINT ...` and the daemon's
 * answer to it (see badblocks_ctl.h).
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "badblocks.h"
#include "badblocks_ctl.h"
#include "daxfs.h"
#include "errmsg.h"
#include "fuse_daemon.h"
#include "memfail.h"
#include "region.h"
#include "units.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define SECTOR_SHIFT 9

/* ---- the daemon's side ---- */

struct list_ctx {
	struct daxfs_ioc_badblocks *m;
	uint64_t from;
};

static int list_one(uint64_t sector, uint64_t count, void *arg)
{
	struct list_ctx *l = arg;

	if (sector + count <= l->from)
		return 0;
	if (l->m->nr == DAXFS_BB_MAX_RANGES)
		return 1;
	l->m->range[l->m->nr].sector = sector;
	l->m->range[l->m->nr].count = count;
	l->m->nr++;
	return 0;
}

static int bb_change(struct daxfs_daemon *d, const struct fuse_ctx *ctx,
		     struct daxfs_ioc_badblocks *m)
{
	const char *what = m->op == DAXFS_BB_ADD ? "add" : "clear";

	if (ctx->uid != 0 && ctx->uid != geteuid()) {
		snprintf(m->msg, sizeof(m->msg),
			 "badblocks %s needs root or the user the daemon runs as", what);
		return -EPERM;
	}
	if (!m->count || m->sector >= m->capacity || m->count > m->capacity - m->sector) {
		snprintf(m->msg, sizeof(m->msg),
			 "sectors %" PRIu64 "+%" PRIu64 " are not inside the region (%" PRIu64
			 " sectors)",
			 m->sector, m->count, m->capacity);
		return -EINVAL;
	}
	int err = m->op == DAXFS_BB_ADD ? pmemdev_bb_add(d->bb, m->sector, m->count)
					: pmemdev_bb_clear(d->bb, m->sector, m->count);

	if (err)
		snprintf(m->msg, sizeof(m->msg), "badblocks %s: %s", what, pmd_strerror(err));
	else /* memory failure (or its end): name the owners */
		daxfs_memfail_report(d, m->sector, m->count, m->op == DAXFS_BB_CLEAR, m->msg,
				     sizeof(m->msg));
	return err;
}

void daxfs_bb_ioctl(struct daxfs_daemon *d, fuse_req_t req, const void *in_buf, size_t in_bufsz,
		    size_t out_bufsz)
{
	struct daxfs_ioc_badblocks *m;
	int err = 0;

	if (in_bufsz < sizeof(*m) || out_bufsz < sizeof(*m)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	m = malloc(sizeof(*m));
	if (!m) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(m, in_buf, sizeof(*m));
	m->status = 0;
	m->nr = 0;
	m->msg[0] = '\0';
	m->capacity = pmr_size(daxfs_region(d->fs)) >> SECTOR_SHIFT;
	switch (m->op) {
	case DAXFS_BB_LIST: {
		struct list_ctx l = {m, m->sector};

		pmemdev_bb_list(d->bb, list_one, &l);
		break;
	}
	case DAXFS_BB_ADD:
	case DAXFS_BB_CLEAR:
		err = bb_change(d, fuse_req_ctx(req), m);
		break;
	default:
		err = -EINVAL;
		snprintf(m->msg, sizeof(m->msg), "unknown badblocks operation %u", m->op);
		break;
	}
	m->status = err;
	m->total = pmemdev_bb_count(d->bb);
	fuse_reply_ioctl(req, 0, m, sizeof(*m));
	free(m);
}

/* ---- the command ---- */

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "daxfs badblocks: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: daxfs badblocks MOUNTPOINT list | add SECTOR [COUNT] | "
			"clear SECTOR [COUNT]\n");
	return 2;
}

/* ask - one DAXFS_IOC_BADBLOCKS on @fd for `daxfs @cmd`; 0, or 1 with the reason printed */
static int ask(const char *cmd, int fd, const char *mp, struct daxfs_ioc_badblocks *m)
{
	if (ioctl(fd, DAXFS_IOC_BADBLOCKS, m)) {
		fprintf(stderr, "daxfs %s: %s: %s (is it a daxfs mount?)\n", cmd, mp,
			strerror(errno));
		return 1;
	}
	if (m->status) {
		fprintf(stderr, "daxfs %s: %s: %s\n", cmd, mp,
			m->msg[0] ? m->msg : strerror(-m->status));
		return 1;
	}
	return 0;
}

/* open_mount - the mount point @mp of a FUSE mount, for `daxfs @cmd`; fd or -1 (said why) */
static int open_mount(const char *cmd, const char *mp)
{
	struct statfs sfs;
	int fd = open(mp, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstatfs(fd, &sfs) || sfs.f_type != FUSE_SUPER_MAGIC) {
		fprintf(stderr, "daxfs %s: %s is not a mounted daxfs%s%s\n", cmd, mp,
			fd < 0 ? ": " : "", fd < 0 ? strerror(errno) : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int daxfs_badblocks_main(int argc, char **argv)
{
	struct daxfs_ioc_badblocks *m;
	const char *mp, *act;
	int fd, ret = 0;

	if (argc >= 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
		printf("usage: daxfs badblocks MOUNTPOINT list | add SECTOR [COUNT] | "
		       "clear SECTOR [COUNT]\n"
		       "The emulated bad sectors (512 bytes, region offsets) of the region "
		       "mounted on MOUNTPOINT.\n");
		return 0;
	}
	if (argc < 4)
		return usage_error("%s", "needs MOUNTPOINT and list, add or clear");
	mp = argv[2];
	act = argv[3];
	m = calloc(1, sizeof(*m));
	if (!m)
		return 1;
	if (!strcmp(act, "list") && argc == 4) {
		m->op = DAXFS_BB_LIST;
	} else if ((!strcmp(act, "add") || !strcmp(act, "clear")) && argc >= 5 && argc <= 6) {
		m->op = !strcmp(act, "add") ? DAXFS_BB_ADD : DAXFS_BB_CLEAR;
		m->count = 1;
		if (parse_u64(argv[4], &m->sector))
			ret = usage_error("invalid SECTOR '%s'", argv[4]);
		else if (argc == 6 && (parse_u64(argv[5], &m->count) || !m->count))
			ret = usage_error("invalid COUNT '%s'", argv[5]);
	} else {
		ret = usage_error("unknown action or wrong arguments after '%s'", act);
	}
	if (ret) {
		free(m);
		return ret;
	}
	fd = open_mount("badblocks", mp);
	if (fd < 0) {
		free(m);
		return 1;
	}
	if (m->op != DAXFS_BB_LIST) {
		ret = ask("badblocks", fd, mp, m);
		if (!ret && m->msg[0]) /* the owner of the first frame */
			printf("%s\n", m->msg);
	} else {
		/* page through the list, DAXFS_BB_MAX_RANGES at a time */
		bool any = false;

		for (;;) {
			ret = ask("badblocks", fd, mp, m);
			if (ret || !m->nr)
				break;
			for (uint32_t k = 0; k < m->nr; k++) {
				if (!any)
					printf("  %-20s %s\n", "SECTOR", "COUNT");
				any = true;
				printf("  %-20" PRIu64 " %" PRIu64 "\n", m->range[k].sector,
				       m->range[k].count);
			}
			if (m->nr < DAXFS_BB_MAX_RANGES)
				break;
			m->sector = m->range[m->nr - 1].sector + m->range[m->nr - 1].count;
			m->op = DAXFS_BB_LIST;
		}
		if (!ret && !any)
			printf("no bad sectors\n");
	}
	close(fd);
	free(m);
	return ret;
}

/* ---- daxfs poison: the same list, in 4 KiB frames ---- */

#define POISON_USAGE "usage: daxfs poison [--clear] MOUNTPOINT FRAME [COUNT]\n"

int daxfs_poison_main(int argc, char **argv)
{
	struct daxfs_ioc_badblocks *m;
	const char *arg[3];
	uint64_t frame, count = 1;
	bool clear = false;
	int n = 0, fd, ret;

	for (int k = 2; k < argc; k++) {
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			printf(POISON_USAGE "Marks the 4 KiB frames FRAME.. (region byte offset / "
					    "4096) of the region\n"
					    "mounted on MOUNTPOINT as failed (emulated poison: "
					    "reads of them fail\n"
					    "with EIO), or --clear makes them good again, and "
					    "names the file and\n"
					    "bytes the first frame holds. The daemon logs every "
					    "frame's owner.\n");
			return 0;
		}
		if (!strcmp(argv[k], "--clear"))
			clear = true;
		else if (n < 3)
			arg[n++] = argv[k];
		else
			n = 4;
	}
	if (n < 2 || n > 3) {
		fprintf(stderr, "daxfs poison: needs MOUNTPOINT and FRAME [COUNT]\n" POISON_USAGE);
		return 2;
	}
	if (parse_u64(arg[1], &frame) || frame > UINT64_MAX / 8) {
		fprintf(stderr,
			"daxfs poison: invalid FRAME '%s' (a frame number, from 0)\n" POISON_USAGE,
			arg[1]);
		return 2;
	}
	if (n == 3 && (parse_u64(arg[2], &count) || !count || count > UINT64_MAX / 8)) {
		fprintf(stderr,
			"daxfs poison: invalid COUNT '%s' (a positive number of "
			"frames)\n" POISON_USAGE,
			arg[2]);
		return 2;
	}
	fd = open_mount("poison", arg[0]);
	if (fd < 0)
		return 1;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return 1;
	}
	m->op = clear ? DAXFS_BB_CLEAR : DAXFS_BB_ADD;
	m->sector = frame * 8;
	m->count = count * 8;
	ret = ask("poison", fd, arg[0], m);
	if (!ret)
		printf("%s %s\n", clear ? "cleared" : "poisoned", m->msg);
	close(fd);
	free(m);
	return ret;
}
