/*
 * JSON out: the model structs shaped as the request bodies plus their
 * bookkeeping fields, for responses and audit events' before and after.
 */
#include <jansson.h>

#include "rbac_int.h"

static json_t *
strv_json(char *const *v, size_t n)
{
	json_t *a;
	size_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
labels_json(const struct rbac_label *l, size_t n)
{
	json_t *o;
	size_t i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_object_set_new(o, l[i].key,
		    json_string(l[i].value)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *
rbac_target_to_json(const struct rbac_target *t)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "name", json_string(t->name)) != 0 ||
	    json_object_set_new(o, "labels",
	    labels_json(t->labels, t->n_labels)) != 0 ||
	    json_object_set_new(o, "hosts", strv_json(t->hosts,
	    t->n_hosts)) != 0 ||
	    json_object_set_new(o, "port", json_integer(t->port != 0 ?
	    t->port : 22)) != 0 ||
	    json_object_set_new(o, "gateway", str_or_null(t->gateway)) != 0 ||
	    json_object_set_new(o, "updated_at",
	    json_integer(t->updated_at)) != 0 ||
	    json_object_set_new(o, "updated_by",
	    str_or_null(t->updated_by)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
rbac_perms_json(uint32_t perms)
{
	json_t *a;
	uint32_t bit;
	int bad = 0;

	if ((a = json_array()) == NULL)
		return NULL;
	if ((perms & RBAC_PERM_STAR) != 0)
		bad |= json_array_append_new(a, json_string("*"));
	else
		/* In bit order, the order of model.c's name table. */
		for (bit = 1; (RBAC_PERM_ALL & bit) != 0; bit <<= 1)
			if ((perms & bit) != 0)
				bad |= json_array_append_new(a,
				    json_string(rbac__perm_label(bit)));
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
rbac_role_to_json(const struct rbac_role *r)
{
	json_t *o, *rules = NULL, *ru, *ext = NULL, *adm = NULL;
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((rules = json_array()) == NULL || (ext = json_array()) == NULL ||
	    (adm = rbac_perms_json(r->admin)) == NULL)
		goto fail;
	for (i = 0; i < r->n_rules; i++) {
		const struct rbac_rule *s = &r->rules[i];

		if ((ru = json_object()) == NULL ||
		    json_array_append_new(rules, ru) != 0)
			goto fail;
		if (s->n_targets > 0)
			bad |= json_object_set_new(ru, "targets",
			    strv_json(s->targets, s->n_targets));
		if (s->n_labels > 0)
			bad |= json_object_set_new(ru, "labels",
			    labels_json(s->labels, s->n_labels));
		bad |= json_object_set_new(ru, "logins",
		    strv_json(s->logins, s->n_logins));
	}
	for (i = 0; i < 5; i++)
		if ((r->extensions & (1u << i)) != 0)
			bad |= json_array_append_new(ext,
			    json_string(rbac_ext_name(1u << i)));
	bad |= json_object_set_new(o, "name", json_string(r->name));
	bad |= json_object_set_new(o, "rules", rules);
	rules = NULL;
	bad |= json_object_set_new(o, "max_ttl", json_integer(r->max_ttl));
	bad |= json_object_set_new(o, "extensions", ext);
	ext = NULL;
	bad |= json_object_set_new(o, "source_address",
	    strv_json(r->source_address, r->n_source));
	bad |= json_object_set_new(o, "force_command",
	    str_or_null(r->force_command));
	bad |= json_object_set_new(o, "admin", adm);
	adm = NULL;
	bad |= json_object_set_new(o, "updated_at",
	    json_integer(r->updated_at));
	bad |= json_object_set_new(o, "updated_by",
	    str_or_null(r->updated_by));
	if (bad)
		goto fail;
	return o;
 fail:
	json_decref(rules);
	json_decref(ext);
	json_decref(adm);
	json_decref(o);
	return NULL;
}

json_t *
rbac_binding_to_json(const struct rbac_binding *b)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "id", json_integer((json_int_t)b->id)) ||
	    json_object_set_new(o, "role", json_string(b->role)) ||
	    json_object_set_new(o, "subject", json_string(b->subject)) ||
	    json_object_set_new(o, "expires_at", b->expires_at == 0 ?
	    json_null() : json_integer(b->expires_at)) ||
	    json_object_set_new(o, "created_at",
	    json_integer(b->created_at)) ||
	    json_object_set_new(o, "created_by",
	    str_or_null(b->created_by))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
