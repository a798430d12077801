/*
 * util: option parsing, API calls with the saved session, output helpers
 * shared by the command files (see cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/jsonw.h"
#include "common/mem.h"
#include "cli.h"

int64_t
cli_now(void)
{
	return (int64_t)time(NULL);
}

int
cli_usage(const struct cli *c)
{
	fprintf(stderr, "usage: %s %s\n", c->prog, c->usage);
	return CLI_USAGE;
}

int
cli_fail(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

void
cli_info(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(c->json || c->info_stderr ? stderr : stdout, fmt, ap);
	va_end(ap);
}

static const struct cli_opt *
find_opt(const struct cli_opt *opts, const char *name, size_t nlen)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strlen(opts->name) == nlen &&
		    strncmp(opts->name, name, nlen) == 0)
			return opts;
	return NULL;
}

int
cli_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
    const char **pos, size_t minpos, size_t maxpos, size_t *npos)
{
	const struct cli_opt *o;
	struct cli_list *l;
	const char *a, *eq, *val;
	size_t n = 0, nlen;
	int i, only_pos = 0;

	*npos = 0;
	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && (strcmp(a, "-h") == 0 ||
		    strcmp(a, "--help") == 0)) {
			printf("usage: %s %s\n", c->prog, c->usage);
			return -1;
		}
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (n >= maxpos || n >= CLI_POS_MAX) {
				fprintf(stderr, "%s: unexpected argument: %s\n",
				    c->prog, a);
				return cli_usage(c);
			}
			pos[n++] = a;
			continue;
		}
		if (a[1] != '-') {
			fprintf(stderr, "%s: unknown option: %s\n", c->prog, a);
			return cli_usage(c);
		}
		eq = strchr(a + 2, '=');
		nlen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		if ((o = find_opt(opts, a + 2, nlen)) == NULL) {
			fprintf(stderr, "%s: unknown option: %.*s\n", c->prog,
			    (int)nlen + 2, a);
			return cli_usage(c);
		}
		if (o->kind == CLI_OPT_FLAG) {
			if (eq != NULL) {
				fprintf(stderr, "%s: option --%s takes no "
				    "value\n", c->prog, o->name);
				return cli_usage(c);
			}
			*(int *)o->dst = 1;
			continue;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "%s: option --%s needs a value\n",
			    c->prog, o->name);
			return cli_usage(c);
		}
		if (o->kind == CLI_OPT_STR) {
			*(const char **)o->dst = val;
			continue;
		}
		l = o->dst;
		if (l->n >= CLI_LIST_MAX) {
			fprintf(stderr, "%s: too many --%s options\n", c->prog,
			    o->name);
			return cli_usage(c);
		}
		l->v[l->n++] = val;
	}
	if (n < minpos) {
		fprintf(stderr, "%s: missing argument\n", c->prog);
		return cli_usage(c);
	}
	*npos = n;
	return 0;
}

void
cli_load_session(struct cli *c)
{
	if (c->sess != NULL || c->sess_err != 1)
		return;
	if ((c->sess_err = sessfile_path(c->sessfile_path,
	    sizeof(c->sessfile_path))) != 0)
		return;
	c->sess_err = sessfile_load(c->sessfile_path, &c->sess);
}

static int
same_server(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

const char *
cli_server(struct cli *c)
{
	if (c->server != NULL)
		return c->server;
	cli_load_session(c);
	if (c->sess != NULL && c->sess->server[0] != '\0')
		return c->sess->server;
	return CLI_DEFAULT_SERVER;
}

static int
check_session(struct cli *c)
{
	char when[32];

	cli_load_session(c);
	if (c->sess == NULL) {
		switch (c->sess_err) {
		case TSS_E_NOT_FOUND:
			return cli_fail(c, "not logged in: run `%s login`",
			    c->prog);
		case TSS_E_PERMISSION:
			return cli_fail(c, "session file %s may be read by "
			    "others or is not yours: remove it and log in "
			    "again", c->sessfile_path);
		case TSS_E_BAD_FORMAT:
			return cli_fail(c, "session file %s is damaged: run "
			    "`%s login`", c->sessfile_path, c->prog);
		default:
			return cli_fail(c, "cannot read session file %s: %s",
			    c->sessfile_path, tss_strerror(c->sess_err));
		}
	}
	if (c->server != NULL && !same_server(c->server, c->sess->server))
		return cli_fail(c, "the saved session is for %s, not %s: run "
		    "`%s --server %s login`", c->sess->server, c->server,
		    c->prog, c->server);
	if (c->sess->expires_at <= cli_now()) {
		cli_fmt_time(c->sess->expires_at, when, sizeof(when));
		return cli_fail(c, "session expired at %s: run `%s login`",
		    when, c->prog);
	}
	return CLI_OK;
}

int
cli_connect(struct cli *c)
{
	char err[512];

	if (c->cl == NULL && client_new(cli_server(c), c->ca_file, &c->cl,
	    err, sizeof(err)) != 0)
		return cli_fail(c, "%s", err);
	return CLI_OK;
}

int
cli_call_quiet(struct cli *c, int auth, const char *method, const char *path,
    const json_t *body, struct client_resp *resp, const long *quiet)
{
	char msg[600], code[64];
	const long *q;
	int r;

	client_resp_clear(resp);
	if (auth && (r = check_session(c)) != CLI_OK)
		return r;
	if ((r = cli_connect(c)) != CLI_OK)
		return r;
	if (client_set_token(c->cl, auth ? c->sess->token : NULL) != 0)
		return cli_fail(c, "out of memory");
	if (client_request(c->cl, method, path, body, resp) != 0)
		return cli_fail(c, "%s", client_errmsg(c->cl));
	if (resp->status >= 200 && resp->status < 300)
		return CLI_OK;
	for (q = quiet; q != NULL && *q != 0; q++)
		if (*q == resp->status)
			return CLI_FAIL;
	client_resp_error(resp, msg, sizeof(msg), code, sizeof(code));
	fprintf(stderr, "%s: ", c->prog);
	cli_puts_safe(stderr, msg, 0);
	fputc('\n', stderr);
	if (resp->status == 401 && auth)
		fprintf(stderr, "%s: the session has ended or was revoked: run "
		    "`%s login`\n", c->prog, c->prog);
	if (resp->status == 429 && resp->retry_after >= 0)
		fprintf(stderr, "%s: try again in %ld s\n", c->prog,
		    resp->retry_after);
	return CLI_FAIL;
}

int
cli_call(struct cli *c, int auth, const char *method, const char *path,
    const json_t *body, struct client_resp *resp)
{
	return cli_call_quiet(c, auth, method, path, body, resp, NULL);
}

json_t *
cli_json(const struct cli *c, const struct client_resp *resp)
{
	json_t *j;
	json_error_t e;

	if (resp->body == NULL || resp->len == 0) {
		cli_fail(c, "empty answer from the server (HTTP %ld)",
		    resp->status);
		return NULL;
	}
	errno = 0;
	if ((j = mem_json_loadb(resp->body, resp->len, 0, &e)) == NULL) {
		if (errno == ENOMEM)
			cli_fail(c, "out of memory");
		else
			cli_fail(c, "the server's answer is not JSON (HTTP "
			    "%ld)", resp->status);
		return NULL;
	}
	return j;
}

void
cli_print_raw(const struct client_resp *resp)
{
	if (resp->body == NULL || resp->len == 0)
		return;
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->body[resp->len - 1] != '\n')
		fputc('\n', stdout);
}

void
cli_cleanup(struct cli *c)
{
	client_free(c->cl);
	c->cl = NULL;
	sessfile_free(c->sess);
	c->sess = NULL;
	c->sess_err = 1;
}

void
cli_puts_safe(FILE *f, const char *s, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls (U+0080..U+009F), CSI among them */
			fputc('?', f);
			p++;
		} else if ((*p < 0x20 && !(multiline &&
		    (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

static int
is_time_key(const char *key)
{
	size_t n;

	if (key == NULL)
		return 0;
	n = strlen(key);
	return (n > 3 && strcmp(key + n - 3, "_at") == 0) ||
	    strcmp(key, "time") == 0 || strcmp(key, "created") == 0 || strcmp(key, "valid_after") == 0 ||
	    strcmp(key, "valid_before") == 0;
}

/* Append s to the growing string *acc. */
static int
append(char **acc, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *p;

	if ((p = mem_realloc(*acc, *len + n + 1)) == NULL)
		return -1;
	memcpy(p + *len, s, n + 1);
	*acc = p;
	*len += n;
	return 0;
}

char *
cli_cell(const char *key, const json_t *v)
{
	char num[64], *acc = NULL, *sub;
	const char *k;
	json_t *e;
	size_t i, len = 0;
	int64_t t;

	if (v == NULL || json_is_null(v))
		return mem_strdup("-");
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return mem_strdup("-");
		if (is_time_key(key) && cli_json_time(v, &t) == 0) {
			cli_fmt_time(t, num, sizeof(num));
			return mem_strdup(num);
		}
		return mem_strdup(json_string_value(v));
	}
	if (json_is_integer(v)) {
		if (is_time_key(key) && json_integer_value(v) > 0) {
			cli_fmt_time(json_integer_value(v), num, sizeof(num));
			return mem_strdup(num);
		}
		if (key != NULL && strcmp(key, "max_ttl") == 0 &&
		    json_integer_value(v) > 0) {
			duration_format(json_integer_value(v), num, sizeof(num));
			return mem_strdup(num);
		}
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		return mem_strdup(num);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		return mem_strdup(num);
	}
	if (json_is_boolean(v))
		return mem_strdup(json_is_true(v) ? "yes" : "no");
	if (append(&acc, &len, "") != 0)
		return NULL;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if ((sub = cli_cell(NULL, e)) == NULL ||
			    (i > 0 && append(&acc, &len, ", ") != 0) ||
			    append(&acc, &len, sub) != 0) {
				free(sub);
				free(acc);
				return NULL;
			}
			free(sub);
		}
		if (len == 0) {
			free(acc);
			return mem_strdup("-");
		}
		return acc;
	}
	i = 0;
	json_object_foreach(jsonw_iterable(v), k, e) {
		if ((sub = json_is_object(e) || json_is_array(e) ?
		    mem_json_dumps(e, JSON_COMPACT) : cli_cell(k, e)) == NULL ||
		    (i++ > 0 && append(&acc, &len, ", ") != 0) ||
		    append(&acc, &len, k) != 0 || append(&acc, &len, "=") != 0 ||
		    append(&acc, &len, sub) != 0) {
			free(sub);
			free(acc);
			return NULL;
		}
		free(sub);
	}
	if (len == 0) {
		free(acc);
		return mem_strdup("-");
	}
	return acc;
}

/* Display width: UTF-8 characters, not bytes. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

json_t *
cli_list(json_t *resp, const char *key)
{
	const char *k;
	json_t *v;

	if (json_is_array(resp))
		return resp;
	if (!json_is_object(resp))
		return NULL;
	if (key != NULL && json_is_array(json_object_get(resp, key)))
		return json_object_get(resp, key);
	json_object_foreach(resp, k, v)
		if (json_is_array(v))
			return v;
	return NULL;
}

#define TABLE_COLS_MAX	32

void
cli_table(const json_t *rows, const char *const *cols)
{
	const char *use[TABLE_COLS_MAX], *k;
	size_t w[TABLE_COLS_MAX], ncol = 0, i, j, nrow, cw;
	char **cells = NULL, *cell;
	json_t *row, *v;

	if (!json_is_array(rows) || json_array_size(rows) == 0) {
		printf("(none)\n");
		return;
	}
	nrow = json_array_size(rows);
	/* The wanted columns that some row has ... */
	for (i = 0; cols != NULL && cols[i] != NULL && ncol < TABLE_COLS_MAX;
	    i++) {
		json_array_foreach(rows, j, row) {
			if (json_object_get(row, cols[i]) != NULL) {
				use[ncol++] = cols[i];
				break;
			}
		}
	}
	/* ... or, when none is there, every key met. */
	if (ncol == 0) {
		json_array_foreach(rows, j, row) {
			json_object_foreach(row, k, v) {
				for (i = 0; i < ncol; i++)
					if (strcmp(use[i], k) == 0)
						break;
				if (i == ncol && ncol < TABLE_COLS_MAX)
					use[ncol++] = k;
			}
		}
	}
	if (ncol == 0) {	/* rows that are not objects */
		json_array_foreach(rows, j, row) {
			if ((cell = cli_cell(NULL, row)) == NULL)
				continue;
			cli_puts_safe(stdout, cell, 0);
			fputc('\n', stdout);
			free(cell);
		}
		return;
	}
	if ((cells = mem_calloc(nrow * ncol, sizeof(*cells))) == NULL) {
		fprintf(stderr, "out of memory\n");
		return;
	}
	for (i = 0; i < ncol; i++)
		w[i] = strlen(use[i]);
	json_array_foreach(rows, j, row) {
		for (i = 0; i < ncol; i++) {
			cells[j * ncol + i] = cli_cell(use[i],
			    json_object_get(row, use[i]));
			if (cells[j * ncol + i] != NULL &&
			    (cw = width(cells[j * ncol + i])) > w[i])
				w[i] = cw;
		}
	}
	for (i = 0; i < ncol; i++) {
		for (k = use[i]; *k != '\0'; k++)
			fputc(*k >= 'a' && *k <= 'z' ? *k - 'a' + 'A' : *k,
			    stdout);
		if (i + 1 < ncol)
			printf("%*s", (int)(w[i] - strlen(use[i]) + 2), "");
	}
	fputc('\n', stdout);
	for (j = 0; j < nrow; j++) {
		for (i = 0; i < ncol; i++) {
			cell = cells[j * ncol + i];
			cli_puts_safe(stdout, cell != NULL ? cell : "?", 0);
			if (i + 1 < ncol)
				printf("%*s", (int)(w[i] - (cell != NULL ?
				    width(cell) : 1) + 2), "");
		}
		fputc('\n', stdout);
	}
	for (i = 0; i < nrow * ncol; i++)
		free(cells[i]);
	free(cells);
}

