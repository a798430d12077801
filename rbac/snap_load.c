/*
 * Loading a snapshot from the store: targets, roles and bindings read in
 * one read transaction, so one committed generation.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"

/* ---- loading from the store ---- */

struct vec {
	void **v;
	size_t n, cap;
};

static int
vec_push(struct vec *v, void *p)
{
	void **nv;
	size_t ncap;

	if (v->n == v->cap) {
		ncap = v->cap == 0 ? 256 : v->cap * 2;
		if ((nv = mem_realloc(v->v, ncap * sizeof(*nv))) == NULL)
			return TSS_E_NOMEM;
		v->v = nv;
		v->cap = ncap;
	}
	v->v[v->n++] = p;
	return 0;
}

int
rbac_snap_load(struct store_txn *t, int64_t cert_max_ttl,
    struct rbac_snap **out)
{
	struct vec tv = { 0 }, rv = { 0 }, bv = { 0 };
	struct store_cursor *c = NULL;
	struct rbac_target *tg;
	struct rbac_role *ro;
	struct rbac_binding *bi;
	const void *k, *val;
	size_t kl, vl, i;
	uint64_t gen = 0;
	int r = TSS_E_INTERNAL, rr;

	*out = NULL;
	if ((r = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	/*
	 * Bad records are skipped: leaving one out only ever narrows.  One
	 * that could not be decoded for want of memory is not bad, and a
	 * snapshot without it would be published for its generation: fail.
	 */
	if ((r = store_cursor_open(t, STORE_DB_TARGETS, &c)) != 0)
		goto out;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if ((r = rbac__target_decode(k, kl, val, vl, &tg)) != 0) {
			if (r == TSS_E_NOMEM)
				goto out;
			log_warn("rbac: skipping a bad target record");
			continue;
		}
		if ((r = vec_push(&tv, tg)) != 0) {
			rbac_target_free(tg);
			goto out;
		}
	}
	if ((r = rr) != TSS_E_NOT_FOUND)
		goto out;
	store_cursor_close(c);
	c = NULL;
	if ((r = store_cursor_open(t, STORE_DB_ROLES, &c)) != 0)
		goto out;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if ((r = rbac__role_decode(k, kl, val, vl, &ro)) != 0) {
			if (r == TSS_E_NOMEM)
				goto out;
			log_warn("rbac: skipping a bad role record");
			continue;
		}
		if ((r = vec_push(&rv, ro)) != 0) {
			rbac_role_free(ro);
			goto out;
		}
	}
	if ((r = rr) != TSS_E_NOT_FOUND)
		goto out;
	store_cursor_close(c);
	c = NULL;
	if ((r = store_cursor_open(t, STORE_DB_BINDINGS, &c)) != 0)
		goto out;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if (kl != 8 || (r = rbac__binding_decode(buf_peek_u64(k), val,
		    vl, &bi)) != 0) {
			if (kl == 8 && r == TSS_E_NOMEM)
				goto out;
			log_warn("rbac: skipping a bad binding record");
			continue;
		}
		if ((r = vec_push(&bv, bi)) != 0) {
			rbac_binding_free(bi);
			goto out;
		}
	}
	if ((r = rr) != TSS_E_NOT_FOUND)
		goto out;
	r = rbac_snap_compile((const struct rbac_target *const *)tv.v, tv.n,
	    (const struct rbac_role *const *)rv.v, rv.n,
	    (const struct rbac_binding *const *)bv.v, bv.n, gen, cert_max_ttl,
	    out);
 out:
	store_cursor_close(c);
	for (i = 0; i < tv.n; i++)
		rbac_target_free(tv.v[i]);
	for (i = 0; i < rv.n; i++)
		rbac_role_free(rv.v[i]);
	for (i = 0; i < bv.n; i++)
		rbac_binding_free(bv.v[i]);
	free(tv.v);
	free(rv.v);
	free(bv.v);
	return r;
}
