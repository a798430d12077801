/*
 * tessera against the network: refused connections, TLS verification with
 * and without --ca-file, sessions that are missing, expired, unsafe or for
 * another server.  A small OpenSSL TLS listener stands in for the port; it
 * answers every request with one fixed API error, which is all these cases
 * need (the end-to-end tests run the real tesserad).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clirun.h"
#include "tmpdir.h"

static char dir[4096], home[4200], cert[4200], key[4200], other[4200];
static char url[64];
static struct clirun res;

struct tls_srv {
	int lfd;
	SSL_CTX *ctx;
	pthread_t th;
	volatile int stop;
	volatile int requests;	/* requests answered after a handshake */
	const char *reply;
};
static struct tls_srv srv;

static const char body_401[] =
    "{\"error\": {\"code\": \"unauthenticated\", \"message\": "
    "\"session has expired!!!\"}}";
static char reply_401[512];

static void *
serve(void *arg)
{
	struct tls_srv *s = arg;
	struct pollfd pf;
	char buf[8192];
	size_t len;
	int fd, n;
	SSL *ssl;

	while (!s->stop) {
		pf.fd = s->lfd;
		pf.events = POLLIN;
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			len = 0;
			while (len < sizeof(buf) - 1 &&
			    (n = SSL_read(ssl, buf + len,
			    (int)(sizeof(buf) - 1 - len))) > 0) {
				len += (size_t)n;
				buf[len] = '\0';
				/* headers done; bodies here are small and
				 * arrive with them or right after */
				if (strstr(buf, "\r\n\r\n") != NULL &&
				    (strstr(buf, "Content-Length") == NULL ||
				    buf[len - 1] == '}'))
					break;
			}
			SSL_write(ssl, s->reply, (int)strlen(s->reply));
			s->requests++;
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

static int
listen_port(int *fdp, int do_listen)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (do_listen)
		cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*fdp = fd;
	return ntohs(a.sin_port);
}

static void
make_cert(const char *certp, const char *keyp)
{
	char cmd[10000];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout '%s' -out '%s' -days 1 "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
	    ">/dev/null 2>&1", keyp, certp);
	cr_assert_eq(system(cmd), 0, "openssl req failed");
}

static void
setup(void)
{
	char okey[4200];

	cr_assert_eq(tmpdir_make(dir, sizeof(dir)), 0);
	snprintf(home, sizeof(home), "%s/home", dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(other, sizeof(other), "%s/other.pem", dir);
	snprintf(okey, sizeof(okey), "%s/other-key.pem", dir);
	make_cert(cert, key);
	make_cert(other, okey);
	memset(&srv, 0, sizeof(srv));
	snprintf(reply_401, sizeof(reply_401), "HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(body_401), body_401);
	srv.reply = reply_401;
	cr_assert((srv.ctx = SSL_CTX_new(TLS_server_method())) != NULL);
	cr_assert_eq(SSL_CTX_use_certificate_file(srv.ctx, cert,
	    SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey_file(srv.ctx, key,
	    SSL_FILETYPE_PEM), 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d",
	    listen_port(&srv.lfd, 1));
	cr_assert_eq(pthread_create(&srv.th, NULL, serve, &srv), 0);
}

static void
teardown(void)
{
	srv.stop = 1;
	pthread_join(srv.th, NULL);
	close(srv.lfd);
	SSL_CTX_free(srv.ctx);
	tmpdir_remove(dir);
}

TestSuite(cli_net, .init = setup, .fini = teardown, .timeout = 60);

/* A session file in home, for server, expiring at exp, with mode. */
static void
write_session(const char *server, long long exp, unsigned mode)
{
	char path[4400], text[512];

	snprintf(path, sizeof(path), "%s/.config", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/tessera", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/tessera/session", home);
	snprintf(text, sizeof(text), "{\"server\": \"%s\", \"token\": "
	    "\"tok\", \"expires_at\": %lld, \"username\": \"alice\"}", server,
	    exp);
	cr_assert_eq(tmpfile_write(path, text, mode), 0);
	cr_assert_eq(chmod(path, mode), 0);
}

#define RUN(...) do { \
		const char *const a_[] = { __VA_ARGS__, NULL }; \
		cr_assert_eq(clirun(&res, home, NULL, NULL, 30, a_), 0); \
	} while (0)

Test(cli_net, connection_refused_is_a_clear_error)
{
	char down[64];
	int fd;

	/* bound but not listening: connections are refused */
	snprintf(down, sizeof(down), "https://127.0.0.1:%d",
	    listen_port(&fd, 0));
	write_session(down, 4102444800LL, 0600);
	RUN("--server", down, "whoami");
	close(fd);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "cannot connect to") != NULL, "%s", res.err);
	cr_assert(strstr(res.err, "is tesserad running?") != NULL);
}

