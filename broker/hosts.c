/*
 * hosts: join tokens, host joins and renewals (see hosts.h).  Records are
 * META values under "host.tok."/"host.cred." + SHA-256 of the secret:
 *   token:      target, expires_at, created_at
 *   credential: target, key fingerprint, serial, valid_before, all, hosts
 * where all = 1 when the join took all of the target's hosts (a renewal
 * then follows the target's list as it is now) and hosts is what the
 * join asked for otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "audit/audit.h"
#include "broker.h"
#include "certs.h"
#include "commit.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "hosts.h"
#include "rbac/rbac.h"
#include "routes.h"
#include "sshca/cert.h"
#include "sshca/sshkey.h"
#include "store/record.h"
#include "store/store.h"

#define KEY_TOK		"host.tok."
#define KEY_CRED	"host.cred."
#define KEY_MAX		(sizeof(KEY_CRED) - 1 + SHA256_LEN)
#define SECRET_RAW	32
#define SECRET_LEN	(4 + 2 * SECRET_RAW)	/* prefix + hex */
#define REC_HOST_TOKEN	'J'
#define REC_HOST_CRED	'H'
#define REC_HOST_V	1

/* A new secret "<prefix><64 hex>" and its hash. */
static int
secret_new(const char *prefix, char text[SECRET_LEN + 1],
    uint8_t hash[SHA256_LEN])
{
	uint8_t raw[SECRET_RAW];
	int r = TSS_E_CRYPTO;

	if (RAND_bytes(raw, sizeof(raw)) == 1) {
		memcpy(text, prefix, 4);
		hex_encode(raw, sizeof(raw), text + 4);
		r = sha256(text, SECRET_LEN, hash);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

/* The hash of a presented secret; TSS_E_INVALID_CREDENTIALS for one that
 * cannot be ours (no work is spent on those). */
static int
secret_hash(const char *prefix, const char *text, uint8_t hash[SHA256_LEN])
{
	size_t i;

	if (text == NULL || strlen(text) != SECRET_LEN ||
	    memcmp(text, prefix, 4) != 0)
		return TSS_E_INVALID_CREDENTIALS;
	for (i = 4; i < SECRET_LEN; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
		    (text[i] >= 'a' && text[i] <= 'f')))
			return TSS_E_INVALID_CREDENTIALS;
	return sha256(text, SECRET_LEN, hash);
}

static size_t
meta_key(uint8_t key[KEY_MAX], const char *kind, const uint8_t *hash)
{
	size_t n = strlen(kind);

	memcpy(key, kind, n);
	memcpy(key + n, hash, SHA256_LEN);
	return n + SHA256_LEN;
}

struct cred {
	char *target;
	char *fingerprint;
	uint64_t serial;
	int64_t valid_before;
	int all;
	char **hosts;
	size_t n_hosts;
};

static void
cred_clear(struct cred *c)
{
	free(c->target);
	free(c->fingerprint);
	rbac_strv_free(c->hosts, c->n_hosts);
	memset(c, 0, sizeof(*c));
}

struct sign_op {
	struct broker *b;
	const struct hosts_req *rq;
	const struct sshkey *key;
	const char *fp;			/* the key's fingerprint */
	const uint8_t *secret;		/* hash of the token or credential */
	const uint8_t *cred;		/* join: hash of the new credential */
	const char *cred_text;		/* join: the credential */
	int64_t now;
	uint64_t serial;		/* out, as those below */
	char *errmsg;
	size_t len;
	/* Out, remade by every run of the transaction. */
	char *target, *line;
	const char **principals;	/* into tg */
	size_t n_principals;
	uint64_t va, vb;
	struct rbac_target *tg;
	json_t *out;			/* the answer, made before commit */
};

/* The credential of hash for op's certificate; hosts NULL: all. */
static int
cred_put(struct store_txn *t, const uint8_t *hash, const struct sign_op *op,
    const char *const *hosts, size_t n)
{
	uint8_t key[KEY_MAX];
	struct buf *b;
	size_t i;
	int r;

	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, REC_HOST_CRED, REC_HOST_V)) != 0 ||
	    (r = buf_put_cstring(b, op->tg->name)) != 0 ||
	    (r = buf_put_cstring(b, op->fp)) != 0 ||
	    (r = buf_put_u64(b, op->serial)) != 0 ||
	    (r = buf_put_u64(b, op->vb)) != 0 ||
	    (r = buf_put_u8(b, hosts == NULL)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)(hosts != NULL ? n : 0))) != 0)
		goto out;
	for (i = 0; hosts != NULL && i < n; i++)
		if ((r = buf_put_cstring(b, hosts[i])) != 0)
			goto out;
	r = store_put(t, STORE_DB_META, key, meta_key(key, KEY_CRED, hash),
	    buf_ptr(b), buf_len(b), 0);
 out:
	buf_free(b);
	return r;
}

