/* SPDX-License-Identifier: MIT */
/*
 * core.h - internals shared by the daxfs core files (not an API).
 */
#ifndef PMD_DAXFS_CORE_H
#define PMD_DAXFS_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "daxfs.h"
#include "format.h"

#define BLK_SIZE 4096U
#define BLK_SHIFT 12
#define LINE_SIZE 64U
#define CHUNK_BLKS 512U /* blocks per 2 MiB chunk */
#define MAX_TREE_HEIGHT 8

static inline uint64_t blk_to_off(uint64_t blk)
{
	return blk << BLK_SHIFT;
}

static inline uint64_t off_to_blk(uint64_t off)
{
	return off >> BLK_SHIFT;
}

/* crc32c.c */
uint32_t daxfs_crc32c(uint32_t crc, const void *buf, size_t len);
/* crc of @len bytes with the 4 bytes at @crc_off taken as zero */
uint32_t daxfs_csum(const void *buf, size_t len, size_t crc_off);
/* the same, continuing @crc (a crc32c of what comes before) */
uint32_t daxfs_csum_from(uint32_t crc, const void *buf, size_t len, size_t crc_off);

/*
 * Which inodes have the checksum seeded with their number (ICSUM): none
 * without the feature; with it those below @next, or all when @next is 0
 * (struct daxfs_dsuper's icsum_next, during an upgrade).
 */
struct dx_icsum {
	bool on;
	uint64_t next;
};

static inline struct dx_icsum icsum_of(const struct daxfs_dsuper *sb)
{
	bool on = le32_to_cpu(sb->feat_incompat) & DAXFS_FEAT_INCOMPAT_ICSUM;

	return (struct dx_icsum){on, on ? le64_to_cpu(sb->icsum_next) : 0};
}

static inline bool icsum_seeded(struct dx_icsum ic, uint64_t ino)
{
	return ic.on && (!ic.next || ino < ic.next);
}

struct pfn_rmap;

/* In-memory extent */
struct dx_ext {
	uint64_t lblk; /* file block */
	uint64_t len;  /* blocks */
	uint64_t pblk; /* region block */
};

struct dx_range {
	uint64_t pblk;
	uint64_t len;
};

/* In-memory inode: lifetime references, pins, data lock, extent cache. */
struct dxi {
	uint64_t ino;
	struct dxi *hnext;
	unsigned refs;	  /* internal users + 1 while nlookup or pins or deferred */
	uint64_t nlookup; /* daxfs_iget references */
	unsigned pins;
	unsigned opens; /* daxfs_open_ref() references (DAXFS_O_OPENREFS) */
	/* link count seen at 0 while open (a hint: the last open_put looks at
	 * the inode only then, not at every close) */
	bool maybe_orphan;
	/* DAXFS_O_OPENREFS: freed on media while lookups remained; the number
	 * stays taken until the last daxfs_iput, @gattr answers daxfs_getattr */
	bool ghost;
	struct daxfs_attr *gattr;
	pthread_rwlock_t rw;
	bool ext_loaded;
	struct dx_ext *ext;
	size_t next, ext_cap;
	struct dx_range *deferred; /* frees waiting for the last unpin */
	size_t ndeferred, deferred_cap;
};

/* A block shadowed by the running transaction. */
struct tx_blk {
	uint64_t blk;
	uint64_t dirty; /* bit per 64-byte line */
	uint64_t valid; /* lines holding the home copy or the transaction's (lazy_blk) */
	bool seal;	/* recompute the blkhdr crc at commit */
	bool fresh;	/* started from zeros: no home copy to check at commit */
	_Alignas(16) uint8_t data[BLK_SIZE];
};

#define TX_SPARE_MAX 16

