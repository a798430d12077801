/*
 * oom, store/ and auth/: the record envelope, a store's open, write,
 * read and cursor on a real LMDB environment in a temp dir (LMDB's own
 * allocations are not ours to refuse), and auth's records: the user codec,
 * user_get and user_list, the sealed TOTP secret, sessions (peek, lookup)
 * and enrollments as stored, user_create's whole write and the sweeps
 * that delete by what they decode, each walked through every allocation
 * failure and with each allocation refused alone (oom.h).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "audit/audit.h"
#include "auth/enroll.h"
#include "auth/secretbox.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/user.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/record.h"
#include "store/store.h"
#include "oom.h"
#include "tmpdir.h"

#define NOW	1700000000LL

TestSuite(oom_store_auth, .init = oom_store_setup,
    .fini = oom_store_teardown);

/* ---- store ---- */

struct recx {
	uint8_t bytes[16];
	struct buf *view;
	struct buf *b;
};

static int
rec_run(void *arg)
{
	struct recx *x = arg;
	uint8_t ver = 9;
	int r;

	x->view = (struct buf *)1;
	x->b = NULL;
	if ((r = rec_open(x->bytes, sizeof(x->bytes), 'Z', 2, &x->view,
	    &ver)) != 0) {
		cr_assert_null(x->view);
		cr_assert_eq(ver, 0);
		return r;
	}
	if ((x->b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(x->b, 'Z', 1)) != 0)
		cr_assert_eq(buf_len(x->b), 0);
	return r;
}

static void
rec_check(void *arg, int r)
{
	struct recx *x = arg;

	if (r == 0) {
		cr_assert_eq(buf_len(x->view), 13);
		cr_assert_eq(buf_len(x->b), 3);
	}
	buf_free(x->view);
	buf_free(x->b);
}

Test(oom_store_auth, record_envelope)
{
	struct recx x;

	memset(x.bytes, 0, sizeof(x.bytes));
	x.bytes[0] = 'T';
	x.bytes[1] = 'Z';
	x.bytes[2] = 1;
	oom_walk("rec_open + rec_begin", rec_run, rec_check, &x);
	oom_walk_nth("rec_open + rec_begin", rec_run, rec_check, NULL, &x);
}

/* A store opened (created the first time), written, read and closed. */
struct storex {
	char sub[PATH_MAX];
	char val[64];
};

static int
store_run(void *arg)
{
	struct storex *x = arg;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	uint64_t serial;
	int r;

	x->val[0] = '\0';
	if ((r = store_open(x->sub, NULL, &s)) != 0)
		goto out;
	if ((r = store_begin(s, 1, &t)) != 0 ||
	    (r = store_counter_next(t, STORE_CTR_SERIAL, &serial)) != 0 ||
	    (r = store_put(t, STORE_DB_USERS, "alice", 5, "record", 6,
	    0)) != 0)
		goto out;
	r = store_commit(t);
	t = NULL;
	if (r != 0)
		goto out;
	if ((r = store_begin(s, 0, &t)) != 0 ||
	    (r = store_get(t, STORE_DB_USERS, "alice", 5, &v, &vl)) != 0 ||
	    (r = store_cursor_open(t, STORE_DB_USERS, &c)) != 0 ||
	    (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl)) != 0)
		goto out;
	snprintf(x->val, sizeof(x->val), "%.*s=%.*s", (int)kl,
	    (const char *)k, (int)vl, (const char *)v);
 out:
	store_cursor_close(c);
	store_abort(t);
	store_close(s);
	return r;
}

static void
store_check(void *arg, int r)
{
	struct storex *x = arg;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	uint64_t ctr;
	const void *v;
	size_t vl;
	int g;

	/* Whatever failed, the environment is whole: the write is there
	 * entirely or not at all. */
	if ((g = store_open(x->sub, NULL, &s)) == 0) {
		cr_assert_eq(store_begin(s, 0, &t), 0);
		cr_assert_eq(store_counter_get(t, STORE_CTR_SERIAL, &ctr), 0);
		g = store_get(t, STORE_DB_USERS, "alice", 5, &v, &vl);
		cr_assert(g == 0 ? ctr == 1 : ctr == 0 && g == TSS_E_NOT_FOUND,
		    "counter %llu, record %d", (unsigned long long)ctr, g);
		store_abort(t);
		store_close(s);
	}
	if (r == 0)
		cr_assert_str_eq(x->val, "alice=record");
	/* A fresh environment for the next budget. */
	tmpdir_remove(x->sub);
	cr_assert_eq(tmpdir_make(x->sub, sizeof(x->sub)), 0);
}

