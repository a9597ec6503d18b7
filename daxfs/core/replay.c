/* SPDX-License-Identifier: MIT */
/*
 * replay.c - recovery: apply the committed transaction left in the journal
 * (see journal.c for how one is written), after checking where every record
 * would land.
 *
 * The checksums of the header and of the records prove that the journal
 * holds what was written, not that what was written is sane: a record's
 * offset changed on the media with both checksums made again (a stray or
 * hostile writer, or the image fuzzer) would copy metadata over another
 * file's data block. So nothing is applied unless the whole transaction
 * obeys the rules a commit always obeys:
 *   - a record is a run of whole 64-byte lines inside one block;
 *   - it lands in the superblocks, the inode table, the bitmap, the inode
 *     extension table or the data area, never in the journal or in a gap
 *     between the areas;
 *   - every structure it touches is whole and sound afterwards: a commit
 *     seals each inode, superblock and dynamic block (dir node, extent,
 *     xattr) it changes, so the block as replay would leave it (its home
 *     copy with the transaction's records applied in order) must pass its
 *     checksum; in the data area only sealed blocks are ever journaled;
 *   - an inode a record writes owns the blocks it points at (xattr block,
 *     directory root, first extent block) as their headers name it, which
 *     catches a whole inode moved to another slot with its checksum.
 * The bitmap and the extension table carry no checksum per line: a record
 * there is checked for place only (fsck rebuilds the bitmap; an extension
 * entry has its own checksum, checked where it is used).
 * Limits: a record holding a whole sealed block, moved to another block's
 * start, still passes (nothing in a block names its own address), as does
 * a whole inode moved to another slot when it points at no such block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"

/* a record to check: the block it lands on and where it is in the journal */
struct landing {
	uint64_t blk;
	uint64_t pos;
};

static int landing_cmp(const void *a, const void *b)
{
	const struct landing *x = a, *y = b;

	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

enum area { AREA_NONE, AREA_SUPER, AREA_ITABLE, AREA_UNSEALED, AREA_DATA };

static enum area area_of(const struct daxfs *fs, uint64_t blk)
{
	if (blk < 2)
		return AREA_SUPER;
	if (blk >= fs->itable_blk && blk < fs->bitmap_blk)
		return AREA_ITABLE;
	if (blk >= fs->bitmap_blk && blk - fs->bitmap_blk < fs->bitmap_nblks)
		return AREA_UNSEALED;
	if (fs->iext_nblks && blk >= fs->iext_blk && blk - fs->iext_blk < fs->iext_nblks)
		return AREA_UNSEALED;
	if (dx_in_data(fs, blk, 1))
		return AREA_DATA;
	return AREA_NONE;
}

/*
 * block_sound - @b is block @blk as replay would leave it, @lines the
 * 64-byte lines the records wrote: is every structure they touched sound?
 */
static bool block_sound(const struct daxfs *fs, struct dx_icsum ic, uint64_t blk, const uint8_t *b,
			uint64_t lines)
{
	const unsigned per_inode = DAXFS_INODE_SIZE / LINE_SIZE;

	switch (area_of(fs, blk)) {
	case AREA_SUPER:
		/* beyond the superblock the block is unused */
		return !(lines & ((1ULL << (DAXFS_SUPER_SIZE / LINE_SIZE)) - 1)) ||
		       le32_to_cpu(((const struct daxfs_dsuper *)b)->crc) ==
			       daxfs_csum(b, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc));
	case AREA_ITABLE:
		for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++) {
			uint64_t ino = (blk - fs->itable_blk) * DAXFS_INODES_PER_BLOCK + j + 1;

			if (((lines >> (j * per_inode)) & ((1ULL << per_inode) - 1)) &&
			    !home_inode_ok(icsum_seeded(ic, ino), ino,
					   (const void *)(b + j * DAXFS_INODE_SIZE)))
				return false;
		}
		return true;
	case AREA_DATA:
		return home_blk_ok(b);
	default:
		return true;
	}
}

/*
 * compose - block @l[n].blk as replay would leave it: its home copy with the
 * records @l[n..end) (all of that block, in journal order) applied, in
 * @buf. Returns the mask of the 64-byte lines they wrote.
 */
