/*
 * store: what does not depend on the backend: database names, counters,
 * the identity record and store_write's retry, all through the calls of
 * store.h.  The LMDB backend is lmdb.c (environment, schema, map),
 * lmdb_txn.c (transactions, records, cursors), lmdb_check.c (the data
 * file check) and lmdb_backup.c (backup and restore); internal.h is the
 * interface between the two sides.  See store.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
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
