/*
 * store: what does not depend on the backend: the public calls (each
 * checks its arguments once, then dispatches through the handle's ops
 * table, backend.h), database names, counters, the identity record,
 * store_write's retry and the copy behind backup and restore.  The LMDB
 * backend is lmdb.c (environment, schema, map), lmdb_txn.c (transactions,
 * records, cursors), lmdb_check.c (the data file check) and
 * lmdb_backup.c (backup and restore); the PostgreSQL backend is pg*.c
 * (pg.c says how).  internal.h and backend.h are the interface between
 * the sides.  See store.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "backend.h"
#include "internal.h"
#include "record.h"
#include "store.h"

#define IDENTITY_REC_TYPE	'I'
#define IDENTITY_REC_VERSION	1

static const char *const db_names[STORE_DB__COUNT] = {
#define STORE_DB_NAME(sym, name) name,
	STORE_DATABASES(STORE_DB_NAME)
#undef STORE_DB_NAME
};

static const char *const counter_keys[STORE_CTR__COUNT] = {
	[STORE_CTR_SERIAL] = "ctr.serial",
	[STORE_CTR_AUDIT_SEQ] = "ctr.audit_seq",
	[STORE_CTR_POLICY_GEN] = "ctr.policy_gen",
	[STORE_CTR_BINDING_ID] = "ctr.binding_id",
};

int
store_location_is_pg(const char *loc)
{
	return loc != NULL && (strncmp(loc, "postgresql://", 13) == 0 ||
	    strncmp(loc, "postgres://", 11) == 0);
}

const char *
store_db_name(enum store_db db)
{
	if ((unsigned)db >= STORE_DB__COUNT)
		return NULL;
	return db_names[db];
}

int
store_write(struct store *s, int (*fn)(struct store_txn *, void *), void *arg)
{
	struct store_txn *t = NULL;
	int r = TSS_E_INTERNAL, attempt, full;

	if (s == NULL || fn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = store_begin(s, 1, &t)) != 0)
			break;
		if ((r = fn(t, arg)) != 0) {
			full = store__txn_full(t);
			store_abort(t);
			/* fn may have mapped the put's error to its own. */
			if (full)
				r = TSS_E_STORE_FULL;
		} else
			r = store_commit(t);
		t = NULL;
		if (r != TSS_E_STORE_FULL)
			break;
		log_debug("store: write transaction hit a full map (try %d)",
		    attempt + 1);
	}
	return r;
}

int
store_counter_get(struct store_txn *t, enum store_counter c, uint64_t *out)
{
	const void *v;
	size_t vl;
	int r;

	if (out != NULL)
		*out = 0;
	if (t == NULL || (unsigned)c >= STORE_CTR__COUNT || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	r = store_get(t, STORE_DB_META, counter_keys[c],
	    strlen(counter_keys[c]), &v, &vl);
	if (r == TSS_E_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if (vl != 8) {
		log_debug("store: counter %s has %zu bytes", counter_keys[c],
		    vl);
		return TSS_E_STORE;
	}
	*out = buf_peek_u64(v);
	return 0;
}

static int
counter_set(struct store_txn *t, enum store_counter c, uint64_t v)
{
	uint8_t b[8];

	buf_poke_u64(b, v);
	return store_put(t, STORE_DB_META, counter_keys[c],
	    strlen(counter_keys[c]), b, sizeof(b), 0);
}

int
store_counter_next(struct store_txn *t, enum store_counter c, uint64_t *out)
{
	uint64_t v;
	int r;

	if (out != NULL)
		*out = 0;
	if (t == NULL || !store__txn_write(t) || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_counter_get(t, c, &v)) != 0)
		return r;
	if (v == UINT64_MAX)
		return TSS_E_OVERFLOW;
	if ((r = counter_set(t, c, v + 1)) != 0)
		return r;
	*out = v + 1;
	return 0;
}

int
store_counter_raise(struct store_txn *t, enum store_counter c, uint64_t v)
{
	uint64_t cur;
	int r;

	if (t == NULL || !store__txn_write(t))
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_counter_get(t, c, &cur)) != 0)
		return r;
	if (v <= cur)
		return 0;
	return counter_set(t, c, v);
}

/* The identity record: 'I' v1, then id, CA fingerprint, key check. */
int
store__identity_encode(const struct store_identity *idn, struct buf **out)
{
	struct buf *b;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, IDENTITY_REC_TYPE, IDENTITY_REC_VERSION)) != 0 ||
	    (r = buf_put_string(b, idn->id, sizeof(idn->id))) != 0 ||
	    (r = buf_put_string(b, idn->ca_fpr, sizeof(idn->ca_fpr))) != 0 ||
	    (r = buf_put_string(b, idn->key_check,
	    sizeof(idn->key_check))) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

