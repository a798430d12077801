/*
 * The policy model: validation of every field (with the field named in the
 * message), JSON out, the versioned records, CIDR arithmetic and the plain
 * string matchers admin checks use.  Nothing here is on the decision path.
 * Request bodies are decoded in tesserad/policy_json.c.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac_int.h"
#include "common/buf.h"
#include "common/err.h"
#include "store/record.h"

/* ---- small helpers ---- */

void
rbac__err(char *errmsg, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errmsg == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(errmsg, errlen, fmt, ap);
	va_end(ap);
}

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

/* ---- field validators ---- */

static int
is_lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
rbac_valid_login(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return TSS_E_VALIDATION;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= RBAC_LOGIN_MAX)
			return TSS_E_VALIDATION;
		if (!is_lower_digit(s[i]) && s[i] != '_' && s[i] != '-')
			return TSS_E_VALIDATION;
	}
	return 0;
}

int
rbac_valid_target_name(const char *s)
{
	size_t i, seg = 0;

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_NAME_MAX)
			return TSS_E_VALIDATION;
		if (s[i] == '/') {
			if (i == seg)
				return TSS_E_VALIDATION;	/* empty */
			seg = i + 1;
			continue;
		}
		if (i == seg ? !is_lower_digit(s[i]) :
		    !(is_lower_digit(s[i]) || s[i] == '.' || s[i] == '_' ||
		    s[i] == '-'))
			return TSS_E_VALIDATION;
	}
	if (i == seg || strcmp(s + seg, "sshd") == 0)
		return TSS_E_VALIDATION;
	return 0;
}

int
rbac_valid_glob(const char *s)
{
	size_t i, seg = 0;

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_NAME_MAX)
			return TSS_E_VALIDATION;
		if (s[i] == '/') {
			if (i == seg)
				return TSS_E_VALIDATION;
			seg = i + 1;
			continue;
		}
		if (s[i] == '*') {
			if (s[i + 1] != '*')
				continue;
			/* "**" only as the whole last segment. */
			if (i != seg || s[i + 2] != '\0')
				return TSS_E_VALIDATION;
			return 0;
		}
		if (!(is_lower_digit(s[i]) || s[i] == '.' || s[i] == '_' ||
		    s[i] == '-'))
			return TSS_E_VALIDATION;
	}
	if (i == seg)
		return TSS_E_VALIDATION;
	return 0;
}

int
rbac_valid_role_name(const char *s)
{
	size_t i;

	if (s == NULL || !is_lower_digit(s[0]))
		return TSS_E_VALIDATION;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= RBAC_ROLE_NAME_MAX)
			return TSS_E_VALIDATION;
		if (!is_lower_digit(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-')
			return TSS_E_VALIDATION;
	}
	return 0;
}

static int
valid_subject_name(const char *s)
{
	size_t i;
	int c;

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_SUBJECT_NAME_MAX)
			return TSS_E_VALIDATION;
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_')
			continue;
		if (i > 0 && (c == '.' || c == '@' || c == '-'))
			continue;
		return TSS_E_VALIDATION;
	}
	return 0;
}

int
rbac_valid_subject(const char *s)
{
	if (s == NULL)
		return TSS_E_VALIDATION;
	if (strncmp(s, "user:", 5) == 0)
		return valid_subject_name(s + 5);
	if (strncmp(s, "group:", 6) == 0)
		return valid_subject_name(s + 6);
	return TSS_E_VALIDATION;
}

int
rbac_valid_label_key(const char *s)
{
	size_t i;

	if (s == NULL || !is_lower_digit(s[0]))
		return TSS_E_VALIDATION;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= RBAC_LABEL_KEY_MAX)
			return TSS_E_VALIDATION;
		if (!is_lower_digit(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-' && s[i] != '/')
			return TSS_E_VALIDATION;
	}
	return 0;
}

int
rbac_valid_label_value(const char *s)
{
	size_t i;
	int c;

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_LABEL_VALUE_MAX)
			return TSS_E_VALIDATION;
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return TSS_E_VALIDATION;
	}
	return 0;
}

