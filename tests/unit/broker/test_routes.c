/*
 * broker/routes on the fixture's real broker: gateways report the targets
 * on their nodes with their host credentials, GET .../route follows the
 * latest fresh report, an explicit gateway wins, two gateways conflict,
 * reports age out and go with either target.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/hosts.h"
#include "broker/routes.h"
#include "common/err.h"
#include "fixture.h"
#include "rbac/rbac.h"
#include "tesserad/policy_json.h"

static struct fixture fx;
static struct caller alice;

static void
setup(void)
{
	char tok[TOKEN_TEXT_LEN + 1];

	fixture_open(&fx, NULL, 8 * 3600);
	bh_login(fx.b, "alice", fx.now, tok, &alice);
}

static void
teardown(void)
{
	caller_clear(&alice);
	fixture_close(&fx);
}

TestSuite(routes, .init = setup, .fini = teardown, .timeout = 120);

/* Gateway target name with host, port 2200, joined: its credential. */
static void
gateway(const char *name, const char *host, char cred[80])
{
	char text[128], key[512], err[256] = "";
	struct hosts_req rq = { .remote_addr = "192.0.2.7",
	    .request_id = "req-gw" };
	json_t *o = NULL, *j = NULL;

	snprintf(text, sizeof(text), "{\"labels\":{\"env\":\"gw\"},"
	    "\"hosts\":[\"%s\"],\"port\":2200}", host);
	fixture_target(&fx, name, text);
	cr_assert_eq(hosts_token_create(fx.b, &bh_root, name, 600, fx.now, &o,
	    err, sizeof(err)), 0, "%s", err);
	rq.secret = bh_str(o, "token");
	fixture_host_key(&fx, host, key, sizeof(key));
	rq.public_key = key;
	cr_assert_eq(hosts_join(fx.b, &rq, fx.now, &j, err, sizeof(err)), 0,
	    "%s", err);
	snprintf(cred, 80, "%s", bh_str(j, "credential"));
	json_decref(j);
	json_decref(o);
}

static int
report(const char *cred, const char *const *names, size_t n, int64_t now,
    json_t **out)
{
	char err[256] = "";
	json_t *o = NULL;
	int r;

	r = routes_report(fx.b, cred, names, n, "192.0.2.7", "req-gw", now,
	    &o, err, sizeof(err));
	if (out != NULL)
		*out = o;
	else
		json_decref(o);
	return r;
}

/* lab/box's route gateway at now ("" for null); TSS_E_* as returned. */
static int
route(int64_t now, char *gw, size_t len, char *err, size_t elen)
{
	json_t *o = NULL, *g;
	int r;

	err[0] = gw[0] = '\0';
	if ((r = hosts_route(fx.b, &alice, "lab/box", now, &o, err, elen))
	    != 0)
		return r;
	g = json_object_get(o, "gateway");
	snprintf(gw, len, "%s", json_is_string(g) ? json_string_value(g) : "");
	json_decref(o);
	return 0;
}

static const char *const box[] = { "lab/box" };

