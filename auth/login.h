/*
 * login: the authentication context shared by the HTTP layer, and the login
 * use case.
 *
 * struct auth_ctx ties together the store, the master key (for TOTP
 * secrets), the password hasher with its concurrency bound, the per-address
 * rate limiter and the policy numbers.  It is created once and shared by all
 * threads.
 *
 * auth_login() verifies the password outside any transaction (the LMDB
 * write lock is never held during Argon2), then in one write transaction
 * re-reads the user, checks the code and the replay step, updates the
 * failure counters, creates the session and appends the audit event, and
 * commits.  Two logins with the same TOTP code: the write transactions run
 * one after the other and only the first sees a fresh step.
 *
 * Throttling: each failed attempt (bad password or bad code, replay
 * included) adds one to the user's consecutive failures, persisted in the
 * user record.  From throttle_after failures on, the next attempt must wait
 * 2^(failures - throttle_after) seconds (capped at throttle_max); at
 * lock_after failures the account locks until an admin unlocks or resets
 * it.  A success resets the count.  Attempts refused because of the wait
 * or the lock are not counted.  A name that is not an account is counted
 * the same way in memory (a bounded table in the context), so that it
 * throttles and locks exactly as an account would: the answers never tell
 * which names exist.  Per remote address a token bucket limits attempts
 * before anything else is done.
 *
 * The outcome codes map to the contract: 0 ok; TSS_E_INVALID_CREDENTIALS
 * (wrong user, password or code, disabled user: the client must not learn
 * which); TSS_E_TOO_MANY_ATTEMPTS (with retry_after); TSS_E_LOCKED;
 * TSS_E_NOT_ENROLLED (right password, enrollment not finished);
 * TSS_E_UNAVAILABLE (all hashing slots busy); TSS_E_NOMEM (no verdict,
 * and not counted).  res->reason says more, for the audit trail and logs
 * only.
 */
#ifndef TSS_AUTH_LOGIN_H
#define TSS_AUTH_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "auth/password.h"
#include "auth/secretbox.h"
#include "auth/token.h"

struct store;
struct store_txn;
struct session;
struct user;

struct auth_config {
	struct password_params password;	/* zero fields = defaults */
	struct password_limits limits;		/* zero fields = defaults;
						 * wait_ms 2000 here */
	unsigned totp_window;			/* steps either side; 1 */
	int64_t session_idle;			/* seconds; 30 min */
	int64_t session_max;			/* seconds; 12 h */
	const char *issuer;			/* "Tessera" */
	unsigned rate_burst;			/* per address; 20 attempts */
	unsigned rate_interval;			/* a token per 3 s */
	unsigned rate_slots;			/* addresses tracked; 4096 */
	unsigned enroll_rate_burst;		/* per address; 100 calls */
	unsigned enroll_rate_interval;		/* a call per 1 s */
	uint32_t throttle_after;		/* 5 failures */
	uint32_t lock_after;			/* 100 failures */
	int64_t throttle_max;			/* longest wait; 15 min */
};

/* Fill c with the defaults above (start from this, then change fields). */
void auth_config_defaults(struct auth_config *c);

struct auth_ctx;

/*
 * New context on an open store (which must outlive it).  key is copied.
 * config NULL = defaults.  Creates the password hasher (one hash's time).
 */
int auth_ctx_new(struct store *s, const uint8_t key[SECRETBOX_KEY_LEN],
    const struct auth_config *config, struct auth_ctx **out);
void auth_ctx_free(struct auth_ctx *c);		/* NULL is harmless; wipes */

/* The configuration in force (defaults filled in). */
const struct auth_config *auth_ctx_config(const struct auth_ctx *c);
struct password_hasher *auth_ctx_hasher(struct auth_ctx *c);
struct store *auth_ctx_store(struct auth_ctx *c);
const uint8_t *auth_ctx_key(const struct auth_ctx *c);

struct auth_login_result {
	const char *reason;	/* "ok", "bad_password", "bad_code", "replay",
				 * "unknown_user", "locked", "throttled",
				 * "rate_limited", "disabled", "not_enrolled",
				 * "busy": never shown to the client */
	int64_t retry_after;	/* seconds, for TSS_E_TOO_MANY_ATTEMPTS */
	char token[TOKEN_TEXT_LEN + 1];	/* session token on success */
	char csrf[TOKEN_TEXT_LEN + 1];	/* its CSRF token */
	int64_t expires_at;		/* idle expiry of the session */
	int used_recovery;		/* a recovery code was spent */
	size_t recovery_left;		/* recovery codes still unused */
	uint32_t failures;		/* consecutive failures after this */
};

/* Wipe the tokens in a result. */
void auth_login_result_clear(struct auth_login_result *res);

/*
 * Log in.  code is the current 6-digit TOTP code or an unused recovery
 * code.  remote_addr and request_id (may be NULL) go to the audit event.
 * Returns the outcome code (see above); res is always filled in.
 */
int auth_login(struct auth_ctx *c, const char *username, const char *password,
    size_t pwlen, const char *code, const char *remote_addr,
    const char *request_id, int64_t now, struct auth_login_result *res);

/*
 * Take one unauthenticated enrollment call (start or finish) of
 * remote_addr at now from its token bucket (enroll_rate_burst, then one
 * every enroll_rate_interval seconds): 0, or TSS_E_TOO_MANY_ATTEMPTS with
 * *retry_after seconds.  Separate from the login bucket, so enrolling
 * does not spend the logins that follow it.
 */
int auth_enroll_rate(struct auth_ctx *c, const char *remote_addr,
    int64_t now, int64_t *retry_after);

/* End the session of token.  TSS_E_UNAUTHENTICATED when there is none. */
int auth_logout(struct auth_ctx *c, const char *token,
    const char *remote_addr, int64_t now);

/*
 * Session of a presented token at now, with the configured timeouts; also
 * TSS_E_UNAUTHENTICATED when its user is gone or disabled.  Reads only,
 * unless the recorded use is SESSION_TOUCH_EVERY seconds old (then it is
 * recorded) or the session expired (then it is deleted): see session.h.
 * user (may be NULL) gets the session's user record, read in the same
 * transaction.
 */
int auth_session(struct auth_ctx *c, const char *token, int64_t now,
    struct session **out, struct user **user);
/* The same, running also(t, arg) in that transaction once the session
 * and user are good (a caller's other reads, without a second one). */
int auth_session_also(struct auth_ctx *c, const char *token, int64_t now,
    struct session **out, struct user **user,
    int (*also)(struct store_txn *, void *), void *arg);

#endif
