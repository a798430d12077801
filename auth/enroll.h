/*
 * enroll: enrollment tokens (store DB ENROLLMENTS, key = SHA-256 of the
 * token), the two-step enrollment flow, and recovery codes.
 *
 * Record 'E' version 1: username, created, expires.  A token is single use
 * and valid for 24 hours; the user record remembers the storage hash of its
 * open token, so a reset replaces it.
 *
 * enroll_start sets the password and a new TOTP secret (replacing both if
 * called again before finish) and returns the secret, its Key URI and QR
 * code: the only time they are ever shown.  enroll_finish checks a code
 * from the new secret, activates the account, spends the token and returns
 * 10 recovery codes; only their hashes are stored.
 *
 * Recovery codes are 80 random bits as 16 lowercase base32 characters in
 * groups of four ("abcd-efgh-ijkl-mnop"); input is case-insensitive and
 * may omit the dashes.
 */
#ifndef TSS_AUTH_ENROLL_H
#define TSS_AUTH_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include "auth/recovery.h"
#include "auth/user.h"

#define ENROLL_TTL		(24 * 60 * 60)
#define ENROLL_REC_TYPE		'E'
#define ENROLL_REC_VERSION	1

struct auth_ctx;
struct store_txn;

struct enroll_start_result {
	char *username;
	char *totp_secret;	/* base32, no padding (secret: wiped on clear) */
	char *otpauth_uri;	/* holds the secret too */
	char *qr_svg;
};

struct enroll_finish_result {
	char *username;
	char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1];
	int64_t retry_after;	/* seconds, with TSS_E_TOO_MANY_ATTEMPTS */
};

void enroll_start_result_clear(struct enroll_start_result *r);
void enroll_finish_result_clear(struct enroll_finish_result *r);

/*
 * Username of an open enrollment token.  TSS_E_UNAUTHENTICATED for a
 * malformed or unknown token, TSS_E_EXPIRED after 24 h.
 */
int enroll_lookup(struct store_txn *t, const char *token, int64_t now,
    char **username);

/*
 * Set the password (rules: password_check_rules) and a new TOTP secret.
 * Errors as enroll_lookup, TSS_E_WEAK_PASSWORD, TSS_E_UNAVAILABLE.
 * Audit: enroll.start.
 */
int enroll_start(struct auth_ctx *c, const char *token, const char *password,
    size_t pwlen, const char *remote_addr, int64_t now,
    struct enroll_start_result *res);

/*
 * Confirm with a code of the new secret.  TSS_E_CONFLICT before
 * enroll_start; TSS_E_INVALID_CREDENTIALS for a wrong code (the token
 * stays usable).  A wrong code counts as a failed login does (login.h:
 * throttle, then lock), and neither a new enroll_start nor another
 * address resets the count: TSS_E_TOO_MANY_ATTEMPTS (res->retry_after)
 * while throttled, TSS_E_LOCKED once locked.  Audit: enroll.finish, with
 * the reason and failure count when denied.
 */
int enroll_finish(struct auth_ctx *c, const char *token, const char *code,
    const char *remote_addr, int64_t now, struct enroll_finish_result *res);

/* Delete expired enrollment records; *n (may be NULL) gets how many. */
int enroll_prune(struct store_txn *t, int64_t now, size_t *n);

#endif
