/* SPDX-License-Identifier: MIT */
/*
 * owner.c - from a failing block of the region to the file that owns it
 * (memory failure, daxfs.h "Owners of blocks").
 *
 * Where the answer is kept:
 *   - by default (pfn descriptor mode: nothing is kept per frame) in a
 *     reverse map of the core's own, lib/pfn_rmap.h over the region's
 *     blocks: per 2 MiB chunk, a sorted array of {first block, blocks,
 *     inode, file offset}. The owner is the inode number itself and the
 *     map is told the largest (inode_count), so an extent packs in 8
 *     bytes: the inode number in its bit width, the file offset in 4 KiB
 *     units in the 45 - width bits left (an inode count below 2^17
 *     leaves offsets up to 1 TiB, below 2^25 up to 4 GiB). An extent
 *     beyond that (a larger offset in a filesystem with many inodes) is
 *     kept by the map as a wide extent (its own 16-byte record), never
 *     refused: it costs more, and a file that large has one extent per
 *     2 MiB chunk, not many. It is built from every file's
 *     extents at open and kept current where blocks change hands: the
 *     allocator's ext_insert() callers record the new owner (owner_note),
 *     and blocks released at commit (alloc_release) lose theirs
 *     (owner_forget);
 *   - or by the descriptors of the region's frames, when a front end that
 *     registered the region in a descriptor mode installs its functions
 *     (daxfs_set_owner_ops): the same calls then write the descriptors and
 *     the core keeps no map.
 * Either record is a hint. A transaction that aborts after an allocation
 * leaves an owner behind for blocks that stayed free, and a descriptor
 * shared by several owners has no answer; so every answer is checked
 * against the file's extent map, and a block the record gets wrong or does
 * not know is looked up by a scan of every file's extents (then recorded).
 * A wrong record costs a scan, never a wrong name.
 *
 * Locking: the record is changed under fs->lock (the allocator's lock);
 * pfn_rmap has its own mutex for lookups. daxfs_owner_of() takes no lock
 * across the check of a file (file lock, then fs->lock, the core's order).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "desc_owner.h"
#include "errmsg.h"
#include "pfn.h"
#include "pfn_rmap.h"

/*
 * The core's map keeps inode numbers as owners (never 0: no inode 0): a
 * number, not a pointer, is what lets pfn_rmap pack an extent narrow.
 */
static void *ino_owner(uint64_t ino)
{
	return (void *)(uintptr_t)ino;
}

void owner_note(struct daxfs *fs, uint64_t pblk, uint64_t len, uint64_t ino, uint64_t lblk)
{
	if (fs->owner_ops.set) {
		fs->owner_ops.set(fs->owner_ops.ctx, pblk, len, ino, blk_to_off(lblk));
		return;
	}
	if (!fs->rmap)
		return;
	/* an entry left by an aborted allocation goes first */
	if (pfn_rmap_add(fs->rmap, pblk, len, ino_owner(ino), blk_to_off(lblk)) == -EEXIST &&
	    !pfn_rmap_remove(fs->rmap, pblk, len))
		pfn_rmap_add(fs->rmap, pblk, len, ino_owner(ino), blk_to_off(lblk));
}

void owner_note_alloc(struct daxfs *fs, struct dxi *i, uint64_t lblk, uint64_t len, uint64_t pblk)
{
	size_t k = ext_find(i, lblk);

	/*
	 * An ondemand area or a memdesc folio (2 MiB) holds an owner only when
	 * it is told of all its frames at once; a file that grows a chunk in
	 * pieces would leave it "shared". So the descriptors hear of the whole
	 * of the file's extent over each chunk the new blocks touch.
	 */
	if (fs->owner_ops.set && k < i->next && i->ext[k].lblk <= lblk) {
		const struct dx_ext *e = &i->ext[k];
		uint64_t s = pblk - pblk % CHUNK_BLKS, end = pblk + len;

		end += (CHUNK_BLKS - end % CHUNK_BLKS) % CHUNK_BLKS;
		s = s > e->pblk ? s : e->pblk;
		end = end < e->pblk + e->len ? end : e->pblk + e->len;
		lblk = e->lblk + (s - e->pblk);
		pblk = s;
		len = end - s;
	}
	owner_note(fs, pblk, len, i->ino, lblk);
}

