/* SPDX-License-Identifier: MIT */
/*
 * test_core_openrefs - inode lifetime with DAXFS_O_OPENREFS (the FUSE
 * daemon's mode): lookup references keep an unlinked inode's number, open
 * references and pins keep the inode.
 *
 * What was seen: every unlink through the mount cost two transactions, the
 * unlink (onto the orphan list) and, at the kernel's FORGET, the free (off
 * the list, a walk from its head); on FUSE over io_uring the FORGETs lagged,
 * the list grew and a FORGET took 25 us in the daemon.
 *
 * Checked here: an unlinked empty file that is only looked up is freed by
 * the unlink's own single transaction (no orphan, inode count back at once),
 * answers getattr with link count 0 while named, and its number is not
 * given out again until the last iput (also across an aborted transaction,
 * which rebuilds the allocation map); a file with blocks is freed by the
 * unlink too, through the orphan list; an open reference or a pin keeps an
 * unlinked file readable and on the orphan list until the last one goes;
 * rename over a file frees it the same way; daxfs_make can open the file
 * as it makes it; without the flag the old contract holds (an iget keeps
 * the inode); fsck is clean after each part.
 */
#include <sys/stat.h>

#include "core.h"
#include "test_core_util.h"

static struct daxfs *open_refs(const char *path)
{
	struct daxfs *fs;

	CHECK_OK(daxfs_open(path, DAXFS_O_OPENREFS, &fs));
	return fs;
}

/* close_clean - close (dropping leftover references) and fsck -n is clean */
static void close_clean(struct daxfs **fs, const char *path)
{
	CHECK_OK(daxfs_close(fs));
	core_fsck_clean(path);
}

static uint64_t commits(struct daxfs *fs)
{
	struct daxfs_stats st;

	daxfs_get_stats(fs, &st);
	return st.tx_commits;
}

static struct daxfs_statfs fsstat(struct daxfs *fs)
{
	struct daxfs_statfs st;

	CHECK_OK(daxfs_statfs(fs, &st));
	return st;
}

static uint64_t orphan_head(struct daxfs *fs)
{
	const struct daxfs_dsuper *sb = dx_ptr(fs, 0);

	return le64_to_cpu(sb->orphan_head);
}

static uint32_t media_mode(struct daxfs *fs, uint64_t ino)
{
	return le32_to_cpu(((const struct daxfs_dinode *)dx_ptr(fs, di_off(fs, ino)))->mode);
}

static uint64_t make_file(struct daxfs *fs, const char *name, size_t bytes)
{
	static char buf[3 << 20];
	struct daxfs_attr a;
	size_t n;

	memset(buf, 0x5a, sizeof(buf));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a));
	if (bytes) {
		CHECK_OK(daxfs_write(fs, a.ino, 0, bytes, buf, &n));
		CHECK_EQ(n, bytes);
	}
	return a.ino;
}

/* an empty file, only looked up: one transaction frees it; a ghost after */
static void case_empty(const char *path)
{
	struct daxfs *fs = open_refs(path);
	struct daxfs_statfs s0 = fsstat(fs), s1;
	struct daxfs_attr a;
	uint64_t ino = make_file(fs, "e", 0), c0;
	char name[32];
	int err = 0, k;

	CHECK_OK(daxfs_iget(fs, ino));
	c0 = commits(fs);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "e"));
	CHECK_EQ(commits(fs), c0 + 1);
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(media_mode(fs, ino), 0);
	s1 = fsstat(fs);
	CHECK_EQ(s1.free_inodes, s0.free_inodes);
	CHECK_EQ(s1.free_blocks, s0.free_blocks);
	/* named by the kernel still: getattr answers, nothing else does */
	CHECK_OK(daxfs_getattr(fs, ino, &a));
	CHECK_EQ(a.ino, ino);
	CHECK_EQ(a.nlink, 0);
	CHECK_EQ(a.mode, S_IFREG | 0644);
	CHECK_EQ(daxfs_open_ref(fs, ino, 0), -ENOENT);
	CHECK_EQ(daxfs_iget(fs, ino), -ENOENT);
	/* its number is not handed out: fill every other inode */
	for (k = 0; !err; k++) {
		snprintf(name, sizeof(name), "fill%d", k);
		err = daxfs_create(fs, DAXFS_ROOT_INO, name, 0600, 0, 0, &a);
		CHECK(err == 0 || err == -ENOSPC);
		CHECK(err || a.ino != ino);
	}
	/* that ENOSPC aborted a transaction (the map was rebuilt): still taken */
	CHECK_EQ(daxfs_create(fs, DAXFS_ROOT_INO, "again", 0600, 0, 0, &a), -ENOSPC);
	daxfs_iput(fs, ino, 1);
	CHECK_EQ(daxfs_getattr(fs, ino, &a), -ENOENT);
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "last", 0600, 0, 0, &a));
	CHECK_EQ(a.ino, ino);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "last"));
	while (k-- > 1) {
		snprintf(name, sizeof(name), "fill%d", k - 1);
		CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, name));
	}
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes);
	close_clean(&fs, path);
}

