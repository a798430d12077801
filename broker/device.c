/* Device authorization flow: requests and approval (device.h); the token
 * polls and their pacing are in device_poll.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/token.h"
#include "audit/audit.h"
#include "sshca/sshkey.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "device.h"
#include "device_int.h"
#include "rbac/rbac.h"
#include "store/record.h"
#include "store/store.h"

#define IDX_PREFIX	"u:"
#define IDX_LEN		(2 + DEVICE_USER_CODE_LEN)
#define PRUNE_VISIT	16	/* entries looked at per device_create */
#define CODE_TRIES	8	/* user code collisions tolerated */

void
device__rec_clear(struct dev_rec *d)
{
	free(d->user_code);
	free(d->public_key);
	free(d->fingerprint);
	free(d->key_type);
	free(d->target);
	free(d->login);
	free(d->approver);
	free(d->remote_addr);
	memset(d, 0, sizeof(*d));
}

static int
rec_encode(const struct dev_rec *d, struct buf **out)
{
	struct buf *b;
	int r;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, DEVICE_REC_TYPE, DEVICE_REC_VERSION)) != 0 ||
	    (r = buf_put_u8(b, d->state)) != 0 ||
	    (r = buf_put_cstring(b, d->user_code)) != 0 ||
	    (r = buf_put_cstring(b, d->public_key)) != 0 ||
	    (r = buf_put_cstring(b, d->fingerprint)) != 0 ||
	    (r = buf_put_cstring(b, d->key_type)) != 0 ||
	    (r = buf_put_cstring(b, d->target)) != 0 ||
	    (r = buf_put_cstring(b, d->login)) != 0 ||
	    (r = buf_put_u64(b, d->ttl)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)d->created)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)d->expires)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)d->last_poll)) != 0 ||
	    (r = buf_put_cstring(b, d->approver)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)d->decided_at)) != 0 ||
	    (r = buf_put_cstring(b, d->remote_addr)) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

static int
rec_decode(const void *p, size_t len, struct dev_rec *d)
{
	struct buf *v = NULL;
	uint64_t created, expires, last, decided;
	uint8_t ver;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = rec_open(p, len, DEVICE_REC_TYPE, DEVICE_REC_VERSION, &v,
	    &ver)) != 0)
		return r;
	if ((r = buf_get_u8(v, &d->state)) != 0 ||
	    (r = buf_get_cstring(v, &d->user_code, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &d->public_key, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &d->fingerprint, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &d->key_type, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &d->target, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &d->login, NULL)) != 0 ||
	    (r = buf_get_u64(v, &d->ttl)) != 0 ||
	    (r = buf_get_u64(v, &created)) != 0 ||
	    (r = buf_get_u64(v, &expires)) != 0 ||
	    (r = buf_get_u64(v, &last)) != 0 ||
	    (r = buf_get_cstring(v, &d->approver, NULL)) != 0 ||
	    (r = buf_get_u64(v, &decided)) != 0 ||
	    (r = buf_get_cstring(v, &d->remote_addr, NULL)) != 0)
		goto out;
	r = TSS_E_BAD_FORMAT;
	if (buf_len(v) != 0 || d->state > ST_USED ||
	    strlen(d->user_code) != DEVICE_USER_CODE_LEN ||
	    created > INT64_MAX || expires > INT64_MAX || last > INT64_MAX ||
	    decided > INT64_MAX || d->ttl > INT64_MAX)
		goto out;
	d->created = (int64_t)created;
	d->expires = (int64_t)expires;
	d->last_poll = (int64_t)last;
	d->decided_at = (int64_t)decided;
	r = 0;
 out:
	if (r != 0)
		device__rec_clear(d);
	buf_free(v);
	return r;
}

