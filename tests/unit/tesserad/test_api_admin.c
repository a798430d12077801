/*
 * tesserad/api, admin and device: the admin endpoints and the device flow
 * over HTTPS (th.h: a real broker behind the real web server, libcurl
 * with real TLS).  Admin listings answer 200 with the permission, 403
 * without, 401 without a session; writes answer 201, 200 or 204, and
 * their refusals the status and body of their error.  The device flow is
 * walked from the request to the certificate.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "store/store.h"
#include "th.h"

TestSuite(api_admin, .init = th_setup, .fini = th_teardown, .timeout = 120);

/* ---- listings ---- */

Test(api_admin, listings_need_their_permission)
{
	static const char *const lists[][2] = {
		{ "/v1/users", "users" },
		{ "/v1/targets", "targets" },
		{ "/v1/roles", "roles" },
		{ "/v1/bindings", "bindings" },
		{ "/v1/audit?after=1&limit=2", "events" },
		{ "/v1/audit?order=newest&before=3&actor=root", "events" },
		{ "/v1/audit/verify", "ok" },
		{ "/v1/check?user=alice&target=lab/box&login=app", "allowed" },
		{ "/v1/users/alice", "username" },
		{ "/v1/roles/dev", "rules" },
	};
	json_t *out;
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cr_expect_eq(th_call("GET", lists[i][0], th_root, NULL, NULL,
		    NULL, &out), 200, "%s", lists[i][0]);
		cr_expect_not_null(json_object_get(out, lists[i][1]), "%s",
		    lists[i][0]);
		json_decref(out);
		th_expect_error(th_call("GET", lists[i][0], th_bob, NULL, NULL,
		    NULL, NULL), 403, "forbidden", "forbidden");
		th_expect_error(th_call("GET", lists[i][0], NULL, NULL, NULL,
		    NULL, NULL), 401, "unauthenticated",
		    "log in first: no session token");
	}
	cr_assert_eq(th_call("GET", "/v1/audit?after=1&limit=2", th_root, NULL,
	    NULL, NULL, &out), 200);
	cr_expect_eq(json_array_size(json_object_get(out, "events")), 2);
	cr_expect_eq(bh_int(json_array_get(json_object_get(out, "events"), 0),
	    "seq"), 2);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/audit?order=newest&before=3&limit=1",
	    th_root, NULL, NULL, NULL, &out), 200);
	cr_expect_eq(bh_int(json_array_get(json_object_get(out, "events"), 0),
	    "seq"), 2);
	cr_expect_eq(bh_int(out, "next"), 2);
	json_decref(out);
	cr_assert_eq(th_call("GET", "/v1/audit/verify", th_root, NULL, NULL,
	    NULL, &out), 200);
	cr_expect(json_is_true(json_object_get(out, "ok")));
	json_decref(out);
}

Test(api_admin, audit_verify_is_rate_limited_with_retry_after)
{
	const struct res *res = NULL;
	char ra[16];
	long st = 0, secs;
	int i;

	/* Root's verifications of the minute, then 429 with Retry-After. */
	for (i = 0; i <= BROKER_VERIFY_BURST; i++)
		if ((st = th_call("GET", "/v1/audit/verify", th_root, NULL,
		    NULL, &res, NULL)) != 200)
			break;
	cr_expect_eq(i, BROKER_VERIFY_BURST);
	th_expect_error(st, 429, "too_many_attempts",
	    "at most 6 verifications of the audit chain a minute");
	cr_assert_not_null(h_header(res, "Retry-After", ra, sizeof(ra)));
	secs = strtol(ra, NULL, 10);
	cr_expect(secs >= 1 && secs <= BROKER_VERIFY_INTERVAL, "Retry-After: %s",
	    ra);
}

Test(api_admin, check_and_oneself)
{
	json_t *out = NULL;

	cr_assert_eq(th_call("GET", "/v1/check?user=alice&target=lab/box&"
	    "login=app", th_root, NULL, NULL, NULL, &out), 200);
	cr_expect(json_is_true(json_object_get(out, "allowed")));
	json_decref(out);
	/* Oneself needs no permission. */
	cr_expect_eq(th_call("GET", "/v1/users/bob", th_bob, NULL, NULL, NULL,
	    NULL), 200);
}

