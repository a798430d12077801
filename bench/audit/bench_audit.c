/*
 * Audit query benchmark: a real broker (the tests' fixture) whose trail
 * holds AUDIT_BENCH_EVENTS events (default 1,000,000: 20 actors, 8
 * actions, 1,000 objects), then GET /v1/audit's use case
 * (broker_audit_list) timed per answer for the first page, later pages
 * by keyset and filtered pages; p50/p99/max over repeated runs.  The HTTP
 * layer is not in the figure (docs/performance.md).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "broker/broker.h"
#include "common/err.h"
#include "fixture.h"
#include "store/store.h"

#define BATCH	20000
#define RUNS	200

static struct fixture fx;
static const struct caller root = { .username = "root", .perms = UINT32_MAX };
static const char *const actions[] = { "login.ok", "login.fail",
    "cert.issue", "cert.revoke", "role.put", "binding.create",
    "user.reset", "target.put" };

struct fill {
	uint64_t from, n;
	int64_t now;
};

static int
fill_batch(struct store_txn *t, void *arg)
{
	const struct fill *f = arg;
	struct audit_actor by = { .remote_addr = "192.0.2.7" };
	char actor[16], object[32];
	uint64_t i;
	int r;

	for (i = f->from; i < f->from + f->n; i++) {
		snprintf(actor, sizeof(actor), "user%02u", (unsigned)(i % 20));
		snprintf(object, sizeof(object), "prod/svc%u",
		    (unsigned)(i % 1000));
		by.name = actor;
		if ((r = audit_record(t, &by, actions[i % 8], object, "ok",
		    NULL, f->now + (int64_t)(i / 100), NULL)) != 0)
			return r;
	}
	return 0;
}

static uint64_t
ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
timed(const char *label, const struct broker_audit_q *q, size_t want)
{
	uint64_t t[RUNS], a;
	json_t *out;
	char err[256];
	size_t i, got = 0;

	for (i = 0; i < RUNS; i++) {
		a = ns();
		cr_assert_eq(broker_audit_list(fx.b, &root, q, &out, err,
		    sizeof(err)), 0, "%s", err);
		t[i] = ns() - a;
		got = json_array_size(json_object_get(out, "events"));
		json_decref(out);
	}
	cr_assert_eq(got, want, "%s: %zu events", label, got);
	qsort(t, RUNS, sizeof(t[0]), cmp);
	printf("| %s | %zu | %.2f | %.2f | %.2f |\n", label, got,
	    t[RUNS / 2] / 1e6, t[RUNS * 99 / 100] / 1e6, t[RUNS - 1] / 1e6);
}

Test(bench, audit_query_over_a_million_events, .timeout = 1200)
{
	struct broker_audit_q q;
	struct fill f;
	const char *e = getenv("AUDIT_BENCH_EVENTS");
	uint64_t n = e != NULL ? strtoull(e, NULL, 10) : 1000000, a;
	char before[32], after[32], since[32];
	int64_t retry;
	json_t *out;

	fixture_open(&fx, NULL, 3600);
	a = ns();
	f.now = fx.now - (int64_t)(n / 100) - 10;
	for (f.from = 0; f.from < n; f.from += f.n) {
		f.n = n - f.from < BATCH ? n - f.from : BATCH;
		cr_assert_eq(store_write(fx.b->store, fill_batch, &f), 0);
	}
	printf("%llu events written in %.1f s\n\n", (unsigned long long)n,
	    (ns() - a) / 1e9);
	printf("| query (limit 100 unless said) | events | p50 ms | p99 ms | "
	    "max ms |\n|---|---|---|---|---|\n");
	memset(&q, 0, sizeof(q));
	q.order = "newest";
	timed("newest first, first page", &q, 100);
	snprintf(before, sizeof(before), "%llu",
	    (unsigned long long)(n / 2));
	q.before = before;
	timed("newest first, page at before=n/2", &q, 100);
	q.before = "1001";
	timed("newest first, page at before=1001", &q, 100);
	q.before = NULL;
	q.limit = "1000";
	timed("newest first, first page, limit 1000", &q, 1000);
	q.limit = NULL;
	memset(&q, 0, sizeof(q));
	snprintf(after, sizeof(after), "%llu",
	    (unsigned long long)(n - 1000));
	q.after = after;
	timed("oldest first, page at after=n-1000", &q, 100);
	memset(&q, 0, sizeof(q));
	q.order = "newest";
	q.actor = "user07";
	timed("actor filter (1 in 20), first page", &q, 100);
	q.before = before;
	q.action = "cert.";
	timed("actor + action prefix (1 in 20 of them), before=n/2", &q,
	    100);
	memset(&q, 0, sizeof(q));
	q.order = "newest";
	q.object = "prod/svc999";
	q.actor = "user19";
	timed("object + actor (1 in 1000), first page: scan budget", &q,
	    BROKER_AUDIT_SCAN / 1000);
	cr_assert_eq(broker_audit_list(fx.b, &root, &q, &out, before, 32), 0);
	cr_assert(json_is_integer(json_object_get(out, "next")));
	json_decref(out);
	memset(&q, 0, sizeof(q));
	q.order = "newest";
	cr_assert_eq(audit_time_text(f.now + (int64_t)(n / 200), since), 0);
	q.until = since;
	q.action = "login.fail";
	timed("action + until (from the middle)", &q, 100);

	a = ns();
	cr_assert_eq(broker_audit_verify(fx.b, &root, fx.now, &out, &retry,
	    before, 32), 0);
	cr_assert(json_is_true(json_object_get(out, "ok")));
	printf("\nGET /v1/audit/verify over %llu events: %.2f s\n",
	    (unsigned long long)json_integer_value(json_object_get(out,
	    "count")), (ns() - a) / 1e9);
	json_decref(out);
	fixture_close(&fx);
}
