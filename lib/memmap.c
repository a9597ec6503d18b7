/* SPDX-License-Identifier: MIT */
/*
 * memmap.c - commit and initialise struct pages for registered frames.
 *
 * The virtual memmap covers the whole frame space (PFN_SPACE_FRAMES * 64
 * bytes = 128 GiB of address space, reserved PROT_NONE and never committed
 * as a whole). Registering a range commits the slice [base, base + n) and
 * writes every struct page, which is the set-up cost the page design pays
 * per 4 KiB of memory. Ranges start on 512-frame boundaries, so slices are
 * whole 32 KiB of memmap and never share a page of it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "errmsg.h"
#include "memmap.h"

struct page *vmemmap;

static pthread_once_t vmemmap_once = PTHREAD_ONCE_INIT;
static int vmemmap_err;

static void vmemmap_init(void)
{
	size_t len = PFN_SPACE_FRAMES * MEMMAP_BYTES_PER_FRAME;
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		vmemmap_err = -errno;
		return;
	}
	vmemmap = p;
}

/* Bytes of memory the kernel says are available for new allocations. */
static uint64_t mem_available_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kib = 0;
	char line[128];

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib ? (uint64_t)kib * 1024 : UINT64_MAX;
}

static void init_page(struct page *p, uint64_t flags)
{
	p->flags = flags;
	p->lru.next = NULL;
	p->lru.prev = NULL;
	p->mapping = NULL;
	p->index = 0;
	p->private = 0;
	atomic_init(&p->mapcount, -1);
	/* Registered memory holds one base reference, like ZONE_DEVICE pages. */
	atomic_init(&p->refcount, 1);
	p->memcg_data = 0;
}

int memmap_populate(pfn_t base, uint64_t nr_frames, bool folio, bool pmem)
{
	uint64_t need = nr_frames * MEMMAP_BYTES_PER_FRAME;
	uint64_t avail = mem_available_bytes();
	uint64_t flags = (UINT64_C(1) << PG_reserved) | (pmem ? UINT64_C(1) << PG_pmem : 0);
	char nb[32], ab[32];
	void *p;
	int err;

	pthread_once(&vmemmap_once, vmemmap_init);
	if (vmemmap_err)
		return pmd_err(vmemmap_err, "cannot reserve the virtual memmap");
	if (need > avail)
		return pmd_err(-ENOMEM,
			       "memmap for %llu frames needs %s (64 bytes per 4 KiB); only %s of "
			       "memory is available",
			       (unsigned long long)nr_frames, format_size(need, nb, sizeof(nb)),
			       format_size(avail, ab, sizeof(ab)));
	err = vm_commit(vmemmap + base, need);
	if (err)
		return pmd_err(err, "memmap for %llu frames needs %s (64 bytes per 4 KiB): %s",
			       (unsigned long long)nr_frames, format_size(need, nb, sizeof(nb)),
			       strerror(-err));
	p = vmemmap + base;

	/*
	 * The kernel backs its vmemmap with 2 MiB pages where it can; ask for
	 * the same (THP is in madvise mode on our machines), so the set-up cost
	 * measured is writing the struct pages, not 4 KiB page faults.
	 */
	madvise(p, need, MADV_HUGEPAGE);
	for (uint64_t i = 0; i < nr_frames; i++)
		init_page(&vmemmap[base + i], flags);

	if (folio) {
		for (uint64_t h = 0; h < nr_frames; h += FRAMES_PER_HUGE) {
			struct page *head = &vmemmap[base + h];

			head->flags |= (UINT64_C(1) << PG_head) |
				       ((uint64_t)(HUGE_SHIFT - FRAME_SHIFT) << PAGE_ORDER_SHIFT);
			for (uint64_t t = 1; t < FRAMES_PER_HUGE; t++) {
				struct page *tail = head + t;

				tail->compound_head = (uintptr_t)head | 1;
				/* Tails carry no count of their own, as in the kernel. */
				atomic_init(&tail->refcount, 0);
			}
		}
	}
	return 0;
}

void memmap_depopulate(pfn_t base, uint64_t nr_frames)
{
	vm_decommit(vmemmap + base, nr_frames * MEMMAP_BYTES_PER_FRAME);
}

int vm_commit(void *addr, uint64_t len)
{
	if (mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED) {
		int err = -errno;

		/* Put the reservation back the way it was. */
		vm_decommit(addr, len);
		return err;
	}
	return 0;
}

void vm_decommit(void *addr, uint64_t len)
{
	mmap(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}
