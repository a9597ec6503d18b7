/* SPDX-License-Identifier: MIT */
/*
 * test_bio_desc - bios in the ondemand and memdesc descriptor modes:
 *   ondemand: a whole 2 MiB area is one bvec naming its 64-byte descriptor
 *     and holds a reference on it; any part of an area gets one transient
 *     page per 4 KiB (counted alive, freed by bio_put, also on -ENOSPC);
 *     permanent memory is 64 bytes per 2 MiB;
 *   memdesc: 8 bytes per 4 KiB pointing at a folio per 2 MiB of pmem and
 *     one scattered-memory object for DRAM buffers and pmem tails; one bvec
 *     per object run, a reference per bvec, dropped by bio_put and on
 *     -ENOSPC; the "zone" comes from the pfn;
 *   both: memory registered in another mode is refused with a message, the
 *   segments cover exactly the bytes described.
 */
#include "desc_memdesc.h"
#include "desc_ondemand.h"
#include "test_blk_ramdisk.h"

static uint64_t od_live(void)
{
	struct od_stats st;

	od_stats(&st);
	return st.live;
}

static struct bio *od_bio(char *mem, uint64_t len, unsigned room)
{
	struct bio *bio;

	CHECK_OK(bio_alloc(room ? room : bio_nr_vecs_for(mem, len, DESC_ONDEMAND), BIO_OP_WRITE,
			   BIO_DESC_ONDEMAND, &bio));
	CHECK_OK(bio_add_range(bio, mem, len, DESC_ONDEMAND));
	return bio;
}

