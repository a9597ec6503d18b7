/* SPDX-License-Identifier: MIT */
/*
 * upgrade.c - bring an older image to the current version: version 1 gets
 * the inode extension table (IEXT) in free space (version 2), version 2
 * gets inode checksums seeded with the inode number (ICSUM, version 3).
 * Called by fsck.daxfs --upgrade on a filesystem that has just been checked
 * clean (see docs/format.md, "Upgrading an older image").
 *
 * Crash safety: the table is written into blocks nothing refers to yet and
 * persisted; one transaction then marks them used and switches the
 * superblock (IEXT feature, version 2, table location); the backup
 * superblock is rewritten last. A crash before the commit leaves the
 * version 1 image as it was (the blocks were free); after it, fsck finds a
 * backup that disagrees with the primary and rewrites it.
 *
 * ICSUM: one transaction sets the feature with icsum_next = 1 (every inode
 * still in the old form); each next one reseals a run of inodes from
 * icsum_next in the new form and moves icsum_next past them (0 at the end).
 * Every inode is in the form icsum_next says at each commit, so a crash
 * anywhere leaves a consistent image, and --upgrade goes on from there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

struct fill {
	struct daxfs *fs;
	uint8_t *table; /* DRAM image of the table */
	uint64_t dir;
};

static int fill_cb(void *ctx, uint64_t key, const char *name, size_t len, uint64_t ino,
		   unsigned type)
{
	struct fill *f = ctx;
	struct daxfs_iext *x;

	if (!ino_valid(f->fs, ino))
		return 0;
	x = (void *)(f->table + blk_to_off((ino - 1) / DAXFS_IEXT_PER_BLOCK) +
		     (ino - 1) % DAXFS_IEXT_PER_BLOCK * DAXFS_IEXT_SIZE);
	if (!iext_empty(x))
		return 0; /* another link of the inode was recorded first */
	x->parent = cpu_to_le64(f->dir);
	x->namelen = (uint8_t)len;
	memcpy(x->name, name, len);
	x->crc = cpu_to_le32(iext_csum(ino, x));
	return 0;
}

int iext_upgrade(struct daxfs *fs)
{
	uint64_t n = (fs->inode_count + DAXFS_IEXT_PER_BLOCK - 1) / DAXFS_IEXT_PER_BLOCK;
	struct fill f = {fs, NULL, 0};
	struct daxfs_dsuper *sb;
	struct dx_range r;
	int err = 0;

	if (fs->iext_nblks)
		return 0;
	f.table = calloc(n, BLK_SIZE);
	if (!f.table)
		return -ENOMEM;
	dx_lock(fs);
	tx_begin(fs);
	err = alloc_run(fs, n, &r);
	if (err) {
		err = pmd_err(err,
			      "upgrade: no room for the inode extension table (%llu contiguous "
			      "free blocks)",
			      (unsigned long long)n);
		goto out_abort;
	}
	for (uint64_t dir = 1; dir <= fs->inode_count; dir++) {
		const struct daxfs_dinode *di = di_read(fs, dir);

		if (!S_ISDIR(le32_to_cpu(di->mode)) || !di->nlink)
			continue;
		f.dir = dir;
		err = dir_iterate(fs, dir, 0, fill_cb, &f);
		if (err)
			goto out_abort;
	}
	/* not referenced until the commit: store it directly */
	pmr_memcpy(fs->r, dx_ptr(fs, blk_to_off(r.pblk)), f.table, blk_to_off(n), 0);
	sb = super_write(fs);
	sb->version = cpu_to_le32(2);
	sb->feat_incompat = cpu_to_le32(le32_to_cpu(sb->feat_incompat) | DAXFS_FEAT_INCOMPAT_IEXT);
	sb->iext_blk = cpu_to_le64(r.pblk);
	sb->iext_nblks = cpu_to_le64(n);
	super_seal(sb);
	err = tx_commit(fs);
	if (err)
		goto out_unlock;
	fs->iext_blk = r.pblk;
	fs->iext_nblks = n;
	super_write_backup(fs->r, dx_ptr(fs, 0)); /* the primary's new layout */
	goto out_unlock;
out_abort:
	tx_abort(fs);
out_unlock:
	dx_unlock(fs);
	free(f.table);
	return err;
}

/* inodes one step of the ICSUM upgrade reseals at most (64 KiB of records) */
#define ICSUM_STEP 256

/* one step: reseal inodes from fs->icsum.next, as many as fit a step */
static int icsum_step(struct daxfs *fs)
{
	uint64_t first = fs->icsum.next, ino = first;
	struct daxfs_dsuper *sb;
	unsigned n = 0;
	int err;

	tx_begin(fs);
	for (; ino <= fs->inode_count && n < ICSUM_STEP && tx_journal_room(fs) > 2 * BLK_SIZE;
	     ino++) {
		if (!di_never_used(di_read(fs, ino))) {
			di_write(fs, ino); /* sealed again at the commit */
			n++;
		}
	}
	sb = super_write(fs);
	sb->icsum_next = cpu_to_le64(ino > fs->inode_count ? 0 : ino);
	super_seal(sb);
	/* the commit seals the step's inodes in the new form */
	fs->icsum.next = ino > fs->inode_count ? 0 : ino;
	err = tx_commit(fs);
	if (err)
		fs->icsum.next = first;
	return err;
}

int icsum_upgrade(struct daxfs *fs)
{
	int err = 0;

	dx_lock(fs);
	if (!fs->icsum.on) {
		struct daxfs_dsuper *sb;

		tx_begin(fs);
		super_feature_on(fs, FEAT_INCOMPAT, DAXFS_FEAT_INCOMPAT_ICSUM);
		for (uint64_t blk = 0; blk < 2; blk++) { /* the primary and the backup */
			sb = tx_write(fs, blk_to_off(blk), DAXFS_SUPER_SIZE);
			sb->version = cpu_to_le32(DAXFS_VERSION);
			sb->icsum_next = cpu_to_le64(1); /* every inode still unseeded */
			super_seal(sb);
		}
		err = tx_commit(fs);
		if (err)
			goto out;
		fs->icsum.on = true;
		fs->icsum.next = 1;
	}
	while (fs->icsum.next && !err)
		err = icsum_step(fs);
	if (!err)
		super_write_backup(fs->r, dx_ptr(fs, 0));
out:
	dx_unlock(fs);
	return err;
}
