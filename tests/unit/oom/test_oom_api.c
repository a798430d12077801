/*
 * oom, tesserad's handlers called as the web server calls them, with a
 * request made here (web/internal.h) and the handler from api_routes(), on
 * a real broker (tests/unit/broker/fixture.h, fast Argon2): POST
 * /v1/enroll/finish, whose answer carries the recovery codes, shown once,
 * GET /v1/me with a cookie, whose answer carries the CSRF token, POST
 * /v1/login, whose answer sets the session cookie (or says how long a
 * locked account waits), and
 * POST /v1/logout, which ends the session and clears the cookie or
 * answers 500, and POST /v1/me/recovery-codes, whose answer carries all
 * ten new codes or is a 500, each walked through every allocation failure and with each
 * allocation refused alone (oom.h).  A handler's 500 (or no response: the
 * server's 500) is its out of memory.  The audit sink's thread is stopped
 * first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "auth/enroll.h"
#include "auth/session.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/totp.h"
#include "auth/user.h"
#include "broker/broker.h"
#include "common/enc.h"
#include "common/err.h"
#include "store/store.h"
#include "tesserad/api.h"
#include "web/internal.h"
#include "fixture.h"
#include "oom.h"

#define PASSWORD	"a long enough password"

static struct fixture fx;
static struct api api;

static void
setup(void)
{
	static const char *const cfg[] = { "argon2_memory_kib", "1024",
	    "argon2_time", "1", NULL };

	oom_setup();
	fixture_open(&fx, cfg, 8 * 3600);
	fixture_stop_sink(&fx);
	memset(&api, 0, sizeof(api));
	api.b = fx.b;
}

static void
teardown(void)
{
	oom_teardown();
	fixture_close(&fx);
}

TestSuite(oom_api, .init = setup, .fini = teardown, .timeout = 240);

static const struct web_route *
route(const char *method, const char *pattern)
{
	const struct web_route *v, *r = NULL;
	size_t n, i;

	v = api_routes(&n);
	for (i = 0; i < n && r == NULL; i++)
		if (strcmp(v[i].method, method) == 0 &&
		    strcmp(v[i].pattern, pattern) == 0)
			r = &v[i];
	cr_assert_not_null(r, "%s %s", method, pattern);
	return r;
}

/* A request as web/request.c leaves it for the handler. */
struct call {
	struct web_req req;
	unsigned ok;		/* the status of success: 200, 204 */
	unsigned net;		/* not 0: each call from the next /24, so
				 * that no address limit answers */
	struct web_resp *resp;
	json_t *body;		/* the answer's */
};

static void
call_init(struct call *c, const char *method, const char *pattern)
{
	memset(c, 0, sizeof(*c));
	c->ok = 200;
	c->req.method = method;
	c->req.route = route(method, pattern);
	snprintf(c->req.remote, sizeof(c->req.remote), "192.0.2.1");
	snprintf(c->req.id, sizeof(c->req.id), "00000000000000aa");
}

/* Run the handler: 0 for success, TSS_E_NOMEM for a 500 or none. */
static int
call_run(struct call *c)
{
	unsigned status;

	if (c->net != 0) {
		c->net++;
		snprintf(c->req.remote, sizeof(c->req.remote), "10.%u.%u.1",
		    (c->net >> 8) & 255, c->net & 255);
	}
	c->resp = c->req.route->handler(&c->req, &api);
	status = web_resp_status(c->resp);
	cr_assert(status == c->ok || status == 500 || status == 0,
	    "HTTP %u: %.*s", status, c->resp != NULL ? (int)c->resp->len : 0,
	    c->resp != NULL ? c->resp->body : "");
	return status == c->ok ? 0 : TSS_E_NOMEM;
}

/* call_run as oom_walk's run: arg is a struct call, or begins with one. */
static int
call_walk(void *arg)
{
	return call_run(arg);
}

/* The value of the response's header name, or NULL. */
static const char *
call_header(const struct call *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->resp->nhdr; i++)
		if (strcmp(c->resp->hname[i], name) == 0)
			return c->resp->hval[i];
	return NULL;
}

/* The answer's body as JSON (c->body, when it has one), and the response
 * freed. */
static void
call_done(struct call *c, int r)
{
	c->body = NULL;
	if (r == 0 && c->resp->len > 0)
		cr_assert_not_null(c->body = json_loadb(c->resp->body,
		    c->resp->len, 0, NULL));
	web_resp_free(c->resp);
	c->resp = NULL;
}

