/* SPDX-License-Identifier: MIT */
/*
 * bio.c - building, iterating, splitting and completing bios.
 *
 * bvec memory address: PFN bvecs name pfn_to_addr(bv_pfn) + bv_offset,
 * PAGE bvecs page_address(bv_page) + bv_offset. bio_add_pfn() normalises
 * bv_offset below 4 KiB; folio bvecs keep the folio head in bv_page and the
 * byte offset into the folio (possibly above 4 KiB) in bv_offset, which is
 * the same address because a folio's memory is contiguous.
 *
 * Reuse: a completed bio keeps its bi_status; to submit it again call
 * bio_init() on it (for a bio_alloc()ed bio pass bio->bi_inline_vecs and
 * bio->bi_max_vecs), after bio_release_pages() if it held pages.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "blk_internal.h"
#include "desc_bio.h"
#include "errmsg.h"

/* Largest bvec or bio, bytes (bv_len and bi_size are 32 bits). */
#define BIO_MAX_BYTES UINT32_MAX

static void bio_init_fields(struct bio *bio, struct bio_vec *vecs, unsigned max_vecs, unsigned opf,
			    enum bio_desc desc)
{
	bio->bi_desc = desc;
	bio->bi_max_vecs = (uint16_t)max_vecs;
	bio->bi_flags = 0;
	bio->bi_io_vec = vecs;
	atomic_init(&bio->bi_remaining, 1);
	bio_reset(bio, opf);
}

/*
 * The per-thread bio cache. A bio of up to BIO_CACHE_VECS bvecs (and every
 * split child) is one allocation of BIO_CACHE_BYTES; bio_put() and the end
 * of a split child put it on the freeing thread's list, up to
 * BIO_CACHE_MAX, and bio_alloc() takes from the allocating thread's list
 * before it calls malloc(): the common small bio costs a list pop and push
 * instead of malloc() and free(). A bio freed on another thread than the
 * one that allocated it (async completion) simply moves between lists; a
 * full list frees, an empty one mallocs. Lists are freed when their thread
 * exits (a key destructor) or, for the thread that calls exit(), then.
 * Every cached bio is a malloc() block of its own, so free() is always
 * right for it (bio_init() on a cached bio forgets BIO_F_CACHED; bio_put()
 * then frees it).
 */
#define BIO_CACHE_VECS 4u
#define BIO_CACHE_MAX 64u
#define BIO_CACHE_BYTES (sizeof(struct bio) + BIO_CACHE_VECS * sizeof(struct bio_vec))

struct bio_cache {
	struct bio *free; /* chained through bi_next */
	unsigned nr;
	bool registered; /* the key destructor will empty this list */
};

static _Thread_local struct bio_cache bio_cache;
static pthread_key_t bio_cache_key;
static pthread_once_t bio_cache_once = PTHREAD_ONCE_INIT;
static bool bio_cache_key_ok;

static void bio_cache_drain(struct bio_cache *c)
{
	while (c->free) {
		struct bio *b = c->free;

		c->free = b->bi_next;
		free(b);
	}
	c->nr = 0;
}

static void bio_cache_thread_exit(void *p)
{
	bio_cache_drain(p);
}

static void bio_cache_process_exit(void)
{
	bio_cache_drain(&bio_cache);
}

static void bio_cache_init(void)
{
	bio_cache_key_ok = !pthread_key_create(&bio_cache_key, bio_cache_thread_exit);
	atexit(bio_cache_process_exit);
}

/* Can this thread keep freed bios? Registers its list for clean-up once. */
static bool __attribute__((noinline, cold)) bio_cache_register(struct bio_cache *c)
{
	pthread_once(&bio_cache_once, bio_cache_init);
	c->registered = bio_cache_key_ok && !pthread_setspecific(bio_cache_key, c);
	return c->registered;
}

/* bio_mem_alloc - memory for a bio of @nr_vecs bvecs; *@flags gets BIO_F_CACHED or 0. */
static struct bio *bio_mem_alloc(unsigned nr_vecs, uint16_t *flags)
{
	struct bio_cache *c = &bio_cache;
	struct bio *b;

	*flags = 0;
	if (nr_vecs > BIO_CACHE_VECS)
		return malloc(sizeof(*b) + (size_t)nr_vecs * sizeof(struct bio_vec));
	*flags = BIO_F_CACHED;
	b = c->free;
	if (!b)
		return malloc(BIO_CACHE_BYTES);
	c->free = b->bi_next;
	c->nr--;
	return b;
}

