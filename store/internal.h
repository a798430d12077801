/*
 * Shared between store/ source files only; not part of the public API.
 * What store.c offers every backend (keys, the identity record) and asks
 * of the transactions (through backend.h's ops); the backends' own
 * internals are lmdb_int.h and pg_int.h.
 */
#ifndef TSS_STORE_INTERNAL_H
#define TSS_STORE_INTERNAL_H

#include <stddef.h>

#include "store.h"

struct buf;

/* Keys are 1 to STORE_KEY_MAX bytes (store.h). */
static inline int
store__valid_key(const void *key, size_t klen)
{
	return key != NULL && klen > 0 && klen <= STORE_KEY_MAX;
}

/* store.c: the identity record, which store_open writes at init. */
int store__identity_new_id(struct store_identity *idn);
int store__identity_encode(const struct store_identity *idn,
    struct buf **out);

/* The backend: t is a write transaction; an operation in t found the
 * store full (TSS_E_STORE_FULL), whatever fn made of the error. */
int store__txn_write(const struct store_txn *t);
int store__txn_full(const struct store_txn *t);

#endif
