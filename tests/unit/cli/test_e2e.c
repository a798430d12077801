/*
 * End to end with the real binaries: `tessera init --dev`, tesserad on an
 * ephemeral loopback port, then enroll, login (recovery codes, so no test
 * waits for the next TOTP step), admin commands, certificates checked with
 * ssh-keygen, logout, backup/verify while the service runs, and the
 * health check (running, wrong key, stopped).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "clirun.h"
#include "tmpdir.h"

#define PASSWORD	"correct horse battery staple"

static char dir[4096], data[4200], home[4200], crt[4300], conf[4300];
static char url[64], admin_link[512];
static char codes[10][32];	/* admin's recovery codes */
static int next_code;
static pid_t daemon_pid = -1;
static struct clirun res;

static char *
slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
start_daemon(void)
{
	char bin[4200], port[4300], logp[4300], *end;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long v;
	int i, fd;

	snprintf(bin, sizeof(bin), "%s/tesserad",
	    getenv("TESSERA_BUILD_DIR"));
	if (access(bin, X_OK) != 0)
		cr_skip_test("no tesserad at %s", bin);
	snprintf(port, sizeof(port), "%s/tesserad.port", data);
	snprintf(logp, sizeof(logp), "%s/tesserad.log", dir);
	fflush(NULL);
	if ((daemon_pid = fork()) == 0) {
		fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("TESSERA_LISTEN", "127.0.0.1:0", 1);
		/* cheap hashing: these tests are about the client */
		setenv("TESSERA_ARGON2_MEMORY_KIB", "1024", 1);
		setenv("TESSERA_ARGON2_TIME", "1", 1);
		execl(bin, "tesserad", "--config", conf, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(daemon_pid, 0);
	/* the port file appears once the service listens (bounded wait) */
	for (i = 0; i < 400; i++) {
		if (access(port, R_OK) == 0 && *slurp(port) != '\0')
			break;
		cr_assert_eq(waitpid(daemon_pid, NULL, WNOHANG), 0,
		    "tesserad exited: %s", slurp(logp));
		nanosleep(&ts, NULL);
	}
	v = strtoul(slurp(port), &end, 10);
	cr_assert(v > 0 && v < 65536, "no port: %s", slurp(logp));
	snprintf(url, sizeof(url), "https://127.0.0.1:%lu", v);
}

static void
stop_daemon(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	for (i = 0; i < 200; i++) {
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			return;
		}
		nanosleep(&ts, NULL);
	}
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = -1;
}

/* tessera against the running service, as the user of h. */
#define TS(h, in, ...) do { \
		const char *const a_[] = { "--server", url, "--ca-file", crt, \
		    __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&res, (h), NULL, (in), 60, a_), 0); \
	} while (0)

