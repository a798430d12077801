/* The tesserad API suites' world; see th.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh.h"
#include "broker/broker.h"
#include "tesserad/api.h"
#include "th.h"
#include "web/metrics.h"

struct fixture fx;
char th_alice[TOKEN_TEXT_LEN + 1], th_bob[TOKEN_TEXT_LEN + 1],
    th_root[TOKEN_TEXT_LEN + 1];

static struct h h;
static struct web_metrics *metrics;
static struct api api;
static struct res *last;

static void
session(const char *name, char *token)
{
	struct caller c;

	bh_login(fx.b, name, fx.now, token, &c);
	caller_clear(&c);
}

void
th_setup(void)
{
	struct web_config wc;
	size_t n;

	fixture_open(&fx, NULL, 3600);
	session("alice", th_alice);
	session("bob", th_bob);
	session("root", th_root);
	cr_assert_not_null(last = malloc(sizeof(*last)));
	cr_assert_eq(web_metrics_new(&metrics), 0);
	cr_assert_eq(api_init(&api, fx.b, metrics), 0);
	cr_assert_eq(api_metrics_token(&api, TH_METRICS_TOKEN,
	    strlen(TH_METRICS_TOKEN)), 0);
	memset(&wc, 0, sizeof(wc));
	wc.routes = api_routes(&n);
	wc.nroutes = n;
	wc.handler_arg = &api;
	wc.metrics = metrics;
	h_init(&h);
	h_start(&h, &wc);
}

void
th_teardown(void)
{
	h_fini(&h);
	web_metrics_free(metrics);
	fixture_close(&fx);
	free(last);
	last = NULL;
}

long
th_call(const char *method, const char *path, const char *token,
    const char *const *hdrs, const char *body, const struct res **res,
    json_t **out)
{
	const char *all[16];
	char auth[TOKEN_TEXT_LEN + 32];
	size_t n = 0;

	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		all[n++] = auth;
	}
	if (body != NULL)
		all[n++] = "Content-Type: application/json";
	for (; hdrs != NULL && *hdrs != NULL; hdrs++) {
		cr_assert_lt(n, sizeof(all) / sizeof(all[0]) - 1);
		all[n++] = *hdrs;
	}
	all[n] = NULL;
	h_req(&h, method, path, all, body, body != NULL ? strlen(body) : 0, 0,
	    last);
	cr_assert_neq(last->status, 0, "%s %s: no answer", method, path);
	if (res != NULL)
		*res = last;
	if (out != NULL)
		*out = json_loadb(last->body, last->blen, 0, NULL);
	return last->status;
}

void
th_expect_error(long status, long want, const char *code, const char *msg)
{
	json_t *out = json_loadb(last->body, last->blen, 0, NULL), *e;

	e = json_object_get(out, "error");
	cr_expect_eq(status, want, "status %ld, not %ld", status, want);
	cr_expect_str_eq(bh_str(e, "code") != NULL ? bh_str(e, "code") : "-",
	    code);
	if (msg != NULL)
		cr_expect_str_eq(bh_str(e, "message") != NULL ?
		    bh_str(e, "message") : "-", msg);
	cr_expect_eq(json_object_size(out), 1);
	json_decref(out);
}

long
th_issue(const char *token, json_t **out)
{
	json_t *b = json_pack("{s:s, s:s, s:s}", "public_key", fx.pubkey,
	    "target", "lab/box", "login", "app");
	char *text = json_dumps(b, JSON_COMPACT);
	long status;

	status = th_call("POST", "/v1/certs", token, NULL, text, NULL, out);
	free(text);
	json_decref(b);
	return status;
}
