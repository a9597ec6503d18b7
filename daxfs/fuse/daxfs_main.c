/* SPDX-License-Identifier: MIT */
/*
 * daxfs_main.c - the `daxfs` command: the FUSE daemon that mounts a daxfs
 * region, and its subcommands.
 *
 *   daxfs [options] REGION MOUNTPOINT     mount (see docs/man/daxfs.1)
 *   daxfs stat MOUNTPOINT [--json]        per-mount statistics
 *   daxfs badblocks MOUNTPOINT ...        the mounted region's bad sectors
 *   daxfs poison [--clear] MOUNTPOINT FRAME [COUNT]   the same, in 4 KiB frames
 *   daxfs --version | --help
 *
 * Start-up order matters for error reporting: options are checked, the FUSE
 * session is created (which validates the FUSE options), the mount point is
 * checked, the filesystem is opened (which locks the region) and only then
 * is anything mounted. In the background mode the process forks first and
 * the parent waits for the child to report "mounted" or to exit, so every
 * refusal reaches the terminal and the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "badblocks_ctl.h"
#include "memfail.h"
#include "bblist.h"
#include "daxfs.h"
#include "errmsg.h"
#include "fuse_daemon.h"
#include "fuse_devloop.h"
#include "fuse_transport.h"
#include "mmap_server.h"
#include "units.h"

#ifndef PMD_VERSION
#define PMD_VERSION "unknown"
#endif

#define FUSE_SUPER_MAGIC 0x65735546

#define DEFAULT_THREADS 8
#define DEFAULT_CACHE_PAGES 4096 /* 16 MiB */

struct cmdline {
	char *region;
	char *mountpoint;
	char *datapath;
	char *mode;
	char *threads;
	char *cache_pages;
	char *cache;
	char *errors;
	int writeback;
	int io_uring;
	int nonempty;
	int ro;
	int rw;
	int remount;
	int atime;		     /* enum daxfs_atime, or -1: not given */
	int nodiratime;		     /* 1 nodiratime, 0 diratime, -1 not given */
	unsigned long ms_set, ms_on; /* other mount flags given (for remount) */
	int show_help;
	int show_version;
	int extra_args;
	char *extra;
};

enum {
	KEY_IO_URING,
	KEY_NONEMPTY,
	KEY_RO,
	KEY_RW,
	KEY_REMOUNT,
	KEY_ATIME,
	KEY_MSFLAG,
	KEY_HELP,
	KEY_VERSION,
};

/*
 * Access time options: the daemon applies them (the kernel leaves atime to
 * a FUSE filesystem). libfuse passes noatime, nodiratime, norelatime and
 * nostrictatime to the kernel as mount flags; it does not know relatime,
 * strictatime and diratime, which are consumed here.
 */
static const struct {
	const char *opt;
	int atime;	/* enum daxfs_atime or -1 */
	int nodiratime; /* 1, 0, or -1 */
	bool keep;	/* libfuse knows it too */
} atime_opts[] = {
	{"noatime", DAXFS_ATIME_NEVER, -1, true},
	{"relatime", DAXFS_ATIME_RELATIVE, -1, false},
	{"strictatime", DAXFS_ATIME_STRICT, -1, false},
	{"norelatime", DAXFS_ATIME_STRICT, -1, true},
	{"nostrictatime", DAXFS_ATIME_RELATIVE, -1, true},
	{"nodiratime", -1, 1, true},
	{"diratime", -1, 0, false},
};

/* Mount flags a remount keeps or changes (libfuse passes them at mount). */
static const struct {
	const char *opt;
	unsigned long flag;
	bool on;
} ms_opts[] = {
	{"suid", MS_NOSUID, false},	  {"nosuid", MS_NOSUID, true},
	{"dev", MS_NODEV, false},	  {"nodev", MS_NODEV, true},
	{"exec", MS_NOEXEC, false},	  {"noexec", MS_NOEXEC, true},
	{"async", MS_SYNCHRONOUS, false}, {"sync", MS_SYNCHRONOUS, true},
	{"dirsync", MS_DIRSYNC, true},
};

