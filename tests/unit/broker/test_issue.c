/*
 * issue: certificate issuance (broker/issue.h) on a real broker
 * (fixture.h: LMDB, CA and master key in a temp dir, keys from
 * ssh-keygen).  What the certificate says, decoded to the last byte with
 * its signature checked (bh.h) and once read by ssh-keygen -L too; how
 * its TTL is bounded; what the commit writes.  Issuance is split where
 * the server splits it: issue_prepare(), then issue_submit() waited for.
 * The refusals are in test_issue_refused.c.
 *
 * The world (ih.h): target lab/box; role dev (app on lab/<any>, max_ttl
 * 4 h, permit-pty) bound to group:dev; alice in dev, bob with no access,
 * root the admin; cert_default_ttl 1 h, cert_max_ttl 8 h.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/issue.h"
#include "ih.h"
#include "rbac/rbac.h"
#include "sshca/cakey.h"
#include "sshca/sshkey.h"
#include "store/store.h"

TestSuite(issue, .init = ih_setup, .fini = ih_teardown, .timeout = 60);

/* ---- the certificate ---- */

Test(issue, certificate_carries_the_decided_grant)
{
	struct issue_req rq;
	json_t *out, *c;
	char kid[64], tail[80];
	const char *line;
	uint64_t serial;

	ih_alice(&rq, 600);
	out = ih_issued(&rq);
	serial = (uint64_t)bh_int(out, "serial");
	snprintf(kid, sizeof(kid), "alice:%llu", (unsigned long long)serial);
	cr_expect_gt(serial, 0);
	cr_expect_str_eq(bh_str(out, "key_id"), kid);
	bh_expect_json(json_object_get(out, "principals"), "[\"app@lab/box\"]");
	cr_expect_eq(bh_int(out, "valid_after"), fx.now - 300);
	cr_expect_eq(bh_int(out, "valid_before"), fx.now + 600);
	cr_expect_eq(json_object_size(out), 6);
	/* The line names the key ID as its comment. */
	line = bh_str(out, "certificate");
	snprintf(tail, sizeof(tail), " %s", kid);
	cr_expect_str_eq(line + strlen(line) - strlen(tail), tail);

	c = ih_decode(out);
	cr_expect_str_eq(bh_str(c, "type"), "ssh-ed25519-cert-v01@openssh.com");
	cr_expect_eq(bh_int(c, "cert_type"), 1, "a user certificate");
	cr_expect_eq((uint64_t)bh_int(c, "serial"), serial);
	cr_expect_str_eq(bh_str(c, "key_id"), kid);
	bh_expect_json(json_object_get(c, "principals"), "[\"app@lab/box\"]");
	cr_expect_eq(bh_int(c, "valid_after"), fx.now - 300);
	cr_expect_eq(bh_int(c, "valid_before"), fx.now + 600);
	bh_expect_json(json_object_get(c, "critical_options"), "{}");
	bh_expect_json(json_object_get(c, "extensions"), "[\"permit-pty\"]");
	json_decref(c);
	json_decref(out);
}

Test(issue, role_limits_become_critical_options_and_extensions)
{
	static const char *const svc[] = { "svc" };
	static const char *const cidrs[] = { "10.0.0.0/8", "192.0.2.0/24" };
	const struct bh_role ops = { .name = "ops", .logins = svc,
	    .n_logins = 1, .max_ttl = 3600, .ext = RBAC_EXT_AGENT |
	    RBAC_EXT_PORT | RBAC_EXT_PTY, .force_command = "/usr/bin/uptime",
	    .cidrs = cidrs, .n_cidrs = 2 };
	struct issue_req rq;
	char p[512], cmd[1200], buf[512], *text = NULL;
	size_t len = 0;
	json_t *out, *c;
	FILE *f, *m;

	bh_put_role(fx.b->store, &ops, fx.now);
	bh_bind(fx.b->store, "ops", "user:bob", 0, fx.now);
	ih_req(&rq, "bob", NULL, 0, "lab/box", "svc", 0);
	out = ih_issued(&rq);
	c = ih_decode(out);
	bh_expect_json(json_object_get(c, "critical_options"),
	    "{\"force-command\":\"/usr/bin/uptime\","
	    "\"source-address\":\"10.0.0.0/8,192.0.2.0/24\"}");
	bh_expect_json(json_object_get(c, "extensions"),
	    "[\"permit-agent-forwarding\",\"permit-port-forwarding\","
	    "\"permit-pty\"]");
	json_decref(c);

	/* OpenSSH's own parser reads the same. */
	fixture_path(&fx, p, sizeof(p), "id-cert.pub");
	cr_assert_not_null(f = fopen(p, "w"));
	fprintf(f, "%s\n", bh_str(out, "certificate"));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -L -f '%s' 2>&1", p);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_not_null(m = open_memstream(&text, &len));
	while (fgets(buf, sizeof(buf), f) != NULL)
		fputs(buf, m);
	fclose(m);
	cr_expect_eq(pclose(f), 0, "%s", text);
	cr_expect_not_null(strstr(text, "force-command /usr/bin/uptime"),
	    "%s", text);
	cr_expect_not_null(strstr(text,
	    "source-address 10.0.0.0/8,192.0.2.0/24"), "%s", text);
	cr_expect_not_null(strstr(text, "svc@lab/box"), "%s", text);
	cr_expect_not_null(strstr(text, "Type: ssh-ed25519-cert-v01@openssh.com "
	    "user certificate"), "%s", text);
	free(text);
	json_decref(out);
}

