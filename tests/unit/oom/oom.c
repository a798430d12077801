/* The allocation-failure walks; see oom.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"
#include "oom.h"
#include "tmpdir.h"

/*
 * LeakSanitizer's report at exit does not fail a Criterion test (the
 * runner calls it a teardown warning): ask for the check after each walk
 * instead, so a leak on any failure path fails the walk that made it.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define leaked()	__lsan_do_recoverable_leak_check()
#else
#define leaked()	0
#endif

long
oom_walk(const char *what, int (*run)(void *), void (*check)(void *, int),
    void *arg)
{
	long n, refused, recovered = 0;
	int r;

	for (n = 0; n < OOM_MAX; n++) {
		mem_fail_after(n);
		r = run(arg);
		refused = mem_refused();
		mem_fail_after(-1);
		if (refused == 0) {
			cr_assert_eq(r, 0, "%s: failed (%s) with no allocation "
			    "refused (budget %ld)", what, tss_errname(r), n);
			check(arg, r);
			cr_assert_eq(leaked(), 0, "%s: leaks (LeakSanitizer's "
			    "report above)", what);
			printf("oom: %s: %ld allocations%s\n", what, n,
			    recovered != 0 ? " (some refusals recovered)" : "");
			return n;
		}
		cr_assert(r == 0 || r == TSS_E_NOMEM, "%s: budget %ld: %s, "
		    "expected out_of_memory", what, n, tss_errname(r));
		recovered += r == 0;
		check(arg, r);
	}
	cr_assert(0, "%s: still refused after %d allocations", what, OOM_MAX);
	return -1;
}

long
oom_walk_nth(const char *what, int (*run)(void *), void (*check)(void *, int),
    char *(*show)(void *), void *arg)
{
	long n, refused, recovered = 0;
	char *whole = NULL, *got;
	int r;

	mem_fail_after(-1);
	r = run(arg);
	cr_assert_eq(r, 0, "%s: failed (%s) with nothing refused", what,
	    tss_errname(r));
	if (show != NULL)
		cr_assert_not_null(whole = show(arg));
	check(arg, r);
	for (n = 0; n < OOM_MAX; n++) {
		mem_fail_nth(n);
		r = run(arg);
		refused = mem_refused();
		mem_fail_after(-1);
		cr_assert(r == 0 || (refused != 0 && r == TSS_E_NOMEM),
		    "%s: allocation %ld refused alone: %s, expected "
		    "out_of_memory or success", what, n, tss_errname(r));
		if (r == 0 && show != NULL) {
			cr_assert_not_null(got = show(arg));
			cr_assert_str_eq(got, whole, "%s: allocation %ld "
			    "refused alone: succeeded short of output\n"
			    "  got:  %s\n  want: %s", what, n, got, whole);
			free(got);
		}
		recovered += refused != 0 && r == 0;
		check(arg, r);
		if (refused == 0) {
			free(whole);
			cr_assert_eq(leaked(), 0, "%s: leaks (LeakSanitizer's "
			    "report above)", what);
			printf("oom: %s: %ld allocations, each refused alone "
			    "(%ld recovered)\n", what, n, recovered);
			return n;
		}
	}
	cr_assert(0, "%s: still refused after %d allocations", what, OOM_MAX);
	return -1;
}

/* j without the members named in skip, at any depth. */
static void
strip(json_t *j, const char *const *skip)
{
	json_t *v;
	size_t i;
	const char *k;
	void *tmp;

	if (json_is_array(j))
		json_array_foreach(j, i, v)
			strip(v, skip);
	if (!json_is_object(j))
		return;
	json_object_foreach_safe(j, tmp, k, v) {
		for (i = 0; skip[i] != NULL; i++)
			if (strcmp(k, skip[i]) == 0)
				break;
		if (skip[i] != NULL)
			json_object_del(j, k);
		else
			strip(v, skip);
	}
}

char *
oom_json(json_t *j, const char *const *skip)
{
	json_t *c;
	char *s;

	cr_assert_not_null(j);
	cr_assert_not_null(c = json_deep_copy(j));
	json_decref(j);
	if (skip != NULL)
		strip(c, skip);
	s = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(c);
	cr_assert_not_null(s);
	return s;
}

uint64_t
oom_count(struct store *s, enum store_db db)
{
	struct store_txn *t;
	uint64_t n;

	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_count(t, db, &n), 0);
	store_abort(t);
	return n;
}

char *
oom_text(const char *s)
{
	char *t;

	cr_assert_not_null(t = strdup(s));
	return t;
}

char *
oom_hex(const void *p, size_t len)
{
	const unsigned char *b = p;
	char *s;
	size_t i;

	cr_assert_not_null(s = malloc(2 * len + 1));
	for (i = 0; i < len; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	s[2 * len] = '\0';
	return s;
}

void
oom_setup(void)
{
	mem_json_setup();
}

void
oom_teardown(void)
{
	mem_fail_after(-1);
}

char oom_dir[PATH_MAX];
struct store *oom_store;

void
oom_store_setup(void)
{
	oom_setup();
	cr_assert_eq(tmpdir_make(oom_dir, sizeof(oom_dir)), 0);
	cr_assert_eq(store_open(oom_dir, NULL, &oom_store), 0);
}

void
oom_store_teardown(void)
{
	oom_teardown();
	store_close(oom_store);
	oom_store = NULL;
	tmpdir_remove(oom_dir);
}

void
oom_store_fresh(void)
{
	store_close(oom_store);
	tmpdir_remove(oom_dir);
	cr_assert_eq(tmpdir_make(oom_dir, sizeof(oom_dir)), 0);
	cr_assert_eq(store_open(oom_dir, NULL, &oom_store), 0);
}
