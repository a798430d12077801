/* Decisions on compiled snapshots: globs, label selectors, expiry,
 * reasons, combining rules, access listings, certificate grants, admin
 * permissions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "rh.h"

TestSuite(rbac_decide);

#define NOW 1000000

static const char *targets_json =
    "\"targets\":{\"prod/api\":{\"env\":\"prod\",\"tier\":\"web\"},"
    "\"prod/api/db\":{\"env\":\"prod\"},\"prod\":{},"
    "\"staging/api\":{\"env\":\"staging\",\"tier\":\"web\"},"
    "\"prod/web\":{\"env\":\"prod\",\"tier\":\"web\"},"
    "\"prod/api-1\":{},\"dev/x/y/z\":{}}";

static struct rbac_snap *
one_rule(const char *rule)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "{%s,\"roles\":{\"r\":{\"rules\":[%s]}},"
	    "\"bindings\":[{\"id\":1,\"role\":\"r\",\"subject\":"
	    "\"user:alice\",\"expires_at\":0}]}", targets_json, rule);
	return rh_compile(buf, 0);
}

static int
allows(struct rbac_snap *s, const char *target)
{
	return rh_decide(s, "alice", NULL, target, "app", NOW, NULL) ==
	    RBAC_ALLOW;
}

Test(rbac_decide, star_matches_exactly_one_segment)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"prod/*\"],"
	    "\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(allows(s, "prod/web"));
	cr_expect(!allows(s, "prod/api/db"));
	cr_expect(!allows(s, "prod"));
	cr_expect(!allows(s, "staging/api"));
	rbac_snap_release(s);
}

Test(rbac_decide, leading_star_matches_any_first_segment)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"*/api\"],"
	    "\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(allows(s, "staging/api"));
	cr_expect(!allows(s, "prod/web"));
	cr_expect(!allows(s, "prod/api/db"));
	rbac_snap_release(s);
}

Test(rbac_decide, double_star_matches_one_or_more_segments)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"prod/**\"],"
	    "\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(allows(s, "prod/api/db"));
	cr_expect(!allows(s, "prod"));
	cr_expect(!allows(s, "staging/api"));
	rbac_snap_release(s);
	s = one_rule("{\"targets\":[\"**\"],\"logins\":[\"app\"]}");
	cr_expect(allows(s, "prod"));
	cr_expect(allows(s, "dev/x/y/z"));
	rbac_snap_release(s);
}

Test(rbac_decide, star_inside_a_segment)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"prod/api-*\","
	    "\"*v/x/*/z\"],\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api-1"));
	cr_expect(!allows(s, "prod/api"));
	cr_expect(!allows(s, "prod/web"));
	cr_expect(allows(s, "dev/x/y/z"));
	rbac_snap_release(s);
}

Test(rbac_decide, literal_glob_matches_only_itself)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"prod/api\"],"
	    "\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(!allows(s, "prod/api-1"));
	cr_expect(!allows(s, "prod/api/db"));
	rbac_snap_release(s);
}

Test(rbac_decide, label_selector_needs_every_label)
{
	struct rbac_snap *s = one_rule("{\"labels\":{\"env\":\"prod\","
	    "\"tier\":\"web\"},\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(allows(s, "prod/web"));
	cr_expect(!allows(s, "prod/api/db"));	/* no tier */
	cr_expect(!allows(s, "staging/api"));	/* env differs */
	rbac_snap_release(s);
}

Test(rbac_decide, globs_and_selector_both_apply)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"*/api\"],"
	    "\"labels\":{\"env\":\"prod\"},\"logins\":[\"app\"]}");

	cr_expect(allows(s, "prod/api"));
	cr_expect(!allows(s, "staging/api"));
	cr_expect(!allows(s, "prod/web"));
	rbac_snap_release(s);
}

Test(rbac_decide, login_must_be_listed)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"prod/*\"],"
	    "\"logins\":[\"app\",\"deploy\"]}");
	struct rbac_decision d;

	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "deploy", NOW,
	    NULL), RBAC_ALLOW);
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "root", NOW, &d),
	    RBAC_DENY_NO_RULE);
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "env", NOW,
	    NULL), RBAC_DENY_NO_RULE);	/* interned as a label key */
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "a,app", NOW,
	    NULL), RBAC_DENY_NO_RULE);
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "", NOW, NULL),
	    RBAC_DENY_NO_RULE);
	rbac_snap_release(s);
}

