/*
 * store, PostgreSQL backend: opening (connection parameters, the schema
 * and its marker), closing, and the calls on the whole store: health,
 * usage, the write count, LISTEN.  pg.c says how the backend works.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pg_int.h"

#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_POOL_MAX	32
/* pg_advisory_xact_lock key for schema set-up. */
#define SCHEMA_LOCK_SQL		"SELECT pg_advisory_xact_lock(7373650211963347201)"
#define NKW			8
#define CHANNEL			"tessera_commit"

/* One statement on a connection outside pipeline mode (params binary;
 * binary: results too).  *out NULL when out is NULL. */
static int
xq(PGconn *c, const char *sql, int n, const char *const *vals,
    const int *lens, int binary, PGresult **out)
{
	static const int fmts[2] = { 1, 1 };
	PGresult *res;
	ExecStatusType st;
	int r = 0;

	if (out != NULL)
		*out = NULL;
	if ((res = PQexecParams(c, sql, n, NULL, vals, lens, fmts,
	    binary)) == NULL)
		return store__pg_err(c, NULL, "schema");
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		r = store__pg_err(c, res, "schema");
	if (r == 0 && out != NULL)
		*out = res;
	else
		PQclear(res);
	return r;
}

/* A one-value text query's answer is "t". */
static int
xq_true(PGconn *c, const char *sql, int *yes)
{
	PGresult *res;
	int r;

	*yes = 0;
	if ((r = xq(c, sql, 0, NULL, NULL, 0, &res)) != 0)
		return r;
	*yes = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

/* Does table name exist, and does it hold rows? */
static int
table_state(PGconn *c, const char *name, int *exists, int *rows)
{
	char *sql = NULL;
	int r;

	*rows = 0;
	if (mem_asprintf(&sql, "SELECT to_regclass('\"%s\"') IS NOT NULL",
	    name) == -1)
		return TSS_E_NOMEM;
	r = xq_true(c, sql, exists);
	free(sql);
	if (r != 0 || !*exists)
		return r;
	if (mem_asprintf(&sql, "SELECT EXISTS (SELECT 1 FROM \"%s\")",
	    name) == -1)
		return TSS_E_NOMEM;
	r = xq_true(c, sql, rows);
	free(sql);
	return r;
}

static int
create_tables(PGconn *c)
{
	char *sql = NULL;
	int i, r = 0;

	for (i = 0; i < STORE_DB__COUNT && r == 0; i++) {
		if (mem_asprintf(&sql, "CREATE TABLE IF NOT EXISTS \"%s\" "
		    "(k bytea PRIMARY KEY, v bytea NOT NULL)",
		    store_db_name((enum store_db)i)) == -1)
			return TSS_E_NOMEM;
		r = xq(c, sql, 0, NULL, NULL, 0, NULL);
		free(sql);
	}
	if (r == 0)
		r = xq(c, "CREATE TABLE IF NOT EXISTS writer (id int PRIMARY "
		    "KEY CHECK (id = 1), n bigint NOT NULL)", 0, NULL, NULL,
		    0, NULL);
	if (r == 0)
		r = xq(c, "INSERT INTO writer SELECT 1, 0 WHERE NOT EXISTS "
		    "(SELECT 1 FROM writer)", 0, NULL, NULL, 0, NULL);
	return r;
}

/* Tables a newer program added since the database was made. */
static int
add_missing(PGconn *c)
{
	char *sql = NULL, *more;
	int i, all = 0, r;

	if ((sql = mem_strdup("SELECT to_regclass('writer') IS NOT NULL")) ==
	    NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < STORE_DB__COUNT; i++) {
		if (mem_asprintf(&more, "%s AND to_regclass('\"%s\"') IS NOT "
		    "NULL", sql, store_db_name((enum store_db)i)) == -1) {
			free(sql);
			return TSS_E_NOMEM;
		}
		free(sql);
		sql = more;
	}
	r = xq_true(c, sql, &all);
	free(sql);
	if (r != 0 || all)
		return r;
	return create_tables(c);
}

static int
meta_put(PGconn *c, const char *key, const void *v, size_t vl)
{
	const char *vals[2] = { key, v };
	int lens[2] = { (int)strlen(key), (int)vl };

	return xq(c, "INSERT INTO meta (k, v) VALUES ($1, $2)", 2, vals, lens,
	    1, NULL);
}

/* A fresh database: tables, writer row, marker (and idn for init). */
static int
schema_new(PGconn *c, const struct store_identity *idn)
{
	struct store_identity rec;
	struct buf *b = NULL;
	uint8_t ver[4];
	int i, r, exists, rows;

	for (i = 0; i < STORE_DB__COUNT; i++) {
		if ((r = table_state(c, store_db_name((enum store_db)i),
		    &exists, &rows)) != 0)
			return r;
		if (rows) {
			log_debug("store: table %s holds rows but the "
			    "database has no schema marker",
			    store_db_name((enum store_db)i));
			return TSS_E_NOT_A_STORE;
		}
	}
	ver[0] = (uint8_t)(STORE_SCHEMA_VERSION >> 24);
	ver[1] = (uint8_t)(STORE_SCHEMA_VERSION >> 16);
	ver[2] = (uint8_t)(STORE_SCHEMA_VERSION >> 8);
	ver[3] = (uint8_t)STORE_SCHEMA_VERSION;
	if ((r = create_tables(c)) != 0 ||
	    (r = meta_put(c, STORE_META_SCHEMA, ver, sizeof(ver))) != 0)
		return r;
	if (idn == NULL)
		return 0;
	rec = *idn;
	if ((r = store__identity_new_id(&rec)) != 0 ||
	    (r = store__identity_encode(&rec, &b)) != 0)
		return r;
	r = meta_put(c, STORE_META_IDENTITY, buf_ptr(b), buf_len(b));
	buf_free(b);
	return r;
}

/* Check or make the schema, in one transaction holding the set-up lock,
 * so instances starting together do it once. */
static int
setup_schema(struct pg_store *s, PGconn *c, enum store_mode mode,
    const struct store_identity *idn)
{
	const char *vals[1] = { STORE_META_SCHEMA };
	int lens[1] = { (int)sizeof(STORE_META_SCHEMA) - 1 };
	PGresult *res = NULL;
	const uint8_t *p;
	uint32_t ver = 0;
	int r, meta = 0, marker = 0;

	if ((r = xq(c, s->read_only ? "BEGIN READ ONLY" : "BEGIN", 0, NULL,
	    NULL, 0, NULL)) != 0 ||
	    (r = xq(c, SCHEMA_LOCK_SQL, 0, NULL, NULL, 0, NULL)) != 0 ||
	    (r = xq_true(c, "SELECT to_regclass('meta') IS NOT NULL",
	    &meta)) != 0)
		goto out;
	if (meta) {
		if ((r = xq(c, "SELECT v FROM meta WHERE k = $1", 1, vals,
		    lens, 1, &res)) != 0)
			goto out;
		if ((marker = PQntuples(res) == 1)) {
			p = (const uint8_t *)PQgetvalue(res, 0, 0);
			if (PQgetlength(res, 0, 0) == 4)
				ver = (uint32_t)p[0] << 24 |
				    (uint32_t)p[1] << 16 |
				    (uint32_t)p[2] << 8 | p[3];
			if (ver == 0) {
				r = TSS_E_NOT_A_STORE;
				goto out;
			}
		}
	}
	if (marker && mode == STORE_OPEN_CREATE) {
		log_debug("store: init on a database with a Tessera schema");
		r = TSS_E_CONFLICT;
	} else if (marker && ver > STORE_SCHEMA_VERSION) {
		log_debug("store: schema %u, this program reads up to %u",
		    ver, STORE_SCHEMA_VERSION);
		r = TSS_E_SCHEMA_TOO_NEW;
	} else if (marker && ver < STORE_SCHEMA_VERSION) {
		log_debug("store: no migration from schema %u", ver);
		r = TSS_E_UNSUPPORTED;
	} else if (marker)
		r = s->read_only ? 0 : add_missing(c);
	else if (mode == STORE_OPEN_EXISTING || s->read_only) {
		log_debug("store: a database without a Tessera schema");
		r = TSS_E_STORE_EMPTY;
	} else
		r = schema_new(c, mode == STORE_OPEN_CREATE ? idn : NULL);
	if (r == 0)
		r = xq(c, "COMMIT", 0, NULL, NULL, 0, NULL);
 out:
	PQclear(res);
	return r;
}

/* Connection parameters: defaults the URI may override, the URI, then
 * what always applies. */
static int
set_params(struct pg_store *s, const char *uri, const struct store_opts *o)
{
	int n = 0;

	if ((s->kw = mem_calloc(NKW, sizeof(*s->kw))) == NULL ||
	    (s->val = mem_calloc(NKW, sizeof(*s->val))) == NULL)
		return TSS_E_NOMEM;
	if (mem_asprintf(&s->options, "-c lock_timeout=%d "
	    "-c idle_in_transaction_session_timeout=%d", s->timeout_ms,
	    s->timeout_ms * 2) == -1) {
		s->options = NULL;
		return TSS_E_NOMEM;
	}
	s->kw[n] = "target_session_attrs";
	s->val[n++] = "read-write";
	s->kw[n] = "connect_timeout";
	s->val[n++] = "5";
	s->kw[n] = "application_name";
	s->val[n++] = "tessera";
	s->kw[n] = "dbname";
	s->val[n++] = uri;
	s->kw[n] = "options";
	s->val[n++] = s->options;
	if (o != NULL && o->pg_password != NULL) {
		if ((s->password = mem_strdup(o->pg_password)) == NULL)
			return TSS_E_NOMEM;
		s->kw[n] = "password";
		s->val[n++] = s->password;
	}
	return 0;
}

static void
pg_close(struct store *st)
{
	struct pg_store *s = (struct pg_store *)(void *)st;
	struct pg_conn *pc;

	while ((pc = s->idle) != NULL) {
		s->idle = pc->next;
		PQfinish(pc->c);
		free(pc);
	}
	if (s->listen != NULL)
		PQfinish(s->listen);
	if (s->mu_ok) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	free(s->kw);
	free(s->val);
	free(s->options);
	wipe_free(s->password);
	free(s);
}

int
store__pg_open(const char *uri, const struct store_opts *opts,
    struct store **out)
{
	struct pg_store *s;
	struct pg_conn *pc = NULL;
	PGconn *c = NULL;
	enum store_mode mode = opts != NULL ? opts->mode : STORE_OPEN_ANY;
	int r;

	if (mode != STORE_OPEN_ANY && mode != STORE_OPEN_EXISTING &&
	    mode != STORE_OPEN_CREATE)
		return TSS_E_INVALID_ARGUMENT;
	if (mode == STORE_OPEN_CREATE && (opts->identity == NULL ||
	    opts->read_only))
		return TSS_E_INVALID_ARGUMENT;
	if (opts != NULL && opts->timeout_ms < 0)
		return TSS_E_INVALID_ARGUMENT;
	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	s->ops = &store__pg_ops;
	s->timeout_ms = opts != NULL && opts->timeout_ms != 0 ?
	    opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->max = opts != NULL && opts->pool_max != 0 ? opts->pool_max :
	    DEFAULT_POOL_MAX;
	s->read_only = opts != NULL && opts->read_only;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return TSS_E_INTERNAL;
	}
	if (pthread_cond_init(&s->cv, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s);
		return TSS_E_INTERNAL;
	}
	s->mu_ok = 1;
	if ((r = set_params(s, uri, opts)) != 0 ||
	    (r = store__pg_connect(s, &c)) != 0 ||
	    (r = setup_schema(s, c,
	    mode, opts != NULL ? opts->identity : NULL)) != 0 ||
	    (r = store__pg_conn_new(s, c, &pc)) != 0)
		goto out;
	c = NULL;			/* transferred */
	s->nconn = 1;
	store__pg_release(s, pc, 0);
	*out = (struct store *)(void *)s;
	s = NULL;
 out:
	if (c != NULL)
		PQfinish(c);
	if (s != NULL)
		pg_close((struct store *)(void *)s);
	return r;
}

