/*
 * The admin guard: one rule for every admin change, judged on its effect.
 * The caller hands over the world (policy snapshot and people) as it was
 * before the change and as it is after it, both read in the write
 * transaction that makes the change; the guard compares them and refuses
 * when the change widens the actor's own reach, gives anyone a permission
 * the actor does not hold, takes from anyone a permission the actor does
 * not hold, or leaves no one who can log in holding "*".  The route (a
 * group edit, a relabelled target, a role edit, a binding) does not
 * matter: only who gains or loses what.
 */
#include <stdio.h>
#include <string.h>

#include "rbac_int.h"
#include "common/err.h"

/* Whoever may change a kind of record may also read it. */
static uint32_t
implied(uint32_t have)
{
	if (have & RBAC_PERM_TARGETS_WRITE)
		have |= RBAC_PERM_TARGETS_READ;
	if (have & RBAC_PERM_ROLES_WRITE)
		have |= RBAC_PERM_ROLES_READ;
	if (have & RBAC_PERM_BINDINGS_WRITE)
		have |= RBAC_PERM_BINDINGS_READ;
	if (have & RBAC_PERM_USERS_WRITE)
		have |= RBAC_PERM_USERS_READ;
	return have;
}

uint32_t
rbac__perm_lacking(uint32_t have, uint32_t want)
{
	uint32_t bit;

	have = implied(have);
	if ((have & RBAC_PERM_STAR) != 0)
		return 0;
	if ((want & RBAC_PERM_STAR) != 0)
		return RBAC_PERM_STAR;
	for (bit = 1; bit <= RBAC_PERM_ALL; bit <<= 1)
		if ((want & bit) != 0 && (have & bit) == 0)
			return bit;
	return 0;
}

int
rbac_perm_has(uint32_t have, uint32_t need)
{
	return rbac__perm_lacking(have, need) == 0;
}

/* "*" stands for every permission, including those added later. */
static uint32_t
norm(uint32_t p)
{
	return (p & RBAC_PERM_STAR) != 0 ? p | RBAC_PERM_ALL : p;
}

