/*
 * The model structs' lifetimes and storage: the _free functions, deep
 * copies, and the versioned records of the TARGETS, ROLES and BINDINGS
 * databases (decoded as untrusted bytes, then validated like a request).
 */
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/record.h"

/* ---- frees ---- */

void
rbac_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
rbac_labels_free(struct rbac_label *l, size_t n)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

void
rbac_target_free(struct rbac_target *t)
{
	if (t == NULL)
		return;
	free(t->name);
	rbac_labels_free(t->labels, t->n_labels);
	rbac_strv_free(t->hosts, t->n_hosts);
	free(t->gateway);
	free(t->updated_by);
	free(t);
}

static void
rule_clear(struct rbac_rule *ru)
{
	rbac_strv_free(ru->targets, ru->n_targets);
	rbac_labels_free(ru->labels, ru->n_labels);
	rbac_strv_free(ru->logins, ru->n_logins);
}

void
rbac_role_free(struct rbac_role *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->name);
	if (r->rules != NULL) {
		for (i = 0; i < r->n_rules; i++)
			rule_clear(&r->rules[i]);
		free(r->rules);
	}
	rbac_strv_free(r->source_address, r->n_source);
	free(r->force_command);
	free(r->updated_by);
	free(r);
}

void
rbac_binding_free(struct rbac_binding *b)
{
	if (b == NULL)
		return;
	free(b->role);
	free(b->subject);
	free(b->created_by);
	free(b);
}

/* ---- deep copies ---- */

