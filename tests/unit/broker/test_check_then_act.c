/*
 * Issue 14 section 1, "the decision and the write are separate": on a real
 * broker (LMDB, CA and master key in a temp fx.dir, keys from ssh-keygen), a
 * certificate decided before a reset, disable, logout, group change or
 * policy change is refused by its commit; disable and delete revoke; a
 * certificate never outlives the binding that granted it; a deleted
 * user's bindings do not pass to a new account with the name.
 *
 * The interleavings are made deterministic by splitting issuance where
 * the server splits it: issue_prepare() (the decision, outside any write
 * transaction), then the admin's change, then issue_submit() (the commit);
 * a gate job holding the committer puts both into one batch.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/secretbox.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "broker/broker.h"
#include "broker/certs.h"
#include "broker/issue.h"
#include "sshca/cakey.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "tesserad/policy_json.h"
#include "fixture.h"
#include "tmpdir.h"

static struct fixture fx;
static const struct rbac_actor root_actor = { .who.name = "root" };
static const struct caller root_caller = { .username = "root",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };

/*
 * Target lab/box; role dev (app on lab/<any>, max_ttl 8 h); group:dev bound to
 * it.  alice is in dev; bob has no access; root is the admin.
 */
static void
setup(void)
{
	static const char *const cfg[] = { "cert_max_ttl", "8h", NULL };

	fixture_open(&fx, cfg, 8 * 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(check_then_act, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ---- */

/* A session for name, resolved as the HTTP layer resolves a request's. */
static void
login(const char *name, char *token, struct caller *c)
{
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_create(t, name, "127.0.0.1", fx.now, 1800, 43200,
	    token, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(broker_caller(fx.b, token, fx.now, c), 0);
	cr_assert(c->has_session);
}

static void
req_of(const struct caller *c, struct issue_req *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->username = c->username;
	rq->groups = (const char *const *)c->groups;
	rq->n_groups = c->n_groups;
	rq->session = c->has_session ? c->session : NULL;
	rq->public_key = fx.pubkey;
	rq->target = "lab/box";
	rq->login = "app";
}

/* The commit half of issuance (fixture.h's wait). */
static void
submit(struct issue_job *job, struct fixture_wait *w)
{
	cr_assert_eq(issue_submit(&fx.b->issuer, job, fixture_woken, w), 0);
}

static int
commit_job(struct issue_job *job)
{
	struct fixture_wait w = FIXTURE_WAIT_INIT;

	submit(job, &w);
	return fixture_waited(&w);
}

static uint64_t
serial_of(const json_t *out)
{
	return (uint64_t)json_integer_value(json_object_get(out, "serial"));
}

/* 1 when the ledger has serial; *revoked_at gets its revocation time. */
static int
ledger_has(uint64_t serial, int64_t *revoked_at)
{
	struct store_txn *t;
	struct cert_record rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	r = certs_get(t, serial, &rec);
	store_abort(t);
	cr_assert(r == 0 || r == TSS_E_NOT_FOUND, "certs_get: %d", r);
	if (revoked_at != NULL)
		*revoked_at = rec.revoked_at;
	cert_record_free(&rec);
	return r == 0;
}

/* Is serial among the serials GET /v1/krl is built from? */
static int
in_krl(uint64_t serial)
{
	struct store_txn *t;
	uint64_t *v = NULL;
	size_t i, n = 0;
	int found = 0;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(certs_revoked_serials(t, fx.now, &v, &n, NULL), 0);
	store_abort(t);
	for (i = 0; i < n; i++)
		found |= v[i] == serial;
	free(v);
	return found;
}

/* Decide alice's certificate now; the caller commits it later. */
static struct issue_job *
prepare_alice(struct caller *c, char *token, json_t **out)
{
	struct issue_job *job = NULL;
	struct issue_req rq;
	char err[256];

	login("alice", token, c);
	req_of(c, &rq);
	cr_assert_eq(issue_prepare(&fx.b->issuer, &rq, fx.now, &job, out, err,
	    sizeof(err)), 0, "%s", err);
	return job;
}

/* PATCH /v1/users/alice by the admin: set_groups (to none) or disable. */
static void
patch_alice(int set_groups, int disabled)
{
	json_t *res = NULL;
	char err[256];

	cr_assert_eq(broker_user_patch(fx.b, &root_caller, "alice", NULL, 0,
	    set_groups, disabled, fx.now, &res, err, sizeof(err)), 0, "%s",
	    err);
	json_decref(res);
}

static void
reset_alice(void)
{
	json_t *en = NULL;
	char err[256];

	cr_assert_eq(broker_user_reset(fx.b, &root_caller, "alice", fx.now, &en, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(en);
}

/* The job decided before the change must be refused by its commit (as
 * want: TSS_E_UNAUTHENTICATED when the session or its user may no longer
 * act, TSS_E_FORBIDDEN when the access is gone) and leave nothing in the
 * ledger. */
static void
expect_refused(struct issue_job *job, json_t *out, struct caller *c,
    const char *change, int want)
{
	cr_expect_eq(commit_job(job), want, "a certificate decided "
	    "before %s was committed after it", change);
	cr_expect(!ledger_has(serial_of(out), NULL));
	json_decref(out);
	caller_clear(c);
}

/* Committed before the change, the certificate must be revoked by it and
 * in the KRL when the change returns. */
static void
expect_revoked(json_t *out, struct caller *c)
{
	int64_t rev = 0;

	cr_assert(ledger_has(serial_of(out), &rev));
	cr_expect_neq(rev, 0, "the certificate stays valid");
	cr_expect(in_krl(serial_of(out)));
	json_decref(out);
	caller_clear(c);
}

/* ---- the findings ---- */

/*
 * High: requests decided with alice's (stolen) session before an admin
 * reset her kept committing afterwards, valid and missing from the KRL.
 */
Test(check_then_act, issuance_decided_before_a_reset_is_refused_at_commit)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct issue_job *job;
	struct caller c;
	json_t *out = NULL;

	job = prepare_alice(&c, token, &out);
	reset_alice();
	expect_refused(job, out, &c, "the reset",
	    TSS_E_UNAUTHENTICATED);
}

/* The other half of the race: committed first, revoked by the reset, and
 * in the KRL when the reset returns. */
Test(check_then_act, reset_revokes_what_was_committed_before_it)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct caller c;
	json_t *out = NULL;

	cr_assert_eq(commit_job(prepare_alice(&c, token, &out)), 0);
	reset_alice();
	expect_revoked(out, &c);
}

/* Disabling alice ended her sessions but left her certificates valid. */
Test(check_then_act, disable_revokes_the_users_certificates)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct caller c;
	json_t *out = NULL;

	cr_assert_eq(commit_job(prepare_alice(&c, token, &out)), 0);
	patch_alice(0, 1);
	expect_revoked(out, &c);
}

Test(check_then_act, issuance_decided_before_a_disable_is_refused_at_commit)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct issue_job *job;
	struct caller c;
	json_t *out = NULL;

	job = prepare_alice(&c, token, &out);
	patch_alice(0, 1);
	expect_refused(job, out, &c, "the disable",
	    TSS_E_UNAUTHENTICATED);
}

/* The session the request came with ended (logout) before the commit. */
Test(check_then_act, issuance_after_its_session_ended_is_refused_at_commit)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct issue_job *job;
	struct store_txn *t;
	struct caller c;
	json_t *out = NULL;

	job = prepare_alice(&c, token, &out);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_end(t, token, "127.0.0.1", fx.now), 0);
	cr_assert_eq(store_commit(t), 0);
	expect_refused(job, out, &c, "the logout",
	    TSS_E_UNAUTHENTICATED);
}

