/*
 * client: libcurl requests to the Tessera API (see client.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "client.h"

#define CONNECT_TIMEOUT_S	10L
#define REQUEST_TIMEOUT_S	60L

struct client {
	CURL *curl;
	char *server;		/* without trailing '/' */
	char *ca_file;
	char *auth_header;	/* "Authorization: Bearer ..." (secret) */
	char *pin;		/* "sha256//<base64>" of a key, or NULL */
	char *pin_file;		/* the certificate it came from */
	long timeout;		/* seconds for a whole request */
	char errbuf[CURL_ERROR_SIZE];
	char msg[512];
};

static int curl_ready;

static void
slist_free_wiped(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

int
client_new(const char *server, const char *ca_file, struct client **out,
    char *errbuf, size_t errlen)
{
	struct client *c = NULL;
	size_t n;
	FILE *f = NULL;
	int r = TSS_E_INTERNAL;

	*out = NULL;
	if (errlen > 0)
		errbuf[0] = '\0';
	if (server == NULL || strncmp(server, "https://", 8) != 0 ||
	    server[8] == '\0' || server[8] == '/') {
		snprintf(errbuf, errlen, "server URL must start with https:// "
		    "and name a host: %s", server == NULL ? "(none)" : server);
		r = TSS_E_INVALID_ARGUMENT;
		goto out;
	}
	if (ca_file != NULL) {
		/* curl's own message for a missing file is vague. */
		if ((f = fopen(ca_file, "r")) == NULL) {
			snprintf(errbuf, errlen, "cannot read CA file %s: %s",
			    ca_file, strerror(errno));
			r = TSS_E_IO;
			goto out;
		}
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(errbuf, errlen, "cannot initialise libcurl");
			goto out;
		}
		curl_ready = 1;
	}
	if ((c = mem_calloc(1, sizeof(*c))) == NULL ||
	    (c->server = mem_strdup(server)) == NULL ||
	    (ca_file != NULL && (c->ca_file = mem_strdup(ca_file)) == NULL)) {
		r = TSS_E_NOMEM;
		goto out;
	}
	n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	c->timeout = REQUEST_TIMEOUT_S;
	if ((c->curl = curl_easy_init()) == NULL) {
		snprintf(errbuf, errlen, "cannot initialise libcurl");
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	client_free(c);
	return r;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->server);
	free(c->ca_file);
	free(c->pin);
	free(c->pin_file);
	wipe_free(c->auth_header);
	free(c);
}

int
client_set_token(struct client *c, const char *token)
{
	static const char pfx[] = "Authorization: Bearer ";
	char *h = NULL;
	size_t n;

	wipe_free(c->auth_header);
	c->auth_header = NULL;
	if (token == NULL)
		return 0;
	n = sizeof(pfx) + strlen(token);
	if ((h = mem_malloc(n)) == NULL)
		return TSS_E_NOMEM;
	if (snprintf(h, n, "%s%s", pfx, token) != (int)(n - 1)) {
		wipe_free(h);
		return TSS_E_INTERNAL;
	}
	c->auth_header = h;
	return 0;
}

const char *
client_server(const struct client *c)
{
	return c->server;
}

void
client_set_timeout(struct client *c, long secs)
{
	c->timeout = secs;
}

int
client_pin_cert(struct client *c, const char *cert_file, char *errbuf,
    size_t errlen)
{
	static const char pfx[] = "sha256//";
	uint8_t *der = NULL, h[SHA256_LEN];
	char *b64 = NULL, *pin = NULL, *file = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	size_t n;
	int len, r = TSS_E_INTERNAL;

	if (errlen > 0)
		errbuf[0] = '\0';
	if ((f = fopen(cert_file, "r")) == NULL) {
		snprintf(errbuf, errlen, "cannot read %s: %s", cert_file,
		    strerror(errno));
		r = TSS_E_IO;
		goto out;
	}
	/* curl pins the DER SubjectPublicKeyInfo's SHA-256. */
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL ||
	    (len = i2d_PUBKEY(X509_get0_pubkey(x), &der)) <= 0) {
		snprintf(errbuf, errlen, "%s holds no PEM certificate",
		    cert_file);
		r = TSS_E_BAD_FORMAT;
		goto out;
	}
	if ((r = sha256(der, (size_t)len, h)) != 0 ||
	    (r = b64_encode(h, sizeof(h), &b64)) != 0)
		goto out;
	n = sizeof(pfx) + strlen(b64);
	if ((pin = mem_malloc(n)) == NULL ||
	    (file = mem_strdup(cert_file)) == NULL) {
		r = TSS_E_NOMEM;
		goto out;
	}
	snprintf(pin, n, "%s%s", pfx, b64);
	free(c->pin);
	free(c->pin_file);
	c->pin = pin;
	c->pin_file = file;
	pin = file = NULL;	/* transferred */
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	X509_free(x);
	OPENSSL_free(der);
	free(b64);
	free(pin);
	free(file);
	return r;
}