Test(api_admin, listing_refusals_have_their_status)
{
	th_expect_error(th_call("GET", "/v1/audit?limit=0", th_root, NULL, NULL,
	    NULL, NULL), 400, "bad_request",
	    "after: a sequence number; limit: 1 to 1000");
	th_expect_error(th_call("GET", "/v1/audit?order=newest&before=-1",
	    th_root, NULL, NULL, NULL, NULL), 400, "bad_request",
	    "before: a sequence number");
	th_expect_error(th_call("GET", "/v1/audit?until=yesterday", th_root,
	    NULL, NULL, NULL, NULL), 400, "bad_request",
	    "until: a UTC time as 2026-12-07T03:40:00Z");
	th_expect_error(th_call("GET", "/v1/check?user=alice", th_root, NULL,
	    NULL, NULL, NULL), 400, "bad_request",
	    "user, target and login are required");
	th_expect_error(th_call("GET", "/v1/users/zed", th_root, NULL, NULL,
	    NULL, NULL), 404, "not_found", "not found");
	th_expect_error(th_call("GET", "/v1/roles/zed", th_root, NULL, NULL,
	    NULL, NULL), 404, "not_found", "not found");
}

/* ---- writes ---- */

Test(api_admin, user_writes_answer_201_200_204)
{
	const struct res *res;
	json_t *out;

	cr_assert_eq(th_call("POST", "/v1/users", th_root, NULL,
	    "{\"username\":\"carol\",\"groups\":[\"ops\"]}", NULL, &out), 201);
	cr_expect_str_eq(bh_str(out, "username"), "carol");
	cr_expect_not_null(bh_str(out, "enroll_url"));
	cr_expect_not_null(strstr(bh_str(out, "enroll_qr_svg"), "</svg>"));
	json_decref(out);
	th_expect_error(th_call("POST", "/v1/users", th_root, NULL,
	    "{\"username\":\"carol\"}", NULL, NULL), 409, "conflict",
	    "user carol exists");
	th_expect_error(th_call("POST", "/v1/users", th_bob, NULL,
	    "{\"username\":\"dave\"}", NULL, NULL), 403, "forbidden",
	    "forbidden");
	th_expect_error(th_call("POST", "/v1/users", th_root, NULL,
	    "{\"username\":\"Dave\"}", NULL, NULL), 400, "bad_request",
	    "username: expected [a-z_][a-z0-9_.-], at most 32 bytes");

	cr_assert_eq(th_call("PATCH", "/v1/users/carol", th_root, NULL,
	    "{\"disabled\":true}", NULL, &out), 200);
	cr_expect(json_is_true(json_object_get(out, "disabled")));
	json_decref(out);
	cr_assert_eq(th_call("POST", "/v1/users/carol/unlock", th_root, NULL,
	    NULL, NULL, &out), 200);
	cr_expect(json_is_false(json_object_get(out, "locked")));
	json_decref(out);
	th_expect_error(th_call("POST", "/v1/users/carol/unlock", th_bob, NULL,
	    NULL, NULL, NULL), 403, "forbidden", "forbidden");
	th_expect_error(th_call("POST", "/v1/users/zed/unlock", th_root, NULL,
	    NULL, NULL, NULL), 404, "not_found", "not found");
	cr_assert_eq(th_call("POST", "/v1/users/carol/reset", th_root, NULL,
	    NULL, NULL, &out), 200);
	cr_expect_eq(bh_int(out, "revoked_certificates"), 0);
	json_decref(out);
	cr_assert_eq(th_call("DELETE", "/v1/users/carol", th_root, NULL, NULL,
	    &res, NULL), 204);
	cr_expect_eq(res->blen, 0);
	th_expect_error(th_call("DELETE", "/v1/users/carol", th_root, NULL,
	    NULL, NULL, NULL), 404, "not_found", "not found");
	th_expect_error(th_call("DELETE", "/v1/users/root", th_root, NULL,
	    NULL, NULL, NULL), 403, "forbidden",
	    "you cannot delete your own account");
}

