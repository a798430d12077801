/*
 * tesserad/api: the certificate and session endpoints over HTTPS (th.h:
 * a real broker behind the real web server, libcurl with real TLS).
 * Status codes and JSON bodies of POST /v1/certs, GET /v1/me,
 * GET /v1/certs, POST /v1/certs/<serial>/revoke, GET /v1/krl and
 * GET /v1/ca, GET /v1/ca/host and their ETags: what they answer, what they refuse and how, and that a
 * refusal stores nothing.  The admin and device endpoints are in
 * test_api_admin.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "auth/session.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "store/store.h"
#include "th.h"

TestSuite(api, .init = th_setup, .fini = th_teardown, .timeout = 120);

static int
in_ledger(uint64_t serial)
{
	struct cert_record rec;
	struct store_txn *t;
	int r;

	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	r = certs_get(t, serial, &rec);
	store_abort(t);
	cert_record_free(&rec);
	return r == 0;
}

/* A POST /v1/certs body for fx.pubkey with these extra members (JSON
 * text without braces, may be ""). */
static char *
cert_body(const char *extra)
{
	char *s = NULL;

	cr_assert_geq(asprintf(&s, "{\"public_key\":\"%s\"%s%s}", fx.pubkey,
	    *extra != '\0' ? "," : "", extra), 0);
	return s;
}

/* ---- POST /v1/certs ---- */

Test(api, issue_answers_201_with_the_certificate_once_committed)
{
	const struct res *res;
	struct sshkey *key = NULL;
	json_t *out, *c;
	char kid[48], *body = cert_body("\"target\":\"lab/box\",\"login\":"
	    "\"app\",\"ttl\":600");
	uint64_t serial;

	cr_assert_eq(th_call("POST", "/v1/certs", th_alice, NULL, body, &res,
	    &out), 201, "%s", res->body);
	free(body);
	cr_expect(h_security_headers_ok(res, 1));
	serial = (uint64_t)bh_int(out, "serial");
	snprintf(kid, sizeof(kid), "alice:%llu", (unsigned long long)serial);
	cr_expect_str_eq(bh_str(out, "key_id"), kid);
	bh_expect_json(json_object_get(out, "principals"), "[\"app@lab/box\"]");
	cr_expect_eq(bh_int(out, "valid_before") - bh_int(out, "valid_after"),
	    900);
	/* The answer left after the commit: the ledger has it now. */
	cr_expect(in_ledger(serial));
	cr_assert_eq(sshkey_parse_line(fx.pubkey, strlen(fx.pubkey), &key,
	    NULL), 0);
	c = bh_cert_decode(bh_str(out, "certificate"), key,
	    cakey_public(fx.b->ca));
	cr_expect_eq((uint64_t)bh_int(c, "serial"), serial);
	json_decref(c);
	sshkey_free(key);
	json_decref(out);

	cr_assert_eq(th_call("GET", "/metrics", TH_METRICS_TOKEN, NULL, NULL,
	    &res, NULL), 200);
	cr_expect_not_null(strstr(res->body,
	    "\ntessera_certificates_issued_total 1\n"), "%s", res->body);
}

Test(api, issue_with_bad_fields_is_400_naming_them)
{
	static const char *const bad[][3] = {
		{ "{}", "invalid_public_key",
		  "public_key: an authorized_keys line is required" },
		{ "{\"public_key\":7}", "invalid_public_key",
		  "public_key: an authorized_keys line is required" },
		{ "\"bogus\":1", "bad_request", "bogus: unknown field" },
		{ "\"target\":7", "bad_request",
		  "target and login must be strings" },
		{ "\"login\":[\"app\"]", "bad_request",
		  "target and login must be strings" },
		{ "\"ttl\":\"600\"", "bad_request",
		  "ttl: a positive integer number of seconds" },
		{ "\"ttl\":0", "bad_request",
		  "ttl: a positive integer number of seconds" },
		{ "\"ttl\":-5", "bad_request",
		  "ttl: a positive integer number of seconds" },
		{ "\"ttl\":1.5", "bad_request",
		  "ttl: a positive integer number of seconds" },
		{ "\"target\":\"Lab/Box\"", "bad_request", "target: malformed" },
		{ "\"login\":\"Root\"", "bad_request", "login: malformed" },
		{ "{\"public_key\":\"ssh-ed25519 AAAA\"}", "invalid_public_key",
		  "public_key: not a valid OpenSSH public key" },
		{ "{", "invalid_json", NULL },
	};
	uint64_t n = bh_count(fx.b->store, STORE_DB_CERTS);
	char *body;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = bad[i][0][0] == '{' ? strdup(bad[i][0]) :
		    cert_body(bad[i][0]);
		th_expect_error(th_call("POST", "/v1/certs", th_alice, NULL,
		    body, NULL, NULL), 400, bad[i][1], bad[i][2]);
		free(body);
	}
	/* A JSON route needs a body. */
	th_expect_error(th_call("POST", "/v1/certs", th_alice, NULL, NULL,
	    NULL, NULL), 400, "invalid_json", NULL);
	cr_expect_eq(bh_count(fx.b->store, STORE_DB_CERTS), n);
}

