/*
 * store: the LMDB environment, its databases, transactions, counters,
 * schema marker and migrations, backup and restore.  See store.h.
 *
 * What the code cannot say by itself:
 *
 * - MDB_NOTLS.  Without it a reader slot belongs to the thread: a thread
 *   may hold one read transaction at a time (a second begin fails with
 *   MDB_BAD_RSLOT) and keeps its slot until it exits.  Our requests run on
 *   pool threads and helpers open their own read transactions, so slots
 *   are tied to the transaction object instead and freed when it ends.
 *
 * - Map growth.  mdb_env_set_mapsize() remaps the file, so no transaction
 *   of this process may be live: every transaction holds s->lock shared
 *   from begin to end, and growth takes it exclusive.  A write that hits
 *   MDB_MAP_FULL sets s->grow and fails with TSS_E_STORE_FULL; the next
 *   write begin doubles the map (capped at map_max) before starting.  The
 *   lock prefers writers so a stream of readers cannot starve growth, and
 *   growth waits at most GROW_WAIT_SEC, so a thread that nests two
 *   transactions stalls instead of deadlocking.  MDB_MAP_RESIZED (another
 *   process grew the file past our map) adopts the new size the same way.
 *
 * - Durability: default LMDB sync flags; a commit is on disk on return.
 *
 * - What is on disk is not trusted: lmdb_check.c checks the data file
 *   before LMDB maps it.  Backup and restore are lmdb_backup.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "record.h"
#include "store.h"
#include "lmdb_int.h"

#define DEFAULT_MAP_SIZE	((size_t)64 << 20)
#define DEFAULT_MAP_MAX		((size_t)4 << 30)
#define MAX_READERS		510
#define GROW_WAIT_SEC		2
#define BEGIN_TRIES		3

#define IDENTITY_REC_TYPE	'I'
#define IDENTITY_REC_VERSION	1

/* Migrates a store from version v to v + 1 inside the open transaction. */
typedef int (*store_migration_fn)(struct store_txn *t);

/*
 * migrations[v] upgrades version v to v + 1.  Version 1 is the first, so
 * the table is empty; a store of a version without a path is refused.
 */
static const store_migration_fn migrations[STORE_SCHEMA_VERSION + 1] = {
	NULL,
};

static const char *const db_names[STORE_DB__COUNT] = {
#define STORE_DB_NAME(sym, name) name,
	STORE_DATABASES(STORE_DB_NAME)
#undef STORE_DB_NAME
};

static const char *const counter_keys[STORE_CTR__COUNT] = {
	[STORE_CTR_SERIAL] = "ctr.serial",
	[STORE_CTR_AUDIT_SEQ] = "ctr.audit_seq",
	[STORE_CTR_POLICY_GEN] = "ctr.policy_gen",
	[STORE_CTR_BINDING_ID] = "ctr.binding_id",
};

/* LMDB and errno results and what callers see; anything else is dflt. */
static const struct {
	int rc;
	int r;
} err_map[] = {
	{ MDB_KEYEXIST, TSS_E_CONFLICT },
	{ EEXIST, TSS_E_CONFLICT },
	{ MDB_MAP_FULL, TSS_E_STORE_FULL },
	{ EACCES, TSS_E_PERMISSION },
	{ EPERM, TSS_E_PERMISSION },
	{ ENOENT, TSS_E_NOT_FOUND },
	/* store__check_data_file() has told foreign files apart already. */
	{ MDB_INVALID, TSS_E_CORRUPT },
	{ MDB_VERSION_MISMATCH, TSS_E_CORRUPT },
	{ MDB_CORRUPTED, TSS_E_CORRUPT },
	{ MDB_PAGE_NOTFOUND, TSS_E_CORRUPT },
	{ MDB_PANIC, TSS_E_CORRUPT },
	{ MDB_INCOMPATIBLE, TSS_E_NOT_A_STORE },
	{ MDB_BAD_VALSIZE, TSS_E_INVALID_ARGUMENT },
	{ MDB_READERS_FULL, TSS_E_BUSY },
	{ ENOMEM, TSS_E_NOMEM },
};

int
store__xlate(int rc, int dflt, const char *what, const char *path)
{
	size_t i;

	log_debug("store: %s%s%s: %s", what, path != NULL ? " " : "",
	    path != NULL ? path : "", mdb_strerror(rc));
	for (i = 0; i < sizeof(err_map) / sizeof(err_map[0]); i++)
		if (err_map[i].rc == rc)
			return err_map[i].r;
	return dflt;
}

