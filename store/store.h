/*
 * store: Tessera's data, in an LMDB environment (a directory, the
 * default) or a PostgreSQL database (a postgresql:// or postgres://
 * location).  The only module that includes lmdb.h or libpq-fe.h.
 * Callers see databases by enum, byte keys and values, and transactions;
 * never MDB_val or PGresult.
 *
 * Threading: a struct store is shared by all threads.  A transaction belongs
 * to the thread that began it.  Any number of read transactions run beside
 * one write transaction (LMDB's single writer; others wait).  Do not hold
 * two transactions at once in one thread: while another thread grows the
 * map, the second begin waits (at most 2 s) for the first to end.
 *
 * Processes: several processes (tesserad, the offline CLI) may open the
 * same directory; LMDB's lock file coordinates them, but only within one
 * PID namespace (see STORE_LOCK_FILE).
 *
 * PostgreSQL: one table per database (k bytea primary key, v bytea: the
 * same key order as LMDB's), and a one-row table "writer" whose row every
 * write transaction updates first: write transactions are serialised
 * across every instance on the database.  Read transactions are
 * REPEATABLE READ READ ONLY snapshots, taken at their first read (LMDB:
 * at begin).  A lost connection, a read-only server, a lock wait past
 * timeout_ms or a COMMIT whose outcome never arrived is
 * TSS_E_UNAVAILABLE (the connection is dropped; the next begin
 * reconnects); a full disk is TSS_E_STORE_FULL.
 *
 * Keys are 1 to STORE_KEY_MAX bytes (TSS_E_INVALID_ARGUMENT otherwise).
 *
 * Records are opaque bytes to the store; record.h gives the versioned
 * encoding every table uses.
 */
#ifndef TSS_STORE_H
#define TSS_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION	1
#define STORE_KEY_MAX		511

/*
 * Keys in META owned by the store: the schema marker (u32 big-endian
 * version; its absence means "not a Tessera store") and the counters
 * ("ctr." prefix).  Other modules may keep their own META keys.
 */
#define STORE_META_SCHEMA	"tessera.schema"

/* Every database, named once.  X(enum suffix, LMDB name) */
#define STORE_DATABASES(X) \
	X(META,             "meta") \
	X(USERS,            "users") \
	X(SESSIONS,         "sessions") \
	X(ENROLLMENTS,      "enrollments") \
	X(TARGETS,          "targets") \
	X(ROLES,            "roles") \
	X(BINDINGS,         "bindings") \
	X(BINDINGS_BY_SUBJ, "bindings_by_subject") \
	X(CERTS,            "certs") \
	X(CERTS_BY_USER,    "certs_by_user") \
	X(REVOCATIONS,      "revocations") \
	X(AUDIT,            "audit") \
	X(DEVICE,           "device_requests")

enum store_db {
#define STORE_DB_ENUM(sym, name) STORE_DB_##sym,
	STORE_DATABASES(STORE_DB_ENUM)
#undef STORE_DB_ENUM
	STORE_DB__COUNT
};

/* LMDB name of a database ("users"); NULL for an unknown value. */
const char *store_db_name(enum store_db db);

/* Monotonic counters kept in META; the first value allocated is 1. */
enum store_counter {
	STORE_CTR_SERIAL,	/* certificate serials */
	STORE_CTR_AUDIT_SEQ,	/* audit event sequence */
	STORE_CTR_POLICY_GEN,	/* bumped by every policy change */
	STORE_CTR_BINDING_ID,	/* binding ids */
	STORE_CTR__COUNT
};

/*
 * The identity tessera init records in META with the schema marker, in the
 * same transaction: a random store id and the fingerprints of the keys the
 * store was made with (never the keys).  tesserad compares the keys it
 * loads with them, so it never runs on another instance's store or with a
 * master key that cannot open the TOTP secrets.
 */
