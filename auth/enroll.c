/*
 * Enrollment tokens and the enrollment flow.  See enroll.h; the recovery
 * codes it hands out are recovery.c's.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/record.h"
#include "store/store.h"
#include "auth/enroll.h"
#include "auth/internal.h"
#include "auth/login.h"
#include "auth/password.h"
#include "auth/recovery.h"
#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/totp.h"


struct enrollment {
	char *username;
	int64_t created;
	int64_t expires;
};

static void
enrollment_clear(struct enrollment *e)
{
	free(e->username);
	memset(e, 0, sizeof(*e));
}

static int
enrollment_decode(const void *p, size_t len, struct enrollment *e)
{
	struct buf *v = NULL;
	uint64_t c, x;
	uint8_t ver;
	int r;

	memset(e, 0, sizeof(*e));
	if ((r = rec_open(p, len, ENROLL_REC_TYPE, ENROLL_REC_VERSION, &v,
	    &ver)) != 0)
		return r;
	if ((r = buf_get_cstring(v, &e->username, NULL)) != 0 ||
	    (r = buf_get_u64(v, &c)) != 0 || (r = buf_get_u64(v, &x)) != 0)
		goto out;
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	e->created = (int64_t)c;
	e->expires = (int64_t)x;
	r = 0;
 out:
	if (r != 0)
		enrollment_clear(e);
	buf_free(v);
	return r;
}

int
auth__enroll_issue(struct store_txn *t, const char *username, int64_t now,
    char *token, uint8_t key[32], int64_t *expires_at)
{
	char tok[TOKEN_TEXT_LEN + 1];
	uint8_t k[TOKEN_HASH_LEN];
	struct buf *b = NULL;
	int r;

	*expires_at = 0;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = token_new(tok, k)) != 0 ||
	    (r = rec_begin(b, ENROLL_REC_TYPE, ENROLL_REC_VERSION)) != 0 ||
	    (r = buf_put_cstring(b, username)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)now)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)(now + ENROLL_TTL))) != 0 ||
	    (r = store_put(t, STORE_DB_ENROLLMENTS, k, sizeof(k), buf_ptr(b),
	    buf_len(b), STORE_NOOVERWRITE)) != 0)
		goto out;
	memcpy(token, tok, sizeof(tok));
	memcpy(key, k, sizeof(k));
	*expires_at = now + ENROLL_TTL;
	r = 0;
 out:
	OPENSSL_cleanse(tok, sizeof(tok));
	buf_free(b);
	return r;
}

/* Enrollment record and pending user of a token, both checked. */
static int
load(struct store_txn *t, const char *token, int64_t now,
    struct enrollment *e, struct user **u)
{
	uint8_t key[TOKEN_HASH_LEN];
	const void *v;
	size_t vl;
	int r;

