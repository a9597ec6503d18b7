/* SPDX-License-Identifier: MIT */
/*
 * format.h - daxfs on-media structures (version 2; version 1 images are
 * version 2 without the IEXT feature). See docs/format.md.
 *
 * All multi-byte fields are little-endian (le16/le32/le64 below, converted
 * with the le*_to_cpu/cpu_to_le* helpers). Block size is 4 KiB; a "blk" is
 * a block number from the start of the region (region byte offset =
 * blk * 4096). Checksums are crc32c (Castagnoli) with the crc field taken as
 * zero while computing.
 *
 * Region layout, in blocks:
 *   0                 primary superblock
 *   1                 backup superblock (written by mkfs, read by fsck)
 *   journal_blk ..    redo journal: header in the first block, records after
 *   itable_blk ..     inode table, 16 inodes of 256 bytes per block
 *   bitmap_blk ..     allocation bitmap, 1 bit per block of the region
 *   iext_blk ..       inode extension table (IEXT feature; placed here by
 *                     mkfs, or in the data area by an upgrade)
 *   data_blk ..       data and dynamic metadata (dir nodes, extent blocks,
 *                     xattr blocks, symlink targets)
 */
#ifndef PMD_DAXFS_FORMAT_H
#define PMD_DAXFS_FORMAT_H

#include <assert.h>
#include <endian.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t le16;
typedef uint32_t le32;
typedef uint64_t le64;

/* le16_to_cpu() and cpu_to_le16(), and the same for 32 and 64 bits */
#define DAXFS_LE_CONV(bits)                                        \
	static inline uint##bits##_t le##bits##_to_cpu(le##bits v) \
	{                                                          \
		return le##bits##toh(v);                           \
	}                                                          \
	static inline le##bits cpu_to_le##bits(uint##bits##_t v)   \
	{                                                          \
		return htole##bits(v);                             \
	}
DAXFS_LE_CONV(16)
DAXFS_LE_CONV(32)
DAXFS_LE_CONV(64)
#undef DAXFS_LE_CONV

#define DAXFS_MAGIC UINT64_C(0x3153465841445844) /* "DXDAXFS1" */
#define DAXFS_VERSION 3				 /* written by mkfs */
#define DAXFS_VERSION_MIN 1			 /* oldest version still opened */
#define DAXFS_BLOCK_SHIFT 12

/* Superblock state */
#define DAXFS_STATE_CLEAN 1 /* cleanly closed */
#define DAXFS_STATE_INUSE 2 /* open read-write, or crashed */

/* Superblock flags */
#define DAXFS_SB_DEFERRED \
	(1U << 0) /* some frees were deferred by pins: if the
				     * fs crashed, rebuild the bitmap at open */

/*
 * Feature bits. An image gets a bit in the transaction that first writes
 * the structure it announces. Unknown incompat bits refuse to open; unknown
 * ro_compat bits open read-only only.
 */
#define DAXFS_FEAT_COMPAT_ERRREC (1U << 0)   /* the error record below is in use */
#define DAXFS_FEAT_INCOMPAT_IEXT (1U << 0)   /* inode extension table (names for fsck) */
#define DAXFS_FEAT_INCOMPAT_XATTR2 (1U << 1) /* xattr index blocks, values outside */
#define DAXFS_FEAT_INCOMPAT_ICSUM (1U << 2)  /* inode checksums seeded with the number */
#define DAXFS_FEAT_RO_COMPAT_EPOCH (1U << 0) /* inode timestamp epoch bytes */
#define DAXFS_FEAT_INCOMPAT_SUPP \
	(DAXFS_FEAT_INCOMPAT_IEXT | DAXFS_FEAT_INCOMPAT_XATTR2 | DAXFS_FEAT_INCOMPAT_ICSUM)
#define DAXFS_FEAT_RO_COMPAT_SUPP (DAXFS_FEAT_RO_COMPAT_EPOCH)

/*
 * Error record: what the core found corrupt while the filesystem was in
 * use (as ext4's s_error_count and s_first/last_error_*). The first error
 * stays until fsck clears the record; the last is overwritten each time.
 */
#define DAXFS_ERRF_ERRORS (1U << 0) /* errors seen since the last fsck repair */

