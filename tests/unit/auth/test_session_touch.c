/*
 * Sessions on the hot path: session_peek() reads without writing, and
 * auth_session() records a use only every SESSION_TOUCH_EVERY seconds, so
 * authenticated requests do not queue on LMDB's writer lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "store/store.h"
#include "auth/login.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "helpers.h"

TestSuite(auth_session_touch, .init = ah_setup, .fini = ah_teardown);

#define IDLE	1800	/* the auth context's default session_idle */
#define MAX	43200

static void
mk(const char *user, int64_t now, char *tok)
{
	struct store_txn *t = NULL;
	char csrf[65];
	int64_t exp = 0;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(session_create(t, user, "203.0.113.5", now, IDLE, MAX,
	    tok, csrf, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
}

/* The stored record's bytes (caller frees); NULL when absent. */
static uint8_t *
raw(const char *tok, size_t *len)
{
	struct store_txn *t = NULL;
	uint8_t h[TOKEN_HASH_LEN], *copy = NULL;
	const void *v;
	size_t vl;

	*len = 0;
	cr_assert_eq(token_hash(tok, h), 0);
	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	if (store_get(t, STORE_DB_SESSIONS, h, sizeof(h), &v, &vl) == 0) {
		cr_assert_not_null(copy = malloc(vl));
		memcpy(copy, v, vl);
		*len = vl;
	}
	store_abort(t);
	return copy;
}

/* session_peek in a read transaction. */
static int
peek(const char *tok, int64_t now, struct session **s, int *touch)
{
	struct store_txn *t = NULL;
	int r;

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	r = session_peek(t, tok, now, IDLE, MAX, s, touch);
	store_abort(t);
	return r;
}

/* last_used as stored. */
static int64_t
stored_last_used(const char *tok)
{
	struct session *s = NULL;
	int64_t v;
	int touch;

	cr_assert_eq(peek(tok, 0, &s, &touch), 0);
	v = s->last_used;
	session_free(s);
	return v;
}

Test(auth_session_touch, peek_reads_and_writes_nothing)
{
	struct session *s = NULL;
	char tok[65];
	uint8_t *before, *after;
	size_t bl, al;
	int touch = -1;

	mk("alice", AH_NOW, tok);
	before = raw(tok, &bl);
	cr_assert_eq(peek(tok, AH_NOW + SESSION_TOUCH_EVERY - 1, &s, &touch),
	    0);
	cr_assert_eq(touch, 0);
	cr_assert_str_eq(s->username, "alice");
	cr_assert_eq(s->last_used, AH_NOW);
	cr_assert_eq(s->expires_at, AH_NOW + IDLE);
	session_free(s);
	after = raw(tok, &al);
	cr_assert_eq(al, bl);
	cr_assert_eq(memcmp(before, after, bl), 0);
	free(before);
	free(after);
}

Test(auth_session_touch, peek_asks_for_a_touch_once_the_use_is_old)
{
	struct session *s = NULL;
	char tok[65];
	int touch = -1;

	mk("alice", AH_NOW, tok);
	cr_assert_eq(peek(tok, AH_NOW + SESSION_TOUCH_EVERY, &s, &touch), 0);
	cr_assert_eq(touch, 1);
	cr_assert_not_null(s);
	session_free(s);
	/* A clock that went back is not a reason to write. */
	cr_assert_eq(peek(tok, AH_NOW - 100, &s, &touch), 0);
	cr_assert_eq(touch, 0);
	session_free(s);
}

Test(auth_session_touch, peek_expired_is_refused_and_left_for_the_writer)
{
	struct session *s = NULL;
	char tok[65];
	uint8_t *p;
	size_t len;
	int touch = -1;

	mk("alice", AH_NOW, tok);
	cr_assert_eq(peek(tok, AH_NOW + IDLE, &s, &touch),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);
	cr_assert_eq(touch, 1);
	/* Read only: the record is still there. */
	cr_assert_not_null(p = raw(tok, &len));
	free(p);
}

Test(auth_session_touch, peek_unknown_and_malformed_tokens)
{
	struct session *s = NULL;
	char tok[65];
	int touch = -1;

	mk("alice", AH_NOW, tok);
	tok[0] = tok[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(peek(tok, AH_NOW + 1, &s, &touch),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(touch, 0);
	cr_assert_eq(peek("not-a-token", AH_NOW + 1, &s, &touch),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(touch, 0);
	cr_assert_eq(peek("", AH_NOW + 1, &s, &touch), TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);
}

Test(auth_session_touch, auth_session_records_use_only_every_period)
{
	struct session *s = NULL;
	struct user *u = NULL;
	uint8_t secret[20];
	char tok[65];

	ah_enroll("alice", secret, NULL, NULL);
	mk("alice", AH_NOW, tok);
	/* The user comes along, from the read path and the touch path. */
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 10, &s, &u), 0);
	cr_assert_eq(s->expires_at, AH_NOW + IDLE);
	cr_assert_str_eq(u->name, "alice");
	user_free(u);
	session_free(s);
	cr_assert_eq(stored_last_used(tok), AH_NOW);

	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + SESSION_TOUCH_EVERY,
	    &s, &u), 0);
	cr_assert_str_eq(u->name, "alice");
	user_free(u);
	cr_assert_eq(s->last_used, AH_NOW + SESSION_TOUCH_EVERY);
	cr_assert_eq(s->expires_at, AH_NOW + SESSION_TOUCH_EVERY + IDLE);
	session_free(s);
	cr_assert_eq(stored_last_used(tok), AH_NOW + SESSION_TOUCH_EVERY);
}

Test(auth_session_touch, idle_deadline_counts_from_the_recorded_use)
{
	struct session *s = NULL;
	uint8_t secret[20];
	char tok[65];
	size_t len;

	ah_enroll("alice", secret, NULL, NULL);
	mk("alice", AH_NOW, tok);
	/* Used at +30, not recorded: the session still ends at +IDLE. */
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 30, &s, NULL), 0);
	session_free(s);
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + IDLE, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);
	/* The writer deleted it. */
	cr_assert_null(raw(tok, &len));
}

