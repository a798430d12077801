/*
 * Shared between auth/ source files only; not part of the public API.
 */
#ifndef TSS_AUTH_INTERNAL_H
#define TSS_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <jansson.h>

#include "auth/login.h"
#include "auth/secretbox.h"
#include "common/digest.h"

struct store_txn;
struct user;
struct audit_actor;

#define GHOST_SLOTS	8192	/* unknown names whose failures are kept */
#define GHOST_PROBE	8

/*
 * Failure counters of a name that is not an account.  Without them an
 * account answered 429 from its fifth failure while an unknown name
 * stayed 401 forever, which told anyone which names exist.
 */
struct ghost {
	uint8_t key[SHA256_LEN];	/* HMAC-SHA256(ghost_seed, name) */
	uint8_t used;
	int locked;
	uint32_t failures;
	int64_t throttle_until;
	int64_t last;			/* last attempt; eviction order */
};

struct auth_ctx {
	struct store *store;
	uint8_t key[SECRETBOX_KEY_LEN];
	struct auth_config cfg;
	char *issuer;
	struct password_hasher *hasher;
	struct ratelimit *rl;
	struct ratelimit *enroll_rl;
	pthread_mutex_t ghost_mu;
	int ghost_mu_ok;
	uint8_t ghost_seed[32];
	struct ghost *ghosts;		/* GHOST_SLOTS */
};

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

/*
 * The same for a name that is not an account (throttle.c): counters kept
 * in memory by the same rules, so the answers for the two cannot be told
 * apart.  auth__ghost_fail counts one failure (TSS_E_INVALID_CREDENTIALS,
 * reason "unknown_user") unless the name is throttled or locked.
 */
int auth__ghost_may_try(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after);
int auth__ghost_fail(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after, uint32_t *failures);

/*
 * login.c, shared with account.c.  What the read phase learned about a
 * user (exists == 0: no such user), without holding anything;
 * auth__snapshot_clear wipes the hash.
 */
struct auth_snapshot {
	int exists;
	int locked;
	int64_t throttle_until;
	char *pw_hash;
};
int auth__snapshot_read(struct auth_ctx *c, const char *username,
    struct auth_snapshot *s);
void auth__snapshot_clear(struct auth_snapshot *s);
/*
 * The code part, inside the write transaction: a TOTP code of a step
 * after u's last one (recorded in u), or, when allow_recovery, an unused
 * recovery code (spent from u).  0 or TSS_E_INVALID_CREDENTIALS with
 * *reason set; TSS_E_NOMEM is no verdict.
 */
int auth__check_code(struct auth_ctx *c, struct user *u, const char *code,
    int allow_recovery, int64_t now, const char **reason,
    int *used_recovery);

/* Write a new enrollment record for username; see enroll.h. */
int auth__enroll_issue(struct store_txn *t, const char *username,
    int64_t now, char *token, uint8_t key[32], int64_t *expires_at);

#endif
