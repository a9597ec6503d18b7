/* SPDX-License-Identifier: MIT */
/*
 * pfn_rmap.c - the per-2 MiB-chunk reverse map (pfn_rmap.h).
 *
 * An extent is packed in 8 bytes (struct rmap_ext). A chunk's array
 * (struct rmap_chunk: an 8-byte header, then the extents in frame order)
 * exists only while the chunk holds an extent; it grows by an eighth and
 * gives memory back when a quarter of it is unused, so its slack stays
 * small (the allocator's rounding is used as room, never wasted). Extents
 * that do not fit the packing keep their owner and offset in the map's
 * wide table (struct rmap_wide), one record each, reused through a free
 * list; the table goes away when its last record does.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pfn_rmap.h"

/*
 * An extent, one 64-bit word:
 *   bits 0..8    its first frame within the chunk
 *   bits 9..17   its frames - 1
 *   bit 18       wide
 *   bits 19..63  narrow: the owner in the low id_bits, the offset in frames
 *                (4 KiB units) in the other 45 - id_bits; wide: the slot of
 *                its record in the wide table
 */
struct rmap_ext {
	uint64_t v;
};

#define X_FIELD_BITS 9 /* frame numbers within a chunk: 0..511 */
#define X_FIELD_MASK ((UINT64_C(1) << X_FIELD_BITS) - 1)
#define X_WIDE (UINT64_C(1) << 18)
#define X_PAYLOAD_SHIFT 19
#define X_PAYLOAD_BITS 45

/* A wide extent's owner and offset; a free record has owner NULL, index = next free + 1. */
struct rmap_wide {
	void *owner;
	uint64_t index;
};

struct rmap_chunk {
	uint32_t nr, cap;
	struct rmap_ext e[];
};

struct pfn_rmap {
	pthread_mutex_t lock;
	pfn_t base;
	uint64_t nr_frames;
	uint64_t nr_chunks;
	uint64_t bytes;		     /* everything allocated, as the allocator holds it */
	unsigned id_bits;	     /* bits of a narrow owner; the offset has the rest */
	struct pfn_rmap_stats st;    /* extents, wide, chunks, slots */
	struct rmap_wide *wide;	     /* the wide table */
	uint32_t wide_top, wide_cap; /* records handed out so far, room */
	uint32_t wide_free;	     /* first free record + 1, 0 none */
	struct rmap_chunk *chunks[]; /* per chunk: its array, NULL while empty */
};

/* What an allocation costs: its usable size and the allocator's size word. */
static uint64_t mem_bytes(void *p)
{
	return p ? malloc_usable_size(p) + sizeof(size_t) : 0;
}

static uint32_t x_start(const struct rmap_ext *x)
{
	return (uint32_t)(x->v & X_FIELD_MASK);
}

static uint32_t x_nr(const struct rmap_ext *x)
{
	return (uint32_t)(x->v >> X_FIELD_BITS & X_FIELD_MASK) + 1;
}

static uint32_t x_end(const struct rmap_ext *x)
{
	return x_start(x) + x_nr(x);
}

static bool x_wide(const struct rmap_ext *x)
{
	return x->v & X_WIDE;
}

static uint64_t x_payload(const struct rmap_ext *x)
{
	return x->v >> X_PAYLOAD_SHIFT;
}

static uint64_t id_mask(const struct pfn_rmap *m)
{
	return (UINT64_C(1) << m->id_bits) - 1;
}

/* A wide extent's slot in the table. */
static uint32_t x_slot(const struct rmap_ext *x)
{
	return (uint32_t)x_payload(x);
}

/* @x's owner and the offset of its first frame. */
static void x_get(const struct pfn_rmap *m, const struct rmap_ext *x, void **owner, uint64_t *index)
{
	if (x_wide(x)) {
		*owner = m->wide[x_slot(x)].owner;
		*index = m->wide[x_slot(x)].index;
	} else {
		*owner = (void *)(uintptr_t)(x_payload(x) & id_mask(m));
		*index = frames_to_bytes(x_payload(x) >> m->id_bits);
	}
}

/* Can @nr frames of @owner from offset @index be kept in a narrow extent? */
static bool fits_narrow(const struct pfn_rmap *m, const void *owner, uint64_t index, uint64_t nr)
{
	return (uintptr_t)owner <= id_mask(m) && index % FRAME_SIZE == 0 &&
	       index / FRAME_SIZE + nr <= UINT64_C(1) << (X_PAYLOAD_BITS - m->id_bits);
}

/*
 * @x now covers frames [@start, + @nr) from offset @index; its owner and
 * kind stay (a narrow @x must fit: callers only cut or join narrow ones).
 */