struct dx_tx {
	struct tx_blk **blks;
	size_t nblks, cap;
	int32_t *hash; /* open addressing, index into blks or -1 */
	size_t hash_size;
	struct dx_range *frees; /* bits to clear at commit */
	size_t nfrees, frees_cap;
	bool active;
	/* shadows of finished transactions kept for the next ones (a
	 * metadata request shadows a handful of blocks; malloc and free of
	 * 4 KiB each time was a tenth of the daemon's time per create) */
	struct tx_blk *spare[TX_SPARE_MAX];
	size_t nspare;
	uint8_t *stage; /* the records, put together before they go to the journal */
	size_t stage_cap;
};

struct daxfs {
	struct pmr_region *r;
	uint8_t *base;
	uint64_t size; /* bytes the fs spans */
	unsigned flags;
	bool rdonly;
	bool region_rw; /* the region is open for writing (mapped read-only while rdonly) */

	/* geometry, from the superblock */
	uint64_t total_blocks;
	uint64_t journal_blk, journal_nblks;
	uint64_t itable_blk, inode_count;
	uint64_t bitmap_blk, bitmap_nblks;
	uint64_t iext_blk, iext_nblks; /* 0 without the IEXT feature */
	struct dx_icsum icsum;	       /* which inode checksums are seeded */
	uint64_t data_blk;
	uint64_t hash_seed;

	pthread_mutex_t lock; /* metadata: namespace, allocation, journal */
	struct dx_tx tx;
	uint64_t seq;

	/* allocator (under lock) */
	uint16_t *chunk_free; /* free blocks per 2 MiB chunk */
	uint64_t nchunks;
	uint64_t free_blocks;
	uint64_t free_chunks;	    /* wholly free chunks */
	uint64_t small_chunk;	    /* chunk that small allocations fill first */
	uint64_t *chunk_owner;	    /* inode a chunk is reserved for (one window), 0 = none */
	uint64_t resv_chunks;	    /* chunks with an owner */
	uint64_t resv_cursor;	    /* where the search for a chunk to reserve goes on */
	struct daxfs_badblocks bad; /* emulated bad sectors (daxfs_set_badblocks) */
	/* delayed allocation (not chunk_owner's hints): blocks set aside by
	 * daxfs_reserve(); the running allocation may use @credit of them
	 * (@credit_used so far, taken from resv_blocks when it commits) */
	uint64_t resv_blocks, credit, credit_used;

	/* DAX isolation (isolate.c, under lock); NULL/0 when the region is not chunked */
	uint8_t *chunk_iso;    /* per chunk: ISO_* bits */
	uint64_t *iso_owner;   /* per chunk: the inode an excluded chunk is kept for, 0 unknown */
	uint64_t iso_excluded; /* chunks with ISO_EXCL */
	struct daxfs_iso_stats iso_stats;

	/* inode allocation (under lock) */
	uint64_t *imap; /* bit per inode: in use */
	uint64_t free_inodes;
	uint64_t ino_cursor;

	uint64_t serial;		   /* this open's number, for di_get()'s memo */
	atomic_uint_fast64_t inode_checks; /* daxfs_stats.inode_checks */

	pthread_mutex_t icache_lock;
	/* in-memory inodes by number: chained buckets, a power of two that
	 * doubles when there are more inodes than buckets (the kernel may
	 * keep every file of a big tree looked up) */
	struct dxi **icache;
	size_t icache_size, icache_count;
	unsigned ndeferred_inodes;

	struct daxfs_stats stats;

	/* verification and the error record (verify.c) */
	_Atomic uint64_t *vmap;	  /* bit per block: a sealed block that passed its checks */
	atomic_bool stopped;	  /* errors=remount-ro fired: refuse changes */
	atomic_bool root_ro;	  /* the root inode fails its checksum only: see di_get_tree */
	atomic_bool err_pending;  /* an error waits to be written to the superblock */
	atomic_int errors;	  /* enum daxfs_errors_mode */
	pthread_mutex_t err_lock; /* the fields below */
	uint32_t err_unwritten;	  /* errors not yet counted on media */
	/* not yet on media: the first (if its time is set) and last error */
	struct daxfs_derror err_first, err_last;
	int64_t rl_start; /* rate limit: start of the interval, ns */
	unsigned rl_lines, rl_missed;
	daxfs_log_fn log;
	void *log_ctx;

