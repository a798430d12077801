/* One PID namespace per store (STORE_LOCK_FILE): openers of one namespace
 * share, another namespace's record refuses, and store_backup_fd makes
 * the copy store_backup makes. */
#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"
#include "tmpdir.h"

TestSuite(store_dirlock, .init = th_setup, .fini = th_teardown);

static int
open_locked(const char *owner, struct store **s)
{
	struct store_opts so;

	memset(&so, 0, sizeof(so));
	so.lock_owner = owner;
	return store_open(th_dir, &so, s);
}

Test(store_dirlock, one_namespace_shares_and_the_lock_ends_with_the_last)
{
	struct store *a = NULL, *b = NULL;
	char path[PATH_MAX], rec[256];

	store_close(th_open(NULL));
	cr_assert_eq(store_in_use(th_dir), 0);
	cr_assert_eq(open_locked("tesserad", &a), 0);
	cr_assert_eq(open_locked("tessera backup", &b), 0);
	cr_assert_eq(store_in_use(th_dir), TSS_E_IN_USE);
	th_path(path, sizeof(path), STORE_LOCK_FILE);
	cr_assert_gt(th_read_file(path, rec, sizeof(rec) - 1), 0);
	cr_expect(strstr(rec, "owner tesserad\n") != NULL, "%s", rec);
	store_close(a);
	cr_assert_eq(store_in_use(th_dir), TSS_E_IN_USE);
	store_close(b);
	cr_assert_eq(store_in_use(th_dir), 0);
}

Test(store_dirlock, a_holder_from_another_namespace_refuses)
{
	static const char other[] = "ns 1:2\npid 1\nowner tesserad\n";
	struct store *s = NULL;
	char path[PATH_MAX], rec[256];
	long n;
	int fd;

	store_close(th_open(NULL));
	th_path(path, sizeof(path), STORE_LOCK_FILE);
	cr_assert_eq(tmpfile_write(path, other, 0600), 0);
	cr_assert_neq(fd = open(path, O_RDONLY), -1);
	cr_assert_eq(flock(fd, LOCK_SH), 0);	/* that process, running */
	cr_assert_eq(open_locked("tessera backup", &s), TSS_E_IN_USE);
	cr_assert_null(s);
	cr_assert_eq(th_read_file(path, rec, sizeof(rec)),
	    (long)sizeof(other) - 1);
	cr_assert_eq(memcmp(rec, other, sizeof(other) - 1), 0);
	close(fd);				/* it stopped */
	cr_assert_eq(open_locked("tessera backup", &s), 0);
	n = th_read_file(path, rec, sizeof(rec) - 1);
	cr_assert_gt(n, 0);
	rec[n] = '\0';
	cr_expect(strncmp(rec, "ns 1:2\n", 7) != 0, "%s", rec);
	cr_expect(strstr(rec, "owner tessera backup\n") != NULL, "%s", rec);
	store_close(s);
}

Test(store_dirlock, backup_fd_makes_the_copy_that_restores)
{
	struct store *s = th_open(NULL), *r = NULL;
	char file[PATH_MAX], dir[PATH_MAX];
	int fd;

	th_put1(s, STORE_DB_USERS, "alice", "a");
	th_path(file, sizeof(file), "fd.mdb");
	th_path(dir, sizeof(dir), "restored");
	cr_assert_neq(fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600), -1);
	cr_assert_eq(store_backup_fd(s, fd), 0);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(store_backup_fd(s, -1), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_restore(file, dir), 0);
	r = th_open(dir);
	th_assert_same(s, r);
	store_close(r);
	store_close(s);
}
