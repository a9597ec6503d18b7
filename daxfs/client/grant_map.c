/* SPDX-License-Identifier: MIT */
/*
 * grant_map.c - receive a DAX grant from the daemon and map it (protocol
 * in daxfs_mmap_proto.h): the extents come from one descriptor of the
 * whole region (a single-file region, for a caller who may open it), or
 * from descriptors of the region's 2 MiB chunks, each piece from the
 * chunk it lies in, at its offset there. Every descriptor is closed as
 * soon as its pieces are mapped; the connection stays with the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daxfs_client_internal.h"
#include "daxfs_mmap_proto.h"

#define PAGE_4K UINT64_C(4096)
#define HUGE_2M (UINT64_C(2) << 20)

/* One piece to map: @len bytes at @va from chunk list entry @j, at @off in it. */
struct piece {
	uintptr_t va;
	uint64_t len, off;
	size_t j;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->j < y->j ? -1 : x->j > y->j;
}

/* index of @c in the sorted @chunks, or -1 */
static long chunk_index(const uint64_t *chunks, size_t n, uint64_t c)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (chunks[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && chunks[lo] == c ? (long)lo : -1;
}

/* check_extents - they tile [off, off + len) from its start, in order */
static int check_extents(const struct daxfs_mmap_ext *e, uint64_t n, uint64_t off, size_t len,
			 uint64_t region_size, uint64_t *mapped_end)
{
	uint64_t end = off;

	for (uint64_t i = 0; i < n; i++) {
		if (e[i].file_off != end || e[i].len == 0 || e[i].len % PAGE_4K ||
		    e[i].file_off + e[i].len > off + len ||
		    (e[i].region_off != DAXFS_MMAP_EXT_HOLE &&
		     (e[i].region_off % PAGE_4K || e[i].region_off > region_size ||
		      e[i].len > region_size - e[i].region_off)))
			return daxfs_seterr(-EPROTO,
					    "daemon sent extents that do not tile the range");
		end += e[i].len;
	}
	*mapped_end = end;
	return 0;
}

static int map_hole(uintptr_t va, uint64_t len, int prot)
{
	void *p = daxfs_sys_mmap((void *)va, len, prot & PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	return p == MAP_FAILED ? daxfs_seterr(-errno, "mapping a hole: %s", strerror(errno)) : 0;
}

static int map_piece(uintptr_t va, uint64_t len, int prot, int fd, uint64_t off)
{
	void *p = daxfs_sys_mmap((void *)va, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off);

	if (p == MAP_FAILED)
		return daxfs_seterr(-errno, "mapping %llu bytes at %llu: %s",
				    (unsigned long long)len, (unsigned long long)off,
				    strerror(errno));
	return 0;
}

/* Past the end of file: an empty file, so touching raises SIGBUS as with mmap. */
static int map_tail(uintptr_t va, uint64_t len, int prot)
{
	int mfd = (int)syscall(SYS_memfd_create, "daxfs-eof", MFD_CLOEXEC);
	void *p;

	if (mfd < 0)
		return daxfs_seterr(-errno, "memfd_create: %s", strerror(errno));
	p = daxfs_sys_mmap((void *)va, len, prot, MAP_SHARED | MAP_FIXED, mfd, 0);
	close(mfd);
	return p == MAP_FAILED
		       ? daxfs_seterr(-errno, "mapping past the end of file: %s", strerror(errno))
		       : 0;
}

/* map_from_region - every extent from the one region descriptor */
static int map_from_region(int rfd, const struct daxfs_mmap_ext *e, uint64_t n, uintptr_t base,
			   uint64_t off, int prot)
{
	int err = 0;

	for (uint64_t i = 0; i < n && !err; i++) {
		uintptr_t va = base + (e[i].file_off - off);

		err = e[i].region_off == DAXFS_MMAP_EXT_HOLE
			      ? map_hole(va, e[i].len, prot)
			      : map_piece(va, e[i].len, prot, rfd, e[i].region_off);
	}
	return err;
}

/*
 * pieces_of - split the extents at chunk boundaries; holes are mapped
 * here. Sorted by chunk list entry into *@out.
 */
static int pieces_of(const struct daxfs_mmap_ext *e, uint64_t n, const uint64_t *chunks,
		     size_t nchunks, uint64_t csize, uintptr_t base, uint64_t off, int prot,
		     struct piece **out, size_t *np)
{
	size_t cap = 0, k = 0;
	struct piece *v = NULL;
	int err = 0;

	for (uint64_t i = 0; i < n && !err; i++) {
		uint64_t r = e[i].region_off, done = 0;

		if (r == DAXFS_MMAP_EXT_HOLE) {
			err = map_hole(base + (e[i].file_off - off), e[i].len, prot);
			continue;
		}
		while (done < e[i].len) {
			uint64_t c = (r + done) / csize, in = (r + done) % csize;
			uint64_t len = csize - in < e[i].len - done ? csize - in : e[i].len - done;
			long j = chunk_index(chunks, nchunks, c);

			if (j < 0) {
				err = daxfs_seterr(-EPROTO,
						   "daemon sent no descriptor of chunk %llu",
						   (unsigned long long)c);
				break;
			}
			if (k == cap) {
				size_t nc = cap ? 2 * cap : 64;
				struct piece *nv = realloc(v, nc * sizeof(*nv));

				if (!nv) {
					err = daxfs_seterr(-ENOMEM, "out of memory");
					break;
				}
				v = nv;
				cap = nc;
			}
			v[k++] = (struct piece){base + (e[i].file_off - off) + done, len, in,
						(size_t)j};
			done += len;
		}
	}
	if (err) {
		free(v);
		return err;
	}
	if (k)
		qsort(v, k, sizeof(*v), piece_cmp);
	*out = v;
	*np = k;
	return 0;
}

/* map_from_chunks - the chunk index list, then the descriptors batch by batch */
static int map_from_chunks(int conn_fd, const struct daxfs_mmap_grant *g,
			   const struct daxfs_mmap_ext *e, uint64_t region_size, uintptr_t base,
			   uint64_t off, int prot)
{
	uint64_t *chunks = NULL;
	struct piece *pc = NULL;
	size_t np = 0, next = 0, got = 0;
	int err;

	if (g->chunk_size != HUGE_2M || g->nr_chunks > region_size / g->chunk_size)
		return daxfs_seterr(-EPROTO, "daemon sent a bad chunk grant");
	if (g->nr_chunks) {
		chunks = calloc(g->nr_chunks, sizeof(*chunks));
		if (!chunks)
			return daxfs_seterr(-ENOMEM, "out of memory");
	}
	err = g->nr_chunks ? daxfs_mmap_recv_all(conn_fd, chunks, g->nr_chunks * sizeof(*chunks))
			   : 0;
	if (err)
		err = daxfs_seterr(-EPROTO, "daemon hung up while sending the chunk list");
	for (uint64_t k = 1; !err && k < g->nr_chunks; k++)
		if (chunks[k] <= chunks[k - 1])
			err = daxfs_seterr(-EPROTO, "daemon sent an unsorted chunk list");
	if (!err && g->nr_chunks && chunks[g->nr_chunks - 1] >= region_size / g->chunk_size)
		err = daxfs_seterr(-EPROTO, "daemon sent a chunk past the region");
	if (!err)
		err = pieces_of(e, g->nr_extents, chunks, g->nr_chunks, g->chunk_size, base, off,
				prot, &pc, &np);
	while (!err && got < g->nr_chunks) {
		struct daxfs_mmap_fdbatch b;
		int fds[DAXFS_MMAP_FDS_BATCH];
		unsigned n = 0;

		/* on failure recv_fds has closed what it got */
		err = daxfs_mmap_recv_fds(conn_fd, &b, sizeof(b), fds, DAXFS_MMAP_FDS_BATCH, &n);
		if (!err && (b.magic != DAXFS_MMAP_FDS_MAGIC || b.count != n || !n ||
			     n > g->nr_chunks - got)) {
			for (unsigned k = 0; k < n; k++)
				close(fds[k]);
			err = -EPROTO;
		}
		if (err) {
			err = daxfs_seterr(-EPROTO, "daemon sent a bad batch of chunk descriptors");
			break;
		}
		/* pieces are sorted by chunk: those of this batch come next */
		while (!err && next < np && pc[next].j < got + n) {
			err = map_piece(pc[next].va, pc[next].len, prot, fds[pc[next].j - got],
					pc[next].off);
			next++;
		}
		for (unsigned k = 0; k < n; k++)
			close(fds[k]);
		got += n;
	}
	free(pc);
	free(chunks);
	return err;
}

int daxfs_grant_map(int conn_fd, uint64_t expect_extents, uint64_t region_size, uintptr_t base,
		    uint64_t off, size_t len, int prot, struct daxfs_grant_result *res)
{
	struct daxfs_mmap_ext *ext = NULL;
	struct daxfs_mmap_grant g;
	uint64_t mapped_end = off;
	unsigned nfds = 0;
	int rfd = -1, err;

	memset(res, 0, sizeof(*res));
	err = daxfs_mmap_recv_fds(conn_fd, &g, sizeof(g), &rfd, 1, &nfds);
	if (err || g.magic != DAXFS_MMAP_MAGIC || (g.chunk_size == 0) != (nfds == 1)) {
		if (nfds)
			close(rfd);
		return daxfs_seterr(-EPROTO, "daemon sent no usable grant");
	}
	if (g.nr_extents != expect_extents || g.nr_extents > len / PAGE_4K) {
		err = daxfs_seterr(-EPROTO, "daemon sent %llu extents for %zu bytes",
				   (unsigned long long)g.nr_extents, len);
		goto out;
	}
	if (g.nr_extents) {
		ext = calloc(g.nr_extents, sizeof(*ext));
		if (!ext) {
			err = daxfs_seterr(-ENOMEM, "out of memory");
			goto out;
		}
		err = daxfs_mmap_recv_all(conn_fd, ext, g.nr_extents * sizeof(*ext));
		if (err) {
			err = daxfs_seterr(-EPROTO, "daemon hung up while sending extents");
			goto out;
		}
	}
	err = check_extents(ext, g.nr_extents, off, len, region_size, &mapped_end);
	if (err)
		goto out;
	err = g.chunk_size ? map_from_chunks(conn_fd, &g, ext, region_size, base, off, prot)
			   : map_from_region(rfd, ext, g.nr_extents, base, off, prot);
	if (!err && mapped_end < off + len)
		err = map_tail(base + (mapped_end - off), off + len - mapped_end, prot);
	if (err)
		goto out;
	res->nr_extents = g.nr_extents;
	res->backed_end = base + (mapped_end - off);
	for (uint64_t i = 0; i < g.nr_extents; i++) {
		uintptr_t va = base + (ext[i].file_off - off);
		uintptr_t a = (va + HUGE_2M - 1) & ~(HUGE_2M - 1);

		if (ext[i].region_off == DAXFS_MMAP_EXT_HOLE ||
		    (va - ext[i].region_off) % HUGE_2M != 0)
			continue;
		for (; a + HUGE_2M <= va + ext[i].len; a += HUGE_2M)
			res->huge_bytes += HUGE_2M;
	}
out:
	if (rfd >= 0)
		close(rfd);
	free(ext);
	return err;
}
