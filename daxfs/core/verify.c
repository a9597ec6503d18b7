/* SPDX-License-Identifier: MIT */
/*
 * verify.c - trust nothing the region says: the checks every metadata
 * structure passes when the core reads it, and what a failed check does.
 *
 * Where each structure is checked (docs/design.md, "Verification"):
 *   inode        di_get(): checksum, type, every block and inode number in
 *                it, at every read by an operation (an inode whose bytes
 *                equal an image that passed, per thread, passes again);
 *   extents      ext_load(): each extent block (blk_get) and each extent
 *                (ext_check), once per load of a file's map into memory;
 *   dir nodes    dnode_get(): checksum, magic, owner, level and layout, at
 *                each node a lookup, insert, removal or listing visits;
 *   xattr block  blk_get() in xattr.c; symlink target: its checksum in the
 *                inode, at readlink;
 *   journal      header and record checksums and record bounds at open.
 * A structure shadowed by the running transaction was checked when it was
 * first read in that transaction and has been changed since, so its stale
 * checksum is not checked again; tx_commit() checks that the home copy of
 * every inode and sealed block it rewrites is still sound, so a bad block
 * is never given a fresh checksum.
 *
 * A failed check (dx_corrupt) fails the operation with -EIO, logs one line
 * (rate limited) and queues an error record, which the next dx_unlock()
 * writes into the superblock in a transaction of its own; then the errors
 * mode applies (see daxfs.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "errmsg.h"

#define RL_INTERVAL_NS (5 * 1000000000LL)
#define RL_BURST 10

_Thread_local struct daxfs *dx_lock_holder;

/* ---- names ---- */

static const char *const what_names[DAXFS_ERR_WHAT_MAX] = {
	[DAXFS_ERR_NONE] = "none",	     [DAXFS_ERR_INODE] = "inode",
	[DAXFS_ERR_DIR] = "directory block", [DAXFS_ERR_EXTENT] = "extent",
	[DAXFS_ERR_XATTR] = "xattr block",   [DAXFS_ERR_SYMLINK] = "symlink target",
	[DAXFS_ERR_JOURNAL] = "journal",     [DAXFS_ERR_SUPER] = "superblock",
	[DAXFS_ERR_BITMAP] = "bitmap",	     [DAXFS_ERR_DATA] = "file data",
};

static const char *const why_names[DAXFS_ERR_WHY_MAX] = {
	[DAXFS_WHY_NONE] = "none",	    [DAXFS_WHY_CRC] = "checksum mismatch",
	[DAXFS_WHY_MAGIC] = "bad magic",    [DAXFS_WHY_OWNER] = "wrong owner",
	[DAXFS_WHY_RANGE] = "out of range", [DAXFS_WHY_FIELD] = "inconsistent field",
	[DAXFS_WHY_IO] = "I/O error",
};

const char *daxfs_err_what_name(unsigned what)
{
	return what < DAXFS_ERR_WHAT_MAX ? what_names[what] : "unknown";
}

const char *daxfs_err_why_name(unsigned why)
{
	return why < DAXFS_ERR_WHY_MAX ? why_names[why] : "unknown";
}

static const char *const mode_names[] = {
	[DAXFS_ERRORS_RO] = "remount-ro",
	[DAXFS_ERRORS_CONTINUE] = "continue",
	[DAXFS_ERRORS_PANIC] = "panic",
};

int daxfs_errors_parse(const char *s, enum daxfs_errors_mode *out)
{
	for (unsigned m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++) {
		if (!strcmp(s, mode_names[m])) {
			*out = (enum daxfs_errors_mode)m;
			return 0;
		}
	}
	return pmd_err(-EINVAL, "bad option errors=%s: expected continue, remount-ro or panic", s);
}

const char *daxfs_errors_name(enum daxfs_errors_mode mode)
{
	return (unsigned)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}

void daxfs_set_errors(struct daxfs *fs, enum daxfs_errors_mode mode)
{
	atomic_store(&fs->errors, (int)mode);
}

void daxfs_set_log(struct daxfs *fs, daxfs_log_fn fn, void *ctx)
{
	fs->log = fn;
	fs->log_ctx = ctx;
}

