/*
 * rbac_guard: the admin rule judged on the effect of a change.  Named
 * cases for the routes the red team used (issue 14, section 2), then the
 * differential test: random admin changes by random actors on random
 * small worlds, where the guard's verdict must equal a naive evaluator's
 * before/after comparison done by brute force over every user, target
 * and login.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rbac/rbac.h"
#include "rh.h"

#define NOW	1000000

/* ---- a tiny world: policy JSON plus people ---- */

struct person {
	const char *name;
	const char *groups[3];
	size_t ng;
	int active, can_login, handed;
};

static struct rbac_world
world(const struct rbac_snap *s, const struct person *p, size_t n,
    struct rbac_person *out)
{
	struct rbac_world w = { s, out, n };
	size_t i;

	for (i = 0; i < n; i++) {
		out[i].name = p[i].name;
		out[i].groups = p[i].groups;
		out[i].n_groups = p[i].ng;
		out[i].active = p[i].active;
		out[i].can_login = p[i].can_login;
		out[i].handed = p[i].handed;
	}
	return w;
}

/* Guard verdict for a change from (pol0, ppl0) to (pol1, ppl1). */
static int
judge(const char *pol0, const struct person *p0, size_t n0, const char *pol1,
    const struct person *p1, size_t n1, const char *actor, char *why,
    size_t len)
{
	struct rbac_snap *s0 = rh_compile(pol0, 0), *s1 = rh_compile(pol1, 0);
	struct rbac_person q0[8], q1[8];
	struct rbac_world w0 = world(s0, p0, n0, q0), w1 = world(s1, p1, n1,
	    q1);
	int r;

	why[0] = '\0';
	r = rbac_guard(&w0, &w1, actor, NOW, why, len);
	rbac_snap_release(s0);
	rbac_snap_release(s1);
	return r;
}

/* Policies of the findings: an admin "ann" with narrow permissions, an
 * engineer "bob", full admins "root" and "rex". */
#define TARGETS \
	"\"targets\":{\"prod/db\":{\"env\":\"prod\"}," \
	"\"lab/db\":{\"env\":\"lab\"}}"
#define ROLES(adm) \
	"\"roles\":{\"admin\":{\"admin\":[" adm "]}," \
	"\"dbroot\":{\"rules\":[{\"targets\":[\"prod/db\"]," \
	"\"logins\":[\"root\"]}]}," \
	"\"labops\":{\"rules\":[{\"labels\":{\"env\":\"lab\"}," \
	"\"logins\":[\"root\"]}]}," \
	"\"uw\":{\"admin\":[\"users:write\"]}," \
	"\"tw\":{\"admin\":[\"targets:write\"]}," \
	"\"rw\":{\"admin\":[\"roles:write\"]}," \
	"\"bw\":{\"admin\":[\"bindings:write\"]}}"

static const struct person people[] = {
	{ "ann", { NULL }, 0, 1, 1, 0 },
	{ "bob", { NULL }, 0, 1, 1, 0 },
	{ "rex", { NULL }, 0, 1, 1, 0 },
	{ "root", { NULL }, 0, 1, 1, 0 },
};
#define NPEOPLE (sizeof(people) / sizeof(people[0]))

static const char *base_bindings =
    "\"bindings\":["
    "{\"id\":1,\"role\":\"admin\",\"subject\":\"user:root\"},"
    "{\"id\":2,\"role\":\"admin\",\"subject\":\"user:rex\"},"
    "{\"id\":3,\"role\":\"dbroot\",\"subject\":\"group:dba\"},"
    "{\"id\":4,\"role\":\"labops\",\"subject\":\"user:ann\"},"
    "{\"id\":5,\"role\":\"uw\",\"subject\":\"user:ann\"},"
    "{\"id\":6,\"role\":\"tw\",\"subject\":\"user:ann\"},"
    "{\"id\":7,\"role\":\"rw\",\"subject\":\"user:ann\"},"
    "{\"id\":8,\"role\":\"bw\",\"subject\":\"user:ann\"}]";

