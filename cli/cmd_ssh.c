/*
 * cmd_ssh: tessera ssh and tessera ssh-config, from a login to a shell.
 * The route comes from GET /v1/targets/<T>/route, the certificate for
 * login@target from <identity>-cert.pub when it still serves (else from
 * POST /v1/certs), the host CA from GET /v1/ca/host into a known_hosts
 * file of tessera's own; then the system ssh runs with strict host key
 * checking, so no host is ever trusted on first use.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "sshca/certinfo.h"
#include "sshca/sshkey.h"
#include "cli.h"
#include "cmd_session_int.h"
#include "cmd_ssh_int.h"

#define CERT_MARGIN	60	/* a certificate reused must last this long */
#define KH_FILE_MAX	(64 * 1024)	/* our known_hosts: a few CA lines */

/* Files of one run: the identity, its certificate, our known_hosts. */
struct files {
	char *id;
	char cert[4200];
	char pub[4200];
	char kh[4200];
};

/* A path ssh would read specially (ssh_config quoting, '%' tokens) or
 * that would break a config line is refused rather than escaped. */
static int
path_check(struct cli *c, const char *what, const char *p)
{
	const char *s;

	for (s = p; *s != '\0'; s++)
		if (*s == '"' || *s == '\'' || *s == '\\' || *s == '%' ||
		    (unsigned char)*s < 0x20 || *s == 0x7f)
			return cli_fail(c, "%s %s holds a character ssh reads "
			    "specially (quote, backslash, %% or a control "
			    "byte): use another path", what, p);
	return CLI_OK;
}

static int
files_init(struct cli *c, const char *identity, struct files *f)
{
	char *sl;

	memset(f, 0, sizeof(*f));
	if ((f->id = cli_expand_home(identity != NULL ? identity :
	    CMD_DEFAULT_ID)) == NULL)
		return cli_fail(c, "out of memory");
	if (c->sessfile_path[0] == '\0' && sessfile_path(c->sessfile_path,
	    sizeof(c->sessfile_path)) != 0)
		return cli_fail(c, "cannot find the home directory");
	snprintf(f->kh, sizeof(f->kh), "%s", c->sessfile_path);
	if ((sl = strrchr(f->kh, '/')) == NULL)
		return cli_fail(c, "cannot find the home directory");
	snprintf(sl + 1, sizeof(f->kh) - (size_t)(sl + 1 - f->kh),
	    "known_hosts");
	if ((size_t)snprintf(f->cert, sizeof(f->cert), "%s-cert.pub", f->id)
	    >= sizeof(f->cert) ||
	    (size_t)snprintf(f->pub, sizeof(f->pub), "%s.pub", f->id)
	    >= sizeof(f->pub))
		return cli_fail(c, "identity path too long: %s", f->id);
	if (path_check(c, "identity", f->id) != CLI_OK ||
	    path_check(c, "known_hosts file", f->kh) != CLI_OK)
		return CLI_FAIL;
	return CLI_OK;
}

/*
 * Make sure known_hosts holds the server's host CA: GET /v1/ca/host with
 * the ETag of the copy we have; 304 keeps it, 200 replaces it atomically.
 */
static int
host_ca_sync(struct cli *c, const char *kh)
{
	struct client_resp resp = { 0 };
	char etag[sizeof(resp.etag)], msg[600], *old = NULL, *text = NULL;
	const char *server;
	int r = CLI_FAIL, k;

	resp.retry_after = -1;
	etag[0] = '\0';
	if ((r = cli_connect(c)) != CLI_OK)
		goto out;
	r = CLI_FAIL;
	server = client_server(c->cl);
	if ((k = cmd_login_read_small(kh, KH_FILE_MAX, &old)) == 0)
		cmd_ssh_kh_etag(old, server, etag, sizeof(etag));
	else if (k != TSS_E_NOT_FOUND) {
		r = cli_fail(c, "cannot read %s: %s", kh, tss_strerror(k));
		goto out;
	}
	if (client_request_if(c->cl, "GET", "/v1/ca/host", NULL, etag, &resp)
	    != 0) {
		r = cli_fail(c, "%s", client_errmsg(c->cl));
		goto out;
	}
	if (resp.status == 304) {
		r = CLI_OK;
		goto out;
	}
	if (resp.status != 200) {
		client_resp_error(&resp, msg, sizeof(msg), NULL, 0);
		fprintf(stderr, "%s: cannot get the host CA: ", c->prog);
		cli_puts_safe(stderr, msg, 0);
		fputc('\n', stderr);
		goto out;
	}
	if ((k = cmd_ssh_kh_make(server, resp.etag, resp.body != NULL ?
	    resp.body : "", resp.len, &text)) != 0) {
		r = k == TSS_E_NOMEM ? cli_fail(c, "out of memory") :
		    cli_fail(c, "the server's host CA (GET /v1/ca/host) is not "
		    "@cert-authority lines");
		goto out;
	}
	if ((k = sessfile_write_file(kh, text, strlen(text), 0644)) != 0) {
		r = cli_fail(c, "cannot write %s: %s", kh, tss_strerror(k));
		goto out;
	}
	r = CLI_OK;
 out:
	free(old);
	free(text);
	client_resp_clear(&resp);
	return r;
}

