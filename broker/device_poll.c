/* Device authorization flow: single-use token polls, paced in memory
 * (device.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/token.h"
#include "auth/user.h"
#include "common/err.h"
#include "device.h"
#include "device_int.h"
#include "issue.h"
#include "store/store.h"

#define PACE_SLOTS	4096	/* pending requests paced at once */
#define PACE_PROBE	8

/* ---- poll pacing ---- */

/*
 * When each pending request was last polled and the interval it must
 * keep, in memory: a pending poll is a read transaction and nothing more,
 * so fast polling costs the store no write (it was one durable write per
 * poll, which queued every issuance behind it).  The table has a fixed
 * size; when a probe window is full, the slot of an expired request or
 * else the one polled longest ago is reused, and its request starts again
 * at DEVICE_INTERVAL: the per-address limit in front of the endpoint still
 * bounds what that gains.  One table for the process: slots are keyed by
 * the SHA-256 of a 256-bit random device code, so requests of different
 * stores never meet.  A restart forgets who was slowed down, nothing more.
 */
struct pace_slot {
	uint8_t key[TOKEN_HASH_LEN];
	uint8_t used;
	int64_t last;		/* time of the last poll */
	int64_t expires;	/* the request's; the slot is free after it */
	int64_t interval;	/* seconds the next poll must wait */
};

static struct {
	pthread_mutex_t mu;
	struct pace_slot s[PACE_SLOTS];
} pace = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int
pace_free(const struct pace_slot *c, int64_t now)
{
	return !c->used || now >= c->expires;
}

/*
 * Count a poll of the pending request key (expiring at expires) at now:
 * DEVICE_SLOW_DOWN when it came within the interval, which then grows by
 * DEVICE_SLOW_DOWN_STEP for every later poll (RFC 8628 section 3.5), up to
 * DEVICE_INTERVAL_MAX; DEVICE_PENDING otherwise.  The first poll of a
 * request is never too fast.
 */
static enum device_poll
pace_poll(const uint8_t key[TOKEN_HASH_LEN], int64_t expires, int64_t now)
{
	struct pace_slot *c, *hit = NULL, *victim = NULL;
	enum device_poll p = DEVICE_PENDING;
	uint32_t h;
	size_t i;

	/* A SHA-256 output: its first bytes are already uniform. */
	h = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
	    (uint32_t)key[2] << 8 | (uint32_t)key[3];
	pthread_mutex_lock(&pace.mu);
	for (i = 0; i < PACE_PROBE; i++) {
		c = &pace.s[(h + i) % PACE_SLOTS];
		if (c->used && memcmp(c->key, key, TOKEN_HASH_LEN) == 0) {
			hit = c;
			break;
		}
		if (victim == NULL || (!pace_free(victim, now) &&
		    (pace_free(c, now) || c->last < victim->last)))
			victim = c;
	}
	if (hit != NULL) {
		if (now - hit->last < hit->interval) {
			p = DEVICE_SLOW_DOWN;
			if (hit->interval < DEVICE_INTERVAL_MAX)
				hit->interval += DEVICE_SLOW_DOWN_STEP;
		}
		hit->last = now;
	} else {
		memcpy(victim->key, key, TOKEN_HASH_LEN);
		victim->used = 1;
		victim->last = now;
		victim->expires = expires;
		victim->interval = DEVICE_INTERVAL;
	}
	pthread_mutex_unlock(&pace.mu);
	return p;
}

/* ---- token poll ---- */

const char *
device_poll_code(enum device_poll p)
{
	switch (p) {
	case DEVICE_ISSUED:
		return NULL;
	case DEVICE_PENDING:
		return "authorization_pending";
	case DEVICE_SLOW_DOWN:
		return "slow_down";
	case DEVICE_DENIED:
		return "access_denied";
	case DEVICE_EXPIRED:
		return "expired_token";
	case DEVICE_INVALID:
		break;
	}
	return "invalid_grant";
}

struct poll_arg {
	uint8_t key[TOKEN_HASH_LEN];
	int64_t now;
	enum device_poll poll;
	struct dev_rec rec;	/* on DEVICE_ISSUED: the request */
	struct user *user;	/* on DEVICE_ISSUED: the approver */
};