	/* owners of blocks (owner.c, under lock): the front end's descriptor
	 * functions if set, else the core's reverse map (NULL: none, scan) */
	struct daxfs_owner_ops owner_ops;
	struct pfn_rmap *rmap;
};

/* Chunk states of DAX isolation (fs->chunk_iso) */
#define ISO_EXCL 1U  /* kept out of general allocation: only isolate.c places blocks in it */
#define ISO_CLEAN 2U /* its free blocks hold zeros or its owner's old data, nothing else */

static inline bool chunk_excluded(const struct daxfs *fs, uint64_t c)
{
	return fs->chunk_iso && (fs->chunk_iso[c] & ISO_EXCL);
}

/* isolate.c */
int iso_init(struct daxfs *fs); /* at open: the chunks the region reports exposed */
void iso_destroy(struct daxfs *fs);

/* Pointers into the mapping */
static inline void *dx_ptr(struct daxfs *fs, uint64_t off)
{
	return fs->base + off;
}

/* journal.c: transactions (all under fs->lock) */
void tx_begin(struct daxfs *fs);
/* read pointer honouring the running transaction's shadows */
const void *tx_read(struct daxfs *fs, uint64_t off); /* to the end of the block */
const void *tx_read_len(struct daxfs *fs, uint64_t off, size_t len);
/* write pointer into the shadow of [off, off+len) (within one block) */
void *tx_write(struct daxfs *fs, uint64_t off, size_t len);
/* whole block for writing; @seal recomputes its blkhdr crc at commit */
void *tx_write_blk(struct daxfs *fs, uint64_t blk, bool seal);
/* like tx_write_blk but starts from zeros (a new block) */
void *tx_new_blk(struct daxfs *fs, uint64_t blk, bool seal);
void tx_seal(struct daxfs *fs, uint64_t blk); /* recompute its blkhdr crc at commit */
void tx_free(struct daxfs *fs, uint64_t pblk, uint64_t len);
int tx_commit(struct daxfs *fs);
void tx_abort(struct daxfs *fs);
size_t tx_journal_room(struct daxfs *fs);
void tx_destroy(struct daxfs *fs);
/* replay.c: recovery: replay a committed transaction whose records all land
 * in place; returns 1 if found (and replayed unless @check_only), 0, -errno */
int jnl_replay(struct daxfs *fs, bool check_only);

/* alloc.c (under fs->lock, inside a transaction); policy in alloc.c's head */
int alloc_init(struct daxfs *fs);
void alloc_destroy(struct daxfs *fs);
/*
 * alloc_blocks - allocate up to @want contiguous blocks, at least one.
 * @huge: whole free 2 MiB-aligned chunks (@want a multiple of 512), never
 * reserved ones: the way to give a file aligned chunks of its own (for
 * DAX mmap PMD mappings); -ENOSPC when no chunk is wholly free, so the
 * caller may fall back. Otherwise small blocks, near @goal (0 = none).
 */
int alloc_blocks(struct daxfs *fs, uint64_t want, bool huge, uint64_t goal, struct dx_range *out);
/*
 * alloc_aligned - allocate file blocks [@lblk, +@want) of inode @ino, all
 * inside one 2 MiB window of the file, at the places of chunk @chunk that
 * match their file offsets (region block chunk * 512 + @lblk % 512 on), as
 * many as are free there (at least one). @chunk UINT64_MAX: reserve a
 * wholly free chunk for the window first, @goal (a chunk number) if free.
 * Returns 0, -ENOSPC (the first place is taken, the chunk is reserved for
 * another file, or no chunk is wholly free), -EROFS.
 */
