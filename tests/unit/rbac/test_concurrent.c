/*
 * Snapshot rebuilds under concurrent decisions: reader threads decide
 * without pause while a second process (fork) rewrites the policy, one
 * commit per round, and the main thread acquires (rebuilding) after each.  Each
 * child transaction sets role ops' max_ttl to 1000+k and binds bob when k
 * is even, unbinds him when odd, in one commit; a torn or mixed snapshot
 * would show bob's access disagreeing with the TTL it sees.
 */
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "rh.h"
#include "tesserad/policy_json.h"

#define ROUNDS	150
#define THREADS	3

TestSuite(rbac_concurrent, .init = rh_setup, .fini = rh_teardown);

static const struct rbac_actor root = { .who.name = "root" };

static void
put_ops(struct store_txn *t, int64_t ttl)
{
	struct rbac_role *ro = NULL;
	char body[256], err[256];
	json_t *j;

	snprintf(body, sizeof(body), "{\"rules\":[{\"targets\":[\"t/*\"],"
	    "\"logins\":[\"app\"]}],\"max_ttl\":%lld}", (long long)ttl);
	j = json_loads(body, 0, NULL);
	if (j == NULL || policy_json_role("ops", j, &ro, err,
	    sizeof(err)) != 0 || rbac_role_put(t, &root, ro, 1, err,
	    sizeof(err)) != 0)
		abort();
	rbac_role_free(ro);
	json_decref(j);
}

/*
 * The writer process: its own store handle, ROUNDS commits, each when the
 * parent asks (a byte on go) and acknowledged (a byte on done), so every
 * rebuild happens while the reader threads are deciding.
 */
static void
writer(const char *dir, uint64_t bob, int go, int done)
{
	struct store *s = NULL;
	struct store_txn *t = NULL;
	char err[256], c;
	int k;

	if (store_open(dir, NULL, &s) != 0)
		_exit(2);
	for (k = 1; k <= ROUNDS; k++) {
		if (read(go, &c, 1) != 1)
			_exit(7);
		if (store_begin(s, 1, &t) != 0)
			_exit(3);
		put_ops(t, 1000 + k);
		if (k % 2 == 0) {
			if (rbac_binding_create(t, &root, "ops", "user:bob", 0,
			    1, &bob, err, sizeof(err)) != 0)
				_exit(4);
		} else if (bob != 0 && rbac_binding_delete(t, &root, bob, 1,
		    err, sizeof(err)) != 0)
			_exit(5);
		if (store_commit(t) != 0)
			_exit(6);
		if (write(done, "k", 1) != 1)
			_exit(8);
	}
	store_close(s);
	_exit(0);
}

struct shared {
	struct rbac *holder;
	atomic_int stop;
	atomic_int bad;
	atomic_long decisions;
	atomic_long snapshots;
};

static void *
reader(void *arg)
{
	struct shared *sh = arg;
	struct rbac_snap *s;
	struct rbac_decision d;
	char target[16];
	long n = 0;
	int64_t ttl;
	int i, ra, rb;

	while (!atomic_load(&sh->stop)) {
		s = NULL;
		if (rbac_acquire(sh->holder, &s) != 0) {
			atomic_store(&sh->bad, 1);
			break;
		}
		atomic_fetch_add(&sh->snapshots, 1);
		for (i = 0; i < 200; i++) {
			snprintf(target, sizeof(target), "t/%d", i % 50);
			ra = rbac_decide(s, "alice", NULL, 0, target, "app", 5,
			    &d);
			if (ra != 0 || d.max_ttl < 1000 ||
			    d.max_ttl > 1000 + ROUNDS) {
				atomic_store(&sh->bad, 2);
				break;
			}
			ttl = d.max_ttl;
			rb = rbac_decide(s, "bob", NULL, 0, target, "app", 5,
			    &d);
			/* alice's TTL says which commit this snapshot is. */
			if ((rb == 0) != (ttl % 2 == 0) ||
			    (rb == 0 && d.max_ttl != ttl)) {
				atomic_store(&sh->bad, 3);
				break;
			}
			n += 2;
		}
		rbac_snap_release(s);
	}
	atomic_fetch_add(&sh->decisions, n);
	return NULL;
}

