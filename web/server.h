/*
 * The HTTPS server of tesserad on libmicrohttpd (GnuTLS backend): daemon
 * set-up and limits, TLS certificate reload, request decoding, response
 * encoding, security headers, CSRF/Origin checks, request metrics, and a
 * graceful stop.  No business logic: handlers come from the route table.
 *
 * What the server does before a handler runs, in order:
 *   - a Content-Length over WEB_BODY_MAX, or a (chunked) body growing past
 *     it: 413 payload_too_large, the connection is closed (a chunked body
 *     more than 1 MiB past the cap gets the connection closed without
 *     a response: libmicrohttpd cannot answer before the body ends);
 *   - both Content-Length and Transfer-Encoding: 400 bad_request; a
 *     Transfer-Encoding other than "chunked": 501 not_implemented; more
 *     than WEB_QUERY_MAX query arguments: 400 bad_request.  These, and the
 *     413 above, close the connection after a bounded drain of what the
 *     client still sends (so it reads the answer instead of a reset);
 *   - the raw path is decoded strictly (router.h): 400 bad_request;
 *   - routing: 404 not_found, 405 method_not_allowed with Allow;
 *   - query arguments decoded, at most WEB_QUERY_MAX, no duplicates: 400;
 *   - a non-empty body must be Content-Type application/json (parameters
 *     allowed; a charset other than utf-8 is not): 415
 *     unsupported_media_type; it must parse (jansson, duplicate keys
 *     refused, trailing data refused, nesting deeper than WEB_JSON_DEPTH
 *     refused before jansson sees it) into an object: 400 invalid_json;
 *     a number out of range (an integer beyond 64 bits, a real beyond
 *     double) is 400 bad_request saying so;
 *     WEB_R_JSON routes need a body: 400 invalid_json without one;
 *   - the auth token is taken from "Authorization: Bearer" or, when that
 *     header is absent, from the __Host-tessera cookie.
 * Every response (ours, not libmicrohttpd's own protocol errors) carries
 * HSTS, X-Content-Type-Options, Referrer-Policy, X-Frame-Options, a CSP,
 * X-Request-Id and, unless the route is WEB_R_CACHEABLE, Cache-Control:
 * no-store.  Every response is counted in
 * tessera_http_requests_total{route,status} and its latency observed in
 * tessera_http_request_duration_seconds.
 *
 * Threads: one I/O thread per CPU runs libmicrohttpd's epoll loop (TLS,
 * parsing, sending) and the WEB_R_INLINE handlers, which must never wait.
 * Every other handler runs on one of WEB_WORKERS worker threads while its
 * connection is suspended, so it may wait (Argon2 slots, a commit) without
 * stalling other clients.  A handler may also defer its answer
 * (web_defer) and hold no thread while it waits.  The acceptor thread
 * accepts, applies the per-network limit, closes connections past their
 * head/body deadline and drains refused ones before closing them.  The TLS certificate
 * swap takes a mutex at connection start/close and during handshakes only.
 *
 * Process-wide effect: web_start() installs jansson allocation functions
 * that wipe memory on free (JSON bodies carry passwords).
 */
#ifndef TSS_WEB_SERVER_H
#define TSS_WEB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "web/metrics.h"
#include "web/router.h"

struct web_server;
struct web_req;
struct web_resp;

#define WEB_BODY_MAX		(64u * 1024)	/* request body, bytes */
#define WEB_JSON_DEPTH		32		/* nesting of [ and { */
#define WEB_QUERY_MAX		16		/* query arguments */
#define WEB_QUERY_VALUE_MAX	1024		/* decoded key or value, bytes */
#define WEB_TOKEN_MAX		512		/* bearer/cookie token, bytes */
#define WEB_COOKIE_NAME		"__Host-tessera"
#define WEB_TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

