/*
 * jsonw writes what jansson's json_dumps(JSON_COMPACT[|JSON_SORT_KEYS])
 * writes, byte for byte, and refuses what jansson cannot dump.
 */
#include <limits.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/err.h"
#include "common/jsonw.h"

static void
assert_same(json_t *v)
{
	struct jsonw w = { NULL, 0, 0 };
	char *want;
	int sorted;

	cr_assert_not_null(v);
	for (sorted = 0; sorted < 2; sorted++) {
		want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    (sorted ? JSON_SORT_KEYS : 0));
		cr_assert_not_null(want);
		cr_assert_eq(jsonw_value(&w, v, sorted), 0);
		cr_assert_eq(w.len, strlen(want), "sorted %d: %.*s vs %s",
		    sorted, (int)w.len, w.p, want);
		cr_assert_eq(memcmp(w.p, want, w.len), 0, "sorted %d: %.*s "
		    "vs %s", sorted, (int)w.len, w.p, want);
		free(want);
		jsonw_free(&w);
		cr_assert_null(w.p);
	}
	json_decref(v);
}

Test(jsonw, scalars)
{
	assert_same(json_null());
	assert_same(json_true());
	assert_same(json_false());
	assert_same(json_integer(0));
	assert_same(json_integer(-1));
	assert_same(json_integer(LLONG_MAX));
	assert_same(json_integer(LLONG_MIN));
	assert_same(json_real(1.5));
	assert_same(json_real(-0.000125));
	assert_same(json_string(""));
}

Test(jsonw, strings_escaped_as_jansson)
{
	char all[129];
	int i;

	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	assert_same(json_string(all));
	assert_same(json_stringn("a\0b", 3));
	assert_same(json_string("quote\" back\\ slash/ tab\t"));
	assert_same(json_string("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \x7f"));
}

Test(jsonw, objects_in_order_and_sorted)
{
	assert_same(json_pack("{s:i, s:s, s:n, s:b, s:[i,s,{}], s:{}}",
	    "zeta", 1, "alpha", "x", "mid", "t", 1, "arr", 2, "s", "obj"));
	assert_same(json_pack("{s:{s:i, s:i, s:{s:s, s:s}}, s:[]}",
	    "b", "y", 1, "x", 2, "n", "d", "1", "c", "2", "a"));
	/* Keys that share a prefix, and more than fit on the stack. */
	assert_same(json_pack("{s:i, s:i, s:i, s:i}", "ab", 1, "a", 2,
	    "abc", 3, "b", 4));
	{
		json_t *o = json_object();
		char k[8];
		int i;

		for (i = 40; i > 0; i--) {
			snprintf(k, sizeof(k), "k%d", i);
			json_object_set_new(o, k, json_integer(i));
		}
		assert_same(o);
	}
}

Test(jsonw, deep_nesting_goes_to_jansson_unchanged)
{
	json_t *v = json_pack("{s:i, s:i}", "b", 1, "a", 2), *o;
	int i;

	for (i = 0; i < 20; i++) {
		o = json_array();
		json_array_append_new(o, v);
		v = json_pack("{s:o, s:i}", "z", o, "y", i);
	}
	assert_same(v);
}

Test(jsonw, refuses_what_jansson_cannot_dump)
{
	struct jsonw w = { NULL, 0, 0 };
	json_t *a = json_array(), *b = json_array();

	cr_assert_eq(jsonw_value(&w, NULL, 0), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(jsonw_str(&w, "\xc3(", 2), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(jsonw_str(&w, "\xed\xa0\x80", 3), TSS_E_INVALID_ARGUMENT);
	jsonw_free(&w);
	/* A cycle past the depth bound: jansson refuses it, so do we. */
	cr_assert_eq(json_array_append(a, b), 0);
	cr_assert_eq(json_array_append(b, a), 0);
	cr_assert_eq(jsonw_value(&w, a, 0), TSS_E_INVALID_ARGUMENT);
	jsonw_free(&w);
	json_array_clear(b);
	json_decref(b);
	json_decref(a);
}

Test(jsonw, grows_past_the_first_buffer)
{
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_same(json_pack("[s,s,s]", big, big, big));
}
