/* SPDX-License-Identifier: MIT */
/*
 * test_core_replay - journal recovery: a child process dies inside a
 * transaction commit at each step of the protocol (records written but not
 * committed; committed but not applied; half applied; applied but not
 * retired). The operation must be wholly absent after step 1 and wholly
 * present after the others, "fsck -n" must report the pending journal
 * before recovery (steps 2-4), and after the next open the image is clean.
 * The operations are a create in a directory big enough to split a leaf
 * and a cross-directory rename, which touch many blocks.
 *
 * Then a committed transaction whose record of a whole directory node has
 * its offset moved onto another node of the same directory, the journal's
 * checksums made again: replay must refuse it (the open fails, naming the
 * record), and fsck -y drops it, leaving every name of the directory.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "core.h"
#include "test_core_util.h"
#include "units.h"

static int fsck_n(const char *path)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = devnull};
	int rc = daxfs_fsck(path, &o);

	fclose(devnull);
	return rc;
}

static int count_names(void *ctx, const char *name, uint64_t ino, unsigned type, uint64_t next)
{
	(void)name, (void)ino, (void)type, (void)next;
	++*(int *)ctx;
	return 0;
}

static void populate(const char *path)
{
	struct daxfs *fs = core_open(path);
	char name[64];

	CHECK_OK(daxfs_mkdir(fs, 1, "a", 0755, 0, 0, NULL));
	CHECK_OK(daxfs_mkdir(fs, 1, "b", 0755, 0, 0, NULL));
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "a-long-enough-name-to-fill-leaves-%04d", k);
		CHECK_OK(daxfs_create(fs, 2, name, 0644, 0, 0, NULL));
	}
	CHECK_OK(daxfs_close(&fs));
}

/* does a record of the committed journal of @p land in block @blk? */
static bool tx_writes(uint8_t *p, const struct daxfs_dsuper *sb, uint64_t blk)
{
	uint8_t *jb = p + blk_to_off(le64_to_cpu(sb->journal_blk));
	uint64_t len = le64_to_cpu(((const struct daxfs_jheader *)jb)->len);

	for (uint64_t pos = 0; pos < len;) {
		const struct daxfs_jrec *r = (const void *)(jb + BLK_SIZE + pos);

		if (le64_to_cpu(r->off) / BLK_SIZE == blk)
			return true;
		pos += sizeof(*r) + le32_to_cpu(r->len);
	}
	return false;
}

/* the first record of the committed journal of @p that holds a whole block */
static struct daxfs_jrec *whole_block_rec(uint8_t *p, const struct daxfs_dsuper *sb)
{
	uint8_t *jb = p + blk_to_off(le64_to_cpu(sb->journal_blk));
	const struct daxfs_jheader *h = (const void *)jb;
	uint64_t len = le64_to_cpu(h->len);

	CHECK_EQ(le32_to_cpu(h->state), DAXFS_JNL_COMMITTED);
	for (uint64_t pos = 0; pos < len;) {
		struct daxfs_jrec *r = (void *)(jb + BLK_SIZE + pos);

		if (le32_to_cpu(r->len) == BLK_SIZE)
			return r;
		pos += sizeof(*r) + le32_to_cpu(r->len);
	}
	return NULL;
}

