/*
 * The HTTP edge (issue 14, section 4) against the real server over real
 * TLS on loopback: head and body deadlines counted in total time, not
 * idle time; per-network connection limits (IPv4 /24, IPv6 /64);
 * ambiguous framing refused at once and closed; too many query arguments
 * answered at once; a 413 the client reads instead of a reset; JSON
 * numbers out of range named as such.  Several loopback source addresses
 * (127.0.0.0/8) stand for several clients and networks.  Waits are
 * bounded polls; a 1 s deadline must fire inside a 10 s window.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "harness.h"

#define TRICKLE_MS	10000	/* a trickling client gives up after this */
#define IDLE_S		20	/* idle timeout: never what closes a test */

static struct h H;
static struct res R;

static int tcp_from(const char *src);

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

TestSuite(web_edge, .init = setup, .fini = teardown);

static void
start(unsigned head, unsigned body, unsigned per_ip, unsigned per_net)
{
	struct web_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.conn_timeout = IDLE_S;
	cfg.head_timeout = head;
	cfg.body_timeout = body;
	cfg.per_ip_limit = per_ip;
	cfg.per_net_limit = per_net;
	h_start(&H, &cfg);
}

/*
 * Send first, then one of the lines every 200 ms, until the server closes
 * or TRICKLE_MS pass.  1 when it closed the connection.
 */
static int
trickle(SSL *ssl, int fd, const char *first, const char *const *lines)
{
	struct timespec t0;
	size_t i = 0;
	int len;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	len = (int)strlen(first);
	if (SSL_write(ssl, first, len) != len)
		return 1;
	while (h_ms_since(&t0) < TRICKLE_MS) {
		if (h_wait_closed(fd, ssl, 200))
			return 1;
		len = (int)strlen(lines[i]);
		if (SSL_write(ssl, lines[i], len) != len)
			return 1;
		if (lines[++i] == NULL)
			i = 0;
	}
	return 0;
}

static long
metric_value(const char *series)
{
	const char *p;

	h_req(&H, "GET", "/metrics", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
	cr_assert_not_null(p = strstr(R.body, series), "no %s in:\n%s",
	    series, R.body);
	return strtol(p + strlen(series), NULL, 10);
}

Test(web_edge, head_trickled_line_by_line_closed_at_head_deadline)
{
	static const char *const lines[] = { "X-A: 1\r\n", "X-B: 2\r\n",
	    NULL };
	SSL *ssl;
	int fd;

	start(1, 30, 0, 0);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	/* Each line resets the 20 s idle timer; only a total deadline ends
	 * this. */
	cr_assert(trickle(ssl, fd, "GET /hello HTTP/1.1\r\nHost: x\r\n",
	    lines), "a head trickled for 10 s was never closed");
	h_tls_close(ssl, fd);
	cr_assert_eq(metric_value("tessera_http_connections_closed_total"
	    "{reason=\"head_deadline\"} "), 1);
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

Test(web_edge, body_trickled_byte_by_byte_closed_at_body_deadline)
{
	static const char *const lines[] = { " ", NULL };
	SSL *ssl;
	int fd;

	start(30, 1, 0, 0);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	cr_assert(trickle(ssl, fd, "POST /v1/echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
	    lines), "a body trickled for 10 s was never closed");
	h_tls_close(ssl, fd);
	cr_assert_eq(metric_value("tessera_http_connections_closed_total"
	    "{reason=\"body_deadline\"} "), 1);
	h_req(&H, "POST", "/v1/echo", (const char *const[]){
	    "Content-Type: application/json", NULL }, "{}", 2, 0, &R);
	cr_assert_eq(R.status, 200);
}

/* The head deadline runs from accept: a client that never even starts
 * the TLS handshake is closed by it, not by the 20 s idle timer. */
Test(web_edge, silent_connection_closed_at_head_deadline)
{
	int fd;

	start(1, 30, 0, 0);
	fd = tcp_from("127.0.0.1");
	cr_assert(h_wait_closed(fd, NULL, TRICKLE_MS),
	    "a silent connection was still open after 10 s");
	close(fd);
}

/* A request in time is not cut by the deadlines, on a kept-alive
 * connection either. */
Test(web_edge, requests_in_time_unaffected_by_deadlines)
{
	static const char get[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[4096];
	SSL *ssl;
	int fd, i;

	start(1, 1, 0, 0);
	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	for (i = 0; i < 20; i++)
		cr_assert_eq(h_tls_request(ssl, get, sizeof(get) - 1, out,
		    sizeof(out)), 200, "request %d", i);
	h_tls_close(ssl, fd);
}

/* A TCP connection from src (IPv4 or IPv6 literal) to the server. */
static int
tcp_from(const char *src)
{
	struct sockaddr_storage a, b;
	socklen_t len;
	int s, v6 = strchr(src, ':') != NULL;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (v6) {
		struct sockaddr_in6 *l = (struct sockaddr_in6 *)&a;
		struct sockaddr_in6 *r = (struct sockaddr_in6 *)&b;

		l->sin6_family = r->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, src, &l->sin6_addr), 1);
		r->sin6_addr = in6addr_loopback;
		r->sin6_port = htons(H.port);
		len = sizeof(struct sockaddr_in6);
	} else {
		struct sockaddr_in *l = (struct sockaddr_in *)&a;
		struct sockaddr_in *r = (struct sockaddr_in *)&b;

		l->sin_family = r->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, src, &l->sin_addr), 1);
		r->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r->sin_port = htons(H.port);
		len = sizeof(struct sockaddr_in);
	}
	cr_assert_neq(s = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, len), 0, "bind %s: %s",
	    src, strerror(errno));
	cr_assert_eq(connect(s, (struct sockaddr *)&b, len), 0,
	    "connect from %s: %s", src, strerror(errno));
	return s;
}

