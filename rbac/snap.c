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

#include "rbac_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "store/store.h"

#define NONE		UINT32_MAX

enum { SEG_LIT, SEG_STAR, SEG_PAT };

struct gseg {
	uint32_t id;
	uint32_t kind;
};

struct glob {
	const char *str;	/* the glob text */
	uint32_t plen;		/* literal prefix length (up to the first '*') */
	uint32_t seg_first;
	uint16_t nseg;		/* segments before a final "**" */
	uint8_t dstar;		/* ends in "**" */
	uint8_t literal;	/* no wildcard: compare target index */
	uint32_t target;	/* literal: the target's index or NONE */
};

struct rule {
	uint32_t glob_first;
	uint32_t sel_first;
	uint32_t login_first;
	uint16_t nglobs;
	uint16_t nsel;
	uint16_t nlogins;
	uint16_t all_literal;	/* every glob literal */
	uint32_t login_mask;	/* as struct sbind's, for this rule */
};

struct role {
	uint32_t login_mask;	/* see struct sbind */
	const char *name;
	const char *force_command;
	int64_t max_ttl;
	uint32_t fc_id;		/* interned force_command or NONE */
	uint32_t ext;
	uint32_t perms;
	uint32_t rule_first;
	uint32_t nrules;
	uint32_t cidr_first;
	uint32_t ncidr;
};

struct lpair {
	uint32_t k, v;
};

struct target {
	uint32_t seg_first;
	uint16_t nseg;
	uint16_t nlabels;
	uint32_t label_first;
};

/*
 * A binding as decisions see it (16 bytes, four to a cache line).  The
 * role's login mask is copied in, so a binding whose role grants no such
 * login is passed over without touching the role's memory; the mask is a
 * filter only (a set bit means "maybe"), the rules still decide.  The
 * binding id, needed only for a grant, lives in the parallel bind_ids.
 */
struct sbind {
	int64_t expires_at;
	uint32_t role;		/* NONE: role missing */
	uint32_t login_mask;	/* bit (login id % 32) per login granted */
};

/* Target index by label: (key, value, target) sorted. */
struct lpost {
	uint32_t k, v, ti;
};

/* Target index by segment: (position, segment id, target) sorted. */
struct spost {
	uint32_t pos, id, ti;
};

/*
 * Open addressing.  A slot holds the key's hash in its high half and the
 * entry index + 1 in its low half (0 is empty), so probing compares hashes
 * without touching the entries; only a hash match reads the name.  Names
 * are found at base + idx * stride (the first member of an entry).
 */
struct htab {
	uint64_t *slots;
	uint32_t mask;
	const char *base;
	size_t stride;
	const uint32_t *hashes;	/* build time: hash of entry idx */
};

/* A subject (user or group) and its run of bindings. */
struct subj {
	const char *name;
	uint32_t first;
	uint32_t count;
};

struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

struct rbac_snap {
	atomic_uint refs;
	uint64_t gen;
	int64_t cert_max_ttl;
	size_t mem;

	struct chunk *arena;

	/* interned strings */
	const char **strs;
	uint32_t *str_hash;
	uint16_t *str_len;
	uint32_t nstr, strcap;
	struct htab strtab;

	struct target *tg;
	const char **tg_name;
	uint32_t *tg_hash;
	uint32_t ntg;
	struct htab tgtab;
	uint32_t *tsegs;
	struct lpair *tlabels;
	struct lpost *lposts;
	uint32_t nlposts;
	struct spost *sposts;
	uint32_t nsposts;

	struct role *roles;
	uint32_t nroles;
	struct rule *rules;
	struct glob *globs;
	struct gseg *gsegs;
	struct lpair *sels;
	uint32_t *logins;
	struct rbac_cidr *cidrs;

	struct sbind *binds;
	uint64_t *bind_ids;
	/*
	 * Reach: per target, one bit per role whose rules may match it (exact
	 * for most roles; set for every target for roles too costly to
	 * enumerate).  NULL when ntg * nroles bits would exceed REACH_MAX: no
	 * target filtering then, only the rules.
	 */
	uint64_t *reach;
	uint32_t rwords;
	uint32_t nbinds;
	/* subjects: [0, nusers) users then groups */
	struct subj *subj;
	uint32_t *subj_hash;
	uint32_t nusers, ngroups;
	struct htab usertab, grouptab;
};

/* ---- hashing and tables ---- */

