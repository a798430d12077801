/* store_open: fresh stores, reopen, and every refusal (missing, foreign,
 * too new, permission, read-only). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "common/err.h"
#include "helpers.h"
#include "store/lmdb_int.h"		/* mval() */

TestSuite(store_open, .init = th_setup, .fini = th_teardown);

/* An LMDB environment that is not Tessera's: one key in dbname (NULL:
 * the main database). */
static void
make_foreign(const char *dbname, const char *key)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = mval(key, strlen(key)), v = { 1, "x" };

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 4), 0);
	cr_assert_eq(mdb_env_open(env, th_dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, dbname, MDB_CREATE, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Raw read of one key, to check that a refused open changed nothing.
 * Returns the LMDB code; *out gets up to 8 bytes of the value. */
static int
raw_get(const char *dbname, const char *key, uint8_t out[8], size_t *len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = mval(key, strlen(key)), v;
	int rc;

	*len = 0;
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_open(env, th_dir, MDB_RDONLY, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	if ((rc = mdb_dbi_open(txn, dbname, 0, &dbi)) == 0 &&
	    (rc = mdb_get(txn, dbi, &k, &v)) == 0) {
		*len = v.mv_size;
		memcpy(out, v.mv_data, v.mv_size < 8 ? v.mv_size : 8);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static void
set_schema(struct store *s, uint32_t ver)
{
	struct store_txn *t = NULL;
	uint8_t b[4] = { ver >> 24, ver >> 16, ver >> 8, ver };

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_META, STORE_META_SCHEMA,
	    strlen(STORE_META_SCHEMA), b, sizeof(b), 0), 0);
	cr_assert_eq(store_commit(t), 0);
}

Test(store_open, fresh_store_has_every_database_and_the_marker)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	uint64_t n = 1;
	int i;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	for (i = 0; i < STORE_DB__COUNT; i++) {
		cr_assert_eq(store_count(t, i, &n), 0);
		cr_assert_eq(n, i == STORE_DB_META ? 1 : 0, "%s",
		    store_db_name(i));
	}
	cr_assert_eq(store_get(t, STORE_DB_META, STORE_META_SCHEMA,
	    strlen(STORE_META_SCHEMA), &v, &vl), 0);
	cr_assert_eq(vl, 4);
	cr_assert_eq(memcmp(v, "\0\0\0\1", 4), 0);
	store_abort(t);
	store_close(s);
}

Test(store_open, files_are_mode_0600)
{
	char p[PATH_MAX];
	struct stat st;

	TH_LMDB_ONLY("file modes");
	store_close(th_open(NULL));
	th_path(p, sizeof(p), "data.mdb");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
}

Test(store_open, reopen_keeps_data)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	th_put1(s, STORE_DB_USERS, "alice", "record");
	store_close(s);
	s = th_open(NULL);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, "alice", 5, &v, &vl), 0);
	cr_assert_eq(vl, 6);
	cr_assert_eq(memcmp(v, "record", 6), 0);
	store_abort(t);
	store_close(s);
}

Test(store_open, missing_dir_is_not_found)
{
	char p[PATH_MAX];
	struct store *s = (struct store *)1;

	TH_LMDB_ONLY("a directory");
	th_path(p, sizeof(p), "nope");
	cr_assert_eq(store_open(p, NULL, &s), TSS_E_NOT_FOUND);
	cr_assert_null(s);
	cr_assert_eq(access(p, F_OK), -1);
}

Test(store_open, random_data_file_is_not_a_store)
{
	char p[PATH_MAX];
	uint8_t junk[16384], back[16384];
	struct store *s = NULL;
	size_t i;
	int fd;

	TH_LMDB_ONLY("data.mdb contents");
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7919 + 13);
	th_path(p, sizeof(p), "data.mdb");
	cr_assert((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_NOT_A_STORE);
	cr_assert_null(s);
	cr_assert_eq(th_read_file(p, back, sizeof(back)), (long)sizeof(back));
	cr_assert_eq(memcmp(junk, back, sizeof(junk)), 0);
}

Test(store_open, foreign_env_with_named_databases_is_not_a_store)
{
	struct store *s = NULL;
	uint8_t v[8];
	size_t vl;

	TH_LMDB_ONLY("a foreign LMDB environment");
	make_foreign("other", "k");
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_NOT_A_STORE);
	cr_assert_null(s);
	cr_assert_eq(raw_get("other", "k", v, &vl), 0);
	cr_assert_eq(raw_get("meta", STORE_META_SCHEMA, v, &vl),
	    MDB_NOTFOUND);
}

