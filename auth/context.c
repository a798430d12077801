/*
 * The authentication context (auth_ctx: store, master key, config, the
 * Argon2 limiter, the per-address buckets, the unknown-name counters) and
 * the one way auth/ records an audit event.  See login.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "audit/audit.h"
#include "auth/internal.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "auth/user.h"
#include "common/err.h"
#include "common/mem.h"

void
auth_config_defaults(struct auth_config *c)
{
	memset(c, 0, sizeof(*c));
	c->password.m_kib = PASSWORD_DEFAULT_M_KIB;
	c->password.t_cost = PASSWORD_DEFAULT_T;
	c->password.parallelism = PASSWORD_DEFAULT_P;
	/* A login arriving while N hash waits a little, not forever. */
	c->limits.wait_ms = 2000;
	c->totp_window = 1;
	c->session_idle = SESSION_IDLE_DEFAULT;
	c->session_max = SESSION_MAX_DEFAULT;
	c->issuer = "Tessera";
	c->rate_burst = 20;
	c->rate_interval = 3;
	c->rate_slots = 4096;
	c->enroll_rate_burst = 100;
	c->enroll_rate_interval = 1;
	c->throttle_after = 5;
	c->lock_after = 100;
	c->throttle_max = 15 * 60;
}

int
auth_ctx_new(struct store *s, const uint8_t key[SECRETBOX_KEY_LEN],
    const struct auth_config *config, struct auth_ctx **out)
{
	struct auth_ctx *c = NULL;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (s == NULL || key == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((c = mem_calloc(1, sizeof(*c))) == NULL)
		return TSS_E_NOMEM;
	if (config != NULL)
		c->cfg = *config;
	else
		auth_config_defaults(&c->cfg);
	if (c->cfg.totp_window > TOTP_WINDOW_MAX ||
	    c->cfg.session_idle <= 0 || c->cfg.session_max <= 0 ||
	    c->cfg.throttle_after == 0 ||
	    c->cfg.lock_after < c->cfg.throttle_after ||
	    c->cfg.throttle_max <= 0) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	if ((c->issuer = mem_strdup(c->cfg.issuer != NULL ? c->cfg.issuer :
	    "Tessera")) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	c->cfg.issuer = c->issuer;
	c->store = s;
	memcpy(c->key, key, sizeof(c->key));
	if ((r = password_hasher_new(&c->cfg.password, &c->cfg.limits,
	    &c->hasher)) != 0)
		goto out;
	password_hasher_params(c->hasher, &c->cfg.password);
	if ((r = ratelimit_new(c->cfg.rate_slots, c->cfg.rate_burst,
	    c->cfg.rate_interval, &c->rl)) != 0 ||
	    (r = ratelimit_new(c->cfg.rate_slots, c->cfg.enroll_rate_burst,
	    c->cfg.enroll_rate_interval, &c->enroll_rl)) != 0)
		goto out;
	if ((c->ghosts = mem_calloc(GHOST_SLOTS, sizeof(*c->ghosts))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (RAND_bytes(c->ghost_seed, sizeof(c->ghost_seed)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if (pthread_mutex_init(&c->ghost_mu, NULL) != 0) {
		r = TSS_E_INTERNAL;
		goto out;
	}
	c->ghost_mu_ok = 1;
	*out = c;
	c = NULL;
	r = 0;
 out:
	auth_ctx_free(c);
	return r;
}

void
auth_ctx_free(struct auth_ctx *c)
{
	if (c == NULL)
		return;
	password_hasher_free(c->hasher);
	ratelimit_free(c->rl);
	ratelimit_free(c->enroll_rl);
	if (c->ghost_mu_ok)
		pthread_mutex_destroy(&c->ghost_mu);
	free(c->ghosts);
	free(c->issuer);
	OPENSSL_clear_free(c, sizeof(*c));
}

const struct auth_config *
auth_ctx_config(const struct auth_ctx *c)
{
	return &c->cfg;
}

struct password_hasher *
auth_ctx_hasher(struct auth_ctx *c)
{
	return c->hasher;
}

struct store *
auth_ctx_store(struct auth_ctx *c)
{
	return c->store;
}

const uint8_t *
auth_ctx_key(const struct auth_ctx *c)
{
	return c->key;
}