/* A group named twice is refused with the element named. */
Test(api_admin, user_with_a_group_twice_is_400_naming_it)
{
	th_expect_error(th_call("POST", "/v1/users", th_root, NULL,
	    "{\"username\":\"carol\",\"groups\":[\"ops\",\"ops\"]}", NULL,
	    NULL), 400, "bad_request", "groups[1]: ops is listed twice");
}

Test(api_admin, policy_writes_answer_200_201_204)
{
	const struct res *res;
	char path[48], ct[64];
	json_t *out;
	uint64_t id;

	cr_assert_eq(th_call("PUT", "/v1/targets/prod/db", th_root, NULL,
	    "{\"labels\":{\"env\":\"prod\"}}", NULL, &out), 200);
	cr_expect_str_eq(bh_str(out, "name"), "prod/db");
	cr_expect_str_eq(bh_str(out, "updated_by"), "root");
	json_decref(out);
	th_expect_error(th_call("PUT", "/v1/targets/prod/db", th_bob, NULL,
	    "{\"labels\":{}}", NULL, NULL), 403, "forbidden",
	    "needs the targets:write permission");
	cr_assert_eq(th_call("DELETE", "/v1/targets/prod/db", th_root, NULL,
	    NULL, &res, NULL), 204);
	cr_expect_eq(res->blen, 0);
	th_expect_error(th_call("DELETE", "/v1/targets/prod/db", th_root, NULL,
	    NULL, NULL, NULL), 404, "not_found", "no such target");
	th_expect_error(th_call("DELETE", "/v1/targets/lab/box", th_root, NULL,
	    NULL, NULL, NULL), 409, "conflict", "target lab/box is matched by "
	    "role dev rule 0; delete with force to remove it anyway");

	cr_assert_eq(th_call("PUT", "/v1/roles/ops", th_root, NULL,
	    "{\"rules\":[{\"targets\":[\"lab/*\"],\"logins\":[\"ops\"]}]}",
	    NULL, &out), 200);
	cr_expect_eq(bh_int(out, "max_ttl"), 3600);
	json_decref(out);
	cr_assert_eq(th_call("POST", "/v1/bindings", th_root, NULL,
	    "{\"role\":\"ops\",\"subject\":\"user:bob\"}", NULL, &out), 201);
	id = (uint64_t)bh_int(out, "id");
	cr_expect_str_eq(bh_str(out, "subject"), "user:bob");
	json_decref(out);
	th_expect_error(th_call("DELETE", "/v1/roles/ops", th_root, NULL, NULL,
	    NULL, NULL), 409, "conflict", NULL);
	snprintf(path, sizeof(path), "/v1/bindings/%llu",
	    (unsigned long long)id);
	cr_expect_eq(th_call("DELETE", path, th_root, NULL, NULL, NULL, NULL),
	    204);
	th_expect_error(th_call("DELETE", "/v1/bindings/abc", th_root, NULL,
	    NULL, NULL, NULL), 400, "bad_request",
	    "binding id: expected a positive integer");
	cr_expect_eq(th_call("DELETE", "/v1/roles/ops?force=true", th_root,
	    NULL, NULL, NULL, NULL), 204);

	cr_assert_eq(th_call("GET", "/v1/targets/lab/box/sshd", th_root, NULL,
	    NULL, &res, NULL), 200);
	cr_expect_str_eq(h_header(res, "Content-Type", ct, sizeof(ct)),
	    "text/plain; charset=utf-8");
	cr_expect_not_null(strstr(res->body, "\nTrustedUserCAKeys "));
	cr_expect_not_null(strstr(res->body, "\napp@lab/box\n"));
	th_expect_error(th_call("GET", "/v1/targets/lab/box/sshd", th_bob,
	    NULL, NULL, NULL, NULL), 403, "forbidden", "forbidden");
}

