/* SPDX-License-Identifier: MIT */
/*
 * file.c - file data: read, write, truncate, fallocate, SEEK_DATA/HOLE,
 * block mapping, pins, setattr.
 *
 * Invariant: the bytes of allocated blocks past the file size are zero, so
 * extending a file never exposes old data. New blocks are zeroed (where the
 * caller does not overwrite them) and persisted before the transaction that
 * maps them commits ("ordered" data).
 *
 * Allocation (see alloc.c): once a file reaches 2 MiB, its blocks go to the
 * places of 2 MiB-aligned chunks that match their file offsets: a write
 * that covers whole 2 MiB windows of the file gets whole chunks, a smaller
 * one only the blocks it writes, in a chunk reserved for that window, so
 * file offset and region offset agree modulo 2 MiB (DAX mappings can use
 * PMDs once a window is full) and a sparse file costs what it wrote.
 * Smaller files get 4 KiB blocks packed into partly used chunks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"
#include "region.h"
#include "units.h"

#define WIN_BLKS CHUNK_BLKS
#define MAX_LBLK (DAXFS_FILE_SIZE_MAX >> BLK_SHIFT)
#define PIECE_BLKS (16384U) /* blocks per transaction in big writes (64 MiB) */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* file_size - bytes in the (checked) regular file @ino, or -errno */
static int file_size(struct daxfs *fs, uint64_t ino, uint64_t *size)
{
	const struct daxfs_dinode *di;
	int err = di_get(fs, ino, &di);

	if (!err)
		*size = le64_to_cpu(di->size);
	return err;
}

/*
 * check_flags - -EPERM if @ino has any of the user flags @forbid
 * (DAXFS_IF_IMMUTABLE, DAXFS_IF_APPEND), else 0 or the error of di_get()
 */
static int check_flags(struct daxfs *fs, uint64_t ino, uint32_t forbid)
{
	const struct daxfs_dinode *di;
	int err = di_get(fs, ino, &di);
	uint32_t f;

	if (err)
		return err;
	f = le32_to_cpu(di->flags) & forbid;
	if (f)
		return pmd_err(-EPERM, "inode %llu is %s", (unsigned long long)ino,
			       (f & DAXFS_IF_IMMUTABLE) ? "immutable" : "append-only");
	return 0;
}

/* file_get - in-memory inode of the regular file @ino (checked), or -errno */
static int file_get(struct daxfs *fs, uint64_t ino, struct dxi **out)
{
	const struct daxfs_dinode *di;
	uint32_t mode;
	int err = di_get(fs, ino, &di);

	if (err)
		return err;
	mode = le32_to_cpu(di->mode);
	if (S_ISDIR(mode))
		return -EISDIR;
	if (!S_ISREG(mode))
		return -EINVAL;
	*out = dxi_get(fs, ino);
	return *out ? 0 : -ENOMEM;
}

/* lock @i shared with its extent map loaded */
static int lock_shared(struct daxfs *fs, struct dxi *i)
{
	for (;;) {
		pthread_rwlock_rdlock(&i->rw);
		if (i->ext_loaded)
			return 0;
		pthread_rwlock_unlock(&i->rw);
		pthread_rwlock_wrlock(&i->rw);
		int err = ext_load(fs, i);

		pthread_rwlock_unlock(&i->rw);
		if (err)
			return err;
	}
}

static int lock_excl(struct daxfs *fs, struct dxi *i)
{
	int err;

	pthread_rwlock_wrlock(&i->rw);
	err = ext_load(fs, i);
	if (err)
		pthread_rwlock_unlock(&i->rw);
	return err;
}

/*
 * file_lock - file_get() @ino, then lock it exclusive (@excl) or shared with
 * its extent map loaded. On success the caller ends with file_unlock().
 */
int file_lock(struct daxfs *fs, uint64_t ino, bool excl, struct dxi **out)
{
	int err = file_get(fs, ino, out);

	if (err)
		return err;
	err = excl ? lock_excl(fs, *out) : lock_shared(fs, *out);
	if (err)
		dxi_put(fs, *out);
	return err;
}

void file_unlock(struct daxfs *fs, struct dxi *i)
{
	pthread_rwlock_unlock(&i->rw);
	dxi_put(fs, i);
}

