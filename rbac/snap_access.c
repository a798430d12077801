/*
 * Everything a user reaches (rbac_access) and the certificate grants
 * made from it (rbac_grant, rbac_me_json).
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

/* ---- access listing ---- */

struct acc {
	uint32_t ti;
	uint32_t last_role;
	uint32_t *logins;
	size_t nlog, caplog;
	struct comb c;
};

struct accset {
	const struct rbac_snap *s;
	uint32_t *map;		/* target index -> entry or NONE */
	struct acc *e;
	size_t n, cap;
	uint32_t role;		/* being visited */
	int64_t exp;		/* its earliest active binding's expiry */
	const struct rule *rule;
};

/* A role of the user's active bindings, with the earliest expiry among
 * the bindings to it. */
struct rexp {
	uint32_t role;
	int64_t exp;
};

static int
acc_hit(struct accset *a, uint32_t ti, uint32_t role, const struct rule *ru)
{
	const struct rbac_snap *s = a->s;
	struct acc *e, *ne;
	uint32_t *nl;
	size_t i, j;

	if (a->map[ti] == NONE) {
		if (a->n == a->cap) {
			size_t ncap = a->cap == 0 ? 16 : a->cap * 2;

			if ((ne = mem_realloc(a->e, ncap * sizeof(*ne))) == NULL)
				return TSS_E_NOMEM;
			a->e = ne;
			a->cap = ncap;
		}
		e = &a->e[a->n];
		memset(e, 0, offsetof(struct acc, c) +
		    offsetof(struct comb, cidrs));
		e->ti = ti;
		e->last_role = NONE;
		a->map[ti] = (uint32_t)a->n++;
	}
	e = &a->e[a->map[ti]];
	if (e->last_role != role) {
		comb_role(s, &e->c, &s->roles[role]);
		comb_exp(&e->c, a->exp);
		e->last_role = role;
	}
	for (i = 0; i < ru->nlogins; i++) {
		uint32_t lid = s->logins[ru->login_first + i];

		for (j = 0; j < e->nlog && e->logins[j] != lid; j++)
			;
		if (j < e->nlog)
			continue;
		if (e->nlog == e->caplog) {
			size_t ncap = e->caplog == 0 ? 4 : e->caplog * 2;

			if ((nl = mem_realloc(e->logins,
			    ncap * sizeof(*nl))) == NULL)
				return TSS_E_NOMEM;
			e->logins = nl;
			e->caplog = ncap;
		}
		e->logins[e->nlog++] = lid;
	}
	return 0;
}

static int
acc_visit(void *ctx, uint32_t ti)
{
	struct accset *a = ctx;

	return acc_hit(a, ti, a->role, a->rule);
}

/* Every rule of role a->role that matches target ti. */
static int
role_hits(struct accset *a, uint32_t ti)
{
	const struct role *ro = &a->s->roles[a->role];
	uint32_t j;
	int r;

	for (j = 0; j < ro->nrules; j++) {
		a->rule = &a->s->rules[ro->rule_first + j];
		if (rule_matches(a->s, a->rule, ti) &&
		    (r = acc_hit(a, ti, a->role, a->rule)) != 0)
			return r;
	}
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
rexp_cmp(const void *a, const void *b)
{
	return u32_cmp(&((const struct rexp *)a)->role,
	    &((const struct rexp *)b)->role);
}

/* The expiry of role in the sorted, unique v. */
static int64_t
rexp_find(const struct rexp *v, size_t n, uint32_t role)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].role == role)
			return v[mid].exp;
		if (v[mid].role < role)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
acc_cmp(const void *a, const void *b)
{
	return u32_cmp(&((const struct acc *)a)->ti,
	    &((const struct acc *)b)->ti);
}

static int
cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
collect_roles(const struct rbac_snap *s, const struct htab *h,
    const char *name, int64_t now, struct rexp *roles, size_t *n, size_t cap)
{
	const struct sbind *b;
	uint32_t e, i;

	if (name == NULL || (e = ht_get(h, name, hash_str(name))) == NONE)
		return 0;
	b = &s->binds[s->subj[e].first];
	for (i = 0; i < s->subj[e].count; i++) {
		if (b[i].role == NONE || (b[i].expires_at != 0 &&
		    now >= b[i].expires_at))
			continue;
		if (*n == cap)
			return TSS_E_INTERNAL;
		roles[*n].role = b[i].role;
		roles[(*n)++].exp = b[i].expires_at;
	}
	return 0;
}

static size_t
subject_count(const struct rbac_snap *s, const struct htab *h,
    const char *name)
{
	uint32_t e;

	if (name == NULL || (e = ht_get(h, name, hash_str(name))) == NONE)
		return 0;
	return s->subj[e].count;
}

void
rbac_access_free(struct rbac_access *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++)
		free(a->entries[i].logins);
	free(a->entries);
	free(a->roles);
	free(a);
}