static uint64_t compose(struct daxfs *fs, const uint8_t *jbase, const struct landing *l, size_t n,
			size_t end, uint8_t *buf)
{
	uint64_t lines = 0;

	memcpy(buf, dx_ptr(fs, blk_to_off(l[n].blk)), BLK_SIZE);
	for (size_t k = n; k < end; k++) {
		struct daxfs_jrec rec;
		unsigned in, rlen;

		memcpy(&rec, jbase + l[k].pos, sizeof(rec));
		in = (unsigned)(le64_to_cpu(rec.off) & (BLK_SIZE - 1));
		rlen = le32_to_cpu(rec.len);
		memcpy(buf + in, jbase + l[k].pos + sizeof(rec), rlen);
		for (unsigned i = in / LINE_SIZE; i < (in + rlen) / LINE_SIZE; i++)
			lines |= 1ULL << i;
	}
	return lines;
}

/* [*@n, *@end): the entries of @l (sorted, @count of them) landing on @blk */
static bool find_block(const struct landing *l, size_t count, uint64_t blk, size_t *n, size_t *end)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == count || l[lo].blk != blk)
		return false;
	*n = lo;
	for (*end = lo + 1; *end < count && l[*end].blk == blk; ++*end)
		;
	return true;
}

/* what the checks of one transaction share */
struct rctx {
	struct daxfs *fs;
	const uint8_t *jbase;
	const struct landing *l; /* sorted by block */
	size_t count;
	uint8_t *scratch;   /* 4 KiB, for view() */
	struct dx_icsum ic; /* as the transaction leaves it */
};

/* block @blk as replay would leave it; valid until the next view() */
static const uint8_t *view(struct rctx *c, uint64_t blk)
{
	size_t n, end;

	if (!find_block(c->l, c->count, blk, &n, &end))
		return dx_ptr(c->fs, blk_to_off(blk));
	compose(c->fs, c->jbase, c->l, n, end, c->scratch);
	return c->scratch;
}

/* a sound sealed block of @magic at @blk, after replay (NULL if not) */
static const uint8_t *view_sealed(struct rctx *c, uint64_t blk, uint32_t magic)
{
	const uint8_t *b;

	if (!dx_in_data(c->fs, blk, 1))
		return NULL;
	b = view(c, blk);
	if (!home_blk_ok(b) || le32_to_cpu(((const struct daxfs_blkhdr *)b)->magic) != magic)
		return NULL;
	return b;
}

/* the smallest key in directory node @b, or false if it holds none */
static bool dnode_first_key(const uint8_t *b, uint64_t *key)
{
	const struct daxfs_dnode *n = (const void *)b;
	unsigned ns = le16_to_cpu(n->nslots);

	if (!ns)
		return false;
	if (le16_to_cpu(n->level)) {
		if (ns > DAXFS_DINDEX_MAX)
			return false;
		*key = le64_to_cpu(((const struct daxfs_dindex *)(b + sizeof(*n)))->key);
		return true;
	}
	le16 off0;
	unsigned off;

	if (sizeof(*n) + 2 * (size_t)ns > BLK_SIZE)
		return false;
	memcpy(&off0, b + sizeof(*n), sizeof(off0));
	off = le16_to_cpu(off0);
	if (off < sizeof(*n) + 2 * ns || off + sizeof(struct daxfs_dentry) > BLK_SIZE)
		return false;
	*key = le64_to_cpu(((const struct daxfs_dentry *)(b + off))->key);
	return true;
}

/*
 * dir_reaches - is node @blk (at @level, smallest key @key) where the tree
 * of directory @di leads at that level when searched for @key? 1 yes, 0
 * no, -1 cannot tell (a node on the way fails its checks: damage of its
 * own). The level of each node on the way comes from the tree's height.
 */
static int dir_reaches(struct rctx *c, const struct daxfs_dinode *di, uint64_t blk, unsigned level,
		       uint64_t key)
{
	uint64_t cur = le64_to_cpu(di->dir.root);
	uint32_t height = le32_to_cpu(di->dir.height);

	if (!height || height > 64 || level >= height)
		return height > 64 ? -1 : 0;
	for (unsigned lv = height - 1;; lv--) {
		const uint8_t *b;
		const struct daxfs_dnode *n;
		const struct daxfs_dindex *x;
		unsigned ns, i;

		if (lv == level)
			return cur == blk;
		b = view_sealed(c, cur, DAXFS_DIR_MAGIC);
		n = (const void *)b;
		if (!b || le16_to_cpu(n->level) != lv)
			return -1;
		ns = le16_to_cpu(n->nslots);
		if (!ns || ns > DAXFS_DINDEX_MAX)
			return -1;
		x = (const void *)(b + sizeof(*n));
		for (i = 1; i < ns && le64_to_cpu(x[i].key) <= key; i++)
			;
		cur = le64_to_cpu(x[i - 1].child);
	}
}