int alloc_aligned(struct daxfs *fs, uint64_t ino, uint64_t chunk, uint64_t goal, uint64_t lblk,
		  uint64_t want, struct dx_range *out);
/* alloc_resv_rebuild - at open: reserve again the chunks of windows that
 * files of 2 MiB or more fill in part (walks the used inodes; trusts no
 * number it reads beyond using it as a hint) */
void alloc_resv_rebuild(struct daxfs *fs);
/*
 * inode_walk_raw - at open (fs->lock held), in one pass over the used
 * inodes: call @data_fn for each extent of each regular file of at least
 * @min_size bytes, and (unless @meta_fn is NULL) @meta_fn for each
 * metadata block each inode owns (extent blocks, directory tree nodes, a
 * symlink's target block, xattr blocks; @lblk 0, @len 1), read straight
 * from the inode table and the blocks. Trusts nothing it reads beyond
 * following it as a hint (a block whose magic or owner is wrong ends the
 * walk of that structure): the callbacks must check the numbers given.
 */
typedef void (*ext_raw_fn)(struct daxfs *fs, uint64_t ino, uint64_t lblk, uint64_t len,
			   uint64_t pblk, void *ctx);
void inode_walk_raw(struct daxfs *fs, uint64_t min_size, ext_raw_fn data_fn, ext_raw_fn meta_fn,
		    void *ctx);
void alloc_release(struct daxfs *fs, uint64_t pblk, uint64_t len); /* after commit */
/* exactly @want contiguous blocks, first fit (layout work, O(blocks)) */
int alloc_run(struct daxfs *fs, uint64_t want, struct dx_range *out);
/* the free run at @pblk, even in an excluded chunk (isolate.c) */
int alloc_at(struct daxfs *fs, uint64_t pblk, uint64_t want, struct dx_range *out);
/* blocks an allocation may take now, leaving others' reservations alone */
uint64_t alloc_avail(struct daxfs *fs);
void alloc_recount(struct daxfs *fs);
bool bitmap_test(struct daxfs *fs, uint64_t blk);
/* report fixed metadata the bitmap calls free (it is never allocated) */
void alloc_check_meta(struct daxfs *fs);
/*
 * alloc_check_data - at open: a block a sound file's extent holds must be
 * used in the bitmap. The bitmap has no checksum and the allocator trusts
 * it, so a cleared bit would give the block to the next write, over the
 * file's data: the first such block is reported (dx_corrupt, which with
 * the default errors=remount-ro stops writing until fsck.daxfs mends the
 * bitmap).
 */
void alloc_check_data(struct daxfs *fs);

/* inode.c */
const struct daxfs_dinode *di_read(struct daxfs *fs, uint64_t ino);
/*
 * Inode checksums: with the ICSUM feature, inode @ino's crc32c starts from
 * the crc32c of its number (le64), so a whole inode written into another
 * slot fails its check. di_seeded() says which form inode @ino has in @fs
 * (an upgrade switches the form on from inode 1 up, see format.h).
 */
bool di_seeded(const struct daxfs *fs, uint64_t ino);
uint32_t di_csum(bool seeded, uint64_t ino, const struct daxfs_dinode *di);
/* di_crc_ok - @di, inode @ino's contents, passes its checksum (verify.c) */
bool di_crc_ok(const struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di);
struct daxfs_dinode *di_write(struct daxfs *fs, uint64_t ino); /* in tx; crc at di_seal */
void di_seal(const struct daxfs *fs, uint64_t ino, struct daxfs_dinode *di);
bool ino_valid(struct daxfs *fs, uint64_t ino);
/* region byte offset of inode @ino's home copy */
uint64_t di_off(struct daxfs *fs, uint64_t ino);
int ino_alloc(struct daxfs *fs, uint64_t *ino);
void ino_free_mark(struct daxfs *fs, uint64_t ino);
int imap_init(struct daxfs *fs);
int64_t now_ns(void);
struct timespec now_ts(void);
/* timestamp @t of @di; and store @ts there (in a tx; clamped to the format's
 * range; announces the EPOCH feature when an epoch byte becomes nonzero) */
