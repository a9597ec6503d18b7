/* SPDX-License-Identifier: MIT */
/*
 * bio.h - block I/O units: a bio is an operation on a sector range whose
 * memory is a vector of bvecs.
 *
 * A bvec names memory by the descriptor the bio was built for:
 *   BIO_DESC_PFN   bv_pfn + bv_offset, bv_len may span many frames
 *   BIO_DESC_PAGE  bv_page (a plain page or a folio head) + bv_offset;
 *                  a page bvec spans at most its folio
 *   BIO_DESC_ONDEMAND
 *                  bv_obj: a 2 MiB area descriptor or a transient 4 KiB
 *                  page (desc_ondemand.h), both starting with their pfn
 *   BIO_DESC_MEMDESC
 *                  bv_pfn + bv_offset as PFN, a bvec within one memdesc
 *                  object (desc_memdesc.h), holding a reference on it
 * One bio uses one kind of descriptor for all its bvecs.
 *
 * Progress through a bio is kept in a struct bvec_iter that is passed by
 * value, so splitting or partial completion never rewrites the bvec array
 * (the kernel's immutable-biovec design).
 *
 * Page references: bio_add_page() and bio_add_folio() take a reference on
 * the folio; bio_put() drops the references of every bvec. pfn bvecs hold
 * nothing: the owner of the memory keeps it registered until completion.
 * ondemand bvecs hold a reference on their area or own their transient
 * page; memdesc bvecs hold a reference on their object.
 */
#ifndef PMD_BIO_H
#define PMD_BIO_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desc.h"
#include "memmap.h"
#include "pfn.h"
#include "units.h"

struct bio_vec {
	union {
		pfn_t bv_pfn;	      /* BIO_DESC_PFN */
		struct page *bv_page; /* BIO_DESC_PAGE */
		void *bv_obj;	      /* BIO_DESC_ONDEMAND: starts with its pfn_t */
	};
	uint32_t bv_len;    /* bytes */
	uint32_t bv_offset; /* bytes into the first frame */
};

_Static_assert(sizeof(struct bio_vec) == 16, "bio_vec must be 16 bytes");

struct bvec_iter {
	uint64_t bi_sector;    /* device address, 512-byte sectors */
	uint32_t bi_size;      /* bytes left */
	uint32_t bi_idx;       /* current bvec */
	uint32_t bi_bvec_done; /* bytes done in the current bvec */
};

enum bio_op {
	BIO_OP_READ = 0,
	BIO_OP_WRITE = 1,
	BIO_OP_FLUSH = 2,	 /* make earlier completed writes durable; no data */
	BIO_OP_DISCARD = 3,	 /* contents of the range become undefined (we zero) */
	BIO_OP_WRITE_ZEROES = 4, /* range reads back as zeroes */
};

#define BIO_OP_MASK 0xffu
/* Flags in bi_opf above the op. */
#define BIO_FUA (1u << 8)      /* this write is durable at completion */
#define BIO_PREFLUSH (1u << 9) /* flush the device before this bio */
#define BIO_NOMERGE (1u << 10) /* never merge this bio with its neighbours */

enum bio_desc {
	BIO_DESC_PFN,
	BIO_DESC_PAGE,
	BIO_DESC_ONDEMAND,
	BIO_DESC_MEMDESC,
};

#define BIO_NR_DESCS 4

/* bio_desc_of - the kind of bvec a bio built in @mode carries. */
static inline enum bio_desc bio_desc_of(enum desc_mode mode)
{
	switch (mode) {
	case DESC_PFN:
		return BIO_DESC_PFN;
	case DESC_ONDEMAND:
		return BIO_DESC_ONDEMAND;
	case DESC_MEMDESC:
		return BIO_DESC_MEMDESC;
	default:
		return BIO_DESC_PAGE;
	}
}

/* bio_desc_holds_refs - do bvecs of @desc hold something bio_release_pages() drops? */
static inline bool bio_desc_holds_refs(enum bio_desc desc)
{
	return desc != BIO_DESC_PFN;
}

struct bio;
typedef void(bio_end_io_t)(struct bio *bio);

struct bio {
	struct bio *bi_next;	 /* plug list / request chain */
	struct blk_dev *bi_bdev; /* set by submission */
	unsigned bi_opf;	 /* op | flags */
	enum bio_desc bi_desc;
	int bi_status; /* 0 or -errno, valid in end_io */
	struct bvec_iter bi_iter;
	uint16_t bi_vcnt;     /* bvecs in use */
	uint16_t bi_max_vecs; /* capacity of bi_io_vec */
	uint16_t bi_flags;    /* BIO_F_*: owned by the block layer, not the caller */
	struct bio_vec *bi_io_vec;
	bio_end_io_t *bi_end_io; /* called exactly once after a successful submit, or NULL */
	void *bi_private;
	struct bio *bi_parent;	 /* set on split children */
	atomic_int bi_remaining; /* completions outstanding (self + children) */
	uint64_t bi_start_ns;	 /* submission time if timed for latency stats, else 0 */
	struct bio_vec bi_inline_vecs[];
};

