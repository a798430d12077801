/*
 * The tesserad API suites' world: the broker fixture (fixture.h: LMDB, CA
 * and master key in a temp dir) served by the real web server on
 * 127.0.0.1, an ephemeral port, with api_routes() and real TLS (the web
 * suite's harness.h), driven by libcurl.  Sessions are made in the store
 * as a login makes them.
 */
#ifndef TSS_TEST_TESSERAD_TH_H
#define TSS_TEST_TESSERAD_TH_H

#include <jansson.h>

#include "auth/token.h"
#include "fixture.h"
#include "harness.h"

extern struct fixture fx;
/* Session tokens of alice (group dev), bob (no access), root (admin). */
extern char th_alice[TOKEN_TEXT_LEN + 1], th_bob[TOKEN_TEXT_LEN + 1],
    th_root[TOKEN_TEXT_LEN + 1];

/* The bearer token GET /metrics answers to (api_metrics_token). */
#define TH_METRICS_TOKEN	"th-metrics.token_0123456789"

void th_setup(void);
void th_teardown(void);

/*
 * One request.  token: sent as "Authorization: Bearer", NULL for none;
 * hdrs: more header lines (NULL-terminated, may be NULL); body: JSON text
 * or NULL.  Returns the status; *res (may be NULL) gets the response (it
 * lives until the next call), *out (may be NULL) the body as JSON or NULL.
 */
long th_call(const char *method, const char *path, const char *token,
    const char *const *hdrs, const char *body, const struct res **res,
    json_t **out);

/* The last answer (its status passed in) must be want with the body
 * {"error":{"code":code,"message":msg}} (msg NULL: any message). */
void th_expect_error(long status, long want, const char *code,
    const char *msg);

/* POST /v1/certs for app@lab/box with fx.pubkey as token: the status;
 * *out the body. */
long th_issue(const char *token, json_t **out);

#endif
