/*
 * Reads of the policy records in any transaction: one record by key, the
 * GET listings, a subject's bindings through the BINDINGS_BY_SUBJ index,
 * and a user's admin permissions computed from its bindings (what the
 * writes in admin.c check the actor against).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"

/* "user:alice\0" (+ be64 id when id != 0); klen gets the length. */
int
rbac__subj_key(const char *subject, uint64_t id, int with_id,
    uint8_t k[RBAC_SUBJ_KEY_MAX], size_t *klen)
{
	size_t n = strlen(subject);

	if (n + 1 + 8 > RBAC_SUBJ_KEY_MAX)
		return TSS_E_VALIDATION;
	memcpy(k, subject, n);
	k[n] = '\0';
	*klen = n + 1;
	if (with_id) {
		buf_poke_u64(k + n + 1, id);
		*klen += 8;
	}
	return 0;
}

/* ---- reads ---- */

int
rbac_target_get(struct store_txn *t, const char *name,
    struct rbac_target **out)
{
	const void *v;
	size_t vl;
	int r;

	*out = NULL;
	if (name == NULL || rbac_valid_target_name(name) != 0)
		return TSS_E_NOT_FOUND;
	if ((r = store_get(t, STORE_DB_TARGETS, name, strlen(name), &v,
	    &vl)) != 0)
		return r;
	return rbac__target_decode(name, strlen(name), v, vl, out);
}

int
rbac_role_get(struct store_txn *t, const char *name, struct rbac_role **out)
{
	const void *v;
	size_t vl;
	int r;

	*out = NULL;
	if (name == NULL || rbac_valid_role_name(name) != 0)
		return TSS_E_NOT_FOUND;
	if ((r = store_get(t, STORE_DB_ROLES, name, strlen(name), &v,
	    &vl)) != 0)
		return r;
	return rbac__role_decode(name, strlen(name), v, vl, out);
}

int
rbac_binding_get(struct store_txn *t, uint64_t id, struct rbac_binding **out)
{
	uint8_t k[8];
	const void *v;
	size_t vl;
	int r;

	*out = NULL;
	buf_poke_u64(k, id);
	if ((r = store_get(t, STORE_DB_BINDINGS, k, sizeof(k), &v, &vl)) != 0)
		return r;
	return rbac__binding_decode(id, v, vl, out);
}