int
rbac_valid_force_command(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_FORCE_COMMAND_MAX)
			return TSS_E_VALIDATION;
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return TSS_E_VALIDATION;
	}
	return 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} perm_names[] = {
	{ "users:read", RBAC_PERM_USERS_READ },
	{ "users:write", RBAC_PERM_USERS_WRITE },
	{ "targets:write", RBAC_PERM_TARGETS_WRITE },
	{ "roles:write", RBAC_PERM_ROLES_WRITE },
	{ "bindings:read", RBAC_PERM_BINDINGS_READ },
	{ "bindings:write", RBAC_PERM_BINDINGS_WRITE },
	{ "certs:revoke", RBAC_PERM_CERTS_REVOKE },
	{ "audit:read", RBAC_PERM_AUDIT_READ },
	{ "targets:read", RBAC_PERM_TARGETS_READ },
	{ "roles:read", RBAC_PERM_ROLES_READ },
	{ "*", RBAC_PERM_STAR | RBAC_PERM_ALL },
}, ext_names[] = {
	{ "permit-X11-forwarding", RBAC_EXT_X11 },
	{ "permit-agent-forwarding", RBAC_EXT_AGENT },
	{ "permit-port-forwarding", RBAC_EXT_PORT },
	{ "permit-pty", RBAC_EXT_PTY },
	{ "permit-user-rc", RBAC_EXT_USER_RC },
};

const char *
rbac__perm_label(uint32_t bit)
{
	size_t i;

	for (i = 0; i < sizeof(perm_names) / sizeof(*perm_names); i++)
		if (perm_names[i].bit == bit)
			return perm_names[i].name;
	return "*";
}

int
rbac_perm_parse(const char *s, uint32_t *out)
{
	size_t i;

	*out = 0;
	for (i = 0; s != NULL && i < sizeof(perm_names) / sizeof(*perm_names);
	    i++) {
		if (strcmp(s, perm_names[i].name) == 0) {
			*out = perm_names[i].bit;
			return 0;
		}
	}
	return TSS_E_VALIDATION;
}

int
rbac_ext_parse(const char *s, uint32_t *out)
{
	size_t i;

	*out = 0;
	for (i = 0; s != NULL && i < sizeof(ext_names) / sizeof(*ext_names);
	    i++) {
		if (strcmp(s, ext_names[i].name) == 0) {
			*out = ext_names[i].bit;
			return 0;
		}
	}
	return TSS_E_VALIDATION;
}

const char *
rbac_ext_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < sizeof(ext_names) / sizeof(*ext_names); i++)
		if (ext_names[i].bit == bit)
			return ext_names[i].name;
	return NULL;
}

/* ---- CIDRs ---- */

static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0') ||
	    strlen(s) > 3)
		return TSS_E_INVALID_CIDR;
	v = strtoull(s, &end, 10);
	if (end == NULL || *end != '\0' || v > max)
		return TSS_E_INVALID_CIDR;
	*out = (unsigned)v;
	return 0;
}

int
rbac_cidr_parse(const char *s, struct rbac_cidr *c)
{
	char tmp[64];
	const char *slash;
	size_t alen, nbytes, i;
	unsigned prefix, max;
	int fam;

	memset(c, 0, sizeof(*c));
	if (s == NULL || strlen(s) >= sizeof(tmp))
		return TSS_E_INVALID_CIDR;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (strchr(tmp, ':') != NULL) {
		fam = AF_INET6;
		max = 128;
		c->family = 6;
	} else {
		fam = AF_INET;
		max = 32;
		c->family = 4;
	}
	if (inet_pton(fam, tmp, c->addr) != 1)
		goto bad;
	prefix = max;
	if (slash != NULL && parse_prefix(slash + 1, max, &prefix) != 0)
		goto bad;
	c->prefix = (uint8_t)prefix;
	/* Host bits must be zero, as sshd wants them. */
	nbytes = max / 8;
	for (i = 0; i < nbytes; i++) {
		unsigned keep = prefix >= (i + 1) * 8 ? 8 :
		    prefix > i * 8 ? prefix - i * 8 : 0;
		uint8_t mask = keep == 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if ((c->addr[i] & (uint8_t)~mask) != 0)
			goto bad;
	}
	return 0;
 bad:
	memset(c, 0, sizeof(*c));
	return TSS_E_INVALID_CIDR;
}

void
rbac_cidr_format(const struct rbac_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (inet_ntop(c->family == 6 ? AF_INET6 : AF_INET, c->addr, a,
	    sizeof(a)) == NULL)
		return;
	(void)snprintf(buf, len, "%s/%u", a, (unsigned)c->prefix);
}

