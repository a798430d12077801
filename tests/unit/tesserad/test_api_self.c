/*
 * tesserad/self_api: a user's own account over HTTPS (th.h): sessions
 * listed and ended (only one's own), password change and recovery
 * regeneration with real TOTP codes, their refusals (bad input 400,
 * wrong proof 401 and counted, CSRF 403) and that a refusal changes
 * nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/enroll.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "auth/user.h"
#include "bh.h"
#include "broker/broker.h"
#include "common/enc.h"
#include "store/store.h"
#include "th.h"

TestSuite(api_self, .init = th_setup, .fini = th_teardown, .timeout = 120);

#define PW	"carol's first passphrase"
#define NEWPW	"carol's second passphrase"

static uint8_t secret[20];

/* carol, enrolled for real with a code of the step before fx.now; her
 * session token in token. */
static void
carol(char *token)
{
	struct enroll_start_result sr;
	struct enroll_finish_result fr;
	struct store_txn *t;
	struct caller c;
	char et[TOKEN_TEXT_LEN + 1], code[7];
	uint8_t *raw = NULL;
	size_t rl = 0;
	int64_t exp;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_create(t, "carol", NULL, 0, NULL, fx.now, et, &exp),
	    0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(enroll_start(fx.b->auth, et, PW, strlen(PW), NULL,
	    fx.now, &sr), 0);
	cr_assert_eq(b32_decode(sr.totp_secret, strlen(sr.totp_secret), &raw,
	    &rl), 0);
	cr_assert_eq(rl, sizeof(secret));
	memcpy(secret, raw, rl);
	free(raw);
	enroll_start_result_clear(&sr);
	cr_assert_eq(totp_generate(secret, 20, fx.now - 30, 6, code), 0);
	cr_assert_eq(enroll_finish(fx.b->auth, et, code, NULL, fx.now, &fr),
	    0);
	enroll_finish_result_clear(&fr);
	bh_login(fx.b, "carol", fx.now, token, &c);
	caller_clear(&c);
}

static void
code_at(int64_t t, char out[7])
{
	cr_assert_eq(totp_generate(secret, 20, t, 6, out), 0);
}

static uint32_t
failures(void)
{
	struct store_txn *t;
	struct user *u;
	uint32_t n;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(user_get(t, "carol", &u), 0);
	n = u->failures;
	user_free(u);
	store_abort(t);
	return n;
}

