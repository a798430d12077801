/*
 * oom, the broker's admin use cases on a real broker
 * (tests/unit/broker/fixture.h): the user listing and one user, a reset
 * (a new enrollment, the user's certificates revoked, both audited) and
 * the audit listing, each walked through every allocation failure and
 * with each allocation refused alone (oom.h).  The audit sink's thread is
 * stopped first, so that nothing else allocates while a budget is set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "audit/audit.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "fixture.h"
#include "fixture_text.h"
#include "oom.h"

static struct fixture fx;
static const struct caller root = { .username = "root",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };

/* Members that differ from one run to the next. */
static const char *const volatile_keys[] = { "seq", "time", "prev", "hash",
    "enroll_token", "enroll_url", "enroll_qr_svg", NULL };

static void
setup(void)
{
	oom_setup();
	fixture_open(&fx, NULL, 8 * 3600);
	fixture_stop_sink(&fx);
}

static void
teardown(void)
{
	oom_teardown();
	fixture_close(&fx);
}

TestSuite(oom_admin, .init = setup, .fini = teardown, .timeout = 240);

/* ---- reads ---- */

struct readx {
	int audit;		/* 0 the users and alice, 1 the audit list,
				 * 2 newest first filtered, 3 verify */
	json_t *out, *one;
	uint64_t events;
	uint64_t runs;		/* verifications so far */
};

static int
read_run(void *arg)
{
	struct readx *x = arg;
	struct broker_audit_q q;
	char err[256];
	int64_t ra;
	int r;

	x->out = x->one = (json_t *)1;
	if (x->audit) {
		x->one = NULL;
		memset(&q, 0, sizeof(q));
		if (x->audit == 2) {
			q.order = "newest";
			q.action = "test.";
			q.limit = "1000";
		}
		/* A new minute each run: the walk is not rate-limited. */
		r = x->audit == 3 ? broker_audit_verify(fx.b, &root,
		    fx.now + 60 * (int64_t)x->runs++, &x->out, &ra, err,
		    sizeof(err)) :
		    broker_audit_list(fx.b, &root, &q, &x->out, err,
		    sizeof(err));
		if (r != 0)
			cr_assert_null(x->out);
		return r;
	}
	if ((r = broker_users_list(fx.b, &root, &x->out)) != 0) {
		cr_assert_null(x->out);
		x->one = NULL;
		return r;
	}
	if ((r = broker_user_get(fx.b, &root, "alice", &x->one)) != 0)
		cr_assert_null(x->one);
	return r;
}

static void
read_check(void *arg, int r)
{
	struct readx *x = arg;
	json_t *u;
	size_t i;

	if (r == 0 && x->audit == 3) {
		cr_assert(json_is_true(json_object_get(x->out, "ok")));
		cr_assert_eq((uint64_t)json_integer_value(json_object_get(
		    x->out, "count")), x->events, "an event not counted");
	} else if (r == 0 && x->audit) {
		cr_assert_eq(json_array_size(json_object_get(x->out,
		    "events")), x->audit == 2 ? 20 : x->events,
		    "an event left out");
	} else if (r == 0) {
		cr_assert_eq(json_array_size(json_object_get(x->out, "users")),
		    3);
		json_array_foreach(json_object_get(x->out, "users"), i, u)
			cr_assert_eq(json_array_size(json_object_get(u,
			    "groups")), strcmp(json_string_value(
			    json_object_get(u, "username")), "alice") == 0,
			    "a listed user lost groups");
		cr_assert_eq(json_array_size(json_object_get(x->one,
		    "groups")), 1, "alice lost her group");
	}
	json_decref(x->out);
	json_decref(x->one);
}

static char *
read_show(void *arg)
{
	struct readx *x = arg;
	json_t *a;

	cr_assert_not_null(a = json_pack("[O, O?]", x->out, x->one));
	return oom_json(a, NULL);
}