void owner_forget(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	if (fs->owner_ops.set)
		fs->owner_ops.set(fs->owner_ops.ctx, pblk, len, 0, 0);
	else if (fs->rmap)
		pfn_rmap_remove(fs->rmap, pblk, len);
}

/* owner_ext - inode_walk_raw() callback: record extent @e of @ino */
static void owner_ext(struct daxfs *fs, uint64_t ino, uint64_t lblk, uint64_t len, uint64_t pblk,
		      void *ctx)
{
	(void)ctx;
	if (dx_in_data(fs, pblk, len))
		owner_note(fs, pblk, len, ino, lblk);
}

/* owner_rebuild - record every file's extents again (fs->lock held) */
static void owner_rebuild(struct daxfs *fs)
{
	inode_walk_raw(fs, 0, owner_ext, NULL, NULL);
}

/* owner_map_new - a fresh map (none without memory: lookups scan the files then) */
static void owner_map_new(struct daxfs *fs)
{
	/* owners are inode numbers, 1..inode_count: they pack narrow */
	if (pfn_rmap_new(0, fs->total_blocks, fs->inode_count, &fs->rmap))
		fs->rmap = NULL;
}

void owner_init(struct daxfs *fs)
{
	owner_map_new(fs);
	owner_rebuild(fs);
}

void owner_destroy(struct daxfs *fs)
{
	pfn_rmap_delete(&fs->rmap);
}

void daxfs_set_owner_ops(struct daxfs *fs, const struct daxfs_owner_ops *ops)
{
	dx_lock(fs);
	if (ops && ops->set && ops->find) {
		fs->owner_ops = *ops;
		/* the descriptors answer now: the map's memory goes */
		pfn_rmap_delete(&fs->rmap);
	} else {
		memset(&fs->owner_ops, 0, sizeof(fs->owner_ops));
		owner_map_new(fs);
	}
	owner_rebuild(fs);
	dx_unlock(fs);
}

uint64_t daxfs_owner_map_bytes(struct daxfs *fs)
{
	uint64_t b;

	dx_lock(fs);
	b = fs->rmap ? pfn_rmap_bytes(fs->rmap) : 0;
	dx_unlock(fs);
	return b;
}

/* The recorded owner of @pblk: 0 or -ENOENT. */
static int owner_hint(struct daxfs *fs, uint64_t pblk, uint64_t *ino, uint64_t *off)
{
	void *owner;
	int err;

	if (fs->owner_ops.find)
		return fs->owner_ops.find(fs->owner_ops.ctx, pblk, ino, off);
	if (!fs->rmap)
		return -ENOENT;
	err = pfn_rmap_find(fs->rmap, pblk, &owner, off);
	if (!err)
		*ino = (uint64_t)(uintptr_t)owner;
	return err;
}

/* Does file block @off (bytes) of @ino stand at region block @pblk now? */
static bool owner_check(struct daxfs *fs, uint64_t ino, uint64_t off, uint64_t pblk)
{
	struct dxi *i;
	uint64_t pb;

	if (!ino_valid(fs, ino) || off % BLK_SIZE || file_lock(fs, ino, false, &i))
		return false;
	map_run(i, off_to_blk(off), 1, &pb);
	file_unlock(fs, i);
	return pb == pblk;
}

/* The file block of regular file @ino at region block @pblk: 0, -ENOENT. */
static int owner_in_file(struct daxfs *fs, uint64_t ino, uint64_t pblk, uint64_t *off)
{
	struct dxi *i;
	int err = -ENOENT;

	if (file_lock(fs, ino, false, &i))
		return -ENOENT;
	for (size_t k = 0; k < i->next; k++) {
		const struct dx_ext *e = &i->ext[k];

		if (pblk >= e->pblk && pblk - e->pblk < e->len) {
			*off = blk_to_off(e->lblk + (pblk - e->pblk));
			err = 0;
			break;
		}
	}
	file_unlock(fs, i);
	return err;
}

/* Scan every file in use for @pblk: 0 (found), -ENOENT. */
static int owner_scan(struct daxfs *fs, uint64_t pblk, uint64_t *ino, uint64_t *off)
{
	for (uint64_t n = 1; n <= fs->inode_count; n++) {
		bool used;

		dx_lock(fs);
		used = fs->imap[(n - 1) / 64] >> ((n - 1) % 64) & 1;
		dx_unlock(fs);
		if (used && !owner_in_file(fs, n, pblk, off)) {
			*ino = n;
			return 0;
		}
	}
	return -ENOENT;
}