struct web_config {
	const char *listen;		/* "127.0.0.1:8443", "[::1]:0" (numeric) */
	const char *tls_cert_file;	/* PEM chain, leaf first */
	const char *tls_key_file;	/* PEM private key */
	/*
	 * The only Origin accepted by web_check_origin(), e.g.
	 * "https://tessera.example:8443".  NULL: "https://<listen host>:<port>"
	 * with the bound port.
	 */
	const char *public_origin;
	const char *tls_priorities;	/* NULL: WEB_TLS_PRIORITIES */
	unsigned conn_timeout;		/* seconds of inactivity; 0: 30 */
	/*
	 * Total time, not idle time: a request head (TLS handshake included,
	 * or since the previous answer on a kept-alive connection) must be
	 * complete within head_timeout, its body within body_timeout of the
	 * head; past it the connection is closed.  Seconds; 0: 10 and 30.
	 */
	unsigned head_timeout;
	unsigned body_timeout;
	unsigned max_connections;	/* 0: 1024 */
	unsigned per_ip_limit;		/* 0: 64 */
	/* Connections from one IPv4 /24 or IPv6 /64 together; 0: 256.  The
	 * excess is closed at accept. */
	unsigned per_net_limit;
	size_t conn_memory;		/* per-connection pool; 0: 16 KiB */
	const struct web_route *routes;	/* must outlive the server */
	size_t nroutes;
	void *handler_arg;		/* second argument of every handler */
	/*
	 * Registry for request metrics; NULL: the server makes its own.  The
	 * server registers its two metrics in it, so one registry serves one
	 * server; it must outlive the server.
	 */
	struct web_metrics *metrics;
};

/*
 * Load the TLS files, bind and start serving.  TSS_E_IO/TSS_E_BAD_FORMAT/
 * TSS_E_CRYPTO for unusable TLS files, TSS_E_CONFIG for a bad listen
 * string or option, TSS_E_IO when the daemon does not start (port in use).
 */
int web_start(const struct web_config *cfg, struct web_server **out);
/* The bound port (the chosen one when listen asked for port 0). */
uint16_t web_port(const struct web_server *s);
/* The origin web_check_origin() compares with. */
const char *web_origin(const struct web_server *s);
struct web_metrics *web_server_metrics(struct web_server *s);

/*
 * Re-read the certificate and key files.  New handshakes get the new pair;
 * existing connections keep theirs.  On any error the old pair stays and
 * the error is returned.  Thread-safe.
 */
int web_reload_tls(struct web_server *s);
/*
 * Cheap poll for the daemon: 1 when either TLS file's inode, size or mtime
 * differs from what the last successful load saw, 0 when not,
 * TSS_E_IO when a file cannot be stat()ed.
 */
int web_tls_changed(struct web_server *s);

/*
 * Stop accepting, let in-flight requests finish (at most 5 s), then stop.
 * Answers sent meanwhile close their connection.  Past 5 s a handler
 * still running is waited for (threads cannot be cancelled), a request
 * still owed a deferred answer gets 503, and the remaining connections
 * are closed.  Idempotent.  web_stopping() turns true as soon as
 * web_stop() begins, so a long handler can cut its work short.
 */
void web_stop(struct web_server *s);
int web_stopping(const struct web_server *s);
void web_free(struct web_server *s);		/* stops first; NULL harmless */

/*
 * Answering later.  A handler that hands its work to another thread calls
 * web_defer(req) and returns NULL; the connection stays open, holding no
 * thread, until web_finish(later, resp) sends resp (NULL: 500).
 * web_finish() must be called exactly once, from any thread, possibly
 * before the handler has returned; req itself is not valid after the
 * handler returns, so copy what the later work needs.  Only the handler
 * may defer, during its call and with its own req: called anywhere else,
 * web_defer() logs and returns NULL, and web_finish(NULL, resp) just frees
 * resp (the handler's return value is then the answer).
 */
struct web_later;
struct web_later *web_defer(const struct web_req *req);
void web_finish(struct web_later *later, struct web_resp *resp);

