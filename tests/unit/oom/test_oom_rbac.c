/*
 * oom, rbac/ and the policy bodies of tesserad/policy_json.c: the request
 * bodies decoded (jansson counted, through mem_json_setup), the stored
 * records encoded and decoded, reads from the store, the admin writes, the
 * snapshot built from the store (directly and through the holder), and a
 * decision with the access listing, grant and /v1/me body built on it,
 * each walked through every allocation failure and with each allocation
 * refused alone (oom.h).
 *
 * The policy: targets lab/box (env=lab) and prod/db (env=prod); role dev
 * (app on lab/<any>, and on env=prod from 10.0.0.0/8) bound to group:dev;
 * role admin ("*") bound to user:root by the bootstrap.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <jansson.h>

#include "audit/audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "rbac/rbac_int.h"
#include "store/store.h"
#include "tesserad/policy_json.h"
#include "oom.h"
#include "tmpdir.h"

#define NOW	1700000000LL

static const char target_body[] = "{\"labels\":{\"env\":\"lab\","
    "\"rack\":\"r1\"}}";
static const char role_body[] = "{\"rules\":[{\"targets\":[\"lab/*\"],"
    "\"logins\":[\"app\",\"deploy\"]},{\"labels\":{\"env\":\"prod\"},"
    "\"logins\":[\"app\"]}],\"max_ttl\":\"8h\",\"extensions\":"
    "[\"permit-pty\",\"permit-agent-forwarding\"],\"source_address\":"
    "[\"10.0.0.0/8\",\"192.168.0.0/16\"],\"force_command\":\"/bin/true\"}";
static const char binding_body[] = "{\"role\":\"dev\",\"subject\":"
    "\"group:dev\"}";
static const char *const dev[] = { "dev" };
static const struct rbac_actor root = { .who.name = "root" };

TestSuite(oom_rbac, .init = oom_store_setup, .fini = oom_store_teardown);

static json_t *
body(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	cr_assert_not_null(j, "%s", text);
	return j;
}

static struct rbac_target *
target(const char *name, const char *env)
{
	struct rbac_target *t = NULL;
	json_t *j = json_pack("{s:{s:s}}", "labels", "env", env);
	char err[256];

	cr_assert_eq(policy_json_target(name, j, &t, err, sizeof(err)), 0,
	    "%s", err);
	json_decref(j);
	return t;
}

static struct rbac_role *
role(void)
{
	struct rbac_role *r = NULL;
	json_t *j = body(role_body);
	char err[256];

	cr_assert_eq(policy_json_role("dev", j, &r, err, sizeof(err)), 0,
	    "%s", err);
	json_decref(j);
	return r;
}

/* The policy above, committed; returns the binding's id. */
static uint64_t
make_policy(void)
{
	struct rbac_target *t1 = target("lab/box", "lab"),
	    *t2 = target("prod/db", "prod");
	struct rbac_role *ro = role();
	struct store_txn *t;
	char err[256];
	uint64_t id;

	cr_assert_eq(store_begin(oom_store, 1, &t), 0);
	cr_assert_eq(rbac_bootstrap_admin(t, "root", NOW), 0);
	cr_assert_eq(rbac_target_put(t, &root, t1, NOW, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(rbac_target_put(t, &root, t2, NOW, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(rbac_role_put(t, &root, ro, NOW, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(rbac_binding_create(t, &root, "dev", "group:dev", 0, NOW,
	    &id, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_commit(t), 0);
	rbac_target_free(t1);
	rbac_target_free(t2);
	rbac_role_free(ro);
	return id;
}

/* ---- request bodies (tesserad/policy_json.c) ---- */

struct bodyx {
	struct rbac_target *t;
	struct rbac_role *ro;
	char *role, *subject;
	int64_t exp;
};

static json_t *
load(const char *text)
{
	return mem_json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES,
	    NULL);
}

static int
body_run(void *arg)
{
	struct bodyx *x = arg;
	json_t *j[3] = { NULL, NULL, NULL };
	char err[256];
	int r = TSS_E_NOMEM;

	x->t = (struct rbac_target *)1;
	x->ro = (struct rbac_role *)1;
	x->role = x->subject = "stale";
	/* The body as the HTTP layer parses it, then decoded. */
	if ((j[0] = load(target_body)) == NULL ||
	    (j[1] = load(role_body)) == NULL ||
	    (j[2] = load(binding_body)) == NULL) {
		x->t = NULL;
		x->ro = NULL;
		x->role = x->subject = NULL;
		goto out;
	}
	if ((r = policy_json_target("lab/box", j[0], &x->t, err,
	    sizeof(err))) != 0) {
		cr_assert_null(x->t);
		x->ro = NULL;
		x->role = x->subject = NULL;
		goto out;
	}
	if ((r = policy_json_role("dev", j[1], &x->ro, err,
	    sizeof(err))) != 0) {
		cr_assert_null(x->ro);
		x->role = x->subject = NULL;
		goto out;
	}
	if ((r = policy_json_binding(j[2], NOW, &x->role, &x->subject,
	    &x->exp, err, sizeof(err))) != 0) {
		cr_assert_null(x->role);
		cr_assert_null(x->subject);
	}
 out:
	json_decref(j[0]);
	json_decref(j[1]);
	json_decref(j[2]);
	return r;
}

static char *
body_show(void *arg)
{
	struct bodyx *x = arg;
	json_t *a;

	cr_assert_not_null(a = json_pack("[o, o, s, s, I]",
	    rbac_target_to_json(x->t), rbac_role_to_json(x->ro), x->role,
	    x->subject, (json_int_t)x->exp));
	return oom_json(a, NULL);
}

static void
body_check(void *arg, int r)
{
	struct bodyx *x = arg;

	if (r == 0) {
		cr_assert_eq(x->t->n_labels, 2);
		cr_assert_str_eq(x->t->labels[1].value, "r1");
		cr_assert_eq(x->ro->n_rules, 2);
		cr_assert_eq(x->ro->n_source, 2);
		cr_assert_str_eq(x->ro->force_command, "/bin/true");
		cr_assert_eq(x->ro->max_ttl, 8 * 3600);
		cr_assert_str_eq(x->subject, "group:dev");
	}
	rbac_target_free(x->t);
	rbac_role_free(x->ro);
	free(x->role);
	free(x->subject);
}

Test(oom_rbac, policy_json_bodies)
{
	struct bodyx x;

	oom_walk("mem_json_loadb + policy_json_target, _role, _binding",
	    body_run, body_check, &x);
	oom_walk_nth("mem_json_loadb + policy_json_target, _role, _binding",
	    body_run, body_check, body_show, &x);
}

/* ---- records ---- */

/* One read: its output set beforehand to a stale value, which a failure
 * must clear. */
#define STALE		((void *)1)
#define READ(o, call) do {						\
	(o) = STALE;							\
	if ((r = (call)) != 0) {					\
		cr_assert((o) == NULL, #call ": failed, output left");	\
		goto out;						\
	}								\
} while (0)

struct recx {
	struct rbac_target *t, *t2;
	struct rbac_role *ro, *ro2;
	struct rbac_binding b, *b2;
	struct buf *enc;
};

static int
rec_run(void *arg)
{
	struct recx *x = arg;
	int r;

	x->t2 = NULL;
	x->ro2 = NULL;
	x->b2 = NULL;
	READ(x->enc, rbac__target_encode(x->t, &x->enc));
	READ(x->t2, rbac__target_decode("lab/box", 7, buf_ptr(x->enc),
	    buf_len(x->enc), &x->t2));
	buf_free(x->enc);
	READ(x->enc, rbac__role_encode(x->ro, &x->enc));
	READ(x->ro2, rbac__role_decode("dev", 3, buf_ptr(x->enc),
	    buf_len(x->enc), &x->ro2));
	buf_free(x->enc);
	READ(x->enc, rbac__binding_encode(&x->b, &x->enc));
	READ(x->b2, rbac__binding_decode(7, buf_ptr(x->enc), buf_len(x->enc),
	    &x->b2));
 out:
	return r;
}

static char *
rec_show(void *arg)
{
	struct recx *x = arg;
	json_t *a;

	cr_assert_not_null(a = json_pack("[o, o, o]",
	    rbac_target_to_json(x->t2), rbac_role_to_json(x->ro2),
	    rbac_binding_to_json(x->b2)));
	return oom_json(a, NULL);
}

static void
rec_check(void *arg, int r)
{
	struct recx *x = arg;

	if (r == 0) {
		cr_assert_str_eq(x->t2->labels[0].value, "lab");
		cr_assert_eq(x->ro2->n_rules, 2);
		cr_assert_str_eq(x->ro2->rules[0].logins[1], "deploy");
		cr_assert_str_eq(x->ro2->source_address[1], "192.168.0.0/16");
		cr_assert_str_eq(x->b2->subject, "group:dev");
		cr_assert_eq(x->b2->id, 7);
	}
	buf_free(x->enc);
	rbac_target_free(x->t2);
	rbac_role_free(x->ro2);
	rbac_binding_free(x->b2);
}

Test(oom_rbac, record_codecs)
{
	struct recx x = { .t = target("lab/box", "lab"), .ro = role(),
	    .b = { .id = 7, .role = "dev", .subject = "group:dev",
	    .created_at = NOW, .created_by = "root" } };

	oom_walk("rbac__{target,role,binding}_{encode,decode}", rec_run,
	    rec_check, &x);
	oom_walk_nth("rbac__{target,role,binding}_{encode,decode}", rec_run,
	    rec_check, rec_show, &x);
	rbac_target_free(x.t);
	rbac_role_free(x.ro);
}

/* ---- reads from the store, one walk each ---- */

struct readx {
	const char *what;
	int (*fn)(struct store_txn *, struct readx *);
	void (*ok)(struct readx *);	/* asserts the result whole */
	uint64_t id;
	struct rbac_target *t;
	struct rbac_role *ro;
	struct rbac_binding *b;
	json_t *list;
	char **logins;
	size_t n;
	uint32_t perms;
};

static int
rd_target(struct store_txn *t, struct readx *x)
{
	return rbac_target_get(t, "lab/box", &x->t);
}

static void
ok_target(struct readx *x)
{
	cr_assert_str_eq(x->t->name, "lab/box");
	cr_assert_str_eq(x->t->labels[0].value, "lab");
}

static int
rd_role(struct store_txn *t, struct readx *x)
{
	return rbac_role_get(t, "dev", &x->ro);
}

static void
ok_role(struct readx *x)
{
	cr_assert_eq(x->ro->n_rules, 2);
	cr_assert_str_eq(x->ro->rules[0].logins[1], "deploy");
}

static int
rd_binding(struct store_txn *t, struct readx *x)
{
	return rbac_binding_get(t, x->id, &x->b);
}

static void
ok_binding(struct readx *x)
{
	cr_assert_str_eq(x->b->role, "dev");
	cr_assert_str_eq(x->b->subject, "group:dev");
}

static int
rd_targets(struct store_txn *t, struct readx *x)
{
	return rbac_targets_json(t, &x->list);
}

static void
ok_two(struct readx *x)
{
	cr_assert_eq(json_array_size(x->list), 2, "%zu listed",
	    json_array_size(x->list));
}

static int
rd_roles(struct store_txn *t, struct readx *x)
{
	return rbac_roles_json(t, &x->list);
}

static int
rd_bindings(struct store_txn *t, struct readx *x)
{
	return rbac_bindings_json(t, NULL, &x->list);
}

static int
rd_subject(struct store_txn *t, struct readx *x)
{
	return rbac_bindings_json(t, "group:dev", &x->list);
}

static void
ok_one(struct readx *x)
{
	cr_assert_eq(json_array_size(x->list), 1);
}

static int
rd_logins(struct store_txn *t, struct readx *x)
{
	return rbac_target_logins(t, "lab/box", &x->logins, &x->n);
}

static void
ok_logins(struct readx *x)
{
	cr_assert_eq(x->n, 2);
	cr_assert_str_eq(x->logins[1], "deploy");
}

static int
rd_perms(struct store_txn *t, struct readx *x)
{
	return rbac_perms_txn(t, "root", NULL, 0, NOW, &x->perms);
}

static void
ok_perms(struct readx *x)
{
	cr_assert(x->perms & RBAC_PERM_STAR);
}

static int
read_run(void *arg)
{
	struct readx *x = arg;
	struct store_txn *t;
	int r;

	/* Stale outputs, which a failure must clear. */
	x->t = STALE;
	x->ro = STALE;
	x->b = STALE;
	x->list = STALE;
	x->logins = STALE;
	x->n = 0;
	x->perms = 0;
	if ((r = store_begin(oom_store, 0, &t)) != 0)
		return r;
	if (x->fn == rd_logins)
		x->n = 99;
	r = x->fn(t, x);
	store_abort(t);
	return r;
}

/* Whichever output the read made. */
static char *
read_show(void *arg)
{
	struct readx *x = arg;
	json_t *a;
	size_t i;

	cr_assert_not_null(a = json_array());
	if (x->t != STALE)
		cr_assert_eq(json_array_append_new(a,
		    rbac_target_to_json(x->t)), 0);
	if (x->ro != STALE)
		cr_assert_eq(json_array_append_new(a,
		    rbac_role_to_json(x->ro)), 0);
	if (x->b != STALE)
		cr_assert_eq(json_array_append_new(a,
		    rbac_binding_to_json(x->b)), 0);
	if (x->list != STALE)
		cr_assert_eq(json_array_append(a, x->list), 0);
	for (i = 0; x->logins != STALE && i < x->n; i++)
		cr_assert_eq(json_array_append_new(a,
		    json_string(x->logins[i])), 0);
	cr_assert_eq(json_array_append_new(a, json_integer(x->perms)), 0);
	return oom_json(a, NULL);
}

static void
read_check(void *arg, int r)
{
	struct readx *x = arg;
	size_t i;

	if (r == 0)
		x->ok(x);
	else
		cr_assert((x->t == STALE || x->t == NULL) &&
		    (x->ro == STALE || x->ro == NULL) &&
		    (x->b == STALE || x->b == NULL) &&
		    (x->list == STALE || x->list == NULL) &&
		    (x->logins == STALE || x->logins == NULL) && x->n == 0,
		    "%s: failed, output left", x->what);
	if (x->t != STALE)
		rbac_target_free(x->t);
	if (x->ro != STALE)
		rbac_role_free(x->ro);
	if (x->b != STALE)
		rbac_binding_free(x->b);
	if (x->list != STALE)
		json_decref(x->list);
	if (x->logins != STALE) {
		for (i = 0; i < x->n; i++)
			free(x->logins[i]);
		free(x->logins);
	}
}

Test(oom_rbac, store_reads)
{
	static const struct {
		const char *what;
		int (*fn)(struct store_txn *, struct readx *);
		void (*ok)(struct readx *);
	} reads[] = {
		{ "rbac_target_get", rd_target, ok_target },
		{ "rbac_role_get", rd_role, ok_role },
		{ "rbac_binding_get", rd_binding, ok_binding },
		{ "rbac_targets_json (2)", rd_targets, ok_two },
		{ "rbac_roles_json (2)", rd_roles, ok_two },
		{ "rbac_bindings_json (2)", rd_bindings, ok_two },
		{ "rbac_bindings_json (a subject's)", rd_subject, ok_one },
		{ "rbac_target_logins", rd_logins, ok_logins },
		{ "rbac_perms_txn", rd_perms, ok_perms },
	};
	struct readx x;
	size_t i;

	memset(&x, 0, sizeof(x));
	x.id = make_policy();
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		x.what = reads[i].what;
		x.fn = reads[i].fn;
		x.ok = reads[i].ok;
		oom_walk(x.what, read_run, read_check, &x);
		oom_walk_nth(x.what, read_run, read_check, read_show, &x);
	}
}

/* ---- admin writes: all of them or none ---- */

struct writex {
	struct rbac_target *t;
	struct rbac_role *ro;
	uint64_t gen, events, id;
};

static void
counts(uint64_t *gen, uint64_t *events, uint64_t *targets)
{
	struct store_txn *t;

	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(store_counter_get(t, STORE_CTR_POLICY_GEN, gen), 0);
	cr_assert_eq(store_count(t, STORE_DB_AUDIT, events), 0);
	cr_assert_eq(store_count(t, STORE_DB_TARGETS, targets), 0);
	store_abort(t);
}

static int
write_run(void *arg)
{
	struct writex *x = arg;
	struct store_txn *t;
	char err[256];
	int r;

	x->id = 0;
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		return r;
	if ((r = rbac_target_put(t, &root, x->t, NOW, err,
	    sizeof(err))) != 0 ||
	    (r = rbac_role_put(t, &root, x->ro, NOW, err, sizeof(err))) != 0 ||
	    (r = rbac_binding_create(t, &root, "ops", "user:alice", 0, NOW,
	    &x->id, err, sizeof(err))) != 0 ||
	    (r = rbac_target_delete(t, &root, "prod/db", 1, NOW, err,
	    sizeof(err))) != 0) {
		store_abort(t);
		return r;
	}
	return store_commit(t);
}

static void
write_check(void *arg, int r)
{
	struct writex *x = arg;
	uint64_t gen, events, targets;

	counts(&gen, &events, &targets);
	if (r != 0) {
		cr_assert_eq(gen, x->gen);
		cr_assert_eq(events, x->events);
		cr_assert_eq(targets, 2);
		return;
	}
	cr_assert_eq(gen, x->gen + 4);
	cr_assert_eq(events, x->events + 4);
	cr_assert_eq(targets, 2);	/* lab/web in, prod/db out */
	cr_assert_gt(x->id, 0);
	/* The policy as it was, for the next run. */
	oom_store_fresh();
	make_policy();
	counts(&x->gen, &x->events, &targets);
}

/* The policy written and the four events that say so. */
static char *
write_show(void *arg)
{
	static const char *const skip[] = { "seq", "time", "prev", "hash",
	    NULL };
	struct writex *x = arg;
	struct store_txn *t;
	json_t *a, *v;
	uint64_t seq;

	cr_assert_not_null(a = json_array());
	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(rbac_targets_json(t, &v), 0);
	cr_assert_eq(json_array_append_new(a, v), 0);
	cr_assert_eq(rbac_roles_json(t, &v), 0);
	cr_assert_eq(json_array_append_new(a, v), 0);
	cr_assert_eq(rbac_bindings_json(t, NULL, &v), 0);
	cr_assert_eq(json_array_append_new(a, v), 0);
	for (seq = x->events + 1; seq <= x->events + 4; seq++) {
		cr_assert_eq(audit_get(t, seq, &v), 0);
		cr_assert_eq(json_array_append_new(a, v), 0);
	}
	store_abort(t);
	return oom_json(a, skip);
}

Test(oom_rbac, admin_writes)
{
	struct writex x;
	uint64_t targets;

	make_policy();
	x.t = target("lab/web", "lab");
	x.ro = role();
	free(x.ro->name);
	cr_assert_not_null(x.ro->name = strdup("ops"));
	counts(&x.gen, &x.events, &targets);
	oom_walk("rbac_target_put, role_put, binding_create, target_delete "
	    "+ commit", write_run, write_check, &x);
	oom_walk_nth("rbac_target_put, role_put, binding_create, "
	    "target_delete + commit", write_run, write_check, write_show, &x);
	rbac_target_free(x.t);
	rbac_role_free(x.ro);
}

/* Deleting what is in use without force: a conflict, however the
 * allocations go, and nothing deleted. */
static int
inuse_run(void *arg)
{
	struct store_txn *t;
	char err[256];
	int r;

	(void)arg;
	if ((r = store_begin(oom_store, 1, &t)) != 0)
		return r;
	if ((r = rbac_target_delete(t, &root, "lab/box", 0, NOW, err,
	    sizeof(err))) == TSS_E_CONFLICT)
		r = rbac_role_delete(t, &root, "dev", 0, NOW, err,
		    sizeof(err));
	store_abort(t);
	return r == TSS_E_CONFLICT ? 0 : r;	/* the right answer */
}

static void
inuse_check(void *arg, int r)
{
	uint64_t gen, events, targets, roles;
	struct store_txn *t;

	(void)arg;
	(void)r;
	counts(&gen, &events, &targets);
	cr_assert_eq(targets, 2);
	cr_assert_eq(store_begin(oom_store, 0, &t), 0);
	cr_assert_eq(store_count(t, STORE_DB_ROLES, &roles), 0);
	store_abort(t);
	cr_assert_eq(roles, 2);
}

Test(oom_rbac, delete_in_use)
{
	make_policy();
	oom_walk("rbac_target_delete, rbac_role_delete (in use: conflict)",
	    inuse_run, inuse_check, NULL);
	oom_walk_nth("rbac_target_delete, rbac_role_delete (in use: "
	    "conflict)", inuse_run, inuse_check, NULL, NULL);
}

/* ---- snapshots and decisions ---- */

struct snapx {
	int holder;
	struct rbac *rb;
	struct rbac_snap *s;
	struct rbac_access *acc;
	struct rbac_grant g;
	json_t *me;
};

/* The decisions the policy makes, on whatever snapshot was built. */
static void
decide_all(const struct rbac_snap *s)
{
	struct rbac_decision d;

	cr_assert_eq(rbac_decide(s, "alice", dev, 1, "lab/box", "deploy", NOW,
	    &d), 0, "reason %d", d.reason);
	cr_assert_eq(d.max_ttl, 8 * 3600);
	cr_assert_eq(d.n_cidrs, 2);
	cr_assert_str_eq(d.force_command, "/bin/true");
	cr_assert_eq(rbac_decide(s, "alice", dev, 1, "prod/db", "app", NOW,
	    &d), 0, "reason %d", d.reason);
	cr_assert_eq(rbac_decide(s, "alice", dev, 1, "prod/db", "root", NOW,
	    &d), TSS_E_FORBIDDEN);
	cr_assert_eq(rbac_decide(s, "bob", NULL, 0, "lab/box", "app", NOW,
	    &d), TSS_E_FORBIDDEN);
	cr_assert(rbac_perms(s, "root", NULL, 0, NOW) & RBAC_PERM_STAR);
	cr_assert_eq(rbac_perms(s, "alice", dev, 1, NOW), 0);
}

static int
snap_run(void *arg)
{
	struct snapx *x = arg;
	struct store_txn *t;
	int r;

	x->s = (struct rbac_snap *)1;
	x->acc = NULL;
	x->me = NULL;
	memset(&x->g, 0, sizeof(x->g));
	if (x->holder) {
		/* A fresh holder each time: nothing cached between runs. */
		x->s = NULL;
		if ((r = rbac_open(oom_store, 0, &x->rb)) != 0 ||
		    (r = rbac_acquire(x->rb, &x->s)) != 0)
			return r;
	} else {
		if ((r = store_begin(oom_store, 0, &t)) != 0) {
			x->s = NULL;
			return r;
		}
		r = rbac_snap_load(t, 0, &x->s);
		store_abort(t);
		if (r != 0) {
			cr_assert_null(x->s);
			return r;
		}
	}
	if ((r = rbac_access(x->s, "alice", dev, 1, NOW, &x->acc)) != 0) {
		cr_assert_null(x->acc);
		return r;
	}
	if ((r = rbac_grant(x->acc, NULL, NULL, &x->g)) != 0) {
		cr_assert(x->g.principals == NULL && x->g.n == 0);
		return r;
	}
	return rbac_me_json(x->acc, &x->me);
}

static void
snap_check(void *arg, int r)
{
	struct snapx *x = arg;

	if (r == 0) {
		decide_all(x->s);
		cr_assert_eq(x->acc->n, 2);
		cr_assert_eq(x->g.n, 3, "principals %zu", x->g.n);
		cr_assert_str_eq(x->g.principals[0], "app@lab/box");
		cr_assert_not_null(json_object_get(x->me, "access"));
	} else if (x->s != NULL) {
		/* A snapshot that was built is whole, whatever failed after
		 * it. */
		decide_all(x->s);
	}
	json_decref(x->me);
	rbac_grant_clear(&x->g);
	rbac_access_free(x->acc);
	rbac_snap_release(x->s);
	rbac_close(x->rb);
	x->rb = NULL;
}

/* The access listing, the grant and the /v1/me body. */
static char *
snap_show(void *arg)
{
	struct snapx *x = arg;
	json_t *a, *p;
	size_t i;

	cr_assert_not_null(p = json_array());
	for (i = 0; i < x->g.n; i++)
		cr_assert_eq(json_array_append_new(p,
		    json_string(x->g.principals[i])), 0);
	cr_assert_not_null(a = json_pack("{s:O, s:o, s:I}", "me", x->me,
	    "principals", p, "generation",
	    (json_int_t)rbac_snap_generation(x->s)));
	return oom_json(a, NULL);
}

/*
 * A record the loader cannot decode for want of memory is no bad record:
 * skipping it would build, and the holder publish, a snapshot short of
 * it.  The loader's warning for a skipped record must not appear.
 */
static void
setup_captured(void)
{
	cr_redirect_stderr();	/* the suite's setup runs too */
}

static void
assert_nothing_skipped(void)
{
	char line[512];
	FILE *f;

	fflush(stderr);
	cr_assert_not_null(f = cr_get_redirected_stderr());
	while (fgets(line, sizeof(line), f) != NULL)
		cr_assert_null(strstr(line, "skipping a bad"), "%s", line);
}

Test(oom_rbac, snap_load_and_decide, .init = setup_captured)
{
	struct snapx x = { .holder = 0 };

	make_policy();
	oom_walk("rbac_snap_load + rbac_access, _grant, _me_json", snap_run,
	    snap_check, &x);
	oom_walk_nth("rbac_snap_load + rbac_access, _grant, _me_json",
	    snap_run, snap_check, snap_show, &x);
	assert_nothing_skipped();
}

Test(oom_rbac, holder_acquire_and_decide, .init = setup_captured)
{
	struct snapx x = { .holder = 1 };

	make_policy();
	oom_walk("rbac_open + rbac_acquire + rbac_access, _grant, _me_json",
	    snap_run, snap_check, &x);
	oom_walk_nth("rbac_open + rbac_acquire + rbac_access, _grant, "
	    "_me_json", snap_run, snap_check, snap_show, &x);
	assert_nothing_skipped();
}
