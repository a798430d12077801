/* Get, put, del, count on every database; argument and state checks. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

TestSuite(store_crud, .init = th_setup, .fini = th_teardown);

Test(store_crud, put_get_del_on_every_database)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	uint64_t n, base;
	char key[32], val[64];
	int i, j;

	for (i = 0; i < STORE_DB__COUNT; i++) {
		base = th_count(s, i);
		cr_assert_eq(store_begin(s, 1, &t), 0);
		for (j = 0; j < 20; j++) {
			snprintf(key, sizeof(key), "k%02d", j);
			snprintf(val, sizeof(val), "%s-value-%d",
			    store_db_name(i), j);
			cr_assert_eq(store_put(t, i, key, strlen(key), val,
			    strlen(val), 0), 0);
		}
		cr_assert_eq(store_commit(t), 0);
		cr_assert_eq(th_count(s, i), base + 20, "%s",
		    store_db_name(i));

		cr_assert_eq(store_begin(s, 1, &t), 0);
		for (j = 0; j < 20; j++) {
			snprintf(key, sizeof(key), "k%02d", j);
			snprintf(val, sizeof(val), "%s-value-%d",
			    store_db_name(i), j);
			cr_assert_eq(store_get(t, i, key, strlen(key), &v,
			    &vl), 0);
			cr_assert_eq(vl, strlen(val));
			cr_assert_eq(memcmp(v, val, vl), 0);
			if (j % 2 == 0)
				cr_assert_eq(store_del(t, i, key,
				    strlen(key)), 0);
		}
		cr_assert_eq(store_commit(t), 0);
		cr_assert_eq(store_begin(s, 0, &t), 0);
		cr_assert_eq(store_count(t, i, &n), 0);
		cr_assert_eq(n, base + 10);
		cr_assert_eq(store_get(t, i, "k00", 3, &v, &vl),
		    TSS_E_NOT_FOUND);
		cr_assert_null(v);
		cr_assert_eq(vl, 0);
		cr_assert_eq(store_get(t, i, "k01", 3, &v, &vl), 0);
		store_abort(t);
	}
	store_close(s);
}

Test(store_crud, overwrite_replaces_value)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	th_put1(s, STORE_DB_ROLES, "admin", "old");
	th_put1(s, STORE_DB_ROLES, "admin", "newer");
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_ROLES, "admin", 5, &v, &vl), 0);
	cr_assert_eq(vl, 5);
	cr_assert_eq(memcmp(v, "newer", 5), 0);
	store_abort(t);
	store_close(s);
}

Test(store_crud, nooverwrite_is_conflict_and_keeps_value)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	th_put1(s, STORE_DB_USERS, "bob", "first");
	if (th_pg()) {
		/* Unchecked until the statement runs: the transaction
		 * fails whole, at the latest at commit (store.h). */
		cr_assert_eq(store_begin(s, 1, &t), 0);
		cr_assert_eq(store_put(t, STORE_DB_USERS, "carol", 5, "c", 1,
		    0), 0);
		cr_assert_eq(store_put(t, STORE_DB_USERS, "bob", 3, "second",
		    6, STORE_NOOVERWRITE), 0);
		cr_assert_eq(store_commit(t), TSS_E_CONFLICT);
		cr_assert_eq(store_begin(s, 0, &t), 0);
		cr_assert_eq(store_get(t, STORE_DB_USERS, "carol", 5, &v, &vl),
		    TSS_E_NOT_FOUND);
		store_abort(t);
	}
	/* A key the transaction has read conflicts at once. */
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, "bob", 3, &v, &vl), 0);
	cr_assert_eq(store_put(t, STORE_DB_USERS, "bob", 3, "second", 6,
	    STORE_NOOVERWRITE), TSS_E_CONFLICT);
	/* The transaction is still usable after a conflict. */
	cr_assert_eq(store_put(t, STORE_DB_USERS, "carol", 5, "c", 1,
	    STORE_NOOVERWRITE), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, "bob", 3, &v, &vl), 0);
	cr_assert_eq(vl, 5);
	cr_assert_eq(memcmp(v, "first", 5), 0);
	store_abort(t);
	cr_assert_eq(th_count(s, STORE_DB_USERS), 2);
	store_close(s);
}