#define STORE_META_IDENTITY	"tessera.identity"
#define STORE_ID_LEN		16
#define STORE_FPR_LEN		32
struct store_identity {
	uint8_t id[STORE_ID_LEN];		/* random, made by the store */
	uint8_t ca_fpr[STORE_FPR_LEN];		/* SHA-256 of the CA public key blob */
	uint8_t key_check[STORE_FPR_LEN];	/* secretbox_key_check() */
};

enum store_mode {
	/* Open, or create in a missing or empty environment: unit tests
	 * and tools that make scratch stores. */
	STORE_OPEN_ANY = 0,
	/*
	 * An initialised store only, never creating or writing anything:
	 * TSS_E_NO_STORE (no directory or no data.mdb: unmounted?),
	 * TSS_E_STORE_EMPTY (zero-length data.mdb, or an environment
	 * without the schema marker and nothing else).  tesserad and every
	 * offline command but init.
	 */
	STORE_OPEN_EXISTING,
	/* tessera init: the environment must be new (TSS_E_CONFLICT); the
	 * schema marker and opts->identity are written together. */
	STORE_OPEN_CREATE,
};

struct store_opts {
	size_t map_size;	/* initial map size; 0 = 64 MiB */
	size_t map_max;		/* growth bound on MDB_MAP_FULL; 0 = 4 GiB */
	int read_only;		/* open without write access */
	enum store_mode mode;
	/* STORE_OPEN_CREATE: the key fingerprints to record (id ignored). */
	const struct store_identity *identity;
	/* Non-NULL: hold dir/STORE_LOCK_FILE while open, recording this
	 * name ("tesserad"); TSS_E_IN_USE from another PID namespace. */
	const char *lock_owner;
	/* PostgreSQL only.  The password (NULL: none, or the URI's); never
	 * logged. */
	const char *pg_password;
	/* Lock wait bound (lock_timeout; idle_in_transaction_session_timeout
	 * is twice it); 0 = 5000. */
	int timeout_ms;
	unsigned pool_max;	/* connections at most; 0 = 32 */
};

/* 1 when loc names a PostgreSQL database (postgresql:// or postgres://). */
int store_location_is_pg(const char *loc);

/*
 * LMDB's lock file tells processes apart by PID (reader slots, a byte
 * lock per PID, mutex owners), so two processes in different PID
 * namespaces, often both PID 1 (two containers on one volume), take each
 * other for themselves.  flock(2) on this file works across namespaces:
 * a store opened with lock_owner holds it shared, and the first holder
 * records its PID namespace in it; while any holder is left, an opener
 * from another namespace gets TSS_E_IN_USE.  One namespace shares freely.
 */
#define STORE_LOCK_FILE		"tesserad.lock"
/* TSS_E_IN_USE when any process holds dir's lock file, else 0 (always
 * 0 for a PostgreSQL location). */
int store_in_use(const char *dir);

struct store;
struct store_txn;
struct store_cursor;

/*
 * PostgreSQL: loc is a libpq URI (target_session_attrs=read-write is
 * added unless it says otherwise).  The modes mean the same: a database
 * without the tables and schema marker is TSS_E_STORE_EMPTY for
 * STORE_OPEN_EXISTING, one with a marker TSS_E_CONFLICT for
 * STORE_OPEN_CREATE; an unreachable server is TSS_E_UNAVAILABLE.
 * map_size, map_max and lock_owner do not apply.
 *
 * LMDB: open the environment in directory dir as opts->mode says (opts NULL:
 * STORE_OPEN_ANY).  Creates all databases and the META schema record in
 * a new environment; runs migrations for an older schema; refuses a newer
 * one (TSS_E_SCHEMA_TOO_NEW) and a directory holding something that is not
 * a Tessera environment (TSS_E_NOT_A_STORE).  A missing dir:
 * TSS_E_NOT_FOUND (TSS_E_NO_STORE for STORE_OPEN_EXISTING); no access:
 * TSS_E_PERMISSION.  Files are mode 0600.  read_only opens an existing
 * store only and never migrates (TSS_E_UNSUPPORTED for an older schema).
 *
 * Before LMDB maps data.mdb its two meta pages are read and checked, so
 * damage is an error, never a crash or a fresh store: TSS_E_CORRUPT (a
 * meta page that is not LMDB's, or that names pages or a map size it
 * cannot have; LMDB's own corruption results too), TSS_E_STORE_TRUNCATED
 * (the file is shorter than last used page x page size, which would be
 * SIGBUS on first touch).
 */
