/* The login use case: every outcome, replay, throttling, lockout,
 * recovery codes, tampering, the dummy hash, the address limit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "store/store.h"
#include "auth/enroll.h"
#include "auth/session.h"
#include "auth/user.h"
#include "helpers.h"

TestSuite(auth_login, .init = ah_setup, .fini = ah_teardown);

#define PWL	strlen(AH_PASSWORD)

static struct password_stats
stats(void)
{
	struct password_stats st;

	password_hasher_stats(auth_ctx_hasher(ah_ctx), &st);
	return st;
}

static const char *
last_action(void)
{
	static char buf[64];
	json_t *ev = ah_audit_last();

	snprintf(buf, sizeof(buf), "%s",
	    json_string_value(json_object_get(ev, "action")));
	json_decref(ev);
	return buf;
}

Test(auth_login, ok_with_oathtool_code_creates_session)
{
	struct auth_login_result res;
	struct session *s = NULL;
	struct user *u;
	char b32[64], code[7], csrf[65], *dump;
	const int64_t t = AH_NOW + 300;
	json_t *ev;

	ah_enroll("alice", NULL, b32, NULL);
	ah_oathtool(b32, t, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	cr_assert_str_eq(res.reason, "ok");
	cr_assert_eq(strlen(res.token), 64);
	cr_assert_eq(session_csrf(res.token, csrf), 0);
	cr_assert_str_eq(res.csrf, csrf);
	cr_assert_eq(res.expires_at, t + SESSION_IDLE_DEFAULT);
	cr_assert_eq(auth_session(ah_ctx, res.token, t + 1, &s, NULL), 0);
	cr_assert_str_eq(s->username, "alice");
	cr_assert_str_eq(s->remote_addr, "192.0.2.7");
	session_free(s);
	u = ah_user("alice");
	cr_assert_eq(u->last_login, t, "last_login %lld, want %lld",
	    (long long)u->last_login, (long long)t);
	user_free(u);

	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "login.ok");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "actor")),
	    "alice");
	json_decref(ev);
	dump = ah_audit_dump();
	cr_assert_null(strstr(dump, AH_PASSWORD));
	cr_assert_null(strstr(dump, res.token));
	cr_assert_null(strstr(dump, res.csrf));
	cr_assert_null(strstr(dump, b32));
	cr_assert_null(strstr(dump, code));
	free(dump);
	auth_login_result_clear(&res);
}

Test(auth_login, replayed_code_refused)
{
	struct auth_login_result res;
	uint8_t secret[20];
	char code[7], earlier[7];
	const int64_t t = AH_NOW + 300;

	ah_enroll("alice", secret, NULL, NULL);
	ah_code(secret, t, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t + 5, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "replay");
	cr_assert_str_eq(res.token, "");
	/* A code of an earlier step, still inside the window, also fails. */
	ah_code(secret, t - 30, earlier);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, earlier, t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "replay");
	cr_assert_eq(res.failures, 2);
}

Test(auth_login, window_edges_through_login)
{
	struct auth_login_result res;
	char b32[64], code[7];
	const int64_t t = AH_NOW + 600;

	ah_enroll("alice", NULL, b32, NULL);
	ah_oathtool(b32, t - 60, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "bad_code");
	ah_oathtool(b32, t - 30, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	ah_oathtool(b32, t, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	ah_oathtool(b32, t + 30, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res), 0);
	ah_oathtool(b32, t + 60, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "bad_code");
	auth_login_result_clear(&res);
}

Test(auth_login, unknown_user_takes_the_dummy_hash)
{
	struct auth_login_result res;
	struct password_stats a, b;
	json_t *ev;

	ah_enroll("alice", NULL, NULL, NULL);
	a = stats();
	cr_assert_eq(ah_login("mallory", AH_PASSWORD, "123456", AH_NOW, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "unknown_user");
	b = stats();
	cr_assert_eq(b.hashes, a.hashes + 1);
	cr_assert_eq(b.dummy, a.dummy + 1);
	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "login.fail");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "actor")), "-");
	json_decref(ev);

	/* A name that cannot exist costs the same. */
	cr_assert_eq(ah_login("a\nroot", AH_PASSWORD, "123456", AH_NOW, &res),
	    TSS_E_INVALID_CREDENTIALS);
	a = stats();
	cr_assert_eq(a.hashes, b.hashes + 1);
	cr_assert_eq(a.dummy, b.dummy + 1);

	/* A known user with a wrong password: one real hash, no dummy. */
	cr_assert_eq(ah_login("alice", "wrong password!", "123456", AH_NOW,
	    &res), TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "bad_password");
	b = stats();
	cr_assert_eq(b.hashes, a.hashes + 1);
	cr_assert_eq(b.dummy, a.dummy);
}