static char **
dup_strv(char *const *v, size_t n)
{
	char **o;
	size_t i;

	if ((o = mem_calloc(n == 0 ? 1 : n, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((o[i] = mem_strdup(v[i])) == NULL) {
			rbac_strv_free(o, i);
			return NULL;
		}
	}
	return o;
}

static struct rbac_label *
dup_labels(const struct rbac_label *l, size_t n)
{
	struct rbac_label *o;
	size_t i;

	if ((o = mem_calloc(n == 0 ? 1 : n, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		o[i].key = mem_strdup(l[i].key);
		o[i].value = mem_strdup(l[i].value);
		if (o[i].key == NULL || o[i].value == NULL) {
			rbac_labels_free(o, i + 1);
			return NULL;
		}
	}
	return o;
}

struct rbac_target *
rbac__target_dup(const struct rbac_target *t)
{
	struct rbac_target *o;

	if ((o = mem_calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->updated_at = t->updated_at;
	o->port = t->port;
	if ((o->name = mem_strdup(t->name)) == NULL ||
	    (o->labels = dup_labels(t->labels, t->n_labels)) == NULL ||
	    (o->hosts = dup_strv(t->hosts, t->n_hosts)) == NULL ||
	    (t->gateway != NULL &&
	    (o->gateway = mem_strdup(t->gateway)) == NULL))
		goto fail;
	o->n_labels = t->n_labels;
	o->n_hosts = t->n_hosts;
	if (t->updated_by != NULL &&
	    (o->updated_by = mem_strdup(t->updated_by)) == NULL)
		goto fail;
	return o;
 fail:
	rbac_target_free(o);
	return NULL;
}

struct rbac_role *
rbac__role_dup(const struct rbac_role *r)
{
	struct rbac_role *o;
	size_t i;

	if ((o = mem_calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->max_ttl = r->max_ttl;
	o->extensions = r->extensions;
	o->admin = r->admin;
	o->updated_at = r->updated_at;
	if ((o->name = mem_strdup(r->name)) == NULL ||
	    (o->rules = mem_calloc(r->n_rules == 0 ? 1 : r->n_rules,
	    sizeof(*o->rules))) == NULL)
		goto fail;
	for (i = 0; i < r->n_rules; i++, o->n_rules++) {
		const struct rbac_rule *s = &r->rules[i];
		struct rbac_rule *d = &o->rules[i];

		if ((d->targets = dup_strv(s->targets, s->n_targets)) == NULL)
			goto fail;
		d->n_targets = s->n_targets;
		if ((d->labels = dup_labels(s->labels, s->n_labels)) == NULL)
			goto fail;
		d->n_labels = s->n_labels;
		if ((d->logins = dup_strv(s->logins, s->n_logins)) == NULL)
			goto fail;
		d->n_logins = s->n_logins;
	}
	if ((o->source_address = dup_strv(r->source_address,
	    r->n_source)) == NULL)
		goto fail;
	o->n_source = r->n_source;
	if (r->force_command != NULL &&
	    (o->force_command = mem_strdup(r->force_command)) == NULL)
		goto fail;
	if (r->updated_by != NULL &&
	    (o->updated_by = mem_strdup(r->updated_by)) == NULL)
		goto fail;
	return o;
 fail:
	rbac_role_free(o);
	return NULL;
}

/* ---- records ---- */

static int
put_strv(struct buf *b, char *const *v, size_t n)
{
	size_t i;
	int r;

	if ((r = buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = buf_put_cstring(b, v[i])) != 0)
			return r;
	return 0;
}

static int
put_labels(struct buf *b, const struct rbac_label *l, size_t n)
{
	size_t i;
	int r;

	if ((r = buf_put_u32(b, (uint32_t)n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		if ((r = buf_put_cstring(b, l[i].key)) != 0 ||
		    (r = buf_put_cstring(b, l[i].value)) != 0)
			return r;
	return 0;
}

static int
get_count(struct buf *b, size_t max, size_t *n)
{
	uint32_t v;
	int r;

	if ((r = buf_get_u32(b, &v)) != 0)
		return r;
	if (v > max)
		return TSS_E_BAD_FORMAT;
	*n = v;
	return 0;
}

static int
get_strv(struct buf *b, size_t max, char ***out, size_t *nout)
{
	char **v;
	size_t n, i;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = get_count(b, max, &n)) != 0)
		return r;
	if ((v = mem_calloc(n + 1, sizeof(*v))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < n; i++) {
		if ((r = buf_get_cstring(b, &v[i], NULL)) != 0) {
			rbac_strv_free(v, i);
			return r;
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
get_labels(struct buf *b, struct rbac_label **out, size_t *nout)
{
	struct rbac_label *l;
	size_t n, i;
	int r;

	*out = NULL;
	*nout = 0;
	if ((r = get_count(b, RBAC_LABELS_MAX, &n)) != 0)
		return r;
	if ((l = mem_calloc(n + 1, sizeof(*l))) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < n; i++) {
		if ((r = buf_get_cstring(b, &l[i].key, NULL)) != 0 ||
		    (r = buf_get_cstring(b, &l[i].value, NULL)) != 0) {
			rbac_labels_free(l, i + 1);
			return r;
		}
	}
	*out = l;
	*nout = n;
	return 0;
}

/* Empty string stored for NULL. */
static int
get_opt_cstring(struct buf *b, char **out)
{
	char *s = NULL;
	int r;

	*out = NULL;
	if ((r = buf_get_cstring(b, &s, NULL)) != 0)
		return r;
	if (s[0] == '\0')
		free(s);
	else
		*out = s;
	return 0;
}

static int
name_copy(const char *name, size_t nlen, char **out)
{
	*out = NULL;
	if (nlen == 0 || nlen > RBAC_NAME_MAX || memchr(name, '\0', nlen))
		return TSS_E_BAD_FORMAT;
	if ((*out = mem_strndup(name, nlen)) == NULL)
		return TSS_E_NOMEM;
	return 0;
}

int
rbac__target_encode(const struct rbac_target *t, struct buf **out)
{
	struct buf *b;
	int r;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, RBAC_REC_TARGET, RBAC_REC_TARGET_V)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)t->updated_at)) != 0 ||
	    (r = buf_put_cstring(b, t->updated_by)) != 0 ||
	    (r = put_labels(b, t->labels, t->n_labels)) != 0 ||
	    (r = put_strv(b, t->hosts, t->n_hosts)) != 0 ||
	    (r = buf_put_u32(b, t->port)) != 0 ||
	    (r = buf_put_cstring(b, t->gateway)) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

int
rbac__target_decode(const char *name, size_t nlen, const void *p,
    size_t len, struct rbac_target **out)
{
	struct rbac_target *t = NULL;
	struct buf *v = NULL;
	uint64_t u;
	uint32_t port = 0;
	uint8_t ver;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((t = mem_calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	if ((r = name_copy(name, nlen, &t->name)) != 0 ||
	    (r = rec_open(p, len, RBAC_REC_TARGET, RBAC_REC_TARGET_V, &v,
	    &ver)) != 0 ||
	    (r = buf_get_u64(v, &u)) != 0 ||
	    (r = get_opt_cstring(v, &t->updated_by)) != 0 ||
	    (r = get_labels(v, &t->labels, &t->n_labels)) != 0)
		goto out;
	t->updated_at = (int64_t)u;
	/* Version 1 records, from before targets had hosts: none, port 22,
	 * no gateway. */
	t->port = 22;
	if (ver >= 2 && ((r = get_strv(v, RBAC_HOSTS_MAX, &t->hosts,
	    &t->n_hosts)) != 0 || (r = buf_get_u32(v, &port)) != 0 ||
	    (r = get_opt_cstring(v, &t->gateway)) != 0))
		goto out;
	if (ver >= 2) {
		if (port > 65535) {
			r = TSS_E_BAD_FORMAT;
			goto out;
		}
		t->port = (uint16_t)port;
	}
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	if (rbac_target_validate(t, NULL, 0) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*out = t;
	t = NULL;
	r = 0;
 out:
	buf_free(v);
	rbac_target_free(t);
	return r;
}

int
rbac__role_encode(const struct rbac_role *ro, struct buf **out)
{
	struct buf *b;
	size_t i;
	int r;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, RBAC_REC_ROLE, RBAC_REC_VERSION)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)ro->updated_at)) != 0 ||
	    (r = buf_put_cstring(b, ro->updated_by)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)ro->max_ttl)) != 0 ||
	    (r = buf_put_u32(b, ro->extensions)) != 0 ||
	    (r = buf_put_u32(b, ro->admin)) != 0 ||
	    (r = buf_put_cstring(b, ro->force_command)) != 0 ||
	    (r = put_strv(b, ro->source_address, ro->n_source)) != 0 ||
	    (r = buf_put_u32(b, (uint32_t)ro->n_rules)) != 0)
		goto fail;
	for (i = 0; i < ro->n_rules; i++) {
		const struct rbac_rule *ru = &ro->rules[i];

		if ((r = put_strv(b, ru->targets, ru->n_targets)) != 0 ||
		    (r = put_labels(b, ru->labels, ru->n_labels)) != 0 ||
		    (r = put_strv(b, ru->logins, ru->n_logins)) != 0)
			goto fail;
	}
	*out = b;
	return 0;
 fail:
	buf_free(b);
	return r;
}

int
rbac__role_decode(const char *name, size_t nlen, const void *p, size_t len,
    struct rbac_role **out)
{
	struct rbac_role *ro = NULL;
	struct buf *v = NULL;
	uint64_t u, ttl;
	size_t i, n;
	uint8_t ver;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((ro = mem_calloc(1, sizeof(*ro))) == NULL)
		return TSS_E_NOMEM;
	if ((r = name_copy(name, nlen, &ro->name)) != 0 ||
	    (r = rec_open(p, len, RBAC_REC_ROLE, RBAC_REC_VERSION, &v,
	    &ver)) != 0 ||
	    (r = buf_get_u64(v, &u)) != 0 ||
	    (r = get_opt_cstring(v, &ro->updated_by)) != 0 ||
	    (r = buf_get_u64(v, &ttl)) != 0 ||
	    (r = buf_get_u32(v, &ro->extensions)) != 0 ||
	    (r = buf_get_u32(v, &ro->admin)) != 0 ||
	    (r = get_opt_cstring(v, &ro->force_command)) != 0 ||
	    (r = get_strv(v, RBAC_CIDRS_MAX, &ro->source_address,
	    &ro->n_source)) != 0 ||
	    (r = get_count(v, RBAC_RULES_MAX, &n)) != 0)
		goto out;
	ro->updated_at = (int64_t)u;
	ro->max_ttl = ttl > (uint64_t)RBAC_TTL_MAX ? -1 : (int64_t)ttl;
	if ((ro->rules = mem_calloc(n + 1, sizeof(*ro->rules))) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct rbac_rule *ru = &ro->rules[i];

		ro->n_rules++;
		if ((r = get_strv(v, RBAC_GLOBS_MAX, &ru->targets,
		    &ru->n_targets)) != 0 ||
		    (r = get_labels(v, &ru->labels, &ru->n_labels)) != 0 ||
		    (r = get_strv(v, RBAC_LOGINS_MAX, &ru->logins,
		    &ru->n_logins)) != 0)
			goto out;
	}
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	if (rbac_role_validate(ro, NULL, 0) != 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*out = ro;
	ro = NULL;
	r = 0;
 out:
	buf_free(v);
	rbac_role_free(ro);
	return r;
}

int
rbac__binding_encode(const struct rbac_binding *bi, struct buf **out)
{
	struct buf *b;
	int r;

	*out = NULL;
	if ((b = buf_new()) == NULL)
		return TSS_E_NOMEM;
	if ((r = rec_begin(b, RBAC_REC_BINDING, RBAC_REC_VERSION)) != 0 ||
	    (r = buf_put_cstring(b, bi->role)) != 0 ||
	    (r = buf_put_cstring(b, bi->subject)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)bi->expires_at)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)bi->created_at)) != 0 ||
	    (r = buf_put_cstring(b, bi->created_by)) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

int
rbac__binding_decode(uint64_t id, const void *p, size_t len,
    struct rbac_binding **out)
{
	struct rbac_binding *b = NULL;
	struct buf *v = NULL;
	uint64_t exp, cr;
	uint8_t ver;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((b = mem_calloc(1, sizeof(*b))) == NULL)
		return TSS_E_NOMEM;
	b->id = id;
	if ((r = rec_open(p, len, RBAC_REC_BINDING, RBAC_REC_VERSION, &v,
	    &ver)) != 0 ||
	    (r = buf_get_cstring(v, &b->role, NULL)) != 0 ||
	    (r = buf_get_cstring(v, &b->subject, NULL)) != 0 ||
	    (r = buf_get_u64(v, &exp)) != 0 ||
	    (r = buf_get_u64(v, &cr)) != 0 ||
	    (r = get_opt_cstring(v, &b->created_by)) != 0)
		goto out;
	b->expires_at = (int64_t)exp;
	b->created_at = (int64_t)cr;
	if (buf_len(v) != 0) {
		r = TSS_E_TRAILING_DATA;
		goto out;
	}
	if (rbac_valid_role_name(b->role) != 0 ||
	    rbac_valid_subject(b->subject) != 0 || b->expires_at < 0) {
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	*out = b;
	b = NULL;
	r = 0;
 out:
	buf_free(v);
	rbac_binding_free(b);
	return r;
}
