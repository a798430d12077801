/*
 * admin, users: the user use cases of broker/admin.c (list, get, create,
 * patch, delete, reset), GET /v1/check and the audit listing's paging, on
 * a real broker (fixture.h).  Each succeeds as the contract says, and each
 * refusal (no permission, a bad field named, not found, conflict) has its
 * code and message and changes nothing in the store (bh.h's digest of
 * every database).  The admin guard's own judgement is rbac's suite's
 * (tests/unit/rbac/test_guard.c); the policy use cases are in
 * test_admin_policy.c.
 *
 * The world: target lab/box, role dev (app on lab/<any>) bound to
 * group:dev; alice in dev, bob with no access, root the full admin.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "auth/token.h"
#include "auth/user.h"
#include "bh.h"
#include "broker/broker.h"
#include "broker/issue.h"
#include "common/err.h"
#include "fixture.h"
#include "rbac/rbac.h"
#include "store/store.h"

static struct fixture fx;

/* A user without any admin permission, and one that may only read. */
static const struct caller bob = { .username = "bob" };
static const struct caller reader = { .username = "rita",
    .perms = RBAC_PERM_USERS_READ | RBAC_PERM_TARGETS_READ };

static void
setup(void)
{
	static const char *const cfg[] = { "public_url",
	    "https://tessera.example", NULL };

	fixture_open(&fx, cfg, 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(admin_users, .init = setup, .fini = teardown, .timeout = 60);

static struct user *
stored_user(const char *name)
{
	struct store_txn *t;
	struct user *u = NULL;
	int r;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	r = user_get(t, name, &u);
	store_abort(t);
	cr_assert(r == 0 || r == TSS_E_NOT_FOUND, "user_get: %d", r);
	return u;
}

/* ---- list and get ---- */

Test(admin_users, list_and_get_need_users_read_except_for_oneself)
{
	char want[256];
	json_t *out = NULL;
	char err[8];

	cr_assert_eq(broker_users_list(fx.b, &bh_root, &out), 0);
	cr_assert_eq(json_array_size(json_object_get(out, "users")), 3);
	snprintf(want, sizeof(want), "{\"created\":%lld,\"disabled\":false,"
	    "\"groups\":[\"dev\"],\"last_login\":null,\"locked\":false,"
	    "\"recovery_codes_left\":0,\"state\":\"active\","
	    "\"username\":\"alice\"}", (long long)fx.now);
	bh_expect_json(json_array_get(json_object_get(out, "users"), 0), want);
	cr_expect_str_eq(bh_str(json_array_get(json_object_get(out, "users"),
	    1), "username"), "bob");
	cr_expect_str_eq(bh_str(json_array_get(json_object_get(out, "users"),
	    2), "username"), "root");
	json_decref(out);
	cr_assert_eq(broker_users_list(fx.b, &reader, &out), 0);
	json_decref(out);

	cr_assert_eq(broker_user_get(fx.b, &bh_root, "alice", &out), 0);
	bh_expect_json(out, want);
	json_decref(out);
	/* Oneself needs no permission. */
	cr_assert_eq(broker_user_get(fx.b, &bob, "bob", &out), 0);
	cr_expect_str_eq(bh_str(out, "username"), "bob");
	json_decref(out);

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_users_list(fx.b, &bob, &out));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_get(fx.b, &bob, "alice", &out));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_user_get(fx.b, &bh_root, "zed", &out));
}

/* ---- create ---- */