/* One fixed-length string field of the identity record. */
static int
identity_field(struct buf *v, uint8_t *dst, size_t len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = buf_get_string_direct(v, &p, &n)) != 0)
		return r;
	if (n != len)
		return TSS_E_BAD_FORMAT;
	memcpy(dst, p, len);
	return 0;
}

static int
identity_decode(const void *p, size_t len, struct store_identity *idn)
{
	struct buf *v = NULL;
	int r;

	if ((r = rec_open(p, len, IDENTITY_REC_TYPE, IDENTITY_REC_VERSION,
	    &v, NULL)) != 0 ||
	    (r = identity_field(v, idn->id, sizeof(idn->id))) != 0 ||
	    (r = identity_field(v, idn->ca_fpr, sizeof(idn->ca_fpr))) != 0 ||
	    (r = identity_field(v, idn->key_check,
	    sizeof(idn->key_check))) != 0)
		goto out;
	if (buf_len(v) != 0)
		r = TSS_E_TRAILING_DATA;
 out:
	buf_free(v);
	if (r != 0) {
		log_debug("store: identity record: %s", tss_strerror(r));
		memset(idn, 0, sizeof(*idn));
		/* A newer program's record is its business; else damage. */
		if (r != TSS_E_RECORD_VERSION && r != TSS_E_NOMEM)
			r = TSS_E_CORRUPT;
	}
	return r;
}

/* A new random store id into idn->id. */
int
store__identity_new_id(struct store_identity *idn)
{
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(idn->id)) {
		n = getrandom(idn->id + got, sizeof(idn->id) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("store: getrandom: %s", strerror(errno));
			return TSS_E_INTERNAL;
		}
		got += (size_t)n;
	}
	return 0;
}

int
store_identity_get(struct store *s, struct store_identity *out)
{
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_begin(s, 0, &t)) != 0)
		return r;
	if ((r = store_get(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, &v, &vl)) == 0)
		r = identity_decode(v, vl, out);
	store_abort(t);
	return r;
}

