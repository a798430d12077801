/*
 * admin, policy: the target, role and binding use cases of broker/admin.c
 * on a real broker (fixture.h).  Each succeeds and answers what was
 * stored, bookkeeping included; each refusal (no permission, a bad field
 * named, not found, in use) has its code and message and changes nothing
 * in the store (bh.h's digest of every database).  Writes take the
 * caller's permissions from the store, not from struct caller; reads from
 * struct caller.  The guard's judgement is rbac's suite's.
 *
 * The world: target lab/box (env=lab), role dev (app on lab/<any>) bound
 * to group:dev, role admin ("*") bound to user:root; alice in dev, bob
 * with no access, root the full admin.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "common/err.h"
#include "fixture.h"
#include "rbac/rbac.h"
#include "store/store.h"

static struct fixture fx;

static const struct caller bob = { .username = "bob" };
/* Claims every permission, but the store grants bob none. */
static const struct caller bob_claiming_all = { .username = "bob",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };

static void
setup(void)
{
	fixture_open(&fx, NULL, 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(admin_policy, .init = setup, .fini = teardown, .timeout = 60);

/* The names in a listing's array, as "a,b,c". */
static void
expect_names(const json_t *out, const char *key, const char *field,
    const char *want)
{
	const json_t *a = json_object_get(out, key);
	char got[512] = "";
	size_t i, n = 0;

	cr_assert(json_is_array(a), "%s", key);
	for (i = 0; i < json_array_size(a); i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s",
		    i > 0 ? "," : "", bh_str(json_array_get(a, i), field));
	cr_expect_str_eq(got, want);
}

/* ---- targets ---- */

Test(admin_policy, targets_list_needs_targets_read)
{
	static const struct caller writer = { .username = "tw",
	    .perms = RBAC_PERM_TARGETS_WRITE };
	static const struct caller roles = { .username = "rr",
	    .perms = RBAC_PERM_ROLES_READ | RBAC_PERM_USERS_WRITE };
	char want[200], err[8];
	json_t *out = NULL;

	cr_assert_eq(broker_targets_list(fx.b, &writer, &out), 0);
	snprintf(want, sizeof(want), "{\"targets\":[{\"gateway\":null,"
	    "\"hosts\":[],\"labels\":{\"env\":"
	    "\"lab\"},\"name\":\"lab/box\",\"port\":22,\"updated_at\":%lld,"
	    "\"updated_by\":\"root\"}]}", (long long)fx.now);
	bh_expect_json(out, want);
	json_decref(out);
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_targets_list(fx.b, &roles, &out));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_targets_list(fx.b, &bob, &out));
}