/* The target a token or credential record names (first field). */
static int
rec_target(const void *v, size_t vl, uint8_t type, struct buf **view,
    char **target)
{
	uint8_t ver;
	int r;

	*target = NULL;
	if ((r = rec_open(v, vl, type, REC_HOST_V, view, &ver)) != 0)
		return r;
	return buf_get_cstring(*view, target, NULL);
}

/* TSS_E_INVALID_CREDENTIALS when absent or expired at now. */
static int
cred_get(struct store_txn *t, const uint8_t *hash, int64_t now,
    struct cred *c)
{
	uint8_t key[KEY_MAX], all = 0;
	struct buf *b = NULL;
	const void *v;
	uint64_t vb = 0;
	uint32_t n = 0, i;
	size_t vl;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = store_get(t, STORE_DB_META, key, meta_key(key, KEY_CRED,
	    hash), &v, &vl)) != 0)
		return r == TSS_E_NOT_FOUND ? TSS_E_INVALID_CREDENTIALS : r;
	if ((r = rec_target(v, vl, REC_HOST_CRED, &b, &c->target)) != 0 ||
	    (r = buf_get_cstring(b, &c->fingerprint, NULL)) != 0 ||
	    (r = buf_get_u64(b, &c->serial)) != 0 ||
	    (r = buf_get_u64(b, &vb)) != 0 ||
	    (r = buf_get_u8(b, &all)) != 0 ||
	    (r = buf_get_u32(b, &n)) != 0)
		goto out;
	r = TSS_E_BAD_FORMAT;
	if (n > RBAC_HOSTS_MAX)
		goto out;
	r = TSS_E_NOMEM;
	if ((c->hosts = mem_calloc(n + 1, sizeof(char *))) == NULL)
		goto out;
	for (i = 0; i < n; i++, c->n_hosts++)
		if ((r = buf_get_cstring(b, &c->hosts[i], NULL)) != 0)
			goto out;
	c->valid_before = (int64_t)vb;
	c->all = all != 0;
	r = c->valid_before > now ? 0 : TSS_E_INVALID_CREDENTIALS;
 out:
	buf_free(b);
	if (r != 0)
		cred_clear(c);
	return r;
}

/*
 * Delete the token and credential records of target (NULL: none by name)
 * and those expired at now (0: none by time).
 */
static int
sweep(struct store_txn *t, const char *target, int64_t now)
{
	struct store_cursor *cur = NULL;
	struct buf *view = NULL;
	const void *k, *v;
	size_t kl, vl;
	char *name = NULL, *fp = NULL;
	uint64_t until = 0, serial;
	int r, tok;

	if ((r = store_cursor_open(t, STORE_DB_META, &cur)) != 0)
		return r;
	for (r = store_cursor_seek(cur, "host.", 5, &k, &kl, &v, &vl);
	    r == 0 && kl > 5 && memcmp(k, "host.", 5) == 0;
	    r = store_cursor_next(cur, &k, &kl, &v, &vl)) {
		tok = kl > strlen(KEY_TOK) &&
		    memcmp(k, KEY_TOK, strlen(KEY_TOK)) == 0;
		if ((r = rec_target(v, vl, tok ? REC_HOST_TOKEN :
		    REC_HOST_CRED, &view, &name)) == 0 && !tok &&
		    ((r = buf_get_cstring(view, &fp, NULL)) != 0 ||
		    (r = buf_get_u64(view, &serial)) != 0))
			goto next;
		if (r == 0 && (r = buf_get_u64(view, &until)) == 0 &&
		    ((target != NULL && strcmp(name, target) == 0) ||
		    (now > 0 && (int64_t)until <= now)))
			r = store_cursor_del(cur);
 next:
		buf_free(view);
		view = NULL;
		free(name);
		free(fp);
		name = fp = NULL;
		if (r != 0)
			break;
	}
	store_cursor_close(cur);
	return r == TSS_E_NOT_FOUND ? 0 : r;
}