Test(rbac_decide, unknown_target_and_subject)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"**\"],"
	    "\"logins\":[\"app\"]}");

	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/nope", "app", NOW,
	    NULL), RBAC_DENY_NO_TARGET);
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api/", "app", NOW,
	    NULL), RBAC_DENY_NO_TARGET);
	cr_expect_eq(rh_decide(s, "bob", NULL, "prod/api", "app", NOW, NULL),
	    RBAC_DENY_NO_BINDING);
	/* A group of the same name is a different subject. */
	cr_expect_eq(rh_decide(s, "bob", "alice", "prod/api", "app", NOW,
	    NULL), RBAC_DENY_NO_BINDING);
	rbac_snap_release(s);
}

Test(rbac_decide, null_arguments_deny)
{
	struct rbac_snap *s = one_rule("{\"targets\":[\"**\"],"
	    "\"logins\":[\"app\"]}");
	struct rbac_decision d;

	cr_expect_eq(rbac_decide(NULL, "alice", NULL, 0, "prod/api", "app",
	    NOW, &d), TSS_E_FORBIDDEN);
	cr_expect_eq(d.reason, RBAC_DENY_ERROR);
	cr_expect_eq(rbac_decide(s, NULL, NULL, 0, "prod/api", "app", NOW,
	    &d), TSS_E_FORBIDDEN);
	cr_expect_eq(rbac_decide(s, "alice", NULL, 1, "prod/api", "app", NOW,
	    &d), TSS_E_FORBIDDEN);
	cr_expect_eq(d.reason, RBAC_DENY_ERROR);
	rbac_snap_release(s);
}

static const char *expiry_policy =
    "{\"targets\":{\"prod/api\":{}},\"roles\":{"
    "\"r\":{\"rules\":[{\"targets\":[\"prod/*\"],\"logins\":[\"app\"]}]}},"
    "\"bindings\":[{\"id\":1,\"role\":\"r\",\"subject\":\"user:alice\","
    "\"expires_at\":2000},{\"id\":2,\"role\":\"gone\",\"subject\":"
    "\"user:bob\",\"expires_at\":0},{\"id\":3,\"role\":\"r\",\"subject\":"
    "\"group:ops\",\"expires_at\":3000}]}";

Test(rbac_decide, expired_bindings_grant_nothing)
{
	struct rbac_snap *s = rh_compile(expiry_policy, 0);

	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "app", 1999,
	    NULL), RBAC_ALLOW);
	cr_expect_eq(rh_decide(s, "alice", NULL, "prod/api", "app", 2000,
	    NULL), RBAC_DENY_NO_ACTIVE);
	cr_expect_eq(rh_decide(s, "alice", "ops", "prod/api", "app", 2500,
	    NULL), RBAC_ALLOW);
	cr_expect_eq(rh_decide(s, "alice", "ops", "prod/api", "app", 3000,
	    NULL), RBAC_DENY_NO_ACTIVE);
	rbac_snap_release(s);
}

/*
 * Finding: a binding that expires in 60 s yielded an 8-hour certificate.
 * The decision, the access listing and the grant carry the earliest
 * expiry of the bindings that grant, so issuance can bound the validity.
 */
Test(rbac_decide, binding_expiring_in_60s_bounds_the_grant)
{
	struct rbac_snap *s = rh_compile(expiry_policy, 0);
	struct rbac_access *a = NULL;
	struct rbac_grant g;
	struct rbac_decision d;

	cr_assert_eq(rh_decide(s, "alice", NULL, "prod/api", "app", 1940,
	    &d), RBAC_ALLOW);
	cr_expect_eq(d.expires_at, 2000);
	/* Two granting bindings: the earlier expiry bounds the grant. */
	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/api", "app", 1940,
	    &d), RBAC_ALLOW);
	cr_expect_eq(d.expires_at, 2000);
	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/api", "app", 2500,
	    &d), RBAC_ALLOW);
	cr_expect_eq(d.expires_at, 3000);
	cr_assert_eq(rbac_access(s, "alice", NULL, 0, 1940, &a), 0);
	cr_assert_gt(a->n, 0);
	cr_expect_eq(a->entries[0].expires_at, 2000);
	cr_assert_eq(rbac_grant(a, NULL, NULL, &g), 0);
	cr_expect_eq(g.expires_at, 2000);
	rbac_grant_clear(&g);
	rbac_access_free(a);
	rbac_snap_release(s);
	/* A binding without expiry grants without a bound. */
	s = one_rule("{\"targets\":[\"prod/*\"],\"logins\":[\"app\"]}");
	cr_assert_eq(rh_decide(s, "alice", NULL, "prod/api", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.expires_at, 0);
	rbac_snap_release(s);
}

