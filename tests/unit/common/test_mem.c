/* The allocation wrapper and its test hooks (common/mem.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/mem.h"

static void
reset(void)
{
	mem_fail_after(-1);
}

TestSuite(mem, .fini = reset);

Test(mem, behaves_as_libc_without_a_limit)
{
	char *s = mem_strdup("abc"), *t = mem_strndup("abcdef", 2), *u;
	int *v = mem_calloc(4, sizeof(int));

	cr_assert_str_eq(s, "abc");
	cr_assert_str_eq(t, "ab");
	cr_assert(v != NULL && v[0] == 0 && v[3] == 0);
	cr_assert_eq(mem_asprintf(&u, "%s-%d", s, 7), 5);
	cr_assert_str_eq(u, "abc-7");
	free(s);
	free(t);
	free(v);
	free(u);
	cr_assert_eq(mem_refused(), 0);
}

Test(mem, products_that_overflow_are_refused)
{
	errno = 0;
	cr_assert_null(mem_calloc(SIZE_MAX / 2, 4));
	cr_assert_null(mem_reallocarray(NULL, SIZE_MAX / 2, 4));
	cr_assert_eq(errno, ENOMEM);
}

Test(mem, fail_after_n_grants_n_then_refuses_all)
{
	void *p[3];
	char *s;

	mem_fail_after(2);
	p[0] = mem_malloc(8);
	p[1] = mem_realloc(NULL, 8);
	cr_assert(p[0] != NULL && p[1] != NULL);
	errno = 0;
	p[2] = mem_malloc(8);
	cr_assert_null(p[2]);
	cr_assert_eq(errno, ENOMEM);
	cr_assert_null(mem_strdup("x"));
	cr_assert_eq(mem_asprintf(&s, "%d", 1), -1);
	cr_assert_null(s);
	cr_assert_eq(mem_refused(), 3);
	mem_fail_after(-1);
	cr_assert_eq(mem_refused(), 0);
	p[2] = mem_malloc(8);
	cr_assert_not_null(p[2]);
	free(p[0]);
	free(p[1]);
	free(p[2]);
}

Test(mem, fail_nth_refuses_only_the_nth)
{
	void *p[4];
	char *s;

	mem_fail_nth(2);
	p[0] = mem_malloc(8);
	p[1] = mem_strdup("x");
	cr_assert(p[0] != NULL && p[1] != NULL);
	errno = 0;
	cr_assert_eq(mem_asprintf(&s, "%d", 1), -1);
	cr_assert_null(s);
	cr_assert_eq(errno, ENOMEM);
	/* Every later one is granted, whatever the wrapper. */
	p[2] = mem_calloc(2, 4);
	p[3] = mem_realloc(NULL, 8);
	cr_assert(p[2] != NULL && p[3] != NULL);
	cr_assert_eq(mem_refused(), 1);
	free(p[0]);
	free(p[1]);
	free(p[2]);
	free(p[3]);
}

Test(mem, fail_nth_0_refuses_the_next)
{
	char *s;

	mem_fail_nth(0);
	cr_assert_null(mem_strndup("abc", 2));
	cr_assert_not_null(s = mem_strndup("abc", 2));
	cr_assert_eq(mem_refused(), 1);
	free(s);
}

Test(mem, a_negative_n_lifts_either_limit)
{
	void *p;

	mem_fail_nth(0);
	mem_fail_nth(-1);
	cr_assert_eq(mem_refused(), 0);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	mem_fail_nth(0);
	mem_fail_after(-1);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	mem_fail_after(0);
	mem_fail_nth(-1);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_eq(mem_refused(), 0);
}

Test(mem, each_setting_replaces_the_other)
{
	void *p;

	/* nth after fail_after: only the one refusal, the count restarted. */
	mem_fail_after(0);
	cr_assert_null(mem_malloc(8));
	mem_fail_nth(1);
	cr_assert_eq(mem_refused(), 0);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_null(mem_malloc(8));
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_eq(mem_refused(), 1);
	/* fail_after after nth: the nth is forgotten. */
	mem_fail_nth(1);
	mem_fail_after(3);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_null(mem_malloc(8));
	cr_assert_null(mem_malloc(8));
	cr_assert_eq(mem_refused(), 2);
}

Test(mem, fail_nth_far_away_refuses_nothing_yet)
{
	void *p;
	int i;

	mem_fail_nth(LONG_MAX);
	for (i = 0; i < 100; i++) {
		cr_assert_not_null(p = mem_malloc(8));
		free(p);
	}
	mem_fail_nth(LONG_MAX - 1);
	cr_assert_not_null(p = mem_malloc(8));
	free(p);
	cr_assert_eq(mem_refused(), 0);
}

/* Refused exactly once however many threads race for the nth. */
static void *
grab(void *arg)
{
	long *got = arg;
	void *p;
	int i;

	for (i = 0; i < 1000; i++) {
		if ((p = mem_malloc(8)) == NULL)
			(*got)++;
		free(p);
	}
	return NULL;
}