Test(api, issue_without_a_live_session_is_401)
{
	static const char *const bad[] = { "abc", "0000000000000000000000000000"
	    "000000000000000000000000000000000000" };
	char *body = cert_body("");
	const char *const cookie[] = { "Cookie: __Host-tessera=nope", NULL };
	struct store_txn *t;
	size_t i;

	th_expect_error(th_call("POST", "/v1/certs", NULL, NULL, body, NULL,
	    NULL), 401, "unauthenticated",
	    "log in first: no session token");
	for (i = 0; i < 2; i++)
		th_expect_error(th_call("POST", "/v1/certs", bad[i], NULL, body,
		    NULL, NULL), 401, "unauthenticated",
		    "session ended or unknown");
	th_expect_error(th_call("POST", "/v1/certs", NULL, cookie, body, NULL,
	    NULL), 401, "unauthenticated", "session ended or unknown");
	/* Logged out: the token is spent. */
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_end(t, th_alice, "127.0.0.1", fx.now), 0);
	cr_assert_eq(store_commit(t), 0);
	th_expect_error(th_call("POST", "/v1/certs", th_alice, NULL, body,
	    NULL, NULL), 401, "unauthenticated",
	    "session ended or unknown");
	cr_expect_eq(bh_count(fx.b->store, STORE_DB_CERTS), 0);
	free(body);
}

Test(api, issue_not_granted_is_403)
{
	char *body = cert_body("\"target\":\"lab/box\",\"login\":\"root\"");

	th_expect_error(th_issue(th_bob, NULL), 403, "forbidden",
	    "no binding grants app on lab/box");
	th_expect_error(th_call("POST", "/v1/certs", th_alice, NULL, body,
	    NULL, NULL), 403, "forbidden",
	    "no binding grants root on lab/box");
	free(body);
	cr_expect_eq(bh_count(fx.b->store, STORE_DB_CERTS), 0);
}

/* By cookie, a write needs the session's CSRF token and no foreign
 * Origin; by bearer it needs neither. */
Test(api, cookie_writes_need_the_csrf_token)
{
	char cookie[TOKEN_TEXT_LEN + 40], good[TOKEN_TEXT_LEN + 20];
	char csrf[TOKEN_TEXT_LEN + 1];
	const char *const none[] = { cookie, NULL };
	const char *const wrong[] = { cookie, "X-CSRF-Token: 0123", NULL };
	const char *const right[] = { cookie, good, NULL };
	const char *const cross[] = { cookie, good,
	    "Origin: https://evil.example", NULL };
	const char *const *refused[] = { none, wrong, cross };
	char *body = cert_body("");
	json_t *out;
	size_t i;

	snprintf(cookie, sizeof(cookie), "Cookie: __Host-tessera=%s",
	    th_alice);
	cr_assert_eq(session_csrf(th_alice, csrf), 0);
	snprintf(good, sizeof(good), "X-CSRF-Token: %s", csrf);
	for (i = 0; i < 3; i++)
		th_expect_error(th_call("POST", "/v1/certs", NULL, refused[i],
		    body, NULL, NULL), 403, "forbidden",
		    "cross-site request or missing X-CSRF-Token");
	cr_expect_eq(bh_count(fx.b->store, STORE_DB_CERTS), 0);
	cr_expect_eq(th_call("POST", "/v1/certs", NULL, right, body, NULL,
	    &out), 201);
	json_decref(out);
	free(body);
}

