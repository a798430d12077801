/*
 * Admin writes of the policy records (the reads are in admin_read.c).
 * Every write runs in the caller's write transaction: it reads the actor's
 * permissions from the actor's own bindings in that same transaction,
 * checks the escalation rules, writes the record (and the subject index
 * for bindings), bumps STORE_CTR_POLICY_GEN and appends an audit event
 * carrying "before" and "after", so the change, the generation and the
 * event commit together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "audit/audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"

/* ---- write helpers ---- */

/* The actor's permissions, and that it holds need. */
static int
actor_check(struct store_txn *t, const struct rbac_actor *a, uint32_t need,
    int64_t now, uint32_t *perms, char *errmsg, size_t errlen)
{
	int r;

	*perms = 0;
	if (t == NULL || a == NULL || a->who.name == NULL ||
	    (a->n_groups > 0 && a->groups == NULL))
		return TSS_E_INVALID_ARGUMENT;
	if ((r = rbac_perms_txn(t, a->who.name, a->groups, a->n_groups, now,
	    perms)) != 0)
		return r;
	if (!rbac_perm_has(*perms, need)) {
		rbac__err(errmsg, errlen, "needs the %s permission",
		    rbac__perm_label(need));
		return TSS_E_FORBIDDEN;
	}
	return 0;
}

