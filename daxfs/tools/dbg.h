/* SPDX-License-Identifier: MIT */
/*
 * dbg.h - structure-aware reading and damaging of a daxfs image, for
 * daxfs-debug and the image fuzzers (tests/daxfs/fuzz/).
 *
 * The image is a plain byte range (a mapped region or a DRAM copy). Nothing
 * here trusts it: every structure is found by walking the on-media format
 * with each block number, count and length checked against the geometry,
 * so a corrupt image yields fewer structures, never a crash. The geometry
 * comes from the primary superblock, else from the backup.
 *
 * A structure ("object") has a kind, a number naming it (see below), its
 * byte range in the image and the inode that owns it (0 for filesystem
 * metadata). Fields are named per kind. Changes never touch a checksum
 * unless dbg_reseal() is called: a bit flipped by dbg_flip() is found by
 * the checksums, one made and resealed must be found by the checks of
 * meaning.
 *
 * Error convention: 0 or -errno (-ENOENT: no such object or field,
 * -EINVAL: bad syntax or value); nothing is written on error.
 */
#ifndef PMD_DAXFS_DBG_H
#define PMD_DAXFS_DBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"

/* Kinds, with how the id string names one ("INO" may be a /path too). */
enum dbg_kind {
	DBG_SB,	     /* primary superblock (no id) */
	DBG_BACKUP,  /* backup superblock (no id) */
	DBG_JHEADER, /* journal header (no id) */
	DBG_JREC,    /* journal record K (K from 0, in the header's length) */
	DBG_BITMAP,  /* allocation bitmap block K of the bitmap */
	DBG_INODE,   /* inode INO */
	DBG_IEXT,    /* inode extension entry INO (recorded parent and name) */
	DBG_EXTENT,  /* extent INO.K of a file (inline or in a chain block) */
	DBG_EXTBLK,  /* extent block BLK */
	DBG_DATA,    /* the data blocks of extent INO.K */
	DBG_DNODE,   /* directory node BLK: header and slot array */
	DBG_DINDEX,  /* index slot BLK.K of an internal directory node */
	DBG_DENTRY,  /* entry BLK.K of a directory leaf (slot K) */
	DBG_XATTR,   /* xattr block BLK: header */
	DBG_XENTRY,  /* xattr entry BLK.K */
	DBG_SYMLINK, /* target bytes of symlink INO */
	DBG_BLOCK,   /* any block BLK, raw */
	DBG_NKINDS
};

/* bytes of a directory entry before its name (sizeof pads it to 24), and
 * the offset of its name length; a damaged slot may point anywhere, so
 * entries are read by byte offset, never through a misaligned struct */
#define DBG_DENTRY_HDR offsetof(struct daxfs_dentry, name)
#define DBG_DENTRY_NAMELEN offsetof(struct daxfs_dentry, namelen)

struct dbg_obj {
	enum dbg_kind kind;
	uint64_t id;  /* inode, block or record number */
	uint32_t sub; /* extent, slot or entry index */
	uint64_t off; /* image byte offset of the structure */
	uint32_t len; /* bytes */
	uint64_t ino; /* owner inode, 0 = filesystem metadata */
};

/* The image and the geometry read from its superblock. */
struct dbg_img {
	uint8_t *base;
	uint64_t size; /* bytes */
	struct daxfs_dsuper sb;
	bool from_backup; /* the primary was unusable */
	uint64_t total_blocks;
	uint64_t journal_blk, journal_nblks;
	uint64_t itable_blk, inode_count;
	uint64_t bitmap_blk, bitmap_nblks;
	uint64_t iext_blk, iext_nblks; /* 0 without the IEXT feature */
	uint64_t data_blk;
};

/*
 * dbg_img_init - take the geometry of the image at @base (@size bytes):
 * the primary superblock if its magic and layout are sane (its checksum is
 * not required), else the backup. -EINVAL if neither is.
 */
int dbg_img_init(struct dbg_img *im, void *base, uint64_t size);

