/*
 * The PostgreSQL backend's own behaviour, on a real server (run under
 * tests/lib/pgcluster.py run; skipped without TESSERA_TEST_PG): modes,
 * the write lock and its timeout, lost commits, LISTEN, batched cursors,
 * backup and restore across backends.  Suite store_pg_restart stops and
 * starts the server, so it runs alone (its own meson test).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "helpers.h"

static void
pg_setup(void)
{
	if (getenv("TESSERA_TEST_PG") == NULL)
		cr_skip_test("no TESSERA_TEST_PG (run under pgcluster.py)");
	th_setup();
}

TestSuite(store_pg, .init = pg_setup, .fini = th_teardown);
TestSuite(store_pg_restart, .init = pg_setup, .fini = th_teardown);

/* Run argv, asserting exit status 0. */
static void
run(char *const argv[])
{
	pid_t pid;
	int st;

	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed",
	    argv[0]);
}

/* psql -c sql on uri. */
static void
psql(const char *uri, const char *sql)
{
	char bin[4096];
	char *argv[] = { bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
	    (char *)(uintptr_t)uri, "-c", (char *)(uintptr_t)sql, NULL };
	int n;

	n = snprintf(bin, sizeof(bin), "%s/psql",
	    getenv("TESSERA_TEST_PG_BIN"));
	cr_assert(n > 0 && (size_t)n < sizeof(bin));
	run(argv);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
next_serial(struct store *s, uint64_t *v)
{
	struct store_txn *t = NULL;
	int r;

	if ((r = store_begin(s, 1, &t)) != 0)
		return r;
	if ((r = store_counter_next(t, STORE_CTR_SERIAL, v)) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

Test(store_pg, modes_mean_what_they_mean_on_lmdb)
{
	struct store_identity idn;
	struct store_opts o = { .mode = STORE_OPEN_EXISTING };
	struct store *s = NULL;

	cr_assert(store_location_is_pg(th_loc));
	cr_assert_eq(store_in_use(th_loc), 0);
	cr_assert_eq(store_open(th_loc, &o, &s), TSS_E_STORE_EMPTY);
	cr_assert_null(s);
	memset(&idn, 7, sizeof(idn));
	o.mode = STORE_OPEN_CREATE;
	o.identity = &idn;
	cr_assert_eq(store_open(th_loc, &o, &s), 0);
	store_close(s);
	s = NULL;
	cr_assert_eq(store_open(th_loc, &o, &s), TSS_E_CONFLICT);
	o.mode = STORE_OPEN_EXISTING;
	cr_assert_eq(store_open(th_loc, &o, &s), 0);
	cr_assert_eq(store_health(s), 0);
	cr_assert_eq(store_trim_map(s), 0);
	store_close(s);
}

Test(store_pg, unreachable_server_is_unavailable)
{
	struct store *s = NULL;

	cr_assert_eq(store_open("postgresql:///x?host=/nonexistent-dir&"
	    "connect_timeout=2", NULL, &s), TSS_E_UNAVAILABLE);
	cr_assert_null(s);
}

Test(store_pg, cursor_walks_many_batches_and_sees_own_puts)
{
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	uint8_t key[8];
	uint64_t i, n = 0;
	int r;

	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 1; i <= 1000; i++) {
		th_be64(key, i * 2);
		cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, "x", 1, 0),
		    0);
	}
	cr_assert_eq(store_commit(t), 0);
	/* A write txn: puts between cursor steps, a delete through it. */
	cr_assert_eq(store_begin(s, 1, &t), 0);
	th_be64(key, 1001);
	cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, "odd", 3, 0), 0);
	cr_assert_eq(store_cursor_open(t, STORE_DB_AUDIT, &c), 0);
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		cr_assert_eq(kl, 8);
		n++;
		if (th_get_be64(k) == 500)
			cr_assert_eq(store_cursor_del(c), 0);
	}
	cr_assert_eq(r, TSS_E_NOT_FOUND);
	cr_assert_eq(n, 1001);
	th_be64(key, 500);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, key, 8, &v, &vl),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(store_cursor_last(c, &k, &kl, &v, &vl), 0);
	cr_assert_eq(th_get_be64(k), 2000);
	store_cursor_close(c);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 1000);
	store_close(s);
}