/* How many of fds[0..n) the server closes, polled for up to 10 s until
 * want have closed (then 300 ms more, to catch one too many). */
static int
count_closed(const int *fds, int n, int want)
{
	struct timespec t0;
	int closed[64] = { 0 }, nclosed = 0, i;
	long extra = -1;

	cr_assert(n <= 64);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (h_ms_since(&t0) < 10000) {
		for (i = 0; i < n; i++) {
			if (!closed[i] && h_wait_closed(fds[i], NULL, 10)) {
				closed[i] = 1;
				nclosed++;
			}
		}
		if (nclosed >= want && extra < 0)
			extra = h_ms_since(&t0) + 300;
		if (extra >= 0 && h_ms_since(&t0) >= extra)
			break;
	}
	return nclosed;
}

Test(web_edge, addresses_of_one_ipv4_24_share_the_network_limit)
{
	enum { ADDRS = 8, EACH = 3, PER_NET = 10 };
	struct timespec t0;
	int fds[ADDRS * EACH], i, j, n = 0, got, ok;
	char src[32];

	start(30, 30, EACH, PER_NET);
	/* 8 addresses of 127.0.3.0/24, each within its own limit (3). */
	for (i = 0; i < ADDRS; i++) {
		snprintf(src, sizeof(src), "127.0.3.%d", i + 1);
		for (j = 0; j < EACH; j++)
			fds[n++] = tcp_from(src);
	}
	got = count_closed(fds, n, n - PER_NET);
	cr_assert_eq(got, n - PER_NET, "refused %d of %d", got, n);
	cr_assert_eq(metric_value("tessera_http_connections_closed_total"
	    "{reason=\"network_limit\"} "), n - PER_NET);
	/* Another network is served meanwhile. */
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
	/* Closing gives the network its slots back (fresh addresses, each
	 * well within its own limit). */
	for (i = 0; i < n; i++)
		close(fds[i]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (i = 0, n = 0; i < PER_NET; i++) {
			snprintf(src, sizeof(src), "127.0.3.%d", 200 + i);
			fds[n++] = tcp_from(src);
		}
		ok = count_closed(fds, n, 0) == 0;
		for (i = 0; i < n; i++)
			close(fds[i]);
	} while (!ok && h_ms_since(&t0) < 10000);
	cr_assert(ok, "127.0.3.0/24 never got its slots back");
}