Test(rbac_decide, binding_to_deleted_role_grants_nothing)
{
	struct rbac_snap *s = rh_compile(expiry_policy, 0);

	cr_expect_eq(rh_decide(s, "bob", NULL, "prod/api", "app", 100, NULL),
	    RBAC_DENY_NO_ACTIVE);
	cr_expect_eq(rh_decide(s, "bob", "ops", "prod/api", "app", 100, NULL),
	    RBAC_ALLOW);
	rbac_snap_release(s);
}

static const char *combo_policy =
    "{\"targets\":{\"prod/api\":{\"env\":\"prod\"},\"prod/web\":{}},"
    "\"roles\":{"
    "\"wide\":{\"rules\":[{\"targets\":[\"prod/*\"],\"logins\":[\"app\"]}],"
    " \"max_ttl\":7200,\"extensions\":[\"permit-pty\","
    " \"permit-port-forwarding\",\"permit-agent-forwarding\"]},"
    "\"narrow\":{\"rules\":[{\"targets\":[\"prod/web\"],"
    " \"logins\":[\"root\"]},{\"labels\":{\"env\":\"prod\"},"
    " \"logins\":[\"app\"]}],\"max_ttl\":600,\"extensions\":[\"permit-pty\","
    " \"permit-user-rc\"],\"source_address\":[\"10.0.0.0/8\","
    " \"192.168.1.0/24\"]},"
    "\"net\":{\"rules\":[{\"targets\":[\"prod/api\"],\"logins\":[\"app\"]}],"
    " \"max_ttl\":86400,\"source_address\":[\"10.1.0.0/16\","
    " \"172.16.0.0/12\"]},"
    "\"fc1\":{\"rules\":[{\"targets\":[\"prod/web\"],\"logins\":[\"app\"]}],"
    " \"force_command\":\"/bin/a\"},"
    "\"fc2\":{\"rules\":[{\"targets\":[\"prod/web\"],\"logins\":[\"app\"]}],"
    " \"force_command\":\"/bin/b\"},"
    "\"far\":{\"rules\":[{\"targets\":[\"prod/api\"],\"logins\":[\"app\"]}],"
    " \"source_address\":[\"172.16.0.0/12\"]}},"
    "\"bindings\":["
    "{\"id\":5,\"role\":\"wide\",\"subject\":\"user:alice\",\"expires_at\":0},"
    "{\"id\":3,\"role\":\"narrow\",\"subject\":\"group:ops\",\"expires_at\":0},"
    "{\"id\":9,\"role\":\"net\",\"subject\":\"group:net\",\"expires_at\":0},"
    "{\"id\":10,\"role\":\"fc1\",\"subject\":\"user:carol\",\"expires_at\":0},"
    "{\"id\":11,\"role\":\"fc2\",\"subject\":\"group:fc\",\"expires_at\":0},"
    "{\"id\":12,\"role\":\"far\",\"subject\":\"group:far\",\"expires_at\":0},"
    "{\"id\":13,\"role\":\"narrow\",\"subject\":\"group:far\",\"expires_at\":0}"
    "]}";

Test(rbac_decide, one_role_sets_ttl_and_extensions)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;

	cr_assert_eq(rh_decide(s, "alice", NULL, "prod/api", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 7200);
	cr_expect_eq(d.extensions, RBAC_EXT_PTY | RBAC_EXT_PORT |
	    RBAC_EXT_AGENT);
	cr_expect_eq(d.n_cidrs, 0);
	cr_expect_null(d.force_command);
	cr_expect_eq(d.binding_id, 5);
	cr_expect_str_eq(d.role, "wide");
	rbac_snap_release(s);
}

Test(rbac_decide, granting_roles_combine_smallest_ttl_and_intersection)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;
	char c[64];

	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/api", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 600);
	cr_expect_eq(d.extensions, RBAC_EXT_PTY);
	cr_assert_eq(d.n_cidrs, 2);
	rbac_cidr_format(&d.cidrs[0], c, sizeof(c));
	cr_expect_str_eq(c, "10.0.0.0/8");
	/* Lowest binding id decides; rule index of the first granting rule. */
	cr_expect_eq(d.binding_id, 3);
	cr_expect_str_eq(d.role, "narrow");
	cr_expect_eq(d.rule, 1);
	/* Three roles: addresses narrowed to the overlap. */
	cr_assert_eq(rh_decide(s, "alice", "ops,net", "prod/api", "app", NOW,
	    &d), RBAC_ALLOW);
	cr_assert_eq(d.n_cidrs, 1);
	rbac_cidr_format(&d.cidrs[0], c, sizeof(c));
	cr_expect_str_eq(c, "10.1.0.0/16");
	cr_expect_eq(d.max_ttl, 600);
	rbac_snap_release(s);
}

