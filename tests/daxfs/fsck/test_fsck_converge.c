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
 *    (1110; the walk now skips holes, so this ends at once);
 *  - a flipped bit in an extent's block number that points it at another
 *    file's data, both maps sound (seeds 1798, 3103): the damaged file
 *    won the tie and the undamaged one lost its block. Now each file but
 *    one gets its own copy of the multiply-claimed blocks (e2fsck's passes
 *    1B-1D), so every file reads after "fsck -y" what it read before:
 *    two files, several on one block, a damaged extent spanning two
 *    files' extents, and a full filesystem (no space for the copy: the old
 *    rule, said in the report). These run alone by name
 *    (test_fsck_converge share_two ...).
 * Each: "fsck -n" reports, "fsck -y" repairs, "fsck -n" is then clean, the
 * repaired image walks without a read error, and every file that was not
 * damaged reads as before (where nothing of the damaged file was lost, the
 * whole tree is the same).
 */
#include <sys/wait.h>

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

/* the manifest of the damaged copy: what each file reads before fsck */
static void before_fsck(struct ft *t, struct pop_manifest *m)
{
	ft_manifest(t, t->img, m);
	CHECK_EQ(m->errors, 0);
}

/* every name of @before is in the repaired copy with the same inode and
 * contents, and nothing else is: each file reads what it read before */
