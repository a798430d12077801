/*
 * The allocation-failure walks of the oom suite (libuv's test-loop-oom):
 * run an operation with every allocation budget in turn (common/mem.h's
 * mem_fail_after), or with each of its allocations refused alone
 * (mem_fail_nth), and check that each refusal ends in a clean error, with
 * no output left to the caller, or in a whole result.  In the sanitizer
 * build each walk ends with a leak check.
 */
#ifndef TSS_TEST_OOM_H
#define TSS_TEST_OOM_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

#define OOM_MAX		100000	/* budgets tried before giving up */

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

/*
 * The same operation with one allocation refused at a time: run(arg) with
 * each n = 0, 1, 2, ... refusing only its nth allocation and granting
 * every other, until a run sees no refusal.  This finds what oom_walk
 * hides: a failure swallowed while something allocates later.  A refused
 * run must fail with TSS_E_NOMEM (check proves nothing left) or succeed
 * whole: show(arg), called after each successful run and before check,
 * renders the output as text (the walk frees it), which must equal the
 * text of a first run with nothing refused.  show may be NULL where check
 * alone proves the output whole.  check must also restore what a
 * successful run changed, for the next run.  Returns the operation's
 * allocation count; prints "oom: <what>: <n> allocations, each refused
 * alone (<k> recovered)" on stdout.
 */
long oom_walk_nth(const char *what, int (*run)(void *),
    void (*check)(void *, int), char *(*show)(void *), void *arg);

/* For show: j as sorted compact JSON text, without the members named in
 * skip (NULL-terminated, may be NULL) at any depth; j's reference is
 * taken (json_incref one that is not yours). */
char *oom_json(json_t *j, const char *const *skip);
/* For walks on a store: the records in db. */
uint64_t oom_count(struct store *s, enum store_db db);
/* For show: a copy of s. */
char *oom_text(const char *s);
/* For show: len bytes at p in hex. */
char *oom_hex(const void *p, size_t len);

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
