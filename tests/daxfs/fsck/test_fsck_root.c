/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_root - issue 10 item 3: one bit flipped in the root inode's
 * block count made "fsck -y" clear inode 1, print "root directory is
 * missing" four times and leave everything unreachable. Now: a root inode
 * whose type and tree still make sense is repaired field by field (with a
 * stale or a resealed checksum), and a root that is gone (zeroed, random,
 * not a directory, tree pointer out of range) is rebuilt and every file
 * comes back under its own name (from the inode extension table; without
 * it, on a version 1 image, into /lost+found; a hard link keeps the one
 * name the table records). In every case "fsck -y" exits 1 and the next
 * "fsck -n" exits 0.
 */
#include "fsck_test.h"

static void repair_cycle(struct ft *t)
{
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(t, "root directory is missing", false);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
}

/* a rebuilt root: every file back under its name, nothing in /lost+found */
static void all_back(struct ft *t)
{
	struct pop_manifest now;

	CHECK_EQ(ft_missing(t, NULL), 0);
	ft_manifest(t, t->img, &now);
	CHECK(!pop_find(&now, "/lost+found"));
	pop_free(&now);
}

int main(void)
{
	static struct ft t, v1;

	ft_init(&t, "root", POP_CLEAN, 0);

	/* one bit of the block count, checksum stale: repaired in place */
	ft_fresh(&t);
	ft_damage(&t, "inode", "1", "blocks", FT_FLIP, 3, false);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "inode 1: checksum mismatch", true);
	FT_SAID(&t, "root directory is missing", false);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(&t, "cleared", false);
	FT_SAID(&t, "root directory is missing", false);
	FT_SAID(&t, "lost+found", false);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	ft_same_tree(&t);

	/* the same bit with the checksum resealed: a wrong block count */
	ft_fresh(&t);
	ft_damage(&t, "inode", "1", "blocks", FT_FLIP, 3, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "inode 1: block count", true);
	repair_cycle(&t);
	ft_same_tree(&t);

	/* a root that is gone: rebuilt, every name found again */
	ft_fresh(&t);
	ft_damage(&t, "inode", "1", NULL, FT_ZERO, 0, false);
	repair_cycle(&t);
	all_back(&t);

	ft_fresh(&t);
	ft_damage(&t, "inode", "1", NULL, FT_RAND, 5, false);
	repair_cycle(&t);
	all_back(&t);

	ft_fresh(&t);
	ft_damage(&t, "inode", "1", "mode", FT_SET, S_IFREG | 0644, true);
	repair_cycle(&t);
	all_back(&t);

	ft_fresh(&t);
	ft_damage(&t, "inode", "1", "root", FT_SET, UINT64_C(1) << 40, true);
	repair_cycle(&t);
	all_back(&t);

	/* a version 1 image: field repair is the same; a lost root's files
	 * keep their data, in /lost+found */
	ft_init(&v1, "root1", POP_CLEAN, 1);
	ft_fresh(&v1);
	ft_damage(&v1, "inode", "1", "blocks", FT_FLIP, 3, false);
	repair_cycle(&v1);
	ft_same_tree(&v1);
	ft_fresh(&v1);
	ft_damage(&v1, "inode", "1", NULL, FT_ZERO, 0, false);
	repair_cycle(&v1);
	FT_EXPECT(&v1, DAXFS_FSCK_CHECK, 0);
	{
		struct pop_manifest now;
		size_t in_lf = 0;

		ft_manifest(&v1, v1.img, &now);
		for (size_t k = 0; k < now.n; k++)
			in_lf += !strncmp(now.e[k].path, "/lost+found/#", 13);
		CHECK(in_lf >= 5); /* small, big, sparse, frag, frag2, dir, ... */
		pop_free(&now);
	}
	return 0;
}