int
device__rec_put(struct store_txn *t, const uint8_t key[TOKEN_HASH_LEN],
    const struct dev_rec *d, unsigned flags)
{
	struct buf *b = NULL;
	int r;

	if ((r = rec_encode(d, &b)) != 0)
		return r;
	r = store_put(t, STORE_DB_DEVICE, key, TOKEN_HASH_LEN, buf_ptr(b),
	    buf_len(b), flags);
	buf_free(b);
	return r;
}

int
device__rec_get(struct store_txn *t, const uint8_t key[TOKEN_HASH_LEN],
    struct dev_rec *d)
{
	const void *v;
	size_t vl;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = store_get(t, STORE_DB_DEVICE, key, TOKEN_HASH_LEN, &v,
	    &vl)) != 0)
		return r;
	return rec_decode(v, vl, d);
}

static void
idx_key(const char code[DEVICE_USER_CODE_LEN], uint8_t k[IDX_LEN])
{
	memcpy(k, IDX_PREFIX, 2);
	memcpy(k + 2, code, DEVICE_USER_CODE_LEN);
}

/* Record of a canonical user code (8 characters, no dash). */
static int
rec_by_code(struct store_txn *t, const char *code,
    uint8_t key[TOKEN_HASH_LEN], struct dev_rec *d)
{
	uint8_t ik[IDX_LEN];
	const void *v;
	size_t vl;
	int r;

	memset(d, 0, sizeof(*d));
	idx_key(code, ik);
	if ((r = store_get(t, STORE_DB_DEVICE, ik, sizeof(ik), &v, &vl)) != 0)
		return r;
	if (vl != TOKEN_HASH_LEN)
		return TSS_E_BAD_FORMAT;
	memcpy(key, v, TOKEN_HASH_LEN);
	if ((r = device__rec_get(t, key, d)) != 0)
		return r;
	/* The index must agree with the record it names. */
	if (strcmp(d->user_code, code) != 0) {
		device__rec_clear(d);
		return TSS_E_NOT_FOUND;
	}
	return 0;
}

/* ---- user codes ---- */

static int
user_code_new(char code[DEVICE_USER_CODE_LEN + 1])
{
	static const char alpha[] = DEVICE_ALPHABET;
	const size_t n = sizeof(alpha) - 1;
	const size_t lim = 256 - 256 % n;	/* unbiased: reject above */
	uint8_t rnd[32];
	size_t i = 0, j;

	while (i < DEVICE_USER_CODE_LEN) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return TSS_E_CRYPTO;
		for (j = 0; j < sizeof(rnd) && i < DEVICE_USER_CODE_LEN; j++)
			if (rnd[j] < lim)
				code[i++] = alpha[rnd[j] % n];
	}
	code[i] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

static void
user_code_show(const char *code, char out[DEVICE_USER_CODE_TEXT + 1])
{
	memcpy(out, code, 4);
	out[4] = '-';
	memcpy(out + 5, code + 4, 4);
	out[DEVICE_USER_CODE_TEXT] = '\0';
}

/* 8 canonical characters (no dash) of a typed code. */
static int
user_code_parse(const char *in, char code[DEVICE_USER_CODE_LEN + 1])
{
	size_t len, i, o = 0;
	int c;

	if (in == NULL)
		return TSS_E_BAD_FORMAT;
	while (*in == ' ')
		in++;
	len = strlen(in);
	while (len > 0 && in[len - 1] == ' ')
		len--;
	if (len != DEVICE_USER_CODE_LEN && len != DEVICE_USER_CODE_TEXT)
		return TSS_E_BAD_FORMAT;
	for (i = 0; i < len; i++) {
		if (len == DEVICE_USER_CODE_TEXT && i == 4) {
			if (in[i] != '-')
				return TSS_E_BAD_FORMAT;
			continue;
		}
		c = toupper((unsigned char)in[i]);
		if (c == '\0' || strchr(DEVICE_ALPHABET, c) == NULL)
			return TSS_E_BAD_FORMAT;
		code[o++] = (char)c;
	}
	code[o] = '\0';
	return 0;
}