Test(store_crud, del_missing_is_not_found)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_del(t, STORE_DB_SESSIONS, "none", 4),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(store_commit(t), 0);
	store_close(s);
}

Test(store_crud, abort_discards_writes)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	uint64_t id0, id1;

	cr_assert_eq(store_last_txnid(s, &id0), 0);
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_CERTS, "1", 1, "c", 1, 0), 0);
	store_abort(t);
	cr_assert_eq(th_count(s, STORE_DB_CERTS), 0);
	cr_assert_eq(store_last_txnid(s, &id1), 0);
	cr_assert_eq(id0, id1);
	store_close(s);
}

Test(store_crud, commit_advances_txnid)
{
	struct store *s = th_open(NULL);
	uint64_t id0, id1;

	cr_assert_eq(store_last_txnid(s, &id0), 0);
	th_put1(s, STORE_DB_CERTS, "1", "c");
	cr_assert_eq(store_last_txnid(s, &id1), 0);
	cr_assert_eq(id1, id0 + 1);
	store_close(s);
}

Test(store_crud, writes_in_read_txn_are_refused)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_USERS, "a", 1, "b", 1, 0),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_del(t, STORE_DB_USERS, "a", 1),
	    TSS_E_INVALID_ARGUMENT);
	store_abort(t);
	cr_assert_eq(th_count(s, STORE_DB_USERS), 0);
	store_close(s);
}

Test(store_crud, key_length_bounds)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	char key[STORE_KEY_MAX + 1];
	const void *v;
	size_t vl;

	memset(key, 'k', sizeof(key));
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_USERS, key, 0, "v", 1, 0),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_put(t, STORE_DB_USERS, key, STORE_KEY_MAX + 1,
	    "v", 1, 0), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_put(t, STORE_DB_USERS, key, STORE_KEY_MAX, "v", 1,
	    0), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, key, STORE_KEY_MAX, &v,
	    &vl), 0);
	cr_assert_eq(store_get(t, STORE_DB_USERS, NULL, 1, &v, &vl),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(th_count(s, STORE_DB_USERS), 1);
	store_close(s);
}

Test(store_crud, empty_value_round_trips)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl = 9;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB_BINDINGS_BY_SUBJ, "u:a\0001", 5,
	    NULL, 0, 0), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_BINDINGS_BY_SUBJ, "u:a\0001", 5,
	    &v, &vl), 0);
	cr_assert_eq(vl, 0);
	store_abort(t);
	store_close(s);
}

Test(store_crud, bad_db_and_flags_are_invalid)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	uint64_t n;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_put(t, STORE_DB__COUNT, "a", 1, "b", 1, 0),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_put(t, STORE_DB_USERS, "a", 1, "b", 1, 0x80),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_get(t, (enum store_db)-1, "a", 1, &v, &vl),
	    TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(store_count(t, STORE_DB__COUNT, &n),
	    TSS_E_INVALID_ARGUMENT);
	store_abort(t);
	cr_assert_eq(store_begin(NULL, 0, &t), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(t);
	cr_assert_eq(store_commit(NULL), TSS_E_INVALID_ARGUMENT);
	store_abort(NULL);
	store_close(NULL);
	store_close(s);
}

struct put_arg {
	const char *key;
	int fail;
};

static int
put_fn(struct store_txn *t, void *arg)
{
	struct put_arg *a = arg;
	int r;

	if ((r = store_put(t, STORE_DB_TARGETS, a->key, strlen(a->key), "t",
	    1, 0)) != 0)
		return r;
	return a->fail ? TSS_E_VALIDATION : 0;
}