/* n decimal digits at *p into *v; advances *p. */
static int
digits(const char **p, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

int
cli_json_time(const json_t *v, int64_t *out)
{
	const char *p;
	struct tm tm;
	int year, mon, day, hh, mm, ss, oh, om, sign;
	time_t t;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if ((p = json_string_value(v)) == NULL)
		return TSS_E_BAD_FORMAT;
	/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) */
	if (digits(&p, 4, &year) != 0 || *p++ != '-' ||
	    digits(&p, 2, &mon) != 0 || *p++ != '-' ||
	    digits(&p, 2, &day) != 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return TSS_E_BAD_FORMAT;
	p++;
	if (digits(&p, 2, &hh) != 0 || *p++ != ':' ||
	    digits(&p, 2, &mm) != 0 || *p++ != ':' || digits(&p, 2, &ss) != 0)
		return TSS_E_BAD_FORMAT;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	oh = om = 0;
	sign = 1;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) != 0 || *p++ != ':' ||
		    digits(&p, 2, &om) != 0)
			return TSS_E_BAD_FORMAT;
	} else
		return TSS_E_BAD_FORMAT;
	if (*p != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hh > 23 || mm > 59 || ss > 60 || oh > 23 || om > 59)
		return TSS_E_BAD_FORMAT;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	if ((t = timegm(&tm)) == (time_t)-1)
		return TSS_E_BAD_FORMAT;
	*out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}

