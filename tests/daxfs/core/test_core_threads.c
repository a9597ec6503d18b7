/* SPDX-License-Identifier: MIT */
/*
 * test_core_threads - the core called from several threads at once, as the
 * FUSE daemon does: each thread writes, reads back and truncates its own
 * file while creating, renaming and unlinking names in a shared directory,
 * and one thread pins/unpins and maps a shared file being read by all.
 * Checks every result, that nothing deadlocks, and that fsck is clean.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "test_core_util.h"
#include "units.h"

#define NTHREADS 4
#define ITERS 300

static struct daxfs *fs;
static uint64_t shared_dir, shared_file;
static uint8_t shared_data[256 * 1024];

static void *worker(void *arg)
{
	long id = (long)arg;
	char name[64], name2[64];
	struct daxfs_attr a;
	uint8_t buf[16384], back[16384];
	size_t done;

	snprintf(name, sizeof(name), "own-%ld", id);
	CHECK_OK(daxfs_create(fs, 1, name, 0644, 0, 0, &a));
	uint64_t own = a.ino;

	for (int k = 0; k < ITERS; k++) {
		size_t len = (size_t)(k * 37 % sizeof(buf)) + 1;
		uint64_t off = (uint64_t)(k % 7) * 3000;

		memset(buf, (int)(id * 16 + k), len);
		CHECK_OK(daxfs_write(fs, own, off, len, buf, &done));
		CHECK_EQ(done, len);
		CHECK_OK(daxfs_read(fs, own, off, len, back, &done));
		CHECK_EQ(done, len);
		CHECK(!memcmp(buf, back, len));
		if (k % 50 == 49) {
			struct daxfs_attr in = {.size = 100};

			CHECK_OK(daxfs_setattr(fs, own, &in, DAXFS_SET_SIZE, NULL));
		}
		snprintf(name, sizeof(name), "t%ld-%d", id, k);
		snprintf(name2, sizeof(name2), "t%ld-%d-renamed", id, k);
		CHECK_OK(daxfs_create(fs, shared_dir, name, 0644, 0, 0, &a));
		CHECK_OK(daxfs_setxattr(fs, a.ino, "user.t", name, strlen(name), 0));
		CHECK_OK(daxfs_rename(fs, shared_dir, name, shared_dir, name2, 0));
		if (k % 2)
			CHECK_OK(daxfs_unlink(fs, shared_dir, name2));
		CHECK_OK(daxfs_read(fs, shared_file, (uint64_t)k * 512, 4096, back, &done));
		CHECK_EQ(done, 4096);
		CHECK(!memcmp(back, shared_data + k * 512, 4096));
	}
	return NULL;
}

static int map_cb(void *ctx, const struct daxfs_map *m)
{
	(*(uint64_t *)ctx) += m->len;
	return 0;
}

static void *pinner(void *arg)
{
	for (int k = 0; k < ITERS; k++) {
		uint64_t total = 0;

		CHECK_OK(daxfs_pin(fs, shared_file));
		CHECK_OK(daxfs_extent_map(fs, shared_file, map_cb, &total));
		CHECK(total >= sizeof(shared_data));
		CHECK_OK(daxfs_unpin(fs, shared_file));
	}
	return NULL;
}

int main(void)
{
	const char *path = core_mkfs("threads", 64 * MiB, 0);
	pthread_t t[NTHREADS + 1];
	struct daxfs_attr a;
	size_t done;

	fs = core_open(path);
	CHECK_OK(daxfs_mkdir(fs, 1, "shared", 0755, 0, 0, &a));
	shared_dir = a.ino;
	CHECK_OK(daxfs_create(fs, 1, "shared-file", 0644, 0, 0, &a));
	shared_file = a.ino;
	for (size_t k = 0; k < sizeof(shared_data); k++)
		shared_data[k] = (uint8_t)(k * 13 >> 2);
	CHECK_OK(daxfs_write(fs, shared_file, 0, sizeof(shared_data), shared_data, &done));
	for (long k = 0; k < NTHREADS; k++)
		CHECK(!pthread_create(&t[k], NULL, worker, (void *)k));
	CHECK(!pthread_create(&t[NTHREADS], NULL, pinner, NULL));
	for (int k = 0; k <= NTHREADS; k++)
		pthread_join(t[k], NULL);
	CHECK_OK(daxfs_getattr(fs, shared_dir, &a));
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(path);
	return 0;
}