/* Translate for an operation inside t; remembers a full map. */
static int
op_err(struct store_txn *t, int rc, const char *what)
{
	int r = tr(rc, what);

	if (r == TSS_E_STORE_FULL) {
		t->full = 1;
		atomic_store(&t->s->grow, 1);
	}
	return r;
}

const char *
store_db_name(enum store_db db)
{
	if ((unsigned)db >= STORE_DB__COUNT)
		return NULL;
	return db_names[db];
}

/*
 * Remap with no transaction of ours live: size 0 adopts the size another
 * process set; otherwise grow (double, capped at map_max) if a write
 * still asks for it.  TSS_E_BUSY when transactions did not end in time.
 */
static int
remap(struct store *s, int adopt)
{
	MDB_envinfo ei;
	struct timespec ts;
	size_t want = 0;
	int rc, r = TSS_E_INTERNAL;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return TSS_E_INTERNAL;
	ts.tv_sec += GROW_WAIT_SEC;
	if (pthread_rwlock_clockwrlock(&s->lock, CLOCK_MONOTONIC, &ts) != 0) {
		log_debug("store: remap postponed: transactions still live");
		return TSS_E_BUSY;
	}
	if (!adopt) {
		if (!atomic_load(&s->grow)) {
			r = 0;			/* another thread grew it */
			goto out;
		}
		if ((rc = mdb_env_info(s->env, &ei)) != 0) {
			r = tr(rc, "env_info");
			goto out;
		}
		if (ei.me_mapsize >= s->map_max) {
			atomic_store(&s->grow, 0);
			atomic_store(&s->at_max, 1);
			log_debug("store: map full at its bound %zu",
			    s->map_max);
			r = TSS_E_STORE_FULL;
			goto out;
		}
		want = ei.me_mapsize > s->map_max / 2 ?
		    s->map_max : ei.me_mapsize * 2;
	}
	if ((rc = mdb_env_set_mapsize(s->env, want)) != 0) {
		r = tr(rc, "set_mapsize");
		goto out;
	}
	if (!adopt) {
		atomic_store(&s->grow, 0);
		log_info("store: map grown to %zu bytes", want);
	}
	r = 0;
 out:
	pthread_rwlock_unlock(&s->lock);
	return r;
}

static int
valid_key(const void *key, size_t klen)
{
	return key != NULL && klen > 0 && klen <= STORE_KEY_MAX;
}

static int
valid_txn_db(const struct store_txn *t, enum store_db db)
{
	return t != NULL && t->txn != NULL && (unsigned)db < STORE_DB__COUNT;
}

/* Write the schema marker. */
static int
put_schema(MDB_txn *txn, MDB_dbi meta, uint32_t ver)
{
	uint8_t b[4] = {
		(uint8_t)(ver >> 24), (uint8_t)(ver >> 16),
		(uint8_t)(ver >> 8), (uint8_t)ver
	};
	MDB_val k = { sizeof(STORE_META_SCHEMA) - 1, (void *)STORE_META_SCHEMA };
	MDB_val v = { sizeof(b), b };

	return tr(mdb_put(txn, meta, &k, &v, 0), "put schema");
}

/* The identity record: 'I' v1, then id, CA fingerprint, key check. */
static int
identity_encode(const struct store_identity *idn, struct buf **out)
{
	struct buf *b;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, IDENTITY_REC_TYPE, IDENTITY_REC_VERSION)) != 0 ||
	    (r = buf_put_string(b, idn->id, sizeof(idn->id))) != 0 ||
	    (r = buf_put_string(b, idn->ca_fpr, sizeof(idn->ca_fpr))) != 0 ||
	    (r = buf_put_string(b, idn->key_check,
	    sizeof(idn->key_check))) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

/* One fixed-length string field of the identity record. */
static int
identity_field(struct buf *v, uint8_t *dst, size_t len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = buf_get_string_direct(v, &p, &n)) != 0)
		return r;
	if (n != len)
		return TSS_E_BAD_FORMAT;
	memcpy(dst, p, len);
	return 0;
}