Test(oom_store_auth, store_open_put_get_commit)
{
	struct storex x;

	cr_assert_eq(tmpdir_make(x.sub, sizeof(x.sub)), 0);
	oom_walk("store_open, begin, put, commit, get, cursor", store_run,
	    store_check, &x);
	oom_walk_nth("store_open, begin, put, commit, get, cursor", store_run,
	    store_check, NULL, &x);
	tmpdir_remove(x.sub);
}

/* ---- auth: the user record ---- */

static const char *const groups2[] = { "dev", "ops" };

static struct user *
sample_user(void)
{
	struct user *u;
	size_t i;

	cr_assert_not_null(u = calloc(1, sizeof(*u)));
	cr_assert_not_null(u->name = strdup("alice"));
	cr_assert_not_null(u->groups = calloc(2, sizeof(char *)));
	for (i = 0; i < 2; i++)
		cr_assert_not_null(u->groups[i] = strdup(groups2[i]));
	u->ngroups = 2;
	u->state = USER_ACTIVE;
	cr_assert_not_null(u->pw_hash = strdup("$argon2id$v=19$m=1024,t=1,"
	    "p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"));
	cr_assert_not_null(u->totp_box = calloc(1, 60));
	u->totp_box_len = 60;
	u->nrecovery = 3;
	u->has_enroll = 1;
	u->created = NOW;
	return u;
}

struct userx {
	struct user *want;
	struct buf *enc;
	struct user *got;
	struct user **list;
	size_t n;
};

static void
user_same(const struct user *a, const struct user *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->ngroups, b->ngroups);
	cr_assert_str_eq(a->groups[1], b->groups[1]);
	cr_assert_str_eq(a->pw_hash, b->pw_hash);
	cr_assert_eq(a->totp_box_len, b->totp_box_len);
	cr_assert_eq(a->nrecovery, b->nrecovery);
}

/* Every field of u but the enrollment key (random per enrollment), as
 * JSON; it joins (steals) into a. */
static void
user_text(json_t *a, const struct user *u)
{
	json_t *g;
	char *box, *rec;
	size_t i;

	cr_assert_not_null(g = json_array());
	for (i = 0; i < u->ngroups; i++)
		cr_assert_eq(json_array_append_new(g,
		    json_string(u->groups[i])), 0);
	box = oom_hex(u->totp_box, u->totp_box_len);
	rec = oom_hex(u->recovery, sizeof(u->recovery));
	cr_assert_eq(json_array_append_new(a, json_pack("{s:s, s:o, s:b, "
	    "s:i, s:b, s:s?, s:s, s:I, s:I, s:I, s:s, s:I, s:b, s:I, s:I}",
	    "name", u->name, "groups", g, "disabled", u->disabled, "state",
	    (int)u->state, "locked", u->locked, "pw_hash", u->pw_hash,
	    "totp_box", box, "last_step", (json_int_t)u->last_step,
	    "failures", (json_int_t)u->failures, "throttle_until",
	    (json_int_t)u->throttle_until, "recovery", rec, "nrecovery",
	    (json_int_t)u->nrecovery, "has_enroll", u->has_enroll, "created",
	    (json_int_t)u->created, "last_login",
	    (json_int_t)u->last_login)), 0);
	free(box);
	free(rec);
}

static char *
users_show(json_t *a)
{
	return oom_json(a, NULL);
}

static int
codec_run(void *arg)
{
	struct userx *x = arg;
	int r;

	x->enc = (struct buf *)1;
	x->got = NULL;
	if ((r = user_encode(x->want, &x->enc)) != 0) {
		cr_assert_null(x->enc);
		return r;
	}
	x->got = (struct user *)1;
	return user_decode(buf_ptr(x->enc), buf_len(x->enc), &x->got);
}

static char *
codec_show(void *arg)
{
	struct userx *x = arg;
	json_t *a = json_array();

	cr_assert_not_null(a);
	user_text(a, x->got);
	return users_show(a);
}

static void
codec_check(void *arg, int r)
{
	struct userx *x = arg;

	if (r != 0)
		cr_assert(x->got == NULL);
	else
		user_same(x->got, x->want);
	user_free(x->got);
	buf_free(x->enc);
}

