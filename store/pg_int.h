/*
 * Internals of the PostgreSQL backend, shared by the pg*.c files only.
 * pg.c says how connections, the pipeline and the write lock fit together.
 */
#ifndef TSS_STORE_PG_INT_H
#define TSS_STORE_PG_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "backend.h"
#include "internal.h"
#include "store.h"

#define PG_BATCH	128	/* cursor rows per round trip */

/* One pooled connection, in pipeline mode, every statement prepared. */
struct pg_conn {
	PGconn *c;
	struct pg_conn *next;
	unsigned owed;		/* results of an ended read txn not read yet */
};

struct pg_store {
	const struct store_ops *ops;	/* first: backend.h */
	const char **kw, **val;		/* connection parameters */
	char *options, *password;
	pthread_mutex_t mu;		/* the pool, high, lost */
	pthread_cond_t cv;
	int mu_ok;
	struct pg_conn *idle;
	unsigned nconn, max;
	int timeout_ms;
	int read_only;
	uint64_t high;			/* highest writer count committed */
	int lost;			/* the count went back: no writes */
	PGconn *listen;			/* store_wait_change() */
};

/* The write cache: what a write transaction knows of a key. */
enum { PG_ENT_FREE, PG_ENT_PRESENT, PG_ENT_ABSENT, PG_ENT_UNKNOWN };
struct pg_ent {
	const uint8_t *k, *v;
	size_t kl, vl;
	uint32_t hash;
	uint8_t db, state;
	uint8_t dirty;			/* put, not sent yet */
};

struct pg_chunk;
struct pg_cursor;

struct pg_txn {
	const struct store_ops *ops;
	struct pg_store *s;
	struct pg_conn *pc;
	int write, begun, full;
	int err;			/* sticky: the txn has failed */
	unsigned pending;		/* statements whose results are unread */
	int writer_pending;		/* the writer row's is the nth of them */
	int syncs;			/* begin's sync, its result unread */
	uint64_t n;			/* this write txn's writer count */
	PGresult **keep;		/* results living until the txn ends */
	size_t nkeep, capkeep;
	size_t reserved;		/* slots held for open cursors */
	struct pg_ent *tab;		/* write cache, open addressing */
	size_t tcap, tused, cached;
	size_t ndirty;			/* entries put and not sent */
	struct pg_chunk *arena;		/* the cache's copies */
	struct pg_cursor *cursors;
};

struct pg_cursor {
	const struct store_ops *ops;
	struct pg_txn *t;		/* NULL once the txn has ended */
	struct pg_cursor *next;
	enum store_db db;
	PGresult *cur, *prev;		/* this batch and the one before */
	int row;			/* in cur; -1 before the first */
};

/* Statement names: "<letter>" or "<letter><db>". */
#define PG_ST_BEGIN_W	"bw"
#define PG_ST_BEGIN_R	"br"
#define PG_ST_WRITER	"wr"
#define PG_ST_NOTIFY	"nt"
#define PG_ST_COMMIT	"co"
#define PG_ST_ROLLBACK	"rb"
#define PG_ST_HEALTH	"hl"
#define PG_ST_SIZE	"sz"
#define PG_ST_COUNT_N	"wn"
/* Per database: get, put, del, seek (k >= $1), after (k > $1), last,
 * count, insert (a key that must be new). */
#define PG_DB_STMTS	"gpdsalki"

extern const struct store_ops store__pg_ops;

/* pg.c */
/* A new connection, not in pipeline mode (logs why not). */
int store__pg_connect(struct pg_store *s, PGconn **out);
/* c (NULL: a new connection) prepared for the pool. */
int store__pg_conn_new(struct pg_store *s, PGconn *c, struct pg_conn **out);
/* The SQLSTATE of res as a store error, logged; marks nothing. */
int store__pg_err(PGconn *c, const PGresult *res, const char *what);
/* A connection from the pool (made if none is idle); give it back with
 * store__pg_release (broken: close it instead). */
int store__pg_acquire(struct pg_store *s, struct pg_conn **out);
void store__pg_release(struct pg_store *s, struct pg_conn *pc, int broken);
/* A write transaction read count n: check it against what was committed
 * (TSS_E_UNAVAILABLE when commits were lost), and after its commit. */
int store__pg_check_count(struct pg_store *s, uint64_t n);
void store__pg_committed(struct pg_store *s, uint64_t n);
/* One statement outside a transaction on pc: send, sync, read. */
int store__pg_simple(struct pg_conn *pc, const char *stmt, PGresult **out);

/* pg_txn.c */
int store__pg_begin(struct store *s, int write, struct store_txn **out);
int store__pg_commit(struct store_txn *t);
void store__pg_abort(struct store_txn *t);
int store__pg_get(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void **val, size_t *vlen);
int store__pg_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags);
int store__pg_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen);
int store__pg_count(struct store_txn *t, enum store_db db, uint64_t *n);
int store__pg_txn_write(const struct store_txn *t);
int store__pg_txn_full(const struct store_txn *t);
/* Send stmt (params binary) in t, beginning a read txn first. */
int store__pg_send(struct pg_txn *t, const char *stmt, int n,
    const char *const *vals, const int *lens);
/* Read every result sent in t; *last (if non-NULL) the last one's. */
int store__pg_collect(struct pg_txn *t, PGresult **last);
/* Keep res until t ends (cleared on failure). */
int store__pg_keep(struct pg_txn *t, PGresult *res);
/* Hold (release 0) or give back two slots of t's kept results, so that
 * closing a cursor can keep its batches without allocating. */
int store__pg_keep_reserve(struct pg_txn *t, int release);
/* The write cache: forget or record db/key (v NULL: absent). */
int store__pg_cache_set(struct pg_txn *t, enum store_db db, const void *k,
    size_t kl, const void *v, size_t vl, int state);
/* Send the puts the cache holds back (before a statement that reads
 * more than one key: a cursor, a count; and at commit). */
int store__pg_send_puts(struct pg_txn *t);

/* pg_cursor.c */
int store__pg_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out);
int store__pg_cursor_get(struct store_cursor *c, enum store_cursor_op op,
    const void *key, size_t klen, const void **k, size_t *kl,
    const void **v, size_t *vl);
int store__pg_cursor_del(struct store_cursor *c);
void store__pg_cursor_close(struct store_cursor *c);
/* The txn ends: its cursors die. */
void store__pg_cursors_end(struct pg_txn *t);

/* pg_backup.c */
int store__pg_backup_fd(struct store *s, int fd);

/* A statement name into buf (at least 8 bytes). */
static inline const char *
pg_stmt(char *buf, char letter, enum store_db db)
{
	buf[0] = letter;
	buf[1] = (char)('a' + (int)db / 26);
	buf[2] = (char)('a' + (int)db % 26);
	buf[3] = '\0';
	return buf;
}

#endif