Test(admin_users, create_hands_out_an_enrollment_link)
{
	static const char *const groups[] = { "ops", "web" };
	char want[128];
	struct user *u;
	json_t *out = NULL;
	char err[256] = "";
	const char *tok;
	uint64_t seq = bh_audit_seq(fx.b->store);

	cr_assert_eq(broker_user_create(fx.b, &bh_root, "carol", groups, 2,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(bh_str(out, "username"), "carol");
	cr_assert_not_null(tok = bh_str(out, "enroll_token"));
	cr_expect_eq(strlen(tok), TOKEN_TEXT_LEN);
	snprintf(want, sizeof(want), "https://tessera.example/enroll#token=%s",
	    tok);
	cr_expect_str_eq(bh_str(out, "enroll_url"), want);
	cr_expect_eq(strncmp(bh_str(out, "enroll_qr_svg"), "<svg ", 5), 0);
	cr_expect_gt(bh_int(out, "expires_at"), fx.now);
	cr_expect_eq(json_object_size(out), 5);
	json_decref(out);

	cr_assert_not_null(u = stored_user("carol"));
	cr_expect_eq(u->state, USER_PENDING);
	cr_expect_eq(u->disabled, 0);
	cr_assert_eq(u->ngroups, 2);
	cr_expect_str_eq(u->groups[0], "ops");
	cr_expect_str_eq(u->groups[1], "web");
	user_free(u);
	bh_expect_root_event(fx.b->store, seq, "user.create", "carol");
}

Test(admin_users, create_refusals_change_nothing)
{
	static const char *const bad_group[] = { "a,b" };
	static const char name_msg[] = "username: expected [a-z_][a-z0-9_.-], "
	    "at most 32 bytes";
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_create(fx.b, &bob, "carol", NULL, 0, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_create(fx.b, &reader, "carol", NULL, 0, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, name_msg,
	    broker_user_create(fx.b, &bh_root, "Carol", NULL, 0, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, name_msg,
	    broker_user_create(fx.b, &bh_root, NULL, NULL, 0, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, name_msg,
	    broker_user_create(fx.b, &bh_root, "abcdefghijklmnopqrstuvwxyz0123456",
	    NULL, 0, fx.now, &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_CONFLICT, "user alice exists",
	    broker_user_create(fx.b, &bh_root, "alice", NULL, 0, fx.now, &out,
	    err, sizeof(err)));
	/* The message is the subject of groups_are_named_when_refused. */
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, NULL,
	    broker_user_create(fx.b, &bh_root, "carol", bad_group, 1, fx.now,
	    &out, err, sizeof(err)));
}

/* ---- patch ---- */

Test(admin_users, patch_sets_groups_and_the_disabled_flag)
{
	static const char *const ops[] = { "ops" };
	json_t *out = NULL, *before = NULL;
	char err[256] = "";
	uint64_t seq;

	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", ops, 1, 1, -1,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	bh_expect_json(json_object_get(out, "groups"), "[\"ops\"]");
	cr_expect(json_is_false(json_object_get(out, "disabled")));
	json_decref(out);
	bh_expect_root_event(fx.b->store, seq, "user.update", "alice");

	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", NULL, 0, 0, 1,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	cr_expect(json_is_true(json_object_get(out, "disabled")));
	bh_expect_json(json_object_get(out, "groups"), "[\"ops\"]");
	json_decref(out);
	bh_expect_root_event(fx.b->store, seq, "user.disable", "alice");

	/* Disabling the disabled, or changing nothing, writes nothing. */
	cr_assert_eq(broker_user_get(fx.b, &bh_root, "alice", &before), 0);
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", NULL, 0, 0, 1,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	cr_expect(json_equal(out, before));
	json_decref(out);
	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", NULL, 0, 0, -1,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	cr_expect(json_equal(out, before));
	json_decref(out);
	json_decref(before);
	cr_expect_eq(bh_audit_seq(fx.b->store), seq);

	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", NULL, 0, 0, 0,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	cr_expect(json_is_false(json_object_get(out, "disabled")));
	json_decref(out);
	bh_expect_root_event(fx.b->store, seq, "user.enable", "alice");
}

Test(admin_users, patch_refusals_change_nothing)
{
	static const char *const bad_group[] = { "Ops" };
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_patch(fx.b, &bob, "alice", NULL, 0, 0, 1, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_patch(fx.b, &reader, "alice", NULL, 0, 0, 1, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_user_patch(fx.b, &bh_root, "zed", NULL, 0, 0, 1, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, NULL,
	    broker_user_patch(fx.b, &bh_root, "alice", bad_group, 1, 1, -1,
	    fx.now, &out, err, sizeof(err)));
}

/*
 * A group list user_create/user_set_groups would refuse (a bad name, a
 * name twice) is refused before the write with the element named, for
 * the client to fix.
 */
Test(admin_users, groups_are_named_when_refused)
{
	static const char *const twice[] = { "ops", "ops" };
	static const char *const bad[] = { "Ops" };
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "groups[1]: ops is listed twice",
	    broker_user_create(fx.b, &bh_root, "carol", twice, 2, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "groups[1]: ops is listed twice",
	    broker_user_patch(fx.b, &bh_root, "alice", twice, 2, 1, -1, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "groups[0]: expected a name of [a-z_][a-z0-9_.-], at most 32 "
	    "bytes",
	    broker_user_create(fx.b, &bh_root, "carol", bad, 1, fx.now, &out,
	    err, sizeof(err)));
}

/* ---- delete ---- */

Test(admin_users, delete_removes_the_user)
{
	struct user *u;
	char err[256] = "";
	uint64_t seq = bh_audit_seq(fx.b->store);

	cr_assert_eq(broker_user_delete(fx.b, &bh_root, "bob", fx.now, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_null(u = stored_user("bob"));
	user_free(u);
	bh_expect_root_event(fx.b->store, seq, "user.delete", "bob");
}

Test(admin_users, delete_refusals_change_nothing)
{
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "you cannot delete your own account",
	    broker_user_delete(fx.b, &bh_root, "root", fx.now, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_user_delete(fx.b, &bh_root, "zed", fx.now, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_delete(fx.b, &bob, "alice", fx.now, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_delete(fx.b, &reader, "alice", fx.now, err,
	    sizeof(err)));
}

/* ---- reset ---- */

/* One certificate for alice, committed. */
static void
issue_for_alice(void)
{
	static const char *const dev[] = { "dev" };
	struct issue_req rq = { .username = "alice", .groups = dev,
	    .n_groups = 1, .public_key = fx.pubkey, .target = "lab/box",
	    .login = "app" };
	json_t *out = NULL;
	char err[256];

	cr_assert_eq(issue_cert(&fx.b->issuer, &rq, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
}

Test(admin_users, reset_hands_out_a_new_link_and_counts_revocations)
{
	struct user *u;
	json_t *out = NULL, *e;
	char err[256] = "", want[128];
	uint64_t seq;

	issue_for_alice();
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_reset(fx.b, &bh_root, "alice", fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(bh_str(out, "username"), "alice");
	cr_expect_eq(strlen(bh_str(out, "enroll_token")), TOKEN_TEXT_LEN);
	snprintf(want, sizeof(want), "https://tessera.example/enroll#token=%s",
	    bh_str(out, "enroll_token"));
	cr_expect_str_eq(bh_str(out, "enroll_url"), want);
	cr_expect_eq(strncmp(bh_str(out, "enroll_qr_svg"), "<svg ", 5), 0);
	cr_expect_eq(bh_int(out, "revoked_certificates"), 1);
	json_decref(out);
	cr_assert_not_null(u = stored_user("alice"));
	cr_expect_eq(u->state, USER_PENDING);
	user_free(u);
	cr_assert_not_null(e = bh_audit_find(fx.b->store, seq,
	    "cert.revoke_user"));
	cr_expect_eq(bh_int(e, "count"), 1);
	cr_expect_str_eq(bh_str(e, "object"), "user:alice");
	json_decref(e);
	cr_assert_not_null(e = bh_audit_find(fx.b->store, seq, "user.reset"));
	json_decref(e);

	/* Nothing to revoke: a zero count and no revocation event. */
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_reset(fx.b, &bh_root, "bob", fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(bh_int(out, "revoked_certificates"), 0);
	json_decref(out);
	bh_expect_root_event(fx.b->store, seq, "user.reset", "bob");
}

Test(admin_users, reset_refusals_change_nothing)
{
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_user_reset(fx.b, &bh_root, "zed", fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_reset(fx.b, &bob, "alice", fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_reset(fx.b, &reader, "alice", fx.now, &out, err,
	    sizeof(err)));
}

/* ---- unlock ---- */

Test(admin_users, unlock_clears_the_lock_and_is_audited)
{
	struct store_txn *t;
	struct user *u = NULL;
	json_t *out = NULL;
	char err[256] = "";
	uint64_t seq;

	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_get(t, "alice", &u), 0);
	u->locked = 1;
	u->failures = 9;
	u->throttle_until = fx.now + 600;
	u->last_login = 1700000000;	/* shown as RFC 3339 */
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_user_unlock(fx.b, &reader, "alice", fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_user_unlock(fx.b, &bh_root, "zed", fx.now, &out, err,
	    sizeof(err)));
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_user_unlock(fx.b, &bh_root, "alice", fx.now, &out,
	    err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(bh_str(out, "username"), "alice");
	cr_expect(json_is_false(json_object_get(out, "locked")));
	cr_expect_str_eq(bh_str(out, "last_login"), "2023-11-14T22:13:20Z");
	json_decref(out);
	cr_assert_not_null(u = stored_user("alice"));
	cr_expect_eq(u->locked, 0);
	cr_expect_eq(u->failures, 0);
	cr_expect_eq(u->throttle_until, 0);
	user_free(u);
	bh_expect_root_event(fx.b->store, seq, "user.unlock", "alice");
}

/* ---- check ---- */

Test(admin_users, check_answers_with_the_reason_and_writes_nothing)
{
	static const struct caller binder = { .username = "bo",
	    .perms = RBAC_PERM_BINDINGS_WRITE };
	uint8_t before[BH_DIGEST_LEN];
	char want[128], err[256] = "";
	json_t *out = NULL;

	bh_digest_all(fx.b->store, before);
	cr_assert_eq(broker_check(fx.b, &bh_root, "alice", "lab/box", "app",
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "{\"allowed\":true,\"reason\":\"allowed "
	    "by binding %llu, role dev, rule 0\"}",
	    (unsigned long long)fx.dev_binding);
	bh_expect_json(out, want);
	json_decref(out);
	/* bindings:write implies bindings:read. */
	cr_assert_eq(broker_check(fx.b, &binder, "bob", "lab/box", "app",
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	bh_expect_json(out, "{\"allowed\":false,\"reason\":\"denied: no "
	    "binding for the user or its groups\"}");
	json_decref(out);
	cr_assert_eq(broker_check(fx.b, &bh_root, "zed", "lab/box", "app",
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	bh_expect_json(out, "{\"allowed\":false,\"reason\":\"no user zed\"}");
	json_decref(out);
	cr_assert_eq(broker_user_patch(fx.b, &bh_root, "alice", NULL, 0, 0, 1,
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	json_decref(out);
	bh_digest_all(fx.b->store, before);
	cr_assert_eq(broker_check(fx.b, &bh_root, "alice", "lab/box", "app",
	    fx.now, &out, err, sizeof(err)), 0, "%s", err);
	bh_expect_json(out, "{\"allowed\":false,\"reason\":\"user alice is "
	    "disabled\"}");
	json_decref(out);
	bh_expect_unchanged(fx.b->store, before, "broker_check");

	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "user, target and login are required",
	    broker_check(fx.b, &bh_root, "alice", NULL, "app", fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_check(fx.b, &reader, "alice", "lab/box", "app", fx.now,
	    &out, err, sizeof(err)));
}

/* ---- audit listing ---- */

/* The seqs of out's events, as "1,2,3". */
static void
expect_seqs(const json_t *out, uint64_t first, uint64_t n)
{
	const json_t *ev = json_object_get(out, "events");
	size_t i;

	cr_assert_eq(json_array_size(ev), n);
	for (i = 0; i < n; i++)
		cr_expect_eq((uint64_t)bh_int(json_array_get(ev, i), "seq"),
		    first + i);
}

static int
alist(const struct caller *c, const char *after, const char *limit,
    json_t **out, char *err, size_t len)
{
	struct broker_audit_q q;

	memset(&q, 0, sizeof(q));
	q.after = after;
	q.limit = limit;
	return broker_audit_list(fx.b, c, &q, out, err, len);
}

Test(admin_users, audit_list_pages_by_seq_and_limit)
{
	static const struct caller auditor = { .username = "ann",
	    .perms = RBAC_PERM_AUDIT_READ };
	static const char msg[] = "after: a sequence number; limit: 1 to 1000";
	static const char *const bad[][2] = { { NULL, "0" }, { NULL, "1001" },
	    { NULL, "-1" }, { NULL, "x" }, { NULL, "" }, { NULL, "5 " },
	    { "abc", NULL }, { "-1", NULL }, { "", NULL },
	    { "18446744073709551615", NULL }, { "99999999999999999999", NULL } };
	json_t *out = NULL;
	char err[256] = "", after[32];
	uint64_t n = bh_audit_seq(fx.b->store);
	size_t i;

	cr_assert_geq(n, 6, "the fixture's world left %llu events",
	    (unsigned long long)n);
	cr_assert_eq(alist(&auditor, NULL, NULL, &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_seqs(out, 1, n);
	json_decref(out);
	cr_assert_eq(alist(&bh_root, "2", "3", &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_seqs(out, 3, 3);
	json_decref(out);
	snprintf(after, sizeof(after), "%llu", (unsigned long long)(n - 1));
	cr_assert_eq(alist(&bh_root, after, "1000", &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_seqs(out, n, 1);
	json_decref(out);
	snprintf(after, sizeof(after), "%llu", (unsigned long long)n);
	cr_assert_eq(alist(&bh_root, after, "1", &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_seqs(out, n + 1, 0);
	json_decref(out);
	cr_assert_eq(alist(&bh_root, "18446744073709551614",
	    NULL, &out, err, sizeof(err)), 0, "%s", err);
	expect_seqs(out, 0, 0);
	json_decref(out);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, msg,
		    alist(&bh_root, bad[i][0], bad[i][1], &out,
		    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    alist(&reader, NULL, NULL, &out, err,
	    sizeof(err)));
}

/* Seqs of out's events, newest first from hi down to lo, all of them. */
static void
expect_desc(const json_t *out, uint64_t hi, uint64_t lo)
{
	const json_t *ev = json_object_get(out, "events");
	size_t i;

	cr_assert_eq(json_array_size(ev), hi - lo + 1);
	for (i = 0; i < json_array_size(ev); i++)
		cr_expect_eq((uint64_t)bh_int(json_array_get(ev, i), "seq"),
		    hi - i);
}

Test(admin_users, audit_newest_first_keyset_filters_and_verify)
{
	struct broker_audit_q q;
	json_t *out = NULL, *all = NULL, *e;
	char err[256] = "", before[32];
	const char *actor, *action, *time;
	uint64_t n = bh_audit_seq(fx.b->store), next;
	int64_t ra;
	size_t i;

	memset(&q, 0, sizeof(q));
	q.order = "newest";
	q.limit = "2";
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_desc(out, n, n - 1);
	next = (uint64_t)bh_int(out, "next");
	cr_assert_eq(next, n - 1);
	json_decref(out);
	snprintf(before, sizeof(before), "%llu", (unsigned long long)next);
	q.before = before;
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_desc(out, n - 2, n - 3);
	json_decref(out);
	q.before = "2";
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	expect_desc(out, 1, 1);
	cr_expect(json_is_null(json_object_get(out, "next")));
	json_decref(out);

	/* Filters, against the whole trail read oldest first. */
	cr_assert_eq(alist(&bh_root, NULL, "1000", &all, err, sizeof(err)), 0);
	e = json_array_get(json_object_get(all, "events"), 0);
	actor = json_string_value(json_object_get(e, "actor"));
	action = json_string_value(json_object_get(e, "action"));
	time = json_string_value(json_object_get(e, "time"));
	memset(&q, 0, sizeof(q));
	q.order = "newest";
	q.actor = actor;
	q.action = action;
	q.until = time;
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_geq(json_array_size(json_object_get(out, "events")), 1);
	json_array_foreach(json_object_get(out, "events"), i, e) {
		cr_expect_str_eq(json_string_value(json_object_get(e, "actor")),
		    actor);
		cr_expect_str_eq(json_string_value(json_object_get(e, "action")),
		    action);
		cr_expect_leq(strcmp(json_string_value(json_object_get(e,
		    "time")), time), 0);
	}
	json_decref(out);
	/* An action prefix, through the text look and the parsed check. */
	snprintf(before, sizeof(before), "%.*s", (int)(strchr(action, '.') -
	    action + 1), action);
	q.actor = NULL;
	q.until = NULL;
	q.action = before;
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_geq(json_array_size(json_object_get(out, "events")), 1);
	json_array_foreach(json_object_get(out, "events"), i, e)
		cr_expect_eq(strncmp(json_string_value(json_object_get(e,
		    "action")), before, strlen(before)), 0);
	json_decref(out);
	q.action = NULL;
	q.actor = "ro\"ot\xc3\xa9";	/* not plain: parsed, never matched */
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(json_array_size(json_object_get(out, "events")), 0);
	json_decref(out);
	q.actor = "nobody-at-all";
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(json_array_size(json_object_get(out, "events")), 0);
	json_decref(out);
	memset(&q, 0, sizeof(q));
	q.since = "2999-01-01T00:00:00Z";
	cr_assert_eq(broker_audit_list(fx.b, &bh_root, &q, &out, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(json_array_size(json_object_get(out, "events")), 0);
	json_decref(out);
	json_decref(all);

	memset(&q, 0, sizeof(q));
	q.since = "2026-13-01T00:00:00Z";
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "since: a UTC time as 2026-12-07T03:40:00Z",
	    broker_audit_list(fx.b, &bh_root, &q, &out, err, sizeof(err)));
	q.since = NULL;
	q.before = "3";
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "before: only with order=newest and without after",
	    broker_audit_list(fx.b, &bh_root, &q, &out, err, sizeof(err)));
	q.order = "newest";
	q.before = "x";
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "before: a sequence number",
	    broker_audit_list(fx.b, &bh_root, &q, &out, err, sizeof(err)));
	q.before = NULL;
	q.order = "sideways";
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "order: newest or oldest",
	    broker_audit_list(fx.b, &bh_root, &q, &out, err, sizeof(err)));
	q.order = NULL;
	q.actor = "";
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "actor: 1 to 256 characters",
	    broker_audit_list(fx.b, &bh_root, &q, &out, err, sizeof(err)));

	cr_assert_eq(broker_audit_verify(fx.b, &bh_root, fx.now, &out, &ra,
	    err, sizeof(err)), 0);
	cr_expect(json_is_true(json_object_get(out, "ok")));
	cr_expect_eq((uint64_t)bh_int(out, "count"), n);
	json_decref(out);
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, NULL,
	    broker_audit_verify(fx.b, &reader, fx.now, &out, &ra, err,
	    sizeof(err)));
}

Test(admin_users, audit_verify_one_at_a_time_and_six_a_minute_per_user)
{
	static const struct caller auditor = { .username = "aud",
	    .perms = RBAC_PERM_AUDIT_READ };
	json_t *out = NULL;
	char err[256] = "";
	int64_t ra;
	int i;

	for (i = 0; i < BROKER_VERIFY_BURST; i++) {
		cr_assert_eq(broker_audit_verify(fx.b, &bh_root, fx.now, &out,
		    &ra, err, sizeof(err)), 0, "verification %d: %s", i, err);
		json_decref(out);
	}
	BH_REFUSED(fx.b->store, err, out, TSS_E_TOO_MANY_ATTEMPTS,
	    "at most 6 verifications of the audit chain a minute",
	    broker_audit_verify(fx.b, &bh_root, fx.now, &out, &ra, err,
	    sizeof(err)));
	cr_expect_eq(ra, BROKER_VERIFY_INTERVAL);
	/* Per user: another still may; root again after the interval. */
	cr_assert_eq(broker_audit_verify(fx.b, &auditor, fx.now, &out, &ra,
	    err, sizeof(err)), 0, "%s", err);
	json_decref(out);
	cr_assert_eq(broker_audit_verify(fx.b, &bh_root, fx.now +
	    BROKER_VERIFY_INTERVAL, &out, &ra, err, sizeof(err)), 0, "%s", err);
	json_decref(out);

	/* While one runs (it holds verify_mu), a second is refused without
	 * spending its token: the auditor's five left all work after. */
	cr_assert_eq(pthread_mutex_lock(&fx.b->verify_mu), 0);
	BH_REFUSED(fx.b->store, err, out, TSS_E_TOO_MANY_ATTEMPTS,
	    "a verification of the audit chain is running; try again when "
	    "it is done", broker_audit_verify(fx.b, &auditor, fx.now, &out,
	    &ra, err, sizeof(err)));
	cr_expect_eq(ra, BROKER_VERIFY_BUSY_RETRY);
	cr_assert_eq(pthread_mutex_unlock(&fx.b->verify_mu), 0);
	for (i = 1; i < BROKER_VERIFY_BURST; i++) {
		cr_assert_eq(broker_audit_verify(fx.b, &auditor, fx.now, &out,
		    &ra, err, sizeof(err)), 0, "verification %d: %s", i, err);
		json_decref(out);
	}
}
