/* SPDX-License-Identifier: MIT */
/*
 * iflags.c - the user flags of an inode (chattr: immutable, append-only,
 * no atime, no dump) and access time updates.
 *
 * The flags live in bits 8..15 of the on-media inode flags; the API uses
 * the FS_*_FL values of FS_IOC_GETFLAGS. Who may change them (the owner,
 * and CAP_LINUX_IMMUTABLE for immutable and append-only) is the kernel's
 * check; what they forbid is enforced where each change is made (namei.c,
 * file.c, xattr.c), as the kernel does for ext4.
 *
 * Access times follow the mount's policy, as the kernel applies it to a
 * local filesystem: never (noatime), relative (relatime: only when atime
 * is not after mtime or ctime, or is a day old) or always (strictatime).
 * The check reads the inode without the filesystem lock, so a read that
 * needs no update costs no lock and no transaction.
 */
#include <errno.h>
#include <sys/stat.h>

#include "core.h"
#include "errmsg.h"

static const struct {
	uint32_t api, disk;
} flag_map[] = {
	{DAXFS_FL_IMMUTABLE, DAXFS_IF_IMMUTABLE},
	{DAXFS_FL_APPEND, DAXFS_IF_APPEND},
	{DAXFS_FL_NOATIME, DAXFS_IF_NOATIME},
	{DAXFS_FL_NODUMP, DAXFS_IF_NODUMP},
};

#define NFLAGS (sizeof(flag_map) / sizeof(flag_map[0]))

static uint32_t flags_to_api(uint32_t disk)
{
	uint32_t api = 0;

	for (size_t k = 0; k < NFLAGS; k++)
		if (disk & flag_map[k].disk)
			api |= flag_map[k].api;
	return api;
}

int daxfs_getflags(struct daxfs *fs, uint64_t ino, uint32_t *flags)
{
	const struct daxfs_dinode *di;
	/* no lock: the daemon asks on writes; di_get rechecks a torn read */
	int err = di_get(fs, ino, &di);

	if (!err)
		*flags = flags_to_api(le32_to_cpu(di->flags));
	return err;
}

int daxfs_setflags(struct daxfs *fs, uint64_t ino, uint32_t flags)
{
	uint32_t disk = 0;
	int err;

	if (flags & ~DAXFS_FL_SUPPORTED)
		return pmd_err(-EOPNOTSUPP, "inode flags 0x%x are not supported (only 0x%x)",
			       flags & ~DAXFS_FL_SUPPORTED, DAXFS_FL_SUPPORTED);
	for (size_t k = 0; k < NFLAGS; k++)
		if (flags & flag_map[k].api)
			disk |= flag_map[k].disk;
	const struct daxfs_dinode *rd;

	if (dx_readonly(fs))
		return -EROFS;
	dx_lock(fs);
	err = di_get(fs, ino, &rd);
	if (err) {
		dx_unlock(fs);
		return err;
	}
	tx_begin(fs);
	struct daxfs_dinode *di = di_write(fs, ino);

	di->flags = cpu_to_le32((le32_to_cpu(di->flags) & ~DAXFS_IF_USER_KNOWN) | disk);
	di_touch(fs, di, TOUCH_C);
	err = tx_commit(fs);
	dx_unlock(fs);
	return err;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	return a.tv_nsec < b.tv_nsec ? -1 : a.tv_nsec > b.tv_nsec;
}

/* does a read of @di at @now update its atime under @policy? */
static bool atime_due(const struct daxfs_dinode *di, enum daxfs_atime policy, struct timespec now)
{
	struct timespec at = di_get_time(di, DAXFS_ATIME);

	if (policy == DAXFS_ATIME_NEVER || (le32_to_cpu(di->flags) & DAXFS_IF_NOATIME))
		return false;
	if (policy == DAXFS_ATIME_RELATIVE && ts_cmp(di_get_time(di, DAXFS_MTIME), at) < 0 &&
	    ts_cmp(di_get_time(di, DAXFS_CTIME), at) < 0 && now.tv_sec - at.tv_sec < 24 * 3600)
		return false;
	return ts_cmp(at, now) != 0;
}

int daxfs_touch_atime(struct daxfs *fs, uint64_t ino, enum daxfs_atime policy)
{
	struct timespec now = now_ts();
	const struct daxfs_dinode *di;
	int err;

	if (dx_readonly(fs) || policy == DAXFS_ATIME_NEVER)
		return 0;
	/* unlocked look at the home copy; checked again under the lock */
	if (di_get(fs, ino, &di) || !atime_due(di, policy, now))
		return 0;
	dx_lock(fs);
	err = di_get(fs, ino, &di);
	if (err || dx_readonly(fs) || !atime_due(di, policy, now)) {
		dx_unlock(fs);
		return err == -ENOENT ? 0 : err;
	}
	tx_begin(fs);
	di_set_time(fs, di_write(fs, ino), DAXFS_ATIME, now);
	err = tx_commit(fs);
	dx_unlock(fs);
	return err;
}