	*u = NULL;
	memset(e, 0, sizeof(*e));
	if (token_hash(token, key) != 0)
		return TSS_E_UNAUTHENTICATED;
	if ((r = store_get(t, STORE_DB_ENROLLMENTS, key, sizeof(key), &v,
	    &vl)) != 0)
		return r == TSS_E_NOT_FOUND ? TSS_E_UNAUTHENTICATED : r;
	if ((r = enrollment_decode(v, vl, e)) != 0)
		return r;
	if (now >= e->expires) {
		r = TSS_E_EXPIRED;
		goto out;
	}
	if ((r = user_get(t, e->username, u)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			r = TSS_E_UNAUTHENTICATED;
		goto out;
	}
	/* Only the user's current token counts, and only while pending. */
	if (!(*u)->has_enroll || (*u)->state != USER_PENDING ||
	    CRYPTO_memcmp((*u)->enroll_key, key, sizeof(key)) != 0) {
		r = TSS_E_UNAUTHENTICATED;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		user_free(*u);
		*u = NULL;
		enrollment_clear(e);
	}
	return r;
}

int
enroll_lookup(struct store_txn *t, const char *token, int64_t now,
    char **username)
{
	struct enrollment e;
	struct user *u = NULL;
	int r;

	*username = NULL;
	if ((r = load(t, token, now, &e, &u)) != 0)
		return r;
	*username = e.username;
	e.username = NULL;
	user_free(u);
	return 0;
}

void
enroll_start_result_clear(struct enroll_start_result *r)
{
	free(r->username);
	if (r->totp_secret != NULL)
		OPENSSL_clear_free(r->totp_secret, strlen(r->totp_secret));
	if (r->otpauth_uri != NULL)
		OPENSSL_clear_free(r->otpauth_uri, strlen(r->otpauth_uri));
	free(r->qr_svg);
	memset(r, 0, sizeof(*r));
}

void
enroll_finish_result_clear(struct enroll_finish_result *r)
{
	free(r->username);
	OPENSSL_cleanse(r, sizeof(*r));
	r->username = NULL;
}

static int
audit_enroll(struct store_txn *t, const char *user, const char *action,
    const char *result, json_t *fields, const char *remote_addr, int64_t now)
{
	struct audit_actor a;

	memset(&a, 0, sizeof(a));
	a.name = user;
	a.remote_addr = remote_addr;
	return audit_record(t, &a, action, user, result, fields, now, NULL);
}

int
enroll_start(struct auth_ctx *c, const char *token, const char *password,
    size_t pwlen, const char *remote_addr, int64_t now,
    struct enroll_start_result *res)
{
	const struct auth_config *cfg = auth_ctx_config(c);
	struct store_txn *t = NULL;
	struct enrollment e;
	struct user *u = NULL;
	struct enroll_start_result out;
	uint8_t secret[TOTP_SECRET_LEN];
	uint8_t *box = NULL;
	size_t boxlen = 0;
	char *hash = NULL, *name = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&out, 0, sizeof(out));
	memset(&e, 0, sizeof(e));
	/* Read first: no hashing for a bad token. */
	if ((r = store_begin(auth_ctx_store(c), 0, &t)) != 0)
		goto out;
	r = enroll_lookup(t, token, now, &name);
	store_abort(t);
	t = NULL;
	if (r != 0)
		goto out;
	if ((r = password_check_rules(name, password, pwlen)) != 0)
		goto out;
	if ((r = password_hash(auth_ctx_hasher(c), password, pwlen,
	    &hash)) != 0)
		goto out;
	if ((r = totp_secret_new(secret)) != 0 ||
	    (r = secretbox_seal(auth_ctx_key(c), name, strlen(name), secret,
	    sizeof(secret), &box, &boxlen)) != 0)
		goto out;

