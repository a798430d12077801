/*
 * oom, the issuance path on a real broker (tests/unit/broker/fixture.h:
 * LMDB, CA and master key in a temp dir, alice in group dev bound to role
 * dev, app on lab/<any>): resolving the caller's session, issue_prepare
 * then issue_submit and the group commit (on the committer thread: the
 * budget is process-wide, so each run is one whole issuance, waited for),
 * issue_cert, the device flow's token poll, GET /v1/me and the KRL, each
 * walked through every allocation failure (oom.h).
 *
 * A failed issuance stores nothing: the serial counter, the certificates
 * and the audit trail are as they were (one issuance before the walks
 * reserves the serial block, which is durable by design: certs.h).  The
 * audit sink's thread is stopped first, so that nothing else allocates
 * while a budget is set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "auth/session.h"
#include "audit/audit.h"
#include "auth/token.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/device.h"
#include "broker/issue.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "fixture.h"
#include "oom.h"

static struct fixture fx;
static char token[TOKEN_TEXT_LEN + 1];	/* alice's session */

static void
setup(void)
{
	/* A server cap below the role's 8 h, so /v1/me caps max_ttl. */
	static const char *const cfg[] = { "cert_max_ttl", "4h", NULL };
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	oom_setup();
	fixture_open(&fx, cfg, 8 * 3600);
	fixture_stop_sink(&fx);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", "127.0.0.1", fx.now, 1800,
	    43200, token, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
}

static void
teardown(void)
{
	oom_teardown();
	fixture_close(&fx);
}

TestSuite(oom_issue, .init = setup, .fini = teardown, .timeout = 240);

/* What a failed issuance must leave as it was. */
struct ledger {
	uint64_t serial, certs, events;
};

static void
ledger(struct ledger *l)
{
	struct store_txn *t;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_SERIAL, &l->serial), 0);
	cr_assert_eq(store_count(t, STORE_DB_CERTS, &l->certs), 0);
	cr_assert_eq(store_count(t, STORE_DB_AUDIT, &l->events), 0);
	store_abort(t);
}

static int
ledger_has_serial(uint64_t serial)
{
	struct cert_record rec;
	struct store_txn *t;
	int r;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	r = certs_get(t, serial, &rec);
	store_abort(t);
	cert_record_free(&rec);
	return r == 0;
}

/* The newest audit event, for show functions. */
static json_t *
last_event(void)
{
	struct store_txn *t;
	uint64_t seq;
	json_t *e = NULL;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_AUDIT_SEQ, &seq), 0);
	cr_assert_eq(audit_get(t, seq, &e), 0);
	store_abort(t);
	return e;
}

/* Members that differ from one issuance or event to the next. */
static const char *const volatile_keys[] = { "certificate", "serial",
    "key_id", "object", "seq", "time", "prev", "hash", NULL };

static void
alice(struct caller *c)
{
	cr_assert_eq(broker_caller(fx.b, token, fx.now, c), 0);
}

static void
request(const struct caller *c, struct issue_req *rq, int narrow)
{
	memset(rq, 0, sizeof(*rq));
	rq->username = c->username;
	rq->groups = (const char *const *)c->groups;
	rq->n_groups = c->n_groups;
	rq->session = c->session;
	rq->public_key = fx.pubkey;
	rq->target = narrow ? "lab/box" : NULL;
	rq->login = narrow ? "app" : NULL;
	rq->remote_addr = "127.0.0.1";
	rq->request_id = "req-oom";
}

struct issuex {
	int mode;		/* 0 prepare + submit, 1 issue_cert,
				 * 2 device token poll */
	struct issue_req rq;
	struct ledger before;
	json_t *out;
	char device_code[DEVICE_CODE_LEN + 1];
	enum device_poll poll;
};

static int
issue_run(void *arg)
{
	struct issuex *x = arg;
	struct fixture_wait w = FIXTURE_WAIT_INIT;
	struct issue_job *job = (struct issue_job *)1;
	char err[256];
	int r;

	x->out = (json_t *)1;
	if (x->mode == 1)
		return issue_cert(&fx.b->issuer, &x->rq, fx.now, &x->out, err,
		    sizeof(err));
	if (x->mode == 2)
		return device_token(fx.b->store, &fx.b->issuer, x->device_code,
		    "127.0.0.1", "req-oom", fx.now + 10, &x->poll, &x->out,
		    err, sizeof(err));
	if ((r = issue_prepare(&fx.b->issuer, &x->rq, fx.now, &job, &x->out,
	    err, sizeof(err))) != 0) {
		cr_assert_null(job);
		return r;
	}
	/* Would-be answer in hand; only the commit makes it true. */
	if ((r = issue_submit(&fx.b->issuer, job, fixture_woken, &w)) != 0)
		return r;
	return fixture_waited(&w);
}