static char *
policy(const char *targets, const char *roles, const char *bindings)
{
	char *s = NULL;

	cr_assert(asprintf(&s, "{%s,%s,%s}", targets, roles, bindings) > 0);
	return s;
}

TestSuite(rbac_guard);

Test(rbac_guard, finding2_users_write_admin_joins_group_holding_prod_root)
{
	char *pol = policy(TARGETS, ROLES("\"*\""), base_bindings), why[256];
	struct person after[NPEOPLE];

	memcpy(after, people, sizeof(people));
	after[0].groups[0] = "dba";	/* ann joins dba */
	after[0].ng = 1;
	cr_expect_eq(judge(pol, people, NPEOPLE, pol, after, NPEOPLE, "ann",
	    why, sizeof(why)), TSS_E_FORBIDDEN);
	cr_expect(strstr(why, "widen your own access (root@prod/db)") != NULL,
	    "%s", why);
	/* A full admin may not either. */
	memcpy(after, people, sizeof(people));
	after[3].groups[0] = "dba";
	after[3].ng = 1;
	cr_expect_eq(judge(pol, people, NPEOPLE, pol, after, NPEOPLE, "root",
	    why, sizeof(why)), TSS_E_FORBIDDEN);
	/* Putting someone else in the group is a grant, not a widening of
	 * the actor's reach: allowed. */
	memcpy(after, people, sizeof(people));
	after[1].groups[0] = "dba";
	after[1].ng = 1;
	cr_expect_eq(judge(pol, people, NPEOPLE, pol, after, NPEOPLE, "ann",
	    why, sizeof(why)), 0, "%s", why);
	free(pol);
}

Test(rbac_guard, finding2_targets_write_admin_relabels_prod_into_own_reach)
{
	char *pol0 = policy(TARGETS, ROLES("\"*\""), base_bindings);
	char *pol1 = policy("\"targets\":{\"prod/db\":{\"env\":\"lab\"},"
	    "\"lab/db\":{\"env\":\"lab\"}}", ROLES("\"*\""), base_bindings);
	char why[256];

	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "ann", why, sizeof(why)), TSS_E_FORBIDDEN);
	cr_expect(strstr(why, "root@prod/db") != NULL, "%s", why);
	/* The same relabel by someone it does not reach is fine. */
	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "root", why, sizeof(why)), 0, "%s", why);
	free(pol0);
	free(pol1);
}

Test(rbac_guard, finding2_roles_write_admin_demotes_every_full_admin)
{
	char *pol0 = policy(TARGETS, ROLES("\"*\""), base_bindings);
	char *pol1 = policy(TARGETS, ROLES("\"users:read\""), base_bindings);
	char why[256];

	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "ann", why, sizeof(why)), TSS_E_FORBIDDEN);
	cr_expect(strstr(why, "take the * permission from") != NULL, "%s",
	    why);
	/* A full admin may narrow it only while someone keeps "*". */
	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "root", why, sizeof(why)), TSS_E_FORBIDDEN);
	cr_expect(strstr(why, "no one who can log in holding the *") != NULL,
	    "%s", why);
	free(pol0);
	free(pol1);
}

Test(rbac_guard, finding2_force_delete_of_role_holding_permissions_actor_lacks)
{
	char *pol0 = policy(TARGETS, ROLES("\"*\""), base_bindings);
	/* admin role and its bindings gone (a forced delete). */
	char *pol1 = policy(TARGETS, ROLES("\"*\""),
	    "\"bindings\":["
	    "{\"id\":3,\"role\":\"dbroot\",\"subject\":\"group:dba\"},"
	    "{\"id\":4,\"role\":\"labops\",\"subject\":\"user:ann\"},"
	    "{\"id\":5,\"role\":\"uw\",\"subject\":\"user:ann\"},"
	    "{\"id\":6,\"role\":\"tw\",\"subject\":\"user:ann\"},"
	    "{\"id\":7,\"role\":\"rw\",\"subject\":\"user:ann\"},"
	    "{\"id\":8,\"role\":\"bw\",\"subject\":\"user:ann\"}]");
	char why[256];

	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "ann", why, sizeof(why)), TSS_E_FORBIDDEN);
	free(pol0);
	free(pol1);
}

