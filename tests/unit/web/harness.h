/*
 * Test harness for the web suite: a self-signed certificate made with the
 * OpenSSL API in a temp dir, a server on 127.0.0.1 port 0 with a toy route
 * table, a libcurl client, and a raw OpenSSL client for what curl will not
 * send (malformed requests, pinned TLS versions, partial requests).
 */
#ifndef TSS_TEST_WEB_HARNESS_H
#define TSS_TEST_WEB_HARNESS_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "web/server.h"

struct h {
	char dir[256];
	char cert[300];
	char key[300];
	struct web_server *srv;
	uint16_t port;
	/* The server name clients send (SNI, and curl's host through
	 * CURLOPT_RESOLVE to 127.0.0.1); NULL: "localhost" in SNI and curl
	 * to https://127.0.0.1. */
	const char *sni;
};

struct res {
	long status;			/* 0: transport failure */
	char body[128 * 1024];
	size_t blen;
	char hdrs[16 * 1024];
	size_t hlen;
};

#define H_BIG_MAX	(16u << 20)	/* GET /big?n=N answers N bytes */

extern const struct web_route h_routes[];
extern const size_t h_nroutes;

/* Make dir, key pair (P-256) and self-signed cert for 127.0.0.1. */
void h_init(struct h *h);
/* Start the server; cfg fields left zero get test defaults. */
void h_start(struct h *h, struct web_config *cfg);
void h_fini(struct h *h);
/* Write a fresh key pair over h->cert/h->key (atomic rename). */
void h_new_cert(struct h *h);

/*
 * One request with libcurl.  hdrs: NULL-terminated extra header lines.
 * body NULL: no body; chunked: send body with Transfer-Encoding: chunked.
 */
void h_req(struct h *h, const char *method, const char *path,
    const char *const *hdrs, const char *body, size_t blen, int chunked,
    struct res *res);
/* Header value (case-insensitive name) from res, or NULL. */
const char *h_header(const struct res *res, const char *name, char *buf,
    size_t len);
/* Every security header present with its expected value. */
int h_security_headers_ok(const struct res *res, int api);

/* Raw TLS: connect and handshake with the version range; NULL on failure.
 * rcvbuf > 0: the client socket's SO_RCVBUF, set before it connects. */
SSL *h_tls_open(struct h *h, int minv, int maxv, int *fd);
SSL *h_tls_open_rcvbuf(struct h *h, int minv, int maxv, int rcvbuf,
    int *fd);
void h_tls_close(SSL *ssl, int fd);
/* Send raw bytes and read one response; returns the status, 0 on failure. */
long h_tls_request(SSL *ssl, const char *req, size_t len, char *out,
    size_t outlen);
/* SHA-256 of the peer's leaf certificate / of the cert file, hex. */
void h_peer_fp(SSL *ssl, char out[65]);
void h_file_fp(const char *path, char out[65]);
/* Milliseconds since t0 (CLOCK_MONOTONIC), for bounded polls. */
long h_ms_since(const struct timespec *t0);
/* Poll (bounded by ms) until the peer closes; 1 closed, 0 still open. */
int h_wait_closed(int fd, SSL *ssl, int ms);

#endif