/* is block @blk on the extent chain of file @di? 1, 0, -1 cannot tell */
static int chain_reaches(struct rctx *c, const struct daxfs_dinode *di, uint64_t blk)
{
	uint64_t cur = le64_to_cpu(di->file.ext_next);
	uint64_t steps = le32_to_cpu(di->file.nextents);

	if (steps > c->fs->total_blocks)
		steps = c->fs->total_blocks;
	for (uint64_t k = 0; cur && k <= steps; k++) {
		const uint8_t *b;

		if (cur == blk)
			return 1;
		b = view_sealed(c, cur, DAXFS_EXT_MAGIC);
		if (!b)
			return -1;
		cur = le64_to_cpu(((const struct daxfs_extblk *)b)->next);
	}
	return cur ? -1 : 0;
}

/* is @blk one of the blocks the xattr index of @di lists? 1, 0, -1 */
static int xidx_lists(struct rctx *c, const struct daxfs_dinode *di, uint64_t blk)
{
	uint64_t x = le64_to_cpu(di->xattr_blk);
	const struct daxfs_xattridx *idx;
	uint32_t nb;

	if (!x || view_sealed(c, x, DAXFS_XATTR_MAGIC))
		return 0; /* no index: @di's one entry block (if any) is another */
	idx = (const void *)view_sealed(c, x, DAXFS_XIDX_MAGIC);
	if (!idx)
		return -1;
	nb = le32_to_cpu(idx->nblks);
	if (nb > DAXFS_XIDX_MAX)
		return -1;
	for (uint32_t k = 0; k < nb; k++)
		if (le64_to_cpu(idx->blk[k]) == blk)
			return 1;
	return 0;
}

/* is data block @blk in use in the bitmap as replay would leave it? */
static bool used_after(struct rctx *c, uint64_t blk)
{
	uint64_t bits = BLK_SIZE * 8;
	const uint8_t *b = view(c, c->fs->bitmap_blk + blk / bits);

	return b[blk % bits / 8] & (1U << (blk % 8));
}

/*
 * reached - sealed block @blk, sound after replay (its bytes, copied, in
 * @b), is where its owner's structures lead: a whole block moved by its
 * record's offset lands where nothing leads (or on another file's data).
 * A block free after replay is not judged (a transaction may write a block
 * it then frees), nor one whose way from its owner is itself damaged.
 */
static bool reached(struct rctx *c, uint64_t blk, const uint8_t *b)
{
	const struct daxfs_blkhdr *h = (const void *)b;
	uint32_t magic = le32_to_cpu(h->magic);
	uint64_t ino = le64_to_cpu(h->ino);
	struct daxfs_dinode di;
	uint64_t key = 0;
	unsigned level = 0;
	int r;

	if (!used_after(c, blk))
		return true;
	if (!ino_valid(c->fs, ino))
		return false;
	if (magic == DAXFS_DIR_MAGIC) {
		level = le16_to_cpu(((const struct daxfs_dnode *)b)->level);
		if (!dnode_first_key(b, &key))
			return true; /* an empty node: nothing to search by */
	}
	memcpy(&di, view(c, off_to_blk(di_off(c->fs, ino))) + (di_off(c->fs, ino) & (BLK_SIZE - 1)),
	       sizeof(di));
	if (!home_inode_ok(icsum_seeded(c->ic, ino), ino, &di))
		return true; /* a bad owner: damage of its own */
	if (!di.mode)
		return false;
	switch (magic) {
	case DAXFS_DIR_MAGIC:
		r = S_ISDIR(le32_to_cpu(di.mode)) ? dir_reaches(c, &di, blk, level, key) : 0;
		break;
	case DAXFS_EXT_MAGIC:
		r = S_ISREG(le32_to_cpu(di.mode)) ? chain_reaches(c, &di, blk) : 0;
		break;
	case DAXFS_XIDX_MAGIC:
		r = le64_to_cpu(di.xattr_blk) == blk;
		break;
	case DAXFS_XATTR_MAGIC:
		r = le64_to_cpu(di.xattr_blk) == blk ? 1 : xidx_lists(c, &di, blk);
		break;
	default:
		r = 0; /* no other sealed block exists */
	}
	return r != 0;
}