/* GET /v1/targets/<target>/route into rt. */
static int
route_get(struct cli *c, const char *target, struct cmd_ssh_route *rt)
{
	struct client_resp resp = { 0 };
	char *esc = NULL, *path = NULL, what[32];
	json_t *j = NULL;
	int r = CLI_FAIL, k;

	resp.retry_after = -1;
	memset(rt, 0, sizeof(*rt));
	if ((esc = cli_escape(target, 1)) == NULL ||
	    mem_asprintf(&path, "/v1/targets/%s/route", esc) < 0) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_call(c, 1, "GET", path, NULL, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	if ((k = cmd_ssh_route_parse(j, rt, what, sizeof(what))) != 0) {
		r = k == TSS_E_NOMEM ? cli_fail(c, "out of memory") :
		    cli_fail(c, "the server's route to %s has a bad %s",
		    target, what);
		goto out;
	}
	r = CLI_OK;
 out:
	json_decref(j);
	client_resp_clear(&resp);
	free(path);
	free(esc);
	return r;
}

/* The login: -l as given, else the only one the route allows. */
static const char *
pick_login(struct cli *c, const struct cmd_ssh_route *rt, const char *want)
{
	size_t i;

	if (want != NULL)
		return want;
	if (rt->nlogins == 1)
		return rt->logins[0];
	if (rt->nlogins == 0) {
		cli_fail(c, "you have no login on %s", rt->target);
		return NULL;
	}
	fprintf(stderr, "%s: several logins on %s are yours (", c->prog,
	    rt->target);
	for (i = 0; i < rt->nlogins; i++)
		fprintf(stderr, "%s%s", i > 0 ? ", " : "", rt->logins[i]);
	fprintf(stderr, "): choose one with -l LOGIN\n");
	return NULL;
}

/* The certificate line in buf ("type base64 [comment]", cut in place)
 * when it parses as a user certificate of key; NULL otherwise. */
static struct certinfo *
cert_of(char *buf, const struct sshkey *key)
{
	struct certinfo *ci = NULL;
	char *b64, *end;

	if ((b64 = strchr(buf, ' ')) == NULL)
		return NULL;
	*b64++ = '\0';
	if ((end = strchr(b64, ' ')) != NULL)
		*end = '\0';
	if (certinfo_from_text(buf, b64, &ci) != 0)
		return NULL;
	if (ci->type != CERTINFO_USER || !sshkey_equal(ci->key, key)) {
		certinfo_free(ci);
		return NULL;
	}
	return ci;
}

/*
 * A certificate for login@target in f->cert: the one there when it
 * certifies our key, names the principal and lasts CERT_MARGIN more
 * seconds; else a new one from POST /v1/certs.
 */
static int
cert_ensure(struct cli *c, const struct files *f, const char *target,
    const char *login)
{
	struct client_resp resp = { 0 };
	struct sshkey *key = NULL;
	struct certinfo *ci = NULL;
	char *pub = NULL, *line = NULL, *principal = NULL;
	json_t *body = NULL, *j = NULL;
	int r = CLI_FAIL, k;

	resp.retry_after = -1;
	if ((k = cmd_login_read_small(f->pub, CMD_PUBKEY_MAX, &pub)) != 0) {
		r = cli_fail(c, "cannot read %s: %s", f->pub, tss_strerror(k));
		goto out;
	}
	if ((k = sshkey_parse_line(pub, strlen(pub), &key, NULL)) != 0) {
		r = cli_fail(c, "%s is not a public key we accept: %s", f->pub,
		    tss_strerror(k));
		goto out;
	}
	if (mem_asprintf(&principal, "%s@%s", login, target) < 0) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if (cmd_login_read_small(f->cert, CMD_PUBKEY_MAX, &line) == 0 &&
	    (ci = cert_of(line, key)) != NULL && cmd_ssh_cert_serves(ci,
	    principal, cli_now(), CERT_MARGIN)) {
		r = CLI_OK;
		goto out;
	}
	if ((body = cmd_login_cert_body(pub, target, login, 0)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_call(c, 1, "POST", "/v1/certs", body, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	r = cmd_login_save_cert(c, j, f->id);
 out:
	certinfo_free(ci);
	sshkey_free(key);
	json_decref(body);
	json_decref(j);
	client_resp_clear(&resp);
	free(principal);
	free(line);
	free(pub);
	return r;
}

/*
 * No session, or an expired one: log in first when someone can answer.
 * Anything else wrong with the session file is left for cli_call to
 * explain, so a file we refuse to read is never replaced behind the user.
 */
static int
session_ensure(struct cli *c)
{
	cli_load_session(c);
	if (!isatty(STDIN_FILENO))
		return CLI_OK;
	if ((c->sess == NULL && c->sess_err == TSS_E_NOT_FOUND) ||
	    (c->sess != NULL && c->sess->expires_at <= cli_now()))
		return cmd_login_session(c, NULL, 0, 0);
	return CLI_OK;
}

/* Print argv as one line a shell reads back as the same words. */
static void
print_argv(char **argv)
{
	const char *safe = "@%+=:,./_-";
	const char *s;
	size_t i;

	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			putchar(' ');
		for (s = argv[i]; *s != '\0'; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' &&
			    *s <= 'Z') || (*s >= '0' && *s <= '9') ||
			    strchr(safe, *s) != NULL))
				break;
		if (*s == '\0' && argv[i][0] != '\0') {
			cli_puts_safe(stdout, argv[i], 0);
			continue;
		}
		putchar('\'');
		for (s = argv[i]; *s != '\0'; s++) {
			if (*s == '\'')
				fputs("'\\''", stdout);
			else if ((unsigned char)*s < 0x20 || *s == 0x7f)
				putchar('?');
			else
				putchar(*s);
		}
		putchar('\'');
	}
	putchar('\n');
}

/*
 * argv[1..]: options (-l and -i are ssh's own spelling of --login and
 * --identity), TARGET, then "--" and the command.  cli_parse sees a copy
 * without the command, with the short options spelt long.
 */
static int
split_args(int argc, char **argv, char **opts, int *nopts, int *cmd_at)
{
	int i, n = 0;

	*cmd_at = argc;
	for (i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--") == 0) {
			*cmd_at = i + 1;
			break;
		}
		if (strcmp(argv[i], "-l") == 0)
			opts[n++] = mem_strdup("--login");
		else if (strcmp(argv[i], "-i") == 0)
			opts[n++] = mem_strdup("--identity");
		else
			opts[n++] = mem_strdup(argv[i]);
		if (opts[n - 1] == NULL)
			return -1;
	}
	*nopts = n;
	return 0;
}

