/*
 * GET /metrics on the API port, behind metrics_token_file's bearer
 * token (tesserad(8)); the scrape listener (web/scrape.c) serves the same
 * registry without it.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "broker/broker.h"
#include "common/digest.h"
#include "common/err.h"
#include "store/store.h"
#include "web/server.h"

int
api_metrics_token(struct api *a, const char *token, size_t len)
{
	if (!web_token_ok(token, len))
		return TSS_E_BAD_FORMAT;
	if (sha256(token, len, a->metrics_token) != 0)
		return TSS_E_CRYPTO;
	a->metrics_auth = 1;
	return 0;
}

void
api_metrics_refresh(void *arg)
{
	struct api *a = arg;
	uint64_t used, map;

	if (store_usage(a->b->store, &used, &map) == 0) {
		web_metric_set(a->store_bytes, 0, (int64_t)used);
		web_metric_set(a->store_bytes, 1, (int64_t)map);
	}
}

/*
 * Not public on the API port: without a token it is a path like any
 * unknown one; with one, digests of the same length are compared, in
 * constant time, so neither the token nor its length shows.
 */
struct web_resp *
api_metrics_handle(const struct web_req *req, void *arg)
{
	struct api *a = arg;
	uint8_t got[SHA256_LEN];
	enum web_auth kind;
	const char *t;
	int ok;

	if (!a->metrics_auth)
		return web_error(404, "not_found", "not found");
	t = web_req_token(req, &kind);
	ok = t != NULL && kind == WEB_AUTH_BEARER &&
	    sha256(t, strlen(t), got) == 0 &&
	    CRYPTO_memcmp(got, a->metrics_token, SHA256_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	if (!ok)
		return web_error(401, "unauthenticated",
		    "the metrics token is required");
	api_metrics_refresh(a);
	return web_handle_metrics(req, arg);
}
