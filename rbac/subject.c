/*
 * Bindings of a subject that is going away.  A deleted user's bindings
 * must go with the account in the same transaction: left behind, they
 * would grant their access to the next account created with that name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/store.h"

/* Index keys are the subject, a NUL, then the binding id (be64). */
#define SUBJ_PREFIX_MAX	(6 + RBAC_SUBJECT_NAME_MAX + 1)
#define IDS_MAX		4096	/* bindings of one subject, a sanity cap */

/* The ids subject's index entries name; *ids allocated, caller frees. */
static int
ids_of(struct store_txn *t, const uint8_t *pre, size_t pl, uint64_t **ids,
    size_t *n)
{
	struct store_cursor *c = NULL;
	uint64_t *v = NULL, *nv;
	size_t kl, vl, cnt = 0, cap = 0;
	const void *k, *val;
	int r, rr;

	*ids = NULL;
	*n = 0;
	if ((r = store_cursor_open(t, STORE_DB_BINDINGS_BY_SUBJ, &c)) != 0)
		return r;
	for (rr = store_cursor_seek(c, pre, pl, &k, &kl, &val, &vl);
	    rr == 0 && kl == pl + 8 && memcmp(k, pre, pl) == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if (cnt == cap) {
			r = TSS_E_TOO_MANY;
			if (cap == IDS_MAX)
				goto out;
			cap = cap == 0 ? 8 : cap * 2;
			r = TSS_E_NOMEM;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		v[cnt++] = buf_peek_u64((const uint8_t *)k + pl);
	}
	if (rr != 0 && rr != TSS_E_NOT_FOUND) {
		r = rr;
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

/* Remove binding id (its record and index entry) and audit it. */
static int
drop_one(struct store_txn *t, const uint8_t *pre, size_t pl, uint64_t id,
    const char *actor, int64_t now)
{
	struct rbac_binding *old = NULL;
	struct audit_event ev;
	json_t *fields = NULL;
	uint8_t k[8], sk[SUBJ_PREFIX_MAX + 8];
	char obj[24];
	uint64_t gen, seq;
	int r;

	buf_poke_u64(k, id);
	memcpy(sk, pre, pl);
	buf_poke_u64(sk + pl, id);
	if ((r = rbac_binding_get(t, id, &old)) != 0) {
		/* An index entry without its record: drop the entry. */
		if (r == TSS_E_NOT_FOUND)
			r = store_del(t, STORE_DB_BINDINGS_BY_SUBJ, sk, pl + 8);
		goto out;
	}
	if ((r = store_del(t, STORE_DB_BINDINGS, k, sizeof(k))) != 0 ||
	    (r = store_del(t, STORE_DB_BINDINGS_BY_SUBJ, sk, pl + 8)) != 0 ||
	    (r = store_counter_next(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((fields = json_pack("{s:o, s:n, s:I, s:s}", "before",
	    rbac_binding_to_json(old), "after", "policy_generation",
	    (json_int_t)gen, "reason", "subject deleted")) == NULL)
		goto out;
	(void)snprintf(obj, sizeof(obj), "%llu", (unsigned long long)id);
	memset(&ev, 0, sizeof(ev));
	ev.actor = actor;
	ev.action = "binding.delete";
	ev.object = obj;
	ev.result = "ok";
	ev.fields = fields;
	r = audit_append(t, &ev, now, &seq);
 out:
	json_decref(fields);
	rbac_binding_free(old);
	return r;
}

int
rbac_bindings_delete_subject(struct store_txn *t, const char *subject,
    const char *actor, int64_t now, size_t *n)
{
	uint8_t pre[SUBJ_PREFIX_MAX];
	uint64_t *ids = NULL;
	size_t i, pl, cnt = 0;
	int r;

	if (n != NULL)
		*n = 0;
	if (t == NULL || subject == NULL || actor == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((pl = strlen(subject)) + 1 > sizeof(pre))
		return TSS_E_VALIDATION;
	memcpy(pre, subject, pl + 1);
	pl++;
	if ((r = ids_of(t, pre, pl, &ids, &cnt)) != 0)
		goto out;
	for (i = 0; i < cnt; i++)
		if ((r = drop_one(t, pre, pl, ids[i], actor, now)) != 0)
			goto out;
	if (n != NULL)
		*n = cnt;
	r = 0;
 out:
	free(ids);
	return r;
}