static void test_ondemand(void)
{
	char *mem = map_huge(4 * MiB);
	struct pfn_range *r = reg(mem, 4 * MiB, DESC_ONDEMAND);
	pfn_t base = pfn_range_base(r);
	struct od_area *a0 = pfn_to_od_area(base);
	struct od_stats st;
	struct bio *bio, *many[16];

	/* Permanent memory: the pfn table slots and <= 64 bytes per 2 MiB. */
	CHECK(OD_AREA_BYTES <= 64);
	CHECK_EQ(pfn_range_descriptor_bytes(r), 2 * sizeof(char *) + 2 * OD_AREA_BYTES);
	CHECK_EQ(a0->h.pfn, base);
	CHECK_EQ(pfn_to_od_area(base + 600)->h.pfn, base + 512);
	CHECK_EQ(atomic_load(&a0->h.refcount), 1);

	/* A whole area: one bvec, one reference, no transient page. */
	CHECK_EQ(bio_nr_vecs_for(mem, 2 * MiB, DESC_ONDEMAND), 1);
	bio = od_bio(mem, 2 * MiB, 0);
	CHECK_EQ(bio->bi_vcnt, 1);
	CHECK(bio->bi_io_vec[0].bv_obj == &a0->h);
	CHECK_EQ(atomic_load(&a0->h.refcount), 2);
	CHECK_EQ(od_live(), 0);
	check_bio_covers(bio, mem, 2 * MiB);
	bio_put(bio);
	CHECK_EQ(atomic_load(&a0->h.refcount), 1);

	/* Part of an area: a transient page per 4 KiB, freed at bio_put. */
	od_stats_reset();
	bio = od_bio(mem + 4096 + 100, 8 * KiB, 0);
	CHECK_EQ(bio->bi_vcnt, 3);
	CHECK_EQ(od_live(), 3);
	CHECK_EQ(atomic_load(&a0->split_pages), 3);
	{
		struct od_page *p = bio->bi_io_vec[1].bv_obj;

		CHECK(p->h.flags & OD_TRANSIENT);
		CHECK_EQ(p->h.pfn, base + 2);
		CHECK(p->area == a0);
		CHECK_EQ(p->index, 2 * FRAME_SIZE);
		CHECK_EQ(bio->bi_io_vec[0].bv_offset, 100);
	}
	check_bio_covers(bio, mem + 4096 + 100, 8 * KiB);
	bio_put(bio);
	CHECK_EQ(od_live(), 0);
	CHECK_EQ(atomic_load(&a0->split_pages), 0);
	CHECK_EQ(atomic_load(&a0->h.refcount), 1);

	/* Unaligned over both areas: 512 pieces of the first, 257 of the second. */
	CHECK_EQ(bio_nr_vecs_for(mem + 777, 3 * MiB, DESC_ONDEMAND), 769);
	bio = od_bio(mem + 777, 3 * MiB, 0);
	CHECK_EQ(bio->bi_vcnt, 769);
	check_bio_covers(bio, mem + 777, 3 * MiB);
	bio_put(bio);

	/* -ENOSPC leaves the bio as it was and frees what was made. */
	bio = od_bio(mem, 8 * KiB, 3);
	CHECK_EQ(bio_add_range(bio, mem + MiB, 8 * KiB, DESC_ONDEMAND), -ENOSPC);
	CHECK_EQ(bio->bi_vcnt, 2);
	CHECK_EQ(bio->bi_iter.bi_size, 8 * KiB);
	CHECK_EQ(od_live(), 2);
	bio_put(bio);
	CHECK_EQ(od_live(), 0);

	/* Transient memory at queue depth 16 of 4 KiB I/O: 16 pages at the peak. */
	od_stats_reset();
	for (int i = 0; i < 16; i++)
		many[i] = od_bio(mem + i * 8 * KiB, 4 * KiB, 0);
	for (int i = 0; i < 16; i++)
		bio_put(many[i]);
	od_stats(&st);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(st.peak, 16);
	CHECK_EQ(st.made, 16);

	/* Through a queue: written from ondemand memory, read back. */
	{
		struct ramdisk rd;
		struct blk_dev *dev = ramdisk_new(&rd, 4 * MiB, NULL, 2);

		memset(mem, 0x5a, 2 * MiB);
		bio = new_bio(BIO_OP_WRITE, mem, 2 * MiB, DESC_ONDEMAND, 0);
		CHECK_OK(blk_submit_bio_wait(dev, bio));
		bio_put(bio);
		bio = new_bio(BIO_OP_READ, mem + 2 * MiB + 512, 4096, DESC_ONDEMAND, 8);
		CHECK_OK(blk_submit_bio_wait(dev, bio));
		bio_put(bio);
		CHECK_EQ(mem[2 * MiB + 512], 0x5a);
		CHECK_EQ(mem[2 * MiB + 512 + 4095], 0x5a);
		ramdisk_delete(&rd, &dev);
	}
	CHECK_EQ(od_live(), 0);

	/* Ondemand memory in a memdesc bio, pfn memory in an ondemand bio: refused. */
	CHECK_OK(bio_alloc(4, BIO_OP_WRITE, BIO_DESC_MEMDESC, &bio));
	CHECK_EQ(bio_add_range(bio, mem, FRAME_SIZE, DESC_MEMDESC), -EINVAL);
	CHECK(strstr(pmd_errmsg(), "ondemand mode") != NULL);
	CHECK_EQ(bio_add_range(bio, mem, FRAME_SIZE, DESC_ONDEMAND), -EINVAL); /* wrong bio */
	bio_put(bio);
	/* Any memory goes in a pfn bio. */
	bio = new_bio(BIO_OP_WRITE, mem, 2 * MiB, DESC_PFN, 0);
	CHECK_EQ(bio->bi_vcnt, 1);
	bio_put(bio);
	pfn_range_unregister(&r);

	r = reg(mem, 2 * MiB, DESC_PFN);
	CHECK_OK(bio_alloc(4, BIO_OP_WRITE, BIO_DESC_ONDEMAND, &bio));
	CHECK_EQ(bio_add_range(bio, mem, FRAME_SIZE, DESC_ONDEMAND), -EINVAL);
	CHECK_EQ(bio->bi_vcnt, 0);
	bio_put(bio);
	pfn_range_unregister(&r);

	/* A range that is not 2 MiB sized: its last area is never whole. */
	r = reg(mem, 2 * MiB + 8 * KiB, DESC_ONDEMAND);
	CHECK_EQ(pfn_range_descriptor_bytes(r), 2 * sizeof(char *) + 2 * OD_AREA_BYTES);
	CHECK_EQ(bio_nr_vecs_for(mem + 2 * MiB, 8 * KiB, DESC_ONDEMAND), 2);
	pfn_range_unregister(&r);
	munmap(mem, 4 * MiB);
}

static int md_refs(pfn_t pfn)
{
	return atomic_load(&pfn_to_md_obj(pfn)->refcount);
}