	if ((r = store_begin(auth_ctx_store(c), 1, &t)) != 0)
		goto out;
	if ((r = load(t, token, now, &e, &u)) != 0)
		goto out;
	if (strcmp(e.username, name) != 0) {
		r = TSS_E_UNAUTHENTICATED;
		goto out;
	}
	if (u->pw_hash != NULL)
		OPENSSL_clear_free(u->pw_hash, strlen(u->pw_hash));
	u->pw_hash = hash;
	hash = NULL;	/* transferred */
	if (u->totp_box != NULL)
		OPENSSL_clear_free(u->totp_box, u->totp_box_len);
	u->totp_box = box;
	u->totp_box_len = boxlen;
	box = NULL;	/* transferred */
	u->last_step = 0;
	/* The failure count stays: a restarted flow must not reset it
	 * (an admin's reset or unlock does). */
	if ((r = user_put(t, u)) != 0 ||
	    (r = audit_enroll(t, name, "enroll.start", "ok", NULL,
	    remote_addr, now)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
	if (r != 0)
		goto out;

	if ((r = b32_encode(secret, sizeof(secret), &out.totp_secret)) != 0 ||
	    (r = totp_key_uri(cfg->issuer, name, out.totp_secret,
	    &out.otpauth_uri)) != 0 ||
	    (r = totp_qr_svg(out.otpauth_uri, &out.qr_svg)) != 0)
		goto out;
	out.username = name;
	name = NULL;
	*res = out;
	memset(&out, 0, sizeof(out));
	r = 0;
 out:
	store_abort(t);
	OPENSSL_cleanse(secret, sizeof(secret));
	enroll_start_result_clear(&out);
	enrollment_clear(&e);
	user_free(u);
	if (hash != NULL)
		OPENSSL_clear_free(hash, strlen(hash));
	if (box != NULL)
		OPENSSL_clear_free(box, boxlen);
	free(name);
	return r;
}

int
enroll_finish(struct auth_ctx *c, const char *token, const char *code,
    const char *remote_addr, int64_t now, struct enroll_finish_result *res)
{
	const struct auth_config *cfg = auth_ctx_config(c);
	struct store_txn *t = NULL;
	struct enrollment e;
	struct user *u = NULL;
	struct enroll_finish_result out;
	uint8_t *secret = NULL;
	size_t slen = 0;
	uint64_t step = 0;
	const char *reason = "";
	json_t *f = NULL;
	int r, vr;

	memset(res, 0, sizeof(*res));
	memset(&out, 0, sizeof(out));
	memset(&e, 0, sizeof(e));
	if ((r = store_begin(auth_ctx_store(c), 1, &t)) != 0)
		goto out;
	if ((r = load(t, token, now, &e, &u)) != 0)
		goto out;
	if (u->totp_box == NULL || u->pw_hash == NULL) {
		r = TSS_E_CONFLICT;		/* enroll_start first */
		goto out;
	}
	/* Codes are throttled as logins are, on the same count. */
	if ((vr = auth__may_try(u->locked, u->throttle_until, now, &reason,
	    &res->retry_after)) == 0) {
		if ((r = secretbox_open(auth_ctx_key(c), u->name,
		    strlen(u->name), u->totp_box, u->totp_box_len, &secret,
		    &slen)) != 0)
			goto out;
		vr = totp_verify(secret, slen, code, now, cfg->totp_window,
		    &step);
		if (vr == TSS_E_INVALID_CREDENTIALS) {
			reason = "bad_code";
			auth__count_failure(cfg, u, now);
			if ((r = user_put(t, u)) != 0)
				goto out;
		} else if ((r = vr) != 0)
			goto out;
	}
	if (vr != 0) {
		/* Record the refusal; the token stays usable. */
		if ((f = json_pack("{sssI}", "reason", reason, "failures",
		    (json_int_t)u->failures)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = audit_enroll(t, u->name, "enroll.finish", "denied", f,
		    remote_addr, now)) != 0)
			goto out;
		r = store_commit(t);
		t = NULL;
		if (r == 0)
			r = vr;
		goto out;
	}
	if ((r = recovery_fill(u, out.codes)) != 0)
		goto out;
	u->state = USER_ACTIVE;
	u->last_step = step;
	u->failures = 0;
	u->throttle_until = 0;
	u->locked = 0;
	if ((r = store_del(t, STORE_DB_ENROLLMENTS, u->enroll_key,
	    sizeof(u->enroll_key))) != 0)
		goto out;
	OPENSSL_cleanse(u->enroll_key, sizeof(u->enroll_key));
	u->has_enroll = 0;
	if ((r = user_put(t, u)) != 0 ||
	    (r = audit_enroll(t, u->name, "enroll.finish", "ok", NULL,
	    remote_addr, now)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
	if (r != 0)
		goto out;
	if ((out.username = mem_strdup(u->name)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	*res = out;
	memset(&out, 0, sizeof(out));
	r = 0;
 out:
	store_abort(t);
	if (secret != NULL)
		OPENSSL_clear_free(secret, slen);
	enroll_finish_result_clear(&out);
	enrollment_clear(&e);
	json_decref(f);
	user_free(u);
	return r;
}

int
enroll_prune(struct store_txn *t, int64_t now, size_t *n)
{
	struct store_cursor *cur = NULL;
	struct enrollment e;
	const void *k, *v;
	uint8_t here[TOKEN_HASH_LEN];
	size_t kl, vl, cnt = 0;
	int r, kill;

	if (n != NULL)
		*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_ENROLLMENTS, &cur)) != 0)
		return r;
	r = store_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl);
	while (r == 0) {
		/* An unreadable record goes; one only not decoded now stays. */
		if ((r = enrollment_decode(v, vl, &e)) == TSS_E_NOMEM)
			goto out;
		kill = r != 0 || now >= e.expires;
		enrollment_clear(&e);
		if (kill && kl == sizeof(here)) {
			memcpy(here, k, sizeof(here));
			if ((r = store_cursor_del(cur)) != 0)
				goto out;
			cnt++;
			r = store_cursor_seek(cur, here, sizeof(here), &k, &kl,
			    &v, &vl);
			continue;
		}
		r = store_cursor_next(cur, &k, &kl, &v, &vl);
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	if (n != NULL)
		*n = cnt;
	r = 0;
 out:
	store_cursor_close(cur);
	return r;
}