static void x_set(struct pfn_rmap *m, struct rmap_ext *x, uint32_t start, uint32_t nr,
		  uint64_t index)
{
	uint64_t payload = x_payload(x);

	if (x_wide(x))
		m->wide[x_slot(x)].index = index;
	else
		payload = (payload & id_mask(m)) | (index / FRAME_SIZE) << m->id_bits;
	x->v = start | ((uint64_t)(nr - 1) << X_FIELD_BITS) | (x->v & X_WIDE) |
	       (payload << X_PAYLOAD_SHIFT);
}

/* A record of the wide table for @owner: 0 or -ENOMEM. */
static int wide_get(struct pfn_rmap *m, void *owner, uint32_t *slot)
{
	if (m->wide_free) {
		*slot = m->wide_free - 1;
		m->wide_free = (uint32_t)m->wide[*slot].index;
	} else {
		if (m->wide_top == m->wide_cap) {
			uint64_t cap = (uint64_t)m->wide_cap + m->wide_cap / 8 + 4,
				 old = mem_bytes(m->wide);
			struct rmap_wide *w;

			if (cap > UINT32_MAX)
				cap = UINT32_MAX;
			if (cap == m->wide_cap)
				return -ENOMEM; /* 2^32 records: out of numbers */
			w = realloc(m->wide, cap * sizeof(*w));
			if (!w)
				return -ENOMEM;
			m->wide = w;
			m->wide_cap = (uint32_t)cap;
			m->bytes += mem_bytes(w) - old;
		}
		*slot = m->wide_top++;
	}
	m->wide[*slot].owner = owner;
	return 0;
}

static void wide_put(struct pfn_rmap *m, uint32_t slot)
{
	m->wide[slot] = (struct rmap_wide){NULL, m->wide_free};
	m->wide_free = slot + 1;
	if (!m->st.wide) { /* the last one: the table goes */
		m->bytes -= mem_bytes(m->wide);
		free(m->wide);
		m->wide = NULL;
		m->wide_top = m->wide_cap = m->wide_free = 0;
	}
}

/* A new extent for @owner (@x's kind chosen here): 0 or -ENOMEM. */
static int x_new(struct pfn_rmap *m, struct rmap_ext *x, uint32_t start, uint32_t nr, void *owner,
		 uint64_t index)
{
	uint32_t slot;

	if (fits_narrow(m, owner, index, nr)) {
		*x = (struct rmap_ext){(uint64_t)(uintptr_t)owner << X_PAYLOAD_SHIFT};
	} else {
		if (wide_get(m, owner, &slot))
			return -ENOMEM;
		*x = (struct rmap_ext){X_WIDE | (uint64_t)slot << X_PAYLOAD_SHIFT};
	}
	x_set(m, x, start, nr, index);
	return 0;
}

/* Index of the first extent of @c starting after frame @s. */
static uint32_t ext_after(const struct rmap_chunk *c, uint32_t s)
{
	uint32_t lo = 0, hi = c ? c->nr : 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (x_start(&c->e[mid]) <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Give chunk @ci's array room for @want extents (at least the ones it has): 0, -ENOMEM. */
static int chunk_resize(struct pfn_rmap *m, uint64_t ci, uint32_t want)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint64_t old = mem_bytes(c), room;
	uint32_t oldcap = c ? c->cap : 0;

	if (want > FRAMES_PER_HUGE)
		want = FRAMES_PER_HUGE; /* extents are disjoint: at most one per frame */
	c = realloc(c, sizeof(*c) + want * sizeof(c->e[0]));
	if (!c)
		return -ENOMEM;
	if (!oldcap) {
		c->nr = 0;
		m->st.chunks++;
	}
	/* what the allocator rounded up to is room too */
	room = (malloc_usable_size(c) - sizeof(*c)) / sizeof(c->e[0]);
	c->cap = (uint32_t)(room < FRAMES_PER_HUGE ? room : FRAMES_PER_HUGE);
	m->st.slots += c->cap;
	m->st.slots -= oldcap;
	m->bytes += mem_bytes(c) - old;
	m->chunks[ci] = c;
	return 0;
}

/* Chunk @ci with room for one more extent, or NULL (no memory). */
static struct rmap_chunk *chunk_room(struct pfn_rmap *m, uint64_t ci)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint32_t nr = c ? c->nr : 0;

	if (c && c->nr < c->cap)
		return c;
	return chunk_resize(m, ci, nr + 1 + nr / 8) ? NULL : m->chunks[ci];
}

/* After removals: an empty chunk's array goes, a quarter unused is given back. */
static void chunk_trim(struct pfn_rmap *m, uint64_t ci)
{
	struct rmap_chunk *c = m->chunks[ci];

	if (!c)
		return;
	if (!c->nr) {
		m->bytes -= mem_bytes(c);
		m->st.slots -= c->cap;
		m->st.chunks--;
		free(c);
		m->chunks[ci] = NULL;
	} else if (c->cap > c->nr + c->nr / 4 + 2) {
		chunk_resize(m, ci, c->nr + c->nr / 8 + 1); /* no memory: keep it as it is */
	}
}

