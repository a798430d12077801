/*
 * Threads and deferred answers: handlers that wait run on workers and
 * stall nobody; inline handlers answer meanwhile; a handler may defer its
 * answer and have another thread finish it, before or after it returned,
 * during a stop, or after its connection is gone.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "harness.h"

#define BLOCKERS	40	/* more than the server's workers */

static struct h H;

/* The gate blocking /block until the test opens it. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, blocked;

/* A deferred answer the test finishes itself. */
static struct web_later *held;

static struct web_resp *
ok_json(const char *what)
{
	return web_json(200, json_pack("{s:s}", "ok", what));
}

static struct web_resp *
inline_hello(const struct web_req *req, void *arg)
{
	return ok_json("inline");
}

static struct web_resp *
block(const struct web_req *req, void *arg)
{
	pthread_mutex_lock(&gate_mu);
	blocked++;
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	blocked--;
	pthread_mutex_unlock(&gate_mu);
	return ok_json("block");
}

static void *
finisher(void *arg)
{
	web_finish(arg, ok_json("later"));
	return NULL;
}

/* Defers and has a new thread finish: it races the handler's return. */
static struct web_resp *
later_thread(const struct web_req *req, void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, finisher, web_defer(req)) != 0)
		return NULL;
	pthread_detach(t);
	return NULL;
}

/* Finishes before returning. */
static struct web_resp *
later_now(const struct web_req *req, void *arg)
{
	web_finish(web_defer(req), ok_json("now"));
	return NULL;
}

/* Leaves the answer to the test; NULL answer: 500. */
static struct web_resp *
later_hold(const struct web_req *req, void *arg)
{
	__atomic_store_n(&held, web_defer(req), __ATOMIC_SEQ_CST);
	return NULL;
}

/* A worker handler may defer too. */
static struct web_resp *
worker_later(const struct web_req *req, void *arg)
{
	return later_thread(req, arg);
}

static const struct web_route routes[] = {
	{ "GET", "/inline", inline_hello, WEB_R_INLINE },
	{ "GET", "/block", block, 0 },
	{ "GET", "/later", later_thread, WEB_R_INLINE },
	{ "GET", "/now", later_now, WEB_R_INLINE },
	{ "GET", "/hold", later_hold, WEB_R_INLINE },
	{ "GET", "/worker-later", worker_later, 0 },
};

static void
setup(void)
{
	struct web_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.routes = routes;
	cfg.nroutes = sizeof(routes) / sizeof(routes[0]);
	cfg.per_ip_limit = 128;
	gate_open = 0;
	blocked = 0;
	held = NULL;
	h_init(&H);
	h_start(&H, &cfg);
}

static void
teardown(void)
{
	h_fini(&H);
}

TestSuite(web_later, .init = setup, .fini = teardown);

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Poll cond() every millisecond for at most 10 s. */
static int
wait_for(int (*cond)(void))
{
	struct timespec t0, ts = { 0, 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!cond() && ms_since(&t0) < 10000)
		nanosleep(&ts, NULL);
	return cond();
}

struct call {
	const char *path;
	struct res res;
};

static void *
call_thread(void *arg)
{
	struct call *c = arg;

	h_req(&H, "GET", c->path, NULL, NULL, 0, 0, &c->res);
	return NULL;
}

static void
assert_ok(const struct res *r, const char *what)
{
	char want[64];

	snprintf(want, sizeof(want), "{\"ok\":\"%s\"}", what);
	cr_assert_eq(r->status, 200, "status %ld: %s", r->status, r->body);
	cr_assert_str_eq(r->body, want);
	cr_assert(h_security_headers_ok(r, 1));
}

static int
workers_all_blocked(void)
{
	int n;

	pthread_mutex_lock(&gate_mu);
	n = blocked;
	pthread_mutex_unlock(&gate_mu);
	return n >= 32;
}

Test(web_later, blocked_workers_stall_no_inline_route)
{
	struct call *c;
	struct res r;
	pthread_t t[BLOCKERS];
	int i;

	cr_assert_not_null(c = calloc(BLOCKERS, sizeof(*c)));
	for (i = 0; i < BLOCKERS; i++) {
		c[i].path = "/block";
		cr_assert_eq(pthread_create(&t[i], NULL, call_thread, &c[i]), 0);
	}
	cr_assert(wait_for(workers_all_blocked), "workers never all blocked");
	/* Every worker waits, more requests are queued: inline answers. */
	h_req(&H, "GET", "/inline", NULL, NULL, 0, 0, &r);
	assert_ok(&r, "inline");
	h_req(&H, "GET", "/later", NULL, NULL, 0, 0, &r);
	assert_ok(&r, "later");
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	for (i = 0; i < BLOCKERS; i++) {
		pthread_join(t[i], NULL);
		assert_ok(&c[i].res, "block");
	}
	free(c);
}

Test(web_later, finished_before_or_after_the_handler_returns)
{
	struct res r;
	int i;

	for (i = 0; i < 200; i++) {
		h_req(&H, "GET", "/later", NULL, NULL, 0, 0, &r);
		assert_ok(&r, "later");
		h_req(&H, "GET", "/now", NULL, NULL, 0, 0, &r);
		assert_ok(&r, "now");
		h_req(&H, "GET", "/worker-later", NULL, NULL, 0, 0, &r);
		assert_ok(&r, "later");
	}
}

static int
held_set(void)
{
	return __atomic_load_n(&held, __ATOMIC_SEQ_CST) != NULL;
}

Test(web_later, null_answer_is_500)
{
	struct call c = { .path = "/hold" };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, call_thread, &c), 0);
	cr_assert(wait_for(held_set));
	web_finish(held, NULL);
	pthread_join(t, NULL);
	cr_assert_eq(c.res.status, 500);
}

static void *
stop_thread(void *arg)
{
	web_stop(arg);
	return NULL;
}

static int
stopping(void)
{
	return web_stopping(H.srv);
}

Test(web_later, stop_waits_for_a_deferred_answer)
{
	struct call c = { .path = "/hold" };
	pthread_t t, st;

	cr_assert_eq(pthread_create(&t, NULL, call_thread, &c), 0);
	cr_assert(wait_for(held_set));
	cr_assert_eq(pthread_create(&st, NULL, stop_thread, H.srv), 0);
	cr_assert(wait_for(stopping));
	web_finish(held, ok_json("later"));
	pthread_join(st, NULL);
	pthread_join(t, NULL);
	assert_ok(&c.res, "later");
}

/*
 * Past the stop's 5 s grace the connection is resumed and closed: the
 * client gets a 503 or, when the daemon closes it first, nothing.  The
 * late answer is dropped and freed (leak checkers see to that), nothing
 * crashes, and web_free() does not wait for ever.
 */
Test(web_later, answer_after_the_connection_closed_is_dropped,
    .timeout = 60)
{
	struct call c = { .path = "/hold" };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, call_thread, &c), 0);
	cr_assert(wait_for(held_set));
	web_stop(H.srv);
	pthread_join(t, NULL);
	web_finish(held, ok_json("too late"));
	cr_assert(c.res.status == 0 || c.res.status == 503, "got %ld: %s",
	    c.res.status, c.res.body);
	cr_assert(c.res.status == 0 ||
	    strstr(c.res.body, "\"unavailable\"") != NULL, "%s", c.res.body);
}
