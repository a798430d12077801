/* The allocation-failure walk; see oom.h. */
#include <stdio.h>

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