/* ---- reporting ---- */

static void log_line(struct daxfs *fs, const char *line)
{
	if (fs->log)
		fs->log(fs->log_ctx, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* log @msg unless more than RL_BURST lines went out in this interval */
static void log_limited(struct daxfs *fs, const char *msg)
{
	int64_t now = now_ns();
	unsigned missed = 0;
	bool print;

	pthread_mutex_lock(&fs->err_lock);
	if (now - fs->rl_start >= RL_INTERVAL_NS) {
		missed = fs->rl_missed;
		fs->rl_start = now;
		fs->rl_lines = 0;
		fs->rl_missed = 0;
	}
	print = fs->rl_lines < RL_BURST;
	if (print)
		fs->rl_lines++;
	else
		fs->rl_missed++;
	pthread_mutex_unlock(&fs->err_lock);
	if (missed) {
		char line[96];

		snprintf(line, sizeof(line), "daxfs: %u corruption reports suppressed", missed);
		log_line(fs, line);
	}
	if (print)
		log_line(fs, msg);
}

/* queue an error record for the superblock */
static void err_queue(struct daxfs *fs, unsigned what, unsigned why, uint64_t ino, uint64_t blk,
		      int err)
{
	struct daxfs_derror e = {
		.time = cpu_to_le64((uint64_t)now_ns()),
		.ino = cpu_to_le64(ino),
		.blk = cpu_to_le64(blk),
		.what = cpu_to_le16((uint16_t)what),
		.why = cpu_to_le16((uint16_t)why),
		.err = cpu_to_le32((uint32_t)err),
	};

	pthread_mutex_lock(&fs->err_lock);
	if (fs->err_unwritten < UINT32_MAX)
		fs->err_unwritten++;
	if (!fs->err_first.time)
		fs->err_first = e;
	fs->err_last = e;
	atomic_store(&fs->err_pending, true);
	pthread_mutex_unlock(&fs->err_lock);
}

void err_flush_locked(struct daxfs *fs)
{
	struct daxfs_derror first, last;
	struct daxfs_dsuper *sb;
	uint32_t n, count;
	int err;

	pthread_mutex_lock(&fs->err_lock);
	n = fs->err_unwritten;
	first = fs->err_first;
	last = fs->err_last;
	if (!fs->rdonly) {
		/* a read-only mapping keeps the record in memory only */
		fs->err_unwritten = 0;
		memset(&fs->err_first, 0, sizeof(fs->err_first));
	}
	atomic_store(&fs->err_pending, false);
	pthread_mutex_unlock(&fs->err_lock);
	if (!n || fs->rdonly)
		return;
	tx_begin(fs);
	sb = super_write(fs);
	count = le32_to_cpu(sb->err_count);
	sb->err_count = cpu_to_le32(count > UINT32_MAX - n ? UINT32_MAX : count + n);
	sb->err_flags = cpu_to_le32(le32_to_cpu(sb->err_flags) | DAXFS_ERRF_ERRORS);
	sb->feat_compat = cpu_to_le32(le32_to_cpu(sb->feat_compat) | DAXFS_FEAT_COMPAT_ERRREC);
	if (!sb->err_first.time)
		sb->err_first = first;
	sb->err_last = last;
	super_seal(sb);
	err = tx_commit(fs);
	if (err) {
		char line[160];

		snprintf(line, sizeof(line),
			 "daxfs: cannot write the error record to the superblock: %s",
			 strerror(-err));
		log_line(fs, line);
	}
}

int dx_corrupt(struct daxfs *fs, unsigned what, unsigned why, uint64_t ino, uint64_t blk,
	       const char *fmt, ...)
{
	char msg[256], line[400];
	enum daxfs_errors_mode mode = (enum daxfs_errors_mode)atomic_load(&fs->errors);
	bool held = dx_lock_holder == fs;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pmd_err(-EIO, "corrupt %s (inode %llu, block %llu): %s", daxfs_err_what_name(what),
		(unsigned long long)ino, (unsigned long long)blk, msg);
	if (fs->flags & DAXFS_O_FSCK)
		return -EIO; /* fsck reports problems its own way */
	snprintf(line, sizeof(line), "daxfs: corrupt %s, inode %llu, block %llu: %s%s",
		 daxfs_err_what_name(what), (unsigned long long)ino, (unsigned long long)blk, msg,
		 mode == DAXFS_ERRORS_RO && !fs->rdonly && !atomic_load(&fs->stopped)
			 ? "; refusing changes from now on (errors=remount-ro), run fsck.daxfs"
			 : "; run fsck.daxfs");
	log_limited(fs, line);
	err_queue(fs, what, why, ino, blk, EIO);
	if (mode == DAXFS_ERRORS_RO)
		atomic_store(&fs->stopped, true);
	if (mode == DAXFS_ERRORS_PANIC) {
		if (!held)
			dx_lock(fs);
		if (fs->tx.active)
			tx_abort(fs); /* the process ends: drop the half-made change */
		err_flush_locked(fs);
		log_line(fs, "daxfs: errors=panic: exiting");
		_exit(DAXFS_PANIC_EXIT);
	}
	if (!held) {
		/* nobody holds the lock: write the record now */
		dx_lock(fs);
		dx_unlock(fs);
	}
	return -EIO;
}

int daxfs_report_error(struct daxfs *fs, unsigned what, unsigned why, uint64_t ino, uint64_t blk,
		       int err, const char *msg)
{
	char line[400];

	snprintf(line, sizeof(line), "daxfs: %s: %s (inode %llu): %s", daxfs_err_what_name(what),
		 daxfs_err_why_name(why), (unsigned long long)ino, msg);
	log_limited(fs, line);
	err_queue(fs, what, why, ino, blk, err);
	if (dx_lock_holder != fs) {
		dx_lock(fs);
		dx_unlock(fs);
	}
	return -err;
}

/* ---- the record, read back ---- */

static void err_decode(const struct daxfs_derror *d, struct daxfs_error *e)
{
	e->time_ns = (int64_t)le64_to_cpu(d->time);
	e->ino = le64_to_cpu(d->ino);
	e->blk = le64_to_cpu(d->blk);
	e->what = le16_to_cpu(d->what);
	e->why = le16_to_cpu(d->why);
	e->err = (int)le32_to_cpu(d->err);
}

void daxfs_errinfo_from_super(const void *p, struct daxfs_errinfo *out)
{
	const struct daxfs_dsuper *sb = p;

	memset(out, 0, sizeof(*out));
	if (!(le32_to_cpu(sb->feat_compat) & DAXFS_FEAT_COMPAT_ERRREC))
		return;
	out->count = le32_to_cpu(sb->err_count);
	err_decode(&sb->err_first, &out->first);
	err_decode(&sb->err_last, &out->last);
}

int daxfs_get_errors(struct daxfs *fs, struct daxfs_errinfo *out)
{
	dx_lock(fs);
	daxfs_errinfo_from_super(dx_ptr(fs, 0), out);
	dx_unlock(fs);
	pthread_mutex_lock(&fs->err_lock);
	if (fs->err_unwritten) {
		struct daxfs_error e;

		out->count += fs->err_unwritten;
		if (!out->first.time_ns && fs->err_first.time)
			err_decode(&fs->err_first, &out->first);
		err_decode(&fs->err_last, &e);
		if (e.time_ns)
			out->last = e;
	}
	pthread_mutex_unlock(&fs->err_lock);
	out->stopped = atomic_load(&fs->stopped);
	return 0;
}

static void print_one(FILE *f, const struct daxfs_error *e, bool json)
{
	time_t t = (time_t)(e->time_ns / 1000000000LL);
	struct tm tm;
	char when[40] = "?";

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json)
		fprintf(f,
			"{\"time\": \"%s\", \"time_ns\": %lld, \"structure\": \"%s\", "
			"\"check\": \"%s\", \"inode\": %llu, \"block\": %llu, \"errno\": %d}",
			when, (long long)e->time_ns, daxfs_err_what_name(e->what),
			daxfs_err_why_name(e->why), (unsigned long long)e->ino,
			(unsigned long long)e->blk, e->err);
	else
		fprintf(f, "%s %s, %s, inode %llu, block %llu (%s)", when,
			daxfs_err_what_name(e->what), daxfs_err_why_name(e->why),
			(unsigned long long)e->ino, (unsigned long long)e->blk, strerror(e->err));
}

void daxfs_errinfo_print(const struct daxfs_errinfo *ei, FILE *f, const char *indent, bool json)
{
	if (json) {
		fprintf(f, "{\"count\": %llu, \"stopped\": %s", (unsigned long long)ei->count,
			ei->stopped ? "true" : "false");
		if (ei->count) {
			fprintf(f, ", \"first\": ");
			print_one(f, &ei->first, true);
			fprintf(f, ", \"last\": ");
			print_one(f, &ei->last, true);
		}
		fprintf(f, "}");
		return;
	}
	if (!ei->count) {
		fprintf(f, "%serrors:        none recorded\n", indent);
		return;
	}
	fprintf(f, "%serrors:        %llu recorded%s\n", indent, (unsigned long long)ei->count,
		ei->stopped ? "; changes refused (errors=remount-ro)" : "");
	fprintf(f, "%sfirst error:   ", indent);
	print_one(f, &ei->first, false);
	fprintf(f, "\n%slast error:    ", indent);
	print_one(f, &ei->last, false);
	fprintf(f, "\n");
}

/* ---- the checks ---- */

static bool all_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t k = 0; k < len / 8; k++)
		if (w[k])
			return false;
	return true;
}

