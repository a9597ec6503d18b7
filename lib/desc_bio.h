/* SPDX-License-Identifier: MIT */
/*
 * desc_bio.h - how bio.c builds and releases bvecs of the descriptor modes
 * kept in files of their own (desc_ondemand.c, desc_memdesc.c). Internal to
 * lib/.
 *
 * The adders describe [@pfn + @off, + @len) of ONE registered range in the
 * mode's own descriptors (@off < 4 KiB) and return 0, or -ENOSPC when the bio
 * has no room left; bio.c then rolls the bio back, releasing what the bvecs
 * past its mark hold through the release functions.
 */
#ifndef PMD_DESC_BIO_H
#define PMD_DESC_BIO_H

#include "bio.h"

/*
 * bio_push_vec - append @bv to @bio if it has room for one more bvec of
 * bv.bv_len bytes. Returns true if appended (bio.c).
 */
bool bio_push_vec(struct bio *bio, struct bio_vec bv);

unsigned od_nr_vecs(pfn_t pfn, uint32_t off, uint64_t len);
int od_bio_add(struct bio *bio, pfn_t pfn, uint32_t off, uint64_t len);
void od_bvec_release(const struct bio_vec *bv);

unsigned md_nr_vecs(pfn_t pfn, uint32_t off, uint64_t len);
int md_bio_add(struct bio *bio, pfn_t pfn, uint32_t off, uint64_t len);
void md_bvec_release(const struct bio_vec *bv);

#endif