Test(rbac_decide, roles_that_do_not_grant_do_not_narrow)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;

	/* narrow grants root on prod/web but not app on prod/web. */
	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/web", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 7200);
	cr_expect_eq(d.n_cidrs, 0);
	cr_expect_eq(d.binding_id, 5);
	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/web", "root", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 600);
	cr_expect_eq(d.rule, 0);
	rbac_snap_release(s);
}

Test(rbac_decide, disjoint_source_addresses_deny)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;
	char reason[256];

	cr_expect_eq(rh_decide(s, "dave", "far", "prod/api", "app", NOW, &d),
	    RBAC_DENY_SOURCE);
	rbac_reason_format(&d, "prod/api", "app", reason, sizeof(reason));
	cr_expect_not_null(strstr(reason, "source_address"), "%s", reason);
	rbac_snap_release(s);
}

Test(rbac_decide, different_forced_commands_deny)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;

	cr_assert_eq(rh_decide(s, "carol", NULL, "prod/web", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_str_eq(d.force_command, "/bin/a");
	cr_expect_eq(rh_decide(s, "carol", "fc", "prod/web", "app", NOW, &d),
	    RBAC_DENY_COMMAND);
	rbac_snap_release(s);
}

Test(rbac_decide, cert_max_ttl_caps)
{
	struct rbac_snap *s = rh_compile(combo_policy, 3600);
	struct rbac_decision d;

	cr_assert_eq(rh_decide(s, "alice", NULL, "prod/api", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 3600);
	cr_assert_eq(rh_decide(s, "alice", "ops", "prod/api", "app", NOW, &d),
	    RBAC_ALLOW);
	cr_expect_eq(d.max_ttl, 600);
	rbac_snap_release(s);
}

Test(rbac_decide, reason_names_binding_role_and_rule)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_decision d;
	char reason[256];

	rh_decide(s, "alice", "ops", "prod/api", "app", NOW, &d);
	rbac_reason_format(&d, "prod/api", "app", reason, sizeof(reason));
	cr_expect_str_eq(reason, "allowed by binding 3, role narrow, rule 1");
	rh_decide(s, "zed", NULL, "prod/api", "app", NOW, &d);
	rbac_reason_format(&d, "prod/api", "app", reason, sizeof(reason));
	cr_expect_not_null(strstr(reason, "no binding"), "%s", reason);
	rh_decide(s, "alice", NULL, "prod/api", "root", NOW, &d);
	rbac_reason_format(&d, "prod/api", "root", reason, sizeof(reason));
	cr_expect_not_null(strstr(reason, "login root on prod/api"), "%s",
	    reason);
	rbac_snap_release(s);
}

Test(rbac_decide, admin_permissions_union_of_active_roles)
{
	struct rbac_snap *s = rh_compile("{\"targets\":{},\"roles\":{"
	    "\"a\":{\"admin\":[\"users:read\"]},"
	    "\"b\":{\"admin\":[\"audit:read\",\"certs:revoke\"]},"
	    "\"c\":{\"admin\":[\"*\"]}},\"bindings\":["
	    "{\"id\":1,\"role\":\"a\",\"subject\":\"user:x\",\"expires_at\":0},"
	    "{\"id\":2,\"role\":\"b\",\"subject\":\"group:g\",\"expires_at\":0},"
	    "{\"id\":3,\"role\":\"c\",\"subject\":\"user:y\",\"expires_at\":50}"
	    "]}", 0);
	const char *g[] = { "g" };

	cr_expect_eq(rbac_perms(s, "x", NULL, 0, NOW), RBAC_PERM_USERS_READ);
	cr_expect_eq(rbac_perms(s, "x", g, 1, NOW), RBAC_PERM_USERS_READ |
	    RBAC_PERM_AUDIT_READ | RBAC_PERM_CERTS_REVOKE);
	cr_expect_eq(rbac_perms(s, "y", NULL, 0, 10), RBAC_PERM_ALL |
	    RBAC_PERM_STAR);
	cr_expect_eq(rbac_perms(s, "y", NULL, 0, 50), 0);
	cr_expect_eq(rbac_perms(s, "nobody", NULL, 0, 10), 0);
	rbac_snap_release(s);
}

Test(rbac_decide, access_lists_targets_and_logins_in_order)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_access *a = NULL;
	const char *g[] = { "ops" };
	json_t *me = NULL;

	cr_assert_eq(rbac_access(s, "alice", g, 1, NOW, &a), 0);
	cr_assert_eq(a->n, 2);
	cr_expect_str_eq(a->entries[0].target, "prod/api");
	cr_assert_eq(a->entries[0].n_logins, 1);
	cr_expect_str_eq(a->entries[0].logins[0], "app");
	cr_expect_eq(a->entries[0].max_ttl, 600);
	cr_expect_str_eq(a->entries[1].target, "prod/web");
	cr_assert_eq(a->entries[1].n_logins, 2);
	cr_expect_str_eq(a->entries[1].logins[0], "app");
	cr_expect_str_eq(a->entries[1].logins[1], "root");
	/* Per target: every role granting anything there. */
	cr_expect_eq(a->entries[1].max_ttl, 600);
	cr_assert_eq(a->n_roles, 2);
	cr_expect_str_eq(a->roles[0], "narrow");
	cr_expect_str_eq(a->roles[1], "wide");
	cr_assert_eq(rbac_me_json(a, &me), 0);
	cr_expect_eq(json_array_size(json_object_get(me, "access")), 2);
	cr_expect_eq(json_integer_value(json_object_get(me, "max_ttl")), 600);
	cr_expect_str_eq(json_string_value(json_array_get(
	    json_object_get(me, "roles"), 1)), "wide");
	json_decref(me);
	rbac_access_free(a);
	rbac_snap_release(s);
}