int
hosts_target_gone(struct store_txn *t, const char *target)
{
	int r;

	if ((r = sweep(t, target, 0)) != 0)
		return r;
	return routes_target_gone(t, target);
}

int
hosts_cred_target(struct store_txn *t, const char *credential, int64_t now,
    char **target)
{
	uint8_t h[SHA256_LEN];
	struct cred c;
	int r;

	*target = NULL;
	if ((r = secret_hash(HOSTS_CRED_PREFIX, credential, h)) != 0 ||
	    (r = cred_get(t, h, now, &c)) != 0)
		return r;
	*target = c.target;
	c.target = NULL;
	cred_clear(&c);
	return 0;
}

/* ---- tokens ---- */

struct token_op {
	const struct caller *c;
	const char *target;
	const uint8_t *hash;
	int64_t now, expires_at;
	char *errmsg;
	size_t len;
};

static int
token_fn(struct store_txn *t, void *arg)
{
	struct token_op *op = arg;
	struct audit_actor by = { op->c->username, op->c->remote_addr,
	    op->c->request_id };
	struct rbac_target *tg = NULL;
	uint8_t key[KEY_MAX];
	char object[RBAC_NAME_MAX + 16], id[17];
	struct buf *b = NULL;
	json_t *f = NULL;
	int r;

	if ((r = rbac_target_get(t, op->target, &tg)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			snprintf(op->errmsg, op->len, "no target %s",
			    op->target);
		return r;
	}
	rbac_target_free(tg);
	/* Tokens nobody used and expired credentials go as new ones come. */
	if ((r = sweep(t, NULL, op->now)) != 0)
		return r;
	hex_encode(op->hash, 8, id);
	snprintf(object, sizeof(object), "target:%s", op->target);
	r = TSS_E_NOMEM;
	if ((b = buf_new()) == NULL ||
	    (f = json_pack("{s:s, s:I, s:s}", "target", op->target,
	    "expires_at", (json_int_t)op->expires_at, "token_id", id)) == NULL)
		goto out;
	if ((r = rec_begin(b, REC_HOST_TOKEN, REC_HOST_V)) != 0 ||
	    (r = buf_put_cstring(b, op->target)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)op->expires_at)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)op->now)) != 0 ||
	    (r = store_put(t, STORE_DB_META, key, meta_key(key, KEY_TOK,
	    op->hash), buf_ptr(b), buf_len(b), 0)) != 0)
		goto out;
	r = audit_record(t, &by, "target.token", object, "ok", f, op->now,
	    NULL);
 out:
	json_decref(f);
	buf_free(b);
	return r;
}

