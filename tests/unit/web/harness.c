/*
 * Web test harness; see harness.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "harness.h"
#include "tmpdir.h"

/* ---------------------------------------------------------------- */
/* Toy handlers */

static struct web_resp *
hello(const struct web_req *req, void *arg)
{
	return web_json(200, json_pack("{s:s}", "hello", "world"));
}

static const char *
auth_name(enum web_auth a)
{
	return a == WEB_AUTH_BEARER ? "bearer" :
	    a == WEB_AUTH_COOKIE ? "cookie" : "none";
}

static struct web_resp *
info(const struct web_req *req, void *arg)
{
	enum web_auth a;
	const char *tok = web_req_token(req, &a);
	const char *u = web_req_query(req, "user");

	return web_json(200, json_pack("{s:s,s:s,s:s?,s:s,s:s?,s:s,s:s}",
	    "remote", web_req_remote(req), "id", web_req_id(req),
	    "token", tok, "auth", auth_name(a), "user", u,
	    "method", web_req_method(req), "path", web_req_path(req)));
}

static struct web_resp *
echo(const struct web_req *req, void *arg)
{
	return web_json(200, json_pack("{s:O}", "got", web_req_json(req)));
}

static struct web_resp *
write_op(const struct web_req *req, void *arg)
{
	enum web_auth a;
	int r;

	if ((r = web_check_csrf(req, web_csrf_equal, (void *)"csrf-good")) != 0)
		return web_error_msg(r, NULL);
	web_req_token(req, &a);
	return web_json(201, json_pack("{s:s}", "auth", auth_name(a)));
}

static struct web_resp *
target_get(const struct web_req *req, void *arg)
{
	return web_json(200, json_pack("{s:s}", "name", web_req_param(req)));
}

static struct web_resp *
target_put(const struct web_req *req, void *arg)
{
	return web_empty(204);
}

static struct web_resp *
target_sshd(const struct web_req *req, void *arg)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "sshd for %s\n", web_req_param(req));

	return web_text(200, "text/plain; charset=utf-8", buf, (size_t)n);
}

static struct web_resp *
login(const struct web_req *req, void *arg)
{
	struct web_resp *resp;

	if ((resp = web_json(200, json_pack("{s:s}", "token", "tok123"))) ==
	    NULL)
		return NULL;
	if (web_resp_set_cookie(resp, "tok123", 3600) != 0 ||
	    web_resp_header(resp, "X-Bad", "a\r\nInjected: yes") == 0) {
		web_resp_free(resp);
		return NULL;
	}
	return resp;
}

static struct web_resp *
logout(const struct web_req *req, void *arg)
{
	struct web_resp *resp = web_empty(204);

	if (resp != NULL && web_resp_clear_cookie(resp) != 0) {
		web_resp_free(resp);
		return NULL;
	}
	return resp;
}

static struct web_resp *
throttled(const struct web_req *req, void *arg)
{
	struct web_resp *resp = web_error_msg(TSS_E_TOO_MANY_ATTEMPTS, NULL);

	if (resp != NULL && web_resp_retry_after(resp, 30) != 0) {
		web_resp_free(resp);
		return NULL;
	}
	return resp;
}

static struct web_resp *
page(const struct web_req *req, void *arg)
{
	static const char html[] = "<!doctype html><title>t</title>";

	return web_text(200, "text/html; charset=utf-8", html,
	    sizeof(html) - 1);
}

static struct web_resp *
boom(const struct web_req *req, void *arg)
{
	return web_error_msg(TSS_E_INTERNAL, NULL);	/* detail must not leak */
}

static struct web_resp *
store_down(const struct web_req *req, void *arg)
{
	return web_error_msg(TSS_E_STORE, NULL);
}

static struct web_resp *
slow(const struct web_req *req, void *arg)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int *entered = arg;
	int i;

	__atomic_store_n(entered, 1, __ATOMIC_SEQ_CST);
	/* Bounded: 10 s at most, until the server begins to stop. */
	for (i = 0; i < 5000 && !web_stopping(web_req_server(req)); i++)
		nanosleep(&ts, NULL);
	return web_json(200, json_pack("{s:b}", "stopping",
	    web_stopping(web_req_server(req))));
}