Test(api_self, sessions_are_listed_and_ended_by_their_owner)
{
	char tok2[TOKEN_TEXT_LEN + 1], path[128], id[80];
	struct caller c;
	json_t *out, *s;
	size_t i, cur = 0;

	bh_login(fx.b, "alice", fx.now, tok2, &c);
	caller_clear(&c);
	cr_assert_eq(th_call("GET", "/v1/sessions", th_alice, NULL, NULL, NULL,
	    &out), 200);
	cr_assert_eq(json_array_size(json_object_get(out, "sessions")), 2);
	json_array_foreach(json_object_get(out, "sessions"), i, s) {
		cr_assert_eq(strlen(json_string_value(json_object_get(s,
		    "id"))), 64);
		cr_assert_str_eq(json_string_value(json_object_get(s,
		    "remote_addr")), "127.0.0.1");
		cr_assert(json_integer_value(json_object_get(s,
		    "expires_at")) > fx.now);
		if (json_is_true(json_object_get(s, "current")))
			cur++;
		else
			snprintf(id, sizeof(id), "%s", json_string_value(
			    json_object_get(s, "id")));
	}
	cr_assert_eq(cur, 1, "exactly one session is the caller's");
	json_decref(out);

	/* Bad ids; bob cannot end alice's session. */
	th_expect_error(th_call("DELETE", "/v1/sessions/xyz", th_alice, NULL,
	    NULL, NULL, NULL), 400, "bad_request", NULL);
	th_expect_error(th_call("DELETE", "/v1/sessions/"
	    "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
	    th_alice, NULL, NULL, NULL, NULL), 400, "bad_request", NULL);
	snprintf(path, sizeof(path), "/v1/sessions/%s", id);
	th_expect_error(th_call("DELETE", path, th_bob, NULL, NULL, NULL,
	    NULL), 404, "not_found", "you have no such session");
	cr_assert_eq(th_call("GET", "/v1/me", tok2, NULL, NULL, NULL, NULL),
	    200);
	th_expect_error(th_call("DELETE", path, NULL, NULL, NULL, NULL, NULL),
	    401, "unauthenticated", NULL);
	cr_assert_eq(th_call("DELETE", path, th_alice, NULL, NULL, NULL, NULL),
	    204);
	cr_assert_eq(th_call("GET", "/v1/me", tok2, NULL, NULL, NULL, NULL),
	    401);
	th_expect_error(th_call("DELETE", path, th_alice, NULL, NULL, NULL,
	    NULL), 404, "not_found", NULL);

	/* End all others: two more sessions go, this one stays. */
	bh_login(fx.b, "alice", fx.now, tok2, &c);
	caller_clear(&c);
	bh_login(fx.b, "alice", fx.now, tok2, &c);
	caller_clear(&c);
	cr_assert_eq(th_call("POST", "/v1/sessions/end-others", th_alice,
	    NULL, NULL, NULL, &out), 200);
	cr_assert_eq(json_integer_value(json_object_get(out, "ended")), 2);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/me", tok2, NULL, NULL, NULL, NULL),
	    401);
	cr_assert_eq(th_call("GET", "/v1/sessions", th_alice, NULL, NULL, NULL,
	    &out), 200);
	cr_assert_eq(json_array_size(json_object_get(out, "sessions")), 1);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/me", th_bob, NULL, NULL, NULL, NULL),
	    200, "bob's session is not alice's to end");
}

Test(api_self, cookie_callers_need_the_csrf_token)
{
	char cookie[TOKEN_TEXT_LEN + 40];
	const char *const hdr[] = { cookie, NULL };
	char tok[TOKEN_TEXT_LEN + 1];

	carol(tok);
	snprintf(cookie, sizeof(cookie), "Cookie: __Host-tessera=%s", tok);
	th_expect_error(th_call("POST", "/v1/sessions/end-others", NULL, hdr,
	    NULL, NULL, NULL), 403, "forbidden", NULL);
	th_expect_error(th_call("POST", "/v1/me/recovery-codes", NULL, hdr,
	    "{\"code\":\"123456\"}", NULL, NULL), 403, "forbidden", NULL);
	th_expect_error(th_call("POST", "/v1/me/password", NULL, hdr,
	    "{\"current_password\":\"" PW "\",\"code\":\"123456\","
	    "\"new_password\":\"" NEWPW "\"}", NULL, NULL), 403, "forbidden",
	    NULL);
	cr_assert_eq(failures(), 0, "refused before any check");
	cr_assert_eq(th_call("GET", "/v1/sessions", NULL, hdr, NULL, NULL,
	    NULL), 200, "reads need no CSRF token");
}