Test(auth_login, throttle_after_5_failures_then_grows)
{
	struct auth_login_result res;
	struct password_stats a, b;
	struct user *u;
	int64_t t = AH_NOW + 1000;
	int i;

	ah_enroll("alice", NULL, NULL, NULL);
	for (i = 1; i <= 4; i++) {
		cr_assert_eq(ah_login("alice", "wrong password!", "123456", t,
		    &res), TSS_E_INVALID_CREDENTIALS);
		cr_assert_eq(res.failures, (uint32_t)i);
	}
	/* Bad code with the right password counts as well. */
	cr_assert_eq(ah_login("alice", AH_PASSWORD, "000000", t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(res.failures, 5);
	u = ah_user("alice");
	cr_assert_eq(u->throttle_until, t + 1);
	user_free(u);

	/* Throttled: no hash, not counted, Retry-After given. */
	a = stats();
	cr_assert_eq(ah_login("alice", AH_PASSWORD, "123456", t, &res),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(res.retry_after, 1);
	cr_assert_str_eq(res.reason, "throttled");
	b = stats();
	cr_assert_eq(b.hashes, a.hashes);
	cr_assert_str_eq(last_action(), "login.fail");
	u = ah_user("alice");
	cr_assert_eq(u->failures, 5);
	user_free(u);

	/* Each further failure doubles the wait. */
	t += 1;
	cr_assert_eq(ah_login("alice", "wrong password!", "123456", t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	u = ah_user("alice");
	cr_assert_eq(u->failures, 6);
	cr_assert_eq(u->throttle_until, t + 2);
	user_free(u);
	t += 2;
	cr_assert_eq(ah_login("alice", "wrong password!", "123456", t, &res),
	    TSS_E_INVALID_CREDENTIALS);
	u = ah_user("alice");
	cr_assert_eq(u->throttle_until, t + 4);
	user_free(u);
	cr_assert_eq(ah_login("alice", "wrong password!", "123456", t + 3,
	    &res),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_eq(res.retry_after, 1);
}

/*
 * Finding: an existing account answered 429 from its fifth failure while
 * an unknown name stayed 401 forever, so the answers told which names
 * exist.  The same attempts at the same times against alice (an account)
 * and mallory (none) must give the same outcomes and the same waits,
 * through every doubling of the wait; throttled attempts hash nothing.
 */
Test(auth_login, unknown_name_throttles_exactly_as_an_account)
{
	/* Seconds after the base time of each attempt. */
	static const int64_t at[] = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4,
	    5, 7, 8, 11, 15, 16, 23, 31, 40, 47, 63, 95, 96, 1000, 2000 };
	struct auth_login_result ra, rm;
	struct password_stats s0, s1;
	const int64_t base = AH_NOW + 500;
	int a, m, throttled = 0;
	size_t i;

	ah_enroll("alice", NULL, NULL, NULL);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		s0 = stats();
		a = ah_login("alice", "wrong password!", "123456", base + at[i],
		    &ra);
		m = ah_login("mallory", "wrong password!", "123456",
		    base + at[i], &rm);
		s1 = stats();
		cr_assert_eq(a, m, "attempt %zu at +%lld: alice %s, mallory %s",
		    i, (long long)at[i], tss_strerror(a), tss_strerror(m));
		cr_assert(a == TSS_E_INVALID_CREDENTIALS ||
		    a == TSS_E_TOO_MANY_ATTEMPTS, "%s", tss_strerror(a));
		if (a == TSS_E_TOO_MANY_ATTEMPTS) {
			throttled++;
			cr_assert_eq(ra.retry_after, rm.retry_after,
			    "attempt %zu: Retry-After %lld vs %lld", i,
			    (long long)ra.retry_after,
			    (long long)rm.retry_after);
			cr_assert_str_eq(rm.reason, "throttled");
			cr_assert_eq(s1.hashes, s0.hashes);
		} else
			cr_assert_eq(s1.hashes, s0.hashes + 2);
	}
	cr_assert_geq(throttled, 5);
}

/* The lock at lock_after (100) holds for unknown names too: 429, reason
 * "locked", no hash, however long one waits. */
Test(auth_login, unknown_name_locks_at_100_like_an_account)
{
	struct auth_login_result ra, rm;
	struct password_stats s0, s1;
	int64_t now = AH_NOW + 100;
	int i, a, m;

	ah_enroll("alice", NULL, NULL, NULL);
	for (i = 1; i <= 100; i++) {
		a = ah_login("alice", "wrong password!", "123456", now, &ra);
		m = ah_login("mallory", "wrong password!", "123456", now, &rm);
		cr_assert_eq(a, TSS_E_INVALID_CREDENTIALS, "attempt %d", i);
		cr_assert_eq(m, a, "attempt %d: %s", i, tss_strerror(m));
		now += 15 * 60 + 1;	/* past the longest wait */
	}
	for (i = 0; i < 3; i++) {
		s0 = stats();
		a = ah_login("alice", "wrong password!", "123456", now, &ra);
		m = ah_login("mallory", "wrong password!", "123456", now, &rm);
		s1 = stats();
		cr_assert_eq(a, TSS_E_LOCKED);
		cr_assert_eq(m, TSS_E_LOCKED);
		cr_assert_str_eq(rm.reason, "locked");
		cr_assert_eq(s1.hashes, s0.hashes);
		now += 86400;
	}
}

Test(auth_login, counters_survive_store_reopen)
{
	struct auth_login_result res;
	struct user *u;
	int i;

	ah_enroll("alice", NULL, NULL, NULL);
	for (i = 0; i < 5; i++)
		cr_assert_eq(ah_login("alice", "wrong password!", "123456",
		    AH_NOW + 100, &res), TSS_E_INVALID_CREDENTIALS);
	ah_reopen();
	u = ah_user("alice");
	cr_assert_eq(u->failures, 5);
	user_free(u);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, "123456", AH_NOW + 100,
	    &res), TSS_E_TOO_MANY_ATTEMPTS);
}

Test(auth_login, success_resets_the_count)
{
	struct auth_login_result res;
	uint8_t secret[20];
	char code[7];
	struct user *u;
	int i;

	ah_enroll("alice", secret, NULL, NULL);
	for (i = 0; i < 4; i++)
		cr_assert_eq(ah_login("alice", "wrong password!", "123456",
		    AH_NOW + 100, &res), TSS_E_INVALID_CREDENTIALS);
	ah_code(secret, AH_NOW + 100, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 100, &res),
	    0);
	u = ah_user("alice");
	cr_assert_eq(u->failures, 0);
	cr_assert_eq(u->throttle_until, 0);
	user_free(u);
	auth_login_result_clear(&res);
}

Test(auth_login, locks_after_100_failures_until_admin_unlock)
{
	struct auth_login_result res;
	struct password_stats a, b;
	struct store_txn *t = NULL;
	uint8_t secret[20];
	char code[7];
	struct user *u;
	int64_t now = AH_NOW + 100;
	char addr[32];
	int i, r;

	ah_enroll("alice", secret, NULL, NULL);
	/* From a new address each time: the count is per account. */
	for (i = 1; i <= 100; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.%d", i / 250, i % 250);
		r = auth_login(ah_ctx, "alice", "wrong password!", 15,
		    "123456", addr, NULL, now, &res);
		cr_assert_eq(r, TSS_E_INVALID_CREDENTIALS, "attempt %d: %s",
		    i, tss_strerror(r));
		now += 15 * 60 + 1;	/* past the longest wait */
	}
	u = ah_user("alice");
	cr_assert_eq(u->failures, 100);
	cr_assert_eq(u->locked, 1);
	user_free(u);

	/* Locked: even the right password and code, without a hash. */
	ah_reopen();
	ah_code(secret, now, code);
	a = stats();
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, now, &res),
	    TSS_E_LOCKED);
	cr_assert_str_eq(res.reason, "locked");
	b = stats();
	cr_assert_eq(b.hashes, a.hashes);

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_unlock(t, "alice", NULL, now), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, now, &res), 0);
	auth_login_result_clear(&res);
}

