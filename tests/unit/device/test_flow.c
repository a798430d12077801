/*
 * Device flow use cases (broker/device.h) on a real broker: a real LMDB
 * store, CA key and master key in a temp fx.dir, users and policy written
 * through the auth and rbac modules, keys made by ssh-keygen.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/secretbox.h"
#include "auth/token.h"
#include "auth/user.h"
#include "audit/audit.h"
#include "broker/broker.h"
#include "broker/device.h"
#include "sshca/cakey.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "store/store.h"
#include "fixture.h"
#include "tmpdir.h"

static struct fixture fx;

/* The fixture's world (fixture.h): alice (group dev) may reach every lab
 * target as app; bob has no access; root is an admin only. */
static void
setup(void)
{
	static const char *const cfg[] = { "argon2_memory_kib", "64",
	    "argon2_time", "1", NULL };

	fixture_open(&fx, cfg, 3600);
}

static void
teardown(void)
{
	fixture_close(&fx);
}

TestSuite(device, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers ---- */

static uint64_t
count_db(enum store_db db)
{
	struct store_txn *t;
	uint64_t n;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(store_count(t, db, &n), 0);
	store_abort(t);
	return n;
}

/* Audit events with this action (and actor, when not NULL). */
static int
count_events(const char *action, const char *actor)
{
	struct store_txn *t;
	uint64_t n, seq;
	json_t *ev;
	int found = 0;

	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_AUDIT_SEQ, &n), 0);
	for (seq = 1; seq <= n; seq++) {
		if (audit_get(t, seq, &ev) != 0)
			continue;
		if (strcmp(json_string_value(json_object_get(ev, "action")),
		    action) == 0 && (actor == NULL || strcmp(actor,
		    json_string_value(json_object_get(ev, "actor"))) == 0))
			found++;
		json_decref(ev);
	}
	store_abort(t);
	return found;
}

static void
make(const char *target, const char *login, int64_t ttl, int64_t now,
    struct device_grant *g)
{
	struct device_request rq = { .public_key = fx.pubkey, .target = target,
	    .login = login, .ttl = ttl, .remote_addr = "192.0.2.7" };
	char err[256];

	cr_assert_eq(device_create(fx.b->store, &rq, now, g, err, sizeof(err)), 0,
	    "%s", err);
}

static struct audit_actor alice = { "alice", "198.51.100.1", "req-alice" };
static struct audit_actor bob = { "bob", "198.51.100.2", "req-bob" };

static int
poll_at(const char *code, int64_t now, enum device_poll *p, json_t **out)
{
	char err[256];

	return device_token(fx.b->store, &fx.b->issuer, code, "192.0.2.7", "req-dev",
	    now, p, out, err, sizeof(err));
}

/* ---- create ---- */

Test(device, create_returns_codes_and_stores_only_a_hash)
{
	struct device_grant g;
	uint8_t key[TOKEN_HASH_LEN];
	struct store_txn *t;
	const void *v;
	size_t vl, i;

	make("lab/box", "app", 900, fx.now, &g);
	cr_expect_eq(strlen(g.device_code), DEVICE_CODE_LEN);
	cr_expect_eq(strspn(g.device_code, "0123456789abcdef"),
	    DEVICE_CODE_LEN);
	cr_assert_eq(strlen(g.user_code), 9);
	for (i = 0; i < 9; i++) {
		if (i == 4)
			cr_expect_eq(g.user_code[i], '-');
		else
			cr_expect_not_null(strchr(DEVICE_ALPHABET,
			    g.user_code[i]), "%s", g.user_code);
	}
	cr_expect_eq(g.expires_at, fx.now + 600);
	cr_expect_eq(g.interval, 5);
	/* The record lives under the hash; the code itself is nowhere. */
	cr_assert_eq(token_hash(g.device_code, key), 0);
	cr_assert_eq(store_begin(fx.b->store, 0, &t), 0);
	cr_expect_eq(store_get(t, STORE_DB_DEVICE, key, sizeof(key), &v, &vl),
	    0);
	cr_expect_null(memmem(v, vl, g.device_code, DEVICE_CODE_LEN));
	store_abort(t);
	cr_expect_eq(count_db(STORE_DB_DEVICE), 2);	/* record + index */
}

