/*
 * oom, host certificates on a real broker (tests/unit/broker/fixture.h):
 * a join token, a join, a renewal, GET /v1/hosts/self, a route, a
 * gateway's route report and the route it makes, each walked through
 * every allocation failure (oom.h).  A failed token, join or report
 * stores nothing: the META records and the audit trail are as they were,
 * so the token of a failed join still joins.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "auth/session.h"
#include "auth/token.h"
#include "broker/broker.h"
#include "broker/hosts.h"
#include "broker/routes.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "tesserad/policy_json.h"
#include "fixture.h"
#include "oom.h"

static struct fixture fx;
static const struct caller root = { .username = "root",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };

static void
setup(void)
{
	oom_setup();
	fixture_open(&fx, NULL, 8 * 3600);
	fixture_stop_sink(&fx);
	fixture_target(&fx, "lab/box", "{\"labels\":{\"env\":\"lab\"},"
	    "\"hosts\":[\"box.lab\",\"10.0.0.5\"]}");
}

static void
teardown(void)
{
	oom_teardown();
	fixture_close(&fx);
}

TestSuite(oom_hosts, .init = setup, .fini = teardown, .timeout = 240);

struct hostx {
	int mode;	/* 0 token, 1 join, 2 renew, 3 self, 4 route,
			 * 5 report, 6 the reported route */
	char tok[80], cred[80];
	struct caller alice;
	uint64_t meta, events;		/* before the run */
	json_t *out;
	char err[256];
};

static void
counts(uint64_t *meta, uint64_t *events)
{
	*meta = oom_count(fx.b->store, STORE_DB_META);
	*events = oom_count(fx.b->store, STORE_DB_AUDIT);
}

static void
new_token(struct hostx *x)
{
	json_t *o = NULL;

	cr_assert_eq(hosts_token_create(fx.b, &root, "lab/box", 900, fx.now,
	    &o, x->err, sizeof(x->err)), 0, "%s", x->err);
	snprintf(x->tok, sizeof(x->tok), "%s", json_string_value(
	    json_object_get(o, "token")));
	json_decref(o);
}

static const char *const app[] = { "lab/app" };

static int
hx_run(void *arg)
{
	struct hostx *x = arg;
	struct hosts_req rq = { .public_key = fx.pubkey,
	    .remote_addr = "192.0.2.7", .request_id = "req-oom" };
	int r;

	x->out = (json_t *)1;
	switch (x->mode) {
	case 0:
		r = hosts_token_create(fx.b, &root, "lab/box", 900, fx.now,
		    &x->out, x->err, sizeof(x->err));
		break;
	case 1:
		rq.secret = x->tok;
		r = hosts_join(fx.b, &rq, fx.now, &x->out, x->err,
		    sizeof(x->err));
		break;
	case 2:
		rq.secret = x->cred;
		r = hosts_renew(fx.b, &rq, fx.now, &x->out, x->err,
		    sizeof(x->err));
		break;
	case 3:
		r = hosts_self(fx.b, x->cred, fx.now, &x->out);
		break;
	case 5:
		r = routes_report(fx.b, x->cred, app, 1, "192.0.2.7",
		    "req-oom", fx.now, &x->out, x->err, sizeof(x->err));
		break;
	default:
		r = hosts_route(fx.b, &x->alice, x->mode == 6 ? app[0] :
		    "lab/box", fx.now, &x->out, x->err, sizeof(x->err));
		break;
	}
	if (r != 0)
		cr_assert_null(x->out, "mode %d failed, output left", x->mode);
	return r;
}

static void
hx_check(void *arg, int r)
{
	struct hostx *x = arg;
	uint64_t meta, events;

	counts(&meta, &events);
	if (r != 0) {
		/* Nothing stored, nothing audited; the token still there. */
		cr_assert_eq(meta, x->meta, "mode %d: META changed", x->mode);
		cr_assert_eq(events, x->events, "mode %d: audited", x->mode);
		return;
	}
	if (x->mode <= 2)
		cr_assert_neq(x->meta, 0, "counts taken before the walk");
	if (x->mode == 5)	/* the first report adds and audits, once */
		cr_assert_eq(json_array_size(json_object_get(x->out,
		    "targets")), 1);
	if (x->mode == 6)
		cr_assert_str_eq(json_string_value(json_object_get(x->out,
		    "gateway")), "box.lab:22");
	if (x->mode == 0) {
		cr_assert_eq(strlen(json_string_value(json_object_get(x->out,
		    "token"))), 68);
		cr_assert_eq(events, x->events + 1);
	} else if (x->mode == 1 || x->mode == 2) {
		cr_assert_not_null(json_string_value(json_object_get(x->out,
		    "certificate")));
		cr_assert_eq(json_array_size(json_object_get(x->out,
		    "principals")), 2);
		cr_assert_eq(events, x->events + 1);
		if (x->mode == 1) {
			snprintf(x->cred, sizeof(x->cred), "%s",
			    json_string_value(json_object_get(x->out,
			    "credential")));
			cr_assert_eq(strlen(x->cred), 68);
			new_token(x);	/* the next run's */
		}
	}
	json_decref(x->out);
	x->out = NULL;
	counts(&x->meta, &x->events);	/* the next run's start */
}

static char *
hx_show(void *arg)
{
	struct hostx *x = arg;

	return oom_json(json_incref(x->out), NULL);
}

Test(oom_hosts, token_join_renew_self_route)
{
	struct hostx x;
	char session[TOKEN_TEXT_LEN + 1], csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	memset(&x, 0, sizeof(x));
	counts(&x.meta, &x.events);
	oom_walk("hosts_token_create", hx_run, hx_check, &x);
	x.mode = 1;
	new_token(&x);
	counts(&x.meta, &x.events);
	oom_walk("hosts_join", hx_run, hx_check, &x);
	oom_walk_nth("hosts_join", hx_run, hx_check, NULL, &x);
	x.mode = 2;
	oom_walk("hosts_renew", hx_run, hx_check, &x);
	x.mode = 3;
	oom_walk("hosts_self", hx_run, hx_check, &x);
	oom_walk_nth("hosts_self", hx_run, hx_check, hx_show, &x);
	x.mode = 4;
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", "127.0.0.1", fx.now, 1800,
	    43200, session, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(broker_caller(fx.b, session, fx.now, &x.alice), 0);
	oom_walk("hosts_route", hx_run, hx_check, &x);
	oom_walk_nth("hosts_route", hx_run, hx_check, hx_show, &x);
	/* lab/box as the gateway of lab/app, a target without hosts. */
	fixture_target(&fx, "lab/app", "{\"labels\":{\"env\":\"lab\"}}");
	counts(&x.meta, &x.events);
	x.mode = 5;
	oom_walk("routes_report", hx_run, hx_check, &x);
	oom_walk_nth("routes_report", hx_run, hx_check, hx_show, &x);
	x.mode = 6;
	oom_walk("hosts_route (reported)", hx_run, hx_check, &x);
	oom_walk_nth("hosts_route (reported)", hx_run, hx_check, hx_show, &x);
	caller_clear(&x.alice);
}