Test(auth_login, recovery_codes_single_use_and_audited)
{
	struct auth_login_result res;
	struct user *u;
	char codes[10][20], upper[20];
	size_t i, j = 0;
	json_t *ev;

	ah_enroll("alice", NULL, NULL, codes);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, codes[3], AH_NOW + 60,
	    &res),
	    0);
	cr_assert_eq(res.used_recovery, 1);
	cr_assert_eq(res.recovery_left, 9);
	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "recovery.use");
	cr_assert_eq(json_integer_value(json_object_get(ev, "remaining")), 9);
	json_decref(ev);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, codes[3], AH_NOW + 61,
	    &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "bad_recovery_code");

	/* Case and dashes do not matter; each of the others works once. */
	for (i = 0; codes[5][i] != '\0'; i++)
		if (codes[5][i] != '-')
			upper[j++] = (char)(codes[5][i] >= 'a' &&
			    codes[5][i] <= 'z' ? codes[5][i] - 32 : codes[5][i]);
	upper[j] = '\0';
	cr_assert_eq(ah_login("alice", AH_PASSWORD, upper, AH_NOW + 62, &res),
	    0);
	cr_assert_eq(res.recovery_left, 8);
	cr_assert_eq(ah_audit_actions("recovery.use"), 2);
	/* A recovery code login is a login: last_login moves. */
	u = ah_user("alice");
	cr_assert_eq(u->last_login, AH_NOW + 62);
	user_free(u);
	/* A recovery code never stands in for the password. */
	cr_assert_eq(ah_login("alice", "wrong password!", codes[0], AH_NOW + 63,
	    &res), TSS_E_INVALID_CREDENTIALS);
	auth_login_result_clear(&res);
}