struct daxfs_derror {
	le64 time; /* ns since the epoch; 0: nothing recorded */
	le64 ino;  /* inode concerned, 0 = none */
	le64 blk;  /* region block concerned, 0 = none */
	le16 what; /* enum daxfs_err_what (daxfs.h): which structure */
	le16 why;  /* enum daxfs_err_why (daxfs.h): which check */
	le32 err;  /* errno returned to the operation (EIO) */
};
static_assert(sizeof(struct daxfs_derror) == 32, "error record entry");

struct daxfs_dsuper {
	le64 magic;
	le32 version;
	le32 crc; /* crc32c of this struct (DAXFS_SUPER_SIZE bytes) */
	le32 feat_compat;
	le32 feat_incompat;
	le32 feat_ro_compat;
	le32 block_size; /* bytes, 4096 */
	uint8_t uuid[16];
	char label[64];	   /* NUL-padded, not necessarily terminated */
	le64 region_size;  /* bytes the filesystem spans */
	le64 total_blocks; /* region_size / block_size */
	le64 journal_blk;
	le64 journal_nblks;
	le64 itable_blk;
	le64 itable_nblks;
	le64 inode_count;
	le64 bitmap_blk;
	le64 bitmap_nblks;
	le64 data_blk; /* first block after the fixed metadata */
	le64 root_ino;
	le64 orphan_head; /* first inode of the orphan list, 0 = empty */
	le64 hash_seed;	  /* seed of the directory name hash */
	le64 mkfs_time;	  /* ns since the epoch */
	le64 mount_count;
	le64 mount_time; /* ns */
	le32 state;	 /* DAXFS_STATE_* */
	le32 flags;	 /* DAXFS_SB_* */
	/* 248..343: the error record (DAXFS_FEAT_COMPAT_ERRREC) */
	le32 err_count; /* errors recorded since fsck cleared them (saturates) */
	le32 err_flags; /* DAXFS_ERRF_* */
	struct daxfs_derror err_first;
	struct daxfs_derror err_last;
	uint8_t err_reserved[24];
	/* 344..375: fsck */
	le64 iext_blk;	 /* inode extension table (IEXT), 0 = none */
	le64 iext_nblks; /* its blocks: inode_count / DAXFS_IEXT_PER_BLOCK, up */
	/*
	 * ICSUM being switched on by an upgrade: inodes from this number up
	 * still have the unseeded checksum; 0 = every inode has the seeded one
	 */
	le64 icsum_next;
	uint8_t reserved_fsck[8];
	uint8_t reserved[512 - 376];
};
#define DAXFS_SUPER_SIZE 512
static_assert(sizeof(struct daxfs_dsuper) == DAXFS_SUPER_SIZE, "superblock size");
static_assert(offsetof(struct daxfs_dsuper, err_count) == 248, "error record offset");
static_assert(offsetof(struct daxfs_dsuper, iext_blk) == 344, "error record size, fsck bytes");

/* Journal header, at the start of the journal's first block. */
#define DAXFS_JNL_MAGIC UINT64_C(0x4c4e524a53465844) /* "DXFSJRNL" */
#define DAXFS_JNL_EMPTY 0
#define DAXFS_JNL_COMMITTED 1

struct daxfs_jheader {
	le64 magic;
	le64 seq;	  /* transaction sequence number */
	le32 state;	  /* DAXFS_JNL_* */
	le32 nrec;	  /* records */
	le64 len;	  /* bytes of records, from the journal's second block */
	le32 crc_records; /* crc32c of those bytes */
	le32 crc;	  /* crc32c of this header */
	uint8_t pad[24];
};
static_assert(sizeof(struct daxfs_jheader) == 64, "journal header is one cache line");

/* A redo record: write @len bytes following it at region byte offset @off. */
struct daxfs_jrec {
	le64 off; /* bytes */
	le32 len; /* bytes; the record is padded to 8 bytes */
	le32 pad;
};

/* Extent: file blocks [lblk, lblk+len) live at region blocks [pblk, pblk+len). */
struct daxfs_dextent {
	le32 lblk; /* file block */
	le32 len;  /* blocks */
	le64 pblk; /* region block */
};

