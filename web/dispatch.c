/*
 * Where a handler runs (server.h, "Threads"): a worker pool takes it while
 * its connection is suspended; a handler may answer later (web_defer,
 * web_finish).  web__dispatch() (request.c) decides which.
 */
#include <pthread.h>

#include <microhttpd.h>

#include "common/err.h"
#include "common/log.h"
#include "web/internal.h"

/* ------------------------------------------------------------------ */
/* Answering later */

/*
 * A deferred request's connection is suspended ("parked") until
 * web_finish() hands over the answer; libmicrohttpd then calls on_access()
 * again, which sends it.  web_finish() may run on any thread, even before
 * the handler has returned: later_mu orders it against the parking, so
 * a connection is never resumed before it was suspended.  A connection
 * that closes while its answer is owed (only when the daemon stops) leaves
 * the request behind as an orphan, freed by the web_finish() that comes.
 */
/* Suspend the connection; later_mu held. */
static void
suspend_locked(struct web_req *req)
{
	struct web_server *s = req->s;

	MHD_suspend_connection(req->conn);
	req->parked = 1;
	req->park_prev = NULL;
	if ((req->park_next = s->parked) != NULL)
		s->parked->park_prev = req;
	s->parked = req;
}

/* Resume it; later_mu held. */
static void
resume_locked(struct web_req *req)
{
	struct web_server *s = req->s;

	if (req->park_prev != NULL)
		req->park_prev->park_next = req->park_next;
	else
		s->parked = req->park_next;
	if (req->park_next != NULL)
		req->park_next->park_prev = req->park_prev;
	req->park_prev = req->park_next = NULL;
	req->parked = 0;
	MHD_resume_connection(req->conn);
}

/*
 * The request whose handler this thread is running, and whether that
 * handler deferred.  A handler sees its request as const; web_defer()
 * changes the server's side of it (an answer is owed), and reaches it
 * through the pointer the server keeps here, not by casting const away
 * from the handler's.  Once a handler has deferred, its request may be
 * answered and freed before the handler even returns: whether it deferred
 * is kept here, not read from the request afterwards.
 */
static __thread struct web_req *running;
static __thread int deferred_here;

struct web_later *
web_defer(const struct web_req *creq)
{
	struct web_req *req = running;

	if (req == NULL || req != creq) {
		log_error("web: web_defer() called outside its handler");
		return NULL;
	}
	pthread_mutex_lock(&req->s->later_mu);
	req->waiting = 1;
	pthread_mutex_unlock(&req->s->later_mu);
	deferred_here = 1;
	return (struct web_later *)req;
}

/* Run req's handler on this thread; *deferred: it called web_defer(). */
struct web_resp *
web__call_handler(struct web_req *req, int *deferred)
{
	struct web_resp *resp;

	running = req;
	deferred_here = 0;
	resp = req->route->handler(req, req->s->arg);
	running = NULL;
	*deferred = deferred_here;
	return resp;
}

/* Hand over the answer; later_mu held. */
static void
finish_locked(struct web_req *req, struct web_resp *resp)
{
	struct web_server *s = req->s;

	if (req->orphan) {
		web_resp_free(resp);
		web__req_free(req);
		s->orphans--;
		pthread_cond_broadcast(&s->later_cv);
		return;
	}
	req->later = resp;
	req->finished = 1;
	req->waiting = 0;
	if (req->parked)
		resume_locked(req);
}

void
web_finish(struct web_later *later, struct web_resp *resp)
{
	struct web_req *req = (struct web_req *)later;
	struct web_server *s;

	if (req == NULL) {		/* web_defer() refused */
		web_resp_free(resp);
		return;
	}
	s = req->s;
	pthread_mutex_lock(&s->later_mu);
	finish_locked(req, resp);
	pthread_mutex_unlock(&s->later_mu);
}

/* Suspend the connection until web_finish(), unless it already ran. */
enum MHD_Result
web__park(struct web_req *req, struct web_resp *ignored)
{
	struct web_server *s = req->s;
	struct web_resp *resp;

	web_resp_free(ignored);		/* a deferring handler returns NULL */
	pthread_mutex_lock(&s->later_mu);
	if (!req->finished && !s->closing) {
		suspend_locked(req);
		pthread_mutex_unlock(&s->later_mu);
		return MHD_YES;
	}
	resp = req->later;
	req->later = NULL;
	pthread_mutex_unlock(&s->later_mu);
	if (resp == NULL && !req->finished)
		return web__send_error(req, 503, "unavailable",
		    "server stopping", 1);
	return web__send_resp(req, resp, 0);
}

static void
run_handler(struct web_req *req)
{
	struct web_resp *resp;
	int deferred;

	resp = web__call_handler(req, &deferred);
	if (!deferred)
		web_finish((struct web_later *)req, resp);
	else
		web_resp_free(resp);
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	struct web_req *req;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->head == NULL && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if ((req = p->head) == NULL)
			break;		/* stopping, and nothing left */
		if ((p->head = req->work_next) == NULL)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->mu);
		run_handler(req);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Park the connection and queue the handler for a worker of pool p. */
enum MHD_Result
web__hand_to_worker(struct web_req *req, struct pool *p)
{
	struct web_server *s = req->s;

	pthread_mutex_lock(&s->later_mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->later_mu);
		return web__send_error(req, 503, "unavailable",
		    "server stopping", 1);
	}
	req->waiting = 1;
	suspend_locked(req);
	pthread_mutex_lock(&p->mu);
	*p->tail = req;
	p->tail = &req->work_next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&s->later_mu);
	return MHD_YES;
}

/*
 * Before the daemon stops (it refuses to with connections suspended):
 * refuse what the workers did not get to, resume every connection still
 * waiting (unpark() answers 503 for those), and park nothing more.
 */
void
web__unpark_all(struct web_server *s)
{
	struct web_req *req, *next;
	size_t i;

	pthread_mutex_lock(&s->later_mu);
	s->closing = 1;
	for (i = 0; i < 2; i++) {
		pthread_mutex_lock(&s->pools[i].mu);
		req = s->pools[i].head;
		s->pools[i].head = NULL;
		s->pools[i].tail = &s->pools[i].head;
		pthread_mutex_unlock(&s->pools[i].mu);
		for (; req != NULL; req = next) {
			next = req->work_next;
			finish_locked(req, web_error(503, "unavailable",
			    "server stopping"));
		}
	}
	while (s->parked != NULL)
		resume_locked(s->parked);
	pthread_mutex_unlock(&s->later_mu);
}

/* ------------------------------------------------------------------ */
/* Worker pools */

int
web__pool_start(struct pool *p, unsigned n)
{
	pthread_attr_t attr;
	int r = 0;

	if (pthread_attr_init(&attr) != 0)
		return TSS_E_NOMEM;
	pthread_attr_setstacksize(&attr, (size_t)512 * 1024);
	for (p->n = 0; p->n < n; p->n++) {
		if (pthread_create(&p->threads[p->n], &attr, worker_main,
		    p) != 0) {
			r = TSS_E_NOMEM;
			break;
		}
		pthread_setname_np(p->threads[p->n], p->name);
	}
	pthread_attr_destroy(&attr);
	return r;
}

/* Run what is queued, then end the threads. */
static void
pool_stop(struct pool *p)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	p->n = 0;
}

void
web__workers_stop(struct web_server *s)
{
	pool_stop(&s->pools[POOL_WAIT]);
	pool_stop(&s->pools[POOL_CPU]);
}
