/*
 * A user's own account: password change, recovery codes, sessions.  See
 * account.h; the checks are login.c's (internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
#include "store/store.h"
#include "audit/audit.h"
#include "auth/account.h"
#include "auth/internal.h"
#include "auth/ratelimit.h"
#include "auth/user.h"

/* Audit action's attempt with its result and fields (may be NULL). */
static int
audit_attempt(struct store_txn *t, const struct auth_proof *p,
    const char *action, const char *result, json_t *f)
{
	struct audit_actor a;

	memset(&a, 0, sizeof(a));
	a.name = p->username;
	a.remote_addr = p->remote_addr;
	a.request_id = p->request_id;
	return audit_record(t, &a, action, p->username, result, f, p->now,
	    NULL);
}

/* A refusal decided before the write transaction, in its own. */
static int
refuse_early(struct auth_ctx *c, const struct auth_proof *p,
    const char *action, const char *reason, int verdict)
{
	struct store_txn *t = NULL;
	json_t *f;
	int r;

	if ((f = json_pack("{ss}", "reason", reason)) == NULL)
		return TSS_E_NOMEM;
	if ((r = store_begin(c->store, 1, &t)) == 0 &&
	    (r = audit_attempt(t, p, action, "denied", f)) == 0) {
		r = store_commit(t);
		t = NULL;
	}
	store_abort(t);
	json_decref(f);
	return r != 0 ? r : verdict;
}

/*
 * Prove p->username again: password (when password is not NULL) and a
 * fresh TOTP code.  0: *tp is an open write transaction and *up the user,
 * its counters reset and its new step set (the caller changes, stores,
 * audits and commits).  Otherwise the failure is counted, audited under
 * action and committed, and the outcome returned.  newpw (may be NULL)
 * is hashed into *newhash once the password verified.
 */
