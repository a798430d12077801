/*
 * A user's own account over HTTP: GET /v1/sessions, DELETE
 * /v1/sessions/<id>, POST /v1/sessions/end-others, POST /v1/me/password,
 * POST /v1/me/recovery-codes.  See self_api.h and docs/api.md.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "api.h"
#include "self_api.h"
#include "auth/account.h"
#include "broker/broker.h"
#include "common/enc.h"
#include "common/err.h"
#include "web/server.h"

/* A session id: the hex of its key (SHA-256 of the token). */
#define SESSION_ID_LEN	(2 * TOKEN_HASH_LEN)

static json_t *
session_json(const struct session *s, const struct caller *c)
{
	char id[SESSION_ID_LEN + 1];

	hex_encode(s->key, sizeof(s->key), id);
	return json_pack("{s:s, s:I, s:I, s:I, s:s, s:b}", "id", id,
	    "created", (json_int_t)s->created, "last_used",
	    (json_int_t)s->last_used, "expires_at", (json_int_t)s->expires_at,
	    "remote_addr", s->remote_addr, "current", c->has_session &&
	    CRYPTO_memcmp(s->key, c->session, sizeof(s->key)) == 0);
}

struct web_resp *
self_api_sessions(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct session **v = NULL;
	struct web_resp *resp;
	json_t *list = NULL;
	size_t n = 0, i;
	int r;

	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	r = auth_sessions(a->b->auth, c.username, api_now(), &v, &n);
	if (r == 0 && (list = json_array()) == NULL)
		r = TSS_E_NOMEM;
	for (i = 0; r == 0 && i < n; i++)
		if (json_array_append_new(list, session_json(v[i], &c)) != 0)
			r = TSS_E_NOMEM;
	session_list_free(v, n);
	caller_clear(&c);
	if (r != 0) {
		json_decref(list);
		return web_error_msg(r, NULL);
	}
	return web_json(200, json_pack("{s:o}", "sessions", list));
}

struct web_resp *
self_api_session_end(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	const char *id = web_req_param(req);
	uint8_t key[TOKEN_HASH_LEN];
	int r;

	if (id == NULL || strlen(id) != SESSION_ID_LEN ||
	    hex_decode(id, key, sizeof(key)) != 0)
		return web_error(400, "bad_request",
		    "session id: 64 lowercase hex digits from GET /v1/sessions");
	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	r = auth_session_end(a->b->auth, c.username, key, c.remote_addr,
	    api_now());
	caller_clear(&c);
	broker_audit_flush(a->b);
	if (r == TSS_E_NOT_FOUND)
		return web_error(404, "not_found", "you have no such session");
	return r != 0 ? web_error_msg(r, NULL) : web_empty(204);
}

struct web_resp *
self_api_end_others(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	size_t n = 0;
	int r;

	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	r = c.has_session ? auth_sessions_end_others(a->b->auth, c.username,
	    c.session, c.remote_addr, api_now(), &n) : TSS_E_INVALID_ARGUMENT;
	caller_clear(&c);
	broker_audit_flush(a->b);
	if (r != 0)
		return web_error_msg(r, NULL);
	return web_json(200, json_pack("{s:I}", "ended", (json_int_t)n));
}

/*
 * The answer to a failed proof: 401 for a wrong password or code, 429
 * with Retry-After when throttled (an hour when locked), or the error.
 */
static struct web_resp *
proof_failed(int r, int64_t retry_after)
{
	struct web_resp *resp;

	if (r == TSS_E_INVALID_CREDENTIALS)
		return web_error(401, "invalid_credentials",
		    "wrong password or code");
	if (r == TSS_E_WEAK_PASSWORD)
		return web_error(400, "weak_password", "new_password: 12 to "
		    "1024 characters of UTF-8, not the username");
	if (r != TSS_E_TOO_MANY_ATTEMPTS && r != TSS_E_LOCKED)
		return web_error_msg(r, NULL);
	resp = web_error(429, "too_many_attempts",
	    "too many attempts; try again later");
	if (resp != NULL && web_resp_retry_after(resp, r == TSS_E_LOCKED ?
	    3600 : retry_after > 0 ? (unsigned long)retry_after : 1) != 0) {
		web_resp_free(resp);
		resp = NULL;
	}
	return resp;
}

/* The proof's who, where and when: the caller's, now. */
static void
proof_of(struct auth_proof *p, const struct caller *c)
{
	memset(p, 0, sizeof(*p));
	p->username = c->username;
	p->remote_addr = c->remote_addr;
	p->request_id = c->request_id;
	p->now = api_now();
}

struct web_resp *
self_api_password(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "current_password", "code",
	    "new_password", NULL };
	struct api *a = arg;
	const char *cur = api_str(req, "current_password"),
	    *code = api_str(req, "code"), *np = api_str(req, "new_password");
	struct auth_proof p;
	struct caller c;
	struct web_resp *resp;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (cur == NULL || code == NULL || np == NULL)
		return web_error(400, "bad_request", "current_password, code "
		    "and new_password are required strings");
	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	proof_of(&p, &c);
	r = auth_change_password(a->b->auth, &p, cur, strlen(cur), code, np,
	    strlen(np));
	caller_clear(&c);
	broker_audit_flush(a->b);
	if (r != 0)
		return proof_failed(r, p.retry_after);
	/* Every session ended, this one too: drop the cookie. */
	resp = web_empty(204);
	if (resp != NULL && web_resp_clear_cookie(resp) != 0) {
		web_resp_free(resp);
		resp = NULL;
	}
	return resp;
}

struct web_resp *
self_api_recovery(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "code", NULL };
	struct api *a = arg;
	const char *code = api_str(req, "code");
	char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1];
	struct auth_proof p;
	struct caller c;
	struct web_resp *resp;
	json_t *list = NULL;
	size_t i;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (code == NULL)
		return web_error(400, "bad_request", "code is a required string");
	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	proof_of(&p, &c);
	r = auth_recovery_regenerate(a->b->auth, &p, code, codes);
	caller_clear(&c);
	broker_audit_flush(a->b);
	if (r != 0)
		return proof_failed(r, p.retry_after);
	if ((list = json_array()) != NULL)
		for (i = 0; i < USER_RECOVERY_CODES; i++)
			if (json_array_append_new(list,
			    json_string(codes[i])) != 0) {
				json_decref(list);
				list = NULL;	/* a 500, never fewer codes */
				break;
			}
	OPENSSL_cleanse(codes, sizeof(codes));
	return web_json(200, json_pack("{s:o}", "recovery_codes", list));
}
