/*
 * common/err: the one error list.  Names are the HTTP API's "code" values,
 * so they must be distinct, stable snake_case, and never NULL.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

#include "common/err.h"

struct entry {
	int val;
	const char *name;
	const char *msg;
};

static const struct entry all[] = {
#define TSS_ERR_ENTRY(sym, val, name, msg) { (val), (name), (msg) },
	TSS_ERRORS(TSS_ERR_ENTRY)
#undef TSS_ERR_ENTRY
};

#define NALL (sizeof(all) / sizeof(all[0]))

Test(err, ok_is_zero_and_others_negative)
{
	size_t i;

	cr_assert_eq(TSS_OK, 0);
	cr_assert_eq(all[0].val, 0);
	for (i = 1; i < NALL; i++)
		cr_assert_lt(all[i].val, 0, "%s", all[i].name);
}

Test(err, values_are_distinct)
{
	size_t i, j;

	for (i = 0; i < NALL; i++)
		for (j = i + 1; j < NALL; j++)
			cr_assert_neq(all[i].val, all[j].val, "%s and %s",
			    all[i].name, all[j].name);
}

Test(err, names_are_distinct_snake_case)
{
	size_t i, j, k;
	const char *n;

	for (i = 0; i < NALL; i++) {
		n = tss_errname(all[i].val);
		cr_assert_not_null(n);
		cr_assert_str_eq(n, all[i].name);
		cr_assert_gt(strlen(n), 0);
		for (k = 0; n[k] != '\0'; k++)
			cr_assert((n[k] >= 'a' && n[k] <= 'z') ||
			    (n[k] >= '0' && n[k] <= '9') || n[k] == '_',
			    "bad character in %s", n);
		cr_assert_neq(n[0], '_');
		for (j = i + 1; j < NALL; j++)
			cr_assert_str_neq(n, all[j].name);
	}
}

Test(err, messages_are_non_empty_and_match_the_list)
{
	size_t i;
	const char *m;

	for (i = 0; i < NALL; i++) {
		m = tss_strerror(all[i].val);
		cr_assert_not_null(m);
		cr_assert_gt(strlen(m), 0, "%s", all[i].name);
		cr_assert_str_eq(m, all[i].msg);
		cr_assert_str_neq(m, "unknown error", "%s", all[i].name);
	}
}

Test(err, unknown_codes_are_named_unknown)
{
	static const int odd[] = { 1, 42, -1000, INT_MIN, INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		cr_assert_str_eq(tss_strerror(odd[i]), "unknown error");
		cr_assert_str_eq(tss_errname(odd[i]), "unknown");
	}
}

Test(err, lowest_code_plus_one_past_is_unknown)
{
	int lowest = 0;
	size_t i;

	for (i = 0; i < NALL; i++)
		if (all[i].val < lowest)
			lowest = all[i].val;
	cr_assert_str_eq(tss_errname(lowest - 1), "unknown");
	cr_assert_str_neq(tss_errname(lowest), "unknown");
}

Test(err, known_names_are_stable)
{
	cr_assert_str_eq(tss_errname(TSS_E_STORE_FULL), "store_full");
	cr_assert_str_eq(tss_errname(TSS_E_INVALID_PUBLIC_KEY),
	    "invalid_public_key");
	cr_assert_str_eq(tss_errname(TSS_E_TOO_LARGE), "payload_too_large");
	cr_assert_str_eq(tss_errname(TSS_OK), "ok");
}
