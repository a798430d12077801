/*
 * The audit sink's threads.  The sink (file, stderr or syslog) is written
 * by its own thread: a slow SIEM pipe must not hold up the committer, and
 * with it every issuance.  Commits (broker_audit_wake, the group commit's
 * after-hook), tesserad's tick and the time of the next audit checkpoint
 * wake it; on a shared store, so does another instance's commit.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "audit/audit.h"
#include "broker/broker.h"
#include "common/err.h"
#include "store/store.h"

/*
 * At most one flush every SINK_SPACING_NS: each flush is a read
 * transaction, and under load one read carries the events of many
 * commits, this instance's and (on a shared store) the others'.
 */
#define SINK_SPACING_NS	10000000L

/* Wait out the spacing after a flush; only a stop ends it early. */
static void
sink_space(struct broker *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += SINK_SPACING_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!b->sink_stop &&
	    pthread_cond_timedwait(&b->sink_cv, &b->sink_mu, &ts) != ETIMEDOUT)
		;
}

static void *
sink_main(void *arg)
{
	struct broker *b = arg;
	struct timespec ts;
	int64_t due;
	int timed, stop;

	pthread_mutex_lock(&b->sink_mu);
	for (;;) {
		timed = 0;
		while (!b->sink_pending && !b->sink_stop && !timed) {
			if ((due = audit_sink_due(b->sink)) == INT64_MAX) {
				pthread_cond_wait(&b->sink_cv, &b->sink_mu);
				continue;
			}
			ts.tv_sec = (time_t)due;
			ts.tv_nsec = 0;
			timed = pthread_cond_timedwait(&b->sink_cv,
			    &b->sink_mu, &ts) == ETIMEDOUT;
		}
		if (!b->sink_pending && !timed)
			break;
		stop = b->sink_stop;
		b->sink_pending = 0;
		pthread_mutex_unlock(&b->sink_mu);
		/* The last flush also signs what is still unsigned. */
		audit_sink_flush_at(b->sink, b->store, (int64_t)time(NULL),
		    stop ? AUDIT_SINK_FINAL : 0);
		pthread_mutex_lock(&b->sink_mu);
		if (!stop)
			sink_space(b);
	}
	pthread_mutex_unlock(&b->sink_mu);
	return NULL;
}

/*
 * On a store other instances write (PostgreSQL), their commits arrive as
 * notifications; each wakes the sink, so every instance streams the whole
 * chain within moments.  tesserad's tick wakes it every second as well,
 * which is all there is while notifications cannot be had.
 */
#define WATCH_WAIT_MS	1000

static void *
watch_main(void *arg)
{
	struct broker *b = arg;
	int r;

	while (!atomic_load(&b->watch_stop)) {
		r = store_wait_change(b->store, WATCH_WAIT_MS);
		if (r == 0)
			broker_audit_flush(b);
		else if (r == TSS_E_UNSUPPORTED)
			break;
		else if (r != TSS_E_BUSY)
			(void)poll(NULL, 0, WATCH_WAIT_MS);
	}
	return NULL;
}

void
broker_audit_wake(void *arg)
{
	broker_audit_flush(arg);
}

void
broker_audit_flush(struct broker *b)
{
	if (!b->sink_running)
		return;
	pthread_mutex_lock(&b->sink_mu);
	b->sink_pending = 1;
	pthread_cond_signal(&b->sink_cv);
	pthread_mutex_unlock(&b->sink_mu);
}

void
broker_audit_stop(struct broker *b)
{
	if (b->watch_running) {
		atomic_store(&b->watch_stop, 1);
		pthread_join(b->watch_thread, NULL);
		b->watch_running = 0;
	}
	if (!b->sink_running)
		return;
	pthread_mutex_lock(&b->sink_mu);
	b->sink_pending = 1;
	b->sink_stop = 1;
	pthread_cond_signal(&b->sink_cv);
	pthread_mutex_unlock(&b->sink_mu);
	pthread_join(b->sink_thread, NULL);
	b->sink_running = 0;
}

int
broker_audit_start(struct broker *b)
{
	pthread_mutex_init(&b->sink_mu, NULL);
	pthread_cond_init(&b->sink_cv, NULL);
	b->sink_init = 1;
	if (b->sink == NULL)
		return 0;
	if (pthread_create(&b->sink_thread, NULL, sink_main, b) != 0)
		return TSS_E_NOMEM;
	pthread_setname_np(b->sink_thread, "tss-audit");
	b->sink_running = 1;
	if (!store_location_is_pg(b->cfg.store))
		return 0;
	if (pthread_create(&b->watch_thread, NULL, watch_main, b) != 0)
		return TSS_E_NOMEM;
	pthread_setname_np(b->watch_thread, "tss-watch");
	b->watch_running = 1;
	return 0;
}
