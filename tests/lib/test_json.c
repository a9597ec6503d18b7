/* SPDX-License-Identifier: MIT */
/*
 * test_json - pmd_json_str() escapes what JSON needs escaped, keeps valid
 * UTF-8 as it is and turns other bytes into \u00XX; pmd_json_u64s() prints
 * counters as members, the full 64-bit range; pmd_vm_largest_hole()
 * finds a free range that a mapping of that size fits in; pmd_size_hint()
 * writes sizes as a user types them
 * and pmd_round_hint() rounds suggestions down.
 */
#include <string.h>
#include <sys/mman.h>

#include "json.h"
#include "test.h"
#include "units.h"
#include "vmspace.h"

static void check_json(const char *in, const char *want)
{
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	CHECK(f != NULL);
	pmd_json_str(f, in);
	fclose(f);
	if (strcmp(buf, want)) {
		fprintf(stderr, "pmd_json_str: got %s, want %s\n", buf, want);
		exit(1);
	}
}

/* the counters a, b, c as pmd_json_u64s() prints them, wrapped in braces */
static void check_u64s(uint64_t a, uint64_t b, uint64_t c, const char *want)
{
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	CHECK(f != NULL);
	fputc('{', f);
	PMD_JSON_U64S(f, {"a", a}, {"bb", b}, {"c_d", c});
	fputc('}', f);
	fclose(f);
	if (strcmp(buf, want)) {
		fprintf(stderr, "pmd_json_u64s: got %s, want %s\n", buf, want);
		exit(1);
	}
}

static void check_hint(uint64_t bytes, const char *want)
{
	char buf[24];

	pmd_size_hint(bytes, buf, sizeof(buf));
	if (strcmp(buf, want)) {
		fprintf(stderr, "pmd_size_hint(%llu): got %s, want %s\n", (unsigned long long)bytes,
			buf, want);
		exit(1);
	}
}

int main(void)
{
	check_json("", "\"\"");
	check_json("/dev/shm/pmem0", "\"/dev/shm/pmem0\"");
	check_json("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_json("tab\there\nnl", "\"tab\\u0009here\\u000anl\"");
	check_json("del\x7f", "\"del\\u007f\"");
	check_json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		   "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* not UTF-8: a lone continuation byte, a Latin-1 byte, an overlong '/',
	 * a surrogate, a sequence cut off by the end */
	check_json("\x80", "\"\\u0080\"");
	check_json("caf\xe9", "\"caf\\u00e9\"");
	check_json("\xc0\xaf", "\"\\u00c0\\u00af\"");
	check_json("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	check_json("\xe2\x82", "\"\\u00e2\\u0082\"");

	check_u64s(0, 1, 42, "{\"a\": 0, \"bb\": 1, \"c_d\": 42}");
	check_u64s(UINT64_MAX, 1ull << 32, 7,
		   "{\"a\": 18446744073709551615, \"bb\": 4294967296, \"c_d\": 7}");
	{
		char buf[16] = "";
		FILE *f = fmemopen(buf, sizeof(buf), "w");

		CHECK(f != NULL);
		fputc('{', f);
		pmd_json_u64s(f, NULL, 0); /* nothing to print: nothing printed */
		fputc('}', f);
		fclose(f);
		CHECK(!strcmp(buf, "{}"));
	}

	check_hint(85 * TiB, "85T");
	check_hint(1026 * MiB, "1026M");
	check_hint(3 * GiB, "3G");
	check_hint(100 * KiB, "100K");
	check_hint(5000, "5000");
	check_hint(0, "0");
	CHECK_EQ(pmd_round_hint(85 * TiB + 900 * GiB, HUGE_SIZE), 85 * TiB);
	CHECK_EQ(pmd_round_hint(3 * GiB + 5 * MiB, HUGE_SIZE), 3 * GiB);
	CHECK_EQ(pmd_round_hint(513 * MiB, HUGE_SIZE), 512 * MiB);

	/*
	 * the largest hole is real: a reservation of nearly all of it succeeds
	 * (and can only be in it), one larger fails
	 */
	{
		uint64_t hole = pmd_vm_largest_hole(), len;
		void *p;

		CHECK(hole > 1 * TiB);
		len = align_down(hole - GiB, HUGE_SIZE);
		p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHECK(p != MAP_FAILED);
		/* and after it the largest hole has shrunk */
		CHECK(pmd_vm_largest_hole() < hole);
		munmap(p, len);
		p = mmap(NULL, hole + 16 * GiB, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHECK(p == MAP_FAILED);
	}
	printf("ok\n");
	return 0;
}
