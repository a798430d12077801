/* Leader/follower group commit over store transactions. */
#include <pthread.h>
#include <stdlib.h>

#include "commit.h"
#include "common/err.h"
#include "store/store.h"

#define BATCH_MAX	256

/*
 * A job waits on its own condition variable, so finishing a batch wakes
 * exactly the jobs in it (plus the one that is to lead next), not every
 * waiter in the queue.
 */
struct job {
	commit_fn fn;
	void *arg;
	int r;
	int done;
	int lead;		/* told to lead the next batch */
	pthread_cond_t cv;
	struct job *next;
};

struct commit_queue {
	pthread_mutex_t mu;
	struct job *head, **tail;
	int leading;
	struct store *s;
	void (*after)(void *);
	void *after_arg;
};

int
commit_queue_new(struct store *s, void (*after)(void *), void *after_arg,
    struct commit_queue **out)
{
	struct commit_queue *q;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TSS_E_NOMEM;
	pthread_mutex_init(&q->mu, NULL);
	q->tail = &q->head;
	q->s = s;
	q->after = after;
	q->after_arg = after_arg;
	*out = q;
	return 0;
}

void
commit_queue_free(struct commit_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->mu);
	free(q);
}

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
lead(struct commit_queue *q, struct job *batch, struct job *stop)
{
	struct job *j, *next;
	int r;

	if ((r = run_batch(q, batch, stop)) != 0 && batch->next != stop) {
		/* Something failed: give every job its own transaction. */
		for (j = batch; j != stop; j = next) {
			next = j->next;
			j->r = run_batch(q, j, next);
		}
	} else {
		for (j = batch; j != stop; j = j->next)
			j->r = r;
	}
	if (q->after != NULL)
		q->after(q->after_arg);
}

int
commit_run(struct commit_queue *q, commit_fn fn, void *arg)
{
	struct job self = { .fn = fn, .arg = arg }, *batch, *stop, *j, *next;
	int n;

	pthread_cond_init(&self.cv, NULL);
	pthread_mutex_lock(&q->mu);
	*q->tail = &self;
	q->tail = &self.next;
	if (!q->leading) {
		q->leading = 1;
		self.lead = 1;
	}
	while (!self.lead && !self.done)
		pthread_cond_wait(&self.cv, &q->mu);
	if (!self.done) {
		/* Lead: take up to BATCH_MAX queued jobs, ours first. */
		batch = q->head;
		for (stop = batch, n = 0; stop != NULL && n < BATCH_MAX; n++)
			stop = stop->next;
		q->head = stop;
		if (stop == NULL)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->mu);

		lead(q, batch, stop);

		pthread_mutex_lock(&q->mu);
		for (j = batch; j != stop; j = next) {
			next = j->next;		/* j may return once done */
			j->done = 1;
			if (j != &self)
				pthread_cond_signal(&j->cv);
		}
		/* Hand the lead to the first job still queued, if any. */
		if (q->head != NULL) {
			q->head->lead = 1;
			pthread_cond_signal(&q->head->cv);
		} else {
			q->leading = 0;
		}
	}
	pthread_mutex_unlock(&q->mu);
	pthread_cond_destroy(&self.cv);
	return self.r;
}