/*
 * A write transaction far larger than libpq's output buffer and than
 * one collected stretch of statements: 600 KB of puts and one 100 KB
 * value all arrive, each value intact.
 */
Test(store_pg, large_transactions_arrive_whole)
{
	static uint8_t big[100 << 10], val[2048];
	struct store *s = th_open(NULL);
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	uint8_t key[8];
	uint64_t i;

	memset(big, 'b', sizeof(big));
	cr_assert_eq(store_begin(s, 1, &t), 0);
	for (i = 1; i <= 300; i++) {
		th_be64(key, i);
		memset(val, (int)(i & 0xff), sizeof(val));
		cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, val,
		    sizeof(val), 0), 0);
	}
	th_be64(key, 1000);
	cr_assert_eq(store_put(t, STORE_DB_AUDIT, key, 8, big, sizeof(big),
	    0), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(th_count(s, STORE_DB_AUDIT), 301);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	for (i = 1; i <= 300; i++) {
		th_be64(key, i);
		memset(val, (int)(i & 0xff), sizeof(val));
		cr_assert_eq(store_get(t, STORE_DB_AUDIT, key, 8, &v, &vl), 0);
		cr_assert_eq(vl, sizeof(val));
		cr_assert_eq(memcmp(v, val, vl), 0, "value %llu",
		    (unsigned long long)i);
	}
	th_be64(key, 1000);
	cr_assert_eq(store_get(t, STORE_DB_AUDIT, key, 8, &v, &vl), 0);
	cr_assert_eq(vl, sizeof(big));
	cr_assert_eq(memcmp(v, big, vl), 0);
	store_abort(t);
	store_close(s);
}

/* Child: hold a write transaction (the writer row locked), say so, and
 * wait to be stopped and killed. */
