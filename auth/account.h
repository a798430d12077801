/*
 * account: what a signed-in user does to their own account: change the
 * password, regenerate the recovery codes, list and end their sessions.
 *
 * The password change and the regeneration prove the user again, as a
 * login does and counted with it: the per-address login bucket first,
 * then the account's throttle and lock; a wrong password or code adds one
 * consecutive failure to the user record (login.h), a success resets the
 * count.  Only a TOTP code is taken (never a recovery code), and a step
 * is accepted once, logins included.  Argon2 runs outside any transaction.
 *
 * Outcomes: 0; TSS_E_WEAK_PASSWORD (the new password breaks the rules;
 * nothing checked or counted); TSS_E_INVALID_CREDENTIALS (wrong password
 * or code, or the account cannot act); TSS_E_TOO_MANY_ATTEMPTS with
 * *retry_after; TSS_E_LOCKED; TSS_E_UNAVAILABLE (hashing slots busy).
 * Each attempt is audited (password.change, recovery.regenerate) with
 * result "ok" or "denied" and the reason.
 */
#ifndef TSS_AUTH_ACCOUNT_H
#define TSS_AUTH_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "auth/recovery.h"
#include "auth/session.h"

struct auth_ctx;

/* Who asks, from where, when; retry_after is set for 429s. */
struct auth_proof {
	const char *username;
	const char *remote_addr;	/* may be NULL */
	const char *request_id;		/* may be NULL */
	int64_t now;
	int64_t retry_after;		/* out */
};

/*
 * Change p->username's password: current must verify and code be a fresh
 * TOTP code.  Ends every session of the user (the caller's too).
 */
int auth_change_password(struct auth_ctx *c, struct auth_proof *p,
    const char *current, size_t curlen, const char *code,
    const char *newpw, size_t newlen);

/*
 * Replace p->username's recovery codes with USER_RECOVERY_CODES new ones
 * (texts in codes, wiped on error); code must be a fresh TOTP code.
 */
int auth_recovery_regenerate(struct auth_ctx *c, struct auth_proof *p,
    const char *code,
    char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1]);

/* username's unexpired sessions (session_list). */
int auth_sessions(struct auth_ctx *c, const char *username, int64_t now,
    struct session ***out, size_t *n);
/*
 * End username's session under key (TSS_E_NOT_FOUND when it has none
 * there), or, with keep, every other one (*n gets how many).
 */
int auth_session_end(struct auth_ctx *c, const char *username,
    const uint8_t *key, const char *remote_addr, int64_t now);
int auth_sessions_end_others(struct auth_ctx *c, const char *username,
    const uint8_t *keep, const char *remote_addr, int64_t now, size_t *n);

#endif
