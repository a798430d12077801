/*
 * commit: group commit for write transactions.  One committer thread takes
 * every queued job, runs them in one LMDB write transaction and commits it
 * (one durable sync for the whole batch), then reports each job's result.
 * A job whose function fails is retried alone, so one bad job never sinks
 * its neighbours.
 *
 * A job's function must do all its work through the transaction it is
 * given and return 0 or a TSS_E_* code; it may run more than once (on a
 * retry), so it must not have effects outside the transaction.  It runs
 * on the committer thread, which it must not block on anything but the
 * store.
 */
#ifndef TSS_COMMIT_H
#define TSS_COMMIT_H

#include <stddef.h>

struct store;
struct store_txn;
struct commit_queue;

typedef int (*commit_fn)(struct store_txn *t, void *arg);
typedef void (*commit_done_fn)(void *arg, int r);

/* after (may be NULL) runs on the committer after each successful commit. */
int commit_queue_new(struct store *s, void (*after)(void *), void *after_arg,
    struct commit_queue **out);
/* Runs the jobs still queued, then stops the committer.  NULL harmless. */
void commit_queue_free(struct commit_queue *q);

/* Run fn(txn, arg) in a committed write transaction and wait for it;
 * returns fn's result, or the commit's. */
int commit_run(struct commit_queue *q, commit_fn fn, void *arg);

/*
 * The same without waiting: fn(txn, arg) runs in a batch, and done(arg, r)
 * is called exactly once, on the committer thread, when that batch has
 * committed (r == 0: durable) or failed.  done must be quick (the next
 * batch waits for it) and must not call commit_run (it would wait for
 * itself).
 * Returns 0 when queued; TSS_E_NOMEM otherwise (done is not called).
 */
int commit_submit(struct commit_queue *q, commit_fn fn, commit_done_fn done,
    void *arg);

/* Jobs queued and not yet taken into a batch (tests, diagnostics). */
size_t commit_queued(struct commit_queue *q);

#endif
