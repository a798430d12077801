/* Admin use cases: users, targets, roles, bindings, check. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/token.h"
#include "auth/totp.h"
#include "auth/user.h"
#include "broker.h"
#include "audit/audit.h"
#include "certs.h"
#include "commit.h"
#include "guard.h"
#include "hosts.h"
#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "store/store.h"

static void
actor_of(const struct caller *c, struct audit_actor *a)
{
	a->name = c->username;
	a->remote_addr = c->remote_addr;
	a->request_id = c->request_id;
}

static void
rbac_actor_of(const struct caller *c, struct rbac_actor *a)
{
	actor_of(c, &a->who);
	a->groups = (const char *const *)c->groups;
	a->n_groups = c->n_groups;
}


static json_t *
user_json(const struct user *u)
{
	json_t *g = json_array();
	char last[32];
	size_t i;

	if (g == NULL)
		return NULL;
	for (i = 0; i < u->ngroups; i++)
		if (json_array_append_new(g, json_string(u->groups[i])) != 0) {
			json_decref(g);
			return NULL;
		}
	/* last_login: RFC 3339, null for never (and for a clock we cannot show). */
	if (u->last_login <= 0 || audit_time_text(u->last_login, last) != 0)
		last[0] = '\0';
	return json_pack("{s:s, s:o, s:b, s:s, s:b, s:I, s:i, s:s?}",
	    "username", u->name, "groups", g, "disabled", u->disabled,
	    "state", u->state == USER_ACTIVE ? "active" : "pending",
	    "locked", u->locked, "created", (json_int_t)u->created,
	    "recovery_codes_left", (int)u->nrecovery,
	    "last_login", last[0] != '\0' ? last : NULL);
}

int
broker_users_list(struct broker *b, const struct caller *c, json_t **out)
{
	struct store_txn *t = NULL;
	struct user **v = NULL;
	json_t *arr = NULL;
	size_t n = 0, i;
	int r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_USERS_READ)) != 0)
		return r;
	if ((r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = user_list(t, &v, &n)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((arr = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, user_json(v[i])) != 0)
			goto out;
	*out = json_pack("{s:o}", "users", arr);
	arr = NULL;	/* json_pack's, even when it fails */
	if (*out == NULL)
		goto out;
	r = 0;
 out:
	json_decref(arr);
	user_list_free(v, n);
	store_abort(t);
	return r;
}

int
broker_user_get(struct broker *b, const struct caller *c, const char *name,
    json_t **out)
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	int r;

	*out = NULL;
	if (strcmp(name, c->username) != 0 &&
	    (r = broker_need(c, RBAC_PERM_USERS_READ)) != 0)
		return r;
	if ((r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = user_get(t, name, &u)) != 0)
		goto out;
	r = (*out = user_json(u)) != NULL ? 0 : TSS_E_NOMEM;
 out:
	user_free(u);
	store_abort(t);
	return r;
}

static json_t *
enrollment_json(struct broker *b, const char *name, const char *token,
    int64_t expires_at)
{
	char url[512], *svg = NULL;
	json_t *o = NULL;

	snprintf(url, sizeof(url), "%s/enroll#token=%s",
	    b->cfg.public_url != NULL ? b->cfg.public_url : "", token);
	/* The link as a QR code to hand over; it holds the token. */
	if (totp_qr_svg(url, &svg) == 0)
		o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "username", name,
		    "enroll_url", url, "enroll_token", token,
		    "expires_at", (json_int_t)expires_at, "enroll_qr_svg", svg);
	if (svg != NULL) {
		explicit_bzero(svg, strlen(svg));
		free(svg);
	}
	explicit_bzero(url, sizeof(url));
	return o;
}

struct user_op {
	struct broker *b;
	const struct caller *c;
	const char *name;
	const char *const *groups;
	size_t ngroups;
	int set_groups;
	int disabled;		/* -1: unchanged */
	int64_t now;
	char token[TOKEN_TEXT_LEN + 1];
	int64_t expires_at;
	size_t revoked;
	char *errmsg;
	size_t len;
};

