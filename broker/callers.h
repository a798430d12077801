/*
 * callers: whom a session token authenticated, remembered for a moment so
 * that issuance, the hot path, skips authentication's read transaction
 * (three round trips on PostgreSQL).  A hint, never the guarantee:
 * issuance's commit re-checks the session, the user and the policy in its
 * write transaction (issue.c, revalidate), so an entry made stale by a
 * logout, a reset, a disable or a policy change on any instance costs one
 * refused commit, after which the entry is forgotten.  An entry serves
 * until the session's recorded use is SESSION_TOUCH_EVERY seconds old (or
 * the session expires), so uses are recorded as often as without it.
 * Entries are keyed by the session's key (a hash of the token): the tokens
 * themselves are never kept.  Thread-safe; bounded (CALLERS_SLOTS).
 */
#ifndef TSS_BROKER_CALLERS_H
#define TSS_BROKER_CALLERS_H

#include <stdint.h>

#define CALLERS_SLOTS	1024	/* direct-mapped: a collision replaces */

struct caller;
struct callers;

int callers_new(struct callers **out);
void callers_free(struct callers *cs);		/* NULL is harmless */

/* The remembered caller of session key at now into c (username, groups,
 * session): 0, or TSS_E_NOT_FOUND (also when out of memory). */
int callers_get(struct callers *cs, const uint8_t *key, int64_t now,
    struct caller *c);
/* Remember c (with its session) until `until` (exclusive). */
void callers_put(struct callers *cs, const struct caller *c, int64_t until);
void callers_forget(struct callers *cs, const uint8_t *key);

#endif
