/* The certificate ledger: records, the per-user index, revocations, serials. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/record.h"
#include "store/store.h"

#define REC_CERT	'C'
#define REC_CERT_V	1
#define REC_REVOKE	'R'
#define REC_REVOKE_V	1
#define USER_MAX	64
#define SERIAL_BLOCK	1024

/* "user\0" + be64 serial. */
static int
user_key(const char *user, uint64_t serial, uint8_t *key, size_t *klen)
{
	size_t ul = strlen(user);

	if (ul == 0 || ul >= USER_MAX)
		return TSS_E_INVALID_ARGUMENT;
	memcpy(key, user, ul + 1);
	buf_poke_u64(key + ul + 1, serial);
	*klen = ul + 9;
	return 0;
}

void
cert_record_free(struct cert_record *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->username);
	free(c->fingerprint);
	free(c->target);
	for (i = 0; i < c->n_principals; i++)
		free(c->principals[i]);
	free(c->principals);
	free(c->certificate);
	memset(c, 0, sizeof(*c));
}

static int
encode(const struct cert_record *c, struct buf *b)
{
	size_t i;
	int r;

	if ((r = rec_begin(b, REC_CERT, REC_CERT_V)) != 0 ||
	    (r = buf_put_u64(b, c->serial)) != 0 ||
	    (r = buf_put_cstring(b, c->username)) != 0 ||
	    (r = buf_put_cstring(b, c->fingerprint)) != 0 ||
	    (r = buf_put_cstring(b, c->target)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)c->n_principals)) != 0)
		return r;
	for (i = 0; i < c->n_principals; i++)
		if ((r = buf_put_cstring(b, c->principals[i])) != 0)
			return r;
	if ((r = buf_put_u64(b, (uint64_t)c->valid_after)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)c->valid_before)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)c->issued_at)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)c->revoked_at)) != 0 ||
	    (r = buf_put_cstring(b, c->certificate)) != 0)
		return r;
	return 0;
}

static int
decode(const void *v, size_t vl, struct cert_record *c)
{
	struct buf *b = NULL;
	uint64_t va, vb, ia, ra;
	uint32_t n, i;
	uint8_t ver;
	size_t len;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = rec_open(v, vl, REC_CERT, REC_CERT_V, &b, &ver)) != 0)
		return r;
	if ((r = buf_get_u64(b, &c->serial)) != 0 ||
	    (r = buf_get_cstring(b, &c->username, &len)) != 0 ||
	    (r = buf_get_cstring(b, &c->fingerprint, &len)) != 0 ||
	    (r = buf_get_cstring(b, &c->target, &len)) != 0 ||
	    (r = buf_get_u32(b, &n)) != 0)
		goto out;
	r = TSS_E_BAD_FORMAT;
	if (n > CERTS_MAX_PRINCIPALS)
		goto out;
	r = TSS_E_NOMEM;
	if ((c->principals = mem_calloc(n + 1, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = buf_get_cstring(b, &c->principals[i], &len)) != 0)
			goto out;
		c->n_principals++;
	}
	if ((r = buf_get_u64(b, &va)) != 0 ||
	    (r = buf_get_u64(b, &vb)) != 0 ||
	    (r = buf_get_u64(b, &ia)) != 0 ||
	    (r = buf_get_u64(b, &ra)) != 0 ||
	    (r = buf_get_cstring(b, &c->certificate, &len)) != 0)
		goto out;
	c->valid_after = (int64_t)va;
	c->valid_before = (int64_t)vb;
	c->issued_at = (int64_t)ia;
	c->revoked_at = (int64_t)ra;
	r = buf_len(b) == 0 ? 0 : TSS_E_TRAILING_DATA;
 out:
	buf_free(b);
	if (r != 0)
		cert_record_free(c);
	return r;
}

static int
write_record(struct store_txn *t, const struct cert_record *c, unsigned flags)
{
	struct buf *b;
	uint8_t key[8];
	int r;

	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	buf_poke_u64(key, c->serial);
	if ((r = encode(c, b)) == 0)
		r = store_put(t, STORE_DB_CERTS, key, sizeof(key), buf_ptr(b),
		    buf_len(b), flags);
	buf_free(b);
	return r;
}

