/* SPDX-License-Identifier: MIT */
/*
 * badblocks.c - emulated bad sectors: a sorted array of merged ranges,
 * stored beside the region as text and replaced atomically on each change.
 *
 * Changes build a new array from the old one (add merges, clear splits),
 * store it, and only then swap it in, so a failed write leaves the list in
 * memory and on disk as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "badblocks.h"
#include "errmsg.h"

struct bb_range {
	uint64_t start; /* sector */
	uint64_t count; /* sectors */
};

struct pmemdev_bb {
	struct pmemdev_bb_head head; /* first: pmemdev_bb_empty() reads it */
	pthread_rwlock_t lock;
	struct bb_range *ranges; /* sorted, disjoint, never adjacent */
	unsigned nr;		 /* ranges in use */
	uint64_t total;		 /* sectors */
	char *file;		 /* list file, NULL: in memory only */
};

static inline uint64_t range_end(const struct bb_range *r)
{
	return r->start + r->count;
}

/* A range [@sector, @sector + @nr) must be non-empty and not wrap. */
static bool range_valid(uint64_t sector, uint64_t nr)
{
	return nr != 0 && sector <= UINT64_MAX - nr;
}

/*
 * ranges_add - @out (room for @nr + 1) = @in plus [@s, @e), merged.
 * Returns the number of ranges in @out.
 */
static unsigned ranges_add(const struct bb_range *in, unsigned nr, uint64_t s, uint64_t e,
			   struct bb_range *out)
{
	unsigned i = 0, n = 0;

	while (i < nr && range_end(&in[i]) < s)
		out[n++] = in[i++];
	while (i < nr && in[i].start <= e) {
		if (in[i].start < s)
			s = in[i].start;
		if (range_end(&in[i]) > e)
			e = range_end(&in[i]);
		i++;
	}
	out[n].start = s;
	out[n].count = e - s;
	n++;
	while (i < nr)
		out[n++] = in[i++];
	return n;
}

/*
 * ranges_clear - @out (room for @nr + 1) = @in minus [@s, @e). Returns the
 * number of ranges in @out; *@changed tells whether anything was removed.
 */
static unsigned ranges_clear(const struct bb_range *in, unsigned nr, uint64_t s, uint64_t e,
			     struct bb_range *out, bool *changed)
{
	unsigned n = 0;

	*changed = false;
	for (unsigned i = 0; i < nr; i++) {
		uint64_t rs = in[i].start, re = range_end(&in[i]);

		if (re <= s || rs >= e) {
			out[n++] = in[i];
			continue;
		}
		*changed = true;
		if (rs < s)
			out[n++] = (struct bb_range){rs, s - rs};
		if (re > e)
			out[n++] = (struct bb_range){e, re - e};
	}
	return n;
}

static uint64_t ranges_total(const struct bb_range *r, unsigned nr)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < nr; i++)
		t += r[i].count;
	return t;
}

