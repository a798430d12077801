/*
 * host_api: the HTTP face of broker/hosts.h (host_api.c says which
 * endpoints).  Every handler takes the struct api as its arg.
 */
#ifndef TSS_HOST_API_H
#define TSS_HOST_API_H

struct ratelimit;
struct web_req;
struct web_resp;

/*
 * 429 too_many_attempts (with Retry-After) when the address of req has no
 * token left in t, else NULL; peek: only look, else take one.  what names
 * the calls in the message ("too many <what> from this address").
 */
struct web_resp *host_api_rate(struct ratelimit *t, const struct web_req *req,
    const char *what, int peek);

struct web_resp *host_api_join(const struct web_req *req, void *arg);
struct web_resp *host_api_renew(const struct web_req *req, void *arg);
struct web_resp *host_api_self(const struct web_req *req, void *arg);
struct web_resp *host_api_token(const struct web_req *req, void *arg);
struct web_resp *host_api_route(const struct web_req *req, void *arg);
struct web_resp *host_api_routes(const struct web_req *req, void *arg);

#endif