Test(rbac_guard, finding2_bindings_write_admin_deletes_a_star_binding)
{
	char *pol0 = policy(TARGETS, ROLES("\"*\""), base_bindings);
	char *pol1 = policy(TARGETS, ROLES("\"*\""),
	    "\"bindings\":["
	    "{\"id\":1,\"role\":\"admin\",\"subject\":\"user:root\"},"
	    "{\"id\":3,\"role\":\"dbroot\",\"subject\":\"group:dba\"},"
	    "{\"id\":4,\"role\":\"labops\",\"subject\":\"user:ann\"},"
	    "{\"id\":5,\"role\":\"uw\",\"subject\":\"user:ann\"},"
	    "{\"id\":6,\"role\":\"tw\",\"subject\":\"user:ann\"},"
	    "{\"id\":7,\"role\":\"rw\",\"subject\":\"user:ann\"},"
	    "{\"id\":8,\"role\":\"bw\",\"subject\":\"user:ann\"}]");
	char why[256];

	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "ann", why, sizeof(why)), TSS_E_FORBIDDEN);
	cr_expect(strstr(why, "from rex") != NULL, "%s", why);
	/* Another full admin may; "*" is still held by root. */
	cr_expect_eq(judge(pol0, people, NPEOPLE, pol1, people, NPEOPLE,
	    "root", why, sizeof(why)), 0, "%s", why);
	free(pol0);
	free(pol1);
}

Test(rbac_guard, reset_of_a_stronger_account_hands_the_actor_its_permissions)
{
	char *pol = policy(TARGETS, ROLES("\"*\""), base_bindings), why[256];
	struct person after[NPEOPLE];

	memcpy(after, people, sizeof(people));
	after[2].handed = 1;	/* ann resets rex */
	after[2].can_login = 0;
	cr_expect_eq(judge(pol, people, NPEOPLE, pol, after, NPEOPLE, "ann",
	    why, sizeof(why)), TSS_E_FORBIDDEN);
	memcpy(after, people, sizeof(people));
	after[1].handed = 1;	/* ann resets bob: nothing to hand over */
	after[1].can_login = 0;
	cr_expect_eq(judge(pol, people, NPEOPLE, pol, after, NPEOPLE, "ann",
	    why, sizeof(why)), 0, "%s", why);
	free(pol);
}

Test(rbac_guard, disabled_actor_is_refused_and_decision_wider_compares_limits)
{
	char *pol = policy(TARGETS, ROLES("\"*\""), base_bindings), why[256];
	struct person p[NPEOPLE];
	struct rbac_decision a, b;

	memcpy(p, people, sizeof(people));
	p[3].active = 0;
	cr_expect_eq(judge(pol, p, NPEOPLE, pol, p, NPEOPLE, "root", why,
	    sizeof(why)), TSS_E_FORBIDDEN);
	free(pol);

	memset(&a, 0, sizeof(a));
	a.reason = RBAC_ALLOW;
	a.max_ttl = 600;
	a.extensions = RBAC_EXT_PTY;
	a.expires_at = NOW + 60;
	a.force_command = "/bin/true";
	a.n_cidrs = 1;
	a.cidrs[0].family = 4;
	a.cidrs[0].prefix = 8;
	a.cidrs[0].addr[0] = 10;
	b = a;
	cr_expect_not(rbac_decision_wider(&a, &b));
	b.max_ttl = 601;
	cr_expect(rbac_decision_wider(&a, &b));
	b = a;
	b.expires_at = 0;
	cr_expect(rbac_decision_wider(&a, &b));
	b = a;
	b.force_command = NULL;
	cr_expect(rbac_decision_wider(&a, &b));
	b = a;
	b.n_cidrs = 0;
	cr_expect(rbac_decision_wider(&a, &b));
	b = a;
	b.cidrs[0].prefix = 16;		/* 10.0.0.0/16: narrower */
	cr_expect_not(rbac_decision_wider(&a, &b));
	b = a;
	b.extensions |= RBAC_EXT_PORT;
	cr_expect(rbac_decision_wider(&a, &b));
	b = a;
	b.reason = RBAC_DENY_NO_RULE;
	cr_expect_not(rbac_decision_wider(&a, &b));
	cr_expect(rbac_decision_wider(&b, &a));
}