/* One value of a statement outside a transaction. */
static int
pg_value(struct pg_store *s, const char *stmt, PGresult **out)
{
	struct pg_conn *pc = NULL;
	int r;

	if ((r = store__pg_acquire(s, &pc)) != 0)
		return r;
	r = store__pg_simple(pc, stmt, out);
	if (r == 0 && (PQntuples(*out) != 1 || PQnfields(*out) != 1)) {
		PQclear(*out);
		*out = NULL;
		r = TSS_E_STORE;
	}
	store__pg_release(s, pc, r != 0);
	return r;
}

static int
pg_health(struct store *st)
{
	struct pg_store *s = (struct pg_store *)(void *)st;
	PGresult *res = NULL;
	int r, lost;

	pthread_mutex_lock(&s->mu);
	lost = s->lost;
	pthread_mutex_unlock(&s->mu);
	if (lost)
		return TSS_E_UNAVAILABLE;
	if ((r = pg_value(s, PG_ST_HEALTH, &res)) != 0)
		return r;
	if (PQgetlength(res, 0, 0) != 1 || PQgetvalue(res, 0, 0)[0] != 0) {
		log_debug("store: PostgreSQL is read-only (a standby?)");
		r = TSS_E_UNAVAILABLE;
	}
	PQclear(res);
	return r;
}