static void ext_insert(struct pfn_rmap *m, struct rmap_chunk *c, uint32_t pos, struct rmap_ext x)
{
	memmove(&c->e[pos + 1], &c->e[pos], (c->nr - pos) * sizeof(c->e[0]));
	c->e[pos] = x;
	c->nr++;
	m->st.extents++;
	m->st.wide += x_wide(&x);
}

static void ext_delete(struct pfn_rmap *m, struct rmap_chunk *c, uint32_t pos)
{
	struct rmap_ext x = c->e[pos];

	memmove(&c->e[pos], &c->e[pos + 1], (c->nr - pos - 1) * sizeof(c->e[0]));
	c->nr--;
	m->st.extents--;
	if (x_wide(&x)) {
		m->st.wide--;
		wide_put(m, x_slot(&x));
	}
}

/*
 * Does extent @b continue @a (frames, owner, offsets), so @a can take it
 * in? @a's owner and offset in @ao, @ai; @b's in @bo, @bi.
 */
static bool x_continues(const struct pfn_rmap *m, const struct rmap_ext *a, const void *ao,
			uint64_t ai, uint32_t bs, uint32_t bn, const void *bo, uint64_t bi)
{
	return ao == bo && x_end(a) == bs && ai + frames_to_bytes(x_nr(a)) == bi &&
	       (x_wide(a) || fits_narrow(m, ao, ai, x_nr(a) + bn));
}

static int chunk_add(struct pfn_rmap *m, uint64_t ci, uint32_t s, uint32_t n, void *owner,
		     uint64_t index)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint32_t pos = ext_after(c, s);
	struct rmap_ext *prev = pos ? &c->e[pos - 1] : NULL;
	struct rmap_ext *next = c && pos < c->nr ? &c->e[pos] : NULL, x;
	void *po = NULL, *no = NULL;
	uint64_t pi = 0, ni = 0;

	if ((prev && x_end(prev) > s) || (next && x_start(next) < s + n))
		return -EEXIST;
	if (prev)
		x_get(m, prev, &po, &pi);
	if (next)
		x_get(m, next, &no, &ni);
	if (prev && x_continues(m, prev, po, pi, s, n, owner, index)) {
		x_set(m, prev, x_start(prev), x_nr(prev) + n, pi);
		/* it may fill the gap to the next one: one extent */
		if (next && x_continues(m, prev, po, pi, x_start(next), x_nr(next), no, ni)) {
			x_set(m, prev, x_start(prev), x_nr(prev) + x_nr(next), pi);
			ext_delete(m, c, pos);
			chunk_trim(m, ci);
		}
		return 0;
	}
	if (next && owner == no && s + n == x_start(next) && index + frames_to_bytes(n) == ni &&
	    (x_wide(next) || fits_narrow(m, owner, index, n + x_nr(next)))) {
		x_set(m, next, s, n + x_nr(next), index);
		return 0;
	}
	if (x_new(m, &x, s, n, owner, index))
		return -ENOMEM;
	c = chunk_room(m, ci);
	if (!c) {
		if (x_wide(&x))
			wide_put(m, x_slot(&x));
		return -ENOMEM;
	}
	ext_insert(m, c, pos, x);
	return 0;
}

/* Walk [@pfn, + @nr) chunk by chunk, calling @fn on each piece. Lock held. */
static int rmap_walk(struct pfn_rmap *m, pfn_t pfn, uint64_t nr, void *owner, uint64_t index,
		     int (*fn)(struct pfn_rmap *, uint64_t, uint32_t, uint32_t, void *, uint64_t))
{
	if (pfn < m->base || nr > m->nr_frames || pfn - m->base > m->nr_frames - nr)
		return -ERANGE;
	if (nr && frames_to_bytes(nr) - 1 > UINT64_MAX - index)
		return -ERANGE; /* the offsets would wrap */
	pfn -= m->base;
	while (nr) {
		uint64_t ci = pfn / FRAMES_PER_HUGE;
		uint32_t s = (uint32_t)(pfn % FRAMES_PER_HUGE);
		uint32_t n = (uint32_t)(FRAMES_PER_HUGE - s < nr ? FRAMES_PER_HUGE - s : nr);
		int err = fn(m, ci, s, n, owner, index);

		if (err)
			return err;
		pfn += n;
		nr -= n;
		index += frames_to_bytes(n);
	}
	return 0;
}

