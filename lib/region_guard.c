/* SPDX-License-Identifier: MIT */
/*
 * region_guard.c - the region's backing file loses pages under a mapping:
 * put them back instead of dying of SIGBUS (see region.h, pmr_guard).
 *
 * A process given a writable chunk descriptor (pmr_chunk_give) can
 * ftruncate(2) it, or punch its pages out of a hugetlbfs file and use up the
 * pool; our next load or store there then faults with SIGBUS (BUS_ADRERR).
 * The handler below runs on the faulting thread, inside the faulting
 * access: it gives the chunk file its size back (the lost pages read as
 * zeros: the holder destroyed its own file's bytes, which a store through
 * its writable mapping could do anyway) and returns, so the access is made
 * again and succeeds. When the pages cannot come back (no huge page left in
 * the pool, tmpfs full) or a holder keeps shrinking the chunk, an exposed
 * chunk is detached: anonymous memory replaces it in our mapping until
 * pmr_reclaim() maps the chunk file again. A chunk never given out holds
 * metadata and other files: it is put back to size but never detached, and
 * a fault that cannot be repaired there, or any fault outside a guarded
 * region, goes to the action that was in place before (by default the
 * process dies, as without the guard).
 *
 * Only async-signal-safe calls are made in the handler (openat, fstat,
 * ftruncate, fallocate, close, mmap, sigaction): no locks, no allocation,
 * no formatted output.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "region_internal.h"

#define GUARD_SLOTS 16 /* regions guarded at once in a process */
#define MAX_REPAIRS 4  /* faults repaired per chunk before it is detached */
/* in guard.faults[idx]: the chunk is detached (the rest counts faults) */
#define DETACHED (1U << 31)

static struct pmr_region *_Atomic slots[GUARD_SLOTS];
static struct sigaction old_action;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static bool installed;

/* chunk_name_safe - "chunk.XXXXXXXX" without snprintf (not signal-safe). */
static void chunk_name_safe(char out[24], uint64_t idx)
{
	static const char hex[] = "0123456789abcdef";
	int n = 8;

	memcpy(out, "chunk.", 6);
	while (n < 16 && idx >> (4 * n))
		n++;
	for (int i = 0; i < n; i++)
		out[6 + i] = hex[(idx >> (4 * (n - 1 - i))) & 15];
	out[6 + n] = 0;
}

/*
 * restore_size - give the file @fd back @size bytes, and on hugetlbfs the
 * page at @page_off (a fault there finds no page when a holder punched it
 * out: allocate one now, or fail when the pool is empty). 0 or -errno.
 */
static int restore_size(const struct pmr_region *r, int fd, uint64_t size, uint64_t page_off)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EIO; /* a device keeps its size */
	if ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size))
		return -errno;
	if (r->backend == PMR_BACKEND_HUGETLBFS &&
	    fallocate(fd, 0, (off_t)page_off, (off_t)r->page_size))
		return -errno;
	return (uint64_t)st.st_size < size;
}

/* detach - anonymous memory in place of chunk @idx in our mapping. */
static int detach(struct pmr_region *r, uint64_t idx)
{
	char *at = (char *)r->addr + idx * PMR_CHUNK_SIZE;

	if (mmap(at, PMR_CHUNK_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return -errno;
	if (r->guard.faults)
		atomic_fetch_or(&r->guard.faults[idx], DETACHED);
	atomic_fetch_add(&r->guard.detached, 1);
	return 0;
}

/*
 * repair - make the faulting page at byte @off of @r accessible again.
 * Returns 0 when the access may be made again, else -errno.
 */
static int repair(struct pmr_region *r, uint64_t off)
{
	uint64_t idx = off / PMR_CHUNK_SIZE, page = off & ~(r->page_size - 1);
	/* a single file's exposed chunks may hold metadata: never detached */
	bool exposed = r->chunked && r->exposed && r->exposed[idx];
	unsigned tries = 0;
	char name[24];
	int fd, ret;

	if (r->guard.faults)
		tries = atomic_fetch_add(&r->guard.faults[idx], 1) & ~DETACHED;
	if (tries >= MAX_REPAIRS)
		return exposed ? detach(r, idx) : -EIO;
	if (r->chunked) {
		chunk_name_safe(name, idx);
		fd = openat(r->fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		page -= idx * PMR_CHUNK_SIZE;
		if (fd < 0)
			ret = -errno;
		else
			ret = restore_size(r, fd, PMR_CHUNK_SIZE, page);
		if (fd >= 0)
			close(fd);
	} else {
		fd = open(r->path, O_RDWR | O_CLOEXEC);
		ret = fd < 0 ? -errno : restore_size(r, fd, r->size, page);
		if (fd >= 0)
			close(fd);
	}
	if (ret > 0) {
		atomic_fetch_add(&r->guard.restored, 1);
		ret = 0;
	}
	if (ret < 0 && exposed)
		return detach(r, idx);
	return ret;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (si->si_code == BUS_ADRERR) {
		uintptr_t a = (uintptr_t)si->si_addr;

		for (int k = 0; k < GUARD_SLOTS; k++) {
			struct pmr_region *r = atomic_load(&slots[k]);
			uintptr_t base = r ? (uintptr_t)r->addr : 0;

			if (!r || a < base || a - base >= r->size)
				continue;
			if (!repair(r, a - base)) {
				errno = saved;
				return; /* the access is made again */
			}
			break;
		}
	}
	/*
	 * Not ours to repair: the action from before the guard takes it. A
	 * fault comes back at once when we return; a sent signal is raised.
	 */
	sigaction(sig, &old_action, NULL);
	if (si->si_code <= 0)
		raise(sig);
	errno = saved;
}

static int install(void)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old_action))
		return pmd_err(-errno, "cannot install the SIGBUS handler: %s", strerror(errno));
	installed = true;
	return 0;
}

