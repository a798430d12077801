/* The allocation wrapper and its test hook (common/mem.h). */
#include <errno.h>
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

Test(mem, wipe_free_takes_null_and_frees)
{
	wipe_free(mem_strdup("secret"));
	wipe_free(NULL);
}
