/* USER records: names, codec, admin operations and their audit events. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/err.h"
#include "store/store.h"
#include "auth/enroll.h"
#include "auth/session.h"
#include "auth/user.h"
#include "helpers.h"

TestSuite(auth_user, .init = ah_setup, .fini = ah_teardown);

Test(auth_user, name_rules)
{
	static const char *good[] = { "a", "_", "alice", "a.b-c_d",
	    "abcdefghijklmnopqrstuvwxyz01234" /* 31 */,
	    "abcdefghijklmnopqrstuvwxyz012345" /* 32 */ };
	static const char *bad[] = { "", "Alice", "1abc", "-a", ".a",
	    "a\nroot", "a\rb", "a b", "a,root", "a\tb", "a/b", "*",
	    "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */ };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(user_name_valid(good[i]), 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(user_name_valid(bad[i]), TSS_E_VALIDATION,
		    "case %zu", i);
	cr_assert_eq(user_name_valid(NULL), TSS_E_VALIDATION);
}

Test(auth_user, create_get_list)
{
	const char *groups[] = { "ops", "dev" };
	struct store_txn *t = NULL;
	struct user *u = NULL, **v = NULL;
	char token[65];
	int64_t exp;
	size_t n;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_create(t, "carol", groups, 2, NULL, AH_NOW, token,
	    &exp), 0);
	cr_assert_eq(user_create(t, "alice", NULL, 0, NULL, AH_NOW, token,
	    &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(strlen(token), 64);

	u = ah_user("carol");
	cr_assert_str_eq(u->name, "carol");
	cr_assert_eq(u->ngroups, 2);
	cr_assert_str_eq(u->groups[0], "ops");
	cr_assert_str_eq(u->groups[1], "dev");
	cr_assert_eq(u->state, USER_PENDING);
	cr_assert_eq(u->disabled, 0);
	cr_assert_null(u->pw_hash);
	cr_assert_null(u->totp_box);
	cr_assert_eq(u->has_enroll, 1);
	cr_assert_eq(u->created, AH_NOW);
	user_free(u);

	cr_assert_eq(store_begin(ah_store, 0, &t), 0);
	cr_assert_eq(user_list(t, &v, &n), 0);
	store_abort(t);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0]->name, "alice");
	cr_assert_str_eq(v[1]->name, "carol");
	user_list_free(v, n);
	cr_assert_eq(ah_audit_actions("user.create"), 2);
}

Test(auth_user, create_refusals_leave_nothing)
{
	const char *dup[] = { "ops", "ops" }, *badg[] = { "Ops" };
	struct store_txn *t = NULL;
	char token[65];
	int64_t exp = 5;
	uint64_t n0, n1;

	ah_create("alice", token);
	n0 = ah_audit_count();
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_create(t, "alice", NULL, 0, NULL, AH_NOW, token,
	    &exp), TSS_E_CONFLICT);
	cr_assert_eq(exp, 0);
	cr_assert_eq(user_create(t, "a\nroot", NULL, 0, NULL, AH_NOW, token,
	    &exp), TSS_E_VALIDATION);
	cr_assert_eq(user_create(t, "bob", dup, 2, NULL, AH_NOW, token,
	    &exp), TSS_E_VALIDATION);
	cr_assert_eq(user_create(t, "bob", badg, 1, NULL, AH_NOW, token,
	    &exp), TSS_E_VALIDATION);
	cr_assert_eq(store_count(t, STORE_DB_USERS, &n1), 0);
	cr_assert_eq(n1, 1);
	store_abort(t);
	cr_assert_eq(ah_audit_count(), n0);
}

