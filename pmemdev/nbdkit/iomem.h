/* SPDX-License-Identifier: MIT */
/*
 * iomem.h - nbdkit's request buffers as bio memory.
 *
 * A bio describes memory by pfn (pfn mode) or by struct page (folio and
 * page modes), so the memory must be registered in the pfn space
 * (lib/pfn.h). nbdkit hands a plugin its own buffer for every request: a
 * heap buffer each server thread keeps and reuses. We register those
 * buffers the first time we see them and keep the registration, as
 * io_uring keeps registered buffers or an RDMA stack caches memory
 * registrations, so a request costs a bounds check, not a registration:
 *
 *   - a thread's current buffer is checked without a lock (the thread
 *     holds a reference on its registration);
 *   - on a miss, a process-wide cache is searched under a mutex; an entry
 *     nobody uses that overlaps the new buffer (memory freed and reused by
 *     malloc) is dropped and the buffer's pages are registered;
 *   - when that cannot be done (the pages overlap a registration another
 *     thread is using, or registration fails), the request goes through
 *     a per-thread bounce buffer of our own, registered in the device's
 *     mode: one more copy, never a wrong answer.
 *
 * Heap buffers are registered in PAGE mode for the folio and page devices
 * (a memmap of 4 KiB pages: they are not 2 MiB aligned, so they have no
 * 2 MiB folios, as user memory without THP pinned by a kernel driver) and
 * in PFN mode for the pfn device. Registrations never touch the memory, so
 * a cached registration of memory that malloc gave back is harmless.
 *
 * Thread safety: every function may be called from any thread; per-thread
 * state is freed when the thread exits.
 */
#ifndef PMEMDEV_NBDKIT_IOMEM_H
#define PMEMDEV_NBDKIT_IOMEM_H

#include <stdbool.h>
#include <stddef.h>

#include "bio.h"
#include "desc.h"
#include "pfn.h"

/* Bytes of the per-thread bounce buffer (requests are bounced in pieces). */
#define NBD_IOMEM_BOUNCE_BYTES (4u << 20)

/*
 * nbd_iomem_init - set up for a device in @mode. Returns 0 or -errno.
 * Call once, before any other function.
 */
int nbd_iomem_init(enum desc_mode mode);

/*
 * nbd_iomem_fini - drop every cached registration and the calling
 * thread's state. No request may be in flight or start afterwards.
 */
void nbd_iomem_fini(void);

/*
 * nbd_iomem_pin - make [@buf, @buf + @len) describable by bio_add_range()
 * in the device's mode until this thread's next call. Returns true if it
 * is, false if the caller must use the bounce buffer. When it is, *@frame
 * is the frame number of the 4 KiB frame holding @buf in its registration,
 * whose frames are contiguous over the whole range: in a PFN device the
 * caller may describe it with bio_add_pfn_nocheck() and skip the lookup.
 */
bool nbd_iomem_pin(const void *buf, size_t len, pfn_t *frame);

/*
 * nbd_iomem_bounce - this thread's bounce buffer (NBD_IOMEM_BOUNCE_BYTES,
 * registered in the device's mode, 2 MiB aligned; *@frame its first frame
 * number), made on first use. NULL on failure (-errno in *@err,
 * pmd_errmsg() set).
 */
void *nbd_iomem_bounce(pfn_t *frame, int *err);

/*
 * nbd_iomem_bio - this thread's bio with room for BIO_MAX_VECS bvecs,
 * initialised for @opf in the device's descriptor. NULL if out of memory.
 * The caller calls bio_release_pages() when the I/O is done.
 */
struct bio *nbd_iomem_bio(unsigned opf);

/* nbd_iomem_stats - registrations made and requests bounced, since init. */
void nbd_iomem_stats(unsigned long long *registered, unsigned long long *bounced);

/* nbd_iomem_count_bounce - count one bounced request (for the stats). */
void nbd_iomem_count_bounce(void);

#endif