void
cli_fmt_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void
cli_fmt_left(int64_t secs, char *buf, size_t len)
{
	int64_t d, h, m, s;

	if (secs <= 0) {
		snprintf(buf, len, "expired");
		return;
	}
	d = secs / 86400;
	h = secs % 86400 / 3600;
	m = secs % 3600 / 60;
	s = secs % 60;
	if (d > 0)
		snprintf(buf, len, "%lldd%lldh", (long long)d, (long long)h);
	else if (h > 0)
		snprintf(buf, len, "%lldh%02lldm", (long long)h, (long long)m);
	else if (m > 0)
		snprintf(buf, len, "%lldm%02llds", (long long)m, (long long)s);
	else
		snprintf(buf, len, "%llds", (long long)s);
}

char *
cli_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	unsigned char ch;
	char *out;

	if (n > (SIZE_MAX - 1) / 3 || (out = mem_malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~' || (keep_slash && ch == '/')) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

char *
cli_expand_home(const char *path)
{
	const char *home;
	size_t n;
	char *out;

	if (strncmp(path, "~/", 2) != 0 || (home = getenv("HOME")) == NULL)
		return mem_strdup(path);
	n = strlen(home) + strlen(path);
	if ((out = mem_malloc(n)) == NULL)
		return NULL;
	if (snprintf(out, n, "%s%s", home, path + 1) != (int)(n - 1)) {
		free(out);
		return NULL;
	}
	return out;
}