/* fsync the directory holding @file so a rename or unlink is durable. */
static int sync_dir_of(const char *file)
{
	char *copy = strdup(file);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		ret = -errno;
	else if (fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

/*
 * store - replace the list file with @r/@nr: temp file, fsync, rename,
 * fsync the directory; an empty list removes the file.
 */
static int store(const struct pmemdev_bb *bb, const struct bb_range *r, unsigned nr)
{
	size_t len;
	char *tmp;
	FILE *f;
	int fd, ret;

	if (!bb->file)
		return 0;
	if (nr == 0) {
		if (unlink(bb->file) && errno != ENOENT)
			return pmd_err(-errno, "cannot remove %s: %s", bb->file, strerror(errno));
		return sync_dir_of(bb->file);
	}

	len = strlen(bb->file) + 8;
	tmp = malloc(len);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.XXXXXX", bb->file);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = pmd_err(-errno, "cannot create %s: %s", tmp, strerror(errno));
		goto out_free;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto out_unlink;
	}
	fprintf(f, "# pmemdev badblocks: sector count (512-byte sectors)\n");
	for (unsigned i = 0; i < nr; i++)
		fprintf(f, "%llu %llu\n", (unsigned long long)r[i].start,
			(unsigned long long)r[i].count);
	ret = 0;
	if (fflush(f) || fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret) {
		ret = pmd_err(ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto out_unlink;
	}
	if (rename(tmp, bb->file)) {
		ret = pmd_err(-errno, "cannot rename %s to %s: %s", tmp, bb->file, strerror(errno));
		goto out_unlink;
	}
	free(tmp);
	return sync_dir_of(bb->file);

out_unlink:
	unlink(tmp);
out_free:
	free(tmp);
	return ret;
}

/* Swap in a new array (write lock held); takes ownership of @r. */
static void publish(struct pmemdev_bb *bb, struct bb_range *r, unsigned nr)
{
	free(bb->ranges);
	bb->ranges = r;
	bb->nr = nr;
	bb->total = ranges_total(r, nr);
	atomic_store_explicit(&bb->head.nr_pub, nr, memory_order_release);
}

/* Parse one "sector count" line; returns 0, 1 for a blank/comment, -EINVAL. */
static int parse_line(char *line, uint64_t *sector, uint64_t *count)
{
	unsigned long long a, b;
	char *p = line, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\n' || *p == '\0')
		return 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\t'))
		return -EINVAL;
	p = end;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	b = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EINVAL;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	*sector = a;
	*count = b;
	return 0;
}

/* load - read bb->file into the list; a missing file is an empty list. */
static int load(struct pmemdev_bb *bb)
{
	struct bb_range *r = NULL, *nr_buf;
	unsigned nr = 0, lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen(bb->file, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return pmd_err(-errno, "cannot read %s: %s", bb->file, strerror(errno));
	}
	while (getline(&line, &cap, f) > 0) {
		uint64_t s, c;
		int pr;

		lineno++;
		pr = parse_line(line, &s, &c);
		if (pr == 1)
			continue;
		if (pr < 0 || !range_valid(s, c)) {
			ret = pmd_err(-EINVAL, "%s:%u: expected \"sector count\" with count > 0",
				      bb->file, lineno);
			goto out;
		}
		nr_buf = malloc((nr + 1) * sizeof(*nr_buf));
		if (!nr_buf) {
			ret = -ENOMEM;
			goto out;
		}
		nr = ranges_add(r, nr, s, s + c, nr_buf);
		free(r);
		r = nr_buf;
	}
	if (ferror(f)) {
		ret = pmd_err(-EIO, "cannot read %s", bb->file);
		goto out;
	}
	publish(bb, r, nr);
	r = NULL;
out:
	free(r);
	free(line);
	fclose(f);
	return ret;
}

/* Device regions (no file system beside them) keep the list in memory. */
static bool path_is_device(const char *path)
{
	struct stat st;

	if (!strncmp(path, "/dev/dax", 8))
		return true;
	return !stat(path, &st) && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode));
}

int pmemdev_bb_open(const char *region_path, struct pmemdev_bb **out)
{
	struct pmemdev_bb *bb;
	int ret;

	bb = calloc(1, sizeof(*bb));
	if (!bb)
		return -ENOMEM;
	ret = -pthread_rwlock_init(&bb->lock, NULL);
	if (ret)
		goto out_free;
	atomic_init(&bb->head.nr_pub, 0);
	if (region_path && !path_is_device(region_path)) {
		size_t len = strlen(region_path) + sizeof(".badblocks");

		bb->file = malloc(len);
		if (!bb->file) {
			ret = -ENOMEM;
			goto out_lock;
		}
		snprintf(bb->file, len, "%s.badblocks", region_path);
		ret = load(bb);
		if (ret)
			goto out_file;
	}
	*out = bb;
	return 0;

out_file:
	free(bb->file);
out_lock:
	pthread_rwlock_destroy(&bb->lock);
out_free:
	free(bb);
	return ret;
}

void pmemdev_bb_close(struct pmemdev_bb **bbp)
{
	struct pmemdev_bb *bb = bbp ? *bbp : NULL;

	if (!bb)
		return;
	pthread_rwlock_destroy(&bb->lock);
	free(bb->ranges);
	free(bb->file);
	free(bb);
	*bbp = NULL;
}

/*
 * bb_update - add (@clear false) or clear [@sector, + @nr_sectors) in the
 * list under the write lock: build the new list, store it in the file, then
 * publish it. Returns 0 or -errno; on failure the list is as it was.
 */
