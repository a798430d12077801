/*
 * ratelimit: token buckets per remote address, in memory.
 *
 * Each address gets a bucket of `burst` tokens that refills one token every
 * `interval` seconds; an attempt takes a token or is refused with the
 * seconds until the next one.  The table has a fixed number of slots, so a
 * flood of distinct addresses cannot grow memory: when the probe window is
 * full, the slot that has been idle longest is reused (a bucket that would
 * have refilled completely is the same as a new one).  Keys are hashed with
 * a random per-table seed, so an attacker cannot aim collisions.
 *
 * An IPv6 address counts as its /64 (a host's usual allocation, within
 * which it may pick addresses at will) and an IPv4-mapped one as the IPv4
 * address; other keys are compared as given (at most RATELIMIT_KEY_MAX
 * bytes).
 * Thread-safe.  State is lost on restart, which is fine for a rate limit.
 */
#ifndef TSS_AUTH_RATELIMIT_H
#define TSS_AUTH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX	64

struct ratelimit;

/* slots 0 = 4096; burst and interval must be at least 1. */
int ratelimit_new(unsigned slots, unsigned burst, unsigned interval,
    struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);	/* NULL is harmless */

/*
 * Take one token for key at time now.  0 when allowed; TSS_E_TOO_MANY_ATTEMPTS
 * with *retry_after (may be NULL) seconds otherwise.  A NULL or empty key
 * shares one bucket ("unknown address").
 */
int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now,
    int64_t *retry_after);
/* The same answer without taking the token: to refuse work to an address
 * whose failures (each taken afterwards) used up its bucket. */
int ratelimit_peek(struct ratelimit *rl, const char *key, int64_t now,
    int64_t *retry_after);

#endif
