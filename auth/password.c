/*
 * Argon2id hashing with a bounded number of hashes in flight.  See
 * password.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/mem.h"
#include "auth/password.h"

struct password_hasher {
	struct password_params params;
	char *dummy;			/* encoded hash of a random password */
	size_t enclen;			/* buffer size for encoded strings */

	pthread_mutex_t mu;
	pthread_cond_t cv;		/* signalled when a slot frees */
	unsigned max_active, max_waiters, wait_ms;
	unsigned active, waiting, peak;
	uint64_t hashes, dummies, refused;

	void (*hook)(void *, unsigned);
	void *hook_arg;
};

static void
fill_params(const struct password_params *in, struct password_params *out)
{
	out->m_kib = (in != NULL && in->m_kib != 0) ?
	    in->m_kib : PASSWORD_DEFAULT_M_KIB;
	out->t_cost = (in != NULL && in->t_cost != 0) ?
	    in->t_cost : PASSWORD_DEFAULT_T;
	out->parallelism = (in != NULL && in->parallelism != 0) ?
	    in->parallelism : PASSWORD_DEFAULT_P;
}

static int
params_ok(const struct password_params *p)
{
	/* libargon2: m >= 8 * p KiB, t >= 1, 1 <= p <= 2^24 - 1 */
	if (p->parallelism < 1 || p->parallelism > 255 || p->t_cost < 1 ||
	    p->t_cost > 1024 || p->m_kib > PASSWORD_M_KIB_MAX ||
	    p->m_kib < 8 * p->parallelism)
		return 0;
	return 1;
}