#define DAXFS_INLINE_EXTENTS 7
#define DAXFS_INODE_SIZE 256
#define DAXFS_INODES_PER_BLOCK (4096 / DAXFS_INODE_SIZE)

/* Inode flags: bit 0 core, bits 1..7 fsck/verify, bits 8..15 user flags */
#define DAXFS_IF_ORPHAN (1U << 0)	/* on the orphan list */
#define DAXFS_IF_IMMUTABLE (1U << 8)	/* chattr +i: no change at all */
#define DAXFS_IF_APPEND (1U << 9)	/* chattr +a: data only appended */
#define DAXFS_IF_NOATIME (1U << 10)	/* chattr +A: reads leave atime alone */
#define DAXFS_IF_NODUMP (1U << 11)	/* chattr +d: a hint for backup tools */
#define DAXFS_IF_USER_MASK (0xffU << 8) /* the bits of the user flags */
#define DAXFS_IF_USER_KNOWN \
	(DAXFS_IF_IMMUTABLE | DAXFS_IF_APPEND | DAXFS_IF_NOATIME | DAXFS_IF_NODUMP)

/*
 * Timestamps: the le64 field is the low part of a signed 72-bit count of
 * ns since the epoch, the matching epoch byte the high part:
 * t = (int64_t)field + epoch * 2^64 ns. Epoch 0 is the version 1 format
 * (1677..2262); the bytes reach about 73,000 BC..76,000 AD, and times
 * beyond are clamped. Nonzero epoch bytes need DAXFS_FEAT_RO_COMPAT_EPOCH.
 */
enum daxfs_time_idx {
	DAXFS_ATIME = 0,
	DAXFS_MTIME = 1,
	DAXFS_CTIME = 2,
	DAXFS_BTIME = 3,
};

struct daxfs_dinode {
	le32 mode; /* 0: free */
	le32 nlink;
	le32 uid;
	le32 gid;
	le32 flags; /* DAXFS_IF_* */
	le32 crc;   /* crc32c of the 256 bytes */
	le64 generation;
	le64 size;   /* bytes */
	le64 blocks; /* 4 KiB blocks owned, data and metadata */
	le64 rdev;
	le64 atime; /* ns since the epoch, signed (low part, see epoch[]) */
	le64 mtime;
	le64 ctime;
	le64 btime;
	le64 parent;	  /* directories: the parent's inode number */
	le64 orphan_next; /* next inode on the orphan list, 0 = end */
	le64 xattr_blk;	  /* block of extended attributes, 0 = none */
	union {
		struct {
			le64 ext_next; /* first extent block, 0 = none */
			le32 nextents; /* total extents, inline first */
			le32 pad;
			struct daxfs_dextent ext[DAXFS_INLINE_EXTENTS];
		} file;
		struct {
			le64 root;     /* block of the B-tree root, 0 = empty */
			le64 nentries; /* entries (without . and ..) */
			le64 nblocks;  /* tree blocks */
			le32 height;   /* levels, leaf = 1 */
			le32 pad;
		} dir;
		struct {
			le64 blk; /* block holding the target */
			le32 len; /* bytes */
			le32 crc; /* crc32c of the target bytes */
		} symlink;
		uint8_t u_raw[128];
	};
	int8_t epoch[4]; /* high parts of atime, mtime, ctime, btime */
	uint8_t reserved[12];
};
static_assert(sizeof(struct daxfs_dinode) == DAXFS_INODE_SIZE, "inode size");

/*
 * Inode extension table (IEXT feature): entry n-1 belongs to inode n, 15 to
 * a block (the last 16 bytes of each block are unused). It records one
 * name of the inode, the directory and the name of the link made last by
 * create, mkdir, symlink, mknod or rename (a link made to an inode with no
 * recorded name too), so fsck can put back a file whose directory entry
 * was lost under its own name. An all-zero entry records nothing (the
 * root; an inode whose recorded link was removed while others remain).
 * Entries of free inodes are stale and ignored.
 */
struct daxfs_iext {
	le64 parent; /* inode number of the directory */
	le32 crc;    /* crc32c of the inode number (le64) then of the entry */
	uint8_t namelen;
	uint8_t flags; /* 0 */
	le16 pad;
	char name[256]; /* namelen bytes, the rest zero */
};
#define DAXFS_IEXT_SIZE 272
#define DAXFS_IEXT_PER_BLOCK (4096 / DAXFS_IEXT_SIZE)
static_assert(sizeof(struct daxfs_iext) == DAXFS_IEXT_SIZE, "iext entry size");

