/*
 * The login use case, logout and session resolution.  See login.h; the
 * password change and recovery codes in account.c, the context in
 * context.c, the throttle in throttle.c.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/digest.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"
#include "audit/audit.h"
#include "auth/enroll.h"
#include "auth/internal.h"
#include "auth/login.h"
#include "auth/ratelimit.h"
#include "auth/recovery.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "auth/user.h"

void
auth_login_result_clear(struct auth_login_result *res)
{
	OPENSSL_cleanse(res, sizeof(*res));
	res->reason = "";
}

void
auth__snapshot_clear(struct auth_snapshot *s)
{
	if (s->pw_hash != NULL)
		OPENSSL_clear_free(s->pw_hash, strlen(s->pw_hash));
	memset(s, 0, sizeof(*s));
}

int
auth__snapshot_read(struct auth_ctx *c, const char *username,
    struct auth_snapshot *s)
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
	if (u->pw_hash != NULL && (s->pw_hash = mem_strdup(u->pw_hash)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	r = 0;
 out:
	user_free(u);
	store_abort(t);
	if (r != 0)
		auth__snapshot_clear(s);
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
	struct audit_actor a;
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
	if ((r = audit_record(t, &a, "login.fail", obj, "denied", f,
	    now, NULL)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	json_decref(f);
	return r;
}

int
auth__check_code(struct auth_ctx *c, struct user *u, const char *code,
    int allow_recovery, int64_t now, const char **reason,
    int *used_recovery)
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
			if (r == TSS_E_NOMEM)
				return r;	/* not the code's fault */
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
	if (!allow_recovery)
		return TSS_E_INVALID_CREDENTIALS;
	*reason = "bad_recovery_code";
	if (recovery_hash(u->name, code, h) != 0)
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
	struct auth_snapshot snap;
	struct store_txn *t = NULL;
	struct user *u = NULL;
	struct audit_actor a;
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
	    (r = auth__snapshot_read(c, username, &snap)) != 0)
		goto out;
	if (snap.exists && (r = auth__may_try(snap.locked,
	    snap.throttle_until, now, &reason, &res->retry_after)) != 0)
		goto refuse;
	if (!snap.exists && username != NULL && (r = auth__ghost_may_try(c,
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
	/* Argon2 could not have its memory: no verdict, nothing counted. */
	if (vr == TSS_E_NOMEM) {
		r = TSS_E_NOMEM;
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
	} else if ((r = auth__check_code(c, u, code, 1, now,
	    &reason, &used_rec)) != 0) {
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
		    (json_int_t)u->failures)) == NULL ||
		    (u->locked && count && json_object_set_new(f, "locked",
		    json_true()) != 0)) {
			r = TSS_E_NOMEM;
			goto out;
		}
		vr = r;
		if ((count && (r = user_put(t, u)) != 0) ||
		    (r = audit_record(t, &a, "login.fail", username,
		    "denied", f, now, NULL)) != 0)
			goto out;
		r = store_commit(t);
		t = NULL;
		if (r != 0)
			goto out;
		res->reason = reason;
		r = vr;
		goto out;
	}

	/* Success, recorded with the session it opens. */
	u->failures = 0;
	u->throttle_until = 0;
	u->last_login = now;
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
	if ((r = audit_record(t, &a, "login.ok", username, "ok", f,
	    now, NULL)) != 0)
		goto out;
	if (used_rec) {
		json_decref(f);
		if ((f = json_pack("{sI}", "remaining",
		    (json_int_t)u->nrecovery)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = audit_record(t, &a, "recovery.use", username,
		    "ok", f, now, NULL)) != 0)
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
	if (username != NULL && (r = auth__ghost_fail(c, username, now, &reason,
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
	auth__snapshot_clear(&snap);
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
	return auth_session_also(c, token, now, out, user, NULL, NULL);
}

int
auth_session_also(struct auth_ctx *c, const char *token, int64_t now,
    struct session **out, struct user **user,
    int (*also)(struct store_txn *, void *), void *arg)
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
		if ((r = session_user(t, s->username, &u)) != 0 ||
		    (also != NULL && (r = also(t, arg)) != 0))
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
	if (r != 0 || (r = session_user(t, s->username, &u)) != 0 ||
	    (also != NULL && (r = also(t, arg)) != 0))
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
