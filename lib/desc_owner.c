/* SPDX-License-Identifier: MIT */
/*
 * desc_owner.c - owner records in each mode's descriptors (desc_owner.h).
 *
 * struct page keeps its offset in pages (index), as the kernel's does; the
 * other descriptors keep bytes.
 */
#include <errno.h>

#include "desc_memdesc.h"
#include "desc_ondemand.h"
#include "desc_owner.h"
#include "memmap.h"

static void page_owner_set(struct page *p, void *owner, uint64_t index)
{
	p->mapping = owner;
	p->index = index >> FRAME_SHIFT;
}

/*
 * Folio mode: the head when the owner has the whole folio, else each page.
 * A shared folio's head says DESC_OWNER_MIXED in mapping and keeps its own
 * page's owner in private (its index stays its own).
 */
static void folio_owner_set(pfn_t pfn, uint64_t nr, void *owner, uint64_t index)
{
	while (nr) {
		struct page *head = compound_head(pfn_to_page(pfn));
		uint64_t first = page_to_pfn(head), n = folio_nr_pages(head);
		uint64_t into = pfn - first, take = n - into < nr ? n - into : nr;

		if (take == n) {
			page_owner_set(head, owner, index);
		} else {
			/* Shared from now on: spread a whole-folio owner to its pages first. */
			if (head->mapping != DESC_OWNER_MIXED) {
				for (uint64_t i = 1; i < n; i++)
					page_owner_set(head + i, head->mapping,
						       frames_to_bytes(head->index + i));
				head->private = (uintptr_t)head->mapping;
				head->mapping = DESC_OWNER_MIXED;
			}
			for (uint64_t i = 0; i < take; i++) {
				struct page *p = head + into + i;

				if (p == head) {
					head->private = (uintptr_t)owner;
					head->index = index >> FRAME_SHIFT;
				} else {
					page_owner_set(p, owner, index + frames_to_bytes(i));
				}
			}
		}
		pfn += take;
		nr -= take;
		index += frames_to_bytes(take);
	}
}

int desc_owner_set(pfn_t pfn, uint64_t nr, void *owner, uint64_t index)
{
	struct pfn_range *r = pfn_range_of(pfn);

	if (!r || nr > pfn_range_base(r) + pfn_range_frames(r) - pfn)
		return -ENOENT;
	switch (pfn_range_mode(r)) {
	case DESC_PFN:
		return -EOPNOTSUPP;
	case DESC_PAGE:
		for (uint64_t i = 0; i < nr; i++)
			page_owner_set(pfn_to_page(pfn + i), owner, index + frames_to_bytes(i));
		return 0;
	case DESC_FOLIO:
		folio_owner_set(pfn, nr, owner, index);
		return 0;
	case DESC_ONDEMAND:
		while (nr) {
			struct od_area *a = pfn_to_od_area(pfn);
			uint64_t into = pfn - a->h.pfn;
			uint64_t take = FRAMES_PER_HUGE - into < nr ? FRAMES_PER_HUGE - into : nr;

			a->owner = take == FRAMES_PER_HUGE ? owner : DESC_OWNER_MIXED;
			a->index = index;
			pfn += take;
			nr -= take;
			index += frames_to_bytes(take);
		}
		return 0;
	case DESC_MEMDESC:
		while (nr) {
			struct md_obj *o = pfn_to_md_obj(pfn);
			uint64_t into = pfn - o->pfn;
			uint64_t take = o->nr_frames - into < nr ? o->nr_frames - into : nr;

			o->owner = take == o->nr_frames ? owner : DESC_OWNER_MIXED;
			o->index = index;
			pfn += take;
			nr -= take;
			index += frames_to_bytes(take);
		}
		return 0;
	}
	return -EINVAL;
}

/* An owner found in a descriptor describing frames from @first. */
static int owner_of(void *owner, uint64_t first_index, pfn_t first, pfn_t pfn, void **out,
		    uint64_t *index)
{
	if (!owner || owner == DESC_OWNER_MIXED)
		return -ENOENT;
	*out = owner;
	*index = first_index + frames_to_bytes(pfn - first);
	return 0;
}

int desc_owner_find(pfn_t pfn, void **owner, uint64_t *index)
{
	struct pfn_range *r = pfn_range_of(pfn);

	if (!r)
		return -ENOENT;
	switch (pfn_range_mode(r)) {
	case DESC_PFN:
		return -EOPNOTSUPP;
	case DESC_PAGE: {
		struct page *p = pfn_to_page(pfn);

		return owner_of(p->mapping, frames_to_bytes(p->index), pfn, pfn, owner, index);
	}
	case DESC_FOLIO: {
		struct page *p = pfn_to_page(pfn), *head = compound_head(p);

		if (head->mapping != DESC_OWNER_MIXED)
			return owner_of(head->mapping, frames_to_bytes(head->index),
					page_to_pfn(head), pfn, owner, index);
		if (p == head)
			return owner_of((void *)head->private, frames_to_bytes(head->index), pfn,
					pfn, owner, index);
		return owner_of(p->mapping, frames_to_bytes(p->index), pfn, pfn, owner, index);
	}
	case DESC_ONDEMAND: {
		struct od_area *a = pfn_to_od_area(pfn);

		return owner_of(a->owner, a->index, a->h.pfn, pfn, owner, index);
	}
	case DESC_MEMDESC: {
		struct md_obj *o = pfn_to_md_obj(pfn);

		return owner_of(o->owner, o->index, o->pfn, pfn, owner, index);
	}
	}
	return -EINVAL;
}