static void same_as_before(struct ft *t, const struct pop_manifest *before)
{
	struct pop_manifest now;
	unsigned bad = 0;

	ft_manifest(t, t->img, &now);
	CHECK_EQ(now.errors, 0);
	for (size_t k = 0; k < before->n; k++) {
		const struct pop_entry *e = &before->e[k], *n = pop_find(&now, e->path);

		if (!n || n->ino != e->ino || n->mode != e->mode || n->crc != e->crc ||
		    n->size != e->size) {
			fprintf(stderr, "%s (inode %llu) %s after fsck -y\n", e->path,
				(unsigned long long)e->ino, n ? "reads differently" : "is gone");
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(now.n, before->n);
	pop_free(&now);
}

static uint64_t ext_get(struct ft *t, uint64_t ino, unsigned k, const char *field)
{
	char id[64];

	snprintf(id, sizeof(id), "%llu.%u", (unsigned long long)ino, k);
	return get_field(t->base, "extent", id, field);
}

/* extent @k of @ino now points at region block @pblk (checksum recomputed) */
static void point_at(struct ft *t, uint64_t ino, unsigned k, uint64_t pblk)
{
	char id[64];

	snprintf(id, sizeof(id), "%llu.%u", (unsigned long long)ino, k);
	ft_damage(t, "extent", id, "pblk", FT_SET, pblk, true);
}

/* the JSON report of "fsck -n" on the copy */
static void fsck_json(struct ft *t)
{
	FILE *f = fmemopen(t->out, sizeof(t->out) - 1, "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = f, .json = true};

	CHECK(f);
	CHECK_EQ(daxfs_fsck(t->img, &o), DAXFS_FSCK_UNCORRECTED);
	fclose(f);
}

/* -n reports the sharing (and says @also), -y copies, -n is clean, every
 * file reads as before */
static void share_converge(struct ft *t, uint64_t loser, uint64_t keeper, const char *also)
{
	struct pop_manifest before;
	char want[96];

	before_fsck(t, &before);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	snprintf(want, sizeof(want), "ERROR: inode %llu (", (unsigned long long)loser);
	FT_SAID(t, want, true);
	FT_SAID(t, "multiply-claimed block", true);
	snprintf(want, sizeof(want), "NOTE: inode %llu (", (unsigned long long)keeper);
	FT_SAID(t, want, true);
	if (also)
		FT_SAID(t, also, true);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(t, "its own copy of the multiply-claimed", true);
	FT_SAID(t, "is in use twice", false);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	same_as_before(t, &before);
	pop_free(&before);
}

/* two files whose sound maps name one block: the damaged one (lower inode
 * number) wins the tie; the undamaged one must keep its bytes */
static void case_share_two(struct ft *t)
{
	uint64_t a = ft_ino(t, "/small/f010"), b = ft_ino(t, "/small/f020");
	char want[320];

	CHECK(a < b);
	CHECK_EQ(ext_get(t, a, 0, "len"), ext_get(t, b, 0, "len"));
	ft_fresh(t);
	point_at(t, a, 0, ext_get(t, b, 0, "pblk"));
	fsck_json(t);
	snprintf(want, sizeof(want),
		 "\"multiply_claimed\": [{\"inode\": %llu, \"path\": \"/small/f020\", "
		 "\"file_block\": 0, \"block\": %llu, \"blocks\": 1, \"kept_by\": %llu, "
		 "\"kept_by_path\": \"/small/f010\", \"result\": \"found\"}]",
		 (unsigned long long)b, (unsigned long long)ext_get(t, b, 0, "pblk"),
		 (unsigned long long)a);
	FT_SAID(t, want, true);
	share_converge(t, b, a, NULL);
}

/* three damaged files point at a fourth's block: all four keep their bytes */
static void case_share_several(struct ft *t)
{
	uint64_t a1 = ft_ino(t, "/small/f010"), a2 = ft_ino(t, "/small/f020");
	uint64_t b = ft_ino(t, "/small/f030"), a3 = ft_ino(t, "/small/f040");
	uint64_t p = ext_get(t, b, 0, "pblk");
	char want[96];

	CHECK(a1 < a2 && a2 < b && b < a3);
	ft_fresh(t);
	point_at(t, a1, 0, p);
	point_at(t, a2, 0, p);
	point_at(t, a3, 0, p);
	/* the keeper's note lists the block once and the three others */
	snprintf(want, sizeof(want), "keeps 1 multiply-claimed block (%llu), shared with 3 files",
		 (unsigned long long)p);
	share_converge(t, b, a1, want);
}

/* a two-block extent of /sparse pointed at one block of /frag and the
 * next, of /frag2 (the two were written block by block in turn): the run
 * it shares spans both files' extents, and both keep their bytes */
static void case_share_span(struct ft *t)
{
	uint64_t s = ft_ino(t, "/sparse"), f1 = ft_ino(t, "/frag"), f2 = ft_ino(t, "/frag2");
	uint64_t p = ext_get(t, f1, 10, "pblk");
	char want[96];

	CHECK(s < f1 && f1 < f2);
	CHECK_EQ(ext_get(t, s, 0, "len"), 2);
	CHECK_EQ(ext_get(t, f2, 10, "pblk"), p + 1);
	ft_fresh(t);
	point_at(t, s, 0, p);
	snprintf(want, sizeof(want),
		 "keeps 2 multiply-claimed blocks (%llu..%llu), shared with 2 files",
		 (unsigned long long)p, (unsigned long long)p + 1);
	share_converge(t, f1, s, want);
}

/* fill the copy's free space with files */
static void fill_up(struct ft *t)
{
	static uint8_t buf[4096];
	struct daxfs_statfs st;
	struct daxfs *fs;
	uint64_t off = 0;
	struct daxfs_attr a;
	size_t done;
	char name[32];

	memset(buf, 0x5a, sizeof(buf));
	CHECK_OK(daxfs_open(t->img, 0, &fs));
	CHECK_OK(daxfs_create(fs, DAXFS_ROOT_INO, "fill", 0644, 0, 0, &a));
	while (!daxfs_write(fs, a.ino, off, sizeof(buf), buf, &done) && done)
		off += done;
	for (int k = 0; k < 4096; k++) {
		snprintf(name, sizeof(name), "fill%04d", k);
		if (daxfs_create(fs, DAXFS_ROOT_INO, name, 0644, 0, 0, &a) ||
		    daxfs_write(fs, a.ino, 0, sizeof(buf), buf, &done) || !done)
			break;
	}
	CHECK_OK(daxfs_statfs(fs, &st));
	CHECK_EQ(st.free_blocks, 0);
	CHECK_OK(daxfs_close(&fs));
}

/* no space for the copy: the old rule (the file later in trust order loses
 * the shared block), and the report says so */
static void case_share_nospace(struct ft *t)
{
	uint64_t a = 0, b = ft_ino(t, "/small/f020");
	char id[32];

	for (size_t k = 0; k < t->m.n && !a; k++) /* the empty file of /small */
		if (!strncmp(t->m.e[k].path, "/small/", 7) && S_ISREG(t->m.e[k].mode) &&
		    !t->m.e[k].size)
			a = t->m.e[k].ino;
	CHECK(a && a < b);
	ft_fresh(t);
	fill_up(t);
	/* the empty file gains a sound one-block map onto /small/f020's block:
	 * no blocks of its own are left over to free */
	snprintf(id, sizeof(id), "%llu", (unsigned long long)a);
	ft_damage(t, "inode", id, "nextents", FT_SET, 1, true);
	ft_damage(t, "inode", id, "size", FT_SET, 4096, true);
	ft_damage(t, "inode", id, "blocks", FT_SET, 1, true);
	snprintf(id, sizeof(id), "%llu.0", (unsigned long long)a);
	ft_damage(t, "extent", id, "lblk", FT_SET, 0, true);
	ft_damage(t, "extent", id, "len", FT_SET, 1, true);
	point_at(t, a, 0, ext_get(t, b, 0, "pblk"));
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(t, "multiply-claimed block", true);
	FT_EXPECT(t, DAXFS_FSCK_REPAIR, DAXFS_FSCK_CORRECTED);
	FT_SAID(t, "no space for a copy of the multiply-claimed blocks", true);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
	CHECK_EQ(ft_missing(t, (uint64_t[]){a, b, 0}), 0);
}

/*
 * a crash at any commit of "fsck -y" (its records written but not its
 * header, or half applied) while it copies shared blocks: the next
 * "fsck -y" finishes the repair and every file reads as before
 */
static void case_share_crash(struct ft *t)
{
	uint64_t a = ft_ino(t, "/small/f010"), b = ft_ino(t, "/small/f020");
	uint64_t p = ext_get(t, b, 0, "pblk");
	struct pop_manifest before;
	unsigned crashed = 0;

	ft_fresh(t);
	point_at(t, a, 0, p);
	before_fsck(t, &before);
	for (unsigned long n = 1;; n++) {
		bool done = false;

		for (int step = 1; step <= 3; step += 2) {
			pid_t pid;
			int st, rc;

			ft_fresh(t);
			point_at(t, a, 0, p);
			fflush(NULL);
			pid = fork();
			CHECK(pid >= 0);
			if (pid == 0) {
				FILE *f = fopen("/dev/null", "w");
				struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_REPAIR, .out = f};

				daxfs_test_crash_at(n, step);
				daxfs_fsck(t->img, &o);
				_exit(0); /* no commit number @n: every one was tried */
			}
			CHECK(waitpid(pid, &st, 0) == pid);
			CHECK(WIFEXITED(st));
			if (WEXITSTATUS(st) == 0) {
				done = true;
				break;
			}
			CHECK_EQ(WEXITSTATUS(st), DAXFS_TEST_CRASH_EXIT);
			crashed++;
			rc = ft_fsck(t, DAXFS_FSCK_REPAIR);
			if (rc != 0 && rc != DAXFS_FSCK_CORRECTED) {
				fprintf(stderr,
					"crash at commit %lu step %d: fsck -y exits %d:\n%s", n,
					step, rc, t->out);
				exit(1);
			}
			FT_EXPECT(t, DAXFS_FSCK_CHECK, 0);
			same_as_before(t, &before);
		}
		if (done)
			break;
	}
	CHECK(crashed >= 2);
	pop_free(&before);
}

/*
 * the fuzzer's cases as it found them (small profile): seed 1798 flipped
 * bit 68 of inode 89's first extent (bit 4 of its block number: 16 blocks
 * further, the data of a later file of /small), seed 3103 bit 0 of the
 * block number of /frag's extent 11 (the neighbouring block, /frag2's);
 * checksums recomputed. The damaged file keeps the block (it comes first)
 * and the other one gets a copy: every undamaged file reads as before.
 */
static void case_seed_1798(struct ft *t)
{
	const struct pop_entry *e = NULL;

	for (size_t k = 0; k < t->m.n && !e; k++)
		if (t->m.e[k].ino == 89)
			e = &t->m.e[k];
	CHECK(e && !strncmp(e->path, "/small/", 7) && S_ISREG(e->mode));
	ft_fresh(t);
	ft_damage(t, "extent", "89.0", "pblk", FT_FLIP, 4, true);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	FT_SAID(t, "multiply-claimed block", true);
	FT_SAID(t, "shared with inode 89 (", true);
	converge(t, 89);
}

static void case_seed_3103(struct ft *t)
{
	uint64_t f1 = ft_ino(t, "/frag"), f2 = ft_ino(t, "/frag2");
	char id[64], want[96];

	snprintf(id, sizeof(id), "%llu.11", (unsigned long long)f1);
	ft_fresh(t);
	ft_damage(t, "extent", id, "pblk", FT_FLIP, 0, true);
	FT_EXPECT(t, DAXFS_FSCK_CHECK, DAXFS_FSCK_UNCORRECTED);
	snprintf(want, sizeof(want), "ERROR: inode %llu (/frag2): 1 multiply-claimed block",
		 (unsigned long long)f2);
	FT_SAID(t, want, true);
	snprintf(want, sizeof(want), "shared with inode %llu (/frag), which keeps it",
		 (unsigned long long)f1);
	FT_SAID(t, want, true);
	converge(t, f1);
}

static const struct {
	const char *name;
	void (*fn)(struct ft *t);
} share_cases[] = {
	{"share_two", case_share_two},	   {"share_several", case_share_several},
	{"share_span", case_share_span},   {"share_nospace", case_share_nospace},
	{"share_crash", case_share_crash}, {"seed_1798", case_seed_1798},
	{"seed_3103", case_seed_3103},
};

#define NSHARE (sizeof(share_cases) / sizeof(share_cases[0]))

int main(int argc, char **argv)
{
	static struct ft t;
	char id[64], path[64];
	uint64_t small, frag, f;

	ft_init(&t, "converge", POP_CLEAN, 0);
	if (argc > 1) { /* only the multiply-claimed cases named */
		for (int k = 1; k < argc; k++) {
			size_t c;

			for (c = 0; c < NSHARE && strcmp(share_cases[c].name, argv[k]); c++)
				;
			if (c == NSHARE) {
				fprintf(stderr, "no case %s\n", argv[k]);
				return 2;
			}
			share_cases[c].fn(&t);
		}
		return 0;
	}
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

	for (size_t c = 0; c < NSHARE; c++)
		share_cases[c].fn(&t);
	return 0;
}