/*
 * The mount flags a root mount gets by default are mount(8)'s: suid and dev
 * allowed unless nosuid/nodev are given. mount.fuse3 passes "dev,suid"
 * explicitly, while libfuse alone would mount nosuid,nodev; saying them here
 * makes `daxfs R M` and `mount -t fuse.daxfs R M` mount alike. A mount by
 * another user goes through fusermount3, which always adds nosuid,nodev.
 */
static int add_mount_defaults(struct fuse_args *args, const struct cmdline *c)
{
	if (geteuid() != 0)
		return 0;
	if (!(c->ms_set & MS_NOSUID) && fuse_opt_add_arg(args, "-osuid"))
		return -1;
	if (!(c->ms_set & MS_NODEV) && fuse_opt_add_arg(args, "-odev"))
		return -1;
	return 0;
}

#define OPT(t, p)                                 \
	{                                         \
		t, offsetof(struct cmdline, p), 1 \
	}

static const struct fuse_opt daxfs_opt_spec[] = {
	OPT("datapath=%s", datapath),
	OPT("mode=%s", mode),
	OPT("threads=%s", threads),
	OPT("cache_pages=%s", cache_pages),
	OPT("cache=%s", cache),
	OPT("writeback", writeback),
	OPT("errors=%s", errors),
	FUSE_OPT_KEY("io_uring", KEY_IO_URING),
	FUSE_OPT_KEY("nonempty", KEY_NONEMPTY),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	FUSE_OPT_KEY("remount", KEY_REMOUNT),
	FUSE_OPT_KEY("noatime", KEY_ATIME),
	FUSE_OPT_KEY("relatime", KEY_ATIME),
	FUSE_OPT_KEY("strictatime", KEY_ATIME),
	FUSE_OPT_KEY("norelatime", KEY_ATIME),
	FUSE_OPT_KEY("nostrictatime", KEY_ATIME),
	FUSE_OPT_KEY("nodiratime", KEY_ATIME),
	FUSE_OPT_KEY("diratime", KEY_ATIME),
	FUSE_OPT_KEY("suid", KEY_MSFLAG),
	FUSE_OPT_KEY("nosuid", KEY_MSFLAG),
	FUSE_OPT_KEY("dev", KEY_MSFLAG),
	FUSE_OPT_KEY("nodev", KEY_MSFLAG),
	FUSE_OPT_KEY("exec", KEY_MSFLAG),
	FUSE_OPT_KEY("noexec", KEY_MSFLAG),
	FUSE_OPT_KEY("async", KEY_MSFLAG),
	FUSE_OPT_KEY("sync", KEY_MSFLAG),
	FUSE_OPT_KEY("dirsync", KEY_MSFLAG),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cmdline *c = data;

	switch (key) {
	case KEY_IO_URING:
		c->io_uring = 1;
		return 1; /* libfuse's own option too: keep */
	case KEY_NONEMPTY:
		c->nonempty = 1;
		return 0; /* fuse3 no longer knows it: consume */
	case KEY_RO:
		c->ro = 1;
		c->rw = 0;
		return 1; /* also a mount flag: keep */
	case KEY_RW:
		c->rw = 1;
		c->ro = 0;
		return 1;
	case KEY_REMOUNT:
		c->remount = 1;
		return 0;
	case KEY_ATIME:
		for (size_t k = 0; k < sizeof(atime_opts) / sizeof(atime_opts[0]); k++) {
			if (strcmp(arg, atime_opts[k].opt))
				continue;
			if (atime_opts[k].atime >= 0)
				c->atime = atime_opts[k].atime;
			if (atime_opts[k].nodiratime >= 0)
				c->nodiratime = atime_opts[k].nodiratime;
			return atime_opts[k].keep;
		}
		return 1;
	case KEY_MSFLAG:
		for (size_t k = 0; k < sizeof(ms_opts) / sizeof(ms_opts[0]); k++) {
			if (strcmp(arg, ms_opts[k].opt))
				continue;
			c->ms_set |= ms_opts[k].flag;
			if (ms_opts[k].on)
				c->ms_on |= ms_opts[k].flag;
			else
				c->ms_on &= ~ms_opts[k].flag;
		}
		return 1;
	case KEY_HELP:
		c->show_help = 1;
		return 0;
	case KEY_VERSION:
		c->show_version = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (!c->region) {
			c->region = strdup(arg);
			return 0;
		}
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return 0;
		}
		if (!c->extra_args++)
			c->extra = strdup(arg);
		return 0;
	default:
		return 1;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: daxfs [options] REGION MOUNTPOINT\n"
		"       daxfs stat MOUNTPOINT [--json]\n"
		"       daxfs badblocks MOUNTPOINT list | add SECTOR [COUNT] | clear SECTOR "
		"[COUNT]\n"
		"       daxfs poison [--clear] MOUNTPOINT FRAME [COUNT]\n"
		"       daxfs --version | --help\n"
		"\n"
		"Mount the daxfs filesystem in REGION (a region file or /dev/dax device made\n"
		"with mkfs.daxfs) on MOUNTPOINT with FUSE.\n"
		"\n"
		"options:\n"
		"  -f                     stay in the foreground\n"
		"  -d                     debug: print every FUSE request (implies -f)\n"
		"  -s                     single-threaded\n"
		"  -o datapath=dax|bio|page  how file data moves (default dax)\n"
		"  -o mode=MODE           descriptor mode of bios on the bio/page paths: pfn,\n"
		"                         folio, page, ondemand or memdesc\n"
		"                         (default pfn)\n"
		"  -o threads=N           FUSE worker threads (default %d)\n"
		"  -o cache_pages=N       page path: 4 KiB pages in the page cache, or a size\n"
		"                         like 64M (default %d)\n"
		"  -o cache=never|auto|always  what the kernel page cache may keep of file\n"
		"                         data (default never; see daxfs(1))\n"
		"  -o writeback           with cache=auto|always: writes wait in the kernel's\n"
		"                         page cache and go out later (durable at fsync;\n"
		"                         no DAX mmap; see daxfs(1))\n"
		"  -o io_uring[,io_uring_q_depth=N]  take requests through FUSE over\n"
		"                         io_uring (switched on in the kernel if needed)\n"
		"  -o errors=remount-ro|continue|panic  after finding corrupt metadata:\n"
		"                         refuse changes, serve reads (default); go on;\n"
		"                         or record the error and exit\n"
		"  -o ro                  mount read-only\n"
		"  -o remount,ro|rw|noatime|relatime|strictatime|nodiratime\n"
		"                         change the mount of REGION on MOUNTPOINT (root;\n"
		"                         what mount -o remount runs)\n"
		"  -o noatime|relatime|strictatime|nodiratime  when reads update the access\n"
		"                         time (default relatime)\n"
		"  -o nonempty            allow a non-empty mount point\n"
		"  -o allow_other, -o ... other FUSE and mount options are passed through;\n"
		"                         default_permissions is always on\n",
		DEFAULT_THREADS, DEFAULT_CACHE_PAGES);
}