int
hosts_token_create(struct broker *b, const struct caller *c,
    const char *target, int64_t ttl, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	struct token_op op = { .c = c, .target = target, .now = now,
	    .errmsg = errmsg, .len = len };
	char text[SECRET_LEN + 1];
	uint8_t hash[SHA256_LEN];
	json_t *o;
	int r;

	*out = NULL;
	if (broker_need(c, RBAC_PERM_TARGETS_WRITE) != 0) {
		snprintf(errmsg, len, "a join token needs targets:write");
		return TSS_E_FORBIDDEN;
	}
	if (ttl < 1 || ttl > HOSTS_TOKEN_TTL_MAX) {
		snprintf(errmsg, len, "ttl: 1 to %d seconds",
		    HOSTS_TOKEN_TTL_MAX);
		return TSS_E_VALIDATION;
	}
	if ((r = secret_new(HOSTS_TOKEN_PREFIX, text, hash)) != 0)
		return r;
	op.hash = hash;
	op.expires_at = now + ttl;
	/* The answer first: nothing may fail after the token is stored. */
	if ((o = json_pack("{s:s, s:s, s:I}", "token", text, "target", target,
	    "expires_at", (json_int_t)op.expires_at)) == NULL)
		r = TSS_E_NOMEM;
	else if ((r = commit_run(b->commits, token_fn, &op)) == 0)
		*out = o;
	else
		json_decref(o);
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

/* ---- joins and renewals ---- */

static void
sign_clear(struct sign_op *op)
{
	free(op->target);
	free(op->line);
	free(op->principals);
	rbac_target_free(op->tg);
	json_decref(op->out);
	op->out = NULL;
	op->target = op->line = NULL;
	op->principals = NULL;
	op->tg = NULL;
	op->n_principals = 0;
}

static int
has_host(const struct rbac_target *tg, const char *h)
{
	size_t i;

	for (i = 0; i < tg->n_hosts; i++)
		if (strcmp(tg->hosts[i], h) == 0)
			return 1;
	return 0;
}

/*
 * The principals: every host of the target (want NULL), or those of want
 * (n entries), each of which must be one of the target's.  strict: a
 * name the target lacks is refused (a join); else it is left out (a
 * renewal after the admin dropped it).
 */
static int
pick_hosts(struct sign_op *op, const char *const *want, size_t n, int strict)
{
	const struct rbac_target *tg = op->tg;
	size_t i, j;

	if (tg->n_hosts == 0) {
		snprintf(op->errmsg, op->len, "target %s has no hosts",
		    tg->name);
		return TSS_E_VALIDATION;
	}
	if (want == NULL) {
		want = (const char *const *)tg->hosts;
		n = tg->n_hosts;
	}
	if ((op->principals = mem_calloc(n + 1, sizeof(char *))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < n; i++) {
		if (!has_host(tg, want[i])) {
			if (!strict)
				continue;
			snprintf(op->errmsg, op->len, "%s is not one of "
			    "target %s's hosts", want[i], tg->name);
			return TSS_E_FORBIDDEN;
		}
		for (j = 0; j < op->n_principals; j++)
			if (strcmp(op->principals[j], want[i]) == 0)
				break;
		if (j == op->n_principals)
			op->principals[op->n_principals++] = want[i];
	}
	if (op->n_principals == 0) {
		snprintf(op->errmsg, op->len, "none of the hosts this "
		    "credential was issued for is target %s's any more: join "
		    "again", tg->name);
		return TSS_E_FORBIDDEN;
	}
	return 0;
}

/* Sign the host certificate of op->key for op->tg's picked hosts, with a
 * serial from t. */
static int
sign_host(struct store_txn *t, struct sign_op *op)
{
	struct cert_request req;
	struct buf *cert = NULL;
	int r;

	if ((r = certs_serial_claim(t, op->now, &op->serial)) != 0 ||
	    (r = cert_validity((uint64_t)op->now,
	    (uint64_t)op->b->cfg.host_cert_ttl, &op->va, &op->vb)) != 0)
		return r;
	memset(&req, 0, sizeof(req));
	req.type = CERT_HOST;
	req.key = op->key;
	req.serial = op->serial;
	req.username = op->tg->name;
	req.principals = op->principals;
	req.nprincipals = op->n_principals;
	req.valid_after = op->va;
	req.valid_before = op->vb;
	if ((r = cert_sign(op->b->host_ca, &req, &cert)) != 0 ||
	    (r = cert_to_line(buf_ptr(cert), buf_len(cert), NULL,
	    &op->line)) != 0)
		goto out;
	if ((op->target = mem_strdup(op->tg->name)) == NULL)
		r = TSS_E_NOMEM;
 out:
	buf_free(cert);
	return r;
}

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/*
 * The answer to a join or renewal, made inside the transaction so that
 * nothing can fail once it has committed (a host told "no" keeps its
 * token).
 */
static int
sign_answer(struct sign_op *op)
{
	if ((op->out = json_pack("{s:s, s:I, s:s, s:o, s:I, s:I}",
	    "certificate", op->line, "serial", (json_int_t)op->serial,
	    "target", op->target, "principals", strv_json(op->principals,
	    op->n_principals), "valid_after", (json_int_t)op->va,
	    "valid_before", (json_int_t)op->vb)) == NULL ||
	    (op->cred_text != NULL && json_object_set_new(op->out,
	    "credential", json_string(op->cred_text)) != 0))
		return TSS_E_NOMEM;
	return 0;
}

static int
sign_audit(struct store_txn *t, struct sign_op *op, const char *action)
{
	char actor[RBAC_NAME_MAX + 8], object[RBAC_NAME_MAX + 16];
	struct audit_actor by = { actor, op->rq->remote_addr,
	    op->rq->request_id };
	json_t *f, *p;
	size_t i;
	int r = TSS_E_NOMEM;

	snprintf(actor, sizeof(actor), "host:%s", op->tg->name);
	snprintf(object, sizeof(object), "target:%s", op->tg->name);
	if ((p = json_array()) == NULL)
		return r;
	for (i = 0; i < op->n_principals; i++)
		if (json_array_append_new(p, json_string(op->principals[i]))
		    != 0) {
			json_decref(p);
			return r;
		}
	if ((f = json_pack("{s:I, s:o, s:s, s:I}", "serial",
	    (json_int_t)op->serial, "principals", p, "fingerprint", op->fp,
	    "valid_before", (json_int_t)op->vb)) == NULL)
		return r;
	r = audit_record(t, &by, action, object, "ok", f, op->now, NULL);
	json_decref(f);
	return r;
}

static int
join_fn(struct store_txn *t, void *arg)
{
	struct sign_op *op = arg;
	struct buf *view = NULL;
	uint8_t key[KEY_MAX];
	const void *v;
	uint64_t until = 0;
	size_t vl, kl = meta_key(key, KEY_TOK, op->secret);
	char *target = NULL;
	int r;

	sign_clear(op);
	if ((r = store_get(t, STORE_DB_META, key, kl, &v, &vl)) != 0) {
		r = r == TSS_E_NOT_FOUND ? TSS_E_INVALID_CREDENTIALS : r;
		goto out;
	}
	if ((r = rec_target(v, vl, REC_HOST_TOKEN, &view, &target)) != 0 ||
	    (r = buf_get_u64(view, &until)) != 0)
		goto out;
	r = TSS_E_INVALID_CREDENTIALS;
	if ((int64_t)until <= op->now)
		goto out;
	if ((r = rbac_target_get(t, target, &op->tg)) != 0) {
		r = r == TSS_E_NOT_FOUND ? TSS_E_INVALID_CREDENTIALS : r;
		goto out;
	}
	if ((r = pick_hosts(op, op->rq->hosts, op->rq->n_hosts, 1)) != 0 ||
	    (r = sign_host(t, op)) != 0)
		goto out;
	/* Spent in the transaction that records what it bought. */
	if ((r = store_del(t, STORE_DB_META, key, kl)) != 0 ||
	    (r = cred_put(t, op->cred, op, op->rq->hosts != NULL ?
	    op->principals : NULL, op->n_principals)) != 0)
		goto out;
	if ((r = sign_audit(t, op, "host.join")) == 0)
		r = sign_answer(op);
 out:
	buf_free(view);
	free(target);
	return r;
}

static int
renew_fn(struct store_txn *t, void *arg)
{
	struct sign_op *op = arg;
	const char *const *hosts;
	struct cred c;
	int r;

	sign_clear(op);
	if ((r = cred_get(t, op->secret, op->now, &c)) != 0)
		return r;
	hosts = c.all ? NULL : (const char *const *)c.hosts;
	if (strcmp(c.fingerprint, op->fp) != 0) {
		snprintf(op->errmsg, op->len, "public_key: not the host key "
		    "this credential was issued for");
		r = TSS_E_FORBIDDEN;
		goto out;
	}
	if ((r = rbac_target_get(t, c.target, &op->tg)) != 0) {
		r = r == TSS_E_NOT_FOUND ? TSS_E_INVALID_CREDENTIALS : r;
		goto out;
	}
	if ((r = pick_hosts(op, hosts, c.n_hosts, 0)) != 0 ||
	    (r = sign_host(t, op)) != 0 ||
	    (r = cred_put(t, op->secret, op, hosts, c.n_hosts)) != 0)
		goto out;
	if ((r = sign_audit(t, op, "host.renew")) == 0)
		r = sign_answer(op);
 out:
	cred_clear(&c);
	return r;
}

static int
sign_run(struct broker *b, const struct hosts_req *rq, int join, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	struct sign_op op;
	struct sshkey *key = NULL;
	char fp[SSHKEY_FP_MAX], cred[SECRET_LEN + 1];
	uint8_t sh[SHA256_LEN], ch[SHA256_LEN];
	int r;

	*out = NULL;
	memset(&op, 0, sizeof(op));
	explicit_bzero(cred, sizeof(cred));
	if (b->host_ca == NULL) {
		snprintf(errmsg, len, BROKER_NO_HOST_CA);
		return TSS_E_UNAVAILABLE;
	}
	if ((r = secret_hash(join ? HOSTS_TOKEN_PREFIX : HOSTS_CRED_PREFIX,
	    rq->secret, sh)) != 0)
		goto out;
	if (rq->public_key == NULL || (r = sshkey_parse_line(rq->public_key,
	    strlen(rq->public_key), &key, NULL)) != 0) {
		snprintf(errmsg, len, "public_key: the host's public key line "
		    "(ssh_host_ed25519_key.pub)");
		r = r != 0 ? r : TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	if ((r = sshkey_fingerprint(key, fp)) != 0 ||
	    (join && (r = secret_new(HOSTS_CRED_PREFIX, cred, ch)) != 0))
		goto out;
	op.b = b;
	op.rq = rq;
	op.key = key;
	op.fp = fp;
	op.secret = sh;
	op.cred = ch;
	op.cred_text = join ? cred : NULL;
	op.now = now;
	op.errmsg = errmsg;
	op.len = len;
	if ((r = commit_run(b->commits, join ? join_fn : renew_fn, &op)) != 0)
		goto out;
	*out = op.out;
	op.out = NULL;
 out:
	if (r == TSS_E_INVALID_CREDENTIALS)
		snprintf(errmsg, len, HOSTS_BAD_SECRET);
	sign_clear(&op);
	sshkey_free(key);
	OPENSSL_cleanse(cred, sizeof(cred));
	return r;
}

int
hosts_join(struct broker *b, const struct hosts_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	return sign_run(b, rq, 1, now, out, errmsg, len);
}

int
hosts_renew(struct broker *b, const struct hosts_req *rq, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	return sign_run(b, rq, 0, now, out, errmsg, len);
}

/* ---- what hosts and engineers read ---- */

static json_t *
target_json(const struct rbac_target *tg, const char *const *logins,
    size_t n)
{
	return json_pack("{s:s, s:o, s:o, s:i}", "target", tg->name,
	    "logins", strv_json(logins, n), "hosts",
	    strv_json((const char *const *)tg->hosts, tg->n_hosts), "port",
	    tg->port != 0 ? tg->port : 22);
}

int
hosts_self(struct broker *b, const char *credential, int64_t now,
    json_t **out)
{
	struct store_txn *t = NULL;
	struct rbac_target *tg = NULL;
	uint8_t h[SHA256_LEN];
	char **logins = NULL;
	size_t n = 0, i;
	struct cred c;
	int r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if ((r = secret_hash(HOSTS_CRED_PREFIX, credential, h)) != 0 ||
	    (r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = cred_get(t, h, now, &c)) != 0)
		goto out;
	if ((r = rbac_target_get(t, c.target, &tg)) != 0) {
		r = r == TSS_E_NOT_FOUND ? TSS_E_INVALID_CREDENTIALS : r;
		goto out;
	}
	if ((r = rbac_target_logins(t, c.target, &logins, &n)) != 0)
		goto out;
	r = (*out = target_json(tg, (const char *const *)logins, n)) != NULL ?
	    0 : TSS_E_NOMEM;
 out:
	for (i = 0; i < n; i++)
		free(logins[i]);
	free(logins);
	rbac_target_free(tg);
	cred_clear(&c);
	store_abort(t);
	return r;
}

int
hosts_route(struct broker *b, const struct caller *c, const char *target,
    int64_t now, json_t **out, char *errmsg, size_t len)
{
	struct rbac_snap *snap = NULL;
	struct rbac_access *acc = NULL;
	const struct rbac_access_entry *e = NULL;
	struct store_txn *t = NULL;
	struct rbac_target *tg = NULL;
	char *gw = NULL;
	size_t i;
	int r;

	*out = NULL;
	if ((r = rbac_acquire(b->rbac, &snap)) != 0 ||
	    (r = rbac_access(snap, c->username, (const char *const *)c->groups,
	    c->n_groups, now, &acc)) != 0)
		goto out;
	for (i = 0; i < acc->n && e == NULL; i++)
		if (strcmp(acc->entries[i].target, target) == 0)
			e = &acc->entries[i];
	r = TSS_E_FORBIDDEN;
	if (e == NULL) {
		snprintf(errmsg, len, "no role grants %s a login on %s",
		    c->username, target);
		goto out;
	}
	if ((r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = rbac_target_get(t, target, &tg)) != 0)
		goto out;
	/* An explicit gateway wins; a target without one or hosts goes
	 * through the gateway that reports it. */
	if (tg->gateway == NULL && tg->n_hosts == 0 && (r = routes_gateway(t,
	    target, now, &gw, errmsg, len)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((*out = target_json(tg, e->logins, e->n_logins)) == NULL ||
	    json_object_set_new(*out, "gateway", tg->gateway != NULL ?
	    json_string(tg->gateway) : gw != NULL ? json_string(gw) :
	    json_null()) != 0)
		goto out;
	r = 0;
 out:
	free(gw);
	if (r != 0) {
		json_decref(*out);
		*out = NULL;
	}
	store_abort(t);
	rbac_target_free(tg);
	rbac_access_free(acc);
	rbac_snap_release(snap);
	return r;
}