int
certs_put(struct store_txn *t, const struct cert_record *c)
{
	uint8_t ukey[USER_MAX + 8];
	size_t uklen;
	int r;

	if (c->n_principals > CERTS_MAX_PRINCIPALS)
		return TSS_E_TOO_MANY;
	if ((r = user_key(c->username, c->serial, ukey, &uklen)) != 0 ||
	    (r = write_record(t, c, STORE_NOOVERWRITE | STORE_APPEND)) != 0 ||
	    (r = store_put(t, STORE_DB_CERTS_BY_USER, ukey, uklen, "", 0, 0)) != 0)
		return r;
	return 0;
}

int
certs_get(struct store_txn *t, uint64_t serial, struct cert_record *c)
{
	const void *v;
	uint8_t key[8];
	size_t vl;
	int r;

	memset(c, 0, sizeof(*c));
	buf_poke_u64(key, serial);
	if ((r = store_get(t, STORE_DB_CERTS, key, sizeof(key), &v, &vl)) != 0)
		return r;
	return decode(v, vl, c);
}

static const char *
state_of(const struct cert_record *c, int64_t now)
{
	return c->revoked_at != 0 ? "revoked" :
	    now >= c->valid_before ? "expired" : "valid";
}

json_t *
certs_to_json(const struct cert_record *c, int64_t now)
{
	json_t *o, *p;
	const char *state;
	char kid[96];
	size_t i;

	if ((p = json_array()) == NULL)
		return NULL;
	for (i = 0; i < c->n_principals; i++) {
		if (json_array_append_new(p, json_string(c->principals[i])) !=
		    0) {
			json_decref(p);
			return NULL;
		}
	}
	state = state_of(c, now);
	snprintf(kid, sizeof(kid), "%s:%llu", c->username,
	    (unsigned long long)c->serial);
	o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:s}",
	    "serial", (json_int_t)c->serial, "key_id", kid, "username",
	    c->username, "fingerprint", c->fingerprint, "principals", p,
	    "valid_after", (json_int_t)c->valid_after,
	    "valid_before", (json_int_t)c->valid_before,
	    "issued_at", (json_int_t)c->issued_at,
	    "state", state, "target", c->target);
	if (o == NULL)
		return NULL;
	if (c->revoked_at != 0 && json_object_set_new(o, "revoked_at",
	    json_integer((json_int_t)c->revoked_at)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
list_append(struct store_txn *t, uint64_t serial, int64_t now, json_t *arr)
{
	struct cert_record c;
	json_t *o;
	int r;

	if ((r = certs_get(t, serial, &c)) != 0)
		return r;
	o = certs_to_json(&c, now);
	cert_record_free(&c);
	if (o == NULL || json_array_append_new(arr, o) != 0)
		return TSS_E_NOMEM;
	return 0;
}

/* *ok: 1 when serial's record passes f's target and state filters. */
static int
list_match(struct store_txn *t, uint64_t serial,
    const struct certs_filter *f, int64_t now, int *ok)
{
	struct cert_record c;
	const char *at;
	size_t i;
	int r;

	*ok = f->target == NULL && f->state == NULL;
	if (*ok)
		return 0;
	if ((r = certs_get(t, serial, &c)) != 0)
		return r;
	*ok = f->state == NULL || strcmp(f->state, state_of(&c, now)) == 0;
	for (i = 0; *ok && f->target != NULL && i < c.n_principals; i++)
		if ((at = strchr(c.principals[i], '@')) != NULL &&
		    strcmp(at + 1, f->target) == 0)
			break;
	if (f->target != NULL && i == c.n_principals)
		*ok = 0;
	cert_record_free(&c);
	return 0;
}

/*
 * Newest first with a cursor that only walks forward: serials carry the
 * clock in their high bits, so the walk takes windows [lo, hi) downward
 * from before (the first about an hour of issuance) and keeps the newest
 * matches of each.  A window twice as wide follows one that held few
 * records, half as wide one that held many; after CERTS_LIST_SCAN
 * records the walk stops between windows with next = its lowest lo.
 */
#define LIST_WINDOW	((uint64_t)1 << 32)

int
certs_list(struct store_txn *t, const struct certs_filter *f, int64_t now,
    json_t **out, uint64_t *next)
{
	struct store_cursor *c = NULL;
	enum store_db db = STORE_DB_CERTS;
	const void *k, *v;
	size_t kl, vl, pl = 0, want, need, n, got = 0, i, seen = 0, held;
	uint8_t key[USER_MAX + 8];
	uint64_t *ring = NULL, *page, hi, lo, s, width = LIST_WINDOW;
	json_t *arr = NULL;
	int r, ok;

	*out = NULL;
	*next = 0;
	/* One match more than the page: it says whether there is a next. */
	want = (f->limit == 0 || f->limit > CERTS_LIST_MAX ? CERTS_LIST_MAX :
	    f->limit) + 1;
	if (f->username != NULL) {
		db = STORE_DB_CERTS_BY_USER;
		if ((r = user_key(f->username, 0, key, &pl)) != 0)
			return r;
		pl -= 8;
	}
	r = TSS_E_NOMEM;
	if ((ring = mem_calloc(2 * want, sizeof(*ring))) == NULL ||
	    (arr = json_array()) == NULL)
		goto out;
	page = ring + want;
	if ((r = certs_max_serial(t, &hi)) != 0 ||
	    (r = store_cursor_open(t, db, &c)) != 0)
		goto out;
	hi = f->before != 0 && f->before <= hi ? f->before : hi + 1;
	while ((need = want - got) > 0 && hi > 1) {
		if (seen >= CERTS_LIST_SCAN) {
			*next = hi;	/* everything from hi up was read */
			break;
		}
		lo = hi - 1 > width ? hi - width : 1;
		buf_poke_u64(key + pl, lo);
		n = held = 0;
		for (r = store_cursor_seek(c, key, pl + 8, &k, &kl, &v, &vl);
		    r == 0; r = store_cursor_next(c, &k, &kl, &v, &vl)) {
			if (kl != pl + 8 || memcmp(k, key, pl) != 0 ||
			    (s = buf_peek_u64((const uint8_t *)k + pl)) >= hi)
				break;
			held++;
			if ((r = list_match(t, s, f, now, &ok)) != 0)
				goto out;
			if (ok)
				ring[n++ % need] = s;
		}
		if (r != 0 && r != TSS_E_NOT_FOUND)
			goto out;
		for (i = 0; i < n && i < need; i++)
			page[got++] = ring[(n - 1 - i) % need];
		seen += held;
		hi = lo;
		if (held > CERTS_LIST_SCAN / 4)
			width = width / 2 > 0 ? width / 2 : 1;
		else
			width = width > UINT64_MAX / 2 ? UINT64_MAX : width * 2;
	}
	for (i = 0; i < got && i < want - 1; i++)
		if ((r = list_append(t, page[i], now, arr)) != 0)
			goto out;
	if (got == want)
		*next = page[want - 2];
	*out = arr;
	arr = NULL;
	r = 0;
 out:
	store_cursor_close(c);
	free(ring);
	json_decref(arr);
	return r;
}

int
certs_revoke(struct store_txn *t, uint64_t serial, int64_t now)
{
	struct cert_record c;
	struct buf *b = NULL;
	uint8_t key[8];
	int r;

	if ((r = certs_get(t, serial, &c)) != 0)
		return r;
	r = TSS_E_CONFLICT;
	if (c.revoked_at != 0)
		goto out;
	c.revoked_at = now;
	r = TSS_E_NOMEM;
	if ((b = buf_new()) == NULL)
		goto out;
	buf_poke_u64(key, serial);
	if ((r = write_record(t, &c, 0)) != 0 ||
	    (r = rec_begin(b, REC_REVOKE, REC_REVOKE_V)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)now)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)c.valid_before)) != 0 ||
	    (r = store_put(t, STORE_DB_REVOCATIONS, key, sizeof(key),
	    buf_ptr(b), buf_len(b), 0)) != 0)
		goto out;
	r = 0;
 out:
	buf_free(b);
	cert_record_free(&c);
	return r;
}