int store_open(const char *dir, const struct store_opts *opts,
    struct store **out);
/* End every transaction first.  NULL is harmless. */
void store_close(struct store *s);

/*
 * Begin a transaction; write != 0 for a write transaction.  Every
 * transaction, read or write, must end with store_commit() or
 * store_abort() (a read transaction holds a reader slot and pins its
 * snapshot until then).  A write transaction on a read_only store:
 * TSS_E_STORE.
 */
int store_begin(struct store *s, int write, struct store_txn **out);
/*
 * Commit and free the transaction (also on failure); cursors still open on
 * it become dead (close them anyway).  Durable on return (no MDB_NOSYNC).
 * TSS_E_STORE_FULL when the map was full in this transaction (any put in
 * it may already have said so): nothing of it is written; the next write
 * begin grows the map if map_max allows, so the caller may retry the whole
 * transaction once.  store_write() does exactly that.
 */
int store_commit(struct store_txn *t);
void store_abort(struct store_txn *t);		/* NULL is harmless */

/*
 * Run fn(txn, arg) in a write transaction and commit it.  fn's non-zero
 * return aborts and is returned.  On TSS_E_STORE_FULL (from fn's puts or
 * the commit) the map is grown and fn runs once more in a fresh
 * transaction, so fn must have no effects outside the transaction (or
 * undo them itself).  TSS_E_STORE_FULL again means the map is at map_max.
 */
int store_write(struct store *s, int (*fn)(struct store_txn *, void *),
    void *arg);

/*
 * Returned pointers point into the map: valid until the transaction ends
 * (for write transactions, until the next write in it).  Do not write
 * through them.  (PostgreSQL: copies the transaction keeps until it ends.)
 */
int store_get(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void **val, size_t *vlen);	/* TSS_E_NOT_FOUND */
#define STORE_NOOVERWRITE	0x1	/* TSS_E_CONFLICT if key exists */
/*
 * The key usually sorts after every key in db (serials, sequence numbers):
 * fill the last page instead of splitting it in half.  A key that does not
 * is stored by an ordinary put, so the flag changes density, never results.
 */
#define STORE_APPEND		0x2
int store_put(struct store_txn *t, enum store_db db, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags);
int store_del(struct store_txn *t, enum store_db db, const void *key,
    size_t klen);					/* TSS_E_NOT_FOUND */

/* Allocate the next value of a counter (write transaction only). */
int store_counter_next(struct store_txn *t, enum store_counter c,
    uint64_t *out);
/* Current value (0 before the first allocation). */
int store_counter_get(struct store_txn *t, enum store_counter c,
    uint64_t *out);
/* Raise a counter to at least v (restore keeps serials above any issued). */
int store_counter_raise(struct store_txn *t, enum store_counter c,
    uint64_t v);

/*
 * Cursors iterate in key order.  seek positions at the first key >= key
 * (klen 0: the first key); next advances; both return TSS_E_NOT_FOUND at
 * the end.  last positions at the last key.  Pointers as for store_get,
 * but on PostgreSQL only until the cursor has moved on twice (rows come in
 * batches; the current and the previous one are kept): copy what must
 * live longer.
 */
int store_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out);
int store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl);
int store_cursor_next(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl);
int store_cursor_last(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl);
/* Delete the current entry; a following next gives the entry after it. */
int store_cursor_del(struct store_cursor *c);
/* Close before or after the transaction ends; NULL is harmless. */
void store_cursor_close(struct store_cursor *c);