static int
create_fn(struct store_txn *t, void *a)
{
	struct user_op *op = a;
	struct audit_actor ua;
	int r;

	actor_of(op->c, &ua);
	r = user_create(t, op->name, op->groups, op->ngroups, &ua, op->now,
	    op->token, &op->expires_at);
	if (r == TSS_E_CONFLICT)
		snprintf(op->errmsg, op->len, "user %s exists", op->name);
	return r;
}

int
broker_user_create(struct broker *b, const struct caller *c,
    const char *name, const char *const *groups, size_t ngroups, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	struct user_op op = { .b = b, .c = c, .name = name,
	    .groups = groups, .ngroups = ngroups, .now = now,
	    .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_USERS_WRITE)) != 0)
		goto out;
	if (name == NULL || user_name_valid(name) != 0) {
		snprintf(errmsg, len, "username: expected [a-z_][a-z0-9_.-], "
		    "at most 32 bytes");
		r = TSS_E_VALIDATION;
		goto out;
	}
	if ((r = user_groups_valid(groups, ngroups, errmsg, len)) != 0)
		goto out;
	if ((r = guard_run(b, c, name, create_fn, &op, now, errmsg,
	    len)) != 0)
		goto out;
	r = (*out = enrollment_json(b, name, op.token, op.expires_at)) ?
	    0 : TSS_E_NOMEM;
 out:
	explicit_bzero(op.token, sizeof(op.token));
	return r;
}

/*
 * Revoke every certificate of op->name in t and audit the count.  Run in
 * the same transaction as the reset, disable or delete, so it also sees
 * the certificates committed earlier in the same batch; issuance after it
 * is refused by its own re-validation (broker/issue.h).
 */
static int
revoke_user_certs(struct store_txn *t, struct user_op *op)
{
	struct audit_actor by;
	char object[80];
	json_t *f;
	int r;

	if ((r = certs_revoke_user(t, op->name, op->now, &op->revoked)) != 0 ||
	    op->revoked == 0)
		return r;
	snprintf(object, sizeof(object), "user:%s", op->name);
	if ((f = json_pack("{s:I}", "count", (json_int_t)op->revoked)) == NULL)
		return TSS_E_NOMEM;
	actor_of(op->c, &by);
	r = audit_record(t, &by, "cert.revoke_user", object, "ok", f, op->now,
	    NULL);
	json_decref(f);
	return r;
}

static int
patch_fn(struct store_txn *t, void *a)
{
	struct user_op *op = a;
	struct audit_actor ua;
	struct user *u = NULL;
	int r;

	actor_of(op->c, &ua);
	if ((r = user_get(t, op->name, &u)) != 0)
		return r;
	r = 0;
	if (op->set_groups)
		r = user_set_groups(t, op->name, op->groups, op->ngroups, &ua,
		    op->now);
	if (r == 0 && op->disabled != -1 && op->disabled != u->disabled)
		r = user_set_disabled(t, op->name, op->disabled, &ua, op->now);
	/* A disabled user keeps no working certificate: revoked in this
	 * transaction, after any issuance committed before it. */
	if (r == 0 && op->disabled == 1 && !u->disabled)
		r = revoke_user_certs(t, op);
	user_free(u);
	return r;
}

int
broker_user_patch(struct broker *b, const struct caller *c, const char *name,
    const char *const *groups, size_t ngroups, int set_groups, int disabled,
    int64_t now, json_t **out, char *errmsg, size_t len)
{
	struct user_op op = { .b = b, .c = c, .name = name,
	    .groups = groups, .ngroups = ngroups,
	    .set_groups = set_groups, .disabled = disabled, .now = now,
	    .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_USERS_WRITE)) != 0 ||
	    (set_groups && (r = user_groups_valid(groups, ngroups, errmsg,
	    len)) != 0) ||
	    (r = guard_run(b, c, NULL, patch_fn, &op, now, errmsg,
	    len)) != 0)
		return r;
	return broker_user_get(b, c, name, out);
}

static int
delete_fn(struct store_txn *t, void *a)
{
	struct user_op *op = a;
	struct audit_actor ua;
	struct user *u = NULL;
	char subject[8 + USER_NAME_MAX + 1];
	int r;

	actor_of(op->c, &ua);
	if ((r = user_get(t, op->name, &u)) != 0)
		return r;
	/* The user's bindings go too: a new account with the name must not
	 * inherit them. */
	snprintf(subject, sizeof(subject), "user:%s", op->name);
	if ((r = revoke_user_certs(t, op)) == 0 &&
	    (r = rbac_bindings_delete_subject(t, subject, &ua, op->now,
	    NULL)) == 0)
		r = user_delete(t, op->name, &ua, op->now);
	user_free(u);
	return r;
}

