/* SPDX-License-Identifier: MIT */
/*
 * desc_memdesc.c - 8-byte memdescs and their objects (DESC_MEMDESC, see
 * desc_memdesc.h).
 *
 * The word array covers the whole frame space (8 bytes per frame: 16 GiB of
 * address space for the default space), reserved PROT_NONE; registering a
 * range commits its slice, which is whole pages because ranges start on
 * 512-frame boundaries, as memmap.c does for struct pages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "desc_bio.h"
#include "desc_memdesc.h"
#include "errmsg.h"
#include "memmap.h"

memdesc_t *memdescs;

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static int md_init_err;

/* Objects are 16-byte aligned (the type lives in the low bits), and so sized. */
#define MD_OBJ_ALIGN 16u
#define MD_OBJ_BYTES(type) align_up(sizeof(type), MD_OBJ_ALIGN)

static void md_init(void)
{
	void *p = mmap(NULL, PFN_SPACE_FRAMES * sizeof(memdesc_t), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		md_init_err = -errno;
		return;
	}
	memdescs = p;
}

static uint64_t md_slice_bytes(uint64_t nr_frames)
{
	return align_up(nr_frames, FRAMES_PER_HUGE) * sizeof(memdesc_t);
}

bool md_pfn_is_pmem(pfn_t pfn)
{
	struct pfn_range *r = pfn_range_of(pfn);

	return r && pfn_range_kind(r) == PFN_KIND_PMEM;
}

/* A new object of @size bytes over [@pfn, + @nr) pointed at by their words. */
static struct md_obj *md_obj_make(size_t size, enum md_type type, pfn_t pfn, uint64_t nr)
{
	struct md_obj *o = aligned_alloc(MD_OBJ_ALIGN, align_up(size, MD_OBJ_ALIGN));

	if (!o)
		return NULL;
	memset(o, 0, size);
	atomic_init(&o->refcount, 1); /* the range's base reference */
	o->pfn = pfn;
	o->nr_frames = nr;
	for (uint64_t i = 0; i < nr; i++)
		memdescs[pfn + i] = (memdesc_t)(uintptr_t)o | type;
	return o;
}

/* Free every object of frames [@base, + @nr) (words not cleared). */
static void md_free_objs(pfn_t base, uint64_t nr)
{
	for (pfn_t f = base; f < base + nr;) {
		struct md_obj *o = pfn_to_md_obj(f);

		if (!o) {
			f++;
			continue;
		}
		f = o->pfn + o->nr_frames;
		free(o);
	}
}

int md_populate(pfn_t base, uint64_t nr_frames, bool pmem)
{
	uint64_t len = md_slice_bytes(nr_frames);
	uint64_t folios = pmem ? nr_frames / FRAMES_PER_HUGE : 0;
	uint64_t rest = nr_frames - folios * FRAMES_PER_HUGE;
	int err;

	pthread_once(&md_once, md_init);
	if (md_init_err)
		return pmd_err(md_init_err, "cannot reserve the memdesc array");
	err = vm_commit(memdescs + base, len);
	if (err)
		return pmd_err(err, "memdescs for %llu frames need %llu bytes: %s",
			       (unsigned long long)nr_frames, (unsigned long long)len,
			       strerror(-err));
	for (uint64_t i = 0; i < folios; i++) {
		struct md_folio *f = (struct md_folio *)md_obj_make(
			sizeof(*f), MD_FOLIO, base + i * FRAMES_PER_HUGE, FRAMES_PER_HUGE);

		if (!f)
			goto out_nomem;
		atomic_init(&f->mapcount, -1);
		f->order = HUGE_SHIFT - FRAME_SHIFT;
	}
	if (rest && !md_obj_make(sizeof(struct md_scamem), MD_SCAMEM,
				 base + folios * FRAMES_PER_HUGE, rest))
		goto out_nomem;
	return 0;

out_nomem:
	md_depopulate(base, nr_frames);
	return pmd_err(-ENOMEM, "cannot allocate the memdesc objects of %llu frames",
		       (unsigned long long)nr_frames);
}

void md_depopulate(pfn_t base, uint64_t nr_frames)
{
	md_free_objs(base, nr_frames);
	vm_decommit(memdescs + base, md_slice_bytes(nr_frames));
}

uint64_t md_descriptor_bytes(uint64_t nr_frames, bool pmem)
{
	uint64_t folios = pmem ? nr_frames / FRAMES_PER_HUGE : 0;
	uint64_t rest = nr_frames - folios * FRAMES_PER_HUGE;

	return nr_frames * sizeof(memdesc_t) + folios * MD_OBJ_BYTES(struct md_folio) +
	       (rest ? MD_OBJ_BYTES(struct md_scamem) : 0);
}

/* Bytes from @pfn + @off to the end of the object of @pfn (0: no object). */
static uint64_t md_run(pfn_t pfn, uint32_t off, struct md_obj **obj)
{
	struct md_obj *o = pfn_to_md_obj(pfn);

	*obj = o;
	if (!o)
		return 0;
	return frames_to_bytes(o->pfn + o->nr_frames - pfn) - off;
}

unsigned md_nr_vecs(pfn_t pfn, uint32_t off, uint64_t len)
{
	uint64_t n = 0;

	while (len) {
		struct md_obj *o;
		uint64_t piece = md_run(pfn, off, &o);

		if (!piece)
			return (unsigned)(n + 1); /* md_bio_add() refuses it anyway */
		if (piece > len)
			piece = len;
		n++;
		len -= piece;
		pfn += bytes_to_frames(off + piece);
		off = (uint32_t)((off + piece) & (FRAME_SIZE - 1));
	}
	return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

int md_bio_add(struct bio *bio, pfn_t pfn, uint32_t off, uint64_t len)
{
	while (len) {
		struct md_obj *o;
		uint64_t piece = md_run(pfn, off, &o);

		if (!piece)
			return pmd_err(-ENOENT, "frame %llu has no memdesc",
				       (unsigned long long)pfn);
		if (piece > len)
			piece = len;
		if (bio->bi_vcnt) {
			struct bio_vec *prev = &bio->bi_io_vec[bio->bi_vcnt - 1];

			/* Continues the previous bvec in the same object: grow it. */
			if (frames_to_bytes(prev->bv_pfn) + prev->bv_offset + prev->bv_len ==
				    frames_to_bytes(pfn) + off &&
			    pfn_to_md_obj(prev->bv_pfn) == o &&
			    (uint64_t)prev->bv_len + piece <= UINT32_MAX) {
				prev->bv_len += (uint32_t)piece;
				bio->bi_iter.bi_size += (uint32_t)piece;
				goto next;
			}
		}
		if (!bio_push_vec(bio, (struct bio_vec){.bv_pfn = pfn,
							.bv_len = (uint32_t)piece,
							.bv_offset = off}))
			return -ENOSPC;
		atomic_fetch_add_explicit(&o->refcount, 1, memory_order_relaxed);
next:
		len -= piece;
		pfn += bytes_to_frames(off + piece);
		off = (uint32_t)((off + piece) & (FRAME_SIZE - 1));
	}
	return 0;
}

void md_bvec_release(const struct bio_vec *bv)
{
	atomic_fetch_sub_explicit(&pfn_to_md_obj(bv->bv_pfn)->refcount, 1, memory_order_release);
}
