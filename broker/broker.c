/* tesserad use cases: each opens a transaction, decides, audits, commits. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/ratelimit.h"
#include "auth/secretbox.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "backup.h"
#include "broker.h"
#include "callers.h"
#include "audit/audit.h"
#include "sshca/cakey.h"
#include "sshca/krl.h"
#include "sshca/sshkey.h"
#include "certs.h"
#include "commit.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "store/store.h"

_Static_assert(STORE_FPR_LEN == SHA256_LEN &&
    STORE_FPR_LEN == SECRETBOX_CHECK_LEN, "identity fingerprint sizes");

/* The fingerprints tessera init records (the id is the store's). */
static int
key_identity(const struct cakey *ca, const uint8_t *master_key,
    struct store_identity *idn)
{
	const uint8_t *blob;
	size_t len = 0;
	int r;

	memset(idn, 0, sizeof(*idn));
	if ((blob = sshkey_blob(cakey_public(ca), &len)) == NULL)
		return TSS_E_INTERNAL;
	if ((r = sha256(blob, len, idn->ca_fpr)) != 0 ||
	    (r = secretbox_key_check(master_key, idn->key_check)) != 0)
		OPENSSL_cleanse(idn, sizeof(*idn));
	return r;
}

int
broker_store_create(const char *loc, const struct store_opts *base,
    const struct cakey *ca, const uint8_t *master_key, struct store **out)
{
	struct store_identity idn;
	struct store_opts so;
	int r;

	*out = NULL;
	if ((r = key_identity(ca, master_key, &idn)) != 0)
		return r;
	if (base != NULL)
		so = *base;
	else
		memset(&so, 0, sizeof(so));
	so.mode = STORE_OPEN_CREATE;
	so.identity = &idn;
	r = store_open(loc, &so, out);
	OPENSSL_cleanse(&idn, sizeof(idn));
	return r;
}

int
broker_exit_status(int r, int dflt)
{
	switch (r) {
	case TSS_E_NO_STORE:
		return BROKER_EXIT_NO_STORE;
	case TSS_E_STORE_EMPTY:
		return BROKER_EXIT_STORE_EMPTY;
	case TSS_E_STORE_TRUNCATED:
		return BROKER_EXIT_STORE_TRUNCATED;
	case TSS_E_CORRUPT:
		return BROKER_EXIT_STORE_CORRUPT;
	case TSS_E_NOT_A_STORE:
	case TSS_E_SCHEMA_TOO_NEW:
		return BROKER_EXIT_NOT_A_STORE;
	case TSS_E_KEY_MISMATCH:
		return BROKER_EXIT_KEY_MISMATCH;
	case TSS_E_IN_USE:
		return BROKER_EXIT_IN_USE;
	default:
		return dflt;
	}
}

/*
 * The keys must be the ones the store was made with: with another master
 * key no TOTP secret opens, so correct logins would fail and count toward
 * lockout; another CA key means another instance's store.  The CA is
 * checked first: when both differ, that is what happened.  A store made
 * before stores recorded their keys (one with users) records them now.
 */
static int
check_identity(struct broker *b, const uint8_t *master_key, const char **what)
{
	struct store_identity want, have;
	int r;

	memset(&have, 0, sizeof(have));
	if ((r = key_identity(b->ca, master_key, &want)) != 0)
		return r;
	*what = broker_store_name(&b->cfg);
	if ((r = store_identity_get(b->store, &have)) == TSS_E_NOT_FOUND) {
		if ((r = store_identity_adopt(b->store, &want)) == 0)
			log_warn("%s: a store from before stores recorded "
			    "their keys: the fingerprints of %s and %s are "
			    "recorded now, and every start is checked against "
			    "them", broker_store_name(&b->cfg), b->cfg.ca_key,
			    b->cfg.master_key);
		goto out;
	}
	if (r != 0)
		goto out;
	if (CRYPTO_memcmp(have.ca_fpr, want.ca_fpr, sizeof(want.ca_fpr))
	    != 0) {
		*what = b->cfg.ca_key;
		r = TSS_E_KEY_MISMATCH;
	} else if (CRYPTO_memcmp(have.key_check, want.key_check,
	    sizeof(want.key_check)) != 0) {
		*what = b->cfg.master_key;
		r = TSS_E_KEY_MISMATCH;
	}
 out:
	OPENSSL_cleanse(&want, sizeof(want));
	OPENSSL_cleanse(&have, sizeof(have));
	return r;
}

