/* Validation of every policy field: bad values are refused with
 * TSS_E_VALIDATION and a message naming the field; records round-trip and
 * damaged records are refused. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "rbac/rbac_int.h"
#include "store/record.h"
#include "tesserad/policy_json.h"

TestSuite(rbac_validate);

Test(rbac_validate, logins_are_posix_account_names)
{
	static const char *good[] = { "app", "_x", "a-b_9", "root",
	    "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *bad[] = { "", "App", "9a", "-a", "a,root",
	    "a\nroot", "a root", " a", "*", "a@b", "a.b", "a$",
	    "abcdefghijklmnopqrstuvwxyz0123456" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(rbac_valid_login(good[i]), 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(rbac_valid_login(bad[i]), TSS_E_VALIDATION, "%s",
		    bad[i]);
	cr_expect_eq(rbac_valid_login(NULL), TSS_E_VALIDATION);
}

Test(rbac_validate, target_names_follow_the_contract)
{
	static const char *good[] = { "prod/api", "a", "a.b_c-d/e9",
	    "prod/sshd-x", "sshd/api" };
	static const char *bad[] = { "", "/a", "a/", "a//b", "Prod/api",
	    "a/sshd", "sshd", "a/.x", "a/-x", "a/*", "a b", "a\\b" };
	char longname[200];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(rbac_valid_target_name(good[i]), 0, "%s",
		    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(rbac_valid_target_name(bad[i]), TSS_E_VALIDATION,
		    "%s", bad[i]);
	memset(longname, 'a', 128);
	longname[128] = '\0';
	cr_expect_eq(rbac_valid_target_name(longname), 0);
	longname[128] = 'a';
	longname[129] = '\0';
	cr_expect_eq(rbac_valid_target_name(longname), TSS_E_VALIDATION);
}

Test(rbac_validate, globs_allow_stars_and_a_final_double_star)
{
	static const char *good[] = { "prod/*", "*/api", "**", "prod/**",
	    "api-*", "*-*/x*y", "prod/api" };
	static const char *bad[] = { "", "prod/**/x", "a**", "**a", "a//b",
	    "PROD/*", "/x", "x/", "prod/?" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(rbac_valid_glob(good[i]), 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(rbac_valid_glob(bad[i]), TSS_E_VALIDATION, "%s",
		    bad[i]);
}

Test(rbac_validate, subjects_need_a_kind_and_a_name)
{
	cr_expect_eq(rbac_valid_subject("user:alice"), 0);
	cr_expect_eq(rbac_valid_subject("group:on-call"), 0);
	cr_expect_eq(rbac_valid_subject("user:a.b@corp"), 0);
	cr_expect_eq(rbac_valid_subject("alice"), TSS_E_VALIDATION);
	cr_expect_eq(rbac_valid_subject("user:"), TSS_E_VALIDATION);
	cr_expect_eq(rbac_valid_subject("role:x"), TSS_E_VALIDATION);
	cr_expect_eq(rbac_valid_subject("user:a b"), TSS_E_VALIDATION);
	cr_expect_eq(rbac_valid_subject("user:-a"), TSS_E_VALIDATION);
	cr_expect_eq(rbac_valid_subject("user:a\nb"), TSS_E_VALIDATION);
}

/* Parse body as a role named "r"; expect refusal naming field. */
static void
role_refused(const char *body, const char *field)
{
	struct rbac_role *ro = (struct rbac_role *)0x1;
	json_error_t jerr;
	char err[512] = "";
	json_t *j;

	j = json_loads(body, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", body, jerr.text);
	cr_expect_eq(policy_json_role("r", j, &ro, err, sizeof(err)),
	    TSS_E_VALIDATION, "%s", body);
	cr_expect_null(ro, "%s", body);
	cr_expect_not_null(strstr(err, field), "%s: message '%s' lacks '%s'",
	    body, err, field);
	json_decref(j);
}

Test(rbac_validate, each_bad_role_field_is_named)
{
	role_refused("{\"rules\":[{\"targets\":[\"prod/*\"],"
	    "\"logins\":[\"Bad\"]}]}", "rules[0].logins[0]");
	role_refused("{\"rules\":[{\"targets\":[\"a\"],\"logins\":[\"ok\"]},"
	    "{\"targets\":[\"a\"],\"logins\":[\"ok\",\"a,root\"]}]}",
	    "rules[1].logins[1]");
	role_refused("{\"rules\":[{\"logins\":[\"app\"]}]}",
	    "rules[0]: needs targets or labels");
	role_refused("{\"rules\":[{\"targets\":[\"a\"]}]}",
	    "rules[0].logins: required");
	role_refused("{\"rules\":[{\"targets\":[\"a\"],\"logins\":[]}]}",
	    "rules[0].logins");
	role_refused("{\"rules\":[{\"targets\":[\"a//b\"],"
	    "\"logins\":[\"app\"]}]}", "rules[0].targets[0]");
	role_refused("{\"rules\":[{\"targets\":\"a\",\"logins\":[\"app\"]}]}",
	    "rules[0].targets");
	role_refused("{\"rules\":[{\"targets\":[\"a\"],"
	    "\"labels\":{\"env\":\"pr od\"},\"logins\":[\"app\"]}]}",
	    "rules[0].labels.env");
	role_refused("{\"rules\":[{\"targets\":[\"a\"],"
	    "\"labels\":{\"Env\":\"prod\"},\"logins\":[\"app\"]}]}",
	    "rules[0].labels: key");
	role_refused("{\"rules\":[{\"targets\":[\"a\"],\"logins\":[\"app\"],"
	    "\"extra\":1}]}", "rules[0].extra: unknown field");
	role_refused("{\"rules\":{}}", "rules: must be an array");
	role_refused("{\"max_ttl\":0}", "max_ttl");
	role_refused("{\"max_ttl\":-5}", "max_ttl");
	role_refused("{\"max_ttl\":\"abc\"}", "max_ttl");
	role_refused("{\"max_ttl\":1e99}", "max_ttl");
	role_refused("{\"extensions\":[\"permit-everything\"]}",
	    "extensions[0]");
	role_refused("{\"extensions\":[\"permit-pty\",7]}", "extensions[1]");
	role_refused("{\"source_address\":[\"10.0.0.1/8\"]}",
	    "source_address[0]");
	role_refused("{\"source_address\":[\"10.0.0.0/8\",\"300.0.0.0/8\"]}",
	    "source_address[1]");
	role_refused("{\"source_address\":[\"10.0.0.0/33\"]}",
	    "source_address[0]");
	role_refused("{\"source_address\":[\"10.0.0.0/08\"]}",
	    "source_address[0]");
	role_refused("{\"source_address\":\"10.0.0.0/8\"}", "source_address");
	role_refused("{\"force_command\":\"a\\nb\"}", "force_command");
	role_refused("{\"force_command\":\"\"}", "force_command");
	role_refused("{\"force_command\":5}", "force_command");
	role_refused("{\"admin\":[\"root:all\"]}", "admin[0]");
	role_refused("{\"admin\":[\"users:read\",\"users:delete\"]}",
	    "admin[1]");
	role_refused("{\"bogus\":1}", "bogus: unknown field");
	role_refused("{\"name\":\"other\"}", "name");
}

Test(rbac_validate, bad_role_name_is_named)
{
	struct rbac_role *ro = NULL;
	char err[256] = "";
	json_t *j = json_object();

	cr_expect_eq(policy_json_role("Bad Name", j, &ro, err,
	    sizeof(err)), TSS_E_VALIDATION);
	cr_expect_null(ro);
	cr_expect_not_null(strstr(err, "name"));
	json_decref(j);
}

Test(rbac_validate, too_many_rules_globs_logins_and_labels)
{
	json_t *body, *rules, *rule, *a, *labels;
	struct rbac_role *ro = NULL;
	char err[256] = "", key[16];
	int i;

	body = json_object();
	rules = json_array();
	for (i = 0; i < RBAC_RULES_MAX + 1; i++)
		json_array_append_new(rules, json_pack("{s:[s],s:[s]}",
		    "targets", "a", "logins", "app"));
	json_object_set_new(body, "rules", rules);
	cr_expect_eq(policy_json_role("r", body, &ro, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_not_null(strstr(err, "rules: at most"), "%s", err);
	json_decref(body);

	rule = json_pack("{s:[s]}", "logins", "app");
	a = json_array();
	for (i = 0; i < RBAC_GLOBS_MAX + 1; i++)
		json_array_append_new(a, json_string("a/*"));
	json_object_set_new(rule, "targets", a);
	body = json_pack("{s:[o]}", "rules", rule);
	cr_expect_eq(policy_json_role("r", body, &ro, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_not_null(strstr(err, "rules[0].targets"), "%s", err);
	json_decref(body);

	rule = json_pack("{s:[s]}", "targets", "a");
	a = json_array();
	for (i = 0; i < RBAC_LOGINS_MAX + 1; i++)
		json_array_append_new(a, json_string("app"));
	json_object_set_new(rule, "logins", a);
	body = json_pack("{s:[o]}", "rules", rule);
	cr_expect_eq(policy_json_role("r", body, &ro, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_not_null(strstr(err, "rules[0].logins"), "%s", err);
	json_decref(body);

	labels = json_object();
	for (i = 0; i < RBAC_LABELS_MAX + 1; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(labels, key, json_string("v"));
	}
	body = json_pack("{s:o}", "labels", labels);
	{
		struct rbac_target *t = NULL;

		cr_expect_eq(policy_json_target("prod/api", body, &t, err,
		    sizeof(err)), TSS_E_VALIDATION);
		cr_expect_null(t);
		cr_expect_not_null(strstr(err, "labels: at most 32"), "%s",
		    err);
	}
	json_decref(body);
}

static void
target_refused(const char *name, const char *body, const char *field)
{
	struct rbac_target *t = NULL;
	json_error_t jerr;
	char err[256] = "";
	json_t *j = json_loads(body, 0, &jerr);

	cr_assert_not_null(j);
	cr_expect_eq(policy_json_target(name, j, &t, err, sizeof(err)),
	    TSS_E_VALIDATION, "%s %s", name, body);
	cr_expect_null(t);
	cr_expect_not_null(strstr(err, field), "'%s' lacks '%s'", err, field);
	json_decref(j);
}

Test(rbac_validate, each_bad_target_field_is_named)
{
	target_refused("prod/sshd", "{}", "name");
	target_refused("Prod", "{}", "name");
	target_refused("prod/api", "{\"labels\":{\"env\":\"\"}}",
	    "labels.env");
	target_refused("prod/api", "{\"labels\":{\"env\":3}}", "labels.env");
	target_refused("prod/api", "{\"labels\":{\"-x\":\"a\"}}",
	    "labels: key");
	target_refused("prod/api", "{\"labels\":[]}", "labels");
	target_refused("prod/api", "{\"owner\":\"x\"}", "owner: unknown");
	target_refused("prod/api", "{\"name\":\"prod/web\"}", "name");
	target_refused("prod/route", "{}", "may not be route");
	target_refused("prod/api", "{\"hosts\":[\"a b\"]}", "hosts[0]");
	target_refused("prod/api", "{\"hosts\":[\"a\",\"a\"]}",
	    "listed twice");
	target_refused("prod/api", "{\"hosts\":\"a\"}", "hosts");
	target_refused("prod/api", "{\"port\":65536}", "port");
	target_refused("prod/api", "{\"port\":\"22\"}", "port");
	target_refused("prod/api", "{\"gateway\":\"gw\"}", "gateway");
}

Test(rbac_validate, hosts_and_gateways_have_their_shapes)
{
	static const char *good[] = { "api.internal", "10.0.0.5", "::1",
	    "fe80::1", "a", "a-b.c9", "xn--bcher-kva.example" };
	static const char *bad[] = { "", "API.internal", "a..b", ".a", "a.",
	    "-a", "a-", "a_b", "10.0.0.256", "1.2.3", "a,b", "*.x", "a b",
	    "[::1]", "::g", "a\nb" };
	static const char *ggood[] = { "gw1.example:2222", "10.0.0.1:22",
	    "[::1]:2222", "a:65535" };
	static const char *gbad[] = { "gw1", "gw1:", "gw1:0", "gw1:65536",
	    "gw1:022", ":22", "::1:22", "[gw1]:22", "[::1]", "gw 1:22",
	    "gw1:22x" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		cr_expect_eq(rbac_valid_host(good[i]), 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(rbac_valid_host(bad[i]), TSS_E_VALIDATION, "%s",
		    bad[i]);
	for (i = 0; i < sizeof(ggood) / sizeof(*ggood); i++)
		cr_expect_eq(rbac_valid_gateway(ggood[i]), 0, "%s", ggood[i]);
	for (i = 0; i < sizeof(gbad) / sizeof(*gbad); i++)
		cr_expect_eq(rbac_valid_gateway(gbad[i]), TSS_E_VALIDATION,
		    "%s", gbad[i]);
}

Test(rbac_validate, target_records_from_before_hosts_still_load)
{
	struct rbac_target *t = NULL, *back = NULL;
	struct buf *b = buf_new(), *enc = NULL;
	json_t *j;
	char err[256] = "";

	/* Version 1: updated_at, updated_by, labels; nothing else. */
	cr_assert_eq(rec_begin(b, RBAC_REC_TARGET, 1), 0);
	cr_assert_eq(buf_put_u64(b, 7), 0);
	cr_assert_eq(buf_put_cstring(b, "root"), 0);
	cr_assert_eq(buf_put_u32(b, 0), 0);
	cr_assert_eq(rbac__target_decode("prod/api", 8, buf_ptr(b),
	    buf_len(b), &t), 0);
	cr_expect_eq(t->n_hosts, 0);
	cr_expect_eq(t->port, 22);
	cr_expect_null(t->gateway);
	rbac_target_free(t);
	buf_free(b);
	/* And the new fields round-trip. */
	j = json_loads("{\"hosts\":[\"a.b\",\"10.0.0.1\"],\"port\":2222,"
	    "\"gateway\":\"gw:2222\"}", 0, NULL);
	cr_assert_eq(policy_json_target("prod/api", j, &t, err, sizeof(err)),
	    0, "%s", err);
	json_decref(j);
	cr_assert_eq(rbac__target_encode(t, &enc), 0);
	cr_assert_eq(rbac__target_decode("prod/api", 8, buf_ptr(enc),
	    buf_len(enc), &back), 0);
	cr_expect_eq(back->n_hosts, 2);
	cr_expect_str_eq(back->hosts[1], "10.0.0.1");
	cr_expect_eq(back->port, 2222);
	cr_expect_str_eq(back->gateway, "gw:2222");
	buf_free(enc);
	rbac_target_free(t);
	rbac_target_free(back);
}

static void
binding_refused(const char *body, int64_t now, const char *field)
{
	json_error_t jerr;
	json_t *j = json_loads(body, 0, &jerr);
	char *role = NULL, *subject = NULL, err[256] = "";
	int64_t exp = 0;

	cr_assert_not_null(j);
	cr_expect_eq(policy_json_binding(j, now, &role, &subject, &exp,
	    err, sizeof(err)), TSS_E_VALIDATION, "%s", body);
	cr_expect_null(role);
	cr_expect_null(subject);
	cr_expect_not_null(strstr(err, field), "'%s' lacks '%s'", err, field);
	json_decref(j);
}

Test(rbac_validate, each_bad_binding_field_is_named)
{
	binding_refused("{\"role\":\"Ops\",\"subject\":\"user:a\"}", 100,
	    "role");
	binding_refused("{\"subject\":\"user:a\"}", 100, "role");
	binding_refused("{\"role\":\"ops\",\"subject\":\"alice\"}", 100,
	    "subject");
	binding_refused("{\"role\":\"ops\",\"subject\":\"user:a\","
	    "\"expires_at\":100}", 100, "expires_at");
	binding_refused("{\"role\":\"ops\",\"subject\":\"user:a\","
	    "\"expires_at\":\"tomorrow\"}", 100, "expires_at");
	binding_refused("{\"role\":\"ops\",\"subject\":\"user:a\","
	    "\"id\":5}", 100, "id: unknown field");
}

Test(rbac_validate, binding_request_parses)
{
	json_t *j = json_pack("{s:s,s:s,s:I}", "role", "ops", "subject",
	    "group:oncall", "expires_at", (json_int_t)500);
	char *role = NULL, *subject = NULL, err[64];
	int64_t exp = 0;

	cr_assert_eq(policy_json_binding(j, 100, &role, &subject, &exp,
	    err, sizeof(err)), 0);
	cr_expect_str_eq(role, "ops");
	cr_expect_str_eq(subject, "group:oncall");
	cr_expect_eq(exp, 500);
	free(role);
	free(subject);
	json_decref(j);
}

Test(rbac_validate, role_defaults_and_canonical_cidrs)
{
	struct rbac_role *ro = NULL;
	char err[256];
	json_t *j = json_loads("{\"rules\":[{\"targets\":[\"prod/*\"],"
	    "\"logins\":[\"app\"]}],\"source_address\":[\"2001:DB8::/32\","
	    "\"10.1.2.3\"],\"max_ttl\":\"2h\",\"admin\":[\"*\"]}", 0, NULL);

	cr_assert_eq(policy_json_role("ops", j, &ro, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_eq(ro->extensions, RBAC_EXT_PTY);
	cr_expect_eq(ro->max_ttl, 7200);
	cr_expect_eq(ro->n_source, 2);
	cr_expect_str_eq(ro->source_address[0], "2001:db8::/32");
	cr_expect_str_eq(ro->source_address[1], "10.1.2.3/32");
	cr_expect_neq(ro->admin & RBAC_PERM_STAR, 0);
	cr_expect_null(ro->force_command);
	rbac_role_free(ro);
	json_decref(j);
}

Test(rbac_validate, role_json_round_trips)
{
	static const char *body = "{\"rules\":[{\"targets\":[\"prod/*\","
	    "\"*/api\"],\"labels\":{\"env\":\"prod\",\"tier\":\"web\"},"
	    "\"logins\":[\"app\",\"deploy\"]},{\"labels\":{\"a\":\"b\"},"
	    "\"logins\":[\"root\"]}],\"max_ttl\":900,\"extensions\":"
	    "[\"permit-pty\",\"permit-port-forwarding\"],\"source_address\":"
	    "[\"10.0.0.0/8\"],\"force_command\":\"/bin/true\",\"admin\":"
	    "[\"users:read\",\"audit:read\"]}";
	struct rbac_role *a = NULL, *b = NULL;
	json_t *j = json_loads(body, 0, NULL), *out, *out2;
	char err[256];

	cr_assert_eq(policy_json_role("ops", j, &a, err, sizeof(err)), 0,
	    "%s", err);
	out = rbac_role_to_json(a);
	cr_assert_not_null(out);
	cr_assert_eq(policy_json_role("ops", out, &b, err, sizeof(err)), 0,
	    "%s", err);
	out2 = rbac_role_to_json(b);
	cr_expect(json_equal(out, out2));
	cr_expect_eq(json_integer_value(json_object_get(out, "max_ttl")), 900);
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
	    out, "admin"), 1)), "audit:read");
	json_decref(out);
	json_decref(out2);
	json_decref(j);
	rbac_role_free(a);
	rbac_role_free(b);
}

Test(rbac_validate, records_round_trip_and_refuse_damage)
{
	struct rbac_role *a = NULL, *b = NULL;
	struct buf *enc = NULL;
	json_t *j = json_loads("{\"rules\":[{\"targets\":[\"prod/*\"],"
	    "\"labels\":{\"env\":\"prod\"},\"logins\":[\"app\"]}],"
	    "\"source_address\":[\"10.0.0.0/8\"],\"force_command\":\"x\"}", 0,
	    NULL), *ja, *jb;
	uint8_t copy[4096];
	char err[256];
	size_t len, cut;

	cr_assert_eq(policy_json_role("ops", j, &a, err, sizeof(err)), 0);
	a->updated_at = 77;
	cr_assert_eq(rbac__role_encode(a, &enc), 0);
	len = buf_len(enc);
	cr_assert_lt(len, sizeof(copy));
	memcpy(copy, buf_ptr(enc), len);
	cr_assert_eq(rbac__role_decode("ops", 3, copy, len, &b), 0);
	ja = rbac_role_to_json(a);
	jb = rbac_role_to_json(b);
	cr_expect(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	rbac_role_free(b);
	b = NULL;
	/* Every truncation is refused. */
	for (cut = 0; cut < len; cut++) {
		cr_expect_neq(rbac__role_decode("ops", 3, copy, cut, &b), 0,
		    "cut %zu", cut);
		cr_expect_null(b);
	}
	/* Trailing bytes are refused. */
	copy[len] = 0;
	cr_expect_eq(rbac__role_decode("ops", 3, copy, len + 1, &b),
	    TSS_E_TRAILING_DATA);
	/* A newer record version is refused. */
	copy[2] = 9;
	cr_expect_eq(rbac__role_decode("ops", 3, copy, len, &b),
	    TSS_E_RECORD_VERSION);
	buf_free(enc);
	rbac_role_free(a);
	json_decref(j);
}

Test(rbac_validate, cidr_arithmetic)
{
	struct rbac_cidr a, b, c[4], out[RBAC_CIDRS_MAX];
	char s[64];
	size_t n;

	cr_assert_eq(rbac_cidr_parse("10.0.0.0/8", &a), 0);
	cr_assert_eq(rbac_cidr_parse("10.1.0.0/16", &b), 0);
	cr_expect(rbac__cidr_within(&b, &a));
	cr_expect(!rbac__cidr_within(&a, &b));
	cr_expect_eq(rbac_cidr_parse("10.1.0.0/15", &b), TSS_E_INVALID_CIDR);
	cr_expect_eq(rbac_cidr_parse("10.0.0.0/", &b), TSS_E_INVALID_CIDR);
	cr_expect_eq(rbac_cidr_parse("::/129", &b), TSS_E_INVALID_CIDR);
	cr_expect_eq(rbac_cidr_parse("10.0.0.0/+8", &b), TSS_E_INVALID_CIDR);
	cr_assert_eq(rbac_cidr_parse("::/0", &b), 0);
	cr_expect(!rbac__cidr_within(&a, &b));	/* families differ */
	cr_assert_eq(rbac_cidr_parse("10.0.0.0/8", &c[0]), 0);
	cr_assert_eq(rbac_cidr_parse("10.2.0.0/16", &c[1]), 0);
	cr_assert_eq(rbac_cidr_parse("10.0.0.0/8", &c[2]), 0);
	cr_assert_eq(rbac_cidr_parse("192.168.0.0/16", &c[3]), 0);
	n = rbac__cidr_normalize(c, 4);
	cr_assert_eq(n, 2);
	rbac_cidr_format(&c[0], s, sizeof(s));
	cr_expect_str_eq(s, "10.0.0.0/8");
	rbac_cidr_format(&c[1], s, sizeof(s));
	cr_expect_str_eq(s, "192.168.0.0/16");
	cr_assert_eq(rbac_cidr_parse("10.5.0.0/16", &b), 0);
	n = rbac__cidr_intersect(c, 2, &b, 1, out);
	cr_assert_eq(n, 1);
	rbac_cidr_format(&out[0], s, sizeof(s));
	cr_expect_str_eq(s, "10.5.0.0/16");
	cr_assert_eq(rbac_cidr_parse("172.16.0.0/12", &b), 0);
	cr_expect_eq(rbac__cidr_intersect(c, 2, &b, 1, out), 0);
}

Test(rbac_validate, perm_and_extension_names)
{
	uint32_t v;

	cr_expect_eq(rbac_perm_parse("bindings:write", &v), 0);
	cr_expect_eq(v, RBAC_PERM_BINDINGS_WRITE);
	cr_expect_eq(rbac_perm_parse("*", &v), 0);
	cr_expect_neq(v & RBAC_PERM_STAR, 0);
	cr_expect_eq(rbac_perm_parse("Users:read", &v), TSS_E_VALIDATION);
	cr_expect_eq(rbac_ext_parse("permit-X11-forwarding", &v), 0);
	cr_expect_eq(v, RBAC_EXT_X11);
	cr_expect_eq(rbac_ext_parse("permit-x11-forwarding", &v),
	    TSS_E_VALIDATION);
	cr_expect_str_eq(rbac_ext_name(RBAC_EXT_USER_RC), "permit-user-rc");
}

/* Stored source addresses are canonical text, as the JSON path writes
 * them: a record holding any other spelling is refused. */
Test(rbac_validate, stored_source_addresses_must_be_canonical)
{
	static char *const bad[] = { "192.0.2.1", "2001:DB8::/32",
	    "::0/0", "10.0.0.0/08" };
	struct rbac_role *a = NULL, *b = NULL;
	struct buf *enc = NULL;
	json_t *j = json_loads("{\"rules\":[],\"source_address\":"
	    "[\"10.0.0.0/8\"]}", 0, NULL);
	char err[256], *keep;
	size_t i;

	cr_assert_eq(policy_json_role("ops", j, &a, err, sizeof(err)), 0);
	json_decref(j);
	keep = a->source_address[0];
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a->source_address[0] = bad[i];
		cr_expect_eq(rbac_role_validate(a, err, sizeof(err)),
		    TSS_E_VALIDATION, "%s", bad[i]);
		cr_assert_eq(rbac__role_encode(a, &enc), 0);
		cr_expect_neq(rbac__role_decode("ops", 3, buf_ptr(enc),
		    buf_len(enc), &b), 0, "%s", bad[i]);
		cr_expect_null(b);
		buf_free(enc);
		enc = NULL;
	}
	a->source_address[0] = keep;
	rbac_role_free(a);
}