Test(auth_login, flipped_byte_of_stored_secret_refused)
{
	struct auth_login_result res;
	struct store_txn *t = NULL;
	uint8_t secret[20];
	char code[7];
	struct user *u;
	size_t k;

	ah_enroll("alice", secret, NULL, NULL);
	u = ah_user("alice");
	for (k = 0; k < u->totp_box_len; k += 7) {
		u->totp_box[k] ^= 0x04;
		cr_assert_eq(store_begin(ah_store, 1, &t), 0);
		cr_assert_eq(user_put(t, u), 0);
		cr_assert_eq(store_commit(t), 0);
		ah_code(secret, AH_NOW + 60 + 30 * (int64_t)k, code);
		cr_assert_eq(ah_login("alice", AH_PASSWORD, code,
		    AH_NOW + 60 + 30 * (int64_t)k, &res),
		    TSS_E_INVALID_CREDENTIALS, "byte %zu", k);
		cr_assert_str_eq(res.reason, "secret_unreadable");
		u->totp_box[k] ^= 0x04;
		u->failures = 0;
		u->throttle_until = 0;
	}
	user_free(u);
}

Test(auth_login, secret_swapped_between_users_refused)
{
	struct auth_login_result res;
	struct store_txn *t = NULL;
	uint8_t sa[20], sb[20];
	char code[7];
	struct user *a, *b;
	uint8_t *tmp;
	size_t tl;

	ah_enroll("alice", sa, NULL, NULL);
	ah_enroll("bob", sb, NULL, NULL);
	a = ah_user("alice");
	b = ah_user("bob");
	tmp = b->totp_box;
	tl = b->totp_box_len;
	b->totp_box = a->totp_box;
	b->totp_box_len = a->totp_box_len;
	a->totp_box = tmp;
	a->totp_box_len = tl;
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_put(t, a), 0);
	cr_assert_eq(user_put(t, b), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(a);
	user_free(b);
	/* Neither the owner's nor the original user's code opens it. */
	ah_code(sa, AH_NOW + 60, code);
	cr_assert_eq(ah_login("bob", AH_PASSWORD, code, AH_NOW + 60, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "secret_unreadable");
	ah_code(sb, AH_NOW + 60, code);
	cr_assert_eq(ah_login("bob", AH_PASSWORD, code, AH_NOW + 60, &res),
	    TSS_E_INVALID_CREDENTIALS);
	ah_code(sa, AH_NOW + 60, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 60, &res),
	    TSS_E_INVALID_CREDENTIALS);
}

Test(auth_login, pending_user_not_enrolled)
{
	struct enroll_start_result sr;
	struct auth_login_result res;
	char token[65];

	ah_create("alice", token);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, "123456", AH_NOW, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(enroll_start(ah_ctx, token, AH_PASSWORD, PWL, NULL,
	    AH_NOW, &sr), 0);
	enroll_start_result_clear(&sr);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, "123456", AH_NOW, &res),
	    TSS_E_NOT_ENROLLED);
	cr_assert_str_eq(res.reason, "not_enrolled");
	cr_assert_eq(ah_login("alice", "wrong password!", "123456", AH_NOW,
	    &res), TSS_E_INVALID_CREDENTIALS);
}

