#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/certs.h"
#include "broker/commit.h"
#include "common/err.h"
#include "store/store.h"
#include "tmpdir.h"

static char dir[256];
static struct store *st;

static void
setup(void)
{
	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	cr_assert_eq(store_open(dir, NULL, &st), 0);
}

static void
teardown(void)
{
	store_close(st);
	tmpdir_remove(dir);
}

TestSuite(commit, .init = setup, .fini = teardown);
TestSuite(certs, .init = setup, .fini = teardown);
TestSuite(serials, .init = setup, .fini = teardown);

struct put_arg {
	uint32_t key;
	int fail;
};

static int
put_fn(struct store_txn *t, void *a)
{
	struct put_arg *p = a;
	uint64_t seq;
	int r;

	if (p->fail)
		return TSS_E_VALIDATION;
	if ((r = store_counter_next(t, STORE_CTR_AUDIT_SEQ, &seq)) != 0)
		return r;
	return store_put(t, STORE_DB_META, &p->key, sizeof(p->key), "x", 1,
	    STORE_NOOVERWRITE);
}

#define THREADS	8
#define JOBS	150

struct worker {
	struct commit_queue *q;
	int id;
	int failures;
};

static void *
worker_main(void *a)
{
	struct worker *w = a;
	int i;

	for (i = 0; i < JOBS; i++) {
		/* Every tenth job of odd threads fails validation. */
		struct put_arg p = { .key = 0x80000000u | (uint32_t)(w->id * JOBS + i),
		    .fail = (w->id & 1) && i % 10 == 0 };
		int r = commit_run(w->q, put_fn, &p);

		if (r != (p.fail ? TSS_E_VALIDATION : 0))
			w->failures++;
	}
	return NULL;
}

Test(commit, concurrent_jobs_all_commit_and_failures_stay_alone)
{
	struct commit_queue *q;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct store_txn *t;
	uint64_t seq;
	int i, expected = 0;

	cr_assert_eq(commit_queue_new(st, NULL, NULL, &q), 0);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .q = q, .id = i };
		cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(w[i].failures, 0, "thread %d", i);
		expected += (i & 1) ? JOBS - JOBS / 10 : JOBS;
	}
	cr_assert_eq(store_begin(st, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_AUDIT_SEQ, &seq), 0);
	cr_expect_eq(seq, (uint64_t)expected, "seq %llu want %d",
	    (unsigned long long)seq, expected);
	for (i = 0; i < THREADS * JOBS; i++) {
		uint32_t key = 0x80000000u | (uint32_t)i;
		const void *v;
		size_t vl;
		int failed = ((i / JOBS) & 1) && (i % JOBS) % 10 == 0;

		cr_expect_eq(store_get(t, STORE_DB_META, &key, sizeof(key), &v,
		    &vl), failed ? TSS_E_NOT_FOUND : 0, "key %d", i);
	}
	store_abort(t);
	commit_queue_free(q);
}

/* commit_submit: no waiting; each done() exactly once, with its result. */
struct async_job {
	struct put_arg p;
	int calls;
	int r;
};

static int
async_fn(struct store_txn *t, void *a)
{
	return put_fn(t, &((struct async_job *)a)->p);
}

static void
async_done(void *a, int r)
{
	struct async_job *j = a;

	j->calls++;
	j->r = r;
}

#define ASYNC_JOBS	1000

Test(commit, submitted_jobs_report_once_and_the_queue_drains_on_free)
{
	struct commit_queue *q;
	struct async_job *j;
	struct store_txn *t;
	const void *v;
	size_t vl;
	int i;

	cr_assert_not_null(j = calloc(ASYNC_JOBS, sizeof(*j)));
	cr_assert_eq(commit_queue_new(st, NULL, NULL, &q), 0);
	for (i = 0; i < ASYNC_JOBS; i++) {
		j[i].p.key = 0x40000000u | (uint32_t)i;
		j[i].p.fail = i % 7 == 3;
		cr_assert_eq(commit_submit(q, async_fn, async_done, &j[i]), 0);
	}
	commit_queue_free(q);	/* runs what is still queued first */
	cr_assert_eq(store_begin(st, 0, &t), 0);
	for (i = 0; i < ASYNC_JOBS; i++) {
		cr_assert_eq(j[i].calls, 1, "job %d: %d calls", i, j[i].calls);
		cr_assert_eq(j[i].r, j[i].p.fail ? TSS_E_VALIDATION : 0,
		    "job %d: %d", i, j[i].r);
		cr_assert_eq(store_get(t, STORE_DB_META, &j[i].p.key,
		    sizeof(j[i].p.key), &v, &vl), j[i].p.fail ?
		    TSS_E_NOT_FOUND : 0, "job %d", i);
	}
	store_abort(t);
	free(j);
}

