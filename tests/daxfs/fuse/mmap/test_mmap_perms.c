/* SPDX-License-Identifier: MIT */
/*
 * test_mmap_perms - who may map what:
 *  - a file opened O_RDONLY maps read-only: PROT_WRITE is refused with
 *    EACCES and a store through a read-only mapping faults (SIGSEGV);
 *  - a file opened O_WRONLY cannot be mapped at all;
 *  - a user who cannot open a file cannot map it (there is no fd to ask
 *    with), and may map a file it can read only read-only;
 *  - a process cannot use another process's connection to the daemon
 *    (the daemon checks the ioctl caller against the socket peer), while
 *    any thread of the owning process may map.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daxfs_mmap_proto.h"
#include "libdaxfs.h"
#include "mmtest.h"

#define FILE_BYTES (1u << 20)

static struct mt t;
static void *ro_addr;

static void store_ro(void *arg)
{
	*(volatile char *)ro_addr = 'x';
}

static void as_nobody(void *arg)
{
	void *addr = NULL;
	int fd;

	CHECK(setgid(65534) == 0 && setuid(65534) == 0);
	fd = open(mt_path(&t, "secret"), O_RDONLY);
	CHECK(fd < 0 && errno == EACCES);
	fd = open(mt_path(&t, "public"), O_RDWR);
	CHECK(fd < 0 && errno == EACCES);
	fd = open(mt_path(&t, "public"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr), -EACCES);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ, 0, &addr));
	CHECK(((char *)addr)[10] == 'p');
	CHECK_OK(daxfs_munmap(addr, FILE_BYTES));
}

/* Connect to the daemon like libdaxfs does; returns the socket. */
static int connect_raw(int fd, uint64_t *conn_id)
{
	struct daxfs_ioc_info info;
	struct daxfs_mmap_hello h;
	struct sockaddr_un sa;
	size_t n;
	int s;

	CHECK(ioctl(fd, DAXFS_IOC_INFO, &info) == 0);
	CHECK(info.magic == DAXFS_MMAP_MAGIC);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	n = strlen(info.sock_name);
	memcpy(sa.sun_path + 1, info.sock_name, n);
	CHECK(connect(s, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0);
	CHECK(read(s, &h, sizeof(h)) == sizeof(h));
	*conn_id = h.conn_id;
	return s;
}

static void *map_in_thread(void *arg)
{
	void *addr = NULL;
	int fd = open(mt_path(&t, "public"), O_RDWR);

	CHECK(fd >= 0);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr));
	close(fd);
	return addr;
}

static uint64_t stolen_id;

static void use_stolen(void *arg)
{
	struct daxfs_ioc_map m;
	int fd = open(mt_path(&t, "public"), O_RDWR);

	CHECK(fd >= 0);
	memset(&m, 0, sizeof(m));
	m.conn_id = stolen_id;
	m.len = FILE_BYTES;
	CHECK(ioctl(fd, DAXFS_IOC_MAP, &m) == 0);
	CHECK_EQ(m.status, -EPERM);
	CHECK(m.nr_extents == 0);
}

int main(void)
{
	struct daxfs_ioc_map m;
	void *addr = NULL;
	int fd, st, s;

	mt_setup(&t, MT_TMPFS, 32);
	mt_umount(&t); /* other users need allow_other to enter a FUSE mount */
	snprintf(t.opts, sizeof(t.opts), "-o allow_other");
	mt_mount(&t);
	close(mt_make_file(&t, "secret", FILE_BYTES, 's', O_RDONLY));
	CHECK(chmod(mt_path(&t, "secret"), 0600) == 0);
	close(mt_make_file(&t, "public", FILE_BYTES, 'p', O_RDONLY));

	/* O_RDONLY: read-only mapping only */
	fd = open(mt_path(&t, "public"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ | PROT_WRITE, 0, &addr), -EACCES);
	CHECK(strstr(daxfs_errmsg(), "not opened for writing") != NULL);
	CHECK_OK(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ, 0, &ro_addr));
	st = mt_in_child(store_ro, NULL);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	CHECK(((char *)ro_addr)[0] == 'p');
	CHECK_OK(daxfs_munmap(ro_addr, FILE_BYTES));
	close(fd);

	/* O_WRONLY: nothing */
	fd = open(mt_path(&t, "public"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(daxfs_mmap(fd, 0, FILE_BYTES, PROT_READ, 0, &addr), -EACCES);
	close(fd);

	/* Another user */
	st = mt_in_child(as_nobody, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A second thread of this process maps (FUSE reports its thread id). */
	{
		pthread_t th;
		void *addr2 = NULL;

		CHECK(pthread_create(&th, NULL, map_in_thread, NULL) == 0);
		CHECK(pthread_join(th, &addr2) == 0);
		CHECK(((char *)addr2)[1] == 'p');
		CHECK_OK(daxfs_munmap(addr2, FILE_BYTES));
	}

	/* A connection belongs to the process that opened it. */
	fd = open(mt_path(&t, "public"), O_RDWR);
	CHECK(fd >= 0);
	s = connect_raw(fd, &stolen_id);
	st = mt_in_child(use_stolen, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* ... and works for its owner */
	memset(&m, 0, sizeof(m));
	m.conn_id = stolen_id;
	m.len = FILE_BYTES;
	CHECK(ioctl(fd, DAXFS_IOC_MAP, &m) == 0);
	CHECK_EQ(m.status, 0);
	CHECK(m.nr_extents >= 1);
	/* A second map on the same connection is refused. */
	CHECK(ioctl(fd, DAXFS_IOC_MAP, &m) == 0);
	CHECK_EQ(m.status, -EBUSY);
	close(s);
	close(fd);
	mt_umount(&t);
	CHECK_EQ(mt_fsck(&t), 0);
	return 0;
}
