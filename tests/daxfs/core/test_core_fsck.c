/* SPDX-License-Identifier: MIT */
/*
 * test_core_fsck - fsck.daxfs finds and repairs damage: for each of a
 * corrupt superblock, inode, directory block, bitmap, and a wrong link
 * count, on a copy of a populated image: "fsck -n" names the structure and
 * exits 4 without writing, "--json" is valid JSON, "fsck -y" repairs and
 * exits 1, and a second "fsck -n" exits 0 with the surviving files intact.
 * A damaged inode whose fields still make sense is kept (its checksum is
 * recomputed); a damaged directory block keeps its sound entries, and the
 * one hit comes back under its recorded name.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core.h"
#include "test_core_util.h"
#include "units.h"

#ifndef FSCK_BIN
#error "FSCK_BIN must name the fsck.daxfs binary"
#endif

static char img[600], out[700];

static int run(const char *args, const char *expect)
{
	char cmd[4096], line[512];
	bool seen = !expect;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", FSCK_BIN, args, img);
	p = popen(cmd, "r");
	CHECK(p);
	while (fgets(line, sizeof(line), p))
		if (expect && strstr(line, expect))
			seen = true;
	st = pclose(p);
	if (!seen) {
		fprintf(stderr, "fsck %s: no line with \"%s\"\n", args, expect);
		system(cmd);
		exit(1);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void json_valid(void)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "%s -n --json %s > %s; python3 -m json.tool %s > /dev/null",
		 FSCK_BIN, img, out, out);
	CHECK_EQ(system(cmd), 0);
}

static void copy(const char *from)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", from, img);
	CHECK_EQ(system(cmd), 0);
}

static uint8_t *map_img(struct pmr_region **r)
{
	CHECK_OK(pmr_open(img, 0, r));
	return pmr_addr(*r);
}

static struct daxfs_dsuper sb_of(const uint8_t *base)
{
	struct daxfs_dsuper sb;

	memcpy(&sb, base, sizeof(sb));
	return sb;
}

static struct daxfs_dinode *inode_at(uint8_t *base, uint64_t ino)
{
	struct daxfs_dsuper sb = sb_of(base);

	return (void *)(base + le64_to_cpu(sb.itable_blk) * 4096 + (ino - 1) * 256);
}

/* after repair: the image is clean and the untouched file reads back */
static void check_survivor(uint64_t ino, const uint8_t *want, size_t n)
{
	struct daxfs *fs;
	uint8_t buf[8192];
	size_t done;

	CHECK_EQ(run("-n", "clean"), 0);
	fs = core_open(img);
	CHECK_OK(daxfs_read(fs, ino, 0, n, buf, &done));
	CHECK_EQ(done, n);
	CHECK(!memcmp(buf, want, n));
	CHECK_OK(daxfs_close(&fs));
}

static void check_cycle(const char *what)
{
	char sum1[2048], sum2[2048];
	char cmd[4096];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum < %s", img);
	p = popen(cmd, "r");
	CHECK(p && fgets(sum1, sizeof(sum1), p));
	pclose(p);
	CHECK_EQ(run("-n", what), 4);
	json_valid();
	p = popen(cmd, "r");
	CHECK(p && fgets(sum2, sizeof(sum2), p));
	pclose(p);
	CHECK(!strcmp(sum1, sum2)); /* -n never writes */
	CHECK_EQ(run("-y", "FIXED"), 1);
}