static const struct rbac_person *
find(const struct rbac_world *w, const char *name)
{
	size_t lo = 0, hi = w->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, w->people[mid].name)) == 0)
			return &w->people[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static uint32_t
perms_of(const struct rbac_world *w, const struct rbac_person *p,
    int64_t now)
{
	if (p == NULL || !p->active)
		return 0;
	return norm(rbac_perms(w->snap, p->name, p->groups, p->n_groups, now));
}

/* Every address b allows lies inside one a allows (0 entries: any). */
static int
cidrs_within(const struct rbac_cidr *b, size_t nb, const struct rbac_cidr *a,
    size_t na)
{
	size_t i, j;

	if (na == 0)
		return 1;
	if (nb == 0)
		return 0;
	for (i = 0; i < nb; i++) {
		for (j = 0; j < na; j++)
			if (rbac__cidr_within(&b[i], &a[j]))
				break;
		if (j == na)
			return 0;
	}
	return 1;
}

int
rbac_decision_wider(const struct rbac_decision *was,
    const struct rbac_decision *is)
{
	if (is->reason != RBAC_ALLOW)
		return 0;
	if (was->reason != RBAC_ALLOW)
		return 1;
	if (is->max_ttl > was->max_ttl ||
	    (is->extensions & ~was->extensions) != 0 ||
	    (was->expires_at != 0 && (is->expires_at == 0 ||
	    is->expires_at > was->expires_at)) ||
	    !cidrs_within(is->cidrs, is->n_cidrs, was->cidrs, was->n_cidrs))
		return 1;
	if (was->force_command != NULL && (is->force_command == NULL ||
	    strcmp(was->force_command, is->force_command) != 0))
		return 1;
	return 0;
}

/* Does p reach in after anything it did not reach (as widely) before? */
static int
reach_widened(const struct rbac_world *before, const struct rbac_world *after,
    const struct rbac_person *pb, const struct rbac_person *pa, int64_t now,
    char *errmsg, size_t errlen)
{
	struct rbac_access *acc = NULL;
	struct rbac_decision was, is;
	const struct rbac_access_entry *e;
	size_t i, j;
	int r;

	if (pa == NULL || !pa->active)
		return 0;
	if ((r = rbac_access(after->snap, pa->name, pa->groups, pa->n_groups,
	    now, &acc)) != 0)
		return r;
	for (i = 0; i < acc->n; i++) {
		e = &acc->entries[i];
		for (j = 0; j < e->n_logins; j++) {
			(void)rbac_decide(after->snap, pa->name, pa->groups,
			    pa->n_groups, e->target, e->logins[j], now, &is);
			if (pb != NULL && pb->active)
				(void)rbac_decide(before->snap, pb->name,
				    pb->groups, pb->n_groups, e->target,
				    e->logins[j], now, &was);
			else {
				memset(&was, 0, sizeof(was));
				was.reason = RBAC_DENY_NO_BINDING;
			}
			if (rbac_decision_wider(&was, &is)) {
				rbac__err(errmsg, errlen, "the change would "
				    "widen your own access (%s@%s)",
				    e->logins[j], e->target);
				r = TSS_E_FORBIDDEN;
				goto out;
			}
		}
	}
	r = 0;
 out:
	rbac_access_free(acc);
	return r;
}

/* Who can log in holding "*". */
static size_t
star_holders(const struct rbac_world *w, int64_t now)
{
	size_t i, n = 0;

	for (i = 0; i < w->n; i++)
		if (w->people[i].can_login &&
		    (perms_of(w, &w->people[i], now) & RBAC_PERM_STAR) != 0)
			n++;
	return n;
}

/* Permissions p gains and loses; the actor must hold each of them. */
static int
perms_moved(const struct rbac_world *before, const struct rbac_world *after,
    const char *name, uint32_t mine, int64_t now, char *errmsg,
    size_t errlen)
{
	const struct rbac_person *pb = find(before, name);
	const struct rbac_person *pa = find(after, name);
	uint32_t was, is, miss;

	/* An account handed to the actor (created, or reset to a new
	 * enrollment link) is the actor's until enrolled: all it holds
	 * counts as given. */
	was = pa != NULL && pa->handed ? 0 : perms_of(before, pb, now);
	is = perms_of(after, pa, now);
	if ((miss = rbac__perm_lacking(mine, is & ~was)) != 0) {
		rbac__err(errmsg, errlen, "the change would give %s the %s "
		    "permission, which you lack", name, rbac__perm_label(miss));
		return TSS_E_FORBIDDEN;
	}
	if ((miss = rbac__perm_lacking(mine, was & ~is)) != 0) {
		rbac__err(errmsg, errlen, "the change would take the %s "
		    "permission from %s, which you lack",
		    rbac__perm_label(miss), name);
		return TSS_E_FORBIDDEN;
	}
	return 0;
}

int
rbac_guard(const struct rbac_world *before, const struct rbac_world *after,
    const char *actor, int64_t now, char *errmsg, size_t errlen)
{
	const struct rbac_person *ab, *aa;
	uint32_t mine, gained, miss;
	size_t i;
	int r;

	if (before == NULL || after == NULL || actor == NULL ||
	    before->snap == NULL || after->snap == NULL)
		return TSS_E_INVALID_ARGUMENT;
	ab = find(before, actor);
	aa = find(after, actor);
	if (ab == NULL || !ab->active) {
		rbac__err(errmsg, errlen, "your account is not active");
		return TSS_E_FORBIDDEN;
	}
	mine = perms_of(before, ab, now);

	/* 1. Nobody widens their own reach, full admins included. */
	gained = perms_of(after, aa, now) & ~mine;
	if ((miss = rbac__perm_lacking(mine, gained)) != 0) {
		rbac__err(errmsg, errlen, "the change would give you the %s "
		    "permission", rbac__perm_label(miss));
		return TSS_E_FORBIDDEN;
	}
	if ((r = reach_widened(before, after, ab, aa, now, errmsg,
	    errlen)) != 0)
		return r;

	/* 2. Permissions move only within what the actor holds. */
	for (i = 0; i < before->n; i++)
		if ((r = perms_moved(before, after, before->people[i].name,
		    mine, now, errmsg, errlen)) != 0)
			return r;
	for (i = 0; i < after->n; i++)
		if (find(before, after->people[i].name) == NULL &&
		    (r = perms_moved(before, after, after->people[i].name,
		    mine, now, errmsg, errlen)) != 0)
			return r;

	/* 3. Someone who can log in keeps "*". */
	if (star_holders(before, now) > 0 && star_holders(after, now) == 0) {
		rbac__err(errmsg, errlen, "the change would leave no one "
		    "who can log in holding the * permission");
		return TSS_E_FORBIDDEN;
	}
	return 0;
}