/*
 * owner_ok - inode @ino as replay would leave it (@di) points at blocks
 * whose header names their owner: a sound one naming another inode means
 * the record that wrote @di landed in the wrong slot (a whole inode moved
 * keeps its own checksum). A block that fails its checksum is not judged
 * here: that is damage of its own, for the read that meets it.
 */
static bool owner_ok(struct rctx *c, uint64_t ino, const struct daxfs_dinode *di)
{
	uint32_t fmt = le32_to_cpu(di->mode) & S_IFMT;
	uint64_t ptr[2] = {le64_to_cpu(di->xattr_blk), 0};

	if (fmt == S_IFDIR)
		ptr[1] = le64_to_cpu(di->dir.root);
	else if (fmt == S_IFREG)
		ptr[1] = le64_to_cpu(di->file.ext_next);
	for (unsigned k = 0; k < 2; k++) {
		const struct daxfs_blkhdr *h;

		if (!dx_in_data(c->fs, ptr[k], 1))
			continue;
		h = (const void *)view(c, ptr[k]);
		if (home_blk_ok(h) && le64_to_cpu(h->ino) != ino)
			return false;
	}
	return true;
}

/*
 * check_block - the records @c->l[n..end) of one block leave it sound; an
 * inode they write owns the blocks it points at; a sealed block they write
 * is where its owner leads. @buf: 4 KiB.
 */
static int check_block(struct rctx *c, size_t n, size_t end, uint8_t *buf)
{
	const unsigned per_inode = DAXFS_INODE_SIZE / LINE_SIZE;
	uint64_t blk = c->l[n].blk, lines = compose(c->fs, c->jbase, c->l, n, end, buf);
	unsigned long long pos = c->l[n].pos;

	if (!block_sound(c->fs, c->ic, blk, buf, lines))
		return pmd_err(
			-EINVAL,
			"journal: record at %llu would leave block %llu failing its checksum "
			"(a record's offset is wrong)",
			pos, (unsigned long long)blk);
	if (area_of(c->fs, blk) == AREA_DATA && !reached(c, blk, buf))
		return pmd_err(-EINVAL,
			       "journal: record at %llu writes block %llu, which its owner inode "
			       "%llu does not lead to (a record's offset is wrong)",
			       pos, (unsigned long long)blk,
			       (unsigned long long)le64_to_cpu(((struct daxfs_blkhdr *)buf)->ino));
	if (area_of(c->fs, blk) != AREA_ITABLE)
		return 0;
	for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++) {
		const struct daxfs_dinode *di = (const void *)(buf + j * DAXFS_INODE_SIZE);
		uint64_t ino = (blk - c->fs->itable_blk) * DAXFS_INODES_PER_BLOCK + j + 1;

		if (!((lines >> (j * per_inode)) & ((1ULL << per_inode) - 1)) || !di->mode)
			continue;
		if (!owner_ok(c, ino, di))
			return pmd_err(
				-EINVAL,
				"journal: record at %llu writes into inode %llu an inode "
				"whose blocks name another owner (a record's offset is wrong)",
				pos, (unsigned long long)ino);
	}
	return 0;
}

/*
 * check_landings - every record of the @len bytes at @jbase is in place
 * (see the head of this file). 0 or -EINVAL with the message set.
 */