/* GET /big?n=N: N bytes (at most 16 MiB), 'a' + i % 26 at offset i. */
static struct web_resp *
big(const struct web_req *req, void *arg)
{
	const char *q = web_req_query(req, "n");
	size_t n = q != NULL ? strtoul(q, NULL, 10) : 0, i;
	struct web_resp *resp;
	char *b;

	if (n > H_BIG_MAX || (b = malloc(n + 1)) == NULL)
		return web_error(400, "bad_request", "n: at most 16 MiB");
	for (i = 0; i < n; i++)
		b[i] = (char)('a' + i % 26);
	resp = web_text(200, "application/octet-stream", b, n);
	free(b);
	return resp;
}

const struct web_route h_routes[] = {
	{ "GET", "/hello", hello, 0 },
	{ "GET", "/v1/info", info, 0 },
	{ "POST", "/v1/info", info, 0 },
	{ "POST", "/v1/echo", echo, WEB_R_JSON },
	{ "POST", "/v1/write", write_op, WEB_R_WRITE },
	{ "GET", "/v1/targets/*", target_get, 0 },
	{ "PUT", "/v1/targets/*", target_put, WEB_R_JSON | WEB_R_WRITE },
	{ "GET", "/v1/targets/*/sshd", target_sshd, 0 },
	{ "POST", "/v1/login", login, 0 },
	{ "POST", "/v1/logout", logout, WEB_R_WRITE },
	{ "GET", "/v1/throttled", throttled, 0 },
	{ "GET", "/v1/boom", boom, 0 },
	{ "GET", "/v1/store-down", store_down, 0 },
	{ "GET", "/page", page, WEB_R_HTML },
	{ "GET", "/metrics", web_handle_metrics, 0 },
	{ "GET", "/slow", slow, 0 },
	{ "GET", "/big", big, 0 },
};
const size_t h_nroutes = sizeof(h_routes) / sizeof(h_routes[0]);

/* ---------------------------------------------------------------- */
/* Certificates */