Test(auth_user, codec_roundtrip_and_mutants_refused)
{
	struct user *u = NULL, *d = NULL;
	struct buf *b = NULL;
	uint8_t *p;
	size_t len, i;
	int r;

	ah_enroll("alice", NULL, NULL, NULL);
	u = ah_user("alice");
	cr_assert_eq(user_encode(u, &b), 0);
	cr_assert_eq(user_decode(buf_ptr(b), buf_len(b), &d), 0);
	cr_assert_str_eq(d->name, "alice");
	cr_assert_str_eq(d->pw_hash, u->pw_hash);
	cr_assert_eq(d->totp_box_len, u->totp_box_len);
	cr_assert_eq(memcmp(d->totp_box, u->totp_box, u->totp_box_len), 0);
	cr_assert_eq(d->nrecovery, 10);
	cr_assert_eq(d->state, USER_ACTIVE);
	cr_assert_eq(d->last_step, u->last_step);
	user_free(d);
	len = buf_len(b);
	cr_assert_not_null(p = malloc(len + 1));
	memcpy(p, buf_ptr(b), len);
	/* Every truncation is refused; so is a trailing byte. */
	for (i = 0; i < len; i++) {
		d = NULL;
		r = user_decode(p, i, &d);
		cr_assert_neq(r, 0, "truncated at %zu", i);
		cr_assert_null(d);
	}
	p[len] = 0;
	cr_assert_eq(user_decode(p, len + 1, &d), TSS_E_TRAILING_DATA);
	p[2] = 99;	/* a version from the future */
	cr_assert_eq(user_decode(p, len, &d), TSS_E_RECORD_VERSION);
	free(p);
	buf_free(b);
	user_free(u);
}

Test(auth_user, version_1_record_reads_as_never_logged_in)
{
	struct user *u = NULL, *d = NULL;
	struct buf *b = NULL;
	uint8_t *p;
	size_t len;

	ah_enroll("alice", NULL, NULL, NULL);
	u = ah_user("alice");
	u->last_login = AH_NOW + 77;
	cr_assert_eq(user_encode(u, &b), 0);
	cr_assert_eq(((const uint8_t *)buf_ptr(b))[2], 2);
	cr_assert_eq(user_decode(buf_ptr(b), buf_len(b), &d), 0);
	cr_assert_eq(d->last_login, AH_NOW + 77);
	cr_assert_eq(d->created, u->created);
	user_free(d);
	d = NULL;
	/* Version 1 is version 2 without the last 8 bytes (last_login). */
	len = buf_len(b) - 8;
	cr_assert_not_null(p = malloc(len));
	memcpy(p, buf_ptr(b), len);
	p[2] = 1;
	cr_assert_eq(user_decode(p, len, &d), 0);
	cr_assert_str_eq(d->name, "alice");
	cr_assert_eq(d->created, u->created);
	cr_assert_eq(d->nrecovery, 10);
	cr_assert_eq(d->last_login, 0);
	user_free(d);
	d = NULL;
	/* Version 2 without last_login is cut short. */
	p[2] = 2;
	cr_assert_eq(user_decode(p, len, &d), TSS_E_TRUNCATED);
	cr_assert_null(d);
	free(p);
	/* Version 1 with last_login is trailing data. */
	cr_assert_not_null(p = malloc(buf_len(b)));
	memcpy(p, buf_ptr(b), buf_len(b));
	p[2] = 1;
	cr_assert_eq(user_decode(p, buf_len(b), &d), TSS_E_TRAILING_DATA);
	cr_assert_null(d);
	free(p);
	buf_free(b);
	user_free(u);
}

Test(auth_user, set_groups)
{
	const char *g[] = { "oncall" };
	struct store_txn *t = NULL;
	struct user *u;
	char token[65];

	ah_create("alice", token);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_set_groups(t, "alice", g, 1, NULL, AH_NOW), 0);
	cr_assert_eq(user_set_groups(t, "nobody", g, 1, NULL, AH_NOW),
	    TSS_E_NOT_FOUND);
	cr_assert_eq(store_commit(t), 0);
	u = ah_user("alice");
	cr_assert_eq(u->ngroups, 1);
	cr_assert_str_eq(u->groups[0], "oncall");
	user_free(u);
}

Test(auth_user, disable_ends_sessions_and_reset_starts_over)
{
	struct auth_login_result res;
	struct store_txn *t = NULL;
	struct session *s = NULL;
	struct user *u;
	uint8_t secret[20];
	char code[7], token[65];
	int64_t exp;
	json_t *ev;

	ah_enroll("alice", secret, NULL, NULL);
	ah_code(secret, AH_NOW + 30, code);
	cr_assert_eq(auth_login(ah_ctx, "alice", AH_PASSWORD,
	    strlen(AH_PASSWORD), code, "10.0.0.1", NULL, AH_NOW + 30, &res),
	    0);
	cr_assert_eq(auth_session(ah_ctx, res.token, AH_NOW + 31, &s, NULL), 0);
	session_free(s);

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_set_disabled(t, "alice", 1, NULL, AH_NOW + 40), 0);
	cr_assert_eq(store_commit(t), 0);
	ev = ah_audit_last();
	cr_assert_str_eq(json_string_value(json_object_get(ev, "action")),
	    "user.disable");
	json_decref(ev);
	cr_assert_eq(auth_session(ah_ctx, res.token, AH_NOW + 41, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_null(s);

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_set_disabled(t, "alice", 0, NULL, AH_NOW + 50), 0);
	cr_assert_eq(user_reset(t, "alice", NULL, AH_NOW + 50, token, &exp),
	    0);
	cr_assert_eq(store_commit(t), 0);
	u = ah_user("alice");
	cr_assert_eq(u->state, USER_PENDING);
	cr_assert_null(u->pw_hash);
	cr_assert_null(u->totp_box);
	cr_assert_eq(u->nrecovery, 0);
	cr_assert_eq(u->failures, 0);
	cr_assert_eq(u->has_enroll, 1);
	user_free(u);
	cr_assert_eq(ah_audit_actions("user.reset"), 1);
	auth_login_result_clear(&res);
}