int
certs_revoke_user(struct store_txn *t, const char *username, int64_t now,
    size_t *count)
{
	struct store_cursor *c = NULL;
	struct cert_record rec;
	const void *k, *v;
	size_t kl, vl, pl, n = 0, cap = 0, i;
	uint8_t prefix[USER_MAX + 8];
	uint64_t *serials = NULL, *grown;
	int r;

	*count = 0;
	if ((r = user_key(username, 0, prefix, &pl)) != 0)
		return r;
	pl -= 8;
	if ((r = store_cursor_open(t, STORE_DB_CERTS_BY_USER, &c)) != 0)
		return r;
	for (r = store_cursor_seek(c, prefix, pl, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		if (kl != pl + 8 || memcmp(k, prefix, pl) != 0)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = mem_realloc(serials,
			    cap * sizeof(*serials))) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			serials = grown;
		}
		serials[n++] = buf_peek_u64((const uint8_t *)k + pl);
	}
	if (r != 0 && r != TSS_E_NOT_FOUND)
		goto out;
	store_cursor_close(c);
	c = NULL;
	for (i = 0, r = 0; i < n && r == 0; i++) {
		if ((r = certs_get(t, serials[i], &rec)) != 0)
			break;
		if (rec.revoked_at == 0 && rec.valid_before > now &&
		    (r = certs_revoke(t, serials[i], now)) == 0)
			(*count)++;
		cert_record_free(&rec);
	}
 out:
	store_cursor_close(c);
	free(serials);
	return r;
}

