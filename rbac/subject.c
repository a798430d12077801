/*
 * Bindings of a subject that is going away.  A deleted user's bindings
 * must go with the account in the same transaction: left behind, they
 * would grant their access to the next account created with that name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "audit/audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/store.h"

/* Index keys are the subject, a NUL, then the binding id (be64). */
#define SUBJ_PREFIX_MAX	(6 + RBAC_SUBJECT_NAME_MAX + 1)

/* Remove binding b (as listed: its JSON is the event's "before"), record
 * and index entry, and audit it. */
static int
drop_one(struct store_txn *t, const uint8_t *pre, size_t pl, json_t *b,
    const struct audit_actor *by, int64_t now)
{
	json_t *fields = NULL;
	uint8_t k[8], sk[SUBJ_PREFIX_MAX + 8];
	char obj[24];
	uint64_t id, gen;
	int r;

	id = (uint64_t)json_integer_value(json_object_get(b, "id"));
	buf_poke_u64(k, id);
	memcpy(sk, pre, pl);
	buf_poke_u64(sk + pl, id);
	if ((r = store_del(t, STORE_DB_BINDINGS, k, sizeof(k))) != 0 ||
	    (r = store_del(t, STORE_DB_BINDINGS_BY_SUBJ, sk, pl + 8)) != 0 ||
	    (r = store_counter_next(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	r = TSS_E_NOMEM;
	if ((fields = json_pack("{s:O, s:n, s:I, s:s}", "before", b, "after",
	    "policy_generation", (json_int_t)gen, "reason",
	    "subject deleted")) == NULL)
		goto out;
	(void)snprintf(obj, sizeof(obj), "%llu", (unsigned long long)id);
	r = audit_record(t, by, "binding.delete", obj, "ok", fields, now,
	    NULL);
 out:
	json_decref(fields);
	return r;
}

int
rbac_bindings_delete_subject(struct store_txn *t, const char *subject,
    const struct audit_actor *by, int64_t now, size_t *n)
{
	uint8_t pre[SUBJ_PREFIX_MAX];
	json_t *list = NULL;
	size_t i, pl;
	int r;

	if (n != NULL)
		*n = 0;
	if (t == NULL || subject == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((pl = strlen(subject)) + 1 > sizeof(pre))
		return TSS_E_VALIDATION;
	memcpy(pre, subject, pl + 1);
	pl++;
	/* The subject's bindings, found through the index. */
	if ((r = rbac_bindings_json(t, subject, &list)) != 0)
		goto out;
	for (i = 0; i < json_array_size(list); i++)
		if ((r = drop_one(t, pre, pl, json_array_get(list, i), by,
		    now)) != 0)
			goto out;
	if (n != NULL)
		*n = json_array_size(list);
	r = 0;
 out:
	json_decref(list);
	return r;
}