/* ---- the differential test ---- */

static uint64_t rng;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

#define NT	4
#define NR	4
#define NB	7
#define NU	4
#define NL	2

static const char *tnames[NT] = { "dev/api", "dev/db", "prod/api",
    "prod/db" };
static const char *lnames[NL] = { "app", "root" };
static const char *globs[] = { "prod/*", "dev/*", "*/db", "**", "prod/db" };
static const char *envs[] = { "dev", "prod" };
static const char *unames[NU] = { "u0", "u1", "u2", "u3" };
static const char *gnames[] = { "g0", "g1" };
static const uint32_t permbits[] = { RBAC_PERM_USERS_WRITE,
    RBAC_PERM_TARGETS_WRITE, RBAC_PERM_ROLES_WRITE, RBAC_PERM_BINDINGS_WRITE,
    RBAC_PERM_USERS_READ, RBAC_PERM_STAR | RBAC_PERM_ALL };
static const char *permnames[] = { "users:write", "targets:write",
    "roles:write", "bindings:write", "users:read" };
#define NPERM	5	/* permbits[NPERM] is "*" */

struct m_rule {
	int glob;		/* index into globs, -1 none */
	int env;		/* label selector, -1 none */
	unsigned logins;	/* bit per lnames */
};
struct m_role {
	int exists;
	struct m_rule rules[2];
	int nrules;
	int64_t ttl;
	uint32_t ext, admin;
};
struct m_binding {
	int exists;
	int role;
	int is_group, who;
	int64_t expires;
};
struct m_user {
	int exists, disabled, enrolled, handed;
	unsigned groups;	/* bit per gnames */
};
struct m_world {
	int tenv[NT];		/* -1: target absent */
	struct m_role roles[NR];
	struct m_binding b[NB];
	struct m_user u[NU];
};

static void
gen_world(struct m_world *w)
{
	int i, j;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < NT; i++)
		w->tenv[i] = (int)rnd(2);
	for (i = 0; i < NR; i++) {
		struct m_role *ro = &w->roles[i];

		ro->exists = rnd(5) != 0;
		ro->nrules = (int)rnd(3);
		for (j = 0; j < ro->nrules; j++) {
			ro->rules[j].glob = (int)rnd(6) - 1;
			ro->rules[j].env = ro->rules[j].glob < 0 ?
			    (int)rnd(2) : (int)rnd(3) - 1;
			ro->rules[j].logins = 1 + rnd(3);
		}
		ro->ttl = rnd(2) ? 600 : 3600;
		ro->ext = rnd(2) ? RBAC_EXT_PTY : RBAC_EXT_PTY | RBAC_EXT_PORT;
		/* "*" often enough that its last holder is at stake. */
		ro->admin = rnd(2) == 0 ? permbits[rnd(3) == 0 ? NPERM :
		    rnd(NPERM)] | (rnd(2) ? permbits[rnd(NPERM)] : 0) : 0;
	}
	for (i = 0; i < NB; i++) {
		w->b[i].exists = rnd(4) != 0;
		w->b[i].role = (int)rnd(NR);
		w->b[i].is_group = (int)rnd(2);
		w->b[i].who = (int)rnd(w->b[i].is_group ? 2 : NU);
		w->b[i].expires = (int64_t[]){ 0, 0, NOW + 100, NOW + 900,
		    NOW - 1 }[rnd(5)];
	}
	for (i = 0; i < NU; i++) {
		w->u[i].exists = rnd(6) != 0;
		w->u[i].disabled = rnd(5) == 0;
		w->u[i].enrolled = rnd(4) != 0;
		w->u[i].groups = rnd(4);
	}
}