/* bio_mem_free - give back the memory of a bio_mem_alloc()ed bio. */
static void bio_mem_free(struct bio *bio)
{
	struct bio_cache *c = &bio_cache;

	if ((bio->bi_flags & BIO_F_CACHED) && c->nr < BIO_CACHE_MAX &&
	    (c->registered || bio_cache_register(c))) {
		bio->bi_next = c->free;
		c->free = bio;
		c->nr++;
		return;
	}
	free(bio);
}

int bio_alloc(unsigned nr_vecs, unsigned opf, enum bio_desc desc, struct bio **out)
{
	struct bio *bio;
	uint16_t flags;

	if (nr_vecs > BIO_MAX_VECS)
		return pmd_err(-EINVAL, "bio of %u bvecs exceeds BIO_MAX_VECS (%u)", nr_vecs,
			       BIO_MAX_VECS);
	if ((unsigned)desc >= BIO_NR_DESCS)
		return pmd_err(-EINVAL, "unknown bio descriptor %d", (int)desc);
	/* No zeroing of the bvecs: only [0, bi_vcnt) is ever read. */
	bio = bio_mem_alloc(nr_vecs, &flags);
	if (!bio)
		return -ENOMEM;
	bio_init_fields(bio, bio->bi_inline_vecs, nr_vecs, opf, desc);
	bio->bi_flags = flags;
	*out = bio;
	return 0;
}

void bio_init(struct bio *bio, struct bio_vec *vecs, unsigned max_vecs, unsigned opf,
	      enum bio_desc desc)
{
	assert(max_vecs <= BIO_MAX_VECS);
	bio_init_fields(bio, vecs, max_vecs, opf, desc);
}

static void bvec_put_page(struct page *page)
{
	bool last = put_page(page);

	/* Registered memory holds a base reference: never the last one here. */
	assert(!last);
	(void)last;
}

/* Drop what bvecs [@from, @to) of @bio hold. */
static void bio_release_vecs(struct bio *bio, unsigned from, unsigned to)
{
	switch (bio->bi_desc) {
	case BIO_DESC_PAGE:
		for (unsigned i = from; i < to; i++)
			bvec_put_page(bio->bi_io_vec[i].bv_page);
		break;
	case BIO_DESC_ONDEMAND:
		for (unsigned i = from; i < to; i++)
			od_bvec_release(&bio->bi_io_vec[i]);
		break;
	case BIO_DESC_MEMDESC:
		for (unsigned i = from; i < to; i++)
			md_bvec_release(&bio->bi_io_vec[i]);
		break;
	case BIO_DESC_PFN:
		break;
	}
}

void bio_release_pages(struct bio *bio)
{
	if (bio->bi_desc != BIO_DESC_PFN)
		bio_release_vecs(bio, 0, bio->bi_vcnt);
	/* The bvecs no longer own anything; a second release is a no-op. */
	bio->bi_vcnt = 0;
}

void bio_put(struct bio *bio)
{
	if (!bio)
		return;
	bio_release_pages(bio);
	bio_mem_free(bio);
}

void bio_split_free(struct bio *child)
{
	bio_mem_free(child);
}

/* Room for one more bvec of @len bytes? */
static bool bio_has_room(const struct bio *bio, uint32_t len)
{
	return bio->bi_vcnt < bio->bi_max_vecs &&
	       (uint64_t)bio->bi_iter.bi_size + len <= BIO_MAX_BYTES;
}

/* Store @bv as the next bvec (room checked by the caller). Returns its length. */
static uint32_t bio_append(struct bio *bio, struct bio_vec bv)
{
	bio->bi_io_vec[bio->bi_vcnt++] = bv;
	bio->bi_iter.bi_size += bv.bv_len;
	return bv.bv_len;
}

bool bio_push_vec(struct bio *bio, struct bio_vec bv)
{
	if (!bio_has_room(bio, bv.bv_len))
		return false;
	bio_append(bio, bv);
	return true;
}

/*
 * Append [@pfn + @offset, + @len) (@offset < 4 KiB) to a PFN bio, growing the
 * last bvec when the memory continues it. @known_contig: the caller knows the
 * extent lies in one registered range (bio_add_range), so only a merge with
 * an earlier bvec needs the range check. Returns @len or 0.
 */
