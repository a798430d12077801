/*
 * api: tesserad's HTTP endpoints (CONTRACT §3) over the broker use cases.
 * Each handler decodes, calls one broker function and encodes; the route
 * table here is what web_start() serves.
 */
#ifndef TSS_API_H
#define TSS_API_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct web_metrics;
struct web_route;
struct web_req;
struct web_resp;

struct api {
	struct broker *b;
	struct web_metrics *metrics;
	struct web_metric *logins;	/* {outcome} */
	struct web_metric *totp_fail;
	struct web_metric *lockouts;
	struct web_metric *certs_issued;
	struct web_metric *issue_seconds;	/* histogram */
	struct web_metric *store_bytes;		/* gauge {kind} */
	/* GET /metrics on the API port: 404 unless metrics_auth, then only
	 * to a bearer token whose SHA-256 this is. */
	uint8_t metrics_token[32];
	int metrics_auth;
	struct web_metric *backup_failures;
	struct web_metric *backup_last;		/* gauge, Unix seconds */
};

/* Register the service metrics in m and fill a. */
int api_init(struct api *a, struct broker *b, struct web_metrics *m);
/* The route table; handler_arg must be the struct api. */
const struct web_route *api_routes(size_t *n);
/*
 * Serve GET /metrics on the API port to "Authorization: Bearer <token>"
 * only; token is len bytes that web_token_ok() accepts, else
 * TSS_E_BAD_FORMAT.  Not called, /metrics there is 404.
 */
int api_metrics_token(struct api *a, const char *token, size_t len);
/* For the metrics listener (web/scrape.h), arg the struct api: bring the
 * store gauges up to date; the store's health (0: it answers). */
void api_metrics_refresh(void *arg);
/* The route's handler (api_metrics.c). */
struct web_resp *api_metrics_handle(const struct web_req *req, void *arg);
int api_health(void *arg);
/*
 * api_cache.c: body as a 200 of content_type with its ETag and
 * "Cache-Control: max-age=10", or a 304 without it when the request's
 * If-None-Match matches; NULL when out of memory.  Then the handlers of
 * GET /v1/ca, /v1/ca/host and /v1/krl.
 */
struct web_resp *api_cache_reply(const struct web_req *req,
    const char *content_type, const void *body, size_t len);
struct web_resp *api_cache_ca(const struct web_req *req, void *arg);
struct web_resp *api_cache_ca_host(const struct web_req *req, void *arg);
struct web_resp *api_cache_krl(const struct web_req *req, void *arg);

struct caller;
/*
 * Authenticate a request into c (for handlers outside api.c): NULL on
 * success (caller_clear(c) when done), else the response to send.  Cookie
 * callers of WEB_R_WRITE routes must pass the CSRF and Origin checks.
 */
struct web_resp *api_authed(const struct web_req *req, struct api *a,
    struct caller *c);
/* The same; cached: the caller may come from memory (broker_caller_cached),
 * for issuance, whose commit re-checks it. */
struct web_resp *api_authed_as(const struct web_req *req, struct api *a,
    struct caller *c, int cached);
/* A string field of the JSON body, NULL when absent or not a string. */
const char *api_str(const struct web_req *req, const char *key);
/* 400 naming the first body field outside allowed (NULL-terminated), or
 * NULL when every field is allowed. */
struct web_resp *api_only_fields(const struct web_req *req,
    const char *const *allowed);
int64_t api_now(void);		/* Unix seconds */
double api_mono(void);		/* monotonic seconds, for latencies */

#endif
