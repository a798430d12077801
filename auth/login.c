/*
 * The authentication context and the login use case.  See login.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/digest.h"
#include "common/err.h"
#include "common/log.h"
#include "store/store.h"
#include "audit/audit.h"
#include "auth/enroll.h"
#include "auth/internal.h"
#include "auth/login.h"
#include "auth/ratelimit.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "auth/user.h"

#define GHOST_SLOTS	8192	/* unknown names whose failures are kept */
#define GHOST_PROBE	8

/*
 * Failure counters of a name that is not an account.  Without them an
 * account answered 429 from its fifth failure while an unknown name
 * stayed 401 forever, which told anyone which names exist.
 */
struct ghost {
	uint8_t key[SHA256_LEN];	/* HMAC-SHA256(ghost_seed, name) */
	uint8_t used;
	int locked;
	uint32_t failures;
	int64_t throttle_until;
	int64_t last;			/* last attempt; eviction order */
};

struct auth_ctx {
	struct store *store;
	uint8_t key[SECRETBOX_KEY_LEN];
	struct auth_config cfg;
	char *issuer;
	struct password_hasher *hasher;
	struct ratelimit *rl;
	struct ratelimit *enroll_rl;
	pthread_mutex_t ghost_mu;
	int ghost_mu_ok;
	uint8_t ghost_seed[32];
	struct ghost *ghosts;		/* GHOST_SLOTS */
};

void
auth_config_defaults(struct auth_config *c)
{
	memset(c, 0, sizeof(*c));
	c->password.m_kib = PASSWORD_DEFAULT_M_KIB;
	c->password.t_cost = PASSWORD_DEFAULT_T;
	c->password.parallelism = PASSWORD_DEFAULT_P;
	/* A login arriving while N hash waits a little, not forever. */
	c->limits.wait_ms = 2000;
	c->totp_window = 1;
	c->session_idle = SESSION_IDLE_DEFAULT;
	c->session_max = SESSION_MAX_DEFAULT;
	c->issuer = "Tessera";
	c->rate_burst = 20;
	c->rate_interval = 3;
	c->rate_slots = 4096;
	c->enroll_rate_burst = 100;
	c->enroll_rate_interval = 1;
	c->throttle_after = 5;
	c->lock_after = 100;
	c->throttle_max = 15 * 60;
}

