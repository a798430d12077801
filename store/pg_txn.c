/*
 * store, PostgreSQL backend: transactions on a pipelined connection, the
 * write transaction's cache, get, put, delete and count.  pg.c says how
 * they fit together.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pg_int.h"

/* Results sent but unread before a write txn reads them anyway, so the
 * server never blocks on a full socket while we write. */
#define PENDING_MAX	256
/* Write cache bound: past it puts are sent but not remembered. */
#define CACHE_MAX	((size_t)16 << 20)
#define CHUNK_MIN	((size_t)64 << 10)

struct pg_chunk {
	struct pg_chunk *next;
	size_t used, cap;
	uint8_t data[];
};

static void *
arena_alloc(struct pg_txn *t, size_t n)
{
	struct pg_chunk *ch = t->arena;
	size_t cap;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (ch == NULL || ch->cap - ch->used < n) {
		cap = n > CHUNK_MIN ? n : CHUNK_MIN;
		if ((ch = mem_malloc(sizeof(*ch) + cap)) == NULL)
			return NULL;
		ch->used = 0;
		ch->cap = cap;
		ch->next = t->arena;
		t->arena = ch;
	}
	p = ch->data + ch->used;
	ch->used += n;
	return p;
}

static void *
arena_copy(struct pg_txn *t, const void *src, size_t n)
{
	void *p = arena_alloc(t, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
	return p;
}

static uint32_t
ent_hash(enum store_db db, const uint8_t *k, size_t kl)
{
	uint32_t h = 2166136261u ^ (uint32_t)db;
	size_t i;

	for (i = 0; i < kl; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

/* db/k's slot in tab (cap a power of two): its entry or a free one. */
static struct pg_ent *
ent_find(struct pg_ent *tab, size_t cap, enum store_db db, const void *k,
    size_t kl, uint32_t h)
{
	size_t i = h & (cap - 1);
	struct pg_ent *e;

	for (;; i = (i + 1) & (cap - 1)) {
		e = &tab[i];
		if (e->state == PG_ENT_FREE || (e->hash == h && e->db == db &&
		    e->kl == kl && memcmp(e->k, k, kl) == 0))
			return e;
	}
}

static int
cache_grow(struct pg_txn *t)
{
	struct pg_ent *tab, *e;
	size_t cap = t->tcap == 0 ? 64 : t->tcap * 2, i;

	if ((tab = mem_calloc(cap, sizeof(*tab))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < t->tcap; i++) {
		if (t->tab[i].state == PG_ENT_FREE)
			continue;
		e = ent_find(tab, cap, t->tab[i].db, t->tab[i].k,
		    t->tab[i].kl, t->tab[i].hash);
		*e = t->tab[i];
	}
	free(t->tab);
	t->tab = tab;
	t->tcap = cap;
	return 0;
}

static const struct pg_ent *
cache_get(const struct pg_txn *t, enum store_db db, const void *k, size_t kl)
{
	const struct pg_ent *e;

	if (t->tcap == 0)
		return NULL;
	e = ent_find(t->tab, t->tcap, db, k, kl, ent_hash(db, k, kl));
	return e->state == PG_ENT_FREE ? NULL : e;
}

int
store__pg_cache_set(struct pg_txn *t, enum store_db db, const void *k,
    size_t kl, const void *v, size_t vl, int state)
{
	struct pg_ent *e;
	uint32_t h = ent_hash(db, k, kl);

	if (t->tused * 10 >= t->tcap * 7 && cache_grow(t) != 0)
		return t->err = TSS_E_NOMEM;
	e = ent_find(t->tab, t->tcap, db, k, kl, h);
	if (e->dirty) {
		e->dirty = 0;
		t->ndirty--;
	}
	if (e->state == PG_ENT_FREE) {
		if ((e->k = arena_copy(t, k, kl)) == NULL)
			return t->err = TSS_E_NOMEM;
		e->kl = kl;
		e->hash = h;
		e->db = (uint8_t)db;
		t->tused++;
		t->cached += kl;
	}
	if (state == PG_ENT_PRESENT && t->cached > CACHE_MAX)
		state = PG_ENT_UNKNOWN;
	e->v = NULL;
	e->vl = 0;
	if (state == PG_ENT_PRESENT) {
		if ((e->v = arena_copy(t, v, vl)) == NULL) {
			e->state = PG_ENT_UNKNOWN;
			return t->err = TSS_E_NOMEM;
		}
		e->vl = vl;
		t->cached += vl;
	}
	e->state = (uint8_t)state;
	return 0;
}

/* Room for n more kept results beyond the reserved ones. */
static int
keep_room(struct pg_txn *t, size_t n)
{
	PGresult **k;
	size_t cap = t->capkeep;

	while (cap < t->nkeep + t->reserved + n)
		cap = cap == 0 ? 16 : cap * 2;
	if (cap == t->capkeep)
		return 0;
	if ((k = mem_reallocarray(t->keep, cap, sizeof(*k))) == NULL)
		return TSS_E_NOMEM;
	t->keep = k;
	t->capkeep = cap;
	return 0;
}

int
store__pg_keep_reserve(struct pg_txn *t, int release)
{
	int r;

	if (release) {
		t->reserved -= 2;
		return 0;
	}
	if ((r = keep_room(t, 2)) == 0)
		t->reserved += 2;
	return r;
}

int
store__pg_keep(struct pg_txn *t, PGresult *res)
{
	int r;

	if ((r = keep_room(t, 1)) != 0) {
		PQclear(res);
		return r;
	}
	t->keep[t->nkeep++] = res;
	return 0;
}

/* Record t's first failure. */
static int
fail(struct pg_txn *t, int r)
{
	if (t->err == 0)
		t->err = r;
	if (r == TSS_E_STORE_FULL)
		t->full = 1;
	return t->err;
}

/* The writer row's result: this txn's count, checked. */
static int
writer_count(struct pg_txn *t, const PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 8) {
		log_error("store: PostgreSQL table writer has no row");
		return TSS_E_STORE;
	}
	t->n = buf_peek_u64((const uint8_t *)PQgetvalue(res, 0, 0));
	return store__pg_check_count(t->s, t->n);
}

/* Read the results of every statement sent, in order. */
static int
read_pending(struct pg_txn *t, PGresult **last, const char *what)
{
	PGconn *c = t->pc->c;
	PGresult *res, *extra;
	ExecStatusType st;
	int r;

	while (t->pending > 0) {
		if ((res = PQgetResult(c)) == NULL)
			return fail(t, store__pg_err(c, NULL, what));
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC && t->syncs > 0) {
			t->syncs--;		/* begin's, among results */
			PQclear(res);
			continue;
		}
		r = 0;
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
			r = store__pg_err(c, res, what);
		else if ((extra = PQgetResult(c)) != NULL) {
			PQclear(extra);
			r = store__pg_err(c, NULL, what);
		} else if (t->writer_pending > 0 && --t->writer_pending == 0)
			r = writer_count(t, res);
		t->pending--;
		if (r != 0) {
			PQclear(res);
			return fail(t, r);
		}
		if (t->pending == 0 && last != NULL)
			*last = res;
		else
			PQclear(res);
	}
	return 0;
}

/* The sync's result, after every statement's (and begin's sync, when
 * the statements' results ended before it). */
static int
read_sync(struct pg_txn *t)
{
	PGresult *res;
	int r = 0;

	for (t->syncs++; r == 0 && t->syncs > 0; t->syncs--) {
		res = PQgetResult(t->pc->c);
		if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
			r = store__pg_err(t->pc->c, NULL, "sync");
		PQclear(res);
	}
	return r != 0 ? fail(t, r) : 0;
}

/*
 * A sync, not a flush request: between round trips the server then sees
 * the session idle in transaction, so idle_in_transaction_session_timeout
 * ends the transaction of an instance frozen (SIGSTOP, a paused VM) while
 * it holds the writer row.  Inside an unsynced pipeline the session stays
 * "active" and no timeout applies: every other instance would wait.
 */
int
store__pg_collect(struct pg_txn *t, PGresult **last)
{
	PGconn *c = t->pc->c;
	int r;

	if (last != NULL)
		*last = NULL;
	if (t->err != 0)
		return t->err;
	if (t->pending == 0)
		return 0;
	if (PQpipelineSync(c) != 1)
		return fail(t, store__pg_err(c, NULL, "sync"));
	if ((r = read_pending(t, last, "statement")) != 0)
		return r;
	return read_sync(t);
}

static int
send_raw(struct pg_txn *t, const char *stmt, int n, const char *const *vals,
    const int *lens)
{
	static const int fmts[2] = { 1, 1 };

	if (PQsendQueryPrepared(t->pc->c, stmt, n, vals, lens, fmts, 1) != 1)
		return fail(t, store__pg_err(t->pc->c, NULL, "send"));
	t->pending++;
	return 0;
}

int
store__pg_send(struct pg_txn *t, const char *stmt, int n,
    const char *const *vals, const int *lens)
{
	int r;

	if (t->err != 0)
		return t->err;
	if (!t->begun) {
		if ((r = send_raw(t, PG_ST_BEGIN_R, 0, NULL, NULL)) != 0)
			return r;
		t->begun = 1;
	}
	if ((r = send_raw(t, stmt, n, vals, lens)) != 0)
		return r;
	if (t->pending >= PENDING_MAX)
		return store__pg_collect(t, NULL);
	return 0;
}

int
store__pg_begin(struct store *st, int write, struct store_txn **out)
{
	struct pg_store *s = (struct pg_store *)(void *)st;
	struct pg_txn *t;
	int r, lost;

	if (write && s->read_only) {
		log_debug("store: write transaction on a read-only store");
		return TSS_E_STORE;
	}
	pthread_mutex_lock(&s->mu);
	lost = s->lost;
	pthread_mutex_unlock(&s->mu);
	if (write && lost)
		return TSS_E_UNAVAILABLE;
	if ((t = mem_calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	t->ops = &store__pg_ops;
	t->s = s;
	t->write = write;
	if ((r = store__pg_acquire(s, &t->pc)) != 0) {
		free(t);
		return r;
	}
	if (write) {
		/*
		 * Sent now: the lock wait starts while the caller works.
		 * With a sync (see store__pg_collect): holding the writer
		 * row, the session is idle in transaction, not "active",
		 * while the caller works.
		 */
		if ((r = send_raw(t, PG_ST_BEGIN_W, 0, NULL, NULL)) != 0 ||
		    (r = send_raw(t, PG_ST_WRITER, 0, NULL, NULL)) != 0 ||
		    PQpipelineSync(t->pc->c) != 1) {
			r = store__pg_err(t->pc->c, NULL, "begin");
			store__pg_release(s, t->pc, 1);
			free(t);
			return r;
		}
		t->begun = 1;
		t->writer_pending = 2;		/* BEGIN's result first */
		t->syncs = 1;
	}
	*out = (struct store_txn *)(void *)t;
	return 0;
}

static void
txn_free(struct pg_txn *t)
{
	struct pg_chunk *ch;
	size_t i;

	store__pg_cursors_end(t);
	for (i = 0; i < t->nkeep; i++)
		PQclear(t->keep[i]);
	free(t->keep);
	while ((ch = t->arena) != NULL) {
		t->arena = ch->next;
		wipe_free(ch);
	}
	free(t->tab);
	free(t);
}

/* Send stmt and a sync, read everything; 0 when all went well. */
static int
finish(struct pg_txn *t, const char *stmt)
{
	PGconn *c = t->pc->c;
	int r;

	if ((r = send_raw(t, stmt, 0, NULL, NULL)) != 0)
		return r;
	if (PQpipelineSync(c) != 1)
		return fail(t, store__pg_err(c, NULL, stmt));
	if ((r = read_pending(t, NULL, stmt)) != 0)
		return r;
	return read_sync(t);
}

/* A read txn ends: ROLLBACK sent, its result read at the next acquire. */
static void
end_read(struct pg_txn *t)
{
	int broken = t->err != 0;

	if (!broken && t->begun) {
		if (send_raw(t, PG_ST_ROLLBACK, 0, NULL, NULL) != 0 ||
		    PQpipelineSync(t->pc->c) != 1 || PQflush(t->pc->c) != 0)
			broken = 1;
		t->pc->owed = t->pending;
	}
	store__pg_release(t->s, t->pc, broken);
}

int
store__pg_commit(struct store_txn *tx)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	int r;

	if (!t->write) {
		r = t->err;
		end_read(t);
		txn_free(t);
		return r;
	}
	/* The count is checked before COMMIT is sent. */
	if ((r = store__pg_send_puts(t)) == 0 && t->writer_pending)
		r = store__pg_collect(t, NULL);
	if (r == 0 && (r = send_raw(t, PG_ST_NOTIFY, 0, NULL, NULL)) == 0 &&
	    (r = finish(t, PG_ST_COMMIT)) != 0 &&
	    PQstatus(t->pc->c) == CONNECTION_BAD)
		log_error("store: PostgreSQL COMMIT's outcome is unknown "
		    "(connection lost)");
	if (r == 0)
		store__pg_committed(t->s, t->n);
	if (r == TSS_E_STORE_FULL)
		t->full = 1;
	store__pg_release(t->s, t->pc, r != 0);
	txn_free(t);
	return r;
}

void
store__pg_abort(struct store_txn *tx)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;

	if (!t->write)
		end_read(t);
	else
		store__pg_release(t->s, t->pc, t->err != 0 ||
		    finish(t, PG_ST_ROLLBACK) != 0);
	txn_free(t);
}

int
store__pg_get(struct store_txn *tx, enum store_db db, const void *key,
    size_t klen, const void **val, size_t *vlen)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	const struct pg_ent *e = NULL;
	const char *vals[1] = { key };
	int lens[1] = { (int)klen };
	char name[8];
	PGresult *res = NULL;
	int r;

	if (t->write && (e = cache_get(t, db, key, klen)) != NULL &&
	    e->state != PG_ENT_UNKNOWN)
		goto found;
	if ((r = store__pg_send(t, pg_stmt(name, 'g', db), 1, vals,
	    lens)) != 0 || (r = store__pg_collect(t, &res)) != 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		if (t->write && (r = store__pg_cache_set(t, db, key, klen,
		    NULL, 0, PG_ENT_ABSENT)) != 0)
			return r;
		return TSS_E_NOT_FOUND;
	}
	if (t->write) {
		r = store__pg_cache_set(t, db, key, klen,
		    PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0),
		    PG_ENT_PRESENT);
		e = cache_get(t, db, key, klen);
		if (r != 0 || e->state == PG_ENT_PRESENT) {
			PQclear(res);
			if (r != 0)
				return r;
			goto found;
		}
		/* Over the cache bound: the result lives with the txn. */
	}
	*val = PQgetvalue(res, 0, 0);
	*vlen = (size_t)PQgetlength(res, 0, 0);
	if ((r = store__pg_keep(t, res)) != 0) {
		*val = NULL;
		*vlen = 0;
	}
	return r;
 found:
	if (e->state == PG_ENT_ABSENT)
		return TSS_E_NOT_FOUND;
	*val = e->v;
	*vlen = e->vl;
	return 0;
}

