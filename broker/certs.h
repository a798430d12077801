/*
 * certs: the certificate ledger.  Owns the certificate record (DB CERTS by
 * big-endian serial, CERTS_BY_USER index "user\0" + serial), revocations
 * (DB REVOCATIONS by serial) and serial allocation.
 *
 * Serials are never reused, across crashes, restarts and restores of an
 * older backup: a reservation raises the stored counter to at least
 * (now << 20) + block, so serials grow with the clock as well as with use.
 * Serials handed out from a reservation that a crash cut short are simply
 * never used.
 */
#ifndef TSS_CERTS_H
#define TSS_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct store;
struct store_txn;

#define CERTS_MAX_PRINCIPALS	256
#define CERTS_LIST_MAX		1000	/* most records one listing returns */
#define CERTS_LIST_SCAN		5000	/* records one listing reads, about */

struct cert_record {
	uint64_t serial;
	char *username;
	char *fingerprint;	/* SHA256:... of the user key */
	char *target;		/* "" when the request named no target */
	char **principals;
	size_t n_principals;
	int64_t valid_after, valid_before, issued_at;
	int64_t revoked_at;	/* 0 when not revoked */
	char *certificate;	/* the authorized_keys-style cert line */
};

void cert_record_free(struct cert_record *c);	/* fields only */

/* Insert a new record and its index entry (TSS_E_CONFLICT on a reused
 * serial). */
int certs_put(struct store_txn *t, const struct cert_record *c);
int certs_get(struct store_txn *t, uint64_t serial, struct cert_record *c);
/* What a listing keeps; NULL or 0 for no filter. */
struct certs_filter {
	const char *username;	/* that user's only (by the user index) */
	const char *target;	/* a principal "login@target" names it */
	const char *state;	/* "valid", "expired" or "revoked" at now */
	uint64_t before;	/* serials below this one */
	size_t limit;		/* 0 or above CERTS_LIST_MAX: the max */
};
/*
 * JSON array of the certificates f keeps, newest first, at most f->limit.
 * *next: where to go on (as before), 0 at the end: the page's last serial
 * when f keeps older ones; or, when the walk read CERTS_LIST_SCAN records
 * (rounded up to a whole window) before the page was full, the serial
 * below which nothing is read yet.
 */
int certs_list(struct store_txn *t, const struct certs_filter *f,
    int64_t now, json_t **out, uint64_t *next);
/* One record as API JSON; NULL when out of memory. */
json_t *certs_to_json(const struct cert_record *c, int64_t now);
/* Mark revoked at now; TSS_E_NOT_FOUND, TSS_E_CONFLICT if already. */
int certs_revoke(struct store_txn *t, uint64_t serial, int64_t now);
/* Revoke every unrevoked, unexpired certificate of username. */
int certs_revoke_user(struct store_txn *t, const char *username,
    int64_t now, size_t *count);
/*
 * Serials revoked and not yet expired at now, ascending (caller frees).
 * *changed (may be NULL): when that list last changed, the latest of the
 * listed revocations' times and the expiries before now (0: never).
 */
int certs_revoked_serials(struct store_txn *t, int64_t now,
    uint64_t **serials, size_t *n, int64_t *changed);
/* Highest serial in the ledger (0 when empty). */
int certs_max_serial(struct store_txn *t, uint64_t *max);

/* One serial by the same rule, in the caller's write transaction t (for
 * a use case that must not move the counter unless it commits). */
int certs_serial_claim(struct store_txn *t, int64_t now, uint64_t *serial);

/* Serial allocation: thread-safe, reserves blocks durably. */
struct serials;
int serials_new(struct store *s, struct serials **out);
void serials_free(struct serials *sa);
int serials_take(struct serials *sa, int64_t now, uint64_t *serial);

#endif
