/*
 * The GET endpoints targets poll (/v1/ca, /v1/ca/host, /v1/krl and
 * /v1/hosts/self): each answer carries an ETag, the hash of its body, and
 * a short max-age, and a request whose If-None-Match names the current
 * ETag gets a 304 without the body, so an unchanged KRL costs a few
 * headers.  The routes are WEB_R_CACHEABLE (no automatic no-store).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "broker/broker.h"
#include "common/digest.h"
#include "common/enc.h"
#include "common/err.h"
#include "web/server.h"

#define ETAG_HASH_BYTES	16		/* 32 hex digits */
#define ETAG_LEN	(2 + 2 * ETAG_HASH_BYTES)
#define ERRMSG_MAX	256

/*
 * 1 when the If-None-Match field value hdr matches etag (RFC 9110 13.1.2:
 * "*", or a list of entity tags compared weakly, so W/ is ignored).  A
 * malformed list matches nothing from where it goes wrong: the client
 * gets the full answer, never a wrong 304.
 */
static int
none_match(const char *hdr, const char *etag)
{
	const char *p = hdr, *end;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"' || (end = strchr(p + 1, '"')) == NULL)
			return 0;
		if ((size_t)(end + 1 - p) == strlen(etag) &&
		    memcmp(p, etag, strlen(etag)) == 0)
			return 1;
		p = end + 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return 0;
	}
	return 0;
}

struct web_resp *
api_cache_reply(const struct web_req *req, const char *content_type,
    const void *body, size_t len)
{
	uint8_t h[SHA256_LEN];
	char etag[ETAG_LEN + 1];
	const char *inm;
	struct web_resp *resp;

	if (sha256(body, len, h) != 0)
		return NULL;
	etag[0] = '"';
	hex_encode(h, ETAG_HASH_BYTES, etag + 1);
	etag[ETAG_LEN - 1] = '"';
	etag[ETAG_LEN] = '\0';
	inm = web_req_header(req, "If-None-Match");
	if (inm != NULL && none_match(inm, etag))
		resp = web_empty(304);
	else
		resp = web_text(200, content_type, body, len);
	if (resp != NULL && (web_resp_header(resp, "ETag", etag) != 0 ||
	    web_resp_header(resp, "Cache-Control", "max-age=10") != 0)) {
		web_resp_free(resp);
		resp = NULL;
	}
	return resp;
}

/* A use case's text, or its error (r != 0); text is freed. */
static struct web_resp *
text_reply(const struct web_req *req, int r, char *text, const char *errmsg)
{
	struct web_resp *resp;

	if (r != 0)
		return web_error_msg(r, errmsg);
	resp = api_cache_reply(req, "text/plain; charset=utf-8", text,
	    strlen(text));
	free(text);
	return resp;
}

struct web_resp *
api_cache_ca(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	char *text = NULL;
	int r;

	r = broker_ca_text(a->b, &text);
	return text_reply(req, r, text, NULL);
}

struct web_resp *
api_cache_ca_host(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	char *text = NULL, errmsg[ERRMSG_MAX] = "";
	int r;

	r = broker_ca_host_text(a->b, &text, errmsg, sizeof(errmsg));
	return text_reply(req, r, text, errmsg);
}

struct web_resp *
api_cache_krl(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct web_resp *resp;
	uint8_t *krl;
	size_t len;
	int r;

	if ((r = broker_krl(a->b, api_now(), &krl, &len)) != 0)
		return web_error_msg(r, NULL);
	resp = api_cache_reply(req, "application/octet-stream", krl, len);
	free(krl);
	return resp;
}
