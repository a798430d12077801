/*
 * The device request record, shared by device.c (which defines its
 * functions) and device_poll.c only; not part of the API (device.h has the
 * record's layout in the store).
 */
#ifndef TSS_DEVICE_INT_H
#define TSS_DEVICE_INT_H

#include <stdint.h>

#include "auth/token.h"

struct store_txn;

enum dev_state {
	ST_PENDING = 0,
	ST_APPROVED = 1,
	ST_DENIED = 2,
	ST_USED = 3,
};

struct dev_rec {
	uint8_t state;
	char *user_code;	/* 8 characters, no dash */
	char *public_key;
	char *fingerprint;
	char *key_type;
	char *target;		/* "" for none */
	char *login;		/* "" for none */
	uint64_t ttl;
	int64_t created;
	int64_t expires;
	int64_t last_poll;	/* when spent; 0 before */
	char *approver;		/* "" until decided */
	int64_t decided_at;
	char *remote_addr;	/* requester; "" when unknown */
};

/* Free d's strings and zero it; harmless on a zeroed record. */
void device__rec_clear(struct dev_rec *d);
/* Store d under key in STORE_DB_DEVICE (flags as store_put's). */
int device__rec_put(struct store_txn *t, const uint8_t key[TOKEN_HASH_LEN],
    const struct dev_rec *d, unsigned flags);
/* The record under key into *d (zeroed on failure); TSS_E_NOT_FOUND,
 * TSS_E_BAD_FORMAT, store errors.  Free with device__rec_clear(). */
int device__rec_get(struct store_txn *t, const uint8_t key[TOKEN_HASH_LEN],
    struct dev_rec *d);

#endif