int
broker_user_delete(struct broker *b, const struct caller *c, const char *name,
    int64_t now, char *errmsg, size_t len)
{
	struct user_op op = { .b = b, .c = c, .name = name, .now = now,
	    .errmsg = errmsg, .len = len };
	int r;

	if ((r = broker_need(c, RBAC_PERM_USERS_WRITE)) != 0)
		return r;
	if (strcmp(name, c->username) == 0) {
		snprintf(errmsg, len, "you cannot delete your own account");
		return TSS_E_FORBIDDEN;
	}
	return guard_run(b, c, NULL, delete_fn, &op, now, errmsg, len);
}

/* A users:write change judged by the admin rule (guard_run). */
static int
user_guarded(struct user_op *op, const char *handed, commit_fn fn)
{
	int r;

	if ((r = broker_need(op->c, RBAC_PERM_USERS_WRITE)) != 0)
		return r;
	return guard_run(op->b, op->c, handed, fn, op, op->now, op->errmsg,
	    op->len);
}

static int
reset_fn(struct store_txn *t, void *a)
{
	struct user_op *op = a;
	struct audit_actor ua;
	struct user *u = NULL;
	int r;

	actor_of(op->c, &ua);
	if ((r = user_get(t, op->name, &u)) != 0)
		return r;
	user_free(u);
	if ((r = user_reset(t, op->name, &ua, op->now, op->token,
	    &op->expires_at)) != 0)
		return r;
	return revoke_user_certs(t, op);
}

int
broker_user_reset(struct broker *b, const struct caller *c, const char *name,
    int64_t now, json_t **out, char *errmsg, size_t len)
{
	struct user_op op = { .b = b, .c = c, .name = name, .now = now,
	    .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = user_guarded(&op, name, reset_fn)) == 0) {
		*out = enrollment_json(b, name, op.token, op.expires_at);
		if (*out == NULL || json_object_set_new(*out,
		    "revoked_certificates",
		    json_integer((json_int_t)op.revoked)) != 0) {
			json_decref(*out);
			*out = NULL;
			r = TSS_E_NOMEM;
		}
	}
	explicit_bzero(op.token, sizeof(op.token));
	return r;
}

static int
unlock_fn(struct store_txn *t, void *a)
{
	struct user_op *op = a;
	struct audit_actor ua;

	actor_of(op->c, &ua);
	return user_unlock(t, op->name, &ua, op->now);
}

int
broker_user_unlock(struct broker *b, const struct caller *c, const char *name,
    int64_t now, json_t **out, char *errmsg, size_t len)
{
	struct user_op op = { .b = b, .c = c, .name = name, .now = now,
	    .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = user_guarded(&op, NULL, unlock_fn)) == 0)
		r = broker_user_get(b, c, name, out);
	return r;
}

/* Policy reads: one read transaction each. */
static int
read_json(struct broker *b, int (*fn)(struct store_txn *, json_t **),
    const char *key, json_t **out)
{
	struct store_txn *t = NULL;
	json_t *v = NULL;
	int r;

	*out = NULL;
	if ((r = store_begin(b->store, 0, &t)) != 0)
		return r;
	r = fn(t, &v);
	store_abort(t);
	if (r == 0 && (*out = json_pack("{s:o}", key, v)) == NULL)
		r = TSS_E_NOMEM;
	return r;
}

int
broker_targets_list(struct broker *b, const struct caller *c, json_t **out)
{
	*out = NULL;
	if (broker_need(c, RBAC_PERM_TARGETS_READ) != 0)
		return TSS_E_FORBIDDEN;
	return read_json(b, rbac_targets_json, "targets", out);
}

int
broker_roles_list(struct broker *b, const struct caller *c, json_t **out)
{
	*out = NULL;
	if (broker_need(c, RBAC_PERM_ROLES_READ) != 0)
		return TSS_E_FORBIDDEN;
	return read_json(b, rbac_roles_json, "roles", out);
}

