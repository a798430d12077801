/*
 * Requests (see server.h): the accessors handlers use, the CSRF and Origin
 * checks, and what is decoded before a handler runs (the path, the query,
 * the JSON body, the token): web__dispatch() routes the request, decodes
 * it, and runs its handler or hands it to a pool (dispatch.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "web/internal.h"

/* ------------------------------------------------------------------ */
/* Request accessors */

const char *
web_req_method(const struct web_req *req)
{
	return req->method;
}

const char *
web_req_path(const struct web_req *req)
{
	return req->path;
}

const char *
web_req_param(const struct web_req *req)
{
	return req->has_param ? req->param : NULL;
}

const struct web_route *
web_req_route(const struct web_req *req)
{
	return req->route;
}

const char *
web_req_query(const struct web_req *req, const char *key)
{
	size_t i;

	if (key == NULL)
		return NULL;
	for (i = 0; i < req->nquery; i++)
		if (strcmp(req->qkey[i], key) == 0)
			return req->qval[i];
	return NULL;
}

const char *
web_req_header(const struct web_req *req, const char *name)
{
	if (name == NULL)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
web_req_remote(const struct web_req *req)
{
	return req->remote;
}

const char *
web_req_id(const struct web_req *req)
{
	return req->id;
}

json_t *
web_req_json(const struct web_req *req)
{
	return req->json;
}

const char *
web_req_token(const struct web_req *req, enum web_auth *kind)
{
	if (kind != NULL)
		*kind = req->auth;
	return req->token;
}

struct web_server *
web_req_server(const struct web_req *req)
{
	return req->s;
}

/* ------------------------------------------------------------------ */
/* CSRF / Origin */

int
web_check_origin(const struct web_req *req)
{
	const char *sfs, *origin;

	if (req == NULL)
		return TSS_E_INVALID_ARGUMENT;
	/*
	 * "same-site" is refused too: SameSite=Strict cookies ride along on
	 * requests from sibling subdomains, which we do not trust.
	 */
	sfs = web_req_header(req, "Sec-Fetch-Site");
	if (sfs != NULL && strcasecmp(sfs, "same-origin") != 0 &&
	    strcasecmp(sfs, "none") != 0)
		return TSS_E_FORBIDDEN;
	origin = web_req_header(req, "Origin");
	if (origin != NULL && strcasecmp(origin, req->s->origin) != 0)
		return TSS_E_FORBIDDEN;
	return 0;
}

int
web_check_csrf(const struct web_req *req, web_csrf_verify verify, void *arg)
{
	const char *tok;
	size_t len;
	int r;

	if (req == NULL)
		return TSS_E_INVALID_ARGUMENT;
	if (req->auth != WEB_AUTH_COOKIE)
		return 0;
	if ((r = web_check_origin(req)) != 0)
		return r;
	tok = web_req_header(req, "X-CSRF-Token");
	if (tok == NULL || verify == NULL)
		return TSS_E_FORBIDDEN;
	len = strnlen(tok, WEB_TOKEN_MAX + 1);
	if (len == 0 || len > WEB_TOKEN_MAX)
		return TSS_E_FORBIDDEN;
	if (verify(tok, len, arg) != 0)
		return TSS_E_FORBIDDEN;
	return 0;
}

int
web_csrf_equal(const char *token, size_t len, void *arg)
{
	const char *expected = arg;

	if (token == NULL || expected == NULL || strlen(expected) != len ||
	    len == 0)
		return TSS_E_FORBIDDEN;
	return CRYPTO_memcmp(token, expected, len) == 0 ? 0 : TSS_E_FORBIDDEN;
}

/* ------------------------------------------------------------------ */
/* Request decoding */

/* Tokens: base64/base64url/hex alphabets, bounded. */
int
web_token_ok(const char *t, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > WEB_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = t[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '+' || c == '/' || c == '=')
			continue;
		return 0;
	}
	return 1;
}

/* Decode one query component ('+' is a space); refuse control bytes. */
static int
query_decode(const char *raw, char **out)
{
	size_t i, o = 0, len;
	char *d;
	int hi, lo;
	unsigned char c;

	*out = NULL;
	len = strnlen(raw, 3 * WEB_QUERY_VALUE_MAX + 1);
	if (len > 3 * WEB_QUERY_VALUE_MAX)
		return TSS_E_TOO_LONG;
	if ((d = mem_malloc(len + 1)) == NULL)
		return TSS_E_NOMEM;
	for (i = 0; i < len; i++) {
		c = (unsigned char)raw[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len || (hi = hex_value(raw[i + 1])) < 0 ||
			    (lo = hex_value(raw[i + 2])) < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		d[o++] = (char)c;
	}
	if (o > WEB_QUERY_VALUE_MAX)
		goto bad;
	d[o] = '\0';
	*out = d;
	return 0;
 bad:
	free(d);
	return TSS_E_BAD_FORMAT;
}

static enum MHD_Result
query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct web_req *req = cls;
	char *k = NULL, *v = NULL;

	if (req->nquery >= WEB_QUERY_MAX || key == NULL) {
		req->qerr = TSS_E_TOO_MANY;
		return MHD_NO;
	}
	if ((req->qerr = query_decode(key, &k)) != 0 ||
	    (req->qerr = query_decode(value != NULL ? value : "", &v)) != 0)
		goto fail;
	if (web_req_query(req, k) != NULL) {
		req->qerr = TSS_E_CONFLICT;
		goto fail;
	}
	req->qkey[req->nquery] = k;
	req->qval[req->nquery] = v;
	req->nquery++;
	return MHD_YES;
 fail:
	free(k);
	free(v);
	return MHD_NO;
}

