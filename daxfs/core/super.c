/* SPDX-License-Identifier: MIT */
/*
 * super.c - superblock, open/close with recovery, statfs, counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

struct daxfs_dsuper *super_write(struct daxfs *fs)
{
	return tx_write(fs, 0, DAXFS_SUPER_SIZE);
}

void super_seal(struct daxfs_dsuper *sb)
{
	sb->crc = cpu_to_le32(daxfs_csum(sb, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc)));
}

void super_write_backup(struct pmr_region *r, const struct daxfs_dsuper *primary)
{
	struct daxfs_dsuper bk = *primary;

	bk.state = cpu_to_le32(DAXFS_STATE_CLEAN);
	bk.orphan_head = 0;
	bk.feat_compat = cpu_to_le32(le32_to_cpu(bk.feat_compat) & ~DAXFS_FEAT_COMPAT_ERRREC);
	memset((uint8_t *)&bk + offsetof(struct daxfs_dsuper, err_count), 0,
	       offsetof(struct daxfs_dsuper, iext_blk) - offsetof(struct daxfs_dsuper, err_count));
	super_seal(&bk);
	pmr_memcpy(r, (uint8_t *)pmr_addr(r) + BLK_SIZE, &bk, sizeof(bk), 0);
}

static le32 *feat_word(struct daxfs_dsuper *sb, enum dx_feat w)
{
	return w == FEAT_COMPAT	    ? &sb->feat_compat
	       : w == FEAT_INCOMPAT ? &sb->feat_incompat
				    : &sb->feat_ro_compat;
}

bool super_has_feature(struct daxfs *fs, enum dx_feat w, uint32_t bit)
{
	struct daxfs_dsuper *sb = (struct daxfs_dsuper *)tx_read(fs, 0);

	return le32_to_cpu(*feat_word(sb, w)) & bit;
}

/*
 * super_feature_on - announce feature @bit of word @w in the running
 * transaction, in the primary superblock and in the backup (so a primary
 * restored from the backup still names every structure on the media).
 */
void super_feature_on(struct daxfs *fs, enum dx_feat w, uint32_t bit)
{
	struct daxfs_dsuper *sb;

	if (super_has_feature(fs, w, bit))
		return;
	for (uint64_t blk = 0; blk < 2; blk++) {
		sb = tx_write(fs, blk_to_off(blk), DAXFS_SUPER_SIZE);
		*feat_word(sb, w) = cpu_to_le32(le32_to_cpu(*feat_word(sb, w)) | bit);
		super_seal(sb); /* block 0 is sealed again at commit */
	}
}

/*
 * super_check - validate @sb against a region of @region_size bytes.
 * Returns 0 or -errno with a message naming the bad field.
 */
