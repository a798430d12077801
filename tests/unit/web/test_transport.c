/*
 * The socket under GnuTLS (web/transport.c) against the real server over
 * real TLS on loopback: bytes read ahead of what GnuTLS asked for are
 * served in order (pipelined requests, several records in one segment, a
 * request in one-byte records), and a response head held for its body
 * always goes out: after HEAD (no body follows), behind a response too
 * big for the socket buffers, read by a client with a small window.
 * Every read is a bounded poll: a held or lost byte fails the test
 * instead of hanging it.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <criterion/criterion.h>

#include "harness.h"

#define WAIT_MS		20000	/* for the next bytes; never the verdict */
#define BIG		(8u << 20)

static struct h H;

static void
setup(void)
{
	struct web_config cfg;

	h_init(&H);
	memset(&cfg, 0, sizeof(cfg));
	h_start(&H, &cfg);
}

static void
teardown(void)
{
	h_fini(&H);
}

TestSuite(web_transport, .init = setup, .fini = teardown);

/* A response reader over one connection: what it read and not yet
 * handed out stays in b. */
struct rd {
	SSL *ssl;
	int fd;
	char *b;
	size_t len, cap;
};

static void
rd_open(struct rd *r, int rcvbuf)
{
	memset(r, 0, sizeof(*r));
	cr_assert_not_null(r->ssl = h_tls_open_rcvbuf(&H, TLS1_2_VERSION,
	    TLS1_3_VERSION, rcvbuf, &r->fd));
}

static void
rd_close(struct rd *r)
{
	h_tls_close(r->ssl, r->fd);
	free(r->b);
}

/* Read at most 4 KiB more (a slow reader), waiting at most WAIT_MS. */
static int
rd_more(struct rd *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	struct timespec t0;
	int n;

	if (r->cap - r->len < 4097) {
		r->cap = r->cap * 2 + 8192;
		cr_assert_not_null(r->b = realloc(r->b, r->cap));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (h_ms_since(&t0) < WAIT_MS) {
		if (SSL_pending(r->ssl) == 0 && poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = SSL_read(r->ssl, r->b + r->len, 4096)) <= 0)
			return 0;
		r->len += (size_t)n;
		r->b[r->len] = '\0';
		return 1;
	}
	return 0;
}

/*
 * The next response: its status, and its body (malloc'd) unless it
 * answers a HEAD.  0 when it did not come whole within the waits.
 */
static long
rd_response(struct rd *r, int head, char **body, size_t *blen)
{
	char *hend, *cl;
	size_t hlen, need;
	long status;

	*body = NULL;
	*blen = 0;
	while (r->b == NULL || (hend = strstr(r->b, "\r\n\r\n")) == NULL)
		if (!rd_more(r))
			return 0;
	hlen = (size_t)(hend + 4 - r->b);
	cl = strcasestr(r->b, "\r\nContent-Length:");
	cr_assert(cl != NULL && cl < hend, "no Content-Length in:\n%.*s",
	    (int)hlen, r->b);
	need = head ? 0 : strtoul(cl + 17, NULL, 10);
	while (r->len < hlen + need)
		if (!rd_more(r))
			return 0;
	status = strtol(r->b + 9, NULL, 10);
	cr_assert_not_null(*body = malloc(need + 1));
	memcpy(*body, r->b + hlen, need);
	(*body)[need] = '\0';
	*blen = need;
	r->len -= hlen + need;
	memmove(r->b, r->b + hlen + need, r->len + 1);
	return status;
}

static void
rd_send(struct rd *r, const char *req)
{
	cr_assert_eq(SSL_write(r->ssl, req, (int)strlen(req)),
	    (int)strlen(req));
}

static void
expect_user(struct rd *r, const char *user)
{
	char want[64], *body;
	size_t blen;

	snprintf(want, sizeof(want), "\"user\":\"%s\"", user);
	cr_assert_eq(rd_response(r, 0, &body, &blen), 200);
	cr_assert_not_null(strstr(body, want), "want %s in %s", want, body);
	free(body);
}

static const char *
info_req(const char *user, char *buf, size_t len)
{
	snprintf(buf, len, "GET /v1/info?user=%s HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n\r\n", user);
	return buf;
}

Test(web_transport, pipelined_requests_answered_in_order)
{
	struct rd r;
	char q[128];

	rd_open(&r, 0);
	/* Three records before any answer: one read takes them all. */
	rd_send(&r, info_req("a", q, sizeof(q)));
	rd_send(&r, info_req("b", q, sizeof(q)));
	rd_send(&r, info_req("c", q, sizeof(q)));
	expect_user(&r, "a");
	expect_user(&r, "b");
	expect_user(&r, "c");
	rd_close(&r);
}

Test(web_transport, request_in_one_byte_records)
{
	static const char req[] = "POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1"
	    "\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
	    "\r\n{\"k\": \"v12\"}";
	struct rd r;
	char *body;
	size_t i, blen;
	int one = 1;

	rd_open(&r, 0);
	cr_assert_eq(setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)), 0);
	for (i = 0; i < sizeof(req) - 1; i++)
		cr_assert_eq(SSL_write(r.ssl, req + i, 1), 1);
	cr_assert_eq(rd_response(&r, 0, &body, &blen), 200);
	cr_assert_not_null(strstr(body, "v12"), "%s", body);
	free(body);
	rd_close(&r);
}

Test(web_transport, head_answered_then_the_next_request)
{
	struct rd r;
	char q[128], *body;
	size_t blen;

	rd_open(&r, 0);
	/* A HEAD's head has no body after it: nothing may hold it back. */
	rd_send(&r, "HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	cr_assert_neq(rd_response(&r, 1, &body, &blen), 0);
	free(body);
	rd_send(&r, info_req("after-head", q, sizeof(q)));
	expect_user(&r, "after-head");
	rd_close(&r);
}

Test(web_transport, answer_behind_a_full_socket_goes_out_whole)
{
	struct rd r;
	char q[128], *body;
	size_t i, blen;

	/* A 4 KiB window and 8 MiB to send: the server's writes find the
	 * socket full, and the small answer after it is written while the
	 * big one still fills the buffers. */
	rd_open(&r, 4096);
	snprintf(q, sizeof(q), "GET /big?n=%u HTTP/1.1\r\nHost: 127.0.0.1"
	    "\r\n\r\n", BIG);
	rd_send(&r, q);
	rd_send(&r, info_req("behind", q, sizeof(q)));
	cr_assert_eq(rd_response(&r, 0, &body, &blen), 200);
	cr_assert_eq(blen, BIG);
	for (i = 0; i < blen; i++)
		if (body[i] != (char)('a' + i % 26))
			cr_assert_fail("byte %zu is %d", i, body[i]);
	free(body);
	expect_user(&r, "behind");
	rd_close(&r);
}