Test(store_crud, store_write_commits_or_aborts_with_fn)
{
	struct store *s = th_open(NULL);
	struct put_arg ok = { "a/b", 0 }, bad = { "c/d", 1 };

	cr_assert_eq(store_write(s, put_fn, &ok), 0);
	cr_assert_eq(store_write(s, put_fn, &bad), TSS_E_VALIDATION);
	cr_assert_eq(th_count(s, STORE_DB_TARGETS), 1);
	cr_assert_eq(store_write(s, NULL, NULL), TSS_E_INVALID_ARGUMENT);
	store_close(s);
}

/* Keys in order, as serials and audit sequence numbers arrive. */
static uint64_t
fill_ordered(const char *dir, unsigned flags)
{
	struct store *s = th_open(dir);
	struct store_txn *t = NULL;
	uint8_t key[8], val[680];	/* a certificate record's size */
	uint64_t used, map;
	int i, j;

	memset(val, 'v', sizeof(val));
	for (i = 0; i < 20; i++) {
		cr_assert_eq(store_begin(s, 1, &t), 0);
		for (j = 0; j < 100; j++) {
			th_be64(key, 1000 + (uint64_t)i * 100 + (uint64_t)j);
			cr_assert_eq(store_put(t, STORE_DB_CERTS, key,
			    sizeof(key), val, sizeof(val), flags), 0);
		}
		cr_assert_eq(store_commit(t), 0);
	}
	cr_assert_eq(th_count(s, STORE_DB_CERTS), 2000);
	cr_assert_eq(store_usage(s, &used, &map), 0);
	store_close(s);
	return used;
}

/* Records this large fit 5 to a page; LMDB's middle split leaves 4. */
Test(store_crud, append_fills_pages_that_a_plain_put_splits)
{
	char a[PATH_MAX], p[PATH_MAX];
	uint64_t dense, plain;

	th_path(a, sizeof(a), "append");
	th_path(p, sizeof(p), "plain");
	cr_assert_eq(mkdir(a, 0700), 0);
	cr_assert_eq(mkdir(p, 0700), 0);
	dense = fill_ordered(a, STORE_APPEND);
	plain = fill_ordered(p, 0);
	cr_assert_lt(dense * 10, plain * 9, "append %llu bytes, plain %llu",
	    (unsigned long long)dense, (unsigned long long)plain);
}

Test(store_crud, append_out_of_order_is_an_ordinary_put)
{
	struct store *s = th_open(NULL);
	struct store_cursor *c = NULL;
	struct store_txn *t = NULL;
	const void *k, *v;
	size_t kl, vl;
	uint8_t key[8];
	const uint64_t order[] = { 10, 30, 20, 5, 40 };
	uint64_t prev = 0;
	size_t i;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		th_be64(key, order[i]);
		cr_assert_eq(store_put(t, STORE_DB_CERTS, key, sizeof(key),
		    "x", 1, STORE_NOOVERWRITE | STORE_APPEND), 0);
	}
	/* A repeat is still a conflict under NOOVERWRITE, else a replace. */
	th_be64(key, 40);
	cr_assert_eq(store_put(t, STORE_DB_CERTS, key, sizeof(key), "y", 1,
	    STORE_NOOVERWRITE | STORE_APPEND), TSS_E_CONFLICT);
	th_be64(key, 20);
	cr_assert_eq(store_put(t, STORE_DB_CERTS, key, sizeof(key), "z", 1,
	    STORE_APPEND), 0);
	cr_assert_eq(store_commit(t), 0);

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_CERTS, &c), 0);
	for (i = 0; store_cursor_next(c, &k, &kl, &v, &vl) == 0; i++) {
		cr_assert_eq(kl, 8);
		cr_assert_gt(th_get_be64(k), prev);
		prev = th_get_be64(k);
		cr_assert_eq(vl, 1);
		cr_assert_eq(*(const char *)v, prev == 20 ? 'z' : 'x');
	}
	cr_assert_eq(i, 5);
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
}