struct timespec di_get_time(const struct daxfs_dinode *di, enum daxfs_time_idx t);
void di_set_time(struct daxfs *fs, struct daxfs_dinode *di, enum daxfs_time_idx t,
		 struct timespec ts);
/* set the timestamps in @which (bits 1 << DAXFS_*TIME) of @di to now, in a tx */
#define TOUCH_A (1U << DAXFS_ATIME)
#define TOUCH_M (1U << DAXFS_MTIME)
#define TOUCH_C (1U << DAXFS_CTIME)
#define TOUCH_B (1U << DAXFS_BTIME)
void di_touch(struct daxfs *fs, struct daxfs_dinode *di, unsigned which);
void di_to_attr(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode *di,
		struct daxfs_attr *a);
struct dxi *dxi_get(struct daxfs *fs, uint64_t ino);
void dxi_put(struct daxfs *fs, struct dxi *i);
void open_count(struct daxfs *fs, struct dxi *i, unsigned lookups, bool unlinked);
struct dxi *dxi_find_locked(struct daxfs *fs, uint64_t ino);
int icache_init(struct daxfs *fs);
void di_memo_serial(struct daxfs *fs);
void icache_destroy(struct daxfs *fs);
int ext_reserve(struct dxi *i, size_t n);
int ext_load(struct daxfs *fs, struct dxi *i);
int ext_store(struct daxfs *fs, struct dxi *i);
void ext_unload(struct dxi *i);
int orphan_add(struct daxfs *fs, uint64_t ino);
int orphan_remove(struct daxfs *fs, uint64_t ino);
int inode_evict(struct daxfs *fs, uint64_t ino); /* called without locks */
void inode_freed(struct daxfs *fs, uint64_t ino, const struct daxfs_attr *a); /* fs->lock */
int ghost_attr(struct daxfs *fs, uint64_t ino, struct daxfs_attr *out);
bool kept_open(struct daxfs *fs, uint64_t ino, unsigned own);
void hint_orphan(struct daxfs *fs, uint64_t ino);
void maybe_evict(struct daxfs *fs, uint64_t ino);
int orphans_recover(struct daxfs *fs);
/* free blocks of @i past file block @from_lblk (or in [from, to)), batching
 * transactions; caller holds i->rw exclusive and fs->lock; commits */
int file_free_range(struct daxfs *fs, struct dxi *i, uint64_t from_lblk, uint64_t to_lblk);

/* file.c: the in-memory extent map of a locked file (isolate.c uses them) */
/* file_lock - regular file @ino locked exclusive (@excl) or shared, extents loaded */
int file_lock(struct daxfs *fs, uint64_t ino, bool excl, struct dxi **out);
void file_unlock(struct daxfs *fs, struct dxi *i);
size_t ext_find(struct dxi *i, uint64_t lblk); /* first extent ending after @lblk */
/* the run at @lblk (at most @max blocks): *pblk = region block or DAXFS_HOLE */
uint64_t map_run(struct dxi *i, uint64_t lblk, uint64_t max, uint64_t *pblk);
int ext_insert(struct dxi *i, uint64_t lblk, uint64_t len, uint64_t pblk); /* into a hole */
void inode_release_blocks(struct daxfs *fs, struct dxi *i, uint64_t pblk, uint64_t len);

