/*
 * store, PostgreSQL backend: cursors.  Rows come PG_BATCH at a time in key
 * order (bytea compares as memcmp, then length: LMDB's order); a cursor
 * keeps its current batch and the one before, so a pointer it gave stays
 * valid until it has moved on twice (store.h), and a scan of any length
 * holds two batches.  In a write transaction the batch query follows the
 * transaction's own statements in the pipeline, so it sees its puts.
 */
#include <stdlib.h>

#include "common/err.h"
#include "common/mem.h"
#include "pg_int.h"

int
store__pg_cursor_open(struct store_txn *tx, enum store_db db,
    struct store_cursor **out)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	struct pg_cursor *c;

	if (t->err != 0)
		return t->err;
	if ((c = mem_calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	if (store__pg_keep_reserve(t, 0) != 0) {
		free(c);
		return TSS_E_NOMEM;
	}
	c->ops = &store__pg_ops;
	c->t = t;
	c->db = db;
	c->row = -1;
	c->next = t->cursors;
	t->cursors = c;
	*out = (struct store_cursor *)(void *)c;
	return 0;
}

/* A new batch by statement letter (key: its parameter, if any);
 * TSS_E_NOT_FOUND, position unchanged, when it is empty. */
static int
fetch(struct pg_cursor *c, char letter, const void *key, size_t klen)
{
	const char *vals[1] = { key };
	int lens[1] = { (int)klen };
	PGresult *res = NULL;
	char name[8];
	int r;

	if ((r = store__pg_send_puts(c->t)) != 0 ||
	    (r = store__pg_send(c->t, pg_stmt(name, letter, c->db),
	    letter == 'l' ? 0 : 1, vals, lens)) != 0 ||
	    (r = store__pg_collect(c->t, &res)) != 0)
		return r;
	if (PQntuples(res) == 0 || PQnfields(res) != 2) {
		PQclear(res);
		return TSS_E_NOT_FOUND;
	}
	PQclear(c->prev);
	c->prev = c->cur;
	c->cur = res;
	c->row = 0;
	return 0;
}

int
store__pg_cursor_get(struct store_cursor *cx, enum store_cursor_op op,
    const void *key, size_t klen, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	struct pg_cursor *c = (struct pg_cursor *)(void *)cx;
	int r;

	if (c->t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (op == STORE_CUR_NEXT && c->cur == NULL)
		op = STORE_CUR_FIRST;
	switch (op) {
	case STORE_CUR_FIRST:
		r = fetch(c, 's', "", 0);
		break;
	case STORE_CUR_SEEK:
		r = fetch(c, 's', key, klen);
		break;
	case STORE_CUR_LAST:
		r = fetch(c, 'l', NULL, 0);
		break;
	default:
		if (c->row + 1 < PQntuples(c->cur)) {
			c->row++;
			r = 0;
		} else if (!c->t->write && PQntuples(c->cur) < PG_BATCH)
			r = TSS_E_NOT_FOUND;	/* a snapshot: no more */
		else
			r = fetch(c, 'a', PQgetvalue(c->cur, c->row, 0),
			    (size_t)PQgetlength(c->cur, c->row, 0));
		break;
	}
	if (r != 0)
		return r;
	*k = PQgetvalue(c->cur, c->row, 0);
	*kl = (size_t)PQgetlength(c->cur, c->row, 0);
	*v = PQgetvalue(c->cur, c->row, 1);
	*vl = (size_t)PQgetlength(c->cur, c->row, 1);
	return 0;
}

int
store__pg_cursor_del(struct store_cursor *cx)
{
	struct pg_cursor *c = (struct pg_cursor *)(void *)cx;
	const char *vals[1];
	int lens[1];
	char name[8];
	int r;

	if (c->t == NULL || !c->t->write || c->cur == NULL || c->row < 0)
		return TSS_E_INVALID_ARGUMENT;
	vals[0] = PQgetvalue(c->cur, c->row, 0);
	lens[0] = PQgetlength(c->cur, c->row, 0);
	if ((r = store__pg_cache_set(c->t, c->db, vals[0], (size_t)lens[0],
	    NULL, 0, PG_ENT_ABSENT)) != 0)
		return r;
	return store__pg_send(c->t, pg_stmt(name, 'd', c->db), 1, vals, lens);
}

/* Unlink c from its txn's list. */
static void
unlink_cursor(struct pg_cursor *c)
{
	struct pg_cursor **pp;

	for (pp = &c->t->cursors; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
}

void
store__pg_cursor_close(struct store_cursor *cx)
{
	struct pg_cursor *c = (struct pg_cursor *)(void *)cx;

	if (c->t != NULL) {
		unlink_cursor(c);
		/* As on LMDB, what it gave stays valid until the txn ends
		 * (in the slots reserved at open: no allocation fails). */
		store__pg_keep_reserve(c->t, 1);
		if (c->cur != NULL)
			(void)store__pg_keep(c->t, c->cur);
		if (c->prev != NULL)
			(void)store__pg_keep(c->t, c->prev);
	} else {
		PQclear(c->cur);
		PQclear(c->prev);
	}
	free(c);
}

void
store__pg_cursors_end(struct pg_txn *t)
{
	struct pg_cursor *c;

	while ((c = t->cursors) != NULL) {
		t->cursors = c->next;
		PQclear(c->cur);
		PQclear(c->prev);
		c->cur = c->prev = NULL;
		c->t = NULL;
		c->next = NULL;
	}
}