Test(device, create_refuses_bad_keys_and_writes_nothing)
{
	struct device_request rq = { .public_key = "ssh-ed25519 AAAA" };
	struct device_grant g;
	char err[256];

	cr_expect_eq(device_create(fx.b->store, &rq, fx.now, &g, err, sizeof(err)),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_expect_neq(err[0], '\0');
	rq.public_key = NULL;
	cr_expect_eq(device_create(fx.b->store, &rq, fx.now, &g, err, sizeof(err)),
	    TSS_E_INVALID_PUBLIC_KEY);
	cr_expect_eq(g.device_code[0], '\0');
	cr_expect_eq(count_db(STORE_DB_DEVICE), 0);
}

Test(device, create_refuses_bad_target_login_ttl)
{
	struct device_request rq = { .public_key = fx.pubkey };
	struct device_grant g;
	char err[256];

	rq.target = "a,root";
	cr_expect_eq(device_create(fx.b->store, &rq, fx.now, &g, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_str_eq(err, "target: malformed");
	rq.target = "lab/box";
	rq.login = "a\nroot";
	cr_expect_eq(device_create(fx.b->store, &rq, fx.now, &g, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_str_eq(err, "login: malformed");
	rq.login = "app";
	rq.ttl = -1;
	cr_expect_eq(device_create(fx.b->store, &rq, fx.now, &g, err, sizeof(err)),
	    TSS_E_VALIDATION);
	cr_expect_eq(count_db(STORE_DB_DEVICE), 0);
}

/* ---- user codes ---- */

Test(device, user_code_normalisation)
{
	char out[DEVICE_USER_CODE_TEXT + 1];

	cr_assert_eq(device_user_code_normalise("bcdf-ghjk", out), 0);
	cr_expect_str_eq(out, "BCDF-GHJK");
	cr_assert_eq(device_user_code_normalise("bcdfghjk", out), 0);
	cr_expect_str_eq(out, "BCDF-GHJK");
	cr_assert_eq(device_user_code_normalise("  BcDf-GhJk ", out), 0);
	cr_expect_str_eq(out, "BCDF-GHJK");
	/* Vowels and digits are not in the alphabet; wrong lengths, a dash
	 * elsewhere, empty and NULL are refused. */
	cr_expect_eq(device_user_code_normalise("ABCD-EFGH", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("BCDF-GHJ1", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("BCD-FGHJK", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("BCDFGHJ", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("BCDFGHJKL", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("BCDF GHJK", out),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise("", out), TSS_E_BAD_FORMAT);
	cr_expect_eq(device_user_code_normalise(NULL, out), TSS_E_BAD_FORMAT);
}

Test(device, pending_found_by_any_spelling_of_the_code)
{
	struct device_grant g;
	struct device_pending p;
	char typed[16];
	size_t i, o = 0;

	make("lab/box", "app", 900, fx.now, &g);
	/* Lower case, no dash. */
	for (i = 0; g.user_code[i] != '\0'; i++)
		if (g.user_code[i] != '-')
			typed[o++] = (char)(g.user_code[i] - 'A' + 'a');
	typed[o] = '\0';
	cr_assert_eq(device_pending_get(fx.b->store, typed, fx.now + 1, &p), 0);
	cr_expect_str_eq(p.user_code, g.user_code);
	cr_expect_str_eq(p.fingerprint, fx.fingerprint);
	cr_expect_str_eq(p.key_type, "ssh-ed25519");
	cr_expect_str_eq(p.target, "lab/box");
	cr_expect_str_eq(p.login, "app");
	cr_expect_eq(p.ttl, 900);
	cr_expect_eq(p.expires_at, fx.now + 600);
	cr_expect_str_eq(p.remote_addr, "192.0.2.7");
	device_pending_clear(&p);
}

Test(device, pending_without_target_or_login_shows_none)
{
	struct device_grant g;
	struct device_pending p;

	make(NULL, NULL, 0, fx.now, &g);
	cr_assert_eq(device_pending_get(fx.b->store, g.user_code, fx.now, &p), 0);
	cr_expect_null(p.target);
	cr_expect_null(p.login);
	cr_expect_eq(p.ttl, 0);
	device_pending_clear(&p);
}

Test(device, unknown_and_malformed_codes)
{
	struct device_pending p;
	enum device_poll poll;
	json_t *out = NULL;
	char code[TOKEN_TEXT_LEN + 1];
	uint8_t h[TOKEN_HASH_LEN];

	cr_expect_eq(device_pending_get(fx.b->store, "BCDF-GHJK", fx.now, &p),
	    TSS_E_NOT_FOUND);
	cr_expect_eq(device_pending_get(fx.b->store, "nope", fx.now, &p),
	    TSS_E_BAD_FORMAT);
	cr_expect_eq(device_decide(fx.b->store, "BCDF-GHJK", 1, &alice, fx.now),
	    TSS_E_NOT_FOUND);
	cr_expect_eq(device_decide(fx.b->store, "AAAA-AAAA", 1, &alice, fx.now),
	    TSS_E_BAD_FORMAT);
	cr_assert_eq(token_new(code, h), 0);
	cr_expect_eq(poll_at(code, fx.now, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
	cr_expect_null(out);
	cr_expect_eq(poll_at("not-hex", fx.now, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
	cr_expect_eq(poll_at(NULL, fx.now, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
	cr_expect_str_eq(device_poll_code(DEVICE_INVALID), "invalid_grant");
	cr_expect_eq(count_db(STORE_DB_DEVICE), 0);
	cr_expect_eq(count_events("device.approve", NULL), 0);
}

/* ---- polls ---- */

Test(device, token_pending_until_approved_and_slow_down_when_fast)
{
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;

	make("lab/box", "app", 900, fx.now, &g);
	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_PENDING);
	cr_expect_str_eq(device_poll_code(poll), "authorization_pending");
	cr_assert_eq(poll_at(g.device_code, fx.now + 6, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_SLOW_DOWN);
	cr_expect_str_eq(device_poll_code(poll), "slow_down");
	/* slow_down made the interval 10 s (RFC 8628 section 3.5). */
	cr_assert_eq(poll_at(g.device_code, fx.now + 16, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_PENDING);
	cr_expect_null(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

/*
 * Finding: about 9,400 unauthenticated polls of one pending code in 4 s,
 * each a durable write that queued every issuance behind it.  A pending
 * poll must be a read, however fast and however answered.
 */
Test(device, fast_polls_of_a_pending_code_write_nothing)
{
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;
	uint64_t before, after;
	int i, pending = 0, slow = 0;

	make("lab/box", "app", 900, fx.now, &g);
	cr_assert_eq(store_last_txnid(fx.b->store, &before), 0);
	for (i = 0; i < 2000; i++) {
		cr_assert_eq(poll_at(g.device_code, fx.now + 1 + i / 500, &poll,
		    &out), 0);
		cr_assert(poll == DEVICE_PENDING || poll == DEVICE_SLOW_DOWN,
		    "poll %d: %s", i, device_poll_code(poll));
		pending += poll == DEVICE_PENDING;
		slow += poll == DEVICE_SLOW_DOWN;
	}
	/* Paced polls write nothing either. */
	cr_assert_eq(poll_at(g.device_code, fx.now + 200, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_PENDING);
	cr_assert_eq(store_last_txnid(fx.b->store, &after), 0);
	cr_expect_eq(after, before, "%llu write transactions for polls",
	    (unsigned long long)(after - before));
	cr_expect_eq(pending, 1);
	cr_expect_eq(slow, 1999);
	cr_expect_null(out);
}

/*
 * RFC 8628 section 3.5: after slow_down the interval grows by 5 s "for
 * this and all subsequent requests"; the fixed 5 s let a client that
 * ignored slow_down keep polling every 5 s.
 */
Test(device, slow_down_adds_5_seconds_to_the_interval)
{
	/* Seconds since the previous poll, and the answer. */
	static const struct {
		int64_t gap;
		enum device_poll want;
	} step[] = {
		{ 5, DEVICE_PENDING },
		{ 1, DEVICE_SLOW_DOWN },	/* the interval is 10 s now */
		{ 5, DEVICE_SLOW_DOWN },	/* too fast: 15 s */
		{ 10, DEVICE_SLOW_DOWN },	/* too fast: 20 s */
		{ 20, DEVICE_PENDING },
		{ 20, DEVICE_PENDING },
		{ 19, DEVICE_SLOW_DOWN },	/* 25 s */
		{ 25, DEVICE_PENDING },
	};
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;
	int64_t t = fx.now;
	size_t i;

	make("lab/box", "app", 900, fx.now, &g);
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		t += step[i].gap;
		cr_assert_eq(poll_at(g.device_code, t, &poll, &out), 0);
		cr_expect_eq(poll, step[i].want, "poll %zu (+%lld s): %s", i,
		    (long long)step[i].gap, device_poll_code(poll));
	}
	/* It stops growing at DEVICE_INTERVAL_MAX. */
	for (i = 0; i < 50; i++)
		cr_assert_eq(poll_at(g.device_code, t, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_SLOW_DOWN);
	cr_assert_eq(poll_at(g.device_code, t + DEVICE_INTERVAL_MAX, &poll,
	    &out), 0);
	cr_expect_eq(poll, DEVICE_PENDING);
	cr_expect_null(out);
}

/* A client slowed down that keeps the new pace still gets its
 * certificate once the request is approved. */
Test(device, slowed_down_client_at_the_new_pace_gets_the_certificate)
{
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;

	make("lab/box", "app", 900, fx.now, &g);
	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_SLOW_DOWN);
	cr_assert_eq(poll_at(g.device_code, fx.now + 15, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_PENDING);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 20),
	    0);
	cr_assert_eq(poll_at(g.device_code, fx.now + 25, &poll, &out), 0);
	cr_assert_eq(poll, DEVICE_ISSUED);
	cr_assert_not_null(out);
	json_decref(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 1);
}

Test(device, approve_then_token_issues_once_as_the_approver)
{
	struct device_grant g;
	struct device_pending p;
	enum device_poll poll;
	json_t *out = NULL, *pr;
	char kid[64];

	make("lab/box", "app", 900, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 2), 0);
	cr_expect_eq(count_events("device.approve", "alice"), 1);
	/* No longer pending: a second decision is refused. */
	cr_expect_eq(device_pending_get(fx.b->store, g.user_code, fx.now + 3, &p),
	    TSS_E_CONFLICT);
	cr_expect_eq(device_decide(fx.b->store, g.user_code, 0, &bob, fx.now + 3),
	    TSS_E_CONFLICT);

	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_assert_eq(poll, DEVICE_ISSUED);
	cr_assert_not_null(out);
	cr_expect_eq(strncmp(json_string_value(json_object_get(out,
	    "certificate")), "ssh-ed25519-cert-v01@openssh.com ", 33), 0);
	snprintf(kid, sizeof(kid), "alice:%lld", (long long)json_integer_value(
	    json_object_get(out, "serial")));
	cr_expect_str_eq(json_string_value(json_object_get(out, "key_id")),
	    kid);
	pr = json_object_get(out, "principals");
	cr_assert_eq(json_array_size(pr), 1);
	cr_expect_str_eq(json_string_value(json_array_get(pr, 0)),
	    "app@lab/box");
	/* ttl 900 asked, within the role's 3600: kept (5 min skew before). */
	cr_expect_eq(json_integer_value(json_object_get(out, "valid_before")) -
	    json_integer_value(json_object_get(out, "valid_after")), 900 + 300);
	json_decref(out);
	out = NULL;
	cr_expect_eq(count_events("cert.issue", "alice"), 1);
	cr_expect_eq(count_db(STORE_DB_CERTS), 1);

	/* Single use. */
	cr_assert_eq(poll_at(g.device_code, fx.now + 10, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
	cr_expect_null(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 1);
}

#define POLLERS	8

struct poller {
	const char *code;
	int64_t now;
	int r;
	enum device_poll poll;
	json_t *out;
	pthread_barrier_t *bar;
};

static void *
poller_main(void *arg)
{
	struct poller *p = arg;
	char err[256];

	pthread_barrier_wait(p->bar);
	p->r = device_token(fx.b->store, &fx.b->issuer, p->code, "192.0.2.7", NULL,
	    p->now, &p->poll, &p->out, err, sizeof(err));
	return NULL;
}

Test(device, concurrent_polls_issue_exactly_one_certificate)
{
	struct device_grant g;
	struct poller p[POLLERS];
	pthread_t th[POLLERS];
	pthread_barrier_t bar;
	int i, issued = 0, invalid = 0;

	make("lab/box", "app", 0, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 1), 0);
	cr_assert_eq(pthread_barrier_init(&bar, NULL, POLLERS), 0);
	for (i = 0; i < POLLERS; i++) {
		p[i] = (struct poller){ .code = g.device_code, .now = fx.now + 6,
		    .bar = &bar };
		cr_assert_eq(pthread_create(&th[i], NULL, poller_main, &p[i]),
		    0);
	}
	for (i = 0; i < POLLERS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(p[i].r, 0);
		if (p[i].poll == DEVICE_ISSUED && p[i].out != NULL)
			issued++;
		else if (p[i].poll == DEVICE_INVALID && p[i].out == NULL)
			invalid++;
		json_decref(p[i].out);
	}
	pthread_barrier_destroy(&bar);
	cr_expect_eq(issued, 1, "issued %d", issued);
	cr_expect_eq(invalid, POLLERS - 1);
	cr_expect_eq(count_db(STORE_DB_CERTS), 1);
	cr_expect_eq(count_events("cert.issue", NULL), 1);
}

Test(device, deny_gives_access_denied_and_is_audited)
{
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;

	make("lab/box", "app", 0, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 0, &alice, fx.now + 1), 0);
	cr_expect_eq(count_events("device.deny", "alice"), 1);
	cr_expect_eq(count_events("device.approve", NULL), 0);
	cr_expect_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 2),
	    TSS_E_CONFLICT);
	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_DENIED);
	cr_expect_str_eq(device_poll_code(poll), "access_denied");
	cr_expect_null(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

Test(device, expiry_gives_expired_token_everywhere)
{
	struct device_grant g, g2;
	struct device_pending p;
	enum device_poll poll;
	json_t *out = NULL;

	make("lab/box", "app", 0, fx.now, &g);
	cr_expect_eq(device_pending_get(fx.b->store, g.user_code, fx.now + 600, &p),
	    TSS_E_EXPIRED);
	cr_expect_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 600),
	    TSS_E_EXPIRED);
	cr_expect_eq(count_events("device.approve", NULL), 0);
	cr_assert_eq(poll_at(g.device_code, fx.now + 600, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_EXPIRED);
	cr_expect_str_eq(device_poll_code(poll), "expired_token");

	/* Approved but collected too late: expired as well. */
	make("lab/box", "app", 0, fx.now, &g2);
	cr_assert_eq(device_decide(fx.b->store, g2.user_code, 1, &alice, fx.now + 599),
	    0);
	cr_assert_eq(poll_at(g2.device_code, fx.now + 601, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_EXPIRED);
	cr_expect_null(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

Test(device, approver_without_access_spends_the_request)
{
	struct device_grant g;
	enum device_poll poll;
	json_t *out = NULL;
	char err[256];

	make("lab/box", "app", 0, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &bob, fx.now + 1), 0);
	cr_expect_eq(device_token(fx.b->store, &fx.b->issuer, g.device_code, NULL,
	    NULL, fx.now + 5, &poll, &out, err, sizeof(err)), TSS_E_FORBIDDEN);
	cr_expect_null(out);
	cr_expect_neq(err[0], '\0');
	cr_assert_eq(poll_at(g.device_code, fx.now + 10, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

Test(device, approver_disabled_before_the_poll_is_denied)
{
	struct device_grant g;
	enum device_poll poll;
	struct store_txn *t;
	json_t *out = NULL;

	make("lab/box", "app", 0, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 1), 0);
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_set_disabled(t, "alice", 1, NULL, fx.now + 2), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(poll_at(g.device_code, fx.now + 5, &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_DENIED);
	cr_expect_null(out);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

Test(device, groups_are_read_at_poll_time)
{
	struct device_grant g;
	enum device_poll poll;
	struct store_txn *t;
	json_t *out = NULL;
	char err[256];

	make("lab/box", "app", 0, fx.now, &g);
	cr_assert_eq(device_decide(fx.b->store, g.user_code, 1, &alice, fx.now + 1), 0);
	/* alice leaves group dev after approving: no grant any more. */
	cr_assert_eq(store_begin(fx.b->store, 1, &t), 0);
	cr_assert_eq(user_set_groups(t, "alice", NULL, 0, NULL, fx.now + 2), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_expect_eq(device_token(fx.b->store, &fx.b->issuer, g.device_code, NULL,
	    NULL, fx.now + 5, &poll, &out, err, sizeof(err)), TSS_E_FORBIDDEN);
	cr_expect_eq(count_db(STORE_DB_CERTS), 0);
}

Test(device, old_requests_are_pruned_by_later_ones)
{
	struct device_grant g1, g2;
	enum device_poll poll;
	json_t *out = NULL;

	make("lab/box", "app", 0, fx.now, &g1);
	cr_expect_eq(count_db(STORE_DB_DEVICE), 2);
	/* Still kept (and "expired") within DEVICE_KEEP after expiry. */
	make("lab/box", "app", 0, fx.now + DEVICE_TTL + DEVICE_KEEP, &g2);
	cr_expect_eq(count_db(STORE_DB_DEVICE), 4);
	cr_assert_eq(poll_at(g1.device_code, fx.now + DEVICE_TTL + DEVICE_KEEP,
	    &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_EXPIRED);
	/* Past that, the next request removes it, index entry included. */
	make("lab/box", "app", 0, fx.now + DEVICE_TTL + DEVICE_KEEP + 1, &g2);
	cr_expect_eq(count_db(STORE_DB_DEVICE), 4);
	cr_assert_eq(poll_at(g1.device_code, fx.now + DEVICE_TTL + DEVICE_KEEP + 2,
	    &poll, &out), 0);
	cr_expect_eq(poll, DEVICE_INVALID);
}