/* Status, header names and body keys: the answer's shape. */
static char *
call_show(const struct call *c, const char *const *skip)
{
	json_t *a, *h, *b = NULL;
	size_t i;

	cr_assert_not_null(h = json_array());
	for (i = 0; i < c->resp->nhdr; i++)
		cr_assert_eq(json_array_append_new(h,
		    json_string(c->resp->hname[i])), 0);
	if (c->resp->len > 0)
		cr_assert_not_null(b = json_loadb(c->resp->body,
		    c->resp->len, 0, NULL));
	cr_assert_not_null(a = json_pack("{s:i, s:o, s:o?}", "status",
	    (int)c->resp->status, "headers", h, "body", b));
	return oom_json(a, skip);
}

/* An answer's recovery codes: all ten, each a whole code; body freed. */
static void
codes_shown(json_t *body)
{
	json_t *codes = json_object_get(body, "recovery_codes"), *e;
	size_t i;

	cr_assert_eq(json_array_size(codes), USER_RECOVERY_CODES,
	    "%zu recovery codes shown", json_array_size(codes));
	json_array_foreach(codes, i, e)
		cr_assert_eq(strlen(json_string_value(e)), RECOVERY_CODE_TEXT);
	json_decref(body);
}

/* For show: the answer with its codes counted (they are new each time). */
static char *
codes_counted(const struct call *c)
{
	json_t *b;

	cr_assert_not_null(b = json_loadb(c->resp->body, c->resp->len, 0,
	    NULL));
	cr_assert_eq(json_object_set_new(b, "recovery_codes",
	    json_integer((json_int_t)json_array_size(json_object_get(b,
	    "recovery_codes")))), 0);
	return oom_json(b, NULL);
}

/* ---- POST /v1/enroll/finish ---- */

struct enrollx {
	struct call c;
	char token[TOKEN_TEXT_LEN + 1];
	uint64_t events;
};

