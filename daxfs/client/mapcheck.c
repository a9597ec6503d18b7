/* SPDX-License-Identifier: MIT */
/*
 * mapcheck.c - daxfs-mapcheck: map a file, touch every 4 KiB page of it and
 * report how the kernel mapped it (2 MiB PMD entries or 4 KiB PTEs, from
 * /proc/self/smaps), the minor faults taken (getrusage) and the page-table
 * memory (VmPTE), with the time the touching took.
 *
 *   daxfs-mapcheck [--plain|--private] [--write] [--json] [--length BYTES] FILE
 *
 * By default the file must be on a daxfs mount and is mapped with
 * daxfs_mmap(); --plain maps it with mmap(MAP_SHARED) instead (any file:
 * tmpfs, huge tmpfs), --private with mmap(MAP_PRIVATE) (a daxfs file
 * through the FUSE page cache, which refuses MAP_SHARED on direct_io files).
 * See docs/man/daxfs-mapcheck.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "libdaxfs.h"

struct smaps_sum {
	uint64_t size_kb, rss_kb, pmd_kb, hugetlb_kb;
	uint64_t kernel_page_kb, mmu_page_kb; /* largest seen */
	unsigned vmas;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: daxfs-mapcheck [--plain|--private] [--write] [--json] [--length BYTES] "
		   "FILE\n"
		   "       daxfs-mapcheck -h|--help | -V|--version\n");
}

/* Sum the smaps fields of the VMAs inside [lo, hi). */
static int read_smaps(uintptr_t lo, uintptr_t hi, struct smaps_sum *s)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false;

	memset(s, 0, sizeof(*s));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		uint64_t v;
		char key[64];

		if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
			in = a < hi && b > lo;
			s->vmas += in;
			continue;
		}
		if (!in || sscanf(line, "%63[^:]: %" SCNu64 " kB", key, &v) != 2)
			continue;
		if (!strcmp(key, "Size"))
			s->size_kb += v;
		else if (!strcmp(key, "Rss"))
			s->rss_kb += v;
		else if (!strcmp(key, "FilePmdMapped") || !strcmp(key, "ShmemPmdMapped") ||
			 !strcmp(key, "AnonHugePages"))
			s->pmd_kb += v;
		else if (!strcmp(key, "Shared_Hugetlb") || !strcmp(key, "Private_Hugetlb"))
			s->hugetlb_kb += v;
		else if (!strcmp(key, "KernelPageSize") && v > s->kernel_page_kb)
			s->kernel_page_kb = v;
		else if (!strcmp(key, "MMUPageSize") && v > s->mmu_page_kb)
			s->mmu_page_kb = v;
	}
	fclose(f);
	return 0;
}

static uint64_t vm_pte_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	uint64_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Touch one byte per 4 KiB page: a store with @wr, else a load. Not
 * instrumented by AddressSanitizer, whose shadow accesses would add faults
 * of their own to the count.
 */
