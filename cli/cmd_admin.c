/*
 * cmd_admin: the admin commands over the API with the saved session
 * (users, targets, roles, bindings, check, certificates, audit).  Each is a
 * request and a table; --json prints the server's JSON instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/mem.h"
#include "cli.h"

#define ROLE_FILE_MAX	(64 * 1024)
#define AUDIT_PAGE	500
#define AUDIT_POLL_S	2

/* "/v1/<what>/<escaped name><suffix>" into a new allocation. */
static char *
path_of(const char *what, const char *name, int keep_slash,
    const char *suffix)
{
	char *esc, *p = NULL;
	size_t n;

	if ((esc = cli_escape(name, keep_slash)) == NULL)
		return NULL;
	n = strlen(what) + strlen(esc) + strlen(suffix) + 6;
	if ((p = mem_malloc(n)) != NULL &&
	    snprintf(p, n, "/v1/%s/%s%s", what, esc, suffix) >= (int)n) {
		free(p);
		p = NULL;
	}
	free(esc);
	return p;
}

/*
 * One request; on success print the JSON (--json), the table of the list
 * under key with columns cols, or done (a message) when the answer has no
 * body.  path is freed.
 */
static int
simple(struct cli *c, const char *method, char *path, const json_t *body,
    const char *key, const char *const *cols, const char *done)
{
	struct client_resp resp = { 0 };
	json_t *j = NULL;
	int r;

	resp.retry_after = -1;
	if (path == NULL)
		return cli_fail(c, "out of memory");
	if ((r = cli_call(c, 1, method, path, body, &resp)) != CLI_OK)
		goto out;
	if (c->json) {
		cli_print_raw(&resp);
		goto out;
	}
	if (cols != NULL) {
		if ((j = cli_json(c, &resp)) == NULL) {
			r = CLI_FAIL;
			goto out;
		}
		cli_table(cli_list(j, key), cols);
	}
	if (done != NULL) {
		cli_puts_safe(stdout, done, 0);
		fputc('\n', stdout);
	}
 out:
	json_decref(j);
	client_resp_clear(&resp);
	free(path);
	return r;
}

/* Print an enrollment answer: the URL on a line of its own. */
static int
enroll_answer(struct cli *c, const char *method, char *path, json_t *body)
{
	struct client_resp resp = { 0 };
	const char *url;
	json_t *j = NULL, *e;
	char when[32];
	int64_t t;
	int r;

	resp.retry_after = -1;
	if (path == NULL)
		return cli_fail(c, "out of memory");
	if ((r = cli_call(c, 1, method, path, body, &resp)) != CLI_OK)
		goto out;
	if (c->json) {
		cli_print_raw(&resp);
		goto out;
	}
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	if ((url = json_string_value(json_object_get(j, "enroll_url")))
	    == NULL) {
		r = cli_fail(c, "the server's answer has no enroll_url");
		goto out;
	}
	printf("Enrollment link for ");
	cli_puts_safe(stdout, json_string_value(json_object_get(j,
	    "username")) != NULL ? json_string_value(json_object_get(j,
	    "username")) : "the user", 0);
	if ((e = json_object_get(j, "expires_at")) != NULL &&
	    cli_json_time(e, &t) == 0) {
		cli_fmt_time(t, when, sizeof(when));
		printf(" (valid until %s)", when);
	}
	printf(", to be handed over privately:\n");
	cli_puts_safe(stdout, url, 0);
	printf("\n");
 out:
	json_decref(j);
	client_resp_clear(&resp);
	free(path);
	return r;
}

/* ---------------------------------------------------------------- users */

static const char *const user_cols[] = { "username", "groups", "state",
    "disabled", "locked", "last_login", "created", "created_at", NULL };