static uint32_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t
hash_mem(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static void *
salloc(struct rbac_snap *s, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / size)
		return NULL;
	if ((p = calloc(n, size)) != NULL)
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
	if ((h->slots = salloc(s, cap, sizeof(*h->slots))) == NULL)
		return TSS_E_NOMEM;
	h->mask = (uint32_t)(cap - 1);
	h->base = base;
	h->stride = stride;
	h->hashes = hashes;
	return 0;
}

static const char *
ht_name(const struct htab *h, uint32_t idx)
{
	const char *p;

	memcpy(&p, h->base + (size_t)idx * h->stride, sizeof(p));
	return p;
}

static uint32_t
ht_get(const struct htab *h, const char *key, uint32_t hv)
{
	uint32_t i = hv & h->mask, e;
	uint64_t sl;

	if (h->slots == NULL)
		return NONE;
	while ((sl = h->slots[i]) != 0) {
		e = (uint32_t)sl - 1;
		if ((uint32_t)(sl >> 32) == hv &&
		    strcmp(ht_name(h, e), key) == 0)
			return e;
		i = (i + 1) & h->mask;
	}
	return NONE;
}

static void
ht_prefetch(const struct htab *h, uint32_t hv)
{
	if (h->slots != NULL)
		__builtin_prefetch(&h->slots[hv & h->mask]);
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
		if ((c = malloc(sizeof(*c) + sz)) == NULL)
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

	ns = realloc(s->strs, ncap * sizeof(*ns));
	if (ns == NULL)
		return TSS_E_NOMEM;
	s->strs = ns;
	nh = realloc(s->str_hash, ncap * sizeof(*nh));
	if (nh == NULL)
		return TSS_E_NOMEM;
	s->str_hash = nh;
	nl = realloc(s->str_len, ncap * sizeof(*nl));
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

static struct rbac_snap *
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
	if ((v = malloc((nt + 1) * sizeof(*v))) == NULL)
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
	if ((s->tg = salloc(s, nt, sizeof(*s->tg))) == NULL ||
	    (s->tg_name = salloc(s, nt, sizeof(*s->tg_name))) == NULL ||
	    (s->tg_hash = salloc(s, nt, sizeof(*s->tg_hash))) == NULL ||
	    (s->tsegs = salloc(s, nseg, sizeof(*s->tsegs))) == NULL ||
	    (s->tlabels = salloc(s, nlab, sizeof(*s->tlabels))) == NULL)
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
	if ((s->lposts = salloc(s, nlab, sizeof(*s->lposts))) == NULL) {
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
	if ((s->sposts = salloc(s, nseg, sizeof(*s->sposts))) == NULL) {
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
	if ((v = malloc((nr + 1) * sizeof(*v))) == NULL)
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
	if ((s->roles = salloc(s, nr, sizeof(*s->roles))) == NULL ||
	    (s->rules = salloc(s, nrules, sizeof(*s->rules))) == NULL ||
	    (s->globs = salloc(s, nglobs, sizeof(*s->globs))) == NULL ||
	    (s->gsegs = salloc(s, ngsegs, sizeof(*s->gsegs))) == NULL ||
	    (s->sels = salloc(s, nsel, sizeof(*s->sels))) == NULL ||
	    (s->logins = salloc(s, nlog, sizeof(*s->logins))) == NULL ||
	    (s->cidrs = salloc(s, ncidr, sizeof(*s->cidrs))) == NULL ||
	    (*rnames = calloc(nr + 1, sizeof(**rnames))) == NULL ||
	    (*rhash = calloc(nr + 1, sizeof(**rhash))) == NULL)
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
			if ((r = rbac__cidr_parse(m->source_address[j],
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
	if ((v = calloc(nb + 1, sizeof(*v))) == NULL)
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
	if ((s->binds = salloc(s, n, sizeof(*s->binds))) == NULL ||
	    (s->bind_ids = salloc(s, n, sizeof(*s->bind_ids))) == NULL ||
	    (s->subj = salloc(s, nsubj, sizeof(*s->subj))) == NULL ||
	    (s->subj_hash = salloc(s, nsubj, sizeof(*s->subj_hash))) == NULL)
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

static int compile_reach(struct rbac_snap *);

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
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TSS_E_NOMEM;
	atomic_init(&s->refs, 1);
	s->gen = generation;
	s->cert_max_ttl = cert_max_ttl;
	if ((r = str_grow(s)) != 0 ||
	    (r = compile_targets(s, targets, nt)) != 0 ||
	    (r = compile_roles(s, roles, nr, &rtab, &rnames, &rhash)) != 0)
		goto out;
	if ((r = compile_reach(s)) != 0 ||
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
		if ((nv = realloc(v->v, ncap * sizeof(*nv))) == NULL)
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
	/* Bad records are skipped: leaving one out only ever narrows. */
	if ((r = store_cursor_open(t, STORE_DB_TARGETS, &c)) != 0)
		goto out;
	for (rr = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); rr == 0;
	    rr = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if (rbac__target_decode(k, kl, val, vl, &tg) != 0) {
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
		if (rbac__role_decode(k, kl, val, vl, &ro) != 0) {
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
		if (kl != 8 || rbac__binding_decode(buf_peek_u64(k), val, vl,
		    &bi) != 0) {
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

/* ---- matching ---- */

static int
glob_match(const struct rbac_snap *s, const struct glob *g, uint32_t ti)
{
	const struct target *t = &s->tg[ti];
	const uint32_t *ts;
	const struct gseg *gs;
	uint32_t i;

	if (g->literal)
		return g->target == ti;
	if (g->dstar ? t->nseg <= g->nseg : t->nseg != g->nseg)
		return 0;
	ts = &s->tsegs[t->seg_first];
	gs = &s->gsegs[g->seg_first];
	for (i = 0; i < g->nseg; i++) {
		switch (gs[i].kind) {
		case SEG_LIT:
			if (gs[i].id != ts[i])
				return 0;
			break;
		case SEG_PAT:
			if (!rbac__seg_wild(s->strs[gs[i].id], s->str_len[gs[i].id],
			    s->strs[ts[i]], s->str_len[ts[i]]))
				return 0;
			break;
		default:
			break;
		}
	}
	return 1;
}

static int
sel_match(const struct rbac_snap *s, const struct rule *ru, uint32_t ti)
{
	const struct target *t = &s->tg[ti];
	const struct lpair *sel = &s->sels[ru->sel_first];
	const struct lpair *tl = &s->tlabels[t->label_first];
	uint32_t i, j = 0;

	for (i = 0; i < ru->nsel; i++) {
		while (j < t->nlabels && tl[j].k < sel[i].k)
			j++;
		if (j == t->nlabels || tl[j].k != sel[i].k ||
		    tl[j].v != sel[i].v)
			return 0;
	}
	return 1;
}

static int
rule_matches(const struct rbac_snap *s, const struct rule *ru, uint32_t ti)
{
	uint32_t i;
	int ok = ru->nglobs == 0;

	for (i = 0; i < ru->nglobs && !ok; i++)
		ok = glob_match(s, &s->globs[ru->glob_first + i], ti);
	return ok && sel_match(s, ru, ti);
}

static int
rule_has_login(const struct rbac_snap *s, const struct rule *ru,
    uint32_t lid)
{
	const uint32_t *l = &s->logins[ru->login_first];
	uint32_t i;

	for (i = 0; i < ru->nlogins; i++)
		if (l[i] == lid)
			return 1;
	return 0;
}

/* ---- which targets a rule can reach ---- */

/* Roles costing more candidate checks reach every target (no filter). */
#define REACH_BUDGET	20000
/* Largest reach table (bytes). */
#define REACH_MAX	(64u * 1024 * 1024)

/* Targets whose name starts with p[0..plen): a range of the sorted list. */
static void
prefix_range(const struct rbac_snap *s, const char *p, size_t plen,
    uint32_t *lo, uint32_t *hi)
{
	uint32_t a = 0, b = s->ntg, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (strncmp(s->tg_name[m], p, plen) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = s->ntg;
	while (a < b) {
		m = a + (b - a) / 2;
		if (strncmp(s->tg_name[m], p, plen) <= 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/* Postings of one label pair. */
static void
post_range(const struct rbac_snap *s, const struct lpair *l, uint32_t *lo,
    uint32_t *hi)
{
	uint32_t a = 0, b = s->nlposts, m;
	const struct lpost *x;

	while (a < b) {
		m = a + (b - a) / 2;
		x = &s->lposts[m];
		if (x->k < l->k || (x->k == l->k && x->v < l->v))
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = s->nlposts;
	while (a < b) {
		m = a + (b - a) / 2;
		x = &s->lposts[m];
		if (x->k < l->k || (x->k == l->k && x->v <= l->v))
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/* The selector pair with the fewest postings. */
static void
best_post(const struct rbac_snap *s, const struct rule *ru, uint32_t *lo,
    uint32_t *hi)
{
	uint32_t i, a, b;

	*lo = *hi = 0;
	for (i = 0; i < ru->nsel; i++) {
		post_range(s, &s->sels[ru->sel_first + i], &a, &b);
		if (i == 0 || b - a < *hi - *lo) {
			*lo = a;
			*hi = b;
		}
	}
}

/* Postings of a literal segment at a position. */
static void
seg_range(const struct rbac_snap *s, uint32_t pos, uint32_t id,
    uint32_t *lo, uint32_t *hi)
{
	uint32_t a = 0, b = s->nsposts, m;
	const struct spost *x;

	while (a < b) {
		m = a + (b - a) / 2;
		x = &s->sposts[m];
		if (x->pos < pos || (x->pos == pos && x->id < id))
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = s->nsposts;
	while (a < b) {
		m = a + (b - a) / 2;
		x = &s->sposts[m];
		if (x->pos < pos || (x->pos == pos && x->id <= id))
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/*
 * Candidates of a wildcard glob: the range of names sharing its literal
 * prefix, or the postings of its most selective literal segment, which
 * ever is smaller.  *bypos: the range is over sposts, else over targets.
 */
static void
glob_cands(const struct rbac_snap *s, const struct glob *g, uint32_t *lo,
    uint32_t *hi, int *bypos)
{
	const struct gseg *gs = &s->gsegs[g->seg_first];
	uint32_t i, a, b;

	prefix_range(s, g->str, g->plen, lo, hi);
	*bypos = 0;
	for (i = 0; i < g->nseg; i++) {
		if (gs[i].kind != SEG_LIT)
			continue;
		seg_range(s, i, gs[i].id, &a, &b);
		if (b - a < *hi - *lo) {
			*lo = a;
			*hi = b;
			*bypos = 1;
		}
	}
}

/* How many candidates rule_visit would test. */
static size_t
rule_cost(const struct rbac_snap *s, const struct rule *ru)
{
	const struct glob *g;
	uint32_t i, lo, hi;
	size_t n = 0;
	int bypos;

	if (ru->nglobs == 0) {
		best_post(s, ru, &lo, &hi);
		return hi - lo;
	}
	for (i = 0; i < ru->nglobs; i++) {
		g = &s->globs[ru->glob_first + i];
		if (g->literal) {
			n++;
			continue;
		}
		glob_cands(s, g, &lo, &hi, &bypos);
		n += hi - lo;
	}
	return n;
}

typedef int (*visit_fn)(void *ctx, uint32_t ti);

/*
 * Call fn for every target the rule matches (a target matching several
 * globs may come more than once).  Candidates come from each glob's
 * literal prefix (a range of the sorted names) or literal segments (the
 * segment postings), or for a selector-only rule from the label postings;
 * each candidate is then checked in full.
 */
static int
rule_visit(const struct rbac_snap *s, const struct rule *ru, visit_fn fn,
    void *ctx)
{
	const struct glob *g;
	uint32_t i, ti, lo, hi;
	int r, bypos;

	if (ru->nglobs == 0) {
		best_post(s, ru, &lo, &hi);
		for (; lo < hi; lo++) {
			ti = s->lposts[lo].ti;
			if (sel_match(s, ru, ti) && (r = fn(ctx, ti)) != 0)
				return r;
		}
		return 0;
	}
	for (i = 0; i < ru->nglobs; i++) {
		g = &s->globs[ru->glob_first + i];
		if (g->literal) {
			if (g->target != NONE && sel_match(s, ru, g->target) &&
			    (r = fn(ctx, g->target)) != 0)
				return r;
			continue;
		}
		glob_cands(s, g, &lo, &hi, &bypos);
		for (; lo < hi; lo++) {
			ti = bypos ? s->sposts[lo].ti : lo;
			if (rule_matches(s, ru, ti) && (r = fn(ctx, ti)) != 0)
				return r;
		}
	}
	return 0;
}

struct reach_ctx {
	struct rbac_snap *s;
	uint32_t role;
};

static int
reach_set(void *ctx, uint32_t ti)
{
	struct reach_ctx *c = ctx;

	c->s->reach[(size_t)ti * c->s->rwords + (c->role >> 6)] |=
	    1ULL << (c->role & 63);
	return 0;
}

static int
compile_reach(struct rbac_snap *s)
{
	struct reach_ctx c = { s, 0 };
	const struct role *ro;
	size_t cost, words;
	uint32_t j, ti;

	s->rwords = (s->nroles + 63) / 64;
	words = (size_t)s->ntg * s->rwords;
	if (words == 0 || words > REACH_MAX / sizeof(uint64_t))
		return 0;	/* decide on the rules alone */
	if ((s->reach = salloc(s, words, sizeof(*s->reach))) == NULL)
		return TSS_E_NOMEM;
	for (c.role = 0; c.role < s->nroles; c.role++) {
		ro = &s->roles[c.role];
		for (j = 0, cost = 0; j < ro->nrules; j++)
			cost += rule_cost(s, &s->rules[ro->rule_first + j]);
		if (cost > REACH_BUDGET) {
			for (ti = 0; ti < s->ntg; ti++)
				(void)reach_set(&c, ti);
			continue;
		}
		for (j = 0; j < ro->nrules; j++)
			(void)rule_visit(s, &s->rules[ro->rule_first + j],
			    reach_set, &c);
	}
	return 0;
}

/* ---- combining ---- */

struct comb {
	int granted;
	int fc_conflict;
	int cidr_set;
	int64_t ttl;
	uint32_t ext;
	uint32_t fc_id;
	const char *fc;
	int64_t exp;		/* earliest granting binding's expiry; 0 */
	size_t ncidr;
	struct rbac_cidr cidrs[RBAC_CIDRS_MAX];
};

/* The grant lasts only as long as the first of its bindings (0 = never). */
static void
comb_exp(struct comb *c, int64_t exp)
{
	if (exp != 0 && (c->exp == 0 || exp < c->exp))
		c->exp = exp;
}

static void
comb_role(const struct rbac_snap *s, struct comb *c, const struct role *ro)
{
	struct rbac_cidr tmp[RBAC_CIDRS_MAX];

	if (!c->granted) {
		c->granted = 1;
		c->ttl = ro->max_ttl;
		c->ext = ro->ext;
		c->fc_id = NONE;
	} else {
		if (ro->max_ttl < c->ttl)
			c->ttl = ro->max_ttl;
		c->ext &= ro->ext;
	}
	if (ro->fc_id != NONE) {
		if (c->fc_id == NONE) {
			c->fc_id = ro->fc_id;
			c->fc = ro->force_command;
		} else if (c->fc_id != ro->fc_id)
			c->fc_conflict = 1;
	}
	if (ro->ncidr > 0) {
		if (!c->cidr_set) {
			memcpy(c->cidrs, &s->cidrs[ro->cidr_first],
			    ro->ncidr * sizeof(*c->cidrs));
			c->ncidr = ro->ncidr;
			c->cidr_set = 1;
		} else {
			c->ncidr = rbac__cidr_intersect(c->cidrs, c->ncidr,
			    &s->cidrs[ro->cidr_first], ro->ncidr, tmp);
			memcpy(c->cidrs, tmp, c->ncidr * sizeof(*tmp));
		}
	}
}

static int64_t
cap_ttl(const struct rbac_snap *s, int64_t ttl)
{
	if (s->cert_max_ttl > 0 && ttl > s->cert_max_ttl)
		return s->cert_max_ttl;
	return ttl;
}

/* ---- decisions ---- */

struct dstate {
	const struct rbac_snap *s;
	uint32_t ti, lid, lbit;
	const uint64_t *reach;	/* the target's row, or NULL */
	int64_t now;
	int saw_binding, saw_active;
	uint64_t best_id;
	uint32_t best_role, best_rule;
	struct comb c;
};

/* The bindings of subject e. */
static void
decide_run(struct dstate *st, uint32_t e)
{
	const struct rbac_snap *s = st->s;
	const struct sbind *b;
	const struct role *ro;
	const struct rule *ru;
	const uint64_t *ids;
	uint32_t i, j;

	st->saw_binding = 1;
	b = &s->binds[s->subj[e].first];
	ids = &s->bind_ids[s->subj[e].first];
	for (i = 0; i < s->subj[e].count; i++) {
		if (b[i].role == NONE || (b[i].expires_at != 0 &&
		    st->now >= b[i].expires_at))
			continue;
		st->saw_active = 1;
		if ((b[i].login_mask & st->lbit) == 0 ||
		    (st->reach != NULL && ((st->reach[b[i].role >> 6] >>
		    (b[i].role & 63)) & 1) == 0))
			continue;
		ro = &s->roles[b[i].role];
		for (j = 0; j < ro->nrules; j++) {
			ru = &s->rules[ro->rule_first + j];
			if ((ru->login_mask & st->lbit) == 0 ||
			    !rule_has_login(s, ru, st->lid) ||
			    !rule_matches(s, ru, st->ti))
				continue;
			if (!st->c.granted || ids[i] < st->best_id) {
				st->best_id = ids[i];
				st->best_role = b[i].role;
				st->best_rule = j;
			}
			comb_role(s, &st->c, ro);
			comb_exp(&st->c, b[i].expires_at);
			break;
		}
	}
}

#define DECIDE_BATCH	16

int
rbac_decide(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, const char *target,
    const char *login, int64_t now, struct rbac_decision *d)
{
	struct dstate st;
	uint32_t batch[DECIDE_BATCH], gh[DECIDE_BATCH], e, th, lh, uh;
	size_t i, nb, gi, gn;
	int first;

	memset(d, 0, offsetof(struct rbac_decision, cidrs));
	d->reason = RBAC_DENY_ERROR;
	if (s == NULL || user == NULL || target == NULL || login == NULL ||
	    (n_groups > 0 && groups == NULL))
		return TSS_E_FORBIDDEN;
	memset(&st, 0, offsetof(struct dstate, c) +
	    offsetof(struct comb, cidrs));
	st.s = s;
	st.now = now;
	/* Hash everything first so the table probes' misses overlap. */
	th = hash_str(target);
	ht_prefetch(&s->tgtab, th);
	lh = hash_str(login);
	ht_prefetch(&s->strtab, lh);
	uh = hash_str(user);
	ht_prefetch(&s->usertab, uh);
	if ((st.ti = ht_get(&s->tgtab, target, th)) == NONE) {
		d->reason = RBAC_DENY_NO_TARGET;
		return TSS_E_FORBIDDEN;
	}
	if (s->reach != NULL) {
		st.reach = &s->reach[(size_t)st.ti * s->rwords];
		__builtin_prefetch(st.reach);
	}
	st.lid = ht_get(&s->strtab, login, lh);
	st.lbit = st.lid == NONE ? 0 : 1U << (st.lid & 31);
	/*
	 * Look subjects up in batches and prefetch their binding runs, so
	 * the cache misses overlap instead of queueing.
	 */
	gi = 0;
	first = 1;
	while (first || gi < n_groups) {
		nb = 0;
		gn = n_groups - gi < DECIDE_BATCH - 1 ? n_groups - gi :
		    DECIDE_BATCH - 1;
		for (i = 0; i < gn; i++) {
			gh[i] = groups[gi + i] != NULL ?
			    hash_str(groups[gi + i]) : 0;
			ht_prefetch(&s->grouptab, gh[i]);
		}
		if (first) {
			if ((e = ht_get(&s->usertab, user, uh)) != NONE) {
				batch[nb++] = e;
				__builtin_prefetch(&s->binds[s->subj[e].first]);
			}
			first = 0;
		}
		for (i = 0; i < gn; i++, gi++) {
			if (groups[gi] == NULL || (e = ht_get(&s->grouptab,
			    groups[gi], gh[i])) == NONE)
				continue;
			batch[nb++] = e;
			__builtin_prefetch(&s->binds[s->subj[e].first]);
		}
		for (i = 0; i < nb; i++)
			decide_run(&st, batch[i]);
	}
	if (!st.c.granted) {
		d->reason = !st.saw_binding ? RBAC_DENY_NO_BINDING :
		    !st.saw_active ? RBAC_DENY_NO_ACTIVE : RBAC_DENY_NO_RULE;
		return TSS_E_FORBIDDEN;
	}
	d->binding_id = st.best_id;
	d->role = s->roles[st.best_role].name;
	d->rule = st.best_rule;
	d->max_ttl = cap_ttl(s, st.c.ttl);
	d->extensions = st.c.ext;
	d->force_command = st.c.fc;
	d->expires_at = st.c.exp;
	d->n_cidrs = st.c.ncidr;
	memcpy(d->cidrs, st.c.cidrs, st.c.ncidr * sizeof(*d->cidrs));
	if (st.c.cidr_set && st.c.ncidr == 0) {
		d->reason = RBAC_DENY_SOURCE;
		return TSS_E_FORBIDDEN;
	}
	if (st.c.fc_conflict) {
		d->reason = RBAC_DENY_COMMAND;
		return TSS_E_FORBIDDEN;
	}
	d->reason = RBAC_ALLOW;
	return 0;
}

void
rbac_reason_format(const struct rbac_decision *d, const char *target,
    const char *login, char *buf, size_t len)
{
	const char *t = target != NULL ? target : "?";
	const char *l = login != NULL ? login : "?";

	if (buf == NULL || len == 0)
		return;
	switch (d->reason) {
	case RBAC_ALLOW:
		(void)snprintf(buf, len, "allowed by binding %llu, role %s, "
		    "rule %u", (unsigned long long)d->binding_id, d->role,
		    (unsigned)d->rule);
		break;
	case RBAC_DENY_NO_TARGET:
		(void)snprintf(buf, len, "denied: no target %.128s", t);
		break;
	case RBAC_DENY_NO_BINDING:
		(void)snprintf(buf, len, "denied: no binding for the user or "
		    "its groups");
		break;
	case RBAC_DENY_NO_ACTIVE:
		(void)snprintf(buf, len, "denied: every binding of the user "
		    "and its groups has expired or lost its role");
		break;
	case RBAC_DENY_NO_RULE:
		(void)snprintf(buf, len, "denied: no rule of the bound roles "
		    "allows login %.32s on %.128s", l, t);
		break;
	case RBAC_DENY_SOURCE:
		(void)snprintf(buf, len, "denied: the source_address lists of "
		    "the granting roles (first: binding %llu, role %s) do not "
		    "overlap", (unsigned long long)d->binding_id, d->role);
		break;
	case RBAC_DENY_COMMAND:
		(void)snprintf(buf, len, "denied: the granting roles (first: "
		    "binding %llu, role %s) force different commands",
		    (unsigned long long)d->binding_id, d->role);
		break;
	default:
		(void)snprintf(buf, len, "denied: store error");
		break;
	}
}

static uint32_t
perms_subject(const struct rbac_snap *s, const struct htab *h,
    const char *name, int64_t now)
{
	const struct sbind *b;
	uint32_t e, i, p = 0;

	if (name == NULL || (e = ht_get(h, name, hash_str(name))) == NONE)
		return 0;
	b = &s->binds[s->subj[e].first];
	for (i = 0; i < s->subj[e].count; i++) {
		if (b[i].role == NONE || (b[i].expires_at != 0 &&
		    now >= b[i].expires_at))
			continue;
		p |= s->roles[b[i].role].perms;
	}
	return p;
}

uint32_t
rbac_perms(const struct rbac_snap *s, const char *user,
    const char *const *groups, size_t n_groups, int64_t now)
{
	uint32_t p;
	size_t i;

	if (s == NULL || user == NULL || (n_groups > 0 && groups == NULL))
		return 0;
	p = perms_subject(s, &s->usertab, user, now);
	for (i = 0; i < n_groups; i++)
		p |= perms_subject(s, &s->grouptab, groups[i], now);
	return p;
}

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

			if ((ne = realloc(a->e, ncap * sizeof(*ne))) == NULL)
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

			if ((nl = realloc(e->logins,
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
	if ((roles = calloc(cap + 1, sizeof(*roles))) == NULL ||
	    (as.map = malloc((s->ntg + 1) * sizeof(*as.map))) == NULL ||
	    (res = calloc(1, sizeof(*res))) == NULL)
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
		if ((rmask = calloc(s->rwords + 1, sizeof(*rmask))) == NULL)
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
				if ((r = rule_visit(s, as.rule, acc_visit,
				    &as)) != 0)
					goto out;
			}
		}
	}
	if (as.n > 0)
		qsort(as.e, as.n, sizeof(*as.e), acc_cmp);
	if ((res->entries = calloc(as.n + 1, sizeof(*res->entries))) == NULL ||
	    (res->roles = calloc(nro + 1, sizeof(*res->roles))) == NULL) {
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
		if ((oe->logins = calloc(e->nlog + 1,
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
	if ((g->principals = calloc(RBAC_PRINCIPALS_MAX,
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
			if ((p = malloc(len)) == NULL) {
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
		bad |= json_object_set_new(e, "logins", logins = json_array());
		for (j = 0; logins != NULL && j < a->entries[i].n_logins; j++)
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

/* ---- the holder ---- */

struct rbac {
	struct store *st;
	int64_t cert_max_ttl;
	pthread_rwlock_t lock;		/* guards cur (load/swap only) */
	pthread_mutex_t rebuild;	/* one rebuild at a time */
	struct rbac_snap *cur;
};

int
rbac_open(struct store *st, int64_t cert_max_ttl, struct rbac **out)
{
	struct rbac *r;

	*out = NULL;
	if (st == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return TSS_E_NOMEM;
	r->st = st;
	r->cert_max_ttl = cert_max_ttl;
	if (pthread_rwlock_init(&r->lock, NULL) != 0) {
		free(r);
		return TSS_E_INTERNAL;
	}
	if (pthread_mutex_init(&r->rebuild, NULL) != 0) {
		pthread_rwlock_destroy(&r->lock);
		free(r);
		return TSS_E_INTERNAL;
	}
	*out = r;
	return 0;
}

void
rbac_close(struct rbac *r)
{
	if (r == NULL)
		return;
	rbac_snap_release(r->cur);
	pthread_mutex_destroy(&r->rebuild);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

/* A reference to the published snapshot if it is of generation gen. */
static struct rbac_snap *
current_if(struct rbac *r, uint64_t gen)
{
	struct rbac_snap *s = NULL;

	pthread_rwlock_rdlock(&r->lock);
	if (r->cur != NULL && r->cur->gen == gen)
		s = snap_ref(r->cur);
	pthread_rwlock_unlock(&r->lock);
	return s;
}

int
rbac_acquire(struct rbac *r, struct rbac_snap **out)
{
	struct store_txn *t = NULL;
	struct rbac_snap *s = NULL, *old;
	uint64_t gen;
	int rv = TSS_E_INTERNAL, locked = 0;

	*out = NULL;
	if (r == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rv = store_begin(r->st, 0, &t)) != 0 ||
	    (rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	if ((s = current_if(r, gen)) != NULL)
		goto done;
	store_abort(t);
	t = NULL;
	pthread_mutex_lock(&r->rebuild);
	locked = 1;
	/*
	 * Begin afresh under the mutex: any snapshot published meanwhile came
	 * from an older or equal transaction, so ours is never older.
	 */
	if ((rv = store_begin(r->st, 0, &t)) != 0 ||
	    (rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		goto out;
	if ((s = current_if(r, gen)) != NULL)
		goto done;
	if ((rv = rbac_snap_load(t, r->cert_max_ttl, &s)) != 0)
		goto out;
	pthread_rwlock_wrlock(&r->lock);
	old = r->cur;
	r->cur = snap_ref(s);
	pthread_rwlock_unlock(&r->lock);
	rbac_snap_release(old);
	log_debug("rbac: snapshot of policy generation %llu built",
	    (unsigned long long)gen);
 done:
	*out = s;
	rv = 0;
 out:
	if (locked)
		pthread_mutex_unlock(&r->rebuild);
	store_abort(t);
	return rv;
}

int
rbac_acquire_txn(struct rbac *r, struct store_txn *t, struct rbac_snap **out)
{
	struct rbac_snap *s;
	uint64_t gen;
	int rv;

	*out = NULL;
	if (r == NULL || t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if ((rv = store_counter_get(t, STORE_CTR_POLICY_GEN, &gen)) != 0)
		return rv;
	if ((s = current_if(r, gen)) == NULL &&
	    (rv = rbac_snap_load(t, r->cert_max_ttl, &s)) != 0)
		return rv;
	*out = s;
	return 0;
}

int
rbac_check(struct rbac *r, const char *user, const char *const *groups,
    size_t n_groups, const char *target, const char *login, int64_t now,
    int *allowed, char *reason, size_t len)
{
	struct rbac_decision d;
	struct rbac_snap *s = NULL;
	int rv;

	*allowed = 0;
	if ((rv = rbac_acquire(r, &s)) != 0) {
		if (reason != NULL && len > 0)
			(void)snprintf(reason, len, "denied: store error");
		return rv;
	}
	rv = rbac_decide(s, user, groups, n_groups, target, login, now, &d);
	rbac_reason_format(&d, target, login, reason, len);
	*allowed = rv == 0;
	rbac_snap_release(s);
	return 0;
}