int
certs_revoked_serials(struct store_txn *t, int64_t now, uint64_t **serials,
    size_t *n, int64_t *changed)
{
	struct store_cursor *c = NULL;
	struct buf *b = NULL;
	const void *k, *v;
	size_t kl, vl, cap = 0, cnt = 0;
	uint64_t *list = NULL, *grown, at, before, last = 0;
	uint8_t ver;
	int r;

	*serials = NULL;
	*n = 0;
	if (changed != NULL)
		*changed = 0;
	if ((r = store_cursor_open(t, STORE_DB_REVOCATIONS, &c)) != 0)
		return r;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		if (kl != 8 ||
		    (r = rec_open(v, vl, REC_REVOKE, REC_REVOKE_V, &b, &ver)) != 0 ||
		    (r = buf_get_u64(b, &at)) != 0 ||
		    (r = buf_get_u64(b, &before)) != 0) {
			if (r == 0)
				r = TSS_E_BAD_FORMAT;
			goto out;
		}
		buf_free(b);
		b = NULL;
		if ((int64_t)before <= now) {
			last = before > last ? before : last;
			continue;
		}
		last = at > last ? at : last;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = mem_realloc(list, cap * sizeof(*list))) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			list = grown;
		}
		list[cnt++] = buf_peek_u64(k);
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	*serials = list;
	*n = cnt;
	if (changed != NULL)
		*changed = (int64_t)last;
	list = NULL;
	r = 0;
 out:
	buf_free(b);
	free(list);
	store_cursor_close(c);
	return r;
}

int
certs_max_serial(struct store_txn *t, uint64_t *max)
{
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	int r;

	*max = 0;
	if ((r = store_cursor_open(t, STORE_DB_CERTS, &c)) != 0)
		return r;
	r = store_cursor_last(c, &k, &kl, &v, &vl);
	if (r == 0 && kl == 8)
		*max = buf_peek_u64(k);
	store_cursor_close(c);
	return r == TSS_E_NOT_FOUND ? 0 : r;
}