static uint32_t bio_push_pfn(struct bio *bio, pfn_t pfn, uint32_t len, uint32_t offset,
			     bool known_contig)
{
	uint64_t start = frames_to_bytes(pfn) + offset; /* byte address in frame space */
	uint64_t frames;

	if (bio->bi_vcnt) {
		struct bio_vec *prev = &bio->bi_io_vec[bio->bi_vcnt - 1];
		uint64_t prev_end = frames_to_bytes(prev->bv_pfn) + prev->bv_offset + prev->bv_len;

		/* Same range and continuing the previous bvec: grow it. */
		if (prev_end == start && (uint64_t)prev->bv_len + len <= BIO_MAX_BYTES) {
			frames = bytes_to_frames(align_up(start + len, FRAME_SIZE)) - prev->bv_pfn;
			if (pfn_extent_contiguous(prev->bv_pfn, frames)) {
				prev->bv_len += len;
				bio->bi_iter.bi_size += len;
				return len;
			}
		}
	}
	if (bio->bi_vcnt >= bio->bi_max_vecs)
		return 0;
	if (!known_contig) {
		frames = bytes_to_frames(align_up((uint64_t)offset + len, FRAME_SIZE));
		if (!pfn_extent_contiguous(pfn, frames))
			return 0;
	}
	return bio_append(bio, (struct bio_vec){.bv_pfn = pfn, .bv_len = len, .bv_offset = offset});
}

uint32_t bio_add_pfn(struct bio *bio, pfn_t pfn, uint32_t len, uint32_t offset)
{
	if (bio->bi_desc != BIO_DESC_PFN || !len ||
	    (uint64_t)bio->bi_iter.bi_size + len > BIO_MAX_BYTES)
		return 0;
	pfn += offset >> FRAME_SHIFT;
	offset &= FRAME_SIZE - 1;
	return bio_push_pfn(bio, pfn, len, offset, false);
}

/*
 * Append a page bvec {@page, @len, @offset} (checked by the caller) and take
 * a reference on @page. Returns @len, or 0 if the bio has no room.
 */
static uint32_t bio_push_page(struct bio *bio, struct page *page, uint32_t len, uint32_t offset)
{
	if (!bio_has_room(bio, len))
		return 0;
	get_page(page);
	return bio_append(bio,
			  (struct bio_vec){.bv_page = page, .bv_len = len, .bv_offset = offset});
}

uint32_t bio_add_page(struct bio *bio, struct page *page, uint32_t len, uint32_t offset)
{
	if (bio->bi_desc != BIO_DESC_PAGE || !page || !len || (uint64_t)offset + len > FRAME_SIZE)
		return 0;
	return bio_push_page(bio, page, len, offset);
}

uint32_t bio_add_folio(struct bio *bio, struct page *head, uint32_t len, uint32_t offset)
{
	if (bio->bi_desc != BIO_DESC_PAGE || !head || page_is_tail(head) || !len ||
	    (uint64_t)offset + len > frames_to_bytes(folio_nr_pages(head)))
		return 0;
	return bio_push_page(bio, head, len, offset);
}