Test(auth_session_touch, read_path_refuses_a_disabled_user)
{
	struct store_txn *t = NULL;
	struct session *s = NULL;
	uint8_t secret[20];
	char tok[65];

	ah_enroll("alice", secret, NULL, NULL);
	mk("alice", AH_NOW, tok);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_set_disabled(t, "alice", 1, NULL, AH_NOW + 1), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(auth_session(ah_ctx, tok, AH_NOW + 2, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);
}

struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int holding, release;
};

/* Hold a write transaction (the writer lock) until told to let go. */
static void *
hold_writer(void *arg)
{
	struct writer *w = arg;
	struct store_txn *t = NULL;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	pthread_mutex_lock(&w->mu);
	w->holding = 1;
	pthread_cond_broadcast(&w->cv);
	while (!w->release)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	store_abort(t);
	return NULL;
}

/* The point of it all: a held writer lock (a group commit syncing) does
 * not stall authentication.  A regression hangs here until the timeout. */
Test(auth_session_touch, fresh_session_needs_no_writer_lock, .timeout = 30)
{
	struct writer w = { .holding = 0 };
	struct session *s = NULL;
	pthread_t th;
	uint8_t secret[20];
	char tok[65];
	int r;

	ah_enroll("alice", secret, NULL, NULL);
	mk("alice", AH_NOW, tok);
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	cr_assert_eq(pthread_create(&th, NULL, hold_writer, &w), 0);
	pthread_mutex_lock(&w.mu);
	while (!w.holding)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);

	r = auth_session(ah_ctx, tok, AH_NOW + 5, &s, NULL);

	pthread_mutex_lock(&w.mu);
	w.release = 1;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.mu);
	pthread_join(th, NULL);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	cr_assert_eq(r, 0);
	cr_assert_str_eq(s->username, "alice");
	session_free(s);
}