/* erin's enrollment started again, and the body of its finish. */
static void
enroll_again(struct enrollx *x, int create)
{
	struct enroll_start_result sr;
	struct store_txn *t;
	uint8_t *secret = NULL;
	size_t slen = 0;
	int64_t exp;
	char code[7];

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	if (create)
		cr_assert_eq(user_create(t, "erin", NULL, 0, NULL, fx.now,
		    x->token, &exp), 0);
	else
		cr_assert_eq(user_reset(t, "erin", NULL, fx.now, x->token,
		    &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(enroll_start(fx.b->auth, x->token, PASSWORD,
	    strlen(PASSWORD), "192.0.2.1", fx.now, &sr), 0);
	cr_assert_eq(b32_decode(sr.totp_secret, strlen(sr.totp_secret),
	    &secret, &slen), 0);
	cr_assert_eq(totp_generate(secret, slen, (int64_t)time(NULL), 6,
	    code), 0);
	free(secret);
	enroll_start_result_clear(&sr);
	json_decref(x->c.req.json);
	cr_assert_not_null(x->c.req.json = json_pack("{s:s, s:s}", "token",
	    x->token, "code", code));
	x->events = oom_count(fx.b->store, STORE_DB_AUDIT);
}

static void
enroll_check(void *arg, int r)
{
	struct enrollx *x = arg;

	call_done(&x->c, r);
	if (r == 0)
		codes_shown(x->c.body);
	/* Finished (the answer lost or not): a new enrollment for the
	 * next run. */
	if (oom_count(fx.b->store, STORE_DB_AUDIT) != x->events)
		enroll_again(x, 0);
}

static char *
enroll_show(void *arg)
{
	struct enrollx *x = arg;

	return codes_counted(&x->c);
}

Test(oom_api, enroll_finish)
{
	struct enrollx x;

	memset(&x, 0, sizeof(x));
	call_init(&x.c, "POST", "/v1/enroll/finish");
	x.c.net = 1;
	enroll_again(&x, 1);
	oom_walk("POST /v1/enroll/finish", call_walk, enroll_check, &x);
	oom_walk_nth("POST /v1/enroll/finish", call_walk, enroll_check,
	    enroll_show, &x);
	json_decref(x.c.req.json);
}

/* ---- GET /v1/me with a cookie ---- */

struct mex {
	struct call c;
	char token[TOKEN_TEXT_LEN + 1];
	char csrf[TOKEN_TEXT_LEN + 1];
};

static void
me_check(void *arg, int r)
{
	struct mex *x = arg;

	call_done(&x->c, r);
	if (r != 0)
		return;
	cr_assert_str_eq(json_string_value(json_object_get(x->c.body,
	    "csrf_token")), x->csrf, "/v1/me without its csrf_token");
	cr_assert_eq(json_array_size(json_object_get(x->c.body, "groups")),
	    1);
	json_decref(x->c.body);
}

static char *
me_show(void *arg)
{
	struct mex *x = arg;
	json_t *b;

	cr_assert_not_null(b = json_loadb(x->c.resp->body, x->c.resp->len, 0,
	    NULL));
	return oom_json(b, NULL);
}

Test(oom_api, me_with_a_cookie)
{
	struct store_txn *t;
	struct mex x;
	int64_t exp;

	memset(&x, 0, sizeof(x));
	call_init(&x.c, "GET", "/v1/me");
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", "192.0.2.1",
	    (int64_t)time(NULL), 1800, 43200, x.token, x.csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	x.c.req.token = x.token;
	x.c.req.auth = WEB_AUTH_COOKIE;
	oom_walk("GET /v1/me (cookie)", call_walk, me_check, &x);
	oom_walk_nth("GET /v1/me (cookie)", call_walk, me_check, me_show, &x);
}

/* ---- POST /v1/login, POST /v1/logout ---- */

/*
 * erin enrolled with PASSWORD and a TOTP secret; each login spends the
 * time step of its code, so a login that went through is followed by her
 * last step put back.
 */
struct loginx {
	struct call c;
	uint8_t secret[32];
	size_t slen;
	uint64_t sessions;
};

static void
erin_enrolled(struct loginx *x)
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	char token[TOKEN_TEXT_LEN + 1], code[7];
	struct store_txn *t;
	uint8_t *secret = NULL;
	int64_t exp;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_create(t, "erin", NULL, 0, NULL, fx.now, token,
	    &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(enroll_start(fx.b->auth, token, PASSWORD,
	    strlen(PASSWORD), "192.0.2.1", fx.now, &sr), 0);
	cr_assert_eq(b32_decode(sr.totp_secret, strlen(sr.totp_secret),
	    &secret, &x->slen), 0);
	cr_assert_leq(x->slen, sizeof(x->secret));
	memcpy(x->secret, secret, x->slen);
	free(secret);
	enroll_start_result_clear(&sr);
	cr_assert_eq(totp_generate(x->secret, x->slen, (int64_t)time(NULL),
	    6, code), 0);
	cr_assert_eq(enroll_finish(fx.b->auth, token, code, "192.0.2.1",
	    (int64_t)time(NULL), &fr), 0);
	enroll_finish_result_clear(&fr);
}

/* The body of a login with the code of now, from a step she has not
 * used. */
static void
login_body(struct loginx *x)
{
	struct store_txn *t;
	struct user *u = NULL;
	char code[7];

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_get(t, "erin", &u), 0);
	u->last_step = 0;
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	cr_assert_eq(totp_generate(x->secret, x->slen, (int64_t)time(NULL),
	    6, code), 0);
	json_decref(x->c.req.json);
	cr_assert_not_null(x->c.req.json = json_pack("{s:s, s:s, s:s}",
	    "username", "erin", "password", PASSWORD, "code", code));
	x->sessions = oom_count(fx.b->store, STORE_DB_SESSIONS);
}

static void
login_check(void *arg, int r)
{
	struct loginx *x = arg;
	const char *cookie = r == 0 ? call_header(&x->c, "Set-Cookie") :
	    NULL;

	if (r == 0)
		cr_assert(cookie != NULL && strncmp(cookie, WEB_COOKIE_NAME "=",
		    strlen(WEB_COOKIE_NAME) + 1) == 0, "a login without its "
		    "session cookie");
	call_done(&x->c, r);
	if (r == 0) {
		cr_assert_not_null(json_string_value(json_object_get(x->c.body,
		    "token")));
		json_decref(x->c.body);
	}
	/* In (the answer lost or not): her step back for the next run. */
	if (oom_count(fx.b->store, STORE_DB_SESSIONS) != x->sessions)
		login_body(x);
}

static char *
login_show(void *arg)
{
	static const char *const skip[] = { "token", "csrf_token",
	    "expires_at", NULL };
	struct loginx *x = arg;

	return call_show(&x->c, skip);
}

Test(oom_api, login_sets_the_cookie)
{
	struct loginx x;

	memset(&x, 0, sizeof(x));
	call_init(&x.c, "POST", "/v1/login");
	x.c.net = 1;
	erin_enrolled(&x);
	login_body(&x);
	oom_walk("POST /v1/login", call_walk, login_check, &x);
	oom_walk_nth("POST /v1/login", call_walk, login_check, login_show,
	    &x);
	json_decref(x.c.req.json);
}

/* A locked account: 429 with its Retry-After, or a 500. */
static void
locked_check(void *arg, int r)
{
	struct call *c = arg;
	const char *wait = r == 0 ? call_header(c, "Retry-After") : NULL;

	if (r == 0)
		cr_assert(wait != NULL && strcmp(wait, "3600") == 0,
		    "a 429 without its hour's Retry-After: %s",
		    wait != NULL ? wait : "none");
	call_done(c, r);
	json_decref(c->body);
}

static char *
locked_show(void *arg)
{
	return call_show(arg, NULL);
}

Test(oom_api, login_locked_says_how_long)
{
	struct store_txn *t;
	struct user *u = NULL;
	struct call c;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_get(t, "bob", &u), 0);
	u->locked = 1;
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	call_init(&c, "POST", "/v1/login");
	c.ok = 429;
	c.net = 1;
	cr_assert_not_null(c.req.json = json_pack("{s:s, s:s, s:s}",
	    "username", "bob", "password", PASSWORD, "code", "123456"));
	oom_walk("POST /v1/login (locked: 429)", call_walk, locked_check,
	    &c);
	oom_walk_nth("POST /v1/login (locked: 429)", call_walk, locked_check,
	    locked_show, &c);
	json_decref(c.req.json);
}

