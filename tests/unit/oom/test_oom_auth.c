/*
 * oom, auth's use cases on the auth suite's world
 * (tests/unit/auth/helpers.h: a store in a temp dir, fast Argon2): a
 * login that succeeds, and the failed login that locks an account, with
 * its login.fail event, each walked through every allocation failure and
 * with each allocation refused alone (oom.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

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
