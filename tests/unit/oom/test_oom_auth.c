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

/* ---- a login ---- */

/*
 * A login spends its code's time step: one that went through is followed
 * by alice's last step put back.  A refused one must not count as a
 * failure.
 */
struct okx {
	uint64_t events;
	char code[7];
};

static void
step_back(struct okx *x)
{
	struct store_txn *t;
	struct user *u = NULL;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_get(t, "alice", &u), 0);
	u->last_step = 0;
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	x->events = ah_audit_count();
}

static int
ok_run(void *arg)
{
	struct okx *x = arg;
	struct auth_login_result res;
	int r;

	r = auth_login(ah_ctx, "alice", AH_PASSWORD, strlen(AH_PASSWORD),
	    x->code, "192.0.2.1", NULL, AH_NOW + 100, &res);
	auth_login_result_clear(&res);
	return r;
}

static void
ok_check(void *arg, int r)
{
	struct okx *x = arg;
	struct user *u = ah_user("alice");

	cr_assert_eq(u->failures, 0, "a refused login counted as a failure");
	user_free(u);
	if (r != 0) {
		cr_assert_eq(ah_audit_count(), x->events);
		return;
	}
	cr_assert_eq(ah_audit_count(), x->events + 1);
	step_back(x);
}

Test(oom_auth, login)
{
	struct okx x;

	ah_code(secret, AH_NOW + 100, x.code);
	step_back(&x);
	oom_walk("auth_login (password and code)", ok_run, ok_check, &x);
	oom_walk_nth("auth_login (password and code)", ok_run, ok_check, NULL,
	    &x);
}

/* ---- the login that locks ---- */

struct lockx {
	uint64_t events;
	int64_t now;
};

/* alice one failure short of the lock, and the trail as it is. */
static void
one_short(struct lockx *x)
{
	struct store_txn *t;
	struct user *u = NULL;

	cr_assert_eq(store_begin(ah_store, 1, &t), 0);
	cr_assert_eq(user_get(t, "alice", &u), 0);
	u->failures = 99;
	u->locked = 0;
	u->throttle_until = 0;
	cr_assert_eq(user_put(t, u), 0);
	cr_assert_eq(store_commit(t), 0);
	user_free(u);
	x->events = ah_audit_count();
}

static int
lock_run(void *arg)
{
	struct lockx *x = arg;
	struct auth_login_result res;
	int r;

	r = auth_login(ah_ctx, "alice", "wrong password!", 15, "123456",
	    "192.0.2.1", NULL, x->now, &res);
	auth_login_result_clear(&res);
	return r == TSS_E_INVALID_CREDENTIALS ? 0 : r;	/* the answer */
}

static void
lock_check(void *arg, int r)
{
	struct lockx *x = arg;
	struct user *u = ah_user("alice");
	json_t *e;

	if (r != 0) {
		cr_assert(u->failures == 99 && !u->locked,
		    "a failed login counted");
		cr_assert_eq(ah_audit_count(), x->events);
		user_free(u);
		return;
	}
	cr_assert(u->failures == 100 && u->locked);
	cr_assert_eq(ah_audit_count(), x->events + 1);
	e = ah_audit_last();
	cr_assert(json_is_true(json_object_get(e, "locked")),
	    "login.fail without locked");
	json_decref(e);
	user_free(u);
	one_short(x);		/* for the next run */
}

/* The event, and what the record says. */
static char *
lock_show(void *arg)
{
	static const char *const skip[] = { "seq", "time", "prev", "hash",
	    NULL };
	struct user *u = ah_user("alice");
	json_t *a;
	char *s;

	(void)arg;
	cr_assert_not_null(a = json_pack("[o, I, b]", ah_audit_last(),
	    (json_int_t)u->failures, u->locked));
	user_free(u);
	s = oom_json(a, skip);
	json_decref(a);
	return s;
}

Test(oom_auth, login_that_locks)
{
	struct lockx x = { .now = AH_NOW + 100 };

	one_short(&x);
	oom_walk("auth_login (the 100th failure locks)", lock_run, lock_check,
	    &x);
	oom_walk_nth("auth_login (the 100th failure locks)", lock_run,
	    lock_check, lock_show, &x);
}