static int
identity_decode(const void *p, size_t len, struct store_identity *idn)
{
	struct buf *v = NULL;
	int r;

	if ((r = rec_open(p, len, IDENTITY_REC_TYPE, IDENTITY_REC_VERSION,
	    &v, NULL)) != 0 ||
	    (r = identity_field(v, idn->id, sizeof(idn->id))) != 0 ||
	    (r = identity_field(v, idn->ca_fpr, sizeof(idn->ca_fpr))) != 0 ||
	    (r = identity_field(v, idn->key_check,
	    sizeof(idn->key_check))) != 0)
		goto out;
	if (buf_len(v) != 0)
		r = TSS_E_TRAILING_DATA;
 out:
	buf_free(v);
	if (r != 0) {
		log_debug("store: identity record: %s", tss_strerror(r));
		memset(idn, 0, sizeof(*idn));
		/* A newer program's record is its business; else damage. */
		if (r != TSS_E_RECORD_VERSION && r != TSS_E_NOMEM)
			r = TSS_E_CORRUPT;
	}
	return r;
}

/* A new random store id into idn->id. */
static int
identity_new_id(struct store_identity *idn)
{
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(idn->id)) {
		n = getrandom(idn->id + got, sizeof(idn->id) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("store: getrandom: %s", strerror(errno));
			return TSS_E_INTERNAL;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Write idn (a fresh id made here) as the identity record. */
static int
put_identity(MDB_txn *txn, MDB_dbi meta, const struct store_identity *idn)
{
	struct store_identity rec = *idn;
	struct buf *b = NULL;
	MDB_val k = { sizeof(STORE_META_IDENTITY) - 1,
	    (void *)STORE_META_IDENTITY };
	MDB_val v;
	int r;

	if ((r = identity_new_id(&rec)) != 0 ||
	    (r = identity_encode(&rec, &b)) != 0)
		return r;
	v.mv_size = buf_len(b);
	v.mv_data = (void *)buf_ptr(b);
	r = tr(mdb_put(txn, meta, &k, &v, MDB_NOOVERWRITE), "put identity");
	buf_free(b);
	return r;
}

/*
 * Open every database, create them and the marker in a fresh environment
 * (as mode allows: STORE_OPEN_CREATE writes idn with them), check the
 * marker of an existing one, migrate an older one.  validate: only check
 * (restore), nothing is written.
 */
static int
setup_schema(struct store *s, int validate, enum store_mode mode,
    const struct store_identity *idn)
{
	MDB_txn *txn = NULL;
	MDB_dbi main_dbi;
	MDB_stat st;
	MDB_val k = { sizeof(STORE_META_SCHEMA) - 1, (void *)STORE_META_SCHEMA };
	MDB_val v;
	struct store_txn mt;
	const uint8_t *p;
	uint32_t ver = 0;
	unsigned cflags = s->read_only ? 0 : MDB_CREATE;
	int rc, r = TSS_E_INTERNAL, fresh = 0, i;

	if ((rc = mdb_txn_begin(s->env, NULL,
	    s->read_only ? MDB_RDONLY : 0, &txn)) != 0) {
		r = tr(rc, "begin schema txn");
		goto out;
	}
	rc = mdb_dbi_open(txn, db_names[STORE_DB_META], 0,
	    &s->dbi[STORE_DB_META]);
	if (rc == MDB_NOTFOUND) {
		/* No META: fresh, unless the environment holds anything. */
		if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
		    (rc = mdb_stat(txn, main_dbi, &st)) != 0) {
			r = tr(rc, "main db");
			goto out;
		}
		if (st.ms_entries != 0 || validate ||
		    (s->read_only && mode != STORE_OPEN_EXISTING)) {
			log_debug("store: environment without a META marker "
			    "(%zu entries)", st.ms_entries);
			r = TSS_E_NOT_A_STORE;
			goto out;
		}
		if (mode == STORE_OPEN_EXISTING) {
			log_debug("store: an LMDB environment nobody set up");
			r = TSS_E_STORE_EMPTY;
			goto out;
		}
		fresh = 1;
	} else if (rc != 0) {
		r = tr(rc, "open meta");
		goto out;
	}
	if (!fresh && mode == STORE_OPEN_CREATE) {
		log_debug("store: init on an existing environment");
		r = TSS_E_CONFLICT;
		goto out;
	}
	if (!fresh) {
		if ((rc = mdb_get(txn, s->dbi[STORE_DB_META], &k, &v)) != 0 ||
		    v.mv_size != 4) {
			log_debug("store: META holds no schema marker");
			r = TSS_E_NOT_A_STORE;
			goto out;
		}
		p = v.mv_data;
		ver = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (ver == 0) {
			r = TSS_E_NOT_A_STORE;
			goto out;
		}
		if (ver > STORE_SCHEMA_VERSION) {
			log_debug("store: schema %u, this program reads up "
			    "to %u", ver, STORE_SCHEMA_VERSION);
			r = TSS_E_SCHEMA_TOO_NEW;
			goto out;
		}
	}
	for (i = 0; i < STORE_DB__COUNT; i++) {
		if ((rc = mdb_dbi_open(txn, db_names[i], cflags,
		    &s->dbi[i])) != 0) {
			r = rc == MDB_NOTFOUND ? TSS_E_NOT_A_STORE :
			    tr(rc, db_names[i]);
			goto out;
		}
	}
	if (fresh && (r = put_schema(txn, s->dbi[STORE_DB_META],
	    STORE_SCHEMA_VERSION)) != 0)
		goto out;
	if (fresh && mode == STORE_OPEN_CREATE &&
	    (r = put_identity(txn, s->dbi[STORE_DB_META], idn)) != 0)
		goto out;
	if (ver != 0 && ver < STORE_SCHEMA_VERSION) {
		if (s->read_only && !validate) {
			log_debug("store: schema %u needs a writable open to "
			    "migrate", ver);
			r = TSS_E_UNSUPPORTED;
			goto out;
		}
		memset(&mt, 0, sizeof(mt));
		mt.s = s;
		mt.txn = txn;
		mt.write = 1;
		for (; ver < STORE_SCHEMA_VERSION; ver++) {
			if (migrations[ver] == NULL) {
				log_debug("store: no migration from schema %u",
				    ver);
				r = TSS_E_UNSUPPORTED;
				goto out;
			}
			if (validate)
				continue;
			if ((r = migrations[ver](&mt)) != 0)
				goto out;
			log_info("store: migrated schema %u to %u", ver,
			    ver + 1);
		}
		if (!validate && (r = put_schema(txn, s->dbi[STORE_DB_META],
		    STORE_SCHEMA_VERSION)) != 0)
			goto out;
	}
	/* Commit, even read-only: the dbi handles outlive only a commit. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		r = tr(rc, "commit schema");
		goto out;
	}
	r = 0;
 out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return r;
}

/*
 * Before LMDB sees dir: what mode allows of a missing or zero-length
 * data.mdb (TSS_E_NO_STORE, TSS_E_STORE_EMPTY, TSS_E_CONFLICT for init
 * on an existing file), and store__check_data_file() for any other.
 */
static int
check_env(const char *dir, enum store_mode mode)
{
	char data[PATH_MAX];
	struct stat st;
	int fresh = 0, r, n;

	n = snprintf(data, sizeof(data), "%s/data.mdb", dir);
	if (n < 0 || (size_t)n >= sizeof(data))
		return TSS_E_TOO_LONG;
	r = store__check_data_file(data, mode == STORE_OPEN_EXISTING, &fresh);
	if (r == TSS_E_NOT_FOUND) {
		/* The directory or only the file? */
		if (stat(dir, &st) != 0)
			r = mode == STORE_OPEN_EXISTING && errno == ENOENT ?
			    TSS_E_NO_STORE : sys_err(errno, "stat", dir);
		else
			r = mode == STORE_OPEN_EXISTING ? TSS_E_NO_STORE : 0;
		if (r == TSS_E_NO_STORE)
			log_debug("store: %s: no data.mdb", dir);
	}
	if (r == 0 && mode == STORE_OPEN_CREATE && !fresh)
		r = TSS_E_CONFLICT;
	return r;
}

int
store__open_env(const char *dir, const struct store_opts *opts, int validate,
    struct store **out)
{
	struct store *s = NULL;
	pthread_rwlockattr_t la;
	size_t size = DEFAULT_MAP_SIZE, max = 0, pg;
	enum store_mode mode = STORE_OPEN_ANY;
	const struct store_identity *idn = NULL;
	unsigned flags = MDB_NOTLS;
	int rc, r = TSS_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (opts != NULL) {
		if (opts->map_size != 0)
			size = opts->map_size;
		max = opts->map_max;
		mode = opts->mode;
		idn = opts->identity;
	}
	if (validate)
		mode = STORE_OPEN_EXISTING;
	if (mode != STORE_OPEN_ANY && mode != STORE_OPEN_EXISTING &&
	    mode != STORE_OPEN_CREATE)
		return TSS_E_INVALID_ARGUMENT;
	if (mode == STORE_OPEN_CREATE && (idn == NULL || opts->read_only))
		return TSS_E_INVALID_ARGUMENT;
	if ((r = check_env(dir, mode)) != 0)
		return r;
	r = TSS_E_INTERNAL;
	if (max == 0)
		max = size > DEFAULT_MAP_MAX ? size : DEFAULT_MAP_MAX;
	pg = (size_t)sysconf(_SC_PAGESIZE);
	if (max < size || size > SIZE_MAX - pg)
		return TSS_E_INVALID_ARGUMENT;
	size = (size + pg - 1) / pg * pg;
	max = max / pg * pg;
	if (max < size)
		max = size;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	s->map_max = max;
	s->read_only = validate || (opts != NULL && opts->read_only);
	if (pthread_rwlockattr_init(&la) != 0)
		goto out;
	pthread_rwlockattr_setkind_np(&la,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	rc = pthread_rwlock_init(&s->lock, &la);
	pthread_rwlockattr_destroy(&la);
	if (rc != 0)
		goto out;
	s->lock_ok = 1;
	if (s->read_only)
		flags |= MDB_RDONLY;
	if ((rc = mdb_env_create(&s->env)) != 0) {
		s->env = NULL;
		r = tr(rc, "env_create");
		goto out;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_DB__COUNT)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, size)) != 0) {
		r = tr(rc, "env setup");
		goto out;
	}
	if ((rc = mdb_env_open(s->env, dir, flags, 0600)) != 0) {
		r = tr(rc, dir);
		/* LMDB takes an empty data file for a new one and fails to
		 * initialise it read-only: either way, not a backup. */
		if (validate && (r == TSS_E_NOT_FOUND || r == TSS_E_STORE))
			r = TSS_E_NOT_A_STORE;
		goto out;
	}
	if ((r = setup_schema(s, validate, mode, idn)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
 out:
	store_close(s);
	return r;
}

int
store_open(const char *dir, const struct store_opts *opts, struct store **out)
{
	return store__open_env(dir, opts, 0, out);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->lock_ok)
		pthread_rwlock_destroy(&s->lock);
	free(s);
}

int
store_begin(struct store *s, int write, struct store_txn **out)
{
	struct store_txn *t = NULL;
	int rc = 0, r = TSS_E_INTERNAL, tries, locked = 0;

	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (write && s->read_only) {
		log_debug("store: write transaction on a read-only store");
		return TSS_E_STORE;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	t->s = s;
	t->write = write != 0;
	/* Best effort: if growth fails, this txn may fill up again.  At
	 * the bound, skip the exclusive lock: nothing to gain. */
	if (write && atomic_load(&s->grow) && !atomic_load(&s->at_max))
		(void)remap(s, 0);
	for (tries = 0; tries < BEGIN_TRIES; tries++) {
		if ((r = lock_shared(s)) != 0)
			goto out;
		locked = 1;
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY,
		    &t->txn);
		if (rc != MDB_MAP_RESIZED)
			break;
		pthread_rwlock_unlock(&s->lock);
		locked = 0;
		log_debug("store: map resized by another process");
		if ((r = remap(s, 1)) != 0)
			goto out;
	}
	if (rc != 0) {
		t->txn = NULL;
		r = tr(rc, "txn_begin");
		goto out;
	}
	*out = t;
	t = NULL;
	locked = 0;			/* transferred to the txn */
	r = 0;
 out:
	if (locked)
		pthread_rwlock_unlock(&s->lock);
	free(t);
	return r;
}

/* Close the txn's cursors, release the lock and free t. */
static void
txn_release(struct store_txn *t)
{
	struct store_cursor *c;

	while ((c = t->cursors) != NULL) {
		t->cursors = c->next;
		/* Write-txn cursors are freed by LMDB with their txn. */
		if (!t->write && c->mc != NULL)
			mdb_cursor_close(c->mc);
		c->mc = NULL;
		c->t = NULL;
		c->next = NULL;
	}
	pthread_rwlock_unlock(&t->s->lock);
	free(t);
}

int
store_commit(struct store_txn *t)
{
	int rc, r = TSS_E_INTERNAL;

	if (t == NULL || t->txn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (t->full) {
		mdb_txn_abort(t->txn);
		r = TSS_E_STORE_FULL;
	} else if ((rc = mdb_txn_commit(t->txn)) != 0) {
		r = op_err(t, rc, "commit");	/* LMDB freed the txn */
	} else
		r = 0;
	t->txn = NULL;
	txn_release(t);
	return r;
}

void
store_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
	txn_release(t);
}

int
store_write(struct store *s, int (*fn)(struct store_txn *, void *), void *arg)
{
	struct store_txn *t = NULL;
	int r = TSS_E_INTERNAL, attempt, full;

	if (s == NULL || fn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = store_begin(s, 1, &t)) != 0)
			break;
		if ((r = fn(t, arg)) != 0) {
			full = t->full;
			store_abort(t);
			/* fn may have mapped the put's error to its own. */
			if (full)
				r = TSS_E_STORE_FULL;
		} else
			r = store_commit(t);
		t = NULL;
		if (r != TSS_E_STORE_FULL)
			break;
		log_debug("store: write transaction hit a full map (try %d)",
		    attempt + 1);
	}
	return r;
}