Test(api_self, password_change_proves_and_ends_sessions)
{
	char tok[TOKEN_TEXT_LEN + 1], body[512], code[7];
	const struct res *res;
	json_t *out;

	carol(tok);
	code_at(fx.now, code);
	/* Bad input: 400 naming it, nothing counted. */
	th_expect_error(th_call("POST", "/v1/me/password", tok, NULL,
	    "{\"current_password\":\"" PW "\"}", NULL, NULL), 400,
	    "bad_request", "current_password, code and new_password are "
	    "required strings");
	th_expect_error(th_call("POST", "/v1/me/password", tok, NULL,
	    "{\"current_password\":\"" PW "\",\"code\":\"1\","
	    "\"new_password\":\"" NEWPW "\",\"totp\":1}", NULL, NULL), 400,
	    "bad_request", NULL);
	th_expect_error(th_call("POST", "/v1/me/password", tok, NULL,
	    "{\"current_password\":\"" PW "\",\"code\":123456,"
	    "\"new_password\":\"" NEWPW "\"}", NULL, NULL), 400,
	    "bad_request", NULL);
	snprintf(body, sizeof(body), "{\"current_password\":\"%s\","
	    "\"code\":\"%s\",\"new_password\":\"short\"}", PW, code);
	th_expect_error(th_call("POST", "/v1/me/password", tok, NULL, body,
	    NULL, NULL), 400, "weak_password", NULL);
	cr_assert_eq(failures(), 0);
	/* Wrong password: 401, counted. */
	snprintf(body, sizeof(body), "{\"current_password\":\"not it at "
	    "all\",\"code\":\"%s\",\"new_password\":\"%s\"}", code, NEWPW);
	th_expect_error(th_call("POST", "/v1/me/password", tok, NULL, body,
	    NULL, NULL), 401, "invalid_credentials", "wrong password or code");
	cr_assert_eq(failures(), 1);
	cr_assert_eq(th_call("GET", "/v1/me", tok, NULL, NULL, NULL, NULL),
	    200, "a refusal ends nothing");
	/* Right: 204, the cookie cleared, the session gone. */
	snprintf(body, sizeof(body), "{\"current_password\":\"%s\","
	    "\"code\":\"%s\",\"new_password\":\"%s\"}", PW, code, NEWPW);
	cr_assert_eq(th_call("POST", "/v1/me/password", tok, NULL, body, &res,
	    NULL), 204);
	cr_assert_not_null(strstr(res->hdrs, "__Host-tessera=;"));
	cr_assert_eq(failures(), 0);
	cr_assert_eq(th_call("GET", "/v1/me", tok, NULL, NULL, NULL, NULL),
	    401);
	/* The new password logs in (code of the next step). */
	code_at(fx.now + 30, code);
	snprintf(body, sizeof(body), "{\"username\":\"carol\",\"password\":"
	    "\"%s\",\"code\":\"%s\"}", NEWPW, code);
	cr_assert_eq(th_call("POST", "/v1/login", NULL, NULL, body, NULL,
	    &out), 200);
	json_decref(out);
}

Test(api_self, recovery_codes_are_replaced_and_work_once)
{
	char tok[TOKEN_TEXT_LEN + 1], body[512], code[7];
	json_t *out, *list;

	carol(tok);
	th_expect_error(th_call("POST", "/v1/me/recovery-codes", tok, NULL,
	    "{}", NULL, NULL), 400, "bad_request", "code is a required string");
	th_expect_error(th_call("POST", "/v1/me/recovery-codes", tok, NULL,
	    "{\"code\":\"000000\"}", NULL, NULL), 401, "invalid_credentials",
	    NULL);
	code_at(fx.now - 30, code);	/* spent at enrollment */
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	th_expect_error(th_call("POST", "/v1/me/recovery-codes", tok, NULL,
	    body, NULL, NULL), 401, "invalid_credentials", NULL);
	cr_assert_eq(failures(), 2);
	code_at(fx.now, code);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	cr_assert_eq(th_call("POST", "/v1/me/recovery-codes", tok, NULL, body,
	    NULL, &out), 200);
	list = json_object_get(out, "recovery_codes");
	cr_assert_eq(json_array_size(list), USER_RECOVERY_CODES);
	cr_assert_eq(strlen(json_string_value(json_array_get(list, 0))),
	    RECOVERY_CODE_TEXT);
	cr_assert_eq(failures(), 0);
	cr_assert_eq(th_call("GET", "/v1/me", tok, NULL, NULL, NULL, NULL),
	    200, "regenerating ends no session");
	snprintf(body, sizeof(body), "{\"username\":\"carol\",\"password\":"
	    "\"%s\",\"code\":\"%s\"}", PW, json_string_value(
	    json_array_get(list, 4)));
	cr_assert_eq(th_call("POST", "/v1/login", NULL, NULL, body, NULL,
	    NULL), 200);
	th_expect_error(th_call("POST", "/v1/login", NULL, NULL, body, NULL,
	    NULL), 401, "invalid_credentials", NULL);
	json_decref(out);
}