/* ---- GET /v1/me ---- */

Test(api, me_describes_the_caller)
{
	char cookie[TOKEN_TEXT_LEN + 40], csrf[TOKEN_TEXT_LEN + 1];
	const char *const by_cookie[] = { cookie, NULL };
	json_t *out;

	cr_assert_eq(th_call("GET", "/v1/me", th_alice, NULL, NULL, NULL,
	    &out), 200);
	bh_expect_json(out, "{\"access\":[{\"logins\":[\"app\"],\"max_ttl\":"
	    "3600,\"target\":\"lab/box\"}],\"groups\":[\"dev\"],\"max_ttl\":"
	    "3600,\"permissions\":[],\"roles\":[\"dev\"],\"username\":"
	    "\"alice\"}");
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/me", th_bob, NULL, NULL, NULL, &out),
	    200);
	bh_expect_json(out, "{\"access\":[],\"groups\":[],\"max_ttl\":null,"
	    "\"permissions\":[],\"roles\":[],\"username\":\"bob\"}");
	json_decref(out);
	/* An admin's permissions, for the console to show what it may. */
	cr_assert_eq(th_call("GET", "/v1/me", th_root, NULL, NULL, NULL, &out),
	    200);
	bh_expect_json(json_object_get(out, "permissions"), "[\"*\"]");
	json_decref(out);
	/* A cookie session gets its CSRF token back (after a reload). */
	snprintf(cookie, sizeof(cookie), "Cookie: __Host-tessera=%s",
	    th_alice);
	cr_assert_eq(session_csrf(th_alice, csrf), 0);
	cr_assert_eq(th_call("GET", "/v1/me", NULL, by_cookie, NULL, NULL,
	    &out), 200);
	cr_expect_str_eq(bh_str(out, "csrf_token"), csrf);
	json_decref(out);
	th_expect_error(th_call("GET", "/v1/me", NULL, NULL, NULL, NULL, NULL),
	    401, "unauthenticated", "log in first: no session token");
}

/* ---- GET /v1/certs, revoke ---- */

Test(api, certs_list_is_the_callers_own_unless_users_read)
{
	json_t *out, *list;
	uint64_t serial;

	cr_assert_eq(th_issue(th_alice, &out), 201);
	serial = (uint64_t)bh_int(out, "serial");
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/certs", th_alice, NULL, NULL, NULL,
	    &out), 200);
	list = json_object_get(out, "certificates");
	cr_assert_eq(json_array_size(list), 1);
	cr_expect_eq((uint64_t)bh_int(json_array_get(list, 0), "serial"),
	    serial);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/certs?user=alice", th_root, NULL,
	    NULL, NULL, &out), 200);
	cr_expect_eq(json_array_size(json_object_get(out, "certificates")), 1);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/certs", th_bob, NULL, NULL, NULL,
	    &out), 200);
	bh_expect_json(out, "{\"certificates\":[],\"next\":null}");
	json_decref(out);
	th_expect_error(th_call("GET", "/v1/certs?user=alice", th_bob, NULL,
	    NULL, NULL, NULL), 403, "forbidden",
	    "listing another user's certificates needs users:read");
	/* root has none of its own; all=true lists alice's too. */
	cr_assert_eq(th_call("GET", "/v1/certs", th_root, NULL, NULL, NULL,
	    &out), 200);
	bh_expect_json(out, "{\"certificates\":[],\"next\":null}");
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/certs?all=true", th_root, NULL,
	    NULL, NULL, &out), 200);
	list = json_object_get(out, "certificates");
	cr_assert_eq(json_array_size(list), 1);
	cr_expect_str_eq(bh_str(json_array_get(list, 0), "username"), "alice");
	json_decref(out);
	th_expect_error(th_call("GET", "/v1/certs?all=true", th_bob, NULL,
	    NULL, NULL, NULL), 403, "forbidden",
	    "listing another user's certificates needs users:read");
	/* With all, user is one more filter. */
	cr_assert_eq(th_call("GET", "/v1/certs?all=true&user=alice&state=valid"
	    "&target=lab/box&limit=1", th_root, NULL, NULL, NULL, &out), 200);
	cr_assert_eq(json_array_size(json_object_get(out, "certificates")), 1);
	cr_expect(json_is_null(json_object_get(out, "next")));
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/certs?all=true&state=revoked", th_root,
	    NULL, NULL, NULL, &out), 200);
	bh_expect_json(out, "{\"certificates\":[],\"next\":null}");
	json_decref(out);
	/* A bad parameter is named. */
	{
		static const char *const bad[][2] = {
			{ "user=Alice", "user: not a user name" },
			{ "target=lab//box", "target: not a target name" },
			{ "state=live", "state: valid, expired or revoked" },
			{ "before=0", "before: a serial number" },
			{ "before=x1", "before: a serial number" },
			{ "limit=0", "limit: 1 to 1000" },
			{ "limit=1001", "limit: 1 to 1000" },
		};
		char q[64];
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(q, sizeof(q), "/v1/certs?all=true&%s",
			    bad[i][0]);
			th_expect_error(th_call("GET", q, th_root, NULL, NULL,
			    NULL, NULL), 400, "bad_request", bad[i][1]);
		}
	}
	th_expect_error(th_call("GET", "/v1/certs", NULL, NULL, NULL, NULL,
	    NULL), 401, "unauthenticated", NULL);
}