bool di_crc_ok(const struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di)
{
	return le32_to_cpu(di->crc) == di_csum(di_seeded(fs, ino), ino, di);
}

bool di_never_used(const struct daxfs_dinode *di)
{
	return all_zero(di, sizeof(*di));
}

bool home_inode_ok(bool seeded, uint64_t ino, const struct daxfs_dinode *di)
{
	return le32_to_cpu(di->crc) == di_csum(seeded, ino, di) || all_zero(di, sizeof(*di));
}

bool home_blk_ok(const void *blk)
{
	const struct daxfs_blkhdr *h = blk;

	return le32_to_cpu(h->crc) == daxfs_csum(blk, BLK_SIZE, offsetof(struct daxfs_blkhdr, crc));
}

static uint64_t ino_blk(struct daxfs *fs, uint64_t ino)
{
	return fs->itable_blk + (ino - 1) / DAXFS_INODES_PER_BLOCK;
}

/* is @p the running transaction's shadow (the caller holds fs->lock)? */
static const void *shadow_or_home(struct daxfs *fs, uint64_t off, size_t len, bool *shadow)
{
	const void *home = dx_ptr(fs, off);
	const void *p = dx_lock_holder == fs && fs->tx.active ? tx_read_len(fs, off, len) : home;

	*shadow = p != home;
	return p;
}