/* a file with blocks, only looked up: freed by the unlink, through the list */
static void case_blocks(const char *path)
{
	struct daxfs *fs = open_refs(path);
	struct daxfs_statfs s0 = fsstat(fs);
	uint64_t ino = make_file(fs, "big", 3 << 20);
	struct daxfs_attr a;

	CHECK(fsstat(fs).free_blocks < s0.free_blocks);
	CHECK_OK(daxfs_iget(fs, ino));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "big"));
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(media_mode(fs, ino), 0);
	CHECK_EQ(fsstat(fs).free_blocks, s0.free_blocks);
	CHECK_OK(daxfs_getattr(fs, ino, &a));
	CHECK_EQ(a.size, 3 << 20);
	CHECK_EQ(a.nlink, 0);
	daxfs_iput(fs, ino, 1);
	close_clean(&fs, path);
}

/* unlink_kept - unlink @name (@ino, 8 KiB written by make_file) while
 * something keeps it: on the orphan list, still readable */
static void unlink_kept(struct daxfs *fs, const char *name, uint64_t ino)
{
	char got[8192];
	size_t n;

	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, name));
	CHECK_EQ(orphan_head(fs), ino);
	CHECK_OK(daxfs_read(fs, ino, 0, sizeof(got), got, &n));
	CHECK_EQ(n, sizeof(got));
	CHECK_EQ(got[100], 0x5a);
}

/* open references and pins keep an unlinked file until the last goes */
static void case_open(const char *path)
{
	struct daxfs *fs = open_refs(path);
	struct daxfs_statfs s0 = fsstat(fs);
	uint64_t ino = make_file(fs, "o", 8192), pino;
	struct daxfs_attr a;

	CHECK_OK(daxfs_open_ref(fs, ino, 1)); /* as a CREATE: an open and a lookup */
	CHECK_OK(daxfs_open_ref(fs, ino, 0));
	unlink_kept(fs, "o", ino);
	daxfs_open_put(fs, ino);
	CHECK_EQ(orphan_head(fs), ino); /* one open left */
	daxfs_open_put(fs, ino);
	CHECK_EQ(orphan_head(fs), 0); /* the last close freed it, lookups or not */
	CHECK_EQ(media_mode(fs, ino), 0);
	CHECK_EQ(fsstat(fs).free_blocks, s0.free_blocks);
	/* one too many: ignored */
	daxfs_open_put(fs, ino);
	/* the lookup taken with the open */
	CHECK_OK(daxfs_getattr(fs, ino, &a));
	CHECK_EQ(a.nlink, 0);
	daxfs_iput(fs, ino, 1);
	CHECK_EQ(daxfs_getattr(fs, ino, &a), -ENOENT);

	/* a pin (a DAX mapping's grant) keeps it the same way */
	pino = make_file(fs, "p", 8192);
	CHECK_OK(daxfs_iget(fs, pino));
	CHECK_OK(daxfs_pin(fs, pino));
	unlink_kept(fs, "p", pino);
	CHECK_OK(daxfs_unpin(fs, pino));
	daxfs_iput(fs, pino, 1);
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(fsstat(fs).free_blocks, s0.free_blocks);
	close_clean(&fs, path);
}

/*
 * daxfs_make with .open: the file is opened as it is made, so an unlink of
 * its name right after (another process: the name is visible as soon as
 * the create commits) finds it open and keeps it. The daemon took the open
 * reference in a second call before, after fs->lock had been dropped: an
 * unlink in between freed the file and the CREATE failed with ENOENT
 * although the file had been made. Also a tmpfile opened as it is made is
 * freed by its last close and iput; a directory cannot be opened so.
 */
