/*
 * The policy request bodies (targets, roles, bindings) decoded into rbac's
 * model structs; see policy_json.h.  Only the JSON walking is here: each
 * field is checked with rbac's validators and the whole struct with
 * rbac_target_validate() or rbac_role_validate().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_json.h"
#include "common/duration.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/mem.h"
#include "rbac/rbac.h"

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rbac_label *)a)->key,
	    ((const struct rbac_label *)b)->key);
}

static int
labels_from_json(const char *field, const json_t *j, struct rbac_label **out,
    size_t *nout, char *errmsg, size_t errlen)
{
	struct rbac_label *l = NULL;
	const char *k;
	json_t *v;
	size_t n = 0, cap;
	int r = TSS_E_VALIDATION;

	*out = NULL;
	*nout = 0;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_object(j)) {
		snprintf(errmsg, errlen, "%s: must be an object", field);
		return TSS_E_VALIDATION;
	}
	cap = json_object_size(j);
	if (cap > RBAC_LABELS_MAX) {
		snprintf(errmsg, errlen, "%s: at most %d labels", field,
		    RBAC_LABELS_MAX);
		return TSS_E_VALIDATION;
	}
	if ((l = mem_calloc(cap == 0 ? 1 : cap, sizeof(*l))) == NULL)
		return TSS_E_NOMEM;
	json_object_foreach(jsonw_iterable(j), k, v) {
		if (!json_is_string(v) || rbac_valid_label_value(
		    json_string_value(v)) != 0 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(errmsg, errlen, "%s.%.63s: value must be a "
			    "string of 1-63 characters of A-Z a-z 0-9 . _ -",
			    field, k);
			goto out;
		}
		if (rbac_valid_label_key(k) != 0) {
			snprintf(errmsg, errlen, "%s: key must be 1-63 "
			    "characters of a-z 0-9 . _ - / starting with a "
			    "letter or digit", field);
			goto out;
		}
		l[n].key = mem_strdup(k);
		l[n].value = mem_strdup(json_string_value(v));
		n++;
		if (l[n - 1].key == NULL || l[n - 1].value == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	qsort(l, n, sizeof(*l), label_cmp);
	*out = l;
	*nout = n;
	l = NULL;
	r = 0;
 out:
	rbac_labels_free(l, n);
	return r;
}

int
policy_json_strv(const char *field, const json_t *j, size_t max,
    int (*valid)(const char *), const char *what, char ***out, size_t *nout,
    char *errmsg, size_t errlen)
{
	char **v = NULL;
	size_t i, n = 0;
	json_t *e;
	int r = TSS_E_VALIDATION;

	*out = NULL;
	*nout = 0;
	if (!json_is_array(j)) {
		snprintf(errmsg, errlen, "%s: must be an array", field);
		return TSS_E_VALIDATION;
	}
	if (json_array_size(j) > max) {
		snprintf(errmsg, errlen, "%s: at most %zu entries", field,
		    max);
		return TSS_E_VALIDATION;
	}
	if ((v = mem_calloc(json_array_size(j) + 1, sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e) ||
		    (valid != NULL && valid(json_string_value(e)) != 0)) {
			snprintf(errmsg, errlen, "%s[%zu]: %s", field, i,
			    what);
			goto out;
		}
		if ((v[n] = mem_strdup(json_string_value(e))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		n++;
	}
	*out = v;
	*nout = n;
	v = NULL;
	r = 0;
 out:
	rbac_strv_free(v, n);
	return r;
}

int
policy_json_fields(const json_t *j, const char *const *allowed,
    const char *where, char *errmsg, size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(jsonw_iterable(j), k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			snprintf(errmsg, errlen, "%s%.64s: unknown field",
			    where, k);
			return TSS_E_VALIDATION;
		}
	}
	return 0;
}

static int
check_name(const json_t *j, const char *name, char *errmsg, size_t errlen)
{
	json_t *n = json_object_get(j, "name");

	if (n != NULL && (!json_is_string(n) ||
	    strcmp(json_string_value(n), name) != 0)) {
		snprintf(errmsg, errlen, "name: differs from the name in the "
		    "path");
		return TSS_E_VALIDATION;
	}
	return 0;
}

int
policy_json_target(const char *name, const json_t *j,
    struct rbac_target **out, char *errmsg, size_t errlen)
{
	static const char *const keys[] = { "name", "labels", "hosts", "port",
	    "gateway", "updated_at", "updated_by", NULL };
	struct rbac_target *t = NULL;
	const json_t *v;
	const char *last;
	int r = TSS_E_VALIDATION;

	*out = NULL;
	if (!json_is_object(j)) {
		snprintf(errmsg, errlen, "body: must be a JSON object");
		return TSS_E_VALIDATION;
	}
	if (rbac_valid_target_name(name) != 0) {
		snprintf(errmsg, errlen, "name: '/'-separated segments of "
		    "[a-z0-9][a-z0-9._-]*, at most %d bytes, last segment not "
		    "sshd", RBAC_NAME_MAX);
		return TSS_E_VALIDATION;
	}
	/* GET .../route and POST .../token would shadow such a target. */
	last = strrchr(name, '/') != NULL ? strrchr(name, '/') + 1 : name;
	if (strcmp(last, "route") == 0 || strcmp(last, "token") == 0) {
		snprintf(errmsg, errlen, "name: the last segment may not be "
		    "%s (an API path)", last);
		return TSS_E_VALIDATION;
	}
	if ((r = policy_json_fields(j, keys, "", errmsg, errlen)) != 0 ||
	    (r = check_name(j, name, errmsg, errlen)) != 0)
		return r;
	if ((t = mem_calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	t->port = 22;
	if ((t->name = mem_strdup(name)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if ((r = labels_from_json("labels", json_object_get(j, "labels"),
	    &t->labels, &t->n_labels, errmsg, errlen)) != 0)
		goto out;
	if ((v = json_object_get(j, "hosts")) != NULL && !json_is_null(v) &&
	    (r = policy_json_strv("hosts", v, RBAC_HOSTS_MAX, rbac_valid_host,
	    "an IPv4 or IPv6 address or a lowercase DNS name", &t->hosts,
	    &t->n_hosts, errmsg, errlen)) != 0)
		goto out;
	r = TSS_E_VALIDATION;
	if ((v = json_object_get(j, "port")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535) {
			snprintf(errmsg, errlen, "port: an integer from 1 to "
			    "65535");
			goto out;
		}
		t->port = (uint16_t)json_integer_value(v);
	}
	if ((v = json_object_get(j, "gateway")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v) ||
		    rbac_valid_gateway(json_string_value(v)) != 0) {
			snprintf(errmsg, errlen, "gateway: host:port (an "
			    "address, a lowercase DNS name or [v6addr], port 1 "
			    "to 65535) or null");
			goto out;
		}
		if ((t->gateway = mem_strdup(json_string_value(v))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if ((r = rbac_target_validate(t, errmsg, errlen)) != 0)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
 out:
	rbac_target_free(t);
	return r;
}

static int
rule_from_json(size_t idx, const json_t *j, struct rbac_rule *ru,
    char *errmsg, size_t errlen)
{
	static const char *const keys[] = { "targets", "labels", "logins",
	    NULL };
	char field[48];
	json_t *v;
	int r;

	(void)snprintf(field, sizeof(field), "rules[%zu].", idx);
	if (!json_is_object(j)) {
		snprintf(errmsg, errlen, "rules[%zu]: must be an object",
		    idx);
		return TSS_E_VALIDATION;
	}
	if ((r = policy_json_fields(j, keys, field, errmsg, errlen)) != 0)
		return r;
	if ((v = json_object_get(j, "targets")) != NULL && !json_is_null(v)) {
		(void)snprintf(field, sizeof(field), "rules[%zu].targets",
		    idx);
		if ((r = policy_json_strv(field, v, RBAC_GLOBS_MAX,
		    rbac_valid_glob, "not a target glob ('/'-separated "
		    "segments of a-z 0-9 . _ - *, \"**\" only as the last "
		    "segment, at most 128 bytes)", &ru->targets,
		    &ru->n_targets, errmsg, errlen)) != 0)
			return r;
	}
	(void)snprintf(field, sizeof(field), "rules[%zu].labels", idx);
	if ((r = labels_from_json(field, json_object_get(j, "labels"),
	    &ru->labels, &ru->n_labels, errmsg, errlen)) != 0)
		return r;
	if (ru->n_targets == 0 && ru->n_labels == 0) {
		snprintf(errmsg, errlen, "rules[%zu]: needs targets or "
		    "labels", idx);
		return TSS_E_VALIDATION;
	}
	(void)snprintf(field, sizeof(field), "rules[%zu].logins", idx);
	if ((v = json_object_get(j, "logins")) == NULL) {
		snprintf(errmsg, errlen, "%s: required", field);
		return TSS_E_VALIDATION;
	}
	if ((r = policy_json_strv(field, v, RBAC_LOGINS_MAX, rbac_valid_login,
	    "not a POSIX account name ([a-z_][a-z0-9_-]{0,31})",
	    &ru->logins, &ru->n_logins, errmsg, errlen)) != 0)
		return r;
	if (ru->n_logins == 0) {
		snprintf(errmsg, errlen, "%s: at least one login", field);
		return TSS_E_VALIDATION;
	}
	return 0;
}

static int
valid_cidr_str(const char *s)
{
	struct rbac_cidr c;

	return rbac_cidr_parse(s, &c) == 0 ? 0 : TSS_E_VALIDATION;
}

int
policy_json_role(const char *name, const json_t *j,
    struct rbac_role **out, char *errmsg, size_t errlen)
{
	static const char *const keys[] = { "name", "rules", "max_ttl",
	    "extensions", "source_address", "force_command", "admin",
	    "updated_at", "updated_by", NULL };
	struct rbac_role *ro = NULL;
	struct rbac_cidr c;
	char buf[64], **sv = NULL;
	size_t i, n = 0;
	json_t *v, *e;
	int64_t ttl;
	uint32_t bit;
	int r = TSS_E_VALIDATION;

	*out = NULL;
	if (!json_is_object(j)) {
		snprintf(errmsg, errlen, "body: must be a JSON object");
		return TSS_E_VALIDATION;
	}
	if (rbac_valid_role_name(name) != 0) {
		snprintf(errmsg, errlen, "name: 1-64 characters of "
		    "a-z 0-9 . _ - starting with a letter or digit");
		return TSS_E_VALIDATION;
	}
	if ((r = policy_json_fields(j, keys, "", errmsg, errlen)) != 0 ||
	    (r = check_name(j, name, errmsg, errlen)) != 0)
		return r;
	if ((ro = mem_calloc(1, sizeof(*ro))) == NULL)
		return TSS_E_NOMEM;
	r = TSS_E_NOMEM;
	if ((ro->name = mem_strdup(name)) == NULL)
		goto out;
	ro->max_ttl = RBAC_DEFAULT_TTL;
	ro->extensions = RBAC_EXT_DEFAULT;
	r = TSS_E_VALIDATION;

	v = json_object_get(j, "rules");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v)) {
			snprintf(errmsg, errlen, "rules: must be an array");
			goto out;
		}
		if (json_array_size(v) > RBAC_RULES_MAX) {
			snprintf(errmsg, errlen, "rules: at most %d rules",
			    RBAC_RULES_MAX);
			goto out;
		}
		if ((ro->rules = mem_calloc(json_array_size(v) + 1,
		    sizeof(*ro->rules))) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		json_array_foreach(v, i, e) {
			ro->n_rules++;
			if ((r = rule_from_json(i, e, &ro->rules[i], errmsg,
			    errlen)) != 0)
				goto out;
		}
	}
	r = TSS_E_VALIDATION;
	if ((v = json_object_get(j, "max_ttl")) != NULL && !json_is_null(v)) {
		if (json_is_integer(v))
			ttl = (int64_t)json_integer_value(v);
		else if (!json_is_string(v) ||
		    duration_parse(json_string_value(v), &ttl) != 0)
			ttl = -1;
		if (ttl < 1 || ttl > RBAC_TTL_MAX) {
			snprintf(errmsg, errlen, "max_ttl: seconds (1 to 100 "
			    "years) or a duration like \"8h\"");
			goto out;
		}
		ro->max_ttl = ttl;
	}
	if ((v = json_object_get(j, "extensions")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_array(v)) {
			snprintf(errmsg, errlen, "extensions: must be an "
			    "array");
			goto out;
		}
		ro->extensions = 0;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || rbac_ext_parse(
			    json_string_value(e), &bit) != 0) {
				snprintf(errmsg, errlen, "extensions[%zu]: "
				    "one of permit-X11-forwarding, "
				    "permit-agent-forwarding, "
				    "permit-port-forwarding, permit-pty, "
				    "permit-user-rc", i);
				goto out;
			}
			ro->extensions |= bit;
		}
	}
	if ((v = json_object_get(j, "source_address")) != NULL &&
	    !json_is_null(v)) {
		if ((r = policy_json_strv("source_address", v, RBAC_CIDRS_MAX,
		    valid_cidr_str, "not an address/prefix with zero host "
		    "bits", &sv, &n, errmsg, errlen)) != 0)
			goto out;
		/* Keep the canonical text. */
		for (i = 0; i < n; i++) {
			(void)rbac_cidr_parse(sv[i], &c);
			rbac_cidr_format(&c, buf, sizeof(buf));
			free(sv[i]);
			if ((sv[i] = mem_strdup(buf)) == NULL) {
				r = TSS_E_NOMEM;
				goto out;
			}
		}
		ro->source_address = sv;
		ro->n_source = n;
		sv = NULL;
		r = TSS_E_VALIDATION;
	}
	if ((v = json_object_get(j, "force_command")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v) ||
		    rbac_valid_force_command(json_string_value(v)) != 0) {
			snprintf(errmsg, errlen, "force_command: null or 1-%d "
			    "characters, no control characters",
			    RBAC_FORCE_COMMAND_MAX);
			goto out;
		}
		if ((ro->force_command = mem_strdup(json_string_value(v))) ==
		    NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
	}
	if ((v = json_object_get(j, "admin")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v)) {
			snprintf(errmsg, errlen, "admin: must be an array");
			goto out;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || rbac_perm_parse(
			    json_string_value(e), &bit) != 0) {
				snprintf(errmsg, errlen, "admin[%zu]: one of "
				    "users:read, users:write, targets:write, "
				    "roles:write, bindings:read, "
				    "bindings:write, certs:revoke, "
				    "audit:read, targets:read, roles:read, "
				    "*", i);
				goto out;
			}
			ro->admin |= bit;
		}
	}
	if ((r = rbac_role_validate(ro, errmsg, errlen)) != 0)
		goto out;
	*out = ro;
	ro = NULL;
	r = 0;
 out:
	rbac_strv_free(sv, n);
	rbac_role_free(ro);
	return r;
}