static void
hold_lock(int wfd)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint64_t v;

	if (store_open(th_loc, NULL, &s) != 0 || store_begin(s, 1, &t) != 0 ||
	    store_counter_next(t, STORE_CTR_SERIAL, &v) != 0)
		_exit(2);
	if (write(wfd, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

Test(store_pg, stopped_lock_holder_times_out_the_other_writer)
{
	struct store_opts o = { .timeout_ms = 500 };
	struct store *s = NULL;
	uint64_t t0, took, v = 0;
	int p[2], r = -1, st;
	char c;
	pid_t pid;

	store_close(th_open(NULL));
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		close(p[0]);
		hold_lock(p[1]);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "child could not take the lock");
	close(p[0]);
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	cr_assert_eq(store_open(th_loc, &o, &s), 0);
	t0 = now_ms();
	cr_assert_eq(next_serial(s, &v), TSS_E_UNAVAILABLE);
	took = now_ms() - t0;
	cr_assert(took >= 400 && took < 3000, "waited %llu ms",
	    (unsigned long long)took);
	/* The holder dies: its transaction rolls back, writes resume. */
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	for (t0 = now_ms(); now_ms() - t0 < 10000;)
		if ((r = next_serial(s, &v)) == 0)
			break;
	cr_assert_eq(r, 0, "writes did not resume: %s", tss_strerror(r));
	cr_assert_eq(v, 1, "the dead holder's serial was not rolled back");
	store_close(s);
}

Test(store_pg, write_counter_going_back_refuses_writes)
{
	struct store *s = th_open(NULL), *s2 = NULL;
	uint64_t v, n = 0;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(next_serial(s, &v), 0);
	cr_assert_eq(store_last_txnid(s, &n), 0);
	cr_assert_geq(n, 5);
	cr_assert_eq(store_health(s), 0);
	/* What a failover to a standby two commits behind looks like. */
	psql(th_loc, "UPDATE writer SET n = n - 2");
	cr_assert_eq(next_serial(s, &v), TSS_E_UNAVAILABLE);
	cr_assert_eq(store_health(s), TSS_E_UNAVAILABLE);
	cr_assert_eq(next_serial(s, &v), TSS_E_UNAVAILABLE);
	/* A restarted instance has nothing to compare with: it writes. */
	s2 = th_open(NULL);
	cr_assert_eq(store_health(s2), 0);
	cr_assert_eq(next_serial(s2, &v), 0);
	store_close(s2);
	store_close(s);
}

Test(store_pg, wait_change_wakes_on_another_stores_commit)
{
	struct store *a = th_open(NULL), *b = th_open(NULL);
	uint64_t t0;

	/* Nothing committed since the listen started: a timeout. */
	cr_assert_eq(store_wait_change(a, 50), TSS_E_BUSY);
	th_put1(b, STORE_DB_USERS, "alice", "a");
	t0 = now_ms();
	cr_assert_eq(store_wait_change(a, 5000), 0);
	cr_assert_lt(now_ms() - t0, 4000);
	cr_assert_eq(store_wait_change(a, 50), TSS_E_BUSY);
	store_close(a);
	store_close(b);
}

/* The file path under th_dir. */
static void
path(char *out, const char *name)
{
	th_path(out, 4096, name);
}

Test(store_pg, backup_to_lmdb_and_back_keeps_every_entry)
{
	struct store *pg = th_open(NULL), *lm = NULL, *pg2 = NULL;
	char f1[4096], f2[4096], dir[4096], uri2[4096];
	uint64_t v;
	int i;

	th_put1(pg, STORE_DB_USERS, "alice", "a");
	th_put1(pg, STORE_DB_TARGETS, "prod", "");
	for (i = 0; i < 300; i++)
		cr_assert_eq(next_serial(pg, &v), 0);
	path(f1, "pg.bak");
	path(f2, "lmdb.bak");
	path(dir, "lmdb");
	cr_assert_eq(store_backup(pg, f1), 0);
	cr_assert_eq(store_restore(f1, dir), 0);
	lm = th_open(dir);
	th_assert_same(pg, lm);
	cr_assert_eq(store_backup(lm, f2), 0);
	th_pg_newdb(uri2, sizeof(uri2));
	cr_assert_eq(store_restore(f2, uri2), 0);
	pg2 = th_open(uri2);
	th_assert_same(pg, pg2);
	th_assert_same(lm, pg2);
	/* Into a database holding data: refused, nothing changed. */
	th_put1(pg2, STORE_DB_USERS, "bob", "b");
	cr_assert_eq(store_restore(f2, uri2), TSS_E_NOT_EMPTY);
	cr_assert_eq(th_count(pg2, STORE_DB_USERS), 2);
	store_close(pg2);
	store_close(lm);
	store_close(pg);
}

Test(store_pg, restore_checks_the_file_first)
{
	char f[4096];
	FILE *fp;

	path(f, "junk.bak");
	cr_assert_not_null(fp = fopen(f, "w"));
	fputs("not an LMDB file at all, not even close", fp);
	fclose(fp);
	cr_assert_eq(store_restore(f, th_loc), TSS_E_NOT_A_STORE);
}

/* Stop or start the cluster through pgcluster.py ctl. */
static void
ctl(const char *what)
{
	char *argv[] = { "/usr/bin/env", "python3",
	    getenv("TESSERA_TEST_PGCLUSTER"), "ctl", (char *)(uintptr_t)what,
	    NULL };

	cr_assert_not_null(argv[2]);
	run(argv);
}

Test(store_pg_restart, server_restart_needs_no_reopen)
{
	struct store *s = th_open(NULL);
	uint64_t v = 0, t0;
	int r = -1;

	cr_assert_eq(next_serial(s, &v), 0);
	ctl("stop");
	cr_assert_eq(next_serial(s, &v), TSS_E_UNAVAILABLE);
	cr_assert_eq(store_health(s), TSS_E_UNAVAILABLE);
	cr_assert_eq(store_wait_change(s, 10), TSS_E_UNAVAILABLE);
	ctl("start");
	for (t0 = now_ms(); now_ms() - t0 < 10000;)
		if ((r = next_serial(s, &v)) == 0)
			break;
	cr_assert_eq(r, 0, "%s", tss_strerror(r));
	cr_assert_eq(v, 2);
	cr_assert_eq(store_health(s), 0);
	store_close(s);
}
