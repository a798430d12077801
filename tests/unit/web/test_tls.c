/*
 * Connection-level behaviour: TLS versions, certificate reload without
 * dropping connections, slowloris timeout, per-address connection limit,
 * graceful stop with a request in flight, listen/config errors.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/err.h"
#include "harness.h"

static struct h H;
static struct res R;

static void
setup(void)
{
	h_init(&H);
}

static void
teardown(void)
{
	h_fini(&H);
}

TestSuite(web_tls, .init = setup, .fini = teardown);

static const char GET_HELLO[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

Test(web_tls, tls11_refused)
{
	SSL *ssl;
	int fd;

	h_start(&H, NULL);
	ssl = h_tls_open(&H, TLS1_1_VERSION, TLS1_1_VERSION, &fd);
	cr_assert_null(ssl, "a TLS 1.1 handshake succeeded");
	ssl = h_tls_open(&H, TLS1_VERSION, TLS1_VERSION, &fd);
	cr_assert_null(ssl, "a TLS 1.0 handshake succeeded");
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

Test(web_tls, tls12_accepted)
{
	char out[4096];
	SSL *ssl;
	int fd;

	h_start(&H, NULL);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_2_VERSION, &fd));
	cr_assert_eq(SSL_version(ssl), TLS1_2_VERSION);
	cr_assert_eq(h_tls_request(ssl, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);
	h_tls_close(ssl, fd);
}

Test(web_tls, tls13_accepted_and_preferred)
{
	char out[4096];
	SSL *ssl;
	int fd;

	h_start(&H, NULL);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_3_VERSION,
	    TLS1_3_VERSION, &fd));
	cr_assert_eq(SSL_version(ssl), TLS1_3_VERSION);
	cr_assert_eq(h_tls_request(ssl, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);
	h_tls_close(ssl, fd);
	/* Offered everything, the server picks 1.3. */
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_VERSION, TLS1_3_VERSION,
	    &fd));
	cr_assert_eq(SSL_version(ssl), TLS1_3_VERSION);
	h_tls_close(ssl, fd);
}

/*
 * Docker Swarm names a service <stack>_<service>: a client that connects
 * by that name sends an underscore in its server_name extension, which
 * GnuTLS alone would refuse with a fatal alert (web/tls.c).  The name
 * only hints at a certificate and we serve one: every handshake goes on,
 * TLS 1.3 and TLS 1.2 (an ECDHE ServerHello with the point formats the
 * stand-in answers), from OpenSSL and from curl.
 */
Test(web_tls, sni_with_underscore_accepted)
{
	static const char *const names[] = { "tessera_tesserad", "_",
	    "a_b.example_", "x\x7fy", "tesserad" };
	static const int vers[][2] = { { TLS1_3_VERSION, TLS1_3_VERSION },
	    { TLS1_2_VERSION, TLS1_3_VERSION },
	    { TLS1_2_VERSION, TLS1_2_VERSION } };
	char fp[65], fp_file[65], out[4096];
	size_t i, j;
	SSL *ssl;
	int fd;

	h_start(&H, NULL);
	h_file_fp(H.cert, fp_file);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		H.sni = names[i];
		for (j = 0; j < sizeof(vers) / sizeof(vers[0]); j++) {
			ssl = h_tls_open(&H, vers[j][0], vers[j][1], &fd);
			cr_assert_not_null(ssl, "SNI %s, versions %zu: "
			    "handshake failed", names[i], j);
			cr_assert_eq(SSL_version(ssl), vers[j][1]);
			h_peer_fp(ssl, fp);
			cr_assert_str_eq(fp, fp_file);
			cr_assert_eq(h_tls_request(ssl, GET_HELLO,
			    sizeof(GET_HELLO) - 1, out, sizeof(out)), 200,
			    "SNI %s", names[i]);
			/* A second request on the same session. */
			cr_assert_eq(h_tls_request(ssl, GET_HELLO,
			    sizeof(GET_HELLO) - 1, out, sizeof(out)), 200);
			h_tls_close(ssl, fd);
		}
		if (strchr(names[i], '\x7f') != NULL)
			continue;	/* no URL host */
		/* curl resolves the name to 127.0.0.1 and sends it as SNI. */
		h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
		cr_assert_eq(R.status, 200, "curl, SNI %s: status %ld",
		    names[i], R.status);
	}
}

