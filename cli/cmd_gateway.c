/*
 * tessera gateway principals|shell: the two halves of the SSH gateway for
 * containers without sshd (docs/gateway.md).  sshd authenticates the
 * certificate (CA, validity, source-address, KRL); `principals`, its
 * AuthorizedPrincipalsCommand, accepts a certificate carrying any
 * login@target principal for the local user `tessera`; `shell`, its
 * ForceCommand, reads the certificate back from the ExposeAuthInfo file,
 * chooses login@target and runs the session in the one running container
 * labelled tessera.target=<target> on this node, through the Docker API.
 * Nothing the engineer sends is interpreted on the gateway: the command
 * goes as argv to /bin/sh -c inside the container, as sshd would run it.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "sshca/certinfo.h"
#include "cli.h"
#include "docker.h"
#include "gateway.h"

#define AUTH_INFO_MAX	65536
#define IO_CHUNK	16384
#define ENV_MAX		4

static volatile sig_atomic_t winched;

static void
on_winch(int sig)
{
	(void)sig;
	winched = 1;
}

/* A log line to syslog (LOG_AUTHPRIV) and, when also_stderr, stderr;
 * control bytes replaced, as key IDs come from the certificate. */
static void
glog(int prio, int also_stderr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
glog(int prio, int also_stderr, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	syslog(prio, "%s", line);
	if (also_stderr)
		fprintf(stderr, "tessera gateway: %s\n", line);
}

int
cmd_gateway_principals(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = { { NULL, CLI_OPT_FLAG, NULL } };
	const char *pos[2];
	struct certinfo *ci = NULL;
	char login[RBAC_LOGIN_MAX + 1], target[RBAC_NAME_MAX + 1];
	size_t npos, i, n = 0;
	int r;

	CLI_PARSE(c, argc, argv, opts, pos, 2, 2, &npos);
	openlog("tessera-gateway", LOG_PID, LOG_AUTHPRIV);
	if ((r = certinfo_from_text(pos[0], pos[1], &ci)) != 0) {
		glog(LOG_NOTICE, 1, "principals: a %s key that is not a "
		    "certificate we can read (%s)", pos[0], tss_strerror(r));
		goto out;
	}
	if (ci->type != CERTINFO_USER) {
		glog(LOG_NOTICE, 1, "principals: key ID %s serial %llu: not a "
		    "user certificate", ci->key_id,
		    (unsigned long long)ci->serial);
		goto out;
	}
	for (i = 0; i < ci->nprincipals; i++)
		if (gateway_split(ci->principals[i], login, target) == 0) {
			printf("%s\n", ci->principals[i]);
			n++;
		}
	if (n == 0)
		glog(LOG_NOTICE, 1, "principals: key ID %s serial %llu: no "
		    "login@target principal", ci->key_id,
		    (unsigned long long)ci->serial);
 out:
	certinfo_free(ci);
	return CLI_OK;
}

/* The ExposeAuthInfo file named by SSH_USER_AUTH. */
static int
auth_cert(struct certinfo **cip, char err[GATEWAY_ERR_MAX])
{
	const char *path = getenv("SSH_USER_AUTH");
	char *text = NULL;
	size_t n = 0;
	FILE *f = NULL;
	int r = TSS_E_INTERNAL;

	if (path == NULL || *path == '\0') {
		snprintf(err, GATEWAY_ERR_MAX, "SSH_USER_AUTH is not set (sshd "
		    "needs ExposeAuthInfo yes)");
		return TSS_E_INVALID_ARGUMENT;
	}
	if ((text = mem_malloc(AUTH_INFO_MAX + 1)) == NULL)
		return TSS_E_NOMEM;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, GATEWAY_ERR_MAX, "cannot read SSH_USER_AUTH: %s",
		    strerror(errno));
		r = TSS_E_IO;
		goto out;
	}
	n = fread(text, 1, AUTH_INFO_MAX + 1, f);
	if (ferror(f) || n > AUTH_INFO_MAX) {
		snprintf(err, GATEWAY_ERR_MAX, "SSH_USER_AUTH: unreadable or "
		    "over %d bytes", AUTH_INFO_MAX);
		r = TSS_E_IO;
		goto out;
	}
	if ((r = gateway_auth_cert(text, n, cip)) != 0)
		snprintf(err, GATEWAY_ERR_MAX, "%s", r == TSS_E_NOT_FOUND ?
		    "no certificate authenticated this session" :
		    r == TSS_E_TOO_MANY ? "more than one certificate "
		    "authenticated this session" : "the certificate that "
		    "authenticated this session cannot be read");
 out:
	if (f != NULL)
		fclose(f);
	free(text);
	return r;
}