Test(rbac_decide, access_leaves_out_conflicting_targets)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_access *a = NULL;
	const char *g[] = { "far" };

	cr_assert_eq(rbac_access(s, "dave", g, 1, NOW, &a), 0);
	/* prod/api: far ∩ narrow is empty; prod/web via narrow only. */
	cr_assert_eq(a->n, 1);
	cr_expect_str_eq(a->entries[0].target, "prod/web");
	rbac_access_free(a);
	rbac_snap_release(s);
}

Test(rbac_decide, grant_builds_principals_and_narrows)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);
	struct rbac_access *a = NULL;
	struct rbac_grant g;
	const char *grp[] = { "ops" };

	cr_assert_eq(rbac_access(s, "alice", grp, 1, NOW, &a), 0);
	cr_assert_eq(rbac_grant(a, NULL, NULL, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_expect_str_eq(g.principals[0], "app@prod/api");
	cr_expect_str_eq(g.principals[1], "app@prod/web");
	cr_expect_str_eq(g.principals[2], "root@prod/web");
	cr_expect_eq(g.max_ttl, 600);
	rbac_grant_clear(&g);
	cr_assert_eq(rbac_grant(a, "prod/web", "root", &g), 0);
	cr_assert_eq(g.n, 1);
	cr_expect_str_eq(g.principals[0], "root@prod/web");
	rbac_grant_clear(&g);
	cr_expect_eq(rbac_grant(a, "prod/web", "admin", &g), TSS_E_FORBIDDEN);
	cr_expect_eq(g.n, 0);
	cr_expect_null(g.principals);
	cr_expect_eq(rbac_grant(a, "prod/nope", NULL, &g), TSS_E_FORBIDDEN);
	rbac_access_free(a);
	rbac_snap_release(s);
}

Test(rbac_decide, grant_caps_principals_at_256)
{
	char *buf, name[32];
	size_t len = 0, cap = 64 * 1024;
	struct rbac_snap *s;
	struct rbac_access *a = NULL;
	struct rbac_grant g;
	int i;

	buf = malloc(cap);
	cr_assert_not_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "{\"targets\":{");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "h/%03d", i);
		len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\":{}",
		    i ? "," : "", name);
	}
	snprintf(buf + len, cap - len, "},\"roles\":{\"r\":{\"rules\":[{"
	    "\"targets\":[\"h/*\"],\"logins\":[\"app\"]}]}},\"bindings\":["
	    "{\"id\":1,\"role\":\"r\",\"subject\":\"user:u\","
	    "\"expires_at\":0}]}");
	s = rh_compile(buf, 0);
	cr_assert_eq(rbac_access(s, "u", NULL, 0, NOW, &a), 0);
	cr_expect_eq(a->n, 300);
	cr_expect_eq(rbac_grant(a, NULL, NULL, &g), TSS_E_TOO_MANY);
	cr_expect_null(g.principals);
	cr_expect_eq(rbac_grant(a, "h/299", NULL, &g), 0);
	cr_expect_eq(g.n, 1);
	rbac_grant_clear(&g);
	rbac_access_free(a);
	rbac_snap_release(s);
	free(buf);
}

