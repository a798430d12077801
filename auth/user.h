/*
 * user: the USER record (store DB USERS, key = username bytes, no NUL) and
 * the admin operations on it.
 *
 * Record 'U' version 1 holds: name, groups, disabled, state (pending until
 * enroll_finish), locked, the Argon2id hash, the sealed TOTP secret
 * (secretbox, username as associated data), the last accepted TOTP step,
 * consecutive failures, throttle-until, SHA-256 hashes of the unused
 * recovery codes, the storage hash of the open enrollment token, created.
 * Version 2 adds last_login; a version 1 record reads as never logged in.
 *
 * Every function works inside the caller's transaction (write transactions
 * for changes) and appends its audit event there, so the event exists
 * exactly when the change is committed.  Admin operations end the user's
 * sessions where the contract says so (disable, reset, delete); revoking
 * the user's certificates on reset is the broker's part.
 *
 * Usernames and group names: [a-z_][a-z0-9_.-]{0,31}.
 */
#ifndef TSS_AUTH_USER_H
#define TSS_AUTH_USER_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

#define USER_NAME_MAX		32
#define USER_GROUPS_MAX		64
#define USER_RECOVERY_CODES	10
#define USER_HASH_LEN		32
#define USER_REC_TYPE		'U'
#define USER_REC_VERSION	2

struct store_txn;
struct buf;

enum user_state {
	USER_PENDING = 0,	/* created or reset; not enrolled yet */
	USER_ACTIVE = 1,	/* enrolled: password and TOTP set */
};

struct user {
	char *name;
	char **groups;
	size_t ngroups;
	int disabled;
	enum user_state state;
	int locked;			/* after too many failures */
	char *pw_hash;			/* encoded Argon2id; NULL = none */
	uint8_t *totp_box;		/* sealed secret; NULL = none */
	size_t totp_box_len;
	uint64_t last_step;		/* last accepted TOTP step */
	uint32_t failures;		/* consecutive failed logins */
	int64_t throttle_until;		/* no attempt before this time */
	uint8_t recovery[USER_RECOVERY_CODES][USER_HASH_LEN];
	size_t nrecovery;		/* unused recovery codes */
	uint8_t enroll_key[USER_HASH_LEN];	/* open enrollment token */
	int has_enroll;
	int64_t created;
	int64_t last_login;		/* last successful login; 0 = never */
};

/* 0 for a valid user or group name, TSS_E_VALIDATION otherwise. */
int user_name_valid(const char *name);
/*
 * 0 for a group list a user may hold: at most USER_GROUPS_MAX valid names,
 * none twice; else TSS_E_TOO_MANY or TSS_E_VALIDATION with, when errmsg
 * is not NULL, a message naming the element ("groups[1]: ops is listed
 * twice").
 */
int user_groups_valid(const char *const *g, size_t n, char *errmsg,
    size_t len);

void user_free(struct user *u);			/* NULL is harmless */
void user_list_free(struct user **v, size_t n);

/* Record codec (exposed for tests and fuzzing). */
int user_encode(const struct user *u, struct buf **out);
int user_decode(const void *p, size_t len, struct user **out);

/* TSS_E_NOT_FOUND when there is no such user. */
int user_get(struct store_txn *t, const char *name, struct user **out);
/* Write u as it is (no audit; the caller's use case audits). */
int user_put(struct store_txn *t, const struct user *u);
/* Every user in name order. */
int user_list(struct store_txn *t, struct user ***out, size_t *n);

/*
 * New pending user and its enrollment token (text in token, TOKEN_TEXT_LEN
 * + 1 bytes; valid until *expires_at).  TSS_E_CONFLICT if the name exists,
 * TSS_E_VALIDATION for a bad name or group.  Audit: user.create.
 */
int user_create(struct store_txn *t, const char *name,
    const char *const *groups, size_t ngroups,
    const struct audit_actor *actor, int64_t now, char *token,
    int64_t *expires_at);

/* Replace the groups.  Audit: user.update. */
int user_set_groups(struct store_txn *t, const char *name,
    const char *const *groups, size_t ngroups,
    const struct audit_actor *actor, int64_t now);

/* Disable (ending all sessions) or enable.  Audit: user.disable/enable. */
int user_set_disabled(struct store_txn *t, const char *name, int disabled,
    const struct audit_actor *actor, int64_t now);

/*
 * Back to pending with a new enrollment token: password, TOTP secret,
 * recovery codes, failures and lock cleared; sessions and the old token
 * ended.  Audit: user.reset.
 */
int user_reset(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now, char *token,
    int64_t *expires_at);

/* Clear the failure count, throttle and lock.  Audit: user.unlock. */
int user_unlock(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now);

/* Delete the user, its sessions and its open enrollment.  Audit: user.delete. */
int user_delete(struct store_txn *t, const char *name,
    const struct audit_actor *actor, int64_t now);

#endif
