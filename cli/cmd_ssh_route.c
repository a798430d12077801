/*
 * cmd_ssh_route: what tessera ssh and ssh-config build without the
 * network (cmd_ssh_int.h): the checked route, the system ssh's argv, the
 * known_hosts file and the ssh_config block.  Every name that reaches an
 * ssh argument or config line is checked here first, so none can start an
 * option, split a config line or carry a control byte.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "sshca/certinfo.h"
#include "cli.h"
#include "cmd_ssh_int.h"

#define KH_PREFIX	"# tessera host CA of "
#define KH_LINES_MAX	16

/* "host:port" or "[v6]:port" (rbac_valid_gateway) into rt->gw_host and
 * rt->gw_port. */
static int
gateway_parse(const char *s, struct cmd_ssh_route *rt)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;

	if (rbac_valid_gateway(s) != 0 || colon == NULL)
		return TSS_E_BAD_FORMAT;
	rt->gw_port = strtol(colon + 1, NULL, 10);
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		h++;
		hl -= 2;
	}
	if ((rt->gw_host = mem_strndup(h, hl)) == NULL)
		return TSS_E_NOMEM;
	return 0;
}

/* Copy a JSON array of strings, each passing ok, into v. */
static int
strings_of(const json_t *a, char **v, size_t max, size_t *np,
    int (*ok)(const char *))
{
	const char *s;
	json_t *e;
	size_t i;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > max)
		return TSS_E_BAD_FORMAT;
	json_array_foreach(a, i, e) {
		if ((s = json_string_value(e)) == NULL || !ok(s))
			return TSS_E_BAD_FORMAT;
		if ((v[(*np)] = mem_strdup(s)) == NULL)
			return TSS_E_NOMEM;
		(*np)++;
	}
	return 0;
}

static int
host_ok(const char *s)
{
	return rbac_valid_host(s) == 0;
}

static int
login_ok(const char *s)
{
	return rbac_valid_login(s) == 0;
}