/* One random admin change. */
static void
mutate(struct m_world *w)
{
	int i = 0;

	switch (rnd(9)) {
	case 0:		/* relabel or delete a target */
		i = (int)rnd(NT);
		w->tenv[i] = (int)rnd(3) - 1;
		break;
	case 1: {	/* put a role (new content) */
		struct m_world g;

		gen_world(&g);
		i = (int)rnd(NR);
		w->roles[i] = g.roles[i];
		w->roles[i].exists = 1;
		break;
	}
	case 2:		/* force-delete a role and its bindings */
		i = (int)rnd(NR);
		w->roles[i].exists = 0;
		for (int j = 0; j < NB; j++)
			if (w->b[j].role == i)
				w->b[j].exists = 0;
		break;
	case 3: {	/* create a binding */
		struct m_world g;

		gen_world(&g);
		i = (int)rnd(NB);
		if (!w->b[i].exists) {
			w->b[i] = g.b[i];
			w->b[i].exists = 1;
		}
		break;
	}
	case 4:		/* delete a binding */
		w->b[rnd(NB)].exists = 0;
		break;
	case 5:		/* set a user's groups */
		w->u[rnd(NU)].groups = rnd(4);
		break;
	case 6:		/* disable or enable */
		i = (int)rnd(NU);
		w->u[i].disabled = !w->u[i].disabled;
		break;
	case 7:		/* delete a user and the bindings to user:<name> */
		i = (int)rnd(NU);
		w->u[i].exists = 0;
		for (int j = 0; j < NB; j++)
			if (!w->b[j].is_group && w->b[j].who == i)
				w->b[j].exists = 0;
		break;
	default:	/* create or reset: the link goes to the actor */
		i = (int)rnd(NU);
		w->u[i].exists = 1;
		w->u[i].enrolled = 0;
		w->u[i].handed = 1;
		break;
	}
}

