/* Which logins any role grants on a target: the sshd snippet's input. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "rbac.h"
#include "rbac_int.h"
#include "store/store.h"

static int
add_login(char ***v, size_t *n, const char *login)
{
	char **grown;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], login) == 0)
			return 0;
	if ((grown = mem_realloc(*v, (*n + 1) * sizeof(char *))) == NULL)
		return TSS_E_NOMEM;
	*v = grown;
	if ((grown[*n] = mem_strdup(login)) == NULL)
		return TSS_E_NOMEM;
	(*n)++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rbac_target_logins(struct store_txn *t, const char *target, char ***out,
    size_t *n)
{
	struct store_cursor *c = NULL;
	struct rbac_target *tg = NULL;
	struct rbac_role *role = NULL;
	const void *k, *v;
	size_t kl, vl, i, j, cnt = 0;
	char **list = NULL;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = rbac_target_get(t, target, &tg)) != 0 ||
	    (r = store_cursor_open(t, STORE_DB_ROLES, &c)) != 0)
		goto out;
	for (r = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); r == 0;
	    r = store_cursor_next(c, &k, &kl, &v, &vl)) {
		if ((r = rbac__role_decode(k, kl, v, vl, &role)) != 0)
			goto out;
		for (i = 0; i < role->n_rules; i++) {
			if (!rbac__rule_matches(&role->rules[i], tg))
				continue;
			for (j = 0; j < role->rules[i].n_logins; j++)
				if ((r = add_login(&list, &cnt,
				    role->rules[i].logins[j])) != 0)
					goto out;
		}
		rbac_role_free(role);
		role = NULL;
	}
	if (r != TSS_E_NOT_FOUND)
		goto out;
	if (cnt > 1)
		qsort(list, cnt, sizeof(*list), cmp_str);
	*out = list;
	*n = cnt;
	list = NULL;
	r = 0;
 out:
	rbac_role_free(role);
	rbac_target_free(tg);
	store_cursor_close(c);
	for (i = 0; list != NULL && i < cnt; i++)
		free(list[i]);
	free(list);
	return r;
}