/* A fresh approved device request for the next poll. */
static void
device_request(struct issuex *x)
{
	const struct audit_actor by = { .name = "alice" };
	struct device_request rq = { .public_key = fx.pubkey,
	    .target = "lab/box", .login = "app" };
	struct device_grant g;
	char err[256];

	cr_assert_eq(device_create(fx.b->store, &rq, fx.now, &g, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &by,
	    fx.now + 1), 0);
	memcpy(x->device_code, g.device_code, sizeof(x->device_code));
}

static void
issue_check(void *arg, int r)
{
	struct issuex *x = arg;
	struct ledger now;
	json_t *p;

	ledger(&now);
	if (r != 0) {
		/* The mode 0 answer of a failed commit is the caller's to
		 * drop; every other failure leaves none. */
		if (x->mode != 0)
			cr_assert_null(x->out);
		else if (x->out != NULL && x->out != (json_t *)1)
			json_decref(x->out);
		cr_assert_eq(now.serial, x->before.serial,
		    "a failed issuance moved the serial counter");
		cr_assert_eq(now.certs, x->before.certs,
		    "a failed issuance stored a certificate");
		/* The device flow spends the request in its own committed
		 * transaction first (device.h), with no event; nothing of
		 * the issuance is stored. */
		cr_assert_eq(now.events, x->before.events,
		    "a failed issuance wrote an audit event");
		if (x->mode == 2)
			device_request(x);
		ledger(&x->before);
		return;
	}
	if (x->mode == 2)
		cr_assert_eq(x->poll, DEVICE_ISSUED);
	cr_assert_eq(now.certs, x->before.certs + 1);
	cr_assert_eq(now.events, x->before.events + 1);
	cr_assert_not_null(json_string_value(json_object_get(x->out,
	    "certificate")));
	p = json_object_get(x->out, "principals");
	cr_assert_eq(json_array_size(p), 1);
	cr_assert_str_eq(json_string_value(json_array_get(p, 0)),
	    "app@lab/box");
	cr_assert(ledger_has_serial((uint64_t)json_integer_value(
	    json_object_get(x->out, "serial"))));
	json_decref(x->out);
	/* Ready for the next run (oom_walk_nth's runs succeed). */
	if (x->mode == 2)
		device_request(x);
	ledger(&x->before);
}

/* The answer, the stored record's principals and the cert.issue event. */
static char *
issue_show(void *arg)
{
	struct issuex *x = arg;
	struct cert_record rec;
	struct store_txn *t;
	json_t *all, *p;
	size_t i;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(certs_get(t, (uint64_t)json_integer_value(
	    json_object_get(x->out, "serial")), &rec), 0);
	store_abort(t);
	cr_assert_not_null(p = json_array());
	for (i = 0; i < rec.n_principals; i++)
		cr_assert_eq(json_array_append_new(p,
		    json_string(rec.principals[i])), 0);
	cr_assert_not_null(all = json_pack("{s:O, s:o, s:s, s:o}", "answer",
	    x->out, "stored", p, "target", rec.target, "event",
	    last_event()));
	cert_record_free(&rec);
	return oom_json(all, volatile_keys);
}