static char *
render(const struct m_world *w)
{
	json_t *root = json_object(), *t = json_object(), *ro = json_object(),
	    *bs = json_array();
	char *s;
	int i, j, k;

	for (i = 0; i < NT; i++)
		if (w->tenv[i] >= 0)
			json_object_set_new(t, tnames[i], json_pack("{s:s}",
			    "env", envs[w->tenv[i]]));
	for (i = 0; i < NR; i++) {
		const struct m_role *m = &w->roles[i];
		json_t *rules, *adm, *ext;
		char name[8];

		if (!m->exists)
			continue;
		rules = json_array();
		adm = json_array();
		ext = json_array();
		for (j = 0; j < m->nrules; j++) {
			json_t *ru = json_object(), *lg = json_array();

			if (m->rules[j].glob >= 0)
				json_object_set_new(ru, "targets", json_pack(
				    "[s]", globs[m->rules[j].glob]));
			if (m->rules[j].env >= 0)
				json_object_set_new(ru, "labels", json_pack(
				    "{s:s}", "env", envs[m->rules[j].env]));
			for (k = 0; k < NL; k++)
				if (m->rules[j].logins & (1u << k))
					json_array_append_new(lg,
					    json_string(lnames[k]));
			json_object_set_new(ru, "logins", lg);
			json_array_append_new(rules, ru);
		}
		if (m->admin & RBAC_PERM_STAR)
			json_array_append_new(adm, json_string("*"));
		else
			for (k = 0; k < NPERM; k++)
				if (m->admin & permbits[k])
					json_array_append_new(adm,
					    json_string(permnames[k]));
		json_array_append_new(ext, json_string("permit-pty"));
		if (m->ext & RBAC_EXT_PORT)
			json_array_append_new(ext,
			    json_string("permit-port-forwarding"));
		snprintf(name, sizeof(name), "r%d", i);
		json_object_set_new(ro, name, json_pack("{s:o, s:I, s:o, s:o}",
		    "rules", rules, "max_ttl", (json_int_t)m->ttl,
		    "extensions", ext, "admin", adm));
	}
	for (i = 0; i < NB; i++) {
		char role[8], subj[16];

		if (!w->b[i].exists)
			continue;
		snprintf(role, sizeof(role), "r%d", w->b[i].role);
		snprintf(subj, sizeof(subj), "%s:%s", w->b[i].is_group ?
		    "group" : "user", w->b[i].is_group ?
		    gnames[w->b[i].who] : unames[w->b[i].who]);
		json_array_append_new(bs, json_pack("{s:i, s:s, s:s, s:I}",
		    "id", i + 1, "role", role, "subject", subj, "expires_at",
		    (json_int_t)w->b[i].expires));
	}
	json_object_set_new(root, "targets", t);
	json_object_set_new(root, "roles", ro);
	json_object_set_new(root, "bindings", bs);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* People of a world, in name order (u0..u3 sort that way). */
static size_t
people_of(const struct m_world *w, struct person *p)
{
	size_t n = 0;
	int i, g;

	for (i = 0; i < NU; i++) {
		if (!w->u[i].exists)
			continue;
		memset(&p[n], 0, sizeof(p[n]));
		p[n].name = unames[i];
		for (g = 0; g < 2; g++)
			if (w->u[i].groups & (1u << g))
				p[n].groups[p[n].ng++] = gnames[g];
		p[n].active = !w->u[i].disabled;
		p[n].can_login = p[n].active && w->u[i].enrolled;
		p[n].handed = w->u[i].handed;
		n++;
	}
	return n;
}

/* ---- the naive evaluator ---- */

static int
n_binding_covers(const struct m_world *w, int b, int u)
{
	const struct m_binding *x = &w->b[b];

	if (!x->exists || !w->roles[x->role].exists ||
	    (x->expires != 0 && NOW >= x->expires))
		return 0;
	return x->is_group ? (w->u[u].groups >> x->who) & 1 : x->who == u;
}

static int
n_glob(int g, int t)
{
	const char *tn = tnames[t];

	switch (g) {
	case 0: return strncmp(tn, "prod/", 5) == 0;
	case 1: return strncmp(tn, "dev/", 4) == 0;
	case 2: return strcmp(strchr(tn, '/'), "/db") == 0;
	case 3: return 1;
	default: return strcmp(tn, "prod/db") == 0;
	}
}

static int
n_role_grants(const struct m_world *w, int r, int t, int l)
{
	const struct m_role *ro = &w->roles[r];
	int j;

	for (j = 0; j < ro->nrules; j++)
		if ((ro->rules[j].glob < 0 || n_glob(ro->rules[j].glob, t)) &&
		    (ro->rules[j].env < 0 || ro->rules[j].env ==
		    w->tenv[t]) && (ro->rules[j].logins & (1u << l)))
			return 1;
	return 0;
}

struct n_grant {
	int allowed;
	int64_t ttl, expires;
	uint32_t ext;
};

static struct n_grant
n_decide(const struct m_world *w, int u, int t, int l)
{
	struct n_grant g = { 0, INT64_MAX, 0, RBAC_EXT_ALL };
	int b;

	if (!w->u[u].exists || w->u[u].disabled || w->tenv[t] < 0)
		return (struct n_grant){ 0 };
	for (b = 0; b < NB; b++) {
		if (!n_binding_covers(w, b, u) ||
		    !n_role_grants(w, w->b[b].role, t, l))
			continue;
		g.allowed = 1;
		if (w->roles[w->b[b].role].ttl < g.ttl)
			g.ttl = w->roles[w->b[b].role].ttl;
		g.ext &= w->roles[w->b[b].role].ext;
		if (w->b[b].expires != 0 && (g.expires == 0 ||
		    w->b[b].expires < g.expires))
			g.expires = w->b[b].expires;
	}
	return g;
}

static uint32_t
n_perms(const struct m_world *w, int u)
{
	uint32_t p = 0;
	int b;

	if (!w->u[u].exists || w->u[u].disabled)
		return 0;
	for (b = 0; b < NB; b++)
		if (n_binding_covers(w, b, u))
			p |= w->roles[w->b[b].role].admin;
	return p;
}

static int
n_lacks(uint32_t have, uint32_t want)
{
	if (have & RBAC_PERM_STAR)
		return 0;
	if (have & RBAC_PERM_USERS_WRITE)	/* a :write implies its :read */
		have |= RBAC_PERM_USERS_READ;
	return (want & ~have) != 0;
}

static int n_last_star;

static int
n_verdict(const struct m_world *w0, const struct m_world *w1, int a)
{
	uint32_t mine, was, is;
	int u, t, l, stars0 = 0, stars1 = 0;

	if (!w0->u[a].exists || w0->u[a].disabled)
		return TSS_E_FORBIDDEN;
	mine = n_perms(w0, a);
	if (n_lacks(mine, n_perms(w1, a) & ~mine))
		return TSS_E_FORBIDDEN;
	for (t = 0; t < NT; t++)
		for (l = 0; l < NL; l++) {
			struct n_grant g0 = n_decide(w0, a, t, l),
			    g1 = n_decide(w1, a, t, l);

			if (g1.allowed && (!g0.allowed || g1.ttl > g0.ttl ||
			    (g1.ext & ~g0.ext) != 0 || (g0.expires != 0 &&
			    (g1.expires == 0 || g1.expires > g0.expires))))
				return TSS_E_FORBIDDEN;
		}
	for (u = 0; u < NU; u++) {
		was = w1->u[u].exists && w1->u[u].handed ? 0 : n_perms(w0, u);
		is = n_perms(w1, u);
		if (n_lacks(mine, is & ~was) || n_lacks(mine, was & ~is))
			return TSS_E_FORBIDDEN;
		stars0 += w0->u[u].exists && !w0->u[u].disabled &&
		    w0->u[u].enrolled && (n_perms(w0, u) & RBAC_PERM_STAR);
		stars1 += w1->u[u].exists && !w1->u[u].disabled &&
		    w1->u[u].enrolled && (n_perms(w1, u) & RBAC_PERM_STAR);
	}
	if (stars0 > 0 && stars1 == 0) {
		n_last_star++;
		return TSS_E_FORBIDDEN;
	}
	return 0;
}

Test(rbac_guard, differential_random_changes_by_random_actors, .timeout = 120)
{
	struct m_world w0, w1;
	struct person p0[NU], p1[NU];
	size_t n0, n1;
	char *s0, *s1, why[256];
	int i, a, want, got, refused = 0;

	rng = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 20000; i++) {
		gen_world(&w0);
		w1 = w0;
		mutate(&w1);
		if (rnd(3) == 0)
			mutate(&w1);
		for (int u = 0; u < NU; u++)
			if (!w1.u[u].exists)
				w1.u[u].handed = 0;
		a = (int)rnd(NU);
		s0 = render(&w0);
		s1 = render(&w1);
		n0 = people_of(&w0, p0);
		n1 = people_of(&w1, p1);
		want = n_verdict(&w0, &w1, a);
		got = judge(s0, p0, n0, s1, p1, n1, unames[a], why,
		    sizeof(why));
		cr_assert_eq(got, want, "case %d: guard %d (%s), naive %d\n"
		    "actor %s\nbefore %s\nafter  %s", i, got, why, want,
		    unames[a], s0, s1);
		refused += got != 0;
		free(s0);
		free(s1);
	}
	/* Both verdicts occur often enough to mean something. */
	cr_expect(n_last_star > 20, "last-star cases %d", n_last_star);
	cr_expect(refused > 2000 && refused < 18000, "refused %d", refused);
}