/* A logout ends the session (and clears the cookie), or answers 500 and
 * the session lives on. */
struct logoutx {
	struct call c;
	char token[TOKEN_TEXT_LEN + 1];
};

static void
new_session(struct logoutx *x)
{
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", "192.0.2.1",
	    (int64_t)time(NULL), 1800, 43200, x->token, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
}

static int
alive(const char *token)
{
	struct caller c;
	int r;

	if ((r = broker_caller(fx.b, token, (int64_t)time(NULL), &c)) == 0)
		caller_clear(&c);
	cr_assert(r == 0 || r == TSS_E_UNAUTHENTICATED);
	return r == 0;
}

static void
logout_check(void *arg, int r)
{
	struct logoutx *x = arg;

	if (r == 0)
		cr_assert_not_null(call_header(&x->c, "Set-Cookie"),
		    "a logout that leaves the cookie");
	call_done(&x->c, r);
	if (r == 0) {
		cr_assert(!alive(x->token), "logged out, session "
		    "alive");
		new_session(x);
	} else if (!alive(x->token))
		new_session(x);
}

static char *
logout_show(void *arg)
{
	struct logoutx *x = arg;

	return call_show(&x->c, NULL);
}

Test(oom_api, logout_ends_the_session)
{
	struct logoutx x;

	memset(&x, 0, sizeof(x));
	call_init(&x.c, "POST", "/v1/logout");
	x.c.ok = 204;
	x.c.req.token = x.token;
	x.c.req.auth = WEB_AUTH_BEARER;
	new_session(&x);
	oom_walk("POST /v1/logout", call_walk, logout_check, &x);
	oom_walk_nth("POST /v1/logout", call_walk, logout_check, logout_show,
	    &x);
}

/* ---- POST /v1/me/recovery-codes ---- */

/*
 * erin, signed in with a bearer token, asks for new codes with the code
 * of now; a run that went through spent that step and is followed by her
 * step put back.  Its answer carries all ten codes, or is a 500: never
 * fewer.
 */
struct rcx {
	struct loginx l;
	char token[TOKEN_TEXT_LEN + 1];
	uint64_t events;
};

static void
rc_body(struct rcx *x)
{
	json_t *j;

	login_body(&x->l);	/* her step back, the code of now */
	j = json_pack("{s:O}", "code", json_object_get(x->l.c.req.json,
	    "code"));
	cr_assert_not_null(j);
	json_decref(x->l.c.req.json);
	x->l.c.req.json = j;
	x->events = oom_count(fx.b->store, STORE_DB_AUDIT);
}

static void
rc_check(void *arg, int r)
{
	struct rcx *x = arg;

	call_done(&x->l.c, r);
	if (r == 0)
		codes_shown(x->l.c.body);
	if (oom_count(fx.b->store, STORE_DB_AUDIT) != x->events)
		rc_body(x);
}

static char *
rc_show(void *arg)
{
	struct rcx *x = arg;

	return codes_counted(&x->l.c);
}

Test(oom_api, recovery_codes_all_or_none)
{
	struct store_txn *t;
	struct rcx x;
	char csrf[TOKEN_TEXT_LEN + 1];
	int64_t exp;

	memset(&x, 0, sizeof(x));
	call_init(&x.l.c, "POST", "/v1/me/recovery-codes");
	x.l.c.net = 1;
	erin_enrolled(&x.l);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, "erin", "192.0.2.1",
	    (int64_t)time(NULL), 1800, 43200, x.token, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	x.l.c.req.token = x.token;
	x.l.c.req.auth = WEB_AUTH_BEARER;
	rc_body(&x);
	oom_walk("POST /v1/me/recovery-codes", call_walk, rc_check, &x);
	oom_walk_nth("POST /v1/me/recovery-codes", call_walk, rc_check,
	    rc_show, &x);
	json_decref(x.l.c.req.json);
}
