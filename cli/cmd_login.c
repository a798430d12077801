/*
 * cmd_login: tessera login, with a password and a TOTP code or through the
 * device flow (--browser).  Login also makes the SSH key when there is
 * none, writes <identity>-cert.pub and loads both into a running ssh-agent.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/mem.h"
#include "cli.h"
#include "cmd_session_int.h"
#include "prompt.h"

extern char **environ;

/*
 * posix_spawnp() takes char *const argv[] for compatibility with old code,
 * but never writes to the strings (POSIX says so for the exec family);
 * ours are const, and this is the one place that drops the const, by a
 * union rather than a cast.
 */
static char *const *
spawn_argv(const char *const *argv)
{
	union { const char *const *c; char *const *m; } u = { .c = argv };

	return u.m;
}

/* Run argv; stdin from /dev/null when quiet_in.  Returns the exit status,
 * or -1 when it could not run. */
static int
run(const char *const argv[], int quiet_in)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r = -1;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (quiet_in && posix_spawn_file_actions_addopen(&fa, STDIN_FILENO,
	    "/dev/null", O_RDONLY, 0) != 0)
		goto out;
	fflush(stdout);
	fflush(stderr);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, spawn_argv(argv),
	    environ) != 0)
		goto out;
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			goto out;
	r = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
 out:
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int
cmd_login_read_small(const char *path, size_t max, char **out)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int r = TSS_E_IO;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? TSS_E_NOT_FOUND : TSS_E_IO;
	if ((buf = mem_malloc(max + 1)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f))
		goto out;
	if (n > max) {
		r = TSS_E_TOO_LONG;
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	fclose(f);
	return r;
}

/* Make sure identity and identity.pub exist, creating them with ssh-keygen
 * (after asking, when interactive).  CLI_OK, CLI_FAIL, or 3 declined. */
#define DECLINED	3
static int
ensure_identity(struct cli *c, const char *id, int interactive)
{
	char pub[4096], dir[4096], q[4200], *sl;
	const char *argv[] = { "ssh-keygen", "-t", "ed25519", "-N", "", "-f",
	    id, "-q", NULL };
	struct stat st;
	int n, k;

	n = snprintf(pub, sizeof(pub), "%s.pub", id);
	if (n < 0 || (size_t)n >= sizeof(pub))
		return cli_fail(c, "identity path too long");
	if (stat(id, &st) == 0) {
		if (stat(pub, &st) != 0)
			return cli_fail(c, "%s exists but %s does not: run "
			    "`ssh-keygen -y -f %s > %s`", id, pub, id, pub);
		return CLI_OK;
	}
	if (interactive) {
		snprintf(q, sizeof(q), "No SSH key at %s.  Create one (Ed25519, "
		    "no passphrase)? [Y/n] ", id);
		if ((k = prompt_yesno(q, 1)) < 0)
			return cli_fail(c, "cannot read the answer");
		if (k == 0)
			return DECLINED;
	}
	snprintf(dir, sizeof(dir), "%s", id);
	if ((sl = strrchr(dir, '/')) != NULL && sl != dir) {
		*sl = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return cli_fail(c, "cannot create %s: %s", dir,
			    strerror(errno));
	}
	if ((k = run(argv, 1)) != 0)
		return cli_fail(c, "ssh-keygen failed (%s %d) creating %s",
		    k < 0 ? "could not run," : "exit", k, id);
	cli_info(c, "Created SSH key %s\n", id);
	return CLI_OK;
}