static void
write_pair(const char *cert, const char *key)
{
	char tmpc[400], tmpk[400];
	EVP_PKEY *pk;
	X509 *x;
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	FILE *f;
	unsigned char serial[8];

	cr_assert_not_null(pk = EVP_EC_gen("P-256"));
	cr_assert_not_null(x = X509_new());
	X509_set_version(x, 2);
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
	    ((uint64_t)serial[0] << 56 | (uint64_t)serial[1] << 48 |
	    (uint64_t)serial[2] << 40 | (uint64_t)serial[3] << 32 |
	    (uint64_t)serial[4] << 24 | (uint64_t)serial[5] << 16 |
	    (uint64_t)serial[6] << 8 | serial[7]) | 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	cr_assert_not_null(ext = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"));
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	cr_assert(X509_sign(x, pk, EVP_sha256()) > 0);

	snprintf(tmpc, sizeof(tmpc), "%s.tmp", cert);
	snprintf(tmpk, sizeof(tmpk), "%s.tmp", key);
	cr_assert_not_null(f = fopen(tmpk, "w"));
	cr_assert(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	cr_assert_not_null(f = fopen(tmpc, "w"));
	cr_assert(PEM_write_X509(f, x));
	fclose(f);
	cr_assert_eq(rename(tmpk, key), 0);
	cr_assert_eq(rename(tmpc, cert), 0);
	X509_free(x);
	EVP_PKEY_free(pk);
}

void
h_new_cert(struct h *h)
{
	write_pair(h->cert, h->key);
}

void
h_init(struct h *h)
{
	memset(h, 0, sizeof(*h));
	cr_assert_eq(tmpdir_make(h->dir, sizeof(h->dir)), 0);
	snprintf(h->cert, sizeof(h->cert), "%s/cert.pem", h->dir);
	snprintf(h->key, sizeof(h->key), "%s/key.pem", h->dir);
	write_pair(h->cert, h->key);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
h_start(struct h *h, struct web_config *cfg)
{
	struct web_config c;

	if (cfg != NULL)
		c = *cfg;
	else
		memset(&c, 0, sizeof(c));
	if (c.listen == NULL)
		c.listen = "127.0.0.1:0";
	c.tls_cert_file = h->cert;
	c.tls_key_file = h->key;
	if (c.conn_timeout == 0)
		c.conn_timeout = 10;
	if (c.routes == NULL) {
		c.routes = h_routes;
		c.nroutes = h_nroutes;
	}
	cr_assert_eq(web_start(&c, &h->srv), 0);
	h->port = web_port(h->srv);
	cr_assert_neq(h->port, 0);
}

void
h_fini(struct h *h)
{
	web_free(h->srv);
	h->srv = NULL;
	if (h->dir[0])
		tmpdir_remove(h->dir);
	curl_global_cleanup();
}

/* ---------------------------------------------------------------- */
/* libcurl client */

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct res *res = arg;
	size_t len = sz * n;

	if (len > sizeof(res->body) - 1 - res->blen)
		len = sizeof(res->body) - 1 - res->blen;
	memcpy(res->body + res->blen, p, len);
	res->blen += len;
	res->body[res->blen] = '\0';
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct res *res = arg;
	size_t len = sz * n;

	/* A new status line (after 100 Continue) starts a new header set. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		res->hlen = 0;
	if (len > sizeof(res->hdrs) - 1 - res->hlen)
		len = sizeof(res->hdrs) - 1 - res->hlen;
	memcpy(res->hdrs + res->hlen, p, len);
	res->hlen += len;
	res->hdrs[res->hlen] = '\0';
	return sz * n;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
on_read(char *dst, size_t sz, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t len = sz * n;

	if (len > u->left)
		len = u->left;
	if (len > 4096)
		len = 4096;
	memcpy(dst, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

void
h_req(struct h *h, const char *method, const char *path,
    const char *const *hdrs, const char *body, size_t blen, int chunked,
    struct res *res)
{
	struct curl_slist *list = NULL, *resolve = NULL;
	struct upload up = { body, blen };
	char url[2400], pin[300];
	CURL *c;
	CURLcode cc;

	memset(res, 0, sizeof(*res));
	snprintf(url, sizeof(url), "https://%s:%u%s",
	    h->sni != NULL ? h->sni : "127.0.0.1", (unsigned)h->port, path);
	cr_assert_not_null(c = curl_easy_init());
	if (h->sni != NULL) {
		snprintf(pin, sizeof(pin), "%s:%u:127.0.0.1", h->sni,
		    (unsigned)h->port);
		cr_assert_not_null(resolve = curl_slist_append(NULL, pin));
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
	for (; hdrs != NULL && *hdrs != NULL; hdrs++)
		list = curl_slist_append(list, *hdrs);
	if (body != NULL && chunked) {
		list = curl_slist_append(list, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)blen);
	}
	/* UPLOAD/POSTFIELDS may reset the method: set it again. */
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	else if (res->hlen > 0)
		/* The server answered and closed while we were sending. */
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
	curl_slist_free_all(resolve);
}

const char *
h_header(const struct res *res, const char *name, char *buf, size_t len)
{
	const char *p = res->hdrs, *eol;
	size_t nl = strlen(name), vl;

	while (*p != '\0') {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			eol = p + strlen(p);
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			vl = (size_t)(eol - p);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, p, vl);
			buf[vl] = '\0';
			return buf;
		}
		p = *eol ? eol + 2 : eol;
	}
	return NULL;
}

int
h_security_headers_ok(const struct res *res, int api)
{
	static const char *const want[][2] = {
		{ "Strict-Transport-Security",
		  "max-age=63072000; includeSubDomains" },
		{ "X-Content-Type-Options", "nosniff" },
		{ "Referrer-Policy", "no-referrer" },
		{ "X-Frame-Options", "DENY" },
	};
	char v[512];
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (h_header(res, want[i][0], v, sizeof(v)) == NULL ||
		    strcmp(v, want[i][1]) != 0) {
			cr_log_error("header %s: %s", want[i][0],
			    h_header(res, want[i][0], v, sizeof(v)) ? v : "-");
			return 0;
		}
	}
	if (h_header(res, "Content-Security-Policy", v, sizeof(v)) == NULL)
		return 0;
	if (api && strncmp(v, "default-src 'none'", 18) != 0)
		return 0;
	if (!api && strstr(v, "frame-ancestors 'none'") == NULL)
		return 0;
	if (api && (h_header(res, "Cache-Control", v, sizeof(v)) == NULL ||
	    strcmp(v, "no-store") != 0))
		return 0;
	if (h_header(res, "X-Request-Id", v, sizeof(v)) == NULL ||
	    strlen(v) != 16)
		return 0;
	return 1;
}

