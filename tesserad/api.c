/* HTTP handlers: decode, one broker call, encode. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "admin_api.h"
#include "api.h"
#include "cert_api.h"
#include "device_api.h"
#include "host_api.h"
#include "self_api.h"
#include "auth/enroll.h"
#include "auth/login.h"
#include "auth/session.h"
#include "broker/backup.h"
#include "broker/broker.h"
#include "broker/issue.h"
#include "common/digest.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"
#include "web/server.h"
#include "web/ui/ui.h"

#define ERRMSG_MAX	256

static const char *const login_outcomes[] = { "ok", "invalid_credentials",
    "too_many_attempts", "unavailable", "bad_request" };
enum { LO_OK, LO_INVALID, LO_THROTTLED, LO_UNAVAILABLE, LO_BAD };
static const char *const store_kinds[] = { "used", "map" };

int
api_init(struct api *a, struct broker *b, struct web_metrics *m)
{
	static const double bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01,
	    0.02, 0.05, 0.1, 0.25, 0.5, 1 };
	struct web_label outcome = { "outcome", login_outcomes,
	    sizeof(login_outcomes) / sizeof(login_outcomes[0]) };
	struct web_label kind = { "kind", store_kinds, 2 };
	int r;

	memset(a, 0, sizeof(*a));
	a->b = b;
	a->metrics = m;
	if ((r = web_metrics_counter(m, "tessera_logins_total",
	    "Login attempts by outcome.", &outcome, 1, &a->logins)) != 0 ||
	    (r = web_metrics_counter(m, "tessera_totp_failures_total",
	    "Logins refused for a wrong or replayed TOTP code.", NULL, 0,
	    &a->totp_fail)) != 0 ||
	    (r = web_metrics_counter(m, "tessera_lockouts_total",
	    "Logins refused because the account is throttled or locked.",
	    NULL, 0, &a->lockouts)) != 0 ||
	    (r = web_metrics_counter(m, "tessera_certificates_issued_total",
	    "Certificates issued.", NULL, 0, &a->certs_issued)) != 0 ||
	    (r = web_metrics_histogram(m, "tessera_issue_duration_seconds",
	    "Certificate issuance latency, decision to commit.", bounds,
	    sizeof(bounds) / sizeof(bounds[0]), &a->issue_seconds)) != 0 ||
	    (r = web_metrics_gauge(m, "tessera_store_bytes",
	    "LMDB bytes in use and map size.", &kind, 1, &a->store_bytes)) != 0 ||
	    (r = web_metrics_counter(m, "tessera_backup_failures_total",
	    "Backups into backup_dir that failed.", NULL, 0,
	    &a->backup_failures)) != 0 ||
	    (r = web_metrics_gauge(m,
	    "tessera_backup_last_success_timestamp_seconds",
	    "When the newest backup in backup_dir was made (0: none yet).",
	    NULL, 0, &a->backup_last)) != 0)
		return r;
	return 0;
}

int64_t
api_now(void)
{
	return (int64_t)time(NULL);
}

double
api_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct web_resp *
api_only_fields(const struct web_req *req, const char *const *allowed)
{
	char msg[ERRMSG_MAX];

	if (admin_api_fields(web_req_json(req), allowed, msg, sizeof(msg)) != 0)
		return web_error(400, "bad_request", msg);
	return NULL;
}

/* What csrf_verify() checks the header against: the session token. */
struct csrf_want {
	const char *token;
};

static int
csrf_verify(const char *hdr, size_t len, void *arg)
{
	const struct csrf_want *want = arg;

	(void)len;
	return session_csrf_check(want->token, hdr);
}

/*
 * Authenticate the request into c.  NULL on success, else the response to
 * send.  Cookie-authenticated writes must pass the CSRF and Origin checks.
 * cached: the caller may come from memory (broker_caller_cached).
 */
struct web_resp *
api_authed_as(const struct web_req *req, struct api *a, struct caller *c,
    int cached)
{
	enum web_auth kind;
	const char *token = web_req_token(req, &kind);
	struct csrf_want want = { token };
	int r;

	if (token == NULL)
		return web_error(401, "unauthenticated",
		    "log in first: no session token");
	if ((r = (cached ? broker_caller_cached : broker_caller)(a->b, token,
	    api_now(), c)) != 0)
		return r == TSS_E_UNAUTHENTICATED ? web_error(401,
		    "unauthenticated", "session ended or unknown") : web_error_msg(r, NULL);
	c->remote_addr = web_req_remote(req);
	c->request_id = web_req_id(req);
	if (kind == WEB_AUTH_COOKIE &&
	    (web_req_route(req)->flags & WEB_R_WRITE) &&
	    web_check_csrf(req, csrf_verify, &want) != 0) {
		caller_clear(c);
		return web_error(403, "forbidden",
		    "cross-site request or missing X-CSRF-Token");
	}
	return NULL;
}

