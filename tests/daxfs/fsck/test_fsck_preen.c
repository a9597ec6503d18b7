/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_preen - "fsck -p" (preen, as fsck(8) runs it at boot) repairs
 * what needs no judgment: journal replay, orphans, the bitmap, block and
 * link counts, the backup superblock, the journal header (exit 1, then
 * "fsck -n" exits 0). Damage whose repair could lose or move data (a
 * corrupt directory block, a corrupt inode) is left alone with a message
 * saying to run fsck -y: exit 4, and "fsck -n" still sees it.
 */
#include "fsck_test.h"

static void preened(struct ft *t)
{
	FT_EXPECT(t, DAXFS_FSCK_PREEN, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	ft_same_tree(t);
}

static void refused(struct ft *t, const char *what)
{
	FT_EXPECT(t, DAXFS_FSCK_PREEN, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(t, "run fsck.daxfs -y", true);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(t, what, true);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
}

int main(void)
{
	static struct ft t, crash;
	char id[64];

	ft_init(&crash, "preen-crash", POP_CRASH_COMMIT, 0);
	ft_fresh(&crash);
	preened(&crash);

	ft_init(&t, "preen", POP_CLEAN, 0);
	ft_fresh(&t);
	ft_damage(&t, "backup", "", "magic", FT_FLIP, 9, false);
	preened(&t);
	ft_fresh(&t);
	ft_damage(&t, "jheader", "", "magic", FT_FLIP, 1, false);
	preened(&t);
	ft_fresh(&t);
	ft_damage(&t, "bitmap", "0", NULL, FT_FLIP, FT_IMAGE_BYTES / 4096 - 1, false); /* last */
	preened(&t);
	ft_fresh(&t);
	ft_damage(&t, "bitmap", "0", NULL, FT_FLIP, 4096 * 8 - 1, false); /* past the end */
	preened(&t);
	ft_fresh(&t);
	ft_damage(&t, "inode", "/small/f001", "nlink", FT_SET, 3, true);
	preened(&t);
	ft_fresh(&t);
	ft_damage(&t, "inode", "/big", "blocks", FT_SET, 7, true);
	preened(&t);

	/* needs judgment */
	ft_fresh(&t);
	ft_nth(&t, "dnode", ft_ino(&t, "/small"), 1, id, sizeof(id));
	ft_damage(&t, "block", id, NULL, FT_FLIP, 3000 * 8, false);
	refused(&t, "directory");
	ft_fresh(&t);
	ft_damage(&t, "inode", "/big", NULL, FT_RAND, 2, false);
	refused(&t, "inode");
	return 0;
}