Test(api, revoke_is_the_owners_or_needs_certs_revoke)
{
	const struct res *res;
	char path[64], rid[32];
	json_t *out, *e;
	uint64_t serial, seq;

	cr_assert_eq(th_issue(th_alice, &out), 201);
	serial = (uint64_t)bh_int(out, "serial");
	json_decref(out);
	snprintf(path, sizeof(path), "/v1/certs/%llu/revoke",
	    (unsigned long long)serial);
	th_expect_error(th_call("POST", path, th_bob, NULL, NULL, NULL, NULL),
	    403, "forbidden",
	    "revoking another user's certificate needs certs:revoke");
	th_expect_error(th_call("POST", path, NULL, NULL, NULL, NULL, NULL),
	    401, "unauthenticated", NULL);
	th_expect_error(th_call("POST", "/v1/certs/abc/revoke", th_alice, NULL,
	    NULL, NULL, NULL), 400, "bad_request",
	    "serial: expected a positive integer");
	th_expect_error(th_call("POST", "/v1/certs/12345/revoke", th_alice,
	    NULL, NULL, NULL, NULL), 404, "not_found", "not found");

	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(th_call("POST", path, th_alice, NULL, NULL, &res, &out),
	    200);
	cr_assert_not_null(h_header(res, "X-Request-Id", rid, sizeof(rid)));
	snprintf(path, sizeof(path), "{\"revoked\":true,\"serial\":%llu}",
	    (unsigned long long)serial);
	bh_expect_json(out, path);
	json_decref(out);
	cr_assert_not_null(e = bh_audit_find(fx.b->store, seq, "cert.revoke"));
	cr_expect_str_eq(bh_str(e, "actor"), "alice");
	cr_expect_str_eq(bh_str(e, "remote_addr"), "127.0.0.1");
	cr_expect_str_eq(bh_str(e, "request_id"), rid);
	json_decref(e);
	/* Once only. */
	snprintf(path, sizeof(path), "/v1/certs/%llu/revoke",
	    (unsigned long long)serial);
	th_expect_error(th_call("POST", path, th_alice, NULL, NULL, NULL,
	    NULL), 409, "conflict", "already revoked");
}

/* ---- GET /v1/krl, GET /v1/ca ---- */

/* ssh-keygen -Q: is the certificate in file cert revoked by the KRL of
 * res?  1 revoked, 0 not. */
static int
krl_revokes(const struct res *res, const char *cert)
{
	char krl[512], cmd[1200];
	FILE *f;
	int st;

	fixture_path(&fx, krl, sizeof(krl), "krl");
	cr_assert_not_null(f = fopen(krl, "wb"));
	cr_assert_eq(fwrite(res->body, 1, res->blen, f), res->blen);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -Q -f '%s' '%s' >/dev/null 2>&1",
	    krl, cert);
	st = system(cmd);
	cr_assert(WIFEXITED(st), "ssh-keygen -Q: %d", st);
	return WEXITSTATUS(st) != 0;
}