Test(web_tls, reload_keeps_old_connection_new_sees_new_cert)
{
	char fp_old[65], fp_new[65], fp_a[65], fp_b[65], out[4096];
	SSL *a, *b;
	int fa, fb;

	h_start(&H, NULL);
	h_file_fp(H.cert, fp_old);
	cr_assert_not_null(a = h_tls_open(&H, TLS1_2_VERSION, TLS1_3_VERSION,
	    &fa));
	h_peer_fp(a, fp_a);
	cr_assert_str_eq(fp_a, fp_old);
	cr_assert_eq(h_tls_request(a, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);

	cr_assert_eq(web_tls_changed(H.srv), 0);
	h_new_cert(&H);
	h_file_fp(H.cert, fp_new);
	cr_assert_str_neq(fp_new, fp_old);
	cr_assert_eq(web_tls_changed(H.srv), 1);
	cr_assert_eq(web_reload_tls(H.srv), 0);
	cr_assert_eq(web_tls_changed(H.srv), 0);

	/* The old keep-alive connection still works... */
	cr_assert_eq(h_tls_request(a, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);
	/* ...and a new one gets the new certificate. */
	cr_assert_not_null(b = h_tls_open(&H, TLS1_2_VERSION, TLS1_3_VERSION,
	    &fb));
	h_peer_fp(b, fp_b);
	cr_assert_str_eq(fp_b, fp_new);
	cr_assert_eq(h_tls_request(b, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);
	/* Reload twice more with a connection pinned to each generation. */
	h_new_cert(&H);
	cr_assert_eq(web_reload_tls(H.srv), 0);
	h_tls_close(b, fb);
	cr_assert_eq(h_tls_request(a, GET_HELLO, sizeof(GET_HELLO) - 1, out,
	    sizeof(out)), 200);
	h_tls_close(a, fa);
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

Test(web_tls, reload_with_mismatched_key_keeps_old_pair)
{
	char fp_old[65], fp[65], keep[400];
	SSL *ssl;
	int fd;

	h_start(&H, NULL);
	h_file_fp(H.cert, fp_old);
	/* Keep the old key aside, make a new pair, restore the old key. */
	snprintf(keep, sizeof(keep), "%s/old-key.pem", H.dir);
	cr_assert_eq(link(H.key, keep), 0);
	h_new_cert(&H);
	cr_assert_eq(rename(keep, H.key), 0);
	cr_assert_eq(web_reload_tls(H.srv), TSS_E_CRYPTO);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	h_peer_fp(ssl, fp);
	cr_assert_str_eq(fp, fp_old);
	h_tls_close(ssl, fd);
}

Test(web_tls, reload_with_garbage_keeps_old_pair)
{
	FILE *f;

	h_start(&H, NULL);
	cr_assert_not_null(f = fopen(H.cert, "w"));
	fputs("-----BEGIN CERTIFICATE-----\nnot base64\n"
	    "-----END CERTIFICATE-----\n", f);
	fclose(f);
	cr_assert_eq(web_tls_changed(H.srv), 1);
	cr_assert_eq(web_reload_tls(H.srv), TSS_E_BAD_FORMAT);
	cr_assert_eq(unlink(H.key), 0);
	cr_assert_eq(web_tls_changed(H.srv), TSS_E_IO);
	cr_assert_eq(web_reload_tls(H.srv), TSS_E_IO);
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

Test(web_tls, slowloris_closed_at_timeout_others_served)
{
	static const char partial[] = "GET /hello HTTP/1.1\r\nHost: x\r\n";
	struct web_config cfg;
	SSL *ssl;
	int fd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.conn_timeout = 1;
	h_start(&H, &cfg);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	cr_assert_eq(SSL_write(ssl, partial, sizeof(partial) - 1),
	    (int)sizeof(partial) - 1);
	/* While the slow client hangs, others are served. */
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
	cr_assert_eq(h_wait_closed(fd, ssl, 15000), 1,
	    "partial request not closed within 15 s");
	h_tls_close(ssl, fd);
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

static int
tcp_open(uint16_t port)
{
	struct sockaddr_in sin;
	int s;

	cr_assert_neq(s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return s;
}

Test(web_tls, per_ip_limit_refuses_excess_then_recovers)
{
	enum { LIMIT = 4, OPEN = 12 };
	struct web_config cfg;
	struct timespec t0;
	int fds[OPEN], closed[OPEN], nclosed = 0, i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.per_ip_limit = LIMIT;
	cfg.conn_timeout = 60;
	h_start(&H, &cfg);
	for (i = 0; i < OPEN; i++) {
		fds[i] = tcp_open(H.port);
		closed[i] = 0;
	}
	/* The excess is accepted and closed at once; poll with a bound. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nclosed < OPEN - LIMIT && h_ms_since(&t0) < 10000) {
		for (i = 0; i < OPEN; i++) {
			if (!closed[i] && h_wait_closed(fds[i], NULL, 20)) {
				closed[i] = 1;
				nclosed++;
			}
		}
	}
	cr_assert_eq(nclosed, OPEN - LIMIT, "closed %d of %d", nclosed, OPEN);
	/* While the limit is held, a real client from 127.0.0.1 is refused. */
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 0);
	for (i = 0; i < OPEN; i++)
		close(fds[i]);
	/* The server notices the closes; then it serves again. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	} while (R.status != 200 && h_ms_since(&t0) < 10000);
	cr_assert_eq(R.status, 200);
}

/* A burst of connections, all open at once, is accepted and served. */
Test(web_tls, connection_burst_all_served)
{
	enum { OPEN = 40 };
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	struct web_config cfg;
	SSL *ssl[OPEN];
	char out[4096];
	int fds[OPEN], i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.per_ip_limit = OPEN;
	h_start(&H, &cfg);
	for (i = 0; i < OPEN; i++)
		cr_assert_not_null(ssl[i] = h_tls_open(&H, TLS1_2_VERSION,
		    TLS1_3_VERSION, &fds[i]), "connection %d", i);
	for (i = 0; i < OPEN; i++)
		cr_assert_eq(h_tls_request(ssl[i], req, sizeof(req) - 1, out,
		    sizeof(out)), 200, "connection %d", i);
	for (i = 0; i < OPEN; i++)
		h_tls_close(ssl[i], fds[i]);
}

struct slow_call {
	struct h *h;
	struct res res;
};

static void *
slow_thread(void *arg)
{
	struct slow_call *sc = arg;

	h_req(sc->h, "GET", "/slow", NULL, NULL, 0, 0, &sc->res);
	return NULL;
}

Test(web_tls, graceful_stop_finishes_in_flight)
{
	static int entered;
	struct web_config cfg;
	struct slow_call *sc;
	struct timespec t0, ts = { 0, 1000 * 1000 };
	pthread_t t;

	memset(&cfg, 0, sizeof(cfg));
	cfg.handler_arg = &entered;
	h_start(&H, &cfg);
	cr_assert_not_null(sc = calloc(1, sizeof(*sc)));
	sc->h = &H;
	cr_assert_eq(pthread_create(&t, NULL, slow_thread, sc), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!__atomic_load_n(&entered, __ATOMIC_SEQ_CST) &&
	    h_ms_since(&t0) < 10000)
		nanosleep(&ts, NULL);
	cr_assert(__atomic_load_n(&entered, __ATOMIC_SEQ_CST));
	cr_assert_eq(web_stopping(H.srv), 0);
	web_stop(H.srv);	/* returns once the slow request is done */
	cr_assert_eq(web_stopping(H.srv), 1);
	pthread_join(t, NULL);
	cr_assert_eq(sc->res.status, 200);
	cr_assert_str_eq(sc->res.body, "{\"stopping\":true}");
	/* Answers during the drain close their connection. */
	{
		char v[32];

		cr_assert_not_null(h_header(&sc->res, "Connection", v,
		    sizeof(v)));
		cr_assert_str_eq(v, "close");
	}
	/* No longer accepting. */
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 0);
	web_stop(H.srv);	/* idempotent */
	free(sc);
}

Test(web_tls, ipv6_loopback_listen)
{
	struct web_config cfg;
	char want[64];

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "[::1]:0";
	cfg.public_origin = NULL;
	cfg.tls_cert_file = H.cert;
	cfg.tls_key_file = H.key;
	cfg.routes = h_routes;
	cfg.nroutes = h_nroutes;
	if (web_start(&cfg, &H.srv) != 0) {
		/* No IPv6 in this sandbox: nothing to check. */
		cr_skip_test("IPv6 loopback unavailable");
	}
	snprintf(want, sizeof(want), "https://[::1]:%u",
	    (unsigned)web_port(H.srv));
	cr_assert_str_eq(web_origin(H.srv), want);
}

Test(web_tls, bad_config_refused)
{
	struct web_config cfg;
	struct web_server *s = (struct web_server *)&cfg;
	static const char *const bad_listen[] = { "127.0.0.1", "127.0.0.1:",
		"127.0.0.1:65536", "127.0.0.1:-1", "localhost:80", "::1:80",
		"[::1]80", "[127.0.0.1]:0", "1.2.3.4:0x10", ":80" };
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.tls_cert_file = H.cert;
	cfg.tls_key_file = H.key;
	cfg.routes = h_routes;
	cfg.nroutes = h_nroutes;
	for (i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
		cfg.listen = bad_listen[i];
		cr_assert_eq(web_start(&cfg, &s), TSS_E_CONFIG, "%s",
		    bad_listen[i]);
		cr_assert_null(s);
	}
	cfg.listen = "127.0.0.1:0";
	cfg.tls_priorities = "NORMAL:+NONSENSE";
	cr_assert_eq(web_start(&cfg, &s), TSS_E_CONFIG);
	cfg.tls_priorities = NULL;
	cfg.tls_key_file = "/nonexistent/key.pem";
	cr_assert_eq(web_start(&cfg, &s), TSS_E_IO);
	cr_assert_null(s);
}

Test(web_tls, port_in_use_refused)
{
	struct web_config cfg;
	struct web_server *s2 = NULL;
	char listen[32];

	h_start(&H, NULL);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)H.port);
	cfg.listen = listen;
	cfg.tls_cert_file = H.cert;
	cfg.tls_key_file = H.key;
	cfg.routes = h_routes;
	cfg.nroutes = h_nroutes;
	cr_assert_eq(web_start(&cfg, &s2), TSS_E_IO);
	cr_assert_null(s2);
}