/* the fields of an in-use inode: 0 or the DAXFS_WHY_* that fails, *@blk where */
static unsigned di_fields(struct daxfs *fs, const struct daxfs_dinode *di, uint64_t *blk)
{
	uint32_t mode = le32_to_cpu(di->mode);
	uint64_t x = le64_to_cpu(di->xattr_blk);

	*blk = 0;
	if (x && !dx_in_data(fs, x, 1)) {
		*blk = x;
		return DAXFS_WHY_RANGE;
	}
	if (le64_to_cpu(di->orphan_next) > fs->inode_count)
		return DAXFS_WHY_RANGE;
	switch (mode & S_IFMT) {
	case S_IFREG: {
		uint64_t n = le32_to_cpu(di->file.nextents), next = le64_to_cpu(di->file.ext_next);

		if (le64_to_cpu(di->size) > DAXFS_FILE_SIZE_MAX)
			return DAXFS_WHY_FIELD;
		/* each extent maps blocks of its own in the data area */
		if (n > fs->total_blocks - fs->data_blk)
			return DAXFS_WHY_RANGE;
		if (n <= DAXFS_INLINE_EXTENTS)
			return next ? DAXFS_WHY_FIELD : 0;
		*blk = next;
		return dx_in_data(fs, next, 1) ? 0 : DAXFS_WHY_RANGE;
	}
	case S_IFDIR: {
		uint64_t root = le64_to_cpu(di->dir.root), parent = le64_to_cpu(di->parent);
		uint32_t h = le32_to_cpu(di->dir.height);

		if (h > MAX_TREE_HEIGHT || !root != !h)
			return DAXFS_WHY_FIELD;
		if (!ino_valid(fs, parent))
			return DAXFS_WHY_RANGE;
		*blk = root;
		return !root || dx_in_data(fs, root, 1) ? 0 : DAXFS_WHY_RANGE;
	}
	case S_IFLNK: {
		uint32_t len = le32_to_cpu(di->symlink.len);

		*blk = le64_to_cpu(di->symlink.blk);
		if (!dx_in_data(fs, *blk, 1))
			return DAXFS_WHY_RANGE;
		return len && len <= DAXFS_SYMLINK_MAX ? 0 : DAXFS_WHY_FIELD;
	}
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return 0;
	default:
		return DAXFS_WHY_FIELD;
	}
}