static struct cert_record
sample(uint64_t serial, char *user, int64_t before)
{
	static char *principals[] = { "app@prod/api", "root@prod/db" };
	struct cert_record c = {
		.serial = serial, .username = user,
		.fingerprint = "SHA256:abc", .target = "prod/api",
		.principals = principals, .n_principals = 2,
		.valid_after = 700, .valid_before = before, .issued_at = 1000,
		.certificate = "ssh-ed25519-cert-v01@openssh.com AAAA",
	};
	return c;
}

static void
put(uint64_t serial, char *user, int64_t before)
{
	struct cert_record c = sample(serial, user, before);
	struct store_txn *t;

	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(certs_put(t, &c), 0);
	cr_assert_eq(store_commit(t), 0);
}

Test(certs, put_get_round_trip_and_serial_reuse_refused)
{
	struct cert_record c = sample(7, "alice", 5000), got;
	struct store_txn *t;

	put(7, "alice", 5000);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(certs_get(t, 7, &got), 0);
	cr_expect_eq(got.serial, 7);
	cr_expect_str_eq(got.username, "alice");
	cr_expect_eq(got.n_principals, 2);
	cr_expect_str_eq(got.principals[1], "root@prod/db");
	cr_expect_eq(got.valid_before, 5000);
	cr_expect_eq(got.revoked_at, 0);
	cert_record_free(&got);
	cr_expect_eq(certs_put(t, &c), TSS_E_CONFLICT);
	cr_expect_eq(certs_get(t, 8, &got), TSS_E_NOT_FOUND);
	store_abort(t);
}

static json_t *
list(struct store_txn *t, const struct certs_filter *f, uint64_t *next)
{
	json_t *l = NULL;

	cr_assert_eq(certs_list(t, f, 1000, &l, next), 0);
	return l;
}

static uint64_t
serial_at(json_t *l, size_t i)
{
	return (uint64_t)json_integer_value(json_object_get(json_array_get(l,
	    i), "serial"));
}

Test(certs, list_newest_first_per_user_and_all)
{
	struct store_txn *t;
	uint64_t next;
	json_t *l;

	put(1, "alice", 5000);
	put(2, "bob", 5000);
	put(3, "alice", 5000);
	put(4, "alicia", 5000);
	cr_assert_eq(store_begin(st, 0, &t), 0);
	l = list(t, &(struct certs_filter){ .username = "alice" }, &next);
	cr_assert_eq(json_array_size(l), 2);
	cr_expect_eq(serial_at(l, 0), 3);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(l, 0),
	    "key_id")), "alice:3");
	cr_expect_eq(next, 0);
	json_decref(l);
	l = list(t, &(struct certs_filter){ .limit = 3 }, &next);
	cr_assert_eq(json_array_size(l), 3);
	cr_expect_eq(serial_at(l, 0), 4);
	cr_expect_eq(serial_at(l, 2), 2);
	cr_expect_eq(next, 2);
	json_decref(l);
	l = list(t, &(struct certs_filter){ .username = "nobody" }, &next);
	cr_expect_eq(json_array_size(l), 0);
	json_decref(l);
	store_abort(t);
}

/* Serials an hour and a half apart, as the clock makes them: each in a
 * window of its own, so paging walks many windows. */
#define SPREAD(i)	((((uint64_t)1796000000 + (uint64_t)(i) * 5400) << 20) + \
	(uint64_t)(i))

