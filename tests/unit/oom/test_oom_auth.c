/*
 * oom, auth's use cases on the auth suite's world
 * (tests/unit/auth/helpers.h: a store in a temp dir, fast Argon2): a
 * login that succeeds, and the failed login that locks an account, with
 * its login.fail event; a password change, a recovery regeneration, the
 * session list and ending the others (account.h); each walked through
 * every allocation failure and with each allocation refused alone (oom.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "auth/account.h"
#include "auth/login.h"
#include "auth/user.h"
#include "common/err.h"
#include "store/store.h"
#include "helpers.h"
#include "oom.h"

static uint8_t secret[20];	/* alice's TOTP secret */

static void
setup(void)
{
	oom_setup();
	ah_setup();
	ah_enroll("alice", secret, NULL, NULL);
}

static void
teardown(void)
{
	oom_teardown();
	ah_teardown();
}

TestSuite(oom_auth, .init = setup, .fini = teardown, .timeout = 240);

/*
 * One login of alice at AH_NOW + 100: with the right password and code,
 * or a wrong password when she is one failure short of the lock (whose
 * answer, invalid credentials, is the run's success).  A login spends its
 * code's time step and a failure counts, so each run that went through is
 * followed by alice as she was.
 */
struct loginx {
	int wrong;
	uint32_t failures;	/* alice's before each run */
	char code[7];
	uint64_t events;
};

static void
alice_as_before(struct loginx *x)
{
	struct store_txn *t;
	struct user *u = NULL;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_get(t, "alice", &u), 0);
	u->failures = x->failures;
	u->locked = 0;
	u->throttle_until = 0;
	u->last_step = 0;
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	x->events = ah_audit_count();
}

static int
login_run(void *arg)
{
	struct loginx *x = arg;
	struct auth_login_result res;
	const char *pw = x->wrong ? "wrong password!" : AH_PASSWORD;
	int r;

	r = auth_login(ah_ctx, "alice", pw, strlen(pw), x->code, "192.0.2.1",
	    NULL, AH_NOW + 100, &res);
	auth_login_result_clear(&res);
	return x->wrong && r == TSS_E_INVALID_CREDENTIALS ? 0 : r;
}

static void
login_check(void *arg, int r)
{
	struct loginx *x = arg;
	struct user *u = ah_user("alice");
	json_t *e;

	if (r != 0) {
		cr_assert(u->failures == x->failures && !u->locked,
		    "a refused login counted");
		cr_assert_eq(ah_audit_count(), x->events);
		user_free(u);
		return;
	}
	cr_assert_eq(ah_audit_count(), x->events + 1);
	if (x->wrong) {
		cr_assert(u->failures == 100 && u->locked);
		e = ah_audit_last();
		cr_assert(json_is_true(json_object_get(e, "locked")),
		    "login.fail without locked");
		json_decref(e);
	}
	user_free(u);
	alice_as_before(x);	/* for the next run */
}

/* The event, and what the record says. */
static char *
login_show(void *arg)
{
	static const char *const skip[] = { "seq", "time", "prev", "hash",
	    NULL };
	struct user *u = ah_user("alice");
	json_t *a;

	(void)arg;
	cr_assert_not_null(a = json_pack("[o, I, b]", ah_audit_last(),
	    (json_int_t)u->failures, u->locked));
	user_free(u);
	return oom_json(a, skip);
}

Test(oom_auth, login)
{
	struct loginx x = { .wrong = 0, .failures = 0 };

	ah_code(secret, AH_NOW + 100, x.code);
	alice_as_before(&x);
	oom_walk("auth_login (password and code)", login_run, login_check,
	    &x);
	oom_walk_nth("auth_login (password and code)", login_run, login_check,
	    login_show, &x);
}

Test(oom_auth, login_that_locks)
{
	struct loginx x = { .wrong = 1, .failures = 99, .code = "123456" };

	alice_as_before(&x);
	oom_walk("auth_login (the 100th failure locks)", login_run,
	    login_check, &x);
	oom_walk_nth("auth_login (the 100th failure locks)", login_run,
	    login_check, login_show, &x);
}

/*
 * alice's own account.  Each run that went through is undone by check:
 * her record as before the walk (password hash, step, codes) and a second
 * session back, so every run does the same work.
 */
