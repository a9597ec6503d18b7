/* SPDX-License-Identifier: MIT */
/*
 * test_core_resv - delayed allocation (issue 10 item 7): blocks set aside
 * with daxfs_reserve() count as used for everyone (statfs, plain writes,
 * mkdir) except the writebacks that draw on them through
 * daxfs_bmap_resv(), which then always find their space, even on a
 * filesystem that plain writes filled meanwhile; a reservation larger than
 * the free space is refused whole; unused reservations are given back.
 */
#include <linux/falloc.h>

#include "test_core_util.h"
#include "units.h"

static uint64_t free_blocks(struct daxfs *fs)
{
	struct daxfs_statfs st;

	CHECK_OK(daxfs_statfs(fs, &st));
	return st.free_blocks;
}

int main(void)
{
	const char *path = core_mkfs("resv", 16 * MiB, 256);
	struct daxfs *fs = core_open(path);
	struct daxfs_attr fill, late, held;
	static char buf[4096];
	uint64_t f0, want, resv, got;
	size_t done;
	int err;

	CHECK_OK(daxfs_create(fs, 1, "fill", 0644, 0, 0, &fill));
	CHECK_OK(daxfs_create(fs, 1, "held", 0644, 0, 0, &held));
	CHECK_OK(daxfs_create(fs, 1, "late", 0644, 0, 0, &late));
	f0 = free_blocks(fs);
	CHECK(f0 > 1000);

	/* more than is free: refused whole, nothing changes */
	CHECK_EQ(daxfs_reserve(fs, f0 + 1), -ENOSPC);
	CHECK_EQ(free_blocks(fs), f0);

	/* reserve 300 blocks: they look used at once */
	want = 300;
	CHECK_OK(daxfs_reserve(fs, want));
	CHECK(free_blocks(fs) <= f0 - want);

	/* plain writes fill what is left and stop short of the reservation */
	memset(buf, 'x', sizeof(buf));
	for (uint64_t off = 0;; off += sizeof(buf)) {
		err = daxfs_write(fs, fill.ino, off, sizeof(buf), buf, &done);
		if (err) {
			CHECK_EQ(err, -ENOSPC);
			break;
		}
	}
	CHECK_EQ(free_blocks(fs), 0);
	CHECK_EQ(daxfs_write(fs, late.ino, 0, sizeof(buf), buf, &done), -ENOSPC);
	CHECK_EQ(daxfs_reserve(fs, 1), -ENOSPC);

	/* the writeback of the reserved pages finds every block it needs,
	 * scattered so that it also needs extent blocks (from the credit, then
	 * from the slack kept for them) */
	resv = want;
	got = 0;
	for (uint64_t k = 0; k < want; k++) {
		struct daxfs_map m;
		uint64_t before = resv;

		CHECK_OK(daxfs_bmap_resv(fs, held.ino, k * 2 * 4096, 4096, &resv, &m));
		CHECK(m.region_off != DAXFS_HOLE);
		CHECK(before - resv <= 2);
		got += before - resv;
	}
	CHECK_EQ(got, want - resv);
	CHECK(resv == 0);
	CHECK_OK(daxfs_write_commit(fs, held.ino, want * 2 * 4096));

	/* a writeback over blocks that are mapped already uses no credit */
	resv = 5;
	CHECK_OK(daxfs_reserve(fs, 0));
	{
		struct daxfs_map m;

		CHECK_OK(daxfs_bmap_resv(fs, held.ino, 0, 4096, &resv, &m));
		CHECK_EQ(resv, 5);
	}

	/* giving back: a reservation made and returned leaves the count as it was */
	CHECK_OK(daxfs_unlink(fs, 1, "fill"));
	f0 = free_blocks(fs);
	CHECK_OK(daxfs_reserve(fs, 64));
	daxfs_unreserve(fs, 64);
	CHECK_EQ(free_blocks(fs), f0);
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	printf("resv: reservations hold against plain writes and feed their writebacks\n");
	return 0;
}
