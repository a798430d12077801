/*
 * Responses (see server.h): building them, sending them with the standard
 * headers, and the request metrics every answer is counted in.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/err.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/mem.h"
#include "web/internal.h"

#define CSP_API "default-src 'none'; frame-ancestors 'none'; " \
	"base-uri 'none'; form-action 'none'"
#define CSP_HTML "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; " \
	"form-action 'self'"

/* ------------------------------------------------------------------ */
/* Responses */

void
web_resp_free(struct web_resp *resp)
{
	size_t i;

	if (resp == NULL)
		return;
	wipe_free(resp->body);
	free(resp->ctype);
	for (i = 0; i < resp->nhdr; i++) {
		free(resp->hname[i]);
		wipe_free(resp->hval[i]);
	}
	free(resp);
}

unsigned
web_resp_status(const struct web_resp *resp)
{
	return resp == NULL ? 0 : resp->status;
}

static struct web_resp *
resp_new(unsigned status, const char *ctype, char *body, size_t len)
{
	struct web_resp *resp;

	if (status < 100 || status > 599 ||
	    (resp = mem_calloc(1, sizeof(*resp))) == NULL) {
		wipe_free(body);
		return NULL;
	}
	resp->status = status;
	resp->body = body;
	resp->len = len;
	if (ctype != NULL && (resp->ctype = mem_strdup(ctype)) == NULL) {
		web_resp_free(resp);
		return NULL;
	}
	return resp;
}

struct web_resp *
web_json(unsigned status, json_t *j)
{
	struct jsonw w = { NULL, 0, 0 };
	int r;

	if (j == NULL)
		return NULL;
	r = jsonw_value(&w, j, 0);
	json_decref(j);
	if (r != 0) {
		jsonw_free(&w);
		return NULL;
	}
	return resp_new(status, "application/json", w.p, w.len);
}

struct web_resp *
web_error(unsigned status, const char *code, const char *message)
{
	json_t *j;

	j = json_pack("{s:{s:s,s:s}}", "error", "code",
	    code != NULL ? code : "internal", "message",
	    message != NULL ? message : "");
	return web_json(status, j);
}

struct web_resp *
web_text(unsigned status, const char *content_type, const void *body,
    size_t len)
{
	char *copy;

	if (content_type == NULL || (body == NULL && len != 0))
		return NULL;
	if ((copy = mem_malloc(len + 1)) == NULL)
		return NULL;
	if (len)
		memcpy(copy, body, len);
	copy[len] = '\0';
	return resp_new(status, content_type, copy, len);
}

struct web_resp *
web_empty(unsigned status)
{
	return resp_new(status, NULL, NULL, 0);
}

static int
header_safe(const char *s, int name)
{
	const unsigned char *p;

	if (s == NULL || (name && *s == '\0') || strlen(s) > 4096)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (name && (*p == ':' || *p == ' '))
			return 0;
	}
	return 1;
}

int
web_resp_header(struct web_resp *resp, const char *name, const char *value)
{
	char *n = NULL, *v = NULL;

	if (resp == NULL || !header_safe(name, 1) || !header_safe(value, 0))
		return TSS_E_INVALID_ARGUMENT;
	if (resp->nhdr >= RESP_HDR_MAX)
		return TSS_E_TOO_MANY;
	if ((n = mem_strdup(name)) == NULL || (v = mem_strdup(value)) == NULL) {
		free(n);
		return TSS_E_NOMEM;
	}
	resp->hname[resp->nhdr] = n;
	resp->hval[resp->nhdr] = v;
	resp->nhdr++;
	return 0;
}

#define COOKIE_ATTRS "; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age="

