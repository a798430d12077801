/*
 * routes: gateways report the targets running on their nodes; a route
 * without hosts or gateway of its own goes through the one that reported
 * it last (see routes.h).  Record: 'R' v1, reported_at (u64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "broker.h"
#include "commit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "hosts.h"
#include "rbac/rbac.h"
#include "routes.h"
#include "store/record.h"
#include "store/store.h"

#define KEY_ROUTE	"route."
#define KEY_ROUTE_LEN	(sizeof(KEY_ROUTE) - 1)
#define KEY_ROUTE_MAX	(KEY_ROUTE_LEN + 2 * RBAC_NAME_MAX + 2)
#define REC_ROUTE	'R'
#define REC_ROUTE_V	1

/* One record's key split: target and gateway point into name[]. */
struct route_key {
	char name[2 * RBAC_NAME_MAX + 2];
	const char *target, *gateway;
};

static int
key_split(const void *k, size_t kl, struct route_key *rk)
{
	const char *p = (const char *)k + KEY_ROUTE_LEN, *nul;
	size_t n = kl - KEY_ROUTE_LEN;

	if (kl <= KEY_ROUTE_LEN || memcmp(k, KEY_ROUTE, KEY_ROUTE_LEN) != 0 ||
	    n >= sizeof(rk->name) || (nul = memchr(p, '\0', n)) == NULL ||
	    nul == p || nul == p + n - 1)
		return TSS_E_BAD_FORMAT;
	memcpy(rk->name, p, n);
	rk->name[n] = '\0';
	rk->target = rk->name;
	rk->gateway = rk->name + (nul - p) + 1;
	return 0;
}

static size_t
key_make(char key[KEY_ROUTE_MAX], const char *target, const char *gateway)
{
	size_t a = strlen(target), g = strlen(gateway);

	memcpy(key, KEY_ROUTE, KEY_ROUTE_LEN);
	memcpy(key + KEY_ROUTE_LEN, target, a + 1);
	memcpy(key + KEY_ROUTE_LEN + a + 1, gateway, g);
	return KEY_ROUTE_LEN + a + 1 + g;
}

static int
rec_time(const void *v, size_t vl, int64_t *at)
{
	struct buf *view = NULL;
	uint64_t t = 0;
	uint8_t ver;
	int r;

	if ((r = rec_open(v, vl, REC_ROUTE, REC_ROUTE_V, &view, &ver)) == 0)
		r = buf_get_u64(view, &t);
	buf_free(view);
	*at = (int64_t)t;
	return r;
}

/*
 * Walk the records whose key starts with KEY_ROUTE + prefix (plen bytes):
 * fn decides for each whether it goes (1) or stays (0).
 */
typedef int (*route_fn)(const struct route_key *, int64_t at, void *arg);

static int
walk(struct store_txn *t, const char *prefix, size_t plen, route_fn fn,
    void *arg)
{
	struct store_cursor *cur = NULL;
	struct route_key rk;
	char key[KEY_ROUTE_MAX];
	const void *k, *v;
	size_t kl, vl;
	int64_t at;
	int r;

	if (plen > KEY_ROUTE_MAX - KEY_ROUTE_LEN)
		return TSS_E_INTERNAL;
	memcpy(key, KEY_ROUTE, KEY_ROUTE_LEN);
	memcpy(key + KEY_ROUTE_LEN, prefix, plen);
	if ((r = store_cursor_open(t, STORE_DB_META, &cur)) != 0)
		return r;
	for (r = store_cursor_seek(cur, key, KEY_ROUTE_LEN + plen, &k, &kl,
	    &v, &vl); r == 0 && kl >= KEY_ROUTE_LEN + plen &&
	    memcmp(k, key, KEY_ROUTE_LEN + plen) == 0;
	    r = store_cursor_next(cur, &k, &kl, &v, &vl)) {
		if ((r = key_split(k, kl, &rk)) != 0 ||
		    (r = rec_time(v, vl, &at)) != 0 ||
		    (r = fn(&rk, at, arg)) < 0)
			break;
		if (r == 1 && (r = store_cursor_del(cur)) != 0)
			break;
	}
	store_cursor_close(cur);
	return r == TSS_E_NOT_FOUND ? 0 : r;
}

/* ---- reports ---- */

struct report_op {
	const char *credential;
	const char *const *targets;
	size_t n;
	const char *remote_addr, *request_id;
	int64_t now;
	char *gateway;		/* the reporting target; remade per run */
	unsigned char *had;	/* targets[i] was recorded before */
	int changed;
	json_t *out;
};

/* Old records go; this gateway's records of names it no longer reports
 * go too (a change). */
static int
report_sweep(const struct route_key *rk, int64_t at, void *arg)
{
	struct report_op *op = arg;
	size_t i;

	if (strcmp(rk->gateway, op->gateway) != 0)
		return at + ROUTES_TTL <= op->now;
	for (i = 0; i < op->n; i++)
		if (strcmp(op->targets[i], rk->target) == 0) {
			op->had[i] = at + ROUTES_TTL > op->now;
			return !op->had[i];
		}
	op->changed = 1;
	return 1;
}

