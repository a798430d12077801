/*
 * Differential test: thousands of random small policies and queries, each
 * decided by the compiled snapshot and by a deliberately naive reference
 * evaluator written here on its own data (recursive string globs, linear
 * scans, address sets recomputed from scratch).  Any disagreement is
 * shrunk (elements removed while the disagreement stays) and the smallest
 * case printed.  Some policies also go through the store (admin writes,
 * records, the subject index, rbac_snap_load).
 *
 * RBAC_DIFF_SEED=<n> replays a seed; RBAC_DIFF_POLICIES=<n> sets the count.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "rh.h"
#include "tmpdir.h"

#define MT 8
#define MR 5
#define MRU 3
#define MG 3
#define MS 2
#define ML 3
#define MC 3
#define MB 10

struct rt {
	char name[40];
	int nl;
	char lk[2][8], lv[2][8];
};

struct rrule {
	int ng;
	char g[MG][40];
	int ns;
	char sk[MS][8], sv[MS][8];
	int nl;
	char lg[ML][8];
};

struct rrole {
	char name[16];
	int nr;
	struct rrule ru[MRU];
	int64_t ttl;
	unsigned ext;
	int nc;
	char c[MC][24];
	char fc[8];
	unsigned admin;
};

struct rbind {
	uint64_t id;
	char role[16];
	char subj[24];
	int64_t exp;
};

struct pol {
	int nt;
	struct rt t[MT];
	int nr;
	struct rrole r[MR];
	int nb;
	struct rbind b[MB];
	int64_t cap;
};

struct query {
	char user[16];
	int ng;
	char g[3][16];
	char target[40];
	char login[8];
	int64_t now;
};

/* ---- PRNG ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int
pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* ---- generation ---- */

static const char *segs[] = { "a", "b", "api", "web", "ab" };
static const char *pats[] = { "*", "a*", "*b", "*a*", "w*b", "ap*" };
static const char *logins[] = { "app", "root", "deploy" };
static const char *cidrs[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
    "192.168.0.0/16", "172.16.0.0/12", "::/0", "2001:db8::/32",
    "10.2.0.0/16" };

static void
gen_name(char *out, size_t len)
{
	int n = 1 + pick(3), i;
	size_t off = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		    i ? "/" : "", segs[pick(5)]);
	if (strcmp(out + (strrchr(out, '/') ? strrchr(out, '/') - out + 1 :
	    0), "sshd") == 0)
		out[0] = 'a';
}

static void
gen_glob(const struct pol *p, char *out, size_t len)
{
	int n, i, k;
	size_t off = 0;

	if (p->nt > 0 && pick(3) == 0) {	/* an existing name */
		snprintf(out, len, "%s", p->t[pick(p->nt)].name);
		return;
	}
	if (pick(8) == 0) {
		snprintf(out, len, "**");
		return;
	}
	n = 1 + pick(3);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		k = pick(10);
		if (i == n - 1 && i > 0 && k == 0)
			off += (size_t)snprintf(out + off, len - off, "/**");
		else
			off += (size_t)snprintf(out + off, len - off, "%s%s",
			    i ? "/" : "", k < 5 ? segs[pick(5)] :
			    pats[pick(6)]);
	}
}

static void
gen_labels(int *n, char k[][8], char v[][8], int max)
{
	static const char *keys[] = { "env", "tier" };
	static const char *vals[] = { "x", "y" };
	int i;

	*n = 0;
	for (i = 0; i < 2 && *n < max; i++) {
		if (pick(2) == 0)
			continue;
		snprintf(k[*n], 8, "%s", keys[i]);
		snprintf(v[*n], 8, "%s", vals[pick(2)]);
		(*n)++;
	}
}