/* owner.c: who owns a block (memory failure); under fs->lock */
void owner_init(struct daxfs *fs); /* at open: record every file's extents */
void owner_destroy(struct daxfs *fs);
/* file blocks from @lblk of @ino now stand at [@pblk, +@len) */
void owner_note(struct daxfs *fs, uint64_t pblk, uint64_t len, uint64_t ino, uint64_t lblk);
/* owner_note() for blocks just mapped into @i by ext_insert() */
void owner_note_alloc(struct daxfs *fs, struct dxi *i, uint64_t lblk, uint64_t len, uint64_t pblk);
/* [@pblk, +@len) has no owner any more (released) */
void owner_forget(struct daxfs *fs, uint64_t pblk, uint64_t len);

/* dir.c (under fs->lock) */
uint64_t name_hash(struct daxfs *fs, const char *name, size_t len);
int dir_find(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t *ino,
	     unsigned *type, uint64_t *key);
int dir_insert(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
	       unsigned type);
int dir_remove(struct daxfs *fs, uint64_t dir, const char *name, size_t len);
int dir_set(struct daxfs *fs, uint64_t dir, const char *name, size_t len, uint64_t ino,
	    unsigned type);
typedef int (*dir_iter_fn)(void *ctx, uint64_t key, const char *name, size_t len, uint64_t ino,
			   unsigned type);
int dir_iterate(struct daxfs *fs, uint64_t dir, uint64_t from_key, dir_iter_fn fn, void *ctx);
int dir_free_tree(struct daxfs *fs, uint64_t dir); /* in tx */
/* visit every block of the tree (fsck) */
typedef int (*dir_blk_fn)(void *ctx, uint64_t blk, int level);
int dir_walk_blocks(struct daxfs *fs, uint64_t root, int height, dir_blk_fn fn, void *ctx);

/* xattr.c (under fs->lock; changes in the running transaction) */
int xattr_get(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, void *buf,
	      size_t bufsize, size_t *size);
int xattr_set(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
	      size_t vl, int flags);
int xattr_free(struct daxfs *fs, uint64_t ino);
/* xattr_walk - check the attribute structures of @ino (and the checksums of
 * outside values if @values), calling @fn for each block; returns 0, the
 * first nonzero @fn result, -EIO naming the bad structure, or -ENOENT */
enum xattr_blk_kind { XATTR_BLK_INDEX, XATTR_BLK_ENTRY, XATTR_BLK_VALUE };
typedef int (*xattr_blk_fn)(void *ctx, uint64_t blk, enum xattr_blk_kind kind);
int xattr_walk(struct daxfs *fs, uint64_t ino, bool values, xattr_blk_fn fn, void *ctx);

/* acl.c (under fs->lock, in the running transaction) */
/* set/remove @name if it is a POSIX ACL, keeping the mode in sync; -ENOSYS
 * for other names */
int acl_xattr_set(struct daxfs *fs, uint64_t ino, const char *name, size_t nl, const void *value,
		  size_t vl, int flags);
/* the permission bits of @ino changed to @mode: mirror them in its access ACL */
int acl_chmod(struct daxfs *fs, uint64_t ino, uint32_t mode);
/* new inode @ino in @parent: inherit the default ACL (the mode of @ino is
 * masked by it), or apply @umask when there is none */
int acl_create(struct daxfs *fs, uint64_t parent, uint64_t ino, uint32_t umask);

/* iext.c: the inode extension table (names kept for fsck), in a transaction */
uint32_t iext_csum(uint64_t ino, const struct daxfs_iext *x);
/* iext_set - record @parent/@name as the name of @ino (no-op without IEXT) */
void iext_set(struct daxfs *fs, uint64_t ino, uint64_t parent, const char *name, size_t len);
/* iext_forget - the link @parent/@name of @ino goes away: forget it if recorded */
void iext_forget(struct daxfs *fs, uint64_t ino, uint64_t parent, const char *name, size_t len);
/* iext_empty - an all-zero entry: it records nothing (mkfs, iext_forget) */
bool iext_empty(const struct daxfs_iext *x);
/* iext_get - the recorded name of @ino: 0, -ENOENT (none, or no table), -EIO
 * (bad crc or fields); @name gets a NUL */
