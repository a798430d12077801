/*
 * device: the device authorization flow (RFC 8628 shape) for a CLI on a
 * machine whose browser is elsewhere.  Store DB DEVICE holds:
 *   key SHA-256(device code) (32 bytes) -> record 'D' version 1: state,
 *       user code, the public key line, its fingerprint and type, target,
 *       login, ttl, created, expires, last poll (written only by the
 *       poll that spends it), approver, decided at, requester's address;
 *   key "u:" + user code (10 bytes)     -> the 32-byte device key.
 * The device code (256 bits, 64 hex characters) exists only in the
 * client's hands; the user code is 8 characters of DEVICE_ALPHABET, shown
 * as XXXX-XXXX, read case-insensitively with or without the dash.
 *
 * Life of a request: pending -> approved or denied (by a logged-in user,
 * audit device.approve / device.deny in the same transaction) -> used (the
 * first token poll after approval).  The record is marked used in a
 * committed write transaction before the certificate is issued, so two
 * concurrent polls never both get one; an issuance failing after that
 * (the approver lost the access meanwhile, a store error) spends the code
 * all the same.  The certificate is issued by issue_cert() as the approver
 * with the approver's groups read at poll time, so RBAC, TTL clamping,
 * group commit and the cert.issue audit event all apply.
 *
 * Polls of a pending request read and never write: when it was last
 * polled and the interval it must keep live in a bounded table in memory
 * (process-wide).  A poll within the interval answers slow_down and adds
 * DEVICE_SLOW_DOWN_STEP seconds to the interval for every later poll
 * (RFC 8628 section 3.5), up to DEVICE_INTERVAL_MAX.  The only poll that
 * writes is the one that spends an approved request.
 *
 * Records past their expiry stay DEVICE_KEEP seconds (polls then answer
 * "expired" rather than "unknown"); device_create() removes a few older
 * ones each time, so the table cannot grow without bound.
 *
 * Time is a parameter everywhere.  Randomness: OpenSSL's CSPRNG.
 * Thread-safe (every call runs its own transactions).
 */
#ifndef TSS_DEVICE_H
#define TSS_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "audit/audit.h"
#include "auth/token.h"

struct issuer;
struct store;

#define DEVICE_TTL		600	/* seconds a request may wait */
#define DEVICE_INTERVAL		5	/* seconds between polls */
#define DEVICE_SLOW_DOWN_STEP	5	/* added to the interval by slow_down */
#define DEVICE_INTERVAL_MAX	60	/* the interval grows no further */
#define DEVICE_KEEP		3600	/* seconds kept after expiry */
#define DEVICE_CODE_LEN		TOKEN_TEXT_LEN		/* hex characters */
#define DEVICE_USER_CODE_LEN	8			/* without the dash */
#define DEVICE_USER_CODE_TEXT	(DEVICE_USER_CODE_LEN + 1)	/* XXXX-XXXX */
#define DEVICE_ALPHABET		"BCDFGHJKLMNPQRSTVWXZ"
#define DEVICE_REC_TYPE		'D'
#define DEVICE_REC_VERSION	1

/* What a device asks for (the fields of POST /v1/certs). */
struct device_request {
	const char *public_key;		/* authorized_keys line */
	const char *target;		/* NULL: every reachable target */
	const char *login;		/* NULL: every allowed login */
	int64_t ttl;			/* seconds; 0: default; < 0 refused */
	const char *remote_addr;	/* the requester; may be NULL */
};

struct device_grant {
	char device_code[DEVICE_CODE_LEN + 1];	/* secret: wipe after use */
	char user_code[DEVICE_USER_CODE_TEXT + 1];	/* "XXXX-XXXX" */
	int64_t expires_at;
	int64_t interval;
};

/*
 * New pending request.  Errors: TSS_E_INVALID_PUBLIC_KEY, TSS_E_WEAK_KEY,
 * TSS_E_VALIDATION (target, login, ttl), store errors.  errmsg says what
 * was wrong, fit for the client.
 */
int device_create(struct store *s, const struct device_request *rq,
    int64_t now, struct device_grant *out, char *errmsg, size_t errlen);

/*
 * Canonical "XXXX-XXXX" form of a typed user code (case-insensitive; one
 * dash after the fourth character, or none; surrounding spaces ignored).
 * TSS_E_BAD_FORMAT for anything else.
 */
int device_user_code_normalise(const char *in,
    char out[DEVICE_USER_CODE_TEXT + 1]);

/* What the approving user is shown. */
struct device_pending {
	char user_code[DEVICE_USER_CODE_TEXT + 1];
	char *fingerprint;		/* "SHA256:..." */
	char *key_type;			/* "ssh-ed25519" */
	char *target;			/* NULL: every reachable target */
	char *login;			/* NULL: every allowed login */
	int64_t ttl;			/* as asked; 0: the default */
	int64_t expires_at;
	char *remote_addr;		/* the requester's; "" when unknown */
};
void device_pending_clear(struct device_pending *p);

/*
 * A pending request by user code.  TSS_E_BAD_FORMAT for a malformed code,
 * TSS_E_NOT_FOUND for an unknown one, TSS_E_EXPIRED past its expiry,
 * TSS_E_CONFLICT when it was already approved, denied or used.
 */
int device_pending_get(struct store *s, const char *user_code, int64_t now,
    struct device_pending *out);

/*
 * Approve (approve != 0) or deny a pending request as actor (who decides,
 * for the record and the audit event); audit device.approve
 * or device.deny in the same transaction.  Errors as device_pending_get.
 */
int device_decide(struct store *s, const char *user_code, int approve,
    const struct audit_actor *actor, int64_t now);

/* Outcome of a token poll that is not a certificate (RFC 8628 §3.5). */
enum device_poll {
	DEVICE_ISSUED = 0,	/* *out holds the certificate body */
	DEVICE_PENDING,		/* authorization_pending */
	DEVICE_SLOW_DOWN,	/* polled again within the interval */
	DEVICE_DENIED,		/* access_denied (also: approver disabled or
				 * gone) */
	DEVICE_EXPIRED,		/* expired_token */
	DEVICE_INVALID,		/* invalid_grant: unknown, malformed or
				 * already used device code */
};
/* RFC 8628 error code of a poll outcome ("authorization_pending", ...);
 * NULL for DEVICE_ISSUED. */
const char *device_poll_code(enum device_poll p);

/*
 * Poll with a device code.  Returns 0 with *poll set; on DEVICE_ISSUED
 * *out is the 201 body of POST /v1/certs.  A negative code is an issuance
 * or store error (errors of issue_cert(), errmsg filled as it does): the
 * request is spent then too.  remote_addr and request_id go to the
 * cert.issue event.
 */
int device_token(struct store *s, struct issuer *is, const char *device_code,
    const char *remote_addr, const char *request_id, int64_t now,
    enum device_poll *poll, json_t **out, char *errmsg, size_t errlen);

#endif