/*
 * Two blocks: the one serials come from, and a spare reserved before the
 * first runs out, by the request that passes its half, outside the mutex;
 * so no request waits for a reservation's commit but the one that makes
 * it (and every request only when the spare is not there in time).
 * A block serves only in the second it was reserved in: the first serial
 * of a second is then above (now << 20), so serials taken in a later
 * second, on any instance, are above every one taken before it.
 */
struct serials {
	pthread_mutex_t mu;
	struct store *s;
	uint64_t next, end;	/* reserved [next, end) */
	uint64_t spare, spare_end;	/* the next block; empty when equal */
	int64_t sec, spare_sec;	/* the second each was reserved in */
	int refilling;
};

int
serials_new(struct store *s, struct serials **out)
{
	struct serials *sa;

	*out = NULL;
	if ((sa = mem_calloc(1, sizeof(*sa))) == NULL)
		return TSS_E_NOMEM;
	pthread_mutex_init(&sa->mu, NULL);
	sa->s = s;
	*out = sa;
	return 0;
}

void
serials_free(struct serials *sa)
{
	if (sa == NULL)
		return;
	pthread_mutex_destroy(&sa->mu);
	free(sa);
}

/* Raise the serial counter by n above both itself and the clock in t;
 * serials *base + 1 .. *base + n are the caller's. */
static int
counter_claim(struct store_txn *t, int64_t now, uint64_t n, uint64_t *base)
{
	uint64_t cur, floor = now > 0 ? (uint64_t)now << 20 : 0;
	int r;

	if ((r = store_counter_get(t, STORE_CTR_SERIAL, &cur)) != 0)
		return r;
	*base = cur > floor ? cur : floor;
	return store_counter_raise(t, STORE_CTR_SERIAL, *base + n);
}

int
certs_serial_claim(struct store_txn *t, int64_t now, uint64_t *serial)
{
	uint64_t base;
	int r;

	*serial = 0;
	if ((r = counter_claim(t, now, 1, &base)) == 0)
		*serial = base + 1;
	return r;
}

/* Durably reserve a block above both the counter and the clock:
 * [*next, *end). */
static int
reserve(struct store *st, int64_t now, uint64_t *next, uint64_t *end)
{
	struct store_txn *t = NULL;
	uint64_t base;
	int r;

	if ((r = store_begin(st, 1, &t)) != 0)
		return r;
	if ((r = counter_claim(t, now, SERIAL_BLOCK, &base)) != 0) {
		store_abort(t);
		return r;
	}
	if ((r = store_commit(t)) != 0)
		return r;
	*next = base + 1;
	*end = base + SERIAL_BLOCK + 1;
	return 0;
}

int
serials_take(struct serials *sa, int64_t now, uint64_t *serial)
{
	uint64_t next, end;
	int r = 0, refill;

	*serial = 0;
	pthread_mutex_lock(&sa->mu);
	if (sa->sec != now)
		sa->next = sa->end;
	if (sa->spare_sec != now)
		sa->spare = sa->spare_end;
	if (sa->next == sa->end) {
		if (sa->spare != sa->spare_end) {
			sa->next = sa->spare;
			sa->end = sa->spare_end;
			sa->sec = sa->spare_sec;
			sa->spare = sa->spare_end = 0;
		} else if ((r = reserve(sa->s, now, &sa->next, &sa->end)) == 0)
			sa->sec = now;
	}
	if (r == 0)
		*serial = sa->next++;
	refill = r == 0 && !sa->refilling && sa->spare == sa->spare_end &&
	    sa->end - sa->next < SERIAL_BLOCK / 2;
	sa->refilling |= refill;
	pthread_mutex_unlock(&sa->mu);
	if (!refill)
		return r;
	/* A failed refill is tried again by the next request. */
	r = reserve(sa->s, now, &next, &end);
	pthread_mutex_lock(&sa->mu);
	if (r == 0) {
		sa->spare = next;
		sa->spare_end = end;
		sa->spare_sec = now;
	}
	sa->refilling = 0;
	pthread_mutex_unlock(&sa->mu);
	return 0;
}
