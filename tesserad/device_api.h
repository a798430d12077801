/*
 * device_api: the HTTP face of the device flow (broker/device.h):
 * POST /v1/device, GET /v1/device/pending, POST /v1/device/approve and
 * POST /v1/device/token.  Every handler takes the struct api as its arg.
 *
 * POST /v1/device and POST /v1/device/token are unauthenticated and
 * rate-limited per remote address (IPv4 address, IPv6 /64), each with its
 * own process-wide token bucket table: DEVICE_API_BURST requests then one
 * every DEVICE_API_INTERVAL seconds, DEVICE_API_POLL_BURST polls then one
 * every DEVICE_API_POLL_INTERVAL seconds (a CLI polls every 5 s or
 * slower, so a few CLIs behind one address never meet it): 429
 * too_many_attempts with Retry-After beyond that.  Token poll outcomes that are not a
 * certificate answer 400 with the RFC 8628 code (authorization_pending,
 * slow_down, access_denied, expired_token) or invalid_grant for an
 * unknown, malformed or spent device code.  Unknown body fields are
 * refused (400 bad_request) on every endpoint.
 */
#ifndef TSS_DEVICE_API_H
#define TSS_DEVICE_API_H

struct web_req;
struct web_resp;

#define DEVICE_API_BURST	20
#define DEVICE_API_INTERVAL	3
#define DEVICE_API_POLL_BURST	30
#define DEVICE_API_POLL_INTERVAL	1

struct web_resp *device_api_create(const struct web_req *req, void *arg);
struct web_resp *device_api_pending(const struct web_req *req, void *arg);
struct web_resp *device_api_approve(const struct web_req *req, void *arg);
struct web_resp *device_api_token(const struct web_req *req, void *arg);

#endif
