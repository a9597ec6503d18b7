/* SPDX-License-Identifier: MIT */
/*
 * test_fsck_converge - the image fuzzer's findings (issue 10, docs/design.md
 * "The image fuzzer"), one deterministic case per kind, each with the
 * checksum recomputed as the fuzzer does (a deliberate-looking change that
 * only the field checks can catch):
 *  - damage the core refuses on read but fsck took for sound, so that after
 *    "fsck -y" and a clean "fsck -n" a walk still failed: a map held in the
 *    inode with a chain link set (seeds 855, 1075, 1403); an index key that
 *    puts a leaf's entries out of its range (986); a leaf heap start above
 *    its first entry (1131); a free byte count that no longer leaves the
 *    heap room for the entries (the core's overlap check); an extent at file block 0xffffffff, whose end
 *    wrapped to 0 in fsck's arithmetic (1024);
 *  - an unknown read-only compatible feature bit in the primary superblock
 *    only: "fsck -y" copied it into the backup and then could not open the
 *    filesystem (656, 1429); when both superblocks have it, fsck refuses
 *    without writing anything;
 *  - a flipped bit in an extent's length that runs it over the next files'
 *    blocks: the damaged file won the shared blocks and an undamaged
 *    neighbour lost its data (230, 1452); a length grown over the file's
 *    own next extents, whose blocks then went uncounted (1962, 2077);
 *  - a size of 2 TiB on a small file: the walk read terabytes of holes
 *    (1110; the walk now skips holes, so this ends at once).
 * Each: "fsck -n" reports, "fsck -y" repairs, "fsck -n" is then clean, the
 * repaired image walks without a read error, and every file that was not
 * damaged reads as before (where nothing of the damaged file was lost, the
 * whole tree is the same).
 */
#include "fsck_test.h"

/* the usual sequence; @victim (0: none) may differ afterwards */
static void converge(struct ft *t, uint64_t victim)
{
	uint64_t damaged[] = {victim, 0};

	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	CHECK_EQ(ft_missing(t, victim ? damaged : NULL), 0);
}

/* a field of one structure, read from the image @path */
static uint64_t get_field(const char *path, const char *kind, const char *id, const char *field)
{
	struct pmr_region *r;
	struct dbg_img im;
	struct dbg_obj o;
	enum dbg_kind k;
	uint64_t v = 0;

	CHECK_OK(pmr_open(path, PMR_F_RDONLY, &r));
	CHECK_OK(dbg_img_init(&im, pmr_addr(r), pmr_size(r)));
	CHECK_OK(dbg_kind_parse(kind, &k));
	CHECK_OK(dbg_find(&im, k, id, &o));
	CHECK_OK(dbg_get(&im, &o, dbg_field(&im, &o, field), &v));
	pmr_close(&r);
	return v;
}

int main(void)
{
	static struct ft t;
	char id[64], path[64];
	uint64_t small, frag, f;

	ft_init(&t, "converge", POP_CLEAN, 0);
	small = ft_ino(&t, "/small");
	frag = ft_ino(&t, "/frag");

	/* a small file's map in the inode, with a chain link set */
	f = ft_ino(&t, "/small/f020");
	snprintf(id, sizeof(id), "%llu", (unsigned long long)f);
	ft_fresh(&t);
	ft_damage(&t, "inode", id, "ext_next", FT_SET, 4, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "chain link", true);
	converge(&t, 0);
	ft_same_tree(&t);

	/* an index key that moves entries out of their leaf's range */
	ft_fresh(&t);
	ft_nth(&t, "dindex", small, 1, id, sizeof(id));
	ft_damage(&t, "dindex", id, "key", FT_SET, UINT64_MAX - 1, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "range its index gives it", true);
	converge(&t, 0);
	ft_same_tree(&t);

	/* a leaf's heap start moved above its first entry (still aligned) */
	ft_fresh(&t);
	ft_nth(&t, "dnode", small, 1, id, sizeof(id));
	ft_damage(&t, "dnode", id, "heap_start", FT_SET,
		  get_field(t.base, "dnode", id, "heap_start") + 8, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "below the heap start", true);
	converge(&t, 0);
	ft_same_tree(&t);

	/* a leaf's free byte count raised so that its entries no longer fit
	 * in the heap: the core refuses the leaf, so fsck must too */
	ft_fresh(&t);
	ft_nth(&t, "dnode", small, 1, id, sizeof(id));
	ft_damage(&t, "dnode", id, "frag", FT_SET,
		  4096 - get_field(t.base, "dnode", id, "heap_start"), true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "more entry and free bytes than its heap holds", true);
	converge(&t, 0);
	ft_same_tree(&t);

	/* an extent at file block 0xffffffff: put back in the gap it left */
	ft_fresh(&t);
	ft_nth(&t, "extent", frag, 223, id, sizeof(id));
	ft_damage(&t, "extent", id, "lblk", FT_SET, UINT32_MAX, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "past the end of the file", true);
	converge(&t, 0);
	ft_same_tree(&t);

	/* an unknown ro_compat bit in the primary only: cleared */
	ft_fresh(&t);
	ft_damage(&t, "sb", "", "feat_ro_compat", FT_FLIP, 12, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(&t, "unknown read-only compatible features 0x1000", true);
	converge(&t, 0);
	ft_same_tree(&t);
	/* ... in both: a newer daxfs made it; nothing is written */
	ft_fresh(&t);
	ft_damage(&t, "sb", "", "feat_ro_compat", FT_FLIP, 12, true);
	ft_damage(&t, "backup", "", "feat_ro_compat", FT_FLIP, 12, true);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_OPERROR);
	FT_SAID(&t, "cannot check it", true);
	FT_EXPECT(&t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_OPERROR);
	CHECK(get_field(t.img, "backup", "", "feat_ro_compat") & (1U << 12));
	CHECK(get_field(t.img, "sb", "", "feat_ro_compat") & (1U << 12));

	/* an extent length grown over the next files' blocks: they keep them */
	f = ft_ino(&t, "/small/f020");
	snprintf(id, sizeof(id), "%llu.0", (unsigned long long)f);
	ft_fresh(&t);
	ft_damage(&t, "extent", id, "len", FT_FLIP, 5, true);
	converge(&t, f);

	/* a one-block extent of /frag grown to 3: it runs over /frag2's block
	 * between them and over its own next two extents, which are left out;
	 * their blocks still count, so /frag is the odd map and /frag2 keeps
	 * its block (seeds 1962, 2077) */
	ft_fresh(&t);
	ft_nth(&t, "extent", frag, 10, id, sizeof(id));
	CHECK_EQ(get_field(t.base, "extent", id, "len"), 1);
	ft_damage(&t, "extent", id, "len", FT_SET, 3, true);
	converge(&t, frag);

	/* a size of 2 TiB: a sparse file, which is no damage; the walk ends */
	snprintf(path, sizeof(path), "%llu", (unsigned long long)f);
	ft_fresh(&t);
	ft_damage(&t, "inode", path, "size", FT_FLIP, 41, true);
	FT_EXPECT(&t, DAXFS_FSCK_CHECK, 0);
	CHECK_EQ(ft_missing(&t, (uint64_t[]){f, 0}), 0);
	return 0;
}