int
broker_open(struct config *cfg, struct broker **out, char *err, size_t errlen)
{
	struct broker *b;
	struct store_opts so;
	struct auth_config ac;
	uint8_t key[SECRETBOX_KEY_LEN];
	char path[4096], pw[BROKER_SECRET_MAX];
	const char *what = "memory";
	int r = TSS_E_NOMEM;

	*out = NULL;
	if ((b = mem_calloc(1, sizeof(*b))) == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return TSS_E_NOMEM;
	}
	b->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));	/* transferred */
	if ((r = broker_store_opts(&b->cfg, &so, pw, sizeof(pw), err,
	    errlen)) != 0) {
		broker_close(b);
		return r;
	}
	so.mode = STORE_OPEN_EXISTING;		/* only tessera init creates */
	so.lock_owner = "tesserad";
	what = broker_store_name(&b->cfg);
	r = store_open(config_store_location(&b->cfg), &so, &b->store);
	explicit_bzero(pw, sizeof(pw));
	if (r != 0)
		goto fail;
	if ((r = broker_keyfile_check("ca_key", b->cfg.ca_key, err,
	    errlen)) != 0 ||
	    (r = broker_keyfile_check("master_key", b->cfg.master_key, err,
	    errlen)) != 0 ||
	    (b->cfg.audit_key != NULL && (r = broker_keyfile_check(
	    "audit_key", b->cfg.audit_key, err, errlen)) != 0)) {
		broker_close(b);
		return r;
	}
	what = b->cfg.ca_key;
	if ((r = cakey_load(b->cfg.ca_key, &b->ca)) != 0)
		goto fail;
	if (b->cfg.host_ca_key != NULL && (r = broker_host_ca_load(
	    b->cfg.host_ca_key, b->ca, &b->host_ca, err, errlen)) != 0) {
		broker_close(b);
		return r;
	}
	what = b->cfg.master_key;
	if ((r = secretbox_key_load(b->cfg.master_key, key)) != 0)
		goto fail;
	if ((r = check_identity(b, key, &what)) != 0) {
		OPENSSL_cleanse(key, sizeof(key));
		goto fail;
	}
	auth_config_defaults(&ac);
	ac.password.m_kib = (uint32_t)b->cfg.argon2_memory_kib;
	ac.password.t_cost = (uint32_t)b->cfg.argon2_time;
	ac.password.parallelism = (uint32_t)b->cfg.argon2_parallelism;
	ac.limits.max_active = (unsigned)b->cfg.argon2_max_concurrent;
	ac.limits.wait_ms = 2000;
	ac.totp_window = (unsigned)b->cfg.totp_window;
	ac.session_idle = b->cfg.session_idle;
	ac.session_max = b->cfg.session_max;
	ac.issuer = b->cfg.issuer;
	what = "authentication";
	r = auth_ctx_new(b->store, key, &ac, &b->auth);
	OPENSSL_cleanse(key, sizeof(key));
	if (r != 0)
		goto fail;
	what = "policy";
	if ((r = rbac_open(b->store, b->cfg.cert_max_ttl, &b->rbac)) != 0)
		goto fail;
	what = b->cfg.audit_log;
	if ((r = audit_sink_open(b->cfg.audit_log, b->store, &b->sink)) != 0)
		goto fail;
	what = "data_dir/" AUDIT_CURSOR_FILE;
	if (snprintf(path, sizeof(path), "%s/%s", b->cfg.data_dir,
	    AUDIT_CURSOR_FILE) >= (int)sizeof(path)) {
		r = TSS_E_TOO_LONG;
		goto fail;
	}
	if ((r = audit_sink_cursor(b->sink, path)) != 0)
		goto fail;
	if (b->cfg.audit_key != NULL) {
		what = b->cfg.audit_key;
		if ((r = cakey_load(b->cfg.audit_key, &b->audit_key)) != 0)
			goto fail;
		what = "audit_key (an Ed25519 key is required)";
		r = TSS_E_UNSUPPORTED;
		if (cakey_alg(b->audit_key) != CAKEY_ED25519 ||
		    (r = audit_sink_checkpoints(b->sink, b->audit_key,
		    b->cfg.audit_checkpoint_events,
		    b->cfg.audit_checkpoint_interval)) != 0)
			goto fail;
	} else
		log_info("audit_key is not set: the audit stream carries no "
		    "signed checkpoints, so a rewritten chain would still "
		    "verify (tesserad(8))");
	if ((r = broker_audit_start(b)) != 0)
		goto fail;
	what = "memory";
	pthread_mutex_init(&b->verify_mu, NULL);
	b->verify_init = 1;
	if ((r = callers_new(&b->callers)) != 0 ||
	    (r = ratelimit_new(0, 20, 3, &b->host_rl)) != 0 ||
	    (r = ratelimit_new(0, BROKER_VERIFY_BURST, BROKER_VERIFY_INTERVAL,
	    &b->verify_rl)) != 0 ||
	    (r = commit_queue_new(b->store, broker_audit_wake, b,
	    &b->commits)) != 0 ||
	    (r = serials_new(b->store, &b->serials)) != 0)
		goto fail;
	b->issuer.ca = b->ca;
	b->issuer.rbac = b->rbac;
	b->issuer.commits = b->commits;
	b->issuer.serials = b->serials;
	b->issuer.default_ttl = b->cfg.cert_default_ttl;
	b->issuer.max_ttl = b->cfg.cert_max_ttl;
	b->issuer.session_idle = b->cfg.session_idle;
	b->issuer.session_max = b->cfg.session_max;
	*out = b;
	return 0;
 fail:
	snprintf(err, errlen, "%s: %s", what, tss_strerror(r));
	broker_close(b);
	return r;
}

