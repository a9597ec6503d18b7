/* SPDX-License-Identifier: MIT */
/*
 * pfn_rmap.c - the per-2 MiB-chunk reverse map (pfn_rmap.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pfn_rmap.h"

struct rmap_ext {
	uint16_t start; /* first frame, within the chunk */
	uint16_t nr;	/* frames */
	uint32_t pad;
	void *owner;
	uint64_t index; /* owner's byte offset of the first frame */
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
	uint64_t bytes; /* the chunk arrays' memory */
	struct rmap_chunk *chunks[];
};

#define RMAP_CHUNK_BYTES(cap) (sizeof(struct rmap_chunk) + (uint64_t)(cap) * sizeof(struct rmap_ext))

int pfn_rmap_new(pfn_t base, uint64_t nr_frames, struct pfn_rmap **out)
{
	uint64_t n = align_up(nr_frames, FRAMES_PER_HUGE) / FRAMES_PER_HUGE;
	struct pfn_rmap *m = calloc(1, sizeof(*m) + n * sizeof(m->chunks[0]));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->base = base;
	m->nr_frames = nr_frames;
	m->nr_chunks = n;
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
	pthread_mutex_destroy(&m->lock);
	free(m);
	*mp = NULL;
}

/* Index of the first extent of @c starting after frame @s. */
static uint32_t ext_after(const struct rmap_chunk *c, uint32_t s)
{
	uint32_t lo = 0, hi = c ? c->nr : 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->e[mid].start <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Make room for one more extent in chunk @ci. Returns it, or NULL (no memory). */
static struct rmap_chunk *chunk_room(struct pfn_rmap *m, uint64_t ci)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint32_t cap;

	if (c && c->nr < c->cap)
		return c;
	cap = c ? c->cap * 2 : 1;
	c = realloc(c, RMAP_CHUNK_BYTES(cap));
	if (!c)
		return NULL;
	if (!m->chunks[ci])
		c->nr = 0;
	m->bytes += RMAP_CHUNK_BYTES(cap) - (m->chunks[ci] ? RMAP_CHUNK_BYTES(c->cap) : 0);
	c->cap = cap;
	m->chunks[ci] = c;
	return c;
}

static void ext_insert(struct rmap_chunk *c, uint32_t pos, struct rmap_ext x)
{
	memmove(&c->e[pos + 1], &c->e[pos], (c->nr - pos) * sizeof(c->e[0]));
	c->e[pos] = x;
	c->nr++;
}

static int chunk_add(struct pfn_rmap *m, uint64_t ci, uint32_t s, uint32_t n, void *owner,
		     uint64_t index)
{
	struct rmap_chunk *c = m->chunks[ci];
	uint32_t pos = ext_after(c, s);

	if (pos && c->e[pos - 1].start + c->e[pos - 1].nr > s)
		return -EEXIST;
	if (c && pos < c->nr && c->e[pos].start < s + n)
		return -EEXIST;
	if (pos) {
		struct rmap_ext *prev = &c->e[pos - 1];

		if (prev->owner == owner && prev->start + prev->nr == s &&
		    prev->index + frames_to_bytes(prev->nr) == index) {
			prev->nr = (uint16_t)(prev->nr + n);
			return 0;
		}
	}
	c = chunk_room(m, ci);
	if (!c)
		return -ENOMEM;
	ext_insert(c, pos, (struct rmap_ext){.start = (uint16_t)s, .nr = (uint16_t)n,
					     .owner = owner, .index = index});
	return 0;
}

/* Walk [@pfn, + @nr) chunk by chunk, calling @fn on each piece. Lock held. */
static int rmap_walk(struct pfn_rmap *m, pfn_t pfn, uint64_t nr, void *owner, uint64_t index,
		     int (*fn)(struct pfn_rmap *, uint64_t, uint32_t, uint32_t, void *, uint64_t))
{
	if (pfn < m->base || nr > m->nr_frames || pfn - m->base > m->nr_frames - nr)
		return -ERANGE;
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

	(void)owner;
	(void)index;
	if (!c)
		return 0;
	/* From the extent holding @s (if any), rightwards over [s, e). */
	i = ext_after(c, s);
	if (i > 0 && c->e[i - 1].start + c->e[i - 1].nr > s)
		i--;
	while (i < c->nr && c->e[i].start < e) {
		struct rmap_ext *x = &c->e[i];
		uint32_t xs = x->start, xe = xs + x->nr;

		if (xs < s && xe > e) {
			/* The middle goes: split in two. */
			struct rmap_ext tail = *x;

			c = chunk_room(m, ci);
			if (!c)
				return -ENOMEM;
			x = &c->e[i];
			tail.start = (uint16_t)e;
			tail.nr = (uint16_t)(xe - e);
			tail.index = x->index + frames_to_bytes(e - xs);
			x->nr = (uint16_t)(s - xs);
			ext_insert(c, i + 1, tail);
			break;
		}
		if (xs < s) {
			x->nr = (uint16_t)(s - xs);
			i++;
		} else if (xe > e) {
			x->index += frames_to_bytes(e - xs);
			x->start = (uint16_t)e;
			x->nr = (uint16_t)(xe - e);
			break;
		} else {
			memmove(x, x + 1, (c->nr - i - 1) * sizeof(*x));
			c->nr--;
		}
	}
	return 0;
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
	if (pos && c->e[pos - 1].start + c->e[pos - 1].nr > s) {
		const struct rmap_ext *x = &c->e[pos - 1];

		*owner = x->owner;
		*index = x->index + frames_to_bytes(s - x->start);
		err = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

uint64_t pfn_rmap_bytes(struct pfn_rmap *m)
{
	uint64_t b;

	pthread_mutex_lock(&m->lock);
	b = sizeof(*m) + m->nr_chunks * sizeof(m->chunks[0]) + m->bytes;
	pthread_mutex_unlock(&m->lock);
	return b;
}
