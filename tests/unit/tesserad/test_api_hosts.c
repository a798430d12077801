/*
 * tesserad/host_api over HTTPS (th.h: a real broker behind the real web
 * server, libcurl with real TLS): target fields, join tokens, joins,
 * renewals, GET /v1/hosts/self with its ETag, routes, a gateway's route
 * reports, and the rate limit on failed joins and reports.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "th.h"

TestSuite(api_hosts, .init = th_setup, .fini = th_teardown, .timeout = 120);

static void
put_box(void)
{
	json_t *out;

	cr_assert_eq(th_call("PUT", "/v1/targets/lab/box", th_root, NULL,
	    "{\"labels\":{\"env\":\"lab\"},\"hosts\":[\"box.lab\","
	    "\"127.0.0.1\"],\"port\":2222,\"gateway\":null}", NULL, &out),
	    200);
	bh_expect_json(json_object_get(out, "hosts"),
	    "[\"box.lab\",\"127.0.0.1\"]");
	cr_expect_eq(bh_int(out, "port"), 2222);
	json_decref(out);
}

/* A join token for lab/box: POST /v1/targets/lab/box/token as root. */
static char *
new_token(void)
{
	json_t *out;
	char *tok;

	cr_assert_eq(th_call("POST", "/v1/targets/lab/box/token", th_root,
	    NULL, "{\"ttl\":600}", NULL, &out), 201);
	cr_expect_str_eq(bh_str(out, "target"), "lab/box");
	tok = strdup(bh_str(out, "token"));
	json_decref(out);
	return tok;
}

/* The join body for token with fx.pubkey as the host key. */
static char *
join_body(const char *tok)
{
	char *s = NULL;

	cr_assert_geq(asprintf(&s, "{\"token\":\"%s\",\"public_key\":\"%s\"}",
	    tok, fx.pubkey), 0);
	return s;
}

Test(api_hosts, target_fields_are_checked_and_listed)
{
	json_t *out;

	put_box();
	th_expect_error(th_call("PUT", "/v1/targets/lab/box", th_root, NULL,
	    "{\"hosts\":[\"Box.Lab\"]}", NULL, NULL), 400, "bad_request",
	    "hosts[0]: an IPv4 or IPv6 address or a lowercase DNS name");
	th_expect_error(th_call("PUT", "/v1/targets/lab/box", th_root, NULL,
	    "{\"port\":0}", NULL, NULL), 400, "bad_request",
	    "port: an integer from 1 to 65535");
	th_expect_error(th_call("PUT", "/v1/targets/lab/box", th_root, NULL,
	    "{\"gateway\":\"gw1\"}", NULL, NULL), 400, "bad_request", NULL);
	/* .../route and .../token are API paths, never a target's name. */
	th_expect_error(th_call("PUT", "/v1/targets/lab/route", th_root, NULL,
	    "{}", NULL, NULL), 405, "method_not_allowed", NULL);
	cr_assert_eq(th_call("PUT", "/v1/targets/lab/gw", th_root, NULL,
	    "{\"gateway\":\"gw1.example:2222\"}", NULL, &out), 200);
	cr_expect_str_eq(bh_str(out, "gateway"), "gw1.example:2222");
	cr_expect_eq(bh_int(out, "port"), 22, "the default port");
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/targets", th_root, NULL, NULL, NULL,
	    &out), 200);
	cr_expect_eq(bh_int(json_array_get(json_object_get(out, "targets"),
	    0), "port"), 2222);
	json_decref(out);
}