/* The line of text that starts with prefix (copied into out). */
static int
line_with(const char *text, const char *prefix, char *out, size_t len)
{
	const char *p = text, *e;

	while (p != NULL && *p != '\0') {
		e = strchr(p, '\n');
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(out, len, "%.*s", (int)(e != NULL ? e - p :
			    (long)strlen(p)), p);
			return 1;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

/*
 * `tessera enroll LINK --password-stdin --code-stdin` as a script would
 * run it: password first, then read stdout up to the totp_secret line,
 * compute the code with oathtool, send it.  Recovery codes into rc.
 */
static void
enroll(const char *h, const char *link, char rc[10][32])
{
	int in[2], out[2], st, n = 0;
	char buf[16384], cmd[256], code[32], secret[128], *line, *save = NULL;
	size_t len = 0;
	ssize_t k;
	FILE *f;
	pid_t pid;

	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		char hb[4300];

		snprintf(hb, sizeof(hb), "HOME=%s", h);
		putenv(hb);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(clirun_binary(), "tessera", "--server", url, "--ca-file",
		    crt, "enroll", link, "--password-stdin", "--code-stdin",
		    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	cr_assert_eq(write(in[1], PASSWORD "\n", strlen(PASSWORD) + 1),
	    (ssize_t)strlen(PASSWORD) + 1);
	secret[0] = '\0';
	while (!line_with(buf, "totp_secret: ", secret, sizeof(secret))) {
		k = read(out[0], buf + len, sizeof(buf) - 1 - len);
		cr_assert_gt(k, 0, "enroll ended early: %.*s", (int)len, buf);
		len += (size_t)k;
		buf[len] = '\0';
	}
	snprintf(cmd, sizeof(cmd), "oathtool --totp -b %s", secret + 13);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_not_null(fgets(code, sizeof(code), f));
	pclose(f);
	cr_assert_eq(write(in[1], code, strlen(code)), (ssize_t)strlen(code));
	close(in[1]);
	while ((k = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)k;
		buf[len] = '\0';
	}
	close(out[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "enroll: %s", buf);
	/* recovery codes: indented lines of xxxx-xxxx-xxxx-xxxx */
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "  ", 2) == 0 && strlen(line) == 21 &&
		    line[6] == '-' && n < 10)
			snprintf(rc[n++], 32, "%s", line + 2);
	cr_assert_eq(n, 10, "recovery codes missing");
}

static void
setup(void)
{
	const char *const a[] = { "init", "--data", data, "--dev", NULL };
	char line[512];

	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(home, sizeof(home), "%s/admin", dir);
	snprintf(crt, sizeof(crt), "%s/tls.crt", data);
	snprintf(conf, sizeof(conf), "%s/tesserad.conf", data);
	cr_assert_eq(mkdir(home, 0700), 0);
	cr_assert_eq(clirun(&res, home, NULL, NULL, 60, a), 0);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert(line_with(res.out, "https://", line, sizeof(line)));
	snprintf(admin_link, sizeof(admin_link), "%s", line);
	start_daemon();
	enroll(home, admin_link, codes);
	next_code = 0;
}

static void
teardown(void)
{
	stop_daemon();
	tmpdir_remove(dir);
}

TestSuite(cli_e2e, .init = setup, .fini = teardown, .timeout = 120);

/* Log in as user of h with the next of rc (stdin automation). */
static void
login(const char *h, const char *user, const char *rc)
{
	char in[128];

	snprintf(in, sizeof(in), PASSWORD "\n%s\n", rc);
	TS(h, in, "login", "--user", user, "--password-stdin",
	    "--code-stdin");
}

static unsigned
mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s missing", path);
	return st.st_mode & 07777;
}

Test(cli_e2e, login_without_access_keeps_session_exit_0)
{
	char p[4400];

	login(home, "admin", codes[next_code++]);
	cr_assert_eq(res.status, 0, "%s%s", res.out, res.err);
	cr_assert(strstr(res.out, "No certificate was issued: ") != NULL,
	    "%s", res.out);
	cr_assert(strstr(res.out, "(forbidden)") != NULL);
	snprintf(p, sizeof(p), "%s/.config/tessera/session", home);
	cr_assert_eq(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s/.config/tessera", home);
	cr_assert_eq(mode_of(p), 0700);
	/* the key was made without asking */
	snprintf(p, sizeof(p), "%s/.ssh/id_ed25519.pub", home);
	mode_of(p);
	TS(home, NULL, "whoami");
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert(strstr(res.out, "user:     admin") != NULL, "%s", res.out);
	cr_assert(strstr(res.out, "roles:    admin") != NULL);
}

Test(cli_e2e, wrong_password_is_refused)
{
	char in[128], p[4400];
	struct stat st;

	snprintf(in, sizeof(in), "wrong password here\n%s\n", codes[0]);
	TS(home, in, "login", "--user", "admin", "--password-stdin",
	    "--code-stdin");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "(invalid_credentials)") != NULL, "%s",
	    res.err);
	snprintf(p, sizeof(p), "%s/.config/tessera/session", home);
	cr_assert_neq(stat(p, &st), 0);
}

