/* Group commit on a dedicated committer thread. */
#include <pthread.h>
#include <stdlib.h>

#include "commit.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"

#define BATCH_MAX	256

struct job {
	commit_fn fn;
	void *arg;
	commit_done_fn done;
	int r;
	struct job *next;
};

struct commit_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* the committer waits for work */
	struct job *head, **tail;
	int stop;
	pthread_t thread;
	struct store *s;
	void (*after)(void *);
	void *after_arg;
};

/* Run jobs [first, stop) in one transaction; 0 when all committed. */
static int
run_batch(struct commit_queue *q, struct job *first, struct job *stop)
{
	struct store_txn *t = NULL;
	struct job *j;
	int r, attempt;

	/* A full map fails a put or the commit; the next begin grows the
	 * map: retry once. */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((r = store_begin(q->s, 1, &t)) != 0)
			return r;
		for (j = first; j != stop; j = j->next) {
			if ((r = j->r = j->fn(t, j->arg)) != 0)
				break;
		}
		if (r != 0)
			store_abort(t);
		else
			r = store_commit(t);
		if (r != TSS_E_STORE_FULL)
			break;
	}
	return r;
}

static void
lead(struct commit_queue *q, struct job *batch)
{
	struct job *j;
	int r;

	/* The store unavailable (PostgreSQL unreachable, its write lock not
	 * had in store_timeout) is no job's fault: one at a time, each job
	 * would wait as long again. */
	if ((r = run_batch(q, batch, NULL)) != 0 && r != TSS_E_UNAVAILABLE &&
	    batch->next != NULL) {
		/* Something failed: give every job its own transaction. */
		for (j = batch; j != NULL; j = j->next)
			j->r = run_batch(q, j, j->next);
	} else {
		for (j = batch; j != NULL; j = j->next)
			j->r = r;
	}
	if (q->after != NULL)
		q->after(q->after_arg);
}

/*
 * The batch ending at last failed because the store was unavailable,
 * after waiting up to store_timeout for the write lock.  The jobs queued
 * meanwhile have waited through that: they fail with it (after last)
 * rather than wait as long again, so no request waits much longer than
 * store_timeout however long the lock stays out of reach.
 */
static void
fail_waiting(struct commit_queue *q, struct job *last)
{
	struct job *j;

	pthread_mutex_lock(&q->mu);
	last->next = q->head;
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_unlock(&q->mu);
	for (j = last->next; j != NULL; j = j->next)
		j->r = TSS_E_UNAVAILABLE;
}

static void *
committer(void *arg)
{
	struct commit_queue *q = arg;
	struct job *batch, *last, *j, *next;
	int n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->head == NULL)
			break;
		/* Take up to BATCH_MAX queued jobs. */
		batch = last = q->head;
		for (n = 1; n < BATCH_MAX && last->next != NULL; n++)
			last = last->next;
		q->head = last->next;
		if (q->head == NULL)
			q->tail = &q->head;
		last->next = NULL;
		pthread_mutex_unlock(&q->mu);

		lead(q, batch);
		if (batch->r == TSS_E_UNAVAILABLE)
			fail_waiting(q, last);
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			j->done(j->arg, j->r);
			free(j);
		}
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
commit_queue_new(struct store *s, void (*after)(void *), void *after_arg,
    struct commit_queue **out)
{
	struct commit_queue *q;

	*out = NULL;
	if ((q = mem_calloc(1, sizeof(*q))) == NULL)
		return TSS_E_NOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->tail = &q->head;
	q->s = s;
	q->after = after;
	q->after_arg = after_arg;
	if (pthread_create(&q->thread, NULL, committer, q) != 0) {
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q);
		return TSS_E_NOMEM;
	}
	pthread_setname_np(q->thread, "tss-commit");
	*out = q;
	return 0;
}

void
commit_queue_free(struct commit_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

int
commit_submit(struct commit_queue *q, commit_fn fn, commit_done_fn done,
    void *arg)
{
	struct job *j;
	int idle;

	if ((j = mem_calloc(1, sizeof(*j))) == NULL)
		return TSS_E_NOMEM;
	j->fn = fn;
	j->arg = arg;
	j->done = done;
	pthread_mutex_lock(&q->mu);
	idle = q->head == NULL;
	*q->tail = j;
	q->tail = &j->next;
	if (idle)
		pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t
commit_queued(struct commit_queue *q)
{
	struct job *j;
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	for (j = q->head; j != NULL; j = j->next)
		n++;
	pthread_mutex_unlock(&q->mu);
	return n;
}

/* commit_run: the caller's function and its wait, on the caller's stack. */
struct waiter {
	commit_fn fn;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int r;
};

static int
run_fn(struct store_txn *t, void *arg)
{
	struct waiter *w = arg;

	return w->fn(t, w->arg);
}

static void
wake(void *arg, int r)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->r = r;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int
commit_run(struct commit_queue *q, commit_fn fn, void *arg)
{
	struct waiter w = { .fn = fn, .arg = arg };
	int r;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if ((r = commit_submit(q, run_fn, wake, &w)) == 0) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		r = w.r;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return r;
}
