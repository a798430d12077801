/*
 * The compiled policy snapshot and the decision.
 *
 * A snapshot is built once per policy generation: every string a decision
 * compares (target segments, logins, label keys and values, glob literals)
 * is interned to a dense id, globs are pre-split into segment ids (a glob
 * without wildcards is resolved to its target index outright), target
 * labels and selectors are sorted by key id, role address lists are
 * normalized, and bindings are grouped by subject behind two hash tables
 * (users, groups).  Two filters keep a decision off the memory of roles
 * that cannot grant: each binding carries its role's login mask, and each
 * target has a bitmap of the roles whose rules may match it ("reach",
 * computed here from name prefixes, segment and label postings).  Filters
 * only skip; the rules always decide.  A decision is then a handful of
 * hash lookups and integer compares on memory nobody writes: no
 * allocation, no parsing, no lock.
 *
 * The holder (struct rbac) publishes the current snapshot behind a
 * rwlock held only to load or swap the pointer and take a reference;
 * rebuilds are serialized by a mutex and read the store in one read
 * transaction, so a snapshot is always one committed generation.
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

/* ---- hashing and tables ---- */



void *
snap_alloc(struct rbac_snap *s, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / size)
		return NULL;
	if ((p = mem_calloc(n, size)) != NULL)
		s->mem += n * size;
	return p;
}

static int
ht_init(struct rbac_snap *s, struct htab *h, size_t n, const void *base,
    size_t stride, const uint32_t *hashes)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	if ((h->slots = snap_alloc(s, cap, sizeof(*h->slots))) == NULL)
		return TSS_E_NOMEM;
	h->mask = (uint32_t)(cap - 1);
	h->base = base;
	h->stride = stride;
	h->hashes = hashes;
	return 0;
}




static void
ht_put(struct htab *h, uint32_t idx)
{
	uint32_t i = h->hashes[idx] & h->mask;

	while (h->slots[i] != 0)
		i = (i + 1) & h->mask;
	h->slots[i] = (uint64_t)h->hashes[idx] << 32 | (idx + 1);
}

static char *
arena_strndup(struct rbac_snap *s, const char *p, size_t n)
{
	struct chunk *c = s->arena;
	size_t sz;
	char *d;

	if (c == NULL || c->size - c->used < n + 1) {
		sz = n + 1 > 65536 ? n + 1 : 65536;
		if ((c = mem_malloc(sizeof(*c) + sz)) == NULL)
			return NULL;
		c->next = s->arena;
		c->used = 0;
		c->size = sz;
		s->arena = c;
		s->mem += sizeof(*c) + sz;
	}
	d = c->data + c->used;
	memcpy(d, p, n);
	d[n] = '\0';
	c->used += n + 1;
	return d;
}

/* Intern table: grows by rebuilding (compile time only). */
static int
str_grow(struct rbac_snap *s)
{
	uint32_t ncap = s->strcap == 0 ? 1024 : s->strcap * 2, i;
	const char **ns;
	uint32_t *nh;
	uint16_t *nl;

	ns = mem_realloc(s->strs, ncap * sizeof(*ns));
	if (ns == NULL)
		return TSS_E_NOMEM;
	s->strs = ns;
	nh = mem_realloc(s->str_hash, ncap * sizeof(*nh));
	if (nh == NULL)
		return TSS_E_NOMEM;
	s->str_hash = nh;
	nl = mem_realloc(s->str_len, ncap * sizeof(*nl));
	if (nl == NULL)
		return TSS_E_NOMEM;
	s->str_len = nl;
	s->mem += (size_t)(ncap - s->strcap) * (sizeof(*ns) + sizeof(*nh) +
	    sizeof(*nl));
	s->strcap = ncap;
	if (s->strtab.slots != NULL)
		s->mem -= ((size_t)s->strtab.mask + 1) * sizeof(uint64_t);
	free(s->strtab.slots);
	s->strtab.slots = NULL;
	if (ht_init(s, &s->strtab, ncap, s->strs, sizeof(*s->strs),
	    s->str_hash) != 0)
		return TSS_E_NOMEM;
	for (i = 0; i < s->nstr; i++)
		ht_put(&s->strtab, i);
	return 0;
}