/* Entries in a database. */
int store_count(struct store_txn *t, enum store_db db, uint64_t *n);
/* Bytes of the map in use and the current map size (PostgreSQL: the
 * database's size, and 0). */
int store_usage(struct store *s, uint64_t *used, uint64_t *map_size);
/*
 * Drop this process's page-table entries for the map (madvise
 * MADV_DONTNEED on LMDB's read-only shared mapping).  Pages stay in the
 * page cache and read back unchanged on the next touch; only the
 * process's resident set shrinks.  A long-running server calls it
 * periodically so that RSS does not grow with the data file.
 * PostgreSQL: nothing to do (0).
 */
int store_trim_map(struct store *s);
/* Change counter of the environment's last committed write transaction
 * (PostgreSQL: the writer row's count of write transactions). */
int store_last_txnid(struct store *s, uint64_t *id);

/*
 * 0 when a write would work now.  PostgreSQL: TSS_E_UNAVAILABLE when the
 * database cannot be reached or is read-only (a standby), or when this
 * instance refuses writes because the database's write counter went back
 * (a failover lost commits: every later write transaction fails, until
 * restart).  LMDB: 0.
 */
int store_health(struct store *s);
/*
 * Wait up to timeout_ms for a write transaction committed by any process
 * on the database (PostgreSQL: LISTEN on its own connection, reconnected
 * when lost; any commit since the last call counts).  0: a commit;
 * TSS_E_BUSY: none in time; TSS_E_UNAVAILABLE: cannot listen now (poll
 * instead).  One thread only.  LMDB: TSS_E_UNSUPPORTED at once.
 */
int store_wait_change(struct store *s, int timeout_ms);

/* The recorded identity: TSS_E_NOT_FOUND in a store made before
 * identities were recorded, TSS_E_CORRUPT for a malformed record. */
int store_identity_get(struct store *s, struct store_identity *out);
/*
 * Record the identity of a store made before identities existed (id is
 * made here and returned in *idn).  Only a store someone initialised: one
 * with at least one user (TSS_E_STORE_EMPTY otherwise); TSS_E_CONFLICT
 * when an identity is already there.
 */
int store_identity_adopt(struct store *s, struct store_identity *idn);

/*
 * Online, consistent, compacted copy to file (mode 0600; must not exist:
 * TSS_E_CONFLICT).  Runs beside readers and writers; a failed backup
 * removes the partial file.  The format is an LMDB environment file on
 * both backends: PostgreSQL's tables are copied in one snapshot into a
 * temporary environment under TMPDIR first.
 */
int store_backup(struct store *s, const char *file);
/*
 * The same copy written to fd (from its offset; neither synced nor
 * closed): for a caller that names, syncs and renames the file itself.
 * A write error is TSS_E_IO (TSS_E_PERMISSION) with errno set.
 */
int store_backup_fd(struct store *s, int fd);
/*
 * Restore a backup file into loc.  PostgreSQL: the database must hold no
 * Tessera data (tables missing or empty but for the schema marker; else
 * TSS_E_NOT_EMPTY); the file is checked as below, then copied in one
 * write transaction.  LMDB: into directory dir, which must be missing (created 0700) or
 * empty (else TSS_E_NOT_EMPTY).  Checks the file's meta pages and size
 * first (TSS_E_CORRUPT, TSS_E_STORE_TRUNCATED: a backup cut short), then
 * that it is a Tessera environment (TSS_E_NOT_A_STORE) of a schema this
 * program reads (TSS_E_SCHEMA_TOO_NEW); on any failure removes what it
 * created.
 * Counters are kept as saved: a caller that may have issued serials after
 * the backup was taken raises STORE_CTR_SERIAL itself.
 */
int store_restore(const char *file, const char *dir);

#endif
