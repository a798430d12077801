/* Argon2id hashing, rules, rehash, the concurrency bound. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "auth/password.h"

static const struct password_params fast = { 1024, 1, 1 };

static struct password_hasher *
mk(const struct password_params *p, unsigned max_active, unsigned wait_ms)
{
	struct password_limits l = { max_active, 0, wait_ms };
	struct password_hasher *h = NULL;
	int r = password_hasher_new(p, &l, &h);

	cr_assert_eq(r, 0, "%s", tss_strerror(r));
	return h;
}

Test(auth_password, rules_length_bounds)
{
	char pw[1100];

	memset(pw, 'a', sizeof(pw));
	cr_assert_eq(password_check_rules("bob", pw, 11), TSS_E_WEAK_PASSWORD);
	cr_assert_eq(password_check_rules("bob", pw, 12), 0);
	cr_assert_eq(password_check_rules("bob", pw, 1024), 0);
	cr_assert_eq(password_check_rules("bob", pw, 1025),
	    TSS_E_WEAK_PASSWORD);
	cr_assert_eq(password_check_rules("bob", NULL, 0), TSS_E_WEAK_PASSWORD);
}

Test(auth_password, rules_utf8)
{
	/* 12 bytes of valid multibyte text: four 3-byte characters. */
	const char ok[] = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac";
	const char *bad[] = {
		"aaaaaaaaaaa\xff",		/* invalid byte */
		"aaaaaaaaaa\xc0\xaf",		/* overlong '/' */
		"aaaaaaaaa\xed\xa0\x80",	/* surrogate */
		"aaaaaaaa\xf4\x90\x80\x80",	/* above U+10FFFF */
		"aaaaaaaaaaa\xe2",		/* truncated */
	};
	size_t i;

	cr_assert_eq(password_check_rules("bob", ok, strlen(ok)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(password_check_rules("bob", bad[i],
		    strlen(bad[i])), TSS_E_WEAK_PASSWORD, "case %zu", i);
	cr_assert_eq(password_check_rules("bob", "aaaaaa\0aaaaaa", 13),
	    TSS_E_WEAK_PASSWORD);
}

Test(auth_password, rules_not_the_username)
{
	cr_assert_eq(password_check_rules("abcdefghijkl", "abcdefghijkl", 12),
	    TSS_E_WEAK_PASSWORD);
	cr_assert_eq(password_check_rules("abcdefghijk", "abcdefghijkl", 12),
	    0);
}

Test(auth_password, hash_verify_and_mismatch)
{
	struct password_hasher *h = mk(&fast, 2, 1000);
	char *e = NULL;
	int rh = 7;

	cr_assert_eq(password_hash(h, "correct horse", 13, &e), 0);
	cr_assert_eq(strncmp(e, "$argon2id$v=19$m=1024,t=1,p=1$", 30), 0);
	cr_assert_eq(password_verify(h, e, "correct horse", 13, &rh), 0);
	cr_assert_eq(rh, 0);
	cr_assert_eq(password_verify(h, e, "correct horsf", 13, &rh),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(password_verify(h, e, "correct hors", 12, NULL),
	    TSS_E_INVALID_CREDENTIALS);
	free(e);
	password_hasher_free(h);
}

Test(auth_password, differs_only_at_character_100_fails)
{
	struct password_hasher *h = mk(&fast, 2, 1000);
	char a[200], b[200], *e = NULL;

	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	b[99] = 'y';
	cr_assert_eq(password_hash(h, a, sizeof(a), &e), 0);
	cr_assert_eq(password_verify(h, e, b, sizeof(b), NULL),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(password_verify(h, e, a, sizeof(a), NULL), 0);
	free(e);
	password_hasher_free(h);
}

Test(auth_password, same_password_two_salts)
{
	struct password_hasher *h = mk(&fast, 2, 1000);
	char *e1 = NULL, *e2 = NULL;

	cr_assert_eq(password_hash(h, "same password", 13, &e1), 0);
	cr_assert_eq(password_hash(h, "same password", 13, &e2), 0);
	cr_assert_str_neq(e1, e2);
	free(e1);
	free(e2);
	password_hasher_free(h);
}

Test(auth_password, params_read_back_and_rehash_on_raise)
{
	struct password_params stronger = { 2048, 2, 1 }, got;
	struct password_hasher *h1 = mk(&fast, 2, 1000);
	struct password_hasher *h2 = mk(&stronger, 2, 1000);
	char *e = NULL;
	int rh = 0;

	cr_assert_eq(password_hash(h1, "correct horse", 13, &e), 0);
	cr_assert_eq(password_parse_params(e, &got), 0);
	cr_assert_eq(got.m_kib, 1024);
	cr_assert_eq(got.t_cost, 1);
	cr_assert_eq(got.parallelism, 1);
	/* h2 verifies with the parameters in the string, then asks for more. */
	cr_assert_eq(password_verify(h2, e, "correct horse", 13, &rh), 0);
	cr_assert_eq(rh, 1);
	/* A mismatch never asks for a rehash. */
	rh = 5;
	cr_assert_eq(password_verify(h2, e, "wrong horse!", 12, &rh),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(rh, 0);
	free(e);
	password_hasher_free(h1);
	password_hasher_free(h2);
}

Test(auth_password, default_parameters_are_64mib_t3_p1)
{
	struct password_hasher *h = mk(NULL, 1, 0);
	struct password_params p;
	char *e = NULL;

	password_hasher_params(h, &p);
	cr_assert_eq(p.m_kib, 65536);
	cr_assert_eq(p.t_cost, 3);
	cr_assert_eq(p.parallelism, 1);
	cr_assert_eq(password_hash(h, "correct horse", 13, &e), 0);
	cr_assert_eq(strncmp(e, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0);
	/* 16-byte salt = 22 base64 characters, 32-byte tag = 43. */
	cr_assert_eq(strlen(e), 31 + 22 + 1 + 43);
	free(e);
	password_hasher_free(h);
}

Test(auth_password, bad_encoded_strings_refused_without_allocating)
{
	struct password_hasher *h = mk(&fast, 1, 0);
	struct password_stats st;
	static const char *bad[] = {
		"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
		"$argon2id$v=16$m=1024,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=8388608,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=01024,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=1024,t=0,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=-1,t=1,p=1$c2FsdA$aGFzaA",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(password_verify(h, bad[i], "correct horse", 13,
		    NULL), TSS_E_BAD_FORMAT, "case %zu", i);
	password_hasher_stats(h, &st);
	cr_assert_eq(st.hashes, 0);
	password_hasher_free(h);
}

Test(auth_password, dummy_counts_as_one_hash)
{
	struct password_hasher *h = mk(&fast, 1, 0);
	struct password_stats st;

	cr_assert_eq(password_verify_dummy(h, "anything at all", 15),
	    TSS_E_INVALID_CREDENTIALS);
	password_hasher_stats(h, &st);
	cr_assert_eq(st.hashes, 1);
	cr_assert_eq(st.dummy, 1);
	password_hasher_free(h);
}

/* The concurrency bound. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned max_active, seen_max, open_at, entered;
	int open;
};

static void
gate_hook(void *arg, unsigned active)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->mu);
	g->entered++;
	if (active > g->seen_max)
		g->seen_max = active;
	/* Hold the first slots until open_at hashes run at once. */
	if (active >= g->open_at)
		g->open = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

struct worker {
	struct password_hasher *h;
	const char *enc;
	int r;
};

static void *
verify_thread(void *arg)
{
	struct worker *w = arg;

	w->r = password_verify(w->h, w->enc, "correct horse", 13, NULL);
	return NULL;
}

Test(auth_password, n_plus_10_concurrent_never_exceed_n)
{
	enum { N = 3, M = N + 10 };
	struct password_hasher *h = mk(&fast, N, 60000);
	struct password_stats st;
	struct gate g;
	struct worker w[M];
	pthread_t th[M];
	char *e = NULL;
	int i;

	cr_assert_eq(password_hash(h, "correct horse", 13, &e), 0);
	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	g.open_at = N;
	password_hasher_set_hook(h, gate_hook, &g);
	for (i = 0; i < M; i++) {
		w[i].h = h;
		w[i].enc = e;
		w[i].r = 99;
		cr_assert_eq(pthread_create(&th[i], NULL, verify_thread,
		    &w[i]), 0);
	}
	for (i = 0; i < M; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].r, 0, "thread %d: %s", i,
		    tss_strerror(w[i].r));
	}
	password_hasher_stats(h, &st);
	cr_assert_eq(st.peak, N, "peak %u", st.peak);
	cr_assert_eq(g.seen_max, N);
	cr_assert_eq(st.hashes, 1 + M);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.refused, 0);
	free(e);
	password_hasher_free(h);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
}

Test(auth_password, full_limiter_refuses_with_unavailable)
{
	enum { N = 2 };
	struct password_hasher *h = mk(&fast, N, 0);
	struct password_stats st;
	struct gate g;
	struct worker w[N];
	pthread_t th[N];
	struct timespec ts = { 0, 1000000 };
	char *e = NULL, *e2 = NULL;
	int i, spins;

	cr_assert_eq(password_hash(h, "correct horse", 13, &e), 0);
	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	g.open_at = N + 1;	/* never by itself: the test opens it */
	password_hasher_set_hook(h, gate_hook, &g);
	for (i = 0; i < N; i++) {
		w[i].h = h;
		w[i].enc = e;
		cr_assert_eq(pthread_create(&th[i], NULL, verify_thread,
		    &w[i]), 0);
	}
	/* Poll (bounded) until both slots are held. */
	for (spins = 0; spins < 20000; spins++) {
		password_hasher_stats(h, &st);
		if (st.active == N)
			break;
		nanosleep(&ts, NULL);
	}
	cr_assert_eq(st.active, N);
	cr_assert_eq(password_verify(h, e, "correct horse", 13, NULL),
	    TSS_E_UNAVAILABLE);
	cr_assert_eq(password_verify_dummy(h, "x", 1), TSS_E_UNAVAILABLE);
	cr_assert_eq(password_hash(h, "correct horse", 13, &e2),
	    TSS_E_UNAVAILABLE);
	cr_assert_null(e2);
	password_hasher_stats(h, &st);
	cr_assert_eq(st.refused, 3);
	cr_assert_eq(st.hashes, 1 + N);
	pthread_mutex_lock(&g.mu);
	g.open = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].r, 0);
	}
	free(e);
	password_hasher_free(h);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
}