void
broker_close(struct broker *b)
{
	if (b == NULL)
		return;
	backup_free(b);			/* uses the store and the commits */
	serials_free(b->serials);
	commit_queue_free(b->commits);	/* runs what is queued */
	broker_audit_stop(b);		/* then streams all of it */
	if (b->sink_init) {
		pthread_cond_destroy(&b->sink_cv);
		pthread_mutex_destroy(&b->sink_mu);
	}
	audit_sink_close(b->sink);
	cakey_free(b->audit_key);
	callers_free(b->callers);
	rbac_close(b->rbac);
	auth_ctx_free(b->auth);
	cakey_free(b->ca);
	cakey_free(b->host_ca);
	ratelimit_free(b->host_rl);
	ratelimit_free(b->verify_rl);
	if (b->verify_init)
		pthread_mutex_destroy(&b->verify_mu);
	store_close(b->store);
	config_free(&b->cfg);
	free(b);
}

int
broker_health(struct broker *b)
{
	struct store_txn *t;
	uint64_t v;
	int r;

	if ((r = store_health(b->store)) != 0 ||
	    (r = store_begin(b->store, 0, &t)) != 0)
		return r;
	r = store_counter_get(t, STORE_CTR_AUDIT_SEQ, &v);
	store_abort(t);
	return r;
}

void
caller_clear(struct caller *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->username);
	for (i = 0; i < c->n_groups; i++)
		free(c->groups[i]);
	free(c->groups);
	rbac_snap_release(c->snap);
	memset(c, 0, sizeof(*c));
}

/* The published policy of the session's transaction (auth_session_also):
 * one read transaction for session, user and policy generation. */
struct policy_arg {
	struct rbac *rbac;
	struct rbac_snap *snap;
};

static int
policy_of(struct store_txn *t, void *arg)
{
	struct policy_arg *pa = arg;

	return rbac_current(pa->rbac, t, &pa->snap);
}