static void
gen_policy(struct pol *p)
{
	static const int64_t ttls[] = { 60, 600, 3600, 86400 };
	int i, j, k, dup;

	memset(p, 0, sizeof(*p));
	p->cap = pick(4) == 0 ? 3600 : 0;
	for (i = 0, p->nt = 0; i < 1 + pick(MT); i++) {
		struct rt *t = &p->t[p->nt];

		gen_name(t->name, sizeof(t->name));
		for (j = 0, dup = 0; j < p->nt; j++)
			dup |= strcmp(p->t[j].name, t->name) == 0;
		if (dup)
			continue;
		gen_labels(&t->nl, t->lk, t->lv, 2);
		p->nt++;
	}
	p->nr = pick(MR + 1);
	for (i = 0; i < p->nr; i++) {
		struct rrole *r = &p->r[i];

		snprintf(r->name, sizeof(r->name), "r%d", i);
		r->nr = pick(MRU + 1);
		for (j = 0; j < r->nr; j++) {
			struct rrule *ru = &r->ru[j];

			do {
				ru->ng = pick(MG + 1);
				for (k = 0; k < ru->ng; k++)
					gen_glob(p, ru->g[k], sizeof(ru->g[k]));
				gen_labels(&ru->ns, ru->sk, ru->sv, MS);
			} while (ru->ng == 0 && ru->ns == 0);
			ru->nl = 1 + pick(ML);
			for (k = 0; k < ru->nl; k++)
				snprintf(ru->lg[k], 8, "%s", logins[pick(3)]);
		}
		r->ttl = ttls[pick(4)];
		r->ext = (unsigned)pick(32);
		r->nc = pick(3) == 0 ? 1 + pick(MC) : 0;
		for (j = 0; j < r->nc; j++)
			snprintf(r->c[j], sizeof(r->c[j]), "%s", cidrs[pick(8)]);
		if (pick(5) == 0)
			snprintf(r->fc, sizeof(r->fc), "/bin/%c",
			    'a' + pick(2));
		r->admin = (unsigned)pick(256);
	}
	p->nb = pick(MB + 1);
	for (i = 0; i < p->nb; i++) {
		struct rbind *b = &p->b[i];

		b->id = (uint64_t)(i + 2);
		if (p->nr == 0 || pick(8) == 0)
			snprintf(b->role, sizeof(b->role), "ghost");
		else
			snprintf(b->role, sizeof(b->role), "r%d",
			    pick(p->nr));
		if (pick(2) == 0)
			snprintf(b->subj, sizeof(b->subj), "user:u%d",
			    1 + pick(3));
		else
			snprintf(b->subj, sizeof(b->subj), "group:g%d",
			    1 + pick(2));
		b->exp = pick(3) == 0 ? 50 + pick(100) : 0;
	}
}

static void
gen_query(const struct pol *p, struct query *q)
{
	int i;

	memset(q, 0, sizeof(*q));
	snprintf(q->user, sizeof(q->user), "u%d", 1 + pick(4));
	for (i = 1; i <= 3; i++)
		if (pick(2) == 0)
			snprintf(q->g[q->ng++], sizeof(q->g[0]), "g%d", i);
	if (p->nt > 0 && pick(8) != 0)
		snprintf(q->target, sizeof(q->target), "%s",
		    p->t[pick(p->nt)].name);
	else
		gen_name(q->target, sizeof(q->target));
	if (pick(10) == 0)
		snprintf(q->login, sizeof(q->login), "nobody");
	else
		snprintf(q->login, sizeof(q->login), "%s", logins[pick(3)]);
	q->now = pick(200);
}

/* ---- the naive reference ---- */

static int
ref_glob(const char *g, const char *n)
{
	if (strcmp(g, "**") == 0)
		return *n != '\0';
	if (*g == '\0')
		return *n == '\0';
	if (*g == '*')
		return ref_glob(g + 1, n) ||
		    (*n != '\0' && *n != '/' && ref_glob(g, n + 1));
	return *g == *n && ref_glob(g + 1, n + 1);
}

static const struct rt *
ref_target(const struct pol *p, const char *name)
{
	int i;

	for (i = 0; i < p->nt; i++)
		if (strcmp(p->t[i].name, name) == 0)
			return &p->t[i];
	return NULL;
}

static const struct rrole *
ref_role(const struct pol *p, const char *name)
{
	int i;

	for (i = 0; i < p->nr; i++)
		if (strcmp(p->r[i].name, name) == 0)
			return &p->r[i];
	return NULL;
}

