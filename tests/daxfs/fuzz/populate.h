/* SPDX-License-Identifier: MIT */
/*
 * populate.h - the populated daxfs image the image fuzzers and the fsck
 * tests damage, and its manifest (every name with its inode and a CRC of
 * its content), taken by walking a filesystem through the core.
 *
 * The image holds small files (0 .. 6 KiB), a 4 MiB file mapped by 2 MiB
 * extents, a sparse file, two files of 300 extents (two extent blocks each), a
 * directory of 300 entries (a two-level tree) with names of 1 .. 255 bytes,
 * nested directories, symlinks (short and 3000 bytes), hard links, xattrs
 * on files and directories, a FIFO and a device node, and, depending on
 * how it ends, open-unlinked files on the orphan list and a journal with a
 * committed transaction that was never applied (or one whose header was
 * never written).
 */
#ifndef PMD_TESTS_DAXFS_POPULATE_H
#define PMD_TESTS_DAXFS_POPULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daxfs.h"

/* How the populating process ends. */
enum pop_end {
	POP_CLEAN,	   /* daxfs_close: clean, empty journal, no orphans */
	POP_CRASH_COMMIT,  /* orphans left; dies after committing one more
			    * transaction, before applying it (replay needed) */
	POP_CRASH_RECORDS, /* orphans left; dies after writing the records of one
			    * more transaction, before its header */
};

/*
 * pop_build - make a new filesystem of format @version (0: the current
 * one) in the region file @path (@size bytes, created; it must not exist)
 * and populate it, in a child process that ends as @end says. A region
 * under 16 MiB gets the small profile (the same kinds of structures, fewer
 * and smaller files: 150 in /small, a 2 MiB /big, 270-extent fragmented
 * files), for quick runs. Returns 0 or -errno (with a message on stderr).
 */
int pop_build(const char *path, uint64_t size, enum pop_end end, unsigned version);

struct pop_entry {
	char path[1024]; /* absolute, "/" for the root */
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint64_t size;
	uint32_t crc; /* of the content: file data, symlink target, or the
		       * directory's sorted names; xattrs are folded in */
};

struct pop_manifest {
	struct pop_entry *e;
	size_t n, cap;
	unsigned errors; /* operations that failed during the walk */
	size_t *order;	 /* entry numbers sorted by path, for pop_find */
	size_t norder;	 /* entries in it (!= n: not current, not used) */
};

/*
 * pop_walk - the manifest of the open filesystem @fs: every name reachable
 * from the root (a hard link once per name), in walk order. A failing
 * read, readdir, readlink or getxattr is counted in m->errors and the walk
 * goes on. If @visit is not NULL it is called for each entry after its
 * content was read. At the end the entries are indexed by path for
 * pop_find. Returns 0 or -ENOMEM.
 */
int pop_walk(struct daxfs *fs, struct pop_manifest *m,
	     void (*visit)(void *ctx, const struct pop_entry *e), void *ctx);

/* pop_find - the entry of @path in @m (the first in walk order), or NULL */
const struct pop_entry *pop_find(const struct pop_manifest *m, const char *path);

void pop_free(struct pop_manifest *m);

#endif
