/* Device flow handlers: decode, one broker/device call, encode. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "api.h"
#include "auth/ratelimit.h"
#include "broker/broker.h"
#include "broker/device.h"
#include "common/err.h"
#include "common/log.h"
#include "device_api.h"
#include "host_api.h"
#include "web/server.h"

#define ERRMSG_MAX	256
#define URL_MAX		1024

/* One table per endpoint for the process: a rate limit is about
 * addresses, not about which server object answered.  Reachable until
 * exit.  Polls have their own budget, so a CLI waiting for approval does
 * not use up the requests of the next one from the same address. */
static pthread_once_t rl_once = PTHREAD_ONCE_INIT;
static struct ratelimit *rl, *rl_poll;

static void
rl_init(void)
{
	if (ratelimit_new(0, DEVICE_API_BURST, DEVICE_API_INTERVAL, &rl) != 0)
		rl = NULL;
	if (ratelimit_new(0, DEVICE_API_POLL_BURST, DEVICE_API_POLL_INTERVAL,
	    &rl_poll) != 0)
		rl_poll = NULL;
}

/* Optional string field: absent or null gives NULL; -1 for a non-string. */
static int
opt_str(const struct web_req *req, const char *key, const char **out)
{
	json_t *j = json_object_get(web_req_json(req), key);

	*out = NULL;
	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_string(j))
		return -1;
	*out = json_string_value(j);
	return 0;
}

/* Base of links: public_url without a trailing slash. */
static void
base_url(const struct web_req *req, struct api *a, char *out, size_t len)
{
	const char *u = a->b->cfg.public_url;
	size_t n;

	if (u == NULL || *u == '\0')
		u = web_origin(web_req_server(req));
	snprintf(out, len, "%s", u != NULL ? u : "");
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

struct web_resp *
device_api_create(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "public_key", "target", "login",
	    "ttl", NULL };
	struct api *a = arg;
	struct device_request rq;
	struct device_grant g;
	struct web_resp *resp;
	char errmsg[ERRMSG_MAX] = "", base[URL_MAX], uri[URL_MAX + 16];
	char full[URL_MAX + 64];
	json_t *body = web_req_json(req), *ttl, *out;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	memset(&rq, 0, sizeof(rq));
	if (opt_str(req, "public_key", &rq.public_key) != 0 ||
	    rq.public_key == NULL)
		return web_error(400, "invalid_public_key",
		    "public_key: an authorized_keys line is required");
	if (opt_str(req, "target", &rq.target) != 0 ||
	    opt_str(req, "login", &rq.login) != 0)
		return web_error(400, "bad_request",
		    "target and login must be strings");
	ttl = json_object_get(body, "ttl");
	if (ttl != NULL && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) <= 0)
			return web_error(400, "bad_request",
			    "ttl: a positive integer number of seconds");
		rq.ttl = (int64_t)json_integer_value(ttl);
	}
	pthread_once(&rl_once, rl_init);
	if ((resp = host_api_rate(rl, req, "device requests", 0)) != NULL)
		return resp;
	rq.remote_addr = web_req_remote(req);
	if ((r = device_create(a->b->store, &rq, api_now(), &g, errmsg,
	    sizeof(errmsg))) != 0)
		return web_error_msg(r, errmsg);
	base_url(req, a, base, sizeof(base));
	snprintf(uri, sizeof(uri), "%s/device", base);
	snprintf(full, sizeof(full), "%s?user_code=%s", uri, g.user_code);
	out = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}",
	    "device_code", g.device_code, "user_code", g.user_code,
	    "verification_uri", uri, "verification_uri_complete", full,
	    "expires_in", (json_int_t)DEVICE_TTL,
	    "interval", (json_int_t)g.interval);
	OPENSSL_cleanse(g.device_code, sizeof(g.device_code));
	return web_json(200, out);
}