static const char *bio_desc_name(enum bio_desc d)
{
	static const char *const names[BIO_NR_DESCS] = {
		[BIO_DESC_PFN] = "pfn",
		[BIO_DESC_PAGE] = "page",
		[BIO_DESC_ONDEMAND] = "ondemand",
		[BIO_DESC_MEMDESC] = "memdesc",
	};

	return (unsigned)d < BIO_NR_DESCS ? names[d] : "unknown";
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Bytes from @pfn + @off (bytes, < 4 KiB) to the end of its folio. */
static uint64_t folio_bytes_left(pfn_t pfn, uint32_t off, struct page **head, uint32_t *foff)
{
	struct page *h = compound_head(pfn_to_page(pfn));
	uint64_t into = frames_to_bytes(pfn - page_to_pfn(h)) + off;

	*head = h;
	*foff = (uint32_t)into;
	return frames_to_bytes(folio_nr_pages(h)) - into;
}

unsigned bio_nr_vecs_for(const void *addr, uint64_t len, enum desc_mode mode)
{
	const char *a = addr;
	uint64_t n = 0;

	while (len) {
		uint64_t avail, chunk;
		enum desc_mode rmode;
		pfn_t pfn;

		if (pfn_lookup_addr(a, &pfn, &avail, &rmode))
			return (unsigned)min_u64(n + 1,
						 UINT32_MAX); /* bio_add_range fails anyway */
		chunk = min_u64(len, avail);
		if (mode == DESC_PFN) {
			n += 1;
		} else if (mode == DESC_ONDEMAND) {
			n += od_nr_vecs(pfn, (uint32_t)((uintptr_t)a & (FRAME_SIZE - 1)), chunk);
		} else if (mode == DESC_MEMDESC) {
			n += md_nr_vecs(pfn, (uint32_t)((uintptr_t)a & (FRAME_SIZE - 1)), chunk);
		} else if (mode == DESC_PAGE || rmode != DESC_FOLIO) {
			uintptr_t s = (uintptr_t)a;

			n += (align_up(s + chunk, FRAME_SIZE) - align_down(s, FRAME_SIZE)) /
			     FRAME_SIZE;
		} else {
			/* FOLIO ranges are 2 MiB aligned in memory, folios too. */
			uintptr_t s = (uintptr_t)a;

			n += (align_up(s + chunk, HUGE_SIZE) - align_down(s, HUGE_SIZE)) /
			     HUGE_SIZE;
		}
		a += chunk;
		len -= chunk;
	}
	return (unsigned)min_u64(n, UINT32_MAX);
}

/* Undo bio_add_range()'s additions past @vcnt/@last and restore the size. */
static void bio_rollback(struct bio *bio, uint16_t vcnt, uint32_t size, const struct bio_vec *last)
{
	bio_release_vecs(bio, vcnt, bio->bi_vcnt);
	if (vcnt)
		bio->bi_io_vec[vcnt - 1] = *last;
	bio->bi_vcnt = vcnt;
	bio->bi_iter.bi_size = size;
}

/* Add [@a, @a + @chunk) of one range starting at frame @pfn, in @mode. */
static int bio_add_chunk(struct bio *bio, const char *a, uint64_t chunk, pfn_t pfn,
			 enum desc_mode mode)
{
	uint32_t off = (uint32_t)((uintptr_t)a & (FRAME_SIZE - 1));

	/* The chunk lies in one registered range: no need to check it again. */
	if (mode == DESC_PFN)
		return bio_push_pfn(bio, pfn, (uint32_t)chunk, off, true) ? 0 : -ENOSPC;
	if (mode == DESC_ONDEMAND)
		return od_bio_add(bio, pfn, off, chunk);
	if (mode == DESC_MEMDESC)
		return md_bio_add(bio, pfn, off, chunk);
	while (chunk) {
		uint32_t n;

		if (mode == DESC_FOLIO) {
			struct page *head;
			uint32_t foff;

			n = (uint32_t)min_u64(chunk, folio_bytes_left(pfn, off, &head, &foff));
			if (!bio_add_folio(bio, head, n, foff))
				return -ENOSPC;
		} else {
			n = (uint32_t)min_u64(chunk, FRAME_SIZE - off);
			if (!bio_add_page(bio, pfn_to_page(pfn), n, off))
				return -ENOSPC;
		}
		chunk -= n;
		pfn += bytes_to_frames(off + n);
		off = (off + n) & (FRAME_SIZE - 1);
	}
	return 0;
}

/* bio_add_range() for every case: several ranges or bvecs, merges, page modes, errors. */
static int __attribute__((noinline))
bio_add_range_slow(struct bio *bio, const void *addr, uint64_t len, enum desc_mode mode)
{
	uint16_t vcnt = bio->bi_vcnt;
	uint32_t size = bio->bi_iter.bi_size;
	struct bio_vec last = {0};
	const char *a = addr;
	int err = 0;

	if ((unsigned)mode >= DESC_NR_MODES)
		return pmd_err(-EINVAL, "unknown descriptor mode %d", (int)mode);
	if (bio_desc_of(mode) != bio->bi_desc)
		return pmd_err(-EINVAL, "%s memory cannot go in a %s bio", desc_mode_name(mode),
			       bio_desc_name(bio->bi_desc));
	if (!len)
		return 0;
	if ((uint64_t)size + len > BIO_MAX_BYTES)
		return pmd_err(-ENOSPC, "bio would exceed %llu bytes",
			       (unsigned long long)BIO_MAX_BYTES);
	if (vcnt)
		last = bio->bi_io_vec[vcnt - 1];

	while (len) {
		uint64_t avail, chunk;
		enum desc_mode rmode;
		pfn_t pfn;

		err = pfn_lookup_addr(a, &pfn, &avail, &rmode);
		if (err) {
			pmd_err(err, "memory at %p is not registered in the pfn space", (void *)a);
			goto out_rollback;
		}
		if (!desc_mode_can_describe(mode, rmode)) {
			err = pmd_err(-EINVAL, "memory at %p has no %s (registered in %s mode)",
				      (void *)a,
				      desc_mode_has_memmap(mode) ? "memmap" : desc_mode_name(mode),
				      desc_mode_name(rmode));
			goto out_rollback;
		}
		chunk = min_u64(len, avail);
		err = bio_add_chunk(bio, a, chunk, pfn, mode);
		if (err == -ENOSPC)
			pmd_err(err, "bio of %u bvecs is too small for %s range %p+%llu",
				bio->bi_max_vecs, desc_mode_name(mode), addr,
				(unsigned long long)(a - (const char *)addr + len));
		if (err)
			goto out_rollback;
		a += chunk;
		len -= chunk;
	}
	return 0;

out_rollback:
	bio_rollback(bio, vcnt, size, &last);
	return err;
}

int bio_add_range(struct bio *bio, const void *addr, uint64_t len, enum desc_mode mode)
{
	uint64_t avail;
	enum desc_mode rmode;
	pfn_t pfn;

	/*
	 * The common case first: memory in one range, as the first bvec of a
	 * pfn bio. One lookup, one bvec, nothing to merge or roll back.
	 */
	if (mode == DESC_PFN && bio->bi_desc == BIO_DESC_PFN && !bio->bi_vcnt && bio->bi_max_vecs &&
	    len && len <= BIO_MAX_BYTES - bio->bi_iter.bi_size &&
	    !pfn_lookup_addr(addr, &pfn, &avail, &rmode) && len <= avail) {
		bio_add_pfn_nocheck(bio, pfn, (uint32_t)len,
				    (uint32_t)((uintptr_t)addr & (FRAME_SIZE - 1)));
		return 0;
	}
	return bio_add_range_slow(bio, addr, len, mode);
}

unsigned bio_segments(const struct bio *bio)
{
	struct bvec_iter it = bio->bi_iter;
	unsigned n = 0;

	if (!bio_has_data(bio))
		return 0;
	while (it.bi_size) {
		uint32_t len = bio->bi_io_vec[it.bi_idx].bv_len - it.bi_bvec_done;

		if (len >= it.bi_size)
			return n + 1;
		it.bi_size -= len;
		it.bi_idx++;
		it.bi_bvec_done = 0;
		n++;
	}
	return n;
}

int bio_split(struct bio *bio, uint64_t sectors, struct bio **child)
{
	uint64_t bytes = sector_to_off(sectors);
	uint16_t flags;
	struct bio *c;

	if (!sectors || bytes >= bio->bi_iter.bi_size)
		return pmd_err(-EINVAL, "cannot split %llu sectors off a bio of %u bytes",
			       (unsigned long long)sectors, bio->bi_iter.bi_size);
	c = bio_mem_alloc(0, &flags);
	if (!c)
		return -ENOMEM;
	/* The child owns no bvecs (bi_vcnt 0): it borrows the parent's array. */
	bio_init_fields(c, bio->bi_io_vec, 0, bio->bi_opf, bio->bi_desc);
	c->bi_flags = flags;
	c->bi_bdev = bio->bi_bdev;
	c->bi_iter = bio->bi_iter;
	c->bi_iter.bi_size = (uint32_t)bytes;
	c->bi_parent = bio;
	atomic_fetch_add_explicit(&bio->bi_remaining, 1, memory_order_relaxed);

	if (bio_has_data(bio))
		bvec_iter_advance(bio->bi_io_vec, &bio->bi_iter, (uint32_t)bytes);
	else
		bio->bi_iter.bi_size -= (uint32_t)bytes;
	bio->bi_iter.bi_sector += sectors;
	*child = c;
	return 0;
}

void bio_endio(struct bio *bio, int status)
{
	bio_endio_at(bio, status, 0);
}

void bio_endio_at(struct bio *bio, int status, uint64_t now_ns)
{
	for (;;) {
		struct blk_dev *dev = bio->bi_bdev;
		bool counted = bio->bi_flags & BIO_F_COUNTED;
		struct bio *parent;

		if (status) {
			int ok = 0;

			/* First error wins. */
			__atomic_compare_exchange_n(&bio->bi_status, &ok, status, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		/*
		 * Only 1 outstanding (no split pending) means this call is the
		 * last: skip the atomic RMW, which is the common case. Otherwise
		 * the one that drops the count to 0 completes, and re-arms the
		 * count to 1 for a later submission.
		 */
		if (atomic_load_explicit(&bio->bi_remaining, memory_order_acquire) != 1) {
			if (atomic_fetch_sub_explicit(&bio->bi_remaining, 1,
						      memory_order_acq_rel) != 1)
				return;
			atomic_store_explicit(&bio->bi_remaining, 1, memory_order_relaxed);
		}
		/* Last part: bi_status is final. */
		status = __atomic_load_n(&bio->bi_status, __ATOMIC_RELAXED);
		if (counted)
			blk_bio_done(dev, bio, now_ns);
		parent = bio->bi_parent;
		if (!parent) {
			if (bio->bi_end_io)
				bio->bi_end_io(bio);
			if (counted)
				blk_bio_retire(dev);
			return;
		}
		/* A split child: free it and complete into the parent. */
		bio_mem_free(bio);
		if (counted)
			blk_bio_retire(dev);
		bio = parent;
	}
}