const char *dbg_kind_name(enum dbg_kind k);
/* dbg_kind_parse - kind by name; -EINVAL if unknown */
int dbg_kind_parse(const char *name, enum dbg_kind *k);

/* called for each object; nonzero stops the scan and is returned */
typedef int (*dbg_obj_fn)(void *ctx, const struct dbg_obj *o);

/*
 * dbg_scan - every object the image holds, filesystem metadata first, then
 * inode by inode (the inode, then what hangs off it). Raw blocks are not
 * listed. Returns 0 or the first nonzero @fn result.
 */
int dbg_scan(const struct dbg_img *im, dbg_obj_fn fn, void *ctx);

/*
 * dbg_find - the object of @kind named by @id ("" for the kinds without
 * one; "N" or "N.K"; an INO may be an absolute path, resolved through the
 * directory entries). -ENOENT if the image holds no such object.
 */
int dbg_find(const struct dbg_img *im, enum dbg_kind kind, const char *id, struct dbg_obj *out);

/* dbg_lookup_path - inode of absolute @path by a raw walk, or 0 */
uint64_t dbg_lookup_path(const struct dbg_img *im, const char *path);

/* Fields: @size 1, 2, 4 or 8 is an integer; any other a byte array. */
struct dbg_field {
	const char *name;
	uint16_t off; /* bytes from the object start */
	uint16_t size;
};

/* dbg_fields - the fields of @o (for an inode, those of its type) */
const struct dbg_field *dbg_fields(const struct dbg_img *im, const struct dbg_obj *o, size_t *n);
const struct dbg_field *dbg_field(const struct dbg_img *im, const struct dbg_obj *o,
				  const char *name);

/* dbg_get/dbg_set - an integer field (-EINVAL for an array, -ERANGE for a
 * value wider than the field) */
int dbg_get(const struct dbg_img *im, const struct dbg_obj *o, const struct dbg_field *f,
	    uint64_t *v);
int dbg_set(const struct dbg_img *im, const struct dbg_obj *o, const struct dbg_field *f,
	    uint64_t v);

/*
 * dbg_parse_value - @s as a value for field @f whose current value is @cur:
 * a number (0x.. hex), "max" (all ones), "+N"/"-N" (relative, wrapping) or
 * "out" (just out of range where the field has a range: a block number
 * past the end, an inode past the table). -EINVAL if unparsable.
 */
int dbg_parse_value(const struct dbg_img *im, const struct dbg_field *f, uint64_t cur,
		    const char *s, uint64_t *v);

/* dbg_boundary - the @k-th boundary value (k = 0..DBG_NBOUNDARY-1) for @f:
 * 0, 1, all ones, the high bit, out of range, one below the end */
#define DBG_NBOUNDARY 6
uint64_t dbg_boundary(const struct dbg_img *im, const struct dbg_field *f, unsigned k);

/*
 * dbg_reseal - recompute the checksum that covers @o (the superblock's,
 * the journal header's, an inode's, a metadata block's, a symlink target's
 * in its inode, an inode extension entry's), so the damage is only in meaning.
 * Data, bitmap and raw blocks have none. Returns the checksummed range in
 * @off and @len (each may be NULL) for the caller to persist.
 */
void dbg_reseal(const struct dbg_img *im, const struct dbg_obj *o, uint64_t *off, uint64_t *len);

/* dbg_print - the fields of @o, one "name = value" line each */
void dbg_print(FILE *f, const struct dbg_img *im, const struct dbg_obj *o);

/* dbg_kind_has_id - false for the kinds named without an id (sb, backup, jheader) */
bool dbg_kind_has_id(enum dbg_kind k);

/* dbg_obj_id - "N", "N.K" or "-" (no id) into @buf; dbg_obj_name - "kind id" */
const char *dbg_obj_id(const struct dbg_obj *o, char *buf, size_t len);
const char *dbg_obj_name(const struct dbg_obj *o, char *buf, size_t len);

#endif
