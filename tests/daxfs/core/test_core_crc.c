/* SPDX-License-Identifier: MIT */
/*
 * test_core_crc.c - the core's CRC-32C: the standard check value, the
 * iSCSI test vectors of RFC 3720 B.4, continuation across any split
 * (a running crc fed in pieces equals one call), and daxfs_csum() taking
 * its 4-byte field as zero wherever it sits.
 */
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "test.h"

int main(void)
{
	static uint8_t buf[8192];
	uint8_t v[32];

	CHECK_EQ(daxfs_crc32c(0, "123456789", 9), 0xE3069283U);
	CHECK_EQ(daxfs_crc32c(0, "", 0), 0);

	memset(v, 0, sizeof(v));
	CHECK_EQ(daxfs_crc32c(0, v, 32), 0x8A9136AAU);
	memset(v, 0xff, sizeof(v));
	CHECK_EQ(daxfs_crc32c(0, v, 32), 0x62A8AB43U);
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)i;
	CHECK_EQ(daxfs_crc32c(0, v, 32), 0x46DD794EU);
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)(31 - i);
	CHECK_EQ(daxfs_crc32c(0, v, 32), 0x113FDB5CU);

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 2654435761U >> 13);
	uint32_t whole = daxfs_crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 97) {
		uint32_t c = daxfs_crc32c(0, buf, cut);

		CHECK_EQ(daxfs_crc32c(c, buf + cut, sizeof(buf) - cut), whole);
	}

	/* daxfs_csum: the crc field counts as zero, the rest as it is */
	for (size_t off = 0; off + 4 <= 4096; off += 252) {
		uint8_t blk[4096];

		memcpy(blk, buf, sizeof(blk));
		memset(blk + off, 0, 4);
		uint32_t want = daxfs_crc32c(0, blk, sizeof(blk));

		memset(blk + off, 0xA5, 4);
		CHECK_EQ(daxfs_csum(blk, sizeof(blk), off), want);
		blk[(off + 100) % 4096] ^= 1; /* a byte 100 away: never in the field */
		CHECK(daxfs_csum(blk, sizeof(blk), off) != want);
	}
	printf("crc32c: check value, RFC 3720 vectors, continuation and csum ok\n");
	return 0;
}
