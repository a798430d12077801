/* Cursors: order, seek, next, last, delete while iterating. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

TestSuite(store_cursor, .init = th_setup, .fini = th_teardown);

static struct store *
filled(void)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	uint8_t k[8];
	uint64_t i;

	/* Big-endian keys 10, 20, ..., 100: key order is numeric order. */
	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 10; i > 0; i--) {
		th_be64(k, i * 10);
		cr_assert_eq(store_put(t, STORE_DB_AUDIT, k, 8, &i, sizeof(i),
		    0), 0);
	}
	cr_assert_eq(store_commit(t), 0);
	return s;
}

Test(store_cursor, walks_every_key_in_order)
{
	struct store *s = filled();
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	uint64_t want = 10;
	int r;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		cr_assert_eq(kl, 8);
		cr_assert_eq(th_get_be64(k), want);
		cr_assert_eq(vl, sizeof(uint64_t));
		want += 10;
	}
	cr_assert_eq(r, TSS_E_NOT_FOUND);
	cr_assert_null(k);
	cr_assert_eq(want, 110);
	/* Still at the end. */
	cr_assert_eq(store_cursor_next(c, &k, &kl, &v, &vl), TSS_E_NOT_FOUND);
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
}

Test(store_cursor, seek_lands_on_first_key_not_below)
{
	struct store *s = filled();
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k;
	size_t kl;
	uint8_t key[8];

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	th_be64(key, 35);
	cr_assert_eq(store_cursor_seek(c, key, 8, &k, &kl, NULL, NULL), 0);
	cr_assert_eq(th_get_be64(k), 40);
	th_be64(key, 50);
	cr_assert_eq(store_cursor_seek(c, key, 8, &k, &kl, NULL, NULL), 0);
	cr_assert_eq(th_get_be64(k), 50);
	cr_assert_eq(store_cursor_next(c, &k, &kl, NULL, NULL), 0);
	cr_assert_eq(th_get_be64(k), 60);
	th_be64(key, 101);
	cr_assert_eq(store_cursor_seek(c, key, 8, &k, &kl, NULL, NULL),
	    TSS_E_NOT_FOUND);
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
}

Test(store_cursor, last_and_empty)
{
	struct store *s = filled();
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	cr_assert_eq(store_cursor_last(c, &k, &kl, &v, &vl), 0);
	cr_assert_eq(th_get_be64(k), 100);
	cr_assert_eq(store_cursor_next(c, &k, &kl, &v, &vl), TSS_E_NOT_FOUND);
	store_cursor_close(c);
	cr_assert_eq(store_cursor_open(t, STORE_DB_REVOCATIONS, &c), 0);
	cr_assert_eq(store_cursor_last(c, &k, &kl, &v, &vl), TSS_E_NOT_FOUND);
	cr_assert_eq(store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl),
	    TSS_E_NOT_FOUND);
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
}

Test(store_cursor, delete_while_iterating_removes_only_the_chosen)
{
	struct store *s = filled();
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k;
	size_t kl;
	uint64_t seen = 0, want = 10;
	int r;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, NULL, NULL); r == 0;
	    r = store_cursor_next(c, &k, &kl, NULL, NULL)) {
		seen++;
		cr_assert_eq(th_get_be64(k), want);
		want += 10;
		/* Delete 20, 40, ... 100; the next entry follows. */
		if (th_get_be64(k) % 20 == 0)
			cr_assert_eq(store_cursor_del(c), 0);
	}
	cr_assert_eq(r, TSS_E_NOT_FOUND);
	cr_assert_eq(seen, 10);
	store_cursor_close(c);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 5);

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	want = 10;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, NULL, NULL); r == 0;
	    r = store_cursor_next(c, &k, &kl, NULL, NULL)) {
		cr_assert_eq(th_get_be64(k), want);
		want += 20;
	}
	cr_assert_eq(store_cursor_del(c), TSS_E_INVALID_ARGUMENT);
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
}

Test(store_cursor, closing_after_the_txn_ended_is_safe)
{
	struct store *s = filled();
	struct store_txn *t = NULL;
	struct store_cursor *c1 = NULL, *c2 = NULL;
	const void *k;
	size_t kl;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c1), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_cursor_next(c1, &k, &kl, NULL, NULL),
	    TSS_E_INVALID_ARGUMENT);
	store_cursor_close(c1);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c2), 0);
	store_abort(t);
	store_cursor_close(c2);
	store_cursor_close(NULL);
	store_close(s);
}