/* ---- device flow ---- */

Test(api_admin, device_flow_from_request_to_certificate)
{
	char body[2048], path[96], code[16], token[128];
	json_t *out;

	snprintf(body, sizeof(body), "{\"public_key\":\"%s\",\"target\":"
	    "\"lab/box\",\"login\":\"app\"}", fx.pubkey);
	cr_assert_eq(th_call("POST", "/v1/device", NULL, NULL, body, NULL,
	    &out), 200);
	cr_assert_eq(strlen(bh_str(out, "user_code")), 9);
	snprintf(code, sizeof(code), "%s", bh_str(out, "user_code"));
	snprintf(token, sizeof(token), "{\"device_code\":\"%s\"}",
	    bh_str(out, "device_code"));
	cr_expect_eq(bh_int(out, "expires_in"), 600);
	json_decref(out);

	/* Polled before approval; the first poll is never too fast. */
	th_expect_error(th_call("POST", "/v1/device/token", NULL, NULL, token,
	    NULL, NULL), 400, "authorization_pending", "not approved yet");
	snprintf(path, sizeof(path), "/v1/device/pending?user_code=%s", code);
	th_expect_error(th_call("GET", path, NULL, NULL, NULL, NULL, NULL),
	    401, "unauthenticated", NULL);
	cr_assert_eq(th_call("GET", path, th_alice, NULL, NULL, NULL, &out),
	    200);
	cr_expect_str_eq(bh_str(out, "fingerprint"), fx.fingerprint);
	cr_expect_str_eq(bh_str(out, "target"), "lab/box");
	json_decref(out);
	th_expect_error(th_call("GET", "/v1/device/pending?user_code=BCDF-GHJK",
	    th_alice, NULL, NULL, NULL, NULL), 404, "not_found",
	    "no such code");
	th_expect_error(th_call("GET", "/v1/device/pending?user_code=x",
	    th_alice, NULL, NULL, NULL, NULL), 400, "bad_request",
	    "user_code: 8 letters, as XXXX-XXXX");

	snprintf(body, sizeof(body), "{\"user_code\":\"%s\"}", code);
	cr_assert_eq(th_call("POST", "/v1/device/approve", th_alice, NULL,
	    body, NULL, &out), 200);
	bh_expect_json(out, "{\"approved\":true}");
	json_decref(out);
	th_expect_error(th_call("POST", "/v1/device/approve", th_alice, NULL,
	    body, NULL, NULL), 409, "conflict",
	    "the request was already approved or denied");

	cr_assert_eq(th_call("POST", "/v1/device/token", NULL, NULL, token,
	    NULL, &out), 201);
	cr_expect_eq(strncmp(bh_str(out, "key_id"), "alice:", 6), 0);
	bh_expect_json(json_object_get(out, "principals"), "[\"app@lab/box\"]");
	json_decref(out);
	/* Spent. */
	th_expect_error(th_call("POST", "/v1/device/token", NULL, NULL, token,
	    NULL, NULL), 400, "invalid_grant",
	    "unknown or already used device_code");
}

Test(api_admin, device_refusals_are_400)
{
	th_expect_error(th_call("POST", "/v1/device", NULL, NULL, "{}", NULL,
	    NULL), 400, "invalid_public_key",
	    "public_key: an authorized_keys line is required");
	th_expect_error(th_call("POST", "/v1/device", NULL, NULL,
	    "{\"public_key\":\"x\",\"extra\":1}", NULL, NULL), 400,
	    "bad_request", "extra: unknown field");
	th_expect_error(th_call("POST", "/v1/device/token", NULL, NULL, "{}",
	    NULL, NULL), 400, "bad_request",
	    "device_code: a string is required");
	th_expect_error(th_call("POST", "/v1/device/approve", th_alice, NULL,
	    "{\"user_code\":\"BCDF-GHJK\",\"approve\":1}", NULL, NULL), 400,
	    "bad_request", "approve: true or false");
	cr_expect_eq(bh_count(fx.b->store, STORE_DB_DEVICE), 0);
}
