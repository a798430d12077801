/*
 * cmd_session: what an engineer runs: enroll, login (password + TOTP, or the
 * device flow; cmd_login.c), whoami, logout.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/mem.h"
#include "cli.h"
#include "cmd_session_int.h"
#include "prompt.h"
#include "qr.h"

#define PASSWORD_MIN	12
#define PASSWORD_MAX	1024

/* Read a secret from stdin or, without echo, from the terminal. */
int
cmd_session_read_secret(struct cli *c, int from_stdin, const char *prompt,
    const char *what, const char *flag, char *buf, size_t len)
{
	int r;

	r = from_stdin ? prompt_stdin_line(buf, len) :
	    prompt_tty(prompt, 0, buf, len);
	switch (r) {
	case 0:
		if (buf[0] != '\0')
			return CLI_OK;
		return cli_fail(c, "empty %s", what);
	case TSS_E_UNAVAILABLE:
		return cli_fail(c, "no terminal to read the %s from: use %s",
		    what, flag);
	case TSS_E_TRUNCATED:
		return cli_fail(c, "no %s: end of input", what);
	case TSS_E_TOO_LONG:
		return cli_fail(c, "%s too long", what);
	default:
		return cli_fail(c, "cannot read the %s: %s", what,
		    tss_strerror(r));
	}
}

/* Characters (not bytes) of UTF-8 text. */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* --------------------------------------------------------------- enroll */