static int
list_json(struct store_txn *t, enum store_db db, json_t **out)
{
	struct store_cursor *c = NULL;
	struct rbac_target *tg;
	struct rbac_role *ro;
	struct rbac_binding *bi;
	json_t *a = NULL, *e;
	const void *k, *v;
	size_t kl, vl;
	int r, rr;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return TSS_E_NOMEM;
	if ((r = store_cursor_open(t, db, &c)) != 0)
		goto out;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &v, &vl)) {
		e = NULL;
		r = TSS_E_BAD_FORMAT;
		if (db == STORE_DB_TARGETS &&
		    (r = rbac__target_decode(k, kl, v, vl, &tg)) == 0) {
			e = rbac_target_to_json(tg);
			rbac_target_free(tg);
		} else if (db == STORE_DB_ROLES &&
		    (r = rbac__role_decode(k, kl, v, vl, &ro)) == 0) {
			e = rbac_role_to_json(ro);
			rbac_role_free(ro);
		} else if (db == STORE_DB_BINDINGS && kl == 8 &&
		    (r = rbac__binding_decode(buf_peek_u64(k), v, vl,
		    &bi)) == 0) {
			e = rbac_binding_to_json(bi);
			rbac_binding_free(bi);
		} else if (r == TSS_E_NOMEM)
			goto out;	/* readable, but not now: no listing */
		else
			continue;	/* unreadable record: not listed */
		if (e == NULL || json_array_append_new(a, e) != 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if (rr != TSS_E_NOT_FOUND) {
		r = rr;
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	store_cursor_close(c);
	json_decref(a);
	return r;
}

int
rbac_targets_json(struct store_txn *t, json_t **out)
{
	return list_json(t, STORE_DB_TARGETS, out);
}

int
rbac_roles_json(struct store_txn *t, json_t **out)
{
	return list_json(t, STORE_DB_ROLES, out);
}

/*
 * Ids of the bindings of one subject, from the index.  *ids allocated
 * (caller frees) even when empty.
 */
int
rbac__subject_ids(struct store_txn *t, const char *subject,
    uint64_t **ids, size_t *n)
{
	struct store_cursor *c = NULL;
	uint8_t pre[RBAC_SUBJ_KEY_MAX];
	uint64_t *v = NULL, *nv;
	size_t pl, kl, vl, cnt = 0, cap = 0;
	const void *k, *val;
	int r, rr;

	*ids = NULL;
	*n = 0;
	if ((r = rbac__subj_key(subject, 0, 0, pre, &pl)) != 0)
		return r;
	if ((r = store_cursor_open(t, STORE_DB_BINDINGS_BY_SUBJ, &c)) != 0)
		return r;
	for (rr = store_cursor_seek(c, pre, pl, &k, &kl, &val, &vl);
	    rr == 0 && kl == pl + 8 && memcmp(k, pre, pl) == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = mem_realloc(v, cap * sizeof(*v))) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			v = nv;
		}
		v[cnt++] = buf_peek_u64((const uint8_t *)k + pl);
	}
	if (rr != 0 && rr != TSS_E_NOT_FOUND) {
		r = rr;
		goto out;
	}
	if (v == NULL && (v = mem_malloc(sizeof(*v))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	*ids = v;
	*n = cnt;
	v = NULL;
	r = 0;
 out:
	free(v);
	store_cursor_close(c);
	return r;
}

int
rbac_bindings_json(struct store_txn *t, const char *subject, json_t **out)
{
	struct rbac_binding *b;
	uint64_t *ids = NULL;
	json_t *a = NULL, *e;
	size_t i, n;
	int r;

	*out = NULL;
	if (subject == NULL)
		return list_json(t, STORE_DB_BINDINGS, out);
	if (rbac_valid_subject(subject) != 0)
		return TSS_E_VALIDATION;
	if ((r = rbac__subject_ids(t, subject, &ids, &n)) != 0)
		return r;
	if ((a = json_array()) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = rbac_binding_get(t, ids[i], &b)) == TSS_E_NOT_FOUND)
			continue;
		if (r != 0)
			goto out;
		e = rbac_binding_to_json(b);
		rbac_binding_free(b);
		if (e == NULL || json_array_append_new(a, e) != 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	free(ids);
	json_decref(a);
	return r;
}

/* ---- permissions from the store ---- */

static int
subject_perms(struct store_txn *t, const char *subject, int64_t now,
    uint32_t *perms)
{
	struct rbac_binding *b = NULL;
	struct rbac_role *ro = NULL;
	uint64_t *ids = NULL;
	size_t i, n;
	int r;

	if (rbac_valid_subject(subject) != 0)
		return 0;	/* such a subject has no bindings */
	if ((r = rbac__subject_ids(t, subject, &ids, &n)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((r = rbac_binding_get(t, ids[i], &b)) == TSS_E_NOT_FOUND)
			continue;
		if (r != 0)
			goto out;
		if (b->expires_at == 0 || now < b->expires_at) {
			r = rbac_role_get(t, b->role, &ro);
			if (r == 0)
				*perms |= ro->admin;
			else if (r != TSS_E_NOT_FOUND)
				goto out;
			rbac_role_free(ro);
			ro = NULL;
		}
		rbac_binding_free(b);
		b = NULL;
	}
	r = 0;
 out:
	rbac_binding_free(b);
	free(ids);
	return r;
}

int
rbac_perms_txn(struct store_txn *t, const char *user,
    const char *const *groups, size_t n_groups, int64_t now, uint32_t *out)
{
	char subj[8 + RBAC_SUBJECT_NAME_MAX + 1];
	uint32_t p = 0;
	size_t i;
	int r, n;

	*out = 0;
	if (user == NULL || (n_groups > 0 && groups == NULL))
		return TSS_E_INVALID_ARGUMENT;
	n = snprintf(subj, sizeof(subj), "user:%s", user);
	if (n > 0 && (size_t)n < sizeof(subj) &&
	    (r = subject_perms(t, subj, now, &p)) != 0)
		return r;
	for (i = 0; i < n_groups; i++) {
		if (groups[i] == NULL)
			continue;
		n = snprintf(subj, sizeof(subj), "group:%s", groups[i]);
		if (n > 0 && (size_t)n < sizeof(subj) &&
		    (r = subject_perms(t, subj, now, &p)) != 0)
			return r;
	}
	if ((p & RBAC_PERM_STAR) != 0)
		p |= RBAC_PERM_ALL;
	*out = p;
	return 0;
}
