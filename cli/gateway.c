/*
 * gateway: principal choice and refusal messages for `tessera gateway`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "sshca/certinfo.h"
#include "gateway.h"

#define AUTH_METHOD	"publickey "
#define CERT_SUFFIX	"-cert-v01@openssh.com"

int
gateway_split(const char *p, char login[RBAC_LOGIN_MAX + 1],
    char target[RBAC_NAME_MAX + 1])
{
	const char *at;
	size_t ll;

	login[0] = target[0] = '\0';
	if (p == NULL || (at = strchr(p, '@')) == NULL)
		return TSS_E_VALIDATION;
	ll = (size_t)(at - p);
	if (ll == 0 || ll > RBAC_LOGIN_MAX || strlen(at + 1) > RBAC_NAME_MAX)
		return TSS_E_VALIDATION;
	memcpy(login, p, ll);
	login[ll] = '\0';
	memcpy(target, at + 1, strlen(at + 1) + 1);
	if (rbac_valid_login(login) != 0 ||
	    rbac_valid_target_name(target) != 0) {
		login[0] = target[0] = '\0';
		return TSS_E_VALIDATION;
	}
	return 0;
}

/* One line "publickey TYPE B64": the certificate, or 1 when the key is a
 * plain key (not ours to judge), or an error. */
static int
auth_line(const char *line, size_t len, struct certinfo **cip)
{
	char *copy = NULL, *type, *b64, *sp;
	size_t tl;
	int r = TSS_E_INTERNAL;

	*cip = NULL;
	if ((copy = mem_strndup(line, len)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	type = copy + strlen(AUTH_METHOD);
	if ((sp = strchr(type, ' ')) == NULL) {
		r = TSS_E_INVALID_PUBLIC_KEY;
		goto out;
	}
	*sp = '\0';
	b64 = sp + 1;
	if ((sp = strchr(b64, ' ')) != NULL)
		*sp = '\0';
	tl = strlen(type);
	if (tl < strlen(CERT_SUFFIX) ||
	    strcmp(type + tl - strlen(CERT_SUFFIX), CERT_SUFFIX) != 0) {
		r = 1;
		goto out;
	}
	r = certinfo_from_text(type, b64, cip);
 out:
	free(copy);
	return r;
}

int
gateway_auth_cert(const char *text, size_t len, struct certinfo **cip)
{
	struct certinfo *one = NULL, *ci = NULL;
	const char *p = text, *end = text + len, *nl;
	size_t ll;
	int r = TSS_E_INTERNAL;

	*cip = NULL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ll = (size_t)((nl != NULL ? nl : end) - p);
		if (ll > strlen(AUTH_METHOD) &&
		    memcmp(p, AUTH_METHOD, strlen(AUTH_METHOD)) == 0) {
			if ((r = auth_line(p, ll, &ci)) < 0)
				goto out;
			if (ci != NULL && one != NULL) {
				r = TSS_E_TOO_MANY;
				goto out;
			}
			if (ci != NULL) {
				one = ci;
				ci = NULL;	/* transferred */
			}
		}
		p += ll + 1;
	}
	if (one == NULL) {
		r = TSS_E_NOT_FOUND;
		goto out;
	}
	*cip = one;
	one = NULL;	/* transferred */
	r = 0;
 out:
	certinfo_free(one);
	certinfo_free(ci);
	return r;
}

static int
unset(const char *s)
{
	return s == NULL || *s == '\0';
}

int
gateway_choose(const struct certinfo *ci, const char *want_target,
    const char *want_login, const char *command, struct gateway_choice *out,
    char err[GATEWAY_ERR_MAX])
{
	char login[RBAC_LOGIN_MAX + 1], target[RBAC_NAME_MAX + 1];
	size_t i, nvalid = 0, nhit = 0;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!unset(want_target) && rbac_valid_target_name(want_target) != 0) {
		snprintf(err, GATEWAY_ERR_MAX, "TESSERA_TARGET is not a valid "
		    "target name");
		return TSS_E_VALIDATION;
	}
	if (!unset(want_login) && rbac_valid_login(want_login) != 0) {
		snprintf(err, GATEWAY_ERR_MAX, "TESSERA_LOGIN is not a valid "
		    "login name");
		return TSS_E_VALIDATION;
	}
	for (i = 0; i < ci->nprincipals; i++) {
		if (gateway_split(ci->principals[i], login, target) != 0)
			continue;
		nvalid++;
		if ((!unset(want_target) && strcmp(target, want_target) != 0) ||
		    (!unset(want_login) && strcmp(login, want_login) != 0))
			continue;
		if (nhit++ == 0) {
			memcpy(out->login, login, sizeof(login));
			memcpy(out->target, target, sizeof(target));
		}
	}
	if (nhit == 1)
		goto command;
	memset(out, 0, sizeof(*out));
	if (nvalid == 0)
		snprintf(err, GATEWAY_ERR_MAX, "certificate grants no "
		    "login@target");
	else if (nhit > 1)
		snprintf(err, GATEWAY_ERR_MAX, "certificate grants %zu "
		    "login@target principals%s%s: set TESSERA_TARGET and "
		    "TESSERA_LOGIN to choose one", nhit,
		    unset(want_target) ? "" : " on ",
		    unset(want_target) ? "" : want_target);
	else
		snprintf(err, GATEWAY_ERR_MAX, "certificate does not grant "
		    "%s@%s", unset(want_login) ? "*" : want_login,
		    unset(want_target) ? "*" : want_target);
	return TSS_E_FORBIDDEN;
 command:
	out->argv[0] = "/bin/sh";
	if (ci->force_command != NULL) {
		out->argv[1] = "-c";
		out->argv[2] = ci->force_command;
		out->forced = 1;
	} else if (command != NULL) {
		out->argv[1] = "-c";
		out->argv[2] = command;
	} else
		out->argv[1] = "-l";
	return 0;
}

int
gateway_one_container(size_t n, const char *target, char err[GATEWAY_ERR_MAX])
{
	err[0] = '\0';
	if (n == 1)
		return 0;
	if (n == 0)
		snprintf(err, GATEWAY_ERR_MAX, "no container for target %s on "
		    "this node", target);
	else
		snprintf(err, GATEWAY_ERR_MAX, "target %s is ambiguous on this "
		    "node: %zu containers", target, n);
	return TSS_E_FORBIDDEN;
}