Test(oom_admin, users_and_audit_list)
{
	struct readx x = { .audit = 0 };
	struct store_txn *t;
	int i;

	oom_walk("broker_users_list + broker_user_get", read_run, read_check,
	    &x);
	oom_walk_nth("broker_users_list + broker_user_get", read_run,
	    read_check, read_show, &x);
	/* Events enough for the listing's array to grow twice. */
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	for (i = 0; i < 20; i++)
		cr_assert_eq(audit_record(t, NULL, "test.event", "x", "ok",
		    NULL, fx.now, NULL), 0);
	cr_assert_eq(store_commit(t), 0);
	x.audit = 1;
	x.events = oom_count(fx.b->store, STORE_DB_AUDIT);
	cr_assert_gt(x.events, 20);
	oom_walk("broker_audit_list", read_run, read_check, &x);
	oom_walk_nth("broker_audit_list", read_run, read_check, read_show,
	    &x);
	x.audit = 2;
	oom_walk("broker_audit_list newest first, filtered", read_run,
	    read_check, &x);
	x.audit = 3;
	oom_walk("broker_audit_verify", read_run, read_check, &x);
}

/* ---- a reset ---- */

/*
 * alice starts with one live certificate, which the first reset that
 * commits revokes (the revoked ones stay listed under her, so a new one
 * per run would make each run longer than the last, and the walk never
 * end); later resets revoke none.
 */
struct resetx {
	json_t *out;
	uint64_t events;
	int live;		/* alice's certificate not yet revoked */
};

#define ALICE_SERIAL	1000

static void
give_alice_a_cert(void)
{
	static const char *const principals[] = { "app@lab/box" };
	struct cert_record c;
	struct store_txn *t;

	memset(&c, 0, sizeof(c));
	c.serial = ALICE_SERIAL;
	c.username = "alice";
	c.fingerprint = fx.fingerprint;
	c.target = "lab/box";
	c.principals = fixture_textv(principals);
	c.n_principals = 1;
	c.valid_after = fx.now - 60;
	c.valid_before = fx.now + 3600;
	c.issued_at = fx.now;
	c.certificate = "ssh-ed25519-cert-v01@openssh.com AAAA alice";
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(certs_put(t, &c), 0);
	cr_assert_eq(store_commit(t), 0);
}

static int
revoked(void)
{
	struct cert_record c;
	struct store_txn *t;
	int64_t at;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(certs_get(t, ALICE_SERIAL, &c), 0);
	store_abort(t);
	at = c.revoked_at;
	cert_record_free(&c);
	return at != 0;
}

static int
reset_run(void *arg)
{
	struct resetx *x = arg;
	char err[256];
	int r;

	x->out = (json_t *)1;
	if ((r = broker_user_reset(fx.b, &root, "alice", fx.now, &x->out, err,
	    sizeof(err))) != 0)
		cr_assert_null(x->out);
	return r;
}

static void
reset_check(void *arg, int r)
{
	struct resetx *x = arg;
	uint64_t now = oom_count(fx.b->store, STORE_DB_AUDIT);

	if (r != 0 && now == x->events) {
		cr_assert_eq(revoked(), !x->live, "a failed reset revoked");
		return;
	}
	/* Done, whatever was answered (out of memory after the commit
	 * loses the answer, not the reset): user.reset, and
	 * cert.revoke_user when there was a certificate to revoke. */
	cr_assert_eq(now, x->events + 1 + x->live);
	cr_assert(revoked());
	if (r == 0) {
		cr_assert_eq(json_integer_value(json_object_get(x->out,
		    "revoked_certificates")), x->live);
		cr_assert_not_null(json_string_value(json_object_get(x->out,
		    "enroll_token")));
	}
	json_decref(x->out);
	x->events = now;
	x->live = 0;
}

/* The answer and the events it made. */
static char *
reset_show(void *arg)
{
	struct resetx *x = arg;
	struct store_txn *t;
	json_t *a, *e;
	uint64_t seq;

	cr_assert_not_null(a = json_array());
	cr_assert_eq(json_array_append(a, x->out), 0);
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	for (seq = x->events + 1; seq <= x->events + 1 + x->live; seq++) {
		cr_assert_eq(audit_get(t, seq, &e), 0);
		cr_assert_eq(json_array_append_new(a, e), 0);
	}
	store_abort(t);
	return oom_json(a, volatile_keys);
}

Test(oom_admin, user_reset)
{
	struct resetx x = { .live = 1 };

	give_alice_a_cert();
	x.events = oom_count(fx.b->store, STORE_DB_AUDIT);
	oom_walk("broker_user_reset (one certificate revoked)", reset_run,
	    reset_check, &x);
	oom_walk_nth("broker_user_reset (none left to revoke)", reset_run,
	    reset_check, reset_show, &x);
}