Test(cli_e2e, admin_grants_access_and_engineer_gets_certificate)
{
	char ahome[4300], link[512], role[4300], cert[4400], cmd[9000];
	char acodes[10][32], serial[64], *s;
	FILE *f;

	login(home, "admin", codes[next_code++]);
	cr_assert_eq(res.status, 0);
	TS(home, NULL, "target", "add", "prod/api", "--label", "env=prod");
	cr_assert_eq(res.status, 0, "%s", res.err);
	snprintf(role, sizeof(role), "%s/ops.json", dir);
	cr_assert_eq(tmpfile_write(role, "{\"rules\": [{\"targets\": "
	    "[\"prod/*\"], \"logins\": [\"app\"]}], \"max_ttl\": 3600}", 0600),
	    0);
	TS(home, NULL, "role", "put", "ops", role);
	cr_assert_eq(res.status, 0, "%s", res.err);
	TS(home, NULL, "bind", "ops", "group:oncall", "--expires", "8h");
	cr_assert_eq(res.status, 0, "%s", res.err);
	TS(home, NULL, "user", "add", "alice", "--group", "oncall");
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert(line_with(res.out, "https://", link, sizeof(link)), "%s",
	    res.out);
	TS(home, NULL, "check", "alice", "prod/api", "app");
	cr_assert_eq(res.status, 0, "%s%s", res.out, res.err);
	cr_assert(strncmp(res.out, "allowed: ", 9) == 0);
	TS(home, NULL, "check", "alice", "prod/api", "root");
	cr_assert_eq(res.status, 1);
	cr_assert(strncmp(res.out, "denied: ", 8) == 0);
	TS(home, NULL, "target", "sshd-config", "prod/api");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "TrustedUserCAKeys") != NULL);

	snprintf(ahome, sizeof(ahome), "%s/alice", dir);
	cr_assert_eq(mkdir(ahome, 0700), 0);
	enroll(ahome, link, acodes);
	login(ahome, "alice", acodes[0]);
	cr_assert_eq(res.status, 0, "%s%s", res.out, res.err);
	snprintf(cert, sizeof(cert), "%s/.ssh/id_ed25519-cert.pub", ahome);
	cr_assert_eq(mode_of(cert), 0644);
	cr_assert(strstr(res.out, "app@prod/api\n    tessera ssh prod/api "
	    "-l app\n") != NULL, "%s", res.out);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -L -f '%s' | grep -q "
	    "'app@prod/api'", cert);
	cr_assert_eq(system(cmd), 0, "principal missing from the cert");
	TS(ahome, NULL, "whoami");
	cr_assert(strstr(res.out, "prod/api  app") != NULL, "%s", res.out);

	/* the admin sees and revokes it */
	TS(home, NULL, "cert", "ls", "--user", "alice", "--json");
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_not_null(s = strstr(res.out, "\"serial\":"));
	snprintf(serial, sizeof(serial), "%llu",
	    strtoull(s + 9, NULL, 10));
	TS(home, NULL, "cert", "revoke", serial);
	cr_assert_eq(res.status, 0, "%s", res.err);
	TS(home, NULL, "audit");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, " cert.issue ") != NULL, "%s", res.out);
	cr_assert(strstr(res.out, " cert.revoke ") != NULL);
	/* --json after the command, for scripts */
	TS(home, NULL, "user", "ls", "--json");
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.out[0], '{');
	(void)f;
}