Test(certs, list_filters_and_keyset_pages_across_windows)
{
	struct store_txn *t;
	uint64_t next, before = 0, seen[12];
	size_t n = 0, i;
	json_t *l;

	/* Odd ones alice's; 0-3 expired at 1000; 4 and 7 revoked. */
	for (i = 0; i < 12; i++)
		put(SPREAD(i), i % 2 ? "alice" : "bob", i < 4 ? 900 : 5000);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_assert_eq(certs_revoke(t, SPREAD(4), 950), 0);
	cr_assert_eq(certs_revoke(t, SPREAD(7), 950), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_begin(st, 0, &t), 0);

	/* Pages of 5 by before=next: every serial once, newest first. */
	do {
		l = list(t, &(struct certs_filter){ .limit = 5,
		    .before = before }, &next);
		for (i = 0; i < json_array_size(l); i++) {
			cr_assert_lt(n, 12);
			seen[n++] = serial_at(l, i);
		}
		cr_assert(next == 0 || next == seen[n - 1]);
		json_decref(l);
		before = next;
	} while (next != 0);
	cr_assert_eq(n, 12);
	for (i = 0; i < 12; i++)
		cr_expect_eq(seen[i], SPREAD(11 - i), "page order at %zu", i);

	l = list(t, &(struct certs_filter){ .username = "alice",
	    .before = SPREAD(9) }, &next);
	cr_assert_eq(json_array_size(l), 4);	/* 7, 5, 3, 1 */
	cr_expect_eq(serial_at(l, 0), SPREAD(7));
	cr_expect_eq(serial_at(l, 3), SPREAD(1));
	json_decref(l);
	l = list(t, &(struct certs_filter){ .state = "revoked" }, &next);
	cr_assert_eq(json_array_size(l), 2);
	cr_expect_eq(serial_at(l, 0), SPREAD(7));
	cr_expect_eq(serial_at(l, 1), SPREAD(4));
	json_decref(l);
	l = list(t, &(struct certs_filter){ .state = "expired",
	    .username = "bob" }, &next);
	cr_assert_eq(json_array_size(l), 2);	/* 2, 0 */
	cr_expect_eq(serial_at(l, 0), SPREAD(2));
	json_decref(l);
	l = list(t, &(struct certs_filter){ .state = "valid", .limit = 2 },
	    &next);
	cr_assert_eq(json_array_size(l), 2);	/* 11, 10; then 9 ... */
	cr_expect_eq(serial_at(l, 1), SPREAD(10));
	cr_expect_eq(next, SPREAD(10));
	json_decref(l);
	/* A principal's target, whole: prod/db is one, prod is none. */
	l = list(t, &(struct certs_filter){ .target = "prod/db" }, &next);
	cr_expect_eq(json_array_size(l), 12);
	json_decref(l);
	l = list(t, &(struct certs_filter){ .target = "prod" }, &next);
	cr_expect_eq(json_array_size(l), 0);
	cr_expect_eq(next, 0);
	json_decref(l);
	store_abort(t);
}

Test(certs, a_rare_filter_reads_a_bounded_share_and_says_where_to_go_on)
{
	struct store_txn *t;
	struct cert_record c;
	uint64_t next, before = 0, found = 0, i, n = CERTS_LIST_SCAN + 1000;
	size_t pages = 0;
	json_t *l;

	/* One certificate every 86 s; only the oldest is revoked. */
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < n; i++) {
		c = sample(SPREAD(0) + ((i * 86) << 20) + i, "bob", 5000);
		cr_assert_eq(certs_put(t, &c), 0);
	}
	cr_assert_eq(certs_revoke(t, SPREAD(0), 950), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(store_begin(st, 0, &t), 0);
	do {
		l = list(t, &(struct certs_filter){ .state = "revoked",
		    .before = before }, &next);
		if (json_array_size(l) > 0) {
			cr_assert_eq(json_array_size(l), 1);
			found = serial_at(l, 0);
		} else
			cr_assert_neq(next, 0, "an empty page ends the walk "
			    "only when nothing is left");
		cr_assert(next == 0 || before == 0 || next < before);
		json_decref(l);
		before = next;
		cr_assert_lt(++pages, 50);
	} while (next != 0);
	cr_expect_eq(found, SPREAD(0));
	cr_expect_geq(pages, 2, "all %llu records read in one request",
	    (unsigned long long)n);
	store_abort(t);
}

Test(certs, revoke_once_and_krl_set_skips_expired)
{
	struct store_txn *t;
	uint64_t *serials;
	int64_t changed;
	size_t n, count;

	put(1, "alice", 5000);
	put(2, "alice", 1500);	/* expires before the KRL time below */
	put(3, "alice", 5000);
	put(4, "bob", 5000);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	cr_expect_eq(certs_revoke(t, 9, 1000), TSS_E_NOT_FOUND);
	cr_assert_eq(certs_revoke(t, 3, 1000), 0);
	cr_expect_eq(certs_revoke(t, 3, 1001), TSS_E_CONFLICT);
	cr_assert_eq(certs_revoke_user(t, "alice", 1000, &count), 0);
	cr_expect_eq(count, 2);		/* 1 and 2; 3 was already revoked */
	cr_assert_eq(store_commit(t), 0);

	cr_assert_eq(store_begin(st, 0, &t), 0);
	cr_assert_eq(certs_revoked_serials(t, 2000, &serials, &n, &changed),
	    0);
	cr_assert_eq(n, 2);
	cr_expect_eq(serials[0], 1);
	cr_expect_eq(serials[1], 3);
	/* The list last changed when serial 2 expired out of it. */
	cr_expect_eq(changed, 1500);
	free(serials);
	cr_assert_eq(certs_revoked_serials(t, 1200, &serials, &n, &changed),
	    0);
	cr_expect_eq(n, 3);
	cr_expect_eq(changed, 1000, "the revocations' time");
	free(serials);
	store_abort(t);
}

