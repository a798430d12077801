/* Sessions: tokens, touch, idle and absolute timeouts, logout, CSRF. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "store/store.h"
#include "auth/session.h"
#include "auth/token.h"
#include "helpers.h"

TestSuite(auth_session, .init = ah_setup, .fini = ah_teardown);

#define IDLE	1800
#define MAX	43200

static void
mk(const char *user, int64_t now, char *tok, char *csrf)
{
	struct store_txn *t = NULL;
	int64_t exp = 0;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(session_create(t, user, "203.0.113.5", now, IDLE, MAX,
	    tok, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(exp, now + IDLE);
}

static int
look(const char *tok, int64_t now, struct session **s)
{
	struct store_txn *t = NULL;
	int r;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	r = session_lookup(t, tok, now, IDLE, MAX, s);
	cr_assert_eq(store_commit(t), 0);
	return r;
}

Test(auth_session, tokens_are_random_and_stored_hashed)
{
	char a[65], b[65], ca[65], cb[65];
	uint8_t h[32];
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;

	mk("alice", AH_NOW, a, ca);
	mk("alice", AH_NOW, b, cb);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(ca, cb);
	cr_assert_str_neq(a, ca);
	cr_assert_eq(token_hash(a, h), 0);
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(store_get(t, STORE_DB_SESSIONS, h, 32, &v, &vl), 0);
	/* Neither the token nor its CSRF token is in the record. */
	cr_assert_null(memmem(v, vl, a, 64));
	cr_assert_null(memmem(v, vl, ca, 64));
	cr_assert_eq(store_get(t, STORE_DB_SESSIONS, a, 64, &v, &vl),
	    TSS_E_NOT_FOUND);
	store_abort(t);
}

Test(auth_session, lookup_touches_and_idle_timeout_ends)
{
	struct session *s = NULL;
	char tok[65], csrf[65];

	mk("alice", AH_NOW, tok, csrf);
	cr_assert_eq(look(tok, AH_NOW + IDLE - 1, &s), 0);
	cr_assert_eq(s->last_used, AH_NOW + IDLE - 1);
	cr_assert_eq(s->expires_at, AH_NOW + 2 * IDLE - 1);
	session_free(s);
	/* Use kept it alive past the first idle deadline ... */
	cr_assert_eq(look(tok, AH_NOW + IDLE + 5, &s), 0);
	session_free(s);
	/* ... until it sat idle for the full period. */
	cr_assert_eq(look(tok, AH_NOW + 2 * IDLE + 5, &s),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);
	/* Deleted: it does not come back at an earlier time. */
	cr_assert_eq(look(tok, AH_NOW + IDLE + 6, &s), TSS_E_UNAUTHENTICATED);
}

Test(auth_session, absolute_timeout_ends_a_busy_session)
{
	struct session *s = NULL;
	char tok[65], csrf[65];
	int64_t t;

	mk("alice", AH_NOW, tok, csrf);
	for (t = AH_NOW + 1000; t < AH_NOW + MAX; t += 1000) {
		cr_assert_eq(look(tok, t, &s), 0, "t=%lld", (long long)t);
		session_free(s);
	}
	cr_assert_eq(look(tok, AH_NOW + MAX, &s), TSS_E_UNAUTHENTICATED);
}

Test(auth_session, logout_ends_it_and_is_audited)
{
	struct session *s = NULL;
	char tok[65], csrf[65];
	json_t *ev;

	mk("alice", AH_NOW, tok, csrf);
	cr_assert_eq(auth_logout(ah_ctx, tok, "203.0.113.5", AH_NOW + 1), 0);
	cr_assert_eq(look(tok, AH_NOW + 2, &s), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(auth_logout(ah_ctx, tok, NULL, AH_NOW + 3),
	    TSS_E_UNAUTHENTICATED);
	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "session.end");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "actor")),
	    "alice");
	json_decref(ev);
}

Test(auth_session, malformed_tokens_unauthenticated)
{
	struct session *s = NULL;
	static const char *bad[] = { "", "abc",
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "ZZ00000000000000000000000000000000000000000000000000000000000000",
	    "00000000000000000000000000000000000000000000000000000000000000000" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(look(bad[i], AH_NOW, &s), TSS_E_UNAUTHENTICATED,
		    "case %zu", i);
	cr_assert_eq(look(NULL, AH_NOW, &s), TSS_E_UNAUTHENTICATED);
}

Test(auth_session, csrf_belongs_to_its_session)
{
	char a[65], b[65], ca[65], cb[65], again[65];

	mk("alice", AH_NOW, a, ca);
	mk("alice", AH_NOW, b, cb);
	cr_assert_eq(session_csrf(a, again), 0);
	cr_assert_str_eq(again, ca);
	cr_assert_eq(session_csrf_check(a, ca), 0);
	cr_assert_eq(session_csrf_check(a, cb), TSS_E_FORBIDDEN);
	cr_assert_eq(session_csrf_check(a, ""), TSS_E_FORBIDDEN);
	cr_assert_eq(session_csrf_check(a, NULL), TSS_E_FORBIDDEN);
	cr_assert_eq(session_csrf_check("nope", ca), TSS_E_FORBIDDEN);
}

Test(auth_session, end_all_for_user_and_prune)
{
	struct store_txn *t = NULL;
	struct session *s = NULL;
	char a1[65], a2[65], b1[65], c[65];
	size_t n = 0;
	uint64_t left;

	mk("alice", AH_NOW, a1, c);
	mk("bob", AH_NOW, b1, c);
	mk("alice", AH_NOW, a2, c);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(session_end_all_for_user(t, "alice", &n), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(look(a1, AH_NOW + 1, &s), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(look(a2, AH_NOW + 1, &s), TSS_E_UNAUTHENTICATED);
	cr_assert_eq(look(b1, AH_NOW + 1, &s), 0);
	session_free(s);

	mk("carol", AH_NOW + IDLE, c, a1);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(session_prune(t, AH_NOW + IDLE + 2, IDLE, MAX, &n), 0);
	cr_assert_eq(n, 1);	/* bob's, idle since AH_NOW + 1 */
	cr_assert_eq(store_count(t, STORE_DB_SESSIONS, &left), 0);
	cr_assert_eq(left, 1);
	cr_assert_eq(store_commit(t), 0);
}
