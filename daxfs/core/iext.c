/* SPDX-License-Identifier: MIT */
/*
 * iext.c - the inode extension table: one name per inode (the directory
 * and the name of a link), kept up to date by the namespace operations in
 * their own transactions, so fsck can reconnect a file whose directory
 * entry was lost under its own name instead of "#ino" in /lost+found.
 * See struct daxfs_iext in format.h. Without the IEXT feature (version 1
 * images) every function here does nothing.
 */
#include <errno.h>
#include <string.h>

#include "core.h"

uint64_t iext_off(struct daxfs *fs, uint64_t ino)
{
	uint64_t n = ino - 1;

	return blk_to_off(fs->iext_blk + n / DAXFS_IEXT_PER_BLOCK) +
	       n % DAXFS_IEXT_PER_BLOCK * DAXFS_IEXT_SIZE;
}

uint32_t iext_csum(uint64_t ino, const struct daxfs_iext *x)
{
	le64 n = cpu_to_le64(ino);
	uint32_t crc = daxfs_crc32c(0, &n, sizeof(n));
	struct daxfs_iext tmp = *x;

	tmp.crc = 0;
	return daxfs_crc32c(crc, &tmp, sizeof(tmp));
}

void iext_set(struct daxfs *fs, uint64_t ino, uint64_t parent, const char *name, size_t len)
{
	struct daxfs_iext *x;

	if (!fs->iext_nblks || !ino_valid(fs, ino))
		return;
	x = tx_write(fs, iext_off(fs, ino), sizeof(*x));
	memset(x, 0, sizeof(*x));
	x->parent = cpu_to_le64(parent);
	x->namelen = (uint8_t)len;
	memcpy(x->name, name, len);
	x->crc = cpu_to_le32(iext_csum(ino, x));
}

void iext_forget(struct daxfs *fs, uint64_t ino, uint64_t parent, const char *name, size_t len)
{
	const struct daxfs_iext *x;

	if (!fs->iext_nblks || !ino_valid(fs, ino))
		return;
	x = tx_read_len(fs, iext_off(fs, ino), sizeof(*x));
	if (le64_to_cpu(x->parent) != parent || x->namelen != len || memcmp(x->name, name, len))
		return;
	memset(tx_write(fs, iext_off(fs, ino), sizeof(*x)), 0, sizeof(*x));
}

bool iext_empty(const struct daxfs_iext *x)
{
	static const struct daxfs_iext zero;

	return !memcmp(x, &zero, sizeof(zero));
}

int iext_get(struct daxfs *fs, uint64_t ino, uint64_t *parent, char *name, size_t *len)
{
	struct daxfs_iext x;

	if (!fs->iext_nblks || !ino_valid(fs, ino))
		return -ENOENT;
	memcpy(&x, tx_read_len(fs, iext_off(fs, ino), sizeof(x)), sizeof(x));
	if (iext_empty(&x))
		return -ENOENT;
	if (le32_to_cpu(x.crc) != iext_csum(ino, &x) || !x.parent || !x.namelen || x.flags ||
	    x.pad || !ino_valid(fs, le64_to_cpu(x.parent)))
		return -EIO;
	*parent = le64_to_cpu(x.parent);
	*len = x.namelen;
	memcpy(name, x.name, x.namelen);
	name[x.namelen] = '\0';
	return 0;
}