Test(rbac_concurrent, rebuilds_under_readers_with_a_writer_process,
    .timeout = 120)
{
	struct store *s;
	struct store_txn *t = NULL;
	struct rbac_target *tg = NULL;
	struct rbac_snap *snap = NULL;
	struct rbac_decision d;
	struct shared sh;
	pthread_t th[THREADS];
	struct timespec start, now, pause = { 0, 2000000 };
	char name[16], err[256];
	json_t *empty = json_object();
	uint64_t gen = 0, bob = 0, alice = 0;
	pid_t pid;
	int i, status = -1, done = 0, rounds = 0, go[2], ack[2];

	/* Initial state (k = 0): ttl 1000, bob bound. */
	s = rh_open();
	cr_assert_eq(store_begin(s, 1, &t), 0);
	cr_assert_eq(rbac_bootstrap_admin(t, "root", 1), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "t/%d", i);
		cr_assert_eq(policy_json_target(name, empty, &tg, err,
		    sizeof(err)), 0);
		cr_assert_eq(rbac_target_put(t, &root, tg, 1, err,
		    sizeof(err)), 0);
		rbac_target_free(tg);
	}
	put_ops(t, 1000);
	cr_assert_eq(rbac_binding_create(t, &root, "ops", "user:alice", 0, 1,
	    &alice, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rbac_binding_create(t, &root, "ops", "user:bob", 0, 1,
	    &bob, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	store_close(s);
	json_decref(empty);

	/* Fork before any thread exists; each side opens its own handle. */
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(ack), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(go[1]);
		close(ack[0]);
		writer(rh_dir, bob, go[0], ack[1]);
	}
	close(go[0]);
	close(ack[1]);

	s = rh_open();
	memset(&sh, 0, sizeof(sh));
	cr_assert_eq(rbac_open(s, 0, &sh.holder), 0);
	for (i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader, &sh), 0);
	/* Drive the writer a commit at a time; after each, a rebuild. */
	for (i = 1; i <= ROUNDS && atomic_load(&sh.bad) == 0; i++) {
		char c;

		if (write(go[1], "g", 1) != 1 || read(ack[0], &c, 1) != 1)
			break;
		cr_assert_eq(rbac_acquire(sh.holder, &snap), 0);
		cr_assert_eq(rbac_decide(snap, "alice", NULL, 0, "t/0", "app",
		    5, &d), 0);
		cr_assert_eq(d.max_ttl, 1000 + i, "round %d sees ttl %lld", i,
		    (long long)d.max_ttl);
		rbac_snap_release(snap);
		snap = NULL;
		rounds++;
	}
	close(go[1]);
	close(ack[0]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!done) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!done && now.tv_sec - start.tv_sec > 60) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		if (!done)
			nanosleep(&pause, NULL);
	}
	atomic_store(&sh.stop, 1);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	cr_assert(done, "writer did not finish in time");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "writer status %d", status);
	cr_expect_eq(atomic_load(&sh.bad), 0, "inconsistent snapshot (%d)",
	    atomic_load(&sh.bad));
	cr_expect_gt(atomic_load(&sh.decisions), 0);
	cr_expect_eq(rounds, ROUNDS);

	/* After the writer: the holder sees its last commit. */
	cr_assert_eq(rbac_acquire(sh.holder, &snap), 0);
	cr_assert_eq(store_begin(s, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_POLICY_GEN, &gen), 0);
	store_abort(t);
	cr_expect_eq(rbac_snap_generation(snap), gen);
	cr_expect_eq(rbac_decide(snap, "alice", NULL, 0, "t/1", "app", 5, &d),
	    0, "reason %d gen %llu", d.reason, (unsigned long long)gen);
	cr_expect_eq(d.max_ttl, 1000 + ROUNDS);
	cr_expect_eq(rbac_decide(snap, "bob", NULL, 0, "t/1", "app", 5, &d),
	    ROUNDS % 2 == 0 ? 0 : TSS_E_FORBIDDEN);
	rbac_snap_release(snap);
	rbac_close(sh.holder);
	store_close(s);
}
