/* SPDX-License-Identifier: MIT */
/*
 * daxfs_records - an append-only record log kept in a DAX-mapped daxfs file.
 *
 * Shows: daxfs_mmap() of a file on a daxfs mount, stores straight into
 * persistent memory, and daxfs_persist() ordering: a record is persisted
 * before the header's count that publishes it, so after a crash (kill -9,
 * power cut, unmount and remount) every counted record is intact.
 *
 * Run (on a mounted daxfs, e.g. `daxfs region.img /mnt/dax`):
 *   daxfs_records /mnt/dax/log append 100000   # add 100000 records
 *   daxfs_records /mnt/dax/log check           # verify; prints the count
 * A log holds 524287 records; an append that does not fit adds what fits
 * and exits 1 saying so.
 * The build makes it as BUILD/daxfs/daxfs_records. Build it yourself:
 *   cc daxfs_records.c $(pkg-config --cflags --libs libdaxfs)   (installed)
 *   cc daxfs_records.c $(PKG_CONFIG_PATH=BUILD/daxfs pkg-config --cflags --libs libdaxfs)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdaxfs.h>

#define LOG_MAGIC UINT64_C(0x676f6c7366786164) /* "daxfslog" */
#define LOG_BYTES (UINT64_C(32) << 20)	       /* file size: 32 MiB */

struct log_header {
	uint64_t magic;
	uint64_t count; /* records published */
	char pad[48];
};

struct log_record {
	uint64_t seq;
	uint64_t check; /* a hash of seq and text */
	char text[48];
};

#define LOG_CAPACITY ((LOG_BYTES - sizeof(struct log_header)) / sizeof(struct log_record))

static uint64_t record_check(const struct log_record *r)
{
	uint64_t h = r->seq * UINT64_C(0x9e3779b97f4a7c15);
	size_t i;

	for (i = 0; i < sizeof(r->text); i++)
		h = (h ^ (unsigned char)r->text[i]) * UINT64_C(0x100000001b3);
	return h;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "daxfs_records: %s: %s\n", what,
		*daxfs_errmsg() ? daxfs_errmsg() : strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	struct log_header *h;
	struct log_record *recs;
	bool append;
	uint64_t n = 0, i = 0;
	int ret = 0;
	struct stat st;
	void *addr = NULL;
	int fd, err;

	if (argc < 3 || (strcmp(argv[2], "append") && strcmp(argv[2], "check")) ||
	    (!strcmp(argv[2], "append") && argc != 4)) {
		fprintf(stderr,
			"usage: daxfs_records FILE append COUNT | daxfs_records FILE check\n");
		return 2;
	}
	append = !strcmp(argv[2], "append");
	if (append) {
		char *end;

		n = strtoull(argv[3], &end, 10);
		if (*end || !n || argv[3][0] == '-') {
			fprintf(stderr, "daxfs_records: bad COUNT '%s'\n", argv[3]);
			return 2;
		}
	}
	fd = open(argv[1], append ? O_RDWR | O_CREAT : O_RDONLY, 0644);
	if (fd < 0 || fstat(fd, &st))
		return fail(argv[1], -errno);
	if (append && (uint64_t)st.st_size < LOG_BYTES && ftruncate(fd, (off_t)LOG_BYTES))
		return fail("ftruncate", -errno);
	if (!append && (uint64_t)st.st_size < LOG_BYTES) {
		fprintf(stderr, "daxfs_records: %s is not a record log\n", argv[1]);
		return 1;
	}
	err = daxfs_mmap(fd, 0, LOG_BYTES, PROT_READ | (append ? PROT_WRITE : 0), 0, &addr);
	if (err)
		return fail("daxfs_mmap", err);
	close(fd); /* the mapping (and its layout pin) outlives the descriptor */
	h = addr;
	recs = (struct log_record *)(h + 1);

	if (append && h->magic != LOG_MAGIC) {
		h->count = 0;
		h->magic = LOG_MAGIC;
		daxfs_persist(h, sizeof(*h));
	}
	if (h->magic != LOG_MAGIC || h->count > LOG_CAPACITY) {
		fprintf(stderr, "daxfs_records: %s is not a record log\n", argv[1]);
		return 1;
	}
	for (i = 0; i < h->count; i++) {
		if (recs[i].seq != i || recs[i].check != record_check(&recs[i])) {
			fprintf(stderr, "daxfs_records: record %llu is damaged\n",
				(unsigned long long)i);
			return 1;
		}
	}
	if (append) {
		for (i = 0; i < n && h->count < LOG_CAPACITY; i++) {
			struct log_record *r = &recs[h->count];

			r->seq = h->count;
			snprintf(r->text, sizeof(r->text), "record %llu",
				 (unsigned long long)r->seq);
			r->check = record_check(r);
			daxfs_persist(r, sizeof(*r)); /* the record first ... */
			h->count++;
			daxfs_persist(&h->count, sizeof(h->count)); /* ... then publish it */
		}
	}
	printf("%llu records\n", (unsigned long long)h->count);
	if (append && i < n) {
		/* what was appended stays; the rest did not fit */
		fprintf(stderr,
			"daxfs_records: %s is full: appended %llu of the %llu records asked "
			"for (a log holds %llu); start another log file\n",
			argv[1], (unsigned long long)i, (unsigned long long)n,
			(unsigned long long)LOG_CAPACITY);
		ret = 1;
	}
	daxfs_munmap(addr, LOG_BYTES);
	return ret;
}
