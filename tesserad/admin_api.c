/* Admin request bodies into typed use-case calls; see admin_api.h. */
#include <stdio.h>
#include <stdlib.h>

#include "admin_api.h"
#include "policy_json.h"
#include "auth/user.h"
#include "broker/broker.h"
#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"

int
admin_api_fields(const json_t *body, const char *const *allowed,
    char *errmsg, size_t len)
{
	return policy_json_fields(body, allowed, "", errmsg, len);
}

/* "groups": array of valid names, none twice -> borrowed string vector
 * (caller frees the vector only); *set says whether the body had the
 * member. */
static int
groups_of(const json_t *body, const char ***out, size_t *n, int *set,
    char *errmsg, size_t len)
{
	const json_t *j = json_object_get(body, "groups");
	const char **v;
	json_t *g;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if ((*set = j != NULL) == 0)
		return 0;
	if (!json_is_array(j) || json_array_size(j) > USER_GROUPS_MAX) {
		snprintf(errmsg, len, "groups: expected an array of at most %d "
		    "names", USER_GROUPS_MAX);
		return TSS_E_VALIDATION;
	}
	if ((v = mem_calloc(json_array_size(j) + 1, sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	json_array_foreach(j, i, g) {
		if (!json_is_string(g)) {
			snprintf(errmsg, len, "groups[%zu]: expected a string",
			    i);
			free(v);
			return TSS_E_VALIDATION;
		}
		v[i] = json_string_value(g);
	}
	if ((r = user_groups_valid(v, json_array_size(j), errmsg, len)) != 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = json_array_size(j);
	return 0;
}

int
admin_api_user_create(struct broker *b, const struct caller *c,
    const json_t *body, int64_t now, json_t **out, char *errmsg, size_t len)
{
	static const char *const keys[] = { "username", "groups", NULL };
	const char **groups = NULL;
	size_t n = 0;
	int set, r;

	*out = NULL;
	if ((r = admin_api_fields(body, keys, errmsg, len)) != 0 ||
	    (r = groups_of(body, &groups, &n, &set, errmsg, len)) != 0)
		return r;
	r = broker_user_create(b, c, json_string_value(json_object_get(body,
	    "username")), groups, n, now, out, errmsg, len);
	free(groups);
	return r;
}

int
admin_api_user_patch(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	static const char *const keys[] = { "groups", "disabled", NULL };
	const char **groups = NULL;
	const json_t *d;
	size_t n = 0;
	int set, disabled = -1, r;

	*out = NULL;
	if ((r = admin_api_fields(body, keys, errmsg, len)) != 0)
		return r;
	if ((d = json_object_get(body, "disabled")) != NULL) {
		if (!json_is_boolean(d)) {
			snprintf(errmsg, len, "disabled: expected true or false");
			return TSS_E_VALIDATION;
		}
		disabled = json_is_true(d);
	}
	if ((r = groups_of(body, &groups, &n, &set, errmsg, len)) != 0)
		return r;
	r = broker_user_patch(b, c, name, set ? groups : NULL, set ? n : 0,
	    set, disabled, now, out, errmsg, len);
	free(groups);
	return r;
}

int
admin_api_target_put(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	struct rbac_target *tg = NULL;
	int r;

	*out = NULL;
	if ((r = policy_json_target(name, body, &tg, errmsg, len)) == 0)
		r = broker_target_put(b, c, tg, now, out, errmsg, len);
	rbac_target_free(tg);
	return r;
}

int
admin_api_role_put(struct broker *b, const struct caller *c,
    const char *name, const json_t *body, int64_t now, json_t **out,
    char *errmsg, size_t len)
{
	struct rbac_role *ro = NULL;
	int r;

	*out = NULL;
	if ((r = policy_json_role(name, body, &ro, errmsg, len)) == 0)
		r = broker_role_put(b, c, ro, now, out, errmsg, len);
	rbac_role_free(ro);
	return r;
}

int
admin_api_binding_create(struct broker *b, const struct caller *c,
    const json_t *body, int64_t now, json_t **out, char *errmsg, size_t len)
{
	char *role = NULL, *subject = NULL;
	int64_t expires_at = 0;
	int r;

	*out = NULL;
	if ((r = policy_json_binding(body, now, &role, &subject,
	    &expires_at, errmsg, len)) == 0)
		r = broker_binding_create(b, c, role, subject, expires_at, now,
		    out, errmsg, len);
	free(role);
	free(subject);
	return r;
}