int
cmd_ssh(struct cli *c, int argc, char **argv)
{
	const char *login = NULL, *identity = NULL, *pos[CLI_POS_MAX];
	const char *target, *ssh;
	int dry = 0, nopts = 0, cmd_at, i;
	const struct cli_opt opts[] = {
		{ "login", CLI_OPT_STR, &login },
		{ "identity", CLI_OPT_STR, &identity },
		{ "dry-run", CLI_OPT_FLAG, &dry },
		{ NULL, 0, NULL }
	};
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call;
	struct files f;
	char **ov = NULL, **av = NULL;
	struct stat st;
	size_t np;
	int r = CLI_FAIL;

	memset(&rt, 0, sizeof(rt));
	memset(&f, 0, sizeof(f));
	c->info_stderr = 1;	/* stdout is the remote command's */
	if ((ov = mem_calloc((size_t)argc + 1, sizeof(*ov))) == NULL ||
	    split_args(argc, argv, ov, &nopts, &cmd_at) != 0) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_parse(c, nopts, ov, opts, pos, 1, 1, &np)) != 0) {
		r = r < 0 ? CLI_OK : r;
		goto out;
	}
	target = pos[0];
	if (rbac_valid_target_name(target) != 0) {
		fprintf(stderr, "%s: bad target name: %s\n", c->prog, target);
		r = cli_usage(c);
		goto out;
	}
	if (login != NULL && rbac_valid_login(login) != 0) {
		fprintf(stderr, "%s: bad login name: %s\n", c->prog, login);
		r = cli_usage(c);
		goto out;
	}
	if ((r = files_init(c, identity, &f)) != CLI_OK)
		goto out;
	if (stat(f.id, &st) != 0 || stat(f.pub, &st) != 0) {
		r = cli_fail(c, "no SSH key at %s (or no %s): make one with "
		    "`ssh-keygen -t ed25519 -f %s`, or name yours with -i",
		    f.id, f.pub, f.id);
		goto out;
	}
	if ((r = session_ensure(c)) != CLI_OK ||
	    (r = route_get(c, target, &rt)) != CLI_OK)
		goto out;
	r = CLI_FAIL;
	if ((login = pick_login(c, &rt, login)) == NULL)
		goto out;
	if (cmd_ssh_dest(&rt, &(long){ 0 }) == NULL) {
		r = cli_fail(c, "target %s has no host and no gateway to reach "
		    "it by, and no gateway reports a running container "
		    "labelled tessera.target=%s: an admin sets them with "
		    "`tessera target add`", target, target);
		goto out;
	}
	if ((r = cert_ensure(c, &f, target, login)) != CLI_OK ||
	    (r = host_ca_sync(c, f.kh)) != CLI_OK)
		goto out;
	r = CLI_FAIL;
	if ((ssh = getenv("TESSERA_SSH")) == NULL || *ssh == '\0')
		ssh = "ssh";
	memset(&call, 0, sizeof(call));
	call.ssh = ssh;
	call.identity = f.id;
	call.cert = f.cert;
	call.known_hosts = f.kh;
	call.login = login;
	call.command = argv + cmd_at;
	call.ncommand = (size_t)(argc - cmd_at);
	call.tty = call.ncommand == 0 && isatty(STDIN_FILENO);
	if ((av = cmd_ssh_argv(&rt, &call)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if (dry) {
		print_argv(av);
		r = CLI_OK;
		goto out;
	}
	/* The session token is wiped before ssh takes over the process. */
	cli_cleanup(c);
	fflush(stdout);
	fflush(stderr);
	execvp(av[0], av);
	r = cli_fail(c, "cannot run %s: %s", av[0], strerror(errno));
 out:
	cmd_ssh_argv_free(av);
	for (i = 0; ov != NULL && i < nopts; i++)
		free(ov[i]);
	free(ov);
	cmd_ssh_route_clear(&rt);
	free(f.id);
	return r;
}

/* The ssh_config blocks of one target: one per login. */
static int
config_target(struct cli *c, const char *target, const struct files *f)
{
	struct cmd_ssh_route rt;
	struct cmd_ssh_call call;
	char alias[256], *p;
	size_t i;
	int r;

	if ((r = route_get(c, target, &rt)) != CLI_OK)
		goto out;
	memset(&call, 0, sizeof(call));
	call.identity = f->id;
	call.cert = f->cert;
	call.known_hosts = f->kh;
	if (cmd_ssh_dest(&rt, &(long){ 0 }) == NULL) {
		printf("# %s: no host and no gateway to reach it by\n\n",
		    target);
		goto out;
	}
	for (i = 0; i < rt.nlogins; i++) {
		if (rt.nlogins > 1)
			snprintf(alias, sizeof(alias), "%s-%s", rt.target,
			    rt.logins[i]);
		else
			snprintf(alias, sizeof(alias), "%s", rt.target);
		for (p = alias; *p != '\0'; p++)
			if (*p == '/')
				*p = '-';
		cmd_ssh_config_block(stdout, &rt, rt.logins[i], alias, &call);
		putchar('\n');
	}
 out:
	cmd_ssh_route_clear(&rt);
	return r;
}

int
cmd_ssh_config(struct cli *c, int argc, char **argv)
{
	const char *identity = NULL, *pos[CLI_POS_MAX], *t;
	const struct cli_opt opts[] = {
		{ "identity", CLI_OPT_STR, &identity },
		{ NULL, 0, NULL }
	};
	struct client_resp resp = { 0 };
	struct files f;
	json_t *j = NULL, *acc, *e;
	size_t np, i;
	int r = CLI_FAIL, failed = 0;

	resp.retry_after = -1;
	memset(&f, 0, sizeof(f));
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if ((r = files_init(c, identity, &f)) != CLI_OK ||
	    (r = cli_call(c, 1, "GET", "/v1/me", NULL, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL ||
	    !json_is_array(acc = json_object_get(j, "access"))) {
		r = j == NULL ? CLI_FAIL : cli_fail(c, "the server's answer to "
		    "GET /v1/me has no access list");
		goto out;
	}
	if ((r = host_ca_sync(c, f.kh)) != CLI_OK)
		goto out;
	printf("# ssh_config from `tessera ssh-config` for %s at %s.\n"
	    "# The certificate must hold login@target for the host: run\n"
	    "# `tessera login` to refresh it when it expires.\n\n",
	    c->sess->username, client_server(c->cl));
	json_array_foreach(acc, i, e) {
		if ((t = json_string_value(json_object_get(e, "target")))
		    == NULL)
			continue;
		if (config_target(c, t, &f) != CLI_OK)
			failed = 1;
	}
	if (json_array_size(acc) == 0)
		printf("# (no targets: you have no SSH access)\n");
	r = failed ? CLI_FAIL : CLI_OK;
 out:
	json_decref(j);
	client_resp_clear(&resp);
	free(f.id);
	return r;
}