/* Take a slot, waiting as the limits allow.  0 or TSS_E_UNAVAILABLE. */
static int
slot_acquire(struct password_hasher *h, int dummy)
{
	struct timespec deadline;
	int r = TSS_E_UNAVAILABLE, rc = 0;
	unsigned active;

	if (h->wait_ms != 0) {
		if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
			return TSS_E_INTERNAL;
		deadline.tv_sec += h->wait_ms / 1000;
		deadline.tv_nsec += (long)(h->wait_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&h->mu);
	if (h->active >= h->max_active) {
		if (h->wait_ms == 0 || h->waiting >= h->max_waiters)
			goto out;
		h->waiting++;
		while (h->active >= h->max_active && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&h->cv, &h->mu, &deadline);
		h->waiting--;
		if (h->active >= h->max_active)
			goto out;
	}
	active = ++h->active;
	if (active > h->peak)
		h->peak = active;
	h->hashes++;
	if (dummy)
		h->dummies++;
	r = 0;
 out:
	if (r != 0)
		h->refused++;
	pthread_mutex_unlock(&h->mu);
	if (r == 0 && h->hook != NULL)
		h->hook(h->hook_arg, active);
	return r;
}

static void
slot_release(struct password_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	h->active--;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Hash without a slot: the caller holds one or is still constructing. */
static int
hash_raw(const struct password_params *p, size_t enclen, const char *pw,
    size_t len, char **out)
{
	uint8_t salt[PASSWORD_SALT_LEN];
	char *enc = NULL;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (len > PASSWORD_MAX_LEN)
		return TSS_E_TOO_LONG;
	if ((enc = mem_calloc(1, enclen)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	switch (argon2id_hash_encoded(p->t_cost, p->m_kib, p->parallelism,
	    pw, len, salt, sizeof(salt), PASSWORD_TAG_LEN, enc, enclen)) {
	case ARGON2_OK:
		break;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		r = TSS_E_NOMEM;
		goto out;
	default:
		r = TSS_E_CRYPTO;
		goto out;
	}
	*out = enc;
	enc = NULL;
	r = 0;
 out:
	OPENSSL_cleanse(salt, sizeof(salt));
	free(enc);
	return r;
}

int
password_hasher_new(const struct password_params *params,
    const struct password_limits *limits, struct password_hasher **out)
{
	struct password_hasher *h = NULL;
	pthread_condattr_t ca;
	uint8_t rnd[32];
	long cores;
	int r = TSS_E_INTERNAL, mu_ok = 0, cv_ok = 0;

	*out = NULL;
	if ((h = mem_calloc(1, sizeof(*h))) == NULL)
		return TSS_E_NOMEM;
	fill_params(params, &h->params);
	if (!params_ok(&h->params)) {
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	h->max_active = limits != NULL ? limits->max_active : 0;
	if (h->max_active == 0) {
		cores = sysconf(_SC_NPROCESSORS_ONLN);
		h->max_active = (cores > 0 && cores < 4096) ?
		    (unsigned)cores : 1;
	}
	h->max_waiters = limits != NULL ? limits->max_waiters : 0;
	if (h->max_waiters == 0)
		h->max_waiters = 4 * h->max_active;
	h->wait_ms = limits != NULL ? limits->wait_ms : 0;
	h->enclen = argon2_encodedlen(h->params.t_cost, h->params.m_kib,
	    h->params.parallelism, PASSWORD_SALT_LEN, PASSWORD_TAG_LEN,
	    Argon2_id) + 1;

	if (pthread_mutex_init(&h->mu, NULL) != 0)
		goto out;
	mu_ok = 1;
	if (pthread_condattr_init(&ca) != 0)
		goto out;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&h->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto out;
	}
	pthread_condattr_destroy(&ca);
	cv_ok = 1;

	/* The dummy password is random bytes nobody can type. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = TSS_E_CRYPTO;
		goto out;
	}
	if ((r = hash_raw(&h->params, h->enclen, (const char *)rnd,
	    sizeof(rnd), &h->dummy)) != 0)
		goto out;
	*out = h;
	h = NULL;
	r = 0;
 out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (h != NULL) {
		if (cv_ok)
			pthread_cond_destroy(&h->cv);
		if (mu_ok)
			pthread_mutex_destroy(&h->mu);
		free(h->dummy);
		free(h);
	}
	return r;
}

void
password_hasher_free(struct password_hasher *h)
{
	if (h == NULL)
		return;
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->dummy);
	free(h);
}

void
password_hasher_params(const struct password_hasher *h,
    struct password_params *out)
{
	*out = h->params;
}

void
password_hasher_stats(struct password_hasher *h, struct password_stats *out)
{
	pthread_mutex_lock(&h->mu);
	out->max_active = h->max_active;
	out->active = h->active;
	out->waiting = h->waiting;
	out->peak = h->peak;
	out->hashes = h->hashes;
	out->dummy = h->dummies;
	out->refused = h->refused;
	pthread_mutex_unlock(&h->mu);
}

void
password_hasher_set_hook(struct password_hasher *h,
    void (*fn)(void *arg, unsigned active), void *arg)
{
	h->hook = fn;
	h->hook_arg = arg;
}

/* Strict UTF-8: shortest forms only, no surrogates, at most U+10FFFF. */
static int
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; cp = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; cp = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; cp = s[i] & 0x07; min = 0x10000;
		} else
			return 0;
		if (n > len - i - 1)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
password_check_rules(const char *username, const char *pw, size_t len)
{
	if (pw == NULL || len < PASSWORD_MIN_LEN || len > PASSWORD_MAX_LEN)
		return TSS_E_WEAK_PASSWORD;
	if (!utf8_valid((const uint8_t *)pw, len))
		return TSS_E_WEAK_PASSWORD;
	if (username != NULL && strlen(username) == len &&
	    memcmp(username, pw, len) == 0)
		return TSS_E_WEAK_PASSWORD;
	return 0;
}

int
password_hash(struct password_hasher *h, const char *pw, size_t len,
    char **out)
{
	int r;

	*out = NULL;
	if (len > PASSWORD_MAX_LEN)
		return TSS_E_TOO_LONG;
	if ((r = slot_acquire(h, 0)) != 0)
		return r;
	r = hash_raw(&h->params, h->enclen, pw, len, out);
	slot_release(h);
	return r;
}

/* Parse a decimal u32 field ending at stop; advances *sp past it. */
static int
parse_u32(const char **sp, char stop, uint32_t *v)
{
	const char *s = *sp;
	char *end = NULL;
	unsigned long long n;

	if (*s < '0' || *s > '9' || (*s == '0' && s[1] != stop))
		return TSS_E_BAD_FORMAT;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == NULL || *end != stop || n > UINT32_MAX)
		return TSS_E_BAD_FORMAT;
	*v = (uint32_t)n;
	*sp = end + 1;
	return 0;
}

int
password_parse_params(const char *encoded, struct password_params *out)
{
	static const char pfx[] = "$argon2id$v=19$m=";
	struct password_params p;
	const char *s;
	int r;

	memset(out, 0, sizeof(*out));
	if (encoded == NULL || strncmp(encoded, pfx, sizeof(pfx) - 1) != 0)
		return TSS_E_BAD_FORMAT;
	s = encoded + sizeof(pfx) - 1;
	if ((r = parse_u32(&s, ',', &p.m_kib)) != 0)
		return r;
	if (strncmp(s, "t=", 2) != 0)
		return TSS_E_BAD_FORMAT;
	s += 2;
	if ((r = parse_u32(&s, ',', &p.t_cost)) != 0)
		return r;
	if (strncmp(s, "p=", 2) != 0)
		return TSS_E_BAD_FORMAT;
	s += 2;
	if ((r = parse_u32(&s, '$', &p.parallelism)) != 0)
		return r;
	if (!params_ok(&p))
		return TSS_E_BAD_FORMAT;
	*out = p;
	return 0;
}

static int
verify_slot(struct password_hasher *h, const char *encoded, const char *pw,
    size_t len, int dummy)
{
	int r, ar;

	if ((r = slot_acquire(h, dummy)) != 0)
		return r;
	ar = argon2id_verify(encoded, pw, len);
	slot_release(h);
	switch (ar) {
	case ARGON2_OK:
		return 0;
	case ARGON2_VERIFY_MISMATCH:
		return TSS_E_INVALID_CREDENTIALS;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return TSS_E_NOMEM;
	default:
		return TSS_E_BAD_FORMAT;
	}
}

int
password_verify(struct password_hasher *h, const char *encoded,
    const char *pw, size_t len, int *rehash)
{
	struct password_params p;
	int r;

	if (rehash != NULL)
		*rehash = 0;
	if (pw == NULL || len > PASSWORD_MAX_LEN)
		return password_verify_dummy(h, "", 0);
	/* Check the parameters before libargon2 allocates what they ask. */
	if ((r = password_parse_params(encoded, &p)) != 0)
		return r;
	if ((r = verify_slot(h, encoded, pw, len, 0)) != 0)
		return r;
	if (rehash != NULL)
		*rehash = memcmp(&p, &h->params, sizeof(p)) != 0;
	return 0;
}

int
password_verify_dummy(struct password_hasher *h, const char *pw, size_t len)
{
	int r;

	if (pw == NULL || len > PASSWORD_MAX_LEN) {
		pw = "";
		len = 0;
	}
	r = verify_slot(h, h->dummy, pw, len, 1);
	return r == 0 ? TSS_E_INVALID_CREDENTIALS : r;
}