static void
issue_walk(int mode, int narrow, const char *what)
{
	struct issuex x;
	struct caller c;
	char err[256];
	json_t *out;
	uint64_t spare;

	memset(&x, 0, sizeof(x));
	alice(&c);
	request(&c, &x.rq, narrow);
	/* Reserve the serial block outside the walk (durable by design; a
	 * block serves the second it was reserved in). */
	cr_assert_eq(issue_cert(&fx.b->issuer, &x.rq, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
	x.mode = mode;
	if (mode == 2) {
		device_request(&x);
		/* Polls come 10 s on: that second's serial block, reserved
		 * as its first issuance would, whatever fails after. */
		cr_assert_eq(serials_take(fx.b->serials, fx.now + 10,
		    &spare), 0);
	}
	ledger(&x.before);
	oom_walk(what, issue_run, issue_check, &x);
	oom_walk_nth(what, issue_run, issue_check, issue_show, &x);
	caller_clear(&c);
}

Test(oom_issue, prepare_submit_commit)
{
	issue_walk(0, 1, "issue_prepare + issue_submit + commit "
	    "(app@lab/box)");
}

Test(oom_issue, prepare_submit_commit_every_target)
{
	issue_walk(0, 0, "issue_prepare + issue_submit + commit "
	    "(every reachable target)");
}

Test(oom_issue, issue_cert)
{
	issue_walk(1, 1, "issue_cert (app@lab/box)");
}

Test(oom_issue, device_token)
{
	issue_walk(2, 1, "device_token (approved request issues)");
}

/* ---- around issuance: the caller, /v1/me, the KRL ---- */

struct brx {
	int mode;		/* 0 broker_caller, 1 broker_me, 2 broker_krl */
	struct caller c;
	json_t *me;
	uint8_t *krl;
	size_t krl_len;
};

static int
br_run(void *arg)
{
	struct brx *x = arg;
	int r;

	if (x->mode == 0) {
		memset(&x->c, 0xa5, sizeof(x->c));
		if ((r = broker_caller(fx.b, token, fx.now + 5, &x->c)) != 0)
			cr_assert(x->c.username == NULL &&
			    x->c.groups == NULL && x->c.n_groups == 0,
			    "broker_caller failed, caller left");
		return r;
	}
	if (x->mode == 1) {
		x->me = (json_t *)1;
		if ((r = broker_me(fx.b, &x->c, fx.now, &x->me)) != 0)
			cr_assert_null(x->me);
		return r;
	}
	x->krl = (uint8_t *)1;
	if ((r = broker_krl(fx.b, fx.now, &x->krl, &x->krl_len)) != 0)
		cr_assert_null(x->krl);
	return r;
}

static void
br_check(void *arg, int r)
{
	struct brx *x = arg;

	if (r != 0)
		return;
	if (x->mode == 0) {
		cr_assert_str_eq(x->c.username, "alice");
		cr_assert_eq(x->c.n_groups, 1);
		cr_assert_str_eq(x->c.groups[0], "dev");
		cr_assert(x->c.has_session);
		caller_clear(&x->c);
	} else if (x->mode == 1) {
		cr_assert_str_eq(json_string_value(json_object_get(x->me,
		    "username")), "alice");
		cr_assert_eq(json_array_size(json_object_get(x->me,
		    "groups")), 1, "/v1/me lost the groups");
		cr_assert_eq(json_integer_value(json_object_get(x->me,
		    "max_ttl")), 4 * 3600, "/v1/me above the server's cap");
		json_decref(x->me);
	} else {
		cr_assert_gt(x->krl_len, 40);
		free(x->krl);
	}
}

/* The caller, /v1/me's body or the KRL's bytes, as text. */
static char *
br_show(void *arg)
{
	struct brx *x = arg;
	char *s = NULL, line[256];
	size_t i;

	if (x->mode == 1)
		return oom_json(json_incref(x->me), NULL);
	if (x->mode == 2)
		return oom_hex(x->krl, x->krl_len);
	cr_assert_eq(x->c.n_groups, 1);
	snprintf(line, sizeof(line), "%s %s %#x %d ", x->c.username,
	    x->c.groups[0], (unsigned)x->c.perms, x->c.has_session);
	for (i = 0; i < sizeof(x->c.session); i++)
		snprintf(line + strlen(line), 3, "%02x", x->c.session[i]);
	cr_assert_not_null(s = strdup(line));
	return s;
}

Test(oom_issue, caller_me_krl)
{
	struct brx x;
	struct caller root = { .username = "root",
	    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };
	struct issue_req rq;
	char err[256];
	json_t *out;

	memset(&x, 0, sizeof(x));
	x.mode = 0;
	oom_walk("broker_caller (session to caller)", br_run, br_check, &x);
	oom_walk_nth("broker_caller (session to caller)", br_run, br_check,
	    br_show, &x);
	x.mode = 1;
	alice(&x.c);
	oom_walk("broker_me", br_run, br_check, &x);
	oom_walk_nth("broker_me", br_run, br_check, br_show, &x);
	/* One revoked certificate for the KRL. */
	request(&x.c, &rq, 1);
	cr_assert_eq(issue_cert(&fx.b->issuer, &rq, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	snprintf(err, sizeof(err), "%lld", (long long)json_integer_value(
	    json_object_get(out, "serial")));
	json_decref(out);
	cr_assert_eq(broker_cert_revoke(fx.b, &root, err, fx.now, &out, err,
	    sizeof(err)), 0);
	json_decref(out);
	caller_clear(&x.c);
	x.mode = 2;
	oom_walk("broker_krl (1 revoked)", br_run, br_check, &x);
	oom_walk_nth("broker_krl (1 revoked)", br_run, br_check, br_show, &x);
}