/* ---------------------------------------------------------------- */
/* Raw OpenSSL client */

SSL *
h_tls_open(struct h *h, int minv, int maxv, int *fd)
{
	return h_tls_open_rcvbuf(h, minv, maxv, 0, fd);
}

SSL *
h_tls_open_rcvbuf(struct h *h, int minv, int maxv, int rcvbuf, int *fd)
{
	struct sockaddr_in sin;
	SSL_CTX *ctx;
	SSL *ssl;
	char name[256];
	int s;

	*fd = -1;
	cr_assert_neq(s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	if (rcvbuf > 0)
		cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(h->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(s);
		return NULL;
	}
	cr_assert_not_null(ctx = SSL_CTX_new(TLS_client_method()));
	/* Let the client offer old versions so the server must refuse. */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_max_proto_version(ctx, maxv);
	cr_assert_not_null(ssl = SSL_new(ctx));
	SSL_CTX_free(ctx);	/* the SSL keeps a reference */
	SSL_set_fd(ssl, s);
	/* The macro's argument is not const. */
	snprintf(name, sizeof(name), "%s", h->sni != NULL ? h->sni :
	    "localhost");
	cr_assert_eq(SSL_set_tlsext_host_name(ssl, name), 1);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(s);
		return NULL;
	}
	*fd = s;
	return ssl;
}

void
h_tls_close(SSL *ssl, int fd)
{
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
}

long
h_tls_request(SSL *ssl, const char *req, size_t len, char *out,
    size_t outlen)
{
	size_t got = 0, need = 0;
	char *hend, *cl;
	long status = 0;
	int n;

	out[0] = '\0';
	if (len > 0 && SSL_write(ssl, req, (int)len) != (int)len)
		return 0;
	for (;;) {
		if (got + 1 >= outlen)
			break;
		n = SSL_read(ssl, out + got, (int)(outlen - 1 - got));
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = '\0';
		if ((hend = strstr(out, "\r\n\r\n")) == NULL)
			continue;
		if (need == 0) {
			cl = strcasestr(out, "\r\nContent-Length:");
			need = (size_t)(hend + 4 - out);
			if (cl != NULL && cl < hend)
				need += strtoul(cl + 17, NULL, 10);
		}
		if (got >= need)
			break;
	}
	if (got >= 12 && strncmp(out, "HTTP/1.", 7) == 0)
		status = strtol(out + 9, NULL, 10);
	return status;
}

static void
fp_of(X509 *x, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	cr_assert(X509_digest(x, EVP_sha256(), md, &mdlen));
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
h_peer_fp(SSL *ssl, char out[65])
{
	X509 *x = SSL_get1_peer_certificate(ssl);

	cr_assert_not_null(x);
	fp_of(x, out);
	X509_free(x);
}

void
h_file_fp(const char *path, char out[65])
{
	FILE *f = fopen(path, "r");
	X509 *x;

	cr_assert_not_null(f);
	cr_assert_not_null(x = PEM_read_X509(f, NULL, NULL, NULL));
	fclose(f);
	fp_of(x, out);
	X509_free(x);
}

long
h_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int
h_wait_closed(int fd, SSL *ssl, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct timespec t0, t;
	struct timeval tv;
	char buf[256];
	long spent;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		spent = (t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= ms)
			return 0;
		p.revents = 0;
		if (poll(&p, 1, (int)(ms - spent)) <= 0)
			continue;
		if (ssl == NULL) {
			n = (int)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN &&
			    errno != EINTR))
				return 1;
			continue;
		}
		/* Bound the blocking SSL_read (session tickets etc.). */
		tv.tv_sec = 0;
		tv.tv_usec = 100 * 1000;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n > 0 || SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ)
			continue;
		return 1;
	}
}