int
rbac__cidr_within(const struct rbac_cidr *a, const struct rbac_cidr *b)
{
	unsigned full, rem;

	if (a->family != b->family || a->prefix < b->prefix)
		return 0;
	full = b->prefix / 8;
	rem = b->prefix % 8;
	if (memcmp(a->addr, b->addr, full) != 0)
		return 0;
	if (rem != 0 && ((a->addr[full] ^ b->addr[full]) &
	    (uint8_t)(0xff << (8 - rem))) != 0)
		return 0;
	return 1;
}

int
rbac__cidr_cmp(const struct rbac_cidr *a, const struct rbac_cidr *b)
{
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((d = memcmp(a->addr, b->addr, sizeof(a->addr))) != 0)
		return d;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}

/* Insertion sort: at most a few dozen entries, no allocation. */
static void
cidr_sort(struct rbac_cidr *c, size_t n)
{
	struct rbac_cidr t;
	size_t i, j;

	for (i = 1; i < n; i++) {
		t = c[i];
		for (j = i; j > 0 && rbac__cidr_cmp(&c[j - 1], &t) > 0; j--)
			c[j] = c[j - 1];
		c[j] = t;
	}
}

size_t
rbac__cidr_normalize(struct rbac_cidr *c, size_t n)
{
	size_t i, j, k = 0;
	int drop;

	for (i = 0; i < n; i++) {
		drop = 0;
		for (j = 0; j < n && !drop; j++) {
			if (j == i || !rbac__cidr_within(&c[i], &c[j]))
				continue;
			/* Equal entries: keep the first only. */
			if (rbac__cidr_within(&c[j], &c[i]))
				drop = j < i;
			else
				drop = 1;
		}
		if (!drop)
			c[k++] = c[i];
	}
	cidr_sort(c, k);
	return k;
}

size_t
rbac__cidr_intersect(const struct rbac_cidr *a, size_t na,
    const struct rbac_cidr *b, size_t nb, struct rbac_cidr *out)
{
	size_t i, j, k = 0;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && k < RBAC_CIDRS_MAX; j++) {
			if (rbac__cidr_within(&a[i], &b[j]))
				out[k++] = a[i];
			else if (rbac__cidr_within(&b[j], &a[i]))
				out[k++] = b[j];
		}
	}
	cidr_sort(out, k);
	return k;
}

/* ---- string matchers ---- */

int
rbac__glob_match(const char *glob, const char *name)
{
	const char *g = glob, *n = name, *ge, *ne;

	for (;;) {
		ge = strchr(g, '/');
		if (ge == NULL)
			ge = g + strlen(g);
		if (ge - g == 2 && g[0] == '*' && g[1] == '*' && *ge == '\0')
			return *n != '\0';
		if (*n == '\0')
			return 0;
		ne = strchr(n, '/');
		if (ne == NULL)
			ne = n + strlen(n);
		if (!rbac__seg_wild(g, (size_t)(ge - g), n, (size_t)(ne - n)))
			return 0;
		if (*ge == '\0' || *ne == '\0')
			return *ge == '\0' && *ne == '\0';
		g = ge + 1;
		n = ne + 1;
	}
}