int
store_get(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	MDB_val k, v;
	int rc;

	if (val != NULL)
		*val = NULL;
	if (vlen != NULL)
		*vlen = 0;
	if (!valid_txn_db(t, db) || !valid_key(key, klen) || val == NULL ||
	    vlen == NULL)
		return TSS_E_INVALID_ARGUMENT;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	if ((rc = mdb_get(t->txn, t->s->dbi[db], &k, &v)) != 0)
		return op_err(t, rc, "get");
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store_put(struct store_txn *t, enum store_db db, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags)
{
	MDB_val k, v;
	unsigned mflags = 0;
	int rc;

	if (!valid_txn_db(t, db) || !t->write || !valid_key(key, klen) ||
	    (val == NULL && vlen != 0) || vlen > UINT32_MAX ||
	    (flags & ~(unsigned)(STORE_NOOVERWRITE | STORE_APPEND)) != 0)
		return TSS_E_INVALID_ARGUMENT;
	if (flags & STORE_NOOVERWRITE)
		mflags |= MDB_NOOVERWRITE;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	v.mv_size = vlen;
	v.mv_data = (void *)val;
	/* MDB_APPEND refuses, unchanged, a key not past the last one. */
	rc = MDB_KEYEXIST;
	if (flags & STORE_APPEND)
		rc = mdb_put(t->txn, t->s->dbi[db], &k, &v, mflags | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(t->txn, t->s->dbi[db], &k, &v, mflags);
	if (rc != 0)
		return op_err(t, rc, "put");
	return 0;
}

int
store_del(struct store_txn *t, enum store_db db, const void *key, size_t klen)
{
	MDB_val k;
	int rc;

	if (!valid_txn_db(t, db) || !t->write || !valid_key(key, klen))
		return TSS_E_INVALID_ARGUMENT;
	k.mv_size = klen;
	k.mv_data = (void *)key;
	if ((rc = mdb_del(t->txn, t->s->dbi[db], &k, NULL)) != 0)
		return op_err(t, rc, "del");
	return 0;
}

int
store_counter_get(struct store_txn *t, enum store_counter c, uint64_t *out)
{
	const void *v;
	size_t vl;
	int r;

	if (out != NULL)
		*out = 0;
	if (t == NULL || (unsigned)c >= STORE_CTR__COUNT || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	r = store_get(t, STORE_DB_META, counter_keys[c],
	    strlen(counter_keys[c]), &v, &vl);
	if (r == TSS_E_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if (vl != 8) {
		log_debug("store: counter %s has %zu bytes", counter_keys[c],
		    vl);
		return TSS_E_STORE;
	}
	*out = buf_peek_u64(v);
	return 0;
}

static int
counter_set(struct store_txn *t, enum store_counter c, uint64_t v)
{
	uint8_t b[8];

	buf_poke_u64(b, v);
	return store_put(t, STORE_DB_META, counter_keys[c],
	    strlen(counter_keys[c]), b, sizeof(b), 0);
}

int
store_counter_next(struct store_txn *t, enum store_counter c, uint64_t *out)
{
	uint64_t v;
	int r;

	if (out != NULL)
		*out = 0;
	if (t == NULL || !t->write || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_counter_get(t, c, &v)) != 0)
		return r;
	if (v == UINT64_MAX)
		return TSS_E_OVERFLOW;
	if ((r = counter_set(t, c, v + 1)) != 0)
		return r;
	*out = v + 1;
	return 0;
}

int
store_counter_raise(struct store_txn *t, enum store_counter c, uint64_t v)
{
	uint64_t cur;
	int r;

	if (t == NULL || !t->write)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_counter_get(t, c, &cur)) != 0)
		return r;
	if (v <= cur)
		return 0;
	return counter_set(t, c, v);
}

int
store_cursor_open(struct store_txn *t, enum store_db db,
    struct store_cursor **out)
{
	struct store_cursor *c;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!valid_txn_db(t, db) || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[db], &c->mc)) != 0) {
		free(c);
		return tr(rc, "cursor_open");
	}
	c->t = t;
	c->next = t->cursors;
	t->cursors = c;
	*out = c;
	return 0;
}