int
cmd_user_add(struct cli *c, int argc, char **argv)
{
	struct cli_list groups = { .n = 0 };
	const struct cli_opt opts[] = {
		{ "group", CLI_OPT_LIST, &groups },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	json_t *body = NULL, *ga;
	size_t np, i;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if ((ga = json_array()) == NULL)
		return cli_fail(c, "out of memory");
	for (i = 0; i < groups.n; i++)
		if (json_array_append_new(ga, json_string(groups.v[i])) != 0) {
			json_decref(ga);
			return cli_fail(c, "group names must be UTF-8");
		}
	if ((body = json_pack("{s:s, s:o}", "username", pos[0], "groups", ga))
	    == NULL)
		return cli_fail(c, "the username must be UTF-8");
	r = enroll_answer(c, "POST", mem_strdup("/v1/users"), body);
	json_decref(body);
	return r;
}

int
cmd_user_ls(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	return simple(c, "GET", mem_strdup("/v1/users"), NULL, "users", user_cols,
	    NULL);
}

static int
user_patch(struct cli *c, int argc, char **argv, int disabled)
{
	const char *pos[CLI_POS_MAX];
	json_t *body;
	size_t np;
	int r;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	if ((body = json_pack("{s:b}", "disabled", disabled)) == NULL)
		return cli_fail(c, "out of memory");
	r = simple(c, "PATCH", path_of("users", pos[0], 0, ""), body, NULL,
	    NULL, c->json ? NULL : disabled ? "Disabled." : "Enabled.");
	json_decref(body);
	return r;
}

int
cmd_user_disable(struct cli *c, int argc, char **argv)
{
	return user_patch(c, argc, argv, 1);
}

int
cmd_user_enable(struct cli *c, int argc, char **argv)
{
	return user_patch(c, argc, argv, 0);
}

int
cmd_user_reset(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	return enroll_answer(c, "POST", path_of("users", pos[0], 0, "/reset"),
	    NULL);
}

int
cmd_user_rm(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	return simple(c, "DELETE", path_of("users", pos[0], 0, ""), NULL, NULL,
	    NULL, c->json ? NULL : "Removed.");
}

/* -------------------------------------------------------------- targets */

int
cmd_target_add(struct cli *c, int argc, char **argv)
{
	struct cli_list labels = { .n = 0 }, hosts = { .n = 0 };
	const char *port = NULL, *gw = NULL;
	const struct cli_opt opts[] = {
		{ "label", CLI_OPT_LIST, &labels },
		{ "host", CLI_OPT_LIST, &hosts },
		{ "port", CLI_OPT_STR, &port },
		{ "gateway", CLI_OPT_STR, &gw },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX], *eq;
	json_t *body = NULL, *lo, *ho;
	char *k, *end;
	unsigned long p = 22;
	size_t np, i;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (port != NULL && ((p = strtoul(port, &end, 10)) < 1 || p > 65535 ||
	    *end != '\0' || port[0] < '0' || port[0] > '9')) {
		fprintf(stderr, "%s: bad --port %s (1 to 65535)\n", c->prog,
		    port);
		return cli_usage(c);
	}
	if ((lo = json_object()) == NULL)
		return cli_fail(c, "out of memory");
	for (i = 0; i < labels.n; i++) {
		if ((eq = strchr(labels.v[i], '=')) == NULL ||
		    eq == labels.v[i]) {
			json_decref(lo);
			fprintf(stderr, "%s: a label is KEY=VALUE: %s\n",
			    c->prog, labels.v[i]);
			return cli_usage(c);
		}
		if ((k = mem_strndup(labels.v[i], (size_t)(eq - labels.v[i])))
		    == NULL || json_object_set_new(lo, k, json_string(eq + 1))
		    != 0) {
			free(k);
			json_decref(lo);
			return cli_fail(c, "labels must be UTF-8");
		}
		free(k);
	}
	for (i = 0, ho = json_array(); ho != NULL && i < hosts.n; i++)
		json_array_append_new(ho, json_string(hosts.v[i]));
	if ((body = json_pack("{s:o, s:o, s:I, s:o}", "labels", lo, "hosts",
	    ho, "port", (json_int_t)p, "gateway", gw != NULL ?
	    json_string(gw) : json_null())) == NULL ||
	    json_array_size(ho) != hosts.n) {
		json_decref(body);
		return cli_fail(c, "hosts and gateway must be UTF-8");
	}
	r = simple(c, "PUT", path_of("targets", pos[0], 1, ""), body, NULL,
	    NULL, c->json ? NULL : "Saved.");
	json_decref(body);
	return r;
}

int
cmd_target_token(struct cli *c, int argc, char **argv)
{
	const char *ttl = NULL, *pos[CLI_POS_MAX], *tok;
	const struct cli_opt opts[] = {
		{ "ttl", CLI_OPT_STR, &ttl },
		{ NULL, 0, NULL }
	};
	struct client_resp resp = { .retry_after = -1 };
	json_t *body, *j = NULL;
	char *path;
	int64_t d = 0;	/* 0: the server's default */
	size_t np;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 1, 1, &np);
	if (ttl != NULL && (duration_parse(ttl, &d) != 0 || d <= 0)) {
		fprintf(stderr, "%s: bad --ttl %s (like 15m, 1h)\n", c->prog,
		    ttl);
		return cli_usage(c);
	}
	body = d > 0 ? json_pack("{s:I}", "ttl", (json_int_t)d) : json_object();
	if (body == NULL ||
	    (path = path_of("targets", pos[0], 1, "/token")) == NULL) {
		json_decref(body);
		return cli_fail(c, "out of memory");
	}
	if ((r = cli_call(c, 1, "POST", path, body, &resp)) != CLI_OK)
		goto out;
	if (c->json)
		cli_print_raw(&resp);
	/* The token alone on stdout, for a Docker secret or a file. */
	else if ((j = cli_json(c, &resp)) == NULL ||
	    (tok = json_string_value(json_object_get(j, "token"))) == NULL)
		r = cli_fail(c, "the server's answer holds no token");
	else
		printf("%s\n", tok);
 out:
	json_decref(j);
	json_decref(body);
	client_resp_clear(&resp);
	free(path);
	return r;
}

