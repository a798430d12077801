/*
 * Internals of the compiled snapshot, shared by the snap*.c files only:
 * the snapshot's layout, and the small helpers a decision runs (hashing,
 * matching, combining), inline so the decision loop keeps them inlined
 * across the split.  See snap.c for what a snapshot is.
 */
#ifndef TSS_RBAC_SNAP_INT_H
#define TSS_RBAC_SNAP_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rbac_int.h"

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

/* ---- hashing (decision time) ---- */

static inline uint32_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t
hash_mem(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static inline const char *
ht_name(const struct htab *h, uint32_t idx)
{
	const char *p;

	memcpy(&p, h->base + (size_t)idx * h->stride, sizeof(p));
	return p;
}

static inline uint32_t
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

static inline void
ht_prefetch(const struct htab *h, uint32_t hv)
{
	if (h->slots != NULL)
		__builtin_prefetch(&h->slots[hv & h->mask]);
}

/* ---- matching ---- */

static inline int
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

static inline int
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

static inline int
rule_matches(const struct rbac_snap *s, const struct rule *ru, uint32_t ti)
{
	uint32_t i;
	int ok = ru->nglobs == 0;

	for (i = 0; i < ru->nglobs && !ok; i++)
		ok = glob_match(s, &s->globs[ru->glob_first + i], ti);
	return ok && sel_match(s, ru, ti);
}

static inline int
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
static inline void
comb_exp(struct comb *c, int64_t exp)
{
	if (exp != 0 && (c->exp == 0 || exp < c->exp))
		c->exp = exp;
}

static inline void
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

static inline int64_t
cap_ttl(const struct rbac_snap *s, int64_t ttl)
{
	if (s->cert_max_ttl > 0 && ttl > s->cert_max_ttl)
		return s->cert_max_ttl;
	return ttl;
}

/* Shared between the snap*.c files. */
void *snap_alloc(struct rbac_snap *s, size_t n, size_t size);
struct rbac_snap *snap_ref(struct rbac_snap *s);
/* The reach bitmaps of every target (snap_reach.c). */
int snap_reach_compile(struct rbac_snap *s);
/* Call fn for every target rule ru matches (a target matching several
 * globs may come more than once); a non-zero return stops and is
 * returned. */
typedef int (*snap_visit_fn)(void *ctx, uint32_t ti);
int snap_reach_visit(const struct rbac_snap *s, const struct rule *ru,
    snap_visit_fn fn, void *ctx);

#endif
