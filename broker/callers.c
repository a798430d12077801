/* The caller cache (callers.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "broker.h"
#include "callers.h"
#include "common/err.h"
#include "common/mem.h"

struct slot {
	uint8_t key[sizeof(((struct caller *)0)->session)];
	int64_t until;			/* 0: empty */
	char *username;
	char **groups;
	size_t n_groups;
};

struct callers {
	pthread_mutex_t mu;
	struct slot slot[CALLERS_SLOTS];
};

static void
slot_clear(struct slot *s)
{
	size_t i;

	free(s->username);
	for (i = 0; i < s->n_groups; i++)
		free(s->groups[i]);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}

/* The key is a SHA-256 output: its first bytes index well. */
static struct slot *
slot_of(struct callers *cs, const uint8_t *key)
{
	return &cs->slot[(key[0] | (size_t)key[1] << 8) % CALLERS_SLOTS];
}

int
callers_new(struct callers **out)
{
	struct callers *cs;

	*out = NULL;
	if ((cs = mem_calloc(1, sizeof(*cs))) == NULL)
		return TSS_E_NOMEM;
	if (pthread_mutex_init(&cs->mu, NULL) != 0) {
		free(cs);
		return TSS_E_INTERNAL;
	}
	*out = cs;
	return 0;
}

void
callers_free(struct callers *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < CALLERS_SLOTS; i++)
		slot_clear(&cs->slot[i]);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

int
callers_get(struct callers *cs, const uint8_t *key, int64_t now,
    struct caller *c)
{
	struct slot *s = slot_of(cs, key);
	int r = TSS_E_NOT_FOUND;

	memset(c, 0, sizeof(*c));
	pthread_mutex_lock(&cs->mu);
	if (s->until == 0 || now >= s->until ||
	    CRYPTO_memcmp(s->key, key, sizeof(s->key)) != 0)
		goto out;
	if ((c->username = mem_strdup(s->username)) == NULL ||
	    ((c->groups = mem_strvdup((const char *const *)s->groups,
	    s->n_groups)) == NULL &&
	    s->n_groups > 0)) {
		free(c->username);
		c->username = NULL;
		goto out;
	}
	c->n_groups = s->n_groups;
	memcpy(c->session, key, sizeof(c->session));
	c->has_session = 1;
	c->cached = 1;
	r = 0;
 out:
	pthread_mutex_unlock(&cs->mu);
	return r;
}

void
callers_put(struct callers *cs, const struct caller *c, int64_t until)
{
	struct slot *s = slot_of(cs, c->session), n;

	if (!c->has_session)
		return;
	memset(&n, 0, sizeof(n));
	if ((n.username = mem_strdup(c->username)) == NULL ||
	    ((n.groups = mem_strvdup((const char *const *)c->groups,
	    c->n_groups)) == NULL &&
	    c->n_groups > 0)) {
		slot_clear(&n);
		return;
	}
	n.n_groups = c->n_groups;
	memcpy(n.key, c->session, sizeof(n.key));
	n.until = until;
	pthread_mutex_lock(&cs->mu);
	slot_clear(s);
	*s = n;
	pthread_mutex_unlock(&cs->mu);
}

void
callers_forget(struct callers *cs, const uint8_t *key)
{
	struct slot *s = slot_of(cs, key);

	pthread_mutex_lock(&cs->mu);
	if (s->until != 0 && CRYPTO_memcmp(s->key, key, sizeof(s->key)) == 0)
		slot_clear(s);
	pthread_mutex_unlock(&cs->mu);
}