/* An int8 statement's value. */
static int
pg_u64(struct pg_store *s, const char *stmt, uint64_t *v)
{
	PGresult *res = NULL;
	int r;

	if ((r = pg_value(s, stmt, &res)) != 0)
		return r;
	if (PQgetlength(res, 0, 0) == 8)
		*v = buf_peek_u64((const uint8_t *)PQgetvalue(res, 0, 0));
	else
		r = TSS_E_STORE;
	PQclear(res);
	return r;
}

static int
pg_usage(struct store *s, uint64_t *used, uint64_t *map_size)
{
	*map_size = 0;
	return pg_u64((struct pg_store *)(void *)s, PG_ST_SIZE, used);
}

static int
pg_last_txnid(struct store *s, uint64_t *id)
{
	return pg_u64((struct pg_store *)(void *)s, PG_ST_COUNT_N, id);
}

static int
pg_trim_map(struct store *s)
{
	(void)s;
	return 0;
}

/* The LISTEN connection, made when missing. */
static int
listen_conn(struct pg_store *s)
{
	PGconn *c = NULL;
	int r;

	if (s->listen != NULL && PQstatus(s->listen) == CONNECTION_OK)
		return 0;
	if (s->listen != NULL)
		PQfinish(s->listen);
	s->listen = NULL;
	if ((r = store__pg_connect(s, &c)) != 0)
		return r;
	if ((r = xq(c, "LISTEN " CHANNEL, 0, NULL, NULL, 0, NULL)) != 0) {
		PQfinish(c);
		return r;
	}
	s->listen = c;
	return 0;
}