/* broker_caller; *until: how long callers_put may remember c. */
static int
caller_load(struct broker *b, const char *token, int64_t now,
    struct caller *c, int64_t *until)
{
	struct policy_arg pa = { b->rbac, NULL };
	struct session *s = NULL;
	struct rbac_snap *snap = NULL;
	struct user *u = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if (token == NULL)
		return TSS_E_UNAUTHENTICATED;
	r = auth_session_also(b->auth, token, now, &s, &u, policy_of, &pa);
	snap = pa.snap;
	if (r != 0) {
		rbac_snap_release(snap);
		return r;
	}
	/* Issuance re-checks in its commit that this session still lives. */
	_Static_assert(sizeof(c->session) == sizeof(s->key), "session key");
	memcpy(c->session, s->key, sizeof(c->session));
	c->has_session = 1;
	*until = s->last_used + SESSION_TOUCH_EVERY;
	if (s->expires_at < *until)
		*until = s->expires_at;
	r = TSS_E_NOMEM;
	if ((c->username = mem_strdup(u->name)) == NULL ||
	    ((c->groups = mem_strvdup((const char *const *)u->groups,
	    u->ngroups)) == NULL && u->ngroups > 0))
		goto out;
	c->n_groups = u->ngroups;
	/* Not published for the generation read: build it, once. */
	if (snap == NULL && (r = rbac_acquire(b->rbac, &snap)) != 0)
		goto out;
	c->perms = rbac_perms(snap, c->username,
	    (const char *const *)c->groups, c->n_groups, now);
	c->snap = snap;
	snap = NULL;
	r = 0;
 out:
	rbac_snap_release(snap);
	user_free(u);
	session_free(s);
	if (r != 0)
		caller_clear(c);
	return r;
}

int
broker_caller(struct broker *b, const char *token, int64_t now,
    struct caller *c)
{
	int64_t until;

	return caller_load(b, token, now, c, &until);
}

int
broker_caller_cached(struct broker *b, const char *token, int64_t now,
    struct caller *c)
{
	uint8_t key[TOKEN_HASH_LEN];
	int64_t until;
	int r;

	memset(c, 0, sizeof(*c));
	if (token != NULL && token_hash(token, key) == 0 &&
	    callers_get(b->callers, key, now, c) == 0) {
		if ((c->snap = rbac_published(b->rbac)) != NULL) {
			c->perms = rbac_perms(c->snap, c->username,
			    (const char *const *)c->groups, c->n_groups, now);
			return 0;
		}
		caller_clear(c);
	}
	if ((r = caller_load(b, token, now, c, &until)) == 0)
		callers_put(b->callers, c, until);
	return r;
}

void
broker_caller_forget(struct broker *b, const uint8_t *session)
{
	callers_forget(b->callers, session);
}

int
broker_need(const struct caller *c, uint32_t perm)
{
	return rbac_perm_has(c->perms, perm) ? 0 : TSS_E_FORBIDDEN;
}