Test(auth_user, reset_ends_sessions_and_old_token)
{
	struct auth_login_result res;
	struct store_txn *t = NULL;
	struct session *s = NULL;
	uint8_t secret[20];
	char code[7], tok1[65], tok2[65], *name = NULL;
	int64_t exp;

	ah_create("bob", tok1);
	/* Reset of a pending user: the first token stops working. */
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_reset(t, "bob", NULL, AH_NOW, tok2, &exp), 0);
	cr_assert_eq(enroll_lookup(t, tok1, AH_NOW, &name),
	    TSS_E_UNAUTHENTICATED);
	cr_assert_eq(enroll_lookup(t, tok2, AH_NOW, &name), 0);
	cr_assert_str_eq(name, "bob");
	free(name);
	cr_assert_eq(store_commit(t), 0);

	ah_enroll("alice", secret, NULL, NULL);
	ah_code(secret, AH_NOW + 30, code);
	cr_assert_eq(auth_login(ah_ctx, "alice", AH_PASSWORD,
	    strlen(AH_PASSWORD), code, "10.0.0.1", NULL, AH_NOW + 30, &res),
	    0);
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_reset(t, "alice", NULL, AH_NOW + 60, tok2, &exp), 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(auth_session(ah_ctx, res.token, AH_NOW + 61, &s, NULL),
	    TSS_E_UNAUTHENTICATED);
	auth_login_result_clear(&res);
}

Test(auth_user, unlock_and_delete)
{
	struct store_txn *t = NULL;
	struct user *u;
	uint64_t n;

	ah_enroll("alice", NULL, NULL, NULL);
	u = ah_user("alice");
	u->locked = 1;
	u->failures = 100;
	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(user_unlock(t, "alice", NULL, AH_NOW), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	u = ah_user("alice");
	cr_assert_eq(u->locked, 0);
	cr_assert_eq(u->failures, 0);
	user_free(u);

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_delete(t, "alice", NULL, AH_NOW), 0);
	cr_assert_eq(user_delete(t, "alice", NULL, AH_NOW), TSS_E_NOT_FOUND);
	cr_assert_eq(store_count(t, STORE_DB_USERS, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(store_commit(t), 0);
	cr_assert_eq(ah_audit_actions("user.delete"), 1);
}

/* Stored group names are held to the rules groups_copy() applies. */
Test(auth_user, decode_refuses_bad_or_repeated_groups)
{
	static char *sets[][2] = {
		{ "ops", "ops" }, { "", "ops" }, { "Bad Group!", "ops" },
		{ "ggggggggggggggggggggggggggggggggggggggggg", "ops" },
	};
	struct user u, *out = NULL;
	struct buf *b = NULL;
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		memset(&u, 0, sizeof(u));
		u.name = "alice";
		u.groups = sets[i];
		u.ngroups = 2;
		u.state = USER_ACTIVE;
		cr_assert_eq(user_encode(&u, &b), 0);
		cr_expect_eq(user_decode(buf_ptr(b), buf_len(b), &out),
		    TSS_E_BAD_FORMAT, "set %zu", i);
		cr_expect_null(out);
		buf_free(b);
		b = NULL;
	}
	/* The same record with good groups decodes. */
	u.groups = (char *[]){ "dev", "ops" };
	cr_assert_eq(user_encode(&u, &b), 0);
	cr_assert_eq(user_decode(buf_ptr(b), buf_len(b), &out), 0);
	cr_expect_str_eq(out->groups[1], "ops");
	user_free(out);
	buf_free(b);
}