Test(admin_policy, target_put_creates_then_replaces_and_answers_it)
{
	struct rbac_label prod = { "env", "prod" }, stage = { "env", "stage" };
	struct rbac_target tg = { .name = "prod/db", .labels = &prod,
	    .n_labels = 1 };
	struct rbac_target *got = NULL;
	struct store_txn *t;
	char err[256] = "", want[256];
	json_t *out = NULL;
	uint64_t seq = bh_audit_seq(fx.b->store);

	cr_assert_eq(broker_target_put(fx.b, &bh_root, &tg, fx.now + 5, &out, err,
	    sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "{\"gateway\":null,\"hosts\":[],"
	    "\"labels\":{\"env\":\"prod\"},\"name\":\"prod/db\","
	    "\"port\":22,\"updated_at\":%lld,\"updated_by\":\"root\"}",
	    (long long)fx.now + 5);
	bh_expect_json(out, want);
	json_decref(out);
	cr_expect_str_eq(tg.updated_by, "root");
	cr_expect_eq(tg.updated_at, fx.now + 5);
	free(tg.updated_by);
	tg.updated_by = NULL;
	bh_expect_root_event(fx.b->store, seq, "target.put", "prod/db");

	tg.labels = &stage;
	cr_assert_eq(broker_target_put(fx.b, &bh_root, &tg, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
	free(tg.updated_by);
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(rbac_target_get(t, "prod/db", &got), 0);
	store_abort(t);
	cr_assert_eq(got->n_labels, 1);
	cr_expect_str_eq(got->labels[0].value, "stage");
	rbac_target_free(got);
}

Test(admin_policy, target_put_refusals_change_nothing)
{
	struct rbac_label spaced = { "env", "a b" };
	struct rbac_target ok = { .name = "prod/db" },
	    upper = { .name = "Prod/DB" }, sshd = { .name = "prod/sshd" },
	    label = { .name = "prod/db", .labels = &spaced, .n_labels = 1 };
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the targets:write permission",
	    broker_target_put(fx.b, &bob, &ok, fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the targets:write permission",
	    broker_target_put(fx.b, &bob_claiming_all, &ok, fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "name: '/'-separated segments of [a-z0-9][a-z0-9._-]*, at most "
	    "128 bytes, last segment not sshd",
	    broker_target_put(fx.b, &bh_root, &upper, fx.now, &out, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "name: '/'-separated segments of [a-z0-9][a-z0-9._-]*, at most "
	    "128 bytes, last segment not sshd",
	    broker_target_put(fx.b, &bh_root, &sshd, fx.now, &out, err,
	    sizeof(err)));
	err[0] = '\0';
	cr_expect_eq(broker_target_put(fx.b, &bh_root, &label, fx.now, &out, err,
	    sizeof(err)), TSS_E_VALIDATION);
	cr_expect_eq(strncmp(err, "labels.env:", 11), 0, "%s", err);
	/* A refused put answers nothing and stamps nothing. */
	cr_expect_null(ok.updated_by);
	cr_expect_null(label.updated_by);
}

Test(admin_policy, target_delete_refuses_a_target_in_use_unless_forced)
{
	struct rbac_target tg = { .name = "prod/db" };
	json_t *out = NULL;
	char err[256] = "";
	uint64_t seq;

	cr_assert_eq(broker_target_put(fx.b, &bh_root, &tg, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	json_decref(out);
	free(tg.updated_by);
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_target_delete(fx.b, &bh_root, "prod/db", 0, fx.now,
	    err, sizeof(err)), 0, "%s", err);
	bh_expect_root_event(fx.b->store, seq, "target.delete", "prod/db");

	BH_REFUSED(fx.b->store, err, out, TSS_E_CONFLICT, "target lab/box is "
	    "matched by role dev rule 0; delete with force to remove it anyway",
	    broker_target_delete(fx.b, &bh_root, "lab/box", 0, fx.now, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "no such target",
	    broker_target_delete(fx.b, &bh_root, "prod/db", 1, fx.now, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the targets:write permission",
	    broker_target_delete(fx.b, &bob_claiming_all, "lab/box", 1, fx.now,
	    err, sizeof(err)));
	cr_assert_eq(broker_target_delete(fx.b, &bh_root, "lab/box", 1, fx.now,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(broker_targets_list(fx.b, &bh_root, &out), 0);
	bh_expect_json(out, "{\"targets\":[]}");
	json_decref(out);
}

/* ---- roles ---- */

Test(admin_policy, roles_list_and_get_need_roles_read)
{
	static const struct caller targets = { .username = "tr",
	    .perms = RBAC_PERM_TARGETS_WRITE };
	json_t *out = NULL;
	char err[8];

	cr_assert_eq(broker_roles_list(fx.b, &bh_root, &out), 0);
	expect_names(out, "roles", "name", "admin,dev");
	json_decref(out);
	cr_assert_eq(broker_role_get(fx.b, &bh_root, "dev", &out), 0);
	cr_expect_str_eq(bh_str(out, "name"), "dev");
	cr_expect_eq(bh_int(out, "max_ttl"), 3600);
	bh_expect_json(json_object_get(out, "rules"), "[{\"logins\":[\"app\"],"
	    "\"targets\":[\"lab/*\"]}]");
	json_decref(out);
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "",
	    broker_role_get(fx.b, &bh_root, "zed", &out));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_roles_list(fx.b, &targets, &out));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_role_get(fx.b, &bob, "dev", &out));
}

static const char *const ops_logins[] = { "ops" };
static const char *const bad_logins[] = { "ops", "Root" };

Test(admin_policy, role_put_stores_and_answers_the_role)
{
	const struct bh_role in = { .name = "ops", .logins = ops_logins,
	    .n_logins = 1, .max_ttl = 1800, .ext = RBAC_EXT_PTY |
	    RBAC_EXT_AGENT };
	struct rbac_role ro;
	struct rbac_rule rule;
	char err[256] = "", *glob;
	json_t *out = NULL, *stored = NULL;
	uint64_t seq = bh_audit_seq(fx.b->store);

	bh_role_fill(&in, &glob, &rule, &ro);
	cr_assert_eq(broker_role_put(fx.b, &bh_root, &ro, fx.now, &out, err,
	    sizeof(err)), 0, "%s", err);
	free(ro.updated_by);
	cr_expect_str_eq(bh_str(out, "updated_by"), "root");
	cr_expect_eq(bh_int(out, "updated_at"), fx.now);
	bh_expect_json(json_object_get(out, "extensions"),
	    "[\"permit-agent-forwarding\",\"permit-pty\"]");
	bh_expect_root_event(fx.b->store, seq, "role.put", "ops");
	cr_assert_eq(broker_role_get(fx.b, &bh_root, "ops", &stored), 0);
	cr_expect(json_equal(out, stored), "the answer is not what was stored");
	json_decref(stored);
	json_decref(out);
}

Test(admin_policy, role_put_refusals_name_the_field_and_change_nothing)
{
	static const struct {
		struct bh_role in;
		int code;
		const char *msg;
	} cases[] = {
		{ { .name = "ops", .logins = ops_logins, .n_logins = 1,
		    .max_ttl = 0 }, TSS_E_VALIDATION,
		    "max_ttl: 1 second to 100 years" },
		{ { .name = "ops", .logins = bad_logins, .n_logins = 2,
		    .max_ttl = 60 }, TSS_E_VALIDATION, "rules[0].logins[1]: "
		    "not a POSIX account name ([a-z_][a-z0-9_-]{0,31})" },
		{ { .name = "ops", .glob = "Lab/*", .logins = ops_logins,
		    .n_logins = 1, .max_ttl = 60 }, TSS_E_VALIDATION,
		    "rules[0].targets[0]: not a target glob ('/'-separated "
		    "segments of a-z 0-9 . _ - *, \"**\" only as the last "
		    "segment)" },
		{ { .name = "-ops", .logins = ops_logins, .n_logins = 1,
		    .max_ttl = 60 }, TSS_E_VALIDATION, "name: 1-64 characters "
		    "of a-z 0-9 . _ - starting with a letter or digit" },
	};
	const struct bh_role ok = { .name = "ops", .logins = ops_logins,
	    .n_logins = 1, .max_ttl = 60 };
	struct rbac_role ro;
	struct rbac_rule rule;
	char err[256], *glob;
	json_t *out = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bh_role_fill(&cases[i].in, &glob, &rule, &ro);
		BH_REFUSED(fx.b->store, err, out, cases[i].code, cases[i].msg,
		    broker_role_put(fx.b, &bh_root, &ro, fx.now, &out, err,
		    sizeof(err)));
		cr_expect_null(ro.updated_by);
	}
	bh_role_fill(&ok, &glob, &rule, &ro);
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the roles:write permission",
	    broker_role_put(fx.b, &bob_claiming_all, &ro, fx.now, &out, err,
	    sizeof(err)));
}

Test(admin_policy, role_delete_refuses_a_bound_role_unless_forced)
{
	const struct bh_role ops = { .name = "ops", .logins = ops_logins,
	    .n_logins = 1, .max_ttl = 60 };
	char err[256] = "", msg[160];
	json_t *out = NULL;
	uint64_t seq;

	bh_put_role(fx.b->store, &ops, fx.now);
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_role_delete(fx.b, &bh_root, "ops", 0, fx.now, err,
	    sizeof(err)), 0, "%s", err);
	bh_expect_root_event(fx.b->store, seq, "role.delete", "ops");

	snprintf(msg, sizeof(msg), "role dev is used by 1 binding (first: "
	    "%llu); delete with force to remove them too",
	    (unsigned long long)fx.dev_binding);
	BH_REFUSED(fx.b->store, err, out, TSS_E_CONFLICT, msg,
	    broker_role_delete(fx.b, &bh_root, "dev", 0, fx.now, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "no such role",
	    broker_role_delete(fx.b, &bh_root, "ops", 1, fx.now, err,
	    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the roles:write permission",
	    broker_role_delete(fx.b, &bob_claiming_all, "dev", 1, fx.now, err,
	    sizeof(err)));
	/* Forced, its binding goes with it. */
	cr_assert_eq(broker_role_delete(fx.b, &bh_root, "dev", 1, fx.now, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(broker_bindings_list(fx.b, &bh_root, &out), 0);
	expect_names(out, "bindings", "role", "admin");
	json_decref(out);
}

/* ---- bindings ---- */

Test(admin_policy, bindings_list_needs_bindings_read)
{
	static const struct caller writer = { .username = "bw",
	    .perms = RBAC_PERM_BINDINGS_WRITE };
	json_t *out = NULL;
	char err[8];

	cr_assert_eq(broker_bindings_list(fx.b, &writer, &out), 0);
	expect_names(out, "bindings", "subject", "user:root,group:dev");
	json_decref(out);
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN, "",
	    broker_bindings_list(fx.b, &bob, &out));
}

Test(admin_policy, binding_create_answers_the_stored_binding)
{
	char err[256] = "", want[200], object[24];
	json_t *out = NULL;
	uint64_t seq = bh_audit_seq(fx.b->store), id;

	cr_assert_eq(broker_binding_create(fx.b, &bh_root, "dev", "user:bob",
	    fx.now + 3600, fx.now, &out, err, sizeof(err)), 0, "%s", err);
	id = (uint64_t)bh_int(out, "id");
	cr_expect_gt(id, fx.dev_binding);
	snprintf(want, sizeof(want), "{\"created_at\":%lld,\"created_by\":"
	    "\"root\",\"expires_at\":%lld,\"id\":%llu,\"role\":\"dev\","
	    "\"subject\":\"user:bob\"}", (long long)fx.now,
	    (long long)fx.now + 3600, (unsigned long long)id);
	bh_expect_json(out, want);
	json_decref(out);
	snprintf(object, sizeof(object), "%llu", (unsigned long long)id);
	bh_expect_root_event(fx.b->store, seq, "binding.create", object);
	cr_assert_eq(broker_bindings_list(fx.b, &bh_root, &out), 0);
	expect_names(out, "bindings", "subject", "user:root,group:dev,"
	    "user:bob");
	json_decref(out);
}

Test(admin_policy, binding_create_refusals_change_nothing)
{
	json_t *out = NULL;
	char err[256];

	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "role: no such role",
	    broker_binding_create(fx.b, &bh_root, "zed", "user:bob", 0, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "role: not a role name",
	    broker_binding_create(fx.b, &bh_root, "Dev Role", "user:bob", 0,
	    fx.now, &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "subject: \"user:<name>\" or \"group:<name>\"",
	    broker_binding_create(fx.b, &bh_root, "dev", "bob", 0, fx.now, &out,
	    err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION,
	    "expires_at: null or a Unix time in the future",
	    broker_binding_create(fx.b, &bh_root, "dev", "user:bob", fx.now,
	    fx.now, &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "subject: a binding may not cover its own creator",
	    broker_binding_create(fx.b, &bh_root, "dev", "user:root", 0, fx.now,
	    &out, err, sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the bindings:write permission",
	    broker_binding_create(fx.b, &bob_claiming_all, "dev", "user:bob",
	    0, fx.now, &out, err, sizeof(err)));
}

Test(admin_policy, binding_delete_takes_a_positive_decimal_id)
{
	static const char *const bad[] = { "", "0", "-1", "+1", " 1", "1x",
	    "abc", "18446744073709551616" };
	const char *msg = "binding id: expected a positive integer";
	char err[256] = "", id[24];
	json_t *out = NULL;
	uint64_t seq;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BH_REFUSED(fx.b->store, err, out, TSS_E_VALIDATION, msg,
		    broker_binding_delete(fx.b, &bh_root, bad[i], fx.now, err,
		    sizeof(err)));
	BH_REFUSED(fx.b->store, err, out, TSS_E_NOT_FOUND, "no such binding",
	    broker_binding_delete(fx.b, &bh_root, "999", fx.now, err,
	    sizeof(err)));
	snprintf(id, sizeof(id), "%llu", (unsigned long long)fx.dev_binding);
	BH_REFUSED(fx.b->store, err, out, TSS_E_FORBIDDEN,
	    "needs the bindings:write permission",
	    broker_binding_delete(fx.b, &bob_claiming_all, id, fx.now, err,
	    sizeof(err)));
	seq = bh_audit_seq(fx.b->store);
	cr_assert_eq(broker_binding_delete(fx.b, &bh_root, id, fx.now, err,
	    sizeof(err)), 0, "%s", err);
	bh_expect_root_event(fx.b->store, seq, "binding.delete", id);
	cr_assert_eq(broker_bindings_list(fx.b, &bh_root, &out), 0);
	expect_names(out, "bindings", "subject", "user:root");
	json_decref(out);
}