static void
resize(const char *sock, const char *eid)
{
	struct winsize ws;
	char err[DOCKER_ERR_MAX];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0 &&
	    docker_exec_resize(sock, eid, ws.ws_row, ws.ws_col, err) != 0)
		syslog(LOG_DEBUG, "resize: %s", err);
}

/* Multiplexed frames: 8-byte header (stream, 0, 0, 0, big-endian size),
 * then the payload, to stderr for stream 2, else stdout. */
struct demux {
	unsigned char hdr[8];
	size_t have;
	uint32_t left;
};

static int
demux(struct demux *d, const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (d->left == 0) {
			k = sizeof(d->hdr) - d->have < n ?
			    sizeof(d->hdr) - d->have : n;
			memcpy(d->hdr + d->have, p, k);
			d->have += k;
			p += k;
			n -= k;
			if (d->have == sizeof(d->hdr)) {
				d->left = (uint32_t)d->hdr[4] << 24 |
				    (uint32_t)d->hdr[5] << 16 |
				    (uint32_t)d->hdr[6] << 8 | d->hdr[7];
				d->have = 0;
			}
			continue;
		}
		k = d->left < n ? d->left : n;
		if (docker_write_all(d->hdr[0] == 2 ? STDERR_FILENO :
		    STDOUT_FILENO, p, k) != 0)
			return -1;
		d->left -= (uint32_t)k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Copy stdin to the stream (half-closed at EOF) and the stream out until
 * the daemon closes it.  0, or -1 when our side of the session broke. */
static int
pump(int s, int tty, const char *sock, const char *eid)
{
	struct pollfd p[2];
	struct demux d;
	char buf[IO_CHUNK];
	ssize_t n;
	int in_open = 1;

	memset(&d, 0, sizeof(d));
	for (;;) {
		if (winched) {
			winched = 0;
			resize(sock, eid);
		}
		p[0].fd = in_open ? STDIN_FILENO : -1;
		p[0].events = POLLIN;
		p[1].fd = s;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (in_open && p[0].revents != 0) {
			if ((n = read(STDIN_FILENO, buf, sizeof(buf))) < 0 &&
			    errno == EINTR)
				continue;
			if (n <= 0 || docker_write_all(s, buf,
			    (size_t)n) != 0) {
				in_open = 0;
				shutdown(s, SHUT_WR);
			}
		}
		if (p[1].revents != 0) {
			if ((n = read(s, buf, sizeof(buf))) < 0 &&
			    errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			if (tty ? docker_write_all(STDOUT_FILENO, buf,
			    (size_t)n) : demux(&d, buf, (size_t)n))
				return -1;
		}
	}
}

/* Environment for the exec: TERM with a tty, and SSH_ORIGINAL_COMMAND
 * beside a forced command, as sshd sets them. */
static void
exec_env(const struct gateway_choice *ch, int tty, char **env, char **hold)
{
	const char *term = getenv("TERM"), *orig =
	    getenv("SSH_ORIGINAL_COMMAND");
	size_t n = 0;

	if (tty && term != NULL && *term != '\0' &&
	    mem_asprintf(&hold[0], "TERM=%s", term) >= 0)
		env[n++] = hold[0];
	if (ch->forced && orig != NULL &&
	    mem_asprintf(&hold[1], "SSH_ORIGINAL_COMMAND=%s", orig) >= 0)
		env[n++] = hold[1];
	env[n] = NULL;
}

/* A refusal: the message to the engineer, the log line with the key. */
static int
refuse(const struct certinfo *ci, const char *msg)
{
	fprintf(stderr, "tessera gateway: %s\n", msg);
	if (ci != NULL)
		glog(LOG_NOTICE, 0, "refused key ID %s serial %llu: %s",
		    ci->key_id, (unsigned long long)ci->serial, msg);
	else
		glog(LOG_NOTICE, 0, "refused: %s", msg);
	return CLI_FAIL;
}

/* Create and start the exec, carry the session, return its exit code. */
static int
run_exec(const char *sock, const char *id, const struct gateway_choice *ch,
    const struct certinfo *ci)
{
	struct docker_exec x;
	struct termios saved, raw;
	struct sigaction sa;
	struct winsize ws;
	char eid[DOCKER_ID_MAX + 1], err[DOCKER_ERR_MAX];
	char *env[ENV_MAX], *hold[2] = { NULL, NULL };
	int s = -1, tty = isatty(STDIN_FILENO), restore = 0, gone;
	int code = CLI_FAIL;

	memset(&x, 0, sizeof(x));
	exec_env(ch, tty, env, hold);
	x.user = ch->login;
	x.argv = ch->argv;
	x.env = (const char *const *)env;
	x.tty = tty;
	if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		x.rows = ws.ws_row;
		x.cols = ws.ws_col;
	}
	if (docker_exec_create(sock, id, &x, eid, err) != 0 ||
	    docker_exec_start(sock, eid, tty, &s, err) != 0) {
		code = refuse(ci, err);
		goto out;
	}
	glog(LOG_INFO, 0, "key ID %s serial %llu (%s): %s@%s in container "
	    "%.12s, exec %.12s%s%s", ci->key_id,
	    (unsigned long long)ci->serial, ci->fingerprint, ch->login,
	    ch->target, id, eid, ch->forced ? ", forced command" : "",
	    tty ? ", tty" : "");
	if (tty) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_winch;
		sigaction(SIGWINCH, &sa, NULL);
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			raw = saved;
			cfmakeraw(&raw);
			restore = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
		}
		resize(sock, eid);	/* daemons before API 1.42 */
	}
	gone = pump(s, tty, sock, eid) != 0;
	close(s);
	s = -1;
	if (restore)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (gone) {
		/* Nobody to tell the exit status: do not wait for it. */
		glog(LOG_INFO, 0, "exec %.12s: the client went away", eid);
		goto out;
	}
	if (docker_exec_exit(sock, eid, &code, err) != 0) {
		code = refuse(ci, err);
		goto out;
	}
	if (code < 0 || code > 255)
		code = CLI_FAIL;
 out:
	if (s != -1)
		close(s);
	free(hold[0]);
	free(hold[1]);
	return code;
}