/* bi_flags: set and read by bio.c and blk.c only. */
#define BIO_F_COUNTED (1u << 0) /* accepted by a queue: counted when it completes */
#define BIO_F_CACHED (1u << 1)	/* from the per-thread bio cache (BIO_CACHE_VECS room) */

/* Most bvecs one bio may hold (bi_vcnt is 16 bits). */
#define BIO_MAX_VECS 4096u

static inline enum bio_op bio_op(const struct bio *bio)
{
	return (enum bio_op)(bio->bi_opf & BIO_OP_MASK);
}

static inline bool op_is_write(enum bio_op op)
{
	return op == BIO_OP_WRITE || op == BIO_OP_DISCARD || op == BIO_OP_WRITE_ZEROES;
}

/* bio_has_data - true for ops that move data through bvecs (READ, WRITE). */
static inline bool bio_has_data(const struct bio *bio)
{
	return bio_op(bio) == BIO_OP_READ || bio_op(bio) == BIO_OP_WRITE;
}

/*
 * bio_alloc - allocate a bio with room for @nr_vecs bvecs (inline).
 * @nr_vecs may be 0 for FLUSH/DISCARD/WRITE_ZEROES. Returns 0 or -ENOMEM,
 * -EINVAL if @nr_vecs > BIO_MAX_VECS. bi_remaining starts at 1.
 */
int bio_alloc(unsigned nr_vecs, unsigned opf, enum bio_desc desc, struct bio **out);

/*
 * bio_init - initialise a caller-owned bio over a caller-owned bvec array
 * (for bios embedded in other structures). bio_put() must not be called on
 * it; call bio_release_pages() instead when done.
 */
void bio_init(struct bio *bio, struct bio_vec *vecs, unsigned max_vecs, unsigned opf,
	      enum bio_desc desc);

/*
 * bio_reset - make a bio that is not in flight ready to be built and
 * submitted again as @opf: no bvecs, sector 0, status 0, no end_io or
 * private data, as bio_init() leaves it, but keeping its bvec array,
 * capacity and descriptor, and, for a bio_alloc()ed bio, where its memory
 * goes back to. Drop page references first (bio_release_pages()).
 */
static inline void bio_reset(struct bio *bio, unsigned opf)
{
	bio->bi_next = NULL;
	bio->bi_bdev = NULL;
	bio->bi_opf = opf;
	bio->bi_status = 0;
	bio->bi_iter = (struct bvec_iter){0};
	bio->bi_vcnt = 0;
	bio->bi_flags &= BIO_F_CACHED;
	bio->bi_end_io = NULL;
	bio->bi_private = NULL;
	bio->bi_parent = NULL;
	atomic_store_explicit(&bio->bi_remaining, 1, memory_order_relaxed);
	bio->bi_start_ns = 0;
}

/* bio_release_pages - drop the page references held by the bvecs. */
void bio_release_pages(struct bio *bio);

/* bio_put - release page references and free a bio_alloc()ed bio. */
void bio_put(struct bio *bio);

/*
 * bio_add_pfn - append @len bytes at frame @pfn + @offset bytes.
 *
 * The bio must be BIO_DESC_PFN, the extent must lie in one registered range.
 * Adjacent memory is merged into the previous bvec when it continues it.
 * Returns bytes added: @len, or 0 if the bio is full, the descriptor is
 * wrong, or the extent is not registered (never a partial add).
 */
uint32_t bio_add_pfn(struct bio *bio, pfn_t pfn, uint32_t len, uint32_t offset);

/*
 * bio_add_pfn_nocheck - append the bvec {@pfn, @len, @offset} to a PFN bio
 * without bio_add_pfn()'s checks and lookups, for a caller that knows them
 * true: the bio is BIO_DESC_PFN and has a free bvec, @len > 0 and bi_size
 * + @len fits in 32 bits, @offset < 4 KiB, and [@pfn + @offset, + @len)
 * lies in one registered range (memory the caller registered itself, such
 * as its I/O buffers, whose first frame it kept). Never merges with the
 * previous bvec. The kernel's __bio_add_page() plays the same part.
 */
static inline void bio_add_pfn_nocheck(struct bio *bio, pfn_t pfn, uint32_t len, uint32_t offset)
{
	assert(bio->bi_desc == BIO_DESC_PFN && bio->bi_vcnt < bio->bi_max_vecs && len &&
	       offset < FRAME_SIZE && len <= UINT32_MAX - bio->bi_iter.bi_size);
	bio->bi_io_vec[bio->bi_vcnt++] =
		(struct bio_vec){.bv_pfn = pfn, .bv_len = len, .bv_offset = offset};
	bio->bi_iter.bi_size += len;
}

/*
 * bio_add_page - append @len bytes of one page (@offset + @len <= 4 KiB).
 * Takes a reference on the page's folio. Returns @len or 0 (full, wrong
 * descriptor). Never merges: one bvec per page, as the page design sends it.
 */