/* "application/json" with optional parameters; charset must be utf-8. */
static int
content_type_json(const char *ct)
{
	static const char mt[] = "application/json";
	const char *p, *val;
	size_t n;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, mt, sizeof(mt) - 1) != 0)
		return 0;
	p = ct + sizeof(mt) - 1;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 1;
		if (*p++ != ';')
			return 0;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ";");
		if (strncasecmp(p, "charset=", 8) == 0) {
			val = p + 8;
			if (*val == '"')
				val++;
			if (strncasecmp(val, "utf-8", 5) != 0)
				return 0;
			val += 5;
			if (*val == '"')
				val++;
			while (*val == ' ' || *val == '\t')
				val++;
			if (*val != '\0' && *val != ';')
				return 0;
		}
		p += n;
	}
}

/* Nesting of arrays/objects outside strings, before jansson recurses. */
static int
json_depth_ok(const uint8_t *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	int instr = 0, esc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (p[i] == '\\')
				esc = 1;
			else if (p[i] == '"')
				instr = 0;
		} else if (p[i] == '"')
			instr = 1;
		else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return 0;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0)
			depth--;
	}
	return 1;
}

static void
extract_token(struct web_req *req)
{
	const char *h, *t;
	size_t len;

	h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	    "Authorization");
	if (h != NULL) {
		/* The header alone decides, even when malformed. */
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return;
		for (t = h + 7; *t == ' '; t++)
			;
		len = strnlen(t, WEB_TOKEN_MAX + 1);
		if (!web_token_ok(t, len) || (req->token = mem_strdup(t)) == NULL)
			return;
		req->auth = WEB_AUTH_BEARER;
		return;
	}
	t = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND,
	    WEB_COOKIE_NAME);
	if (t == NULL)
		return;
	len = strnlen(t, WEB_TOKEN_MAX + 1);
	if (!web_token_ok(t, len) || (req->token = mem_strdup(t)) == NULL)
		return;
	req->auth = WEB_AUTH_COOKIE;
}

enum MHD_Result
web__dispatch(struct web_req *req)
{
	struct web_server *s = req->s;
	char allow[WEB_ALLOW_MAX], msg[128];
	struct web_resp *resp;
	json_error_t jerr;
	size_t idx = 0, off = 0, len = 0;
	int r, deferred;

	if ((r = web_path_decode(req->raw_url, req->path,
	    sizeof(req->path))) != 0) {
		req->path[0] = '\0';
		return web__send_error(req, 400, "bad_request", "invalid path",
		    0);
	}
	r = web_route_match(s->routes, s->nroutes, req->method, req->path,
	    &idx, &off, &len, allow, sizeof(allow));
	if (r == TSS_E_NOT_FOUND)
		return web__send_error(req, 404, "not_found", "not found", 0);
	if (r == TSS_E_UNSUPPORTED) {
		if ((resp = web_error(405, "method_not_allowed",
		    "method not allowed")) != NULL &&
		    web_resp_header(resp, "Allow", allow) != 0) {
			web_resp_free(resp);
			resp = NULL;
		}
		return web__send_resp(req, resp, 0);
	}
	if (r != 0)
		return web__send_resp(req, NULL, 0);
	req->route = &s->routes[idx];
	req->pattern = s->route_pattern[idx];
	if (len > 0) {
		memcpy(req->param, req->path + off, len);
		req->param[len] = '\0';
		req->has_param = 1;
	}
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
	    query_iter, req);
	if (req->qerr != 0)
		return web__send_error(req, 400, "bad_request",
		    "invalid query string", 0);
	if (body_len(req) > 0) {
		if (!content_type_json(MHD_lookup_connection_value(req->conn,
		    MHD_HEADER_KIND, "Content-Type")))
			return web__send_error(req, 415,
			    "unsupported_media_type",
			    "Content-Type must be application/json", 0);
		if (!json_depth_ok(buf_ptr(req->body), buf_len(req->body),
		    WEB_JSON_DEPTH))
			return web__send_error(req, 400, "invalid_json",
			    "JSON nested too deeply", 0);
		errno = 0;
		req->json = mem_json_loadb((const char *)buf_ptr(req->body),
		    buf_len(req->body), JSON_REJECT_DUPLICATES, &jerr);
		if (req->json == NULL && errno == ENOMEM)
			return web__send_resp(req, NULL, 0);
		if (req->json == NULL &&
		    json_error_code(&jerr) == json_error_numeric_overflow) {
			/* Valid JSON (numbers are unbounded there), but not
			 * one we can hold: say so rather than "invalid". */
			snprintf(msg, sizeof(msg), "request body: number out "
			    "of range at line %d, column %d (integers must "
			    "fit in 64 bits)", jerr.line, jerr.column);
			return web__send_error(req, 400, "bad_request", msg, 0);
		}
		if (req->json == NULL)
			return web__send_error(req, 400, "invalid_json",
			    "request body is not valid JSON", 0);
		if (!json_is_object(req->json))
			return web__send_error(req, 400, "invalid_json",
			    "request body must be a JSON object", 0);
	} else if (req->route->flags & WEB_R_JSON)
		return web__send_error(req, 400, "invalid_json",
		    "a JSON object body is required", 0);
	extract_token(req);
	req->dispatched = 1;
	if (req->route->flags & WEB_R_CPU)
		return web__hand_to_worker(req, &s->pools[POOL_CPU]);
	if (!(req->route->flags & WEB_R_INLINE))
		return web__hand_to_worker(req, &s->pools[POOL_WAIT]);
	resp = web__call_handler(req, &deferred);
	if (deferred)
		return web__park(req, resp);
	return web__send_resp(req, resp, 0);
}