static struct web_resp *
authed(const struct web_req *req, struct api *a, struct caller *c)
{
	return api_authed_as(req, a, c, 0);
}

struct web_resp *
api_authed(const struct web_req *req, struct api *a, struct caller *c)
{
	return authed(req, a, c);
}

/* Reply with a use case's JSON result or its error. */
static struct web_resp *
reply(int r, unsigned status, json_t *body, const char *errmsg)
{
	if (r != 0) {
		json_decref(body);
		return web_error_msg(r, errmsg);
	}
	/* A 204 has no body: web_json(NULL) is "out of memory", a 500
	 * for a delete that happened. */
	if (status == 204) {
		json_decref(body);
		return web_empty(204);
	}
	return web_json(status, body);
}

const char *
api_str(const struct web_req *req, const char *key)
{
	return json_string_value(json_object_get(web_req_json(req), key));
}

/* ---- public ---- */

int
api_health(void *arg)
{
	struct api *a = arg;

	return broker_health(a->b);
}

static struct web_resp *
h_healthz(const struct web_req *req, void *arg)
{
	(void)req;
	if (api_health(arg) != 0)
		return web_error(503, "unavailable", "store does not answer");
	return web_json(200, json_pack("{s:s}", "status", "ok"));
}

/* ---- enrollment and sessions ---- */

/* resp with its Retry-After, or NULL (a 500) when it cannot have it. */
static struct web_resp *
with_retry_after(struct web_resp *resp, unsigned long seconds)
{
	if (resp != NULL && web_resp_retry_after(resp, seconds) != 0) {
		web_resp_free(resp);
		resp = NULL;
	}
	return resp;
}

/* 429 when the address has used up its enrollment calls, else NULL. */
static struct web_resp *
enroll_rate(const struct web_req *req, struct api *a)
{
	struct web_resp *resp;
	int64_t retry = 0;

	if (auth_enroll_rate(a->b->auth, web_req_remote(req), api_now(),
	    &retry) == 0)
		return NULL;
	resp = web_error(429, "too_many_attempts",
	    "too many enrollment calls from this address; try again later");
	return with_retry_after(resp, (unsigned long)(retry > 0 ? retry :
	    1));
}

static struct web_resp *
h_enroll_start(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct enroll_start_result res;
	const char *token = api_str(req, "token"), *pw = api_str(req, "password");
	static const char *const fields[] = { "token", "password", NULL };
	struct web_resp *resp;
	json_t *body;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (token == NULL || pw == NULL)
		return web_error(400, "bad_request",
		    "token and password are required strings");
	if ((resp = enroll_rate(req, a)) != NULL)
		return resp;
	memset(&res, 0, sizeof(res));
	r = enroll_start(a->b->auth, token, pw, strlen(pw), web_req_remote(req),
	    api_now(), &res);
	if (r == TSS_E_WEAK_PASSWORD) {
		enroll_start_result_clear(&res);
		return web_error(400, "weak_password", "password: 12 to 1024 "
		    "characters of UTF-8, not the username");
	}
	if (r == TSS_E_EXPIRED || r == TSS_E_UNAUTHENTICATED) {
		enroll_start_result_clear(&res);
		return web_error(401, "invalid_credentials",
		    "enrollment link unknown, used or expired");
	}
	if (r != 0) {
		enroll_start_result_clear(&res);
		return web_error_msg(r, NULL);
	}
	body = json_pack("{s:s, s:s, s:s, s:s}", "username", res.username,
	    "totp_secret", res.totp_secret, "otpauth_uri", res.otpauth_uri,
	    "qr_svg", res.qr_svg);
	enroll_start_result_clear(&res);
	return web_json(200, body);
}