int pmr_guard(struct pmr_region *r)
{
	int err, free_slot = -1;

	if (!r->guard.faults) {
		r->guard.faults = calloc(r->nchunks, sizeof(*r->guard.faults));
		if (!r->guard.faults)
			return -ENOMEM;
	}
	pthread_mutex_lock(&install_lock);
	for (int k = 0; k < GUARD_SLOTS; k++) {
		struct pmr_region *s = atomic_load(&slots[k]);

		if (s == r) {
			pthread_mutex_unlock(&install_lock);
			return 0;
		}
		if (!s && free_slot < 0)
			free_slot = k;
	}
	if (free_slot < 0) {
		pthread_mutex_unlock(&install_lock);
		return pmd_err(-EBUSY, "cannot guard %s: %d regions are guarded already", r->path,
			       GUARD_SLOTS);
	}
	err = install();
	if (!err)
		atomic_store(&slots[free_slot], r);
	pthread_mutex_unlock(&install_lock);
	return err;
}

void pmr_unguard(struct pmr_region *r)
{
	pthread_mutex_lock(&install_lock);
	for (int k = 0; k < GUARD_SLOTS; k++)
		if (atomic_load(&slots[k]) == r)
			atomic_store(&slots[k], NULL);
	pthread_mutex_unlock(&install_lock);
	free(r->guard.faults);
	r->guard.faults = NULL;
}

void pmr_guard_reset(struct pmr_region *r, uint64_t idx)
{
	if (r->guard.faults && idx < r->nchunks)
		atomic_store(&r->guard.faults[idx], 0);
}

bool pmr_chunk_detached(const struct pmr_region *r, uint64_t idx)
{
	return r->guard.faults && idx < r->nchunks &&
	       (atomic_load(&r->guard.faults[idx]) & DETACHED);
}

/*
 * pmr_guard_touch - see region.h. One load per backing page of the range
 * in chunks given out; a page that is there costs a load, a page a holder
 * took raises SIGBUS here, on this thread, where on_sigbus() repairs or
 * detaches the chunk before the load is made again.
 */
void pmr_guard_touch(struct pmr_region *r, uint64_t off, uint64_t len)
{
	uint64_t step = r->page_size ? r->page_size : 4096, end;
	const volatile char *base = r->addr;

	if (!r->guard.faults || !r->exposed || !len || off >= r->size ||
	    !__atomic_load_n(&r->nexposed, __ATOMIC_RELAXED))
		return;
	end = len > r->size - off ? r->size : off + len;
	for (uint64_t c = off / PMR_CHUNK_SIZE; c * PMR_CHUNK_SIZE < end; c++) {
		uint64_t s = c * PMR_CHUNK_SIZE > off ? c * PMR_CHUNK_SIZE : off;
		uint64_t e = (c + 1) * PMR_CHUNK_SIZE < end ? (c + 1) * PMR_CHUNK_SIZE : end;

		/* cleared only once no file data is left in the chunk */
		if (!__atomic_load_n(&r->exposed[c], __ATOMIC_RELAXED))
			continue;
		for (uint64_t a = s & ~(step - 1); a < e; a += step)
			(void)base[a];
	}
}
