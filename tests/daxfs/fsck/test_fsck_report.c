/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_report - issue 10 item 6, fsck's blind spots: a corrupt backup
 * superblock and a corrupt journal header were "clean"; after a crash the
 * unclean state and the pending orphans were not reported; the summary
 * printed by "fsck -y" showed the counts from before the repair; "points
 * to free inode N" was printed for an inode that was corrupt, not free.
 * Each is now reported by "fsck -n" (exit 4 where it is damage), fixed by
 * "fsck -y" (exit 1), and the next "fsck -n" exits 0.
 */
#include "fsck_test.h"

static void cycle(struct ft *t, const char *what)
{
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(t, what, true);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(t, what, true);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	FT_SAID(t, "clean", true);
	ft_same_tree(t);
}

int main(void)
{
	static struct ft t, crash;
	char id[64];

	ft_init(&t, "report", POP_CLEAN, 0);

	/* the backup superblock: one bit, then all random */
	ft_fresh(&t);
	ft_damage(&t, "backup", "", "magic", FT_FLIP, 9, false);
	cycle(&t, "backup superblock");
	ft_fresh(&t);
	ft_damage(&t, "backup", "", NULL, FT_RAND, 4, false);
	cycle(&t, "backup superblock");
	/* a backup whose geometry disagrees with the primary (resealed) */
	ft_fresh(&t);
	ft_damage(&t, "backup", "", "inode_count", FT_SET, 2048, true);
	cycle(&t, "backup superblock");

	/* the journal header: magic, then its checksum */
	ft_fresh(&t);
	ft_damage(&t, "jheader", "", "magic", FT_FLIP, 1, false);
	cycle(&t, "journal header");
	ft_fresh(&t);
	ft_damage(&t, "jheader", "", "crc", FT_FLIP, 30, false);
	cycle(&t, "journal header");

	/* an entry to a corrupt inode is not "to a free inode" */
	ft_fresh(&t);
	uint64_t victim = ft_ino(&t, "/small/f005");

	snprintf(id, sizeof(id), "%llu", (unsigned long long)victim);
	ft_damage(&t, "inode", id, NULL, FT_RAND, 8, false);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	{
		char free_msg[64], inode_msg[64];

		snprintf(free_msg, sizeof(free_msg), "free inode %llu", (unsigned long long)victim);
		snprintf(inode_msg, sizeof(inode_msg), "inode %llu", (unsigned long long)victim);
		FT_SAID(&t, free_msg, false);
		FT_SAID(&t, inode_msg, true);
		FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
		FT_SAID(&t, free_msg, false);
	}
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	uint64_t damaged[] = {victim, 0};

	CHECK_EQ(ft_missing(&t, damaged), 0);

	/* after a crash: unclean, orphans pending, a committed transaction */
	ft_init(&crash, "report-crash", POP_CRASH_COMMIT, 0);
	ft_fresh(&crash);
	FT_EXPECT(&crash, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&crash, "not cleanly unmounted", true);
	FT_SAID(&crash, "orphan list: 3 unlinked inodes", true);
	FT_SAID(&crash, "journal holds a committed transaction", true);
	/* the summary after -y shows the repaired state, as -n sees it next */
	FT_EXPECT(&crash, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	unsigned long after_repair = ft_summary_inodes(&crash);

	FT_EXPECT(&crash, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&crash, "not cleanly unmounted", false);
	FT_SAID(&crash, "orphan", false);
	CHECK_EQ(after_repair, ft_summary_inodes(&crash));
	ft_same_tree(&crash);

	/* the superblock's error record: shown, cleared by -y */
	ft_fresh(&t);
	ft_damage(&t, "inode", "/big", "size", FT_FLIP, 40, false);
	{
		struct daxfs *fs;
		struct daxfs_attr a;

		CHECK_OK(daxfs_open(t.img, 0, &fs));
		CHECK_EQ(daxfs_lookup(fs, 1, "big", &a), -EIO);
		daxfs_close(&fs);
	}
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "error record: errors:", true);
	FT_SAID(&t, "checksum mismatch", true);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(&t, "error record cleared", true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t, "error record", false);
	FT_SAID(&t, "not cleanly unmounted", false);

	/* a clean crash-free image reports none of it */
	ft_fresh(&t);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	FT_SAID(&t, "not cleanly unmounted", false);
	FT_SAID(&t, "orphan", false);
	return 0;
}