/* alice left the group that granted the access before the commit. */
Test(check_then_act, issuance_after_a_group_change_is_refused_at_commit)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct issue_job *job;
	struct caller c;
	json_t *out = NULL;

	job = prepare_alice(&c, token, &out);
	patch_alice(1, -1);
	expect_refused(job, out, &c, "the group change",
	    TSS_E_FORBIDDEN);
}

/*
 * The policy changed between the decision and the commit: the commit
 * decides again.  An unrelated change lets the certificate through; the
 * removal of the granting binding refuses it.
 */
Test(check_then_act, issuance_after_a_policy_change_is_decided_again)
{
	char token[TOKEN_TEXT_LEN + 1], err[256];
	struct issue_job *job;
	struct store_txn *t;
	struct rbac_target *tg;
	struct caller c;
	json_t *out = NULL, *j;

	job = prepare_alice(&c, token, &out);
	j = json_pack("{s:{}}", "labels");
	cr_assert_eq(policy_json_target("other/box", j, &tg, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(j);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_target_put(t, &root_actor, tg, fx.now, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	rbac_target_free(tg);
	cr_expect_eq(commit_job(job), 0);
	cr_expect(ledger_has(serial_of(out), NULL));
	json_decref(out);
	caller_clear(&c);

	job = prepare_alice(&c, token, &out);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_binding_delete(t, &root_actor, fx.dev_binding, fx.now, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	expect_refused(job, out, &c, "the binding's removal",
	    TSS_E_FORBIDDEN);
}

/* A binding that expires in 60 s yielded an 8-hour certificate. */
Test(check_then_act, binding_expiring_in_60s_bounds_the_certificate)
{
	char token[TOKEN_TEXT_LEN + 1], err[256];
	struct store_txn *t;
	struct issue_req rq;
	struct caller c;
	json_t *out = NULL;
	uint64_t id;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_binding_create(t, &root_actor, "dev", "user:bob",
	    fx.now + 60, fx.now, &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	login("bob", token, &c);
	req_of(&c, &rq);
	rq.ttl = 8 * 3600;
	cr_assert_eq(issue_cert(&fx.b->issuer, &rq, fx.now, &out, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_leq(json_integer_value(json_object_get(out,
	    "valid_before")), fx.now + 60, "valid_before %lld outlives the binding "
	    "(%lld)", (long long)json_integer_value(json_object_get(out,
	    "valid_before")), (long long)(fx.now + 60));
	json_decref(out);
	caller_clear(&c);
}

/*
 * After bob was deleted his user:bob bindings remained, and a new account
 * named bob inherited the access.
 */
Test(check_then_act, deleted_users_bindings_do_not_pass_to_a_new_account)
{
	char token[TOKEN_TEXT_LEN + 1], err[256];
	struct store_txn *t;
	struct issue_req rq;
	struct caller c;
	json_t *out = NULL, *list = NULL;
	uint64_t id;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_binding_create(t, &root_actor, "dev", "user:bob", 0,
	    fx.now, &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(broker_user_delete(fx.b, &root_caller, "bob", fx.now, err,
	    sizeof(err)), 0, "%s", err);

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	fixture_user(t, "bob", NULL, fx.now);
	cr_assert_eq(rbac_bindings_json(t, "user:bob", &list), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_expect_eq(json_array_size(list), 0, "user:bob still has %zu "
	    "bindings", json_array_size(list));
	login("bob", token, &c);
	req_of(&c, &rq);
	cr_expect_eq(issue_cert(&fx.b->issuer, &rq, fx.now, &out, err, sizeof(err)),
	    TSS_E_FORBIDDEN);
	json_decref(out);
	json_decref(list);
	caller_clear(&c);
}

/* ---- one group-commit batch ---- */

/*
 * A gate: a job that holds the committer inside its batch until opened,
 * so that the jobs queued meanwhile are taken together into the next one.
 */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int in, open;
};

static int
gate_fn(struct store_txn *t, void *arg)
{
	struct gate *g = arg;

	(void)t;
	pthread_mutex_lock(&g->mu);
	g->in = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void
gate_done(void *arg, int r)
{
	(void)arg;
	cr_expect_eq(r, 0);
}

static void
gate_close(struct gate *g)
{
	cr_assert_eq(commit_submit(fx.b->commits, gate_fn, gate_done, g), 0);
	pthread_mutex_lock(&g->mu);
	while (!g->in)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* Poll, with a bound, until n jobs wait behind the gate. */
static void
wait_queued(size_t n)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 10000 && commit_queued(fx.b->commits) < n; i++)
		nanosleep(&ms, NULL);
	cr_assert_eq(commit_queued(fx.b->commits), n);
}

static void *
reset_main(void *arg)
{
	(void)arg;
	reset_alice();
	return NULL;
}

/*
 * Alice's issuance (decided now) and an admin's reset of her, queued
 * behind a gate so that both run in one group-commit batch: the issuance
 * first when issue_first, else the reset.  Returns the issuance's commit
 * result; *out is its would-be answer.
 */
static int
one_batch(int issue_first, struct caller *c, json_t **out)
{
	struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0 };
	struct fixture_wait w = FIXTURE_WAIT_INIT;
	char token[TOKEN_TEXT_LEN + 1];
	struct issue_job *job;
	pthread_t th;

	job = prepare_alice(c, token, out);
	gate_close(&g);
	if (issue_first)
		submit(job, &w);
	cr_assert_eq(pthread_create(&th, NULL, reset_main, NULL), 0);
	wait_queued(1 + issue_first);
	if (!issue_first) {
		submit(job, &w);
		wait_queued(2);
	}
	gate_open(&g);
	pthread_join(th, NULL);
	return fixture_waited(&w);
}

/* Issuance committed first in the reset's own batch: the reset, later in
 * the same transaction, revokes it. */
Test(check_then_act, issuance_before_a_reset_in_one_batch_is_revoked_by_it)
{
	struct caller c;
	json_t *out = NULL;

	cr_expect_eq(one_batch(1, &c, &out), 0, "issued before the reset");
	expect_revoked(out, &c);
}

/* The reset first, the issuance after it in the same batch: refused. */
Test(check_then_act, issuance_after_a_reset_in_one_batch_is_refused)
{
	struct caller c;
	json_t *out = NULL;

	cr_expect_eq(one_batch(0, &c, &out), TSS_E_UNAUTHENTICATED);
	cr_expect(!ledger_has(serial_of(out), NULL));
	json_decref(out);
	caller_clear(&c);
}

/* alice left her group but a binding of her own grants the same access:
 * the commit decides again on the groups she has now and lets it through. */
Test(check_then_act, a_group_change_that_keeps_the_access_is_decided_again)
{
	char token[TOKEN_TEXT_LEN + 1], err[256];
	struct issue_job *job;
	struct store_txn *t;
	struct caller c;
	json_t *out = NULL;
	uint64_t id;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(rbac_binding_create(t, &root_actor, "dev", "user:alice",
	    0, fx.now, &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	job = prepare_alice(&c, token, &out);
	patch_alice(1, -1);
	cr_expect_eq(commit_job(job), 0);
	cr_expect(ledger_has(serial_of(out), NULL));
	json_decref(out);
	caller_clear(&c);
}

/*
 * The caller cache (broker/callers.h) is a hint: a caller remembered
 * before a logout still decides, but the commit refuses it as the store
 * says, and once forgotten the token is refused before any decision.
 */
Test(check_then_act, a_remembered_caller_is_rechecked_by_the_commit)
{
	char token[TOKEN_TEXT_LEN + 1], err[256];
	uint8_t key[TOKEN_HASH_LEN];
	struct issue_job *job = NULL;
	struct store_txn *t;
	struct issue_req rq;
	struct caller c;
	json_t *out = NULL;

	login("alice", token, &c);
	caller_clear(&c);
	cr_assert_eq(broker_caller_cached(fx.b, token, fx.now, &c), 0);
	cr_expect_eq(c.cached, 0, "the first resolution reads the store");
	caller_clear(&c);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(session_end(t, token, "127.0.0.1", fx.now), 0);
	cr_assert_eq(store_commit(t), 0);

	cr_assert_eq(broker_caller_cached(fx.b, token, fx.now, &c), 0);
	cr_expect_eq(c.cached, 1);
	cr_expect_str_eq(c.username, "alice");
	cr_expect_eq(broker_caller(fx.b, token, fx.now, &(struct caller){0}),
	    TSS_E_UNAUTHENTICATED, "the uncached path sees the logout");
	req_of(&c, &rq);
	rq.snap = c.snap;
	memcpy(key, c.session, sizeof(key));
	cr_assert_eq(issue_prepare(&fx.b->issuer, &rq, fx.now, &job, &out,
	    err, sizeof(err)), 0, "%s", err);
	expect_refused(job, out, &c, "the logout (remembered caller)",
	    TSS_E_UNAUTHENTICATED);
	broker_caller_forget(fx.b, key);
	cr_expect_eq(broker_caller_cached(fx.b, token, fx.now, &c),
	    TSS_E_UNAUTHENTICATED);
}

/* A remembered caller serves until the session's use must be recorded
 * again, never past it: then the store is read and the use recorded. */
Test(check_then_act, a_remembered_caller_ends_when_the_use_is_due)
{
	char token[TOKEN_TEXT_LEN + 1];
	struct session *s = NULL;
	struct store_txn *t;
	struct caller c;
	int64_t later = fx.now + SESSION_TOUCH_EVERY;
	int touch = -1;

	login("alice", token, &c);
	caller_clear(&c);
	cr_assert_eq(broker_caller_cached(fx.b, token, fx.now, &c), 0);
	caller_clear(&c);
	cr_assert_eq(broker_caller_cached(fx.b, token, later - 1, &c), 0);
	cr_expect_eq(c.cached, 1);
	caller_clear(&c);
	cr_assert_eq(broker_caller_cached(fx.b, token, later, &c), 0);
	cr_expect_eq(c.cached, 0, "served past the recorded use");
	caller_clear(&c);
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(session_peek(t, token, later, 1800, 43200, &s, &touch),
	    0);
	store_abort(t);
	cr_expect_eq(s->last_used, later, "the use was not recorded");
	cr_expect_eq(touch, 0);
	session_free(s);
}