Test(cli_e2e, logout_ends_the_session_on_the_server)
{
	char p[4400], saved[4096];

	login(home, "admin", codes[next_code++]);
	cr_assert_eq(res.status, 0);
	snprintf(p, sizeof(p), "%s/.config/tessera/session", home);
	snprintf(saved, sizeof(saved), "%s", slurp(p));
	TS(home, NULL, "logout");
	cr_assert_eq(res.status, 0, "%s", res.err);
	TS(home, NULL, "whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "not logged in") != NULL);
	/* the old token, put back, is refused by the server */
	cr_assert_eq(tmpfile_write(p, saved, 0600), 0);
	TS(home, NULL, "whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "the session has ended") != NULL, "%s",
	    res.err);
}

Test(cli_e2e, backup_and_verify_while_the_service_runs)
{
	char file[4300];
	const char *const b[] = { "backup", "--data", data, file, NULL };
	const char *const v[] = { "audit", "verify", "--data", data, NULL };

	login(home, "admin", codes[next_code++]);
	cr_assert_eq(res.status, 0);
	snprintf(file, sizeof(file), "%s/backup.mdb", dir);
	cr_assert_eq(clirun(&res, home, NULL, NULL, 60, b), 0);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_eq(mode_of(file), 0600);
	cr_assert_eq(clirun(&res, home, NULL, NULL, 60, v), 0);
	cr_assert_eq(res.status, 0, "%s", res.err);
	/* the service still answers */
	TS(home, NULL, "whoami");
	cr_assert_eq(res.status, 0, "%s", res.err);
}

/* tessera healthcheck with env (NULL-terminated "K=V" list) and args. */
#define HC(env, ...) do { \
		const char *const a_[] = { "healthcheck", __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&res, home, (env), NULL, 30, a_), 0); \
	} while (0)

Test(cli_e2e, healthcheck_finds_the_server_from_its_config)
{
	const char *const port0[] = { "TESSERA_LISTEN=127.0.0.1:0", NULL };
	char any[64], other[4300], cmd[9000], want[128];
	const char *const wild[] = { any, NULL };
	const char *const pin[] = { "TESSERA_LISTEN=127.0.0.1:0", other,
	    NULL };

	/* listen port 0, as tesserad runs here: the port file */
	HC(port0, "--config", conf);
	snprintf(want, sizeof(want), "healthy: %s\n", url);
	cr_assert_eq(res.status, 0, "%s", res.err);
	cr_assert_str_eq(res.out, want);
	/* a wildcard address is reached on loopback */
	snprintf(any, sizeof(any), "TESSERA_LISTEN=0.0.0.0:%s",
	    strrchr(url, ':') + 1);
	HC(wild, "--config", conf);
	cr_assert_eq(res.status, 0, "%s", res.err);
	/* --url is verified like any server: with the CA file, not without */
	{
		const char *const a[] = { "--ca-file", crt, "healthcheck",
		    "--url", url, NULL };

		cr_assert_eq(clirun(&res, home, NULL, NULL, 30, a), 0);
		cr_assert_eq(res.status, 0, "%s", res.err);
	}
	HC(NULL, "--url", url);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "unhealthy: TLS") != NULL, "%s", res.err);
	/* a server without the key of the configured tls_cert is refused */
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ed25519 -nodes "
	    "-keyout '%s/o.key' -out '%s/o.crt' -subj /CN=127.0.0.1 -days 1 "
	    ">/dev/null 2>&1", dir, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(other, sizeof(other), "TESSERA_TLS_CERT=%s/o.crt", dir);
	HC(pin, "--config", conf);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "does not hold the key of") != NULL, "%s",
	    res.err);
	/* an unreadable config names the file */
	HC(NULL, "--config", "/nonexistent/tesserad.conf");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "/nonexistent/tesserad.conf") != NULL, "%s",
	    res.err);
}

Test(cli_e2e, healthcheck_fails_fast_once_the_server_stops)
{
	const char *const port0[] = { "TESSERA_LISTEN=127.0.0.1:0", NULL };
	struct timespec t0, t1;

	HC(port0, "--config", conf);
	cr_assert_eq(res.status, 0, "%s", res.err);
	stop_daemon();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	HC(port0, "--config", conf);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(res.status, 1);
	/* refused at the port tesserad last wrote (or, were that file
	 * removed at exit, the file's absence) */
	cr_assert(strncmp(res.err, "tessera: unhealthy: ", 20) == 0 &&
	    (strstr(res.err, "cannot connect to") != NULL ||
	    strstr(res.err, "tesserad.port cannot be read") != NULL), "%s",
	    res.err);
	cr_assert_eq(strchr(res.err, '\n'), res.err + strlen(res.err) - 1,
	    "more than one line: %s", res.err);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 4, "took %lds",
	    (long)(t1.tv_sec - t0.tv_sec));
}