Test(api_hosts, join_renew_and_self_over_https)
{
	const struct res *res;
	char *tok, *body, auth[128], etag[64], inm[128], ct[64];
	const char *bearer[2] = { auth, NULL }, *cond[3] = { auth, inm, NULL };
	json_t *out;

	put_box();
	th_expect_error(th_call("POST", "/v1/targets/lab/box/token", th_alice,
	    NULL, "{}", NULL, NULL), 403, "forbidden",
	    "a join token needs targets:write");
	tok = new_token();
	body = join_body(tok);
	cr_assert_eq(th_call("POST", "/v1/hosts/join", NULL, NULL, body, NULL,
	    &out), 201);
	bh_expect_json(json_object_get(out, "principals"),
	    "[\"box.lab\",\"127.0.0.1\"]");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    bh_str(out, "credential"));
	json_decref(out);
	th_expect_error(th_call("POST", "/v1/hosts/join", NULL, NULL, body,
	    NULL, NULL), 401, "invalid_credentials",
	    "join token or host credential unknown, used or expired");
	free(body);
	free(tok);

	cr_assert_gt(asprintf(&body, "{\"public_key\":\"%s\"}", fx.pubkey), 0);
	cr_assert_eq(th_call("POST", "/v1/hosts/renew", NULL, bearer, body,
	    NULL, &out), 201);
	cr_expect_null(json_object_get(out, "credential"));
	json_decref(out);
	th_expect_error(th_call("POST", "/v1/hosts/renew", th_alice, NULL,
	    body, NULL, NULL), 401, "invalid_credentials", NULL);
	free(body);

	cr_assert_eq(th_call("GET", "/v1/hosts/self", NULL, bearer, NULL, &res,
	    NULL), 200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "application/json");
	cr_assert_not_null(h_header(res, "ETag", etag, sizeof(etag)));
	cr_expect_eq(strncmp(res->body, "{\"hosts\":[\"box.lab\",\"127.0.0.1\"]"
	    ",\"logins\":[\"app\"],\"port\":2222,\"target\":\"lab/box\"}",
	    res->blen), 0, "%.*s", (int)res->blen, res->body);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	cr_expect_eq(th_call("GET", "/v1/hosts/self", NULL, cond, NULL, NULL,
	    NULL), 304);
	/* A new login granted on the target changes the answer. */
	cr_assert_eq(th_call("PUT", "/v1/roles/ops", th_root, NULL,
	    "{\"rules\":[{\"targets\":[\"lab/box\"],\"logins\":[\"ops\"]}]}",
	    NULL, NULL), 200);
	cr_expect_eq(th_call("GET", "/v1/hosts/self", NULL, cond, NULL, &res,
	    NULL), 200);
	cr_expect_not_null(strstr(res->body, "\"logins\":[\"app\",\"ops\"]"));
	th_expect_error(th_call("GET", "/v1/hosts/self", th_root, NULL, NULL,
	    NULL, NULL), 401, "invalid_credentials", NULL);
}

Test(api_hosts, route_is_for_who_may_reach_the_target)
{
	json_t *out;

	put_box();
	cr_assert_eq(th_call("GET", "/v1/targets/lab/box/route", th_alice,
	    NULL, NULL, NULL, &out), 200);
	bh_expect_json(out, "{\"gateway\":null,\"hosts\":[\"box.lab\","
	    "\"127.0.0.1\"],\"logins\":[\"app\"],\"port\":2222,"
	    "\"target\":\"lab/box\"}");
	json_decref(out);
	th_expect_error(th_call("GET", "/v1/targets/lab/box/route", th_bob,
	    NULL, NULL, NULL, NULL), 403, "forbidden",
	    "no role grants bob a login on lab/box");
	th_expect_error(th_call("GET", "/v1/targets/lab/box/route", NULL,
	    NULL, NULL, NULL, NULL), 401, "unauthenticated", NULL);
}

Test(api_hosts, failed_joins_are_rate_limited_per_address)
{
	char *body = join_body("tsj_0000");
	char *tok, *good;
	int i;

	put_box();
	for (i = 0; i < 20; i++)
		th_expect_error(th_call("POST", "/v1/hosts/join", NULL, NULL,
		    body, NULL, NULL), 401, "invalid_credentials", NULL);
	th_expect_error(th_call("POST", "/v1/hosts/join", NULL, NULL, body,
	    NULL, NULL), 429, "too_many_attempts", NULL);
	/* Before any work: even a good token waits. */
	tok = new_token();
	good = join_body(tok);
	th_expect_error(th_call("POST", "/v1/hosts/join", NULL, NULL, good,
	    NULL, NULL), 429, "too_many_attempts", NULL);
	free(good);
	free(tok);
	free(body);
}