uint32_t bio_add_page(struct bio *bio, struct page *page, uint32_t len, uint32_t offset);

/*
 * bio_add_folio - append @len bytes of the folio headed by @head from byte
 * @offset of the folio (@offset + @len <= folio size). Takes one reference.
 * Returns @len or 0.
 */
uint32_t bio_add_folio(struct bio *bio, struct page *head, uint32_t len, uint32_t offset);

/*
 * bio_nr_vecs_for - how many bvecs bio_add_range() needs to describe
 * [@addr, @addr + @len) in @mode (for sizing bio_alloc()).
 */
unsigned bio_nr_vecs_for(const void *addr, uint64_t len, enum desc_mode mode);

/*
 * bio_add_range - describe registered memory [@addr, @addr + @len) in
 * @mode: PFN one bvec per contiguous extent, FOLIO one per folio, PAGE one
 * per 4 KiB page, ONDEMAND one per whole 2 MiB area and one transient page
 * per 4 KiB of a split area, MEMDESC one per memdesc object run. The memory
 * must be registered with a memmap for FOLIO and PAGE, in its own mode for
 * ONDEMAND and MEMDESC (desc_mode_can_describe). Returns 0, -ENOENT
 * (unregistered), -EINVAL (the range's mode cannot serve @mode, or
 * descriptor mismatch), -ENOSPC (bio too small), -ENOMEM (no transient
 * page); on error the bio is left as it was.
 */
int bio_add_range(struct bio *bio, const void *addr, uint64_t len, enum desc_mode mode);

/* bio_sectors - sectors left in the bio. */
static inline uint64_t bio_sectors(const struct bio *bio)
{
	return bio->bi_iter.bi_size >> SECTOR_SHIFT;
}

/* bio_end_sector - first sector after the bio. */
static inline uint64_t bio_end_sector(const struct bio *bio)
{
	return bio->bi_iter.bi_sector + bio_sectors(bio);
}

/*
 * A segment: a run of memory that is contiguous in the address space,
 * produced by iterating over a bio. In PFN bios a segment is a whole bvec
 * (possibly megabytes); in PAGE bios at most a folio.
 */
struct bio_seg {
	void *addr;   /* first byte */
	uint32_t len; /* bytes */
};

/*
 * bvec_iter_seg - the segment at @iter, limited to @iter.bi_size.
 * bvec_iter_advance - move @iter forward by @bytes (<= bi_size).
 * Inline: every driver calls them once per segment.
 */
static inline struct bio_seg bvec_iter_seg(const struct bio_vec *vecs, enum bio_desc desc,
					   struct bvec_iter iter)
{
	const struct bio_vec *bv = &vecs[iter.bi_idx];
	char *base;

	if (desc == BIO_DESC_PAGE)
		base = page_address(bv->bv_page);
	else if (desc == BIO_DESC_ONDEMAND)
		base = pfn_to_addr(*(const pfn_t *)bv->bv_obj);
	else /* PFN, MEMDESC */
		base = pfn_to_addr(bv->bv_pfn);
	uint32_t len = bv->bv_len - iter.bi_bvec_done;

	return (struct bio_seg){
		.addr = base + bv->bv_offset + iter.bi_bvec_done,
		.len = len < iter.bi_size ? len : iter.bi_size,
	};
}

static inline void bvec_iter_advance(const struct bio_vec *vecs, struct bvec_iter *iter,
				     uint32_t bytes)
{
	uint32_t idx = iter->bi_idx;

	assert(bytes <= iter->bi_size);
	iter->bi_size -= bytes;
	bytes += iter->bi_bvec_done;
	while (bytes && bytes >= vecs[idx].bv_len) {
		bytes -= vecs[idx].bv_len;
		idx++;
	}
	iter->bi_idx = idx;
	iter->bi_bvec_done = bytes;
}

#define bio_for_each_segment(seg, bio, iter)                                       \
	for ((iter) = (bio)->bi_iter;                                              \
	     (iter).bi_size &&                                                     \
	     ((seg) = bvec_iter_seg((bio)->bi_io_vec, (bio)->bi_desc, (iter)), 1); \
	     bvec_iter_advance((bio)->bi_io_vec, &(iter), (seg).len))

/*
 * bio_split - split off the first @sectors of @bio into a new bio that
 * shares @bio's bvec array, and advance @bio past them. The child completes
 * into its parent: @bio's end_io runs once after both it and all children
 * are done, with the first error seen. Returns 0 and the child, or -errno.
 */
int bio_split(struct bio *bio, uint64_t sectors, struct bio **child);

/*
 * bio_endio - complete @bio with @status (0 or -errno). Runs bi_end_io
 * when the last outstanding part (split children included) completes.
 * Calls bio_endio() on the parent for split children and frees them.
 */
void bio_endio(struct bio *bio, int status);

/* bio_segments - number of bvecs the remaining iterator touches. */
unsigned bio_segments(const struct bio *bio);

#endif