/* index of the first extent ending after @lblk */
size_t ext_find(struct dxi *i, uint64_t lblk)
{
	size_t lo = 0, hi = i->next;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (i->ext[mid].lblk + i->ext[mid].len <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the run at @lblk: *pblk = region block or DAXFS_HOLE; returns blocks */
uint64_t map_run(struct dxi *i, uint64_t lblk, uint64_t max, uint64_t *pblk)
{
	size_t k = ext_find(i, lblk);

	if (k < i->next && i->ext[k].lblk <= lblk) {
		uint64_t n = i->ext[k].lblk + i->ext[k].len - lblk;

		*pblk = i->ext[k].pblk + (lblk - i->ext[k].lblk);
		return n < max ? n : max;
	}
	*pblk = DAXFS_HOLE;
	if (k < i->next && i->ext[k].lblk - lblk < max)
		return i->ext[k].lblk - lblk;
	return max;
}

int ext_insert(struct dxi *i, uint64_t lblk, uint64_t len, uint64_t pblk)
{
	size_t k = ext_find(i, lblk);

	if (k > 0) {
		struct dx_ext *p = &i->ext[k - 1];

		if (p->lblk + p->len == lblk && p->pblk + p->len == pblk &&
		    p->len + len <= UINT32_MAX) {
			p->len += len;
			if (k < i->next && i->ext[k].lblk == lblk + len &&
			    i->ext[k].pblk == pblk + len) {
				p->len += i->ext[k].len;
				memmove(&i->ext[k], &i->ext[k + 1], (i->next - k - 1) * sizeof(*p));
				i->next--;
			}
			return 0;
		}
	}
	if (k < i->next && i->ext[k].lblk == lblk + len && i->ext[k].pblk == pblk + len) {
		i->ext[k].lblk = lblk;
		i->ext[k].pblk = pblk;
		i->ext[k].len += len;
		return 0;
	}
	int err = ext_reserve(i, i->next + 1);

	if (err)
		return err;
	memmove(&i->ext[k + 1], &i->ext[k], (i->next - k) * sizeof(*i->ext));
	i->ext[k] = (struct dx_ext){lblk, len, pblk};
	i->next++;
	return 0;
}

/*
 * populate - map the pages of @len bytes of new blocks at @p in one system
 * call before the data path stores into them: on a sparse (tmpfs or file)
 * region every first store to a 4 KiB page faults, and on a virtual machine
 * 256 faults cost far more than copying 1 MiB. A hint: a kernel or region
 * that cannot populate (an error) only loses the speed-up.
 */
static void populate(void *p, uint64_t len)
{
	(void)madvise(p, len, MADV_POPULATE_WRITE);
}

/*
 * zero_new - zero the parts of new blocks [lblk, +n) at @pblk outside
 * [cs, ce) bytes (the caller's copy covers those), after mapping them all.
 */
static void zero_new(struct daxfs *fs, uint64_t lblk, uint64_t n, uint64_t pblk, uint64_t cs,
		     uint64_t ce)
{
	uint64_t s = blk_to_off(lblk), e = blk_to_off(lblk + n);
	uint8_t *base = dx_ptr(fs, blk_to_off(pblk));

	populate(base, e - s);
	if (ce <= s || cs >= e) {
		pmr_memset(fs->r, base, 0, e - s, PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
		return;
	}
	if (cs > s)
		pmr_memset(fs->r, base, 0, cs - s, PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
	if (ce < e)
		pmr_memset(fs->r, base + (ce - s), 0, e - ce,
			   PMR_MEM_NODRAIN | PMR_MEM_NONTEMPORAL);
}

/*
 * window_chunk - the chunk in which @i has blocks of window @win at their
 * aligned places (region block % 512 == file block % 512), or UINT64_MAX.
 */
static uint64_t window_chunk(struct dxi *i, uint64_t win)
{
	for (size_t k = ext_find(i, win); k < i->next && i->ext[k].lblk < win + WIN_BLKS; k++) {
		const struct dx_ext *e = &i->ext[k];
		uint64_t l = e->lblk > win ? e->lblk : win, p = e->pblk + (l - e->lblk);

		if (p % WIN_BLKS == l % WIN_BLKS)
			return p / WIN_BLKS;
	}
	return UINT64_MAX;
}

/* window_is_hole - no block of window @win of @i is allocated */
static bool window_is_hole(struct dxi *i, uint64_t win)
{
	uint64_t pb;

	return map_run(i, win, WIN_BLKS, &pb) == WIN_BLKS && pb == DAXFS_HOLE;
}

/*
 * alloc_whole_windows - the hole at @pos starts whole windows that
 * [@pos, @end) covers completely: give them whole aligned chunks (up to 64
 * windows in one go), continuing the previous extent's chunks if it ends
 * aligned. Returns 0 with *@r, or -ENOSPC (no whole window, or no free
 * chunk) for the caller to fall back.
 */
static int alloc_whole_windows(struct daxfs *fs, struct dxi *i, uint64_t pos, uint64_t end,
			       struct dx_range *r)
{
	uint64_t wins = 0, goal = 0;
	size_t k = ext_find(i, pos);

	if (pos % WIN_BLKS)
		return -ENOSPC;
	while (pos + (wins + 1) * WIN_BLKS <= end && wins < 64 &&
	       window_is_hole(i, pos + wins * WIN_BLKS))
		wins++;
	if (!wins)
		return -ENOSPC;
	if (k > 0) {
		struct dx_ext *p = &i->ext[k - 1];

		if ((p->lblk + p->len) % WIN_BLKS == 0 && (p->pblk + p->len) % WIN_BLKS == 0)
			goal = p->pblk + p->len + (pos - (p->lblk + p->len));
	}
	return alloc_blocks(fs, wins * WIN_BLKS, true, goal, r);
}

/*
 * alloc_in_window - the hole [@pos, +@run) of a large file, inside one
 * window: at the aligned places of the chunk the window already uses or,
 * if the window is still empty, of a chunk reserved for it (see alloc.c).
 * Returns 0 with *@r, or -ENOSPC for the caller to fall back to small blocks.
 */
static int alloc_in_window(struct daxfs *fs, struct dxi *i, uint64_t pos, uint64_t run,
			   struct dx_range *r)
{
	uint64_t win = pos - pos % WIN_BLKS, c = window_chunk(i, win), goal = UINT64_MAX;

	if (run > win + WIN_BLKS - pos)
		run = win + WIN_BLKS - pos;
	if (c == UINT64_MAX) {
		if (!window_is_hole(i, win))
			return -ENOSPC; /* small blocks there already */
		/* next to the previous window's chunk, so extents join */
		if (win && (goal = window_chunk(i, win - WIN_BLKS)) != UINT64_MAX)
			goal++;
	}
	return alloc_aligned(fs, i->ino, c, goal, pos, run, r);
}

/*
 * alloc_range - allocate the holes of file blocks [lblk, lblk+n) of @i in
 * the running transaction; new bytes outside [cs, ce) are zeroed. @big:
 * the file is (or becomes) at least 2 MiB: its blocks go to their aligned
 * places in 2 MiB chunks (whole chunks for whole windows, else blocks of a
 * chunk reserved for the window), so file offset and region offset agree
 * modulo 2 MiB and DAX mappings can use PMDs once a window is full. Stops
 * early on -ENOSPC with *@got = blocks from @lblk that are now mapped
 * contiguously in the file.
 */
static int alloc_range(struct daxfs *fs, struct dxi *i, uint64_t lblk, uint64_t n, bool big,
		       uint64_t cs, uint64_t ce, uint64_t *got)
{
	uint64_t pos = lblk, end = lblk + n;
	int64_t added = 0;
	int err = 0;

	while (pos < end) {
		uint64_t pb, run = map_run(i, pos, end - pos, &pb);
		struct dx_range r;

		if (pb != DAXFS_HOLE) {
			pos += run;
			continue;
		}
		err = -ENOSPC;
		if (big) {
			err = alloc_whole_windows(fs, i, pos, end, &r);
			if (err == -ENOSPC)
				err = alloc_in_window(fs, i, pos, run, &r);
			if (err && err != -ENOSPC)
				break;
		}
		if (err) {
			/* small blocks, continuing the previous extent if possible */
			uint64_t goal = 0;
			size_t k = ext_find(i, pos);

			if (k > 0 && i->ext[k - 1].lblk + i->ext[k - 1].len == pos)
				goal = i->ext[k - 1].pblk + i->ext[k - 1].len;
			err = alloc_blocks(fs, run, false, goal, &r);
			if (err)
				break;
		}
		zero_new(fs, pos, r.len, r.pblk, cs, ce);
		err = ext_insert(i, pos, r.len, r.pblk);
		if (err)
			break;
		owner_note_alloc(fs, i, pos, r.len, r.pblk);
		added += (int64_t)r.len;
		pos += r.len;
	}
	if (added) {
		struct daxfs_dinode *di = di_write(fs, i->ino);

		di->blocks = cpu_to_le64(le64_to_cpu(di->blocks) + (uint64_t)added);
	}
	if (got) {
		uint64_t p = lblk, pb;

		while (p < end) {
			uint64_t r = map_run(i, p, end - p, &pb);

			if (pb == DAXFS_HOLE)
				break;
			p += r;
		}
		*got = p - lblk;
	}
	if (err == -ENOSPC && got && *got)
		err = 0;
	return err;
}

/* forget the in-memory extent map of @i and read it again from the media */
static void ext_reload(struct daxfs *fs, struct dxi *i)
{
	ext_unload(i);
	ext_load(fs, i);
}

/*
 * alloc_begin - take fs->lock, begin a transaction, alloc_range() and store
 * the extent map in it. On success the lock and the transaction stay open
 * for alloc_end(); on error the transaction is aborted, the extent map
 * reloaded and the lock dropped.
 */
static int alloc_begin(struct daxfs *fs, struct dxi *i, uint64_t lblk, uint64_t n, bool big,
		       uint64_t cs, uint64_t ce, uint64_t *got, const uint64_t *resv)
{
	int err;

	dx_lock(fs);
	fs->credit = resv ? *resv : 0;
	fs->credit_used = 0;
	tx_begin(fs);
	err = alloc_range(fs, i, lblk, n, big, cs, ce, got);
	if (!err)
		err = ext_store(fs, i);
	if (err) {
		tx_abort(fs);
		ext_reload(fs, i);
		fs->credit = 0;
		dx_unlock(fs);
	}
	return err;
}

/*
 * alloc_end - commit what alloc_begin() opened and drop fs->lock; the
 * reserved blocks the allocation used are no longer reserved, and *@resv
 * (NULL: none) is lowered by them
 */
static int alloc_end(struct daxfs *fs, struct dxi *i, uint64_t *resv)
{
	int err = tx_commit(fs);

	if (err) {
		ext_reload(fs, i);
	} else {
		fs->resv_blocks -= fs->credit_used;
		if (resv)
			*resv -= fs->credit_used;
	}
	fs->credit = 0;
	dx_unlock(fs);
	return err;
}

static void copy_out(struct daxfs *fs, struct dxi *i, uint64_t off, size_t len, uint8_t *buf)
{
	while (len) {
		uint64_t lblk = off_to_blk(off), in = off & (BLK_SIZE - 1), pb;
		uint64_t run = map_run(i, lblk, (in + len + BLK_SIZE - 1) / BLK_SIZE, &pb);
		size_t n = (size_t)(blk_to_off(run) - in);

		if (n > len)
			n = len;
		if (pb == DAXFS_HOLE)
			memset(buf, 0, n);
		else
			memcpy(buf, dx_ptr(fs, blk_to_off(pb) + in), n);
		buf += n;
		off += n;
		len -= n;
	}
}

/* copy into mapped blocks; returns bytes copied (stops at a hole) */
static size_t copy_in(struct daxfs *fs, struct dxi *i, uint64_t off, size_t len, const uint8_t *buf)
{
	size_t done = 0;

	while (len) {
		uint64_t lblk = off_to_blk(off), in = off & (BLK_SIZE - 1), pb;
		uint64_t run = map_run(i, lblk, (in + len + BLK_SIZE - 1) / BLK_SIZE, &pb);
		size_t n = (size_t)(blk_to_off(run) - in);

		if (pb == DAXFS_HOLE)
			break;
		if (n > len)
			n = len;
		pmr_memcpy(fs->r, dx_ptr(fs, blk_to_off(pb) + in), buf, n, PMR_MEM_NODRAIN);
		buf += n;
		off += n;
		len -= n;
		done += n;
	}
	return done;
}

/*
 * zero_gap - zero the mapped bytes of [@from, @to) (holes already read as
 * zero). Used for FALLOC_FL_ZERO_RANGE and before the size moves past a
 * range: normally those bytes are zero already (see the invariant above), but
 * a crash during a truncate can leave old data past the end of file.
 * Not drained: the caller drains before its commit.
 */
static void zero_gap(struct daxfs *fs, struct dxi *i, uint64_t from, uint64_t to)
{
	while (from < to) {
		uint64_t b = off_to_blk(from), pb;
		uint64_t run = map_run(i, b, off_to_blk(to + BLK_SIZE - 1) - b, &pb);
		uint64_t re = blk_to_off(b + run) < to ? blk_to_off(b + run) : to;

		if (pb != DAXFS_HOLE)
			pmr_memset(fs->r, dx_ptr(fs, blk_to_off(pb) + (from & (BLK_SIZE - 1))), 0,
				   re - from, PMR_MEM_NODRAIN);
		from = re;
	}
}

int daxfs_read(struct daxfs *fs, uint64_t ino, uint64_t off, size_t len, void *buf, size_t *done)
{
	struct dxi *i;
	uint64_t size;
	int err = file_lock(fs, ino, false, &i);

	*done = 0;
	if (err)
		return err;
	err = file_size(fs, ino, &size);
	if (!err && off < size) {
		if (len > size - off)
			len = (size_t)(size - off);
		copy_out(fs, i, off, len, buf);
		*done = len;
	}
	file_unlock(fs, i);
	return err;
}

/* set size (if @new_size is bigger, or always if @exact) and times, in the tx */
static void set_size_times(struct daxfs *fs, uint64_t ino, uint64_t new_size, bool exact)
{
	const struct daxfs_dinode *rd = di_read(fs, ino);
	struct daxfs_dinode *di;

	di = di_write(fs, ino);
	if (exact || new_size > le64_to_cpu(rd->size))
		di->size = cpu_to_le64(new_size);
	di_touch(fs, di, TOUCH_M | TOUCH_C);
}

/* commit_size - drain the data written, then set_size_times() in a transaction */
static int commit_size(struct daxfs *fs, uint64_t ino, uint64_t new_size)
{
	int err;

	pmr_drain(fs->r);
	dx_lock(fs);
	tx_begin(fs);
	set_size_times(fs, ino, new_size, false);
	err = tx_commit(fs);
	dx_unlock(fs);
	return err;
}

static bool range_mapped(struct dxi *i, uint64_t lblk, uint64_t n)
{
	while (n) {
		uint64_t pb, r = map_run(i, lblk, n, &pb);

		if (pb == DAXFS_HOLE)
			return false;
		lblk += r;
		n -= r;
	}
	return true;
}

int daxfs_write(struct daxfs *fs, uint64_t ino, uint64_t off, size_t len, const void *buf,
		size_t *done)
{
	const uint8_t *src = buf;
	struct dxi *i;
	int err;

	*done = 0;
	if (dx_readonly(fs))
		return -EROFS;
	if (off > DAXFS_FILE_SIZE_MAX || len > DAXFS_FILE_SIZE_MAX - off)
		return pmd_err(-EFBIG, "write past the maximum file size");
	if (!len)
		return 0;
	uint64_t size;

	err = file_lock(fs, ino, true, &i);
	if (err)
		return err;
	err = file_size(fs, ino, &size);
	if (err) {
		file_unlock(fs, i);
		return err;
	}
	uint64_t end = off + len;
	bool big = (end > size ? end : size) >= HUGE_SIZE;

	err = check_flags(fs, ino, DAXFS_IF_IMMUTABLE | (off < size ? DAXFS_IF_APPEND : 0));
	if (err) {
		file_unlock(fs, i);
		return err;
	}

	if (off > size)
		zero_gap(fs, i, size, off);

	while (*done < len) {
		uint64_t o = off + *done;
		size_t n = len - *done;
		uint64_t lb = off_to_blk(o), nb;

		if (n > (size_t)PIECE_BLKS * BLK_SIZE)
			n = (size_t)PIECE_BLKS * BLK_SIZE - (size_t)(o & (BLK_SIZE - 1));
		nb = off_to_blk(o + n + BLK_SIZE - 1) - lb;
		if (range_mapped(i, lb, nb)) {
			/* overwrite: copy without the fs lock */
			copy_in(fs, i, o, n, src + *done);
			err = commit_size(fs, ino, o + n);
			if (err)
				break;
			*done += n;
			continue;
		}
		uint64_t got = 0;
		size_t c;

		err = alloc_begin(fs, i, lb, nb, big, o, o + n, &got, NULL);
		if (err)
			break;
		c = copy_in(fs, i, o, n, src + *done);
		pmr_drain(fs->r);
		set_size_times(fs, ino, o + c, false);
		err = alloc_end(fs, i, NULL);
		if (err)
			break;
		*done += c;
		if (c < n) {
			err = pmd_err(-ENOSPC, "no space left for file data");
			break;
		}
	}
	if (*done)
		err = 0;
	file_unlock(fs, i);
	return err;
}

int daxfs_fsync(struct daxfs *fs, uint64_t ino, bool datasync)
{
	const struct daxfs_dinode *di;
	int err = di_get(fs, ino, &di);

	if (err)
		return err;
	pmr_drain(fs->r);
	return 0;
}

/* truncate @i to @new_size; caller holds i->rw exclusive; takes fs->lock */
static int do_truncate(struct daxfs *fs, struct dxi *i, uint64_t new_size)
{
	uint64_t size;
	int err = file_size(fs, i->ino, &size);

	if (err)
		return err;
	if (new_size > DAXFS_FILE_SIZE_MAX)
		return pmd_err(-EFBIG, "size %llu is above the maximum file size",
			       (unsigned long long)new_size);
	if (new_size > size) {
		zero_gap(fs, i, size, new_size);
		pmr_drain(fs->r);
	}
	dx_lock(fs);
	tx_begin(fs);
	set_size_times(fs, i->ino, new_size, true);
	if (new_size < size) {
		/* commit the new size (and frees) first, then clear the tail of
		 * the last block, which is past the end of file by then */
		uint64_t in = new_size & (BLK_SIZE - 1), pb;

		err = file_free_range(fs, i, off_to_blk(new_size + BLK_SIZE - 1), UINT64_MAX);
		if (!err && in && map_run(i, off_to_blk(new_size), 1, &pb) && pb != DAXFS_HOLE)
			pmr_memset(fs->r, dx_ptr(fs, blk_to_off(pb) + in), 0, BLK_SIZE - in, 0);
	} else {
		err = tx_commit(fs);
	}
	dx_unlock(fs);
	return err;
}

/* kill_suidgid - the bits of @mode a write by an unprivileged process clears */
static uint32_t kill_suidgid(uint32_t mode)
{
	uint32_t kill = mode & S_ISUID;

	if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	return kill;
}

int daxfs_setattr(struct daxfs *fs, uint64_t ino, const struct daxfs_attr *in, unsigned valid,
		  struct daxfs_attr *out)
{
	const struct daxfs_dinode *rd;
	struct dxi *i = NULL;
	int err = 0;

	if (dx_readonly(fs))
		return -EROFS;
	/* immutable: nothing; append-only: only "touch" (times set to now) and
	 * what a write does (clear setuid/setgid), as the kernel allows */
	err = check_flags(fs, ino,
			  DAXFS_IF_IMMUTABLE |
				  ((valid & ~(DAXFS_SET_ATIME_NOW | DAXFS_SET_MTIME_NOW |
					      DAXFS_SET_CTIME | DAXFS_SET_KILL_SUIDGID))
					   ? DAXFS_IF_APPEND
					   : 0));
	if (err)
		return err;
	if (valid & DAXFS_SET_SIZE) {
		err = file_lock(fs, ino, true, &i);
		if (err)
			return err;
		err = do_truncate(fs, i, in->size);
		if (err)
			goto out_unlock;
	}
	dx_lock(fs);
	err = di_get(fs, ino, &rd);
	if (err) {
		dx_unlock(fs);
		goto out_unlock;
	}
	if (valid == DAXFS_SET_KILL_SUIDGID && !kill_suidgid(le32_to_cpu(rd->mode))) {
		/* nothing to clear: no transaction (every unprivileged write asks) */
		if (out)
			di_to_attr(fs, ino, rd, out);
		dx_unlock(fs);
		return 0;
	}
	tx_begin(fs);
	if ((valid & DAXFS_SET_MODE) && ((le32_to_cpu(rd->mode) ^ in->mode) & 0777))
		err = acl_chmod(fs, ino, in->mode);
	if (err) {
		tx_abort(fs);
		dx_unlock(fs);
		goto out_unlock;
	}
	struct daxfs_dinode *di = di_write(fs, ino);
	struct timespec now = now_ts();

	if (valid & DAXFS_SET_MODE)
		di->mode = cpu_to_le32((le32_to_cpu(di->mode) & S_IFMT) | (in->mode & 07777));
	if (valid & DAXFS_SET_UID)
		di->uid = cpu_to_le32(in->uid);
	if (valid & DAXFS_SET_GID)
		di->gid = cpu_to_le32(in->gid);
	if (valid & DAXFS_SET_ATIME_NOW)
		di_set_time(fs, di, DAXFS_ATIME, now);
	else if (valid & DAXFS_SET_ATIME)
		di_set_time(fs, di, DAXFS_ATIME, in->atime);
	if (valid & DAXFS_SET_MTIME_NOW)
		di_set_time(fs, di, DAXFS_MTIME, now);
	else if (valid & DAXFS_SET_MTIME)
		di_set_time(fs, di, DAXFS_MTIME, in->mtime);
	if (valid & DAXFS_SET_KILL_SUIDGID)
		di->mode =
			cpu_to_le32(le32_to_cpu(di->mode) & ~kill_suidgid(le32_to_cpu(di->mode)));
	di_set_time(fs, di, DAXFS_CTIME, (valid & DAXFS_SET_CTIME) ? in->ctime : now);
	err = tx_commit(fs);
	if (!err && out)
		di_to_attr(fs, ino, di_read(fs, ino), out);
	dx_unlock(fs);
out_unlock:
	if (i)
		file_unlock(fs, i);
	return err;
}

int daxfs_fallocate(struct daxfs *fs, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	struct dxi *i;
	int err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return pmd_err(-EOPNOTSUPP, "fallocate: unsupported mode 0x%x", mode);
	if (!len)
		return -EINVAL;
	if ((mode & FALLOC_FL_PUNCH_HOLE) &&
	    (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & FALLOC_FL_ZERO_RANGE)))
		return -EINVAL;
	if (off > DAXFS_FILE_SIZE_MAX || len > DAXFS_FILE_SIZE_MAX - off)
		return -EFBIG;
	if (dx_readonly(fs))
		return -EROFS;
	uint64_t size;

	err = file_lock(fs, ino, true, &i);
	if (err)
		return err == -EISDIR || err == -EINVAL ? -ENODEV : err;
	err = check_flags(fs, ino,
			  DAXFS_IF_IMMUTABLE |
				  ((mode & ~FALLOC_FL_KEEP_SIZE) ? DAXFS_IF_APPEND : 0));
	if (!err)
		err = file_size(fs, ino, &size);
	if (err)
		goto out_unlock;
	uint64_t end = off + len;
	uint64_t fb = off_to_blk(off), lb = off_to_blk(end + BLK_SIZE - 1);

	if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t ffull = off_to_blk(off + BLK_SIZE - 1), lfull = off_to_blk(end);

		if (end > size)
			end = size;
		/* zero partial blocks at the edges */
		for (uint64_t o = off; o < end;) {
			uint64_t b = off_to_blk(o), pb, n;
			uint64_t be = blk_to_off(b + 1) < end ? blk_to_off(b + 1) : end;

			if ((b >= ffull && b < lfull)) {
				o = blk_to_off(lfull);
				continue;
			}
			n = be - o;
			if (map_run(i, b, 1, &pb) && pb != DAXFS_HOLE)
				pmr_memset(fs->r, dx_ptr(fs, blk_to_off(pb) + (o & (BLK_SIZE - 1))),
					   0, n, PMR_MEM_NODRAIN);
			o += n;
		}
		pmr_drain(fs->r);
		dx_lock(fs);
		tx_begin(fs);
		set_size_times(fs, ino, 0, false);
		if (ffull < lfull)
			err = file_free_range(fs, i, ffull, lfull);
		else
			err = tx_commit(fs);
		dx_unlock(fs);
		goto out_unlock;
	}
	/* zero what is mapped; holes read as zero and are allocated below */
	if (mode & FALLOC_FL_ZERO_RANGE)
		zero_gap(fs, i, off, end);
	bool big = (end > size ? end : size) >= HUGE_SIZE;

	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size)
		zero_gap(fs, i, size, end);
	for (uint64_t p = fb; p < lb;) {
		uint64_t n = lb - p < PIECE_BLKS ? lb - p : PIECE_BLKS;

		err = alloc_begin(fs, i, p, n, big, 0, 0, NULL, NULL);
		if (err)
			break;
		pmr_drain(fs->r);
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			set_size_times(fs, ino, blk_to_off(p + n) < end ? blk_to_off(p + n) : end,
				       false);
		else
			set_size_times(fs, ino, 0, false);
		err = alloc_end(fs, i, NULL);
		if (err)
			break;
		p += n;
	}
out_unlock:
	file_unlock(fs, i);
	return err;
}

int daxfs_lseek_data(struct daxfs *fs, uint64_t ino, uint64_t off, int whence, uint64_t *result)
{
	struct dxi *i;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	uint64_t size;

	err = file_lock(fs, ino, false, &i);
	if (err)
		return err;
	err = file_size(fs, ino, &size);
	if (err)
		goto out_unlock;
	if (off >= size) {
		err = -ENXIO;
		goto out_unlock;
	}
	uint64_t b = off_to_blk(off), endb = off_to_blk(size + BLK_SIZE - 1);

	if (whence == SEEK_DATA) {
		err = -ENXIO;
		while (b < endb) {
			uint64_t pb, r = map_run(i, b, endb - b, &pb);

			if (pb != DAXFS_HOLE) {
				*result = blk_to_off(b) > off ? blk_to_off(b) : off;
				err = 0;
				break;
			}
			b += r;
		}
	} else {
		*result = size;
		while (b < endb) {
			uint64_t pb, r = map_run(i, b, endb - b, &pb);

			if (pb == DAXFS_HOLE) {
				*result = blk_to_off(b) > off ? blk_to_off(b) : off;
				break;
			}
			b += r;
		}
	}
out_unlock:
	file_unlock(fs, i);
	return err;
}

/* bmap - daxfs_bmap(), allocating from *@resv reserved blocks (NULL: none) */
static int bmap(struct daxfs *fs, uint64_t ino, uint64_t file_off, uint64_t len, unsigned flags,
		uint64_t *resv, struct daxfs_map *out)
{
	struct dxi *i;
	uint64_t lb, nb, pb, run;
	int err;

	if (!len)
		return -EINVAL;
	if (file_off > DAXFS_FILE_SIZE_MAX || len > DAXFS_FILE_SIZE_MAX - file_off)
		return -EFBIG;
	err = file_get(fs, ino, &i);
	if (err)
		return err;
	lb = off_to_blk(file_off);
	nb = off_to_blk(file_off + len + BLK_SIZE - 1) - lb;
	if (!(flags & DAXFS_BMAP_ALLOC)) {
		err = lock_shared(fs, i);
		if (err)
			goto out_put;
		run = map_run(i, lb, nb, &pb);
		goto out_fill;
	}
	if (dx_readonly(fs)) {
		err = -EROFS;
		goto out_put;
	}
	err = check_flags(fs, ino, DAXFS_IF_IMMUTABLE);
	if (err)
		goto out_put;
	err = lock_excl(fs, i);
	if (err)
		goto out_put;
	run = map_run(i, lb, nb, &pb);
	if (pb == DAXFS_HOLE) {
		uint64_t size, end = blk_to_off(lb + run);
		uint64_t got = 0;

		err = file_size(fs, ino, &size);
		if (err)
			goto out_unlock;
		if (run > PIECE_BLKS)
			run = PIECE_BLKS;
		err = alloc_begin(fs, i, lb, run, (end > size ? end : size) >= HUGE_SIZE, 0, 0,
				  &got, resv);
		if (err)
			goto out_unlock;
		pmr_drain(fs->r);
		err = alloc_end(fs, i, resv);
		if (err)
			goto out_unlock;
		run = map_run(i, lb, nb, &pb);
	}
out_fill:
	out->file_off = blk_to_off(lb);
	out->len = blk_to_off(run);
	out->region_off = pb == DAXFS_HOLE ? DAXFS_HOLE : blk_to_off(pb);
out_unlock:
	pthread_rwlock_unlock(&i->rw);
out_put:
	dxi_put(fs, i);
	return err;
}

int daxfs_bmap(struct daxfs *fs, uint64_t ino, uint64_t file_off, uint64_t len, unsigned flags,
	       struct daxfs_map *out)
{
	return bmap(fs, ino, file_off, len, flags, NULL, out);
}

int daxfs_bmap_resv(struct daxfs *fs, uint64_t ino, uint64_t file_off, uint64_t len, uint64_t *resv,
		    struct daxfs_map *out)
{
	return bmap(fs, ino, file_off, len, DAXFS_BMAP_ALLOC, resv, out);
}

int daxfs_writable(struct daxfs *fs)
{
	return dx_readonly(fs) ? -EROFS : 0;
}

int daxfs_extent_map(struct daxfs *fs, uint64_t ino, daxfs_extent_fn fn, void *ctx)
{
	struct dxi *i;
	int err = file_lock(fs, ino, false, &i);

	if (err)
		return err;
	for (size_t k = 0; k < i->next; k++) {
		struct daxfs_map m = {blk_to_off(i->ext[k].lblk), blk_to_off(i->ext[k].len),
				      blk_to_off(i->ext[k].pblk)};

		if (fn(ctx, &m))
			break;
	}
	file_unlock(fs, i);
	return 0;
}

int daxfs_write_commit(struct daxfs *fs, uint64_t ino, uint64_t new_size)
{
	struct dxi *i;
	int err;

	if (new_size > DAXFS_FILE_SIZE_MAX)
		return -EFBIG;
	if (dx_readonly(fs))
		return -EROFS;
	err = file_get(fs, ino, &i);
	if (err)
		return err;
	pthread_rwlock_wrlock(&i->rw);
	err = check_flags(fs, ino, DAXFS_IF_IMMUTABLE);
	if (!err)
		err = commit_size(fs, ino, new_size);
	pthread_rwlock_unlock(&i->rw);
	dxi_put(fs, i);
	return err;
}

int daxfs_file_size(struct daxfs *fs, uint64_t ino, uint64_t *size)
{
	const struct daxfs_dinode *di;
	uint32_t mode;
	int err;

	if (ino == DAXFS_ROOT_INO)
		return -EISDIR; /* also when only the root's checksum is bad */
	dx_lock(fs);
	err = di_get(fs, ino, &di);
	if (!err) {
		mode = le32_to_cpu(di->mode);
		if (S_ISDIR(mode))
			err = -EISDIR;
		else if (!S_ISREG(mode))
			err = -EINVAL;
		else
			*size = le64_to_cpu(di->size);
	}
	dx_unlock(fs);
	return err;
}

/* pin_dxi - the pin of daxfs_pin() on checked inode @ino */
static int pin_dxi(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i = dxi_get(fs, ino); /* the reference is held until the unpin */

	if (!i)
		return -ENOMEM;
	pthread_mutex_lock(&fs->icache_lock);
	i->pins++;
	pthread_mutex_unlock(&fs->icache_lock);
	return 0;
}

int daxfs_pin(struct daxfs *fs, uint64_t ino)
{
	const struct daxfs_dinode *di;
	int err = di_get(fs, ino, &di);

	return err ? err : pin_dxi(fs, ino);
}

int daxfs_pin_size(struct daxfs *fs, uint64_t ino, uint64_t *size)
{
	int err = daxfs_file_size(fs, ino, size);

	return err ? err : pin_dxi(fs, ino);
}

int daxfs_unpin(struct daxfs *fs, uint64_t ino)
{
	struct dxi *i;
	bool last;

	pthread_mutex_lock(&fs->icache_lock);
	i = dxi_find_locked(fs, ino);
	if (!i || !i->pins) {
		pthread_mutex_unlock(&fs->icache_lock);
		return -ENOENT;
	}
	last = --i->pins == 0;
	pthread_mutex_unlock(&fs->icache_lock);
	if (last && i->ndeferred) {
		pthread_rwlock_wrlock(&i->rw);
		dx_lock(fs);
		tx_begin(fs);
		/* in batches, so no transaction outgrows the journal */
		while (i->ndeferred) {
			size_t n = i->ndeferred < 256 ? i->ndeferred : 256;

			for (size_t k = i->ndeferred - n; k < i->ndeferred; k++)
				tx_free(fs, i->deferred[k].pblk, i->deferred[k].len);
			if (tx_commit(fs))
				break;
			pthread_mutex_lock(&fs->icache_lock);
			fs->ndeferred_inodes -= (unsigned)n;
			i->ndeferred -= n;
			pthread_mutex_unlock(&fs->icache_lock);
			if (i->ndeferred)
				tx_begin(fs);
		}
		dx_unlock(fs);
		pthread_rwlock_unlock(&i->rw);
	}
	dxi_put(fs, i);
	return 0;
}
