/*
 * Throttle and lock: how consecutive failures slow down and then lock an
 * account, and the same counters, kept in memory, for names that are not
 * accounts.  See internal.h.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "auth/internal.h"
#include "auth/user.h"
#include "common/digest.h"
#include "common/err.h"

/* Seconds to wait after the given number of consecutive failures. */
static int64_t
throttle_delay(const struct auth_config *cfg, uint32_t failures)
{
	uint32_t e;
	int64_t d;

	if (failures < cfg->throttle_after)
		return 0;
	e = failures - cfg->throttle_after;
	if (e >= 40)
		return cfg->throttle_max;
	d = (int64_t)1 << e;
	return d < cfg->throttle_max ? d : cfg->throttle_max;
}

int
auth__may_try(int locked, int64_t throttle_until, int64_t now,
    const char **reason, int64_t *retry_after)
{
	if (locked) {
		*reason = "locked";
		return TSS_E_LOCKED;
	}
	if (throttle_until > now) {
		*reason = "throttled";
		*retry_after = throttle_until - now;
		return TSS_E_TOO_MANY_ATTEMPTS;
	}
	return 0;
}

/* One more consecutive failure on these counters: throttle, then lock. */
static void
count_failure(const struct auth_config *cfg, uint32_t *failures, int *locked,
    int64_t *throttle_until, int64_t now)
{
	if (*failures < UINT32_MAX)
		(*failures)++;
	if (*failures >= cfg->lock_after)
		*locked = 1;
	else if (*failures >= cfg->throttle_after)
		*throttle_until = now + throttle_delay(cfg, *failures);
}

void
auth__count_failure(const struct auth_config *cfg, struct user *u,
    int64_t now)
{
	count_failure(cfg, &u->failures, &u->locked, &u->throttle_until, now);
}

/*
 * The counters of a name that is not an account, kept in memory by the
 * same rules as an account's (count_failure, auth__may_try), so that the
 * answers for the two cannot be told apart.  Slots are keyed by an HMAC of
 * the name under a per-context random seed, so nobody can aim names at one
 * probe window; when a window is full, the slot tried longest ago is
 * reused.  Forgetting a name that way takes a flood of distinct names
 * (each a failed login, under the per-address limit) through its window,
 * and a restart forgets them all: what an account's counters in the store
 * do not.  *g is the slot, with ghost_mu held; the caller unlocks.
 */
static int
ghost_slot(struct auth_ctx *c, const char *name, int64_t now,
    struct ghost **g)
{
	uint8_t k[SHA256_LEN];
	unsigned int klen = sizeof(k);
	struct ghost *e, *victim = NULL;
	uint32_t h;
	size_t i;

	*g = NULL;
	if (HMAC(sha256_md(), c->ghost_seed, sizeof(c->ghost_seed),
	    (const unsigned char *)name, strlen(name), k, &klen) == NULL)
		return TSS_E_CRYPTO;
	h = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 |
	    (uint32_t)k[2] << 8 | (uint32_t)k[3];
	pthread_mutex_lock(&c->ghost_mu);
	for (i = 0; i < GHOST_PROBE; i++) {
		e = &c->ghosts[(h + i) % GHOST_SLOTS];
		if (e->used && memcmp(e->key, k, sizeof(k)) == 0) {
			*g = e;
			break;
		}
		if (victim == NULL || (victim->used &&
		    (!e->used || e->last < victim->last)))
			victim = e;
	}
	if (*g == NULL) {
		memset(victim, 0, sizeof(*victim));
		memcpy(victim->key, k, sizeof(k));
		victim->used = 1;
		*g = victim;
	}
	(*g)->last = now;
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

/* auth__may_try for a name that is not an account. */
int
auth__ghost_may_try(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after)
{
	struct ghost *g;
	int r;

	if ((r = ghost_slot(c, name, now, &g)) != 0)
		return r;
	r = auth__may_try(g->locked, g->throttle_until, now, reason,
	    retry_after);
	pthread_mutex_unlock(&c->ghost_mu);
	return r;
}

/*
 * A failed attempt on a name that is not an account: counted as for an
 * account (TSS_E_INVALID_CREDENTIALS, reason "unknown_user"), unless
 * another attempt throttled or locked it meanwhile (refused, not counted).
 */
int
auth__ghost_fail(struct auth_ctx *c, const char *name, int64_t now,
    const char **reason, int64_t *retry_after, uint32_t *failures)
{
	struct ghost *g;
	int r;

	if ((r = ghost_slot(c, name, now, &g)) != 0)
		return r;
	if ((r = auth__may_try(g->locked, g->throttle_until, now, reason,
	    retry_after)) == 0) {
		count_failure(&c->cfg, &g->failures, &g->locked,
		    &g->throttle_until, now);
		*reason = "unknown_user";
		r = TSS_E_INVALID_CREDENTIALS;
	}
	*failures = g->failures;
	pthread_mutex_unlock(&c->ghost_mu);
	return r;
}
