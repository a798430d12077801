/*
 * The holder: the published snapshot, rebuilt when the policy generation
 * moves.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"

/* ---- the holder ---- */

struct rbac {
	struct store *st;
	int64_t cert_max_ttl;
	pthread_rwlock_t lock;		/* guards cur (load/swap only) */
	pthread_mutex_t rebuild;	/* one rebuild at a time */
	struct rbac_snap *cur;
};

int
rbac_open(struct store *st, int64_t cert_max_ttl, struct rbac **out)
{
	struct rbac *r;

	*out = NULL;
	if (st == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = mem_calloc(1, sizeof(*r))) == NULL)
		return TSS_E_NOMEM;
	r->st = st;
	r->cert_max_ttl = cert_max_ttl;
	if (pthread_rwlock_init(&r->lock, NULL) != 0) {
		free(r);
		return TSS_E_INTERNAL;
	}
	if (pthread_mutex_init(&r->rebuild, NULL) != 0) {
		pthread_rwlock_destroy(&r->lock);
		free(r);
		return TSS_E_INTERNAL;
	}
	*out = r;
	return 0;
}

void
rbac_close(struct rbac *r)
{
	if (r == NULL)
		return;
	rbac_snap_release(r->cur);
	pthread_mutex_destroy(&r->rebuild);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

/* A reference to the published snapshot if it is of generation gen. */
static struct rbac_snap *
current_if(struct rbac *r, uint64_t gen)
{
	struct rbac_snap *s = NULL;

	pthread_rwlock_rdlock(&r->lock);
	if (r->cur != NULL && r->cur->gen == gen)
		s = snap_ref(r->cur);
	pthread_rwlock_unlock(&r->lock);
	return s;
}

struct rbac_snap *
rbac_published(struct rbac *r)
{
	struct rbac_snap *s = NULL;

	pthread_rwlock_rdlock(&r->lock);
	if (r->cur != NULL)
		s = snap_ref(r->cur);
	pthread_rwlock_unlock(&r->lock);
	return s;
}

int
rbac_acquire(struct rbac *r, struct rbac_snap **out)
{
	struct store_txn *t = NULL;
	struct rbac_snap *s = NULL, *old;
	uint64_t gen;
	int rv = TSS_E_INTERNAL, locked = 0;

	*out = NULL;
	if (r == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rv = store_begin(r->st, 0, &t)) != 0 ||
	    (rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	if ((s = current_if(r, gen)) != NULL)
		goto done;
	store_abort(t);
	t = NULL;
	pthread_mutex_lock(&r->rebuild);
	locked = 1;
	/*
	 * Begin afresh under the mutex: any snapshot published meanwhile came
	 * from an older or equal transaction, so ours is never older.
	 */
	if ((rv = store_begin(r->st, 0, &t)) != 0 ||
	    (rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	if ((s = current_if(r, gen)) != NULL)
		goto done;
	if ((rv = rbac_snap_load(t, r->cert_max_ttl, &s)) != 0)
		goto out;
	pthread_rwlock_wrlock(&r->lock);
	old = r->cur;
	r->cur = snap_ref(s);
	pthread_rwlock_unlock(&r->lock);
	rbac_snap_release(old);
	log_debug("rbac: snapshot of policy generation %llu built",
	    (unsigned long long)gen);
 done:
	*out = s;
	rv = 0;
 out:
	if (locked)
		pthread_mutex_unlock(&r->rebuild);
	store_abort(t);
	return rv;
}

int
rbac_current(struct rbac *r, struct store_txn *t, struct rbac_snap **out)
{
	uint64_t gen;
	int rv;

	*out = NULL;
	if (r == NULL || t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		return rv;
	*out = current_if(r, gen);
	return 0;
}

int
rbac_acquire_txn(struct rbac *r, struct store_txn *t, struct rbac_snap **out)
{
	int rv;

	if ((rv = rbac_current(r, t, out)) != 0 || *out != NULL)
		return rv;
	return rbac_snap_load(t, r->cert_max_ttl, out);
}

int
rbac_check(struct rbac *r, const char *user, const char *const *groups,
    size_t n_groups, const char *target, const char *login, int64_t now,
    int *allowed, char *reason, size_t len)
{
	struct rbac_decision d;
	struct rbac_snap *s = NULL;
	int rv;

	*allowed = 0;
	if ((rv = rbac_acquire(r, &s)) != 0) {
		if (reason != NULL && len > 0)
			(void)snprintf(reason, len, "denied: store error");
		return rv;
	}
	rv = rbac_decide(s, user, groups, n_groups, target, login, now, &d);
	rbac_reason_format(&d, target, login, reason, len);
	*allowed = rv == 0;
	rbac_snap_release(s);
	return 0;
}