Test(auth_login, disabled_user_gets_invalid_credentials)
{
	struct auth_login_result res;
	struct store_txn *t = NULL;
	uint8_t secret[20];
	char code[7];

	ah_enroll("alice", secret, NULL, NULL);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_set_disabled(t, "alice", 1, NULL, AH_NOW), 0);
	cr_assert_eq(store_commit(t), 0);
	ah_code(secret, AH_NOW + 60, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 60, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_str_eq(res.reason, "disabled");
}

Test(auth_login, per_address_token_bucket)
{
	struct auth_config c;
	struct auth_login_result res;
	struct password_stats a, b;
	int i;

	ah_config(&c);
	c.rate_burst = 3;
	c.rate_interval = 10;
	ah_reconfigure(&c);
	for (i = 0; i < 3; i++)
		cr_assert_eq(auth_login(ah_ctx, "nobody", "whatever pass", 13,
		    "123456", "198.51.100.1", NULL, AH_NOW, &res),
		    TSS_E_INVALID_CREDENTIALS);
	a = stats();
	cr_assert_eq(auth_login(ah_ctx, "nobody", "whatever pass", 13,
	    "123456", "198.51.100.1", NULL, AH_NOW, &res),
	    TSS_E_TOO_MANY_ATTEMPTS);
	cr_assert_str_eq(res.reason, "rate_limited");
	cr_assert_eq(res.retry_after, 10);
	b = stats();
	cr_assert_eq(b.hashes, a.hashes);
	/* Another address is not affected; the first refills. */
	cr_assert_eq(auth_login(ah_ctx, "nobody", "whatever pass", 13,
	    "123456", "198.51.100.2", NULL, AH_NOW, &res),
	    TSS_E_INVALID_CREDENTIALS);
	cr_assert_eq(auth_login(ah_ctx, "nobody", "whatever pass", 13,
	    "123456", "198.51.100.1", NULL, AH_NOW + 10, &res),
	    TSS_E_INVALID_CREDENTIALS);
}

struct racer {
	const char *code;
	int64_t now;
	int r;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	struct auth_login_result res;

	x->r = auth_login(ah_ctx, "alice", AH_PASSWORD, PWL, x->code,
	    "192.0.2.9", NULL, x->now, &res);
	auth_login_result_clear(&res);
	return NULL;
}

Test(auth_login, concurrent_same_code_exactly_one_succeeds)
{
	enum { K = 6 };
	struct racer x[K];
	pthread_t th[K];
	uint8_t secret[20];
	char code[7];
	int i, ok = 0, refused = 0;

	ah_enroll("alice", secret, NULL, NULL);
	ah_code(secret, AH_NOW + 90, code);
	for (i = 0; i < K; i++) {
		x[i].code = code;
		x[i].now = AH_NOW + 90;
		x[i].r = 99;
		cr_assert_eq(pthread_create(&th[i], NULL, race, &x[i]), 0);
	}
	for (i = 0; i < K; i++) {
		pthread_join(th[i], NULL);
		if (x[i].r == 0)
			ok++;
		else if (x[i].r == TSS_E_INVALID_CREDENTIALS)
			refused++;
	}
	cr_assert_eq(ok, 1);
	cr_assert_eq(refused, K - 1);
}

Test(auth_login, raised_parameters_rehash_on_next_login)
{
	struct auth_config c;
	struct auth_login_result res;
	struct password_params p;
	uint8_t secret[20];
	char code[7];
	struct user *u;

	ah_enroll("alice", secret, NULL, NULL);
	ah_config(&c);
	c.password.m_kib = 2048;
	c.password.t_cost = 2;
	ah_reconfigure(&c);
	ah_code(secret, AH_NOW + 60, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 60, &res),
	    0);
	u = ah_user("alice");
	cr_assert_eq(password_parse_params(u->pw_hash, &p), 0);
	cr_assert_eq(p.m_kib, 2048);
	cr_assert_eq(p.t_cost, 2);
	user_free(u);
	ah_code(secret, AH_NOW + 90, code);
	cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 90, &res),
	    0);
	auth_login_result_clear(&res);
}