/* min(asked or cert_default_ttl, the role's max_ttl, cert_max_ttl), and
 * never past the granting binding's expiry.  Asking for more is clamped,
 * not refused (issue.h, CONTRACT: "values past the caps are clamped"). */
Test(issue, ttl_is_the_least_of_ask_role_server_cap_and_binding)
{
	static const char *const cases_what[] = { "default", "asked",
	    "role", "role, huge ask" };
	const int64_t ask[] = { 0, 7200, 10 * 3600, INT64_MAX };
	const int64_t want[] = { 3600, 7200, IH_ROLE_TTL, IH_ROLE_TTL };
	const struct bh_role lng = { .name = "long", .logins = ih_app,
	    .n_logins = 1, .max_ttl = 12 * 3600, .ext = RBAC_EXT_PTY };
	struct issue_req rq;
	struct store_txn *t;
	json_t *out;
	size_t i;

	for (i = 0; i < 4; i++) {
		ih_alice(&rq, ask[i]);
		out = ih_issued(&rq);
		cr_expect_eq(bh_int(out, "valid_before") - fx.now, want[i],
		    "%s: %lld", cases_what[i],
		    (long long)(bh_int(out, "valid_before") - fx.now));
		json_decref(out);
	}

	/* A role allowing 12 h is held to cert_max_ttl. */
	bh_put_role(fx.b->store, &lng, fx.now);
	bh_bind(fx.b->store, "long", "user:bob", 0, fx.now);
	ih_req(&rq, "bob", NULL, 0, "lab/box", "app", 10 * 3600);
	out = ih_issued(&rq);
	cr_expect_eq(bh_int(out, "valid_before") - fx.now, 8 * 3600);
	json_decref(out);

	/* A binding ending in 90 s ends the certificate with it. */
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	fixture_user(t, "carol", NULL, fx.now);
	cr_assert_eq(store_commit(t), 0);
	bh_bind(fx.b->store, "long", "user:carol", fx.now + 90, fx.now);
	ih_req(&rq, "carol", NULL, 0, "lab/box", "app", 0);
	out = ih_issued(&rq);
	cr_expect_eq(bh_int(out, "valid_before"), fx.now + 90);
	json_decref(out);
}

Test(issue, serials_increase_and_name_the_key_id)
{
	struct issue_req rq;
	uint64_t last = 0, serial;
	char kid[64];
	json_t *out, *c;
	int i;

	ih_alice(&rq, 0);
	for (i = 0; i < 3; i++) {
		out = ih_issued(&rq);
		serial = (uint64_t)bh_int(out, "serial");
		cr_expect_gt(serial, last);
		snprintf(kid, sizeof(kid), "alice:%llu",
		    (unsigned long long)serial);
		c = ih_decode(out);
		cr_expect_eq((uint64_t)bh_int(c, "serial"), serial);
		cr_expect_str_eq(bh_str(c, "key_id"), kid);
		json_decref(c);
		json_decref(out);
		last = serial;
	}
}

/* No target, no login: every login on every reachable target. */
Test(issue, without_target_or_login_every_reachable_principal)
{
	struct cert_record rec;
	struct issue_req rq;
	json_t *out;

	bh_put_target(fx.b->store, "lab/two", fx.now);
	ih_req(&rq, "alice", ih_dev, 1, NULL, NULL, 0);
	out = ih_issued(&rq);
	bh_expect_json(json_object_get(out, "principals"),
	    "[\"app@lab/box\",\"app@lab/two\"]");
	memset(&rec, 0, sizeof(rec));
	cr_assert(ih_in_ledger((uint64_t)bh_int(out, "serial"), &rec));
	cr_expect_str_eq(rec.target, "");
	cert_record_free(&rec);
	json_decref(out);

	ih_req(&rq, "alice", ih_dev, 1, "lab/two", NULL, 0);
	out = ih_issued(&rq);
	bh_expect_json(json_object_get(out, "principals"), "[\"app@lab/two\"]");
	json_decref(out);
}

