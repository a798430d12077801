/*
 * store, PostgreSQL backend: connections, the pool, prepared statements,
 * the write count, SQLSTATE translation.  Opening (parameters, schema),
 * health and LISTEN are pg_open.c, transactions and the write cache
 * pg_txn.c, cursors pg_cursor.c, backup and restore pg_backup.c.
 *
 * What the code cannot say by itself:
 *
 * - Every pooled connection is in pipeline mode with every statement
 *   prepared once (one round trip at connect).  A transaction holds one
 *   connection; statements whose result nobody waits for (BEGIN, the
 *   writer row, puts) are only sent, and their results are read, in
 *   order, when a result is needed (a get that misses the cache) or at
 *   commit.  A group-commit batch is a few round trips.
 *
 * - The write lock: a write transaction first updates the one row of
 *   table writer, so write transactions are serialised across every
 *   instance, and reads n, the count of write transactions.  Holding the
 *   only write lock, a transaction's cache of what it read and wrote
 *   stays true until it ends.  n only grows; a count lower than one this
 *   process committed means the database lost commits (a failover to a
 *   standby that was behind): writes are refused from then on.
 *
 * - Errors: a connection that failed in any way is closed, never
 *   returned to the pool; the next begin connects again, so after a
 *   failover (target_session_attrs=read-write) the instance resumes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "pg_int.h"

/* Statements not per database. */
static const struct {
	const char *name, *sql;
} fixed_stmts[] = {
	{ PG_ST_BEGIN_W, "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE" },
	{ PG_ST_BEGIN_R, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" },
	{ PG_ST_WRITER, "UPDATE writer SET n = n + 1 RETURNING n" },
	{ PG_ST_NOTIFY, "SELECT pg_notify('tessera_commit', n::text) "
	    "FROM writer" },
	{ PG_ST_COMMIT, "COMMIT" },
	{ PG_ST_ROLLBACK, "ROLLBACK" },
	{ PG_ST_HEALTH, "SELECT pg_is_in_recovery() OR "
	    "current_setting('transaction_read_only')::bool" },
	{ PG_ST_SIZE, "SELECT pg_database_size(current_database())" },
	{ PG_ST_COUNT_N, "SELECT n FROM writer" },
};

/* Per database, in PG_DB_STMTS order: the SQL before and after the
 * table's name. */
static const struct {
	const char *pre, *post;
} db_sql[] = {
	{ "SELECT v FROM ", " WHERE k = $1" },
	{ "INSERT INTO ", " (k, v) VALUES ($1, $2) "
	    "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v" },
	{ "DELETE FROM ", " WHERE k = $1" },
	{ "SELECT k, v FROM ", " WHERE k >= $1 ORDER BY k LIMIT 128" },
	{ "SELECT k, v FROM ", " WHERE k > $1 ORDER BY k LIMIT 128" },
	{ "SELECT k, v FROM ", " ORDER BY k DESC LIMIT 1" },
	{ "SELECT count(*) FROM ", "" },
};

/* SQLSTATEs (or their class, two characters) meaning "not now". */
static const char *const unavailable_states[] = {
	"08", "25006", "25P03", "55P03", "57P01", "57P02", "57P03",
	"40001", "40P01", "53000", "53200", "53300",
};

int
store__pg_err(PGconn *c, const PGresult *res, const char *what)
{
	const char *st = NULL, *msg = NULL;
	size_t i, n;

	if (res != NULL) {
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	}
	if (msg == NULL)
		msg = c != NULL ? PQerrorMessage(c) : "no result";
	if (st == NULL || (c != NULL && PQstatus(c) == CONNECTION_BAD)) {
		log_warn("store: PostgreSQL %s: connection lost: %s", what,
		    msg);
		return TSS_E_UNAVAILABLE;
	}
	if (strcmp(st, "53100") == 0) {
		log_error("store: PostgreSQL %s: disk full: %s", what, msg);
		return TSS_E_STORE_FULL;
	}
	for (i = 0; i < sizeof(unavailable_states) /
	    sizeof(unavailable_states[0]); i++) {
		n = strlen(unavailable_states[i]);
		if (strncmp(st, unavailable_states[i], n) == 0) {
			log_warn("store: PostgreSQL %s: %s (SQLSTATE %s)",
			    what, msg, st);
			return TSS_E_UNAVAILABLE;
		}
	}
	log_error("store: PostgreSQL %s: %s (SQLSTATE %s)", what, msg, st);
	return TSS_E_STORE;
}

/* Read one statement's result and the NULL after it. */
static int
read_one(PGconn *c, const char *what, PGresult **out)
{
	PGresult *res, *extra;
	ExecStatusType st;
	int r = 0;

	*out = NULL;
	if ((res = PQgetResult(c)) == NULL)
		return store__pg_err(c, NULL, what);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		r = store__pg_err(c, res, what);
	else if ((extra = PQgetResult(c)) != NULL) {
		PQclear(extra);
		r = store__pg_err(c, NULL, what);
	}
	if (r != 0)
		PQclear(res);
	else
		*out = res;
	return r;
}

/* Read the PGRES_PIPELINE_SYNC result. */
static int
read_sync(PGconn *c)
{
	PGresult *res = PQgetResult(c);
	int ok = res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC;

	PQclear(res);
	return ok ? 0 : store__pg_err(c, NULL, "sync");
}

int
store__pg_simple(struct pg_conn *pc, const char *stmt, PGresult **out)
{
	int r;

	*out = NULL;
	if (PQsendQueryPrepared(pc->c, stmt, 0, NULL, NULL, NULL, 1) != 1 ||
	    PQpipelineSync(pc->c) != 1)
		return store__pg_err(pc->c, NULL, stmt);
	if ((r = read_one(pc->c, stmt, out)) != 0)
		return r;
	if ((r = read_sync(pc->c)) != 0) {
		PQclear(*out);
		*out = NULL;
	}
	return r;
}

/* Enter pipeline mode and prepare every statement. */
static int
prepare_all(PGconn *c)
{
	char name[8], *sql = NULL;
	PGresult *res;
	size_t i, sent = 0;
	int db, r = 0;

	if (PQenterPipelineMode(c) != 1)
		return store__pg_err(c, NULL, "pipeline mode");
	for (i = 0; i < sizeof(fixed_stmts) / sizeof(fixed_stmts[0]); i++) {
		if (PQsendPrepare(c, fixed_stmts[i].name, fixed_stmts[i].sql,
		    0, NULL) != 1)
			return store__pg_err(c, NULL, "prepare");
		sent++;
	}
	for (db = 0; db < STORE_DB__COUNT; db++) {
		for (i = 0; i < sizeof(db_sql) / sizeof(db_sql[0]); i++) {
			if (mem_asprintf(&sql, "%s\"%s\"%s", db_sql[i].pre,
			    store_db_name((enum store_db)db),
			    db_sql[i].post) == -1)
				return TSS_E_NOMEM;
			pg_stmt(name, PG_DB_STMTS[i], (enum store_db)db);
			r = PQsendPrepare(c, name, sql, 0, NULL) == 1 ? 0 :
			    store__pg_err(c, NULL, "prepare");
			free(sql);
			if (r != 0)
				return r;
			sent++;
		}
	}
	if (PQpipelineSync(c) != 1)
		return store__pg_err(c, NULL, "prepare");
	for (i = 0; i < sent; i++) {
		if ((r = read_one(c, "prepare", &res)) != 0)
			return r;
		PQclear(res);
	}
	return read_sync(c);
}

/* Server notices go to the debug log, not stderr. */
static void
notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store: PostgreSQL: %s", msg);
}

