/*
 * Which targets a rule can reach: the per-target role bitmaps a decision
 * tests before reading a role (see snap.c).
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
#include "store/store.h"

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

/*
 * Candidates come from each glob's literal prefix (a range of the sorted
 * names) or literal segments (the segment postings), or for a
 * selector-only rule from the label postings; each candidate is then
 * checked in full.
 */
int
snap_reach_visit(const struct rbac_snap *s, const struct rule *ru,
    snap_visit_fn fn, void *ctx)
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

int
snap_reach_compile(struct rbac_snap *s)
{
	struct reach_ctx c = { s, 0 };
	const struct role *ro;
	size_t cost, words;
	uint32_t j, ti;

	s->rwords = (s->nroles + 63) / 64;
	words = (size_t)s->ntg * s->rwords;
	if (words == 0 || words > REACH_MAX / sizeof(uint64_t))
		return 0;	/* decide on the rules alone */
	if ((s->reach = snap_alloc(s, words, sizeof(*s->reach))) == NULL)
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
			(void)snap_reach_visit(s, &s->rules[ro->rule_first + j],
			    reach_set, &c);
	}
	return 0;
}