struct acctx {
	int what;			/* 0 change, 1 regenerate, 2 list, 3 end */
	char code[7];
	uint8_t *rec;			/* alice's record before the walk */
	size_t reclen;
	uint64_t events;
	struct session **v;		/* list's output */
	size_t n;
	char tok[65], tok2[65];		/* her sessions */
	uint8_t key[32];		/* tok's key */
};

static void
acct_restore(struct acctx *x)
{
	struct auth_login_result res;
	char code[7];
	struct session **v = NULL;
	size_t n = 0;

	ah_user_raw_put("alice", x->rec, x->reclen);
	cr_assert_eq(auth_sessions(ah_ctx, "alice", AH_NOW + 100, &v, &n), 0);
	session_list_free(v, n);
	/* Two sessions: log in again until there are (steps 101.., then
	 * the record put back forgets the step). */
	while (n < 2) {
		ah_code(secret, AH_NOW + 30, code);
		cr_assert_eq(ah_login("alice", AH_PASSWORD, code, AH_NOW + 30,
		    &res), 0);
		memcpy(n == 0 ? x->tok : x->tok2, res.token, 65);
		auth_login_result_clear(&res);
		ah_user_raw_put("alice", x->rec, x->reclen);
		n++;
	}
	cr_assert_eq(token_hash(x->tok, x->key), 0);
	x->events = ah_audit_count();
}

static int
acct_run(void *arg)
{
	struct acctx *x = arg;
	char codes[USER_RECOVERY_CODES][RECOVERY_CODE_TEXT + 1];
	struct auth_proof p;
	size_t n;
	int r;

	memset(&p, 0, sizeof(p));
	p.username = "alice";
	p.now = AH_NOW + 100;
	switch (x->what) {
	case 0:
		return auth_change_password(ah_ctx, &p, AH_PASSWORD,
		    strlen(AH_PASSWORD), x->code, "a new password for alice",
		    24);
	case 1:
		r = auth_recovery_regenerate(ah_ctx, &p, x->code, codes);
		if (r == 0)
			cr_assert_eq(strlen(codes[9]), RECOVERY_CODE_TEXT);
		else
			cr_assert_eq(codes[0][0], '\0', "codes left behind");
		return r;
	case 2:
		return auth_sessions(ah_ctx, "alice", AH_NOW + 100, &x->v,
		    &x->n);
	default:
		return auth_sessions_end_others(ah_ctx, "alice", x->key, NULL,
		    AH_NOW + 100, &n);
	}
}

static void
acct_check(void *arg, int r)
{
	struct acctx *x = arg;
	uint8_t *rec;
	size_t len;

	if (x->what == 2) {
		cr_assert_eq(x->n, r == 0 ? 2u : 0u);
		cr_assert(r == 0 || x->v == NULL, "a list left behind");
		session_list_free(x->v, x->n);
		x->v = NULL;
		x->n = 0;
		return;
	}
	if (r != 0) {
		ah_user_raw_get("alice", &rec, &len);
		cr_assert(len == x->reclen && memcmp(rec, x->rec, len) == 0,
		    "a refused change left alice changed");
		free(rec);
		cr_assert_eq(ah_audit_count(), x->events);
		return;
	}
	cr_assert_eq(ah_audit_count(), x->events + 1);
	acct_restore(x);
}

static char *
acct_show(void *arg)
{
	static const char *const skip[] = { "seq", "time", "prev", "hash",
	    NULL };
	struct acctx *x = arg;

	if (x->what == 2)
		return oom_text(x->v[0]->username);
	return oom_json(ah_audit_last(), skip);
}

static void
acct_walk(int what, const char *name)
{
	struct acctx x;

	memset(&x, 0, sizeof(x));
	x.what = what;
	ah_code(secret, AH_NOW + 100, x.code);
	ah_user_raw_get("alice", &x.rec, &x.reclen);
	acct_restore(&x);
	oom_walk(name, acct_run, acct_check, &x);
	oom_walk_nth(name, acct_run, acct_check, acct_show, &x);
	free(x.rec);
}

Test(oom_auth, change_password)
{
	acct_walk(0, "auth_change_password");
}

Test(oom_auth, recovery_regenerate)
{
	acct_walk(1, "auth_recovery_regenerate");
}

Test(oom_auth, sessions)
{
	acct_walk(2, "auth_sessions");
}

Test(oom_auth, sessions_end_others)
{
	acct_walk(3, "auth_sessions_end_others");
}