static void test_memdesc(void)
{
	uint64_t len = 4 * MiB + 8 * KiB;
	char *mem = map_huge(6 * MiB);
	struct pfn_range *r;
	pfn_t base;
	struct bio *bio;

	/* pmem: two folios and a scattered-memory object for the 8 KiB tail. */
	CHECK_OK(pfn_range_register(mem, len, PFN_KIND_PMEM, DESC_MEMDESC, &r));
	base = pfn_range_base(r);
	CHECK_EQ(memdesc_type(memdescs[base]), MD_FOLIO);
	CHECK_EQ(memdesc_type(memdescs[base + 1023]), MD_FOLIO);
	CHECK_EQ(memdesc_type(memdescs[base + 1024]), MD_SCAMEM);
	CHECK(pfn_to_md_obj(base + 5) == pfn_to_md_obj(base));
	CHECK(pfn_to_md_obj(base + 512) != pfn_to_md_obj(base));
	CHECK_EQ(pfn_to_md_obj(base + 512)->pfn, base + 512);
	CHECK_EQ(((struct md_folio *)pfn_to_md_obj(base))->order, 9);
	CHECK_EQ(pfn_to_md_obj(base + 1025)->nr_frames, 2);
	CHECK(md_pfn_is_pmem(base + 1025));
	/* 8 bytes per 4 KiB, 48-byte folios and scattered objects. */
	CHECK_EQ(pfn_range_descriptor_bytes(r), 3 * sizeof(char *) + 1026 * 8 + 3 * 48);

	/* The whole range: one bvec per object, one reference each. */
	CHECK_EQ(bio_nr_vecs_for(mem, len, DESC_MEMDESC), 3);
	bio = new_bio(BIO_OP_WRITE, mem, len, DESC_MEMDESC, 0);
	CHECK_EQ(bio->bi_vcnt, 3);
	CHECK_EQ(bio->bi_io_vec[1].bv_pfn, base + 512);
	CHECK_EQ(bio->bi_io_vec[1].bv_len, 2 * MiB);
	CHECK_EQ(md_refs(base), 2);
	CHECK_EQ(md_refs(base + 512), 2);
	CHECK_EQ(md_refs(base + 1024), 2);
	check_bio_covers(bio, mem, len);
	bio_put(bio);
	CHECK_EQ(md_refs(base), 1);
	CHECK_EQ(md_refs(base + 1024), 1);

	/* Unaligned: a bvec per folio touched. */
	CHECK_EQ(bio_nr_vecs_for(mem + 777, 3 * MiB, DESC_MEMDESC), 2);
	bio = new_bio(BIO_OP_READ, mem + 777, 3 * MiB, DESC_MEMDESC, 0);
	CHECK_EQ(bio->bi_vcnt, 2);
	check_bio_covers(bio, mem + 777, 3 * MiB);
	bio_put(bio);

	/* Continuing the last bvec in the same folio grows it: no new reference. */
	CHECK_OK(bio_alloc(1, BIO_OP_WRITE, BIO_DESC_MEMDESC, &bio));
	CHECK_OK(bio_add_range(bio, mem, FRAME_SIZE, DESC_MEMDESC));
	CHECK_OK(bio_add_range(bio, mem + FRAME_SIZE, FRAME_SIZE, DESC_MEMDESC));
	CHECK_EQ(bio->bi_vcnt, 1);
	CHECK_EQ(md_refs(base), 2);
	/* Into the next folio: no room; nothing changes. */
	CHECK_EQ(bio_add_range(bio, mem + 2 * MiB - FRAME_SIZE, 2 * FRAME_SIZE, DESC_MEMDESC),
		 -ENOSPC);
	CHECK_EQ(bio->bi_vcnt, 1);
	CHECK_EQ(bio->bi_iter.bi_size, 2 * FRAME_SIZE);
	CHECK_EQ(bio->bi_io_vec[0].bv_len, 2 * FRAME_SIZE);
	CHECK_EQ(md_refs(base), 2);
	CHECK_EQ(md_refs(base + 512), 1);
	bio_put(bio);
	CHECK_EQ(md_refs(base), 1);
	pfn_range_unregister(&r);

	/* DRAM: one scattered-memory object for the whole buffer. */
	r = reg(mem, 4 * MiB, DESC_MEMDESC);
	base = pfn_range_base(r);
	CHECK_EQ(memdesc_type(memdescs[base]), MD_SCAMEM);
	CHECK(pfn_to_md_obj(base) == pfn_to_md_obj(base + 1023));
	CHECK(!md_pfn_is_pmem(base));
	CHECK_EQ(pfn_range_descriptor_bytes(r), 2 * sizeof(char *) + 1024 * 8 + 48);
	bio = new_bio(BIO_OP_WRITE, mem + 100, 3 * MiB, DESC_MEMDESC, 0);
	CHECK_EQ(bio->bi_vcnt, 1);
	CHECK_EQ(md_refs(base), 2);
	bio_put(bio);
	CHECK_EQ(md_refs(base), 1);
	/* memdesc memory in an ondemand bio: refused. */
	CHECK_OK(bio_alloc(4, BIO_OP_WRITE, BIO_DESC_ONDEMAND, &bio));
	CHECK_EQ(bio_add_range(bio, mem, FRAME_SIZE, DESC_ONDEMAND), -EINVAL);
	CHECK(strstr(pmd_errmsg(), "memdesc mode") != NULL);
	bio_put(bio);
	pfn_range_unregister(&r);
	munmap(mem, 6 * MiB);
}

int main(void)
{
	test_ondemand();
	test_memdesc();
	return 0;
}