Test(api, krl_lists_what_was_revoked)
{
	const struct res *res;
	char ct[64], cert[512], path[64];
	json_t *out;
	FILE *f;

	cr_assert_eq(th_issue(th_alice, &out), 201);
	fixture_path(&fx, cert, sizeof(cert), "id-cert.pub");
	cr_assert_not_null(f = fopen(cert, "w"));
	fprintf(f, "%s\n", bh_str(out, "certificate"));
	fclose(f);
	snprintf(path, sizeof(path), "/v1/certs/%lld/revoke",
	    (long long)bh_int(out, "serial"));
	json_decref(out);

	cr_assert_eq(th_call("GET", "/v1/krl", NULL, NULL, NULL, &res, NULL),
	    200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "application/octet-stream");
	cr_assert_gt(res->blen, 8);
	cr_expect_eq(memcmp(res->body, "SSHKRL\n\0", 8), 0);
	cr_expect_eq(krl_revokes(res, cert), 0);

	cr_assert_eq(th_call("POST", path, th_alice, NULL, NULL, NULL, NULL),
	    200);
	cr_assert_eq(th_call("GET", "/v1/krl", NULL, NULL, NULL, &res, NULL),
	    200);
	cr_expect_eq(krl_revokes(res, cert), 1);
}

Test(api, ca_is_the_signing_key)
{
	const struct res *res;
	struct sshkey *key = NULL;
	char ct[64], *comment = NULL;

	cr_assert_eq(th_call("GET", "/v1/ca", NULL, NULL, NULL, &res, NULL),
	    200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "text/plain; charset=utf-8");
	cr_assert_gt(res->blen, 1);
	cr_expect_eq(res->body[res->blen - 1], '\n');
	cr_expect_eq(strchr(res->body, '\n'), res->body + res->blen - 1,
	    "one line");
	cr_assert_eq(sshkey_parse_line(res->body, res->blen, &key, &comment),
	    0);
	cr_expect_str_eq(comment, "tessera-ca");
	cr_expect(sshkey_equal(key, cakey_public(fx.b->ca)));
	free(comment);
	sshkey_free(key);
}

/* ---- GET /metrics on the API port ---- */

Test(api, metrics_answer_only_the_metrics_token)
{
	static const char *const cookie[] = {
	    "Cookie: __Host-tessera=" TH_METRICS_TOKEN, NULL };
	const struct res *res;
	char ct[64];

	cr_assert_eq(th_call("GET", "/metrics", NULL, NULL, NULL, &res, NULL),
	    401);
	th_expect_error(401, 401, "unauthenticated", NULL);
	/* A user's session is not the metrics token. */
	cr_assert_eq(th_call("GET", "/metrics", th_root, NULL, NULL, &res,
	    NULL), 401);
	cr_assert_eq(th_call("GET", "/metrics", TH_METRICS_TOKEN "x", NULL,
	    NULL, &res, NULL), 401);
	cr_assert_eq(th_call("GET", "/metrics", "th-metrics", NULL, NULL,
	    &res, NULL), 401);
	/* The token as a cookie is no bearer token. */
	cr_assert_eq(th_call("GET", "/metrics", NULL, cookie, NULL, &res,
	    NULL), 401);
	cr_assert_eq(th_call("GET", "/metrics", TH_METRICS_TOKEN, NULL, NULL,
	    &res, NULL), 200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "text/plain; version=0.0.4; charset=utf-8");
	cr_expect_not_null(strstr(res->body,
	    "# TYPE tessera_certificates_issued_total counter\n"), "%s",
	    res->body);
	cr_expect_not_null(strstr(res->body, "tessera_store_bytes{kind=\"map\"}"),
	    "%s", res->body);
}

/* ---- GET /v1/ca/host and conditional GETs ---- */

Test(api, ca_host_is_the_host_ca_as_a_known_hosts_line)
{
	const struct res *res;
	struct sshkey *key = NULL;
	char ct[64], *comment = NULL;
	const char *pfx = "@cert-authority * ";

	cr_assert_eq(th_call("GET", "/v1/ca/host", NULL, NULL, NULL, &res,
	    NULL), 200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "text/plain; charset=utf-8");
	cr_assert_gt(res->blen, strlen(pfx));
	cr_assert_eq(memcmp(res->body, pfx, strlen(pfx)), 0, "%.*s",
	    (int)res->blen, res->body);
	cr_expect_eq(strchr(res->body, '\n'), res->body + res->blen - 1,
	    "one line");
	cr_assert_eq(sshkey_parse_line(res->body + strlen(pfx),
	    res->blen - strlen(pfx), &key, &comment), 0);
	cr_expect_str_eq(comment, "tessera-host-ca");
	cr_expect(sshkey_equal(key, cakey_public(fx.b->host_ca)));
	cr_expect_not(sshkey_equal(key, cakey_public(fx.b->ca)),
	    "never the user CA");
	free(comment);
	sshkey_free(key);
}