Test(cli_net, port_one_refused_exit_1)
{
	write_session("https://127.0.0.1:1", 4102444800LL, 0600);
	RUN("--server", "https://127.0.0.1:1", "whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "cannot connect to https://127.0.0.1:1")
	    != NULL, "%s", res.err);
}

Test(cli_net, not_logged_in)
{
	RUN("--server", url, "user", "ls");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "not logged in: run `tessera login`")
	    != NULL, "%s", res.err);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, expired_session_refused_before_sending)
{
	write_session(url, 1000000000LL, 0600);
	RUN("whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "session expired at 2001-09-09T01:46:40Z: "
	    "run `tessera login`") != NULL, "%s", res.err);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, session_readable_by_others_refused)
{
	write_session(url, 4102444800LL, 0644);
	RUN("whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "may be read by others") != NULL, "%s",
	    res.err);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, session_for_another_server_not_sent)
{
	write_session("https://127.0.0.1:9", 4102444800LL, 0600);
	RUN("--server", url, "--ca-file", cert, "whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "the saved session is for "
	    "https://127.0.0.1:9") != NULL, "%s", res.err);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, wrong_ca_file_fails_verification)
{
	write_session(url, 4102444800LL, 0600);
	RUN("--ca-file", other, "whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "TLS: cannot verify the certificate of")
	    != NULL, "%s", res.err);
	cr_assert(strstr(res.err, other) != NULL);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, system_store_refuses_self_signed)
{
	write_session(url, 4102444800LL, 0600);
	RUN("whoami");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "TLS: cannot verify") != NULL, "%s",
	    res.err);
	cr_assert(strstr(res.err, "--ca-file") != NULL);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, unreadable_ca_file)
{
	char missing[4300];

	snprintf(missing, sizeof(missing), "%s/nope.pem", dir);
	write_session(url, 4102444800LL, 0600);
	RUN("whoami", "--ca-file", missing);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "cannot read CA file") != NULL, "%s",
	    res.err);
}

Test(cli_net, server_error_message_printed)
{
	write_session(url, 4102444800LL, 0600);
	RUN("--ca-file", cert, "user", "ls");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "tessera: session has expired!!! "
	    "(unauthenticated)") != NULL, "%s", res.err);
	cr_assert(strstr(res.err, "run `tessera login`") != NULL);
	cr_assert_eq(srv.requests, 1);
}

Test(cli_net, refused_login_keeps_no_session)
{
	char path[4400];
	const char *const a[] = { "--server", url, "--ca-file", cert, "login",
	    "--user", "alice", "--password-stdin", "--code-stdin", NULL };
	struct stat st;

	cr_assert_eq(clirun(&res, home, NULL, "correct horse battery\n123456\n",
	    30, a), 0);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "(unauthenticated)") != NULL, "%s", res.err);
	snprintf(path, sizeof(path), "%s/.config/tessera/session", home);
	cr_assert_neq(stat(path, &st), 0);
}

Test(cli_net, login_without_stdin_lines_is_a_clear_error)
{
	const char *const a[] = { "--server", url, "--ca-file", cert, "login",
	    "--user", "alice", "--password-stdin", "--code-stdin", NULL };

	cr_assert_eq(clirun(&res, home, NULL, "only-a-password-line\n", 30, a),
	    0);
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "no code: end of input") != NULL, "%s",
	    res.err);
	cr_assert_eq(srv.requests, 0);
}

Test(cli_net, no_terminal_for_password)
{
	RUN("--server", url, "--ca-file", cert, "login", "--user", "alice");
	cr_assert_eq(res.status, 1);
	cr_assert(strstr(res.err, "no terminal to read the password from: use "
	    "--password-stdin") != NULL, "%s", res.err);
}

Test(cli_net, logout_without_session_is_fine)
{
	RUN("logout");
	cr_assert_eq(res.status, 0);
	cr_assert(strstr(res.out, "Not logged in.") != NULL);
}

Test(cli_net, logout_of_expired_session_removes_it)
{
	char path[4400];
	struct stat st;

	write_session(url, 1000000000LL, 0600);
	RUN("logout");
	cr_assert_eq(res.status, 0);
	snprintf(path, sizeof(path), "%s/.config/tessera/session", home);
	cr_assert_neq(stat(path, &st), 0);
	cr_assert_eq(srv.requests, 0);
}