int daxfs_owner_of(struct daxfs *fs, uint64_t region_off, struct daxfs_owner *out)
{
	uint64_t pblk = off_to_blk(region_off), ino, off;
	bool used;

	memset(out, 0, sizeof(*out));
	if (region_off >= fs->size)
		return pmd_err(-ERANGE, "byte %llu is beyond the filesystem (%llu bytes)",
			       (unsigned long long)region_off, (unsigned long long)fs->size);
	if (pblk < fs->data_blk) {
		out->kind = DAXFS_OWNER_META;
		return 0;
	}
	dx_lock(fs);
	int err = owner_hint(fs, pblk, &ino, &off);
	dx_unlock(fs);
	if (!err && owner_check(fs, ino, off, pblk)) {
		out->kind = DAXFS_OWNER_FILE;
		out->ino = ino;
		out->off = off;
		out->recorded = true;
		return 0;
	}
	dx_lock(fs);
	used = bitmap_test(fs, pblk);
	dx_unlock(fs);
	if (!used) {
		out->kind = DAXFS_OWNER_FREE;
		return 0;
	}
	if (owner_scan(fs, pblk, &ino, &off)) {
		/* in use and no file's data: a directory, extent or xattr block */
		out->kind = DAXFS_OWNER_META;
		return 0;
	}
	out->kind = DAXFS_OWNER_FILE;
	out->ino = ino;
	out->off = off;
	dx_lock(fs);
	owner_note(fs, pblk, 1, ino, off_to_blk(off)); /* the next lookup is quick */
	dx_unlock(fs);
	return 0;
}

int daxfs_ino_path(struct daxfs *fs, uint64_t ino, char *buf, size_t size)
{
	char name[DAXFS_NAME_MAX + 1];
	size_t len, end = size;
	uint64_t parent;
	unsigned depth = 0;
	int err = 0;

	if (size < 2)
		return -ENAMETOOLONG;
	buf[--end] = '\0';
	dx_lock(fs);
	if (ino != DAXFS_ROOT_INO) {
		/* an unlinked file keeps its last name recorded: it has none */
		const struct daxfs_dinode *di;

		err = di_get(fs, ino, &di);
		if (!err && !le32_to_cpu(di->nlink))
			err = -ENOENT;
	}
	while (!err && ino != DAXFS_ROOT_INO) {
		/* a loop in damaged records ends at the depth bound */
		if (++depth > 4096) {
			err = -ELOOP;
			break;
		}
		err = iext_get(fs, ino, &parent, name, &len);
		if (err)
			break;
		if (len + 1 > end) {
			err = -ENAMETOOLONG;
			break;
		}
		end -= len;
		memcpy(buf + end, name, len);
		buf[--end] = '/';
		ino = parent;
	}
	dx_unlock(fs);
	if (err)
		return err;
	if (end == size - 1) /* the root itself */
		buf[--end] = '/';
	memmove(buf, buf + end, size - end);
	return 0;
}

/*
 * Owners in frame descriptors: ctx is the region's first pfn; an owner is
 * its inode number + 1 (DESC_OWNER_MIXED is 1, and root, inode 1, owns no
 * data anyway).
 */
static void desc_set(void *ctx, uint64_t pblk, uint64_t nblks, uint64_t ino, uint64_t off)
{
	desc_owner_set((pfn_t)(uintptr_t)ctx + pblk, nblks,
		       ino ? (void *)(uintptr_t)(ino + 1) : NULL, off);
}

static int desc_find(void *ctx, uint64_t pblk, uint64_t *ino, uint64_t *off)
{
	void *owner;

	if (desc_owner_find((pfn_t)(uintptr_t)ctx + pblk, &owner, off))
		return -ENOENT;
	*ino = (uint64_t)(uintptr_t)owner - 1;
	return 0;
}

int daxfs_owner_ops_desc(struct pfn_range *r, struct daxfs_owner_ops *out)
{
	if (pfn_range_mode(r) == DESC_PFN)
		return -EOPNOTSUPP;
	*out = (struct daxfs_owner_ops){desc_set, desc_find, (void *)(uintptr_t)pfn_range_base(r)};
	return 0;
}
