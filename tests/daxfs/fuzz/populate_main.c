/* SPDX-License-Identifier: MIT */
/*
 * fuzz_populate - write the populated test image (see populate.h) for
 * scripts: fuzz_populate REGION [clean|commit|records] [SIZE_MIB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "populate.h"

int main(int argc, char **argv)
{
	enum pop_end end = POP_CLEAN;
	unsigned long mib = 16;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: fuzz_populate REGION [clean|commit|records] [SIZE_MIB]\n");
		return 16;
	}
	if (argc > 2 && !strcmp(argv[2], "commit"))
		end = POP_CRASH_COMMIT;
	else if (argc > 2 && !strcmp(argv[2], "records"))
		end = POP_CRASH_RECORDS;
	else if (argc > 2 && strcmp(argv[2], "clean")) {
		fprintf(stderr, "fuzz_populate: unknown ending \"%s\"\n", argv[2]);
		return 16;
	}
	if (argc > 3)
		mib = strtoul(argv[3], NULL, 0);
	return pop_build(argv[1], (uint64_t)mib << 20, end, 0) ? 1 : 0;
}
