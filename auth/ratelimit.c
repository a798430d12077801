/*
 * Fixed-size table of token buckets.  See ratelimit.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/err.h"
#include "common/mem.h"
#include "auth/ratelimit.h"

#define PROBE	8

struct bucket {
	char key[RATELIMIT_KEY_MAX + 1];
	uint8_t used;
	unsigned tokens;
	int64_t last;		/* time of the last refill credit */
};

struct ratelimit {
	pthread_mutex_t mu;
	struct bucket *b;
	size_t n;
	unsigned burst, interval;
	uint64_t seed;
};

int
ratelimit_new(unsigned slots, unsigned burst, unsigned interval,
    struct ratelimit **out)
{
	struct ratelimit *rl = NULL;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (burst == 0 || interval == 0 || slots > (1u << 24))
		return TSS_E_INVALID_ARGUMENT;
	if (slots == 0)
		slots = 4096;
	if (slots < PROBE)
		slots = PROBE;
	if ((rl = mem_calloc(1, sizeof(*rl))) == NULL)
		return TSS_E_NOMEM;
	if ((rl->b = mem_calloc(slots, sizeof(*rl->b))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if (pthread_mutex_init(&rl->mu, NULL) != 0)
		goto out;
	rl->n = slots;
	rl->burst = burst;
	rl->interval = interval;
	*out = rl;
	rl = NULL;
	r = 0;
 out:
	if (rl != NULL) {
		free(rl->b);
		free(rl);
	}
	return r;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->b);
	free(rl);
}

/* FNV-1a with a secret seed folded in, then a final mix. */
static uint64_t
key_hash(uint64_t seed, const char *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)k[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static void
refill(const struct ratelimit *rl, struct bucket *b, int64_t now)
{
	int64_t add;

	if (now <= b->last)
		return;
	add = (now - b->last) / rl->interval;
	if (add >= (int64_t)(rl->burst - b->tokens)) {
		b->tokens = rl->burst;
		b->last = now;
	} else {
		b->tokens += (unsigned)add;
		b->last += add * rl->interval;
	}
}

/*
 * One host of IPv6 holds a /64 (and can change addresses within it at
 * will): an IPv6 address counts as its /64, an IPv4-mapped one as the
 * IPv4 address.  Anything else is used as given.
 */
static const char *
key_prefix(const char *key, char out[INET6_ADDRSTRLEN + 4])
{
	struct in6_addr a;
	struct in_addr v4;

	if (strchr(key, ':') == NULL || inet_pton(AF_INET6, key, &a) != 1)
		return key;
	if (IN6_IS_ADDR_V4MAPPED(&a)) {
		memcpy(&v4, &a.s6_addr[12], sizeof(v4));
		return inet_ntop(AF_INET, &v4, out, INET6_ADDRSTRLEN) != NULL ?
		    out : key;
	}
	memset(&a.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN) == NULL)
		return key;
	memcpy(out + strlen(out), "/64", 4);
	return out;
}

static int
bucket_use(struct ratelimit *rl, const char *key, int64_t now,
    int64_t *retry_after, int take)
{
	struct bucket *b = NULL, *victim = NULL, *c;
	char prefix[INET6_ADDRSTRLEN + 4];
	size_t len, i, start;
	int r;

	if (retry_after != NULL)
		*retry_after = 0;
	if (key == NULL)
		key = "";
	key = key_prefix(key, prefix);
	len = strnlen(key, RATELIMIT_KEY_MAX + 1);
	if (len > RATELIMIT_KEY_MAX)
		len = RATELIMIT_KEY_MAX;	/* long keys share a prefix */
	pthread_mutex_lock(&rl->mu);
	start = (size_t)(key_hash(rl->seed, key, len) % rl->n);
	for (i = 0; i < PROBE; i++) {
		c = &rl->b[(start + i) % rl->n];
		if (c->used && strlen(c->key) == len &&
		    memcmp(c->key, key, len) == 0) {
			b = c;
			break;
		}
		if (!c->used) {
			if (victim == NULL || victim->used)
				victim = c;
		} else if (victim == NULL ||
		    (victim->used && c->last < victim->last))
			victim = c;
	}
	if (b == NULL) {
		b = victim;
		memset(b, 0, sizeof(*b));
		memcpy(b->key, key, len);
		b->used = 1;
		b->tokens = rl->burst;
		b->last = now;
	}
	refill(rl, b, now);
	if (b->tokens > 0) {
		b->tokens -= take ? 1 : 0;
		r = 0;
	} else {
		if (retry_after != NULL)
			*retry_after = b->last + rl->interval - now > 0 ?
			    b->last + rl->interval - now : 1;
		r = TSS_E_TOO_MANY_ATTEMPTS;
	}
	pthread_mutex_unlock(&rl->mu);
	return r;
}

int
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now,
    int64_t *retry_after)
{
	return bucket_use(rl, key, now, retry_after, 1);
}

int
ratelimit_peek(struct ratelimit *rl, const char *key, int64_t now,
    int64_t *retry_after)
{
	return bucket_use(rl, key, now, retry_after, 0);
}