Test(api_hosts, a_gateway_reports_routes_with_its_credential)
{
	char *tok, *body, auth[128];
	const char *bearer[2] = { auth, NULL };
	json_t *out;

	put_box();	/* lab/box is the gateway: hosts box.lab, port 2222 */
	cr_assert_eq(th_call("PUT", "/v1/targets/lab/app", th_root, NULL,
	    "{\"labels\":{\"env\":\"lab\"}}", NULL, NULL), 200);
	tok = new_token();
	body = join_body(tok);
	cr_assert_eq(th_call("POST", "/v1/hosts/join", NULL, NULL, body, NULL,
	    &out), 201);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    bh_str(out, "credential"));
	json_decref(out);
	free(body);
	free(tok);
	th_expect_error(th_call("POST", "/v1/hosts/routes", NULL, bearer,
	    "{\"targets\":[\"lab/app\",\"Bad Name\"]}", NULL, NULL), 400,
	    "bad_request", "targets[1]: a target name");
	th_expect_error(th_call("POST", "/v1/hosts/routes", NULL, bearer,
	    "{\"targets\":[\"lab/app\",\"lab/app\"]}", NULL, NULL), 400,
	    "bad_request", "targets[1]: lab/app is named twice");
	th_expect_error(th_call("POST", "/v1/hosts/routes", NULL, bearer,
	    "{\"target\":[]}", NULL, NULL), 400, "bad_request", NULL);
	th_expect_error(th_call("POST", "/v1/hosts/routes", th_root, NULL,
	    "{\"targets\":[\"lab/app\"]}", NULL, NULL), 401,
	    "invalid_credentials",
	    "join token or host credential unknown, used or expired");
	cr_assert_eq(th_call("GET", "/v1/targets/lab/app/route", th_alice,
	    NULL, NULL, NULL, &out), 200);
	cr_expect(json_is_null(json_object_get(out, "gateway")));
	json_decref(out);
	cr_assert_eq(th_call("POST", "/v1/hosts/routes", NULL, bearer,
	    "{\"targets\":[\"lab/app\"]}", NULL, &out), 200);
	bh_expect_json(out, "{\"gateway\":\"lab/box\",\"targets\":"
	    "[\"lab/app\"],\"unknown\":[]}");
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/targets/lab/app/route", th_alice,
	    NULL, NULL, NULL, &out), 200);
	bh_expect_json(out, "{\"gateway\":\"box.lab:2222\",\"hosts\":[],"
	    "\"logins\":[\"app\"],\"port\":22,\"target\":\"lab/app\"}");
	json_decref(out);
}

Test(api_hosts, failed_route_reports_count_with_joins_and_renewals)
{
	const char *bearer[2] = { "Authorization: Bearer tsh_0000", NULL };
	int i;

	for (i = 0; i < 20; i++)
		th_expect_error(th_call("POST", "/v1/hosts/routes", NULL,
		    bearer, "{\"targets\":[]}", NULL, NULL), 401,
		    "invalid_credentials", NULL);
	th_expect_error(th_call("POST", "/v1/hosts/routes", NULL, bearer,
	    "{\"targets\":[]}", NULL, NULL), 429, "too_many_attempts", NULL);
	/* One bucket: a join from the address waits too. */
	th_expect_error(th_call("POST", "/v1/hosts/join", NULL, NULL,
	    "{\"token\":\"tsj_0000\",\"public_key\":\"x\"}", NULL, NULL), 429,
	    "too_many_attempts", NULL);
}
