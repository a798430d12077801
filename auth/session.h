/*
 * session: login sessions (store DB SESSIONS, key = SHA-256 of the token).
 *
 * Record 'S' version 1: username, created, last use, remote address.  The
 * token itself (256 random bits, 64 hex characters) exists only in the
 * client's hands.  The CSRF token is HMAC-SHA256(session token, label) in
 * hex: nothing more is stored for it, only a holder of the session token
 * can compute it, and GET /v1/me can hand it out again after a reload.
 *
 * A session ends at logout, after `idle` seconds without use, `max` seconds
 * after creation, and when its user is disabled, reset, deleted or changes
 * password (session_end_all_for_user).  session_lookup() needs a write
 * transaction: it records the use, and deletes a session it finds expired.
 * session_peek() reads in any transaction and writes nothing: the hot path
 * (every authenticated request) stays off LMDB's writer lock and only
 * takes it when the recorded use is SESSION_TOUCH_EVERY seconds old or the
 * session must be deleted.  So the recorded last use may lag the real one
 * by less than SESSION_TOUCH_EVERY seconds, and an idle session may end
 * that much earlier than `idle` after its real last use, never later.
 */
#ifndef TSS_AUTH_SESSION_H
#define TSS_AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth/token.h"

#define SESSION_IDLE_DEFAULT	(30 * 60)
#define SESSION_MAX_DEFAULT	(12 * 60 * 60)
#define SESSION_REC_TYPE	'S'
#define SESSION_REC_VERSION	1
#define SESSION_TOUCH_EVERY	60	/* seconds between recorded uses */
#define SESSION_LIST_MAX	1000	/* sessions session_list() returns */

struct store_txn;

struct session {
	char *username;
	char *remote_addr;	/* as given at login; "" when unknown */
	int64_t created;
	int64_t last_used;
	int64_t expires_at;	/* min(last_used + idle, created + max) */
	uint8_t key[TOKEN_HASH_LEN];
};

void session_free(struct session *s);		/* NULL is harmless */

/*
 * New session for username.  token and csrf get TOKEN_TEXT_LEN + 1 bytes
 * each; *expires_at the idle expiry.
 */
int session_create(struct store_txn *t, const char *username,
    const char *remote_addr, int64_t now, int64_t idle, int64_t max,
    char *token, char *csrf, int64_t *expires_at);

/*
 * Find the session of a presented token and record its use at now.
 * TSS_E_UNAUTHENTICATED for a malformed, unknown or expired token (an
 * expired one is deleted).
 */
int session_lookup(struct store_txn *t, const char *token, int64_t now,
    int64_t idle, int64_t max, struct session **out);

/*
 * Find the session of a presented token without writing (any transaction).
 * 0: *out is the session as recorded (expires_at from the recorded last
 * use) and *touch says whether the caller should record the use (take the
 * write path, session_lookup) because the recorded one is at least
 * SESSION_TOUCH_EVERY seconds old.  TSS_E_UNAUTHENTICATED for a malformed,
 * unknown or expired token; *touch is 1 for an expired one (the write path
 * deletes it).  *touch is always set.
 */
int session_peek(struct store_txn *t, const char *token, int64_t now,
    int64_t idle, int64_t max, struct session **out, int *touch);

/*
 * Is the session stored under key (struct session's key) still there,
 * belonging to username and unexpired at now?  0 or TSS_E_UNAUTHENTICATED;
 * writes nothing.  For a commit that re-checks what a decision relied on.
 */
int session_alive(struct store_txn *t, const uint8_t *key,
    const char *username, int64_t now, int64_t idle, int64_t max);
/* The CSRF token belonging to a session token (TOKEN_TEXT_LEN + 1 bytes). */
int session_csrf(const char *token, char *csrf);
/* 0 when csrf belongs to token (constant time), TSS_E_FORBIDDEN otherwise. */
int session_csrf_check(const char *token, const char *csrf);

/*
 * End the session of token (logout).  TSS_E_UNAUTHENTICATED when there is
 * none.  Audit: session.end (actor = the session's user).
 */
int session_end(struct store_txn *t, const char *token,
    const char *remote_addr, int64_t now);

/*
 * End username's session stored under key (struct session's key): 0, or
 * TSS_E_NOT_FOUND when username has no session there (another user's is
 * not found either).  Audit: session.end.
 */
int session_end_key(struct store_txn *t, const char *username,
    const uint8_t *key, const char *remote_addr, int64_t now);

/*
 * End every session of username except the one under keep; *n (may be
 * NULL) gets how many.  Audit: session.end_others {"ended"}.
 */
int session_end_others(struct store_txn *t, const char *username,
    const uint8_t *keep, const char *remote_addr, int64_t now, size_t *n);

/*
 * Every unexpired session of username at now, in key order, each with
 * key and expires_at filled in; free with session_list_free.
 * TSS_E_TOO_MANY past SESSION_LIST_MAX.
 */
int session_list(struct store_txn *t, const char *username, int64_t now,
    int64_t idle, int64_t max, struct session ***out, size_t *n);
void session_list_free(struct session **v, size_t n);

/* End every session of username; *n (may be NULL) gets how many. */
int session_end_all_for_user(struct store_txn *t, const char *username,
    size_t *n);

/* Delete every expired session; *n (may be NULL) gets how many. */
int session_prune(struct store_txn *t, int64_t now, int64_t idle,
    int64_t max, size_t *n);

#endif
