/*
 * commit: group commit for write transactions.  Many threads call
 * commit_run() at once; one of them becomes the leader, runs every queued
 * job in one LMDB write transaction and commits it (one durable sync for
 * the whole batch), then wakes the others.  A job whose function fails is
 * retried alone, so one bad job never sinks its neighbours.
 *
 * A job's function must do all its work through the transaction it is
 * given and return 0 or a TSS_E_* code; it may run more than once (on a
 * retry), so it must not have effects outside the transaction.
 */
#ifndef TSS_COMMIT_H
#define TSS_COMMIT_H

struct store;
struct store_txn;
struct commit_queue;

typedef int (*commit_fn)(struct store_txn *t, void *arg);

/* after (may be NULL) runs in the leader after each successful commit. */
int commit_queue_new(struct store *s, void (*after)(void *), void *after_arg,
    struct commit_queue **out);
void commit_queue_free(struct commit_queue *q);	/* no job may be running */

/* Run fn(txn, arg) in a committed write transaction; returns fn's result,
 * or the commit's. */
int commit_run(struct commit_queue *q, commit_fn fn, void *arg);

#endif