static int
poll_fn(struct store_txn *t, void *arg)
{
	struct poll_arg *a = arg;
	struct user *u = NULL;
	struct dev_rec d;
	int r;

	/* A retried run starts from scratch. */
	device__rec_clear(&a->rec);
	user_free(a->user);
	a->user = NULL;
	a->poll = DEVICE_INVALID;
	if ((r = device__rec_get(t, a->key, &d)) != 0)
		return r == TSS_E_NOT_FOUND ? 0 : r;
	if (d.state == ST_USED) {
		r = 0;
		goto out;
	}
	if (a->now >= d.expires) {
		a->poll = DEVICE_EXPIRED;
		r = 0;
		goto out;
	}
	if (d.state == ST_DENIED) {
		a->poll = DEVICE_DENIED;
		r = 0;
		goto out;
	}
	if (d.state == ST_PENDING) {
		/* Only approved requests come here; nothing to write. */
		a->poll = DEVICE_PENDING;
		r = 0;
		goto out;
	}
	/* Approved: spend it now, whatever the issuance does next. */
	d.state = ST_USED;
	d.last_poll = a->now;
	if ((r = device__rec_put(t, a->key, &d, 0)) != 0)
		goto out;
	r = user_get(t, d.approver, &u);
	if (r == TSS_E_NOT_FOUND || (r == 0 && (u->disabled ||
	    u->state != USER_ACTIVE))) {
		a->poll = DEVICE_DENIED;
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	a->poll = DEVICE_ISSUED;
	a->rec = d;
	memset(&d, 0, sizeof(d));	/* transferred */
	a->user = u;
	u = NULL;
	r = 0;
 out:
	user_free(u);
	device__rec_clear(&d);
	return r;
}

/*
 * Outcome of a poll as far as a read shows it: DEVICE_PENDING when the
 * request is still open, with *approved set when it was approved (the
 * write path decides then) and *expires its expiry.
 */
static int
settled(struct store *s, const uint8_t key[TOKEN_HASH_LEN], int64_t now,
    enum device_poll *poll, int *approved, int64_t *expires)
{
	struct store_txn *t = NULL;
	struct dev_rec d;
	int r;

	*poll = DEVICE_INVALID;
	*approved = 0;
	*expires = 0;
	if ((r = store_begin(s, 0, &t)) != 0)
		return r;
	if ((r = device__rec_get(t, key, &d)) != 0) {
		store_abort(t);
		return r == TSS_E_NOT_FOUND ? 0 : r;
	}
	store_abort(t);
	if (d.state == ST_USED)
		*poll = DEVICE_INVALID;
	else if (now >= d.expires)
		*poll = DEVICE_EXPIRED;
	else if (d.state == ST_DENIED)
		*poll = DEVICE_DENIED;
	else {
		*poll = DEVICE_PENDING;
		*approved = d.state == ST_APPROVED;
		*expires = d.expires;
	}
	device__rec_clear(&d);
	return 0;
}

int
device_token(struct store *s, struct issuer *is, const char *device_code,
    const char *remote_addr, const char *request_id, int64_t now,
    enum device_poll *poll, json_t **out, char *errmsg, size_t errlen)
{
	struct poll_arg a;
	struct issue_req rq;
	int64_t expires;
	int r, approved;

	*out = NULL;
	*poll = DEVICE_INVALID;
	snprintf(errmsg, errlen, "%s", "");
	memset(&a, 0, sizeof(a));
	if (device_code == NULL || token_hash(device_code, a.key) != 0)
		return 0;
	a.now = now;
	/*
	 * Only the poll that spends an approved request writes; every other
	 * answer comes from a read transaction (and, while pending, the
	 * pacing table in memory).
	 */
	if ((r = settled(s, a.key, now, &a.poll, &approved, &expires)) != 0)
		goto out;
	if (a.poll == DEVICE_PENDING && !approved)
		a.poll = pace_poll(a.key, expires, now);
	else if (a.poll == DEVICE_PENDING &&
	    (r = store_write(s, poll_fn, &a)) != 0)
		goto out;
	if (a.poll != DEVICE_ISSUED) {
		*poll = a.poll;
		r = 0;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.username = a.user->name;
	rq.groups = (const char *const *)a.user->groups;
	rq.n_groups = a.user->ngroups;
	rq.public_key = a.rec.public_key;
	rq.target = *a.rec.target != '\0' ? a.rec.target : NULL;
	rq.login = *a.rec.login != '\0' ? a.rec.login : NULL;
	rq.ttl = (int64_t)a.rec.ttl;
	rq.remote_addr = remote_addr;
	rq.request_id = request_id;
	if ((r = issue_cert(is, &rq, now, out, errmsg, errlen)) != 0)
		goto out;
	*poll = DEVICE_ISSUED;
	r = 0;
 out:
	device__rec_clear(&a.rec);
	user_free(a.user);
	return r;
}