static void
cursor_clear(const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	if (kp != NULL)
		*kp = NULL;
	if (kl != NULL)
		*kl = 0;
	if (vp != NULL)
		*vp = NULL;
	if (vl != NULL)
		*vl = 0;
}

/* One cursor step; outputs cleared first, set only on success. */
static int
cursor_get(struct store_cursor *c, MDB_val *k, MDB_cursor_op op,
    const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	MDB_val v;
	int rc;

	cursor_clear(kp, kl, vp, vl);
	if (c == NULL || c->mc == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_cursor_get(c->mc, k, &v, op)) != 0)
		return op_err(c->t, rc, "cursor_get");
	if (kp != NULL)
		*kp = k->mv_data;
	if (kl != NULL)
		*kl = k->mv_size;
	if (vp != NULL)
		*vp = v.mv_data;
	if (vl != NULL)
		*vl = v.mv_size;
	return 0;
}

int
store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val mk = { 0, NULL };

	if (klen == 0)
		return cursor_get(c, &mk, MDB_FIRST, k, kl, v, vl);
	if (!valid_key(key, klen)) {
		cursor_clear(k, kl, v, vl);
		return TSS_E_INVALID_ARGUMENT;
	}
	mk.mv_size = klen;
	mk.mv_data = (void *)key;
	return cursor_get(c, &mk, MDB_SET_RANGE, k, kl, v, vl);
}