Test(routes, a_report_routes_the_target_through_its_gateway)
{
	char c1[80], gw[128], err[256];
	const char *const two[] = { "lab/box", "no/such" };
	uint64_t seq;
	json_t *o = NULL, *ev;

	gateway("gateway/node1", "node1.lab", c1);
	cr_expect_eq(route(fx.now, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "", "no report: no gateway");
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(report(c1, two, 2, fx.now, &o), 0);
	bh_expect_json(o, "{\"gateway\":\"gateway/node1\",\"targets\":"
	    "[\"lab/box\"],\"unknown\":[\"no/such\"]}");
	json_decref(o);
	cr_assert_not_null(ev = bh_audit_find(fx.b->store, seq,
	    "host.routes"));
	cr_expect_str_eq(bh_str(ev, "actor"), "host:gateway/node1");
	cr_expect_str_eq(bh_str(ev, "object"), "target:gateway/node1");
	json_decref(ev);
	cr_assert_eq(route(fx.now + 10, gw, sizeof(gw), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(gw, "node1.lab:2200");
	/* The same set again: fresh again, not audited again. */
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(report(c1, box, 1, fx.now + 60, NULL), 0);
	cr_expect_eq(bh_audit_seq(fx.b->store), seq);
	cr_expect_eq(route(fx.now + 60 + ROUTES_TTL - 1, gw, sizeof(gw), err,
	    sizeof(err)), 0);
	cr_expect_str_eq(gw, "node1.lab:2200");
	/* Not reported within ROUTES_TTL: no route any more. */
	cr_expect_eq(route(fx.now + 60 + ROUTES_TTL, gw, sizeof(gw), err,
	    sizeof(err)), 0);
	cr_expect_str_eq(gw, "", "a stale report routes nowhere");
	/* An empty report takes the target away, audited. */
	cr_assert_eq(report(c1, box, 1, fx.now + 100, NULL), 0);
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(report(c1, NULL, 0, fx.now + 101, NULL), 0);
	cr_expect_eq(bh_audit_seq(fx.b->store), seq + 1);
	cr_expect_eq(route(fx.now + 102, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "");
}

Test(routes, explicit_gateway_or_hosts_win)
{
	char c1[80], gw[128], err[256];

	gateway("gateway/node1", "node1.lab", c1);
	cr_assert_eq(report(c1, box, 1, fx.now, NULL), 0);
	fixture_target(&fx, "lab/box", "{\"labels\":{\"env\":\"lab\"},"
	    "\"gateway\":\"gw.example:2222\"}");
	cr_expect_eq(route(fx.now, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "gw.example:2222");
	fixture_target(&fx, "lab/box",
	    "{\"labels\":{\"env\":\"lab\"},\"hosts\":[\"box.lab\"]}");
	cr_expect_eq(route(fx.now, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "", "a target with sshd is reached directly");
}

Test(routes, two_gateways_conflict_and_deletion_ends_routes)
{
	char c1[80], c2[80], gw[128], err[256];

	gateway("gateway/node1", "node1.lab", c1);
	gateway("gateway/node2", "2001:db8::2", c2);
	cr_assert_eq(report(c1, box, 1, fx.now, NULL), 0);
	cr_assert_eq(report(c2, box, 1, fx.now + 1, NULL), 0);
	cr_expect_eq(route(fx.now + 2, gw, sizeof(gw), err, sizeof(err)),
	    TSS_E_CONFLICT);
	cr_expect_str_eq(err, "lab/box runs behind more than one gateway "
	    "(gateway/node2 and gateway/node1): set its gateway, or run one "
	    "replica");
	cr_assert_eq(report(c1, NULL, 0, fx.now + 3, NULL), 0);
	cr_expect_eq(route(fx.now + 4, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "[2001:db8::2]:2200");
	/* The gateway deleted: its routes and its credential go. */
	cr_assert_eq(broker_target_delete(fx.b, &bh_root, "gateway/node2", 1,
	    fx.now, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(route(fx.now + 5, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "");
	cr_expect_eq(report(c2, box, 1, fx.now + 6, NULL),
	    TSS_E_INVALID_CREDENTIALS);
	/* The target deleted and made again: no route left over. */
	cr_assert_eq(report(c1, box, 1, fx.now + 7, NULL), 0);
	cr_assert_eq(broker_target_delete(fx.b, &bh_root, "lab/box", 1,
	    fx.now, err, sizeof(err)), 0, "%s", err);
	fixture_target(&fx, "lab/box", "{\"labels\":{\"env\":\"lab\"}}");
	cr_expect_eq(route(fx.now + 8, gw, sizeof(gw), err, sizeof(err)), 0);
	cr_expect_str_eq(gw, "");
}

Test(routes, bad_credentials_and_long_reports_are_refused)
{
	char err[256] = "";
	json_t *o = NULL;
	const char *many[ROUTES_MAX + 1];
	size_t i;

	for (i = 0; i <= ROUTES_MAX; i++)
		many[i] = "lab/box";
	cr_expect_eq(report("tsh_0000", box, 1, fx.now, NULL),
	    TSS_E_INVALID_CREDENTIALS);
	cr_expect_eq(routes_report(fx.b, NULL, box, 1, NULL, NULL, fx.now, &o,
	    err, sizeof(err)), TSS_E_INVALID_CREDENTIALS);
	cr_expect_str_eq(err, HOSTS_BAD_SECRET);
	cr_expect_eq(routes_report(fx.b, NULL, many, ROUTES_MAX + 1, NULL,
	    NULL, fx.now, &o, err, sizeof(err)), TSS_E_VALIDATION);
	cr_expect_str_eq(err, "targets: at most 256 names");
	cr_expect_null(o);
}
