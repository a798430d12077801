/*
 * host_api: the HTTP face of broker/hosts.h.  POST /v1/targets/<name>/token
 * and GET /v1/targets/<name>/route for signed-in users; POST /v1/hosts/join
 * (the join token in the body), POST /v1/hosts/renew, GET /v1/hosts/self
 * and POST /v1/hosts/routes (the host credential as "Authorization:
 * Bearer") for targets, without a session.  A join, renewal or report that
 * fails for a reason the client caused
 * takes a token from its address's bucket (broker->host_rl); an address
 * with none left gets 429 before any work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "host_api.h"
#include "policy_json.h"
#include "auth/ratelimit.h"
#include "broker/broker.h"
#include "broker/hosts.h"
#include "broker/routes.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "rbac/rbac.h"
#include "web/server.h"

#define ERRMSG_MAX	256

struct web_resp *
host_api_rate(struct ratelimit *t, const struct web_req *req,
    const char *what, int peek)
{
	struct web_resp *resp;
	char msg[96];
	int64_t retry = 0;

	if (t == NULL)
		return web_error(500, "internal", "internal error");
	if ((peek ? ratelimit_peek(t, web_req_remote(req), api_now(),
	    &retry) : ratelimit_take(t, web_req_remote(req), api_now(),
	    &retry)) == 0)
		return NULL;
	snprintf(msg, sizeof(msg), "too many %s from this address; try "
	    "again later", what);
	resp = web_error(429, "too_many_attempts", msg);
	if (resp != NULL && web_resp_retry_after(resp, (unsigned long)(retry >
	    0 ? retry : 1)) != 0) {
		web_resp_free(resp);
		resp = NULL;	/* a 500, not a 429 without its wait */
	}
	return resp;
}

/* The host credential: "Authorization: Bearer" only, never a cookie. */
static const char *
bearer(const struct web_req *req)
{
	enum web_auth kind;
	const char *t = web_req_token(req, &kind);

	return kind == WEB_AUTH_BEARER ? t : NULL;
}

/* A failed join or renewal: counted against the address when the client
 * caused it, and logged (never the secret). */
static struct web_resp *
host_failed(const struct web_req *req, struct api *a, const char *what,
    int r, const char *errmsg)
{
	struct web_resp *resp;

	if (r == TSS_E_NOMEM || r == TSS_E_UNAVAILABLE || r == TSS_E_STORE ||
	    r == TSS_E_STORE_FULL || r == TSS_E_INTERNAL)
		return web_error_msg(r, errmsg);
	log_warn("hosts: %s refused for %s (request %s): %s", what,
	    web_req_remote(req), web_req_id(req), errmsg[0] != '\0' ? errmsg :
	    tss_strerror(r));
	if ((resp = host_api_rate(a->b->host_rl, req, "failed host joins "
	    "and renewals", 0)) != NULL)
		return resp;
	return web_error_msg(r, errmsg);
}

static struct web_resp *
sign(const struct web_req *req, struct api *a, int join)
{
	static const char *const jf[] = { "token", "public_key", "hosts",
	    NULL };
	static const char *const rf[] = { "public_key", NULL };
	const char *what = join ? "host join" : "host renewal";
	struct hosts_req rq;
	struct web_resp *resp;
	json_t *body = web_req_json(req), *v, *out = NULL;
	char errmsg[ERRMSG_MAX] = "", **hosts = NULL;
	size_t n = 0;
	int r;

	if ((resp = api_only_fields(req, join ? jf : rf)) != NULL)
		return resp;
	if ((resp = host_api_rate(a->b->host_rl, req, "failed host joins "
	    "and renewals", 1)) != NULL)
		return resp;
	memset(&rq, 0, sizeof(rq));
	rq.secret = join ? json_string_value(json_object_get(body, "token")) :
	    bearer(req);
	rq.public_key = json_string_value(json_object_get(body,
	    "public_key"));
	rq.remote_addr = web_req_remote(req);
	rq.request_id = web_req_id(req);
	if (join && (v = json_object_get(body, "hosts")) != NULL &&
	    !json_is_null(v)) {
		if ((r = policy_json_strv("hosts", v, RBAC_HOSTS_MAX,
		    rbac_valid_host, "an IPv4 or IPv6 address or a lowercase "
		    "DNS name", &hosts, &n, errmsg, sizeof(errmsg))) != 0)
			return web_error_msg(r, errmsg);
		if (n == 0) {
			rbac_strv_free(hosts, n);
			return web_error(400, "bad_request", "hosts: name at "
			    "least one, or leave it out for all");
		}
		rq.hosts = (const char *const *)hosts;
		rq.n_hosts = n;
	}
	r = join ? hosts_join(a->b, &rq, api_now(), &out, errmsg,
	    sizeof(errmsg)) : hosts_renew(a->b, &rq, api_now(), &out, errmsg,
	    sizeof(errmsg));
	rbac_strv_free(hosts, n);
	if (r != 0)
		return host_failed(req, a, what, r, errmsg);
	broker_audit_flush(a->b);
	return web_json(201, out);
}