int
store_cursor_next(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val mk = { 0, NULL };

	return cursor_get(c, &mk, MDB_NEXT, k, kl, v, vl);
}

int
store_cursor_last(struct store_cursor *c,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val mk = { 0, NULL };

	return cursor_get(c, &mk, MDB_LAST, k, kl, v, vl);
}

int
store_cursor_del(struct store_cursor *c)
{
	int rc;

	if (c == NULL || c->mc == NULL || !c->t->write)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_cursor_del(c->mc, 0)) != 0)
		return op_err(c->t, rc, "cursor_del");
	return 0;
}

void
store_cursor_close(struct store_cursor *c)
{
	struct store_cursor **pp;

	if (c == NULL)
		return;
	if (c->t != NULL) {
		for (pp = &c->t->cursors; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		if (c->mc != NULL)
			mdb_cursor_close(c->mc);
	}
	free(c);
}

int
store_count(struct store_txn *t, enum store_db db, uint64_t *n)
{
	MDB_stat st;
	int rc;

	if (n != NULL)
		*n = 0;
	if (!valid_txn_db(t, db) || n == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0)
		return tr(rc, "stat");
	*n = st.ms_entries;
	return 0;
}

int
store_usage(struct store *s, uint64_t *used, uint64_t *map_size)
{
	MDB_envinfo ei;
	MDB_stat st;
	int rc, r;

	if (used != NULL)
		*used = 0;
	if (map_size != NULL)
		*map_size = 0;
	if (s == NULL || used == NULL || map_size == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = lock_shared(s)) != 0)	/* env_info reads the map */
		return r;
	if ((rc = mdb_env_info(s->env, &ei)) != 0 ||
	    (rc = mdb_env_stat(s->env, &st)) != 0) {
		pthread_rwlock_unlock(&s->lock);
		return tr(rc, "env_info");
	}
	pthread_rwlock_unlock(&s->lock);
	*used = ((uint64_t)ei.me_last_pgno + 1) * st.ms_psize;
	*map_size = ei.me_mapsize;
	return 0;
}

