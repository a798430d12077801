/*
 * tessera target agent: the container side of a target (the target kit).
 * Joins with a single-use token (POST /v1/hosts/join), then keeps DIR in
 * step with the server: the user CA, the KRL and the principals files by
 * conditional GETs (a 304 writes nothing), the host certificate renewed at
 * two thirds of its life with the renewal credential.  When the server
 * cannot be reached or fails, the last good files stay and one line is
 * logged; the next interval tries again.  With --exec-sshd the process
 * becomes sshd after the first sync and a child keeps refreshing.  With
 * --gateway each round also reports the targets running on this node (the
 * values of label tessera.target on its running containers, from the
 * Docker socket) to POST /v1/hosts/routes, at least every
 * AGENT_ROUTES_EVERY rounds when nothing changed.
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "agent_files.h"
#include "agent_routes.h"
#include "cli.h"
#include "docker.h"

#define AGENT_TOKEN_MAX		4096
#define AGENT_INTERVAL_MAX	86400
#define AGENT_SSHD_ARGS_MAX	CLI_POS_MAX
#define DOWN			(-2)	/* server unreachable or failing */
#define AGENT_ROUTES_EVERY	2	/* rounds; below ROUTES_TTL / 30 s */

struct agent {
	struct cli *c;
	struct agent_files_conf cf;
	char dir[PATH_MAX];
	char exe[PATH_MAX];
	char *token;		/* join token (secret) or NULL */
	char *cred;		/* renewal credential (secret) or NULL */
	char *hostpub;		/* the host key's public line */
	uint64_t after, before;	/* the host certificate's validity; 0: none */
	char etag_ca[136], etag_krl[136], etag_self[136];
	char sock[PATH_MAX];	/* gateway: the Docker socket */
	char *routes;		/* gateway: the last report's body */
	unsigned int rounds;	/* since it was sent */
};

static char *
path_of(const struct agent *a, const char *name)
{
	char *p = NULL;

	if (mem_asprintf(&p, "%s/%s", a->dir, name) < 0)
		return NULL;
	return p;
}

/* Whether s can be a token or credential: 1..max visible ASCII bytes, so
 * it cannot add a header to a request. */
static int
secret_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    i >= AGENT_TOKEN_MAX)
			return 0;
	return i > 0;
}