int main(void)
{
	const char *clean = core_mkfs("fsck", 16 * MiB, 0);
	struct daxfs *fs = core_open(clean);
	struct daxfs_attr a;
	struct pmr_region *r;
	uint8_t data[8192];
	size_t done;

	snprintf(img, sizeof(img), "%s.img", clean);
	snprintf(out, sizeof(out), "%s.json", clean);
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7);
	CHECK_OK(daxfs_mkdir(fs, 1, "d", 0755, 0, 0, &a));
	uint64_t d = a.ino;

	for (int k = 0; k < 40; k++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%d", k);
		CHECK_OK(daxfs_create(fs, d, name, 0644, 0, 0, &a));
		CHECK_OK(daxfs_write(fs, a.ino, 0, 100 + k, data, &done));
	}
	CHECK_OK(daxfs_create(fs, 1, "keep", 0644, 0, 0, &a));
	uint64_t keep = a.ino;

	CHECK_OK(daxfs_write(fs, keep, 0, sizeof(data), data, &done));
	CHECK_OK(daxfs_setxattr(fs, keep, "user.k", "v", 1, 0));
	CHECK_OK(daxfs_create(fs, 1, "victim", 0644, 0, 0, &a));
	uint64_t victim = a.ino;

	CHECK_OK(daxfs_write(fs, victim, 0, 5000, data, &done));
	CHECK_OK(daxfs_link(fs, victim, d, "victim-link", NULL));
	CHECK_OK(daxfs_symlink(fs, 1, "sl", "keep", 0, 0, NULL));
	CHECK_OK(daxfs_close(&fs));
	core_fsck_clean(clean);

	/* 1. superblock checksum */
	copy(clean);
	uint8_t *base = map_img(&r);

	base[20] ^= 0x40;
	pmr_persist(r, base, 64);
	pmr_close(&r);
	check_cycle("superblock");
	check_survivor(keep, data, sizeof(data));

	/* 2. an inode */
	copy(clean);
	base = map_img(&r);
	inode_at(base, victim)->size ^= cpu_to_le64(0x1000);
	pmr_close(&r);
	check_cycle("inode");
	check_survivor(keep, data, sizeof(data));
	check_survivor(victim, data, 5000 ^ 0x1000); /* the size is what the bit made it */
	fs = core_open(img);
	CHECK_OK(daxfs_lookup(fs, 1, "victim", &a));
	CHECK_EQ(a.size, 5000 ^ 0x1000);
	CHECK_OK(daxfs_lookup(fs, d, "victim-link", NULL));
	CHECK_OK(daxfs_close(&fs));

	/* 3. a directory block: the sound entries stay, the one hit is put back */
	copy(clean);
	base = map_img(&r);
	uint64_t root = le64_to_cpu(inode_at(base, d)->dir.root);

	base[root * 4096 + 4000] ^= 0x01;
	pmr_close(&r);
	check_cycle("directory");
	check_survivor(keep, data, sizeof(data));
	fs = core_open(img);
	CHECK_EQ(daxfs_lookup(fs, 1, "lost+found", &a), -ENOENT);
	for (int k = 0; k < 40; k++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%d", k);
		CHECK_OK(daxfs_lookup(fs, d, name, &a));
		CHECK_EQ(a.size, 100 + k);
	}
	CHECK_OK(daxfs_lookup(fs, d, "victim-link", NULL));
	CHECK_OK(daxfs_close(&fs));

	/* 4. the bitmap: data blocks marked free, and a leaked block */
	copy(clean);
	base = map_img(&r);
	struct daxfs_dsuper sb = sb_of(base);
	uint64_t bm = le64_to_cpu(sb.bitmap_blk) * 4096, db = le64_to_cpu(sb.data_blk);

	for (uint64_t b = db; b < db + 64; b++)
		base[bm + b / 8] &= (uint8_t) ~(1U << (b % 8));
	uint64_t last = le64_to_cpu(sb.total_blocks) - 1;

	base[bm + last / 8] |= (uint8_t)(1U << (last % 8));
	pmr_close(&r);
	check_cycle("bitmap");
	check_survivor(keep, data, sizeof(data));

	/* 5. a link count that disagrees with the directory entries */
	copy(clean);
	base = map_img(&r);
	struct daxfs_dinode *di = inode_at(base, victim);

	di->nlink = cpu_to_le32(5);
	di->crc = cpu_to_le32(di_csum(true, victim, di));
	pmr_close(&r);
	check_cycle("link count");
	check_survivor(victim, data, 5000);
	fs = core_open(img);
	CHECK_OK(daxfs_getattr(fs, victim, &a));
	CHECK_EQ(a.nlink, 2);
	CHECK_OK(daxfs_close(&fs));

	unlink(img);
	unlink(out);
	return 0;
}