/* A number in base, then the byte sep; 0 and *p past sep, or -1. */
static int
maps_field(const char **p, int base, char sep, unsigned long *v)
{
	char *e;

	errno = 0;
	*v = strtoul(*p, &e, base);
	if (e == *p || *e != sep || errno != 0)
		return -1;
	*p = e + 1;
	return 0;
}

/* One /proc/self/maps line: "lo-hi perms offset maj:min inode ...". */
static int
maps_line(const char *p, unsigned long *lo, unsigned long *hi,
    unsigned long *off, unsigned long *maj, unsigned long *mnr,
    unsigned long *ino)
{
	if (maps_field(&p, 16, '-', lo) != 0 ||
	    maps_field(&p, 16, ' ', hi) != 0 ||
	    (p = strchr(p, ' ')) == NULL)
		return -1;
	p++;
	return maps_field(&p, 16, ' ', off) != 0 ||
	    maps_field(&p, 16, ':', maj) != 0 ||
	    maps_field(&p, 16, ' ', mnr) != 0 ||
	    maps_field(&p, 10, ' ', ino) != 0 ? -1 : 0;
}

/*
 * The address and length of our mapping of the data file.  LMDB does not
 * expose its map address (mdb_env_info's me_mapaddr is the MDB_FIXEDMAP
 * hint, 0 here), so find the mapping of the file's inode at offset 0 in
 * /proc/self/maps.  Caller holds s->lock so the map cannot move.
 */
