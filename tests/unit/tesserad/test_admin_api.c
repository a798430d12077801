/*
 * tesserad/admin_api: the admin request bodies decoded into typed
 * use-case calls.  A body that does not decode is refused with
 * TSS_E_VALIDATION and a message naming the field, before any use case
 * runs (the broker argument is NULL here: reaching it would crash).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "common/err.h"
#include "tesserad/admin_api.h"

#define NOW	1800000000

static json_t *
body(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	cr_assert_not_null(j, "%s", text);
	return j;
}

/* Decode text with fn's route; must be refused naming want. */
static void
refused(int (*fn)(const json_t *, json_t **, char *, size_t),
    const char *text, const char *want)
{
	char err[256] = "";
	json_t *j = body(text), *out = (json_t *)1;

	cr_expect_eq(fn(j, &out, err, sizeof(err)), TSS_E_VALIDATION, "%s",
	    text);
	cr_expect_null(out, "%s", text);
	cr_expect(strstr(err, want) != NULL, "%s: \"%s\" lacks \"%s\"", text,
	    err, want);
	json_decref(j);
}

static int
user_create(const json_t *j, json_t **out, char *err, size_t len)
{
	return admin_api_user_create(NULL, NULL, j, NOW, out, err, len);
}

static int
user_patch(const json_t *j, json_t **out, char *err, size_t len)
{
	return admin_api_user_patch(NULL, NULL, "ann", j, NOW, out, err, len);
}

static int
target_put(const json_t *j, json_t **out, char *err, size_t len)
{
	return admin_api_target_put(NULL, NULL, "prod/db", j, NOW, out, err,
	    len);
}

static int
role_put(const json_t *j, json_t **out, char *err, size_t len)
{
	return admin_api_role_put(NULL, NULL, "ops", j, NOW, out, err, len);
}

static int
binding_create(const json_t *j, json_t **out, char *err, size_t len)
{
	return admin_api_binding_create(NULL, NULL, j, NOW, out, err, len);
}

Test(admin_api, fields_outside_the_allowed_list_are_named)
{
	static const char *const keys[] = { "a", "b", NULL };
	char err[128] = "";
	json_t *j = body("{\"a\":1,\"b\":2}");

	cr_expect_eq(admin_api_fields(j, keys, err, sizeof(err)), 0);
	json_decref(j);
	j = body("{\"a\":1,\"bogus\":2}");
	cr_expect_eq(admin_api_fields(j, keys, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_str_eq(err, "bogus: unknown field");
	json_decref(j);
}

Test(admin_api, user_bodies_that_do_not_decode_are_refused)
{
	refused(user_create, "{\"username\":\"bob\",\"admin\":true}",
	    "admin: unknown field");
	refused(user_create, "{\"username\":\"bob\",\"groups\":\"ops\"}",
	    "groups: expected an array");
	refused(user_create, "{\"username\":\"bob\",\"groups\":[\"ok\",7]}",
	    "groups[1]");
	refused(user_create, "{\"username\":\"bob\",\"groups\":[\"a,root\"]}",
	    "groups[0]");
	refused(user_patch, "{\"disabled\":\"yes\"}",
	    "disabled: expected true or false");
	refused(user_patch, "{\"groups\":[\"\"]}", "groups[0]");
	refused(user_patch, "{\"role\":\"admin\"}", "role: unknown field");
}

Test(admin_api, policy_bodies_that_do_not_decode_are_refused)
{
	refused(target_put, "{\"labels\":{\"env\":\"a b\"}}", "labels");
	refused(target_put, "{\"labels\":{},\"owner\":\"x\"}",
	    "owner: unknown field");
	refused(role_put, "{\"rules\":[{\"targets\":[\"prod/*\"],"
	    "\"logins\":[\"a,root\"]}]}", "rules[0].logins[0]");
	refused(role_put, "{\"admin\":[\"users:delete\"]}", "admin[0]");
	refused(binding_create, "{\"role\":\"ops\",\"subject\":\"alice\"}",
	    "subject");
	refused(binding_create, "{\"role\":\"ops\",\"subject\":\"user:a\","
	    "\"expires_at\":1}", "expires_at");
}