Test(issue, accepted_key_types_get_their_certificate_type)
{
	static const char *const types[][2] = {
		{ "ecdsa", "ecdsa-sha2-nistp256-cert-v01@openssh.com" },
		{ "rsa", "ssh-rsa-cert-v01@openssh.com" },
	};
	char cmd[1024], p[512], line[4096];
	struct sshkey *key;
	struct issue_req rq;
	json_t *out, *c;
	size_t i;
	FILE *f;

	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t %s%s -N '' "
		    "-f '%s/k%zu'", types[i][0], i == 1 ? " -b 2048" : "",
		    fx.dir, i);
		cr_assert_eq(system(cmd), 0);
		snprintf(p, sizeof(p), "%s/k%zu.pub", fx.dir, i);
		cr_assert_not_null(f = fopen(p, "r"));
		cr_assert_not_null(fgets(line, sizeof(line), f));
		fclose(f);
		line[strcspn(line, "\n")] = '\0';
		cr_assert_eq(sshkey_parse_line(line, strlen(line), &key, NULL),
		    0);
		ih_alice(&rq, 0);
		rq.public_key = line;
		out = ih_issued(&rq);
		c = bh_cert_decode(bh_str(out, "certificate"), key,
		    cakey_public(fx.b->ca));
		cr_expect_str_eq(bh_str(c, "type"), types[i][1]);
		json_decref(c);
		json_decref(out);
		sshkey_free(key);
	}
}

/* ---- the commit ---- */

Test(issue, commit_records_the_certificate_and_its_audit_event)
{
	uint8_t before[BH_DIGEST_LEN], after[BH_DIGEST_LEN];
	struct issue_job *job;
	struct cert_record rec;
	struct issue_req rq;
	uint64_t seq, serial;
	char object[40];
	json_t *out = NULL, *e;

	ih_alice(&rq, 600);
	seq = bh_audit_seq(fx.b->store);
	/* Decided and signed, but nothing on record before the commit. */
	bh_digest_issued(fx.b->store, before);
	job = ih_prepared(&rq, &out);
	bh_digest_issued(fx.b->store, after);
	cr_expect_arr_eq(before, after, sizeof(before));
	serial = (uint64_t)bh_int(out, "serial");
	cr_expect(!ih_in_ledger(serial, NULL));
	cr_assert_eq(ih_commit(job), 0);

	memset(&rec, 0, sizeof(rec));
	cr_assert(ih_in_ledger(serial, &rec));
	cr_expect_str_eq(rec.username, "alice");
	cr_expect_str_eq(rec.fingerprint, fx.fingerprint);
	cr_expect_str_eq(rec.target, "lab/box");
	cr_assert_eq(rec.n_principals, 1);
	cr_expect_str_eq(rec.principals[0], "app@lab/box");
	cr_expect_eq(rec.valid_after, fx.now - 300);
	cr_expect_eq(rec.valid_before, fx.now + 600);
	cr_expect_eq(rec.issued_at, fx.now);
	cr_expect_eq(rec.revoked_at, 0);
	cr_expect_str_eq(rec.certificate, bh_str(out, "certificate"));
	cert_record_free(&rec);

	/* Exactly one event, the issuance. */
	cr_assert_eq(bh_audit_seq(fx.b->store), seq + 1);
	e = bh_audit_event(fx.b->store, seq + 1);
	snprintf(object, sizeof(object), "cert:%llu",
	    (unsigned long long)serial);
	cr_expect_str_eq(bh_str(e, "action"), "cert.issue");
	cr_expect_str_eq(bh_str(e, "actor"), "alice");
	cr_expect_str_eq(bh_str(e, "object"), object);
	cr_expect_str_eq(bh_str(e, "result"), "ok");
	cr_expect_str_eq(bh_str(e, "remote_addr"), "192.0.2.1");
	cr_expect_str_eq(bh_str(e, "request_id"), "req-issue");
	cr_expect_eq((uint64_t)bh_int(e, "serial"), serial);
	cr_expect_str_eq(bh_str(e, "fingerprint"), fx.fingerprint);
	cr_expect_str_eq(bh_str(e, "target"), "lab/box");
	bh_expect_json(json_object_get(e, "principals"), "[\"app@lab/box\"]");
	cr_expect_eq(bh_int(e, "valid_after"), fx.now - 300);
	cr_expect_eq(bh_int(e, "valid_before"), fx.now + 600);
	json_decref(e);
	json_decref(out);
}

/* A job prepared and dropped (the client went away) leaves no trace. */
Test(issue, prepared_job_never_committed_writes_nothing)
{
	uint8_t before[BH_DIGEST_LEN], after[BH_DIGEST_LEN];
	struct issue_req rq;
	json_t *out = NULL;

	bh_digest_issued(fx.b->store, before);
	ih_alice(&rq, 0);
	issue_job_free(ih_prepared(&rq, &out));
	bh_digest_issued(fx.b->store, after);
	cr_expect_arr_eq(before, after, sizeof(before));
	cr_expect(!ih_in_ledger((uint64_t)bh_int(out, "serial"), NULL));
	json_decref(out);
}