int
rbac__rule_matches(const struct rbac_rule *ru, const struct rbac_target *t)
{
	size_t i, j;
	int ok;

	if (ru->n_targets == 0 && ru->n_labels == 0)
		return 0;
	if (ru->n_targets > 0) {
		for (i = 0, ok = 0; i < ru->n_targets && !ok; i++)
			ok = rbac__glob_match(ru->targets[i], t->name);
		if (!ok)
			return 0;
	}
	for (i = 0; i < ru->n_labels; i++) {
		for (j = 0, ok = 0; j < t->n_labels && !ok; j++)
			ok = strcmp(ru->labels[i].key, t->labels[j].key) == 0 &&
			    strcmp(ru->labels[i].value, t->labels[j].value) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

/* ---- whole-struct validation ---- */

static int
labels_validate(const char *field, const struct rbac_label *l, size_t n,
    char *errmsg, size_t errlen)
{
	size_t i;

	if (n > RBAC_LABELS_MAX) {
		rbac__err(errmsg, errlen, "%s: at most %d labels", field,
		    RBAC_LABELS_MAX);
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < n; i++) {
		if (rbac_valid_label_key(l[i].key) != 0) {
			rbac__err(errmsg, errlen, "%s: key must be 1-63 "
			    "characters of a-z 0-9 . _ - / starting with a "
			    "letter or digit", field);
			return TSS_E_VALIDATION;
		}
		if (rbac_valid_label_value(l[i].value) != 0) {
			rbac__err(errmsg, errlen, "%s.%s: value must be 1-63 "
			    "characters of A-Z a-z 0-9 . _ -", field,
			    l[i].key);
			return TSS_E_VALIDATION;
		}
		if (i > 0 && strcmp(l[i - 1].key, l[i].key) >= 0) {
			rbac__err(errmsg, errlen, "%s.%s: keys must be unique "
			    "and sorted", field, l[i].key);
			return TSS_E_VALIDATION;
		}
	}
	return 0;
}

int
rbac_target_validate(const struct rbac_target *t, char *errmsg,
    size_t errlen)
{
	if (t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (rbac_valid_target_name(t->name) != 0) {
		rbac__err(errmsg, errlen, "name: '/'-separated segments of "
		    "[a-z0-9][a-z0-9._-]*, at most %d bytes, last segment not "
		    "sshd", RBAC_NAME_MAX);
		return TSS_E_VALIDATION;
	}
	return labels_validate("labels", t->labels, t->n_labels, errmsg,
	    errlen);
}

int
rbac_role_validate(const struct rbac_role *r, char *errmsg, size_t errlen)
{
	struct rbac_cidr c;
	const struct rbac_rule *ru;
	char field[48], canon[64];
	size_t i, j;
	int rv;

	if (r == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (rbac_valid_role_name(r->name) != 0) {
		rbac__err(errmsg, errlen, "name: 1-64 characters of "
		    "a-z 0-9 . _ - starting with a letter or digit");
		return TSS_E_VALIDATION;
	}
	if (r->n_rules > RBAC_RULES_MAX) {
		rbac__err(errmsg, errlen, "rules: at most %d rules",
		    RBAC_RULES_MAX);
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < r->n_rules; i++) {
		ru = &r->rules[i];
		if (ru->n_targets == 0 && ru->n_labels == 0) {
			rbac__err(errmsg, errlen, "rules[%zu]: needs targets "
			    "or labels", i);
			return TSS_E_VALIDATION;
		}
		if (ru->n_targets > RBAC_GLOBS_MAX) {
			rbac__err(errmsg, errlen, "rules[%zu].targets: at "
			    "most %d globs", i, RBAC_GLOBS_MAX);
			return TSS_E_VALIDATION;
		}
		for (j = 0; j < ru->n_targets; j++) {
			if (rbac_valid_glob(ru->targets[j]) != 0) {
				rbac__err(errmsg, errlen, "rules[%zu].targets"
				    "[%zu]: not a target glob ('/'-separated "
				    "segments of a-z 0-9 . _ - *, \"**\" only "
				    "as the last segment)", i, j);
				return TSS_E_VALIDATION;
			}
		}
		(void)snprintf(field, sizeof(field), "rules[%zu].labels", i);
		if ((rv = labels_validate(field, ru->labels, ru->n_labels,
		    errmsg, errlen)) != 0)
			return rv;
		if (ru->n_logins == 0 || ru->n_logins > RBAC_LOGINS_MAX) {
			rbac__err(errmsg, errlen, "rules[%zu].logins: 1 to %d "
			    "logins", i, RBAC_LOGINS_MAX);
			return TSS_E_VALIDATION;
		}
		for (j = 0; j < ru->n_logins; j++) {
			if (rbac_valid_login(ru->logins[j]) != 0) {
				rbac__err(errmsg, errlen, "rules[%zu].logins"
				    "[%zu]: not a POSIX account name "
				    "([a-z_][a-z0-9_-]{0,31})", i, j);
				return TSS_E_VALIDATION;
			}
		}
	}
	if (r->max_ttl < 1 || r->max_ttl > RBAC_TTL_MAX) {
		rbac__err(errmsg, errlen, "max_ttl: 1 second to 100 years");
		return TSS_E_VALIDATION;
	}
	if ((r->extensions & ~RBAC_EXT_ALL) != 0) {
		rbac__err(errmsg, errlen, "extensions: unknown extension");
		return TSS_E_VALIDATION;
	}
	if (r->n_source > RBAC_CIDRS_MAX) {
		rbac__err(errmsg, errlen, "source_address: at most %d "
		    "entries", RBAC_CIDRS_MAX);
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < r->n_source; i++) {
		if (rbac_cidr_parse(r->source_address[i], &c) != 0) {
			rbac__err(errmsg, errlen, "source_address[%zu]: not "
			    "an address/prefix with zero host bits", i);
			return TSS_E_VALIDATION;
		}
		/* Stored as the JSON path writes it: canonical text. */
		rbac_cidr_format(&c, canon, sizeof(canon));
		if (strcmp(canon, r->source_address[i]) != 0) {
			rbac__err(errmsg, errlen, "source_address[%zu]: not "
			    "in canonical form (%s)", i, canon);
			return TSS_E_VALIDATION;
		}
	}
	if (r->force_command != NULL &&
	    rbac_valid_force_command(r->force_command) != 0) {
		rbac__err(errmsg, errlen, "force_command: 1-%d characters, "
		    "no control characters", RBAC_FORCE_COMMAND_MAX);
		return TSS_E_VALIDATION;
	}
	if ((r->admin & ~(RBAC_PERM_ALL | RBAC_PERM_STAR)) != 0) {
		rbac__err(errmsg, errlen, "admin: unknown permission");
		return TSS_E_VALIDATION;
	}
	return 0;
}

/* ---- deep copies ---- */

static char **
dup_strv(char *const *v, size_t n)
{
	char **o;
	size_t i;

	if ((o = calloc(n == 0 ? 1 : n, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((o[i] = strdup(v[i])) == NULL) {
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

	if ((o = calloc(n == 0 ? 1 : n, sizeof(*o))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		o[i].key = strdup(l[i].key);
		o[i].value = strdup(l[i].value);
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

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->updated_at = t->updated_at;
	if ((o->name = strdup(t->name)) == NULL ||
	    (o->labels = dup_labels(t->labels, t->n_labels)) == NULL)
		goto fail;
	o->n_labels = t->n_labels;
	if (t->updated_by != NULL &&
	    (o->updated_by = strdup(t->updated_by)) == NULL)
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

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->max_ttl = r->max_ttl;
	o->extensions = r->extensions;
	o->admin = r->admin;
	o->updated_at = r->updated_at;
	if ((o->name = strdup(r->name)) == NULL ||
	    (o->rules = calloc(r->n_rules == 0 ? 1 : r->n_rules,
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
	    (o->force_command = strdup(r->force_command)) == NULL)
		goto fail;
	if (r->updated_by != NULL &&
	    (o->updated_by = strdup(r->updated_by)) == NULL)
		goto fail;
	return o;
 fail:
	rbac_role_free(o);
	return NULL;
}

/* ---- JSON out ---- */

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
rbac_role_to_json(const struct rbac_role *r)
{
	json_t *o, *rules = NULL, *ru, *ext = NULL, *adm = NULL;
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((rules = json_array()) == NULL || (ext = json_array()) == NULL ||
	    (adm = json_array()) == NULL)
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
	if ((r->admin & RBAC_PERM_STAR) != 0)
		bad |= json_array_append_new(adm, json_string("*"));
	else
		for (i = 0; perm_names[i].bit != (RBAC_PERM_STAR |
		    RBAC_PERM_ALL); i++)
			if ((r->admin & perm_names[i].bit) != 0)
				bad |= json_array_append_new(adm,
				    json_string(perm_names[i].name));
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
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
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
	if ((l = calloc(n + 1, sizeof(*l))) == NULL)
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
	if ((*out = strndup(name, nlen)) == NULL)
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
	if ((r = rec_begin(b, RBAC_REC_TARGET, RBAC_REC_VERSION)) != 0 ||
	    (r = buf_put_u64(b, (uint64_t)t->updated_at)) != 0 ||
	    (r = buf_put_cstring(b, t->updated_by)) != 0 ||
	    (r = put_labels(b, t->labels, t->n_labels)) != 0) {
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
	uint8_t ver;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TSS_E_NOMEM;
	if ((r = name_copy(name, nlen, &t->name)) != 0 ||
	    (r = rec_open(p, len, RBAC_REC_TARGET, RBAC_REC_VERSION, &v,
	    &ver)) != 0 ||
	    (r = buf_get_u64(v, &u)) != 0 ||
	    (r = get_opt_cstring(v, &t->updated_by)) != 0 ||
	    (r = get_labels(v, &t->labels, &t->n_labels)) != 0)
		goto out;
	t->updated_at = (int64_t)u;
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
	if ((ro = calloc(1, sizeof(*ro))) == NULL)
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
	if ((ro->rules = calloc(n + 1, sizeof(*ro->rules))) == NULL) {
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
	if ((b = calloc(1, sizeof(*b))) == NULL)
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