/* 429 for a throttled (Retry-After: its wait) or locked (an hour) user. */
static struct web_resp *
too_many(int r, int64_t retry_after)
{
	struct web_resp *resp;

	resp = web_error(429, "too_many_attempts",
	    "too many attempts; try again later");
	return with_retry_after(resp, r == TSS_E_LOCKED ? 3600 :
	    retry_after > 0 ? (unsigned long)retry_after : 1);
}

static struct web_resp *
h_enroll_finish(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct enroll_finish_result res;
	const char *token = api_str(req, "token"), *code = api_str(req, "code");
	static const char *const fields[] = { "token", "code", NULL };
	struct web_resp *resp;
	json_t *codes, *body;
	size_t i;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (token == NULL || code == NULL)
		return web_error(400, "bad_request",
		    "token and code are required strings");
	if ((resp = enroll_rate(req, a)) != NULL)
		return resp;
	memset(&res, 0, sizeof(res));
	r = enroll_finish(a->b->auth, token, code, web_req_remote(req), api_now(),
	    &res);
	if (r == TSS_E_EXPIRED || r == TSS_E_UNAUTHENTICATED ||
	    r == TSS_E_INVALID_CREDENTIALS) {
		enroll_finish_result_clear(&res);
		return web_error(401, "invalid_credentials",
		    r == TSS_E_INVALID_CREDENTIALS ? "wrong code" :
		    "enrollment link unknown, used or expired");
	}
	if (r == TSS_E_CONFLICT) {
		enroll_finish_result_clear(&res);
		return web_error(409, "conflict", "call /v1/enroll/start first");
	}
	if (r == TSS_E_TOO_MANY_ATTEMPTS || r == TSS_E_LOCKED) {
		resp = too_many(r, res.retry_after);
		enroll_finish_result_clear(&res);
		return resp;
	}
	if (r != 0) {
		enroll_finish_result_clear(&res);
		return web_error_msg(r, NULL);
	}
	codes = json_array();
	for (i = 0; codes != NULL && i < USER_RECOVERY_CODES; i++)
		if (json_array_append_new(codes,
		    json_string(res.codes[i])) != 0) {
			json_decref(codes);
			codes = NULL;	/* no body: a 500, not fewer codes */
		}
	body = json_pack("{s:s, s:o}", "username", res.username,
	    "recovery_codes", codes);
	enroll_finish_result_clear(&res);
	broker_audit_flush(a->b);
	return web_json(200, body);
}

static struct web_resp *
h_login(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct auth_login_result res;
	const char *user = api_str(req, "username"), *pw = api_str(req, "password"),
	    *code = api_str(req, "code");
	struct web_resp *resp;
	int r;

	static const char *const fields[] = { "username", "password", "code",
	    NULL };

	if (web_check_origin(req) != 0)
		return web_error(403, "forbidden", "cross-site login refused");
	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (user == NULL || pw == NULL || code == NULL) {
		web_metric_inc(a->logins, LO_BAD);
		return web_error(400, "bad_request",
		    "username, password and code are required strings");
	}
	memset(&res, 0, sizeof(res));
	r = auth_login(a->b->auth, user, pw, strlen(pw), code,
	    web_req_remote(req), web_req_id(req), api_now(), &res);
	broker_audit_flush(a->b);
	if (res.reason != NULL && (strcmp(res.reason, "bad_code") == 0 ||
	    strcmp(res.reason, "replay") == 0))
		web_metric_inc(a->totp_fail, 0);
	switch (r) {
	case 0:
		web_metric_inc(a->logins, LO_OK);
		resp = web_json(200, json_pack("{s:s, s:s, s:I}", "token",
		    res.token, "csrf_token", res.csrf, "expires_at",
		    (json_int_t)res.expires_at));
		if (resp != NULL && web_resp_set_cookie(resp, res.token,
		    (unsigned long)a->b->cfg.session_max) != 0) {
			web_resp_free(resp);
			resp = NULL;	/* a 500, not a login without it */
		}
		break;
	case TSS_E_TOO_MANY_ATTEMPTS:
	case TSS_E_LOCKED:
		web_metric_inc(a->logins, LO_THROTTLED);
		web_metric_inc(a->lockouts, 0);
		resp = too_many(r, res.retry_after);
		break;
	case TSS_E_UNAVAILABLE:
		web_metric_inc(a->logins, LO_UNAVAILABLE);
		resp = with_retry_after(web_error(503, "unavailable",
		    "busy; try again"), 1);
		break;
	case TSS_E_NOMEM:
		/* No verdict: not "invalid", which would send the user to
		 * retype a right password. */
		web_metric_inc(a->logins, LO_UNAVAILABLE);
		resp = web_error_msg(r, NULL);
		break;
	default:
		/* Wrong user, password, code, disabled or not enrolled: one
		 * answer for all. */
		web_metric_inc(a->logins, LO_INVALID);
		resp = web_error(401, "invalid_credentials",
		    "invalid username, password or code");
		break;
	}
	auth_login_result_clear(&res);
	return resp;
}

