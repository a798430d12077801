/* Transactions: snapshot isolation for readers, readers in threads beside
 * a writer, usage numbers. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

TestSuite(store_txn, .init = th_setup, .fini = th_teardown);

Test(store_txn, reader_keeps_its_snapshot_while_a_writer_commits)
{
	struct store *s = th_open(NULL);
	struct store_txn *r = NULL, *w = NULL, *r2 = NULL;
	const void *v;
	size_t vl;
	uint64_t n;

	th_put1(s, STORE_DB_USERS, "alice", "v1");
	cr_assert_eq(store_begin(s, 0, &r), 0);
	/* PostgreSQL takes the snapshot at the first read (store.h). */
	cr_assert_eq(store_get(r, STORE_DB_USERS, "alice", 5, &v, &vl), 0);
	cr_assert_eq(store_begin(s, 1, &w), 0);
	cr_assert_eq(store_put(w, STORE_DB_USERS, "alice", 5, "v2", 2, 0), 0);
	cr_assert_eq(store_put(w, STORE_DB_USERS, "bob", 3, "b", 1, 0), 0);
	cr_assert_eq(store_commit(w), 0);

	cr_assert_eq(store_get(r, STORE_DB_USERS, "alice", 5, &v, &vl), 0);
	cr_assert_eq(memcmp(v, "v1", 2), 0);
	cr_assert_eq(store_get(r, STORE_DB_USERS, "bob", 3, &v, &vl),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(store_count(r, STORE_DB_USERS, &n), 0);
	cr_assert_eq(n, 1);

	cr_assert_eq(store_begin(s, 0, &r2), 0);
	cr_assert_eq(store_get(r2, STORE_DB_USERS, "alice", 5, &v, &vl), 0);
	cr_assert_eq(memcmp(v, "v2", 2), 0);
	store_abort(r2);
	store_abort(r);
	store_close(s);
}

struct reader_arg {
	struct store *s;
	int bad;
	int rounds;
};

/* Every snapshot must hold "a" and "b" with equal values: the writer
 * changes both in one transaction. */
static void *
reader(void *p)
{
	struct reader_arg *a = p;
	struct store_txn *t = NULL;
	const void *va, *vb;
	size_t la, lb;
	int i;

	for (i = 0; i < a->rounds; i++) {
		if (store_begin(a->s, 0, &t) != 0 ||
		    store_get(t, STORE_DB_ROLES, "a", 1, &va, &la) != 0 ||
		    store_get(t, STORE_DB_ROLES, "b", 1, &vb, &lb) != 0 ||
		    la != lb || memcmp(va, vb, la) != 0)
			a->bad++;
		store_abort(t);
		t = NULL;
	}
	return NULL;
}

Test(store_txn, threaded_readers_see_whole_commits)
{
	struct store *s = th_open(NULL);
	struct reader_arg ra[3];
	struct store_txn *w = NULL;
	pthread_t th[3];
	char val[16];
	int i, n;

	cr_assert_eq(store_begin(s, 1, &w), 0);
	cr_assert_eq(store_put(w, STORE_DB_ROLES, "a", 1, "0", 1, 0), 0);
	cr_assert_eq(store_put(w, STORE_DB_ROLES, "b", 1, "0", 1, 0), 0);
	cr_assert_eq(store_commit(w), 0);
	for (i = 0; i < 3; i++) {
		ra[i] = (struct reader_arg){ .s = s, .rounds = 2000 };
		cr_assert_eq(pthread_create(&th[i], NULL, reader, &ra[i]), 0);
	}
	for (i = 1; i <= 50; i++) {
		n = snprintf(val, sizeof(val), "%d", i);
		cr_assert_eq(store_begin(s, 1, &w), 0);
		cr_assert_eq(store_put(w, STORE_DB_ROLES, "a", 1, val,
		    (size_t)n, 0), 0);
		cr_assert_eq(store_put(w, STORE_DB_ROLES, "b", 1, val,
		    (size_t)n, 0), 0);
		cr_assert_eq(store_commit(w), 0);
	}
	for (i = 0; i < 3; i++) {
		cr_assert_eq(pthread_join(th[i], NULL), 0);
		cr_assert_eq(ra[i].bad, 0);
	}
	store_close(s);
}

Test(store_txn, usage_reports_pages_in_use_and_map_size)
{
	struct store_opts o = { .map_size = 1 << 20 };
	struct store *s = NULL;
	uint64_t used, size, used2;

	TH_LMDB_ONLY("the map");
	cr_assert_eq(store_open(th_loc, &o, &s), 0);
	cr_assert_eq(store_usage(s, &used, &size), 0);
	cr_assert_eq(size, 1 << 20);
	cr_assert(used > 0 && used < size);
	th_put1(s, STORE_DB_USERS, "u", "v");
	cr_assert_eq(store_usage(s, &used2, &size), 0);
	cr_assert(used2 >= used);
	store_close(s);
}