int
broker_role_get(struct broker *b, const struct caller *c, const char *name,
    json_t **out)
{
	struct store_txn *t = NULL;
	struct rbac_role *role = NULL;
	int r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_ROLES_READ)) != 0)
		return r;
	if ((r = store_begin(b->store, 0, &t)) != 0)
		return r;
	if ((r = rbac_role_get(t, name, &role)) == 0 &&
	    (*out = rbac_role_to_json(role)) == NULL)
		r = TSS_E_NOMEM;
	rbac_role_free(role);
	store_abort(t);
	return r;
}

enum policy_kind { TARGET_PUT, TARGET_DELETE, ROLE_PUT, ROLE_DELETE,
    BINDING_CREATE, BINDING_DELETE };

struct policy_op {
	enum policy_kind kind;
	const struct caller *c;
	const char *name;
	struct rbac_target *target;
	struct rbac_role *role;
	const char *subject;
	int64_t expires_at;
	uint64_t id;
	int force;
	int64_t now;
	char *errmsg;
	size_t len;
};

/* One policy change inside a group-commit transaction. */
static int
policy_fn(struct store_txn *t, void *a)
{
	struct policy_op *op = a;
	struct rbac_actor ra;
	int r;

	rbac_actor_of(op->c, &ra);
	switch (op->kind) {
	case TARGET_PUT:
		return rbac_target_put(t, &ra, op->target, op->now,
		    op->errmsg, op->len);
	case TARGET_DELETE:
		/* Its join tokens and host credentials die with it. */
		if ((r = rbac_target_delete(t, &ra, op->name, op->force,
		    op->now, op->errmsg, op->len)) != 0)
			return r;
		return hosts_target_gone(t, op->name);
	case ROLE_PUT:
		return rbac_role_put(t, &ra, op->role, op->now, op->errmsg,
		    op->len);
	case ROLE_DELETE:
		return rbac_role_delete(t, &ra, op->name, op->force, op->now,
		    op->errmsg, op->len);
	case BINDING_CREATE:
		return rbac_binding_create(t, &ra, op->name, op->subject,
		    op->expires_at, op->now, &op->id, op->errmsg, op->len);
	case BINDING_DELETE:
		return rbac_binding_delete(t, &ra, op->id, op->now,
		    op->errmsg, op->len);
	}
	return TSS_E_INTERNAL;
}

/* The bookkeeping rbac_*_put() stored with a record: when and by whom. */
static int
stamp(int64_t *at, char **by, const struct caller *c, int64_t now)
{
	char *name;

	if ((name = mem_strdup(c->username)) == NULL)
		return TSS_E_NOMEM;
	free(*by);
	*by = name;
	*at = now;
	return 0;
}

int
broker_target_put(struct broker *b, const struct caller *c,
    struct rbac_target *tg, int64_t now, json_t **out, char *errmsg,
    size_t len)
{
	struct policy_op op = { .kind = TARGET_PUT, .c = c, .name = tg->name,
	    .target = tg, .now = now, .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = guard_run(b, c, NULL, policy_fn, &op, now, errmsg,
	    len)) != 0)
		return r;
	/* Answer what was stored, bookkeeping included. */
	if ((r = stamp(&tg->updated_at, &tg->updated_by, c, now)) != 0)
		return r;
	return (*out = rbac_target_to_json(tg)) != NULL ? 0 : TSS_E_NOMEM;
}

int
broker_target_delete(struct broker *b, const struct caller *c,
    const char *name, int force, int64_t now, char *errmsg, size_t len)
{
	struct policy_op op = { .kind = TARGET_DELETE, .c = c, .name = name,
	    .force = force, .now = now, .errmsg = errmsg, .len = len };

	return guard_run(b, c, NULL, policy_fn, &op, now, errmsg, len);
}

int
broker_role_put(struct broker *b, const struct caller *c,
    struct rbac_role *ro, int64_t now, json_t **out, char *errmsg,
    size_t len)
{
	struct policy_op op = { .kind = ROLE_PUT, .c = c, .name = ro->name,
	    .role = ro, .now = now, .errmsg = errmsg, .len = len };
	int r;

	*out = NULL;
	if ((r = guard_run(b, c, NULL, policy_fn, &op, now, errmsg,
	    len)) != 0)
		return r;
	if ((r = stamp(&ro->updated_at, &ro->updated_by, c, now)) != 0)
		return r;
	return (*out = rbac_role_to_json(ro)) != NULL ? 0 : TSS_E_NOMEM;
}