int
cmd_target_ls(struct cli *c, int argc, char **argv)
{
	static const char *const cols[] = { "name", "labels", NULL };
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	return simple(c, "GET", mem_strdup("/v1/targets"), NULL, "targets", cols,
	    NULL);
}

int
cmd_target_rm(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	return simple(c, "DELETE", path_of("targets", pos[0], 1, ""), NULL,
	    NULL, NULL, c->json ? NULL : "Removed.");
}

int
cmd_target_sshd(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	struct client_resp resp = { 0 };
	char *path;
	size_t np;
	int r;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	if ((path = path_of("targets", pos[0], 1, "/sshd")) == NULL)
		return cli_fail(c, "out of memory");
	/* Plain text meant for a container image: printed as it is. */
	if ((r = cli_call(c, 1, "GET", path, NULL, &resp)) == CLI_OK &&
	    resp.body != NULL) {
		cli_puts_safe(stdout, resp.body, 1);
		if (resp.len > 0 && resp.body[resp.len - 1] != '\n')
			fputc('\n', stdout);
	}
	client_resp_clear(&resp);
	free(path);
	return r;
}

/* ---------------------------------------------------------------- roles */

int
cmd_role_put(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	json_error_t e;
	json_t *body;
	FILE *f;
	size_t np;
	int r;

	CLI_PARSE(c, argc, argv, NULL, pos, 2, 2, &np);
	if ((f = fopen(pos[1], "r")) == NULL)
		return cli_fail(c, "cannot read %s: %s", pos[1],
		    strerror(errno));
	errno = 0;
	body = mem_json_loadf(f, JSON_REJECT_DUPLICATES, &e);
	fclose(f);
	if (body == NULL && errno == ENOMEM)
		return cli_fail(c, "out of memory");
	if (body == NULL)
		return cli_fail(c, "%s:%d:%d: %s", pos[1], e.line, e.column,
		    e.text);
	if (!json_is_object(body)) {
		json_decref(body);
		return cli_fail(c, "%s: a role is a JSON object", pos[1]);
	}
	r = simple(c, "PUT", path_of("roles", pos[0], 0, ""), body, NULL, NULL,
	    c->json ? NULL : "Saved.");
	json_decref(body);
	return r;
}