/* Request accessors: valid during the handler call only. */
enum web_auth { WEB_AUTH_NONE = 0, WEB_AUTH_BEARER, WEB_AUTH_COOKIE };

const char *web_req_method(const struct web_req *req);
const char *web_req_path(const struct web_req *req);	/* decoded */
/* The route's '*' capture (decoded), or NULL when the pattern has none. */
const char *web_req_param(const struct web_req *req);
const struct web_route *web_req_route(const struct web_req *req);
/* Decoded query value; "" for "?key" without '='; NULL when absent. */
const char *web_req_query(const struct web_req *req, const char *key);
/* Request header (case-insensitive name), first occurrence, or NULL. */
const char *web_req_header(const struct web_req *req, const char *name);
const char *web_req_remote(const struct web_req *req);	/* "127.0.0.1" */
const char *web_req_id(const struct web_req *req);	/* 16 hex digits */
json_t *web_req_json(const struct web_req *req);	/* borrowed; or NULL */
/* The session/bearer token or NULL; *kind says where it came from. */
const char *web_req_token(const struct web_req *req, enum web_auth *kind);
struct web_server *web_req_server(const struct web_req *req);
/* 1 when t (len bytes) is a token web_req_token() would return: 1 to
 * WEB_TOKEN_MAX bytes of A-Z a-z 0-9 - . _ ~ + / =. */
int web_token_ok(const char *t, size_t len);

/*
 * Cross-site checks, TSS_E_FORBIDDEN when refused:
 * web_check_origin(): "Sec-Fetch-Site: cross-site", or an Origin header
 * that is present and differs from web_origin().  Any caller may use it
 * (login forms too).
 * web_check_csrf(): for cookie-authenticated requests, web_check_origin()
 * plus an X-CSRF-Token header that verify() accepts (verify returns 0);
 * bearer and unauthenticated requests pass untouched.
 * web_csrf_equal() is a ready verify(): arg is the expected token string,
 * compared in constant time.
 */
int web_check_origin(const struct web_req *req);
typedef int (*web_csrf_verify)(const char *token, size_t len, void *arg);
int web_check_csrf(const struct web_req *req, web_csrf_verify verify,
    void *arg);
int web_csrf_equal(const char *token, size_t len, void *arg);

/*
 * Responses.  Each constructor returns NULL only when out of memory (the
 * server then answers 500).  The server frees the response after sending.
 * web_json() takes ownership of j (NULL j gives NULL).
 */
struct web_resp *web_json(unsigned status, json_t *j);
/* {"error":{"code":code,"message":message}} */
struct web_resp *web_error(unsigned status, const char *code,
    const char *message);
/*
 * A TSS_E_* code as an API error, from the one table in server.c: status
 * (404, 409, 403, 401, 429, 413, 400, 503) and snake_case code, with msg
 * as the message (NULL or "": the code's own).  Anything unexpected is 500
 * "internal" with no detail, whatever msg says.
 */
struct web_resp *web_error_msg(int r, const char *msg);
struct web_resp *web_text(unsigned status, const char *content_type,
    const void *body, size_t len);	/* body copied */
struct web_resp *web_empty(unsigned status);	/* 204 and friends */
void web_resp_free(struct web_resp *resp);
unsigned web_resp_status(const struct web_resp *resp);

/* Extra header; refuses CR/LF/NUL and more than 16 extras. */
int web_resp_header(struct web_resp *resp, const char *name,
    const char *value);
/* Set-Cookie: __Host-tessera=token; Secure; HttpOnly; SameSite=Strict;
 * Path=/; Max-Age=max_age.  The token must be a cookie-safe string. */
int web_resp_set_cookie(struct web_resp *resp, const char *token,
    unsigned long max_age);
int web_resp_clear_cookie(struct web_resp *resp);
int web_resp_retry_after(struct web_resp *resp, unsigned long seconds);

/* A ready handler for GET /metrics: the server's registry as text. */
struct web_resp *web_handle_metrics(const struct web_req *req, void *arg);

#endif