Test(store_open, foreign_env_with_keys_in_main_db_is_not_a_store)
{
	struct store *s = NULL;

	TH_LMDB_ONLY("a foreign LMDB environment");
	make_foreign(NULL, "k");
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_NOT_A_STORE);
	cr_assert_null(s);
}

Test(store_open, meta_without_marker_is_not_a_store)
{
	struct store *s = NULL;
	uint8_t v[8];
	size_t vl;

	TH_LMDB_ONLY("written with mdb_* directly");
	make_foreign("meta", "something");
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_NOT_A_STORE);
	cr_assert_null(s);
	cr_assert_eq(raw_get("meta", STORE_META_SCHEMA, v, &vl),
	    MDB_NOTFOUND);
	cr_assert_eq(raw_get("users", "x", v, &vl), MDB_NOTFOUND);
}

Test(store_open, newer_schema_is_refused_and_left_alone)
{
	struct store *s = th_open(NULL);
	struct store_opts ro = { .read_only = 1 };
	uint8_t v[8];
	size_t vl;

	TH_LMDB_ONLY("written with mdb_* directly");
	set_schema(s, STORE_SCHEMA_VERSION + 1);
	store_close(s);
	s = NULL;
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_SCHEMA_TOO_NEW);
	cr_assert_null(s);
	cr_assert_eq(store_open(th_dir, &ro, &s), TSS_E_SCHEMA_TOO_NEW);
	cr_assert_null(s);
	cr_assert_eq(raw_get("meta", STORE_META_SCHEMA, v, &vl), 0);
	cr_assert_eq(vl, 4);
	cr_assert_eq(v[3], STORE_SCHEMA_VERSION + 1);
}

Test(store_open, schema_without_migration_path_is_refused)
{
	struct store *s = th_open(NULL);

	TH_LMDB_ONLY("written with mdb_* directly");
	set_schema(s, 0);
	store_close(s);
	s = NULL;
	cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_NOT_A_STORE);
	cr_assert_null(s);
}

Test(store_open, no_access_is_permission)
{
	struct store *s = NULL;
	pid_t pid;
	int st;

	TH_LMDB_ONLY("directory permissions");
	if (geteuid() != 0) {
		cr_assert_eq(chmod(th_dir, 0), 0);
		cr_assert_eq(store_open(th_dir, NULL, &s), TSS_E_PERMISSION);
		cr_assert_eq(chmod(th_dir, 0700), 0);
		cr_assert_null(s);
		return;
	}
	/* As root, drop to nobody in a child: th_dir is 0700 root. */
	cr_assert((pid = fork()) >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(store_open(th_dir, NULL, &s) == TSS_E_PERMISSION &&
		    s == NULL ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0);
	cr_assert_eq(th_dir_entries(th_dir), 0);
}

Test(store_open, read_only_reads_and_refuses_writes)
{
	struct store *s = th_open(NULL);
	struct store_opts ro = { .read_only = 1 };
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	th_put1(s, STORE_DB_TARGETS, "prod/api", "t");
	store_close(s);
	s = NULL;
	cr_assert_eq(store_open(th_loc, &ro, &s), 0);
	cr_assert_eq(store_begin(s, 1, &t), TSS_E_STORE);
	cr_assert_null(t);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_TARGETS, "prod/api", 8, &v, &vl),
	    0);
	cr_assert_eq(store_put(t, STORE_DB_TARGETS, "x", 1, "y", 1, 0),
	    TSS_E_INVALID_ARGUMENT);
	store_abort(t);
	store_close(s);
}

Test(store_open, read_only_on_empty_dir_is_not_found)
{
	struct store_opts ro = { .read_only = 1 };
	struct store *s = NULL;

	TH_LMDB_ONLY("a directory");
	cr_assert_eq(store_open(th_dir, &ro, &s), TSS_E_NOT_FOUND);
	cr_assert_null(s);
}

Test(store_open, map_max_below_map_size_is_invalid)
{
	struct store_opts o = { .map_size = 1 << 20, .map_max = 1 << 19 };
	struct store *s = NULL;

	TH_LMDB_ONLY("the map");
	cr_assert_eq(store_open(th_dir, &o, &s), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(s);
	cr_assert_eq(th_dir_entries(th_dir), 0);
}

Test(store_open, db_names_come_from_the_list)
{
	cr_assert_str_eq(store_db_name(STORE_DB_META), "meta");
	cr_assert_str_eq(store_db_name(STORE_DB_DEVICE), "device_requests");
	cr_assert_null(store_db_name(STORE_DB__COUNT));
}