static int bb_update(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors, bool clear)
{
	uint64_t end = sector + nr_sectors;
	struct bb_range *r;
	bool changed = true;
	unsigned n;
	int ret = 0;

	pthread_rwlock_wrlock(&bb->lock);
	r = malloc((bb->nr + 1) * sizeof(*r));
	if (!r) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	if (clear)
		n = ranges_clear(bb->ranges, bb->nr, sector, end, r, &changed);
	else
		n = ranges_add(bb->ranges, bb->nr, sector, end, r);
	if (changed)
		ret = store(bb, r, n);
	if (!changed || ret) {
		free(r);
		goto out_unlock;
	}
	publish(bb, r, n);
out_unlock:
	pthread_rwlock_unlock(&bb->lock);
	return ret;
}

/* bb_check_range - 0, or -EINVAL with a message for an empty or wrapping range. */
static int bb_check_range(uint64_t sector, uint64_t nr_sectors)
{
	if (!range_valid(sector, nr_sectors))
		return pmd_err(-EINVAL, "bad range: sector %llu count %llu",
			       (unsigned long long)sector, (unsigned long long)nr_sectors);
	return 0;
}

int pmemdev_bb_add(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors)
{
	int ret = bb_check_range(sector, nr_sectors);

	return ret ? ret : bb_update(bb, sector, nr_sectors, false);
}

int pmemdev_bb_clear(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors)
{
	int ret;

	if (nr_sectors == 0)
		return 0;
	ret = bb_check_range(sector, nr_sectors);
	if (ret)
		return ret;
	/* The write path calls this for every write: stay cheap. */
	if (!pmemdev_bb_check(bb, sector, nr_sectors))
		return 0;
	return bb_update(bb, sector, nr_sectors, true);
}

/* Index of the first range ending after @sector (lock held). */
static unsigned first_after(const struct pmemdev_bb *bb, uint64_t sector)
{
	unsigned lo = 0, hi = bb->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (range_end(&bb->ranges[mid]) <= sector)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool pmemdev_bb_find(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors,
		     uint64_t *first_bad, uint64_t *bad_sectors)
{
	uint64_t end;
	bool bad = false;
	unsigned i;

	if (atomic_load_explicit(&bb->head.nr_pub, memory_order_relaxed) == 0 || nr_sectors == 0)
		return false;
	end = sector > UINT64_MAX - nr_sectors ? UINT64_MAX : sector + nr_sectors;
	pthread_rwlock_rdlock(&bb->lock);
	i = first_after(bb, sector);
	if (i < bb->nr && bb->ranges[i].start < end) {
		const struct bb_range *r = &bb->ranges[i];
		uint64_t s = r->start > sector ? r->start : sector;
		uint64_t e = range_end(r) < end ? range_end(r) : end;

		bad = true;
		if (first_bad)
			*first_bad = s;
		if (bad_sectors)
			*bad_sectors = e - s;
	}
	pthread_rwlock_unlock(&bb->lock);
	return bad;
}

bool pmemdev_bb_check(struct pmemdev_bb *bb, uint64_t sector, uint64_t nr_sectors)
{
	return pmemdev_bb_find(bb, sector, nr_sectors, NULL, NULL);
}

uint64_t pmemdev_bb_count(struct pmemdev_bb *bb)
{
	uint64_t t;

	pthread_rwlock_rdlock(&bb->lock);
	t = bb->total;
	pthread_rwlock_unlock(&bb->lock);
	return t;
}

unsigned pmemdev_bb_nr_ranges(struct pmemdev_bb *bb)
{
	return atomic_load_explicit(&bb->head.nr_pub, memory_order_acquire);
}

int pmemdev_bb_list(struct pmemdev_bb *bb, pmemdev_bb_fn *fn, void *arg)
{
	int ret = 0;

	pthread_rwlock_rdlock(&bb->lock);
	for (unsigned i = 0; i < bb->nr && !ret; i++)
		ret = fn(bb->ranges[i].start, bb->ranges[i].count, arg);
	pthread_rwlock_unlock(&bb->lock);
	return ret;
}

const char *pmemdev_bb_file(const struct pmemdev_bb *bb)
{
	return bb->file;
}