Test(api, ca_host_without_a_host_ca_is_404_saying_so)
{
	struct cakey *hca = fx.b->host_ca;
	long st;

	fx.b->host_ca = NULL;	/* as broker_open leaves it without the key */
	st = th_call("GET", "/v1/ca/host", NULL, NULL, NULL, NULL, NULL);
	fx.b->host_ca = hca;
	th_expect_error(st, 404, "not_found",
	    "no host CA is configured (host_ca_key)");
}

/* GET path with If-None-Match inm (NULL: none); the ETag into etag. */
static long
get_cond(const char *path, const char *inm, char etag[64],
    const struct res **resp)
{
	char hdr[256], cc[64];
	const char *hdrs[2] = { hdr, NULL };
	const struct res *res;
	long st;

	snprintf(hdr, sizeof(hdr), "If-None-Match: %s", inm);
	st = th_call("GET", path, NULL, inm != NULL ? hdrs : NULL, NULL, &res,
	    NULL);
	cr_assert_not_null(h_header(res, "ETag", etag, 64), "%s: no ETag",
	    path);
	cr_expect_eq(strlen(etag), 34, "%s", etag);
	cr_expect_eq(etag[0], '"');
	cr_expect_str_eq(h_header(res, "Cache-Control", cc, sizeof(cc)),
	    "max-age=10", "%s", path);
	if (resp != NULL)
		*resp = res;
	return st;
}

Test(api, ca_ca_host_and_krl_answer_if_none_match_with_304)
{
	static const char *const paths[] = { "/v1/ca", "/v1/ca/host",
	    "/v1/krl" };
	const struct res *res;
	char etag[64], again[64], inm[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(get_cond(paths[i], NULL, etag, &res), 200);
		cr_assert_gt(res->blen, 0);
		cr_expect_eq(get_cond(paths[i], etag, again, &res), 304,
		    "%s", paths[i]);
		cr_expect_str_eq(again, etag);
		cr_expect_eq(res->blen, 0, "a 304 has no body");
		snprintf(inm, sizeof(inm), "\"0123\", W/%s", etag);
		cr_expect_eq(get_cond(paths[i], inm, again, NULL), 304,
		    "a list with the weak form: %s", inm);
		cr_expect_eq(get_cond(paths[i], "*", again, NULL), 304);
		cr_expect_eq(get_cond(paths[i], "\"0123\"", again, &res), 200);
		cr_expect_gt(res->blen, 0);
		cr_expect_str_eq(again, etag);
		snprintf(inm, sizeof(inm), "%.20s", etag);	/* cut short */
		cr_expect_eq(get_cond(paths[i], inm, again, NULL), 200);
	}
}

Test(api, krl_bytes_change_only_with_a_revocation)
{
	const struct res *res;
	char etag[64], again[64], path[64];
	json_t *out;

	cr_assert_eq(get_cond("/v1/krl", NULL, etag, NULL), 200);
	/* Writes that revoke nothing (an issuance) leave the KRL alone. */
	cr_assert_eq(th_issue(th_alice, &out), 201);
	cr_expect_eq(get_cond("/v1/krl", etag, again, NULL), 304);
	snprintf(path, sizeof(path), "/v1/certs/%lld/revoke",
	    (long long)bh_int(out, "serial"));
	json_decref(out);
	cr_assert_eq(th_call("POST", path, th_alice, NULL, NULL, NULL, NULL),
	    200);
	cr_expect_eq(get_cond("/v1/krl", etag, again, &res), 200,
	    "the revocation changed the KRL");
	cr_expect_gt(res->blen, 0);
	cr_expect_str_neq(again, etag);
	memcpy(etag, again, sizeof(etag));
	cr_expect_eq(get_cond("/v1/krl", etag, again, NULL), 304);
}
