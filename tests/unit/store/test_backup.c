/* Backup and restore: same records and counters, refusals leave nothing
 * behind and change nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"
#include "tmpdir.h"

TestSuite(store_backup, .init = th_setup, .fini = th_teardown);

static struct store *
populated(void)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	char key[16], val[48];
	uint64_t v;
	int i, j, n;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 0; i < STORE_DB__COUNT; i++) {
		for (j = 0; j < 30; j++) {
			snprintf(key, sizeof(key), "key%03d", j);
			n = snprintf(val, sizeof(val), "%s/%d",
			    store_db_name(i), j * j);
			cr_assert_eq(store_put(t, i, key, strlen(key), val,
			    (size_t)n, 0), 0);
		}
	}
	for (i = 0; i < 7; i++)
		cr_assert_eq(store_counter_next(t, STORE_CTR_SERIAL, &v), 0);
	cr_assert_eq(store_counter_raise(t, STORE_CTR_AUDIT_SEQ, 4242), 0);
	cr_assert_eq(store_commit(t), 0);
	/* Deleted records leave free pages: the compacting copy drops them. */
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_del(t, STORE_DB_USERS, "key000", 6), 0);
	cr_assert_eq(store_commit(t), 0);
	return s;
}

static uint64_t
ctr(struct store *s, enum store_counter c)
{
	struct store_txn *t = NULL;
	uint64_t v;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, c, &v), 0);
	store_abort(t);
	return v;
}

Test(store_backup, restore_gives_the_same_records_and_counters)
{
	struct store *s = populated(), *r = NULL;
	struct store_txn *reader = NULL;
	char file[PATH_MAX], dir[PATH_MAX];
	struct stat st;

	th_path(file, sizeof(file), "backup.mdb");
	th_path(dir, sizeof(dir), "restored");
	/* Online: a reader is open while the copy runs. */
	cr_assert_eq(store_begin(s, 0, &reader), 0);
	cr_assert_eq(store_backup(s, file), 0);
	store_abort(reader);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);

	cr_assert_eq(store_restore(file, dir), 0);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700);
	r = th_open(dir);
	th_assert_same(s, r);
	cr_assert_eq(ctr(r, STORE_CTR_SERIAL), 7);
	cr_assert_eq(ctr(r, STORE_CTR_AUDIT_SEQ), 4242);
	/* The restored store is writable and keeps counting. */
	th_put1(r, STORE_DB_USERS, "new", "n");
	store_close(r);
	store_close(s);
}

Test(store_backup, restore_into_existing_empty_dir)
{
	struct store *s = populated(), *r = NULL;
	char file[PATH_MAX], dir[PATH_MAX];

	th_path(file, sizeof(file), "b.mdb");
	th_path(dir, sizeof(dir), "empty");
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(store_backup(s, file), 0);
	cr_assert_eq(store_restore(file, dir), 0);
	r = th_open(dir);
	th_assert_same(s, r);
	store_close(r);
	store_close(s);
}

Test(store_backup, backup_onto_existing_file_is_conflict)
{
	struct store *s = populated();
	char file[PATH_MAX], back[16];

	th_path(file, sizeof(file), "exists");
	cr_assert_eq(tmpfile_write(file, "precious", 0644), 0);
	cr_assert_eq(store_backup(s, file), TSS_E_CONFLICT);
	cr_assert_eq(th_read_file(file, back, sizeof(back)), 8);
	cr_assert_eq(memcmp(back, "precious", 8), 0);
	store_close(s);
}

Test(store_backup, restore_into_non_empty_dir_is_refused)
{
	struct store *s = populated();
	char file[PATH_MAX], dir[PATH_MAX], other[PATH_MAX];

	th_path(file, sizeof(file), "b.mdb");
	th_path(dir, sizeof(dir), "busy");
	th_path(other, sizeof(other), "busy/notes.txt");
	cr_assert_eq(store_backup(s, file), 0);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(tmpfile_write(other, "keep", 0600), 0);
	cr_assert_eq(store_restore(file, dir), TSS_E_NOT_EMPTY);
	cr_assert_eq(th_dir_entries(dir), 1);
	/* A live store's own directory is not empty either. */
	cr_assert_eq(store_restore(file, th_dir), TSS_E_NOT_EMPTY);
	store_close(s);
}

Test(store_backup, restore_of_non_lmdb_file_leaves_nothing)
{
	char file[PATH_MAX], dir[PATH_MAX], dir2[PATH_MAX];
	uint8_t junk[20000];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 31 + 7);
	th_path(file, sizeof(file), "junk.mdb");
	th_path(dir, sizeof(dir), "new");
	th_path(dir2, sizeof(dir2), "empty");
	cr_assert((fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(store_restore(file, dir), TSS_E_NOT_A_STORE);
	cr_assert_eq(access(dir, F_OK), -1);
	cr_assert_eq(mkdir(dir2, 0700), 0);
	cr_assert_eq(store_restore(file, dir2), TSS_E_NOT_A_STORE);
	cr_assert_eq(th_dir_entries(dir2), 0);
}

Test(store_backup, restore_of_empty_file_is_not_a_store)
{
	char file[PATH_MAX], dir[PATH_MAX];

	th_path(file, sizeof(file), "empty.mdb");
	th_path(dir, sizeof(dir), "new");
	cr_assert_eq(tmpfile_write(file, "", 0600), 0);
	cr_assert_eq(store_restore(file, dir), TSS_E_NOT_A_STORE);
	cr_assert_eq(access(dir, F_OK), -1);
}

Test(store_backup, restore_of_missing_file_is_not_found)
{
	char file[PATH_MAX], dir[PATH_MAX];

	th_path(file, sizeof(file), "nope.mdb");
	th_path(dir, sizeof(dir), "new");
	cr_assert_eq(store_restore(file, dir), TSS_E_NOT_FOUND);
	cr_assert_eq(access(dir, F_OK), -1);
}

Test(store_backup, restore_of_newer_schema_is_refused)
{
	struct store *s = populated();
	struct store_txn *t = NULL;
	char file[PATH_MAX], dir[PATH_MAX];
	uint8_t ver[4] = { 0, 0, 0, STORE_SCHEMA_VERSION + 1 };

	th_path(file, sizeof(file), "future.mdb");
	th_path(dir, sizeof(dir), "new");
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_META, STORE_META_SCHEMA,
	    strlen(STORE_META_SCHEMA), ver, sizeof(ver), 0), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_backup(s, file), 0);
	cr_assert_eq(store_restore(file, dir), TSS_E_SCHEMA_TOO_NEW);
	cr_assert_eq(access(dir, F_OK), -1);
	store_close(s);
}

Test(store_backup, backup_of_foreign_lmdb_is_not_a_store_on_restore)
{
	/* A plain file copy of a directory that holds another program's
	 * data: exercised through a store whose marker was removed. */
	struct store *s = populated();
	struct store_txn *t = NULL;
	char file[PATH_MAX], dir[PATH_MAX];

	th_path(file, sizeof(file), "nomarker.mdb");
	th_path(dir, sizeof(dir), "new");
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_del(t, STORE_DB_META, STORE_META_SCHEMA,
	    strlen(STORE_META_SCHEMA)), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_backup(s, file), 0);
	cr_assert_eq(store_restore(file, dir), TSS_E_NOT_A_STORE);
	cr_assert_eq(access(dir, F_OK), -1);
	store_close(s);
}
