/*
 * guard: run an admin change in a group-commit transaction and judge it by
 * its effect (rbac_guard) before it may commit.  The world before and
 * after (policy snapshot and users) is read in that same transaction, so
 * nothing committed between the decision and the write can slip past it.
 */
#ifndef TSS_BROKER_GUARD_H
#define TSS_BROKER_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "broker/commit.h"

struct broker;
struct caller;

/*
 * fn(txn, arg) makes the change; then the guard compares.  handed (may be
 * NULL) names an account whose enrollment link the change hands to the
 * caller (created or reset).  Returns fn's error, TSS_E_FORBIDDEN with
 * errmsg saying why, or the commit's result; a refused change is rolled
 * back whole.
 */
int guard_run(struct broker *b, const struct caller *c, const char *handed,
    commit_fn fn, void *arg, int64_t now, char *errmsg, size_t len);

#endif