static int
ref_rule_matches(const struct rrule *ru, const struct rt *t)
{
	int i, j, ok;

	if (ru->ng > 0) {
		for (i = 0, ok = 0; i < ru->ng; i++)
			ok |= ref_glob(ru->g[i], t->name);
		if (!ok)
			return 0;
	}
	for (i = 0; i < ru->ns; i++) {
		for (j = 0, ok = 0; j < t->nl; j++)
			ok |= strcmp(ru->sk[i], t->lk[j]) == 0 &&
			    strcmp(ru->sv[i], t->lv[j]) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

static int
ref_has_login(const struct rrule *ru, const char *l)
{
	int i;

	for (i = 0; i < ru->nl; i++)
		if (strcmp(ru->lg[i], l) == 0)
			return 1;
	return 0;
}

static int
ref_subject_applies(const struct query *q, const char *subj)
{
	char buf[40];
	int i;

	snprintf(buf, sizeof(buf), "user:%s", q->user);
	if (strcmp(buf, subj) == 0)
		return 1;
	for (i = 0; i < q->ng; i++) {
		snprintf(buf, sizeof(buf), "group:%s", q->g[i]);
		if (strcmp(buf, subj) == 0)
			return 1;
	}
	return 0;
}

/* Address prefixes as (family, 16 bytes, prefix). */
struct ra {
	int fam;
	uint8_t a[16];
	int pl;
};

static void
ra_parse(const char *s, struct ra *r)
{
	char tmp[64];
	const char *sl = strchr(s, '/');

	memset(r, 0, sizeof(*r));
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(sl - s), s);
	r->fam = strchr(tmp, ':') ? 6 : 4;
	cr_assert_eq(inet_pton(r->fam == 6 ? AF_INET6 : AF_INET, tmp, r->a),
	    1);
	{
		char *end = NULL;
		unsigned long long v = strtoull(sl + 1, &end, 10);

		cr_assert(end != NULL && *end == '\0' && v <= 128);
		r->pl = (int)v;
	}
}

/* x inside y, bit by bit. */
static int
ra_in(const struct ra *x, const struct ra *y)
{
	int i;

	if (x->fam != y->fam || x->pl < y->pl)
		return 0;
	for (i = 0; i < y->pl; i++)
		if (((x->a[i / 8] >> (7 - i % 8)) & 1) !=
		    ((y->a[i / 8] >> (7 - i % 8)) & 1))
			return 0;
	return 1;
}

static int
ra_eq(const struct ra *x, const struct ra *y)
{
	return ra_in(x, y) && ra_in(y, x);
}

struct ref_out {
	enum rbac_reason reason;
	uint64_t id;
	char role[16];
	int rule;
	int64_t ttl;
	unsigned ext;
	char fc[8];
	int64_t exp;	/* earliest expiry of the granting bindings; 0 */
	int nc;
	struct ra c[64];
};

/* The earliest of two expiries, 0 meaning never. */
static int64_t
ref_min_exp(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * The combined address set of roles: every listed prefix that lies inside
 * some entry of every restricting role, keeping only maximal ones.
 */
static void
ref_cidrs(const struct rrole *const *roles, int n, struct ref_out *o)
{
	struct ra cand[64], x, y;
	int nc = 0, i, j, k, l, ok, any = 0, dup;

	o->nc = 0;
	for (i = 0; i < n; i++) {
		if (roles[i]->nc == 0)
			continue;
		any = 1;
		for (j = 0; j < roles[i]->nc; j++) {
			ra_parse(roles[i]->c[j], &x);
			for (k = 0, ok = 1; k < n && ok; k++) {
				if (roles[k]->nc == 0)
					continue;
				for (l = 0, ok = 0; l < roles[k]->nc; l++) {
					ra_parse(roles[k]->c[l], &y);
					ok |= ra_in(&x, &y);
				}
			}
			for (k = 0, dup = 0; k < nc; k++)
				dup |= ra_eq(&cand[k], &x);
			if (ok && !dup)
				cand[nc++] = x;
		}
	}
	for (i = 0; i < nc; i++) {
		for (k = 0, ok = 1; k < nc && ok; k++)
			if (k != i && ra_in(&cand[i], &cand[k]) &&
			    !ra_eq(&cand[i], &cand[k]))
				ok = 0;
		if (ok)
			o->c[o->nc++] = cand[i];
	}
	o->nc = any ? o->nc : 0;
	if (any && o->nc == 0)
		o->nc = -1;	/* restricted to nothing */
}

static void
ref_combine(const struct pol *p, const struct rrole *const *g, int ng,
    struct ref_out *o)
{
	const char *fc = NULL;
	int i, fc_conflict = 0;

	o->ttl = g[0]->ttl;
	o->ext = 0x1f;
	for (i = 0; i < ng; i++) {
		if (g[i]->ttl < o->ttl)
			o->ttl = g[i]->ttl;
		o->ext &= g[i]->ext;
		if (g[i]->fc[0] != '\0') {
			if (fc == NULL)
				fc = g[i]->fc;
			else if (strcmp(fc, g[i]->fc) != 0)
				fc_conflict = 1;
		}
	}
	if (p->cap > 0 && o->ttl > p->cap)
		o->ttl = p->cap;
	snprintf(o->fc, sizeof(o->fc), "%s", fc != NULL ? fc : "");
	ref_cidrs(g, ng, o);
	if (o->nc < 0)
		o->reason = RBAC_DENY_SOURCE;
	else if (fc_conflict)
		o->reason = RBAC_DENY_COMMAND;
	else
		o->reason = RBAC_ALLOW;
}

static void
ref_decide(const struct pol *p, const struct query *q, struct ref_out *o)
{
	const struct rrole *granting[MB];
	const struct rt *t;
	const struct rrole *r;
	int64_t exp = 0;
	int i, j, ng = 0, saw = 0, active = 0;

	memset(o, 0, sizeof(*o));
	if ((t = ref_target(p, q->target)) == NULL) {
		o->reason = RBAC_DENY_NO_TARGET;
		return;
	}
	for (i = 0; i < p->nb; i++) {
		if (!ref_subject_applies(q, p->b[i].subj))
			continue;
		saw = 1;
		r = ref_role(p, p->b[i].role);
		if (r == NULL || (p->b[i].exp != 0 && q->now >= p->b[i].exp))
			continue;
		active = 1;
		for (j = 0; j < r->nr; j++) {
			if (!ref_has_login(&r->ru[j], q->login) ||
			    !ref_rule_matches(&r->ru[j], t))
				continue;
			if (ng == 0 || p->b[i].id < o->id) {
				o->id = p->b[i].id;
				snprintf(o->role, sizeof(o->role), "%s",
				    r->name);
				o->rule = j;
			}
			granting[ng++] = r;
			exp = ref_min_exp(exp, p->b[i].exp);
			break;
		}
	}
	if (ng == 0) {
		o->reason = !saw ? RBAC_DENY_NO_BINDING : !active ?
		    RBAC_DENY_NO_ACTIVE : RBAC_DENY_NO_RULE;
		return;
	}
	ref_combine(p, granting, ng, o);
	o->exp = exp;
}

static unsigned
ref_perms(const struct pol *p, const struct query *q)
{
	const struct rrole *r;
	unsigned v = 0;
	int i;

	for (i = 0; i < p->nb; i++) {
		if (!ref_subject_applies(q, p->b[i].subj))
			continue;
		r = ref_role(p, p->b[i].role);
		if (r == NULL || (p->b[i].exp != 0 && q->now >= p->b[i].exp))
			continue;
		v |= r->admin;
	}
	return v;
}

/*
 * Access listing, naively: for every target in name order, the logins of
 * every rule (of an active binding's role) matching it, and the roles
 * granting anything there combined; a target whose combination conflicts
 * is left out.  Compared with a; 0 when they agree.
 */
static int
ref_access_check(const struct pol *p, const struct query *q,
    const struct rbac_access *a, char *why, size_t len)
{
	const struct rrole *g[MB * MRU];
	const struct rrole *r;
	const char *lg_set[MRU * ML * MB];
	int order[MT], i, j, k, l, m, ng, nl, tmp, dup;
	int64_t exp, all_exp = 0;
	size_t e = 0;
	struct ref_out o;
	struct rbac_grant gr;

	for (i = 0; i < p->nt; i++)
		order[i] = i;
	for (i = 1; i < p->nt; i++)
		for (j = i; j > 0 && strcmp(p->t[order[j - 1]].name,
		    p->t[order[j]].name) > 0; j--) {
			tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	for (i = 0; i < p->nt; i++) {
		const struct rt *t = &p->t[order[i]];

		ng = nl = 0;
		exp = 0;
		for (j = 0; j < p->nb; j++) {
			if (!ref_subject_applies(q, p->b[j].subj))
				continue;
			r = ref_role(p, p->b[j].role);
			if (r == NULL || (p->b[j].exp != 0 &&
			    q->now >= p->b[j].exp))
				continue;
			for (k = 0, m = 0; k < r->nr; k++) {
				if (!ref_rule_matches(&r->ru[k], t))
					continue;
				m = 1;
				for (l = 0; l < r->ru[k].nl; l++) {
					int x;

					for (x = 0, dup = 0; x < nl; x++)
						dup |= strcmp(lg_set[x],
						    r->ru[k].lg[l]) == 0;
					if (!dup)
						lg_set[nl++] = r->ru[k].lg[l];
				}
			}
			if (m) {
				g[ng++] = r;
				exp = ref_min_exp(exp, p->b[j].exp);
			}
		}
		if (ng == 0)
			continue;
		ref_combine(p, g, ng, &o);
		if (o.reason != RBAC_ALLOW)
			continue;
		if (e >= a->n || strcmp(a->entries[e].target, t->name) != 0) {
			snprintf(why, len, "access: expected target %s at %zu, "
			    "got %s", t->name, e, e < a->n ?
			    a->entries[e].target : "(end)");
			return 1;
		}
		if ((int)a->entries[e].n_logins != nl) {
			snprintf(why, len, "access: %s has %zu logins, "
			    "reference %d", t->name, a->entries[e].n_logins,
			    nl);
			return 1;
		}
		for (j = 0; j < nl; j++) {
			for (k = 0, dup = 0; k < nl; k++)
				dup |= strcmp(a->entries[e].logins[j],
				    lg_set[k]) == 0;
			if (!dup || (j > 0 && strcmp(a->entries[e].logins[j -
			    1], a->entries[e].logins[j]) >= 0)) {
				snprintf(why, len, "access: %s logins differ "
				    "or are unsorted", t->name);
				return 1;
			}
		}
		if (a->entries[e].max_ttl != o.ttl ||
		    a->entries[e].extensions != o.ext) {
			snprintf(why, len, "access: %s ttl %lld/%lld ext "
			    "%u/%u", t->name, (long long)a->entries[e].max_ttl,
			    (long long)o.ttl, a->entries[e].extensions, o.ext);
			return 1;
		}
		if (a->entries[e].expires_at != exp) {
			snprintf(why, len, "access: %s expires_at %lld, "
			    "reference %lld", t->name,
			    (long long)a->entries[e].expires_at,
			    (long long)exp);
			return 1;
		}
		all_exp = ref_min_exp(all_exp, exp);
		e++;
	}
	if (e != a->n) {
		snprintf(why, len, "access: %zu entries, reference %zu", a->n,
		    e);
		return 1;
	}
	/* A certificate for everything lasts no longer than its first
	 * granting binding. */
	if (rbac_grant(a, NULL, NULL, &gr) == 0) {
		exp = gr.expires_at;
		rbac_grant_clear(&gr);
		if (exp != all_exp) {
			snprintf(why, len, "grant: expires_at %lld, reference "
			    "%lld", (long long)exp, (long long)all_exp);
			return 1;
		}
	}
	return 0;
}

/* ---- building the library's view ---- */

static char *
xs(const char *s)
{
	char *d = strdup(s);

	cr_assert_not_null(d);
	return d;
}

static char **
xv(const char (*v)[8], int n)
{
	char **o = calloc((size_t)n + 1, sizeof(*o));
	int i;

	for (i = 0; i < n; i++)
		o[i] = xs(v[i]);
	return o;
}

static struct rbac_label *
xl(const char (*k)[8], const char (*v)[8], int n)
{
	struct rbac_label *l = calloc((size_t)n + 1, sizeof(*l));
	int i;

	for (i = 0; i < n; i++) {
		l[i].key = xs(k[i]);
		l[i].value = xs(v[i]);
	}
	return l;
}

struct model {
	struct rbac_target *t[MT];
	struct rbac_role *r[MR];
	struct rbac_binding *b[MB];
	int nt, nr, nb;
};

static void
model_build(const struct pol *p, struct model *m)
{
	char err[256];
	int i, j, k;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < p->nt; i++) {
		struct rbac_target *t = calloc(1, sizeof(*t));

		t->name = xs(p->t[i].name);
		t->labels = xl(p->t[i].lk, p->t[i].lv, p->t[i].nl);
		t->n_labels = (size_t)p->t[i].nl;
		cr_assert_eq(rbac_target_validate(t, err, sizeof(err)), 0,
		    "%s: %s", t->name, err);
		m->t[m->nt++] = t;
	}
	for (i = 0; i < p->nr; i++) {
		const struct rrole *s = &p->r[i];
		struct rbac_role *r = calloc(1, sizeof(*r));

		r->name = xs(s->name);
		r->rules = calloc((size_t)s->nr + 1, sizeof(*r->rules));
		r->n_rules = (size_t)s->nr;
		for (j = 0; j < s->nr; j++) {
			struct rbac_rule *d = &r->rules[j];

			d->targets = calloc((size_t)s->ru[j].ng + 1,
			    sizeof(char *));
			for (k = 0; k < s->ru[j].ng; k++)
				d->targets[k] = xs(s->ru[j].g[k]);
			d->n_targets = (size_t)s->ru[j].ng;
			d->labels = xl(s->ru[j].sk, s->ru[j].sv, s->ru[j].ns);
			d->n_labels = (size_t)s->ru[j].ns;
			d->logins = xv(s->ru[j].lg, s->ru[j].nl);
			d->n_logins = (size_t)s->ru[j].nl;
		}
		r->max_ttl = s->ttl;
		r->extensions = s->ext;
		r->source_address = calloc((size_t)s->nc + 1, sizeof(char *));
		for (j = 0; j < s->nc; j++)
			r->source_address[j] = xs(s->c[j]);
		r->n_source = (size_t)s->nc;
		r->force_command = s->fc[0] != '\0' ? xs(s->fc) : NULL;
		r->admin = s->admin;
		cr_assert_eq(rbac_role_validate(r, err, sizeof(err)), 0,
		    "%s: %s", r->name, err);
		m->r[m->nr++] = r;
	}
	for (i = 0; i < p->nb; i++) {
		struct rbac_binding *b = calloc(1, sizeof(*b));

		b->id = p->b[i].id;
		b->role = xs(p->b[i].role);
		b->subject = xs(p->b[i].subj);
		b->expires_at = p->b[i].exp;
		m->b[m->nb++] = b;
	}
}

static void
model_free(struct model *m)
{
	int i;

	for (i = 0; i < m->nt; i++)
		rbac_target_free(m->t[i]);
	for (i = 0; i < m->nr; i++)
		rbac_role_free(m->r[i]);
	for (i = 0; i < m->nb; i++)
		rbac_binding_free(m->b[i]);
}

static struct rbac_snap *
compile(const struct pol *p)
{
	struct model m;
	struct rbac_snap *s = NULL;

	model_build(p, &m);
	cr_assert_eq(rbac_snap_compile((const struct rbac_target *const *)m.t,
	    (size_t)m.nt, (const struct rbac_role *const *)m.r, (size_t)m.nr,
	    (const struct rbac_binding *const *)m.b, (size_t)m.nb, 1, p->cap,
	    &s), 0);
	model_free(&m);
	return s;
}

/* ---- comparison ---- */

static int
cidrs_agree(const struct rbac_decision *d, const struct ref_out *o)
{
	struct ra x;
	char buf[64];
	size_t i;
	int j, found;

	if ((int)d->n_cidrs != (o->nc < 0 ? 0 : o->nc))
		return 0;
	for (i = 0; i < d->n_cidrs; i++) {
		rbac_cidr_format(&d->cidrs[i], buf, sizeof(buf));
		ra_parse(buf, &x);
		for (j = 0, found = 0; j < o->nc; j++)
			found |= ra_eq(&x, &o->c[j]);
		if (!found)
			return 0;
	}
	return 1;
}

/* 0 when both agree; else a description in why. */
static int
disagree(const struct pol *p, const struct query *q, char *why, size_t len)
{
	struct rbac_snap *s = compile(p);
	struct rbac_decision d;
	struct ref_out o;
	const char *g[3];
	unsigned perms;
	int i, bad = 0;

	for (i = 0; i < q->ng; i++)
		g[i] = q->g[i];
	(void)rbac_decide(s, q->user, g, (size_t)q->ng, q->target, q->login,
	    q->now, &d);
	ref_decide(p, q, &o);
	perms = rbac_perms(s, q->user, g, (size_t)q->ng, q->now);
	if (d.reason != o.reason) {
		snprintf(why, len, "reason %d, reference %d", d.reason,
		    o.reason);
		bad = 1;
	} else if (d.reason == RBAC_ALLOW || d.reason == RBAC_DENY_SOURCE ||
	    d.reason == RBAC_DENY_COMMAND) {
		if (d.binding_id != o.id || strcmp(d.role, o.role) != 0 ||
		    (int)d.rule != o.rule) {
			snprintf(why, len, "deciding grant %llu/%s/%u, "
			    "reference %llu/%s/%d",
			    (unsigned long long)d.binding_id, d.role, d.rule,
			    (unsigned long long)o.id, o.role, o.rule);
			bad = 1;
		} else if (d.reason == RBAC_ALLOW && (d.max_ttl != o.ttl ||
		    d.extensions != o.ext || d.expires_at != o.exp ||
		    strcmp(d.force_command ? d.force_command : "", o.fc) !=
		    0 || !cidrs_agree(&d, &o))) {
			snprintf(why, len, "combination ttl %lld/%lld "
			    "expires %lld/%lld ext %u/%u fc '%s'/'%s' "
			    "cidrs %zu/%d",
			    (long long)d.max_ttl, (long long)o.ttl,
			    (long long)d.expires_at, (long long)o.exp,
			    d.extensions, o.ext, d.force_command ?
			    d.force_command : "", o.fc, d.n_cidrs, o.nc);
			bad = 1;
		}
	}
	if (!bad && (perms & 0xff) != ref_perms(p, q)) {
		snprintf(why, len, "perms %#x, reference %#x", perms,
		    ref_perms(p, q));
		bad = 1;
	}
	if (!bad) {
		struct rbac_access *a = NULL;

		cr_assert_eq(rbac_access(s, q->user, g, (size_t)q->ng, q->now,
		    &a), 0);
		bad = ref_access_check(p, q, a, why, len);
		rbac_access_free(a);
	}
	rbac_snap_release(s);
	return bad;
}

/* ---- shrinking ---- */

static int
rule_ok(const struct rrule *ru)
{
	return (ru->ng > 0 || ru->ns > 0) && ru->nl > 0;
}

#define DEL(arr, n, i) do { \
	memmove(&(arr)[i], &(arr)[(i) + 1], \
	    (size_t)((n) - (i) - 1) * sizeof((arr)[0])); \
	(n)--; \
} while (0)

/* Try candidate c; keep it when the disagreement stays. */
static int
try_keep(struct pol *p, struct query *q, const struct pol *c,
    const struct query *cq)
{
	char why[256];

	if (!disagree(c, cq, why, sizeof(why)))
		return 0;
	*p = *c;
	*q = *cq;
	return 1;
}

static void
shrink(struct pol *p, struct query *q)
{
	struct pol c;
	struct query cq;
	int changed = 1, i, j, k;

	while (changed) {
		changed = 0;
		for (i = 0; i < p->nb && !changed; i++) {
			c = *p;
			DEL(c.b, c.nb, i);
			changed = try_keep(p, q, &c, q);
		}
		for (i = 0; i < p->nr && !changed; i++) {
			c = *p;
			DEL(c.r, c.nr, i);
			changed = try_keep(p, q, &c, q);
		}
		for (i = 0; i < p->nt && !changed; i++) {
			c = *p;
			DEL(c.t, c.nt, i);
			changed = try_keep(p, q, &c, q);
		}
		for (i = 0; i < p->nt && !changed; i++)
			for (j = 0; j < p->t[i].nl && !changed; j++) {
				c = *p;
				DEL(c.t[i].lk, c.t[i].nl, j);
				c.t[i].nl++;
				DEL(c.t[i].lv, c.t[i].nl, j);
				changed = try_keep(p, q, &c, q);
			}
		for (i = 0; i < p->nr && !changed; i++) {
			struct rrole *r = &p->r[i];

			for (j = 0; j < r->nr && !changed; j++) {
				c = *p;
				DEL(c.r[i].ru, c.r[i].nr, j);
				changed = try_keep(p, q, &c, q);
			}
			for (j = 0; j < r->nc && !changed; j++) {
				c = *p;
				DEL(c.r[i].c, c.r[i].nc, j);
				changed = try_keep(p, q, &c, q);
			}
			if (!changed && r->fc[0] != '\0') {
				c = *p;
				c.r[i].fc[0] = '\0';
				changed = try_keep(p, q, &c, q);
			}
			for (j = 0; j < r->nr && !changed; j++) {
				struct rrule *ru = &r->ru[j];

				for (k = 0; k < ru->ng && !changed; k++) {
					c = *p;
					DEL(c.r[i].ru[j].g, c.r[i].ru[j].ng,
					    k);
					if (rule_ok(&c.r[i].ru[j]))
						changed = try_keep(p, q, &c,
						    q);
				}
				for (k = 0; k < ru->ns && !changed; k++) {
					c = *p;
					DEL(c.r[i].ru[j].sk, c.r[i].ru[j].ns,
					    k);
					c.r[i].ru[j].ns++;
					DEL(c.r[i].ru[j].sv, c.r[i].ru[j].ns,
					    k);
					if (rule_ok(&c.r[i].ru[j]))
						changed = try_keep(p, q, &c,
						    q);
				}
				for (k = 0; k < ru->nl && !changed; k++) {
					c = *p;
					DEL(c.r[i].ru[j].lg, c.r[i].ru[j].nl,
					    k);
					if (rule_ok(&c.r[i].ru[j]))
						changed = try_keep(p, q, &c,
						    q);
				}
			}
		}
		for (i = 0; i < q->ng && !changed; i++) {
			cq = *q;
			DEL(cq.g, cq.ng, i);
			changed = try_keep(p, q, p, &cq);
		}
	}
}

static void
print_case(const struct pol *p, const struct query *q, const char *why)
{
	int i, j, k;

	fprintf(stderr, "smallest disagreement: %s\n", why);
	fprintf(stderr, "query: user=%s groups=[", q->user);
	for (i = 0; i < q->ng; i++)
		fprintf(stderr, "%s%s", i ? "," : "", q->g[i]);
	fprintf(stderr, "] target=%s login=%s now=%lld cert_max_ttl=%lld\n",
	    q->target, q->login, (long long)q->now, (long long)p->cap);
	for (i = 0; i < p->nt; i++) {
		fprintf(stderr, "target %s {", p->t[i].name);
		for (j = 0; j < p->t[i].nl; j++)
			fprintf(stderr, " %s=%s", p->t[i].lk[j], p->t[i].lv[j]);
		fprintf(stderr, " }\n");
	}
	for (i = 0; i < p->nr; i++) {
		const struct rrole *r = &p->r[i];

		fprintf(stderr, "role %s ttl=%lld ext=%#x fc='%s' admin=%#x "
		    "source=[", r->name, (long long)r->ttl, r->ext, r->fc,
		    r->admin);
		for (j = 0; j < r->nc; j++)
			fprintf(stderr, "%s%s", j ? "," : "", r->c[j]);
		fprintf(stderr, "]\n");
		for (j = 0; j < r->nr; j++) {
			fprintf(stderr, "  rule %d globs=[", j);
			for (k = 0; k < r->ru[j].ng; k++)
				fprintf(stderr, "%s%s", k ? "," : "",
				    r->ru[j].g[k]);
			fprintf(stderr, "] labels={");
			for (k = 0; k < r->ru[j].ns; k++)
				fprintf(stderr, " %s=%s", r->ru[j].sk[k],
				    r->ru[j].sv[k]);
			fprintf(stderr, " } logins=[");
			for (k = 0; k < r->ru[j].nl; k++)
				fprintf(stderr, "%s%s", k ? "," : "",
				    r->ru[j].lg[k]);
			fprintf(stderr, "]\n");
		}
	}
	for (i = 0; i < p->nb; i++)
		fprintf(stderr, "binding %llu %s -> %s expires %lld\n",
		    (unsigned long long)p->b[i].id, p->b[i].subj, p->b[i].role,
		    (long long)p->b[i].exp);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end = NULL;
	unsigned long long x;

	if (v == NULL || *v == '\0')
		return dflt;
	x = strtoull(v, &end, 10);
	return end != NULL && *end == '\0' ? x : dflt;
}

TestSuite(rbac_diff);

Test(rbac_diff, snapshot_agrees_with_the_naive_reference, .timeout = 240)
{
	uint64_t seed = env_u64("RBAC_DIFF_SEED", 20261128);
	uint64_t npol = env_u64("RBAC_DIFF_POLICIES", 3000), i;
	struct pol p;
	struct query q;
	char why[256];
	int j;

	rng_state = seed | 1;
	for (i = 0; i < npol; i++) {
		gen_policy(&p);
		for (j = 0; j < 40; j++) {
			gen_query(&p, &q);
			if (!disagree(&p, &q, why, sizeof(why)))
				continue;
			shrink(&p, &q);
			(void)disagree(&p, &q, why, sizeof(why));
			print_case(&p, &q, why);
			cr_assert_fail("seed %llu policy %llu: %s",
			    (unsigned long long)seed, (unsigned long long)i,
			    why);
			return;
		}
	}
}

/* ---- through the store ---- */

static void
store_policy(struct pol *p, struct store *st, struct rbac *holder)
{
	static const struct rbac_actor root = { .who.name = "root" };
	struct store_txn *t = NULL;
	struct rbac_snap *s = NULL;
	struct model m;
	struct query q;
	struct ref_out o;
	struct rbac_decision d;
	const char *g[3];
	char err[256];
	uint64_t id;
	int i, j;

	/* Ghost bindings cannot be written through the admin path. */
	for (i = 0; i < p->nb; i++)
		if (strcmp(p->b[i].role, "ghost") == 0) {
			DEL(p->b, p->nb, i);
			i--;
		}
	model_build(p, &m);
	cr_assert_eq(store_begin(st, 1, &t), 0);
	for (i = 0; i < m.nt; i++)
		cr_assert_eq(rbac_target_put(t, &root, m.t[i], 0, err,
		    sizeof(err)), 0, "%s", err);
	for (i = 0; i < m.nr; i++)
		cr_assert_eq(rbac_role_put(t, &root, m.r[i], 0, err,
		    sizeof(err)), 0, "%s", err);
	for (i = 0; i < m.nb; i++) {
		cr_assert_eq(rbac_binding_create(t, &root, m.b[i]->role,
		    m.b[i]->subject, m.b[i]->expires_at, 0, &id, err,
		    sizeof(err)), 0, "%s", err);
		p->b[i].id = id;
	}
	cr_assert_eq(store_commit(t), 0);
	model_free(&m);
	cr_assert_eq(rbac_acquire(holder, &s), 0);
	for (j = 0; j < 40; j++) {
		gen_query(p, &q);
		for (i = 0; i < q.ng; i++)
			g[i] = q.g[i];
		(void)rbac_decide(s, q.user, g, (size_t)q.ng, q.target,
		    q.login, q.now, &d);
		ref_decide(p, &q, &o);
		cr_assert_eq(d.reason, o.reason, "store path: reason %d vs %d "
		    "for %s %s %s", d.reason, o.reason, q.user, q.target,
		    q.login);
		if (d.reason == RBAC_ALLOW) {
			cr_assert_eq(d.binding_id, o.id);
			cr_assert_eq(d.max_ttl, o.ttl);
			cr_assert_eq(d.extensions, o.ext);
			cr_assert_eq(d.expires_at, o.exp);
		}
	}
	rbac_snap_release(s);
}

Test(rbac_diff, store_loaded_snapshot_agrees_with_the_reference,
    .timeout = 240)
{
	uint64_t seed = env_u64("RBAC_DIFF_SEED", 77);
	char dir[PATH_MAX];
	struct store *st;
	struct store_txn *t = NULL;
	struct rbac *holder = NULL;
	struct pol p;
	int i;

	rng_state = seed | 1;
	for (i = 0; i < 25; i++) {
		cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
		cr_assert_eq(store_open(dir, NULL, &st), 0);
		cr_assert_eq(store_begin(st, 1, &t), 0);
		cr_assert_eq(rbac_bootstrap_admin(t, "root", 0), 0);
		cr_assert_eq(store_commit(t), 0);
		cr_assert_eq(rbac_open(st, 0, &holder), 0);
		gen_policy(&p);
		p.cap = 0;
		store_policy(&p, st, holder);
		rbac_close(holder);
		store_close(st);
		tmpdir_remove(dir);
	}
}