Test(oom_store_auth, user_codec)
{
	struct userx x = { .want = sample_user() };

	oom_walk("user_encode + user_decode", codec_run, codec_check, &x);
	oom_walk_nth("user_encode + user_decode", codec_run, codec_check,
	    codec_show, &x);
	user_free(x.want);
}

static void
put_users(void)
{
	struct user *u = sample_user();
	struct store_txn *t;

	cr_assert_eq(store_begin(oom_store, 1, &t), 0);
	cr_assert_eq(user_put(t, u), 0);
	free(u->name);
	cr_assert_not_null(u->name = strdup("bob"));
	cr_assert_eq(user_put(t, u), 0);
	free(u->name);
	cr_assert_not_null(u->name = strdup("carol"));
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
}

static int
get_run(void *arg)
{
	struct userx *x = arg;
	struct store_txn *t;
	int r;

	x->got = (struct user *)1;
	x->list = (struct user **)1;
	x->n = 99;
	if ((r = store_begin(oom_store, 0, &t)) != 0) {
		x->got = NULL;
		x->list = NULL;
		return r;
	}
	if ((r = user_get(t, "bob", &x->got)) == 0 &&
	    (r = user_list(t, &x->list, &x->n)) != 0) {
		cr_assert_null(x->list);
		cr_assert_eq(x->n, 0);
	}
	store_abort(t);
	return r;
}

static char *
get_show(void *arg)
{
	struct userx *x = arg;
	json_t *a = json_array();
	size_t i;

	cr_assert_not_null(a);
	user_text(a, x->got);
	for (i = 0; i < x->n; i++)
		user_text(a, x->list[i]);
	return users_show(a);
}

static void
get_check(void *arg, int r)
{
	struct userx *x = arg;

	if (r != 0) {
		if (x->got == NULL)
			return;
		cr_assert_str_eq(x->got->name, "bob");
		user_free(x->got);
		return;
	}
	cr_assert_str_eq(x->got->name, "bob");
	cr_assert_eq(x->n, 3);
	cr_assert_str_eq(x->list[2]->name, "carol");
	user_same(x->list[0], x->want);
	user_free(x->got);
	user_list_free(x->list, x->n);
}

Test(oom_store_auth, user_get_and_list)
{
	struct userx x = { .want = sample_user() };

	put_users();
	oom_walk("user_get + user_list (3 users)", get_run, get_check, &x);
	oom_walk_nth("user_get + user_list (3 users)", get_run, get_check,
	    get_show, &x);
	user_free(x.want);
}

/* ---- auth: the sealed TOTP secret ---- */

struct boxx {
	uint8_t key[SECRETBOX_KEY_LEN];
	uint8_t *box, *pt;
	size_t boxlen, ptlen;
};

static int
box_run(void *arg)
{
	struct boxx *x = arg;
	int r;

	x->pt = NULL;
	x->box = (uint8_t *)1;
	x->boxlen = 99;
	if ((r = secretbox_seal(x->key, "alice", 5, "12345678901234567890",
	    20, &x->box, &x->boxlen)) != 0) {
		cr_assert(x->box == NULL && x->boxlen == 0);
		return r;
	}
	x->pt = (uint8_t *)1;
	x->ptlen = 99;
	if ((r = secretbox_open(x->key, "alice", 5, x->box, x->boxlen,
	    &x->pt, &x->ptlen)) != 0)
		cr_assert(x->pt == NULL && x->ptlen == 0);
	return r;
}

static void
box_check(void *arg, int r)
{
	struct boxx *x = arg;

	if (r == 0) {
		cr_assert_eq(x->ptlen, 20);
		cr_assert_eq(memcmp(x->pt, "12345678901234567890", 20), 0);
	}
	free(x->box);
	free(x->pt);
}

Test(oom_store_auth, secretbox)
{
	struct boxx x;

	memset(x.key, 7, sizeof(x.key));
	oom_walk("secretbox_seal + secretbox_open", box_run, box_check, &x);
	oom_walk_nth("secretbox_seal + secretbox_open", box_run, box_check,
	    NULL, &x);
}

/* ---- auth: sessions and enrollments ---- */

struct sessx {
	char token[TOKEN_TEXT_LEN + 1];
	char enroll[TOKEN_TEXT_LEN + 1];
	struct session *s;
	char *who;
	int touch;
	int write;
};