int
auth_ctx_new(struct store *s, const uint8_t key[SECRETBOX_KEY_LEN],
    const struct auth_config *config, struct auth_ctx **out)
{
	struct auth_ctx *c = NULL;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (s == NULL || key == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	if (config != NULL)
		c->cfg = *config;
	else
		auth_config_defaults(&c->cfg);
	if (c->cfg.totp_window > TOTP_WINDOW_MAX ||
	    c->cfg.session_idle <= 0 || c->cfg.session_max <= 0 ||
	    c->cfg.throttle_after == 0 ||
	    c->cfg.lock_after < c->cfg.throttle_after ||
	    c->cfg.throttle_max <= 0) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	if ((c->issuer = strdup(c->cfg.issuer != NULL ? c->cfg.issuer :
	    "Tessera")) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	c->cfg.issuer = c->issuer;
	c->store = s;
	memcpy(c->key, key, sizeof(c->key));
	if ((r = password_hasher_new(&c->cfg.password, &c->cfg.limits,
	    &c->hasher)) != 0)
		goto out;
	password_hasher_params(c->hasher, &c->cfg.password);
	if ((r = ratelimit_new(c->cfg.rate_slots, c->cfg.rate_burst,
	    c->cfg.rate_interval, &c->rl)) != 0 ||
	    (r = ratelimit_new(c->cfg.rate_slots, c->cfg.enroll_rate_burst,
	    c->cfg.enroll_rate_interval, &c->enroll_rl)) != 0)
		goto out;
	if ((c->ghosts = calloc(GHOST_SLOTS, sizeof(*c->ghosts))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (RAND_bytes(c->ghost_seed, sizeof(c->ghost_seed)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if (pthread_mutex_init(&c->ghost_mu, NULL) != 0) {
		r = TSS_E_INTERNAL;
		goto out;
	}
	c->ghost_mu_ok = 1;
	*out = c;
	c = NULL;
	r = 0;
 out:
	auth_ctx_free(c);
	return r;
}

void
auth_ctx_free(struct auth_ctx *c)
{
	if (c == NULL)
		return;
	password_hasher_free(c->hasher);
	ratelimit_free(c->rl);
	ratelimit_free(c->enroll_rl);
	if (c->ghost_mu_ok)
		pthread_mutex_destroy(&c->ghost_mu);
	free(c->ghosts);
	free(c->issuer);
	OPENSSL_clear_free(c, sizeof(*c));
}

const struct auth_config *
auth_ctx_config(const struct auth_ctx *c)
{
	return &c->cfg;
}

struct password_hasher *
auth_ctx_hasher(struct auth_ctx *c)
{
	return c->hasher;
}

struct store *
auth_ctx_store(struct auth_ctx *c)
{
	return c->store;
}

const uint8_t *
auth_ctx_key(const struct auth_ctx *c)
{
	return c->key;
}

int
auth__audit(struct store_txn *t, const struct user_actor *actor,
    const char *actor_name, const char *action, const char *object,
    const char *result, json_t *fields, int64_t now)
{
	struct audit_event ev;
	uint64_t seq = 0;

	memset(&ev, 0, sizeof(ev));
	if (actor_name != NULL)
		ev.actor = actor_name;
	else if (actor != NULL && actor->name != NULL)
		ev.actor = actor->name;
	else
		ev.actor = "local";
	ev.action = action;
	ev.object = object;
	ev.result = result;
	ev.remote_addr = actor != NULL ? actor->remote_addr : NULL;
	ev.request_id = actor != NULL ? actor->request_id : NULL;
	ev.fields = fields;
	return audit_append(t, &ev, now, &seq);
}

void
auth_login_result_clear(struct auth_login_result *res)
{
	OPENSSL_cleanse(res, sizeof(*res));
	res->reason = "";
}

/* Seconds to wait after the given number of consecutive failures. */
static int64_t
throttle_delay(const struct auth_config *cfg, uint32_t failures)
{
	uint32_t e;
	int64_t d;

	if (failures < cfg->throttle_after)
		return 0;
	e = failures - cfg->throttle_after;
	if (e >= 40)
		return cfg->throttle_max;
	d = (int64_t)1 << e;
	return d < cfg->throttle_max ? d : cfg->throttle_max;
}

int
auth__may_try(int locked, int64_t throttle_until, int64_t now,
    const char **reason, int64_t *retry_after)
{
	if (locked) {
		*reason = "locked";
		return TSS_E_LOCKED;
	}
	if (throttle_until > now) {
		*reason = "throttled";
		*retry_after = throttle_until - now;
		return TSS_E_TOO_MANY_ATTEMPTS;
	}
	return 0;
}

/* One more consecutive failure on these counters: throttle, then lock. */
static void
count_failure(const struct auth_config *cfg, uint32_t *failures, int *locked,
    int64_t *throttle_until, int64_t now)
{
	if (*failures < UINT32_MAX)
		(*failures)++;
	if (*failures >= cfg->lock_after)
		*locked = 1;
	else if (*failures >= cfg->throttle_after)
		*throttle_until = now + throttle_delay(cfg, *failures);
}

void
auth__count_failure(const struct auth_config *cfg, struct user *u,
    int64_t now)
{
	count_failure(cfg, &u->failures, &u->locked, &u->throttle_until, now);
}

/*
 * The counters of a name that is not an account, kept in memory by the
 * same rules as an account's (count_failure, auth__may_try), so that the
 * answers for the two cannot be told apart.  Slots are keyed by an HMAC of
 * the name under a per-context random seed, so nobody can aim names at one
 * probe window; when a window is full, the slot tried longest ago is
 * reused.  Forgetting a name that way takes a flood of distinct names
 * (each a failed login, under the per-address limit) through its window,
 * and a restart forgets them all: what an account's counters in the store
 * do not.  *g is the slot, with ghost_mu held; the caller unlocks.
 */
static int
ghost_slot(struct auth_ctx *c, const char *name, int64_t now,
    struct ghost **g)
{
	uint8_t k[SHA256_LEN];
	unsigned int klen = sizeof(k);
	struct ghost *e, *victim = NULL;
	uint32_t h;
	size_t i;

	*g = NULL;
	if (HMAC(sha256_md(), c->ghost_seed, sizeof(c->ghost_seed),
	    (const unsigned char *)name, strlen(name), k, &klen) == NULL)
		return TSS_E_CRYPTO;
	h = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 |
	    (uint32_t)k[2] << 8 | (uint32_t)k[3];
	pthread_mutex_lock(&c->ghost_mu);
	for (i = 0; i < GHOST_PROBE; i++) {
		e = &c->ghosts[(h + i) % GHOST_SLOTS];
		if (e->used && memcmp(e->key, k, sizeof(k)) == 0) {
			*g = e;
			break;
		}
		if (victim == NULL || (victim->used &&
		    (!e->used || e->last < victim->last)))
			victim = e;
	}
	if (*g == NULL) {
		memset(victim, 0, sizeof(*victim));
		memcpy(victim->key, k, sizeof(k));
		victim->used = 1;
		*g = victim;
	}
	(*g)->last = now;
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

/* auth__may_try for a name that is not an account. */
static int
ghost_may_try(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after)
{
	struct ghost *g;
	int r;

	if ((r = ghost_slot(c, name, now, &g)) != 0)
		return r;
	r = auth__may_try(g->locked, g->throttle_until, now, reason,
	    retry_after);
	pthread_mutex_unlock(&c->ghost_mu);
	return r;
}

/*
 * A failed attempt on a name that is not an account: counted as for an
 * account (TSS_E_INVALID_CREDENTIALS, reason "unknown_user"), unless
 * another attempt throttled or locked it meanwhile (refused, not counted).
 */
static int
ghost_fail(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after, uint32_t *failures)
{
	struct ghost *g;
	int r;

	if ((r = ghost_slot(c, name, now, &g)) != 0)
		return r;
	if ((r = auth__may_try(g->locked, g->throttle_until, now, reason,
	    retry_after)) == 0) {
		count_failure(&c->cfg, &g->failures, &g->locked,
		    &g->throttle_until, now);
		*reason = "unknown_user";
		r = TSS_E_INVALID_CREDENTIALS;
	}
	*failures = g->failures;
	pthread_mutex_unlock(&c->ghost_mu);
	return r;
}

/* What the read phase learned about the user. */
struct snapshot {
	int exists;
	int locked;
	int64_t throttle_until;
	char *pw_hash;
};

static void
snapshot_clear(struct snapshot *s)
{
	if (s->pw_hash != NULL)
		OPENSSL_clear_free(s->pw_hash, strlen(s->pw_hash));
	memset(s, 0, sizeof(*s));
}

static int
read_snapshot(struct auth_ctx *c, const char *username, struct snapshot *s)
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = store_begin(c->store, 0, &t)) != 0)
		return r;
	r = user_get(t, username, &u);
	if (r == TSS_E_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	s->exists = 1;
	s->locked = u->locked;
	s->throttle_until = u->throttle_until;
	if (u->pw_hash != NULL && (s->pw_hash = strdup(u->pw_hash)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = 0;
 out:
	user_free(u);
	store_abort(t);
	if (r != 0)
		snapshot_clear(s);
	return r;
}

/*
 * Audit a refusal that changes nothing else, in its own write transaction.
 * object is the username when it is well formed.
 */
static int
audit_only(struct auth_ctx *c, const char *username, int exists,
    const char *reason, const char *remote_addr, const char *request_id,
    int64_t now)
{
	struct store_txn *t = NULL;
	struct user_actor a;
	json_t *f = NULL;
	const char *obj;
	int r;

	obj = user_name_valid(username) == 0 ? username : "(invalid)";
	memset(&a, 0, sizeof(a));
	a.name = exists ? username : "-";
	a.remote_addr = remote_addr;
	a.request_id = request_id;
	if ((f = json_pack("{ss}", "reason", reason)) == NULL)
		return TSS_E_NOMEM;
	if ((r = store_begin(c->store, 1, &t)) != 0)
		goto out;
	if ((r = auth__audit(t, &a, NULL, "login.fail", obj, "denied", f,
	    now)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	json_decref(f);
	return r;
}

/* Index of the recovery code matching hash, or -1; looks at every slot. */
static int
recovery_find(const struct user *u, const uint8_t hash[USER_HASH_LEN])
{
	size_t i;
	int found = -1;

	for (i = 0; i < u->nrecovery; i++)
		if (CRYPTO_memcmp(u->recovery[i], hash, USER_HASH_LEN) == 0)
			found = (int)i;
	return found;
}

/*
 * The code part, inside the write transaction.  Returns 0 and updates u
 * (step or spent recovery code) when the code is good; sets *reason.
 */
static int
check_code(struct auth_ctx *c, struct user *u, const char *code,
    int64_t now, const char **reason, int *used_recovery)
{
	uint8_t *secret = NULL, h[USER_HASH_LEN];
	size_t slen = 0;
	uint64_t step = 0;
	int r, idx;

	*reason = "bad_code";
	*used_recovery = 0;
	if (code == NULL)
		return TSS_E_INVALID_CREDENTIALS;
	if (totp_code_syntax_ok(code)) {
		if (u->totp_box == NULL)
			return TSS_E_INVALID_CREDENTIALS;
		if ((r = secretbox_open(c->key, u->name, strlen(u->name),
		    u->totp_box, u->totp_box_len, &secret, &slen)) != 0) {
			/* A record that does not open is refused, and said. */
			log_error("auth: TOTP secret of %s does not decrypt",
			    u->name);
			*reason = "secret_unreadable";
			return TSS_E_INVALID_CREDENTIALS;
		}
		r = totp_verify(secret, slen, code, now, c->cfg.totp_window,
		    &step);
		OPENSSL_clear_free(secret, slen);
		if (r != 0)
			return r;
		if (step <= u->last_step) {
			*reason = "replay";
			return TSS_E_INVALID_CREDENTIALS;
		}
		u->last_step = step;
		*reason = "ok";
		return 0;
	}
	*reason = "bad_recovery_code";
	if (enroll_recovery_hash(u->name, code, h) != 0)
		return TSS_E_INVALID_CREDENTIALS;
	if ((idx = recovery_find(u, h)) < 0)
		return TSS_E_INVALID_CREDENTIALS;
	/* Spend it: the last one moves into its slot. */
	memcpy(u->recovery[idx], u->recovery[u->nrecovery - 1], USER_HASH_LEN);
	OPENSSL_cleanse(u->recovery[u->nrecovery - 1], USER_HASH_LEN);
	u->nrecovery--;
	*used_recovery = 1;
	*reason = "ok";
	return 0;
}

int
auth_login(struct auth_ctx *c, const char *username, const char *password,
    size_t pwlen, const char *code, const char *remote_addr,
    const char *request_id, int64_t now, struct auth_login_result *res)
{
	struct snapshot snap;
	struct store_txn *t = NULL;
	struct user *u = NULL;
	struct user_actor a;
	json_t *f = NULL;
	char *newhash = NULL;
	const char *reason = "internal";
	int r, vr, pw_ok = 0, rehash = 0, used_rec = 0, count = 0;
	int64_t ra = 0;

	memset(res, 0, sizeof(*res));
	memset(&snap, 0, sizeof(snap));
	res->reason = "internal";

	/* 1. Per address, before any work. */
	if (ratelimit_take(c->rl, remote_addr, now, &ra) != 0) {
		log_warn("auth: login rate limit for address %s",
		    remote_addr != NULL ? remote_addr : "-");
		res->reason = "rate_limited";
		res->retry_after = ra;
		return TSS_E_TOO_MANY_ATTEMPTS;
	}

	/* 2. What we know of the user, without holding anything. */
	if (username != NULL && user_name_valid(username) == 0 &&
	    (r = read_snapshot(c, username, &snap)) != 0)
		goto out;
	if (snap.exists && (r = auth__may_try(snap.locked,
	    snap.throttle_until, now, &reason, &res->retry_after)) != 0)
		goto refuse;
	if (!snap.exists && username != NULL && (r = ghost_may_try(c,
	    username, now, &reason, &res->retry_after)) != 0) {
		if (r == TSS_E_CRYPTO)
			goto out;
		goto refuse;
	}

	/* 3. The password, outside any transaction; always one hash. */
	if (snap.pw_hash != NULL) {
		vr = password_verify(c->hasher, snap.pw_hash, password, pwlen,
		    &rehash);
	} else
		vr = password_verify_dummy(c->hasher, password, pwlen);
	if (vr == TSS_E_UNAVAILABLE) {
		res->reason = "busy";
		r = TSS_E_UNAVAILABLE;
		goto out;
	}
	if (vr != 0 && vr != TSS_E_INVALID_CREDENTIALS) {
		log_error("auth: password check for %s: %s", username,
		    tss_strerror(vr));
		vr = TSS_E_INVALID_CREDENTIALS;
	}
	pw_ok = vr == 0;
	if (!snap.exists)
		goto ghost;
	if (pw_ok && rehash &&
	    password_hash(c->hasher, password, pwlen, &newhash) != 0)
		newhash = NULL;		/* try again next time */

	/* 4. One write transaction decides and records. */
	if ((r = store_begin(c->store, 1, &t)) != 0)
		goto out;
	if ((r = user_get(t, username, &u)) != 0) {
		if (r != TSS_E_NOT_FOUND)
			goto out;
		/* Deleted since the snapshot: a name like any unknown one. */
		store_abort(t);
		t = NULL;
		goto ghost;
	}
	/* Another attempt may have locked or throttled it meanwhile. */
	if ((r = auth__may_try(u->locked, u->throttle_until, now, &reason,
	    &res->retry_after)) != 0) {
		/* Locked or throttled: refused, and not counted. */
	} else if (!pw_ok || u->pw_hash == NULL ||
	    strcmp(u->pw_hash, snap.pw_hash) != 0) {
		reason = "bad_password";
		r = TSS_E_INVALID_CREDENTIALS;
		count = 1;
	} else if (u->disabled) {
		reason = "disabled";
		r = TSS_E_INVALID_CREDENTIALS;
	} else if (u->state != USER_ACTIVE) {
		reason = "not_enrolled";
		r = TSS_E_NOT_ENROLLED;
	} else if ((r = check_code(c, u, code, now, &reason,
	    &used_rec)) != 0) {
		if (r != TSS_E_INVALID_CREDENTIALS)
			goto out;
		count = 1;
	}

	memset(&a, 0, sizeof(a));
	a.name = username;
	a.remote_addr = remote_addr;
	a.request_id = request_id;
	if (r != 0) {
		if (count)
			auth__count_failure(&c->cfg, u, now);
		res->failures = u->failures;
		if ((f = json_pack("{sssI}", "reason", reason, "failures",
		    (json_int_t)u->failures)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if (u->locked && count)
			json_object_set_new(f, "locked", json_true());
		vr = r;
		if ((count && (r = user_put(t, u)) != 0) ||
		    (r = auth__audit(t, &a, NULL, "login.fail", username,
		    "denied", f, now)) != 0)
			goto out;
		r = store_commit(t);
		t = NULL;
		if (r != 0)
			goto out;
		res->reason = reason;
		r = vr;
		goto out;
	}

	/* Success. */
	u->failures = 0;
	u->throttle_until = 0;
	if (newhash != NULL) {
		OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
		u->pw_hash = newhash;
		newhash = NULL;		/* transferred */
	}
	if ((r = user_put(t, u)) != 0 ||
	    (r = session_create(t, username, remote_addr, now,
	    c->cfg.session_idle, c->cfg.session_max, res->token, res->csrf,
	    &res->expires_at)) != 0)
		goto out;
	if ((f = json_pack("{ss}", "method", used_rec ? "recovery" :
	    "totp")) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = auth__audit(t, &a, NULL, "login.ok", username, "ok", f,
	    now)) != 0)
		goto out;
	if (used_rec) {
		json_decref(f);
		if ((f = json_pack("{sI}", "remaining",
		    (json_int_t)u->nrecovery)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = auth__audit(t, &a, NULL, "recovery.use", username,
		    "ok", f, now)) != 0)
			goto out;
	}
	r = store_commit(t);
	t = NULL;
	if (r != 0)
		goto out;
	res->used_recovery = used_rec;
	res->recovery_left = u->nrecovery;
	res->reason = "ok";
	r = 0;
	goto out;

 ghost:
	reason = "unknown_user";
	r = TSS_E_INVALID_CREDENTIALS;
	if (username != NULL && (r = ghost_fail(c, username, now, &reason,
	    &res->retry_after, &res->failures)) == TSS_E_CRYPTO)
		goto out;
 refuse:
	/* Refusals decided before the write transaction: audit only. */
	res->reason = reason;
	vr = r;
	if ((r = audit_only(c, username, snap.exists, reason, remote_addr,
	    request_id, now)) != 0)
		goto out;
	r = vr;
 out:
	if (r != 0 && r != TSS_E_INVALID_CREDENTIALS &&
	    r != TSS_E_TOO_MANY_ATTEMPTS && r != TSS_E_LOCKED &&
	    r != TSS_E_NOT_ENROLLED && r != TSS_E_UNAVAILABLE)
		res->reason = "internal";
	if (r != 0) {
		OPENSSL_cleanse(res->token, sizeof(res->token));
		OPENSSL_cleanse(res->csrf, sizeof(res->csrf));
	}
	store_abort(t);
	json_decref(f);
	user_free(u);
	snapshot_clear(&snap);
	if (newhash != NULL)
		OPENSSL_clear_free(newhash, strlen(newhash));
	return r;
}

int
auth_enroll_rate(struct auth_ctx *c, const char *remote_addr, int64_t now,
    int64_t *retry_after)
{
	return ratelimit_take(c->enroll_rl, remote_addr, now, retry_after);
}

int
auth_logout(struct auth_ctx *c, const char *token, const char *remote_addr,
    int64_t now)
{
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(c->store, 1, &t)) != 0)
		return r;
	if ((r = session_end(t, token, remote_addr, now)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	return r;
}

/* The user behind a session may still use it. */
/* The session's user, if it may still act; *u is NULL on error. */
static int
session_user(struct store_txn *t, const char *username, struct user **u)
{
	int r;

	if ((r = user_get(t, username, u)) != 0 || (*u)->disabled ||
	    (*u)->state != USER_ACTIVE) {
		if (r == 0 || r == TSS_E_NOT_FOUND)
			r = TSS_E_UNAUTHENTICATED;
		user_free(*u);
		*u = NULL;
	}
	return r;
}

/*
 * Every authenticated request comes here, so the common case reads only
 * (session_peek in a read transaction) and stays off the writer lock,
 * which group commits hold through their sync.  The write transaction is
 * taken when the use must be recorded (SESSION_TOUCH_EVERY) or an expired
 * session deleted.
 */
int
auth_session(struct auth_ctx *c, const char *token, int64_t now,
    struct session **out, struct user **user)
{
	struct store_txn *t = NULL;
	struct session *s = NULL;
	struct user *u = NULL;
	int r, touch = 0;

	*out = NULL;
	if (user != NULL)
		*user = NULL;
	if ((r = store_begin(c->store, 0, &t)) != 0)
		return r;
	r = session_peek(t, token, now, c->cfg.session_idle,
	    c->cfg.session_max, &s, &touch);
	if (r == 0 && !touch) {
		if ((r = session_user(t, s->username, &u)) != 0)
			goto out;
		goto done;
	}
	store_abort(t);
	t = NULL;
	session_free(s);
	s = NULL;
	if (r != 0 && !touch)
		goto out;

	/* Record the use, or delete the expired session. */
	if ((r = store_begin(c->store, 1, &t)) != 0)
		goto out;
	r = session_lookup(t, token, now, c->cfg.session_idle,
	    c->cfg.session_max, &s);
	if (r == TSS_E_UNAUTHENTICATED) {
		/* Keep the deletion of an expired session. */
		if ((r = store_commit(t)) == 0)
			r = TSS_E_UNAUTHENTICATED;
		t = NULL;
		goto out;
	}
	if (r != 0 || (r = session_user(t, s->username, &u)) != 0)
		goto out;
	if ((r = store_commit(t)) != 0) {
		t = NULL;
		goto out;
	}
	t = NULL;
 done:
	*out = s;
	s = NULL;
	if (user != NULL) {
		*user = u;
		u = NULL;
	}
	r = 0;
 out:
	store_abort(t);
	session_free(s);
	user_free(u);
	return r;
}

int
auth_change_password(struct auth_ctx *c, const char *username,
    const char *current, size_t curlen, const char *newpw, size_t newlen,
    const char *remote_addr, int64_t now)
{
	struct snapshot snap;
	struct store_txn *t = NULL;
	struct user *u = NULL;
	struct user_actor a;
	json_t *f = NULL;
	char *hash = NULL;
	size_t ended = 0;
	int r;

	memset(&snap, 0, sizeof(snap));
	if ((r = password_check_rules(username, newpw, newlen)) != 0)
		return r;
	if (user_name_valid(username) != 0)
		return TSS_E_INVALID_CREDENTIALS;
	if ((r = read_snapshot(c, username, &snap)) != 0)
		goto out;
	if (snap.pw_hash == NULL) {
		if ((r = password_verify_dummy(c->hasher, current,
		    curlen)) == 0)
			r = TSS_E_INVALID_CREDENTIALS;
		goto out;
	}
	if ((r = password_verify(c->hasher, snap.pw_hash, current, curlen,
	    NULL)) != 0 ||
	    (r = password_hash(c->hasher, newpw, newlen, &hash)) != 0)
		goto out;
	if ((r = store_begin(c->store, 1, &t)) != 0 ||
	    (r = user_get(t, username, &u)) != 0)
		goto out;
	if (u->pw_hash == NULL || strcmp(u->pw_hash, snap.pw_hash) != 0 ||
	    u->state != USER_ACTIVE || u->disabled || u->locked) {
		r = TSS_E_INVALID_CREDENTIALS;
		goto out;
	}
	OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
	u->pw_hash = hash;
	hash = NULL;		/* transferred */
	if ((r = user_put(t, u)) != 0 ||
	    (r = session_end_all_for_user(t, username, &ended)) != 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.name = username;
	a.remote_addr = remote_addr;
	if ((f = json_pack("{sI}", "sessions_ended", (json_int_t)ended)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = auth__audit(t, &a, NULL, "password.change", username, "ok",
	    f, now)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	json_decref(f);
	user_free(u);
	snapshot_clear(&snap);
	if (hash != NULL)
		OPENSSL_clear_free(hash, strlen(hash));
	return r;
}