int
policy_json_binding(const json_t *j, int64_t now, char **role,
    char **subject, int64_t *expires_at, char *errmsg, size_t errlen)
{
	static const char *const keys[] = { "role", "subject", "expires_at",
	    NULL };
	json_t *v;
	char *ro = NULL, *su = NULL;
	int64_t exp = 0;
	int r = TSS_E_VALIDATION;

	*role = NULL;
	*subject = NULL;
	*expires_at = 0;
	if (!json_is_object(j)) {
		snprintf(errmsg, errlen, "body: must be a JSON object");
		return TSS_E_VALIDATION;
	}
	if ((r = policy_json_fields(j, keys, "", errmsg, errlen)) != 0)
		return r;
	r = TSS_E_VALIDATION;
	v = json_object_get(j, "role");
	if (!json_is_string(v) || rbac_valid_role_name(
	    json_string_value(v)) != 0) {
		snprintf(errmsg, errlen, "role: a role name");
		goto out;
	}
	if ((ro = mem_strdup(json_string_value(v))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	v = json_object_get(j, "subject");
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v) || rbac_valid_subject(
	    json_string_value(v)) != 0) {
		snprintf(errmsg, errlen, "subject: \"user:<name>\" or "
		    "\"group:<name>\"");
		goto out;
	}
	if ((su = mem_strdup(json_string_value(v))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	v = json_object_get(j, "expires_at");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= now ||
		    json_integer_value(v) > now + RBAC_TTL_MAX) {
			snprintf(errmsg, errlen, "expires_at: null or a Unix "
			    "time in the future");
			goto out;
		}
		exp = (int64_t)json_integer_value(v);
	}
	*role = ro;
	*subject = su;
	*expires_at = exp;
	ro = su = NULL;
	r = 0;
 out:
	free(ro);
	free(su);
	return r;
}