static struct web_resp *
h_logout(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	enum web_auth kind;
	int r;

	if ((resp = authed(req, a, &c)) != NULL)
		return resp;
	caller_clear(&c);
	r = auth_logout(a->b->auth, web_req_token(req, &kind),
	    web_req_remote(req), api_now());
	broker_audit_flush(a->b);
	/* Not ended: say so (ended meanwhile is ended). */
	if (r != 0 && r != TSS_E_UNAUTHENTICATED)
		return web_error_msg(r, NULL);
	resp = web_empty(204);
	if (resp != NULL && web_resp_clear_cookie(resp) != 0) {
		web_resp_free(resp);
		resp = NULL;	/* a 500, not a cookie left behind */
	}
	return resp;
}

static struct web_resp *
h_me(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	enum web_auth kind;
	char csrf[TOKEN_TEXT_LEN + 1];
	json_t *body = NULL;
	int r;

	if ((resp = authed(req, a, &c)) != NULL)
		return resp;
	r = broker_me(a->b, &c, api_now(), &body);
	caller_clear(&c);
	if (r == 0 && web_req_token(req, &kind) != NULL &&
	    kind == WEB_AUTH_COOKIE &&
	    session_csrf(web_req_token(req, &kind), csrf) == 0 &&
	    json_object_set_new(body, "csrf_token", json_string(csrf)) != 0)
		r = TSS_E_NOMEM;
	return reply(r, 200, body, NULL);
}

/* ---- admin ---- */

/* Most handlers past issuance: authenticate, then one broker call. */
#define ADMIN_HANDLER(fname, status, call)				\
static struct web_resp *						\
fname(const struct web_req *req, void *arg)				\
{									\
	struct api *a = arg;						\
	struct caller c;						\
	struct web_resp *resp;						\
	char errmsg[ERRMSG_MAX] = "";					\
	json_t *out = NULL;						\
	int r;								\
									\
	if ((resp = authed(req, a, &c)) != NULL)			\
		return resp;						\
	r = (call);							\
	caller_clear(&c);						\
	return reply(r, status, out, errmsg);				\
}

/* ?name=true or ?name=1. */
static int
query_true(const struct web_req *req, const char *name)
{
	const char *f = web_req_query(req, name);

	return f != NULL && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
}

/* Deletes answer 204. */
static int
done(int r, json_t **out)
{
	*out = NULL;
	return r;
}