int
store__pg_connect(struct pg_store *s, PGconn **out)
{
	PGconn *c;

	*out = NULL;
	if ((c = PQconnectdbParams(s->kw, s->val, 1)) == NULL)
		return TSS_E_NOMEM;
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names host and port, never the password. */
		log_error("store: cannot connect to PostgreSQL at %s:%s: %s",
		    PQhost(c) != NULL ? PQhost(c) : "?",
		    PQport(c) != NULL ? PQport(c) : "?", PQerrorMessage(c));
		PQfinish(c);
		return TSS_E_UNAVAILABLE;
	}
	PQsetNoticeProcessor(c, notice, NULL);
	*out = c;
	return 0;
}

int
store__pg_conn_new(struct pg_store *s, PGconn *c, struct pg_conn **out)
{
	struct pg_conn *pc;
	int r;

	*out = NULL;
	if (c == NULL && (r = store__pg_connect(s, &c)) != 0)
		return r;
	if ((r = prepare_all(c)) != 0) {
		PQfinish(c);
		return r;
	}
	if ((pc = mem_calloc(1, sizeof(*pc))) == NULL) {
		PQfinish(c);
		return TSS_E_NOMEM;
	}
	pc->c = c;
	*out = pc;
	return 0;
}

static void
conn_free(struct pg_conn *pc)
{
	if (pc == NULL)
		return;
	PQfinish(pc->c);
	free(pc);
}

