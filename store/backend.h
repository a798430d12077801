/*
 * Shared between store/ source files only: the seam between store.c (the
 * public calls, which check their arguments once and dispatch) and a
 * backend (lmdb*.c, pg*.c).  Every handle of store.h (struct store,
 * store_txn, store_cursor) starts with its backend's ops table, so
 * store.c reads it without knowing the rest.  Arguments reaching a
 * backend are already checked: handles non-NULL, db in range, keys 1 to
 * STORE_KEY_MAX bytes, puts and deletes in write transactions only, output
 * pointers non-NULL and cleared.
 */
#ifndef TSS_STORE_BACKEND_H
#define TSS_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_cursor_op {
	STORE_CUR_FIRST,
	STORE_CUR_SEEK,		/* first key >= key */
	STORE_CUR_NEXT,
	STORE_CUR_LAST,
};

struct store_ops {
	void (*close)(struct store *);
	int (*begin)(struct store *, int write, struct store_txn **);
	int (*commit)(struct store_txn *);
	void (*abort)(struct store_txn *);
	int (*get)(struct store_txn *, enum store_db, const void *, size_t,
	    const void **, size_t *);
	int (*put)(struct store_txn *, enum store_db, const void *, size_t,
	    const void *, size_t, unsigned);
	int (*del)(struct store_txn *, enum store_db, const void *, size_t);
	int (*cursor_open)(struct store_txn *, enum store_db,
	    struct store_cursor **);
	/* key is used by STORE_CUR_SEEK only. */
	int (*cursor_get)(struct store_cursor *, enum store_cursor_op,
	    const void *key, size_t klen, const void **k, size_t *kl,
	    const void **v, size_t *vl);
	int (*cursor_del)(struct store_cursor *);
	void (*cursor_close)(struct store_cursor *);
	int (*count)(struct store_txn *, enum store_db, uint64_t *);
	int (*usage)(struct store *, uint64_t *, uint64_t *);
	int (*trim_map)(struct store *);
	int (*last_txnid)(struct store *, uint64_t *);
	int (*backup_fd)(struct store *, int);
	int (*health)(struct store *);
	int (*wait_change)(struct store *, int);
	int (*txn_write)(const struct store_txn *);
	int (*txn_full)(const struct store_txn *);
};

/* The ops table a handle starts with. */
#define STORE_OPS(h)	(*(const struct store_ops *const *)(const void *)(h))

/* lmdb.c, lmdb_backup.c: the LMDB backend's entry points. */
int store__lmdb_open(const char *dir, const struct store_opts *opts,
    struct store **out);
int store__lmdb_restore(const char *file, const char *dir);

/* pg.c, pg_backup.c: the PostgreSQL backend's entry points. */
int store__pg_open(const char *uri, const struct store_opts *opts,
    struct store **out);
int store__pg_restore(const char *file, const char *uri);

/* store.c: copy every entry of every database from src to dst (a write
 * transaction; entries already in dst are overwritten). */
int store__copy_all(struct store_txn *src, struct store_txn *dst);

#endif