int
rbac_access(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, int64_t now,
    struct rbac_access **out)
{
	struct accset as = { 0 };
	struct rbac_access *res = NULL;
	struct rbac_access_entry *oe;
	struct rexp *roles = NULL;
	uint32_t ti, w;
	uint64_t *rmask = NULL, x;
	size_t i, j, nro = 0, cap, m;
	int r = TSS_E_NOMEM;

	*out = NULL;
	if (s == NULL || user == NULL || (n_groups > 0 && groups == NULL))
		return TSS_E_INVALID_ARGUMENT;
	as.s = s;
	cap = subject_count(s, &s->usertab, user);
	for (i = 0; i < n_groups; i++)
		cap += subject_count(s, &s->grouptab, groups[i]);
	if ((roles = mem_calloc(cap + 1, sizeof(*roles))) == NULL ||
	    (as.map = mem_malloc((s->ntg + 1) * sizeof(*as.map))) == NULL ||
	    (res = mem_calloc(1, sizeof(*res))) == NULL)
		goto out;
	memset(as.map, 0xff, (s->ntg + 1) * sizeof(*as.map));
	if ((r = collect_roles(s, &s->usertab, user, now, roles, &nro,
	    cap)) != 0)
		goto out;
	for (i = 0; i < n_groups; i++)
		if ((r = collect_roles(s, &s->grouptab, groups[i], now, roles,
		    &nro, cap)) != 0)
			goto out;
	qsort(roles, nro, sizeof(*roles), rexp_cmp);
	for (i = 0, m = 0; i < nro; i++) {
		if (m > 0 && roles[m - 1].role == roles[i].role) {
			if (roles[i].exp != 0 && (roles[m - 1].exp == 0 ||
			    roles[i].exp < roles[m - 1].exp))
				roles[m - 1].exp = roles[i].exp;
		} else
			roles[m++] = roles[i];
	}
	nro = m;
	r = TSS_E_NOMEM;
	if (s->reach != NULL) {
		/* Walk the targets; the reach rows name the roles to try. */
		if ((rmask = mem_calloc(s->rwords + 1, sizeof(*rmask))) == NULL)
			goto out;
		for (i = 0; i < nro; i++)
			rmask[roles[i].role >> 6] |= 1ULL <<
			    (roles[i].role & 63);
		for (ti = 0; ti < s->ntg; ti++) {
			const uint64_t *row = &s->reach[(size_t)ti * s->rwords];

			for (w = 0; w < s->rwords; w++) {
				for (x = row[w] & rmask[w]; x != 0; x &= x - 1) {
					as.role = w * 64 +
					    (uint32_t)__builtin_ctzll(x);
					as.exp = rexp_find(roles, nro,
					    as.role);
					if ((r = role_hits(&as, ti)) != 0)
						goto out;
				}
			}
		}
	} else {
		for (i = 0; i < nro; i++) {
			as.role = roles[i].role;
			as.exp = roles[i].exp;
			for (j = 0; j < s->roles[as.role].nrules; j++) {
				as.rule = &s->rules[s->roles[as.role].rule_first +
				    j];
				if ((r = snap_reach_visit(s, as.rule, acc_visit,
				    &as)) != 0)
					goto out;
			}
		}
	}
	if (as.n > 0)
		qsort(as.e, as.n, sizeof(*as.e), acc_cmp);
	if ((res->entries = mem_calloc(as.n + 1, sizeof(*res->entries))) == NULL ||
	    (res->roles = mem_calloc(nro + 1, sizeof(*res->roles))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < nro; i++)
		res->roles[i] = s->roles[roles[i].role].name;
	res->n_roles = nro;
	qsort(res->roles, nro, sizeof(*res->roles), cstr_cmp);
	for (i = 0; i < as.n; i++) {
		struct acc *e = &as.e[i];

		if (e->c.fc_conflict || (e->c.cidr_set && e->c.ncidr == 0))
			continue;
		oe = &res->entries[res->n];
		if ((oe->logins = mem_calloc(e->nlog + 1,
		    sizeof(*oe->logins))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		res->n++;
		oe->target = s->tg_name[e->ti];
		for (j = 0; j < e->nlog; j++)
			oe->logins[j] = s->strs[e->logins[j]];
		oe->n_logins = e->nlog;
		qsort(oe->logins, oe->n_logins, sizeof(*oe->logins),
		    cstr_cmp);
		oe->max_ttl = cap_ttl(s, e->c.ttl);
		oe->extensions = e->c.ext;
		oe->force_command = e->c.fc;
		oe->expires_at = e->c.exp;
		oe->n_cidrs = e->c.ncidr;
		memcpy(oe->cidrs, e->c.cidrs, e->c.ncidr * sizeof(*oe->cidrs));
	}
	*out = res;
	res = NULL;
	r = 0;
 out:
	for (i = 0; i < as.n; i++)
		free(as.e[i].logins);
	free(as.e);
	free(as.map);
	free(roles);
	free(rmask);
	rbac_access_free(res);
	return r;
}

/* ---- certificate grants ---- */

void
rbac_grant_clear(struct rbac_grant *g)
{
	size_t i;

	if (g == NULL)
		return;
	if (g->principals != NULL) {
		for (i = 0; i < g->n; i++)
			free(g->principals[i]);
		free(g->principals);
	}
	memset(g, 0, sizeof(*g));
}

int
rbac_grant(const struct rbac_access *a, const char *target,
    const char *login, struct rbac_grant *g)
{
	struct rbac_cidr tmp[RBAC_CIDRS_MAX];
	const struct rbac_access_entry *e;
	size_t i, j, len;
	int any = 0, cidr_set = 0, r = TSS_E_INTERNAL;
	char *p;

	memset(g, 0, sizeof(*g));
	if (a == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((g->principals = mem_calloc(RBAC_PRINCIPALS_MAX,
	    sizeof(*g->principals))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < a->n; i++) {
		e = &a->entries[i];
		if (target != NULL && strcmp(target, e->target) != 0)
			continue;
		for (j = 0; j < e->n_logins; j++) {
			if (login != NULL && strcmp(login, e->logins[j]) != 0)
				continue;
			if (g->n == RBAC_PRINCIPALS_MAX) {
				r = TSS_E_TOO_MANY;
				goto out;
			}
			len = strlen(e->logins[j]) + 1 + strlen(e->target) + 1;
			if ((p = mem_malloc(len)) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
			(void)snprintf(p, len, "%s@%s", e->logins[j],
			    e->target);
			g->principals[g->n++] = p;
			if (!any) {
				any = 1;
				g->max_ttl = e->max_ttl;
				g->extensions = e->extensions;
				g->force_command = e->force_command;
				g->expires_at = e->expires_at;
			} else {
				if (e->expires_at != 0 && (g->expires_at == 0 ||
				    e->expires_at < g->expires_at))
					g->expires_at = e->expires_at;
				if (e->max_ttl < g->max_ttl)
					g->max_ttl = e->max_ttl;
				g->extensions &= e->extensions;
				if (e->force_command != NULL) {
					if (g->force_command == NULL)
						g->force_command =
						    e->force_command;
					else if (strcmp(g->force_command,
					    e->force_command) != 0) {
						r = TSS_E_FORBIDDEN;
						goto out;
					}
				}
			}
			if (e->n_cidrs > 0) {
				if (!cidr_set) {
					memcpy(g->cidrs, e->cidrs,
					    e->n_cidrs * sizeof(*tmp));
					g->n_cidrs = e->n_cidrs;
					cidr_set = 1;
				} else {
					g->n_cidrs = rbac__cidr_intersect(
					    g->cidrs, g->n_cidrs, e->cidrs,
					    e->n_cidrs, tmp);
					memcpy(g->cidrs, tmp,
					    g->n_cidrs * sizeof(*tmp));
					if (g->n_cidrs == 0) {
						r = TSS_E_FORBIDDEN;
						goto out;
					}
				}
			}
		}
	}
	if (!any) {
		r = TSS_E_FORBIDDEN;
		goto out;
	}
	return 0;
 out:
	rbac_grant_clear(g);
	return r;
}

int
rbac_me_json(const struct rbac_access *a, json_t **out)
{
	json_t *o = NULL, *roles, *acc, *e, *logins;
	int64_t ttl = 0;
	size_t i, j;
	int bad = 0;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return TSS_E_NOMEM;
	bad |= json_object_set_new(o, "roles", roles = json_array());
	bad |= json_object_set_new(o, "access", acc = json_array());
	if (bad)
		goto fail;
	for (i = 0; i < a->n_roles; i++)
		bad |= json_array_append_new(roles,
		    json_string(a->roles[i]));
	for (i = 0; i < a->n; i++) {
		if ((e = json_object()) == NULL ||
		    json_array_append_new(acc, e) != 0)
			goto fail;
		bad |= json_object_set_new(e, "target",
		    json_string(a->entries[i].target));
		/* A set that fails frees logins: not touched after. */
		if ((logins = json_array()) == NULL ||
		    json_object_set_new(e, "logins", logins) != 0)
			goto fail;
		for (j = 0; j < a->entries[i].n_logins; j++)
			bad |= json_array_append_new(logins,
			    json_string(a->entries[i].logins[j]));
		bad |= json_object_set_new(e, "max_ttl",
		    json_integer(a->entries[i].max_ttl));
		if (i == 0 || a->entries[i].max_ttl < ttl)
			ttl = a->entries[i].max_ttl;
	}
	bad |= json_object_set_new(o, "max_ttl",
	    a->n > 0 ? json_integer(ttl) : json_null());
	if (bad)
		goto fail;
	*out = o;
	return 0;
 fail:
	json_decref(o);
	return TSS_E_NOMEM;
}
