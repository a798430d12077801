/*
 * oom, the broker's admin use cases on a real broker
 * (tests/unit/broker/fixture.h): the user listing and one user, each
 * walked through every allocation failure and with each allocation
 * refused alone (oom.h).  The audit sink's thread is stopped first, so
 * that nothing else allocates while a budget is set.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "broker/broker.h"
#include "common/err.h"
#include "rbac/rbac.h"
#include "fixture.h"
#include "oom.h"

static struct fixture fx;
static const struct caller root = { .username = "root",
    .perms = RBAC_PERM_STAR | RBAC_PERM_ALL };

static void
setup(void)
{
	oom_setup();
	fixture_open(&fx, NULL, 8 * 3600);
	fixture_stop_sink(&fx);
}

static void
teardown(void)
{
	oom_teardown();
	fixture_close(&fx);
}

TestSuite(oom_admin, .init = setup, .fini = teardown, .timeout = 240);

/* ---- reads ---- */

struct readx {
	json_t *out, *one;
};

static int
read_run(void *arg)
{
	struct readx *x = arg;
	int r;

	x->out = x->one = (json_t *)1;
	if ((r = broker_users_list(fx.b, &root, &x->out)) != 0) {
		cr_assert_null(x->out);
		x->one = NULL;
		return r;
	}
	if ((r = broker_user_get(fx.b, &root, "alice", &x->one)) != 0)
		cr_assert_null(x->one);
	return r;
}

static void
read_check(void *arg, int r)
{
	struct readx *x = arg;
	json_t *u;
	size_t i;

	if (r == 0) {
		cr_assert_eq(json_array_size(json_object_get(x->out, "users")),
		    3);
		json_array_foreach(json_object_get(x->out, "users"), i, u)
			cr_assert_eq(json_array_size(json_object_get(u,
			    "groups")), strcmp(json_string_value(
			    json_object_get(u, "username")), "alice") == 0,
			    "a listed user lost groups");
		cr_assert_eq(json_array_size(json_object_get(x->one,
		    "groups")), 1, "alice lost her group");
	}
	json_decref(x->out);
	json_decref(x->one);
}

static char *
read_show(void *arg)
{
	struct readx *x = arg;
	json_t *a;
	char *s;

	cr_assert_not_null(a = json_pack("[O, O?]", x->out, x->one));
	s = oom_json(a, NULL);
	json_decref(a);
	return s;
}

Test(oom_admin, users)
{
	struct readx x;

	oom_walk("broker_users_list + broker_user_get", read_run, read_check,
	    &x);
	oom_walk_nth("broker_users_list + broker_user_get", read_run,
	    read_check, read_show, &x);
}