int
broker_me(struct broker *b, const struct caller *c, int64_t now, json_t **out)
{
	struct rbac_snap *snap = NULL;
	struct rbac_access *acc = NULL;
	json_t *o = NULL, *g;
	size_t i;
	int r;

	*out = NULL;
	if ((r = rbac_acquire(b->rbac, &snap)) != 0 ||
	    (r = rbac_access(snap, c->username, (const char *const *)c->groups,
	    c->n_groups, now, &acc)) != 0 ||
	    (r = rbac_me_json(acc, &o)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((g = json_array()) == NULL)
		goto out;
	for (i = 0; i < c->n_groups; i++)
		if (json_array_append_new(g, json_string(c->groups[i])) != 0) {
			json_decref(g);
			goto out;
		}
	if (json_object_set_new(o, "groups", g) != 0 ||
	    json_object_set_new(o, "username", json_string(c->username)) != 0 ||
	    (g = rbac_perms_json(rbac_perms(snap, c->username,
	    (const char *const *)c->groups, c->n_groups, now))) == NULL ||
	    json_object_set_new(o, "permissions", g) != 0)
		goto out;
	/* max_ttl never above the server's cap. */
	if (json_integer_value(json_object_get(o, "max_ttl")) >
	    b->cfg.cert_max_ttl && json_object_set_new(o, "max_ttl",
	    json_integer(b->cfg.cert_max_ttl)) != 0)
		goto out;
	*out = o;
	o = NULL;
	r = 0;
 out:
	json_decref(o);
	rbac_access_free(acc);
	rbac_snap_release(snap);
	return r;
}

int
broker_ca_text(struct broker *b, char **out)
{
	char *line = NULL, *text;
	size_t n;
	int r;

	*out = NULL;
	if ((r = sshkey_to_line(cakey_public(b->ca), "tessera-ca", &line)) != 0)
		return r;
	n = strlen(line);
	if ((text = mem_malloc(n + 2)) == NULL) {
		free(line);
		return TSS_E_NOMEM;
	}
	memcpy(text, line, n);
	text[n] = '\n';
	text[n + 1] = '\0';
	free(line);
	*out = text;
	return 0;
}

int
broker_krl(struct broker *b, int64_t now, uint8_t **out, size_t *len)
{
	struct store_txn *t = NULL;
	struct buf *krl = NULL;
	uint64_t *serials = NULL;
	int64_t changed = 0;
	struct krl_ca ca;
	size_t n = 0;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = certs_revoked_serials(t, now, &serials, &n, &changed)) != 0)
		goto out;
	store_abort(t);
	t = NULL;
	/*
	 * The same bytes while the list is the same, so that a target's
	 * conditional GET costs a 304: version and generation time are the
	 * time of the list's last change, which grows with every change
	 * (revocations and expiries are stamped with the clock).
	 */
	ca.ca = cakey_public(b->ca);
	ca.serials = serials;
	ca.nserials = n;
	if ((r = krl_build(&ca, 1, (uint64_t)changed, (uint64_t)changed,
	    "tessera", &krl)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((*out = mem_malloc(buf_len(krl) ? buf_len(krl) : 1)) == NULL)
		goto out;
	memcpy(*out, buf_ptr(krl), buf_len(krl));
	*len = buf_len(krl);
	r = 0;
 out:
	buf_free(krl);
	free(serials);
	store_abort(t);
	return r;
}

/* Run fn in a write transaction through group commit. */
static int
write_txn(struct broker *b, commit_fn fn, void *arg)
{
	return commit_run(b->commits, fn, arg);
}

static int
parse_serial(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return TSS_E_VALIDATION;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v == 0)
		return TSS_E_VALIDATION;
	*out = v;
	return 0;
}

/* q's filters into f, or TSS_E_VALIDATION naming the bad one. */
static int
certs_query(const struct caller *c, const struct broker_certs_q *q,
    struct certs_filter *f, char *errmsg, size_t len)
{
	uint64_t lim = CERTS_LIST_MAX;

	memset(f, 0, sizeof(*f));
	f->username = q->user != NULL ? q->user : q->all ? NULL : c->username;
	f->target = q->target;
	f->state = q->state;
	if (q->user != NULL && user_name_valid(q->user) != 0)
		snprintf(errmsg, len, "user: not a user name");
	else if (q->target != NULL && rbac_valid_target_name(q->target) != 0)
		snprintf(errmsg, len, "target: not a target name");
	else if (q->state != NULL && strcmp(q->state, "valid") != 0 &&
	    strcmp(q->state, "expired") != 0 &&
	    strcmp(q->state, "revoked") != 0)
		snprintf(errmsg, len, "state: valid, expired or revoked");
	else if (q->before != NULL && parse_serial(q->before, &f->before) != 0)
		snprintf(errmsg, len, "before: a serial number");
	else if (q->limit != NULL && (parse_serial(q->limit, &lim) != 0 ||
	    lim > CERTS_LIST_MAX))
		snprintf(errmsg, len, "limit: 1 to %d", CERTS_LIST_MAX);
	else {
		f->limit = (size_t)lim;
		return 0;
	}
	return TSS_E_VALIDATION;
}

int
broker_certs_list(struct broker *b, const struct caller *c,
    const struct broker_certs_q *q, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	struct store_txn *t = NULL;
	struct certs_filter f;
	json_t *list = NULL;
	uint64_t next = 0;
	int r;

	*out = NULL;
	if ((r = certs_query(c, q, &f, errmsg, len)) != 0)
		return r;
	if ((f.username == NULL || strcmp(f.username, c->username) != 0) &&
	    broker_need(c, RBAC_PERM_USERS_READ) != 0 &&
	    broker_need(c, RBAC_PERM_CERTS_REVOKE) != 0) {
		snprintf(errmsg, len, "listing another user's certificates "
		    "needs users:read");
		return TSS_E_FORBIDDEN;
	}
	if ((r = store_begin(b->store, 0, &t)) != 0)
		return r;
	r = certs_list(t, &f, now, &list, &next);
	store_abort(t);
	if (r != 0)
		return r;
	*out = next != 0 ? json_pack("{s:o, s:I}", "certificates", list, "next",
	    (json_int_t)next) : json_pack("{s:o, s:n}", "certificates", list,
	    "next");
	return *out != NULL ? 0 : TSS_E_NOMEM;
}

struct revoke_arg {
	const struct caller *c;
	uint64_t serial;
	int64_t now;
	char *errmsg;
	size_t len;
};

static int
revoke_fn(struct store_txn *t, void *a)
{
	struct revoke_arg *ra = a;
	struct cert_record rec;
	char object[32];
	json_t *f;
	int r;

	if ((r = certs_get(t, ra->serial, &rec)) != 0)
		return r;
	if (strcmp(rec.username, ra->c->username) != 0 &&
	    broker_need(ra->c, RBAC_PERM_CERTS_REVOKE) != 0) {
		snprintf(ra->errmsg, ra->len, "revoking another user's "
		    "certificate needs certs:revoke");
		cert_record_free(&rec);
		return TSS_E_FORBIDDEN;
	}
	if ((r = certs_revoke(t, ra->serial, ra->now)) != 0) {
		if (r == TSS_E_CONFLICT)
			snprintf(ra->errmsg, ra->len, "already revoked");
		cert_record_free(&rec);
		return r;
	}
	snprintf(object, sizeof(object), "cert:%" PRIu64, ra->serial);
	f = json_pack("{s:I, s:s}", "serial", (json_int_t)ra->serial,
	    "owner", rec.username);
	{
		struct audit_actor by = { ra->c->username, ra->c->remote_addr,
		    ra->c->request_id };

		r = f != NULL ? audit_record(t, &by, "cert.revoke", object, "ok",
		    f, ra->now, NULL) : TSS_E_NOMEM;
	}
	json_decref(f);
	cert_record_free(&rec);
	return r;
}

int
broker_cert_revoke(struct broker *b, const struct caller *c,
    const char *serial, int64_t now, json_t **out, char *errmsg, size_t len)
{
	struct revoke_arg ra = { .c = c, .now = now, .errmsg = errmsg,
	    .len = len };
	int r;

	*out = NULL;
	if (parse_serial(serial, &ra.serial) != 0) {
		snprintf(errmsg, len, "serial: expected a positive integer");
		return TSS_E_VALIDATION;
	}
	if ((r = write_txn(b, revoke_fn, &ra)) != 0)
		return r;
	*out = json_pack("{s:I, s:b}", "serial", (json_int_t)ra.serial,
	    "revoked", 1);
	return *out != NULL ? 0 : TSS_E_NOMEM;
}

int
broker_target_sshd(struct broker *b, const struct caller *c, const char *name,
    char **out)
{
	struct store_txn *t = NULL;
	char **logins = NULL, *ca = NULL, *text = NULL;
	size_t n = 0, i, len = 0;
	FILE *f = NULL;
	int r;

	*out = NULL;
	if (broker_need(c, RBAC_PERM_TARGETS_READ) != 0)
		return TSS_E_FORBIDDEN;
	if ((r = broker_ca_text(b, &ca)) != 0 ||
	    (r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = rbac_target_logins(t, name, &logins, &n)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((f = open_memstream(&text, &len)) == NULL)
		goto out;
	fprintf(f, "# Tessera: sshd for target %s\n"
	    "#\n"
	    "# /etc/ssh/tessera_ca.pub (GET /v1/ca):\n# %s"
	    "# /etc/ssh/tessera.krl: GET /v1/krl, replaced atomically (write a\n"
	    "# temporary file, then rename): sshd refuses every public key\n"
	    "# while its RevokedKeys file is missing or unreadable.\n"
	    "#\n"
	    "# sshd_config:\n"
	    "TrustedUserCAKeys /etc/ssh/tessera_ca.pub\n"
	    "AuthorizedPrincipalsFile /etc/ssh/tessera_principals/%%u\n"
	    "RevokedKeys /etc/ssh/tessera.krl\n"
	    "PubkeyAuthentication yes\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n", name, ca);
	if (n == 0)
		fprintf(f, "#\n# No role grants a login on %s yet.\n", name);
	for (i = 0; i < n; i++)
		fprintf(f, "#\n# /etc/ssh/tessera_principals/%s:\n%s@%s\n",
		    logins[i], logins[i], name);
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	*out = text;
	text = NULL;
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	free(text);
	for (i = 0; i < n; i++)
		free(logins[i]);
	free(logins);
	free(ca);
	store_abort(t);
	return r;
}