int
device_user_code_normalise(const char *in, char out[DEVICE_USER_CODE_TEXT + 1])
{
	char code[DEVICE_USER_CODE_LEN + 1];
	int r;

	if ((r = user_code_parse(in, code)) != 0)
		return r;
	user_code_show(code, out);
	return 0;
}

/* ---- create ---- */

struct create_arg {
	struct dev_rec rec;	/* user_code, fingerprint and approver
				 * borrowed, the request's strings copied */
	char user_code[DEVICE_USER_CODE_LEN + 1];
	char device_code[DEVICE_CODE_LEN + 1];
	int64_t now;
};

/*
 * Remove up to PRUNE_VISIT entries' worth of requests expired more than
 * DEVICE_KEEP seconds ago, starting at a random key so every part of the
 * table gets visited over time.
 */
static int
prune(struct store_txn *t, int64_t now)
{
	struct store_cursor *cur = NULL;
	uint8_t start[TOKEN_HASH_LEN], dead[PRUNE_VISIT][TOKEN_HASH_LEN];
	char codes[PRUNE_VISIT][DEVICE_USER_CODE_LEN + 1];
	const void *k, *v;
	size_t kl, vl, i, ndead = 0;
	struct dev_rec d;
	int r, wrapped = 0;

	if (RAND_bytes(start, sizeof(start)) != 1)
		return TSS_E_CRYPTO;
	if ((r = store_cursor_open(t, STORE_DB_DEVICE, &cur)) != 0)
		return r;
	r = store_cursor_seek(cur, start, sizeof(start), &k, &kl, &v, &vl);
	for (i = 0; i < PRUNE_VISIT; i++) {
		if (r == TSS_E_NOT_FOUND && !wrapped) {
			wrapped = 1;
			r = store_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl);
		}
		if (r == TSS_E_NOT_FOUND) {
			r = 0;
			break;
		}
		if (r != 0)
			goto out;
		/* Index entries go with their record; an undecodable record
		 * is left for a person to look at. */
		if (kl == TOKEN_HASH_LEN && rec_decode(v, vl, &d) == 0) {
			if (now - DEVICE_KEEP > d.expires) {
				memcpy(dead[ndead], k, TOKEN_HASH_LEN);
				memcpy(codes[ndead], d.user_code,
				    DEVICE_USER_CODE_LEN + 1);
				ndead++;
			}
			device__rec_clear(&d);
		}
		r = store_cursor_next(cur, &k, &kl, &v, &vl);
	}
	store_cursor_close(cur);
	cur = NULL;
	for (i = 0; i < ndead; i++) {
		uint8_t ik[IDX_LEN], key[TOKEN_HASH_LEN];

		if ((r = rec_by_code(t, codes[i], key, &d)) == 0) {
			device__rec_clear(&d);
			if (memcmp(key, dead[i], sizeof(key)) == 0) {
				idx_key(codes[i], ik);
				if ((r = store_del(t, STORE_DB_DEVICE, ik,
				    sizeof(ik))) != 0)
					goto out;
			}
		} else if (r != TSS_E_NOT_FOUND)
			goto out;
		if ((r = store_del(t, STORE_DB_DEVICE, dead[i],
		    TOKEN_HASH_LEN)) != 0 && r != TSS_E_NOT_FOUND)
			goto out;
	}
	r = 0;
 out:
	store_cursor_close(cur);
	return r;
}