struct web_resp *
host_api_join(const struct web_req *req, void *arg)
{
	return sign(req, arg, 1);
}

struct web_resp *
host_api_renew(const struct web_req *req, void *arg)
{
	return sign(req, arg, 0);
}

struct web_resp *
host_api_self(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct web_resp *resp;
	json_t *out = NULL;
	char *text;
	int r;

	if ((r = hosts_self(a->b, bearer(req), api_now(), &out)) != 0)
		return web_error_msg(r, r == TSS_E_INVALID_CREDENTIALS ?
		    HOSTS_BAD_SECRET : NULL);
	/* Sorted keys: the same answer is the same bytes, and ETag. */
	text = mem_json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	if (text == NULL)
		return NULL;
	resp = api_cache_reply(req, "application/json", text, strlen(text));
	free(text);
	return resp;
}

struct web_resp *
host_api_token(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "ttl", NULL };
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	json_t *ttl = json_object_get(web_req_json(req), "ttl"), *out = NULL;
	char errmsg[ERRMSG_MAX] = "";
	int64_t t = HOSTS_TOKEN_TTL;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (ttl != NULL && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > HOSTS_TOKEN_TTL_MAX)
			return web_error(400, "bad_request", "ttl: an integer "
			    "number of seconds, 1 to 86400");
		t = (int64_t)json_integer_value(ttl);
	}
	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	r = hosts_token_create(a->b, &c, web_req_param(req), t, api_now(),
	    &out, errmsg, sizeof(errmsg));
	caller_clear(&c);
	if (r != 0)
		return web_error_msg(r, errmsg);
	broker_audit_flush(a->b);
	return web_json(201, out);
}

struct web_resp *
host_api_route(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct caller c;
	struct web_resp *resp;
	json_t *out = NULL;
	char errmsg[ERRMSG_MAX] = "";
	int r;

	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	r = hosts_route(a->b, &c, web_req_param(req), api_now(), &out, errmsg,
	    sizeof(errmsg));
	caller_clear(&c);
	if (r != 0)
		return web_error_msg(r, errmsg);
	return web_json(200, out);
}

struct web_resp *
host_api_routes(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "targets", NULL };
	struct api *a = arg;
	struct web_resp *resp;
	json_t *out = NULL;
	char errmsg[ERRMSG_MAX] = "", **names = NULL;
	size_t n = 0, i, j;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if ((resp = host_api_rate(a->b->host_rl, req, "failed host joins "
	    "and renewals", 1)) != NULL)
		return resp;
	if ((r = policy_json_strv("targets", json_object_get(web_req_json(req),
	    "targets"), ROUTES_MAX, rbac_valid_target_name, "a target name",
	    &names, &n, errmsg, sizeof(errmsg))) != 0)
		return web_error_msg(r, errmsg);
	for (i = 0; i < n && r == 0; i++)
		for (j = 0; j < i && r == 0; j++)
			if (strcmp(names[i], names[j]) == 0) {
				snprintf(errmsg, sizeof(errmsg), "targets[%zu]: "
				    "%s is named twice", i, names[i]);
				r = TSS_E_VALIDATION;
			}
	if (r == 0)
		r = routes_report(a->b, bearer(req), (const char *const *)names,
		    n, web_req_remote(req), web_req_id(req), api_now(), &out,
		    errmsg, sizeof(errmsg));
	rbac_strv_free(names, n);
	if (r == TSS_E_VALIDATION)
		return web_error_msg(r, errmsg);
	if (r != 0)
		return host_failed(req, a, "route report", r, errmsg);
	broker_audit_flush(a->b);
	return web_json(200, out);
}