static void
make_session_and_enrollment(struct sessx *x)
{
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(oom_store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", "192.0.2.7", NOW, 1800,
	    43200, x->token, csrf, &exp), 0);
	cr_assert_eq(user_create(t, "dave", groups2, 2, NULL, NOW, x->enroll,
	    &exp), 0);
	cr_assert_eq(store_commit(t), 0);
}

static int
sess_run(void *arg)
{
	struct sessx *x = arg;
	struct store_txn *t;
	int r;

	x->s = (struct session *)1;
	x->who = "stale";
	if ((r = store_begin(oom_store, x->write, &t)) != 0) {
		x->s = NULL;
		x->who = NULL;
		return r;
	}
	/* After the first minute the lookup writes the use back. */
	if (x->write)
		r = session_lookup(t, x->token, NOW + 120, 1800, 43200, &x->s);
	else
		r = session_peek(t, x->token, NOW + 10, 1800, 43200, &x->s,
		    &x->touch);
	if (r == 0)
		r = enroll_lookup(t, x->enroll, NOW + 10, &x->who);
	else
		x->who = NULL;
	store_abort(t);
	return r;
}

static void
sess_check(void *arg, int r)
{
	struct sessx *x = arg;

	if (r != 0) {
		cr_assert_null(x->who);
		if (x->s != NULL)
			cr_assert_str_eq(x->s->username, "alice");
		session_free(x->s);
		return;
	}
	cr_assert_str_eq(x->s->username, "alice");
	cr_assert_str_eq(x->s->remote_addr, "192.0.2.7");
	cr_assert_str_eq(x->who, "dave");
	session_free(x->s);
	free(x->who);
}

Test(oom_store_auth, session_and_enrollment_records)
{
	struct sessx x = { .write = 0 };

	make_session_and_enrollment(&x);
	oom_walk("session_peek + enroll_lookup", sess_run, sess_check, &x);
	oom_walk_nth("session_peek + enroll_lookup", sess_run, sess_check,
	    NULL, &x);
	x.write = 1;
	oom_walk("session_lookup (writes the use) + enroll_lookup", sess_run,
	    sess_check, &x);
	oom_walk_nth("session_lookup (writes the use) + enroll_lookup",
	    sess_run, sess_check, NULL, &x);
}

/* user_create: the user, its enrollment and its audit event, committed
 * together or not at all. */
struct createx {
	char token[TOKEN_TEXT_LEN + 1];
	int64_t exp;
};