static int check_landings(struct daxfs *fs, const uint8_t *jbase, uint64_t len)
{
	struct landing *l;
	uint8_t *buf;
	size_t n = 0;
	uint64_t pos = 0;
	int err = 0;

	/* a record is at least its head and one line */
	l = malloc((len / (sizeof(struct daxfs_jrec) + LINE_SIZE) + 1) * sizeof(*l));
	buf = malloc(2 * BLK_SIZE);
	if (!l || !buf) {
		free(l);
		free(buf);
		return pmd_err(-ENOMEM, "journal: out of memory checking the records");
	}
	while (pos < len) {
		struct daxfs_jrec rec;
		uint64_t off, blk;
		uint32_t rlen;

		if (len - pos < sizeof(rec)) {
			err = pmd_err(-EINVAL, "journal: record at %llu is cut short",
				      (unsigned long long)pos);
			goto out;
		}
		memcpy(&rec, jbase + pos, sizeof(rec));
		off = le64_to_cpu(rec.off);
		rlen = le32_to_cpu(rec.len);
		blk = off_to_blk(off);
		if (rlen > len - pos - sizeof(rec) || !rlen || rlen % LINE_SIZE ||
		    off % LINE_SIZE || (off & (BLK_SIZE - 1)) + rlen > BLK_SIZE ||
		    blk >= fs->total_blocks || area_of(fs, blk) == AREA_NONE) {
			err = pmd_err(-EINVAL, "journal: record at %llu points outside metadata",
				      (unsigned long long)pos);
			goto out;
		}
		l[n].blk = blk;
		l[n].pos = pos;
		n++;
		pos += sizeof(rec) + rlen;
	}
	qsort(l, n, sizeof(*l), landing_cmp);

	struct rctx c = {fs, jbase, l, n, buf + BLK_SIZE, fs->icsum};
	const struct daxfs_dsuper *sb = (const void *)view(&c, 0);

	/* an upgrade's step changes the form of the inodes it rewrites */
	if (le32_to_cpu(sb->crc) ==
	    daxfs_csum(sb, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc))) {
		c.ic = icsum_of(sb);
	}

	for (size_t k = 0, end; k < n && !err; k = end) {
		for (end = k + 1; end < n && l[end].blk == l[k].blk; end++)
			;
		err = check_block(&c, k, end, buf);
	}
out:
	free(l);
	free(buf);
	return err;
}

/*
 * jnl_replay - apply a committed transaction found in the journal.
 * Returns 1 if one was found (and, unless @check_only, replayed), 0 if the
 * journal is empty, -EINVAL if its records are bad or would land out of
 * place (nothing is applied then).
 */
int jnl_replay(struct daxfs *fs, bool check_only)
{
	struct daxfs_jheader h;
	const uint8_t *jbase = dx_ptr(fs, blk_to_off(fs->journal_blk + 1));
	uint64_t len, pos = 0;
	int err;

	memcpy(&h, dx_ptr(fs, blk_to_off(fs->journal_blk)), sizeof(h));
	fs->seq = le64_to_cpu(h.seq);
	if (le64_to_cpu(h.magic) != DAXFS_JNL_MAGIC)
		return 0;
	if (le32_to_cpu(h.crc) != daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)))
		return 0;
	if (le32_to_cpu(h.state) != DAXFS_JNL_COMMITTED)
		return 0;
	len = le64_to_cpu(h.len);
	if (len > blk_to_off(fs->journal_nblks - 1) ||
	    daxfs_crc32c(0, jbase, len) != le32_to_cpu(h.crc_records))
		return pmd_err(-EINVAL, "journal: committed transaction %llu has bad records",
			       (unsigned long long)le64_to_cpu(h.seq));
	err = check_landings(fs, jbase, len);
	if (err)
		return err;
	if (check_only)
		return 1;
	while (pos < len) {
		struct daxfs_jrec rec;
		uint64_t off;
		uint32_t rlen;

		memcpy(&rec, jbase + pos, sizeof(rec));
		off = le64_to_cpu(rec.off);
		rlen = le32_to_cpu(rec.len);
		memcpy(dx_ptr(fs, off), jbase + pos + sizeof(rec), rlen);
		pmr_flush(fs->r, dx_ptr(fs, off), rlen);
		pos += sizeof(rec) + rlen;
	}

	struct daxfs_jheader *jh = dx_ptr(fs, blk_to_off(fs->journal_blk));

	pmr_drain(fs->r);
	h.state = cpu_to_le32(DAXFS_JNL_EMPTY);
	h.crc = 0;
	h.crc = cpu_to_le32(daxfs_csum(&h, sizeof(h), offsetof(struct daxfs_jheader, crc)));
	memcpy(jh, &h, sizeof(h));
	pmr_persist(fs->r, jh, sizeof(h));
	return 1;
}