Test(rbac_decide, snapshot_reports_generation_and_memory)
{
	struct rbac_snap *s = rh_compile(combo_policy, 0);

	cr_expect_eq(rbac_snap_generation(s), 1);
	cr_expect_gt(rbac_snap_memory(s), 1000);
	rbac_snap_release(s);
}

Test(rbac_decide, roles_too_costly_to_enumerate_still_decide_by_rules)
{
	size_t len = 0, cap = 128 * 1024;
	char *buf = malloc(cap);
	struct rbac_snap *s;
	struct rbac_access *a = NULL;
	int i;

	cr_assert_not_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "{\"targets\":{");
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(buf + len, cap - len,
		    "%s\"h/%03d\":{}", i ? "," : "", i);
	/* 21 leading-wildcard globs over 1,000 targets: past the budget. */
	len += (size_t)snprintf(buf + len, cap - len, "},\"roles\":{"
	    "\"broad\":{\"rules\":[{\"targets\":[");
	for (i = 0; i < 21; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\"*/0*\"",
		    i ? "," : "");
	snprintf(buf + len, cap - len, "],\"logins\":[\"app\"]}]},"
	    "\"narrow\":{\"rules\":[{\"targets\":[\"h/9*\"],\"logins\":"
	    "[\"app\"]}]}},\"bindings\":["
	    "{\"id\":1,\"role\":\"broad\",\"subject\":\"user:u\","
	    "\"expires_at\":0},{\"id\":2,\"role\":\"narrow\",\"subject\":"
	    "\"user:u\",\"expires_at\":0}]}");
	s = rh_compile(buf, 0);
	cr_expect_eq(rh_decide(s, "u", NULL, "h/005", "app", NOW, NULL),
	    RBAC_ALLOW);
	cr_expect_eq(rh_decide(s, "u", NULL, "h/099", "app", NOW, NULL),
	    RBAC_ALLOW);
	cr_expect_eq(rh_decide(s, "u", NULL, "h/505", "app", NOW, NULL),
	    RBAC_DENY_NO_RULE);
	cr_expect_eq(rh_decide(s, "u", NULL, "h/905", "app", NOW, NULL),
	    RBAC_ALLOW);
	cr_assert_eq(rbac_access(s, "u", NULL, 0, NOW, &a), 0);
	cr_expect_eq(a->n, 200);
	rbac_access_free(a);
	rbac_snap_release(s);
	free(buf);
}

Test(rbac_decide, compile_refuses_invalid_model_input)
{
	struct rbac_label dup[2] = { { "env", "a" }, { "env", "b" } };
	struct rbac_target t = { .name = "prod/api", .labels = dup,
	    .n_labels = 2 };
	const struct rbac_target *tv[] = { &t };
	char *bad_login[] = { "a,root" }, *glob[] = { "prod/*" };
	struct rbac_rule ru = { .targets = glob, .n_targets = 1,
	    .logins = bad_login, .n_logins = 1 };
	struct rbac_role ro = { .name = "r", .rules = &ru, .n_rules = 1,
	    .max_ttl = 60 };
	const struct rbac_role *rv[] = { &ro };
	struct rbac_binding b = { .id = 1, .role = "r", .subject = "alice" };
	const struct rbac_binding *bv[] = { &b };
	struct rbac_snap *s = (struct rbac_snap *)0x1;

	cr_expect_eq(rbac_snap_compile(tv, 1, NULL, 0, NULL, 0, 1, 0, &s),
	    TSS_E_INVALID_ARGUMENT);
	cr_expect_null(s);
	cr_expect_eq(rbac_snap_compile(NULL, 0, rv, 1, NULL, 0, 1, 0, &s),
	    TSS_E_INVALID_ARGUMENT);
	cr_expect_eq(rbac_snap_compile(NULL, 0, NULL, 0, bv, 1, 1, 0, &s),
	    TSS_E_INVALID_ARGUMENT);
	cr_expect_eq(rbac_snap_compile(NULL, 0, NULL, 0, NULL, 0, 7, 0, &s),
	    0);
	cr_expect_eq(rbac_snap_generation(s), 7);
	rbac_snap_release(s);
}
