/* SPDX-License-Identifier: MIT */
/*
 * units.h - sizes and typed converters between bytes, sectors and frames.
 *
 * A sector is 512 bytes (the block layer's address unit, as in the kernel).
 * A frame is 4 KiB (the unit a pfn names). A huge frame is 2 MiB.
 */
#ifndef PMD_UNITS_H
#define PMD_UNITS_H

#include <stdint.h>

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

#define SECTOR_SHIFT 9
#define SECTOR_SIZE (UINT64_C(1) << SECTOR_SHIFT) /* bytes */
#define FRAME_SHIFT 12
#define FRAME_SIZE (UINT64_C(1) << FRAME_SHIFT) /* bytes */
#define HUGE_SHIFT 21
#define HUGE_SIZE (UINT64_C(1) << HUGE_SHIFT) /* bytes */
#define FRAMES_PER_HUGE (HUGE_SIZE / FRAME_SIZE)

static inline uint64_t sector_to_off(uint64_t sector)
{
	return sector << SECTOR_SHIFT;
}

static inline uint64_t off_to_sector(uint64_t off_bytes)
{
	return off_bytes >> SECTOR_SHIFT;
}

static inline uint64_t bytes_to_frames(uint64_t bytes)
{
	return bytes >> FRAME_SHIFT;
}

static inline uint64_t frames_to_bytes(uint64_t frames)
{
	return frames << FRAME_SHIFT;
}

static inline int is_aligned(uint64_t v, uint64_t align)
{
	return (v & (align - 1)) == 0;
}

static inline uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

static inline uint64_t align_down(uint64_t v, uint64_t align)
{
	return v & ~(align - 1);
}

/*
 * parse_size - parse "4096", "4k", "2M", "1G", "1T" (binary units, case
 * insensitive, optional trailing "iB"/"B") into bytes. Returns 0 or -EINVAL
 * (also on overflow).
 */
int parse_size(const char *s, uint64_t *out_bytes);

/*
 * parse_u64 - parse a whole string as an unsigned number (decimal, 0x hex
 * or 0 octal, as strtoull base 0; no sign, no trailing characters) into
 * *@out. Returns 0 or -EINVAL (also on overflow).
 */
int parse_u64(const char *s, uint64_t *out);

/* format_size - print @bytes as "2 MiB"/"4 KiB"/"1.5 GiB" into @buf. */
const char *format_size(uint64_t bytes, char *buf, unsigned buflen);

/*
 * pmd_size_hint - @bytes as a user would type it: in the largest binary unit
 * (T, G, M, K) that divides it, "85T", "1026M", "100K", else plain bytes,
 * into @buf (at least 24 bytes). Returns @buf.
 */
const char *pmd_size_hint(uint64_t bytes, char *buf, unsigned buflen);

/*
 * pmd_round_hint - @bytes rounded down to a round figure for a suggestion:
 * to whole TiB from 1 TiB up, whole GiB from 1 GiB, else whole multiples
 * of @align (a power of two).
 */
uint64_t pmd_round_hint(uint64_t bytes, uint64_t align);

#endif