static int
intern(struct rbac_snap *s, const char *p, size_t n, uint32_t *id)
{
	uint32_t hv = hash_mem(p, n), i, e;
	char *d;

	if (s->strtab.slots != NULL) {
		i = hv & s->strtab.mask;
		while (s->strtab.slots[i] != 0) {
			e = (uint32_t)s->strtab.slots[i] - 1;
			if (s->str_hash[e] == hv && s->str_len[e] == n &&
			    memcmp(s->strs[e], p, n) == 0) {
				*id = e;
				return 0;
			}
			i = (i + 1) & s->strtab.mask;
		}
	}
	if (n > UINT16_MAX)
		return TSS_E_TOO_LONG;
	if (s->nstr == s->strcap && str_grow(s) != 0)
		return TSS_E_NOMEM;
	if ((d = arena_strndup(s, p, n)) == NULL)
		return TSS_E_NOMEM;
	e = s->nstr++;
	s->strs[e] = d;
	s->str_hash[e] = hv;
	s->str_len[e] = (uint16_t)n;
	ht_put(&s->strtab, e);
	*id = e;
	return 0;
}

/* ---- lifetime ---- */

static void
snap_free(struct rbac_snap *s)
{
	struct chunk *c, *n;

	if (s == NULL)
		return;
	for (c = s->arena; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(s->strs);
	free(s->str_hash);
	free(s->str_len);
	free(s->strtab.slots);
	free(s->tg);
	free(s->tg_name);
	free(s->tg_hash);
	free(s->tgtab.slots);
	free(s->tsegs);
	free(s->tlabels);
	free(s->lposts);
	free(s->sposts);
	free(s->roles);
	free(s->rules);
	free(s->globs);
	free(s->gsegs);
	free(s->sels);
	free(s->logins);
	free(s->cidrs);
	free(s->binds);
	free(s->bind_ids);
	free(s->reach);
	free(s->subj);
	free(s->subj_hash);
	free(s->usertab.slots);
	free(s->grouptab.slots);
	free(s);
}

void
rbac_snap_release(struct rbac_snap *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snap_free(s);
}

struct rbac_snap *
snap_ref(struct rbac_snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

uint64_t
rbac_snap_generation(const struct rbac_snap *s)
{
	return s->gen;
}

size_t
rbac_snap_memory(const struct rbac_snap *s)
{
	return s->mem + sizeof(*s);
}

/* ---- compile ---- */

static int
tptr_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct rbac_target *const *)a)->name,
	    (*(const struct rbac_target *const *)b)->name);
}

static int
rptr_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct rbac_role *const *)a)->name,
	    (*(const struct rbac_role *const *)b)->name);
}

static int
lpair_cmp(const void *a, const void *b)
{
	const struct lpair *x = a, *y = b;

	return x->k < y->k ? -1 : x->k > y->k;
}

struct bsort {
	const char *name;
	uint64_t id;
	int64_t expires_at;
	uint32_t role;
	uint8_t group;
};

static int
bsort_cmp(const void *a, const void *b)
{
	const struct bsort *x = a, *y = b;
	int d;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if ((d = strcmp(x->name, y->name)) != 0)
		return d;
	return x->id < y->id ? -1 : x->id > y->id;
}

static size_t
count_segs(const char *p)
{
	size_t n = 1;

	for (; *p != '\0'; p++)
		n += *p == '/';
	return n;
}

static int
labels_compile(struct rbac_snap *s, const struct rbac_label *l, size_t n,
    struct lpair *out)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if ((r = intern(s, l[i].key, strlen(l[i].key),
		    &out[i].k)) != 0 ||
		    (r = intern(s, l[i].value, strlen(l[i].value),
		    &out[i].v)) != 0)
			return r;
	}
	qsort(out, n, sizeof(*out), lpair_cmp);
	return 0;
}

static int
lpost_cmp(const void *a, const void *b)
{
	const struct lpost *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->ti < y->ti ? -1 : x->ti > y->ti;
}

