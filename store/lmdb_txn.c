/*
 * store, LMDB backend: transactions (and the map growth a write begin
 * makes, lmdb.c says why), record get, put and delete, cursors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <lmdb.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "lmdb_int.h"

#define GROW_WAIT_SEC		2
#define BEGIN_TRIES		3

/* Translate for an operation inside t; remembers a full map. */
static int
op_err(struct store_txn *t, int rc, const char *what)
{
	int r = tr(rc, what);

	if (r == TSS_E_STORE_FULL) {
		t->full = 1;
		atomic_store(&t->s->grow, 1);
	}
	return r;
}

/*
 * Remap with no transaction of ours live: size 0 adopts the size another
 * process set; otherwise grow (double, capped at map_max) if a write
 * still asks for it.  TSS_E_BUSY when transactions did not end in time.
 */
static int
remap(struct store *s, int adopt)
{
	MDB_envinfo ei;
	struct timespec ts;
	size_t want = 0;
	int rc, r = TSS_E_INTERNAL;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return TSS_E_INTERNAL;
	ts.tv_sec += GROW_WAIT_SEC;
	if (pthread_rwlock_clockwrlock(&s->lock, CLOCK_MONOTONIC, &ts) != 0) {
		log_debug("store: remap postponed: transactions still live");
		return TSS_E_BUSY;
	}
	if (!adopt) {
		if (!atomic_load(&s->grow)) {
			r = 0;			/* another thread grew it */
			goto out;
		}
		if ((rc = mdb_env_info(s->env, &ei)) != 0) {
			r = tr(rc, "env_info");
			goto out;
		}
		if (ei.me_mapsize >= s->map_max) {
			atomic_store(&s->grow, 0);
			atomic_store(&s->at_max, 1);
			log_debug("store: map full at its bound %zu",
			    s->map_max);
			r = TSS_E_STORE_FULL;
			goto out;
		}
		want = ei.me_mapsize > s->map_max / 2 ?
		    s->map_max : ei.me_mapsize * 2;
	}
	if ((rc = mdb_env_set_mapsize(s->env, want)) != 0) {
		r = tr(rc, "set_mapsize");
		goto out;
	}
	if (!adopt) {
		atomic_store(&s->grow, 0);
		log_info("store: map grown to %zu bytes", want);
	}
	r = 0;
 out:
	pthread_rwlock_unlock(&s->lock);
	return r;
}

static int
valid_txn_db(const struct store_txn *t, enum store_db db)
{
	return t != NULL && t->txn != NULL && (unsigned)db < STORE_DB__COUNT;
}