int
cmd_gateway_shell(struct cli *c, int argc, char **argv)
{
	const struct cli_opt opts[] = { { NULL, CLI_OPT_FLAG, NULL } };
	struct gateway_choice ch;
	struct certinfo *ci = NULL;
	char err[GATEWAY_ERR_MAX], derr[DOCKER_ERR_MAX], sock[108];
	char **ids = NULL;
	size_t npos, n = 0, i;
	int r = CLI_FAIL;

	CLI_PARSE(c, argc, argv, opts, NULL, 0, 0, &npos);
	openlog("tessera-gateway", LOG_PID, LOG_AUTHPRIV);
	signal(SIGPIPE, SIG_IGN);
	if (auth_cert(&ci, err) != 0) {
		r = refuse(NULL, err);
		goto out;
	}
	if (ci->type != CERTINFO_USER) {
		r = refuse(ci, "not a user certificate");
		goto out;
	}
	if (gateway_choose(ci, getenv("TESSERA_TARGET"),
	    getenv("TESSERA_LOGIN"), getenv("SSH_ORIGINAL_COMMAND"), &ch,
	    err) != 0) {
		r = refuse(ci, err);
		goto out;
	}
	if (docker_socket_path(getenv("DOCKER_HOST"), sock,
	    sizeof(sock)) != 0) {
		r = refuse(ci, "DOCKER_HOST must be unix:///PATH");
		goto out;
	}
	if (docker_find(sock, GATEWAY_LABEL, ch.target, &ids, &n,
	    derr) != 0) {
		r = refuse(ci, derr);
		goto out;
	}
	if (gateway_one_container(n, ch.target, err) != 0) {
		r = refuse(ci, err);
		goto out;
	}
	r = run_exec(sock, ids[0], &ch, ci);
 out:
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	certinfo_free(ci);
	return r;
}