/* Header of dynamic metadata blocks (extent, dir node, xattr). */
#define DAXFS_EXT_MAGIC 0x54584544U   /* "DEXT" */
#define DAXFS_DIR_MAGIC 0x52494444U   /* "DDIR" */
#define DAXFS_XATTR_MAGIC 0x54584444U /* "DDXT" */

struct daxfs_blkhdr {
	le32 magic;
	le32 crc; /* crc32c of the whole block */
	le64 ino; /* owner */
};

/* Extent block: a chain continuing the inline extents. */
struct daxfs_extblk {
	struct daxfs_blkhdr h;
	le64 next; /* next extent block, 0 = end */
	le32 count;
	le32 pad;
	struct daxfs_dextent ext[];
};
#define DAXFS_EXTBLK_MAX ((4096 - 32) / 16)

/*
 * Directory B+tree node. Keys are 62-bit name hashes (the low 4 bits number
 * names that collide on the rest), unique per directory.
 *   internal (level > 0): after the header, nslots struct daxfs_dindex sorted
 *     by key; child i holds keys >= key[i] (key[0] is 0).
 *   leaf (level 0): after the header, nslots le16 byte offsets of entries,
 *     sorted by key; entries are packed at the end of the block from
 *     heap_start to 4096, each padded to 8 bytes; dead bytes count in frag.
 */
struct daxfs_dnode {
	struct daxfs_blkhdr h;
	le16 level;
	le16 nslots;
	le16 heap_start; /* bytes from the block start */
	le16 frag;	 /* bytes of deleted entries inside the heap */
	le32 pad[2];
};
static_assert(sizeof(struct daxfs_dnode) == 32, "dnode header");

struct daxfs_dindex {
	le64 key;
	le64 child; /* block */
};
#define DAXFS_DINDEX_MAX ((4096 - 32) / 16)

struct daxfs_dentry {
	le64 key;
	le64 ino;
	uint8_t type; /* DT_* */
	uint8_t namelen;
	char name[]; /* not terminated */
};
#define DAXFS_DENTRY_SIZE(namelen) (((18 + (namelen)) + 7) & ~7U)

/*
 * Xattr block: entries packed after the header, each padded to 4 bytes.
 * An inode's xattr_blk points at one such block, or (XATTR2) at an index
 * block listing several.
 */
struct daxfs_xattrblk {
	struct daxfs_blkhdr h;
	le32 used; /* bytes of entries */
	le32 count;
};
struct daxfs_xentry {
	uint8_t namelen;
	uint8_t flags; /* DAXFS_XE_* (0 before XATTR2) */
	le16 vlen;     /* bytes of value, or of the struct daxfs_xvalref */
	char data[];   /* name then value */
};
#define DAXFS_XENTRY_SIZE(nl, vl) (((4 + (nl) + (vl)) + 3) & ~3U)

#define DAXFS_XE_EXTERNAL (1U << 0) /* XATTR2: the value is a daxfs_xvalref */

/*
 * XATTR2: a value kept outside the entry block, in nblks = ceil(len / 4096)
 * blocks of its own (listed; bytes past len are zero).
 */
struct daxfs_xvalref {
	le32 len; /* bytes of value, at most DAXFS_XVAL_MAX */
	le32 crc; /* crc32c of the value */
	le64 blk[];
};
#define DAXFS_XVAL_MAX 65536U
#define DAXFS_XVALREF_SIZE(len) (8 + 8 * (((len) + 4095) / 4096))

/* XATTR2 index block: xattr_blk points here; it lists the entry blocks. */
#define DAXFS_XIDX_MAGIC 0x32545844U /* "DXT2" */
struct daxfs_xattridx {
	struct daxfs_blkhdr h;
	le32 nblks; /* entry blocks listed */
	le32 pad;
	le64 blk[]; /* entry blocks (struct daxfs_xattrblk) */
};
#define DAXFS_XIDX_MAX ((4096 - 24) / 8)

#endif