static int
create_fn(struct store_txn *t, void *arg)
{
	struct create_arg *a = arg;
	uint8_t key[TOKEN_HASH_LEN], ik[IDX_LEN];
	const void *v;
	size_t vl;
	int r, tries;

	if ((r = prune(t, a->now)) != 0)
		return r;
	if ((r = token_new(a->device_code, key)) != 0)
		return r;
	a->rec.user_code = a->user_code;
	for (tries = 0; tries < CODE_TRIES; tries++) {
		if ((r = user_code_new(a->user_code)) != 0)
			return r;
		idx_key(a->user_code, ik);
		/* Looked up first: a backend may report a NOOVERWRITE
		 * conflict only at commit (store.h). */
		if ((r = store_get(t, STORE_DB_DEVICE, ik, sizeof(ik), &v,
		    &vl)) == 0)
			continue;
		if (r != TSS_E_NOT_FOUND)
			return r;
		r = store_put(t, STORE_DB_DEVICE, ik, sizeof(ik), key,
		    sizeof(key), STORE_NOOVERWRITE);
		break;
	}
	if (tries == CODE_TRIES)
		r = TSS_E_CONFLICT;
	if (r != 0)
		return r;
	return device__rec_put(t, key, &a->rec, STORE_NOOVERWRITE);
}

int
device_create(struct store *s, const struct device_request *rq, int64_t now,
    struct device_grant *out, char *errmsg, size_t errlen)
{
	struct create_arg a;
	struct sshkey *key = NULL;
	char fp[SSHKEY_FP_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	snprintf(errmsg, errlen, "%s", "");
	if (rq->ttl < 0) {
		snprintf(errmsg, errlen, "ttl: must be a positive number of "
		    "seconds");
		return TSS_E_VALIDATION;
	}
	if (rq->target != NULL && rbac_valid_target_name(rq->target) != 0) {
		snprintf(errmsg, errlen, "target: malformed");
		return TSS_E_VALIDATION;
	}
	if (rq->login != NULL && rbac_valid_login(rq->login) != 0) {
		snprintf(errmsg, errlen, "login: malformed");
		return TSS_E_VALIDATION;
	}
	r = TSS_E_INVALID_PUBLIC_KEY;
	if (rq->public_key == NULL || (r = sshkey_parse_line(rq->public_key,
	    strlen(rq->public_key), &key, NULL)) != 0) {
		snprintf(errmsg, errlen, "public_key: %s", r == TSS_E_WEAK_KEY ?
		    "key type refused or too weak (use ed25519, ecdsa or "
		    "RSA of 2048 bits or more)" : "not a valid OpenSSH public key");
		goto out;
	}
	if ((r = sshkey_fingerprint(key, fp)) != 0)
		goto out;
	a.now = now;
	a.rec.state = ST_PENDING;
	a.rec.fingerprint = fp;
	a.rec.ttl = (uint64_t)rq->ttl;
	a.rec.created = now;
	a.rec.expires = now + DEVICE_TTL;
	a.rec.approver = "";
	r = TSS_E_NOMEM;
	if ((a.rec.public_key = mem_strdup(rq->public_key)) == NULL ||
	    (a.rec.key_type = mem_strdup(sshkey_type_name(key))) == NULL ||
	    (a.rec.target = mem_strdup(rq->target != NULL ? rq->target :
	    "")) == NULL ||
	    (a.rec.login = mem_strdup(rq->login != NULL ? rq->login :
	    "")) == NULL ||
	    (a.rec.remote_addr = mem_strdup(rq->remote_addr != NULL ?
	    rq->remote_addr : "")) == NULL ||
	    (r = store_write(s, create_fn, &a)) != 0)
		goto out;
	memcpy(out->device_code, a.device_code, sizeof(out->device_code));
	user_code_show(a.user_code, out->user_code);
	out->expires_at = now + DEVICE_TTL;
	out->interval = DEVICE_INTERVAL;
	r = 0;
 out:
	OPENSSL_cleanse(a.device_code, sizeof(a.device_code));
	free(a.rec.public_key);
	free(a.rec.key_type);
	free(a.rec.target);
	free(a.rec.login);
	free(a.rec.remote_addr);
	sshkey_free(key);
	return r;
}

/* ---- pending and decision ---- */

/* The request of a typed user code, checked to be open at now. */
static int
open_by_code(struct store_txn *t, const char *user_code, int64_t now,
    uint8_t key[TOKEN_HASH_LEN], struct dev_rec *d)
{
	char code[DEVICE_USER_CODE_LEN + 1];
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = user_code_parse(user_code, code)) != 0)
		return r;
	if ((r = rec_by_code(t, code, key, d)) != 0)
		return r;
	if (now >= d->expires)
		r = TSS_E_EXPIRED;
	else if (d->state != ST_PENDING)
		r = TSS_E_CONFLICT;
	if (r != 0)
		device__rec_clear(d);
	return r;
}