Test(serials, unique_increasing_and_above_the_clock)
{
	struct serials *sa;
	uint64_t a, b, c;

	cr_assert_eq(serials_new(st, &sa), 0);
	cr_assert_eq(serials_take(sa, 1000, &a), 0);
	cr_assert_eq(serials_take(sa, 1000, &b), 0);
	cr_expect_gt(a, 1000ULL << 20);
	cr_expect_eq(b, a + 1);
	serials_free(sa);

	/* A restart reserves a fresh block above the last one. */
	cr_assert_eq(serials_new(st, &sa), 0);
	cr_assert_eq(serials_take(sa, 1000, &c), 0);
	cr_expect_gt(c, b);
	serials_free(sa);
}

/* Across blocks (1024 a block, the next reserved ahead), serials only
 * increase, and a new instance's start above all of them. */
Test(serials, increase_across_blocks)
{
	struct serials *sa;
	uint64_t prev = 0, s = 0;
	int i;

	cr_assert_eq(serials_new(st, &sa), 0);
	for (i = 0; i < 3000; i++) {
		cr_assert_eq(serials_take(sa, 1000, &s), 0);
		cr_assert_gt(s, prev, "serial %d: %llu after %llu", i,
		    (unsigned long long)s, (unsigned long long)prev);
		prev = s;
	}
	serials_free(sa);
	cr_assert_eq(serials_new(st, &sa), 0);
	cr_assert_eq(serials_take(sa, 1000, &s), 0);
	cr_expect_gt(s, prev);
	serials_free(sa);
}

/*
 * Two instances (two allocators on one store): within a second their
 * serials interleave, but every serial taken in a later second, on
 * either, is above every one taken before it, even when the earlier
 * second's blocks are far from used up.
 */
Test(serials, a_later_second_is_above_every_instance)
{
	struct serials *a, *b;
	uint64_t sa0, sb0, sa1, sb1, s;
	int i;

	cr_assert_eq(serials_new(st, &a), 0);
	cr_assert_eq(serials_new(st, &b), 0);
	cr_assert_eq(serials_take(a, 1000, &sa0), 0);
	cr_assert_eq(serials_take(b, 1000, &sb0), 0);
	cr_expect_neq(sa0, sb0);
	for (i = 0; i < 10; i++) {
		cr_assert_eq(serials_take(a, 1000, &s), 0);
		cr_assert_lt(s, 1001ULL << 20);
	}
	cr_assert_eq(serials_take(b, 1001, &sb1), 0);
	cr_assert_eq(serials_take(a, 1001, &sa1), 0);
	cr_expect_geq(sa1, 1001ULL << 20, "a's block of second 1000 served "
	    "in 1001");
	cr_expect_geq(sb1, 1001ULL << 20);
	cr_expect_gt(sa1, s);
	cr_expect_neq(sa1, sb1);
	/* A clock that went back still gets serials above all. */
	cr_assert_eq(serials_take(a, 999, &s), 0);
	cr_expect_gt(s, sa1 > sb1 ? sa1 : sb1);
	serials_free(a);
	serials_free(b);
}

Test(serials, restored_older_store_still_moves_forward)
{
	struct store *old;
	struct serials *sa;
	char olddir[256];
	uint64_t before, after;

	/* Serials issued at t=1000 on this store ... */
	cr_assert_eq(serials_new(st, &sa), 0);
	cr_assert_eq(serials_take(sa, 1000, &before), 0);
	serials_free(sa);
	/* ... then an older (here: empty) store is put back at t=1001. */
	cr_assert_eq(tmpdir_make(olddir, sizeof(olddir)), 0);
	cr_assert_eq(store_open(olddir, NULL, &old), 0);
	cr_assert_eq(serials_new(old, &sa), 0);
	cr_assert_eq(serials_take(sa, 1001, &after), 0);
	cr_expect_gt(after, before);
	serials_free(sa);
	store_close(old);
	tmpdir_remove(olddir);
}
