/*
 * The decision: rbac_decide, rbac_perms, rbac_check, reasons.
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