void
device_pending_clear(struct device_pending *p)
{
	if (p == NULL)
		return;
	free(p->fingerprint);
	free(p->key_type);
	free(p->target);
	free(p->login);
	free(p->remote_addr);
	memset(p, 0, sizeof(*p));
}

static char *
opt_dup(const char *s, int *fail)
{
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	if ((d = mem_strdup(s)) == NULL)
		*fail = 1;
	return d;
}

int
device_pending_get(struct store *s, const char *user_code, int64_t now,
    struct device_pending *out)
{
	struct store_txn *t = NULL;
	struct device_pending p;
	uint8_t key[TOKEN_HASH_LEN];
	struct dev_rec d;
	int r, fail = 0;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&d, 0, sizeof(d));
	if ((r = store_begin(s, 0, &t)) != 0 ||
	    (r = open_by_code(t, user_code, now, key, &d)) != 0)
		goto out;
	user_code_show(d.user_code, p.user_code);
	p.fingerprint = opt_dup(d.fingerprint, &fail);
	p.key_type = opt_dup(d.key_type, &fail);
	p.target = opt_dup(d.target, &fail);
	p.login = opt_dup(d.login, &fail);
	p.remote_addr = mem_strdup(d.remote_addr);
	p.ttl = (int64_t)d.ttl;
	p.expires_at = d.expires;
	if (fail || p.remote_addr == NULL || p.fingerprint == NULL ||
	    p.key_type == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	*out = p;
	memset(&p, 0, sizeof(p));
	r = 0;
 out:
	device_pending_clear(&p);
	device__rec_clear(&d);
	store_abort(t);
	return r;
}

struct decide_arg {
	const char *user_code;
	int approve;
	const struct audit_actor *actor;
	int64_t now;
};

static int
decide_fn(struct store_txn *t, void *arg)
{
	struct decide_arg *a = arg;
	uint8_t key[TOKEN_HASH_LEN];
	char object[8 + DEVICE_USER_CODE_TEXT + 1];
	char shown[DEVICE_USER_CODE_TEXT + 1];
	struct dev_rec d;
	json_t *f = NULL;
	int r;

	if ((r = open_by_code(t, a->user_code, a->now, key, &d)) != 0)
		return r;
	d.state = a->approve ? ST_APPROVED : ST_DENIED;
	free(d.approver);
	d.decided_at = a->now;
	if ((d.approver = mem_strdup(a->actor->name)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = device__rec_put(t, key, &d, 0)) != 0)
		goto out;
	user_code_show(d.user_code, shown);
	snprintf(object, sizeof(object), "device:%s", shown);
	if ((f = json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:s}",
	    "fingerprint", d.fingerprint, "key_type", d.key_type,
	    "target", *d.target != '\0' ? d.target : NULL,
	    "login", *d.login != '\0' ? d.login : NULL,
	    "ttl", (json_int_t)d.ttl, "requester", d.remote_addr)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = audit_record(t, a->actor, a->approve ? "device.approve" :
	    "device.deny", object, "ok", f, a->now, NULL);
 out:
	json_decref(f);
	device__rec_clear(&d);
	return r;
}

int
device_decide(struct store *s, const char *user_code, int approve,
    const struct audit_actor *actor, int64_t now)
{
	struct decide_arg a = { .user_code = user_code, .approve = approve,
	    .actor = actor, .now = now };

	if (actor == NULL || actor->name == NULL ||
	    *actor->name == '\0')
		return TSS_E_INVALID_ARGUMENT;
	return store_write(s, decide_fn, &a);
}
