/* SPDX-License-Identifier: MIT */
/*
 * test_core_replay - journal recovery: a child process dies inside a
 * transaction commit at each step of the protocol (records written but not
 * committed; committed but not applied; half applied; applied but not
 * retired). The operation must be wholly absent after step 1 and wholly
 * present after the others, "fsck -n" must report the pending journal
 * before recovery (steps 2-4), and after the next open the image is clean.
 * The operations are a create in a directory big enough to split a leaf
 * and a cross-directory rename, which touch many blocks.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "core.h"
#include "test_core_util.h"
#include "units.h"

static int fsck_n(const char *path)
{
	FILE *devnull = fopen("/dev/null", "w");
	struct daxfs_fsck_opts o = {.mode = DAXFS_FSCK_CHECK, .out = devnull};
	int rc = daxfs_fsck(path, &o);

	fclose(devnull);
	return rc;
}

static void populate(const char *path)
{
	struct daxfs *fs = core_open(path);
	char name[64];

	CHECK_OK(daxfs_mkdir(fs, 1, "a", 0755, 0, 0, NULL));
	CHECK_OK(daxfs_mkdir(fs, 1, "b", 0755, 0, 0, NULL));
	for (int k = 0; k < 300; k++) {
		snprintf(name, sizeof(name), "a-long-enough-name-to-fill-leaves-%04d", k);
		CHECK_OK(daxfs_create(fs, 2, name, 0644, 0, 0, NULL));
	}
	CHECK_OK(daxfs_close(&fs));
}

int main(void)
{
	const char *path = core_mkfs("replay", 16 * MiB, 0);
	char name[64];

	populate(path);
	for (int op = 0; op < 2; op++) {
		for (int step = 1; step <= 4; step++) {
			pid_t pid = fork();
			int status;

			CHECK(pid >= 0);
			if (pid == 0) {
				struct daxfs *fs = core_open(path);

				daxfs_test_crash_at(1, step);
				if (op == 0) {
					snprintf(name, sizeof(name), "new-%d", step);
					daxfs_create(fs, 2, name, 0644, 0, 0, NULL);
				} else {
					snprintf(name, sizeof(name),
						 "a-long-enough-name-to-fill-leaves-%04d", step);
					daxfs_rename(fs, 2, name, 3, "moved", 0);
				}
				_exit(0); /* the crash point did not trigger */
			}
			CHECK(waitpid(pid, &status, 0) == pid);
			CHECK(WIFEXITED(status));
			CHECK_EQ(WEXITSTATUS(status), DAXFS_TEST_CRASH_EXIT);
			CHECK_EQ(fsck_n(path), step == 1 ? 0 : 4);

			struct daxfs *fs = core_open(path); /* replays */
			bool present;

			if (op == 0) {
				snprintf(name, sizeof(name), "new-%d", step);
				present = daxfs_lookup(fs, 2, name, NULL) == 0;
			} else {
				snprintf(name, sizeof(name),
					 "a-long-enough-name-to-fill-leaves-%04d", step);
				present = daxfs_lookup(fs, 3, "moved", NULL) == 0;
				/* never both, never neither */
				CHECK_EQ(present, daxfs_lookup(fs, 2, name, NULL) == -ENOENT);
				if (present)
					CHECK_OK(daxfs_rename(fs, 3, "moved", 1, name, 0));
			}
			CHECK_EQ(present, step != 1);
			CHECK_OK(daxfs_close(&fs));
			CHECK_EQ(fsck_n(path), 0);
			printf("op %d crash at step %d: %s after recovery\n", op, step,
			       present ? "present" : "absent");
		}
	}
	return 0;
}