int
cmd_role_ls(struct cli *c, int argc, char **argv)
{
	static const char *const cols[] = { "name", "max_ttl", "admin",
	    "rules", NULL };
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	return simple(c, "GET", mem_strdup("/v1/roles"), NULL, "roles", cols,
	    NULL);
}

int
cmd_role_rm(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	return simple(c, "DELETE", path_of("roles", pos[0], 0, ""), NULL, NULL,
	    NULL, c->json ? NULL : "Removed.");
}

/* ------------------------------------------------------------- bindings */

static const char *const binding_cols[] = { "id", "role", "subject",
    "expires_at", "created_by", "created_at", NULL };

int
cmd_bind(struct cli *c, int argc, char **argv)
{
	const char *expires = NULL;
	const struct cli_opt opts[] = {
		{ "expires", CLI_OPT_STR, &expires },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	struct client_resp resp = { 0 };
	json_t *body = NULL, *j = NULL, *one;
	int64_t d = 0;
	size_t np;
	int r;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, opts, pos, 2, 2, &np);
	if (strncmp(pos[1], "user:", 5) != 0 &&
	    strncmp(pos[1], "group:", 6) != 0) {
		fprintf(stderr, "%s: SUBJECT is user:NAME or group:NAME\n",
		    c->prog);
		return cli_usage(c);
	}
	if (expires != NULL && (duration_parse(expires, &d) != 0 || d <= 0)) {
		fprintf(stderr, "%s: bad --expires %s (like 8h, 2d)\n",
		    c->prog, expires);
		return cli_usage(c);
	}
	if ((body = json_pack("{s:s, s:s, s:o}", "role", pos[0], "subject",
	    pos[1], "expires_at", d > 0 ? json_integer(cli_now() + d) :
	    json_null())) == NULL)
		return cli_fail(c, "the role and subject must be UTF-8");
	if ((r = cli_call(c, 1, "POST", "/v1/bindings", body, &resp))
	    != CLI_OK)
		goto out;
	if (c->json) {
		cli_print_raw(&resp);
		goto out;
	}
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	if ((one = json_array()) == NULL ||
	    json_array_append(one, j) != 0) {
		json_decref(one);
		r = cli_fail(c, "out of memory");
		goto out;
	}
	cli_table(one, binding_cols);
	json_decref(one);
 out:
	json_decref(body);
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

int
cmd_unbind(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	return simple(c, "DELETE", path_of("bindings", pos[0], 0, ""), NULL,
	    NULL, NULL, c->json ? NULL : "Removed.");
}

int
cmd_bindings(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 0, 0, &np);
	return simple(c, "GET", mem_strdup("/v1/bindings"), NULL, "bindings",
	    binding_cols, NULL);
}

/* ---------------------------------------------------------------- check */