static int
create_run(void *arg)
{
	struct createx *x = arg;
	struct store_txn *t;
	int r;

	x->exp = -1;
	memset(x->token, 'x', sizeof(x->token));
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		return r;
	if ((r = user_create(t, "erin", groups2, 2, NULL, NOW, x->token,
	    &x->exp)) != 0) {
		cr_assert_eq(x->exp, 0);
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

static void
create_check(void *arg, int r)
{
	struct createx *x = arg;
	struct store_txn *t;
	struct user *u = NULL;
	uint64_t events;
	int g;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	g = user_get(t, "erin", &u);
	cr_assert_eq(store_count(t, STORE_DB_AUDIT, &events), 0);
	store_abort(t);
	if (r != 0) {
		cr_assert_eq(g, TSS_E_NOT_FOUND);
		cr_assert_eq(events, 0);
		return;
	}
	cr_assert_eq(g, 0);
	cr_assert_eq(events, 1);
	cr_assert_eq(strlen(x->token), TOKEN_TEXT_LEN);
	user_free(u);
	oom_store_fresh();	/* the next run's */
}

/* The stored user and its audit event. */
static char *
create_show(void *arg)
{
	static const char *const skip[] = { "hash", "prev", NULL };
	struct store_txn *t;
	struct user *u = NULL;
	json_t *a, *e;

	(void)arg;
	cr_assert_not_null(a = json_array());
	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(user_get(t, "erin", &u), 0);
	user_text(a, u);
	user_free(u);
	cr_assert_eq(audit_get(t, 1, &e), 0);
	store_abort(t);
	cr_assert_eq(json_array_append_new(a, e), 0);
	return oom_json(a, skip);
}

Test(oom_store_auth, user_create)
{
	struct createx x;

	oom_walk("user_create (enrollment, audit) + commit", create_run,
	    create_check, &x);
	oom_walk_nth("user_create (enrollment, audit) + commit", create_run,
	    create_check, create_show, &x);
}

/* ---- auth: sweeps that delete by what they decode ---- */

/*
 * alice has two sessions, bob one and carol one that has expired; frank
 * and grace have open enrollments, grace's expired.  A sweep deletes what
 * its rule says and nothing else, however the allocations go.
 */
struct sweepx {
	int which;		/* 0 end_all_for_user, 1 session_prune,
				 * 2 enroll_prune */
	char alice[2][TOKEN_TEXT_LEN + 1], bob[TOKEN_TEXT_LEN + 1];
	char carol[TOKEN_TEXT_LEN + 1];
	char frank[TOKEN_TEXT_LEN + 1], grace[TOKEN_TEXT_LEN + 1];
	size_t n;
};

#define LATER	(NOW + 2 * 86400)	/* carol's session and grace's
					 * enrollment have expired */

static void
make_sweep_world(struct sweepx *x)
{
	char csrf[TOKEN_TEXT_LEN + 1];
	struct store_txn *t;
	int64_t exp;

	cr_assert_eq(store_begin(oom_store, 1, &t), 0);
	cr_assert_eq(session_create(t, "alice", NULL, LATER - 60, 1800, 43200,
	    x->alice[0], csrf, &exp), 0);
	cr_assert_eq(session_create(t, "alice", NULL, LATER - 60, 1800, 43200,
	    x->alice[1], csrf, &exp), 0);
	cr_assert_eq(session_create(t, "bob", NULL, LATER - 60, 1800, 43200,
	    x->bob, csrf, &exp), 0);
	cr_assert_eq(session_create(t, "carol", NULL, NOW, 1800, 43200,
	    x->carol, csrf, &exp), 0);
	cr_assert_eq(user_create(t, "grace", NULL, 0, NULL, NOW, x->grace,
	    &exp), 0);
	cr_assert_eq(user_create(t, "frank", NULL, 0, NULL, LATER - 60,
	    x->frank, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
}

static int
sweep_run(void *arg)
{
	struct sweepx *x = arg;
	struct store_txn *t;
	int r;

	x->n = 99;
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		return r;
	if (x->which == 0)
		r = session_end_all_for_user(t, "alice", &x->n);
	else if (x->which == 1)
		r = session_prune(t, LATER, 1800, 43200, &x->n);
	else
		r = enroll_prune(t, LATER, &x->n);
	if (r != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

/* Is the session of token still stored? */
static int
session_there(const char *token)
{
	struct store_txn *t;
	struct session *s = NULL;
	int r, touch;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	r = session_peek(t, token, LATER - 30, 3 * 86400, 3 * 86400, &s,
	    &touch);
	store_abort(t);
	session_free(s);
	cr_assert(r == 0 || r == TSS_E_UNAUTHENTICATED);
	return r == 0;
}

static int
enrollment_there(const char *token)
{
	struct store_txn *t;
	char *who = NULL;
	int r;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	r = enroll_lookup(t, token, NOW, &who);
	store_abort(t);
	free(who);
	cr_assert(r == 0 || r == TSS_E_UNAUTHENTICATED);
	return r == 0;
}

static void
sweep_check(void *arg, int r)
{
	struct sweepx *x = arg;
	int gone = r == 0;	/* what the sweep was to delete */

	/* What no rule deletes is always there. */
	cr_assert(session_there(x->bob), "bob's session was deleted");
	cr_assert(enrollment_there(x->frank), "frank's enrollment was "
	    "deleted");
	cr_assert_eq(session_there(x->alice[0]), !(gone && x->which == 0));
	cr_assert_eq(session_there(x->alice[1]), !(gone && x->which == 0));
	cr_assert_eq(session_there(x->carol), !(gone && x->which == 1));
	cr_assert_eq(enrollment_there(x->grace), !(gone && x->which == 2));
	if (gone) {
		cr_assert_eq(x->n, x->which == 0 ? 2 : 1);
		/* A new world for the next run. */
		oom_store_fresh();
		make_sweep_world(x);
	}
}

Test(oom_store_auth, session_and_enrollment_sweeps)
{
	static const char *const what[] = {
		"session_end_all_for_user + commit",
		"session_prune + commit",
		"enroll_prune + commit",
	};
	struct sweepx x;

	for (x.which = 0; x.which < 3; x.which++) {
		make_sweep_world(&x);
		oom_walk(what[x.which], sweep_run, sweep_check, &x);
		oom_walk_nth(what[x.which], sweep_run, sweep_check, NULL, &x);
		oom_store_fresh();	/* the next sweep's */
	}
}