static int
spost_cmp(const void *a, const void *b)
{
	const struct spost *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->ti < y->ti ? -1 : x->ti > y->ti;
}

static int
compile_targets(struct rbac_snap *s, const struct rbac_target *const *in,
    size_t nt)
{
	const struct rbac_target **v = NULL;
	size_t i, j, nseg = 0, nlab = 0, si = 0, li = 0;
	const char *p, *e;
	struct target *t;
	int r = TSS_E_NOMEM;

	if (nt >= NONE)
		return TSS_E_TOO_MANY;
	if ((v = mem_malloc((nt + 1) * sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	if (nt > 0)
		memcpy(v, in, nt * sizeof(*v));
	qsort(v, nt, sizeof(*v), tptr_cmp);
	for (i = 0; i < nt; i++) {
		if (i > 0 && strcmp(v[i - 1]->name, v[i]->name) == 0) {
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
		nseg += count_segs(v[i]->name);
		nlab += v[i]->n_labels;
	}
	if ((s->tg = snap_alloc(s, nt, sizeof(*s->tg))) == NULL ||
	    (s->tg_name = snap_alloc(s, nt, sizeof(*s->tg_name))) == NULL ||
	    (s->tg_hash = snap_alloc(s, nt, sizeof(*s->tg_hash))) == NULL ||
	    (s->tsegs = snap_alloc(s, nseg, sizeof(*s->tsegs))) == NULL ||
	    (s->tlabels = snap_alloc(s, nlab, sizeof(*s->tlabels))) == NULL)
		goto out;
	if ((r = ht_init(s, &s->tgtab, nt, s->tg_name, sizeof(*s->tg_name),
	    s->tg_hash)) != 0)
		goto out;
	for (i = 0; i < nt; i++) {
		t = &s->tg[i];
		if (v[i]->n_labels > RBAC_LABELS_MAX) {
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
		if ((s->tg_name[i] = arena_strndup(s, v[i]->name,
		    strlen(v[i]->name))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		s->tg_hash[i] = hash_str(v[i]->name);
		t->seg_first = (uint32_t)si;
		for (p = v[i]->name;; p = e + 1) {
			if ((e = strchr(p, '/')) == NULL)
				e = p + strlen(p);
			if ((r = intern(s, p, (size_t)(e - p),
			    &s->tsegs[si++])) != 0)
				goto out;
			t->nseg++;
			if (*e == '\0')
				break;
		}
		t->label_first = (uint32_t)li;
		t->nlabels = (uint16_t)v[i]->n_labels;
		if ((r = labels_compile(s, v[i]->labels, v[i]->n_labels,
		    &s->tlabels[li])) != 0)
			goto out;
		li += v[i]->n_labels;
		ht_put(&s->tgtab, (uint32_t)i);
		s->ntg++;
	}
	if ((s->lposts = snap_alloc(s, nlab, sizeof(*s->lposts))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < s->ntg; i++) {
		for (j = 0; j < s->tg[i].nlabels; j++) {
			struct lpost *lp = &s->lposts[s->nlposts++];

			lp->k = s->tlabels[s->tg[i].label_first + j].k;
			lp->v = s->tlabels[s->tg[i].label_first + j].v;
			lp->ti = (uint32_t)i;
		}
	}
	if (s->nlposts > 0)
		qsort(s->lposts, s->nlposts, sizeof(*s->lposts), lpost_cmp);
	if ((s->sposts = snap_alloc(s, nseg, sizeof(*s->sposts))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < s->ntg; i++) {
		for (j = 0; j < s->tg[i].nseg; j++) {
			struct spost *sp = &s->sposts[s->nsposts++];

			sp->pos = (uint32_t)j;
			sp->id = s->tsegs[s->tg[i].seg_first + j];
			sp->ti = (uint32_t)i;
		}
	}
	if (s->nsposts > 0)
		qsort(s->sposts, s->nsposts, sizeof(*s->sposts), spost_cmp);
	r = 0;
 out:
	free(v);
	return r;
}

static int
compile_glob(struct rbac_snap *s, const char *g, struct glob *out,
    size_t *gsi)
{
	const char *p, *e;
	struct gseg *sg;
	int r;

	memset(out, 0, sizeof(*out));
	out->seg_first = (uint32_t)*gsi;
	out->literal = strchr(g, '*') == NULL;
	out->target = NONE;
	if ((out->str = arena_strndup(s, g, strlen(g))) == NULL)
		return TSS_E_NOMEM;
	out->plen = (uint32_t)(out->literal ? strlen(g) :
	    (size_t)(strchr(g, '*') - g));
	if (out->literal) {
		out->target = ht_get(&s->tgtab, g, hash_str(g));
		return 0;
	}
	for (p = g;; p = e + 1) {
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		if (e - p == 2 && p[0] == '*' && p[1] == '*' && *e == '\0') {
			out->dstar = 1;
			break;
		}
		sg = &s->gsegs[(*gsi)++];
		if (e - p == 1 && p[0] == '*')
			sg->kind = SEG_STAR;
		else
			sg->kind = memchr(p, '*', (size_t)(e - p)) != NULL ?
			    SEG_PAT : SEG_LIT;
		if (sg->kind != SEG_STAR &&
		    (r = intern(s, p, (size_t)(e - p), &sg->id)) != 0)
			return r;
		out->nseg++;
		if (*e == '\0')
			break;
	}
	return 0;
}

static int
compile_roles(struct rbac_snap *s, const struct rbac_role *const *in,
    size_t nr, struct htab *rtab, const char ***rnames, uint32_t **rhash)
{
	const struct rbac_role **v = NULL;
	size_t i, j, k, nrules = 0, nglobs = 0, ngsegs = 0, nsel = 0;
	size_t nlog = 0, ncidr = 0, ri = 0, gi = 0, gsi = 0, sli = 0, li = 0;
	size_t ci = 0;
	struct role *ro;
	struct rule *ru;
	int r = TSS_E_NOMEM;

	if (nr >= NONE)
		return TSS_E_TOO_MANY;
	if ((v = mem_malloc((nr + 1) * sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	if (nr > 0)
		memcpy(v, in, nr * sizeof(*v));
	qsort(v, nr, sizeof(*v), rptr_cmp);
	for (i = 0; i < nr; i++) {
		if ((i > 0 && strcmp(v[i - 1]->name, v[i]->name) == 0) ||
		    v[i]->n_rules > RBAC_RULES_MAX ||
		    v[i]->n_source > RBAC_CIDRS_MAX) {
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
		nrules += v[i]->n_rules;
		ncidr += v[i]->n_source;
		for (j = 0; j < v[i]->n_rules; j++) {
			const struct rbac_rule *mr = &v[i]->rules[j];

			if (mr->n_targets > RBAC_GLOBS_MAX ||
			    mr->n_labels > RBAC_LABELS_MAX ||
			    mr->n_logins > RBAC_LOGINS_MAX) {
				r = TSS_E_INVALID_ARGUMENT;
				goto out;
			}
			nglobs += mr->n_targets;
			nsel += mr->n_labels;
			nlog += mr->n_logins;
			for (k = 0; k < mr->n_targets; k++)
				ngsegs += count_segs(mr->targets[k]);
		}
	}
	if ((s->roles = snap_alloc(s, nr, sizeof(*s->roles))) == NULL ||
	    (s->rules = snap_alloc(s, nrules, sizeof(*s->rules))) == NULL ||
	    (s->globs = snap_alloc(s, nglobs, sizeof(*s->globs))) == NULL ||
	    (s->gsegs = snap_alloc(s, ngsegs, sizeof(*s->gsegs))) == NULL ||
	    (s->sels = snap_alloc(s, nsel, sizeof(*s->sels))) == NULL ||
	    (s->logins = snap_alloc(s, nlog, sizeof(*s->logins))) == NULL ||
	    (s->cidrs = snap_alloc(s, ncidr, sizeof(*s->cidrs))) == NULL ||
	    (*rnames = mem_calloc(nr + 1, sizeof(**rnames))) == NULL ||
	    (*rhash = mem_calloc(nr + 1, sizeof(**rhash))) == NULL)
		goto out;
	if ((r = ht_init(s, rtab, nr, *rnames, sizeof(**rnames), *rhash)) != 0)
		goto out;
	for (i = 0; i < nr; i++) {
		const struct rbac_role *m = v[i];

		ro = &s->roles[i];
		if ((ro->name = arena_strndup(s, m->name,
		    strlen(m->name))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		(*rnames)[i] = ro->name;
		(*rhash)[i] = hash_str(ro->name);
		ht_put(rtab, (uint32_t)i);
		ro->max_ttl = m->max_ttl;
		ro->ext = m->extensions & RBAC_EXT_ALL;
		ro->perms = m->admin;
		if ((ro->perms & RBAC_PERM_STAR) != 0)
			ro->perms |= RBAC_PERM_ALL;
		ro->fc_id = NONE;
		if (m->force_command != NULL) {
			if ((r = intern(s, m->force_command,
			    strlen(m->force_command), &ro->fc_id)) != 0)
				goto out;
			ro->force_command = s->strs[ro->fc_id];
		}
		ro->cidr_first = (uint32_t)ci;
		for (j = 0; j < m->n_source; j++) {
			if ((r = rbac_cidr_parse(m->source_address[j],
			    &s->cidrs[ci + j])) != 0) {
				r = TSS_E_INVALID_ARGUMENT;
				goto out;
			}
		}
		ro->ncidr = (uint32_t)rbac__cidr_normalize(&s->cidrs[ci],
		    m->n_source);
		ci += ro->ncidr;
		ro->rule_first = (uint32_t)ri;
		ro->nrules = (uint32_t)m->n_rules;
		for (j = 0; j < m->n_rules; j++) {
			const struct rbac_rule *mr = &m->rules[j];

			ru = &s->rules[ri++];
			ru->glob_first = (uint32_t)gi;
			ru->nglobs = (uint16_t)mr->n_targets;
			ru->all_literal = 1;
			for (k = 0; k < mr->n_targets; k++) {
				if ((r = compile_glob(s, mr->targets[k],
				    &s->globs[gi], &gsi)) != 0)
					goto out;
				ru->all_literal &= s->globs[gi].literal;
				gi++;
			}
			ru->sel_first = (uint32_t)sli;
			ru->nsel = (uint16_t)mr->n_labels;
			if ((r = labels_compile(s, mr->labels, mr->n_labels,
			    &s->sels[sli])) != 0)
				goto out;
			sli += mr->n_labels;
			ru->login_first = (uint32_t)li;
			ru->nlogins = (uint16_t)mr->n_logins;
			for (k = 0; k < mr->n_logins; k++) {
				if ((r = intern(s, mr->logins[k],
				    strlen(mr->logins[k]),
				    &s->logins[li])) != 0)
					goto out;
				ru->login_mask |= 1U << (s->logins[li] & 31);
				li++;
			}
		}
		for (j = 0; j < ro->nrules; j++)
			ro->login_mask |= s->rules[ro->rule_first + j].login_mask;
		s->nroles++;
	}
	r = 0;
 out:
	free(v);
	return r;
}

static int
compile_bindings(struct rbac_snap *s, const struct rbac_binding *const *in,
    size_t nb, const struct htab *rtab)
{
	struct bsort *v = NULL;
	const char *name;
	size_t i, n = 0, nsubj = 0, si;
	uint8_t group;
	int r = TSS_E_NOMEM;

	if (nb >= NONE)
		return TSS_E_TOO_MANY;
	if ((v = mem_calloc(nb + 1, sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < nb; i++) {
		if (strncmp(in[i]->subject, "user:", 5) == 0) {
			name = in[i]->subject + 5;
			group = 0;
		} else if (strncmp(in[i]->subject, "group:", 6) == 0) {
			name = in[i]->subject + 6;
			group = 1;
		} else
			continue;	/* grants nothing */
		v[n].name = name;
		v[n].group = group;
		v[n].id = in[i]->id;
		v[n].expires_at = in[i]->expires_at;
		v[n].role = ht_get(rtab, in[i]->role, hash_str(in[i]->role));
		n++;
	}
	qsort(v, n, sizeof(*v), bsort_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || v[i - 1].group != v[i].group ||
		    strcmp(v[i - 1].name, v[i].name) != 0)
			nsubj++;
	if ((s->binds = snap_alloc(s, n, sizeof(*s->binds))) == NULL ||
	    (s->bind_ids = snap_alloc(s, n, sizeof(*s->bind_ids))) == NULL ||
	    (s->subj = snap_alloc(s, nsubj, sizeof(*s->subj))) == NULL ||
	    (s->subj_hash = snap_alloc(s, nsubj, sizeof(*s->subj_hash))) == NULL)
		goto out;
	si = 0;
	for (i = 0; i < n; i++) {
		if (i == 0 || v[i - 1].group != v[i].group ||
		    strcmp(v[i - 1].name, v[i].name) != 0) {
			if ((s->subj[si].name = arena_strndup(s, v[i].name,
			    strlen(v[i].name))) == NULL)
				goto out;
			s->subj_hash[si] = hash_str(v[i].name);
			s->subj[si].first = (uint32_t)i;
			if (v[i].group)
				s->ngroups++;
			else
				s->nusers++;
			si++;
		}
		s->subj[si - 1].count++;
		s->bind_ids[i] = v[i].id;
		s->binds[i].expires_at = v[i].expires_at;
		s->binds[i].role = v[i].role;
		if (v[i].role != NONE)
			s->binds[i].login_mask =
			    s->roles[v[i].role].login_mask;
	}
	s->nbinds = (uint32_t)n;
	/* Users come first (sorted by group flag). */
	if ((r = ht_init(s, &s->usertab, s->nusers, s->subj, sizeof(*s->subj),
	    s->subj_hash)) != 0 ||
	    (r = ht_init(s, &s->grouptab, s->ngroups, s->subj,
	    sizeof(*s->subj), s->subj_hash)) != 0)
		goto out;
	for (i = 0; i < si; i++)
		ht_put(i < s->nusers ? &s->usertab : &s->grouptab,
		    (uint32_t)i);
	r = 0;
 out:
	free(v);
	return r;
}

int
rbac_snap_compile(const struct rbac_target *const *targets, size_t nt,
    const struct rbac_role *const *roles, size_t nr,
    const struct rbac_binding *const *bindings, size_t nb,
    uint64_t generation, int64_t cert_max_ttl, struct rbac_snap **out)
{
	struct rbac_snap *s = NULL;
	struct htab rtab = { 0 };
	const char **rnames = NULL;
	uint32_t *rhash = NULL;
	size_t i;
	int r = TSS_E_NOMEM;

	*out = NULL;
	/* Model arrays from callers other than the store are checked too. */
	for (i = 0; i < nt; i++)
		if (targets[i] == NULL ||
		    rbac_target_validate(targets[i], NULL, 0) != 0)
			return TSS_E_INVALID_ARGUMENT;
	for (i = 0; i < nr; i++)
		if (roles[i] == NULL ||
		    rbac_role_validate(roles[i], NULL, 0) != 0)
			return TSS_E_INVALID_ARGUMENT;
	for (i = 0; i < nb; i++)
		if (bindings[i] == NULL || bindings[i]->role == NULL ||
		    rbac_valid_subject(bindings[i]->subject) != 0)
			return TSS_E_INVALID_ARGUMENT;
	if ((s = mem_calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	atomic_init(&s->refs, 1);
	s->gen = generation;
	s->cert_max_ttl = cert_max_ttl;
	if ((r = str_grow(s)) != 0 ||
	    (r = compile_targets(s, targets, nt)) != 0 ||
	    (r = compile_roles(s, roles, nr, &rtab, &rnames, &rhash)) != 0)
		goto out;
	if ((r = snap_reach_compile(s)) != 0 ||
	    (r = compile_bindings(s, bindings, nb, &rtab)) != 0)
		goto out;
	if (rtab.slots != NULL)
		s->mem -= ((size_t)rtab.mask + 1) * sizeof(uint64_t);
	*out = s;
	s = NULL;
	r = 0;
 out:
	free(rtab.slots);
	free(rnames);
	free(rhash);
	snap_free(s);
	return r;
}
