/* SPDX-License-Identifier: MIT */
/*
 * test_units - parse_size() accepts binary units and rejects bad strings;
 * parse_u64() takes whole numbers only; format_size() prints the largest
 * unit; desc mode names round-trip.
 */
#include <errno.h>

#include "desc.h"
#include "test.h"
#include "units.h"

static uint64_t parsed(const char *s)
{
	uint64_t v = 12345;

	CHECK_OK(parse_size(s, &v));
	return v;
}

static void check_bad(const char *s)
{
	uint64_t v = 777;

	if (parse_size(s, &v) != -EINVAL) {
		fprintf(stderr, "parse_size(\"%s\") should fail\n", s ? s : "(null)");
		exit(1);
	}
	CHECK_EQ(v, 777); /* untouched */
}

int main(void)
{
	char buf[32];
	enum desc_mode m;

	CHECK_EQ(parsed("0"), 0);
	CHECK_EQ(parsed("4096"), 4096);
	CHECK_EQ(parsed("512B"), 512);
	CHECK_EQ(parsed("4k"), 4 * KiB);
	CHECK_EQ(parsed("4K"), 4 * KiB);
	CHECK_EQ(parsed("4KiB"), 4 * KiB);
	CHECK_EQ(parsed("4kib"), 4 * KiB);
	CHECK_EQ(parsed("4KB"), 4 * KiB);
	CHECK_EQ(parsed("2M"), 2 * MiB);
	CHECK_EQ(parsed("2MiB"), 2 * MiB);
	CHECK_EQ(parsed("1G"), GiB);
	CHECK_EQ(parsed("3g"), 3 * GiB);
	CHECK_EQ(parsed("1T"), TiB);
	CHECK_EQ(parsed("16777215T"), 16777215 * TiB);
	CHECK_EQ(parsed("18446744073709551615"), (long long)UINT64_MAX);

	check_bad(NULL);
	check_bad("");
	check_bad("abc");
	check_bad("-1");
	check_bad(" 4k");
	check_bad("4k ");
	check_bad("4x");
	check_bad("4kk");
	check_bad("4iB");
	check_bad("1.5G");
	check_bad("K");
	check_bad("16777216T");		   /* 2^64 bytes */
	check_bad("18446744073709551616"); /* 2^64 */
	check_bad("99999999999999999999999");

	CHECK(!strcmp(format_size(0, buf, sizeof(buf)), "0 B"));
	CHECK(!strcmp(format_size(512, buf, sizeof(buf)), "512 B"));
	CHECK(!strcmp(format_size(4 * KiB, buf, sizeof(buf)), "4 KiB"));
	CHECK(!strcmp(format_size(2 * MiB, buf, sizeof(buf)), "2 MiB"));
	CHECK(!strcmp(format_size(GiB + GiB / 2, buf, sizeof(buf)), "1.5 GiB"));
	CHECK(!strcmp(format_size(3 * TiB, buf, sizeof(buf)), "3 TiB"));
	CHECK(!strcmp(format_size(1536, buf, sizeof(buf)), "1.5 KiB"));

	for (int i = 0; i < DESC_NR_MODES; i++) {
		CHECK_OK(desc_mode_parse(desc_mode_name((enum desc_mode)i), &m));
		CHECK_EQ(m, i);
	}
	CHECK(!strcmp(desc_mode_name(DESC_FOLIO), "folio"));
	CHECK_EQ(desc_mode_parse("PFN", &m), -EINVAL);
	CHECK_EQ(desc_mode_parse("", &m), -EINVAL);
	CHECK_EQ(desc_mode_parse(NULL, &m), -EINVAL);

	uint64_t v = 5;

	CHECK_OK(parse_u64("0", &v));
	CHECK_EQ(v, 0);
	CHECK_OK(parse_u64("0x10", &v));
	CHECK_EQ(v, 16);
	CHECK_OK(parse_u64("18446744073709551615", &v));
	CHECK(v == UINT64_MAX);
	v = 5;
	const char *bad[] = {"", "-1", " 1", "1 ", "12k", "18446744073709551616", "x"};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		CHECK_EQ(parse_u64(bad[k], &v), -EINVAL);
	CHECK_EQ(parse_u64(NULL, &v), -EINVAL);
	CHECK_EQ(v, 5);
	return 0;
}
