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
static bool block_sound(const struct daxfs *fs, uint64_t blk, const uint8_t *b, uint64_t lines)
{
	const unsigned per_inode = DAXFS_INODE_SIZE / LINE_SIZE;

	switch (area_of(fs, blk)) {
	case AREA_SUPER:
		/* beyond the superblock the block is unused */
		return !(lines & ((1ULL << (DAXFS_SUPER_SIZE / LINE_SIZE)) - 1)) ||
		       le32_to_cpu(((const struct daxfs_dsuper *)b)->crc) ==
			       daxfs_csum(b, DAXFS_SUPER_SIZE, offsetof(struct daxfs_dsuper, crc));
	case AREA_ITABLE:
		for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++)
			if (((lines >> (j * per_inode)) & ((1ULL << per_inode) - 1)) &&
			    !home_inode_ok((const void *)(b + j * DAXFS_INODE_SIZE)))
				return false;
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

/*
 * owner_ok - inode @ino as replay would leave it (@di) points at blocks
 * whose header names their owner: a sound one naming another inode means
 * the record that wrote @di landed in the wrong slot (a whole inode moved
 * keeps its own checksum). A block that fails its checksum is not judged
 * here: that is damage of its own, for the read that meets it.
 */
static bool owner_ok(struct daxfs *fs, const uint8_t *jbase, const struct landing *l, size_t count,
		     uint64_t ino, const struct daxfs_dinode *di, uint8_t *buf)
{
	uint32_t fmt = le32_to_cpu(di->mode) & S_IFMT;
	uint64_t ptr[2] = {le64_to_cpu(di->xattr_blk), 0};

	if (fmt == S_IFDIR)
		ptr[1] = le64_to_cpu(di->dir.root);
	else if (fmt == S_IFREG)
		ptr[1] = le64_to_cpu(di->file.ext_next);
	for (unsigned k = 0; k < 2; k++) {
		const struct daxfs_blkhdr *h = (const void *)buf;
		size_t n, end;

		if (!dx_in_data(fs, ptr[k], 1))
			continue;
		if (find_block(l, count, ptr[k], &n, &end))
			compose(fs, jbase, l, n, end, buf);
		else
			memcpy(buf, dx_ptr(fs, blk_to_off(ptr[k])), BLK_SIZE);
		if (home_blk_ok(buf) && le64_to_cpu(h->ino) != ino)
			return false;
	}
	return true;
}

/*
 * check_block - the records @l[n..end) of one block leave it sound, and
 * each inode they write owns the blocks it points at. @buf, @buf2: 4 KiB.
 */
static int check_block(struct daxfs *fs, const uint8_t *jbase, const struct landing *l,
		       size_t count, size_t n, size_t end, uint8_t *buf, uint8_t *buf2)
{
	const unsigned per_inode = DAXFS_INODE_SIZE / LINE_SIZE;
	uint64_t blk = l[n].blk, lines = compose(fs, jbase, l, n, end, buf);

	if (!block_sound(fs, blk, buf, lines))
		return pmd_err(
			-EINVAL,
			"journal: record at %llu would leave block %llu failing its checksum "
			"(a record's offset is wrong)",
			(unsigned long long)l[n].pos, (unsigned long long)blk);
	if (area_of(fs, blk) != AREA_ITABLE)
		return 0;
	for (unsigned j = 0; j < DAXFS_INODES_PER_BLOCK; j++) {
		const struct daxfs_dinode *di = (const void *)(buf + j * DAXFS_INODE_SIZE);
		uint64_t ino = (blk - fs->itable_blk) * DAXFS_INODES_PER_BLOCK + j + 1;

		if (!((lines >> (j * per_inode)) & ((1ULL << per_inode) - 1)) || !di->mode)
			continue;
		if (!owner_ok(fs, jbase, l, count, ino, di, buf2))
			return pmd_err(
				-EINVAL,
				"journal: record at %llu writes into inode %llu an inode "
				"whose blocks name another owner (a record's offset is wrong)",
				(unsigned long long)l[n].pos, (unsigned long long)ino);
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
	for (size_t k = 0, end; k < n && !err; k = end) {
		for (end = k + 1; end < n && l[end].blk == l[k].blk; end++)
			;
		err = check_block(fs, jbase, l, n, k, end, buf, buf + BLK_SIZE);
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
