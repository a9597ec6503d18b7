/* SPDX-License-Identifier: MIT */
/*
 * desc.h - descriptor modes: how memory is described to the block layer.
 *
 *   DESC_PFN    no per-4 KiB descriptor; a bvec names {pfn, len}, so a 2 MiB
 *               extent is one bvec.
 *   DESC_FOLIO  a 64-byte struct page per 4 KiB (memmap), grouped into 2 MiB
 *               compound folios; a bvec names {head page, len}: one per 2 MiB.
 *   DESC_PAGE   the same memmap without compound heads; one bvec per 4 KiB.
 *   DESC_ONDEMAND
 *               one 64-byte descriptor per 2 MiB area kept permanently
 *               (desc_ondemand.h); a bio over a whole area names the area,
 *               a bio over part of one gets transient 4 KiB struct pages,
 *               built at submission and freed at completion.
 *   DESC_MEMDESC
 *               8 bytes per 4 KiB pointing at a separately allocated object
 *               (desc_memdesc.h): a folio per 2 MiB of pmem, one
 *               scattered-memory object per DRAM buffer; one bvec per folio.
 *
 * FOLIO separates the two costs PAGE pays: descriptor memory (shared with
 * FOLIO) and the number of bvecs (shared with PFN). ONDEMAND and MEMDESC
 * are the two proposals for keeping less than 64 bytes per 4 KiB while
 * still having a descriptor to point at.
 */
#ifndef PMD_DESC_H
#define PMD_DESC_H

#include <stdbool.h>

enum desc_mode {
	DESC_PFN,
	DESC_FOLIO,
	DESC_PAGE,
	DESC_ONDEMAND,
	DESC_MEMDESC,
};

#define DESC_NR_MODES 5

/* The mode names, comma separated, for usage and error messages. */
#define DESC_MODE_NAMES "pfn, folio, page, ondemand, memdesc"

/*
 * desc_mode_parse - "pfn"|"folio"|"page"|"ondemand"|"memdesc" -> mode;
 * returns 0 or -EINVAL.
 */
int desc_mode_parse(const char *s, enum desc_mode *out);

/* desc_mode_name - the mode's name, "unknown" if out of range (never NULL). */
const char *desc_mode_name(enum desc_mode m);

/* desc_mode_has_memmap - true if the mode keeps a struct page per 4 KiB. */
static inline bool desc_mode_has_memmap(enum desc_mode m)
{
	return m == DESC_FOLIO || m == DESC_PAGE;
}

/*
 * desc_mode_can_describe - can a bio built in @bio_mode describe memory
 * registered in @range_mode? pfn bios describe any memory; folio and page
 * bios need a memmap; ondemand and memdesc bios need their own descriptors.
 */
static inline bool desc_mode_can_describe(enum desc_mode bio_mode, enum desc_mode range_mode)
{
	if (bio_mode == DESC_PFN)
		return true;
	if (desc_mode_has_memmap(bio_mode))
		return desc_mode_has_memmap(range_mode);
	return bio_mode == range_mode;
}

/*
 * desc_mode_buffer_mode - the mode to register a DRAM I/O buffer in, when
 * bios of mode @m describe it and it may not be 2 MiB aligned: folio needs
 * aligned ranges, so its buffers get a plain memmap (page); the others use
 * their own mode.
 */
static inline enum desc_mode desc_mode_buffer_mode(enum desc_mode m)
{
	return m == DESC_FOLIO ? DESC_PAGE : m;
}

#endif