/* A secret from a file or the environment, without trailing blanks. */
static int
read_secret(struct agent *a, const char *file, const char *env, char **outp)
{
	const char *v;
	char *s = NULL;
	size_t len = 0;
	int r;

	*outp = NULL;
	if (file != NULL) {
		if ((r = agent_files_read(file, AGENT_TOKEN_MAX, &s, &len))
		    != 0)
			return cli_fail(a->c, "cannot read the token file %s: "
			    "%s", file, r == TSS_E_IO ? strerror(errno) :
			    tss_strerror(r));
	} else {
		if ((v = getenv(env)) == NULL || *v == '\0')
			return cli_fail(a->c, "environment variable %s (from "
			    "--token-env) is not set", env);
		if ((s = mem_strdup(v)) == NULL)
			return cli_fail(a->c, "out of memory");
		len = strlen(s);
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	if (!secret_ok(s)) {
		wipe_free(s);
		return cli_fail(a->c, "the join token from %s %s is empty or "
		    "holds blanks, control or non-ASCII characters",
		    file != NULL ? "file" : "variable",
		    file != NULL ? file : env);
	}
	*outp = s;
	return CLI_OK;
}

/*
 * The certificate's life for renewal starts when we got it: certificates
 * are valid from a few minutes before they are issued (clock skew), which
 * for a short host_cert_ttl would make every round a renewal.
 */
static void
set_validity(struct agent *a, uint64_t after, uint64_t before, int64_t got)
{
	a->after = got > 0 && (uint64_t)got > after ? (uint64_t)got : after;
	a->before = before;
}

/* Load what an earlier run left: the credential and the certificate. */
static void
load_state(struct agent *a)
{
	char *p, *data = NULL;
	size_t len;
	uint64_t after, before;
	struct stat st;

	if ((p = path_of(a, AGENT_CREDENTIAL)) != NULL &&
	    agent_files_read(p, AGENT_TOKEN_MAX, &data, &len) == 0) {
		while (len > 0 && (data[len - 1] == '\n' ||
		    data[len - 1] == '\r'))
			data[--len] = '\0';
		if (secret_ok(data)) {
			a->cred = data;
			data = NULL;	/* transferred */
		} else
			log_warn("agent: %s/%s is not a credential; ignored",
			    a->dir, AGENT_CREDENTIAL);
	}
	wipe_free(data);
	data = NULL;
	free(p);
	/* The file's mtime is when it was received (it is only renamed in). */
	if ((p = path_of(a, AGENT_HOSTCERT)) != NULL &&
	    agent_files_read(p, 16384, &data, &len) == 0 &&
	    agent_files_cert_validity(data, len, &after, &before) == 0 &&
	    stat(p, &st) == 0)
		set_validity(a, after, before, (int64_t)st.st_mtime);
	free(data);
	free(p);
}

/*
 * One request; returns 0 with resp filled when the server answered
 * below 500, else DOWN after one log line (unreachable or failing server:
 * the round stops, every file stays as it is).  auth: send the credential.
 */
static int
request(struct agent *a, const char *method, const char *path, int auth,
    const json_t *body, const char *etag, struct client_resp *resp)
{
	char msg[600];

	if (client_set_token(a->c->cl, auth ? a->cred : NULL) != 0) {
		log_error("agent: out of memory");
		return DOWN;
	}
	if (client_request_if(a->c->cl, method, path, body, etag, resp)
	    != 0) {
		log_warn("agent: %s %s: %s; keeping the last good files",
		    method, path, client_errmsg(a->c->cl));
		return DOWN;
	}
	if (resp->status >= 500) {
		client_resp_error(resp, msg, sizeof(msg), NULL, 0);
		log_warn("agent: %s %s: server error %ld: %s; keeping the "
		    "last good files", method, path, resp->status, msg);
		return DOWN;
	}
	return 0;
}

/* Log a refusal (a 4xx) naming the request and the server's message. */
static int
refused(const char *what, const struct client_resp *resp)
{
	char msg[600];

	client_resp_error(resp, msg, sizeof(msg), NULL, 0);
	log_error("agent: %s refused (HTTP %ld): %s", what, resp->status, msg);
	return -1;
}

static json_t *
body_json(const char *what, const struct client_resp *resp)
{
	json_t *j;

	if (resp->body == NULL || !client_resp_is_json(resp) ||
	    (j = mem_json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(j)) {
		log_error("agent: %s: the answer is not a JSON object", what);
		return NULL;
	}
	return j;
}

static int
write_file(struct agent *a, const char *name, const void *data, size_t len,
    mode_t mode)
{
	int r;

	if ((r = agent_files_update(a->dir, name, data, len, mode)) < 0) {
		log_error("agent: cannot write %s/%s: %s", a->dir, name,
		    r == TSS_E_IO ? strerror(errno) : tss_strerror(r));
		return -1;
	}
	if (r > 0)
		log_info("agent: wrote %s/%s", a->dir, name);
	return 0;
}

/* The certificate (and credential) of a join or renewal answer. */
static int
take_cert(struct agent *a, const char *what, const struct client_resp *resp,
    int join)
{
	json_t *j;
	const char *cert, *cred = NULL, *target;
	char *line = NULL, until[32];
	uint64_t after, before;
	int r = -1;

	if ((j = body_json(what, resp)) == NULL)
		return -1;
	cert = json_string_value(json_object_get(j, "certificate"));
	target = json_string_value(json_object_get(j, "target"));
	if (join)
		cred = json_string_value(json_object_get(j, "credential"));
	if (cert == NULL || agent_files_cert_validity(cert, strlen(cert),
	    &after, &before) != 0 || (join && (cred == NULL ||
	    !secret_ok(cred)))) {
		log_error("agent: %s: the answer has no usable certificate%s",
		    what, join ? " or credential" : "");
		goto out;
	}
	if (mem_asprintf(&line, "%s\n", cert) < 0)
		goto out;
	if (write_file(a, AGENT_HOSTCERT, line, strlen(line), 0644) != 0)
		goto out;
	if (join) {
		free(line);
		line = NULL;
		if (mem_asprintf(&line, "%s\n", cred) < 0 ||
		    write_file(a, AGENT_CREDENTIAL, line, strlen(line), 0600)
		    != 0)
			goto out;
		wipe_free(a->cred);
		if ((a->cred = mem_strdup(cred)) == NULL)
			goto out;
	}
	set_validity(a, after, before, cli_now());
	cli_fmt_time(before > INT64_MAX ? INT64_MAX : (int64_t)before, until,
	    sizeof(until));
	log_info("agent: host certificate for target %s valid until %s (%s)",
	    target != NULL ? target : "?", until, what);
	r = 0;
 out:
	wipe_free(line);
	json_decref(j);
	return r;
}

static int
join(struct agent *a)
{
	struct client_resp resp = { 0 };
	json_t *body;
	int r = -1;

	if (a->token == NULL) {
		log_error("agent: no credential in %s and no join token "
		    "(--token-file or --token-env)", a->dir);
		return -1;
	}
	if ((body = json_pack("{s:s, s:s}", "token", a->token, "public_key",
	    a->hostpub)) == NULL)
		return -1;
	if ((r = request(a, "POST", "/v1/hosts/join", 0, body, NULL, &resp))
	    == 0)
		r = resp.status == 201 ? take_cert(a, "join", &resp, 1) :
		    refused("join", &resp);
	json_decref(body);
	client_resp_clear(&resp);
	return r;
}

static int
renew(struct agent *a)
{
	struct client_resp resp = { 0 };
	json_t *body;
	int r = -1;

	if ((body = json_pack("{s:s}", "public_key", a->hostpub)) == NULL)
		return -1;
	if ((r = request(a, "POST", "/v1/hosts/renew", 1, body, NULL, &resp))
	    == 0) {
		if (resp.status == 201)
			r = take_cert(a, "renewal", &resp, 0);
		else if (resp.status == 401 && a->token != NULL) {
			log_warn("agent: the credential was refused; joining "
			    "again with the token");
			r = join(a);
		} else
			r = refused("renewal", &resp);
	}
	json_decref(body);
	client_resp_clear(&resp);
	return r;
}

/* GET /v1/ca or /v1/krl into name when it changed and looks right. */
static int
fetch(struct agent *a, const char *path, const char *name, char *etag,
    size_t etaglen)
{
	struct client_resp resp = { 0 };
	int r = -1, ok;

	if ((r = request(a, "GET", path, 0, NULL, etag, &resp)) != 0)
		goto out;
	r = -1;
	if (resp.status == 304) {
		log_debug("agent: %s unchanged (304)", path);
		r = 0;
		goto out;
	}
	if (resp.status != 200) {
		r = refused(path, &resp);
		goto out;
	}
	ok = strcmp(name, AGENT_KRL) == 0 ?
	    agent_files_krl_ok(resp.body, resp.len) :
	    agent_files_ca_ok(resp.body != NULL ? resp.body : "", resp.len);
	if (ok != 0) {
		log_error("agent: GET %s: the answer is not a%s; %s/%s kept",
		    path, strcmp(name, AGENT_KRL) == 0 ? " KRL (bad magic)" :
		    "n SSH public key list", a->dir, name);
		goto out;
	}
	if (write_file(a, name, resp.body, resp.len, 0644) != 0)
		goto out;
	snprintf(etag, etaglen, "%s", resp.etag);
	r = 0;
 out:
	client_resp_clear(&resp);
	return r;
}

/* GET /v1/hosts/self: the principals files. */
static int
self(struct agent *a)
{
	struct client_resp resp = { 0 };
	const char *logins[AGENT_MAX_LOGINS], *target;
	json_t *j = NULL, *arr, *v;
	size_t i, n = 0;
	int changed, r = -1;

	if ((r = request(a, "GET", "/v1/hosts/self", 1, NULL, a->etag_self,
	    &resp)) != 0)
		goto out;
	r = -1;
	if (resp.status == 304) {
		log_debug("agent: /v1/hosts/self unchanged (304)");
		r = 0;
		goto out;
	}
	if (resp.status != 200) {
		r = refused("GET /v1/hosts/self", &resp);
		goto out;
	}
	if ((j = body_json("GET /v1/hosts/self", &resp)) == NULL)
		goto out;
	target = json_string_value(json_object_get(j, "target"));
	arr = json_object_get(j, "logins");
	if (target == NULL || !json_is_array(arr) ||
	    json_array_size(arr) > AGENT_MAX_LOGINS) {
		log_error("agent: GET /v1/hosts/self: no target or logins");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((logins[n] = json_string_value(v)) == NULL) {
			log_error("agent: GET /v1/hosts/self: a login is not "
			    "a string");
			goto out;
		}
		n++;
	}
	if ((r = agent_files_principals(a->dir, target, logins, n, &changed))
	    != 0) {
		log_error("agent: principals for target %s: %s", target,
		    r == TSS_E_VALIDATION ? "a login or the target name is "
		    "not valid; nothing written" : tss_strerror(r));
		r = -1;
		goto out;
	}
	if (changed > 0)
		log_info("agent: principals of target %s: %zu login(s)",
		    target, n);
	snprintf(a->etag_self, sizeof(a->etag_self), "%s", resp.etag);
	r = 0;
 out:
	json_decref(j);
	client_resp_clear(&resp);
	return r;
}

/*
 * Gateway: report the targets on this node.  A Docker error is logged and
 * reports nothing (the rest of the round goes on); a refusal is -1.
 */
static int
routes(struct agent *a)
{
	struct client_resp resp = { 0 };
	char *body = NULL;
	json_t *j = NULL;
	int r;

	if ((r = agent_routes_json(a->sock, &j)) != 0)
		return r == TSS_E_NOMEM ? -1 : 0;
	r = -1;
	if ((body = mem_json_dumps(j, JSON_COMPACT)) == NULL) {
		log_error("agent: out of memory");
		goto out;
	}
	if (a->routes != NULL && strcmp(a->routes, body) == 0 &&
	    ++a->rounds < AGENT_ROUTES_EVERY) {
		r = 0;
		goto out;
	}
	if ((r = request(a, "POST", "/v1/hosts/routes", 1, j, NULL, &resp))
	    != 0)
		goto out;
	if (resp.status != 200)
		r = refused("route report", &resp);
	else {
		free(a->routes);
		a->routes = body;
		body = NULL;
		a->rounds = 0;
	}
 out:
	client_resp_clear(&resp);
	json_decref(j);
	free(body);
	return r;
}

/*
 * One round: certificate, CA, KRL, principals.  0 when all succeeded.
 * A refused part does not hold up the others (a KRL update must not wait
 * for a renewal); a server that is down ends the round at once.
 */
static int
sync_once(struct agent *a)
{
	int r = 0, k = 0;

	if (a->cred == NULL)
		k = join(a);
	else if (a->before == 0 || agent_files_renew_due(a->after, a->before,
	    (uint64_t)cli_now()))
		k = renew(a);
	r = k;
	if (k != DOWN && (k = fetch(a, "/v1/ca", AGENT_USER_CA, a->etag_ca,
	    sizeof(a->etag_ca))) != 0)
		r = k;
	if (k != DOWN && (k = fetch(a, "/v1/krl", AGENT_KRL, a->etag_krl,
	    sizeof(a->etag_krl))) != 0)
		r = k;
	if (k != DOWN && a->cred != NULL && (k = self(a)) != 0)
		r = k;
	if (k != DOWN && a->cred != NULL && a->cf.gateway &&
	    (k = routes(a)) != 0)
		r = k;
	return k == DOWN ? DOWN : r;
}

/* Whether every file sshd needs is there (from this run or an earlier). */
static int
files_complete(const struct agent *a)
{
	static const char *const need[] = { AGENT_HOSTKEY, AGENT_HOSTCERT,
	    AGENT_USER_CA, AGENT_KRL, AGENT_SSHD_CONFIG, AGENT_SSHD_INCLUDE,
	    AGENT_PRINCIPALS };
	size_t i;
	char *p;
	int ok = 1;

	for (i = 0; ok && i < sizeof(need) / sizeof(need[0]); i++) {
		ok = (p = path_of(a, need[i])) != NULL && access(p, R_OK) == 0;
		free(p);
	}
	return ok;
}

static void
nap(long secs)
{
	struct timespec ts = { secs, 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
refresh_loop(struct agent *a, long interval)
{
	for (;;) {
		nap(interval);
		(void)sync_once(a);
	}
}

/* An absolute path of sshd (sshd re-executes itself and needs one). */
static int
find_sshd(char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/local/sbin",
	    "/sbin", "/usr/bin", "/bin" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, len, "%s/sshd", dirs[i]);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

static int
exec_sshd(struct agent *a, long interval, char **args, size_t nargs)
{
	static char opt_d[] = "-D", opt_e[] = "-e", opt_f[] = "-f";
	char *argv[5 + AGENT_SSHD_ARGS_MAX + 1], sshd[64], *conf;
	pid_t parent = getpid(), pid;
	size_t i, n = 0;

	if (find_sshd(sshd, sizeof(sshd)) != 0)
		return cli_fail(a->c, "no sshd found (install openssh-server)");
	if ((conf = path_of(a, AGENT_SSHD_CONFIG)) == NULL)
		return cli_fail(a->c, "out of memory");
	argv[n++] = sshd;
	argv[n++] = opt_d;
	argv[n++] = opt_e;
	argv[n++] = opt_f;
	argv[n++] = conf;
	for (i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		free(conf);
		return cli_fail(a->c, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* The refresher lives as long as sshd, no longer. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 ||
		    getppid() != parent)
			_exit(0);
		refresh_loop(a, interval);
	}
	log_info("agent: refreshing every %lds in pid %ld; exec %s", interval,
	    (long)pid, sshd);
	execv(sshd, argv);
	kill(pid, SIGTERM);
	free(conf);
	return cli_fail(a->c, "cannot run %s: %s", sshd, strerror(errno));
}

/* DIR made if missing, made absolute and checked for sshd_config use. */
static int
setup_dir(struct agent *a, const char *dir)
{
	ssize_t n;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return cli_fail(a->c, "cannot make %s: %s", dir,
		    strerror(errno));
	if (realpath(dir, a->dir) == NULL)
		return cli_fail(a->c, "cannot use %s: %s", dir,
		    strerror(errno));
	if (agent_files_path_ok(a->dir) != 0)
		return cli_fail(a->c, "--dir %s: sshd_config cannot name it "
		    "(blank, quote, '%%', '#' or control character)", a->dir);
	if ((n = readlink("/proc/self/exe", a->exe, sizeof(a->exe) - 1)) <= 0)
		return cli_fail(a->c, "cannot find my own path in "
		    "/proc/self/exe: %s", strerror(errno));
	a->exe[n] = '\0';
	if (a->cf.gateway && agent_files_path_ok(a->exe) != 0)
		return cli_fail(a->c, "the tessera binary's path %s cannot "
		    "stand in sshd_config", a->exe);
	a->cf.dir = a->dir;
	a->cf.exe = a->exe;
	return CLI_OK;
}

static int
parse_number(struct cli *c, const char *opt, const char *s, long lo, long hi,
    long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < lo || v > hi) {
		fprintf(stderr, "%s: %s: a number from %ld to %ld, not %s\n",
		    c->prog, opt, lo, hi, s);
		return cli_usage(c);
	}
	*out = v;
	return CLI_OK;
}

int
cmd_target_agent(struct cli *c, int argc, char **argv)
{
	const char *token_file = NULL, *token_env = NULL, *dir = NULL,
	    *interval_s = NULL, *port_s = NULL, *listen = NULL,
	    *pos[CLI_POS_MAX];
	int gateway = 0, exec = 0, once = 0, i, dashes = -1, r;
	struct cli_opt opts[] = {
		{ "token-file", CLI_OPT_STR, &token_file },
		{ "token-env", CLI_OPT_STR, &token_env },
		{ "dir", CLI_OPT_STR, &dir },
		{ "interval", CLI_OPT_STR, &interval_s },
		{ "port", CLI_OPT_STR, &port_s },
		{ "listen", CLI_OPT_STR, &listen },
		{ "gateway", CLI_OPT_FLAG, &gateway },
		{ "exec-sshd", CLI_OPT_FLAG, &exec },
		{ "once", CLI_OPT_FLAG, &once },
		{ NULL, 0, NULL }
	};
	struct agent a;
	char *text = NULL;
	long interval = 30, port = 22;
	size_t npos;

	CLI_PARSE(c, argc, argv, opts, pos, 0, AGENT_SSHD_ARGS_MAX, &npos);
	for (i = 1; i < argc && dashes < 0; i++)
		if (strcmp(argv[i], "--") == 0)
			dashes = i;
	if (npos > 0 && (dashes < 0 || (size_t)(argc - dashes - 1) != npos ||
	    !exec)) {
		fprintf(stderr, "%s: arguments for sshd go after --exec-sshd "
		    "--\n", c->prog);
		return cli_usage(c);
	}
	if ((token_file != NULL) == (token_env != NULL)) {
		fprintf(stderr, "%s: give one of --token-file and "
		    "--token-env\n", c->prog);
		return cli_usage(c);
	}
	if (once && exec) {
		fprintf(stderr, "%s: --once and --exec-sshd exclude each "
		    "other\n", c->prog);
		return cli_usage(c);
	}
	if ((interval_s != NULL && (r = parse_number(c, "--interval",
	    interval_s, 1, AGENT_INTERVAL_MAX, &interval)) != CLI_OK) ||
	    (port_s != NULL && (r = parse_number(c, "--port", port_s, 1, 65535,
	    &port)) != CLI_OK))
		return r;
	if (listen != NULL && (*listen == '\0' || strpbrk(listen,
	    " \t\r\n\"'#%\\") != NULL)) {
		fprintf(stderr, "%s: --listen: an address, not %s\n", c->prog,
		    listen);
		return cli_usage(c);
	}

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.cf.gateway = gateway;
	a.cf.port = (unsigned int)port;
	a.cf.listen = listen;
	log_setup(LOGL_INFO, 0);
	if (gateway && docker_socket_path(getenv("DOCKER_HOST"), a.sock,
	    sizeof(a.sock)) != 0) {
		cli_fail(c, "DOCKER_HOST must be unix:///PATH");
		return CLI_FAIL;
	}
	if ((r = setup_dir(&a, dir != NULL ? dir : "/etc/ssh/tessera"))
	    != CLI_OK ||
	    (r = read_secret(&a, token_file, token_env, &a.token)) != CLI_OK ||
	    (r = cli_connect(c)) != CLI_OK)
		goto out;
	r = CLI_FAIL;
	if ((i = agent_files_hostkey(a.dir, &a.hostpub)) != 0) {
		cli_fail(c, "host key %s/%s: %s", a.dir, AGENT_HOSTKEY,
		    i == TSS_E_IO ? strerror(errno) : tss_strerror(i));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		if (agent_files_sshd_config(&a.cf, i, &text) != 0 ||
		    write_file(&a, i ? AGENT_SSHD_INCLUDE : AGENT_SSHD_CONFIG,
		    text, strlen(text), 0644) != 0)
			goto out;
		free(text);
		text = NULL;
	}
	load_state(&a);
	if (sync_once(&a) != 0) {
		if (once || !files_complete(&a)) {
			cli_fail(c, "the first sync with %s failed (see above)",
			    cli_server(c));
			goto out;
		}
		log_warn("agent: the first sync failed; sshd starts with the "
		    "last good files in %s", a.dir);
	} else
		log_info("agent: %s is in step with %s", a.dir, cli_server(c));
	if (once)
		r = CLI_OK;
	else if (exec)
		r = exec_sshd(&a, interval, argv + argc - npos, npos);
	else
		refresh_loop(&a, interval);
 out:
	free(text);
	wipe_free(a.token);
	wipe_free(a.cred);
	free(a.hostpub);
	free(a.routes);
	return r;
}