int super_check(const struct daxfs_dsuper *sb, uint64_t region_size, bool quiet)
{
	uint64_t tb, jb, jn, ib, in, bb, bn, db, ic, xb, xn;
	uint32_t ver = le32_to_cpu(sb->version), incompat = le32_to_cpu(sb->feat_incompat);

	if (le64_to_cpu(sb->magic) != DAXFS_MAGIC)
		return pmd_err(-EINVAL, "superblock: bad magic 0x%016llx, not a daxfs filesystem",
			       (unsigned long long)le64_to_cpu(sb->magic));
	if (ver < DAXFS_VERSION_MIN || ver > DAXFS_VERSION)
		return pmd_err(-EPROTONOSUPPORT,
			       "superblock: filesystem version %u, this daxfs supports versions "
			       "%u to %u",
			       ver, DAXFS_VERSION_MIN, DAXFS_VERSION);
	if (le32_to_cpu(sb->crc) !=
	    daxfs_csum(sb, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc)))
		return pmd_err(-EINVAL, "superblock: checksum mismatch (corrupt superblock)");
	if (incompat & ~DAXFS_FEAT_INCOMPAT_SUPP)
		return pmd_err(-EPROTONOSUPPORT, "superblock: unknown incompatible features 0x%x",
			       incompat);
	if (ver == 1 && (incompat || sb->feat_compat || sb->feat_ro_compat))
		return pmd_err(-EINVAL, "superblock: version 1 with feature bits set");
	if (le32_to_cpu(sb->block_size) != BLK_SIZE)
		return pmd_err(-EINVAL, "superblock: block size %u, expected %u",
			       le32_to_cpu(sb->block_size), BLK_SIZE);
	tb = le64_to_cpu(sb->total_blocks);
	if (le64_to_cpu(sb->region_size) != tb * BLK_SIZE || tb % CHUNK_BLKS || !tb)
		return pmd_err(-EINVAL, "superblock: size %llu bytes / %llu blocks inconsistent",
			       (unsigned long long)le64_to_cpu(sb->region_size),
			       (unsigned long long)tb);
	if (le64_to_cpu(sb->region_size) > region_size)
		return pmd_err(-EINVAL,
			       "superblock: filesystem is %llu bytes but the region has only %llu",
			       (unsigned long long)le64_to_cpu(sb->region_size),
			       (unsigned long long)region_size);
	jb = le64_to_cpu(sb->journal_blk);
	jn = le64_to_cpu(sb->journal_nblks);
	ib = le64_to_cpu(sb->itable_blk);
	in = le64_to_cpu(sb->itable_nblks);
	ic = le64_to_cpu(sb->inode_count);
	bb = le64_to_cpu(sb->bitmap_blk);
	bn = le64_to_cpu(sb->bitmap_nblks);
	db = le64_to_cpu(sb->data_blk);
	xb = le64_to_cpu(sb->iext_blk);
	xn = le64_to_cpu(sb->iext_nblks);
	/* the journal is at block 2 unless mkfs moved the metadata past bad
	 * sectors (then blocks 2 .. journal_blk - 1 are unused) */
	if (jb < 2 || jb >= tb || jn < 16 || jn >= tb || in >= tb || bn >= tb || ib != jb + jn ||
	    in * DAXFS_INODES_PER_BLOCK != ic || !ic || bb != ib + in || bn * BLK_SIZE * 8 < tb ||
	    db >= tb)
		return pmd_err(-EINVAL,
			       "superblock: layout (journal/inode table/bitmap) inconsistent");
	if (incompat & DAXFS_FEAT_INCOMPAT_IEXT) {
		/* after the bitmap (mkfs), or in the data area (an upgrade) */
		bool fixed = xb == bb + bn && db == xb + xn;
		bool in_data = db == bb + bn && xb >= db && xb <= tb && xn <= tb - xb;

		if (xn != (ic + DAXFS_IEXT_PER_BLOCK - 1) / DAXFS_IEXT_PER_BLOCK ||
		    !(fixed || in_data))
			return pmd_err(-EINVAL,
				       "superblock: inode extension table at %llu+%llu "
				       "inconsistent",
				       (unsigned long long)xb, (unsigned long long)xn);
	} else if (db != bb + bn || xb || xn) {
		return pmd_err(-EINVAL,
			       "superblock: layout (journal/inode table/bitmap) inconsistent");
	}
	if (le64_to_cpu(sb->root_ino) != DAXFS_ROOT_INO)
		return pmd_err(-EINVAL, "superblock: root inode %llu, expected 1",
			       (unsigned long long)le64_to_cpu(sb->root_ino));
	if (le64_to_cpu(sb->orphan_head) > ic)
		return pmd_err(-EINVAL, "superblock: orphan list head %llu out of range",
			       (unsigned long long)le64_to_cpu(sb->orphan_head));
	if ((incompat & DAXFS_FEAT_INCOMPAT_ICSUM) && le64_to_cpu(sb->icsum_next) > ic)
		return pmd_err(-EINVAL, "superblock: icsum_next %llu out of range",
			       (unsigned long long)le64_to_cpu(sb->icsum_next));
	return 0;
}

void super_load_geometry(struct daxfs *fs, const struct daxfs_dsuper *sb)
{
	fs->size = le64_to_cpu(sb->region_size);
	fs->total_blocks = le64_to_cpu(sb->total_blocks);
	fs->journal_blk = le64_to_cpu(sb->journal_blk);
	fs->journal_nblks = le64_to_cpu(sb->journal_nblks);
	fs->itable_blk = le64_to_cpu(sb->itable_blk);
	fs->inode_count = le64_to_cpu(sb->inode_count);
	fs->bitmap_blk = le64_to_cpu(sb->bitmap_blk);
	fs->bitmap_nblks = le64_to_cpu(sb->bitmap_nblks);
	fs->data_blk = le64_to_cpu(sb->data_blk);
	if (le32_to_cpu(sb->feat_incompat) & DAXFS_FEAT_INCOMPAT_IEXT) {
		fs->iext_blk = le64_to_cpu(sb->iext_blk);
		fs->iext_nblks = le64_to_cpu(sb->iext_nblks);
	} else {
		fs->iext_blk = fs->iext_nblks = 0;
	}
	fs->icsum = icsum_of(sb);
	fs->hash_seed = le64_to_cpu(sb->hash_seed);
}

