/* Per-address token buckets. */
#include <stdio.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "auth/ratelimit.h"

Test(auth_ratelimit, burst_then_refuse_then_refill)
{
	struct ratelimit *rl = NULL;
	int64_t ra = 0;
	int i;

	cr_assert_eq(ratelimit_new(64, 5, 4, &rl), 0);
	for (i = 0; i < 5; i++)
		cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1000, &ra), 0);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1000, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(ra, 4);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1003, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(ra, 1);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1004, &ra), 0);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1004, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	/* A long pause refills to the burst, not beyond. */
	for (i = 0; i < 5; i++)
		cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 5000, &ra), 0);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 5000, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	/* Other addresses have their own bucket. */
	cr_assert_eq(ratelimit_take(rl, "10.0.0.2", 5000, &ra), 0);
	ratelimit_free(rl);
}

Test(auth_ratelimit, peek_answers_like_take_without_taking)
{
	struct ratelimit *rl = NULL;
	int64_t ra = 0;
	int i;

	cr_assert_eq(ratelimit_new(64, 2, 3, &rl), 0);
	for (i = 0; i < 10; i++)
		cr_assert_eq(ratelimit_peek(rl, "10.0.0.1", 1000, &ra), 0);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1000, &ra), 0);
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1000, &ra), 0);
	cr_assert_eq(ratelimit_peek(rl, "10.0.0.1", 1000, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(ra, 3);
	cr_assert_eq(ratelimit_peek(rl, "10.0.0.1", 1003, &ra), 0);
	cr_assert_eq(ratelimit_peek(rl, "10.0.0.1", 1003, &ra), 0, "a peek "
	    "leaves the refilled token");
	cr_assert_eq(ratelimit_take(rl, "10.0.0.1", 1003, &ra), 0);
	cr_assert_eq(ratelimit_peek(rl, "10.0.0.1", 1003, &ra),
	    TSS_E_TOO_MANY_ATTEMPTS);
	ratelimit_free(rl);
}

Test(auth_ratelimit, many_addresses_fixed_memory)
{
	struct ratelimit *rl = NULL;
	char key[32];
	int i, refused = 0;

	cr_assert_eq(ratelimit_new(64, 1, 60, &rl), 0);
	/* 10,000 addresses through 64 slots: each first attempt passes. */
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.1", i / 256, i % 256);
		if (ratelimit_take(rl, key, 1000, NULL) != 0)
			refused++;
	}
	cr_assert_eq(refused, 0);
	/* A recent address still holds its empty bucket. */
	cr_assert_eq(ratelimit_take(rl, "10.39.15.1", 1000, NULL),
	    TSS_E_TOO_MANY_ATTEMPTS);
	ratelimit_free(rl);
}

Test(auth_ratelimit, bad_arguments)
{
	struct ratelimit *rl = NULL;

	cr_assert_eq(ratelimit_new(0, 0, 1, &rl), TSS_E_INVALID_ARGUMENT);
	cr_assert_eq(ratelimit_new(0, 1, 0, &rl), TSS_E_INVALID_ARGUMENT);
	cr_assert_null(rl);
}

/* Burst 2: take both tokens of key a, then see whether key b is spent. */
static int
shares_bucket(const char *a, const char *b)
{
	struct ratelimit *rl = NULL;
	int r;

	cr_assert_eq(ratelimit_new(64, 2, 60, &rl), 0);
	cr_assert_eq(ratelimit_take(rl, a, 1000, NULL), 0);
	cr_assert_eq(ratelimit_take(rl, a, 1000, NULL), 0);
	r = ratelimit_take(rl, b, 1000, NULL);
	ratelimit_free(rl);
	return r == TSS_E_TOO_MANY_ATTEMPTS;
}

Test(auth_ratelimit, ipv6_counts_as_its_64)
{
	/* One /64: rotating the interface identifier does not help. */
	cr_assert(shares_bucket("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3"));
	cr_assert(shares_bucket("2001:db8:1:2::1", "2001:DB8:1:2:0:0:0:9"));
	/* The next /64 is another host. */
	cr_assert(!shares_bucket("2001:db8:1:2::1", "2001:db8:1:3::1"));
	/* IPv4-mapped is the IPv4 address. */
	cr_assert(shares_bucket("::ffff:192.0.2.7", "192.0.2.7"));
	cr_assert(!shares_bucket("192.0.2.7", "192.0.2.8"));
	/* Not an address: compared as given. */
	cr_assert(!shares_bucket("a:b", "a:c"));
	cr_assert(shares_bucket("unknown", "unknown"));
}
