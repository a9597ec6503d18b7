/* SPDX-License-Identifier: MIT */
/*
 * desc.h - descriptor modes: how memory is described to the block layer.
 *
 *   DESC_PFN    no per-4 KiB descriptor; a bvec names {pfn, len}, so a 2 MiB
 *               extent is one bvec.
 *   DESC_FOLIO  a 64-byte struct page per 4 KiB (memmap), grouped into 2 MiB
 *               compound folios; a bvec names {head page, len}: one per 2 MiB.
 *   DESC_PAGE   the same memmap without compound heads; one bvec per 4 KiB.
 *
 * FOLIO separates the two costs PAGE pays: descriptor memory (shared with
 * FOLIO) and the number of bvecs (shared with PFN).
 */
#ifndef PMD_DESC_H
#define PMD_DESC_H

#include <stdbool.h>

enum desc_mode {
	DESC_PFN,
	DESC_FOLIO,
	DESC_PAGE,
};

#define DESC_NR_MODES 3

/* desc_mode_parse - "pfn"|"folio"|"page" -> mode; returns 0 or -EINVAL. */
int desc_mode_parse(const char *s, enum desc_mode *out);

/* desc_mode_name - "pfn", "folio", "page" (never NULL). */
const char *desc_mode_name(enum desc_mode m);

/* desc_mode_has_memmap - true if the mode keeps a struct page per 4 KiB. */
static inline bool desc_mode_has_memmap(enum desc_mode m)
{
	return m != DESC_PFN;
}

#endif