enum daxfs_probe_result daxfs_probe(const struct pmr_region *r)
{
	const uint8_t *p = pmr_addr(r);
	uint64_t magic;
	size_t n = pmr_size(r) < 64 * KiB ? pmr_size(r) : 64 * KiB;

	memcpy(&magic, p, sizeof(magic));
	if (le64_to_cpu(magic) == DAXFS_MAGIC)
		return DAXFS_PROBE_DAXFS;
	for (size_t k = 0; k < n; k++)
		if (p[k])
			return DAXFS_PROBE_FOREIGN;
	return DAXFS_PROBE_EMPTY;
}

static void fs_free(struct daxfs *fs)
{
	icache_destroy(fs);
	tx_destroy(fs);
	alloc_destroy(fs);
	iso_destroy(fs);
	owner_destroy(fs);
	free(fs->imap);
	free(fs->vmap);
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->icache_lock);
	pthread_mutex_destroy(&fs->err_lock);
	free(fs);
}

/*
 * super_replay_torn - the primary superblock of @r failed super_check():
 * a crash while a transaction was applied can leave it torn across cache
 * lines (the crc in the first line, changed fields in others), and only the
 * journal can mend it. If the backup superblock is sound (the geometry never
 * changes after mkfs) and the journal holds a committed transaction, replay
 * it with the backup's geometry. Returns 0 if the primary is sound
 * afterwards; else the -errno of the primary's check, with its message.
 * Writes the region only to replay a committed transaction.
 */
int super_replay_torn(struct pmr_region *r)
{
	struct daxfs_dsuper sb, bk;
	struct daxfs tmp;
	int err;

	memcpy(&bk, (uint8_t *)pmr_addr(r) + BLK_SIZE, sizeof(bk));
	if (super_check(&bk, pmr_size(r), true))
		goto out_primary;
	memset(&tmp, 0, sizeof(tmp));
	tmp.r = r;
	tmp.base = pmr_addr(r);
	super_load_geometry(&tmp, &bk);
	if (jnl_replay(&tmp, true) > 0)
		jnl_replay(&tmp, false);
out_primary:
	memcpy(&sb, pmr_addr(r), sizeof(sb));
	err = super_check(&sb, pmr_size(r), false);
	return err;
}

/*
 * mount_rw - what a read-write open does after the journal replay: rebuild
 * the bitmap if frees deferred by pins were lost in a crash, mark the
 * superblock in use, count the mount, free the orphans nobody references.
 */
static int mount_rw(struct daxfs *fs)
{
	const struct daxfs_dsuper *sb = dx_ptr(fs, 0);
	bool crashed = le32_to_cpu(sb->state) != DAXFS_STATE_CLEAN;
	struct daxfs_dsuper *w;
	int err;

	if (crashed && (le32_to_cpu(sb->flags) & DAXFS_SB_DEFERRED)) {
		err = daxfs_rebuild_bitmap(fs);
		if (err)
			return err;
	}
	dx_lock(fs);
	tx_begin(fs);
	w = super_write(fs);
	w->state = cpu_to_le32(DAXFS_STATE_INUSE);
	w->flags = cpu_to_le32(le32_to_cpu(w->flags) & ~DAXFS_SB_DEFERRED);
	w->mount_count = cpu_to_le64(le64_to_cpu(w->mount_count) + 1);
	w->mount_time = cpu_to_le64((uint64_t)now_ns());
	super_seal(w);
	err = tx_commit(fs);
	dx_unlock(fs);
	if (err)
		return err;
	err = orphans_recover(fs);
	if (err)
		return err;
	dx_lock(fs);
	alloc_resv_rebuild(fs);
	dx_unlock(fs);
	return 0;
}

/*
 * daxfs_open_region - open the filesystem on an already mapped region; takes
 * ownership of @r (closed on failure too).
 */
/*
 * backup_hint - the primary superblock of @r failed its check with @err: if
 * the backup is sound, add the next step to the message (fsck.daxfs -y
 * restores the primary from it). Returns @err.
 */