/* An idle connection still good: owed results read, no news of death. */
static int
conn_ready(struct pg_conn *pc)
{
	PGresult *res;

	if (pc->owed > 0) {
		for (; pc->owed > 0; pc->owed--) {
			if (read_one(pc->c, "end read", &res) != 0)
				return 0;
			PQclear(res);
		}
		if (read_sync(pc->c) != 0)
			return 0;
	}
	return PQconsumeInput(pc->c) == 1 && PQstatus(pc->c) ==
	    CONNECTION_OK && PQtransactionStatus(pc->c) == PQTRANS_IDLE;
}

int
store__pg_acquire(struct pg_store *s, struct pg_conn **out)
{
	struct pg_conn *pc;
	struct timespec ts;
	int r = 0;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s->timeout_ms / 1000;
	ts.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if ((pc = s->idle) != NULL) {
			s->idle = pc->next;
			pc->next = NULL;
			pthread_mutex_unlock(&s->mu);
			if (conn_ready(pc)) {
				*out = pc;
				return 0;
			}
			log_debug("store: dropping a dead PostgreSQL "
			    "connection");
			conn_free(pc);
			pthread_mutex_lock(&s->mu);
			s->nconn--;
			continue;
		}
		if (s->nconn < s->max) {
			s->nconn++;
			pthread_mutex_unlock(&s->mu);
			if ((r = store__pg_conn_new(s, NULL, out)) == 0)
				return 0;
			pthread_mutex_lock(&s->mu);
			s->nconn--;
			pthread_cond_signal(&s->cv);
			break;
		}
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
			log_warn("store: all %u PostgreSQL connections busy",
			    s->max);
			r = TSS_E_UNAVAILABLE;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

void
store__pg_release(struct pg_store *s, struct pg_conn *pc, int broken)
{
	if (pc == NULL)
		return;
	if (broken || PQstatus(pc->c) != CONNECTION_OK) {
		conn_free(pc);
		pc = NULL;
	}
	pthread_mutex_lock(&s->mu);
	if (pc == NULL)
		s->nconn--;
	else {
		pc->next = s->idle;
		s->idle = pc;
	}
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int
store__pg_check_count(struct pg_store *s, uint64_t n)
{
	int r = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->lost && n <= s->high) {
		log_error("store: the database's write counter went back from "
		    "%llu to %llu: commits were lost (failover to an "
		    "asynchronous standby?); refusing writes",
		    (unsigned long long)s->high, (unsigned long long)n);
		s->lost = 1;
	}
	if (s->lost)
		r = TSS_E_UNAVAILABLE;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void
store__pg_committed(struct pg_store *s, uint64_t n)
{
	pthread_mutex_lock(&s->mu);
	if (n > s->high)
		s->high = n;
	pthread_mutex_unlock(&s->mu);
}
