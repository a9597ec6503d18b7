/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_salvage - issue 10 item 5: one bad byte in a directory leaf
 * sent all 52 entries of the leaf to /lost+found as "#N". Now fsck keeps
 * every good entry of a damaged directory block and rebuilds the
 * directory around them; an entry that is itself damaged gets its name
 * back from the inode extension table. Damage: a bit of a name, a slot
 * offset, a whole leaf zeroed, an index node randomised, with the
 * checksum stale or resealed. On a version 1 image (no table) every good
 * entry keeps its name and only the damaged one lands in /lost+found.
 */
#include "fsck_test.h"

static void repair(struct ft *t)
{
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(t, "lost+found", false);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	ft_same_tree(t);
}

int main(void)
{
	static struct ft t, v1;
	char id[64];
	uint64_t small;

	ft_init(&t, "salvage", POP_CLEAN, 0);
	small = ft_ino(&t, "/small");

	/* a bit of one name (stale checksum, then resealed) */
	for (int reseal = 0; reseal < 2; reseal++) {
		ft_fresh(&t);
		ft_nth(&t, "dentry", small, 40, id, sizeof(id));
		ft_damage(&t, "dentry", id, NULL, FT_FLIP, (DBG_DENTRY_HDR + 1) * 8 + 2, reseal);
		FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
		FT_SAID(&t, "directory", true);
		repair(&t);
	}

	/* one slot offset of a leaf */
	ft_fresh(&t);
	ft_nth(&t, "dnode", small, 1, id, sizeof(id));
	ft_damage(&t, "block", id, NULL, FT_FLIP, (32 + 2 * 7) * 8 + 4, false);
	repair(&t);

	/* a whole leaf zeroed */
	ft_fresh(&t);
	ft_nth(&t, "dnode", small, 2, id, sizeof(id));
	ft_damage(&t, "block", id, NULL, FT_ZERO, 0, false);
	repair(&t);

	/* the index node (the tree's root) randomised */
	ft_fresh(&t);
	ft_nth(&t, "dnode", small, 0, id, sizeof(id));
	ft_damage(&t, "block", id, NULL, FT_RAND, 3, false);
	repair(&t);

	/* version 1: the good entries keep their names */
	ft_init(&v1, "salvage1", POP_CLEAN, 1);
	small = ft_ino(&v1, "/small");
	ft_fresh(&v1);
	struct dbg_obj o = ft_nth(&v1, "dentry", small, 40, id, sizeof(id));
	const struct daxfs_dentry *e;
	uint64_t victim;
	{
		struct pmr_region *r;

		CHECK_OK(pmr_open(v1.base, PMR_F_RDONLY, &r));
		e = (const void *)((const uint8_t *)pmr_addr(r) + o.off);
		victim = le64_to_cpu(e->ino);
		pmr_close(&r);
	}
	ft_damage(&v1, "dentry", id, NULL, FT_FLIP, (DBG_DENTRY_HDR + 1) * 8 + 2, false);
	FT_EXPECT(&v1, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(&v1, DAXFS_FSCK_CHECK, 0);
	uint64_t damaged[] = {victim, 0};

	CHECK_EQ(ft_missing(&v1, damaged), 0);
	{
		struct pop_manifest now;
		char want[64];

		snprintf(want, sizeof(want), "/lost+found/#%llu", (unsigned long long)victim);
		ft_manifest(&v1, v1.img, &now);
		CHECK(pop_find(&now, want));
		pop_free(&now);
	}
	return 0;
}