int pfn_rmap_new(pfn_t base, uint64_t nr_frames, uint64_t max_id, struct pfn_rmap **out)
{
	uint64_t n = align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;
	struct pfn_rmap *m = calloc(1, sizeof(*m) + n * sizeof(m->chunks[0]));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->base = base;
	m->nr_frames = nr_frames;
	m->nr_chunks = n;
	while (m->id_bits < PFN_RMAP_ID_BITS_MAX && max_id >> m->id_bits)
		m->id_bits++;
	m->bytes = mem_bytes(m);
	*out = m;
	return 0;
}

void pfn_rmap_delete(struct pfn_rmap **mp)
{
	struct pfn_rmap *m = *mp;

	if (!m)
		return;
	for (uint64_t i = 0; i < m->nr_chunks; i++)
		free(m->chunks[i]);
	free(m->wide);
	pthread_mutex_destroy(&m->lock);
	free(m);
	*mp = NULL;
}

int pfn_rmap_add(struct pfn_rmap *m, pfn_t pfn, uint64_t nr, void *owner, uint64_t index)
{
	int err;

	if (!owner)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	err = rmap_walk(m, pfn, nr, owner, index, chunk_add);
	pthread_mutex_unlock(&m->lock);
	return err;
}

static int chunk_remove(struct pfn_rmap *m, uint64_t ci, uint32_t s, uint32_t n, void *owner,
			uint64_t index)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint32_t e = s + n, i;
	int err = 0;

	(void)owner;
	(void)index;
	if (!c)
		return 0;
	/* From the extent holding @s (if any), rightwards over [s, e). */
	i = ext_after(c, s);
	if (i > 0 && x_end(&c->e[i - 1]) > s)
		i--;
	while (i < c->nr && x_start(&c->e[i]) < e) {
		struct rmap_ext *x = &c->e[i], tail;
		uint32_t xs = x_start(x), xe = x_end(x);
		uint64_t xi;
		void *xo;

		x_get(m, x, &xo, &xi);
		if (xs < s && xe > e) {
			/* The middle goes: split in two (the tail of the head's kind). */
			uint32_t slot = 0;

			if (x_wide(x) && wide_get(m, xo, &slot)) {
				err = -ENOMEM;
				break;
			}
			tail = *x;
			if (x_wide(x))
				tail.v = X_WIDE | (uint64_t)slot << X_PAYLOAD_SHIFT;
			c = chunk_room(m, ci);
			if (!c) {
				if (x_wide(&tail))
					wide_put(m, slot);
				c = m->chunks[ci];
				err = -ENOMEM;
				break;
			}
			x = &c->e[i];
			x_set(m, &tail, e, xe - e, xi + frames_to_bytes(e - xs));
			x_set(m, x, xs, s - xs, xi);
			ext_insert(m, c, i + 1, tail);
			break;
		}
		if (xs < s) {
			x_set(m, x, xs, s - xs, xi);
			i++;
		} else if (xe > e) {
			x_set(m, x, e, xe - e, xi + frames_to_bytes(e - xs));
			break;
		} else {
			ext_delete(m, c, i);
		}
	}
	chunk_trim(m, ci);
	return err;
}

int pfn_rmap_remove(struct pfn_rmap *m, pfn_t pfn, uint64_t nr)
{
	int err;

	pthread_mutex_lock(&m->lock);
	err = rmap_walk(m, pfn, nr, NULL, 0, chunk_remove);
	pthread_mutex_unlock(&m->lock);
	return err;
}

int pfn_rmap_find(struct pfn_rmap *m, pfn_t pfn, void **owner, uint64_t *index)
{
	const struct rmap_chunk *c;
	uint32_t s, pos;
	int err = -ENOENT;

	if (pfn < m->base || pfn - m->base >= m->nr_frames)
		return -ERANGE;
	pthread_mutex_lock(&m->lock);
	c = m->chunks[(pfn - m->base) / FRAMES_PER_HUGE];
	s = (uint32_t)((pfn - m->base) % FRAMES_PER_HUGE);
	pos = ext_after(c, s);
	if (pos && x_end(&c->e[pos - 1]) > s) {
		const struct rmap_ext *x = &c->e[pos - 1];

		x_get(m, x, owner, index);
		*index += frames_to_bytes(s - x_start(x));
		err = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

uint64_t pfn_rmap_bytes(struct pfn_rmap *m)
{
	uint64_t b;

	pthread_mutex_lock(&m->lock);
	b = m->bytes;
	pthread_mutex_unlock(&m->lock);
	return b;
}

void pfn_rmap_stats(struct pfn_rmap *m, struct pfn_rmap_stats *st)
{
	pthread_mutex_lock(&m->lock);
	*st = m->st;
	st->bytes = m->bytes;
	pthread_mutex_unlock(&m->lock);
}