/* Take every notification queued; 1 if there was one. */
static int
notified(PGconn *c)
{
	PGnotify *n;
	int any = 0;

	while ((n = PQnotifies(c)) != NULL) {
		any = 1;
		PQfreemem(n);
	}
	return any;
}

static int
pg_wait_change(struct store *st, int timeout_ms)
{
	struct pg_store *s = (struct pg_store *)(void *)st;
	struct pollfd pfd;
	struct timespec now, end;
	long left;
	int r;

	if ((r = listen_conn(s)) != 0)
		return TSS_E_UNAVAILABLE;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	for (;;) {
		if (PQconsumeInput(s->listen) != 1) {
			log_warn("store: PostgreSQL LISTEN connection lost: %s",
			    PQerrorMessage(s->listen));
			PQfinish(s->listen);
			s->listen = NULL;
			return TSS_E_UNAVAILABLE;
		}
		if (notified(s->listen))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000L +
		    (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (left <= 0)
			return TSS_E_BUSY;
		pfd.fd = PQsocket(s->listen);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return TSS_E_UNAVAILABLE;
	}
}

const struct store_ops store__pg_ops = {
	.close = pg_close,
	.begin = store__pg_begin,
	.commit = store__pg_commit,
	.abort = store__pg_abort,
	.get = store__pg_get,
	.put = store__pg_put,
	.del = store__pg_del,
	.cursor_open = store__pg_cursor_open,
	.cursor_get = store__pg_cursor_get,
	.cursor_del = store__pg_cursor_del,
	.cursor_close = store__pg_cursor_close,
	.count = store__pg_count,
	.usage = pg_usage,
	.trim_map = pg_trim_map,
	.last_txnid = pg_last_txnid,
	.backup_fd = store__pg_backup_fd,
	.health = pg_health,
	.wait_change = pg_wait_change,
	.txn_write = store__pg_txn_write,
	.txn_full = store__pg_txn_full,
};