int
web_resp_set_cookie(struct web_resp *resp, const char *token,
    unsigned long max_age)
{
	char v[WEB_TOKEN_MAX + 128];
	int n, r;

	if (resp == NULL || token == NULL ||
	    !web_token_ok(token, strlen(token)))
		return TSS_E_INVALID_ARGUMENT;
	n = snprintf(v, sizeof(v), "%s=%s" COOKIE_ATTRS "%lu",
	    WEB_COOKIE_NAME, token, max_age);
	if (n < 0 || (size_t)n >= sizeof(v))
		r = TSS_E_TOO_LONG;
	else
		r = web_resp_header(resp, "Set-Cookie", v);
	explicit_bzero(v, sizeof(v));
	return r;
}

int
web_resp_clear_cookie(struct web_resp *resp)
{
	return web_resp_header(resp, "Set-Cookie",
	    WEB_COOKIE_NAME "=" COOKIE_ATTRS "0");
}

int
web_resp_retry_after(struct web_resp *resp, unsigned long seconds)
{
	char v[32];
	int n;

	n = snprintf(v, sizeof(v), "%lu", seconds);
	if (n < 0 || (size_t)n >= sizeof(v))
		return TSS_E_INTERNAL;
	return web_resp_header(resp, "Retry-After", v);
}

/* ------------------------------------------------------------------ */
/* Sending */

/* Status codes with their own metric series; the rest count as "other". */
static const unsigned metric_status[] = {
	200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 429,
	500, 501, 503,
};
static const char *const metric_status_names[] = {
	"200", "201", "204", "304", "400", "401", "403", "404", "405", "409",
	"413", "415", "429", "500", "501", "503", "other",
};
#define NSTATUS	(sizeof(metric_status_names) / sizeof(metric_status_names[0]))

static size_t
status_slot(unsigned status)
{
	size_t i;

	for (i = 0; i < sizeof(metric_status) / sizeof(metric_status[0]); i++)
		if (metric_status[i] == status)
			return i;
	return NSTATUS - 1;
}

/* Queue resp (consumed) with the standard headers; close when asked. */
enum MHD_Result
web__send_resp(struct web_req *req, struct web_resp *resp, int close_conn)
{
	struct web_server *s = req->s;
	struct MHD_Response *mr = NULL;
	enum MHD_Result ret = MHD_NO;
	unsigned flags = req->route != NULL ? req->route->flags : 0;
	size_t i;
	int ok;

	if (resp == NULL &&
	    (resp = web_error(500, "internal", "internal error")) == NULL)
		goto out;
	/* Draining: no keep-alive, so a client's next request goes to a new
	 * connection (and is refused) instead of racing the close. */
	if (atomic_load(&s->stopping))
		close_conn = 1;
	if (resp->body != NULL)
		mr = MHD_create_response_from_buffer_with_free_callback(
		    resp->len, resp->body, wipe_free);
	else
		mr = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	if (mr == NULL)
		goto out;
	resp->body = NULL;	/* transferred */
	ok = MHD_add_response_header(mr, "Strict-Transport-Security",
	    "max-age=63072000; includeSubDomains") == MHD_YES &&
	    MHD_add_response_header(mr, "X-Content-Type-Options",
	    "nosniff") == MHD_YES &&
	    MHD_add_response_header(mr, "Referrer-Policy",
	    "no-referrer") == MHD_YES &&
	    MHD_add_response_header(mr, "X-Frame-Options", "DENY") == MHD_YES &&
	    MHD_add_response_header(mr, "Content-Security-Policy",
	    (flags & WEB_R_HTML) ? CSP_HTML : CSP_API) == MHD_YES &&
	    MHD_add_response_header(mr, "X-Request-Id", req->id) == MHD_YES;
	if (ok && !(flags & WEB_R_CACHEABLE))
		ok = MHD_add_response_header(mr, "Cache-Control",
		    "no-store") == MHD_YES;
	if (ok && resp->ctype != NULL)
		ok = MHD_add_response_header(mr, "Content-Type",
		    resp->ctype) == MHD_YES;
	if (ok && close_conn)
		ok = MHD_add_response_header(mr, "Connection",
		    "close") == MHD_YES;
	for (i = 0; ok && i < resp->nhdr; i++)
		ok = MHD_add_response_header(mr, resp->hname[i],
		    resp->hval[i]) == MHD_YES;
	if (!ok)
		goto out;
	/* A body that follows its head at once: send them together. */
	if (req->cc != NULL && resp->len > 0 && resp->status != 204 &&
	    resp->status != 304 && strcmp(req->method, "HEAD") != 0)
		req->cc->tx_hold = 1;
	ret = MHD_queue_response(req->conn, resp->status, mr);
	if (ret != MHD_YES && req->cc != NULL)
		req->cc->tx_hold = 0;
	if (ret == MHD_YES) {
		req->responded = 1;
		web_metric_inc(s->m_requests, web_metric_idx2(s->m_requests,
		    req->pattern, status_slot(resp->status)));
		web_metric_observe(s->m_latency, elapsed(&req->start));
		log_info("web: %s %s %s %u remote=%s id=%s", req->method,
		    req->route != NULL ? req->route->pattern : "-",
		    req->path[0] ? req->path : "-", resp->status, req->remote,
		    req->id);
	}
 out:
	if (mr != NULL)
		MHD_destroy_response(mr);
	web_resp_free(resp);
	return ret;
}