int
store__pg_put(struct store_txn *tx, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	const char *vals[2] = { key, val != NULL ? val : "" };
	int lens[2] = { (int)klen, (int)vlen };
	const struct pg_ent *e;
	struct pg_ent *d;
	char name[8], kind = 'p';
	int r;

	if (t->err != 0)
		return t->err;
	if (vlen > INT32_MAX)
		return TSS_E_INVALID_ARGUMENT;
	/*
	 * A key that must be new and of which the transaction knows nothing
	 * goes out as a plain INSERT, without a round trip to look first:
	 * if it exists after all, the unique key fails the statement, and
	 * with it this transaction, with TSS_E_CONFLICT (store.h).
	 */
	if (flags & STORE_NOOVERWRITE) {
		e = cache_get(t, db, key, klen);
		if (e != NULL && e->state == PG_ENT_PRESENT)
			return TSS_E_CONFLICT;
		if (e == NULL || e->state != PG_ENT_ABSENT)
			kind = 'i';
	}
	if ((r = store__pg_cache_set(t, db, key, klen, val, vlen,
	    PG_ENT_PRESENT)) != 0)
		return r;
	/*
	 * A put the cache holds is sent at commit (or before a cursor or a
	 * count), once however often the key was put: a batch puts the
	 * audit head and counters once a job, and sends them once.
	 */
	if (kind == 'p' && (d = ent_find(t->tab, t->tcap, db, key, klen,
	    ent_hash(db, key, klen)))->state == PG_ENT_PRESENT) {
		d->dirty = 1;
		t->ndirty++;
		return 0;
	}
	return store__pg_send(t, pg_stmt(name, kind, db), 2, vals, lens);
}