/*
 * Each thread remembers the last few inode images it found whole (checksum
 * and fields). An inode whose bytes are still exactly such an image passes
 * both checks again, for a 256-byte compare instead of a checksum: one
 * create checked its directory's inode nine times. The memo is keyed by the
 * open's serial number (never the address of struct daxfs, which a later
 * open may get) and the inode number; the fields checks depend only on the
 * geometry, fixed while open.
 */
#define DI_MEMO 8

struct di_memo {
	uint64_t serial, ino;
	struct daxfs_dinode img;
};

static _Thread_local struct di_memo di_memo[DI_MEMO];
static atomic_uint_fast64_t open_serial;

void di_memo_serial(struct daxfs *fs)
{
	fs->serial = atomic_fetch_add(&open_serial, 1) + 1;
}

int di_get(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode **out)
{
	const struct daxfs_dinode *di, *chk;
	struct di_memo *m = &di_memo[ino % DI_MEMO];
	uint64_t off, blk;
	unsigned why;
	bool shadow;

	if (!ino_valid(fs, ino))
		return -ENOENT;
	off = blk_to_off(fs->itable_blk) + (ino - 1) * DAXFS_INODE_SIZE;
	di = chk = shadow_or_home(fs, off, DAXFS_INODE_SIZE, &shadow);
	if (!shadow) {
		if (m->serial == fs->serial && m->ino == ino && !memcmp(&m->img, di, sizeof(*di))) {
			*out = di;
			return 0;
		}
		/* check a copy, so that what the memo keeps is what passed */
		m->serial = 0;
		memcpy(&m->img, di, sizeof(*di));
		chk = &m->img;
		atomic_fetch_add_explicit(&fs->inode_checks, 1, memory_order_relaxed);
		if (!di_crc_ok(fs, ino, chk)) {
			if (all_zero(chk, sizeof(*chk)))
				return -ENOENT; /* never used since mkfs */
			if (dx_lock_holder != fs) {
				/* a commit may have been applying: look again under the lock */
				int err;

				dx_lock(fs);
				err = di_get(fs, ino, out);
				dx_unlock(fs);
				return err;
			}
			return dx_corrupt(fs, DAXFS_ERR_INODE, DAXFS_WHY_CRC, ino, ino_blk(fs, ino),
					  "checksum mismatch");
		}
	}
	if (!chk->mode)
		return -ENOENT;
	why = di_fields(fs, chk, &blk);
	if (why)
		return dx_corrupt(fs, DAXFS_ERR_INODE, why, ino, blk ? blk : ino_blk(fs, ino),
				  "%s (mode 0%o)",
				  why == DAXFS_WHY_RANGE ? "a block or inode number out of range"
							 : "fields inconsistent",
				  le32_to_cpu(chk->mode));
	if (!shadow) {
		m->ino = ino;
		m->serial = fs->serial;
	}
	*out = di;
	return 0;
}

int vmap_init(struct daxfs *fs)
{
	fs->vmap = calloc((fs->total_blocks + 63) / 64, sizeof(*fs->vmap));
	return fs->vmap ? 0 : -ENOMEM;
}