static int backup_hint(struct pmr_region *r, int err)
{
	struct daxfs_dsuper bk;
	struct pmr_info info;
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", pmd_errmsg());
	memcpy(&bk, (uint8_t *)pmr_addr(r) + BLK_SIZE, sizeof(bk));
	if (super_check(&bk, pmr_size(r), true))
		return pmd_err(err, "%s", msg);
	pmr_get_info(r, &info);
	return pmd_err(err,
		       "%s; the backup superblock is good: run fsck.daxfs -y %s to restore "
		       "the primary, then mount again",
		       msg, info.path);
}

int daxfs_open_region(struct pmr_region *r, unsigned flags, struct daxfs **out)
{
	struct daxfs *fs;
	struct daxfs_dsuper sb;
	int err;

	*out = NULL;
	if ((flags & DAXFS_O_NORECOVERY) && !(flags & DAXFS_O_RDONLY)) {
		pmr_close(&r);
		return pmd_err(-EINVAL, "daxfs: no-recovery open must be read-only");
	}
	if (!(flags & DAXFS_O_NOLOCK)) {
		/* one owner per region, and one filesystem instance in this process */
		err = pmr_lock_region(
			r, (flags & DAXFS_O_RDONLY) ? PMR_LOCK_SHARED : PMR_LOCK_EXCLUSIVE,
			PMR_LOCK_SOLE);
		if (err) {
			pmr_close(&r);
			return err;
		}
	}
	memcpy(&sb, (uint8_t *)pmr_addr(r) + ((flags & DAXFS_O_BACKUP_SB) ? BLK_SIZE : 0),
	       sizeof(sb));
	err = super_check(&sb, pmr_size(r), false);
	if (err == -EINVAL && !(flags & (DAXFS_O_BACKUP_SB | DAXFS_O_RDONLY))) {
		/* torn by a crash during a transaction's apply? */
		err = super_replay_torn(r);
		if (!err)
			memcpy(&sb, pmr_addr(r), sizeof(sb));
	}
	if (err) {
		if (!(flags & DAXFS_O_BACKUP_SB))
			err = backup_hint(r, err);
		pmr_close(&r);
		return err;
	}
	if ((le32_to_cpu(sb.feat_ro_compat) & ~DAXFS_FEAT_RO_COMPAT_SUPP) &&
	    !(flags & DAXFS_O_RDONLY)) {
		pmr_close(&r);
		return pmd_err(-EROFS,
			       "superblock: unknown read-only compatible features 0x%x: "
			       "this daxfs can open the filesystem read-only only",
			       le32_to_cpu(sb.feat_ro_compat) & ~DAXFS_FEAT_RO_COMPAT_SUPP);
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		pmr_close(&r);
		return -ENOMEM;
	}
	if (icache_init(fs)) {
		free(fs);
		pmr_close(&r);
		return -ENOMEM;
	}
	di_memo_serial(fs);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->icache_lock, NULL);
	pthread_mutex_init(&fs->err_lock, NULL);
	fs->r = r;
	fs->base = pmr_addr(r);
	fs->flags = flags;
	fs->rdonly = flags & DAXFS_O_RDONLY;
	atomic_init(&fs->errors, (flags & DAXFS_O_ERRORS_PANIC)	     ? DAXFS_ERRORS_PANIC
				 : (flags & DAXFS_O_ERRORS_CONTINUE) ? DAXFS_ERRORS_CONTINUE
								     : DAXFS_ERRORS_RO);
	{
		struct pmr_info info;

		pmr_get_info(r, &info);
		fs->region_rw = !info.read_only;
	}
	super_load_geometry(fs, &sb);

	err = jnl_replay(fs, true);
	if (err < 0)
		goto out_free;
	if (err > 0) {
		if (fs->rdonly && !(flags & DAXFS_O_NORECOVERY)) {
			err = pmd_err(-EROFS,
				      "daxfs: journal needs recovery, cannot open read-only");
			goto out_free;
		}
		if (!fs->rdonly) {
			err = jnl_replay(fs, false);
			if (err < 0)
				goto out_free;
			/* the replay may have changed the superblock */
			if (!(flags & DAXFS_O_BACKUP_SB)) {
				memcpy(&sb, pmr_addr(r), sizeof(sb));
				err = super_check(&sb, pmr_size(r), false);
				if (err)
					goto out_free;
				super_load_geometry(fs, &sb); /* an upgrade's step */
			}
		}
	}
	err = alloc_init(fs);
	if (!err)
		err = vmap_init(fs);
	if (!err)
		err = iso_init(fs);
	if (err)
		goto out_free;
	err = imap_init(fs);
	if (err)
		goto out_free;
	alloc_check_meta(fs);
	if (!(flags & DAXFS_O_FSCK))
		alloc_check_data(fs);
	if (!fs->rdonly && !(flags & DAXFS_O_FSCK)) {
		err = mount_rw(fs);
		if (err)
			goto out_free;
	}
	if (!(flags & DAXFS_O_FSCK)) {
		dx_lock(fs);
		owner_init(fs);
		dx_unlock(fs);
	}
	if (fs->rdonly && fs->region_rw) {
		/* opened writable for a later remount: keep the promise of a
		 * read-only mapping until then */
		if (mprotect(fs->base, pmr_size(r), PROT_READ)) {
			err = pmd_err(-errno, "daxfs: cannot map the region read-only: %s",
				      strerror(errno));
			goto out_free;
		}
	}
	*out = fs;
	return 0;
