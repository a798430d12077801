/*
 * store, LMDB backend: the environment, its databases, the schema marker
 * and migrations, the map (usage, trimming).  Transactions, records and
 * cursors are lmdb_txn.c, the data file check lmdb_check.c, backup and
 * restore lmdb_backup.c; lmdb_int.h holds what they share.  See store.h.
 *
 * What the code cannot say by itself:
 *
 * - MDB_NOTLS.  Without it a reader slot belongs to the thread: a thread
 *   may hold one read transaction at a time (a second begin fails with
 *   MDB_BAD_RSLOT) and keeps its slot until it exits.  Our requests run on
 *   pool threads and helpers open their own read transactions, so slots
 *   are tied to the transaction object instead and freed when it ends.
 *
 * - Map growth (lmdb_txn.c).  mdb_env_set_mapsize() remaps the file, so
 *   no transaction of this process may be live: every transaction holds
 *   s->lock shared from begin to end, and growth takes it exclusive.  A write that hits
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
 *   before LMDB maps it, and only STORE_OPEN_ANY and STORE_OPEN_CREATE
 *   may start a new environment.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "lmdb_int.h"

#define DEFAULT_MAP_SIZE	((size_t)64 << 20)
#define DEFAULT_MAP_MAX		((size_t)4 << 30)
#define MAX_READERS		510

/* Migrates a store from version v to v + 1 inside the open transaction. */
typedef int (*store_migration_fn)(struct store_txn *t);

/*
 * migrations[v] upgrades version v to v + 1.  Version 1 is the first, so
 * the table is empty; a store of a version without a path is refused.
 */
static const store_migration_fn migrations[STORE_SCHEMA_VERSION + 1] = {
	NULL,
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

/* Write the schema marker. */
static int
put_schema(MDB_txn *txn, MDB_dbi meta, uint32_t ver)
{
	uint8_t b[4] = {
		(uint8_t)(ver >> 24), (uint8_t)(ver >> 16),
		(uint8_t)(ver >> 8), (uint8_t)ver
	};
	MDB_val k = mval(STORE_META_SCHEMA, sizeof(STORE_META_SCHEMA) - 1);
	MDB_val v = { sizeof(b), b };

	return tr(mdb_put(txn, meta, &k, &v, 0), "put schema");
}

/* Write idn (a fresh id made here) as the identity record. */
static int
put_identity(MDB_txn *txn, MDB_dbi meta, const struct store_identity *idn)
{
	struct store_identity rec = *idn;
	struct buf *b = NULL;
	MDB_val k = mval(STORE_META_IDENTITY,
	    sizeof(STORE_META_IDENTITY) - 1);
	MDB_val v;
	int r;

	if ((r = store__identity_new_id(&rec)) != 0 ||
	    (r = store__identity_encode(&rec, &b)) != 0)
		return r;
	v = mval(buf_ptr(b), buf_len(b));
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
	MDB_val k = mval(STORE_META_SCHEMA, sizeof(STORE_META_SCHEMA) - 1);
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
	rc = mdb_dbi_open(txn, store_db_name(STORE_DB_META), 0,
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
		if ((rc = mdb_dbi_open(txn, store_db_name(i), cflags,
		    &s->dbi[i])) != 0) {
			r = rc == MDB_NOTFOUND ? TSS_E_NOT_A_STORE :
			    tr(rc, store_db_name(i));
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
		mt.ops = &store__lmdb_ops;
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

	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	s->ops = &store__lmdb_ops;
	s->map_max = max;
	s->dir_fd = -1;
	s->read_only = validate || (opts != NULL && opts->read_only);
	if (opts != NULL && opts->lock_owner != NULL && !validate &&
	    (r = store__dirlock(dir, opts->lock_owner, &s->dir_fd)) != 0)
		goto out;
	r = TSS_E_INTERNAL;
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
store__lmdb_open(const char *dir, const struct store_opts *opts,
    struct store **out)
{
	return store__open_env(dir, opts, 0, out);
}

void
store__lmdb_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->lock_ok)
		pthread_rwlock_destroy(&s->lock);
	if (s->dir_fd != -1)
		close(s->dir_fd);
	free(s);
}

int
store__lmdb_usage(struct store *s, uint64_t *used, uint64_t *map_size)
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
store__lmdb_trim_map(struct store *s)
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
store__lmdb_last_txnid(struct store *s, uint64_t *id)
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

static int
lmdb_health(struct store *s)
{
	(void)s;
	return 0;
}

static int
lmdb_wait_change(struct store *s, int timeout_ms)
{
	(void)s;
	(void)timeout_ms;
	return TSS_E_UNSUPPORTED;
}

const struct store_ops store__lmdb_ops = {
	.close = store__lmdb_close,
	.begin = store__lmdb_begin,
	.commit = store__lmdb_commit,
	.abort = store__lmdb_abort,
	.get = store__lmdb_get,
	.put = store__lmdb_put,
	.del = store__lmdb_del,
	.cursor_open = store__lmdb_cursor_open,
	.cursor_get = store__lmdb_cursor_get,
	.cursor_del = store__lmdb_cursor_del,
	.cursor_close = store__lmdb_cursor_close,
	.count = store__lmdb_count,
	.usage = store__lmdb_usage,
	.trim_map = store__lmdb_trim_map,
	.last_txnid = store__lmdb_last_txnid,
	.backup_fd = store__lmdb_backup_fd,
	.health = lmdb_health,
	.wait_change = lmdb_wait_change,
	.txn_write = store__lmdb_txn_write,
	.txn_full = store__lmdb_txn_full,
};