__attribute__((no_sanitize_address)) static uint64_t touch(volatile char *p, uint64_t len, bool wr)
{
	uint64_t off, sum = 0;

	for (off = 0; off < len; off += 4096) {
		if (wr)
			p[off] = (char)(off >> 12);
		else
			sum += (unsigned char)p[off];
	}
	return sum;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"plain", no_argument, NULL, 'p'},
		{"private", no_argument, NULL, 'P'},
		{"write", no_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"length", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		CLI_VERSION_OPTION,
		{NULL, 0, NULL, 0},
	};
	bool plain = false, priv = false, wr = false, json = false;
	uint64_t len = 0, t0, t1, m0, m1, pte_before, pte_after, pmd_kb, sum = 0;
	struct rusage ru0, ru1;
	struct smaps_sum s;
	struct stat st;
	const char *path;
	volatile char *p;
	void *addr = NULL;
	int c, fd, err;
	char *end;

	while ((c = getopt_long(argc, argv, "pPwjl:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			plain = true;
			break;
		case 'P':
			plain = priv = true;
			break;
		case 'w':
			wr = true;
			break;
		case 'j':
			json = true;
			break;
		case 'l':
			errno = 0;
			len = strtoull(optarg, &end, 0);
			if (*end && strchr("kKmMgG", *end) && !end[1]) {
				unsigned shift = strchr("kK", *end)   ? 10
						 : strchr("mM", *end) ? 20
								      : 30;

				len = len > (UINT64_MAX >> shift) ? 0 : len << shift;
				end++;
			}
			if (errno || *end || len == 0) {
				fprintf(stderr,
					"daxfs-mapcheck: bad --length '%s': expected a "
					"positive byte count\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			return cli_version("daxfs-mapcheck");
		case 'h':
		default:
			return cli_help(usage, c, 2);
		}
	}
	path = cli_operand(argc, argv, usage);
	if (!path)
		return 2;
	if (priv && wr) {
		fprintf(stderr, "daxfs-mapcheck: --private maps read-only: drop --write\n");
		return 2;
	}
	fd = open(path, wr ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "daxfs-mapcheck: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "daxfs-mapcheck: %s is not a regular file\n", path);
		return 1;
	}
	if (!len)
		len = (uint64_t)st.st_size;
	if (len == 0 || len > (uint64_t)st.st_size) {
		fprintf(stderr,
			"daxfs-mapcheck: %s: nothing to map (size %lld, length %" PRIu64 ")\n",
			path, (long long)st.st_size, len);
		return 1;
	}
	m0 = now_ns();
	if (plain) {
		addr = mmap(NULL, len, PROT_READ | (wr ? PROT_WRITE : 0),
			    priv ? MAP_PRIVATE : MAP_SHARED, fd, 0);
		if (addr == MAP_FAILED) {
			fprintf(stderr, "daxfs-mapcheck: mmap %s: %s\n", path, strerror(errno));
			return 1;
		}
	} else {
		err = daxfs_mmap(fd, 0, len, PROT_READ | (wr ? PROT_WRITE : 0), 0, &addr);
		if (err) {
			fprintf(stderr, "daxfs-mapcheck: DAX mmap %s: %s\n", path,
				*daxfs_errmsg() ? daxfs_errmsg() : strerror(-err));
			return 1;
		}
	}
	m1 = now_ns();
	close(fd);

	pte_before = vm_pte_kb();
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	p = addr;
	sum = touch(p, len, wr);
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	pte_after = vm_pte_kb();
	read_smaps((uintptr_t)addr, (uintptr_t)addr + len, &s);
	pmd_kb = s.pmd_kb + (s.kernel_page_kb >= 2048 ? s.hugetlb_kb : 0);
	(void)sum;

	if (json) {
		printf("{\"file\": \"%s\", \"dax\": %s, \"write\": %s, \"bytes\": %" PRIu64
		       ", \"pmd_bytes\": %" PRIu64 ", \"pte_bytes\": %" PRIu64
		       ", \"rss_bytes\": %" PRIu64 ", \"kernel_page_size\": %" PRIu64
		       ", \"mmu_page_size\": %" PRIu64 ", \"vmas\": %u, \"minflt\": %ld"
		       ", \"vm_pte_bytes\": %" PRIu64 ", \"vm_pte_growth_bytes\": %" PRIu64
		       ", \"touch_ns\": %" PRIu64 ", \"map_ns\": %" PRIu64 "}\n",
		       path, plain ? "false" : "true", wr ? "true" : "false", len, pmd_kb * 1024,
		       (s.rss_kb > pmd_kb ? s.rss_kb - pmd_kb : 0) * 1024, s.rss_kb * 1024,
		       s.kernel_page_kb * 1024, s.mmu_page_kb * 1024, s.vmas,
		       ru1.ru_minflt - ru0.ru_minflt, pte_after * 1024,
		       (pte_after > pte_before ? pte_after - pte_before : 0) * 1024, t1 - t0,
		       m1 - m0);
	} else {
		printf("file:             %s (%s)\n", path,
		       priv    ? "private mmap"
		       : plain ? "plain mmap"
			       : "DAX mmap");
		printf("bytes:            %" PRIu64 "\n", len);
		printf("pmd_bytes:        %" PRIu64 "\n", pmd_kb * 1024);
		printf("pte_bytes:        %" PRIu64 "\n",
		       (s.rss_kb > pmd_kb ? s.rss_kb - pmd_kb : 0) * 1024);
		printf("kernel_page_size: %" PRIu64 "\n", s.kernel_page_kb * 1024);
		printf("vmas:             %u\n", s.vmas);
		printf("minflt:           %ld\n", ru1.ru_minflt - ru0.ru_minflt);
		printf("vm_pte_bytes:     %" PRIu64 "\n", pte_after * 1024);
		printf("touch_ns:         %" PRIu64 "\n", t1 - t0);
		printf("map_ns:           %" PRIu64 "\n", m1 - m0);
	}
	if (plain)
		munmap(addr, len);
	else
		daxfs_munmap(addr, len);
	return 0;
}