out_free:
	fs_free(fs);
	pmr_close(&r);
	return err;
}

int daxfs_open(const char *path, unsigned flags, struct daxfs **out)
{
	struct pmr_region *r;
	int err;

	*out = NULL;
	err = -EROFS;
	if ((flags & (DAXFS_O_RDONLY | DAXFS_O_NORECOVERY)) == DAXFS_O_RDONLY) {
		/* writable if the file allows, for daxfs_remount() */
		err = pmr_open(path, 0, &r);
		if (err)
			pmd_err_clear();
	}
	if (err) {
		err = pmr_open(path, (flags & DAXFS_O_RDONLY) ? PMR_F_RDONLY : 0, &r);
		if (err)
			return err;
	}
	return daxfs_open_region(r, flags, out);
}

int daxfs_close(struct daxfs **fsp)
{
	struct daxfs *fs = *fsp;
	struct pmr_region *r;
	int err = 0;

	if (!fs)
		return 0;
	*fsp = NULL;
	/* drop leftover references and pins: frees unlinked inodes */
	for (;;) {
		struct dxi *i = NULL;

		pthread_mutex_lock(&fs->icache_lock);
		for (size_t b = 0; b < fs->icache_size && !i; b++)
			for (struct dxi *c = fs->icache[b]; c && !i; c = c->hnext)
				if (c->nlookup || c->pins)
					i = c;
		if (i) {
			i->nlookup = 0;
			i->pins = i->pins ? 1 : 0;
			i->refs++;
		}
		pthread_mutex_unlock(&fs->icache_lock);
		if (!i)
			break;
		if (i->pins)
			daxfs_unpin(fs, i->ino);
		dxi_put(fs, i);
	}
	if (!dx_readonly(fs)) {
		struct daxfs_dsuper *w;
		int e;

		dx_lock(fs);
		tx_begin(fs);
		w = super_write(fs);
		w->state = cpu_to_le32(DAXFS_STATE_CLEAN);
		super_seal(w);
		e = tx_commit(fs);
		dx_unlock(fs);
		if (e && !err)
			err = e;
	}
	/* errors=remount-ro: the state stays "in use", so the next open and
	 * fsck know; only a waiting error record is still written */
	dx_lock(fs);
	dx_unlock(fs);
	r = fs->r;
	fs_free(fs);
	pmr_close(&r);
	return err;
}

struct pmr_region *daxfs_region(struct daxfs *fs)
{
	return fs->r;
}

int daxfs_statfs(struct daxfs *fs, struct daxfs_statfs *st)
{
	const struct daxfs_dsuper *sb = dx_ptr(fs, 0);

	memset(st, 0, sizeof(*st));
	dx_lock(fs);
	st->block_size = BLK_SIZE;
	st->total_blocks = fs->total_blocks;
	st->free_blocks = alloc_avail(fs); /* reserved blocks count as used */
	st->free_huge = fs->free_chunks;
	st->resv_chunks = fs->resv_chunks;
	/* chunks kept for DAX isolation are not free for new data */
	for (uint64_t c = 0; fs->chunk_iso && c < fs->nchunks; c++) {
		if (!chunk_excluded(fs, c))
			continue;
		st->free_blocks -= fs->chunk_free[c];
		st->free_huge -= fs->chunk_free[c] == CHUNK_BLKS;
	}
	st->total_inodes = fs->inode_count;
	st->free_inodes = fs->free_inodes;
	st->name_max = DAXFS_NAME_MAX;
	memcpy(st->uuid, sb->uuid, 16);
	memcpy(st->label, sb->label, 64);
	st->label[64] = '\0';
	dx_unlock(fs);
	return 0;
}