static int
data_map(struct store *s, void **addr, size_t *len)
{
	struct stat st;
	char line[PATH_MAX + 128];
	unsigned long lo, hi, off, ino, maj, mnr;
	FILE *f;
	int fd, r = TSS_E_NOT_FOUND;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
		return TSS_E_INTERNAL;
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		return TSS_E_UNSUPPORTED;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (maps_line(line, &lo, &hi, &off, &maj, &mnr, &ino) != 0)
			continue;
		if (ino == st.st_ino && maj == major(st.st_dev) &&
		    mnr == minor(st.st_dev) && off == 0) {
			*addr = (void *)lo;
			*len = hi - lo;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int
store_trim_map(struct store *s)
{
	MDB_envinfo ei;
	MDB_stat st;
	void *addr;
	size_t len, used, pg;
	int rc, r;

	if (s == NULL)
		return TSS_E_INVALID_ARGUMENT;
	/* Shared: a remap (exclusive) cannot move the map under madvise. */
	if ((r = lock_shared(s)) != 0)
		return r;
	if ((rc = mdb_env_info(s->env, &ei)) != 0 ||
	    (rc = mdb_env_stat(s->env, &st)) != 0) {
		r = tr(rc, "env_info");
		goto out;
	}
	if ((r = data_map(s, &addr, &len)) != 0)
		goto out;
	pg = (size_t)sysconf(_SC_PAGESIZE);
	used = ((size_t)ei.me_last_pgno + 1) * st.ms_psize;
	used = (used + pg - 1) & ~(pg - 1);
	if (used < len)
		len = used;
	if (madvise(addr, len, MADV_DONTNEED) != 0) {
		log_debug("store: madvise: %s", strerror(errno));
		r = TSS_E_INTERNAL;
	}
 out:
	pthread_rwlock_unlock(&s->lock);
	return r;
}

int
store_last_txnid(struct store *s, uint64_t *id)
{
	MDB_envinfo ei;
	int rc, r;

	if (id != NULL)
		*id = 0;
	if (s == NULL || id == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = lock_shared(s)) != 0)
		return r;
	rc = mdb_env_info(s->env, &ei);
	pthread_rwlock_unlock(&s->lock);
	if (rc != 0)
		return tr(rc, "env_info");
	*id = ei.me_last_txnid;
	return 0;
}

int
store_identity_get(struct store *s, struct store_identity *out)
{
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = store_begin(s, 0, &t)) != 0)
		return r;
	if ((r = store_get(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, &v, &vl)) == 0)
		r = identity_decode(v, vl, out);
	store_abort(t);
	return r;
}

int
store_identity_adopt(struct store *s, struct store_identity *idn)
{
	struct store_txn *t = NULL;
	struct buf *b = NULL;
	const void *v;
	size_t vl;
	uint64_t users = 0;
	int r;

	if (s == NULL || idn == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = identity_new_id(idn)) != 0 ||
	    (r = identity_encode(idn, &b)) != 0 ||
	    (r = store_begin(s, 1, &t)) != 0)
		goto out;
	r = store_get(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, &v, &vl);
	if (r == 0)
		r = TSS_E_CONFLICT;
	if (r != TSS_E_NOT_FOUND)
		goto out;
	/* tessera init always made its admin: without a user, nobody
	 * initialised this store (a schema marker alone is no store). */
	if ((r = store_count(t, STORE_DB_USERS, &users)) != 0)
		goto out;
	if (users == 0) {
		log_debug("store: no identity and no user: never initialised");
		r = TSS_E_STORE_EMPTY;
		goto out;
	}
	if ((r = store_put(t, STORE_DB_META, STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1, buf_ptr(b), buf_len(b),
	    STORE_NOOVERWRITE)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
 out:
	store_abort(t);
	buf_free(b);
	return r;
}