/* create names in directory 2 until a commit writes a whole node; crash there */
static void moved_node(const char *path)
{
	static char names[512];
	struct pmr_region *r;
	struct daxfs_jrec *rec = NULL;
	uint8_t *p;
	int n, expect = 0;

	for (int k = 0; !rec && k < 3000; k++) {
		struct daxfs *fs0 = core_open(path);
		pid_t pid;
		int status;

		expect = 0; /* the entries before this create */
		CHECK_OK(daxfs_readdir(fs0, 2, 0, count_names, &expect));
		CHECK_OK(daxfs_close(&fs0));
		pid = fork();

		CHECK(pid >= 0);
		if (pid == 0) {
			struct daxfs *fs = core_open(path);

			snprintf(names, sizeof(names), "moved-node-%04d-with-a-long-name", k);
			daxfs_test_crash_at(1, 2); /* committed, nothing applied */
			daxfs_create(fs, 2, names, 0644, 0, 0, NULL);
			_exit(0);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == DAXFS_TEST_CRASH_EXIT);
		CHECK_OK(pmr_open(path, 0, &r));
		p = pmr_addr(r);
		rec = whole_block_rec(p, (const void *)p);
		if (!rec) {
			pmr_close(&r);
			struct daxfs *fs = core_open(path); /* replays it: go on */

			CHECK_OK(daxfs_close(&fs));
		}
	}
	CHECK(rec);
	{
		/* the record moved, the journal's checksums made again */
		struct daxfs_dsuper *sb = (void *)p;
		uint8_t *jb = p + blk_to_off(le64_to_cpu(sb->journal_blk));
		struct daxfs_jheader *h = (void *)jb;
		uint64_t blk = le64_to_cpu(rec->off) / BLK_SIZE;
		const struct daxfs_dinode *dir =
			(const void *)(p + blk_to_off(le64_to_cpu(sb->itable_blk)) +
				       DAXFS_INODE_SIZE);
		const struct daxfs_dnode *root =
			(const void *)(p + blk_to_off(le64_to_cpu(dir->dir.root)));
		const struct daxfs_dindex *x = (const void *)(root + 1);
		uint64_t other = 0;

		/*
		 * another child of the directory's root, one the transaction
		 * does not write (a record moved onto a block the same
		 * transaction rewrites whole is overwritten by it in replay)
		 */
		CHECK(le16_to_cpu(root->level) > 0);
		for (unsigned i = 0; i < le16_to_cpu(root->nslots) && !other; i++)
			if (le64_to_cpu(x[i].child) != blk &&
			    !tx_writes(p, sb, le64_to_cpu(x[i].child)))
				other = le64_to_cpu(x[i].child);
		CHECK(other);
		rec->off = cpu_to_le64(blk_to_off(other));
		h->crc_records = cpu_to_le32(daxfs_crc32c(0, jb + BLK_SIZE, le64_to_cpu(h->len)));
		h->crc =
			cpu_to_le32(daxfs_csum(h, sizeof(*h), offsetof(struct daxfs_jheader, crc)));
		pmr_persist(r, jb, BLK_SIZE);
		pmr_close(&r);
	}
	{
		struct daxfs *fs;
		FILE *devnull = fopen("/dev/null", "w");
		struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_REPAIR, .out = devnull};

		CHECK_EQ(daxfs_open(path, 0, &fs), -EINVAL);
		CHECK(strstr(pmd_errmsg(), "does not lead to"));
		CHECK_EQ(daxfs_fsck(path, &o), DAXFS_FSCK_CORRECTED);
		fclose(devnull);
		CHECK_EQ(fsck_n(path), 0);
		fs = core_open(path);
		n = 0;
		CHECK_OK(daxfs_readdir(fs, 2, 0, count_names, &n));
		CHECK_OK(daxfs_close(&fs));
		/* every entry but the dropped create's */
		CHECK_EQ(n, expect);
		printf("moved node: refused, dropped by fsck -y, %d entries kept\n", n);
	}
}

int main(void)
{
	const char *path = core_mkfs("replay", 16 * MiB, 0);
	char name[64];

	populate(path);
	for (int op = 0; op < 2; op++) {
		for (int step = 1; step <= 4; step++) {
			pid_t pid = fork();
			int status;

			CHECK(pid >= 0);
			if (pid == 0) {
				struct daxfs *fs = core_open(path);

				daxfs_test_crash_at(1, step);
				if (op == 0) {
					snprintf(name, sizeof(name), "new-%d", step);
					daxfs_create(fs, 2, name, 0644, 0, 0, NULL);
				} else {
					snprintf(name, sizeof(name),
						 "a-long-enough-name-to-fill-leaves-%04d", step);
					daxfs_rename(fs, 2, name, 3, "moved", 0);
				}
				_exit(0); /* the crash point did not trigger */
			}
			CHECK(waitpid(pid, &status, 0) == pid);
			CHECK(WIFEXITED(status));
			CHECK_EQ(WEXITSTATUS(status), DAXFS_TEST_CRASH_EXIT);
			CHECK_EQ(fsck_n(path), step == 1 ? 0 : 4);

			struct daxfs *fs = core_open(path); /* replays */
			bool present;

			if (op == 0) {
				snprintf(name, sizeof(name), "new-%d", step);
				present = daxfs_lookup(fs, 2, name, NULL) == 0;
			} else {
				snprintf(name, sizeof(name),
					 "a-long-enough-name-to-fill-leaves-%04d", step);
				present = daxfs_lookup(fs, 3, "moved", NULL) == 0;
				/* never both, never neither */
				CHECK_EQ(present, daxfs_lookup(fs, 2, name, NULL) == -ENOENT);
				if (present)
					CHECK_OK(daxfs_rename(fs, 3, "moved", 1, name, 0));
			}
			CHECK_EQ(present, step != 1);
			CHECK_OK(daxfs_close(&fs));
			CHECK_EQ(fsck_n(path), 0);
			printf("op %d crash at step %d: %s after recovery\n", op, step,
			       present ? "present" : "absent");
		}
	}
	moved_node(path);
	return 0;
}
