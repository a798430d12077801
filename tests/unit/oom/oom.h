/*
 * The allocation-failure walk of the oom suite (libuv's test-loop-oom):
 * run an operation with every allocation budget in turn (common/mem.h's
 * mem_fail_after) and check that each refusal ends in a clean error, with
 * no output left to the caller.  In the sanitizer build each walk ends
 * with a leak check.
 */
#ifndef TSS_TEST_OOM_H
#define TSS_TEST_OOM_H

#include <limits.h>

#define OOM_MAX		100000	/* budgets tried before giving up */

struct store;

/*
 * run(arg) once with each budget n = 0, 1, 2, ... until it runs without a
 * refusal; run returns the operation's result as 0 or a TSS_E_* code (a
 * NULL or -1 result translated to TSS_E_NOMEM).  check(arg, r) is called
 * after each run with the budget lifted: it asserts that r's outputs are
 * whole (success) or absent (failure), frees them and restores whatever
 * run changed.  A run that saw a refusal must fail with TSS_E_NOMEM, or
 * succeed (the code recovered; check proves the result whole); one that
 * saw none must succeed.  Returns the n that ran free: the operation's
 * allocation points.  Prints "oom: <what>: <n> allocations" on stdout.
 */
long oom_walk(const char *what, int (*run)(void *), void (*check)(void *, int),
    void *arg);

/* Criterion init for every oom test: jansson allocates through mem_. */
void oom_setup(void);
/* Criterion fini: no budget left behind. */
void oom_teardown(void);

/* For suites on a store: oom_setup, then a temp dir oom_dir holding the
 * open store oom_store.  oom_store_fresh replaces both with new ones. */
extern char oom_dir[PATH_MAX];
extern struct store *oom_store;
void oom_store_setup(void);
void oom_store_teardown(void);
void oom_store_fresh(void);

#endif