int
store_identity_adopt(struct store *s, struct store_identity *idn)
{
	struct store_txn *t = NULL;
	struct buf *b = NULL;
	const void *v;
	size_t vl;
	uint64_t users = 0;
	int r;

	if (s == NULL || idn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store__identity_new_id(idn)) != 0 ||
	    (r = store__identity_encode(idn, &b)) != 0 ||
	    (r = store_begin(s, 1, &t)) != 0)
		goto out;
	r = store_get(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, &v, &vl);
	if (r == 0)
		r = TSS_E_CONFLICT;
	if (r != TSS_E_NOT_FOUND)
		goto out;
	/* tessera init always made its admin: without a user, nobody
	 * initialised this store (a schema marker alone is no store). */
	if ((r = store_count(t, STORE_DB_USERS, &users)) != 0)
		goto out;
	if (users == 0) {
		log_debug("store: no identity and no user: never initialised");
		r = TSS_E_STORE_EMPTY;
		goto out;
	}
	if ((r = store_put(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, buf_ptr(b), buf_len(b),
	    STORE_NOOVERWRITE)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	buf_free(b);
	return r;
}

/*
 * The public calls: check the arguments once, clear the outputs, and
 * hand over to the handle's backend (backend.h).
 */

int
store_open(const char *loc, const struct store_opts *opts, struct store **out)
{
	if (out != NULL)
		*out = NULL;
	if (loc == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (store_location_is_pg(loc))
		return store__pg_open(loc, opts, out);
	return store__lmdb_open(loc, opts, out);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		STORE_OPS(s)->close(s);
}

int
store_begin(struct store *s, int write, struct store_txn **out)
{
	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->begin(s, write != 0, out);
}

int
store_commit(struct store_txn *t)
{
	if (t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->commit(t);
}

void
store_abort(struct store_txn *t)
{
	if (t != NULL)
		STORE_OPS(t)->abort(t);
}

static int
valid_db(const struct store_txn *t, enum store_db db)
{
	return t != NULL && (unsigned)db < STORE_DB__COUNT;
}

int
store_get(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	if (val != NULL)
		*val = NULL;
	if (vlen != NULL)
		*vlen = 0;
	if (!valid_db(t, db) || !store__valid_key(key, klen) ||
	    val == NULL || vlen == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->get(t, db, key, klen, val, vlen);
}

int
store_put(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags)
{
	if (!valid_db(t, db) || !store__txn_write(t) ||
	    !store__valid_key(key, klen) || (val == NULL && vlen != 0) ||
	    vlen > UINT32_MAX ||
	    (flags & ~(unsigned)(STORE_NOOVERWRITE | STORE_APPEND)) != 0)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->put(t, db, key, klen, val, vlen, flags);
}

int
store_del(struct store_txn *t, enum store_db db, const void *key, size_t klen)
{
	if (!valid_db(t, db) || !store__txn_write(t) ||
	    !store__valid_key(key, klen))
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->del(t, db, key, klen);
}

int
store_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out)
{
	if (out != NULL)
		*out = NULL;
	if (!valid_db(t, db) || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->cursor_open(t, db, out);
}

/* One cursor step: outputs cleared first, set only on success. */
static int
cursor_step(struct store_cursor *c, enum store_cursor_op op, const void *key,
    size_t klen, const void **k, size_t *kl, const void **v, size_t *vl)
{
	const void *dk = NULL, *dv = NULL;
	size_t dkl = 0, dvl = 0;

	if (k != NULL)
		*k = NULL;
	if (kl != NULL)
		*kl = 0;
	if (v != NULL)
		*v = NULL;
	if (vl != NULL)
		*vl = 0;
	if (c == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(c)->cursor_get(c, op, key, klen,
	    k != NULL ? k : &dk, kl != NULL ? kl : &dkl,
	    v != NULL ? v : &dv, vl != NULL ? vl : &dvl);
}

int
store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	if (klen == 0)
		return cursor_step(c, STORE_CUR_FIRST, NULL, 0, k, kl, v, vl);
	if (!store__valid_key(key, klen))
		return cursor_step(NULL, STORE_CUR_SEEK, NULL, 0, k, kl, v, vl);
	return cursor_step(c, STORE_CUR_SEEK, key, klen, k, kl, v, vl);
}

int
store_cursor_next(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	return cursor_step(c, STORE_CUR_NEXT, NULL, 0, k, kl, v, vl);
}

int
store_cursor_last(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	return cursor_step(c, STORE_CUR_LAST, NULL, 0, k, kl, v, vl);
}

int
store_cursor_del(struct store_cursor *c)
{
	if (c == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(c)->cursor_del(c);
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c != NULL)
		STORE_OPS(c)->cursor_close(c);
}

int
store_count(struct store_txn *t, enum store_db db, uint64_t *n)
{
	if (n != NULL)
		*n = 0;
	if (!valid_db(t, db) || n == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(t)->count(t, db, n);
}

int
store_usage(struct store *s, uint64_t *used, uint64_t *map_size)
{
	if (used != NULL)
		*used = 0;
	if (map_size != NULL)
		*map_size = 0;
	if (s == NULL || used == NULL || map_size == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->usage(s, used, map_size);
}

int
store_trim_map(struct store *s)
{
	if (s == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->trim_map(s);
}

int
store_last_txnid(struct store *s, uint64_t *id)
{
	if (id != NULL)
		*id = 0;
	if (s == NULL || id == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->last_txnid(s, id);
}

int
store_backup_fd(struct store *s, int fd)
{
	if (s == NULL || fd < 0)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->backup_fd(s, fd);
}

int
store_restore(const char *file, const char *loc)
{
	if (file == NULL || loc == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (store_location_is_pg(loc))
		return store__pg_restore(file, loc);
	return store__lmdb_restore(file, loc);
}

int
store_health(struct store *s)
{
	if (s == NULL)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->health(s);
}

int
store_wait_change(struct store *s, int timeout_ms)
{
	if (s == NULL || timeout_ms < 0)
		return TSS_E_INVALID_ARGUMENT;
	return STORE_OPS(s)->wait_change(s, timeout_ms);
}

int
store__txn_write(const struct store_txn *t)
{
	return STORE_OPS(t)->txn_write(t);
}

int
store__txn_full(const struct store_txn *t)
{
	return STORE_OPS(t)->txn_full(t);
}

/* Every entry of db from src into dst. */
static int
copy_db(struct store_txn *src, struct store_txn *dst, enum store_db db)
{
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	int r;

	if ((r = store_cursor_open(src, db, &c)) != 0)
		return r;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl))
		if ((r = store_put(dst, db, k, kl, v, vl, 0)) != 0)
			break;
	store_cursor_close(c);
	return r == TSS_E_NOT_FOUND ? 0 : r;
}

int
store__copy_all(struct store_txn *src, struct store_txn *dst)
{
	int i, r = 0;

	for (i = 0; i < STORE_DB__COUNT && r == 0; i++)
		r = copy_db(src, dst, (enum store_db)i);
	return r;
}