int
store__lmdb_begin(struct store *s, int write, struct store_txn **out)
{
	struct store_txn *t = NULL;
	int rc = 0, r = TSS_E_INTERNAL, tries, locked = 0;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (write && s->read_only) {
		log_debug("store: write transaction on a read-only store");
		return TSS_E_STORE;
	}
	if ((t = mem_calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	t->ops = &store__lmdb_ops;
	t->s = s;
	t->write = write != 0;
	/* Best effort: if growth fails, this txn may fill up again.  At
	 * the bound, skip the exclusive lock: nothing to gain. */
	if (write && atomic_load(&s->grow) && !atomic_load(&s->at_max))
		(void)remap(s, 0);
	for (tries = 0; tries < BEGIN_TRIES; tries++) {
		if ((r = lock_shared(s)) != 0)
			goto out;
		locked = 1;
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY,
		    &t->txn);
		if (rc != MDB_MAP_RESIZED)
			break;
		pthread_rwlock_unlock(&s->lock);
		locked = 0;
		log_debug("store: map resized by another process");
		if ((r = remap(s, 1)) != 0)
			goto out;
	}
	if (rc != 0) {
		t->txn = NULL;
		r = tr(rc, "txn_begin");
		goto out;
	}
	*out = t;
	t = NULL;
	locked = 0;			/* transferred to the txn */
	r = 0;
 out:
	if (locked)
		pthread_rwlock_unlock(&s->lock);
	free(t);
	return r;
}

/* Close the txn's cursors, release the lock and free t. */
static void
txn_release(struct store_txn *t)
{
	struct store_cursor *c;

	while ((c = t->cursors) != NULL) {
		t->cursors = c->next;
		/* Write-txn cursors are freed by LMDB with their txn. */
		if (!t->write && c->mc != NULL)
			mdb_cursor_close(c->mc);
		c->mc = NULL;
		c->t = NULL;
		c->next = NULL;
	}
	pthread_rwlock_unlock(&t->s->lock);
	free(t);
}

int
store__lmdb_commit(struct store_txn *t)
{
	int rc, r = TSS_E_INTERNAL;

	if (t == NULL || t->txn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (t->full) {
		mdb_txn_abort(t->txn);
		r = TSS_E_STORE_FULL;
	} else if ((rc = mdb_txn_commit(t->txn)) != 0) {
		r = op_err(t, rc, "commit");	/* LMDB freed the txn */
	} else
		r = 0;
	t->txn = NULL;
	txn_release(t);
	return r;
}

void
store__lmdb_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	txn_release(t);
}

int
store__lmdb_get(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	MDB_val k, v;
	int rc;

	if (val != NULL)
		*val = NULL;
	if (vlen != NULL)
		*vlen = 0;
	if (!valid_txn_db(t, db) || !store__valid_key(key, klen) ||
	    val == NULL || vlen == NULL)
		return TSS_E_INVALID_ARGUMENT;
	k = mval(key, klen);
	if ((rc = mdb_get(t->txn, t->s->dbi[db], &k, &v)) != 0)
		return op_err(t, rc, "get");
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store__lmdb_put(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags)
{
	MDB_val k, v;
	unsigned mflags = 0;
	int rc;

	if (!valid_txn_db(t, db) || !t->write || !store__valid_key(key, klen) ||
	    (val == NULL && vlen != 0) || vlen > UINT32_MAX ||
	    (flags & ~(unsigned)(STORE_NOOVERWRITE | STORE_APPEND)) != 0)
		return TSS_E_INVALID_ARGUMENT;
	if (flags & STORE_NOOVERWRITE)
		mflags |= MDB_NOOVERWRITE;
	k = mval(key, klen);
	v = mval(val, vlen);
	/* MDB_APPEND refuses, unchanged, a key not past the last one. */
	rc = MDB_KEYEXIST;
	if (flags & STORE_APPEND)
		rc = mdb_put(t->txn, t->s->dbi[db], &k, &v, mflags | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(t->txn, t->s->dbi[db], &k, &v, mflags);
	if (rc != 0)
		return op_err(t, rc, "put");
	return 0;
}

int
store__lmdb_del(struct store_txn *t, enum store_db db, const void *key, size_t klen)
{
	MDB_val k;
	int rc;

	if (!valid_txn_db(t, db) || !t->write || !store__valid_key(key, klen))
		return TSS_E_INVALID_ARGUMENT;
	k = mval(key, klen);
	if ((rc = mdb_del(t->txn, t->s->dbi[db], &k, NULL)) != 0)
		return op_err(t, rc, "del");
	return 0;
}

int
store__lmdb_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out)
{
	struct store_cursor *c;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!valid_txn_db(t, db) || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((c = mem_calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	c->ops = &store__lmdb_ops;
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c->mc)) != 0) {
		free(c);
		return tr(rc, "cursor_open");
	}
	c->t = t;
	c->next = t->cursors;
	t->cursors = c;
	*out = c;
	return 0;
}

static void
cursor_clear(const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	if (kp != NULL)
		*kp = NULL;
	if (kl != NULL)
		*kl = 0;
	if (vp != NULL)
		*vp = NULL;
	if (vl != NULL)
		*vl = 0;
}

/* One cursor step; outputs cleared first, set only on success. */
static int
cursor_get(struct store_cursor *c, MDB_val *k, MDB_cursor_op op,
    const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	MDB_val v;
	int rc;

	cursor_clear(kp, kl, vp, vl);
	if (c == NULL || c->mc == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_cursor_get(c->mc, k, &v, op)) != 0)
		return op_err(c->t, rc, "cursor_get");
	if (kp != NULL)
		*kp = k->mv_data;
	if (kl != NULL)
		*kl = k->mv_size;
	if (vp != NULL)
		*vp = v.mv_data;
	if (vl != NULL)
		*vl = v.mv_size;
	return 0;
}

int
store__lmdb_cursor_get(struct store_cursor *c, enum store_cursor_op op,
    const void *key, size_t klen, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	static const MDB_cursor_op mop[] = {
		[STORE_CUR_FIRST] = MDB_FIRST,
		[STORE_CUR_SEEK] = MDB_SET_RANGE,
		[STORE_CUR_NEXT] = MDB_NEXT,
		[STORE_CUR_LAST] = MDB_LAST,
	};
	MDB_val mk = { 0, NULL };

	if (op == STORE_CUR_SEEK)
		mk = mval(key, klen);
	return cursor_get(c, &mk, mop[op], k, kl, v, vl);
}

int
store__lmdb_cursor_del(struct store_cursor *c)
{
	int rc;

	if (c == NULL || c->mc == NULL || !c->t->write)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_cursor_del(c->mc, 0)) != 0)
		return op_err(c->t, rc, "cursor_del");
	return 0;
}

void
store__lmdb_cursor_close(struct store_cursor *c)
{
	struct store_cursor **pp;

	if (c == NULL)
		return;
	if (c->t != NULL) {
		for (pp = &c->t->cursors; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		if (c->mc != NULL)
			mdb_cursor_close(c->mc);
	}
	free(c);
}

int
store__lmdb_count(struct store_txn *t, enum store_db db, uint64_t *n)
{
	MDB_stat st;
	int rc;

	if (n != NULL)
		*n = 0;
	if (!valid_txn_db(t, db) || n == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0)
		return tr(rc, "stat");
	*n = st.ms_entries;
	return 0;
}

int
store__lmdb_txn_write(const struct store_txn *t)
{
	return t->write;
}

int
store__lmdb_txn_full(const struct store_txn *t)
{
	return t->full;
}