/* Exit 0 when allowed, 1 when denied (like a test), so scripts can ask. */
int
cmd_check(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX], *reason;
	struct client_resp resp = { 0 };
	char *u = NULL, *t = NULL, *l = NULL, *path = NULL;
	json_t *j = NULL, *allowed;
	size_t np, n;
	int r;

	resp.retry_after = -1;
	CLI_PARSE(c, argc, argv, NULL, pos, 3, 3, &np);
	if ((u = cli_escape(pos[0], 0)) == NULL ||
	    (t = cli_escape(pos[1], 0)) == NULL ||
	    (l = cli_escape(pos[2], 0)) == NULL) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	n = strlen(u) + strlen(t) + strlen(l) + 40;
	if ((path = mem_malloc(n)) == NULL ||
	    snprintf(path, n, "/v1/check?user=%s&target=%s&login=%s", u, t, l)
	    >= (int)n) {
		r = cli_fail(c, "out of memory");
		goto out;
	}
	if ((r = cli_call(c, 1, "GET", path, NULL, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	allowed = json_object_get(j, "allowed");
	if (c->json)
		cli_print_raw(&resp);
	else {
		reason = json_string_value(json_object_get(j, "reason"));
		printf("%s: ", json_is_true(allowed) ? "allowed" : "denied");
		cli_puts_safe(stdout, reason != NULL ? reason : "-", 0);
		printf("\n");
	}
	r = json_is_true(allowed) ? CLI_OK : CLI_FAIL;
 out:
	json_decref(j);
	client_resp_clear(&resp);
	free(u);
	free(t);
	free(l);
	free(path);
	return r;
}

/* ---------------------------------------------------------------- certs */

int
cmd_cert_ls(struct cli *c, int argc, char **argv)
{
	static const char *const cols[] = { "serial", "username", "user",
	    "target", "principals", "valid_after", "valid_before", "state",
	    "revoked", NULL };
	const char *user = NULL;
	const struct cli_opt opts[] = {
		{ "user", CLI_OPT_STR, &user },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	char *esc, *path;
	size_t np, n;

	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	if (user == NULL)
		return simple(c, "GET", mem_strdup("/v1/certs"), NULL,
		    "certificates", cols, NULL);
	if ((esc = cli_escape(user, 0)) == NULL)
		return cli_fail(c, "out of memory");
	n = strlen(esc) + 20;
	if ((path = mem_malloc(n)) != NULL &&
	    snprintf(path, n, "/v1/certs?user=%s", esc) >= (int)n) {
		free(path);
		path = NULL;
	}
	free(esc);
	return simple(c, "GET", path, NULL, "certificates", cols, NULL);
}

int
cmd_cert_revoke(struct cli *c, int argc, char **argv)
{
	const char *pos[CLI_POS_MAX];
	unsigned long long v;
	char *end;
	size_t np;

	CLI_PARSE(c, argc, argv, NULL, pos, 1, 1, &np);
	errno = 0;
	v = strtoull(pos[0], &end, 10);
	if (pos[0][0] < '0' || pos[0][0] > '9' || *end != '\0' ||
	    errno != 0 || v == 0) {
		fprintf(stderr, "%s: SERIAL is a positive number\n", c->prog);
		return cli_usage(c);
	}
	return simple(c, "POST", path_of("certs", pos[0], 0, "/revoke"), NULL,
	    NULL, NULL, c->json ? NULL : "Revoked.");
}

/* ---------------------------------------------------------------- audit */

/* One event as a line: seq time actor action object result extra=... */
static void
audit_line(const json_t *ev)
{
	static const char *const main_keys[] = { "seq", "time", "actor",
	    "action", "object", "result", NULL };
	const char *k;
	json_t *v;
	char *cell;
	size_t i;

	for (i = 0; main_keys[i] != NULL; i++) {
		cell = cli_cell(main_keys[i], json_object_get(ev,
		    main_keys[i]));
		if (i > 0)
			fputc(' ', stdout);
		cli_puts_safe(stdout, cell != NULL ? cell : "?", 0);
		free(cell);
	}
	json_object_foreach(jsonw_iterable(ev), k, v) {
		for (i = 0; main_keys[i] != NULL; i++)
			if (strcmp(k, main_keys[i]) == 0)
				break;
		if (main_keys[i] != NULL || strcmp(k, "prev") == 0 ||
		    strcmp(k, "hash") == 0 || json_is_null(v))
			continue;
		cell = json_is_object(v) || json_is_array(v) ?
		    mem_json_dumps(v, JSON_COMPACT) : cli_cell(k, v);
		printf(" %s=", k);
		cli_puts_safe(stdout, cell != NULL ? cell : "?", 0);
		free(cell);
	}
	fputc('\n', stdout);
}

/* Fetch events after *after; print them; advance *after.  *got: count. */
static int
audit_page(struct cli *c, uint64_t *after, size_t *got, json_t *collect)
{
	struct client_resp resp = { 0 };
	char path[96];
	json_t *j = NULL, *evs, *ev;
	uint64_t seq;
	size_t i;
	int r;

	resp.retry_after = -1;
	*got = 0;
	snprintf(path, sizeof(path), "/v1/audit?after=%llu&limit=%d",
	    (unsigned long long)*after, AUDIT_PAGE);
	if ((r = cli_call(c, 1, "GET", path, NULL, &resp)) != CLI_OK)
		goto out;
	if ((j = cli_json(c, &resp)) == NULL) {
		r = CLI_FAIL;
		goto out;
	}
	evs = cli_list(j, "events");
	json_array_foreach(evs, i, ev) {
		seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));
		if (seq <= *after)
			continue;	/* never print an event twice */
		*after = seq;
		(*got)++;
		if (collect != NULL) {
			if (json_array_append(collect, ev) != 0) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
		} else if (c->json) {
			if (mem_json_dumpf(ev, stdout, JSON_COMPACT) != 0) {
				r = cli_fail(c, "out of memory");
				goto out;
			}
			fputc('\n', stdout);
		} else
			audit_line(ev);
	}
	fflush(stdout);
 out:
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

int
cmd_audit(struct cli *c, int argc, char **argv)
{
	int follow = 0;
	const struct cli_opt opts[] = {
		{ "follow", CLI_OPT_FLAG, &follow },
		{ NULL, 0, NULL }
	};
	const char *pos[CLI_POS_MAX];
	json_t *all = NULL, *doc = NULL;
	uint64_t after = 0;
	size_t np, got;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 0, 0, &np);
	/* --json without --follow: one {"events":[...]} document; with
	 * --follow: one JSON object per line, as events arrive. */
	if (c->json && !follow && (all = json_array()) == NULL)
		return cli_fail(c, "out of memory");
	do {
		if ((r = audit_page(c, &after, &got, all)) != CLI_OK)
			goto out;
	} while (got > 0);
	if (all != NULL) {
		if ((doc = json_pack("{s:O}", "events", all)) == NULL) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		if (mem_json_dumpf(doc, stdout, JSON_COMPACT) != 0) {
			r = cli_fail(c, "out of memory");
			goto out;
		}
		fputc('\n', stdout);
	}
	while (follow) {
		sleep(AUDIT_POLL_S);	/* polling interval of --follow */
		if ((r = audit_page(c, &after, &got, NULL)) != CLI_OK)
			goto out;
	}
	r = CLI_OK;
 out:
	json_decref(doc);
	json_decref(all);
	return r;
}

int
cmd_backup_online(struct cli *c)
{
	struct client_resp resp = { 0 };
	const char *file, *dir;
	json_t *j = NULL;
	int r;

	resp.retry_after = -1;
	if ((r = cli_call(c, 1, "POST", "/v1/admin/backup", NULL, &resp))
	    != CLI_OK)
		goto out;
	if (c->json) {
		cli_print_raw(&resp);
		goto out;
	}
	if ((j = cli_json(c, &resp)) == NULL ||
	    (file = json_string_value(json_object_get(j, "file"))) == NULL) {
		r = cli_fail(c, "the server's answer names no backup file");
		goto out;
	}
	dir = json_string_value(json_object_get(j, "dir"));
	printf("Backup written by tesserad: ");
	if (dir != NULL) {
		cli_puts_safe(stdout, dir, 0);
		fputc('/', stdout);
	}
	cli_puts_safe(stdout, file, 0);
	printf(" (%" JSON_INTEGER_FORMAT " bytes)\n",
	    json_integer_value(json_object_get(j, "bytes")));
	printf("It holds the store only: keep ca.key, master.key and "
	    "tesserad.conf safe separately.\n");
 out:
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}
