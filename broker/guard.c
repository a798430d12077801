/* The admin guard's hook into group commit: load, change, load, judge. */
#include <stdlib.h>
#include <string.h>

#include "auth/user.h"
#include "broker.h"
#include "common/err.h"
#include "common/mem.h"
#include "guard.h"
#include "rbac/rbac.h"
#include "store/store.h"

struct world {
	struct rbac_world w;
	struct rbac_snap *snap;
	struct user **users;
	struct rbac_person *people;
	size_t n;
};

static void
world_clear(struct world *w)
{
	rbac_snap_release(w->snap);
	user_list_free(w->users, w->n);
	free(w->people);
	memset(w, 0, sizeof(*w));
}

/* The policy and every user as t sees them now (users in name order). */
static int
world_load(struct broker *b, struct store_txn *t, const char *handed,
    struct world *w)
{
	struct rbac_person *p;
	size_t i;
	int r;

	memset(w, 0, sizeof(*w));
	if ((r = rbac_acquire_txn(b->rbac, t, &w->snap)) != 0 ||
	    (r = user_list(t, &w->users, &w->n)) != 0)
		goto fail;
	if ((w->people = mem_calloc(w->n + 1, sizeof(*w->people))) == NULL) {
		r = TSS_E_NOMEM;
		goto fail;
	}
	for (i = 0; i < w->n; i++) {
		p = &w->people[i];
		p->name = w->users[i]->name;
		p->groups = (const char *const *)w->users[i]->groups;
		p->n_groups = w->users[i]->ngroups;
		p->active = !w->users[i]->disabled;
		p->can_login = p->active && w->users[i]->state == USER_ACTIVE;
		p->handed = handed != NULL && strcmp(p->name, handed) == 0;
	}
	w->w.snap = w->snap;
	w->w.people = w->people;
	w->w.n = w->n;
	return 0;
 fail:
	world_clear(w);
	return r;
}

struct guarded {
	struct broker *b;
	const struct caller *c;
	const char *handed;
	commit_fn fn;
	void *arg;
	int64_t now;
	char *errmsg;
	size_t len;
};

static int
guarded_fn(struct store_txn *t, void *a)
{
	struct guarded *g = a;
	struct world before, after;
	int r;

	memset(&after, 0, sizeof(after));
	if ((r = world_load(g->b, t, NULL, &before)) != 0)
		return r;
	if ((r = g->fn(t, g->arg)) == 0 &&
	    (r = world_load(g->b, t, g->handed, &after)) == 0)
		r = rbac_guard(&before.w, &after.w, g->c->username, g->now,
		    g->errmsg, g->len);
	world_clear(&before);
	world_clear(&after);
	return r;
}

int
guard_run(struct broker *b, const struct caller *c, const char *handed,
    commit_fn fn, void *arg, int64_t now, char *errmsg, size_t len)
{
	struct guarded g = { .b = b, .c = c, .handed = handed, .fn = fn,
	    .arg = arg, .now = now, .errmsg = errmsg, .len = len };

	return commit_run(b->commits, guarded_fn, &g);
}