int
cmd_ssh_route_parse(const json_t *j, struct cmd_ssh_route *rt, char *err,
    size_t errlen)
{
	const char *t, *gw, *what = "target";
	const json_t *pv, *gv;
	int r = TSS_E_BAD_FORMAT;

	memset(rt, 0, sizeof(*rt));
	snprintf(err, errlen, "?");
	if ((t = json_string_value(json_object_get(j, "target"))) == NULL ||
	    rbac_valid_target_name(t) != 0)
		goto out;
	if ((rt->target = mem_strdup(t)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	what = "hosts";
	if ((r = strings_of(json_object_get(j, "hosts"), rt->hosts,
	    RBAC_HOSTS_MAX, &rt->nhosts, host_ok)) != 0)
		goto out;
	what = "logins";
	if ((r = strings_of(json_object_get(j, "logins"), rt->logins,
	    CMD_SSH_LOGINS_MAX, &rt->nlogins, login_ok)) != 0)
		goto out;
	what = "port";
	r = TSS_E_BAD_FORMAT;
	rt->port = 22;
	if ((pv = json_object_get(j, "port")) != NULL && !json_is_null(pv)) {
		if (!json_is_integer(pv) || json_integer_value(pv) < 1 ||
		    json_integer_value(pv) > 65535)
			goto out;
		rt->port = (long)json_integer_value(pv);
	}
	what = "gateway";
	if ((gv = json_object_get(j, "gateway")) != NULL && !json_is_null(gv)) {
		if ((gw = json_string_value(gv)) == NULL ||
		    (r = gateway_parse(gw, rt)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		snprintf(err, errlen, "%s", what);
	if (r != 0 && r != TSS_E_NOMEM)
		r = TSS_E_BAD_FORMAT;
	return r;
}

void
cmd_ssh_route_clear(struct cmd_ssh_route *rt)
{
	size_t i;

	for (i = 0; i < rt->nhosts; i++)
		free(rt->hosts[i]);
	for (i = 0; i < rt->nlogins; i++)
		free(rt->logins[i]);
	free(rt->target);
	free(rt->gw_host);
	memset(rt, 0, sizeof(*rt));
}

const char *
cmd_ssh_dest(const struct cmd_ssh_route *rt, long *portp)
{
	if (rt->gw_host != NULL) {
		*portp = rt->gw_port;
		return rt->gw_host;
	}
	*portp = rt->port;
	return rt->nhosts > 0 ? rt->hosts[0] : NULL;
}

/* A file name as an ssh option value: in double quotes when it holds a
 * space (the caller refused quotes, backslashes and '%' already). */
static const char *
quoted(const char *path, char *buf, size_t len)
{
	if (strchr(path, ' ') == NULL)
		return path;
	snprintf(buf, len, "\"%s\"", path);
	return buf;
}

void
cmd_ssh_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

char **
cmd_ssh_argv(const struct cmd_ssh_route *rt, const struct cmd_ssh_call *call)
{
	char **v = NULL, q[4200];
	const char *dest;
	size_t n = 0, i, max;
	long port;
	int bad = 0;

	if ((dest = cmd_ssh_dest(rt, &port)) == NULL)
		return NULL;
	max = 24 + call->ncommand;
	if ((v = mem_calloc(max, sizeof(*v))) == NULL)
		return NULL;
#define ARG(s) do { if ((v[n++] = mem_strdup(s)) == NULL) bad = 1; } while (0)
#define ARGF(...) do { if (mem_asprintf(&v[n++], __VA_ARGS__) < 0) \
		bad = 1; } while (0)
	ARG(call->ssh);
	ARG("-i");
	ARG(call->identity);
	ARG("-o");
	ARGF("CertificateFile=%s", quoted(call->cert, q, sizeof(q)));
	ARG("-o");
	ARG("IdentitiesOnly=yes");
	ARG("-o");
	ARGF("UserKnownHostsFile=%s", quoted(call->known_hosts, q, sizeof(q)));
	ARG("-o");
	ARG("StrictHostKeyChecking=yes");
	ARG("-o");
	ARGF("HostKeyAlias=%s", dest);
	ARG("-p");
	ARGF("%ld", port);
	if (rt->gw_host != NULL) {
		ARG("-o");
		ARGF("SetEnv=TESSERA_TARGET=%s TESSERA_LOGIN=%s", rt->target,
		    call->login);
	}
	if (call->tty)
		ARG("-t");
	ARGF("%s@%s", rt->gw_host != NULL ? "tessera" : call->login, dest);
	if (call->ncommand > 0) {
		ARG("--");
		for (i = 0; i < call->ncommand; i++)
			ARG(call->command[i]);
	}
#undef ARG
#undef ARGF
	if (bad) {	/* a failed word left a hole: free all n */
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return NULL;
	}
	return v;
}

/* Whether a server's /v1/ca/host body is only @cert-authority lines. */
static int
kh_body_ok(const char *body, size_t len)
{
	static const char ca[] = "@cert-authority ";
	size_t i, start = 0, lines = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && body[i] != '\n') {
			if (body[i] < 0x20 || body[i] > 0x7e)
				return 0;
			continue;
		}
		if (i > start) {
			if (i - start <= sizeof(ca) - 1 ||
			    memcmp(body + start, ca, sizeof(ca) - 1) != 0 ||
			    ++lines > KH_LINES_MAX)
				return 0;
		}
		start = i + 1;
	}
	return lines > 0;
}

int
cmd_ssh_cert_serves(const struct certinfo *ci, const char *p, int64_t now,
    int64_t margin)
{
	size_t i;

	if (ci == NULL || p == NULL || now < 0 || margin < 0 ||
	    (uint64_t)now < ci->valid_after ||
	    ci->valid_before < (uint64_t)margin ||
	    (uint64_t)now > ci->valid_before - (uint64_t)margin)
		return 0;
	for (i = 0; i < ci->nprincipals; i++)
		if (strcmp(ci->principals[i], p) == 0)
			return 1;
	return 0;
}

/* An ETag we keep in a comment line: printable ASCII, no blanks. */
static int
etag_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

int
cmd_ssh_kh_make(const char *server, const char *etag, const char *body,
    size_t len, char **out)
{
	const char *p;

	*out = NULL;
	if (!kh_body_ok(body, len))
		return TSS_E_BAD_FORMAT;
	for (p = server; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return TSS_E_BAD_FORMAT;
	if (mem_asprintf(out, KH_PREFIX "%s etag %s\n%.*s%s", server,
	    etag_ok(etag) ? etag : "-", (int)len, body,
	    len > 0 && body[len - 1] == '\n' ? "" : "\n") < 0)
		return TSS_E_NOMEM;
	return 0;
}

void
cmd_ssh_kh_etag(const char *text, const char *server, char *etag,
    size_t len)
{
	size_t pl = strlen(KH_PREFIX), sl = strlen(server), el;
	const char *e;

	etag[0] = '\0';
	if (strncmp(text, KH_PREFIX, pl) != 0 ||
	    strncmp(text + pl, server, sl) != 0 ||
	    strncmp(text + pl + sl, " etag ", 6) != 0)
		return;
	e = text + pl + sl + 6;
	el = strcspn(e, "\n");
	if (el == 0 || el >= len || (el == 1 && e[0] == '-') ||
	    e[el] != '\n')
		return;
	memcpy(etag, e, el);
	etag[el] = '\0';
}

void
cmd_ssh_config_block(FILE *f, const struct cmd_ssh_route *rt,
    const char *login, const char *alias, const struct cmd_ssh_call *call)
{
	char q[4200];
	const char *dest;
	long port;

	if ((dest = cmd_ssh_dest(rt, &port)) == NULL)
		return;
	fprintf(f, "Host %s\n", alias);
	fprintf(f, "    HostName %s\n", dest);
	fprintf(f, "    Port %ld\n", port);
	fprintf(f, "    User %s\n", rt->gw_host != NULL ? "tessera" : login);
	fprintf(f, "    IdentityFile %s\n", quoted(call->identity, q,
	    sizeof(q)));
	fprintf(f, "    CertificateFile %s\n", quoted(call->cert, q, sizeof(q)));
	fprintf(f, "    IdentitiesOnly yes\n");
	fprintf(f, "    UserKnownHostsFile %s\n", quoted(call->known_hosts, q,
	    sizeof(q)));
	fprintf(f, "    StrictHostKeyChecking yes\n");
	fprintf(f, "    HostKeyAlias %s\n", dest);
	if (rt->gw_host != NULL)
		fprintf(f, "    SetEnv TESSERA_TARGET=%s TESSERA_LOGIN=%s\n",
		    rt->target, login);
}