static void case_make_open(const char *path)
{
	struct daxfs *fs = open_refs(path);
	struct daxfs_statfs s0 = fsstat(fs);
	struct daxfs_new n = {.mode = S_IFREG | 0644, .open = true, .lookups = 1};
	struct daxfs_attr a, g;
	uint64_t c0 = commits(fs);
	char buf[8192];
	size_t got;

	CHECK_OK(daxfs_make(fs, DAXFS_ROOT_INO, "mo", &n, &a));
	CHECK_EQ(commits(fs), c0 + 1);
	CHECK_EQ(a.nlink, 1);
	CHECK(S_ISREG(a.mode));
	memset(buf, 0x5a, sizeof(buf));
	CHECK_OK(daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &got));
	unlink_kept(fs, "mo", a.ino); /* the open made with it keeps it */
	daxfs_open_put(fs, a.ino);
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(media_mode(fs, a.ino), 0);
	CHECK_OK(daxfs_getattr(fs, a.ino, &g)); /* the lookup taken with it */
	CHECK_EQ(g.nlink, 0);
	daxfs_iput(fs, a.ino, 1);
	CHECK_EQ(daxfs_getattr(fs, a.ino, &g), -ENOENT);

	CHECK_OK(daxfs_make(fs, DAXFS_ROOT_INO, NULL, &n, &a)); /* a tmpfile */
	CHECK_EQ(a.nlink, 0);
	CHECK_EQ(orphan_head(fs), a.ino);
	daxfs_open_put(fs, a.ino);
	CHECK_EQ(orphan_head(fs), 0);
	daxfs_iput(fs, a.ino, 1);
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes);
	CHECK_EQ(fsstat(fs).free_blocks, s0.free_blocks);

	n.mode = S_IFDIR | 0755;
	CHECK_EQ(daxfs_make(fs, DAXFS_ROOT_INO, "dir", &n, &a), -EINVAL);
	CHECK_EQ(daxfs_lookup(fs, DAXFS_ROOT_INO, "dir", &a), -ENOENT);
	close_clean(&fs, path);
}

/* rename over a looked-up empty file frees it in the rename's transaction;
 * a ghost left at close is no trouble */
static void case_rename(const char *path)
{
	struct daxfs *fs = open_refs(path);
	struct daxfs_statfs s0 = fsstat(fs);
	uint64_t src = make_file(fs, "src", 0), dst = make_file(fs, "dst", 0), c0;
	struct daxfs_attr a;

	CHECK_OK(daxfs_iget(fs, dst));
	c0 = commits(fs);
	CHECK_OK(daxfs_rename(fs, DAXFS_ROOT_INO, "src", DAXFS_ROOT_INO, "dst", 0));
	CHECK_EQ(commits(fs), c0 + 1);
	CHECK_EQ(media_mode(fs, dst), 0);
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes - 1);
	CHECK_OK(daxfs_lookup(fs, DAXFS_ROOT_INO, "dst", &a));
	CHECK_EQ(a.ino, src);
	CHECK_OK(daxfs_close(&fs)); /* with the ghost still named */
	core_fsck_clean(path);
	fs = open_refs(path);
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "dst"));
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes);
	CHECK_OK(daxfs_close(&fs));
}

/* without the flag an iget keeps the inode, as before */
static void case_default(const char *path)
{
	struct daxfs *fs = core_open(path);
	struct daxfs_statfs s0 = fsstat(fs);
	uint64_t ino = make_file(fs, "d", 0);

	CHECK_OK(daxfs_iget(fs, ino));
	CHECK_OK(daxfs_unlink(fs, DAXFS_ROOT_INO, "d"));
	CHECK_EQ(orphan_head(fs), ino);
	CHECK(media_mode(fs, ino) != 0);
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes - 1);
	daxfs_iput(fs, ino, 1);
	CHECK_EQ(orphan_head(fs), 0);
	CHECK_EQ(fsstat(fs).free_inodes, s0.free_inodes);
	close_clean(&fs, path);
}

int main(void)
{
	const char *path = core_mkfs("openrefs", 64 << 20, 64);

	case_empty(path);
	case_blocks(path);
	case_open(path);
	case_make_open(path);
	case_rename(path);
	case_default(path);
	printf("test_core_openrefs: ok\n");
	return 0;
}
