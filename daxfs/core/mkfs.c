/* SPDX-License-Identifier: MIT */
/*
 * mkfs.c - write an empty daxfs over a region.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

#define MAX_DEFAULT_INODES (UINT64_C(1) << 22)

static void fill_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n <= 0) {
			/* no entropy source: time and pid are enough for a uuid */
			uint64_t v = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);

			for (; len; len--, p++, v = v * 6364136223846793005ULL + 1)
				*p = (uint8_t)(v >> 56);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/* zero [off, off+len) durably, reporting progress for big ranges */
static void zero_range(struct pmr_region *r, uint64_t off, uint64_t len, bool progress,
		       const char *what)
{
	uint8_t *base = (uint8_t *)pmr_addr(r) + off;
	bool tty = progress && isatty(2) && len >= 64 * MiB;
	uint64_t step = 16 * MiB;

	for (uint64_t done = 0; done < len; done += step) {
		uint64_t n = len - done < step ? len - done : step;

		pmr_memset(r, base + done, 0, n, PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
		if (tty)
			fprintf(stderr, "\rmkfs.daxfs: zeroing %s: %3u%%", what,
				(unsigned)((done + n) * 100 / len));
	}
	pmr_drain(r);
	if (tty)
		fputc('\n', stderr);
}

uint64_t daxfs_first_bad(const struct daxfs_badblocks *bad, uint64_t blk, uint64_t n)
{
	if (!bad || !bad->check || !bad->check(bad->ctx, blk_to_off(blk), blk_to_off(n)))
		return UINT64_MAX;
	/* halve the range until one block is left */
	while (n > 1) {
		uint64_t h = n / 2;

		if (bad->check(bad->ctx, blk_to_off(blk), blk_to_off(h))) {
			n = h;
		} else {
			blk += h;
			n -= h;
		}
	}
	return blk;
}

/*
 * place_meta - the first block >= 2 where @meta blocks of fixed metadata
 * (and 16 data blocks after them) fit clear of bad sectors; UINT64_MAX if
 * none in a region of @tb blocks.
 */
static uint64_t place_meta(const struct daxfs_badblocks *bad, uint64_t meta, uint64_t tb)
{
	uint64_t start = 2, b;

	while (start + meta + 16 <= tb) {
		b = daxfs_first_bad(bad, start, meta);
		if (b == UINT64_MAX)
			return start;
		start = b + 1;
	}
	return UINT64_MAX;
}

int daxfs_mkfs_check_opts(const struct daxfs_mkfs_opts *opts)
{
	uint64_t j = opts->journal_bytes;
	char a[24], b[24], c[24];

	if (opts->label && strlen(opts->label) > DAXFS_LABEL_MAX)
		return pmd_err(-EINVAL, "label \"%s\" is longer than %d bytes", opts->label,
			       (int)DAXFS_LABEL_MAX);
	if (j && (j < DAXFS_JOURNAL_MIN || j > DAXFS_JOURNAL_MAX))
		return pmd_err(-EINVAL, "journal size %s is out of range (%s to %s)",
			       pmd_size_hint(j, a, sizeof(a)),
			       pmd_size_hint(DAXFS_JOURNAL_MIN, b, sizeof(b)),
			       pmd_size_hint(DAXFS_JOURNAL_MAX, c, sizeof(c)));
	if (j && !is_aligned(j, BLK_SIZE))
		return pmd_err(-EINVAL,
			       "journal size %s is not a multiple of the 4 KiB block (%s or %s "
			       "would be)",
			       pmd_size_hint(j, a, sizeof(a)),
			       pmd_size_hint(align_down(j, BLK_SIZE), b, sizeof(b)),
			       pmd_size_hint(align_up(j, BLK_SIZE), c, sizeof(c)));
	if (opts->inodes > DAXFS_INODES_MAX)
		return pmd_err(-EINVAL, "inode count %llu is more than a daxfs holds (2^32)",
			       (unsigned long long)opts->inodes);
	return 0;
}

int daxfs_mkfs(struct pmr_region *r, const struct daxfs_mkfs_opts *opts)
{
	uint64_t size = pmr_size(r), tb = size / BLK_SIZE;
	uint64_t jbytes = opts->journal_bytes, inodes = opts->inodes;
	unsigned version = opts->version ? opts->version : DAXFS_VERSION;
	uint64_t jn, in, bn, xn, db, jb, bad0;
	uint8_t *base = pmr_addr(r);
	struct daxfs_dsuper sb;
	struct daxfs_dinode root;
	struct pmr_info info;
	char buf[32];
	int err;

	pmr_get_info(r, &info);
	err = pmr_check_size(info.path, size);
	if (err)
		return err;
	err = daxfs_mkfs_check_opts(opts);
	if (err)
		return err;
	if (version < DAXFS_VERSION_MIN || version > DAXFS_VERSION)
		return pmd_err(-EINVAL, "format version %u: this mkfs writes versions %u .. %u",
			       opts->version, DAXFS_VERSION_MIN, DAXFS_VERSION);
	if (!jbytes) {
		jbytes = size / 64;
		if (jbytes < 256 * KiB)
			jbytes = 256 * KiB;
		if (jbytes > 16 * MiB)
			jbytes = 16 * MiB;
		jbytes = align_down(jbytes, BLK_SIZE);
	}
	jn = jbytes / BLK_SIZE;
	if (!inodes) {
		inodes = size / (16 * KiB);
		if (inodes > MAX_DEFAULT_INODES)
			inodes = MAX_DEFAULT_INODES;
	}
	inodes = align_up(inodes, DAXFS_INODES_PER_BLOCK);
	in = inodes / DAXFS_INODES_PER_BLOCK;
	bn = (tb + BLK_SIZE * 8 - 1) / (BLK_SIZE * 8);
	/* version 2: the inode extension table follows the bitmap */
	xn = version >= 2 ? (inodes + DAXFS_IEXT_PER_BLOCK - 1) / DAXFS_IEXT_PER_BLOCK : 0;
	db = 2 + jn + in + bn + xn;
	if (db + 16 > tb)
		return pmd_err(-EINVAL,
			       "region of %s is too small for %llu inodes and a %llu KiB journal",
			       format_size(size, buf, sizeof(buf)), (unsigned long long)inodes,
			       (unsigned long long)(jn * 4));
	pmr_get_info(r, &info);
	bad0 = daxfs_first_bad(opts->bad, 0, 2);
	if (bad0 != UINT64_MAX)
		return pmd_err(-EIO,
			       "block %llu (sectors %llu..%llu) has bad sectors, and the "
			       "superblocks live in the first 8 KiB: clear them if the media is "
			       "sound (pmemdev badblocks %s clear %llu 8), or use another region",
			       (unsigned long long)bad0, (unsigned long long)bad0 * 8,
			       (unsigned long long)bad0 * 8 + 7, info.path,
			       (unsigned long long)bad0 * 8);
	/* the journal, inode table and bitmap, clear of bad sectors */
	jb = place_meta(opts->bad, jn + in + bn + xn, tb);
	if (jb == UINT64_MAX)
		return pmd_err(-EIO,
			       "no run of %llu blocks clear of bad sectors for the journal, inode "
			       "table and bitmap: clear the bad sectors (pmemdev badblocks %s "
			       "list), or ask for fewer inodes or a smaller journal",
			       (unsigned long long)(jn + in + bn + xn), info.path);
	db = jb + jn + in + bn + xn;

	/* 1. invalidate any old superblock first, then lay out the metadata */
	pmr_memset(r, base, 0, 2 * BLK_SIZE, 0);
	zero_range(r, blk_to_off(jb), blk_to_off(jn + in + bn + xn), opts->progress, "metadata");

	/* 2. bitmap: the fixed metadata (and blocks skipped before it) is in use */
	uint8_t *bm = base + blk_to_off(jb + jn + in);

	for (uint64_t b = 0; b < db; b++)
		bm[b / 8] |= (uint8_t)(1U << (b % 8));
	pmr_persist(r, bm, (size_t)(db + 7) / 8);

	/* 3. root directory */
	int64_t now = now_ns();

	memset(&root, 0, sizeof(root));
	root.mode = cpu_to_le32(S_IFDIR | 0755);
	root.nlink = cpu_to_le32(2);
	root.uid = cpu_to_le32((uint32_t)getuid());
	root.gid = cpu_to_le32((uint32_t)getgid());
	root.generation = cpu_to_le64(1);
	root.atime = root.mtime = root.ctime = root.btime = cpu_to_le64((uint64_t)now);
	root.parent = cpu_to_le64(DAXFS_ROOT_INO);
	/* version 3: inode checksums seeded with the inode number (ICSUM) */
	root.crc = cpu_to_le32(di_csum(version >= 3, DAXFS_ROOT_INO, &root));
	pmr_memcpy(r, base + blk_to_off(jb + jn), &root, sizeof(root), 0);

	/* 4. superblock last: backup, then primary */
	memset(&sb, 0, sizeof(sb));
	sb.magic = cpu_to_le64(DAXFS_MAGIC);
	sb.version = cpu_to_le32(version);
	sb.block_size = cpu_to_le32(BLK_SIZE);
	if (opts->uuid)
		memcpy(sb.uuid, opts->uuid, sizeof(sb.uuid));
	else
		fill_random(sb.uuid, sizeof(sb.uuid));
	if (opts->label)
		memcpy(sb.label, opts->label, strlen(opts->label));
	sb.region_size = cpu_to_le64(size);
	sb.total_blocks = cpu_to_le64(tb);
	sb.journal_blk = cpu_to_le64(jb);
	sb.journal_nblks = cpu_to_le64(jn);
	sb.itable_blk = cpu_to_le64(jb + jn);
	sb.itable_nblks = cpu_to_le64(in);
	sb.inode_count = cpu_to_le64(inodes);
	sb.bitmap_blk = cpu_to_le64(jb + jn + in);
	sb.bitmap_nblks = cpu_to_le64(bn);
	sb.data_blk = cpu_to_le64(db);
	if (xn) {
		sb.feat_incompat = cpu_to_le32(DAXFS_FEAT_INCOMPAT_IEXT |
					       (version >= 3 ? DAXFS_FEAT_INCOMPAT_ICSUM : 0));
		sb.iext_blk = cpu_to_le64(jb + jn + in + bn);
		sb.iext_nblks = cpu_to_le64(xn);
	}
	sb.root_ino = cpu_to_le64(DAXFS_ROOT_INO);
	fill_random(&sb.hash_seed, sizeof(sb.hash_seed));
	sb.mkfs_time = cpu_to_le64((uint64_t)now);
	sb.state = cpu_to_le32(DAXFS_STATE_CLEAN);
	super_seal(&sb);
	pmr_memcpy(r, base + BLK_SIZE, &sb, sizeof(sb), 0);
	pmr_memcpy(r, base, &sb, sizeof(sb), 0);
	if (opts->layout)
		*opts->layout = (struct daxfs_mkfs_layout){jb, jn + in + bn + xn, jb - 2};
	return 0;
}