static bool blk_verified(struct daxfs *fs, uint64_t blk)
{
	return atomic_load_explicit(&fs->vmap[blk / 64], memory_order_relaxed) &
	       (UINT64_C(1) << (blk % 64));
}

static void vmap_set(struct daxfs *fs, uint64_t blk)
{
	atomic_fetch_or_explicit(&fs->vmap[blk / 64], UINT64_C(1) << (blk % 64),
				 memory_order_relaxed);
}

void vmap_clear(struct daxfs *fs, uint64_t pblk, uint64_t len)
{
	if (!fs->vmap)
		return;
	for (uint64_t b = pblk; b < pblk + len; b++) {
		if (b % 64 == 0 && pblk + len - b >= 64) {
			atomic_store_explicit(&fs->vmap[b / 64], 0, memory_order_relaxed);
			b += 63;
			continue;
		}
		atomic_fetch_and_explicit(&fs->vmap[b / 64], ~(UINT64_C(1) << (b % 64)),
					  memory_order_relaxed);
	}
}

/* blk_check - blk_get() without the verified map; *@shadow: from the tx */
static int blk_check(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino, unsigned what,
		     const void **out, bool *shadow)
{
	const struct daxfs_blkhdr *h;

	if (!dx_in_data(fs, blk, 1))
		return dx_corrupt(fs, what, DAXFS_WHY_RANGE, ino, blk,
				  "block number outside the data area");
	h = shadow_or_home(fs, blk_to_off(blk), BLK_SIZE, shadow);
	if (le32_to_cpu(h->magic) != magic)
		return dx_corrupt(fs, what, DAXFS_WHY_MAGIC, ino, blk, "bad magic 0x%08x",
				  le32_to_cpu(h->magic));
	if (le64_to_cpu(h->ino) != ino)
		return dx_corrupt(fs, what, DAXFS_WHY_OWNER, ino, blk, "owned by inode %llu",
				  (unsigned long long)le64_to_cpu(h->ino));
	if (!*shadow && !blk_verified(fs, blk) && !home_blk_ok(h))
		return dx_corrupt(fs, what, DAXFS_WHY_CRC, ino, blk, "checksum mismatch");
	*out = h;
	return 0;
}

int di_get_tree(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode **out)
{
	const struct daxfs_dinode *di =
		dx_ptr(fs, blk_to_off(fs->itable_blk) + (ino - 1) * DAXFS_INODE_SIZE);
	uint64_t blk;
	int err;

	if (ino == DAXFS_ROOT_INO && atomic_load(&fs->root_ro)) {
		*out = di; /* never changed since: every change fails at commit */
		return 0;
	}
	err = di_get(fs, ino, out);
	if (err != -EIO || ino != DAXFS_ROOT_INO || di_crc_ok(fs, ino, di) ||
	    !S_ISDIR(le32_to_cpu(di->mode)) || di_fields(fs, di, &blk))
		return err;
	atomic_store(&fs->root_ro, true);
	*out = di;
	return 0;
}

int root_attr(struct daxfs *fs, struct daxfs_attr *out)
{
	const struct daxfs_dinode *di;
	int err = di_get_tree(fs, DAXFS_ROOT_INO, &di);

	if (err)
		return err;
	if (!atomic_load(&fs->root_ro))
		return -EIO;
	memset(out, 0, sizeof(*out));
	out->ino = DAXFS_ROOT_INO;
	out->mode = S_IFDIR | 0500;
	out->nlink = 2;
	out->blksize = BLK_SIZE;
	return 0;
}

int blk_get(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino, unsigned what,
	    const void **out)
{
	bool shadow;
	int err = blk_check(fs, blk, magic, ino, what, out, &shadow);

	if (!err && !shadow)
		vmap_set(fs, blk);
	return err;
}

#define DHDR 32U