int iext_get(struct daxfs *fs, uint64_t ino, uint64_t *parent, char *name, size_t *len);
/* iext_off - region byte offset of the entry of @ino (IEXT on) */
uint64_t iext_off(struct daxfs *fs, uint64_t ino);

/* upgrade.c: add the inode extension table to a consistent version 1 image
 * (version 2) */
int iext_upgrade(struct daxfs *fs);
/* upgrade.c: switch ICSUM on (version 3), resumable after a crash */
int icsum_upgrade(struct daxfs *fs);

/* super.c */
enum dx_feat { FEAT_COMPAT, FEAT_INCOMPAT, FEAT_RO_COMPAT };
bool super_has_feature(struct daxfs *fs, enum dx_feat w, uint32_t bit); /* tx-aware */
void super_feature_on(struct daxfs *fs, enum dx_feat w, uint32_t bit);	/* in tx */
int super_check(const struct daxfs_dsuper *sb, uint64_t region_size, bool quiet);
void super_load_geometry(struct daxfs *fs, const struct daxfs_dsuper *sb);
struct daxfs_dsuper *super_write(struct daxfs *fs); /* in tx */
void super_seal(struct daxfs_dsuper *sb);
/*
 * super_write_backup - block 1 of @r from the sound @primary, as a backup
 * holds it: clean, no orphans, no error record
 */
void super_write_backup(struct pmr_region *r, const struct daxfs_dsuper *primary);
int daxfs_open_region(struct pmr_region *r, unsigned flags, struct daxfs **out);
/* replay the journal with the backup's geometry to mend a torn primary
 * superblock; 0 if the primary is sound afterwards (see super.c) */
int super_replay_torn(struct pmr_region *r);

/* internal open flags (beside DAXFS_O_*) */
#define DAXFS_O_FSCK (1U << 16)	     /* replay the journal but leave orphans alone */
#define DAXFS_O_BACKUP_SB (1U << 17) /* take the geometry from the backup superblock */

int daxfs_rebuild_bitmap(struct daxfs *fs);

/* mkfs.c: first block of [@blk, @blk + @n) with a bad sector in @bad (may
 * be NULL), or UINT64_MAX */
uint64_t daxfs_first_bad(const struct daxfs_badblocks *bad, uint64_t blk, uint64_t n);

/*
 * daxfs_test_crash_at - for tests: the @commits_from_now-th transaction
 * commit from now (1 = the next) calls _exit(DAXFS_TEST_CRASH_EXIT) at
 * @step: 1 records written, header not; 2 header committed, nothing
 * applied; 3 about half the blocks applied; 4 all applied, not retired.
 */
#define DAXFS_TEST_CRASH_EXIT 99
void daxfs_test_crash_at(unsigned long commits_from_now, int step);

/* verify.c */
/* the filesystem whose fs->lock this thread holds, or NULL */
extern _Thread_local struct daxfs *dx_lock_holder;
/* write the waiting error record in a transaction of its own (fs->lock held, no tx) */
void err_flush_locked(struct daxfs *fs);

static inline void dx_lock(struct daxfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	dx_lock_holder = fs;
}

static inline void dx_unlock(struct daxfs *fs)
{
	if (__builtin_expect(atomic_load_explicit(&fs->err_pending, memory_order_relaxed), 0) &&
	    !fs->tx.active)
		err_flush_locked(fs);
	dx_lock_holder = NULL;
	pthread_mutex_unlock(&fs->lock);
}

/* no change may be made: mapped read-only, or stopped by errors=remount-ro */
static inline bool dx_readonly(struct daxfs *fs)
{
	return fs->rdonly || atomic_load_explicit(&fs->stopped, memory_order_relaxed);
}