enum MHD_Result
web__send_error(struct web_req *req, unsigned status, const char *code,
    const char *msg, int close_conn)
{
	return web__send_resp(req, web_error(status, code, msg), close_conn);
}

/* ------------------------------------------------------------------ */
/* Request metrics */

static const char *const close_reasons[] = { "network_limit",
    "head_deadline", "body_deadline" };

/* requests_total{route,status}: one route label per distinct pattern. */
int
web__metrics_setup(struct web_server *s)
{
	static const double lat[] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
	    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
	const char **pats = NULL;
	struct web_label labels[2];
	size_t i, j;
	int r = TSS_E_NOMEM;

	if ((s->route_pattern = mem_calloc(s->nroutes + 1,
	    sizeof(*s->route_pattern))) == NULL ||
	    (pats = mem_calloc(s->nroutes + 1, sizeof(*pats))) == NULL)
		goto out;
	for (i = 0; i < s->nroutes; i++) {
		for (j = 0; j < s->npatterns; j++)
			if (strcmp(pats[j], s->routes[i].pattern) == 0)
				break;
		if (j == s->npatterns)
			pats[s->npatterns++] = s->routes[i].pattern;
		s->route_pattern[i] = j;
	}
	pats[s->npatterns] = "unmatched";
	labels[0].name = "route";
	labels[0].values = pats;
	labels[0].nvalues = s->npatterns + 1;
	labels[1].name = "status";
	labels[1].values = metric_status_names;
	labels[1].nvalues = NSTATUS;
	if ((r = web_metrics_counter(s->metrics, "tessera_http_requests_total",
	    "HTTP requests answered, by route pattern and status.", labels, 2,
	    &s->m_requests)) != 0 ||
	    (r = web_metrics_histogram(s->metrics,
	    "tessera_http_request_duration_seconds",
	    "Time from request headers to queued response.", lat,
	    sizeof(lat) / sizeof(lat[0]), &s->m_latency)) != 0)
		goto out;
	labels[0].name = "reason";
	labels[0].values = close_reasons;
	labels[0].nvalues = sizeof(close_reasons) / sizeof(close_reasons[0]);
	if ((r = web_metrics_counter(s->metrics,
	    "tessera_http_connections_closed_total",
	    "Connections refused or cut by the server: over the per-network "
	    "limit, or a request head or body not complete in time.", labels,
	    1, &s->m_closed)) != 0)
		goto out;
	r = 0;
 out:
	free(pats);
	return r;
}

struct web_resp *
web_handle_metrics(const struct web_req *req, void *arg)
{
	struct web_resp *resp = NULL;
	char *text = NULL;
	size_t len = 0;

	if (web_metrics_render(req->s->metrics, &text, &len) != 0)
		return web_error(500, "internal", "internal error");
	resp = web_text(200, "text/plain; version=0.0.4; charset=utf-8", text,
	    len);
	free(text);
	return resp;
}