static int
report_fn(struct store_txn *t, void *arg)
{
	struct report_op *op = arg;
	char actor[RBAC_NAME_MAX + 8], object[RBAC_NAME_MAX + 16];
	char key[KEY_ROUTE_MAX];
	struct audit_actor by = { actor, op->remote_addr, op->request_id };
	struct rbac_target *tg = NULL;
	json_t *kept = NULL, *unknown = NULL;
	struct buf *b = NULL;
	json_t *f = NULL;
	size_t i;
	int r;

	free(op->gateway);
	op->gateway = NULL;
	op->changed = 0;
	json_decref(op->out);
	op->out = NULL;
	memset(op->had, 0, op->n);
	if ((r = hosts_cred_target(t, op->credential, op->now,
	    &op->gateway)) != 0 ||
	    (r = walk(t, "", 0, report_sweep, op)) != 0)
		return r;
	r = TSS_E_NOMEM;
	if ((kept = json_array()) == NULL || (unknown = json_array()) == NULL ||
	    (b = buf_new()) == NULL)
		goto out;
	for (i = 0; i < op->n; i++) {
		if ((r = rbac_target_get(t, op->targets[i], &tg)) != 0 &&
		    r != TSS_E_NOT_FOUND)
			goto out;
		rbac_target_free(tg);
		tg = NULL;
		if (json_array_append_new(r == 0 ? kept : unknown,
		    json_string(op->targets[i])) != 0) {
			r = TSS_E_NOMEM;
			goto out;
		}
		if (r != 0)
			continue;
		op->changed |= !op->had[i];
		buf_reset(b);
		if ((r = rec_begin(b, REC_ROUTE, REC_ROUTE_V)) != 0 ||
		    (r = buf_put_u64(b, (uint64_t)op->now)) != 0 ||
		    (r = store_put(t, STORE_DB_META, key, key_make(key,
		    op->targets[i], op->gateway), buf_ptr(b), buf_len(b),
		    0)) != 0)
			goto out;
	}
	snprintf(actor, sizeof(actor), "host:%s", op->gateway);
	snprintf(object, sizeof(object), "target:%s", op->gateway);
	if (op->changed && ((f = json_pack("{s:O}", "targets", kept)) == NULL ||
	    (r = audit_record(t, &by, "host.routes", object, "ok", f, op->now,
	    NULL)) != 0)) {
		r = f == NULL ? TSS_E_NOMEM : r;
		goto out;
	}
	r = (op->out = json_pack("{s:s, s:O, s:O}", "gateway", op->gateway,
	    "targets", kept, "unknown", unknown)) != NULL ? 0 : TSS_E_NOMEM;
 out:
	json_decref(f);
	json_decref(kept);
	json_decref(unknown);
	buf_free(b);
	return r;
}

int
routes_report(struct broker *b, const char *credential,
    const char *const *targets, size_t n, const char *remote_addr,
    const char *request_id, int64_t now, json_t **out, char *errmsg,
    size_t len)
{
	struct report_op op = { .credential = credential, .targets = targets,
	    .n = n, .remote_addr = remote_addr, .request_id = request_id,
	    .now = now };
	int r;

	*out = NULL;
	if (n > ROUTES_MAX) {
		snprintf(errmsg, len, "targets: at most %d names", ROUTES_MAX);
		return TSS_E_VALIDATION;
	}
	if ((op.had = mem_calloc(n + 1, 1)) == NULL)
		return TSS_E_NOMEM;
	if ((r = commit_run(b->commits, report_fn, &op)) == 0) {
		*out = op.out;
		op.out = NULL;
	} else if (r == TSS_E_INVALID_CREDENTIALS)
		snprintf(errmsg, len, HOSTS_BAD_SECRET);
	json_decref(op.out);
	free(op.gateway);
	free(op.had);
	return r;
}

/* ---- routes ---- */

struct find_op {
	int64_t now;
	char first[RBAC_NAME_MAX + 1], second[RBAC_NAME_MAX + 1];
	int64_t at;
	size_t n;
};

static int
find_fresh(const struct route_key *rk, int64_t at, void *arg)
{
	struct find_op *op = arg;

	if (at + ROUTES_TTL <= op->now)
		return 0;
	if (op->n++ == 0 || at > op->at) {
		if (op->n > 1)
			snprintf(op->second, sizeof(op->second), "%s",
			    op->first);
		snprintf(op->first, sizeof(op->first), "%s", rk->gateway);
		op->at = at;
	} else
		snprintf(op->second, sizeof(op->second), "%s", rk->gateway);
	return 0;
}

int
routes_gateway(struct store_txn *t, const char *target, int64_t now,
    char **gw, char *errmsg, size_t len)
{
	struct find_op op;
	struct rbac_target *g = NULL;
	const char *h;
	int r;

	*gw = NULL;
	memset(&op, 0, sizeof(op));
	op.now = now;
	if ((r = walk(t, target, strlen(target) + 1, find_fresh, &op)) != 0)
		return r;
	if (op.n > 1) {
		snprintf(errmsg, len, "%s runs behind more than one gateway "
		    "(%s and %s): set its gateway, or run one replica",
		    target, op.first, op.second);
		return TSS_E_CONFLICT;
	}
	if (op.n == 0)
		return 0;
	if ((r = rbac_target_get(t, op.first, &g)) != 0)
		return r == TSS_E_NOT_FOUND ? 0 : r;
	if (g->n_hosts > 0) {
		h = g->hosts[0];
		if ((strchr(h, ':') != NULL ? mem_asprintf(gw, "[%s]:%u", h,
		    g->port != 0 ? g->port : 22) : mem_asprintf(gw, "%s:%u", h,
		    g->port != 0 ? g->port : 22)) < 0) {
			*gw = NULL;
			r = TSS_E_NOMEM;
		}
	}
	rbac_target_free(g);
	return r;
}

/* ---- deletion ---- */

struct gone_op {
	const char *name;
};

static int
gone_fn(const struct route_key *rk, int64_t at, void *arg)
{
	const struct gone_op *op = arg;

	(void)at;
	return strcmp(rk->target, op->name) == 0 ||
	    strcmp(rk->gateway, op->name) == 0;
}

int
routes_target_gone(struct store_txn *t, const char *name)
{
	struct gone_op op = { name };

	return walk(t, "", 0, gone_fn, &op);
}