static int
prove(struct auth_ctx *c, struct auth_proof *p, const char *action,
    const char *password, size_t pwlen, const char *code, const char *newpw,
    size_t newlen, char **newhash, struct store_txn **tp, struct user **up)
{
	struct auth_snapshot snap;
	struct store_txn *t = NULL;
	struct user *u = NULL;
	json_t *f = NULL;
	const char *reason = "internal";
	int r, vr = 0, used = 0, count = 0;

	*tp = NULL;
	*up = NULL;
	memset(&snap, 0, sizeof(snap));
	if (ratelimit_take(c->rl, p->remote_addr, p->now,
	    &p->retry_after) != 0)
		return refuse_early(c, p, action, "rate_limited",
		    TSS_E_TOO_MANY_ATTEMPTS);
	if (user_name_valid(p->username) != 0)
		return TSS_E_INVALID_CREDENTIALS;
	if ((r = auth__snapshot_read(c, p->username, &snap)) != 0)
		goto out;
	if (!snap.exists) {
		r = TSS_E_INVALID_CREDENTIALS;
		goto out;
	}
	if ((r = auth__may_try(snap.locked, snap.throttle_until, p->now,
	    &reason, &p->retry_after)) != 0) {
		r = refuse_early(c, p, action, reason, r);
		goto out;
	}
	if (password != NULL) {
		vr = snap.pw_hash == NULL ? TSS_E_INVALID_CREDENTIALS :
		    password_verify(c->hasher, snap.pw_hash, password, pwlen,
		    NULL);
		if (vr == TSS_E_UNAVAILABLE || vr == TSS_E_NOMEM) {
			r = vr;
			goto out;
		}
		if (vr == 0 && newpw != NULL && (r = password_hash(c->hasher,
		    newpw, newlen, newhash)) != 0)
			goto out;
	}
	if ((r = store_begin(c->store, 1, &t)) != 0 ||
	    (r = user_get(t, p->username, &u)) != 0)
		goto out;
	if ((r = auth__may_try(u->locked, u->throttle_until, p->now, &reason,
	    &p->retry_after)) != 0) {
		/* Locked or throttled meanwhile: refused, not counted. */
	} else if (password != NULL && (vr != 0 || u->pw_hash == NULL ||
	    snap.pw_hash == NULL || strcmp(u->pw_hash, snap.pw_hash) != 0)) {
		reason = "bad_password";
		r = TSS_E_INVALID_CREDENTIALS;
		count = 1;
	} else if (u->disabled || u->state != USER_ACTIVE) {
		reason = u->disabled ? "disabled" : "not_enrolled";
		r = TSS_E_INVALID_CREDENTIALS;
	} else if ((r = auth__check_code(c, u, code, 0, p->now, &reason,
	    &used)) != 0) {
		if (r != TSS_E_INVALID_CREDENTIALS)
			goto out;
		count = 1;
	}
	if (r == 0) {
		u->failures = 0;
		u->throttle_until = 0;
		*tp = t;
		*up = u;
		t = NULL;
		u = NULL;	/* transferred */
		goto out;
	}
	if (count)
		auth__count_failure(&c->cfg, u, p->now);
	vr = r;
	if ((f = json_pack("{sssI}", "reason", reason, "failures",
	    (json_int_t)u->failures)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((count && (r = user_put(t, u)) != 0) ||
	    (r = audit_attempt(t, p, action, "denied", f)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
	if (r == 0)
		r = vr;
 out:
	if (r != 0 && newhash != NULL && *newhash != NULL) {
		OPENSSL_clear_free(*newhash, strlen(*newhash));
		*newhash = NULL;
	}
	store_abort(t);
	json_decref(f);
	user_free(u);
	auth__snapshot_clear(&snap);
	return r;
}

int
auth_change_password(struct auth_ctx *c, struct auth_proof *p,
    const char *current, size_t curlen, const char *code,
    const char *newpw, size_t newlen)
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	json_t *f = NULL;
	char *hash = NULL;
	size_t ended = 0;
	int r;

	p->retry_after = 0;
	if (current == NULL || newpw == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = password_check_rules(p->username, newpw, newlen)) != 0)
		return r;
	if ((r = prove(c, p, "password.change", current, curlen, code, newpw,
	    newlen, &hash, &t, &u)) != 0)
		return r;
	OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
	u->pw_hash = hash;
	hash = NULL;		/* transferred */
	if ((r = user_put(t, u)) != 0 ||
	    (r = session_end_all_for_user(t, p->username, &ended)) != 0)
		goto out;
	if ((f = json_pack("{sI}", "sessions_ended", (json_int_t)ended)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = audit_attempt(t, p, "password.change", "ok", f)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	json_decref(f);
	user_free(u);
	if (hash != NULL)
		OPENSSL_clear_free(hash, strlen(hash));
	return r;
}

int
auth_recovery_regenerate(struct auth_ctx *c, struct auth_proof *p,
    const char *code,
    char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1])
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	json_t *f = NULL;
	int r;

	p->retry_after = 0;
	OPENSSL_cleanse(codes, USER_RECOVERY_CODES * (RECOVERY_CODE_TEXT + 1));
	if ((r = prove(c, p, "recovery.regenerate", NULL, 0, code, NULL, 0,
	    NULL, &t, &u)) != 0)
		return r;
	if ((f = json_pack("{sI}", "replaced", (json_int_t)u->nrecovery)) ==
	    NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = recovery_fill(u, codes)) != 0 ||
	    (r = user_put(t, u)) != 0 ||
	    (r = audit_attempt(t, p, "recovery.regenerate", "ok", f)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	if (r != 0)
		OPENSSL_cleanse(codes, USER_RECOVERY_CODES *
		    (RECOVERY_CODE_TEXT + 1));
	store_abort(t);
	json_decref(f);
	user_free(u);
	return r;
}

int
auth_sessions(struct auth_ctx *c, const char *username, int64_t now,
    struct session ***out, size_t *n)
{
	struct store_txn *t = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = store_begin(c->store, 0, &t)) != 0)
		return r;
	r = session_list(t, username, now, c->cfg.session_idle,
	    c->cfg.session_max, out, n);
	store_abort(t);
	return r;
}

/* One write transaction around a session change. */
static int
sessions_write(struct auth_ctx *c, const char *username, const uint8_t *key,
    int others, const char *remote_addr, int64_t now, size_t *n)
{
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(c->store, 1, &t)) != 0)
		return r;
	if (others)
		r = session_end_others(t, username, key, remote_addr, now, n);
	else
		r = session_end_key(t, username, key, remote_addr, now);
	if (r == 0) {
		r = store_commit(t);
		t = NULL;
	}
	store_abort(t);
	return r;
}

int
auth_session_end(struct auth_ctx *c, const char *username,
    const uint8_t *key, const char *remote_addr, int64_t now)
{
	return sessions_write(c, username, key, 0, remote_addr, now, NULL);
}

int
auth_sessions_end_others(struct auth_ctx *c, const char *username,
    const uint8_t *keep, const char *remote_addr, int64_t now, size_t *n)
{
	return sessions_write(c, username, keep, 1, remote_addr, now, n);
}