/* the layout of a checked directory node: 0 or a message */
static const char *dnode_layout(struct daxfs *fs, const struct daxfs_dnode *n, unsigned level)
{
	const uint8_t *b = (const void *)n;
	unsigned ns = le16_to_cpu(n->nslots);
	uint64_t prev = 0;

	if (le16_to_cpu(n->level) != level)
		return "level does not match its place in the tree";
	if (level) {
		if (!ns || ns > DAXFS_DINDEX_MAX)
			return "bad index slot count";
		for (unsigned i = 0; i < ns; i++) {
			const struct daxfs_dindex *x = (const void *)(b + DHDR + 16 * i);
			uint64_t key = le64_to_cpu(x->key);

			if (!dx_in_data(fs, le64_to_cpu(x->child), 1))
				return "child block out of range";
			if (i && key <= prev)
				return "index keys out of order";
			prev = key;
		}
		return NULL;
	}
	unsigned heap = le16_to_cpu(n->heap_start);

	if (DHDR + 2 * ns > heap || heap > BLK_SIZE || le16_to_cpu(n->frag) > BLK_SIZE)
		return "slot array and entry heap overlap";
	/* entries are 8-byte aligned: one that is not is damage, and reading
	 * its 64-bit fields in place would be an unaligned access */
	if (heap % 8)
		return "entry heap start not 8-byte aligned";
	/* the heap holds the live entries and frag dead bytes, no more: entries
	 * that overlap would not fit back when an insert compacts the leaf */
	unsigned bytes = le16_to_cpu(n->frag);

	for (unsigned i = 0; i < ns; i++) {
		le16 so;
		unsigned off;
		const struct daxfs_dentry *e;

		memcpy(&so, b + DHDR + 2 * i, 2);
		off = le16_to_cpu(so);
		if (off < heap || off % 8 || off + 18u > BLK_SIZE)
			return "entry offset out of range";
		e = (const void *)(b + off);
		if (!e->namelen || off + DAXFS_DENTRY_SIZE(e->namelen) > BLK_SIZE)
			return "entry name length out of range";
		bytes += DAXFS_DENTRY_SIZE(e->namelen);
		if (bytes > BLK_SIZE - heap)
			return "entries overlap: more entry bytes than the heap holds";
		if (!ino_valid(fs, le64_to_cpu(e->ino)))
			return "entry inode number out of range";
		if (i && le64_to_cpu(e->key) <= prev)
			return "entry keys out of order";
		prev = le64_to_cpu(e->key);
	}
	return NULL;
}

int dnode_get(struct daxfs *fs, uint64_t dir, uint64_t blk, unsigned level,
	      const struct daxfs_dnode **out)
{
	const struct daxfs_dnode *n;
	const char *bad = NULL;
	bool shadow;
	int err =
		blk_check(fs, blk, DAXFS_DIR_MAGIC, dir, DAXFS_ERR_DIR, (const void **)&n, &shadow);

	if (err)
		return err;
	/* a shadow was checked when this transaction first read it, and
	 * changed since only by the core; a verified block is unchanged */
	if (le16_to_cpu(n->level) != level)
		bad = "level does not match its place in the tree";
	else if (!shadow && !blk_verified(fs, blk))
		bad = dnode_layout(fs, n, level);
	if (bad)
		return dx_corrupt(fs, DAXFS_ERR_DIR, DAXFS_WHY_FIELD, dir, blk, "%s", bad);
	if (!shadow)
		vmap_set(fs, blk);
	fs->stats.dir_node_reads++;
	*out = n;
	return 0;
}

int ext_check(struct daxfs *fs, uint64_t ino, uint64_t blk, const struct dx_ext *e,
	      uint64_t prev_end)
{
	if (!e->len || e->lblk < prev_end || e->lblk + e->len > (DAXFS_FILE_SIZE_MAX >> BLK_SHIFT))
		return dx_corrupt(fs, DAXFS_ERR_EXTENT, DAXFS_WHY_FIELD, ino, blk,
				  "extent at file block %llu (+%llu) overlaps or is empty",
				  (unsigned long long)e->lblk, (unsigned long long)e->len);
	if (!dx_in_data(fs, e->pblk, e->len))
		return dx_corrupt(fs, DAXFS_ERR_EXTENT, DAXFS_WHY_RANGE, ino, blk ? blk : e->pblk,
				  "extent at file block %llu maps region blocks %llu+%llu, "
				  "outside the data area",
				  (unsigned long long)e->lblk, (unsigned long long)e->pblk,
				  (unsigned long long)e->len);
	return 0;
}