/* blocks [@blk, @blk + @len) lie in the data area (after the fixed metadata) */
static inline bool dx_in_data(const struct daxfs *fs, uint64_t blk, uint64_t len)
{
	return len && blk >= fs->data_blk && blk < fs->total_blocks &&
	       len <= fs->total_blocks - blk;
}

/*
 * dx_corrupt - a check of a structure read from the region failed: log a
 * line (rate limited), queue the error record for the superblock, apply
 * the errors mode. @what/@why: DAXFS_ERR_*, DAXFS_WHY_*; @ino, @blk: where
 * (0 = none). Returns -EIO (also left as the pmd_err message). Any thread,
 * any locks (the record is written at the next dx_unlock, or at once when
 * the caller does not hold fs->lock). Quiet and unrecorded under fsck.
 */
int dx_corrupt(struct daxfs *fs, unsigned what, unsigned why, uint64_t ino, uint64_t blk,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/*
 * di_get - the in-use inode @ino, checked: checksum (unless it is a shadow
 * of the running transaction), type and every block and inode number in
 * it. Reads the shadow when the caller holds fs->lock, else the home copy
 * (a checksum that fails while a commit may be applying is checked again
 * under fs->lock). Returns 0, -ENOENT (number out of range, or free), -EIO.
 */
int di_get(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode **out);

/*
 * di_get_tree - di_get() for walking directory @ino's tree. One exception:
 * a root directory whose checksum fails while every field passes is still
 * walked (its tree blocks have their own checksums and owner), so the
 * files below stay reachable; it is reported once, every change of it
 * fails at commit (tx_commit never re-seals it) and daxfs_getattr() gives
 * it restrictive attributes (root_attr). Returns 0, -ENOENT, -EIO.
 */
int di_get_tree(struct daxfs *fs, uint64_t ino, const struct daxfs_dinode **out);

/* root_attr - the attributes shown for a root inode di_get_tree() let
 * through: a directory owned by uid and gid 0, mode 0500. 0 or -EIO. */
int root_attr(struct daxfs *fs, struct daxfs_attr *out);

/*
 * blk_get - the sealed metadata block @blk (extent, directory or xattr
 * block) owned by inode @ino, checked: in the data area, magic @magic,
 * owner, checksum (unless a shadow of the running transaction). @what
 * names the structure for the report. Returns 0 or -EIO.
 */
int blk_get(struct daxfs *fs, uint64_t blk, uint32_t magic, uint64_t ino, unsigned what,
	    const void **out);

/*
 * dnode_get - the directory tree node @blk of directory @dir at tree level
 * @level, checked: blk_get() plus its layout (slot counts, entry bounds,
 * names, inode numbers, child block numbers, key order). Returns 0 or -EIO.
 */
int dnode_get(struct daxfs *fs, uint64_t dir, uint64_t blk, unsigned level,
	      const struct daxfs_dnode **out);

/*
 * ext_check - the extent @e of inode @ino read from the region: nonempty,
 * not before @prev_end (file block where the previous extent ended), within
 * the maximum file size, and mapping only data-area blocks. 0 or -EIO.
 */
int ext_check(struct daxfs *fs, uint64_t ino, uint64_t blk, const struct dx_ext *e,
	      uint64_t prev_end);

/*
 * The verified map: a bit per block, set once a sealed block passed all its
 * checks (blk_get, dnode_get), so later reads skip them, as the kernel's
 * buffer_verified() does. Only commits change a sealed block afterwards, and
 * they keep it sound; a freed block loses its bit (alloc_release).
 */
int vmap_init(struct daxfs *fs);
void vmap_clear(struct daxfs *fs, uint64_t pblk, uint64_t len);

/* tx_commit's guard: is the home copy of what a transaction rewrites sound? */
bool home_inode_ok(bool seeded, uint64_t ino, const struct daxfs_dinode *di);
/* all zero: never used since mkfs (verify.c) */
bool di_never_used(const struct daxfs_dinode *di);
bool home_blk_ok(const void *blk);

#endif
