/*
 * The policy model's rules: validation of every field (with the field named
 * in the message), the permission and extension names, and the plain string
 * matchers admin checks use.  The model's other jobs are beside it: CIDRs
 * (model_cidr.c), copies, frees and the versioned records (model_rec.c),
 * JSON out (model_json.c); request bodies are decoded in
 * tesserad/policy_json.c.  Nothing here is on the decision path.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rbac_int.h"
#include "common/err.h"

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
	{ "backups:create", RBAC_PERM_BACKUPS_CREATE },
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

static int
dns_name(const char *s)
{
	size_t i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= RBAC_HOST_MAX)
			return TSS_E_VALIDATION;
		if (s[i] == '.') {
			if (i == label || s[i - 1] == '-')
				return TSS_E_VALIDATION;
			label = i + 1;
			continue;
		}
		if (!(is_lower_digit(s[i]) || (s[i] == '-' && i > label)) ||
		    i - label >= 63)
			return TSS_E_VALIDATION;
	}
	return i == label || s[i - 1] == '-' ? TSS_E_VALIDATION : 0;
}

int
rbac_valid_host(const char *s)
{
	uint8_t a[16];

	if (s == NULL || s[0] == '\0')
		return TSS_E_VALIDATION;
	if (strchr(s, ':') != NULL)
		return inet_pton(AF_INET6, s, a) == 1 ? 0 : TSS_E_VALIDATION;
	if (inet_pton(AF_INET, s, a) == 1)
		return 0;
	/* All digits and dots but not an address ("10.0.0.256"): a typo. */
	if (strspn(s, "0123456789.") == strlen(s))
		return TSS_E_VALIDATION;
	return dns_name(s);
}

int
rbac_valid_gateway(const char *s)
{
	char host[RBAC_GATEWAY_MAX + 1];
	const char *colon, *h = s;
	size_t hl, i;
	unsigned long port = 0;

	if (s == NULL || strlen(s) > RBAC_GATEWAY_MAX ||
	    (colon = strrchr(s, ':')) == NULL)
		return TSS_E_VALIDATION;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return TSS_E_VALIDATION;
		h = s + 1;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((s[0] == '[') != (strchr(host, ':') != NULL) ||
	    rbac_valid_host(host) != 0)
		return TSS_E_VALIDATION;
	for (i = 1; colon[i] != '\0'; i++) {
		if (colon[i] < '0' || colon[i] > '9' || i > 5 ||
		    (i == 1 && colon[i] == '0'))
			return TSS_E_VALIDATION;
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	return i == 1 || port > 65535 ? TSS_E_VALIDATION : 0;
}

static int
hosts_validate(const struct rbac_target *t, char *errmsg, size_t errlen)
{
	size_t i, j;

	if (t->n_hosts > RBAC_HOSTS_MAX) {
		rbac__err(errmsg, errlen, "hosts: at most %d", RBAC_HOSTS_MAX);
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < t->n_hosts; i++) {
		if (rbac_valid_host(t->hosts[i]) != 0) {
			rbac__err(errmsg, errlen, "hosts[%zu]: an IPv4 or IPv6 "
			    "address or a lowercase DNS name", i);
			return TSS_E_VALIDATION;
		}
		for (j = 0; j < i; j++)
			if (strcmp(t->hosts[i], t->hosts[j]) == 0) {
				rbac__err(errmsg, errlen, "hosts[%zu]: %s is "
				    "listed twice", i, t->hosts[i]);
				return TSS_E_VALIDATION;
			}
	}
	if (t->gateway != NULL && rbac_valid_gateway(t->gateway) != 0) {
		rbac__err(errmsg, errlen, "gateway: host:port (an address, a "
		    "lowercase DNS name or [v6addr], port 1 to 65535)");
		return TSS_E_VALIDATION;
	}
	return 0;
}

int
rbac_target_validate(const struct rbac_target *t, char *errmsg,
    size_t errlen)
{
	int r;

	if (t == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (rbac_valid_target_name(t->name) != 0) {
		rbac__err(errmsg, errlen, "name: '/'-separated segments of "
		    "[a-z0-9][a-z0-9._-]*, at most %d bytes, last segment not "
		    "sshd", RBAC_NAME_MAX);
		return TSS_E_VALIDATION;
	}
	if ((r = labels_validate("labels", t->labels, t->n_labels, errmsg,
	    errlen)) != 0)
		return r;
	return hosts_validate(t, errmsg, errlen);
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