Test(web_edge, ipv6_connections_counted_per_64)
{
	enum { OPEN = 6, PER_NET = 2 };
	struct web_config cfg;
	int fds[OPEN], i, probe, got;

	/* Is there an IPv6 loopback to test on? */
	if ((probe = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		cr_skip_test("no IPv6");
	{
		struct sockaddr_in6 a;

		memset(&a, 0, sizeof(a));
		a.sin6_family = AF_INET6;
		a.sin6_addr = in6addr_loopback;
		if (bind(probe, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(probe);
			cr_skip_test("no ::1");
		}
	}
	close(probe);
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "[::1]:0";
	cfg.conn_timeout = IDLE_S;
	cfg.per_ip_limit = 64;		/* the address limit is not it */
	cfg.per_net_limit = PER_NET;
	h_start(&H, &cfg);
	for (i = 0; i < OPEN; i++)
		fds[i] = tcp_from("::1");
	got = count_closed(fds, OPEN, OPEN - PER_NET);
	cr_assert_eq(got, OPEN - PER_NET, "refused %d of %d", got, OPEN);
	for (i = 0; i < OPEN; i++)
		close(fds[i]);
}

/* Raw TLS: one request, the answer, and whether the server then closed. */
static long
raw(const char *req, size_t len, char *out, size_t outlen, int *closed)
{
	long st;
	SSL *ssl;
	int fd;

	cr_assert_not_null(ssl = h_tls_open(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, &fd));
	st = h_tls_request(ssl, req, len, out, outlen);
	*closed = h_wait_closed(fd, ssl, 5000);
	h_tls_close(ssl, fd);
	return st;
}

static void
assert_raw_error(const char *out, const char *code, const char *word)
{
	const char *b = strstr(out, "\r\n\r\n");
	const char *c = NULL, *m = NULL;
	json_t *j;

	cr_assert_not_null(b, "%s", out);
	cr_assert_not_null(j = json_loads(b + 4, 0, NULL), "%s", out);
	cr_assert_eq(json_unpack(j, "{s:{s:s,s:s}}", "error", "code", &c,
	    "message", &m), 0, "%s", out);
	cr_assert_str_eq(c, code);
	cr_assert_not_null(strstr(m, word), "message: %s", m);
	json_decref(j);
}

Test(web_edge, content_length_with_transfer_encoding_400_and_closed)
{
	static const char req[] = "POST /v1/echo HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 7\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n";
	char out[8192];
	int closed;

	start(0, 0, 0, 0);
	cr_assert_eq(raw(req, sizeof(req) - 1, out, sizeof(out), &closed),
	    400, "%s", out);
	assert_raw_error(out, "bad_request", "Transfer-Encoding");
	cr_assert(closed, "connection kept open");
}

Test(web_edge, unknown_transfer_encoding_501_at_once_and_closed)
{
	static const char *const te[] = { "gzip", "gzip, chunked",
	    "chunked, chunked", "identity" };
	char req[512], out[8192];
	size_t i;
	int n, closed;

	start(0, 0, 0, 0);
	for (i = 0; i < sizeof(te) / sizeof(te[0]); i++) {
		n = snprintf(req, sizeof(req), "POST /v1/echo HTTP/1.1\r\n"
		    "Host: x\r\nContent-Type: application/json\r\n"
		    "Transfer-Encoding: %s\r\n\r\n{}", te[i]);
		cr_assert_eq(raw(req, (size_t)n, out, sizeof(out), &closed),
		    501, "%s: %s", te[i], out);
		assert_raw_error(out, "not_implemented", "Transfer-Encoding");
		cr_assert(closed, "%s: kept open", te[i]);
	}
}

Test(web_edge, too_many_query_arguments_400_at_once)
{
	static const unsigned counts[] = { 300, 2000, WEB_QUERY_MAX + 1 };
	char *req, out[8192];
	size_t i, off;
	unsigned k;
	int closed;

	start(0, 0, 0, 0);
	cr_assert_not_null(req = malloc(16 * 2000 + 64));
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		off = (size_t)snprintf(req, 64, "GET /v1/info?");
		for (k = 0; k < counts[i]; k++)
			off += (size_t)snprintf(req + off, 16, "%sa=%u",
			    k ? "&" : "", k);
		off += (size_t)snprintf(req + off, 64,
		    " HTTP/1.1\r\nHost: x\r\n\r\n");
		cr_assert_eq(raw(req, off, out, sizeof(out), &closed), 400,
		    "%u arguments: %s", counts[i], out);
		assert_raw_error(out, "bad_request", "query arguments");
		cr_assert(closed);
	}
	free(req);
	/* WEB_QUERY_MAX of them are fine. */
	h_req(&H, "GET", "/v1/info?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10"
	    "&k=11&l=12&m=13&n=14&o=15&user=u", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200, "%s", R.body);
	cr_assert_not_null(strstr(R.body, "\"user\":\"u\""));
}

/* libcurl uploading 4 MiB: it must read the 413, not fail with a reset
 * (before: "Send failure: Connection reset by peer", status 0). */
Test(web_edge, body_over_64k_413_read_by_client_not_reset)
{
	static const char *const ct[] = { "Content-Type: application/json",
	    NULL };
	size_t n = 4 * 1024 * 1024;
	char *b;
	int i;

	start(0, 0, 0, 0);
	cr_assert_not_null(b = malloc(n));
	memset(b, ' ', n);
	b[0] = '{';
	b[n - 1] = '}';
	for (i = 0; i < 3; i++) {
		h_req(&H, "POST", "/v1/echo", ct, b, n, 0, &R);
		cr_assert_eq(R.status, 413, "attempt %d: status %ld", i,
		    R.status);
		cr_assert_not_null(strstr(R.body, "payload_too_large"));
	}
	free(b);
	h_req(&H, "GET", "/hello", NULL, NULL, 0, 0, &R);
	cr_assert_eq(R.status, 200);
}

Test(web_edge, json_integer_beyond_64_bits_400_out_of_range)
{
	static const char *const ct[] = { "Content-Type: application/json",
	    NULL };
	static const char *const bodies[] = {
		"{\"ttl\":18446744073709551616}",
		"{\"ttl\":-9223372036854775809}",
		"{\"a\":[1,2,{\"b\":123456789012345678901234567890}]}",
		"{\"r\":1e999}",
	};
	const char *c = NULL, *m = NULL;
	json_t *j;
	size_t i;

	start(0, 0, 0, 0);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		h_req(&H, "POST", "/v1/echo", ct, bodies[i],
		    strlen(bodies[i]), 0, &R);
		cr_assert_eq(R.status, 400, "%s: %ld", bodies[i], R.status);
		cr_assert_not_null(j = json_loads(R.body, 0, NULL));
		cr_assert_eq(json_unpack(j, "{s:{s:s,s:s}}", "error", "code",
		    &c, "message", &m), 0);
		cr_assert_str_eq(c, "bad_request", "%s", bodies[i]);
		cr_assert_not_null(strstr(m, "out of range"), "%s", m);
		json_decref(j);
	}
	/* The largest 64-bit values still parse. */
	h_req(&H, "POST", "/v1/echo", ct, "{\"ttl\":9223372036854775807}", 27,
	    0, &R);
	cr_assert_eq(R.status, 200, "%s", R.body);
}