int
cmd_login_save_cert(struct cli *c, const json_t *answer, const char *id)
{
	char path[4096], *line = NULL;
	const char *cert;
	size_t n;
	int r = CLI_FAIL, k;

	if ((cert = json_string_value(json_object_get(answer, "certificate")))
	    == NULL) {
		r = cli_fail(c, "the server's answer holds no certificate");
		goto out;
	}
	n = (size_t)snprintf(path, sizeof(path), "%s-cert.pub", id);
	if (n >= sizeof(path) || (line = mem_malloc(strlen(cert) + 2)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	memcpy(line, cert, strlen(cert));
	memcpy(line + strlen(cert), "\n", 2);
	if ((k = sessfile_write_file(path, line, strlen(line), 0644)) != 0) {
		r = cli_fail(c, "cannot write %s: %s", path, tss_strerror(k));
		goto out;
	}
	r = CLI_OK;
 out:
	free(line);
	return r;
}

/* Write the certificate of a POST /v1/certs answer and print how to use
 * it; load it into a running ssh-agent. */
static int
use_cert(struct cli *c, const struct client_resp *resp, const char *id)
{
	char path[4200], when[32], left[32], secs[32];
	const char *argv[] = { "ssh-add", "-t", secs, id, NULL };
	const char *p, *at;
	json_t *j = NULL, *pr, *e;
	int64_t vb = 0, now = cli_now();
	char *dflt = cli_expand_home(CMD_DEFAULT_ID);
	int other_id = dflt == NULL || strcmp(id, dflt) != 0;
	size_t i;
	int r = CLI_FAIL, k;

	free(dflt);
	if (c->json)
		cli_print_raw(resp);
	if ((j = cli_json(c, resp)) == NULL)
		goto out;
	if ((r = cmd_login_save_cert(c, j, id)) != CLI_OK)
		goto out;
	r = CLI_FAIL;
	snprintf(path, sizeof(path), "%s-cert.pub", id);
	(void)cli_json_time(json_object_get(j, "valid_before"), &vb);
	cli_fmt_time(vb, when, sizeof(when));
	cli_fmt_left(vb - now, left, sizeof(left));
	cli_info(c, "Certificate %s written (serial %lld), valid until %s "
	    "(%s left).\n", path,
	    (long long)json_integer_value(json_object_get(j, "serial")), when,
	    left);
	pr = json_object_get(j, "principals");
	cli_info(c, "It opens:\n");
	json_array_foreach(pr, i, e) {
		if ((p = json_string_value(e)) == NULL)
			continue;
		at = strrchr(p, '@');
		cli_puts_safe(c->json ? stderr : stdout, p, 0);
		if (at == NULL) {
			cli_info(c, "\n");
			continue;
		}
		/* principal login@target: tessera ssh finds the host. */
		cli_info(c, "\n    %s ssh %s -l %.*s%s%s\n", c->prog, at + 1,
		    (int)(at - p), p, other_id ? " -i " : "",
		    other_id ? id : "");
	}
	if (json_array_size(pr) == 0)
		cli_info(c, "  (no principals)\n");
	if (getenv("SSH_AUTH_SOCK") != NULL && vb > now) {
		snprintf(secs, sizeof(secs), "%lld", (long long)(vb - now));
		if ((k = run(argv, 1)) == 0)
			cli_info(c, "Added the key and certificate to ssh-agent "
			    "for %s.\n", left);
		else
			fprintf(stderr, "%s: ssh-add failed; the certificate "
			    "is still in %s\n", c->prog, path);
	}
	r = CLI_OK;
 out:
	json_decref(j);
	return r;
}

json_t *
cmd_login_cert_body(const char *pubkey, const char *target, const char *login,
    int64_t ttl)
{
	json_t *b;

	if ((b = json_pack("{s:s}", "public_key", pubkey)) == NULL)
		return NULL;
	if ((target != NULL && json_object_set_new(b, "target",
	    json_string(target)) != 0) ||
	    (login != NULL && json_object_set_new(b, "login",
	    json_string(login)) != 0) ||
	    (ttl > 0 && json_object_set_new(b, "ttl", json_integer(ttl))
	    != 0)) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* --browser: RFC 8628 device flow; no password here, no session kept. */
static int
device_login(struct cli *c, const char *id, const char *pubkey,
    const char *target, const char *login, int64_t ttl)
{
	static const long quiet[] = { 400, 403, 0 };
	struct client_resp resp = { 0 };
	json_t *body = NULL, *j = NULL, *tb = NULL;
	const char *dc, *uc, *uri;
	char msg[600], code[64];
	int64_t interval, deadline;
	int r = CLI_FAIL;

	resp.retry_after = -1;
	if ((body = cmd_login_cert_body(pubkey, target, login, ttl)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_call(c, 0, "POST", "/v1/device", body, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	dc = json_string_value(json_object_get(j, "device_code"));
	uc = json_string_value(json_object_get(j, "user_code"));
	uri = json_string_value(json_object_get(j, "verification_uri"));
	interval = json_integer_value(json_object_get(j, "interval"));
	deadline = cli_now() + json_integer_value(json_object_get(j,
	    "expires_in"));
	if (dc == NULL || uc == NULL || uri == NULL) {
		r = cli_fail(c, "the server's device answer is incomplete");
		goto out;
	}
	if (interval < 1 || interval > 60)
		interval = 5;
	fprintf(stderr, "Open ");
	cli_puts_safe(stderr, uri, 0);
	fprintf(stderr, " in a browser where you are logged in to Tessera "
	    "and enter the code ");
	cli_puts_safe(stderr, uc, 0);
	fprintf(stderr, "\nWaiting for approval...\n");
	if ((tb = json_pack("{s:s}", "device_code", dc)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	for (;;) {
		/* The protocol's polling interval, not synchronisation. */
		sleep((unsigned)interval);
		r = cli_call_quiet(c, 0, "POST", "/v1/device/token", tb, &resp,
		    quiet);
		if (r == CLI_OK)
			break;
		if (resp.status == 0)
			goto out;
		client_resp_error(&resp, msg, sizeof(msg), code, sizeof(code));
		if (strcmp(code, "authorization_pending") == 0 ||
		    strcmp(code, "slow_down") == 0) {
			if (strcmp(code, "slow_down") == 0 && interval < 60)
				interval += 5;
			if (cli_now() < deadline)
				continue;
			r = cli_fail(c, "the request was not approved in time");
			goto out;
		}
		fprintf(stderr, "%s: ", c->prog);
		cli_puts_safe(stderr, msg, 0);
		fputc('\n', stderr);
		r = CLI_FAIL;
		goto out;
	}
	r = use_cert(c, &resp, id);
 out:
	json_decref(body);
	json_decref(tb);
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

static const char *
local_user(void)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (u != NULL && *u != '\0')
		return u;
	if ((pw = getpwuid(getuid())) != NULL)
		return pw->pw_name;
	return NULL;
}

int
cmd_login_session(struct cli *c, const char *user, int pw_stdin,
    int code_stdin)
{
	char pw[PROMPT_LINE_MAX], code[CODE_MAX], ubuf[256];
	char when[32], left[32];
	char *server = NULL;
	const char *token;
	struct client_resp resp = { 0 };
	struct sessfile *ns = NULL, *sess;
	json_t *body = NULL, *j = NULL;
	int64_t exp = 0;
	int r = CLI_FAIL, k, interactive;

	resp.retry_after = -1;
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(code, sizeof(code));
	interactive = !pw_stdin && !code_stdin && isatty(STDIN_FILENO);
	/* Who: --user, else the saved session's user, else asked. */
	if (user == NULL && c->sess == NULL) {
		(void)cli_server(c);	/* loads the session if any */
		if (c->sess != NULL && c->sess->username[0] != '\0' &&
		    (c->server == NULL || strcmp(c->server,
		    c->sess->server) == 0))
			user = c->sess->username;
	}
	if (user == NULL && interactive && local_user() != NULL) {
		snprintf(pw, sizeof(pw), "Username [%s]: ", local_user());
		k = prompt_tty(pw, 1, ubuf, sizeof(ubuf));
		explicit_bzero(pw, sizeof(pw));
		if (k == 0 && ubuf[0] != '\0')
			user = ubuf;
	}
	if (user == NULL && (user = local_user()) == NULL) {
		fprintf(stderr, "%s: who is logging in? use --user\n", c->prog);
		r = cli_usage(c);
		goto out;
	}
	if ((server = mem_strdup(cli_server(c))) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_connect(c)) != CLI_OK)
		goto out;
	if (interactive)
		fprintf(stderr, "Logging in to %s as %s\n", server, user);
	if ((r = cmd_session_read_secret(c, pw_stdin, "Password: ",
	    "password", "--password-stdin", pw, sizeof(pw))) != CLI_OK ||
	    (r = cmd_session_read_secret(c, code_stdin,
	    "TOTP code (or a recovery code): ", "code", "--code-stdin", code,
	    sizeof(code))) != CLI_OK)
		goto out;
	body = json_pack("{s:s, s:s, s:s}", "username", user, "password", pw,
	    "code", code);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(code, sizeof(code));
	if (body == NULL) {
		r = cli_fail(c, "the username, password or code is not valid "
		    "UTF-8");
		goto out;
	}
	if ((r = cli_call(c, 0, "POST", "/v1/login", body, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	if ((token = json_string_value(json_object_get(j, "token"))) == NULL ||
	    cli_json_time(json_object_get(j, "expires_at"), &exp) != 0) {
		r = cli_fail(c, "the server's login answer is incomplete");
		goto out;
	}
	if ((ns = mem_calloc(1, sizeof(*ns))) == NULL ||
	    (ns->server = mem_strdup(client_server(c->cl))) == NULL ||
	    (ns->token = mem_strdup(token)) == NULL ||
	    (ns->username = mem_strdup(user)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	ns->expires_at = exp;
	if (c->sessfile_path[0] == '\0' && (k = sessfile_path(c->sessfile_path,
	    sizeof(c->sessfile_path))) != 0) {
		r = cli_fail(c, "cannot find the home directory");
		goto out;
	}
	if ((k = sessfile_save(c->sessfile_path, ns)) != 0) {
		r = cli_fail(c, "cannot save the session in %s: %s",
		    c->sessfile_path, tss_strerror(k));
		goto out;
	}
	/* From here on, calls use the new session. */
	sessfile_free(c->sess);
	c->sess = NULL;
	c->sess_err = 1;
	if ((k = sessfile_load(c->sessfile_path, &sess)) != 0) {
		r = cli_fail(c, "cannot read back %s: %s", c->sessfile_path,
		    tss_strerror(k));
		goto out;
	}
	c->sess = sess;
	c->sess_err = 0;
	cli_fmt_time(exp, when, sizeof(when));
	cli_fmt_left(exp - cli_now(), left, sizeof(left));
	cli_info(c, "Logged in as %s; the session lasts until %s (%s).\n",
	    c->sess->username, when, left);
	r = CLI_OK;
 out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(code, sizeof(code));
	sessfile_free(ns);
	json_decref(body);
	json_decref(j);
	client_resp_clear(&resp);
	free(server);
	return r;
}

int
cmd_login(struct cli *c, int argc, char **argv)
{
	static const long quiet403[] = { 403, 0 };
	const char *user = NULL, *identity = NULL, *target = NULL;
	const char *login = NULL, *ttl_s = NULL;
	int browser = 0, pw_stdin = 0, code_stdin = 0;
	const struct cli_opt opts[] = {
		{ "user", CLI_OPT_STR, &user },
		{ "identity", CLI_OPT_STR, &identity },
		{ "target", CLI_OPT_STR, &target },
		{ "login", CLI_OPT_STR, &login },
		{ "ttl", CLI_OPT_STR, &ttl_s },
		{ "browser", CLI_OPT_FLAG, &browser },
		{ "password-stdin", CLI_OPT_FLAG, &pw_stdin },
		{ "code-stdin", CLI_OPT_FLAG, &code_stdin },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	char msg[600], pubpath[4200];
	char *id = NULL, *pubkey = NULL;
	struct client_resp resp = { 0 };
	json_t *body = NULL;
	int64_t ttl = 0;
	size_t np;
	int r = CLI_FAIL, k, interactive;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (ttl_s != NULL && ((k = duration_parse(ttl_s, &ttl)) != 0 ||
	    ttl <= 0)) {
		fprintf(stderr, "%s: bad --ttl %s (like 900s, 15m, 8h)\n",
		    c->prog, ttl_s);
		return cli_usage(c);
	}
	if (browser && (pw_stdin || code_stdin || user != NULL)) {
		fprintf(stderr, "%s: --browser takes no password, code or "
		    "user\n", c->prog);
		return cli_usage(c);
	}
	interactive = !pw_stdin && !code_stdin && isatty(STDIN_FILENO);
	if ((id = cli_expand_home(identity != NULL ? identity :
	    CMD_DEFAULT_ID)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}

	if (browser) {
		if ((r = cli_connect(c)) != CLI_OK)
			goto out;
		if ((r = ensure_identity(c, id, interactive)) != CLI_OK) {
			if (r == DECLINED)
				r = cli_fail(c, "no key, no certificate");
			goto out;
		}
		snprintf(pubpath, sizeof(pubpath), "%s.pub", id);
		if ((k = cmd_login_read_small(pubpath, CMD_PUBKEY_MAX,
		    &pubkey)) != 0) {
			r = cli_fail(c, "cannot read %s: %s", pubpath,
			    tss_strerror(k));
			goto out;
		}
		r = device_login(c, id, pubkey, target, login, ttl);
		goto out;
	}

	if ((r = cmd_login_session(c, user, pw_stdin, code_stdin)) != CLI_OK)
		goto out;
	if ((r = ensure_identity(c, id, interactive)) != CLI_OK) {
		if (r == DECLINED) {
			cli_info(c, "No SSH key, so no certificate was "
			    "requested.\n");
			r = CLI_OK;
		}
		goto out;
	}
	snprintf(pubpath, sizeof(pubpath), "%s.pub", id);
	if ((k = cmd_login_read_small(pubpath, CMD_PUBKEY_MAX, &pubkey))
	    != 0) {
		r = cli_fail(c, "cannot read %s: %s", pubpath, tss_strerror(k));
		goto out;
	}
	if ((body = cmd_login_cert_body(pubkey, target, login, ttl)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	r = cli_call_quiet(c, 1, "POST", "/v1/certs", body, &resp, quiet403);
	if (r != CLI_OK && resp.status == 403) {
		/* Logged in without SSH access: that is not a failure. */
		client_resp_error(&resp, msg, sizeof(msg), NULL, 0);
		cli_info(c, "No certificate was issued: ");
		cli_puts_safe(c->json ? stderr : stdout, msg, 0);
		cli_info(c, "\n");
		if (c->json)
			cli_print_raw(&resp);
		r = CLI_OK;
		goto out;
	}
	if (r != CLI_OK)
		goto out;
	r = use_cert(c, &resp, id);
 out:
	json_decref(body);
	client_resp_clear(&resp);
	free(pubkey);
	free(id);
	return r;
}
