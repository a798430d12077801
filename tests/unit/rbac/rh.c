/* rbac suite fixtures. */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rh.h"
#include "common/err.h"
#include "tesserad/policy_json.h"
#include "tmpdir.h"

char rh_dir[PATH_MAX];

void
rh_setup(void)
{
	cr_assert_eq(tmpdir_make(rh_dir, sizeof(rh_dir)), 0);
}

void
rh_teardown(void)
{
	tmpdir_remove(rh_dir);
	rh_dir[0] = '\0';
}

struct store *
rh_open(void)
{
	struct store *s = NULL;

	cr_assert_eq(store_open(rh_dir, NULL, &s), 0);
	return s;
}

struct rbac_snap *
rh_compile(const char *policy_json, int64_t cert_max_ttl)
{
	struct rbac_target *tg[2048];
	struct rbac_role *ro[512];
	struct rbac_binding *bi[1024];
	struct rbac_snap *s = NULL;
	json_error_t jerr;
	json_t *p, *o, *v;
	const char *k;
	char err[256];
	size_t nt = 0, nr = 0, nb = 0, i;

	p = json_loads(policy_json, 0, &jerr);
	cr_assert_not_null(p, "policy JSON: %s", jerr.text);
	json_object_foreach(json_object_get(p, "targets"), k, v) {
		o = json_pack("{s:O}", "labels", v);
		cr_assert_lt(nt, 2048);
		cr_assert_eq(policy_json_target(k, o, &tg[nt], err,
		    sizeof(err)), 0, "target %s: %s", k, err);
		nt++;
		json_decref(o);
	}
	json_object_foreach(json_object_get(p, "roles"), k, v) {
		cr_assert_lt(nr, 512);
		cr_assert_eq(policy_json_role(k, v, &ro[nr], err,
		    sizeof(err)), 0, "role %s: %s", k, err);
		nr++;
	}
	json_array_foreach(json_object_get(p, "bindings"), i, v) {
		cr_assert_lt(nb, 1024);
		bi[nb] = calloc(1, sizeof(*bi[nb]));
		cr_assert_not_null(bi[nb]);
		bi[nb]->id = (uint64_t)json_integer_value(
		    json_object_get(v, "id"));
		bi[nb]->role = strdup(json_string_value(
		    json_object_get(v, "role")));
		bi[nb]->subject = strdup(json_string_value(
		    json_object_get(v, "subject")));
		bi[nb]->expires_at = json_integer_value(
		    json_object_get(v, "expires_at"));
		nb++;
	}
	cr_assert_eq(rbac_snap_compile((const struct rbac_target *const *)tg,
	    nt, (const struct rbac_role *const *)ro, nr,
	    (const struct rbac_binding *const *)bi, nb, 1, cert_max_ttl, &s),
	    0);
	for (i = 0; i < nt; i++)
		rbac_target_free(tg[i]);
	for (i = 0; i < nr; i++)
		rbac_role_free(ro[i]);
	for (i = 0; i < nb; i++)
		rbac_binding_free(bi[i]);
	json_decref(p);
	return s;
}

enum rbac_reason
rh_decide(const struct rbac_snap *s, const char *user, const char *groups_csv,
    const char *target, const char *login, int64_t now,
    struct rbac_decision *d)
{
	struct rbac_decision local;
	const char *g[16];
	char buf[256], *p, *c;
	size_t n = 0;
	int r;

	if (d == NULL)
		d = &local;
	buf[0] = '\0';
	if (groups_csv != NULL && groups_csv[0] != '\0') {
		cr_assert_lt(strlen(groups_csv), sizeof(buf));
		memcpy(buf, groups_csv, strlen(groups_csv) + 1);
		for (p = buf; p != NULL && n < 16; p = c) {
			if ((c = strchr(p, ',')) != NULL)
				*c++ = '\0';
			g[n++] = p;
		}
	}
	r = rbac_decide(s, user, g, n, target, login, now, d);
	cr_assert_eq(r == 0, d->reason == RBAC_ALLOW);
	return d->reason;
}