void daxfs_set_badblocks(struct daxfs *fs, const struct daxfs_badblocks *bb)
{
	dx_lock(fs);
	if (bb)
		fs->bad = *bb;
	else
		memset(&fs->bad, 0, sizeof(fs->bad));
	dx_unlock(fs);
}

void daxfs_get_stats(struct daxfs *fs, struct daxfs_stats *st)
{
	dx_lock(fs);
	*st = fs->stats;
	dx_unlock(fs);
	st->inode_checks = atomic_load_explicit(&fs->inode_checks, memory_order_relaxed);
	pthread_mutex_lock(&fs->icache_lock);
	st->inodes_held = fs->icache_count;
	pthread_mutex_unlock(&fs->icache_lock);
}

bool daxfs_readonly(struct daxfs *fs)
{
	bool ro;

	dx_lock(fs);
	ro = dx_readonly(fs);
	dx_unlock(fs);
	return ro;
}

int daxfs_remount(struct daxfs *fs, bool rdonly)
{
	int err = 0;

	/* errors=remount-ro stops changes until the next mount: read-write
	 * is refused even when the mapping was never made read-only */
	if (!rdonly && atomic_load(&fs->stopped))
		return pmd_err(-EROFS, "daxfs: changes were stopped after corruption was found "
				       "(errors=remount-ro): unmount and run fsck.daxfs");
	if (rdonly == fs->rdonly)
		return 0;
	if (rdonly) {
		struct daxfs_dsuper *w;

		dx_lock(fs);
		if (fs->ndeferred_inodes && !atomic_load(&fs->stopped)) {
			dx_unlock(fs);
			return pmd_err(-EBUSY, "daxfs: blocks still held by DAX mappings: "
					       "unmap them before remounting read-only");
		}
		/* stopped by errors=remount-ro: the state stays "in use" for fsck */
		if (!atomic_load(&fs->stopped)) {
			tx_begin(fs);
			w = super_write(fs);
			w->state = cpu_to_le32(DAXFS_STATE_CLEAN);
			super_seal(w);
			err = tx_commit(fs);
		}
		if (!err)
			fs->rdonly = true;
		dx_unlock(fs);
		if (err)
			return err;
		if (!(fs->flags & DAXFS_O_NOLOCK))
			pmr_relock_region(fs->r, PMR_LOCK_SHARED);
		if (mprotect(fs->base, pmr_size(fs->r), PROT_READ)) {
			/* a read-write mapping of a read-only filesystem: harmless */
		}
		return 0;
	}
	if (!fs->region_rw)
		return pmd_err(-EROFS, "daxfs: the region was opened read-only (no write "
				       "permission on it): unmount and mount read-write");
	uint32_t ro_feat =
		le32_to_cpu(((const struct daxfs_dsuper *)dx_ptr(fs, 0))->feat_ro_compat);

	if (ro_feat & ~DAXFS_FEAT_RO_COMPAT_SUPP)
		return pmd_err(-EROFS,
			       "superblock: unknown read-only compatible features 0x%x: "
			       "this daxfs can open the filesystem read-only only",
			       ro_feat & ~DAXFS_FEAT_RO_COMPAT_SUPP);
	if (!(fs->flags & DAXFS_O_NOLOCK)) {
		err = pmr_relock_region(fs->r, PMR_LOCK_EXCLUSIVE);
		if (err)
			return err;
	}
	if (mprotect(fs->base, pmr_size(fs->r), PROT_READ | PROT_WRITE)) {
		err = pmd_err(-errno, "daxfs: cannot map the region writable: %s", strerror(errno));
		goto out_relock;
	}
	err = jnl_replay(fs, true);
	if (err > 0)
		err = jnl_replay(fs, false);
	if (err < 0)
		goto out_protect;
	dx_lock(fs);
	fs->rdonly = false;
	dx_unlock(fs);
	err = mount_rw(fs);
	if (!err)
		return 0;
	dx_lock(fs);
	fs->rdonly = true;
	dx_unlock(fs);
out_protect:
	mprotect(fs->base, pmr_size(fs->r), PROT_READ);
out_relock:
	if (!(fs->flags & DAXFS_O_NOLOCK))
		pmr_relock_region(fs->r, PMR_LOCK_SHARED);
	return err;
}