static int parse_uint(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return pmd_err(-EINVAL, "bad option %s=%s: expected a number from %llu to %llu",
			       name, s, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

/* Add "-o fsname=REGION" with fuse_opt's escapes for ',' and '\'. */
static int add_fsname(struct fuse_args *args, const char *region)
{
	size_t n = strlen(region);
	char *buf = malloc(2 * n + 16), *p;
	int err;

	if (!buf)
		return -1;
	p = buf + sprintf(buf, "-ofsname=");
	for (; *region; region++) {
		if (*region == ',' || *region == '\\')
			*p++ = '\\';
		*p++ = *region;
	}
	*p = '\0';
	err = fuse_opt_add_arg(args, buf);
	free(buf);
	return err;
}

/*
 * Background mode: fork now; the parent waits until the child writes one
 * byte to the pipe (mounted and detached) and exits 0, or sees the pipe
 * close without it and exits with the child's status.
 */
static int daemon_fork(int *ready_fd)
{
	int p[2], status;
	pid_t pid;
	char c;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
		_exit(1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static void daemon_ready(int ready_fd)
{
	int nul;

	if (ready_fd < 0)
		return;
	if (chdir("/")) {
		/* nothing to do: the cwd is irrelevant to the daemon */
	}
	nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	if (write(ready_fd, "", 1) != 1) {
		/* the parent is gone; keep serving */
	}
	close(ready_fd);
}

/*
 * The core's corruption reports: to stderr, and to syslog once the daemon
 * has left its terminal (stderr is /dev/null then).
 */
void daxfs_fuse_log(void *arg, const char *line)
{
	struct daxfs_daemon *d = arg;

	if (d->detached)
		syslog(LOG_ERR, "%s: %s", d->region_path, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* The mmap server's hook: data of @ino changes behind the kernel's cache. */
static void inval_cb(void *arg, uint64_t ino)
{
	daxfs_fuse_inval_data(arg, ino);
}

/*
 * remount - `daxfs -o remount,... REGION MOUNTPOINT`, which mount(8) runs
 * (through mount.fuse3) for `mount -o remount`: the mount's current flags
 * (statvfs) changed by the options given. The daemon of the mount is asked
 * by ioctl on the mount point and the kernel by mount(2) with MS_REMOUNT,
 * in the order that never has the kernel accept a write the daemon would
 * refuse: to read-only the kernel first (it refuses with EBUSY while files
 * are open for writing), to read-write the daemon first. If the second
 * step fails the first is undone. Returns the exit status.
 */
static int remount(const struct cmdline *c)
{
	static const struct {
		unsigned long st, ms;
	} st_ms[] = {
		{ST_RDONLY, MS_RDONLY},
		{ST_NOSUID, MS_NOSUID},
		{ST_NODEV, MS_NODEV},
		{ST_NOEXEC, MS_NOEXEC},
		{ST_SYNCHRONOUS, MS_SYNCHRONOUS},
		{ST_NOATIME, MS_NOATIME},
		{ST_NODIRATIME, MS_NODIRATIME},
		{ST_RELATIME, MS_RELATIME},
	};
	struct daxfs_ioc_remount r = {0}, undo = {0};
	unsigned long flags = 0;
	struct statvfs sv;
	struct statfs sfs;
	bool was_ro, to_ro;
	int fd, err = 0;

	fd = open(c->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstatfs(fd, &sfs) || fstatvfs(fd, &sv) || sfs.f_type != FUSE_SUPER_MAGIC) {
		fprintf(stderr, "daxfs: remount: %s is not a mounted daxfs\n", c->mountpoint);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	for (size_t k = 0; k < sizeof(st_ms) / sizeof(st_ms[0]); k++)
		if (sv.f_flag & st_ms[k].st)
			flags |= st_ms[k].ms;
	was_ro = flags & MS_RDONLY;
	flags = (flags & ~c->ms_set) | c->ms_on;
	to_ro = c->ro || (was_ro && !c->rw);
	flags = to_ro ? flags | MS_RDONLY : flags & ~MS_RDONLY;
	r.flags = to_ro ? DAXFS_REMOUNT_RDONLY : DAXFS_REMOUNT_RDWR;
	if (c->atime >= 0) {
		static const unsigned long ms_atime[] = {MS_NOATIME, MS_RELATIME, MS_STRICTATIME};

		flags &= ~(MS_NOATIME | MS_RELATIME | MS_STRICTATIME);
		flags |= ms_atime[c->atime];
		r.flags |= DAXFS_REMOUNT_ATIME;
		r.atime = (uint32_t)c->atime;
	}
	if (c->nodiratime >= 0) {
		flags = c->nodiratime ? flags | MS_NODIRATIME : flags & ~MS_NODIRATIME;
		r.flags |= c->nodiratime ? DAXFS_REMOUNT_NODIRATIME : DAXFS_REMOUNT_DIRATIME;
	}
	undo.flags = was_ro ? DAXFS_REMOUNT_RDONLY : DAXFS_REMOUNT_RDWR;
	if (to_ro && !was_ro) {
		if (mount(c->region, c->mountpoint, NULL, MS_REMOUNT | flags, NULL))
			err = -errno;
		else if (ioctl(fd, DAXFS_IOC_REMOUNT, &r)) {
			err = -errno;
			(void)!mount(c->region, c->mountpoint, NULL,
				     MS_REMOUNT | (flags & ~MS_RDONLY), NULL);
		}
	} else if (ioctl(fd, DAXFS_IOC_REMOUNT, &r)) {
		err = -errno;
	} else if (mount(c->region, c->mountpoint, NULL, MS_REMOUNT | flags, NULL)) {
		err = -errno;
		(void)!ioctl(fd, DAXFS_IOC_REMOUNT, &undo);
	}
	close(fd);
	if (err) {
		fprintf(stderr, "daxfs: remount %s %s: %s%s\n", c->mountpoint,
			to_ro ? "read-only" : "read-write", strerror(-err),
			err == -EBUSY && to_ro
				? " (files are open for writing, writable DAX mappings are in use, "
				  "or DAX mappings hold freed blocks)"
			: err == -EBUSY
				? " (another process has the region open, e.g. fsck.daxfs -n)"
			: err == -EROFS && !to_ro
				? " (changes were stopped after corruption was found, "
				  "errors=remount-ro: remount read-only, or unmount and run "
				  "fsck.daxfs -y)"
			: err == -EPERM ? " (remounting needs root)"
					: "");
		return 1;
	}
	return 0;
}

/* The mmap server's hook: no data path I/O stores into @ino's blocks meanwhile. */
static void quiesce_cb(void *arg, uint64_t ino, bool begin)
{
	struct daxfs_daemon *d = arg;

	if (d->dp_ops->quiesce)
		d->dp_ops->quiesce(d->dp, ino, begin);
}

static int run_daemon(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts copts;
	struct daxfs_daemon d;
	struct cmdline c;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *lcfg = NULL;
	uint64_t threads = DEFAULT_THREADS, cache_pages = DEFAULT_CACHE_PAGES;
	enum daxfs_errors_mode errors = DAXFS_ERRORS_RO;
	int ready_fd = -1, ret = 1, err;

	memset(&c, 0, sizeof(c));
	c.atime = -1;
	c.nodiratime = -1;
	memset(&copts, 0, sizeof(copts));
	memset(&d, 0, sizeof(d));
	if (fuse_opt_parse(&args, &c, daxfs_opt_spec, opt_proc) == -1)
		goto out_args;
	if (c.show_version) {
		printf("daxfs %s (libfuse %s)\n", PMD_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (c.show_help) {
		usage(stdout);
		printf("\nFUSE options:\n");
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &copts) != 0)
		goto out_args;
	if (c.extra_args) {
		fprintf(stderr, "daxfs: unexpected argument '%s'\n", c.extra);
		usage(stderr);
		goto out_args;
	}
	if (!c.region || !c.mountpoint) {
		fprintf(stderr, "daxfs: missing %s\n", c.region ? "MOUNTPOINT" : "REGION");
		usage(stderr);
		goto out_args;
	}
	if (c.remount) {
		ret = remount(&c);
		goto out_args;
	}

	d.region_path = c.region;
	d.mountpoint = c.mountpoint;
	d.read_only = c.ro;
	pthread_mutex_init(&d.remount_lock, NULL);
	atomic_init(&d.atime, c.atime >= 0 ? c.atime : DAXFS_ATIME_RELATIVE);
	atomic_init(&d.nodiratime, c.nodiratime == 1);
	d.entry_timeout = 86400.0;
	d.negative_timeout = 86400.0;
	d.attr_timeout = 86400.0;
	d.dp_cfg.kind = DAXFS_DP_DAX;
	d.dp_cfg.mode = DESC_PFN;
	d.dp_cfg.max_io_bytes = DAXFS_FUSE_MAX_IO;
	err = 0;
	if (c.datapath)
		err = daxfs_dp_parse(c.datapath, &d.dp_cfg.kind);
	if (!err && c.mode && desc_mode_parse(c.mode, &d.dp_cfg.mode))
		err = pmd_err(-EINVAL, "bad option mode=%s: expected one of " DESC_MODE_NAMES,
			      c.mode);
	if (!err && c.threads)
		err = parse_uint("threads", c.threads, 1, 1024, &threads);
	if (!err && c.cache_pages) {
		uint64_t bytes;

		if (c.cache_pages[0] &&
		    strspn(c.cache_pages, "0123456789") == strlen(c.cache_pages))
			err = parse_uint("cache_pages", c.cache_pages, 16, UINT64_C(1) << 28,
					 &cache_pages);
		else if (parse_size(c.cache_pages, &bytes) == 0 && bytes >= 16 * FRAME_SIZE)
			cache_pages = bytes_to_frames(bytes);
		else
			err = pmd_err(-EINVAL,
				      "bad option cache_pages=%s: expected a page count >= 16 "
				      "or a size like 64M",
				      c.cache_pages);
	}
	if (!err && c.cache) {
		if (!strcmp(c.cache, "never"))
			d.cache = DAXFS_CACHE_NEVER;
		else if (!strcmp(c.cache, "auto"))
			d.cache = DAXFS_CACHE_AUTO;
		else if (!strcmp(c.cache, "always"))
			d.cache = DAXFS_CACHE_ALWAYS;
		else
			err = pmd_err(-EINVAL,
				      "bad option cache=%s: expected never, auto or always",
				      c.cache);
	}
	if (!err && c.writeback && d.cache == DAXFS_CACHE_NEVER)
		err = pmd_err(-EINVAL, "-o writeback needs -o cache=auto or cache=always: "
				       "with cache=never (the default) every write goes to the "
				       "daemon at once");
	d.writeback = c.writeback;
	if (!err && c.errors)
		err = daxfs_errors_parse(c.errors, &errors);
	if (err) {
		fprintf(stderr, "daxfs: %s\n", pmd_strerror(err));
		goto out_args;
	}
	/* options of other data paths: say they do nothing here */
	if (c.cache_pages && d.dp_cfg.kind != DAXFS_DP_PAGE)
		fprintf(stderr,
			"daxfs: warning: -o cache_pages=%s has no effect on datapath=%s (only "
			"datapath=page has a page cache); ignored\n",
			c.cache_pages, daxfs_dp_name(d.dp_cfg.kind));
	if (c.mode && d.dp_cfg.kind == DAXFS_DP_DAX)
		fprintf(stderr,
			"daxfs: warning: -o mode=%s has no effect on datapath=dax (descriptor "
			"modes are for datapath=bio and page); ignored\n",
			c.mode);
	if (c.io_uring) {
		/* Without the kernel's switch libfuse would quietly use /dev/fuse. */
		pmd_err_clear();
		err = daxfs_fuse_uring_prepare(DAXFS_FUSE_URING_PARAM);
		if (err)
			fprintf(stderr, "daxfs: -o io_uring: %s; serving through /dev/fuse\n",
				pmd_strerror(err));
		d.uring_wanted = !err;
	}
	d.dp_cfg.cache_pages = cache_pages;
	d.dp_ops = daxfs_dp_ops_of(d.dp_cfg.kind);

	if (fuse_opt_add_arg(&args, "-odefault_permissions") ||
	    fuse_opt_add_arg(&args, "-osubtype=daxfs") || add_fsname(&args, c.region) ||
	    add_mount_defaults(&args, &c)) {
		fprintf(stderr, "daxfs: out of memory\n");
		goto out_args;
	}

	err = daxfs_fuse_check_mountpoint(c.mountpoint, c.nonempty);
	if (err) {
		fprintf(stderr, "daxfs: %s\n", pmd_strerror(err));
		goto out_args;
	}

	/* Validates the remaining FUSE options; mounts nothing yet. */
	se = fuse_session_new(&args, &daxfs_fuse_ops, sizeof(daxfs_fuse_ops), &d);
	if (!se)
		goto out_args; /* libfuse named the bad option */
	d.se = se;

	if (!copts.foreground) {
		err = daemon_fork(&ready_fd);
		if (err) {
			fprintf(stderr, "daxfs: cannot fork: %s\n", strerror(-err));
			goto out_session;
		}
	}

	pmd_err_clear();
	/* OPENREFS: the kernel's lookup counts do not keep an unlinked file;
	 * its opens (counted at OPEN/CREATE and RELEASE) and DAX pins do */
	err = daxfs_open(c.region,
			 DAXFS_O_OPENREFS | (c.ro ? DAXFS_O_RDONLY : 0) |
				 (errors == DAXFS_ERRORS_CONTINUE ? DAXFS_O_ERRORS_CONTINUE
				  : errors == DAXFS_ERRORS_PANIC  ? DAXFS_O_ERRORS_PANIC
								  : 0),
			 &d.fs);
	if (err) {
		const char *msg = pmd_strerror(err);
		/* a region this user may only read: the next step is -o ro */
		const char *hint = !c.ro && (err == -EACCES || err == -EROFS || err == -EPERM)
					   ? "; to mount it read-only, use -o ro"
					   : "";

		if (!strncmp(msg, "cannot open ", 12)) /* the path is in it */
			fprintf(stderr, "daxfs: %s%s\n", msg, hint);
		else
			fprintf(stderr, "daxfs: cannot open %s: %s%s\n", c.region, msg, hint);
		goto out_session;
	}
	d.errors = errors;
	daxfs_set_log(d.fs, daxfs_fuse_log, &d);
	/* the daemon holds the badblocks list while mounted (badblocks_ctl.h) */
	pmd_err_clear();
	err = pmemdev_bb_open(c.region, &d.bb);
	if (err) {
		fprintf(stderr, "daxfs: %s: %s\n", c.region, pmd_strerror(err));
		goto out_close;
	}
	daxfs_bb_ops(d.bb, &d.bad);
	daxfs_set_badblocks(d.fs, &d.bad);
	d.dp_cfg.bb = d.bb;
	pmd_err_clear();
	err = d.dp_ops->init(d.fs, &d.dp_cfg, &d.dp);
	if (err) {
		fprintf(stderr, "daxfs: datapath %s: %s\n", d.dp_ops->name, pmd_strerror(err));
		goto out_close;
	}
	/* frames poisoned before the mount: name their owners now */
	daxfs_memfail_report_all(&d);
	daxfs_fuse_stats_init(&d.stats);
	/* The page path's cache, and the kernel's with writeback, hold data a
	 * direct mapping of the region would not see. */
	err = daxfs_mmap_server_new(
		d.fs,
		d.dp_cfg.kind == DAXFS_DP_PAGE ? "the page data path caches file data in DRAM"
		: d.writeback ? "-o writeback keeps written data in the kernel's page cache"
			      : NULL,
		&d.mmap);
	if (err) {
		fprintf(stderr, "daxfs: DAX mmap server: %s\n", pmd_strerror(err));
		goto out_dp;
	}
	daxfs_mmap_server_set_inval(d.mmap, inval_cb, &d);
	daxfs_mmap_server_set_badblocks(d.mmap, &d.bad);
	daxfs_mmap_server_set_quiesce(d.mmap, quiesce_cb, &d);

	if (fuse_set_signal_handlers(se)) {
		fprintf(stderr, "daxfs: cannot set signal handlers\n");
		goto out_dp;
	}
	if (fuse_session_mount(se, c.mountpoint)) {
		fprintf(stderr, "daxfs: cannot mount %s on %s\n", c.region, c.mountpoint);
		goto out_signals;
	}
	if (ready_fd >= 0)
		openlog("daxfs", LOG_PID, LOG_DAEMON);
	daemon_ready(ready_fd);
	d.detached = ready_fd >= 0;
	ready_fd = -1;

	if (copts.singlethread) {
		/* with io_uring only FORGETs and INTERRUPTs come through /dev/fuse */
		ret = d.uring_wanted ? daxfs_fuse_devloop(se, &d.ring_live, NULL)
				     : fuse_session_loop(se);
	} else {
		lcfg = fuse_loop_cfg_create();
		if (!lcfg) {
			ret = -ENOMEM;
			goto out_unmount;
		}
		fuse_loop_cfg_set_clone_fd(lcfg, copts.clone_fd);
		fuse_loop_cfg_set_max_threads(lcfg, (unsigned)threads);
		fuse_loop_cfg_set_idle_threads(lcfg, (unsigned)threads);
		/* with io_uring only FORGETs and INTERRUPTs come through /dev/fuse */
		if (d.uring_wanted)
			ret = daxfs_fuse_devloop(se, &d.ring_live, lcfg);
		else
			ret = fuse_session_loop_mt(se, lcfg);
		fuse_loop_cfg_destroy(lcfg);
	}
	ret = ret < 0 ? 1 : 0; /* a signal (positive) is a normal stop */

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_dp:
	daxfs_mmap_server_delete(&d.mmap);
	d.dp_ops->fini(d.dp);
out_close:
	if (d.fs) {
		err = daxfs_close(&d.fs);
		if (err) {
			fprintf(stderr, "daxfs: closing %s: %s\n", c.region, pmd_strerror(err));
			ret = 1;
		}
	}
	pmemdev_bb_close(&d.bb);
out_session:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
	free(copts.mountpoint);
	free(c.region);
	free(c.mountpoint);
	free(c.extra);
	free(c.datapath);
	free(c.mode);
	free(c.threads);
	free(c.cache_pages);
	free(c.cache);
	free(c.errors);
	return ret;
}

/* daxfs stat MOUNTPOINT [--json]: copy the daemon's hidden stats file. */
static int cmd_stat(int argc, char **argv)
{
	const char *mp = NULL;
	char path[PATH_MAX];
	struct statfs sfs;
	bool json = false;
	char buf[65536];
	ssize_t n;
	int i, fd;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: daxfs stat MOUNTPOINT [--json]\n");
			return 0;
		} else if (argv[i][0] == '-' || mp) {
			fprintf(stderr, "daxfs stat: unexpected argument '%s'\n", argv[i]);
			fprintf(stderr, "usage: daxfs stat MOUNTPOINT [--json]\n");
			return 2;
		} else {
			mp = argv[i];
		}
	}
	if (!mp) {
		fprintf(stderr, "usage: daxfs stat MOUNTPOINT [--json]\n");
		return 2;
	}
	if (statfs(mp, &sfs)) {
		fprintf(stderr, "daxfs stat: %s: %s\n", mp, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", mp, json ? DAXFS_STATS_JSON_NAME : DAXFS_STATS_NAME);
	fd = sfs.f_type == FUSE_SUPER_MAGIC ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		fprintf(stderr, "daxfs stat: %s is not a mounted daxfs\n", mp);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	}
	close(fd);
	if (n < 0) {
		fprintf(stderr, "daxfs stat: reading %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "stat"))
		return cmd_stat(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "badblocks"))
		return daxfs_badblocks_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "poison"))
		return daxfs_poison_main(argc, argv);
	return run_daemon(argc, argv);
}