/* The answer for an error of device_pending_get()/device_decide(). */
static struct web_resp *
code_error(int r)
{
	switch (r) {
	case TSS_E_BAD_FORMAT:
		return web_error(400, "bad_request",
		    "user_code: 8 letters, as XXXX-XXXX");
	case TSS_E_NOT_FOUND:
		return web_error(404, "not_found", "no such code");
	case TSS_E_EXPIRED:
		return web_error(400, "expired_token",
		    "the request expired; start the login again");
	case TSS_E_CONFLICT:
		return web_error(409, "conflict",
		    "the request was already approved or denied");
	default:
		return web_error_msg(r, NULL);
	}
}

struct web_resp *
device_api_pending(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	struct device_pending p;
	struct caller c;
	struct web_resp *resp;
	json_t *out;
	int r;

	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	caller_clear(&c);
	if ((r = device_pending_get(a->b->store, web_req_query(req,
	    "user_code"), api_now(), &p)) != 0)
		return code_error(r);
	out = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:s}",
	    "user_code", p.user_code, "fingerprint", p.fingerprint,
	    "key_type", p.key_type, "target", p.target, "login", p.login,
	    "ttl", (json_int_t)p.ttl, "expires_at", (json_int_t)p.expires_at,
	    "requester", p.remote_addr);
	device_pending_clear(&p);
	return web_json(200, out);
}

struct web_resp *
device_api_approve(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "user_code", "approve", NULL };
	struct api *a = arg;
	struct audit_actor actor;
	struct caller c;
	struct web_resp *resp;
	const char *code;
	json_t *ap;
	int r, approve = 1;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (opt_str(req, "user_code", &code) != 0 || code == NULL)
		return web_error(400, "bad_request",
		    "user_code: a string is required");
	ap = json_object_get(web_req_json(req), "approve");
	if (ap != NULL && !json_is_boolean(ap))
		return web_error(400, "bad_request",
		    "approve: true or false");
	if (ap != NULL)
		approve = json_is_true(ap);
	if ((resp = api_authed(req, a, &c)) != NULL)
		return resp;
	actor.name = c.username;
	actor.remote_addr = web_req_remote(req);
	actor.request_id = web_req_id(req);
	r = device_decide(a->b->store, code, approve, &actor, api_now());
	if (r == 0) {
		log_info("device %s by %s", approve ? "approved" : "denied",
		    c.username);
		broker_audit_flush(a->b);
	}
	caller_clear(&c);
	if (r != 0)
		return code_error(r);
	return web_json(200, json_pack("{s:b}", "approved", approve));
}

struct web_resp *
device_api_token(const struct web_req *req, void *arg)
{
	static const char *const fields[] = { "device_code", NULL };
	struct api *a = arg;
	enum device_poll poll;
	struct web_resp *resp;
	char errmsg[ERRMSG_MAX] = "";
	const char *dc;
	json_t *out = NULL;
	double t0;
	int r;

	if ((resp = api_only_fields(req, fields)) != NULL)
		return resp;
	if (opt_str(req, "device_code", &dc) != 0 || dc == NULL)
		return web_error(400, "bad_request",
		    "device_code: a string is required");
	/* Per address before any store work, whatever the code. */
	pthread_once(&rl_once, rl_init);
	if ((resp = host_api_rate(rl_poll, req, "device polls", 0)) != NULL)
		return resp;
	t0 = api_mono();
	r = device_token(a->b->store, &a->b->issuer, dc, web_req_remote(req),
	    web_req_id(req), api_now(), &poll, &out, errmsg, sizeof(errmsg));
	if (r != 0)
		return web_error_msg(r, errmsg);
	if (poll != DEVICE_ISSUED) {
		switch (poll) {
		case DEVICE_PENDING:
			return web_error(400, device_poll_code(poll),
			    "not approved yet");
		case DEVICE_SLOW_DOWN:
			return web_error(400, device_poll_code(poll),
			    "polled too fast; add 5 seconds to the polling "
			    "interval");
		case DEVICE_DENIED:
			return web_error(400, device_poll_code(poll),
			    "the request was denied");
		case DEVICE_EXPIRED:
			return web_error(400, device_poll_code(poll),
			    "the request expired");
		default:
			return web_error(400, device_poll_code(poll),
			    "unknown or already used device_code");
		}
	}
	web_metric_observe(a->issue_seconds, api_mono() - t0);
	web_metric_inc(a->certs_issued, 0);
	return web_json(201, out);
}
