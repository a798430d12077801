/*
 * Internals of the LMDB backend, shared by the lmdb*.c files only: the
 * structures behind store.h's handles, the translation of LMDB and errno
 * results, and what more than one of them calls.  lmdb.c says how the
 * lock, map growth and the data file check fit together.
 */
#ifndef TSS_STORE_LMDB_INT_H
#define TSS_STORE_LMDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "common/err.h"
#include "common/log.h"
#include "backend.h"
#include "internal.h"
#include "store.h"

struct store {
	const struct store_ops *ops;	/* first: backend.h */
	MDB_env *env;
	MDB_dbi dbi[STORE_DB__COUNT];
	pthread_rwlock_t lock;		/* shared: a live txn; exclusive: remap */
	int lock_ok;
	int dir_fd;			/* STORE_LOCK_FILE held, or -1 */
	atomic_int grow;		/* a write hit MDB_MAP_FULL */
	atomic_int at_max;		/* the map reached map_max */
	size_t map_max;
	int read_only;
};

struct store_txn {
	const struct store_ops *ops;
	struct store *s;
	MDB_txn *txn;
	struct store_cursor *cursors;	/* open cursors, closed at txn end */
	int write;
	int full;			/* an operation hit MDB_MAP_FULL */
};

struct store_cursor {
	const struct store_ops *ops;
	MDB_cursor *mc;			/* NULL once its txn has ended */
	struct store_txn *t;
	struct store_cursor *next;
};

extern const struct store_ops store__lmdb_ops;

/* The backend's calls (backend.h's struct store_ops says what they get). */
void store__lmdb_close(struct store *s);
int store__lmdb_usage(struct store *s, uint64_t *used, uint64_t *map_size);
int store__lmdb_trim_map(struct store *s);
int store__lmdb_last_txnid(struct store *s, uint64_t *id);
int store__lmdb_begin(struct store *s, int write, struct store_txn **out);
int store__lmdb_commit(struct store_txn *t);
void store__lmdb_abort(struct store_txn *t);
int store__lmdb_get(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void **val, size_t *vlen);
int store__lmdb_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags);
int store__lmdb_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen);
int store__lmdb_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out);
int store__lmdb_cursor_get(struct store_cursor *c, enum store_cursor_op op,
    const void *key, size_t klen, const void **k, size_t *kl,
    const void **v, size_t *vl);
int store__lmdb_cursor_del(struct store_cursor *c);
void store__lmdb_cursor_close(struct store_cursor *c);
int store__lmdb_count(struct store_txn *t, enum store_db db, uint64_t *n);
int store__lmdb_backup_fd(struct store *s, int fd);
int store__lmdb_txn_write(const struct store_txn *t);
int store__lmdb_txn_full(const struct store_txn *t);

/* lmdb.c */
/* Translate rc as err_map says, logging it; anything else is dflt. */
int store__xlate(int rc, int dflt, const char *what, const char *path);
/* store_open(); validate: check a restored copy, change nothing. */
int store__open_env(const char *dir, const struct store_opts *opts,
    int validate, struct store **out);

/* dirlock.c: take dir's STORE_LOCK_FILE for owner into *fd (-1 when
 * the file can be neither made nor opened). */
int store__dirlock(const char *dir, const char *owner, int *fd);

/* lmdb_check.c */
int store__check_data_file(const char *path, int must_exist, int *fresh);

/* Translate an LMDB result (EROFS, MDB_PANIC, EIO, ...: TSS_E_STORE). */
static inline int
tr(int rc, const char *what)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return TSS_E_NOT_FOUND;		/* routine: not logged */
	return store__xlate(rc, TSS_E_STORE, what, NULL);
}

/*
 * An MDB_val for bytes LMDB only reads: a key, or a value to put.  Its
 * mv_data is void * because LMDB also answers through an MDB_val, but
 * mdb_get, mdb_put (without MDB_RESERVE), mdb_del and mdb_cursor_get never
 * write through the pointer they are given (they may replace it, pointing
 * at the stored copy).  The const is dropped here only, by a union rather
 * than a cast.
 */
static inline MDB_val
mval(const void *p, size_t n)
{
	union { const void *c; void *m; } u = { .c = p };
	MDB_val v = { n, u.m };

	return v;
}

/* errno from plain file operations (backup, restore). */
static inline int
sys_err(int e, const char *what, const char *path)
{
	return store__xlate(e, TSS_E_IO, what, path);
}

static inline int
lock_shared(struct store *s)
{
	if (pthread_rwlock_rdlock(&s->lock) != 0) {
		log_debug("store: rwlock rdlock failed");
		return TSS_E_INTERNAL;
	}
	return 0;
}

#endif