int
store__pg_send_puts(struct pg_txn *t)
{
	const char *vals[2];
	int lens[2], r;
	struct pg_ent *e;
	char name[8];
	size_t i;

	for (i = 0; i < t->tcap && t->ndirty > 0; i++) {
		e = &t->tab[i];
		if (!e->dirty)
			continue;
		e->dirty = 0;
		t->ndirty--;
		vals[0] = (const char *)e->k;
		lens[0] = (int)e->kl;
		vals[1] = e->v != NULL ? (const char *)e->v : "";
		lens[1] = (int)e->vl;
		if ((r = store__pg_send(t, pg_stmt(name, 'p',
		    (enum store_db)e->db), 2, vals, lens)) != 0)
			return r;
	}
	return t->err;
}

int
store__pg_del(struct store_txn *tx, enum store_db db, const void *key,
    size_t klen)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	const char *vals[1] = { key };
	int lens[1] = { (int)klen };
	const void *v;
	size_t vl;
	char name[8];
	int r;

	if ((r = store__pg_get(tx, db, key, klen, &v, &vl)) != 0 ||
	    (r = store__pg_cache_set(t, db, key, klen, NULL, 0,
	    PG_ENT_ABSENT)) != 0)
		return r;
	return store__pg_send(t, pg_stmt(name, 'd', db), 1, vals, lens);
}

int
store__pg_count(struct store_txn *tx, enum store_db db, uint64_t *n)
{
	struct pg_txn *t = (struct pg_txn *)(void *)tx;
	PGresult *res = NULL;
	char name[8];
	int r;

	if ((r = store__pg_send_puts(t)) != 0 ||
	    (r = store__pg_send(t, pg_stmt(name, 'k', db), 0, NULL,
	    NULL)) != 0 || (r = store__pg_collect(t, &res)) != 0)
		return r;
	if (PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8)
		*n = buf_peek_u64((const uint8_t *)PQgetvalue(res, 0, 0));
	else
		r = fail(t, TSS_E_STORE);
	PQclear(res);
	return r;
}

int
store__pg_txn_write(const struct store_txn *t)
{
	return ((const struct pg_txn *)(const void *)t)->write;
}

int
store__pg_txn_full(const struct store_txn *t)
{
	return ((const struct pg_txn *)(const void *)t)->full;
}