static int
bump_and_audit(struct store_txn *t, const struct audit_actor *by,
    const char *action, const char *object, json_t *before, json_t *after,
    json_t *extra, int64_t now)
{
	json_t *fields;
	uint64_t gen;
	int r;

	if ((r = store_counter_next(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		return r;
	if ((fields = extra != NULL ? json_deep_copy(extra) :
	    json_object()) == NULL)
		return TSS_E_NOMEM;
	if (json_object_set(fields, "before",
	    before != NULL ? before : json_null()) != 0 ||
	    json_object_set(fields, "after",
	    after != NULL ? after : json_null()) != 0 ||
	    json_object_set_new(fields, "policy_generation",
	    json_integer((json_int_t)gen)) != 0) {
		json_decref(fields);
		return TSS_E_NOMEM;
	}
	r = audit_record(t, by, action, object, "ok", fields, now, NULL);
	json_decref(fields);
	return r;
}

static int
put_buf(struct store_txn *t, enum store_db db, const void *k, size_t kl,
    const struct buf *b, unsigned flags)
{
	return store_put(t, db, k, kl, buf_ptr(b), buf_len(b), flags);
}

/* ---- targets ---- */

int
rbac_target_put(struct store_txn *t, const struct rbac_actor *a,
    const struct rbac_target *tg, int64_t now, char *errmsg, size_t errlen)
{
	struct rbac_target *old = NULL, rec;
	struct buf *b = NULL;
	char *by = NULL;
	json_t *before = NULL, *after = NULL;
	uint32_t perms;
	int r;

	if ((r = actor_check(t, a, RBAC_PERM_TARGETS_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if ((r = rbac_target_validate(tg, errmsg, errlen)) != 0)
		return r;
	r = rbac_target_get(t, tg->name, &old);
	if (r != 0 && r != TSS_E_NOT_FOUND)
		goto out;
	rec = *tg;		/* borrowed strings, but for the one it adds */
	rec.updated_at = now;
	rec.updated_by = by = mem_strdup(a->who.name);
	if (by == NULL ||
	    (old != NULL && (before = rbac_target_to_json(old)) == NULL) ||
	    (after = rbac_target_to_json(&rec)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = rbac__target_encode(&rec, &b)) != 0 ||
	    (r = put_buf(t, STORE_DB_TARGETS, rec.name, strlen(rec.name), b,
	    0)) != 0 ||
	    (r = bump_and_audit(t, &a->who, "target.put", rec.name, before,
	    after, NULL, now)) != 0)
		goto out;
	r = 0;
 out:
	free(by);
	buf_free(b);
	json_decref(before);
	json_decref(after);
	rbac_target_free(old);
	return r;
}

/* Role and rule matching target, scanning every role. */
static int
target_in_use(struct store_txn *t, const struct rbac_target *tg,
    char *role, size_t rlen, size_t *rule)
{
	struct store_cursor *c = NULL;
	struct rbac_role *ro;
	const void *k, *v;
	size_t kl, vl, i;
	int r, rr, found = 0;

	if ((r = store_cursor_open(t, STORE_DB_ROLES, &c)) != 0)
		return r;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
	    rr == 0 && !found; rr = store_cursor_next(c, &k, &kl, &v, &vl)) {
		/* An unreadable role matches nothing; one only not decoded
		 * now might: no answer. */
		if ((r = rbac__role_decode(k, kl, v, vl, &ro)) == TSS_E_NOMEM) {
			store_cursor_close(c);
			return r;
		}
		if (r != 0)
			continue;
		for (i = 0; i < ro->n_rules && !found; i++) {
			if (rbac__rule_matches(&ro->rules[i], tg)) {
				found = 1;
				(void)snprintf(role, rlen, "%s", ro->name);
				*rule = i;
			}
		}
		rbac_role_free(ro);
	}
	store_cursor_close(c);
	if (rr != 0 && rr != TSS_E_NOT_FOUND)
		return rr;
	return found ? TSS_E_CONFLICT : 0;
}

int
rbac_target_delete(struct store_txn *t, const struct rbac_actor *a,
    const char *name, int force, int64_t now, char *errmsg, size_t errlen)
{
	struct rbac_target *old = NULL;
	json_t *before = NULL, *extra = NULL;
	char role[RBAC_ROLE_NAME_MAX + 1];
	size_t rule = 0;
	uint32_t perms;
	int r;

	if ((r = actor_check(t, a, RBAC_PERM_TARGETS_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if ((r = rbac_target_get(t, name, &old)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			rbac__err(errmsg, errlen, "no such target");
		return r;
	}
	if (!force && (r = target_in_use(t, old, role, sizeof(role),
	    &rule)) != 0) {
		if (r == TSS_E_CONFLICT)
			rbac__err(errmsg, errlen, "target %s is matched by "
			    "role %s rule %zu; delete with force to remove it "
			    "anyway", old->name, role, rule);
		goto out;
	}
	if ((before = rbac_target_to_json(old)) == NULL ||
	    (extra = json_pack("{s:b}", "forced", force != 0)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = store_del(t, STORE_DB_TARGETS, old->name,
	    strlen(old->name))) != 0 ||
	    (r = bump_and_audit(t, &a->who, "target.delete", old->name,
	    before, NULL, extra, now)) != 0)
		goto out;
	r = 0;
 out:
	json_decref(before);
	json_decref(extra);
	rbac_target_free(old);
	return r;
}

/* ---- roles ---- */

static int role_bindings(struct store_txn *t, const char *role,
    uint64_t **ids, char ***subjects, size_t *n);

int
rbac_role_put(struct store_txn *t, const struct rbac_actor *a,
    const struct rbac_role *ro, int64_t now, char *errmsg, size_t errlen)
{
	struct rbac_role *old = NULL, rec;
	struct buf *b = NULL;
	char *by = NULL;
	json_t *before = NULL, *after = NULL;
	uint32_t perms, added, miss;
	int r;

	if ((r = actor_check(t, a, RBAC_PERM_ROLES_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if ((r = rbac_role_validate(ro, errmsg, errlen)) != 0)
		return r;
	r = rbac_role_get(t, ro->name, &old);
	if (r != 0 && r != TSS_E_NOT_FOUND)
		goto out;
	/* Only what the edit adds must be the actor's to give. */
	added = ro->admin;
	if (old != NULL)
		added = (old->admin & RBAC_PERM_STAR) != 0 ? 0 :
		    ro->admin & ~old->admin;
	if ((miss = rbac__perm_lacking(perms, added)) != 0) {
		rbac__err(errmsg, errlen, "cannot give role %s the %s "
		    "permission, which you lack", ro->name, rbac__perm_label(miss));
		r = TSS_E_FORBIDDEN;
		goto out;
	}
	rec = *ro;		/* borrowed strings, but for the one it adds */
	rec.updated_at = now;
	rec.updated_by = by = mem_strdup(a->who.name);
	if (by == NULL ||
	    (old != NULL && (before = rbac_role_to_json(old)) == NULL) ||
	    (after = rbac_role_to_json(&rec)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = rbac__role_encode(&rec, &b)) != 0 ||
	    (r = put_buf(t, STORE_DB_ROLES, rec.name, strlen(rec.name), b,
	    0)) != 0 ||
	    (r = bump_and_audit(t, &a->who, "role.put", rec.name, before,
	    after, NULL, now)) != 0)
		goto out;
	r = 0;
 out:
	free(by);
	buf_free(b);
	json_decref(before);
	json_decref(after);
	rbac_role_free(old);
	return r;
}

/* Bindings of a role (full scan: admin path only). */
static int
role_bindings(struct store_txn *t, const char *role, uint64_t **ids,
    char ***subjects, size_t *n)
{
	struct store_cursor *c = NULL;
	struct rbac_binding *b;
	uint64_t *iv = NULL, *niv;
	char **sv = NULL, **nsv;
	const void *k, *v;
	size_t kl, vl, cnt = 0, cap = 0, i;
	int r, rr;

	*ids = NULL;
	*subjects = NULL;
	*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_BINDINGS, &c)) != 0)
		return r;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &v, &vl)) {
		if (kl != 8)
			continue;
		if ((r = rbac__binding_decode(buf_peek_u64(k), v, vl,
		    &b)) == TSS_E_NOMEM)
			goto out;
		if (r != 0)
			continue;
		if (strcmp(b->role, role) != 0) {
			rbac_binding_free(b);
			continue;
		}
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			niv = mem_realloc(iv, cap * sizeof(*iv));
			if (niv != NULL)
				iv = niv;
			nsv = mem_realloc(sv, cap * sizeof(*sv));
			if (nsv != NULL)
				sv = nsv;
			if (niv == NULL || nsv == NULL) {
				rbac_binding_free(b);
				r = TSS_E_NOMEM;
				goto out;
			}
		}
		iv[cnt] = b->id;
		sv[cnt++] = b->subject;
		b->subject = NULL;	/* transferred */
		rbac_binding_free(b);
	}
	if (rr != TSS_E_NOT_FOUND) {
		r = rr;
		goto out;
	}
	*ids = iv;
	*subjects = sv;
	*n = cnt;
	iv = NULL;
	sv = NULL;
	cnt = 0;
	r = 0;
 out:
	store_cursor_close(c);
	for (i = 0; i < cnt; i++)
		free(sv[i]);
	free(sv);
	free(iv);
	return r;
}

static int
binding_remove(struct store_txn *t, uint64_t id, const char *subject)
{
	uint8_t k[8], sk[RBAC_SUBJ_KEY_MAX];
	size_t skl;
	int r;

	buf_poke_u64(k, id);
	if ((r = store_del(t, STORE_DB_BINDINGS, k, sizeof(k))) != 0)
		return r;
	if ((r = rbac__subj_key(subject, id, 1, sk, &skl)) != 0)
		return r;
	r = store_del(t, STORE_DB_BINDINGS_BY_SUBJ, sk, skl);
	return r == TSS_E_NOT_FOUND ? 0 : r;
}

int
rbac_role_delete(struct store_txn *t, const struct rbac_actor *a,
    const char *name, int force, int64_t now, char *errmsg, size_t errlen)
{
	struct rbac_role *old = NULL;
	json_t *before = NULL, *extra = NULL, *gone = NULL;
	uint64_t *ids = NULL;
	char **subjects = NULL;
	size_t i, n = 0;
	uint32_t perms;
	int r;

	if ((r = actor_check(t, a, RBAC_PERM_ROLES_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if ((r = rbac_role_get(t, name, &old)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			rbac__err(errmsg, errlen, "no such role");
		return r;
	}
	if ((r = role_bindings(t, old->name, &ids, &subjects, &n)) != 0)
		goto out;
	if (n > 0 && !force) {
		rbac__err(errmsg, errlen, "role %s is used by %zu binding%s "
		    "(first: %llu); delete with force to remove them too",
		    old->name, n, n == 1 ? "" : "s",
		    (unsigned long long)ids[0]);
		r = TSS_E_CONFLICT;
		goto out;
	}
	if ((before = rbac_role_to_json(old)) == NULL ||
	    (gone = json_array()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = binding_remove(t, ids[i], subjects[i])) != 0)
			goto out;
		if (json_array_append_new(gone,
		    json_integer((json_int_t)ids[i])) != 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if ((extra = json_pack("{s:b,s:O}", "forced", force != 0,
	    "deleted_bindings", gone)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = store_del(t, STORE_DB_ROLES, old->name,
	    strlen(old->name))) != 0 ||
	    (r = bump_and_audit(t, &a->who, "role.delete", old->name,
	    before, NULL, extra, now)) != 0)
		goto out;
	r = 0;
 out:
	for (i = 0; i < n; i++)
		free(subjects[i]);
	free(subjects);
	free(ids);
	json_decref(before);
	json_decref(extra);
	json_decref(gone);
	rbac_role_free(old);
	return r;
}

/* ---- bindings ---- */

static int
covers_actor(const struct rbac_actor *a, const char *subject)
{
	size_t i;

	if (strncmp(subject, "user:", 5) == 0)
		return strcmp(subject + 5, a->who.name) == 0;
	if (strncmp(subject, "group:", 6) == 0)
		for (i = 0; i < a->n_groups; i++)
			if (a->groups[i] != NULL &&
			    strcmp(subject + 6, a->groups[i]) == 0)
				return 1;
	return 0;
}

static int
binding_write(struct store_txn *t, const struct audit_actor *by,
    const char *role, const char *subject,
    int64_t expires_at, int64_t now, uint64_t *id)
{
	struct rbac_binding rec;
	struct buf *b = NULL;
	json_t *after = NULL;
	uint8_t k[8], sk[RBAC_SUBJ_KEY_MAX];
	char obj[24];
	size_t skl;
	uint64_t nid;
	int r;

	if ((r = store_counter_next(t, STORE_CTR_BINDING_ID, &nid)) != 0)
		return r;
	memset(&rec, 0, sizeof(rec));
	rec.id = nid;
	rec.expires_at = expires_at;
	rec.created_at = now;
	buf_poke_u64(k, nid);
	(void)snprintf(obj, sizeof(obj), "%llu", (unsigned long long)nid);
	/* The record owns its strings: copies of the borrowed ones. */
	if ((rec.role = mem_strdup(role)) == NULL ||
	    (rec.subject = mem_strdup(subject)) == NULL ||
	    (rec.created_by = mem_strdup(by != NULL && by->name != NULL ?
	    by->name : "local")) == NULL ||
	    (after = rbac_binding_to_json(&rec)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = rbac__subj_key(subject, nid, 1, sk, &skl)) != 0 ||
	    (r = rbac__binding_encode(&rec, &b)) != 0 ||
	    (r = put_buf(t, STORE_DB_BINDINGS, k, sizeof(k), b,
	    STORE_NOOVERWRITE)) != 0 ||
	    (r = store_put(t, STORE_DB_BINDINGS_BY_SUBJ, sk, skl, "", 0,
	    STORE_NOOVERWRITE)) != 0 ||
	    (r = bump_and_audit(t, by, "binding.create", obj, NULL,
	    after, NULL, now)) != 0)
		goto out;
	*id = nid;
	r = 0;
 out:
	free(rec.role);
	free(rec.subject);
	free(rec.created_by);
	buf_free(b);
	json_decref(after);
	return r;
}

int
rbac_binding_create(struct store_txn *t, const struct rbac_actor *a,
    const char *role, const char *subject, int64_t expires_at, int64_t now,
    uint64_t *id, char *errmsg, size_t errlen)
{
	struct rbac_role *ro = NULL;
	uint32_t perms, miss;
	int r;

	*id = 0;
	if ((r = actor_check(t, a, RBAC_PERM_BINDINGS_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if (rbac_valid_role_name(role) != 0) {
		rbac__err(errmsg, errlen, "role: not a role name");
		return TSS_E_VALIDATION;
	}
	if (rbac_valid_subject(subject) != 0) {
		rbac__err(errmsg, errlen, "subject: \"user:<name>\" or "
		    "\"group:<name>\"");
		return TSS_E_VALIDATION;
	}
	if (expires_at < 0 || (expires_at != 0 && expires_at <= now) ||
	    expires_at > now + RBAC_TTL_MAX) {
		rbac__err(errmsg, errlen, "expires_at: null or a Unix time in "
		    "the future");
		return TSS_E_VALIDATION;
	}
	if ((r = rbac_role_get(t, role, &ro)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			rbac__err(errmsg, errlen, "role: no such role");
		return r;
	}
	if (covers_actor(a, subject)) {
		rbac__err(errmsg, errlen, "subject: a binding may not cover "
		    "its own creator");
		r = TSS_E_FORBIDDEN;
		goto out;
	}
	if ((miss = rbac__perm_lacking(perms, ro->admin)) != 0) {
		rbac__err(errmsg, errlen, "role %s holds the %s permission, "
		    "which you lack", ro->name, rbac__perm_label(miss));
		r = TSS_E_FORBIDDEN;
		goto out;
	}
	r = binding_write(t, &a->who, ro->name, subject, expires_at, now,
	    id);
 out:
	rbac_role_free(ro);
	return r;
}

int
rbac_binding_delete(struct store_txn *t, const struct rbac_actor *a,
    uint64_t id, int64_t now, char *errmsg, size_t errlen)
{
	struct rbac_binding *old = NULL;
	json_t *before = NULL;
	char obj[24];
	uint32_t perms;
	int r;

	if ((r = actor_check(t, a, RBAC_PERM_BINDINGS_WRITE, now, &perms,
	    errmsg, errlen)) != 0)
		return r;
	if ((r = rbac_binding_get(t, id, &old)) != 0) {
		if (r == TSS_E_NOT_FOUND)
			rbac__err(errmsg, errlen, "no such binding");
		return r;
	}
	(void)snprintf(obj, sizeof(obj), "%llu", (unsigned long long)id);
	if ((before = rbac_binding_to_json(old)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = binding_remove(t, id, old->subject)) != 0 ||
	    (r = bump_and_audit(t, &a->who, "binding.delete", obj, before,
	    NULL, NULL, now)) != 0)
		goto out;
	r = 0;
 out:
	json_decref(before);
	rbac_binding_free(old);
	return r;
}

/* ---- bootstrap ---- */

int
rbac_bootstrap_admin(struct store_txn *t, const char *user, int64_t now)
{
	struct rbac_role *ro = NULL, admin;
	struct rbac_binding *b = NULL;
	struct buf *buf = NULL;
	json_t *after = NULL;
	char subj[8 + RBAC_SUBJECT_NAME_MAX + 1];
	uint64_t *ids = NULL, id;
	size_t i, n = 0;
	int r, found = 0;

	if (t == NULL || user == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (snprintf(subj, sizeof(subj), "user:%s", user) >=
	    (int)sizeof(subj) || rbac_valid_subject(subj) != 0)
		return TSS_E_VALIDATION;
	r = rbac_role_get(t, "admin", &ro);
	if (r == TSS_E_NOT_FOUND) {
		memset(&admin, 0, sizeof(admin));
		admin.name = (char *)"admin";
		admin.max_ttl = RBAC_DEFAULT_TTL;
		admin.extensions = RBAC_EXT_DEFAULT;
		admin.admin = RBAC_PERM_STAR | RBAC_PERM_ALL;
		admin.updated_at = now;
		admin.updated_by = (char *)"local";
		if ((after = rbac_role_to_json(&admin)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if ((r = rbac__role_encode(&admin, &buf)) != 0 ||
		    (r = put_buf(t, STORE_DB_ROLES, "admin", 5, buf,
		    STORE_NOOVERWRITE)) != 0 ||
		    (r = bump_and_audit(t, NULL, "role.put", "admin",
		    NULL, after, NULL, now)) != 0)
			goto out;
	} else if (r != 0)
		goto out;
	if ((r = rbac__subject_ids(t, subj, &ids, &n)) != 0)
		goto out;
	for (i = 0; i < n && !found; i++) {
		if ((r = rbac_binding_get(t, ids[i], &b)) == TSS_E_NOT_FOUND)
			continue;
		if (r != 0)
			goto out;
		found = strcmp(b->role, "admin") == 0 && b->expires_at == 0;
		rbac_binding_free(b);
		b = NULL;
	}
	if (!found && (r = binding_write(t, NULL, "admin", subj, 0,
	    now, &id)) != 0)
		goto out;
	r = 0;
 out:
	free(ids);
	buf_free(buf);
	json_decref(after);
	rbac_role_free(ro);
	return r;
}

