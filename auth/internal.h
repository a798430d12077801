/*
 * Shared between auth/ source files only; not part of the public API.
 */
#ifndef TSS_AUTH_INTERNAL_H
#define TSS_AUTH_INTERNAL_H

#include <stdint.h>
#include <jansson.h>

struct auth_config;
struct store_txn;
struct user;
struct user_actor;

/*
 * Append an audit event.  actor NULL = "local"; fields is borrowed.
 * Strings are the caller's; none may be a secret.
 */
int auth__audit(struct store_txn *t, const struct user_actor *actor,
    const char *actor_name, const char *action, const char *object,
    const char *result, json_t *fields, int64_t now);

/*
 * Count one failed attempt (bad password or code) on u: one more
 * consecutive failure, then the throttle or the lock login.h describes.
 * The caller stores u.
 */
void auth__count_failure(const struct auth_config *cfg, struct user *u,
    int64_t now);
/*
 * Whether an account with these counters may try now: 0, TSS_E_LOCKED,
 * or TSS_E_TOO_MANY_ATTEMPTS with *retry_after set; *reason names it.
 */
int auth__may_try(int locked, int64_t throttle_until, int64_t now,
    const char **reason, int64_t *retry_after);

/* Write a new enrollment record for username; see enroll.h. */
int auth__enroll_issue(struct store_txn *t, const char *username,
    int64_t now, char *token, uint8_t key[32], int64_t *expires_at);

#endif