int
cmd_enroll(struct cli *c, int argc, char **argv)
{
	int pw_stdin = 0, code_stdin = 0;
	const struct cli_opt opts[] = {
		{ "password-stdin", CLI_OPT_FLAG, &pw_stdin },
		{ "code-stdin", CLI_OPT_FLAG, &code_stdin },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX], *link, *h, *user, *secret, *uri;
	char pw[PROMPT_LINE_MAX], pw2[PROMPT_LINE_MAX], code[CODE_MAX];
	char *token = NULL, *base = NULL, *drawing = NULL, *uname = NULL;
	struct client_resp resp = { 0 };
	json_t *body = NULL, *j = NULL, *codes, *e;
	size_t np, i, n;
	int r = CLI_FAIL, tries, ok;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	link = pos[0];
	if ((h = strstr(link, "/enroll#token=")) == NULL ||
	    h[14] == '\0') {
		fprintf(stderr, "%s: not an enrollment link (it looks like "
		    "https://HOST/enroll#token=...)\n", c->prog);
		return cli_usage(c);
	}
	n = strcspn(h + 14, "&");
	if ((token = mem_strndup(h + 14, n)) == NULL ||
	    (base = mem_strndup(link, (size_t)(h - link))) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if (c->server == NULL)
		c->server = base;	/* the link names its server */
	if ((r = cli_connect(c)) != CLI_OK)
		goto out;

	for (tries = 0;; tries++) {
		if ((r = cmd_session_read_secret(c, pw_stdin,
		    "New password: ", "password", "--password-stdin", pw,
		    sizeof(pw))) != CLI_OK)
			goto out;
		ok = 1;
		if (!pw_stdin) {
			if ((r = cmd_session_read_secret(c, 0,
			    "Repeat the password: ", "password",
			    "--password-stdin", pw2, sizeof(pw2))) != CLI_OK)
				goto out;
			if (strcmp(pw, pw2) != 0) {
				fprintf(stderr, "The passwords differ.\n");
				ok = 0;
			}
		}
		if (ok && (utf8_len(pw) < PASSWORD_MIN ||
		    utf8_len(pw) > PASSWORD_MAX)) {
			fprintf(stderr, "A password has %d to %d characters.\n",
			    PASSWORD_MIN, PASSWORD_MAX);
			ok = 0;
		}
		if (ok)
			break;
		if (pw_stdin || tries >= 2) {
			r = cli_fail(c, "no acceptable password");
			goto out;
		}
	}
	if ((body = json_pack("{s:s, s:s}", "token", token, "password", pw))
	    == NULL) {
		r = cli_fail(c, "the password is not valid UTF-8");
		goto out;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(pw2, sizeof(pw2));
	if ((r = cli_call(c, 0, "POST", "/v1/enroll/start", body, &resp))
	    != CLI_OK)
		goto out;
	json_decref(body);
	body = NULL;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	if ((user = json_string_value(json_object_get(j, "username"))) != NULL &&
	    (uname = mem_strdup(user)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	user = uname;	/* j is replaced by the finish answer below */
	secret = json_string_value(json_object_get(j, "totp_secret"));
	uri = json_string_value(json_object_get(j, "otpauth_uri"));
	if (secret == NULL) {
		r = cli_fail(c, "the server sent no TOTP secret");
		goto out;
	}
	if (!code_stdin) {
		printf("Add this account to your authenticator app: scan the "
		    "QR code, or type the secret.\n\n");
		if (uri != NULL && qr_render(uri, isatty(STDOUT_FILENO) &&
		    getenv("NO_COLOR") == NULL, &drawing, NULL) == 0)
			printf("%s\n", drawing);
		if (uri != NULL) {
			printf("otpauth_uri: ");
			cli_puts_safe(stdout, uri, 0);
			printf("\n");
		}
	}
	if (user != NULL) {
		printf("username: ");
		cli_puts_safe(stdout, user, 0);
		printf("\n");
	}
	printf("totp_secret: ");
	cli_puts_safe(stdout, secret, 0);
	printf("\n");
	fflush(stdout);

	for (tries = 0;; tries++) {
		if ((r = cmd_session_read_secret(c, code_stdin,
		    "Code from the app: ", "code", "--code-stdin", code,
		    sizeof(code))) != CLI_OK)
			goto out;
		json_decref(body);
		if ((body = json_pack("{s:s, s:s}", "token", token, "code",
		    code)) == NULL) {
			r = cli_fail(c, "the code is not valid UTF-8");
			goto out;
		}
		explicit_bzero(code, sizeof(code));
		r = cli_call(c, 0, "POST", "/v1/enroll/finish", body, &resp);
		if (r == CLI_OK)
			break;
		if (code_stdin || tries >= 2 || resp.status == 0 ||
		    (resp.status != 400 && resp.status != 401))
			goto out;
		fprintf(stderr, "Try again with the next code.\n");
	}
	if (c->json) {
		cli_print_raw(&resp);
		r = CLI_OK;
		goto out;
	}
	json_decref(j);
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	codes = json_object_get(j, "recovery_codes");
	printf("\nEnrollment complete.  Recovery codes: each works once in "
	    "place of a TOTP code.\nKeep them somewhere safe; they are not "
	    "shown again.\n\n");
	json_array_foreach(codes, i, e) {
		if (json_string_value(e) == NULL)
			continue;
		printf("  ");
		cli_puts_safe(stdout, json_string_value(e), 0);
		printf("\n");
	}
	printf("\nLog in with: %s login", c->prog);
	if (user != NULL) {
		printf(" --user ");
		cli_puts_safe(stdout, user, 0);
	}
	printf("\n");
	r = CLI_OK;
 out:
	if (c->server == base)
		c->server = NULL;
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(pw2, sizeof(pw2));
	explicit_bzero(code, sizeof(code));
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (drawing != NULL) {
		explicit_bzero(drawing, strlen(drawing));
		free(drawing);
	}
	free(base);
	free(uname);
	json_decref(body);
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

/* --------------------------------------------------------- whoami/logout */

int
cmd_whoami(struct cli *c, int argc, char **argv)
{
	static const char *const cols[] = { "target", "logins", NULL };
	const char *pos[CLI_POS_MAX];
	struct client_resp resp = { 0 };
	char when[32], left[32], ttl[32];
	json_t *j = NULL, *v;
	char *cell;
	size_t np;
	int r;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	if ((r = cli_call(c, 1, "GET", "/v1/me", NULL, &resp)) != CLI_OK)
		goto out;
	if (c->json) {
		cli_print_raw(&resp);
		goto out;
	}
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	cli_fmt_time(c->sess->expires_at, when, sizeof(when));
	cli_fmt_left(c->sess->expires_at - cli_now(), left, sizeof(left));
#define FIELD(label, key) do { \
		cell = cli_cell(key, json_object_get(j, key)); \
		printf("%-9s ", label); \
		cli_puts_safe(stdout, cell != NULL ? cell : "?", 0); \
		printf("\n"); \
		free(cell); \
	} while (0)
	FIELD("user:", "username");
	FIELD("groups:", "groups");
	FIELD("roles:", "roles");
#undef FIELD
	if ((v = json_object_get(j, "max_ttl")) != NULL &&
	    json_is_integer(v) && json_integer_value(v) > 0) {
		duration_format(json_integer_value(v), ttl, sizeof(ttl));
		printf("%-9s %s\n", "max ttl:", ttl);
	}
	printf("%-9s %s\n", "server:", client_server(c->cl));
	printf("%-9s until %s (%s left)\n", "session:", when, left);
	printf("access:\n");
	cli_table(json_object_get(j, "access"), cols);
 out:
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

int
cmd_logout(struct cli *c, int argc, char **argv)
{
	static const long quiet401[] = { 401, 0 };
	const char *pos[CLI_POS_MAX];
	struct client_resp resp = { 0 };
	struct sessfile *s = NULL;
	size_t np;
	int r, k;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	if ((k = sessfile_path(c->sessfile_path, sizeof(c->sessfile_path))) != 0)
		return cli_fail(c, "cannot find the home directory");
	k = sessfile_load(c->sessfile_path, &s);
	if (k == TSS_E_NOT_FOUND) {
		cli_info(c, "Not logged in.\n");
		return CLI_OK;
	}
	if (k == 0 && s->expires_at > cli_now()) {
		r = cli_call_quiet(c, 1, "POST", "/v1/logout", NULL, &resp,
		    quiet401);
		if (r != CLI_OK && resp.status != 401) {
			/* The local copy goes anyway; say the server may
			 * still honour the token until it times out. */
			if (sessfile_remove(c->sessfile_path) == 0)
				fprintf(stderr, "%s: removed the local session, "
				    "but the server did not confirm the "
				    "logout\n", c->prog);
			goto out;
		}
	}
	if ((k = sessfile_remove(c->sessfile_path)) != 0) {
		r = cli_fail(c, "cannot remove %s: %s", c->sessfile_path,
		    tss_strerror(k));
		goto out;
	}
	cli_info(c, "Logged out.\n");
	r = CLI_OK;
 out:
	sessfile_free(s);
	client_resp_clear(&resp);
	return r;
}