Test(mem, fail_nth_refuses_once_across_threads)
{
	pthread_t th[4];
	long got[4] = { 0, 0, 0, 0 };
	int i;

	mem_fail_nth(1777);
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, grab, &got[i]), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(got[0] + got[1] + got[2] + got[3], 1);
	cr_assert_eq(mem_refused(), 1);
}

Test(mem, jansson_allocates_through_the_wrapper)
{
	json_t *j;

	mem_json_setup();
	mem_fail_after(0);
	j = json_loads("{\"a\": [1, 2, \"three\"]}", 0, NULL);
	cr_assert_null(j, "jansson must see the refusals");
	cr_assert_gt(mem_refused(), 0);
	mem_fail_after(-1);
	j = json_loads("{\"a\": [1, 2, \"three\"]}", 0, NULL);
	cr_assert_not_null(j);
	json_decref(j);
}

/*
 * jansson lets a refused allocation pass while it parses or dumps (a byte
 * or a key lost); the wrappers must answer NULL and ENOMEM whenever one of
 * its allocations was refused, and the whole result otherwise.
 */
static const char json_text[] = "{\"hash\":\"0123456789abcdef0123456789"
    "abcdef0123456789abcdef0123456789abcdef\",\"seq\":1234567890,"
    "\"list\":[\"a long string to buffer\",\"b\"]}";

Test(mem, json_loadb_and_dumps_refuse_what_jansson_let_pass)
{
	json_t *j, *want, *loaded;
	char *s, *text, key[16];
	long n, refused;

	mem_json_setup();
	cr_assert_not_null(loaded = json_loads(json_text, 0, NULL));
	cr_assert_not_null(want = json_deep_copy(loaded));
	/* Keys enough for the dump's buffer to grow while writing one. */
	for (n = 0; n < 40; n++) {
		snprintf(key, sizeof(key), "key%02ld", n);
		cr_assert_eq(json_object_set_new(want, key, json_integer(n)),
		    0);
	}
	cr_assert_not_null(text = json_dumps(want, JSON_COMPACT));
	for (n = 0; ; n++) {
		mem_fail_nth(n);
		errno = 0;
		j = mem_json_loadb(json_text, strlen(json_text), 0, NULL);
		refused = mem_refused();
		mem_fail_nth(-1);
		if (refused != 0) {
			cr_assert_null(j, "refusal %ld passed", n);
			cr_assert_eq(errno, ENOMEM);
			continue;
		}
		cr_assert(json_equal(j, loaded));
		json_decref(j);
		break;
	}
	for (n = 0; ; n++) {
		mem_fail_nth(n);
		errno = 0;
		s = mem_json_dumps(want, JSON_COMPACT);
		refused = mem_refused();
		mem_fail_nth(-1);
		if (refused != 0) {
			cr_assert_null(s, "refusal %ld passed: %s", n, s);
			cr_assert_eq(errno, ENOMEM);
			continue;
		}
		cr_assert_str_eq(s, text);
		free(s);
		break;
	}
	json_decref(want);
	json_decref(loaded);
	free(text);
}

/*
 * A string whose closing quote jansson cannot save: given memory again,
 * its lexer would overrun the token (AddressSanitizer's to see); the
 * wrapper fails every allocation after the first refusal instead.  Each
 * length puts the quote at another place in the growing buffer.
 */
Test(mem, json_loadb_does_not_overrun_a_lost_quote)
{
	char text[128], letters[100];
	json_t *j;
	long n, refused;
	int len;

	memset(letters, 'a', sizeof(letters));	/* the string's body */
	mem_json_setup();
	for (len = 1; len < 100; len++) {
		snprintf(text, sizeof(text), "[\"%.*s\"]", len, letters);
		for (n = 0; ; n++) {
			mem_fail_nth(n);
			j = mem_json_loadb(text, strlen(text), 0, NULL);
			refused = mem_refused();
			mem_fail_nth(-1);
			if (refused == 0)
				break;
			cr_assert_null(j, "%s: refusal %ld passed", text, n);
		}
		cr_assert_eq(json_string_length(json_array_get(j, 0)),
		    (size_t)len);
		json_decref(j);
	}
}

Test(mem, json_dumpf_writes_all_or_nothing)
{
	json_t *j;
	char buf[256];
	FILE *f;
	long n, refused;
	int r;

	mem_json_setup();
	cr_assert_not_null(j = json_loads(json_text, 0, NULL));
	for (n = 0; ; n++) {
		cr_assert_not_null(f = tmpfile());
		mem_fail_nth(n);
		r = mem_json_dumpf(j, f, JSON_COMPACT);
		refused = mem_refused();
		mem_fail_nth(-1);
		cr_assert_eq(ftell(f), r == 0 ? (long)strlen(json_text) : 0);
		if (r == 0) {
			rewind(f);
			cr_assert_not_null(fgets(buf, sizeof(buf), f));
			cr_assert_str_eq(buf, json_text);
		}
		fclose(f);
		if (refused == 0)
			break;
		cr_assert_eq(r, -1);
	}
	json_decref(j);
}

Test(mem, wipe_free_takes_null_and_frees)
{
	wipe_free(mem_strdup("secret"));
	wipe_free(NULL);
}