int
broker_role_delete(struct broker *b, const struct caller *c, const char *name,
    int force, int64_t now, char *errmsg, size_t len)
{
	struct policy_op op = { .kind = ROLE_DELETE, .c = c, .name = name,
	    .force = force, .now = now, .errmsg = errmsg, .len = len };

	return guard_run(b, c, NULL, policy_fn, &op, now, errmsg, len);
}

int
broker_bindings_list(struct broker *b, const struct caller *c, json_t **out)
{
	struct store_txn *t = NULL;
	json_t *v = NULL;
	int r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_BINDINGS_READ)) != 0)
		return r;
	if ((r = store_begin(b->store, 0, &t)) != 0)
		return r;
	r = rbac_bindings_json(t, NULL, &v);
	store_abort(t);
	if (r == 0 && (*out = json_pack("{s:o}", "bindings", v)) == NULL)
		r = TSS_E_NOMEM;
	return r;
}

int
broker_binding_create(struct broker *b, const struct caller *c,
    const char *role, const char *subject, int64_t expires_at, int64_t now,
    json_t **out, char *errmsg, size_t len)
{
	struct policy_op op = { .kind = BINDING_CREATE, .c = c, .name = role,
	    .subject = subject, .expires_at = expires_at, .now = now,
	    .errmsg = errmsg, .len = len };
	struct store_txn *t = NULL;
	struct rbac_binding *bd = NULL;
	int r;

	*out = NULL;
	if ((r = guard_run(b, c, NULL, policy_fn, &op, now, errmsg,
	    len)) != 0 ||
	    (r = store_begin(b->store, 0, &t)) != 0 ||
	    (r = rbac_binding_get(t, op.id, &bd)) != 0)
		goto out;
	r = (*out = rbac_binding_to_json(bd)) != NULL ? 0 : TSS_E_NOMEM;
 out:
	rbac_binding_free(bd);
	store_abort(t);
	return r;
}

int
broker_binding_delete(struct broker *b, const struct caller *c,
    const char *id, int64_t now, char *errmsg, size_t len)
{
	struct policy_op op = { .kind = BINDING_DELETE, .c = c, .now = now,
	    .errmsg = errmsg, .len = len };
	unsigned long long v;
	char *end;

	errno = 0;
	v = id[0] >= '0' && id[0] <= '9' ? strtoull(id, &end, 10) : 0;
	if (v == 0 || errno == ERANGE || *end != '\0') {
		snprintf(errmsg, len, "binding id: expected a positive integer");
		return TSS_E_VALIDATION;
	}
	op.id = v;
	return guard_run(b, c, NULL, policy_fn, &op, now, errmsg, len);
}

int
broker_check(struct broker *b, const struct caller *c, const char *user,
    const char *target, const char *login, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	struct store_txn *t = NULL;
	struct user *u = NULL;
	char reason[256];
	int allowed = 0, r;

	*out = NULL;
	if ((r = broker_need(c, RBAC_PERM_BINDINGS_READ)) != 0)
		return r;
	if (user == NULL || target == NULL || login == NULL) {
		snprintf(errmsg, len, "user, target and login are required");
		return TSS_E_VALIDATION;
	}
	if ((r = store_begin(b->store, 0, &t)) != 0)
		return r;
	r = user_get(t, user, &u);
	store_abort(t);
	if (r == TSS_E_NOT_FOUND) {
		snprintf(reason, sizeof(reason), "no user %s", user);
	} else if (r != 0) {
		return r;
	} else if (u->disabled) {
		snprintf(reason, sizeof(reason), "user %s is disabled", user);
	} else if ((r = rbac_check(b->rbac, user, (const char *const *)u->groups,
	    u->ngroups, target, login, now, &allowed, reason,
	    sizeof(reason))) != 0 && r != TSS_E_FORBIDDEN) {
		user_free(u);
		return r;
	}
	user_free(u);
	*out = json_pack("{s:b, s:s}", "allowed", allowed, "reason", reason);
	return *out != NULL ? 0 : TSS_E_NOMEM;
}