const char *
client_errmsg(const struct client *c)
{
	return c->msg;
}

void
client_resp_clear(struct client_resp *r)
{
	if (r->body != NULL) {
		explicit_bzero(r->body, r->cap);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct client_resp *r = arg;
	size_t n, want, ncap;
	char *nb;

	if (nmemb != 0 && size > SIZE_MAX / nmemb)
		return 0;
	n = size * nmemb;
	if (n > CLIENT_BODY_MAX || r->len > CLIENT_BODY_MAX - n)
		return 0;	/* curl reports CURLE_WRITE_ERROR */
	want = r->len + n + 1;
	if (want > r->cap) {
		ncap = r->cap == 0 ? 4096 : r->cap;
		while (ncap < want)
			ncap *= 2;
		/* Grow by copy so the old bytes can be wiped. */
		if ((nb = mem_malloc(ncap)) == NULL)
			return 0;
		if (r->body != NULL) {
			memcpy(nb, r->body, r->len);
			explicit_bzero(r->body, r->cap);
			free(r->body);
		}
		r->body = nb;
		r->cap = ncap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* The value of header line p (n bytes) named name (lower case, with ':'),
 * without surrounding blanks and CRLF; NULL when the line is another. */
static const char *
header_value(const char *p, size_t n, const char *name, size_t *vlen)
{
	size_t i, nl = strlen(name);

	if (n <= nl || strncasecmp(p, name, nl) != 0)
		return NULL;
	i = nl;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (n > i && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
	    p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*vlen = n - i;
	return p + i;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct client_resp *r = arg;
	size_t n = size * nmemb, vlen;
	const char *v;
	char num[24];
	unsigned long long u;
	char *end;

	if ((v = header_value(p, n, "etag:", &vlen)) != NULL) {
		if (vlen < sizeof(r->etag)) {
			memcpy(r->etag, v, vlen);
			r->etag[vlen] = '\0';
		}
		return n;
	}
	if ((v = header_value(p, n, "retry-after:", &vlen)) == NULL ||
	    vlen == 0 || vlen >= sizeof(num))
		return n;
	memcpy(num, v, vlen);
	num[vlen] = '\0';
	errno = 0;
	u = strtoull(num, &end, 10);
	if (end != num && errno == 0 && u <= 86400 && *end == '\0')
		r->retry_after = (long)u;
	return n;
}

static void
transport_message(struct client *c, CURLcode cc)
{
	const char *detail = c->errbuf[0] != '\0' ? c->errbuf :
	    curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(c->msg, sizeof(c->msg), "cannot connect to %s (is "
		    "tesserad running?): %s", c->server, detail);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(c->msg, sizeof(c->msg), "no answer from %s in time: "
		    "%s", c->server, detail);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(c->msg, sizeof(c->msg), "TLS: cannot verify the "
		    "certificate of %s against %s: %s", c->server,
		    c->ca_file != NULL ? c->ca_file : "the system CA store "
		    "(use --ca-file)", detail);
		break;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		snprintf(c->msg, sizeof(c->msg), "TLS: the server at %s does "
		    "not hold the key of %s", c->server, c->pin_file);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(c->msg, sizeof(c->msg), "TLS: cannot use CA file %s: "
		    "%s", c->ca_file != NULL ? c->ca_file : "(system)", detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(c->msg, sizeof(c->msg), "TLS handshake with %s failed"
		    ": %s", c->server, detail);
		break;
	case CURLE_WRITE_ERROR:
		snprintf(c->msg, sizeof(c->msg), "answer from %s too large or "
		    "out of memory", c->server);
		break;
	default:
		snprintf(c->msg, sizeof(c->msg), "request to %s failed: %s",
		    c->server, detail);
		break;
	}
}

int
client_request(struct client *c, const char *method, const char *path,
    const json_t *body, struct client_resp *resp)
{
	return client_request_if(c, method, path, body, NULL, resp);
}

int
client_request_if(struct client *c, const char *method, const char *path,
    const json_t *body, const char *etag, struct client_resp *resp)
{
	struct curl_slist *hdrs = NULL, *nh;
	char *url = NULL, *payload = NULL, *ct = NULL, inm[sizeof(resp->etag) +
	    sizeof("If-None-Match: ")];
	size_t ulen, plen = 0, i;
	CURLcode cc;
	CURL *h = c->curl;
	int r = TSS_E_INTERNAL;

	client_resp_clear(resp);
	c->msg[0] = '\0';
	c->errbuf[0] = '\0';
	inm[0] = '\0';
	if (etag != NULL && *etag != '\0') {
		for (i = 0; etag[i] != '\0'; i++)
			if ((unsigned char)etag[i] < 0x20 || etag[i] == 0x7f)
				break;
		if (etag[i] != '\0' || snprintf(inm, sizeof(inm),
		    "If-None-Match: %s", etag) >= (int)sizeof(inm)) {
			snprintf(c->msg, sizeof(c->msg), "bad ETag to send");
			r = TSS_E_INVALID_ARGUMENT;
			goto out;
		}
	}
	ulen = strlen(c->server) + strlen(path) + 1;
	if ((url = mem_malloc(ulen)) == NULL ||
	    snprintf(url, ulen, "%s%s", c->server, path) != (int)(ulen - 1)) {
		r = TSS_E_NOMEM;
		goto out;
	}
	if (body != NULL) {
		if ((payload = mem_json_dumps(body, JSON_COMPACT)) == NULL) {
			r = TSS_E_NOMEM;
			goto out;
		}
		plen = strlen(payload);
	}

#define ADD_HDR(s) do { \
		if ((nh = curl_slist_append(hdrs, (s))) == NULL) { \
			r = TSS_E_NOMEM; \
			goto out; \
		} \
		hdrs = nh; \
	} while (0)
	ADD_HDR("Accept: application/json");
	if (body != NULL)
		ADD_HDR("Content-Type: application/json");
	else
		ADD_HDR("Content-Type:");	/* curl adds none then */
	ADD_HDR("Expect:");
	if (c->auth_header != NULL)
		ADD_HDR(c->auth_header);
	if (inm[0] != '\0')
		ADD_HDR(inm);
#undef ADD_HDR

	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->pin == NULL ?
	    1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->pin == NULL ?
	    2L : 0L) != CURLE_OK ||
	    (c->pin != NULL && curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY,
	    c->pin) != CURLE_OK) ||
	    (c->ca_file != NULL && c->pin == NULL &&
	    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout <
	    CONNECT_TIMEOUT_S ? c->timeout : CONNECT_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "tessera-cli") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header)
	    != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK) {
		snprintf(c->msg, sizeof(c->msg), "cannot set up the request");
		goto out;
	}
	if (body != NULL) {
		if (curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)plen) != CURLE_OK) {
			snprintf(c->msg, sizeof(c->msg), "cannot set up the "
			    "request");
			goto out;
		}
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0) {
		if (curl_easy_setopt(h, CURLOPT_POSTFIELDS, "") != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L) != CURLE_OK) {
			snprintf(c->msg, sizeof(c->msg), "cannot set up the "
			    "request");
			goto out;
		}
	} else if (strcmp(method, "GET") == 0) {
		if (curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL)
		    != CURLE_OK) {
			snprintf(c->msg, sizeof(c->msg), "cannot set up the "
			    "request");
			goto out;
		}
	}

	if ((cc = curl_easy_perform(h)) != CURLE_OK) {
		transport_message(c, cc);
		r = cc == CURLE_WRITE_ERROR ? TSS_E_TOO_LARGE :
		    (cc == CURLE_SSL_CACERT_BADFILE ? TSS_E_IO :
		    TSS_E_UNAVAILABLE);
		client_resp_clear(resp);
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status)
	    != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK) {
		snprintf(c->msg, sizeof(c->msg), "cannot read the answer");
		client_resp_clear(resp);
		goto out;
	}
	if (ct != NULL)
		snprintf(resp->ctype, sizeof(resp->ctype), "%s", ct);
	r = 0;
 out:
	/* The handle keeps pointers to these; drop them with the request. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	slist_free_wiped(hdrs);
	wipe_free(payload);
	free(url);
	return r;
}

int
client_resp_is_json(const struct client_resp *r)
{
	return strncasecmp(r->ctype, "application/json", 16) == 0;
}

void
client_resp_error(const struct client_resp *r, char *buf, size_t len,
    char *code, size_t codelen)
{
	json_t *j = NULL, *e;
	const char *m = NULL, *k = NULL;

	if (code != NULL && codelen > 0)
		code[0] = '\0';
	if (r->body != NULL && r->len > 0)
		j = mem_json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES,
		    NULL);
	if (j != NULL && (e = json_object_get(j, "error")) != NULL &&
	    json_is_object(e)) {
		m = json_string_value(json_object_get(e, "message"));
		k = json_string_value(json_object_get(e, "code"));
	}
	if (m != NULL && k != NULL)
		snprintf(buf, len, "%s (%s)", m, k);
	else if (m != NULL || k != NULL)
		snprintf(buf, len, "%s", m != NULL ? m : k);
	else
		snprintf(buf, len, "HTTP %ld from the server", r->status);
	if (code != NULL && k != NULL)
		snprintf(code, codelen, "%s", k);
	json_decref(j);
}