ADMIN_HANDLER(h_certs_list, 200, broker_certs_list(a->b, &c,
    &(const struct broker_certs_q){ .user = web_req_query(req, "user"),
    .target = web_req_query(req, "target"),
    .state = web_req_query(req, "state"),
    .before = web_req_query(req, "before"),
    .limit = web_req_query(req, "limit"), .all = query_true(req, "all") },
    api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_cert_revoke, 200, broker_cert_revoke(a->b, &c,
    web_req_param(req), api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_users_list, 200, broker_users_list(a->b, &c, &out))
ADMIN_HANDLER(h_user_create, 201, admin_api_user_create(a->b, &c,
    web_req_json(req), api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_user_get, 200, broker_user_get(a->b, &c, web_req_param(req),
    &out))
ADMIN_HANDLER(h_user_patch, 200, admin_api_user_patch(a->b, &c,
    web_req_param(req), web_req_json(req), api_now(), &out, errmsg,
    sizeof(errmsg)))
ADMIN_HANDLER(h_user_reset, 200, broker_user_reset(a->b, &c,
    web_req_param(req), api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_user_unlock, 200, broker_user_unlock(a->b, &c,
    web_req_param(req), api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_targets_list, 200, broker_targets_list(a->b, &c, &out))
ADMIN_HANDLER(h_target_put, 200, admin_api_target_put(a->b, &c,
    web_req_param(req), web_req_json(req), api_now(), &out, errmsg,
    sizeof(errmsg)))
ADMIN_HANDLER(h_roles_list, 200, broker_roles_list(a->b, &c, &out))
ADMIN_HANDLER(h_role_get, 200, broker_role_get(a->b, &c, web_req_param(req),
    &out))
ADMIN_HANDLER(h_role_put, 200, admin_api_role_put(a->b, &c,
    web_req_param(req), web_req_json(req), api_now(), &out, errmsg,
    sizeof(errmsg)))
ADMIN_HANDLER(h_bindings_list, 200, broker_bindings_list(a->b, &c, &out))
ADMIN_HANDLER(h_binding_create, 201, admin_api_binding_create(a->b, &c,
    web_req_json(req), api_now(), &out, errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_check, 200, broker_check(a->b, &c, web_req_query(req, "user"),
    web_req_query(req, "target"), web_req_query(req, "login"), api_now(), &out,
    errmsg, sizeof(errmsg)))
/* Refused while another runs, or too often: 429 with Retry-After. */
static struct web_resp *
h_audit_verify(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	char errmsg[ERRMSG_MAX] = "";
	json_t *out = NULL;
	int64_t retry = 0;
	int r;

	if ((resp = authed(req, a, &c)) != NULL)
		return resp;
	r = broker_audit_verify(a->b, &c, api_now(), &out, &retry, errmsg,
	    sizeof(errmsg));
	caller_clear(&c);
	if (r == TSS_E_TOO_MANY_ATTEMPTS)
		return with_retry_after(web_error(429, "too_many_attempts",
		    errmsg), (unsigned long)(retry > 0 ? retry : 1));
	return reply(r, 200, out, errmsg);
}

static struct web_resp *
h_audit(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	struct broker_audit_q q;
	char errmsg[ERRMSG_MAX] = "";
	json_t *out = NULL;
	int r;

	if ((resp = authed(req, a, &c)) != NULL)
		return resp;
	q.after = web_req_query(req, "after");
	q.before = web_req_query(req, "before");
	q.order = web_req_query(req, "order");
	q.limit = web_req_query(req, "limit");
	q.actor = web_req_query(req, "actor");
	q.action = web_req_query(req, "action");
	q.object = web_req_query(req, "object");
	q.since = web_req_query(req, "since");
	q.until = web_req_query(req, "until");
	r = broker_audit_list(a->b, &c, &q, &out, errmsg, sizeof(errmsg));
	caller_clear(&c);
	return reply(r, 200, out, errmsg);
}
ADMIN_HANDLER(h_user_delete, 204, done(broker_user_delete(a->b, &c,
    web_req_param(req), api_now(), errmsg, sizeof(errmsg)), &out))
ADMIN_HANDLER(h_target_delete, 204, done(broker_target_delete(a->b, &c,
    web_req_param(req), query_true(req, "force"), api_now(), errmsg,
    sizeof(errmsg)), &out))
ADMIN_HANDLER(h_role_delete, 204, done(broker_role_delete(a->b, &c,
    web_req_param(req), query_true(req, "force"), api_now(), errmsg,
    sizeof(errmsg)), &out))
ADMIN_HANDLER(h_backup, 201, broker_backup_now(a->b, &c, api_now(), &out,
    errmsg, sizeof(errmsg)))
ADMIN_HANDLER(h_binding_delete, 204, done(broker_binding_delete(a->b, &c,
    web_req_param(req), api_now(), errmsg, sizeof(errmsg)), &out))

static struct web_resp *
h_target_sshd(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	char *text = NULL;
	int r;

	if ((resp = authed(req, a, &c)) != NULL)
		return resp;
	r = broker_target_sshd(a->b, &c, web_req_param(req), &text);
	caller_clear(&c);
	if (r != 0)
		return web_error_msg(r, NULL);
	resp = web_text(200, "text/plain; charset=utf-8", text, strlen(text));
	free(text);
	return resp;
}

#define J	WEB_R_JSON
#define W	WEB_R_WRITE
#define I	WEB_R_INLINE	/* never waits, nor works long */
#define C	WEB_R_CPU	/* never waits, or defers its answer */
#define K	WEB_R_CACHEABLE	/* api_cache.c sets Cache-Control */
static const struct web_route routes[] = {
	{ "GET",    "/healthz",              h_healthz,        I },
	{ "GET",    "/metrics",              api_metrics_handle, I },
	{ "GET",    "/v1/ca",                api_cache_ca,     I | K },
	{ "GET",    "/v1/ca/host",           api_cache_ca_host, I | K },
	{ "GET",    "/v1/krl",               api_cache_krl,    I | K },
	{ "POST",   "/v1/enroll/start",      h_enroll_start,   J },
	{ "POST",   "/v1/enroll/finish",     h_enroll_finish,  J },
	{ "POST",   "/v1/login",             h_login,          J },
	{ "POST",   "/v1/logout",            h_logout,         W },
	{ "GET",    "/v1/me",                h_me,             0 },
	{ "POST",   "/v1/me/password",       self_api_password, J | W },
	{ "POST",   "/v1/me/recovery-codes", self_api_recovery, J | W },
	{ "GET",    "/v1/sessions",          self_api_sessions, 0 },
	{ "POST",   "/v1/sessions/end-others", self_api_end_others, W },
	{ "DELETE", "/v1/sessions/*",        self_api_session_end, W },
	{ "POST",   "/v1/certs",             cert_api_issue,     J | W | C },
	{ "GET",    "/v1/certs",             h_certs_list,     0 },
	{ "POST",   "/v1/certs/*/revoke",    h_cert_revoke,    W },
	{ "GET",    "/v1/users",             h_users_list,     0 },
	{ "POST",   "/v1/users",             h_user_create,    J | W },
	{ "GET",    "/v1/users/*",           h_user_get,       0 },
	{ "PATCH",  "/v1/users/*",           h_user_patch,     J | W },
	{ "DELETE", "/v1/users/*",           h_user_delete,    W },
	{ "POST",   "/v1/users/*/reset",     h_user_reset,     W },
	{ "POST",   "/v1/users/*/unlock",    h_user_unlock,    W },
	{ "GET",    "/v1/targets",           h_targets_list,   0 },
	{ "PUT",    "/v1/targets/*",         h_target_put,     J | W },
	{ "DELETE", "/v1/targets/*",         h_target_delete,  W },
	{ "GET",    "/v1/targets/*/sshd",    h_target_sshd,    0 },
	{ "GET",    "/v1/targets/*/route",   host_api_route,   0 },
	{ "POST",   "/v1/targets/*/token",   host_api_token,   W },
	{ "POST",   "/v1/hosts/join",        host_api_join,    J },
	{ "POST",   "/v1/hosts/renew",       host_api_renew,   J },
	{ "GET",    "/v1/hosts/self",        host_api_self,    K },
	{ "POST",   "/v1/hosts/routes",      host_api_routes,  J },
	{ "GET",    "/v1/roles",             h_roles_list,     0 },
	{ "GET",    "/v1/roles/*",           h_role_get,       0 },
	{ "PUT",    "/v1/roles/*",           h_role_put,       J | W },
	{ "DELETE", "/v1/roles/*",           h_role_delete,    W },
	{ "GET",    "/v1/bindings",          h_bindings_list,  0 },
	{ "POST",   "/v1/bindings",          h_binding_create, J | W },
	{ "DELETE", "/v1/bindings/*",        h_binding_delete, W },
	{ "GET",    "/v1/check",             h_check,          0 },
	{ "GET",    "/v1/audit",             h_audit,          0 },
	{ "GET",    "/v1/audit/verify",      h_audit_verify,   0 },
	{ "POST",   "/v1/admin/backup",      h_backup,         W },
	{ "POST",   "/v1/device",            device_api_create,  J },
	{ "GET",    "/v1/device/pending",    device_api_pending, 0 },
	{ "POST",   "/v1/device/approve",    device_api_approve, J | W },
	{ "POST",   "/v1/device/token",      device_api_token,   J },
	{ "GET",    "/",                     ui_handle,        UI_PAGE },
	{ "GET",    "/enroll",               ui_handle,        UI_PAGE },
	{ "GET",    "/device",               ui_handle,        UI_PAGE },
	{ "GET",    "/static/app.js",        ui_handle,        UI_ASSET },
	{ "GET",    "/static/admin_roles.js", ui_handle,       UI_ASSET },
	{ "GET",    "/static/admin_audit.js", ui_handle,       UI_ASSET },
	{ "GET",    "/static/admin.js",      ui_handle,        UI_ASSET },
	{ "GET",    "/static/style.css",     ui_handle,        UI_ASSET },
};
#undef J
#undef W
#undef I
#undef C
#undef K

const struct web_route *
api_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
